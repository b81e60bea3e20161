//! One `VisitSimdOperator` method per operator of the simd and relaxed-simd
//! proposals, written by hand: if wasmparser adds one, this stops compiling.
//!
//! # v128 values
//!
//! Wasm has one 128-bit vector type; Cranelift has one per lane shape. A
//! v128 on the operand stack, in a local, a global, a block parameter or a
//! call is always Cranelift's `I8X16` (see [`crate::ir_type`]). Each
//! operator bitcasts its operands to the shape it works on and its result
//! back to `I8X16`; the bitcasts say little-endian, which is wasm's lane
//! order, and cost nothing on the little-endian targets hoist has.
//!
//! # Relaxed SIMD
//!
//! Every relaxed operator behaves as the spec's deterministic profile says
//! (the first of the allowed results), on every target and with every CPU
//! feature set, so a module computes the same bits wherever it runs and
//! whichever way it was compiled:
//!
//! | operator                                    | behaves as                                  |
//! |---------------------------------------------|---------------------------------------------|
//! | `i8x16.relaxed_swizzle`                      | `i8x16.swizzle` (index ≥ 16 gives 0)         |
//! | `i32x4.relaxed_trunc_f32x4_{s,u}`            | `i32x4.trunc_sat_f32x4_{s,u}`                |
//! | `i32x4.relaxed_trunc_f64x2_{s,u}_zero`       | `i32x4.trunc_sat_f64x2_{s,u}_zero`           |
//! | `f32x4/f64x2.relaxed_madd`                   | `fmul` then `fadd`: two roundings, not fused |
//! | `f32x4/f64x2.relaxed_nmadd`                  | `fmul` of `-a` and `b`, then `fadd`          |
//! | `i{8x16,16x8,32x4,64x2}.relaxed_laneselect`  | `v128.bitselect` (bit by bit)                |
//! | `f32x4/f64x2.relaxed_{min,max}`              | `f32x4/f64x2.{min,max}`                      |
//! | `i16x8.relaxed_q15mulr_s`                    | `i16x8.q15mulr_sat_s`                        |
//! | `i16x8.relaxed_dot_i8x16_i7x16_s`            | both operands signed, pairwise sums wrap     |
//! | `i32x4.relaxed_dot_i8x16_i7x16_add_s`        | the above, summed pairwise to i32, plus `c`  |
//!
//! # CPU features
//!
//! Cranelift lowers every operator here with plain SSE2 on x86_64, except
//! three, which it would turn into calls to libcalls (hoist links none):
//! vector rounding without SSE4.1, and `pshufb` (general shuffles and every
//! swizzle) without SSSE3. For those CPUs the translator emits something
//! else: rounding calls hoist's scalar rounding builtins once per lane, and
//! shuffles that would need `pshufb` and swizzles go byte by byte through a
//! stack slot. Slow, but such CPUs predate 2008; with the features present
//! the native instructions are used. aarch64 always has NEON.
//!
//! riscv64 can only run vector code with the V extension, which the
//! riscv64gc baseline lacks: compiling a module that has any v128 (a SIMD
//! operator, a v128 local, parameter, result, block type or global) for
//! riscv64 without `has_v` fails with a clear error before Cranelift sees
//! it ([`SimdSupport::unavailable`]). With `has_v` (detected on a riscv64
//! host that has V) Cranelift's vector lowering is used; it compiles the
//! Sightglass SIMD programs, but no riscv64 machine has run the result.

mod lowering;
mod support;
mod visit;

pub(crate) use support::{check_func_type, check_module, SimdSupport};
