//! Catching traps around calls into compiled wasm code.
//!
//! # How a trap gets from a faulting instruction back to the host
//!
//! 1. The host calls compiled code through [`catch_traps`], which calls the C helper
//!    `hoist_catch` (`helpers.c`). That helper makes a recovery point with `sigsetjmp`, publishes
//!    its address in this thread's `ThreadState::jmp_buf`, and calls the entry trampoline
//!    directly. So the only frames between the recovery point and any instruction in wasm code
//!    are compiled wasm frames: jumping back over them skips no Rust destructor.
//! 2. A trap is a hardware fault at an instruction the compiler recorded in the trap table: an
//!    out-of-bounds access into a guard region (SIGSEGV/SIGBUS), a trap instruction (`ud2`, `udf`,
//!    `unimp`: SIGILL), or a trapping division (SIGFPE on x86_64).
//! 3. The signal handler (`sys::unix::signals`) reads the PC from the `ucontext` and calls
//!    `test_if_trap`: if this thread is inside `catch_traps` *and* the PC is in registered code
//!    *and* there is a trap record at exactly that PC, it stores the trap in the thread state and
//!    `siglongjmp`s (via `hoist_unwind`) to the innermost recovery point; `hoist_catch` returns 0
//!    and `catch_traps` returns `Err`. Any other fault is forwarded to the previously installed
//!    handler, so a real bug still crashes the process as it would without hoist.
//! 4. A host function called from wasm never unwinds through wasm code. When it fails it stores its
//!    error with [`set_pending_host_error`] and returns `false` to its compiled trampoline, which
//!    executes a trap instruction recorded as [`TrapCode::HostTrap`]. That takes path 3, and
//!    `catch_traps` hands the pending error back as [`TrapReason::Host`].
//!
//! # Nesting
//!
//! host → wasm → host → wasm works: every `catch_traps` saves the thread's current recovery point
//! and restores it when its call returns, normally or by a trap, so a trap always unwinds to the
//! innermost active `catch_traps` on its own thread.
//!
//! # What the signal handler may touch
//!
//! Only `STATE`: a `thread_local!` with a `const` initializer whose type has no destructor, so
//! accessing it is a plain TLS access (no lazy initialization, no destructor registration, no
//! allocation), plus the code registry's read lock. The pending host error (which allocates and
//! has a destructor) lives in a separate thread-local that only ordinary host code touches.

#![warn(unsafe_op_in_unsafe_fn)]

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::ffi::{c_int, c_void};
use std::sync::Once;

use hoist_environ::TrapCode;

use crate::code_registry;

/// Why a call into compiled code did not return normally.
#[derive(Debug)]
pub enum TrapReason {
    /// A hardware fault at an instruction with a trap record.
    Wasm {
        /// The recorded trap code.
        code: TrapCode,
        /// The address of the faulting instruction.
        pc: usize,
    },
    /// A host function called from wasm failed with this error.
    Host(Box<dyn Error + Send + Sync>),
    /// A wasm exception found no handler: its handle in the store's
    /// exception heap.
    Exception { exn: u64 },
}

/// The type of a compiled entry point as `catch_traps` calls it (SysV / C ABI).
pub type EntryFn = unsafe extern "C" fn(*mut u8, *mut u8, *mut u8);

extern "C" {
    /// `helpers.c`: runs `entry(a0, a1, a2)` after storing a `sigsetjmp` recovery point into
    /// `*jmp_buf_slot`. Returns 1 on a normal return, 0 when unwound by `hoist_unwind`.
    fn hoist_catch(
        jmp_buf_slot: *mut *mut c_void,
        entry: EntryFn,
        a0: *mut u8,
        a1: *mut u8,
        a2: *mut u8,
    ) -> c_int;

    /// `helpers.c`: `siglongjmp`s to the recovery point `buf` made by `hoist_catch`.
    fn hoist_unwind(buf: *mut c_void) -> !;
}

/// How many frames the signal handler records for [`last_trap_backtrace`].
pub const MAX_TRAP_BACKTRACE: usize = 256;

/// Per-thread state shared with the signal handler. Only `Cell`s of `Copy` types: no destructor,
/// `const`-initialized.
struct ThreadState {
    /// The innermost active `hoist_catch` recovery point (a `sigjmp_buf*`), or null when this
    /// thread is not running compiled code under `catch_traps`.
    jmp_buf: Cell<*mut c_void>,
    /// The last trap taken on this thread: its code and PC.
    trap_code: Cell<Option<TrapCode>>,
    trap_pc: Cell<usize>,
    /// The last trap's wasm backtrace: `backtrace[..backtrace_len]`, innermost first. The first
    /// entry is the trapping PC; the others are return addresses into compiled code.
    backtrace_len: Cell<usize>,
    backtrace: [Cell<usize>; MAX_TRAP_BACKTRACE],
    /// How many signals this thread turned into wasm traps (for tests).
    signals: Cell<u64>,
    /// The handle of an exception that left the innermost activation
    /// uncaught (0: none).
    exception: Cell<u64>,
}

impl ThreadState {
    const fn new() -> Self {
        ThreadState {
            jmp_buf: Cell::new(std::ptr::null_mut()),
            trap_code: Cell::new(None),
            trap_pc: Cell::new(0),
            backtrace_len: Cell::new(0),
            backtrace: [const { Cell::new(0) }; MAX_TRAP_BACKTRACE],
            signals: Cell::new(0),
            exception: Cell::new(0),
        }
    }
}

// The signal handler relies on this: a TLS value without drop glue is never lazily registered
// for destruction, so accessing it from a signal handler is a plain memory access.
const _: () = assert!(!std::mem::needs_drop::<ThreadState>());

thread_local! {
    static STATE: ThreadState = const { ThreadState::new() };

    /// The error of a failed host function, waiting for its `HostTrap` to reach `catch_traps`.
    /// Never touched by the signal handler.
    static PENDING_HOST_ERROR: RefCell<Option<Box<dyn Error + Send + Sync>>> =
        const { RefCell::new(None) };
}

/// Installs the trap signal handlers, once per process. Idempotent and cheap after the first call.
///
/// # Panics
/// If the handlers cannot be installed (`sigaction` fails).
pub fn init_traps() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // SAFETY: called once per process (guarded by `INIT`), which is what
        // `install_signal_handlers` requires so that the saved previous handlers are the real
        // previous ones and not our own.
        unsafe { crate::sys::install_signal_handlers() }
    });
}

/// Calls `entry(a0, a1, a2)` under a `sigsetjmp` recovery point.
///
/// Returns `Err` if a wasm trap (a fault at an instruction with a trap record) or a host trap
/// (the `HostTrap` code with an error left by [`set_pending_host_error`]) unwound the call.
/// Installs the signal handlers if needed ([`init_traps`]) and sets up this thread's alternate
/// signal stack lazily (64 KiB plus a guard page, only if the thread's current one is missing or
/// smaller). Nesting is supported: the thread's current recovery point is saved and restored.
///
/// A `HostTrap` with no pending host error is reported as `TrapReason::Wasm { code: HostTrap, .. }`.
///
/// # Safety
/// `entry` must be compiled code (or code that behaves like it) that can be called with these
/// arguments. Between this call and any fault that `entry` can take there must be no frame that
/// needs to run code when unwound (Rust destructors, C++ cleanups): a trap jumps straight back
/// here. In particular host functions called from `entry` must not trap or panic through it; they
/// report errors by return value. `entry` must not unwind (it is `extern "C"`).
pub unsafe fn catch_traps(
    entry: EntryFn,
    a0: *mut u8,
    a1: *mut u8,
    a2: *mut u8,
) -> Result<(), TrapReason> {
    init_traps();
    crate::sys::lazy_per_thread_init();

    let slot = STATE.with(|s| s.jmp_buf.as_ptr());
    // SAFETY: `slot` points into this thread's `STATE`, which lives (and has no destructor) until
    // the thread exits, so it is valid for this whole call.
    let prev = unsafe { *slot };
    // SAFETY: `slot` is valid (above) and only accessed through `Cell`s (interior mutability)
    // everywhere else. The caller guarantees `entry` may be called with these arguments and that
    // nothing between here and a fault needs unwinding, which makes the `siglongjmp` back sound.
    let returned = unsafe { hoist_catch(slot, entry, a0, a1, a2) };
    STATE.with(|s| s.jmp_buf.set(prev));

    if returned != 0 {
        return Ok(());
    }
    let exception = STATE.with(|s| s.exception.replace(0));
    if exception != 0 {
        return Err(TrapReason::Exception { exn: exception });
    }
    let (code, pc) = STATE.with(|s| (s.trap_code.get(), s.trap_pc.get()));
    let code = code.expect("unwound by a trap, but no trap was recorded");
    if code == TrapCode::HostTrap {
        if let Some(err) = take_pending_host_error() {
            return Err(TrapReason::Host(err));
        }
    }
    Err(TrapReason::Wasm { code, pc })
}

/// Records the error of a failing host function on this thread. The host function then returns
/// `false` to its compiled trampoline, which traps with `HostTrap`, and the innermost
/// [`catch_traps`] returns it as [`TrapReason::Host`]. A later call replaces an earlier error.
pub fn set_pending_host_error(err: Box<dyn Error + Send + Sync>) {
    PENDING_HOST_ERROR.with(|p| *p.borrow_mut() = Some(err));
}

/// Removes and returns this thread's pending host error, if any. `catch_traps` does this itself
/// when it sees a `HostTrap`; this is for callers that need to discard a stale error.
pub fn take_pending_host_error() -> Option<Box<dyn Error + Send + Sync>> {
    PENDING_HOST_ERROR.with(|p| p.borrow_mut().take())
}

/// The current native stack pointer, approximately (the address of a local in this frame). Used to
/// compute the wasm stack limit before entering compiled code.
#[inline(never)]
pub fn approximate_sp() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// The backtrace of the last wasm trap taken on this thread, innermost first: the trapping PC,
/// then the return address of each caller frame in compiled code (found by walking the frame
/// pointer chain in the signal handler, so it requires code compiled with frame pointers). Only
/// frames of the innermost `catch_traps` activation are included, at most
/// [`MAX_TRAP_BACKTRACE`]. Read it right after `catch_traps` returns `Err`: the next trap on this
/// thread overwrites it.
pub fn last_trap_backtrace() -> Vec<usize> {
    STATE.with(|s| {
        s.backtrace[..s.backtrace_len.get()]
            .iter()
            .map(Cell::get)
            .collect()
    })
}

/// Called by the signal handler with the faulting thread's PC, frame pointer and stack pointer.
///
/// If this thread is inside [`catch_traps`] and `pc` has a trap record, records the trap (code,
/// PC, backtrace) in the thread state and returns the recovery point to pass to [`unwind`].
/// Otherwise returns `None` and the fault must be forwarded.
///
/// Async-signal-safe: touches only `STATE` and the code registry's read lock; no allocation.
///
/// # Safety
/// Must only be called from the signal handler of a synchronous fault on this thread, with the
/// register values of the interrupted context: `[sp, recovery point)` is then this thread's live
/// stack, which the frame-pointer walk reads.
pub(crate) unsafe fn test_if_trap(pc: usize, fp: usize, sp: usize) -> Option<*mut c_void> {
    // `try_with` cannot fail for a const TLS without a destructor; be defensive anyway.
    STATE
        .try_with(|s| {
            let buf = s.jmp_buf.get();
            if buf.is_null() {
                return None;
            }
            let code = code_registry::lookup_trap(pc)?;
            s.trap_code.set(Some(code));
            s.trap_pc.set(pc);
            s.signals.set(s.signals.get() + 1);
            // SAFETY: per this function's contract, `sp` is the faulting thread's stack pointer
            // and `buf` (a local of the `hoist_catch` frame that called into wasm) lies above all
            // frames of this activation, so `[sp, buf)` is mapped, live stack.
            let len = unsafe { walk_frames(s, pc, fp, sp, buf as usize) };
            s.backtrace_len.set(len);
            Some(buf)
        })
        .ok()
        .flatten()
}

/// Records `pc` and then the return addresses of the frame-pointer chain starting at `fp`, while
/// they are in registered code. Returns the number of entries written.
///
/// Frame layout (x86_64, aarch64 and riscv64 alike, with frame pointers): `[fp]` holds the
/// caller's frame pointer and `[fp + 8]` the return address.
///
/// # Safety
/// Every address in `[sp, limit)` must be readable.
unsafe fn walk_frames(s: &ThreadState, pc: usize, mut fp: usize, sp: usize, limit: usize) -> usize {
    const WORD: usize = std::mem::size_of::<usize>();
    s.backtrace[0].set(pc);
    let mut n = 1;
    while n < MAX_TRAP_BACKTRACE {
        // Only follow frame pointers that point into this activation's part of the stack; a
        // garbage `fp` (say, a trap in a prologue, or code without frame pointers) stops the walk.
        let in_bounds = fp >= sp
            && fp.is_multiple_of(WORD)
            && fp.checked_add(2 * WORD).is_some_and(|e| e <= limit);
        if !in_bounds {
            break;
        }
        // SAFETY: `fp` and `fp + WORD` are word-aligned and inside `[sp, limit)`, which the
        // caller guarantees is readable.
        let (next_fp, ret) = unsafe {
            let p = fp as *const usize;
            (p.read(), p.add(1).read())
        };
        if !code_registry::is_wasm_pc(ret) {
            break;
        }
        s.backtrace[n].set(ret);
        n += 1;
        // Frames get older towards higher addresses; anything else is not a valid chain.
        if next_fp <= fp {
            break;
        }
        fp = next_fp;
    }
    n
}

