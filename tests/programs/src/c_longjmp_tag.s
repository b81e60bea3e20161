# Defines the Wasm exception tag __c_longjmp, once, for lua_eh*.wasm.
#
# With -mllvm -wasm-enable-sjlj, clang lowers longjmp to a `throw` of the tag
# __c_longjmp (one i32 parameter: a pointer to the jmp_buf's argument block)
# and each setjmp to a try block that catches it. Both the compiled code and
# the libc runtime (wasi-libc's setjmp/wasm32/rt.c, __wasm_longjmp) only
# *reference* the tag; the zig 0.17.1 libc build does not define it, so the
# link fails with "undefined symbol: __c_longjmp" unless the program defines
# it itself. If a later toolchain's libc defines it, drop this file (the
# link will report a duplicate symbol).
	.globl	__c_longjmp
	.tagtype	__c_longjmp i32
__c_longjmp:
