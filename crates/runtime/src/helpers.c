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

/* ---- exceptions (throw.rs) ---- */

#include <stdint.h>

/* Where to resume after an exception: a handler's pc, sp and fp, and the exception (in the first
 * payload register), or nothing found (jmp_buf is then the recovery point to unwind to). */
struct hoist_resume {
    void *pc;
    void *sp;
    void *fp;
    uint64_t exn;
    void *jmp_buf;
};

/* throw.rs: make and dispatch an exception (throw) or dispatch an existing one (throw_ref) from
 * the wasm frame whose frame pointer is `fp`, which called us with return address `pc`; `sp` is
 * the lowest address the collector scans. Fills `out`. */
extern void hoist_throw_dispatch(void *vmctx, uint64_t tag, void *payload, uint64_t exn,
                                 void *fp, void *pc, void *sp, struct hoist_resume *out);

/* Jumps to a handler: the frame's sp and fp restored, the exception in the first exception
 * payload register (rax / x0 / a0) and zero in the second, as Cranelift's landing pads expect. */
static __attribute__((noreturn)) void hoist_resume_at(struct hoist_resume *r) {
#if defined(__x86_64__)
    __asm__ volatile("mov %[sp], %%rsp\n\t"
                     "mov %[fp], %%rbp\n\t"
                     "jmp *%[pc]\n\t"
                     :
                     : [sp] "r"(r->sp), [fp] "r"(r->fp), [pc] "r"(r->pc), "a"(r->exn), "d"(0)
                     : "memory");
#elif defined(__aarch64__)
    register uint64_t x0 __asm__("x0") = r->exn;
    register uint64_t x1 __asm__("x1") = 0;
    __asm__ volatile("mov sp, %[sp]\n\t"
                     "mov x29, %[fp]\n\t"
                     "br %[pc]\n\t"
                     :
                     : [sp] "r"(r->sp), [fp] "r"(r->fp), [pc] "r"(r->pc), "r"(x0), "r"(x1)
                     : "memory");
#elif defined(__riscv) && __riscv_xlen == 64
    register uint64_t a0 __asm__("a0") = r->exn;
    register uint64_t a1 __asm__("a1") = 0;
    __asm__ volatile("mv sp, %[sp]\n\t"
                     "mv s0, %[fp]\n\t"
                     "jr %[pc]\n\t"
                     :
                     : [sp] "r"(r->sp), [fp] "r"(r->fp), [pc] "r"(r->pc), "r"(a0), "r"(a1)
                     : "memory");
#else
#error "hoist: exception resumption is not written for this architecture"
#endif
    __builtin_unreachable();
}

static __attribute__((noreturn, noinline)) void hoist_dispatch(void *vmctx, uint64_t tag,
                                                              void *payload, uint64_t exn,
                                                              void *fp, void *pc) {
    struct hoist_resume r;
    /* Callee-saved registers onto this frame, so the conservative collector sees any exception
     * handle compiled code kept in one. */
    __builtin_unwind_init();
    hoist_throw_dispatch(vmctx, tag, payload, exn, fp, pc, __builtin_frame_address(0), &r);
    if (r.pc) {
        hoist_resume_at(&r);
    }
    siglongjmp(*(sigjmp_buf *)r.jmp_buf, 1);
}

/* The `throw` builtin: `payload` is the exception's values, 16-byte slots. Never returns. */
__attribute__((noreturn, noinline)) unsigned long long hoist_throw(void *vmctx, uint64_t tag,
                                                                  void *payload) {
    void *fp = *(void **)__builtin_frame_address(0);
    hoist_dispatch(vmctx, tag, payload, 0, fp, __builtin_return_address(0));
}

/* The `throw_ref` builtin: rethrows the (non-null) exception `exn`. Never returns. */
__attribute__((noreturn, noinline)) unsigned long long hoist_throw_ref(void *vmctx, uint64_t exn) {
    void *fp = *(void **)__builtin_frame_address(0);
    hoist_dispatch(vmctx, UINT64_MAX - 1, 0, exn, fp, __builtin_return_address(0));
}