/// The innermost recovery point on this thread (null outside `catch_traps`).
pub(crate) fn innermost_jmp_buf() -> *mut c_void {
    STATE.with(|s| s.jmp_buf.get())
}

/// Records that a host function's error unwinds to the innermost entry
/// (the `raise` builtin, no signal).
pub(crate) fn record_host_trap() {
    STATE.with(|s| {
        s.trap_code.set(Some(TrapCode::HostTrap));
        s.trap_pc.set(0);
        s.backtrace_len.set(0);
    });
    RAISES.with(|r| r.set(r.get() + 1));
}

/// Records an uncaught exception `exn`, thrown by the frame `fp` at `pc`,
/// and its backtrace; the entry then returns [`TrapReason::Exception`].
///
/// # Safety
/// `[sp, innermost recovery point)` must be this thread's live stack, and
/// `fp` a frame in it.
pub(crate) unsafe fn record_exception(exn: u64, pc: usize, fp: usize, sp: usize) {
    STATE.with(|s| {
        s.trap_code.set(None);
        s.exception.set(exn);
        s.trap_pc.set(pc);
        let limit = s.jmp_buf.get() as usize;
        // SAFETY: per the contract.
        let len = unsafe { walk_frames(s, pc, fp, sp, limit) };
        s.backtrace_len.set(len);
    });
}

thread_local! {
    /// How many times `raise` unwound on this thread (for tests).
    static RAISES: Cell<u64> = const { Cell::new(0) };
}

/// How many host failures on this thread unwound through `raise`
/// (without a signal) so far.
pub fn raise_count() -> u64 {
    RAISES.with(Cell::get)
}

/// How many fault signals this thread turned into wasm traps so far.
pub fn trap_signal_count() -> u64 {
    STATE.with(|s| s.signals.get())
}

