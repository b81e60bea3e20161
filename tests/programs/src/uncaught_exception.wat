;; uncaught_exception: a WASI command whose _start throws a Wasm exception
;; (Wasm 3.0 exception handling) that nothing catches. It prints
;; "throwing $my_error(42)" to stdout, then $raise throws the tag $my_error
;; (exported as "my_error") with the i32 payload 42 out of _start.
;; A runtime must fail the run rather than exit 0.
;;
;; (A C guest can't do this safely: longjmp without a matching setjmp is
;; undefined behaviour, so this is written directly in WAT.)
;;
;; Build: tests/programs/build.sh uncaught_exception (wasm-tools parse).
;; Checked with wasmtime 49.0.3 (exceptions are on by default; with
;; -W exceptions=n it refuses the module: "exceptions proposal not enabled"):
;;   $ RUST_BACKTRACE=0 wasmtime run tests/programs/uncaught_exception.wasm; echo "exit=$?"
;;   throwing $my_error(42)
;;   Error: failed to run main module `tests/programs/uncaught_exception.wasm`
;;
;;   Caused by:
;;       0: failed to invoke command default
;;       1: error while executing at wasm backtrace:
;;              0:   0x75 - uncaught_exception!raise
;;              1:   0x95 - uncaught_exception!_start
;;       2: thrown Wasm exception
;;   exit=1
;; wasmtime names neither the tag nor the payload: only "thrown Wasm
;; exception", and the exit status is 1 (a trap would be 134).
(module $uncaught_exception
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)
  (data (i32.const 16) "throwing $my_error(42)\n")

  (tag $my_error (export "my_error") (param i32))

  (func $raise (param $code i32)
    local.get $code
    throw $my_error)

  (func $_start (export "_start")
    ;; iovec at 0: 23 bytes at 16.
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 23))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $raise (i32.const 42))))
