;; Floats across the calling convention, between functions of the
;; single-pass baseline compiler (crates/baseline: numbers only) and of
;; Cranelift (a function with a v128 is never the baseline's), when run
;; lazily. Ten float and five integer parameters: eight floats in xmm0-7,
;; four integers in rdx, rcx, r8, r9, the other three on the stack in
;; parameter order; five results, three in xmm0-2 and two in rax, rcx.
;; Each result weighs its parameters differently, so a parameter read from
;; the wrong place changes it. Every configuration runs this file.
(module
  (type $mix (func (param f32 i32 f64 i64 f32 i32 f64 i64 i32 f32 f64 f32 f64 f32 f64)
                   (result f64 i32 f32 i64 f64)))
  (table funcref (elem $mix $mix-v128))

  (func $mix (type $mix)
    (f64.add
      (f64.add
        (f64.add (f64.promote_f32 (local.get 0)) (f64.mul (local.get 2) (f64.const 10)))
        (f64.add (f64.mul (f64.promote_f32 (local.get 4)) (f64.const 100))
                 (f64.mul (local.get 6) (f64.const 1000))))
      (f64.add
        (f64.add (f64.mul (f64.promote_f32 (local.get 9)) (f64.const 1e4))
                 (f64.mul (local.get 10) (f64.const 1e5)))
        (f64.add
          (f64.add (f64.mul (f64.promote_f32 (local.get 11)) (f64.const 1e6))
                   (f64.mul (local.get 12) (f64.const 1e7)))
          (f64.add (f64.mul (f64.promote_f32 (local.get 13)) (f64.const 1e8))
                   (f64.mul (local.get 14) (f64.const 1e9))))))
    (i32.add (local.get 1)
      (i32.add (i32.mul (local.get 5) (i32.const 10)) (i32.mul (local.get 8) (i32.const 100))))
    (local.get 13)
    (i64.add (local.get 3) (i64.mul (local.get 7) (i64.const 10)))
    (local.get 14))

  ;; The same, by Cranelift.
  (func $mix-v128 (type $mix)
    (drop (i32x4.extract_lane 0 (i32x4.splat (local.get 1))))
    (call $mix (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
               (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9)
               (local.get 10) (local.get 11) (local.get 12) (local.get 13) (local.get 14)))

  (func (export "baseline-to-baseline") (result f64 i32 f32 i64 f64)
    (call $mix (f32.const 1) (i32.const 2) (f64.const 2) (i64.const 5) (f32.const 3)
               (i32.const 3) (f64.const 4) (i64.const 6) (i32.const 4) (f32.const 5)
               (f64.const 6) (f32.const 7) (f64.const 8) (f32.const 9) (f64.const 1)))
  (func (export "baseline-to-cranelift") (result f64 i32 f32 i64 f64)
    (call $mix-v128 (f32.const 1) (i32.const 2) (f64.const 2) (i64.const 5) (f32.const 3)
               (i32.const 3) (f64.const 4) (i64.const 6) (i32.const 4) (f32.const 5)
               (f64.const 6) (f32.const 7) (f64.const 8) (f32.const 9) (f64.const 1)))
  (func (export "cranelift-to-baseline") (result f64 i32 f32 i64 f64)
    (drop (i32x4.extract_lane 0 (i32x4.splat (i32.const 0))))
    (call $mix (f32.const 1) (i32.const 2) (f64.const 2) (i64.const 5) (f32.const 3)
               (i32.const 3) (f64.const 4) (i64.const 6) (i32.const 4) (f32.const 5)
               (f64.const 6) (f32.const 7) (f64.const 8) (f32.const 9) (f64.const 1)))
  (func (export "indirect") (param i32) (result f64 i32 f32 i64 f64)
    (call_indirect (type $mix)
               (f32.const 1) (i32.const 2) (f64.const 2) (i64.const 5) (f32.const 3)
               (i32.const 3) (f64.const 4) (i64.const 6) (i32.const 4) (f32.const 5)
               (f64.const 6) (f32.const 7) (f64.const 8) (f32.const 9) (f64.const 1)
               (local.get 0)))
  (func (export "mix") (type $mix)
    (call $mix (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
               (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9)
               (local.get 10) (local.get 11) (local.get 12) (local.get 13) (local.get 14)))
)

(assert_return (invoke "baseline-to-baseline")
  (f64.const 1987654321) (i32.const 432) (f32.const 9) (i64.const 65) (f64.const 1))
(assert_return (invoke "baseline-to-cranelift")
  (f64.const 1987654321) (i32.const 432) (f32.const 9) (i64.const 65) (f64.const 1))
(assert_return (invoke "cranelift-to-baseline")
  (f64.const 1987654321) (i32.const 432) (f32.const 9) (i64.const 65) (f64.const 1))
(assert_return (invoke "indirect" (i32.const 0))
  (f64.const 1987654321) (i32.const 432) (f32.const 9) (i64.const 65) (f64.const 1))
(assert_return (invoke "indirect" (i32.const 1))
  (f64.const 1987654321) (i32.const 432) (f32.const 9) (i64.const 65) (f64.const 1))
;; From the host, through the entry trampoline.
(assert_return (invoke "mix"
    (f32.const 1) (i32.const 2) (f64.const 2) (i64.const 5) (f32.const 3)
    (i32.const 3) (f64.const 4) (i64.const 6) (i32.const 4) (f32.const 5)
    (f64.const 6) (f32.const 7) (f64.const 8) (f32.const 9) (f64.const 1))
  (f64.const 1987654321) (i32.const 432) (f32.const 9) (i64.const 65) (f64.const 1))

;; Values whose bits matter: NaN payloads through locals, globals, blocks,
;; select and memory keep their bits; a signaling NaN stays signaling
;; where nothing computes with it.
(module
  (memory 1)
  (global $g (mut f32) (f32.const 0))
  (func (export "keep-f32") (param f32) (result i32)
    (local f32)
    (local.set 1 (local.get 0))
    (global.set $g (local.get 1))
    (f32.store (i32.const 4) (global.get $g))
    (i32.reinterpret_f32
      (select (result f32)
        (block (result f32) (f32.load (i32.const 4)))
        (f32.const 0)
        (i32.const 1))))
  (func (export "keep-f64") (param f64) (result i64)
    (f64.store offset=8 (i32.const 0) (local.get 0))
    (i64.reinterpret_f64 (f64.load offset=8 (i32.const 0))))
  (func (export "neg-abs-copysign") (param f64 f64) (result f64 f64 f64)
    (f64.neg (local.get 0)) (f64.abs (local.get 0)) (f64.copysign (local.get 0) (local.get 1)))
)

(assert_return (invoke "keep-f32" (f32.const nan:0x200001)) (i32.const 0x7fa00001))
(assert_return (invoke "keep-f32" (f32.const -0x1p-149)) (i32.const 0x80000001))
(assert_return (invoke "keep-f64" (f64.const -nan:0x4000000000001)) (i64.const -0xbffffffffffff))
(assert_return (invoke "neg-abs-copysign" (f64.const -nan:0x1) (f64.const 0))
  (f64.const nan:0x1) (f64.const nan:0x1) (f64.const nan:0x1))
(assert_return (invoke "neg-abs-copysign" (f64.const 0x1p-1074) (f64.const -0))
  (f64.const -0x1p-1074) (f64.const 0x1p-1074) (f64.const -0x1p-1074))

;; Conversions at the edges of their ranges, where an i64 constant held
;; sign-extended or an f32 widened first could go wrong.
(module
  (func (export "u64->f32") (param i64) (result f32) (f32.convert_i64_u (local.get 0)))
  (func (export "u64->f64") (param i64) (result f64) (f64.convert_i64_u (local.get 0)))
  (func (export "u32->f32") (param i32) (result f32) (f32.convert_i32_u (local.get 0)))
  (func (export "f32->u64") (param f32) (result i64) (i64.trunc_f32_u (local.get 0)))
  (func (export "f64->u64-sat") (param f64) (result i64) (i64.trunc_sat_f64_u (local.get 0)))
  (func (export "f32->s32") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
  (func (export "f64->s32-sat") (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0)))
  (func (export "f64->u32") (param f64) (result i32) (i32.trunc_f64_u (local.get 0)))
)

(assert_return (invoke "u64->f32" (i64.const -1)) (f32.const 0x1p64))
(assert_return (invoke "u64->f32" (i64.const 0x8000_0080_0000_0001)) (f32.const 0x1.000002p63))
(assert_return (invoke "u64->f64" (i64.const 0x8000_0000_0000_0401)) (f64.const 0x1.0000000000001p63))
(assert_return (invoke "u32->f32" (i32.const -1)) (f32.const 0x1p32))
(assert_return (invoke "f32->u64" (f32.const 0x1.fffffep63)) (i64.const 0xffff_ff00_0000_0000))
(assert_return (invoke "f32->u64" (f32.const -0x1.fffffep-1)) (i64.const 0))
(assert_trap (invoke "f32->u64" (f32.const 0x1p64)) "integer overflow")
(assert_trap (invoke "f32->u64" (f32.const -1)) "integer overflow")
(assert_trap (invoke "f32->u64" (f32.const nan)) "invalid conversion to integer")
(assert_return (invoke "f64->u64-sat" (f64.const 0x1p63)) (i64.const 0x8000_0000_0000_0000))
(assert_return (invoke "f64->u64-sat" (f64.const 0x1p64)) (i64.const -1))
(assert_return (invoke "f64->u64-sat" (f64.const -inf)) (i64.const 0))
(assert_return (invoke "f64->u64-sat" (f64.const -nan)) (i64.const 0))
(assert_return (invoke "f32->s32" (f32.const -0x1p31)) (i32.const 0x8000_0000))
(assert_trap (invoke "f32->s32" (f32.const 0x1p31)) "integer overflow")
(assert_trap (invoke "f32->s32" (f32.const -0x1.000002p31)) "integer overflow")
(assert_return (invoke "f64->s32-sat" (f64.const -2147483648.9)) (i32.const 0x8000_0000))
(assert_return (invoke "f64->s32-sat" (f64.const -2147483649)) (i32.const 0x8000_0000))
(assert_return (invoke "f64->s32-sat" (f64.const 2147483647.9)) (i32.const 0x7fff_ffff))
(assert_return (invoke "f64->s32-sat" (f64.const 1e300)) (i32.const 0x7fff_ffff))
(assert_return (invoke "f64->u32" (f64.const 4294967295.9)) (i32.const -1))
(assert_return (invoke "f64->u32" (f64.const -0.9)) (i32.const 0))
(assert_trap (invoke "f64->u32" (f64.const 4294967296)) "integer overflow")