/// Resumes at the recovery point returned by [`test_if_trap`].
///
/// # Safety
/// `buf` must come from `test_if_trap` in this same signal handler invocation (so the
/// `hoist_catch` frame that owns it is still live), and only compiled wasm frames may lie between
/// the handler and that frame.
pub(crate) unsafe fn unwind(buf: *mut c_void) -> ! {
    // SAFETY: forwarded from this function's contract.
    unsafe { hoist_unwind(buf) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code_registry::{register_code, CodeTables};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn add_one(a0: *mut u8, a1: *mut u8, a2: *mut u8) {
        // SAFETY: the tests pass a valid `*mut usize` as `a0`.
        unsafe { *(a0 as *mut usize) += 1 };
        assert!(a1.is_null() && a2.is_null());
    }

    #[test]
    fn normal_return_is_ok() {
        let mut n = 41usize;
        // SAFETY: `add_one` is a valid entry for a pointer to a live usize.
        let r = unsafe {
            catch_traps(
                add_one,
                &mut n as *mut usize as *mut u8,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert!(r.is_ok());
        assert_eq!(n, 42);
        // Back outside: no recovery point left behind.
        assert!(STATE.with(|s| s.jmp_buf.get()).is_null());
    }

    /// Records the recovery point seen on entry, then nests `depth - 1` more levels.
    unsafe extern "C" fn nest(depth: *mut u8, seen: *mut u8, _: *mut u8) {
        CALLS.fetch_add(1, Ordering::SeqCst);
        let depth = depth as usize;
        let seen = seen as *mut Vec<usize>;
        let here = STATE.with(|s| s.jmp_buf.get()) as usize;
        // SAFETY: the test passes a valid, exclusively used `*mut Vec<usize>`.
        unsafe { (*seen).push(here) };
        if depth > 1 {
            // SAFETY: `nest` is a valid entry for these arguments.
            let r = unsafe {
                catch_traps(
                    nest,
                    (depth - 1) as *mut u8,
                    seen as *mut u8,
                    std::ptr::null_mut(),
                )
            };
            assert!(r.is_ok());
            // The inner call restored our recovery point.
            assert_eq!(STATE.with(|s| s.jmp_buf.get()) as usize, here);
        }
    }

    #[test]
    fn nested_catch_restores_recovery_point() {
        let before = CALLS.load(Ordering::SeqCst);
        let mut seen: Vec<usize> = Vec::new();
        // SAFETY: `nest` is a valid entry for these arguments.
        let r = unsafe {
            catch_traps(
                nest,
                3 as *mut u8,
                &mut seen as *mut Vec<usize> as *mut u8,
                std::ptr::null_mut(),
            )
        };
        assert!(r.is_ok());
        assert!(CALLS.load(Ordering::SeqCst) - before >= 3);
        assert_eq!(seen.len(), 3);
        // Each level ran under its own, non-null recovery point.
        assert!(seen.iter().all(|&p| p != 0));
        assert_ne!(seen[0], seen[1]);
        assert_ne!(seen[1], seen[2]);
        assert!(STATE.with(|s| s.jmp_buf.get()).is_null());
    }

    #[test]
    fn init_traps_is_idempotent() {
        init_traps();
        init_traps();
    }

    #[test]
    fn pending_host_error_roundtrip() {
        assert!(take_pending_host_error().is_none());
        set_pending_host_error("first".into());
        set_pending_host_error("second".into());
        assert_eq!(take_pending_host_error().unwrap().to_string(), "second");
        assert!(take_pending_host_error().is_none());
    }

    #[test]
    fn approximate_sp_is_on_this_stack() {
        let local = 0u8;
        let here = &local as *const u8 as usize;
        let sp = approximate_sp();
        // A callee's frame is below (or very near) the caller's locals.
        assert!(
            sp < here + 4096 && here - sp < 64 * 1024,
            "sp {sp:#x}, local {here:#x}"
        );
    }

    #[test]
    fn alt_stack_is_large_enough_on_new_thread() {
        std::thread::spawn(|| {
            let mut n = 0usize;
            // SAFETY: `add_one` is a valid entry for a pointer to a live usize.
            unsafe {
                catch_traps(
                    add_one,
                    &mut n as *mut usize as *mut u8,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            }
            .unwrap();
            // SAFETY: querying the alternate stack with a valid out-pointer.
            let mut ss: libc::stack_t = unsafe { std::mem::zeroed() };
            // SAFETY: as above.
            assert_eq!(unsafe { libc::sigaltstack(std::ptr::null(), &mut ss) }, 0);
            assert_eq!(ss.ss_flags & libc::SS_DISABLE, 0);
            assert!(ss.ss_size >= 64 * 1024, "altstack of {} bytes", ss.ss_size);
        })
        .join()
        .unwrap();
    }

    // ---- Real traps, with hand-written machine code standing in for compiled wasm. ----
    //
    // `hoist_test_code_start..hoist_test_code_end` is registered as "compiled code" with trap
    // records at the labelled instructions, so the whole path (signal → handler → registry →
    // siglongjmp → Err) runs exactly as it will for Cranelift output.

    #[cfg(target_arch = "x86_64")]
    std::arch::global_asm!(
        ".text",
        ".p2align 4",
        ".globl hoist_test_code_start",
        ".hidden hoist_test_code_start",
        "hoist_test_code_start:",
        // unreachable(): a trap instruction (SIGILL).
        ".globl hoist_test_unreachable",
        ".hidden hoist_test_unreachable",
        "hoist_test_unreachable:",
        "ud2",
        // load(a0): reads *a0 (SIGSEGV for a bad pointer).
        ".globl hoist_test_load",
        ".hidden hoist_test_load",
        "hoist_test_load:",
        ".globl hoist_test_load_insn",
        ".hidden hoist_test_load_insn",
        "hoist_test_load_insn:",
        "mov rax, qword ptr [rdi]",
        "ret",
        // div0(): integer division by zero (SIGFPE).
        ".globl hoist_test_div0",
        ".hidden hoist_test_div0",
        "hoist_test_div0:",
        "xor ecx, ecx",
        "mov eax, 1",
        "cdq",
        ".globl hoist_test_div0_insn",
        ".hidden hoist_test_div0_insn",
        "hoist_test_div0_insn:",
        "idiv ecx",
        "ret",
        // host_trap(): the trap a trampoline executes after a failed host call.
        ".globl hoist_test_host_trap",
        ".hidden hoist_test_host_trap",
        "hoist_test_host_trap:",
        "ud2",
        // outer(): a frame-pointer frame calling unreachable(), for the backtrace.
        ".globl hoist_test_outer",
        ".hidden hoist_test_outer",
        "hoist_test_outer:",
        "push rbp",
        "mov rbp, rsp",
        "call hoist_test_middle",
        ".globl hoist_test_outer_ret",
        ".hidden hoist_test_outer_ret",
        "hoist_test_outer_ret:",
        "pop rbp",
        "ret",
        "hoist_test_middle:",
        "push rbp",
        "mov rbp, rsp",
        "call hoist_test_unreachable",
        ".globl hoist_test_middle_ret",
        ".hidden hoist_test_middle_ret",
        "hoist_test_middle_ret:",
        "pop rbp",
        "ret",
        // Not recorded in the trap table: a fault here is a host bug and must crash.
        ".globl hoist_test_untrapped_ud2",
        ".hidden hoist_test_untrapped_ud2",
        "hoist_test_untrapped_ud2:",
        "ud2",
        ".globl hoist_test_code_end",
        ".hidden hoist_test_code_end",
        "hoist_test_code_end:",
        "nop",
    );

    #[cfg(target_arch = "aarch64")]
    std::arch::global_asm!(
        ".text",
        ".p2align 4",
        ".globl hoist_test_code_start",
        ".hidden hoist_test_code_start",
        "hoist_test_code_start:",
        ".globl hoist_test_unreachable",
        ".hidden hoist_test_unreachable",
        "hoist_test_unreachable:",
        "udf #0xc11f",
        ".globl hoist_test_load",
        ".hidden hoist_test_load",
        "hoist_test_load:",
        ".globl hoist_test_load_insn",
        ".hidden hoist_test_load_insn",
        "hoist_test_load_insn:",
        "ldr x0, [x0]",
        "ret",
        // No hardware division trap on aarch64: stand in with a trap instruction.
        ".globl hoist_test_div0",
        ".hidden hoist_test_div0",
        "hoist_test_div0:",
        ".globl hoist_test_div0_insn",
        ".hidden hoist_test_div0_insn",
        "hoist_test_div0_insn:",
        "udf #0xc11f",
        ".globl hoist_test_host_trap",
        ".hidden hoist_test_host_trap",
        "hoist_test_host_trap:",
        "udf #0xc11f",
        ".globl hoist_test_outer",
        ".hidden hoist_test_outer",
        "hoist_test_outer:",
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "bl hoist_test_middle",
        ".globl hoist_test_outer_ret",
        ".hidden hoist_test_outer_ret",
        "hoist_test_outer_ret:",
        "ldp x29, x30, [sp], #16",
        "ret",
        "hoist_test_middle:",
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "bl hoist_test_unreachable",
        ".globl hoist_test_middle_ret",
        ".hidden hoist_test_middle_ret",
        "hoist_test_middle_ret:",
        "ldp x29, x30, [sp], #16",
        "ret",
        ".globl hoist_test_untrapped_ud2",
        ".hidden hoist_test_untrapped_ud2",
        "hoist_test_untrapped_ud2:",
        "udf #0xc11f",
        ".globl hoist_test_code_end",
        ".hidden hoist_test_code_end",
        "hoist_test_code_end:",
        "nop",
    );

    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    mod real_traps {
        use super::*;

        extern "C" {
            static hoist_test_code_start: u8;
            static hoist_test_code_end: u8;
            static hoist_test_load_insn: u8;
            static hoist_test_div0_insn: u8;
            static hoist_test_outer_ret: u8;
            fn hoist_test_unreachable(a0: *mut u8, a1: *mut u8, a2: *mut u8);
            fn hoist_test_load(a0: *mut u8, a1: *mut u8, a2: *mut u8);
            fn hoist_test_div0(a0: *mut u8, a1: *mut u8, a2: *mut u8);
            fn hoist_test_host_trap(a0: *mut u8, a1: *mut u8, a2: *mut u8);
            fn hoist_test_outer(a0: *mut u8, a1: *mut u8, a2: *mut u8);
            fn hoist_test_untrapped_ud2(a0: *mut u8, a1: *mut u8, a2: *mut u8);
        }

        /// The address of a test function.
        fn addr(f: EntryFn) -> usize {
            f as usize
        }

        // The addresses of the labels in the global_asm (taking a raw address of an extern
        // static reads nothing, so it needs no `unsafe`).
        fn code_start() -> usize {
            &raw const hoist_test_code_start as usize
        }
        fn code_end() -> usize {
            &raw const hoist_test_code_end as usize
        }
        fn load_insn() -> usize {
            &raw const hoist_test_load_insn as usize
        }
        fn div0_insn() -> usize {
            &raw const hoist_test_div0_insn as usize
        }
        fn outer_ret() -> usize {
            &raw const hoist_test_outer_ret as usize
        }

        /// Maps a fresh inaccessible page (standing in for a linear memory's guard region). It is
        /// leaked: tests only.
        fn guard_page() -> *mut u8 {
            // SAFETY: a fresh anonymous mapping; no existing memory is affected.
            let page = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert_ne!(page, libc::MAP_FAILED);
            page as *mut u8
        }

        /// Registers the test code once for the whole test binary (tests run in parallel).
        fn register_test_code() {
            static REGISTER: Once = Once::new();
            REGISTER.call_once(|| {
                let start = code_start();
                let off = |a: usize| (a - start) as u32;
                let table = CodeTables::traps(vec![
                    (
                        off(addr(hoist_test_unreachable)),
                        TrapCode::UnreachableCodeReached,
                    ),
                    (off(load_insn()), TrapCode::MemoryOutOfBounds),
                    (off(div0_insn()), TrapCode::IntegerDivisionByZero),
                    (off(addr(hoist_test_host_trap)), TrapCode::HostTrap),
                ]);
                register_code(start, code_end() - start, Arc::new(table));
            });
        }

        fn call(entry: EntryFn, a0: *mut u8) -> Result<(), TrapReason> {
            register_test_code();
            // SAFETY: the test entries take at most one pointer argument, which the tests pass
            // correctly (or deliberately invalid, to fault), and hold no state that needs
            // unwinding when they trap.
            unsafe { catch_traps(entry, a0, std::ptr::null_mut(), std::ptr::null_mut()) }
        }

        fn null() -> *mut u8 {
            std::ptr::null_mut()
        }

        fn expect_wasm(r: Result<(), TrapReason>, want: TrapCode, want_pc: usize) {
            match r {
                Err(TrapReason::Wasm { code, pc }) => {
                    assert_eq!(code, want);
                    assert_eq!(pc, want_pc);
                }
                other => panic!("expected a {want:?} trap, got {other:?}"),
            }
            assert!(STATE.with(|s| s.jmp_buf.get()).is_null());
        }

        #[test]
        fn trap_instruction() {
            // Twice: the handler stays installed and the signal is not left blocked.
            for _ in 0..2 {
                expect_wasm(
                    call(hoist_test_unreachable, null()),
                    TrapCode::UnreachableCodeReached,
                    addr(hoist_test_unreachable),
                );
            }
        }

        #[test]
        fn segv_in_guard_page() {
            let page = guard_page();
            for _ in 0..3 {
                expect_wasm(
                    call(hoist_test_load, page),
                    TrapCode::MemoryOutOfBounds,
                    load_insn(),
                );
            }
            // A valid pointer loads fine.
            let mut x = 7u64;
            assert!(call(hoist_test_load, &mut x as *mut u64 as *mut u8).is_ok());
        }

        #[test]
        fn division_by_zero() {
            expect_wasm(
                call(hoist_test_div0, null()),
                TrapCode::IntegerDivisionByZero,
                div0_insn(),
            );
        }

        #[test]
        fn host_trap_carries_pending_error() {
            set_pending_host_error("host function failed".into());
            match call(hoist_test_host_trap, null()) {
                Err(TrapReason::Host(e)) => assert_eq!(e.to_string(), "host function failed"),
                other => panic!("expected a host trap, got {other:?}"),
            }
            assert!(take_pending_host_error().is_none());
            // Without a pending error it is reported as the bare trap code.
            expect_wasm(
                call(hoist_test_host_trap, null()),
                TrapCode::HostTrap,
                addr(hoist_test_host_trap),
            );
        }

        #[test]
        fn backtrace_follows_frame_pointers() {
            expect_wasm(
                call(hoist_test_outer, null()),
                TrapCode::UnreachableCodeReached,
                addr(hoist_test_unreachable),
            );
            // unreachable() sets up no frame, so the walk starts at middle()'s frame pointer:
            // its return address is in outer(); outer()'s return address is in `hoist_catch`,
            // which is not registered code, so the walk stops there.
            assert_eq!(
                last_trap_backtrace(),
                vec![addr(hoist_test_unreachable), outer_ret()]
            );
        }

        /// An entry that runs a trapping inner call, checks it, then returns normally.
        unsafe extern "C" fn trap_inside(_: *mut u8, _: *mut u8, _: *mut u8) {
            let inner = call(hoist_test_unreachable, null());
            assert!(matches!(
                inner,
                Err(TrapReason::Wasm {
                    code: TrapCode::UnreachableCodeReached,
                    ..
                })
            ));
        }

        /// An entry whose nested calls (one of which traps) complete, and which then traps itself.
        unsafe extern "C" fn trap_after_inner(_: *mut u8, _: *mut u8, _: *mut u8) {
            assert!(call(trap_inside, null()).is_ok());
            // SAFETY: we are inside the outer `catch_traps`, and this frame owns nothing with a
            // destructor at this point, so being jumped over is fine.
            unsafe { hoist_test_host_trap(null(), null(), null()) };
        }

        #[test]
        fn nested_traps_unwind_to_the_innermost_catch() {
            // The inner trap is caught by the inner catch; the outer call returns normally.
            assert!(call(trap_inside, null()).is_ok());
            // After nested activations (one trapped), an outer trap still reaches the outer catch.
            set_pending_host_error("outer".into());
            match call(trap_after_inner, null()) {
                Err(TrapReason::Host(e)) => assert_eq!(e.to_string(), "outer"),
                other => panic!("expected the outer host trap, got {other:?}"),
            }
            assert!(STATE.with(|s| s.jmp_buf.get()).is_null());
        }

        #[test]
        fn traps_on_many_threads() {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    std::thread::spawn(|| {
                        let page = guard_page();
                        for _ in 0..100 {
                            expect_wasm(
                                call(hoist_test_unreachable, null()),
                                TrapCode::UnreachableCodeReached,
                                addr(hoist_test_unreachable),
                            );
                            expect_wasm(
                                call(hoist_test_load, page),
                                TrapCode::MemoryOutOfBounds,
                                load_insn(),
                            );
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }

        // ---- Faults that are not wasm traps must still kill the process. ----
        //
        // Each test runs itself in a child process: it re-executes this test binary with only
        // itself selected and `CHILD_ENV` set to its own name. In the child the test takes the
        // fault (and exits normally if it survives it); in the parent it checks how the child
        // died.

        const CHILD_ENV: &str = "HOIST_TRAPHANDLERS_CRASH_CHILD";

        /// Whether this process is the child that the test `test` spawned.
        fn in_child(test: &str) -> bool {
            std::env::var_os(CHILD_ENV).is_some_and(|v| v == test)
        }

        /// Runs the test `test` as a child process and returns how the child ended.
        fn run_child(test: &str) -> std::process::ExitStatus {
            // Test names are module paths without the crate name.
            let module = module_path!().split_once("::").unwrap().1;
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", &format!("{module}::{test}"), "--test-threads=1"])
                .env(CHILD_ENV, test)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap()
        }

        fn assert_killed_by(status: std::process::ExitStatus, signal: c_int) {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(signal), "child status: {status:?}");
        }

        #[test]
        fn untrapped_instruction_in_wasm_code_crashes() {
            const TEST: &str = "untrapped_instruction_in_wasm_code_crashes";
            if in_child(TEST) {
                // Registered code, but no trap record at this PC.
                let _ = call(hoist_test_untrapped_ud2, null());
                std::process::exit(0);
            }
            assert_killed_by(run_child(TEST), libc::SIGILL);
        }

        unsafe extern "C" fn host_fault(page: *mut u8, _: *mut u8, _: *mut u8) {
            // SAFETY: not safe at all: this is the host bug the test wants the process to die of.
            unsafe { std::ptr::read_volatile(page as *const u64) };
        }

        #[test]
        fn fault_in_host_code_crashes() {
            const TEST: &str = "fault_in_host_code_crashes";
            if in_child(TEST) {
                // A fault outside registered code, inside catch_traps.
                let _ = call(host_fault, guard_page());
                std::process::exit(0);
            }
            assert_killed_by(run_child(TEST), libc::SIGSEGV);
        }

        #[test]
        fn fault_outside_catch_traps_crashes() {
            const TEST: &str = "fault_outside_catch_traps_crashes";
            if in_child(TEST) {
                init_traps();
                register_test_code();
                // A fault at a PC with a trap record, but not inside catch_traps.
                // SAFETY: not safe: the fault is the point of this test.
                unsafe { hoist_test_load(guard_page(), null(), null()) };
                std::process::exit(0);
            }
            assert_killed_by(run_child(TEST), libc::SIGSEGV);
        }

        #[test]
        fn sent_signal_inside_wasm_crashes() {
            const TEST: &str = "sent_signal_inside_wasm_crashes";
            if in_child(TEST) {
                init_traps();
                // A signal sent with `raise` is not a trap, even while inside catch_traps. SIGFPE,
                // because its previous disposition is SIG_DFL (for SIGSEGV it would be std's
                // handler, which lets a sent SIGSEGV return).
                unsafe extern "C" fn raise_fpe(_: *mut u8, _: *mut u8, _: *mut u8) {
                    // SAFETY: raising a signal is always allowed.
                    unsafe { libc::raise(libc::SIGFPE) };
                }
                let _ = call(raise_fpe, null());
                std::process::exit(0);
            }
            assert_killed_by(run_child(TEST), libc::SIGFPE);
        }
    }
}