/*
 * The `raise` builtin: compiled code (the wasm-to-host trampoline) calls it when a host function
 * failed and left its error pending. An exception that left a nested call into wasm uncaught is
 * rethrown from here into the wasm frames above; any other error unwinds straight to the
 * innermost hoist_catch, which returns 0 and hands the error back: no signal, no trap
 * instruction. Only compiled wasm frames and trampolines lie between, so nothing that needs
 * unwinding is skipped (the host function's own Rust frames have already returned).
 */
__attribute__((noreturn, noinline)) unsigned long long hoist_raise(void *vmctx) {
    void *fp = *(void **)__builtin_frame_address(0);
    hoist_dispatch(vmctx, UINT64_MAX, 0, 0, fp, __builtin_return_address(0));
}

/* ---- GC (gc/builtins.rs) ---- */

/*
 * The builtins that may collect garbage need the calling wasm frame: its frame pointer and the
 * return address of the call, which name the stack map of its spilled references. Each shim reads
 * them from its own frame record and passes them on (as the exception helpers above do).
 */
/* The frame pointer of the function that called the current one. Compiled wasm frames keep the
 * caller's frame pointer and the return address at [fp] and [fp + 8] on every target; C frames do
 * on x86_64 and aarch64, while on riscv64 the frame pointer is the frame's top, with the two words
 * just below it. */
#if defined(__riscv)
#define HOIST_CALLER_FP() (((void **)__builtin_frame_address(0))[-2])
#else
#define HOIST_CALLER_FP() (*(void **)__builtin_frame_address(0))
#endif

extern uint64_t hoist_gc_alloc_impl(void *vmctx, uint64_t size, void *fp, void *pc);
extern uint64_t hoist_array_new_data_impl(void *vmctx, uint64_t header, uint64_t data,
                                          uint64_t offset, uint64_t len, void *fp, void *pc);
extern uint64_t hoist_array_new_elem_impl(void *vmctx, uint64_t header, uint64_t elem,
                                          uint64_t offset, uint64_t len, void *fp, void *pc);

__attribute__((noinline)) uint64_t hoist_gc_alloc(void *vmctx, uint64_t size) {
    void *fp = HOIST_CALLER_FP();
    return hoist_gc_alloc_impl(vmctx, size, fp, __builtin_return_address(0));
}

__attribute__((noinline)) uint64_t hoist_array_new_data(void *vmctx, uint64_t header,
                                                        uint64_t data, uint64_t offset,
                                                        uint64_t len) {
    void *fp = HOIST_CALLER_FP();
    return hoist_array_new_data_impl(vmctx, header, data, offset, len, fp,
                                     __builtin_return_address(0));
}

__attribute__((noinline)) uint64_t hoist_array_new_elem(void *vmctx, uint64_t header,
                                                        uint64_t elem, uint64_t offset,
                                                        uint64_t len) {
    void *fp = HOIST_CALLER_FP();
    return hoist_array_new_elem_impl(vmctx, header, elem, offset, len, fp,
                                     __builtin_return_address(0));
}

/*
 * Host functions called from wasm: the wasm-to-host trampoline calls this (a VMFuncRef's
 * array_call) and it calls the Rust side with its caller's frame pointer and return address (the
 * trampoline's), from which a collection while the host function runs walks to the wasm frames.
 */
extern uint64_t hoist_host_call_impl(void *funcref, void *caller_vmctx, void *values, void *fp,
                                     void *pc);

__attribute__((noinline)) uint64_t hoist_host_call(void *funcref, void *caller_vmctx,
                                                   void *values) {
    void *fp = HOIST_CALLER_FP();
    return hoist_host_call_impl(funcref, caller_vmctx, values, fp, __builtin_return_address(0));
}

/*
 * glibc's copy of the CPU's cpuid leaves (host_cpu.rs), or NULL. A direct reference rather than a
 * dlsym lookup: a static binary has no dynamic symbol table to look it up in, and a weak reference
 * would not pull the function out of libc.a. Built against glibc 2.33 or later (where the function
 * appeared) only; the binary then needs that glibc anyway.
 */
#if defined(__x86_64__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <sys/platform/x86.h>
const void *hoist_cpuid_feature_leaf(unsigned int index) {
    return __x86_get_cpuid_feature_leaf(index);
}
#else
const void *hoist_cpuid_feature_leaf(unsigned int index) {
    (void)index;
    return 0;
}
#endif
