;; Shapes that once put hoist's single-pass baseline compiler
;; (crates/baseline, HOIST_BASELINE=single-pass) out of step with a body.
;; Every configuration runs them; what they compute is plain wasm.

;; A legacy `try ... delegate` in unreachable code ends without an `end`:
;; counting it as a block that an `end` closes made a later `end` close the
;; wrong block, the operand stack's height wrap, and a constant land on the
;; return address (helper-38's review).
(module
  (type $four (func (result i32 i32 i32 i32)))
  (func (export "dead-delegate") (param $p i32) (result i32)
    (block $b1 (type $four)
      (block $b2
        (br_if $b2 (local.get $p))
        (unreachable)
        try
        delegate $b2)
      (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4))
    (drop) (drop) (drop)
    (i64.const 0x4141414141)
    (drop)))

(assert_return (invoke "dead-delegate" (i32.const 1)) (i32.const 1))
(assert_trap (invoke "dead-delegate" (i32.const 0)) "unreachable")

;; Nested dead blocks of every kind, then live code again.
(module
  (func (export "dead-nesting") (param $p i32) (result i64)
    (block $out (result i64)
      (block $skip
        (br_if $skip (local.get $p))
        (br $out (i64.const -1))
        (block (loop (if (i32.const 0) (then) (else))))
        try nop catch_all end
        try delegate 0
        (try_table (nop)))
      (i64.add (i64.extend_i32_u (local.get $p)) (i64.const 41)))))

(assert_return (invoke "dead-nesting" (i32.const 1)) (i64.const 42))
(assert_return (invoke "dead-nesting" (i32.const 0)) (i64.const -1))

;; br_table with values to move and an out-of-range index.
(module
  (func (export "table") (param $i i32) (result i32)
    (block $a (result i32)
      (block $b (result i32)
        (block $c (result i32)
          (i32.const 10)
          (i32.const 20)
          (drop)
          (br_table $a $b $c (local.get $i)))
        (return (i32.const 3)))
      (return (i32.const 2)))
    (drop)
    (i32.const 1)))

(assert_return (invoke "table" (i32.const 0)) (i32.const 1))
(assert_return (invoke "table" (i32.const 1)) (i32.const 2))
(assert_return (invoke "table" (i32.const 2)) (i32.const 3))
(assert_return (invoke "table" (i32.const -1)) (i32.const 3))
