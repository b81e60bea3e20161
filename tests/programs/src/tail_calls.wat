;; tail_calls: a WASI command that needs real tail calls (Wasm 3.0
;; return_call / return_call_indirect). Each countdown below makes far more
;; calls than any call stack could hold if the calls were not tail calls.
;;
;;   1. return_call: $even/$odd mutual recursion, 100000000 calls.
;;   2. return_call_indirect: three functions in a table, each picks the next
;;      by (n - 1) % 3, 100000000 calls.
;;   3. return_call between different arities: $narrow (2 params) calls $wide
;;      (18 params of all four number types, more than fit in registers) and
;;      back, 2 x 10000000 calls; a parameter passed in the wrong slot changes
;;      the sum.
;;   4. $write_line ends with a return_call to the imported fd_write.
;;
;; Each line ends in "ok" when the result equals the value computed in
;; closed form; otherwise in "MISMATCH, expected ..." and the exit status is 1.
;;
;; Build: tests/programs/build.sh tail_calls (wasm-tools parse).
;; Checked with wasmtime 49.0.3 (tail calls are on by default):
;;   $ wasmtime run tests/programs/tail_calls.wasm; echo "exit=$?"
;;   return_call $even/$odd, 100000000 calls: 5000000050000000 ok
;;   return_call_indirect $f0/$f1/$f2, 100000000 steps: 10000000066666667 ok
;;   return_call $narrow/$wide (18 params), 20000000 calls: 6800015640000000 ok
;;   exit=0
(module $tail_calls
  (type $step (func (param i64 i64) (result i64)))

  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))

  ;; 0..8: iovec for fd_write; 8..12: nwritten; 64..: strings;
  ;; 900..1000: digits; 1024..: the line being built.
  (memory (export "memory") 1)
  (data (i32.const 64) "return_call $even/$odd, 100000000 calls: \00")
  (data (i32.const 128) "return_call_indirect $f0/$f1/$f2, 100000000 steps: \00")
  (data (i32.const 192) "return_call $narrow/$wide (18 params), 20000000 calls: \00")
  (data (i32.const 256) " ok\00")
  (data (i32.const 272) " MISMATCH, expected \00")

  (global $line_len (mut i32) (i32.const 0))
  (global $failed (mut i32) (i32.const 0))

  ;; ---- 1. mutual recursion ---------------------------------------------
  ;; $even(n, acc) for even n, $odd(n, acc) for odd n; both add n to acc.
  (func $even (param $n i64) (param $acc i64) (result i64)
    (if (i64.eqz (local.get $n)) (then (return (local.get $acc))))
    (return_call $odd
      (i64.sub (local.get $n) (i64.const 1))
      (i64.add (local.get $acc) (local.get $n))))

  (func $odd (param $n i64) (param $acc i64) (result i64)
    (if (i64.eqz (local.get $n)) (then (return (local.get $acc))))
    (return_call $even
      (i64.sub (local.get $n) (i64.const 1))
      (i64.add (local.get $acc) (local.get $n))))

  ;; ---- 2. return_call_indirect through a table --------------------------
  ;; $fK handles n with n % 3 == K and adds (K + 1) * n.
  (table $steps 3 funcref)
  (elem (table $steps) (i32.const 0) func $f0 $f1 $f2)

  (func $next (param $n i64) (param $acc i64) (result i64)
    ;; Dispatch on n % 3 (also the entry point of the countdown).
    (return_call_indirect $steps (type $step)
      (local.get $n) (local.get $acc)
      (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 3)))))

  (func $f0 (type $step)
    (if (i64.eqz (local.get 0)) (then (return (local.get 1))))
    (return_call_indirect $steps (type $step)
      (i64.sub (local.get 0) (i64.const 1))
      (i64.add (local.get 1) (local.get 0))
      (i32.wrap_i64 (i64.rem_u (i64.sub (local.get 0) (i64.const 1)) (i64.const 3)))))

  (func $f1 (type $step)
    (return_call_indirect $steps (type $step)
      (i64.sub (local.get 0) (i64.const 1))
      (i64.add (local.get 1) (i64.mul (local.get 0) (i64.const 2)))
      (i32.wrap_i64 (i64.rem_u (i64.sub (local.get 0) (i64.const 1)) (i64.const 3)))))

  (func $f2 (type $step)
    (return_call_indirect $steps (type $step)
      (i64.sub (local.get 0) (i64.const 1))
      (i64.add (local.get 1) (i64.mul (local.get 0) (i64.const 3)))
      (i32.wrap_i64 (i64.rem_u (i64.sub (local.get 0) (i64.const 1)) (i64.const 3)))))

  ;; ---- 3. tail calls that change the number of parameters --------------
  ;; $narrow passes p_k = n + k for k = 1..16 to $wide, which adds
  ;; sum(k * p_k) = 136 n + 1496 to acc.
  (func $narrow (param $n i64) (param $acc i64) (result i64)
    (if (i64.eqz (local.get $n)) (then (return (local.get $acc))))
    (return_call $wide
      (local.get $n)
      (local.get $acc)
      (i32.wrap_i64 (i64.add (local.get $n) (i64.const 1)))
      (f64.convert_i64_u (i64.add (local.get $n) (i64.const 2)))
      (i64.add (local.get $n) (i64.const 3))
      (f32.convert_i64_u (i64.add (local.get $n) (i64.const 4)))
      (i32.wrap_i64 (i64.add (local.get $n) (i64.const 5)))
      (i64.add (local.get $n) (i64.const 6))
      (f64.convert_i64_u (i64.add (local.get $n) (i64.const 7)))
      (i32.wrap_i64 (i64.add (local.get $n) (i64.const 8)))
      (i64.add (local.get $n) (i64.const 9))
      (f32.convert_i64_u (i64.add (local.get $n) (i64.const 10)))
      (i32.wrap_i64 (i64.add (local.get $n) (i64.const 11)))
      (i64.add (local.get $n) (i64.const 12))
      (f64.convert_i64_u (i64.add (local.get $n) (i64.const 13)))
      (i32.wrap_i64 (i64.add (local.get $n) (i64.const 14)))
      (i64.add (local.get $n) (i64.const 15))
      (f64.convert_i64_u (i64.add (local.get $n) (i64.const 16)))))

  (func $wide
    (param $n i64) (param $acc i64)
    (param $p1 i32) (param $p2 f64) (param $p3 i64) (param $p4 f32)
    (param $p5 i32) (param $p6 i64) (param $p7 f64) (param $p8 i32)
    (param $p9 i64) (param $p10 f32) (param $p11 i32) (param $p12 i64)
    (param $p13 f64) (param $p14 i32) (param $p15 i64) (param $p16 f64)
    (result i64)
    (local $s i64)
    (local.set $s (i64.extend_i32_u (local.get $p1)))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 2) (i64.trunc_f64_u (local.get $p2)))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 3) (local.get $p3))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 4) (i64.trunc_f32_u (local.get $p4)))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 5) (i64.extend_i32_u (local.get $p5)))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 6) (local.get $p6))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 7) (i64.trunc_f64_u (local.get $p7)))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 8) (i64.extend_i32_u (local.get $p8)))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 9) (local.get $p9))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 10) (i64.trunc_f32_u (local.get $p10)))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 11) (i64.extend_i32_u (local.get $p11)))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 12) (local.get $p12))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 13) (i64.trunc_f64_u (local.get $p13)))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 14) (i64.extend_i32_u (local.get $p14)))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 15) (local.get $p15))))
    (local.set $s (i64.add (local.get $s) (i64.mul (i64.const 16) (i64.trunc_f64_u (local.get $p16)))))
    (return_call $narrow
      (i64.sub (local.get $n) (i64.const 1))
      (i64.add (local.get $acc) (local.get $s))))

  ;; ---- output -----------------------------------------------------------
  (func $put_byte (param $b i32)
    (i32.store8 (i32.add (i32.const 1024) (global.get $line_len)) (local.get $b))
    (global.set $line_len (i32.add (global.get $line_len) (i32.const 1))))

  ;; Appends the NUL-terminated string at $p.
  (func $put_str (param $p i32)
    (local $c i32)
    (block $done
      (loop $next
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $done (i32.eqz (local.get $c)))
        (call $put_byte (local.get $c))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next))))

  ;; Appends $v in decimal.
  (func $put_u64 (param $v i64)
    (local $p i32)
    (local.set $p (i32.const 1000))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $v) (i64.const 0))))
    (block $done
      (loop $copy
        (br_if $done (i32.eq (local.get $p) (i32.const 1000)))
        (call $put_byte (i32.load8_u (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $copy))))

  ;; Writes the line and a newline to stdout; a tail call into the host.
  (func $write_line (result i32)
    (call $put_byte (i32.const 10))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (global.get $line_len))
    (global.set $line_len (i32.const 0))
    (return_call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))

  (func $report (param $label i32) (param $got i64) (param $want i64)
    (call $put_str (local.get $label))
    (call $put_u64 (local.get $got))
    (if (i64.eq (local.get $got) (local.get $want))
      (then (call $put_str (i32.const 256)))
      (else
        (call $put_str (i32.const 272))
        (call $put_u64 (local.get $want))
        (global.set $failed (i32.const 1))))
    (drop (call $write_line)))

  (func $_start (export "_start")
    (call $report (i32.const 64)
      (call $even (i64.const 100000000) (i64.const 0))
      (i64.const 5000000050000000))
    (call $report (i32.const 128)
      (call $next (i64.const 100000000) (i64.const 0))
      (i64.const 10000000066666667))
    (call $report (i32.const 192)
      (call $narrow (i64.const 10000000) (i64.const 0))
      (i64.const 6800015640000000))
    (if (global.get $failed) (then (call $proc_exit (i32.const 1))))))
