;; Calls clock_time_get 10^7 times (a trivial host function), then exits
;; 0 if the clock never went backwards and 1 otherwise: a measure of the
;; cost of one host call.
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $i i32) (local $last i64) (local $now i64)
    (loop $next
      (if (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0))
        (then unreachable))
      (local.set $now (i64.load (i32.const 0)))
      (if (i64.lt_u (local.get $now) (local.get $last)) (then unreachable))
      (local.set $last (local.get $now))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 10000000))))))
