;; Exports for `hoist run --invoke`: identity functions of each number
;; type, one without parameters, and `show_args`, which prints the guest's
;; argv one per line and returns argc plus its two parameters.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "id_i32") (param i32) (result i32) (local.get 0))
  (func (export "id_i64") (param i64) (result i64) (local.get 0))
  (func (export "id_f32") (param f32) (result f32) (local.get 0))
  (func (export "id_f64") (param f64) (result f64) (local.get 0))
  (func (export "five") (result i32) (i32.const 5))
  (func (export "sink") (param i32))
  (func (export "show_args") (param $a i32) (param $b i64) (result i32 i32 i64)
    (local $size i32) (local $i i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (local.set $size (i32.load (i32.const 4)))
    ;; Strings at 4096 (at most 60 KiB), pointers at 1024.
    (if (i32.gt_u (local.get $size) (i32.const 61440)) (then unreachable))
    (drop (call $args_get (i32.const 1024) (i32.const 4096)))
    ;; Each NUL becomes a newline.
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $size)))
        (if (i32.eqz (i32.load8_u offset=4096 (local.get $i)))
          (then (i32.store8 offset=4096 (local.get $i) (i32.const 10))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 8) (i32.const 4096))
    (i32.store (i32.const 12) (local.get $size))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))
    (i32.load (i32.const 0))
    (local.get $a)
    (local.get $b)))
