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

use super::FuncTranslator;
use cranelift_codegen::ir::{
    condcodes::{FloatCC, IntCC},
    types::{F32, F32X4, F64X2, I16, I16X8, I32, I32X4, I64, I64X2, I8, I8X16},
    ConstantData, Endianness, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Type, Value,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use hoist_environ::{Builtin, Module, WasmError, WasmResult, WasmValType};
use target_lexicon::Architecture;
use wasmparser::{MemArg, VisitSimdOperator};

/// What the target can do with vectors, decided once per function.
#[derive(Clone, Debug)]
pub(crate) struct SimdSupport {
    /// Why v128 cannot be compiled for this target, if it cannot.
    pub unavailable: Option<String>,
    /// x86_64 without SSSE3: no `pshufb`.
    no_pshufb: bool,
    /// No vector rounding instructions (x86_64 without SSE4.1).
    no_round: bool,
}

impl SimdSupport {
    pub(crate) fn new(isa: &dyn TargetIsa) -> Self {
        let x86 = isa.triple().architecture == Architecture::X86_64;
        SimdSupport {
            unavailable: unavailable(isa),
            no_pshufb: x86 && !isa.has_x86_pshufb_lowering(),
            no_round: !isa.has_round(),
        }
    }
}

/// Why `isa` cannot compile v128 code, if it cannot.
fn unavailable(isa: &dyn TargetIsa) -> Option<String> {
    match isa.triple().architecture {
        Architecture::Riscv64(_) => {
            let has_v = isa
                .isa_flags()
                .iter()
                .any(|flag| flag.name == "has_v" && flag.as_bool() == Some(true));
            (!has_v).then(|| {
                format!(
                    "SIMD (v128) for {}: riscv64 needs the vector extension (V), \
                     which this target's CPU features do not include",
                    isa.triple()
                )
            })
        }
        _ => None,
    }
}

/// Refuses `module` when its types or globals use v128 and `isa` cannot
/// compile vector code. Function bodies are checked while translating.
pub(crate) fn check_module(isa: &dyn TargetIsa, module: &Module) -> WasmResult<()> {
    let uses_v128 = module
        .types
        .values()
        .any(|ty| ty.params.iter().chain(ty.results.iter()).any(is_v128))
        || module.globals.values().any(|g| is_v128(&g.ty));
    check_types(isa, uses_v128)
}

/// Refuses v128 in a host function's type when `isa` cannot compile it.
pub(crate) fn check_func_type(
    isa: &dyn TargetIsa,
    ty: &hoist_environ::WasmFuncType,
) -> WasmResult<()> {
    check_types(isa, ty.params.iter().chain(ty.results.iter()).any(is_v128))
}

fn check_types(isa: &dyn TargetIsa, uses_v128: bool) -> WasmResult<()> {
    match unavailable(isa) {
        Some(why) if uses_v128 => Err(WasmError::Unsupported(why)),
        _ => Ok(()),
    }
}

fn is_v128(ty: &WasmValType) -> bool {
    *ty == WasmValType::V128
}

/// Flags for bitcasts between vector shapes: wasm's lane order.
fn little() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// The 8 byte masks of the `punpck{l,h}{bw,wd,dq,qdq}` interleavings.
fn interleave_masks() -> impl Iterator<Item = [u8; 16]> {
    [1u8, 2, 4, 8].into_iter().flat_map(|size| {
        [false, true].into_iter().map(move |high| {
            std::array::from_fn(|i| {
                let i = i as u8;
                let lane = i / size;
                let from = lane / 2 + if high { 8 / size } else { 0 };
                (lane % 2) * 16 + from * size + i % size
            })
        })
    })
}

/// Whether Cranelift lowers `shuffle` with this mask on x86_64 without
/// `pshufb`: the `pshuf{l,h}w`, `pshufd`, `shufps` and `punpck*` forms of
/// its x64 backend, which need nothing beyond SSE2.
fn shuffle_without_pshufb(mask: &[u8; 16]) -> bool {
    // The mask in whole 16-bit lanes, if it moves whole 16-bit lanes.
    let words: Option<Vec<u8>> = mask
        .chunks(2)
        .map(|c| (c[0] % 2 == 0 && c[1] == c[0] + 1).then_some(c[0] / 2))
        .collect();
    if let Some(w) = words {
        for base in [0, 8] {
            if w.iter().all(|x| (base..base + 8).contains(x)) {
                let w: Vec<u8> = w.iter().map(|x| x - base).collect();
                let low_shuffled = w[..4].iter().all(|x| *x < 4) && w[4..] == [4, 5, 6, 7];
                let high_shuffled = w[..4] == [0, 1, 2, 3] && w[4..].iter().all(|x| *x >= 4);
                if low_shuffled || high_shuffled {
                    return true;
                }
            }
        }
    }
    let dwords: Option<Vec<u8>> = mask
        .chunks(4)
        .map(|c| {
            (c[0] % 4 == 0 && c[1] == c[0] + 1 && c[2] == c[0] + 2 && c[3] == c[0] + 3)
                .then_some(c[0] / 4)
        })
        .collect();
    if let Some(d) = dwords {
        let a = |x: u8| x < 4;
        let b = |x: u8| x >= 4;
        if d.iter().all(|x| a(*x)) || d.iter().all(|x| b(*x)) {
            return true; // pshufd
        }
        if (a(d[0]) && a(d[1]) && b(d[2]) && b(d[3])) || (b(d[0]) && b(d[1]) && a(d[2]) && a(d[3]))
        {
            return true; // shufps
        }
    }
    interleave_masks().any(|m| m == *mask)
}

/// Which rounding: the instruction and the builtins for CPUs without it.
#[derive(Clone, Copy)]
enum Round {
    Ceil,
    Floor,
    Trunc,
    Nearest,
}

impl Round {
    fn native(self, b: &mut FunctionBuilder<'_>, x: Value) -> Value {
        match self {
            Round::Ceil => b.ins().ceil(x),
            Round::Floor => b.ins().floor(x),
            Round::Trunc => b.ins().trunc(x),
            Round::Nearest => b.ins().nearest(x),
        }
    }

    fn builtin(self, lane: Type) -> Builtin {
        match (self, lane == F32) {
            (Round::Ceil, true) => Builtin::CeilF32,
            (Round::Floor, true) => Builtin::FloorF32,
            (Round::Trunc, true) => Builtin::TruncF32,
            (Round::Nearest, true) => Builtin::NearestF32,
            (Round::Ceil, false) => Builtin::CeilF64,
            (Round::Floor, false) => Builtin::FloorF64,
            (Round::Trunc, false) => Builtin::TruncF64,
            (Round::Nearest, false) => Builtin::NearestF64,
        }
    }
}

type Unary = fn(&mut FunctionBuilder<'_>, Value) -> Value;
type Binary = fn(&mut FunctionBuilder<'_>, Value, Value) -> Value;

impl FuncTranslator<'_, '_> {
    /// `v` as a vector of shape `ty`.
    fn cast(&mut self, v: Value, ty: Type) -> Value {
        if self.builder.func.dfg.value_type(v) == ty {
            v
        } else {
            self.builder.ins().bitcast(ty, little(), v)
        }
    }

    /// Pops a v128 as shape `ty`.
    fn vpop(&mut self, ty: Type) -> Value {
        let v = self.pop();
        self.cast(v, ty)
    }

    fn vpop2(&mut self, ty: Type) -> (Value, Value) {
        let b = self.vpop(ty);
        let a = self.vpop(ty);
        (a, b)
    }

    /// Pushes a vector of any shape as the canonical `I8X16`.
    fn vpush(&mut self, v: Value) {
        let v = self.cast(v, I8X16);
        self.push(v);
    }

    fn vconst(&mut self, ty: Type, bytes: [u8; 16]) -> Value {
        let c = self
            .builder
            .func
            .dfg
            .constants
            .insert(bytes.to_vec().into());
        self.builder.ins().vconst(ty, c)
    }

    /// `a -> f(a)`, with `a` of shape `ty`.
    fn unop(&mut self, ty: Type, f: Unary) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(ty);
            let v = f(&mut self.builder, a);
            self.vpush(v);
        }
        Ok(())
    }

    /// `(a, b) -> f(a, b)`, both of shape `ty`.
    fn binop(&mut self, ty: Type, f: Binary) -> WasmResult<()> {
        if self.reachable {
            let (a, b) = self.vpop2(ty);
            let v = f(&mut self.builder, a, b);
            self.vpush(v);
        }
        Ok(())
    }

    /// Lane-wise integer comparison; the result lanes are all ones or zeros.
    fn vicmp(&mut self, ty: Type, cc: IntCC) -> WasmResult<()> {
        if self.reachable {
            let (a, b) = self.vpop2(ty);
            let v = self.builder.ins().icmp(cc, a, b);
            self.vpush(v);
        }
        Ok(())
    }

    /// Lane-wise float comparison.
    fn vfcmp(&mut self, ty: Type, cc: FloatCC) -> WasmResult<()> {
        if self.reachable {
            let (a, b) = self.vpop2(ty);
            let v = self.builder.ins().fcmp(cc, a, b);
            self.vpush(v);
        }
        Ok(())
    }

    /// `(vector, i32 amount) -> f(vector, amount)`; Cranelift takes the
    /// amount modulo the lane width, as wasm does.
    fn shift(&mut self, ty: Type, f: Binary) -> WasmResult<()> {
        if self.reachable {
            let amount = self.pop();
            let a = self.vpop(ty);
            let v = f(&mut self.builder, a, amount);
            self.vpush(v);
        }
        Ok(())
    }

    /// `a -> i32(f(a))` for the boolean and bitmask reductions.
    fn reduce(&mut self, ty: Type, f: Unary) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(ty);
            let r = f(&mut self.builder, a);
            let v = if self.builder.func.dfg.value_type(r) == I32 {
                r
            } else {
                self.builder.ins().uextend(I32, r)
            };
            self.push(v);
        }
        Ok(())
    }

    fn splat(&mut self, ty: Type) -> WasmResult<()> {
        if self.reachable {
            let x = self.pop();
            let lane = ty.lane_type();
            let x = if lane == I8 || lane == I16 {
                self.builder.ins().ireduce(lane, x)
            } else {
                x
            };
            let v = self.builder.ins().splat(ty, x);
            self.vpush(v);
        }
        Ok(())
    }

    /// `extract_lane`; 8- and 16-bit lanes are extended to i32 (`signed` or not).
    fn extract_lane(&mut self, ty: Type, lane: u8, signed: bool) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(ty);
            let x = self.builder.ins().extractlane(a, lane);
            let x = match ty.lane_type() {
                I8 | I16 if signed => self.builder.ins().sextend(I32, x),
                I8 | I16 => self.builder.ins().uextend(I32, x),
                _ => x,
            };
            self.push(x);
        }
        Ok(())
    }

    fn replace_lane(&mut self, ty: Type, lane: u8) -> WasmResult<()> {
        if self.reachable {
            let x = self.pop();
            let a = self.vpop(ty);
            let lane_ty = ty.lane_type();
            let x = if lane_ty == I8 || lane_ty == I16 {
                self.builder.ins().ireduce(lane_ty, x)
            } else {
                x
            };
            let v = self.builder.ins().insertlane(a, x, lane);
            self.vpush(v);
        }
        Ok(())
    }

    /// A load of `size` bytes: `index -> f(flags, address)`.
    fn vload(
        &mut self,
        memarg: MemArg,
        size: u8,
        f: impl FnOnce(&mut FunctionBuilder<'_>, MemFlagsData, Value) -> Value,
    ) -> WasmResult<()> {
        if self.reachable {
            let (address, flags) = self.memory_access(&memarg, size);
            let v = f(&mut self.builder, flags, address);
            self.vpush(v);
        }
        Ok(())
    }

    /// `load*_splat`: one lane's worth loaded into every lane of `ty`.
    fn load_splat(&mut self, memarg: MemArg, ty: Type) -> WasmResult<()> {
        let size = ty.lane_type().bytes() as u8;
        self.vload(memarg, size, |b, flags, address| {
            let x = b.ins().load(ty.lane_type(), flags, address, 0);
            b.ins().splat(ty, x)
        })
    }

    /// `load*_zero`: one scalar into lane 0, zeros elsewhere.
    fn load_zero(&mut self, memarg: MemArg, ty: Type) -> WasmResult<()> {
        let size = ty.lane_type().bytes() as u8;
        self.vload(memarg, size, |b, flags, address| {
            let x = b.ins().load(ty.lane_type(), flags, address, 0);
            b.ins().scalar_to_vector(ty, x)
        })
    }

    /// `load*_lane`: `(index, vector) -> vector` with one lane loaded.
    fn load_lane(&mut self, memarg: MemArg, ty: Type, lane: u8) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(ty);
            let lane_ty = ty.lane_type();
            let (address, flags) = self.memory_access(&memarg, lane_ty.bytes() as u8);
            let x = self.builder.ins().load(lane_ty, flags, address, 0);
            let v = self.builder.ins().insertlane(a, x, lane);
            self.vpush(v);
        }
        Ok(())
    }

    /// `store*_lane`: `(index, vector) -> ()` storing one lane.
    fn store_lane(&mut self, memarg: MemArg, ty: Type, lane: u8) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(ty);
            let x = self.builder.ins().extractlane(a, lane);
            let (address, flags) = self.memory_access(&memarg, ty.lane_type().bytes() as u8);
            self.builder.ins().store(flags, x, address, 0);
        }
        Ok(())
    }

    /// `ceil`, `floor`, `trunc`, `nearest` of each lane: the instruction, or
    /// hoist's scalar builtins lane by lane where the CPU lacks it.
    fn vround(&mut self, ty: Type, round: Round) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let a = self.vpop(ty);
        let v = if !self.simd.no_round {
            round.native(&mut self.builder, a)
        } else {
            let lane_ty = ty.lane_type();
            let int = if lane_ty == F32 { I32 } else { I64 };
            let mut v = a;
            for lane in 0..ty.lane_count() as u8 {
                let x = self.builder.ins().extractlane(a, lane);
                let bits = self.builder.ins().bitcast(int, MemFlagsData::new(), x);
                let r = self
                    .env
                    .call_builtin(&mut self.builder, round.builtin(lane_ty), &[bits]);
                let r = if int == I32 {
                    self.builder.ins().ireduce(I32, r)
                } else {
                    r
                };
                let x = self.builder.ins().bitcast(lane_ty, MemFlagsData::new(), r);
                v = self.builder.ins().insertlane(v, x, lane);
            }
            v
        };
        self.vpush(v);
        Ok(())
    }

    /// A 48-byte stack slot for the byte-by-byte fallbacks.
    fn scratch_slot(&mut self) -> cranelift_codegen::ir::StackSlot {
        self.builder
            .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 48, 4))
    }

    /// `i8x16.shuffle` without `pshufb`: both operands to the stack, the
    /// result assembled there byte by byte.
    fn shuffle_in_memory(&mut self, a: Value, b: Value, mask: &[u8; 16]) -> Value {
        let ptr = self.env.pointer_type;
        let slot = self.scratch_slot();
        self.builder.ins().stack_store(ptr, a, slot, 0);
        // Shuffling one vector with itself (a common way to permute one
        // vector) needs only one copy.
        let same = a == b;
        if !same {
            self.builder.ins().stack_store(ptr, b, slot, 16);
        }
        for (i, from) in mask.iter().enumerate() {
            let from = if same { from % 16 } else { *from };
            let x = self
                .builder
                .ins()
                .stack_load(ptr, I8, slot, i32::from(from));
            self.builder.ins().stack_store(ptr, x, slot, 32 + i as i32);
        }
        self.builder.ins().stack_load(ptr, I8X16, slot, 32)
    }

    /// `i8x16.swizzle` without `pshufb`, byte by byte through the stack.
    fn swizzle_in_memory(&mut self, a: Value, indices: Value) -> Value {
        let ptr = self.env.pointer_type;
        let slot = self.scratch_slot();
        self.builder.ins().stack_store(ptr, a, slot, 0);
        self.builder.ins().stack_store(ptr, indices, slot, 16);
        let base = self.builder.ins().stack_addr(ptr, slot, 0);
        let zero = self.builder.ins().iconst(I8, 0);
        for i in 0..16 {
            let index = self.builder.ins().stack_load(ptr, I8, slot, 16 + i);
            let index = self.builder.ins().uextend(ptr, index);
            let in_range = self
                .builder
                .ins()
                .icmp_imm_u(IntCC::UnsignedLessThan, index, 16);
            let offset = self.builder.ins().band_imm_u(index, 15);
            let address = self.builder.ins().iadd(base, offset);
            let x = self
                .builder
                .ins()
                .load(I8, MemFlagsData::trusted(), address, 0);
            let x = self.builder.ins().select(in_range, x, zero);
            self.builder.ins().stack_store(ptr, x, slot, 32 + i);
        }
        self.builder.ins().stack_load(ptr, I8X16, slot, 32)
    }

    fn swizzle(&mut self) -> WasmResult<()> {
        if self.reachable {
            let (a, indices) = self.vpop2(I8X16);
            let v = if self.simd.no_pshufb {
                self.swizzle_in_memory(a, indices)
            } else {
                self.builder.ins().swizzle(a, indices)
            };
            self.vpush(v);
        }
        Ok(())
    }

    /// pmin/pmax: `if less(a, b) { b } else { a }` with the operands of
    /// `less` as given; this ordering is what x86's `minps`/`maxps` match.
    fn pminmax(&mut self, ty: Type, max: bool) -> WasmResult<()> {
        if self.reachable {
            let (a, b) = self.vpop2(ty);
            let less = if max {
                self.builder.ins().fcmp(FloatCC::LessThan, a, b)
            } else {
                self.builder.ins().fcmp(FloatCC::LessThan, b, a)
            };
            let less = self.cast(less, ty);
            let v = self.builder.ins().bitselect(less, b, a);
            self.vpush(v);
        }
        Ok(())
    }

    /// `trunc_sat_f64x2_{s,u}_zero`: two saturated i64 lanes narrowed
    /// (saturating) into the low half, zeros above.
    fn trunc_sat_zero(&mut self, signed: bool) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(F64X2);
            // A zero `I64X2` constant itself (no bitcast): x64 lowers only
            // this exact pattern.
            let zero = self.vconst(I64X2, [0; 16]);
            let v = if signed {
                let x = self.builder.ins().fcvt_to_sint_sat(I64X2, a);
                self.builder.ins().snarrow(x, zero)
            } else if self.simd.no_round {
                // x64 lowers the pattern below with `roundpd` (SSE4.1), or
                // else a libcall: convert the two lanes as scalars instead.
                let mut v = self.builder.ins().bitcast(I32X4, little(), zero);
                for lane in 0..2 {
                    let x = self.builder.ins().extractlane(a, lane);
                    let x = self.builder.ins().fcvt_to_uint_sat(I32, x);
                    v = self.builder.ins().insertlane(v, x, lane);
                }
                v
            } else {
                let x = self.builder.ins().fcvt_to_uint_sat(I64X2, a);
                self.builder.ins().uunarrow(x, zero)
            };
            self.vpush(v);
        }
        Ok(())
    }

    /// `fmul` then `fadd`, with `a` negated for nmadd: relaxed madd in the
    /// deterministic profile (unfused).
    fn madd(&mut self, ty: Type, negate: bool) -> WasmResult<()> {
        if self.reachable {
            let c = self.vpop(ty);
            let (a, b) = self.vpop2(ty);
            let a = if negate {
                self.builder.ins().fneg(a)
            } else {
                a
            };
            let product = self.builder.ins().fmul(a, b);
            let v = self.builder.ins().fadd(product, c);
            self.vpush(v);
        }
        Ok(())
    }

    /// Bit-by-bit select: `(a, b, mask) -> (a & mask) | (b & !mask)`.
    fn bitselect(&mut self) -> WasmResult<()> {
        if self.reachable {
            let mask = self.vpop(I8X16);
            let (a, b) = self.vpop2(I8X16);
            let v = self.builder.ins().bitselect(mask, a, b);
            self.vpush(v);
        }
        Ok(())
    }

    /// Signed 8-bit products of `a` and `b`, adjacent pairs summed into
    /// 16-bit lanes (wrapping).
    fn dot_i8x16(&mut self, a: Value, b: Value) -> Value {
        let builder = &mut self.builder;
        let a_low = builder.ins().swiden_low(a);
        let b_low = builder.ins().swiden_low(b);
        let low = builder.ins().imul(a_low, b_low);
        let a_high = builder.ins().swiden_high(a);
        let b_high = builder.ins().swiden_high(b);
        let high = builder.ins().imul(a_high, b_high);
        builder.ins().iadd_pairwise(low, high)
    }
}

