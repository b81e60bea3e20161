# wasi-threads' entry for a new thread: hoist calls it on the new
# instance with (tid, start_arg); start_arg points at a `struct mt_start`
# (minithreads.h). The instance's globals start as the main thread's, so
# the stack pointer and the TLS block are set before any C code runs.
	.globaltype __stack_pointer, i32
	.functype __wasm_init_tls (i32) -> ()
	.functype mt_thread_entry (i32, i32) -> ()

	.globl wasi_thread_start
	.export_name wasi_thread_start, wasi_thread_start
	.type wasi_thread_start,@function
wasi_thread_start:
	.functype wasi_thread_start (i32, i32) -> ()
	local.get 1
	i32.load 0
	global.set __stack_pointer
	local.get 1
	i32.load 4
	call __wasm_init_tls
	local.get 0
	local.get 1
	call mt_thread_entry
	end_function
