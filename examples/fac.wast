;; Factorial three ways; run with `hoist wast examples/fac.wast`.

(module
  ;; Recursive.
  (func $fac-rec (export "fac-rec") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fac-rec (i64.sub (local.get 0) (i64.const 1)))))))

  ;; Iterative, with a loop.
  (func (export "fac-iter") (param $n i64) (result i64)
    (local $acc i64)
    (local.set $acc (i64.const 1))
    (block $done
      (loop $next
        (br_if $done (i64.le_u (local.get $n) (i64.const 1)))
        (local.set $acc (i64.mul (local.get $acc) (local.get $n)))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $next)))
    (local.get $acc))

  ;; Recursive in 32 bits, trapping instead of wrapping when the result overflows.
  (func $fac32 (export "fac32") (param i32) (result i32)
    (local $rest i32)
    (if (result i32) (i32.le_u (local.get 0) (i32.const 1))
      (then (i32.const 1))
      (else
        (local.set $rest (call $fac32 (i32.sub (local.get 0) (i32.const 1))))
        (if (i64.gt_u
              (i64.mul (i64.extend_i32_u (local.get 0)) (i64.extend_i32_u (local.get $rest)))
              (i64.const 0xffffffff))
          (then (unreachable)))
        (i32.mul (local.get 0) (local.get $rest)))))
)

(assert_return (invoke "fac-rec" (i64.const 0)) (i64.const 1))
(assert_return (invoke "fac-rec" (i64.const 5)) (i64.const 120))
(assert_return (invoke "fac-rec" (i64.const 20)) (i64.const 2432902008176640000))
(assert_return (invoke "fac-iter" (i64.const 1)) (i64.const 1))
(assert_return (invoke "fac-iter" (i64.const 10)) (i64.const 3628800))
(assert_return (invoke "fac-iter" (i64.const 25)) (i64.const 7034535277573963776))
(assert_return (invoke "fac32" (i32.const 12)) (i32.const 479001600))
(assert_trap (invoke "fac32" (i32.const 13)) "unreachable")