impl<'a> VisitSimdOperator<'a> for FuncTranslator<'_, '_> {
    // ----- memory -----

    fn visit_v128_load(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 16, |b, flags, address| {
            b.ins().load(I8X16, flags, address, 0)
        })
    }
    fn visit_v128_load8x8_s(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().sload8x8(f, a, 0))
    }
    fn visit_v128_load8x8_u(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().uload8x8(f, a, 0))
    }
    fn visit_v128_load16x4_s(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().sload16x4(f, a, 0))
    }
    fn visit_v128_load16x4_u(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().uload16x4(f, a, 0))
    }
    fn visit_v128_load32x2_s(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().sload32x2(f, a, 0))
    }
    fn visit_v128_load32x2_u(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().uload32x2(f, a, 0))
    }
    fn visit_v128_load8_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.load_splat(memarg, I8X16)
    }
    fn visit_v128_load16_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.load_splat(memarg, I16X8)
    }
    fn visit_v128_load32_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.load_splat(memarg, I32X4)
    }
    fn visit_v128_load64_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.load_splat(memarg, I64X2)
    }
    fn visit_v128_load32_zero(&mut self, memarg: MemArg) -> Self::Output {
        self.load_zero(memarg, I32X4)
    }
    fn visit_v128_load64_zero(&mut self, memarg: MemArg) -> Self::Output {
        self.load_zero(memarg, I64X2)
    }
    fn visit_v128_store(&mut self, memarg: MemArg) -> Self::Output {
        if self.reachable {
            let v = self.vpop(I8X16);
            let (address, flags) = self.memory_access(&memarg, 16);
            self.builder.ins().store(flags, v, address, 0);
        }
        Ok(())
    }
    fn visit_v128_load8_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.load_lane(memarg, I8X16, lane)
    }
    fn visit_v128_load16_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.load_lane(memarg, I16X8, lane)
    }
    fn visit_v128_load32_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.load_lane(memarg, I32X4, lane)
    }
    fn visit_v128_load64_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.load_lane(memarg, I64X2, lane)
    }
    fn visit_v128_store8_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.store_lane(memarg, I8X16, lane)
    }
    fn visit_v128_store16_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.store_lane(memarg, I16X8, lane)
    }
    fn visit_v128_store32_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.store_lane(memarg, I32X4, lane)
    }
    fn visit_v128_store64_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.store_lane(memarg, I64X2, lane)
    }

    // ----- constants, lanes, shuffles -----

    fn visit_v128_const(&mut self, value: wasmparser::V128) -> Self::Output {
        if self.reachable {
            let v = self.vconst(I8X16, *value.bytes());
            self.push(v);
        }
        Ok(())
    }
    fn visit_i8x16_shuffle(&mut self, lanes: [u8; 16]) -> Self::Output {
        if self.reachable {
            let (a, b) = self.vpop2(I8X16);
            let v = if self.simd.no_pshufb && !shuffle_without_pshufb(&lanes) {
                self.shuffle_in_memory(a, b, &lanes)
            } else {
                let mask = ConstantData::from(&lanes[..]);
                let mask = self.builder.func.dfg.immediates.push(mask);
                self.builder.ins().shuffle(a, b, mask)
            };
            self.vpush(v);
        }
        Ok(())
    }
    fn visit_i8x16_extract_lane_s(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I8X16, lane, true)
    }
    fn visit_i8x16_extract_lane_u(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I8X16, lane, false)
    }
    fn visit_i8x16_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(I8X16, lane)
    }
    fn visit_i16x8_extract_lane_s(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I16X8, lane, true)
    }
    fn visit_i16x8_extract_lane_u(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I16X8, lane, false)
    }
    fn visit_i16x8_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(I16X8, lane)
    }
    fn visit_i32x4_extract_lane(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I32X4, lane, false)
    }
    fn visit_i32x4_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(I32X4, lane)
    }
    fn visit_i64x2_extract_lane(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I64X2, lane, false)
    }
    fn visit_i64x2_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(I64X2, lane)
    }
    fn visit_f32x4_extract_lane(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(F32X4, lane, false)
    }
    fn visit_f32x4_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(F32X4, lane)
    }
    fn visit_f64x2_extract_lane(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(F64X2, lane, false)
    }
    fn visit_f64x2_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(F64X2, lane)
    }
    fn visit_i8x16_swizzle(&mut self) -> Self::Output {
        self.swizzle()
    }
    fn visit_i8x16_splat(&mut self) -> Self::Output {
        self.splat(I8X16)
    }
    fn visit_i16x8_splat(&mut self) -> Self::Output {
        self.splat(I16X8)
    }
    fn visit_i32x4_splat(&mut self) -> Self::Output {
        self.splat(I32X4)
    }
    fn visit_i64x2_splat(&mut self) -> Self::Output {
        self.splat(I64X2)
    }
    fn visit_f32x4_splat(&mut self) -> Self::Output {
        self.splat(F32X4)
    }
    fn visit_f64x2_splat(&mut self) -> Self::Output {
        self.splat(F64X2)
    }

    // ----- comparisons -----

    fn visit_i8x16_eq(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::Equal)
    }
    fn visit_i8x16_ne(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::NotEqual)
    }
    fn visit_i8x16_lt_s(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::SignedLessThan)
    }
    fn visit_i8x16_lt_u(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::UnsignedLessThan)
    }
    fn visit_i8x16_gt_s(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::SignedGreaterThan)
    }
    fn visit_i8x16_gt_u(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::UnsignedGreaterThan)
    }
    fn visit_i8x16_le_s(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::SignedLessThanOrEqual)
    }
    fn visit_i8x16_le_u(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::UnsignedLessThanOrEqual)
    }
    fn visit_i8x16_ge_s(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::SignedGreaterThanOrEqual)
    }
    fn visit_i8x16_ge_u(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::UnsignedGreaterThanOrEqual)
    }
    fn visit_i16x8_eq(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::Equal)
    }
    fn visit_i16x8_ne(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::NotEqual)
    }
    fn visit_i16x8_lt_s(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::SignedLessThan)
    }
    fn visit_i16x8_lt_u(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::UnsignedLessThan)
    }
    fn visit_i16x8_gt_s(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::SignedGreaterThan)
    }
    fn visit_i16x8_gt_u(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::UnsignedGreaterThan)
    }
    fn visit_i16x8_le_s(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::SignedLessThanOrEqual)
    }
    fn visit_i16x8_le_u(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::UnsignedLessThanOrEqual)
    }
    fn visit_i16x8_ge_s(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::SignedGreaterThanOrEqual)
    }
    fn visit_i16x8_ge_u(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::UnsignedGreaterThanOrEqual)
    }
    fn visit_i32x4_eq(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::Equal)
    }
    fn visit_i32x4_ne(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::NotEqual)
    }
    fn visit_i32x4_lt_s(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::SignedLessThan)
    }
    fn visit_i32x4_lt_u(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::UnsignedLessThan)
    }
    fn visit_i32x4_gt_s(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::SignedGreaterThan)
    }
    fn visit_i32x4_gt_u(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::UnsignedGreaterThan)
    }
    fn visit_i32x4_le_s(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::SignedLessThanOrEqual)
    }
    fn visit_i32x4_le_u(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::UnsignedLessThanOrEqual)
    }
    fn visit_i32x4_ge_s(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::SignedGreaterThanOrEqual)
    }
    fn visit_i32x4_ge_u(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::UnsignedGreaterThanOrEqual)
    }
    fn visit_i64x2_eq(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::Equal)
    }
    fn visit_i64x2_ne(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::NotEqual)
    }
    fn visit_i64x2_lt_s(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::SignedLessThan)
    }
    fn visit_i64x2_gt_s(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::SignedGreaterThan)
    }
    fn visit_i64x2_le_s(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::SignedLessThanOrEqual)
    }
    fn visit_i64x2_ge_s(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::SignedGreaterThanOrEqual)
    }
    fn visit_f32x4_eq(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::Equal)
    }
    fn visit_f32x4_ne(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::NotEqual)
    }
    fn visit_f32x4_lt(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::LessThan)
    }
    fn visit_f32x4_gt(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::GreaterThan)
    }
    fn visit_f32x4_le(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::LessThanOrEqual)
    }
    fn visit_f32x4_ge(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::GreaterThanOrEqual)
    }
    fn visit_f64x2_eq(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::Equal)
    }
    fn visit_f64x2_ne(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::NotEqual)
    }
    fn visit_f64x2_lt(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::LessThan)
    }
    fn visit_f64x2_gt(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::GreaterThan)
    }
    fn visit_f64x2_le(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::LessThanOrEqual)
    }
    fn visit_f64x2_ge(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::GreaterThanOrEqual)
    }

    // ----- bitwise -----

    fn visit_v128_not(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().bnot(x))
    }
    fn visit_v128_and(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().band(x, y))
    }
    fn visit_v128_andnot(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().band_not(x, y))
    }
    fn visit_v128_or(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().bor(x, y))
    }
    fn visit_v128_xor(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().bxor(x, y))
    }
    fn visit_v128_bitselect(&mut self) -> Self::Output {
        self.bitselect()
    }
    fn visit_v128_any_true(&mut self) -> Self::Output {
        self.reduce(I8X16, |b, x| b.ins().vany_true(x))
    }

    // ----- i8x16 -----

    fn visit_i8x16_abs(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().iabs(x))
    }
    fn visit_i8x16_neg(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().ineg(x))
    }
    fn visit_i8x16_popcnt(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().popcnt(x))
    }
    fn visit_i8x16_all_true(&mut self) -> Self::Output {
        self.reduce(I8X16, |b, x| b.ins().vall_true(x))
    }
    fn visit_i8x16_bitmask(&mut self) -> Self::Output {
        self.reduce(I8X16, |b, x| b.ins().vhigh_bits(I32, x))
    }
    fn visit_i8x16_narrow_i16x8_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().snarrow(x, y))
    }
    fn visit_i8x16_narrow_i16x8_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().unarrow(x, y))
    }
    fn visit_i8x16_shl(&mut self) -> Self::Output {
        self.shift(I8X16, |b, x, y| b.ins().ishl(x, y))
    }
    fn visit_i8x16_shr_s(&mut self) -> Self::Output {
        self.shift(I8X16, |b, x, y| b.ins().sshr(x, y))
    }
    fn visit_i8x16_shr_u(&mut self) -> Self::Output {
        self.shift(I8X16, |b, x, y| b.ins().ushr(x, y))
    }
    fn visit_i8x16_add(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().iadd(x, y))
    }
    fn visit_i8x16_add_sat_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().sadd_sat(x, y))
    }
    fn visit_i8x16_add_sat_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().uadd_sat(x, y))
    }
    fn visit_i8x16_sub(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().isub(x, y))
    }
    fn visit_i8x16_sub_sat_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().ssub_sat(x, y))
    }
    fn visit_i8x16_sub_sat_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().usub_sat(x, y))
    }
    fn visit_i8x16_min_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().smin(x, y))
    }
    fn visit_i8x16_min_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().umin(x, y))
    }
    fn visit_i8x16_max_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().smax(x, y))
    }
    fn visit_i8x16_max_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().umax(x, y))
    }
    fn visit_i8x16_avgr_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().avg_round(x, y))
    }

    // ----- i16x8 -----

    fn visit_i16x8_extadd_pairwise_i8x16_s(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| {
            let low = b.ins().swiden_low(x);
            let high = b.ins().swiden_high(x);
            b.ins().iadd_pairwise(low, high)
        })
    }
    fn visit_i16x8_extadd_pairwise_i8x16_u(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| {
            let low = b.ins().uwiden_low(x);
            let high = b.ins().uwiden_high(x);
            b.ins().iadd_pairwise(low, high)
        })
    }
    fn visit_i16x8_abs(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().iabs(x))
    }
    fn visit_i16x8_neg(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().ineg(x))
    }
    fn visit_i16x8_q15mulr_sat_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().sqmul_round_sat(x, y))
    }
    fn visit_i16x8_all_true(&mut self) -> Self::Output {
        self.reduce(I16X8, |b, x| b.ins().vall_true(x))
    }
    fn visit_i16x8_bitmask(&mut self) -> Self::Output {
        self.reduce(I16X8, |b, x| b.ins().vhigh_bits(I32, x))
    }
    fn visit_i16x8_narrow_i32x4_s(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().snarrow(x, y))
    }
    fn visit_i16x8_narrow_i32x4_u(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().unarrow(x, y))
    }
    fn visit_i16x8_extend_low_i8x16_s(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().swiden_low(x))
    }
    fn visit_i16x8_extend_high_i8x16_s(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().swiden_high(x))
    }
    fn visit_i16x8_extend_low_i8x16_u(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().uwiden_low(x))
    }
    fn visit_i16x8_extend_high_i8x16_u(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().uwiden_high(x))
    }
    fn visit_i16x8_shl(&mut self) -> Self::Output {
        self.shift(I16X8, |b, x, y| b.ins().ishl(x, y))
    }
    fn visit_i16x8_shr_s(&mut self) -> Self::Output {
        self.shift(I16X8, |b, x, y| b.ins().sshr(x, y))
    }
    fn visit_i16x8_shr_u(&mut self) -> Self::Output {
        self.shift(I16X8, |b, x, y| b.ins().ushr(x, y))
    }
    fn visit_i16x8_add(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().iadd(x, y))
    }
    fn visit_i16x8_add_sat_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().sadd_sat(x, y))
    }
    fn visit_i16x8_add_sat_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().uadd_sat(x, y))
    }
    fn visit_i16x8_sub(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().isub(x, y))
    }
    fn visit_i16x8_sub_sat_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().ssub_sat(x, y))
    }
    fn visit_i16x8_sub_sat_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().usub_sat(x, y))
    }
    fn visit_i16x8_mul(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().imul(x, y))
    }
    fn visit_i16x8_min_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().smin(x, y))
    }
    fn visit_i16x8_min_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().umin(x, y))
    }
    fn visit_i16x8_max_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().smax(x, y))
    }
    fn visit_i16x8_max_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().umax(x, y))
    }
    fn visit_i16x8_avgr_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().avg_round(x, y))
    }
    fn visit_i16x8_extmul_low_i8x16_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| {
            let x = b.ins().swiden_low(x);
            let y = b.ins().swiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i16x8_extmul_high_i8x16_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| {
            let x = b.ins().swiden_high(x);
            let y = b.ins().swiden_high(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i16x8_extmul_low_i8x16_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| {
            let x = b.ins().uwiden_low(x);
            let y = b.ins().uwiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i16x8_extmul_high_i8x16_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| {
            let x = b.ins().uwiden_high(x);
            let y = b.ins().uwiden_high(y);
            b.ins().imul(x, y)
        })
    }

    // ----- i32x4 -----

    fn visit_i32x4_extadd_pairwise_i16x8_s(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| {
            let low = b.ins().swiden_low(x);
            let high = b.ins().swiden_high(x);
            b.ins().iadd_pairwise(low, high)
        })
    }
    fn visit_i32x4_extadd_pairwise_i16x8_u(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| {
            let low = b.ins().uwiden_low(x);
            let high = b.ins().uwiden_high(x);
            b.ins().iadd_pairwise(low, high)
        })
    }
    fn visit_i32x4_abs(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().iabs(x))
    }
    fn visit_i32x4_neg(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().ineg(x))
    }
    fn visit_i32x4_all_true(&mut self) -> Self::Output {
        self.reduce(I32X4, |b, x| b.ins().vall_true(x))
    }
    fn visit_i32x4_bitmask(&mut self) -> Self::Output {
        self.reduce(I32X4, |b, x| b.ins().vhigh_bits(I32, x))
    }
    fn visit_i32x4_extend_low_i16x8_s(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().swiden_low(x))
    }
    fn visit_i32x4_extend_high_i16x8_s(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().swiden_high(x))
    }
    fn visit_i32x4_extend_low_i16x8_u(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().uwiden_low(x))
    }
    fn visit_i32x4_extend_high_i16x8_u(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().uwiden_high(x))
    }
    fn visit_i32x4_shl(&mut self) -> Self::Output {
        self.shift(I32X4, |b, x, y| b.ins().ishl(x, y))
    }
    fn visit_i32x4_shr_s(&mut self) -> Self::Output {
        self.shift(I32X4, |b, x, y| b.ins().sshr(x, y))
    }
    fn visit_i32x4_shr_u(&mut self) -> Self::Output {
        self.shift(I32X4, |b, x, y| b.ins().ushr(x, y))
    }
    fn visit_i32x4_add(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().iadd(x, y))
    }
    fn visit_i32x4_sub(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().isub(x, y))
    }
    fn visit_i32x4_mul(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().imul(x, y))
    }
    fn visit_i32x4_min_s(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().smin(x, y))
    }
    fn visit_i32x4_min_u(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().umin(x, y))
    }
    fn visit_i32x4_max_s(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().smax(x, y))
    }
    fn visit_i32x4_max_u(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().umax(x, y))
    }
    fn visit_i32x4_dot_i16x8_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| {
            let x_low = b.ins().swiden_low(x);
            let y_low = b.ins().swiden_low(y);
            let low = b.ins().imul(x_low, y_low);
            let x_high = b.ins().swiden_high(x);
            let y_high = b.ins().swiden_high(y);
            let high = b.ins().imul(x_high, y_high);
            b.ins().iadd_pairwise(low, high)
        })
    }
    fn visit_i32x4_extmul_low_i16x8_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| {
            let x = b.ins().swiden_low(x);
            let y = b.ins().swiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i32x4_extmul_high_i16x8_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| {
            let x = b.ins().swiden_high(x);
            let y = b.ins().swiden_high(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i32x4_extmul_low_i16x8_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| {
            let x = b.ins().uwiden_low(x);
            let y = b.ins().uwiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i32x4_extmul_high_i16x8_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| {
            let x = b.ins().uwiden_high(x);
            let y = b.ins().uwiden_high(y);
            b.ins().imul(x, y)
        })
    }

    // ----- i64x2 -----

    fn visit_i64x2_abs(&mut self) -> Self::Output {
        self.unop(I64X2, |b, x| b.ins().iabs(x))
    }
    fn visit_i64x2_neg(&mut self) -> Self::Output {
        self.unop(I64X2, |b, x| b.ins().ineg(x))
    }
    fn visit_i64x2_all_true(&mut self) -> Self::Output {
        self.reduce(I64X2, |b, x| b.ins().vall_true(x))
    }
    fn visit_i64x2_bitmask(&mut self) -> Self::Output {
        self.reduce(I64X2, |b, x| b.ins().vhigh_bits(I32, x))
    }
    fn visit_i64x2_extend_low_i32x4_s(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().swiden_low(x))
    }
    fn visit_i64x2_extend_high_i32x4_s(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().swiden_high(x))
    }
    fn visit_i64x2_extend_low_i32x4_u(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().uwiden_low(x))
    }
    fn visit_i64x2_extend_high_i32x4_u(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().uwiden_high(x))
    }
    fn visit_i64x2_shl(&mut self) -> Self::Output {
        self.shift(I64X2, |b, x, y| b.ins().ishl(x, y))
    }
    fn visit_i64x2_shr_s(&mut self) -> Self::Output {
        self.shift(I64X2, |b, x, y| b.ins().sshr(x, y))
    }
    fn visit_i64x2_shr_u(&mut self) -> Self::Output {
        self.shift(I64X2, |b, x, y| b.ins().ushr(x, y))
    }
    fn visit_i64x2_add(&mut self) -> Self::Output {
        self.binop(I64X2, |b, x, y| b.ins().iadd(x, y))
    }
    fn visit_i64x2_sub(&mut self) -> Self::Output {
        self.binop(I64X2, |b, x, y| b.ins().isub(x, y))
    }
    fn visit_i64x2_mul(&mut self) -> Self::Output {
        self.binop(I64X2, |b, x, y| b.ins().imul(x, y))
    }
    fn visit_i64x2_extmul_low_i32x4_s(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| {
            let x = b.ins().swiden_low(x);
            let y = b.ins().swiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i64x2_extmul_high_i32x4_s(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| {
            let x = b.ins().swiden_high(x);
            let y = b.ins().swiden_high(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i64x2_extmul_low_i32x4_u(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| {
            let x = b.ins().uwiden_low(x);
            let y = b.ins().uwiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i64x2_extmul_high_i32x4_u(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| {
            let x = b.ins().uwiden_high(x);
            let y = b.ins().uwiden_high(y);
            b.ins().imul(x, y)
        })
    }

    // ----- f32x4 -----

    fn visit_f32x4_ceil(&mut self) -> Self::Output {
        self.vround(F32X4, Round::Ceil)
    }
    fn visit_f32x4_floor(&mut self) -> Self::Output {
        self.vround(F32X4, Round::Floor)
    }
    fn visit_f32x4_trunc(&mut self) -> Self::Output {
        self.vround(F32X4, Round::Trunc)
    }
    fn visit_f32x4_nearest(&mut self) -> Self::Output {
        self.vround(F32X4, Round::Nearest)
    }
    fn visit_f32x4_abs(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().fabs(x))
    }
    fn visit_f32x4_neg(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().fneg(x))
    }
    fn visit_f32x4_sqrt(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().sqrt(x))
    }
    fn visit_f32x4_add(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fadd(x, y))
    }
    fn visit_f32x4_sub(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fsub(x, y))
    }
    fn visit_f32x4_mul(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fmul(x, y))
    }
    fn visit_f32x4_div(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fdiv(x, y))
    }
    fn visit_f32x4_min(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fmin(x, y))
    }
    fn visit_f32x4_max(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fmax(x, y))
    }
    fn visit_f32x4_pmin(&mut self) -> Self::Output {
        self.pminmax(F32X4, false)
    }
    fn visit_f32x4_pmax(&mut self) -> Self::Output {
        self.pminmax(F32X4, true)
    }

    // ----- f64x2 -----

    fn visit_f64x2_ceil(&mut self) -> Self::Output {
        self.vround(F64X2, Round::Ceil)
    }
    fn visit_f64x2_floor(&mut self) -> Self::Output {
        self.vround(F64X2, Round::Floor)
    }
    fn visit_f64x2_trunc(&mut self) -> Self::Output {
        self.vround(F64X2, Round::Trunc)
    }
    fn visit_f64x2_nearest(&mut self) -> Self::Output {
        self.vround(F64X2, Round::Nearest)
    }
    fn visit_f64x2_abs(&mut self) -> Self::Output {
        self.unop(F64X2, |b, x| b.ins().fabs(x))
    }
    fn visit_f64x2_neg(&mut self) -> Self::Output {
        self.unop(F64X2, |b, x| b.ins().fneg(x))
    }
    fn visit_f64x2_sqrt(&mut self) -> Self::Output {
        self.unop(F64X2, |b, x| b.ins().sqrt(x))
    }
    fn visit_f64x2_add(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fadd(x, y))
    }
    fn visit_f64x2_sub(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fsub(x, y))
    }
    fn visit_f64x2_mul(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fmul(x, y))
    }
    fn visit_f64x2_div(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fdiv(x, y))
    }
    fn visit_f64x2_min(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fmin(x, y))
    }
    fn visit_f64x2_max(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fmax(x, y))
    }
    fn visit_f64x2_pmin(&mut self) -> Self::Output {
        self.pminmax(F64X2, false)
    }
    fn visit_f64x2_pmax(&mut self) -> Self::Output {
        self.pminmax(F64X2, true)
    }

    // ----- conversions -----

    fn visit_i32x4_trunc_sat_f32x4_s(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().fcvt_to_sint_sat(I32X4, x))
    }
    fn visit_i32x4_trunc_sat_f32x4_u(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().fcvt_to_uint_sat(I32X4, x))
    }
    fn visit_f32x4_convert_i32x4_s(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().fcvt_from_sint(F32X4, x))
    }
    fn visit_f32x4_convert_i32x4_u(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().fcvt_from_uint(F32X4, x))
    }
    fn visit_i32x4_trunc_sat_f64x2_s_zero(&mut self) -> Self::Output {
        self.trunc_sat_zero(true)
    }
    fn visit_i32x4_trunc_sat_f64x2_u_zero(&mut self) -> Self::Output {
        self.trunc_sat_zero(false)
    }
    fn visit_f64x2_convert_low_i32x4_s(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| {
            let x = b.ins().swiden_low(x);
            b.ins().fcvt_from_sint(F64X2, x)
        })
    }
    fn visit_f64x2_convert_low_i32x4_u(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| {
            let x = b.ins().uwiden_low(x);
            b.ins().fcvt_from_uint(F64X2, x)
        })
    }
    fn visit_f32x4_demote_f64x2_zero(&mut self) -> Self::Output {
        self.unop(F64X2, |b, x| b.ins().fvdemote(x))
    }
    fn visit_f64x2_promote_low_f32x4(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().fvpromote_low(x))
    }

    // ----- relaxed SIMD: the deterministic profile (see the module doc) -----

    fn visit_i8x16_relaxed_swizzle(&mut self) -> Self::Output {
        self.swizzle()
    }
    fn visit_i32x4_relaxed_trunc_f32x4_s(&mut self) -> Self::Output {
        self.visit_i32x4_trunc_sat_f32x4_s()
    }
    fn visit_i32x4_relaxed_trunc_f32x4_u(&mut self) -> Self::Output {
        self.visit_i32x4_trunc_sat_f32x4_u()
    }
    fn visit_i32x4_relaxed_trunc_f64x2_s_zero(&mut self) -> Self::Output {
        self.trunc_sat_zero(true)
    }
    fn visit_i32x4_relaxed_trunc_f64x2_u_zero(&mut self) -> Self::Output {
        self.trunc_sat_zero(false)
    }
    fn visit_f32x4_relaxed_madd(&mut self) -> Self::Output {
        self.madd(F32X4, false)
    }
    fn visit_f32x4_relaxed_nmadd(&mut self) -> Self::Output {
        self.madd(F32X4, true)
    }
    fn visit_f64x2_relaxed_madd(&mut self) -> Self::Output {
        self.madd(F64X2, false)
    }
    fn visit_f64x2_relaxed_nmadd(&mut self) -> Self::Output {
        self.madd(F64X2, true)
    }
    fn visit_i8x16_relaxed_laneselect(&mut self) -> Self::Output {
        self.bitselect()
    }
    fn visit_i16x8_relaxed_laneselect(&mut self) -> Self::Output {
        self.bitselect()
    }
    fn visit_i32x4_relaxed_laneselect(&mut self) -> Self::Output {
        self.bitselect()
    }
    fn visit_i64x2_relaxed_laneselect(&mut self) -> Self::Output {
        self.bitselect()
    }
    fn visit_f32x4_relaxed_min(&mut self) -> Self::Output {
        self.visit_f32x4_min()
    }
    fn visit_f32x4_relaxed_max(&mut self) -> Self::Output {
        self.visit_f32x4_max()
    }
    fn visit_f64x2_relaxed_min(&mut self) -> Self::Output {
        self.visit_f64x2_min()
    }
    fn visit_f64x2_relaxed_max(&mut self) -> Self::Output {
        self.visit_f64x2_max()
    }
    fn visit_i16x8_relaxed_q15mulr_s(&mut self) -> Self::Output {
        self.visit_i16x8_q15mulr_sat_s()
    }
    fn visit_i16x8_relaxed_dot_i8x16_i7x16_s(&mut self) -> Self::Output {
        if self.reachable {
            let (a, b) = self.vpop2(I8X16);
            let v = self.dot_i8x16(a, b);
            self.vpush(v);
        }
        Ok(())
    }
    fn visit_i32x4_relaxed_dot_i8x16_i7x16_add_s(&mut self) -> Self::Output {
        if self.reachable {
            let c = self.vpop(I32X4);
            let (a, b) = self.vpop2(I8X16);
            let dot = self.dot_i8x16(a, b);
            let low = self.builder.ins().swiden_low(dot);
            let high = self.builder.ins().swiden_high(dot);
            let sums = self.builder.ins().iadd_pairwise(low, high);
            let v = self.builder.ins().iadd(sums, c);
            self.vpush(v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleavings_match_the_x64_backend_constants() {
        let masks: Vec<u128> = interleave_masks().map(u128::from_le_bytes).collect();
        assert_eq!(
            masks,
            [
                0x1707_1606_1505_1404_1303_1202_1101_1000,
                0x1f0f_1e0e_1d0d_1c0c_1b0b_1a0a_1909_1808,
                0x1716_0706_1514_0504_1312_0302_1110_0100,
                0x1f1e_0f0e_1d1c_0d0c_1b1a_0b0a_1918_0908,
                0x17161514_07060504_13121110_03020100,
                0x1f1e1d1c_0f0e0d0c_1b1a1918_0b0a0908,
                0x1716151413121110_0706050403020100,
                0x1f1e1d1c1b1a1918_0f0e0d0c0b0a0908,
            ]
        );
    }

    #[test]
    fn shuffles_that_need_pshufb_are_recognized() {
        let identity: [u8; 16] = std::array::from_fn(|i| i as u8);
        assert!(shuffle_without_pshufb(&identity));
        // pshufd: reverse the 32-bit lanes of `b`.
        let mut m = [0u8; 16];
        for (i, lane) in [7u8, 6, 5, 4].iter().enumerate() {
            for j in 0..4 {
                m[i * 4 + j] = lane * 4 + j as u8;
            }
        }
        assert!(shuffle_without_pshufb(&m));
        // Byte reversal needs pshufb.
        let reversed: [u8; 16] = std::array::from_fn(|i| 15 - i as u8);
        assert!(!shuffle_without_pshufb(&reversed));
        // Broadcast of byte 0 needs pshufb.
        assert!(!shuffle_without_pshufb(&[0; 16]));
    }
}
