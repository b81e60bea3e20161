/*
 * The sigsetjmp/siglongjmp half of hoist's trap handling (see traphandlers.rs).
 *
 * hoist_catch calls compiled wasm code directly, so the only frames between the sigsetjmp here and
 * a faulting instruction are compiled wasm frames (and the trampolines it calls through), never a
 * Rust frame with a destructor: jumping back over them skips nothing that needs to run. Host
 * functions called from wasm never unwind through wasm either; they report failure by return
 * value, and their trampoline turns that into a trap instruction.
 */

/* glibc's fortified longjmp (__longjmp_chk) inspects the stack it jumps from; jumping from a
 * handler on the alternate signal stack is legal and must not depend on that check. */
#undef _FORTIFY_SOURCE

#include <setjmp.h>

typedef void (*hoist_entry_fn)(void *, void *, void *);

/*
 * Runs entry(a0, a1, a2) with a recovery point. Returns 1 if entry returned normally, 0 if a trap
 * unwound it via hoist_unwind. *jmp_buf_slot is set to the recovery point before entry runs; the
 * caller saves and restores the slot's previous value (nesting).
 *
 * The signal mask is not saved (savemask = 0): the trap handler is installed with SA_NODEFER and an
 * empty sa_mask, so the mask inside the handler equals the mask at the fault, and nothing needs
 * restoring. This keeps sigsetjmp free of a system call.
 */
int hoist_catch(void **jmp_buf_slot, hoist_entry_fn entry, void *a0, void *a1, void *a2) {
    sigjmp_buf buf;
    if (sigsetjmp(buf, 0)) {
        return 0;
    }
    *jmp_buf_slot = &buf;
    entry(a0, a1, a2);
    return 1;
}

/* Resumes at the sigsetjmp in hoist_catch that produced `buf`, which then returns 0. */
__attribute__((noreturn)) void hoist_unwind(void *buf) {
    siglongjmp(*(sigjmp_buf *)buf, 1);
}

/* traphandlers.rs: records a host-function failure as this thread's trap and returns the recovery
 * point of the innermost hoist_catch. */
extern void *hoist_raise_target(void);

/*
 * The `raise` builtin: compiled code (the wasm-to-host trampoline) calls it when a host function
 * failed and left its error pending. It unwinds straight to the innermost hoist_catch, which
 * returns 0 and hands the error back: no signal, no trap instruction. Only compiled wasm frames
 * and the trampolines lie between, so nothing that needs unwinding is skipped (the host
 * function's own Rust frames have already returned).
 */
__attribute__((noreturn)) unsigned long long hoist_raise(void *vmctx) {
    (void)vmctx;
    siglongjmp(*(sigjmp_buf *)hoist_raise_target(), 1);
}
