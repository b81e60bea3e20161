;; Multi-value blocks, loops, ifs, calls and branches (regression script).

(module
  (func $pair (result i32 i64) (i32.const 1) (i64.const 2))

  (func (export "call-pair") (result i32 i64)
    (call $pair))

  (func (export "block-params") (param i32 i32) (result i32)
    (local.get 0) (local.get 1)
    (block (param i32 i32) (result i32) (i32.sub)))

  (func (export "block-results") (result i32 f64 i64)
    (block (result i32 f64 i64)
      (i32.const 7) (f64.const 2.5) (i64.const -3)))

  (func (export "br-values") (param i32) (result i32 i32)
    (block (result i32 i32)
      (i32.const 10) (i32.const 20)
      (br_if 0 (local.get 0))
      (drop) (drop)
      (i32.const 30) (i32.const 40)))

  (func (export "if-swap") (param i32 i32 i32) (result i32 i32)
    (local.get 1) (local.get 2)
    (if (param i32 i32) (result i32 i32) (local.get 0)
      (then)
      (else
        (local.set 1) (local.set 2) (local.get 1) (local.get 2))))

  ;; Sums n..1 with (i, acc) carried into each iteration as loop parameters.
  (func (export "loop-sum") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (local.get $n) (i32.const 0)
    (loop $l (param i32 i32) (result i32)
      (local.set $acc) (local.set $i)
      (local.set $acc (i32.add (local.get $acc) (local.get $i)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (local.get $i) (local.get $acc)
      (br_if $l (local.get $i))
      (local.set $acc) (drop) (local.get $acc)))
)

(assert_return (invoke "call-pair") (i32.const 1) (i64.const 2))
(assert_return (invoke "block-params" (i32.const 10) (i32.const 3)) (i32.const 7))
(assert_return (invoke "block-results") (i32.const 7) (f64.const 2.5) (i64.const -3))
(assert_return (invoke "br-values" (i32.const 1)) (i32.const 10) (i32.const 20))
(assert_return (invoke "br-values" (i32.const 0)) (i32.const 30) (i32.const 40))
(assert_return (invoke "if-swap" (i32.const 1) (i32.const 5) (i32.const 6)) (i32.const 5) (i32.const 6))
(assert_return (invoke "if-swap" (i32.const 0) (i32.const 5) (i32.const 6)) (i32.const 6) (i32.const 5))
(assert_return (invoke "loop-sum" (i32.const 1)) (i32.const 1))
(assert_return (invoke "loop-sum" (i32.const 100)) (i32.const 5050))
