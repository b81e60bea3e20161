;; A WASI reactor: `_initialize` and no `_start`. `_initialize` prints a
;; line and adds 1 to $state; `reactor_state` returns $state, so a module
;; that imports it (preload_main, with --preload reactor=wat_reactor.wasm)
;; sees 1 when `_initialize` ran exactly once.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $state (mut i32) (i32.const 0))
  (data (i32.const 64) "wat_reactor: _initialize\n")
  (func (export "_initialize")
    (global.set $state (i32.add (global.get $state) (i32.const 1)))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 25))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "reactor_state") (result i32) (global.get $state)))
