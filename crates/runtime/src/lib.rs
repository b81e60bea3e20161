//! The unsafe core of hoist: executable code, linear memories, tables,
//! instances and their `VMContext`, builtins, and turning hardware faults
//! into wasm traps.
//!
//! Everything here trusts its callers (the `hoist` crate) to keep the
//! objects that instances point at alive; each `unsafe` block says which
//! invariant it relies on.

pub mod address_map;
mod builtins;
pub mod code_arena;
pub mod code_memory;
pub mod code_registry;
pub mod exn;
pub mod gc;
mod host_func;
mod instance;
mod lazy;
mod memory;
mod parking;
mod sys;
mod table;
mod throw;
pub mod traphandlers;
mod vmcontext;

pub use address_map::{AddressMap, AddressMapCheck};
pub use code_arena::{ArenaCode, CodeArena};
pub use code_memory::{CodeMemory, ImageBuffer};
pub use code_registry::{register_code, unregister_code, CodeTables, TrapTable};
pub use host_func::{is_host_funcref, HostFn, HostPanic, VMHostFunc};
pub use instance::{
    ImageCheck, ImageFallback, InitError, Instance, InstanceParts, MemoryImageRef, ModuleCode,
    TypeInfo,
};
pub use lazy::{CompiledFunction, LazyFunctions};
pub use memory::LinearMemory;
pub use sys::host_cpu_features;
pub use table::{Table, TableBudget, TableError, MAX_TABLE_ELEMENTS};
pub use throw::ThrownException;
pub use traphandlers::{
    approximate_sp, catch_traps, init_traps, last_trap_backtrace, set_pending_host_error,
    take_pending_host_error, TrapReason,
};
pub use vmcontext::*;

/// Calls the wasm function behind `funcref` from the host. `values` holds
/// the arguments and receives the results.
///
/// The first entry into wasm on a store sets the stack limit `max_stack`
/// bytes below the current stack pointer (first-call code of a lazily
/// compiled module: [`BASELINE_STACK_FACTOR`] or
/// [`UNOPTIMIZED_STACK_FACTOR`] times that); nested entries (wasm → host →
/// wasm) keep it, so the whole chain shares one budget.
///
/// # Safety
/// `store_context` must be the store context of the instance that owns the
/// funcref, `funcref` a live wasm (not host) funcref with an `array_call`
/// trampoline, and `values` must have room for max(params, results) slots.
pub unsafe fn invoke_wasm(
    store_context: *mut VMStoreContext,
    funcref: *const VMFuncRef,
    values: *mut ValRaw,
    max_stack: usize,
) -> Result<(), TrapReason> {
    // SAFETY: the caller guarantees both pointers are live.
    let (limit, funcref_data) = unsafe { ((*store_context).stack_limit.get(), &*funcref) };
    // SAFETY: `limit` points into the live store context; only this thread
    // uses the store while it runs wasm.
    let outermost = unsafe { *limit == 0 };
    if outermost {
        // Never below what the thread's stack really has: leave a margin
        // above its end for the host frames and the signal handler, so
        // deep recursion traps instead of hitting the guard page.
        let sp = approximate_sp();
        let low = thread_stack_low();
        let floor = low.map_or(0, |low| low + STACK_MARGIN);
        let wasm = sp.saturating_sub(max_stack).max(floor.min(sp));
        // First-call code's extra stack comes only out of what the
        // thread has beyond `BASELINE_HOST_ROOM` (host calls from its
        // deepest frame keep that), and it never gets less than the rest.
        let host_room = low.map_or(usize::MAX, |low| low.saturating_add(BASELINE_HOST_ROOM));
        let times = |factor: usize| {
            sp.saturating_sub(max_stack.saturating_mul(factor))
                .max(host_room)
                .min(wasm)
        };
        // SAFETY: as above; both first-call limits are the store context's too.
        unsafe {
            *limit = wasm;
            *(*store_context).baseline_stack_limit.get() = times(BASELINE_STACK_FACTOR);
            *(*store_context).unoptimized_stack_limit.get() = times(UNOPTIMIZED_STACK_FACTOR);
        }
    }
    // SAFETY: the store context is live (caller's contract).
    let depth = unsafe { &(*store_context).entry_depth };
    depth.set(depth.get() + 1);
    // SAFETY: the store context is live; the GC state is only touched in
    // short accesses.
    let gc = unsafe { &(*store_context).gc };
    // SAFETY: as above.
    unsafe { (*gc.get()).enter_wasm() };
    // SAFETY: `array_call` of a wasm funcref is a host-to-wasm trampoline
    // with the `EntryFn` signature, compiled for this funcref's type; the
    // caller guarantees `values` is large enough.
    let result = unsafe {
        let entry: traphandlers::EntryFn = std::mem::transmute(funcref_data.array_call);
        catch_traps(
            entry,
            funcref as *mut u8,
            funcref_data.vmctx,
            values as *mut u8,
        )
    };
    // SAFETY: as above.
    unsafe { (*gc.get()).leave_wasm() };
    depth.set(depth.get() - 1);
    if outermost {
        // SAFETY: as above.
        unsafe { *limit = 0 };
    }
    result
}

/// How many times the wasm stack budget the single-pass compiler's code
/// (the baseline tier of a lazily compiled module) may use. Its frames hold
/// every local not kept in a register and the operand values it stores,
/// three to four and a half times the bytes of Cranelift's optimized
/// frames for the same function (a one-parameter recursive function: 48
/// against 16), so with the same budget a recursion that later runs fine
/// from the cache would overflow on the first, lazily compiled run. Four
/// times covers the usual ratio; the native stack used stays bounded
/// (2 MiB for the default 512 KiB) and comes only out of room the thread
/// has beyond `BASELINE_HOST_ROOM`. Optimized code in the same run
/// (tier-up) keeps the budget itself. The largest first-call factor: a
/// thread sized for it fits every tier.
pub const BASELINE_STACK_FACTOR: usize = 4;

/// The same for first-call code from Cranelift without optimizations
/// (functions the single-pass compiler does not take, and every function
/// where it does not run): its frames are one to two times the optimized
/// ones (a one-parameter recursion: the same 16 bytes; a function with six
/// locals live across its call: 64 against 32), and a factor beyond the
/// ratio would let a recursion of small frames run deeper than the budget
/// says.
pub const UNOPTIMIZED_STACK_FACTOR: usize = 2;

/// Stack that first-call code leaves the host below its deepest frame
/// when it takes more than the budget (a thread too small for both gives
/// it the budget only).
const BASELINE_HOST_ROOM: usize = 1 << 20;

/// Stack kept free below the wasm stack limit, for host frames and the
/// signal handler.
const STACK_MARGIN: usize = 64 << 10;

/// The lowest address of this thread's stack, if the platform says.
pub(crate) fn thread_stack_low() -> Option<usize> {
    thread_local! {
        static LOW: std::cell::Cell<Option<Option<usize>>> = const { std::cell::Cell::new(None) };
    }
    LOW.with(|low| {
        if let Some(known) = low.get() {
            return known;
        }
        let found = query_thread_stack_low();
        low.set(Some(found));
        found
    })
}

#[cfg(target_os = "linux")]
fn query_thread_stack_low() -> Option<usize> {
    // SAFETY: gettid and getpid have no preconditions.
    let main_thread = unsafe { libc::gettid() == libc::getpid() };
    if main_thread {
        if let Some(low) = main_thread_stack_low() {
            return Some(low);
        }
    }
    // SAFETY: `attr` is initialized by pthread_getattr_np before use and
    // destroyed after; the out-pointers are valid locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        (rc == 0).then_some(addr as usize)
    }
}

/// The lowest address the main thread's stack may grow down to: the top
/// of its mapping less the stack rlimit, as glibc's `pthread_getattr_np`
/// computes it, but without reading `/proc/self/maps` to find the top (a
/// quarter of a hello-world's own start-up). The kernel copies the
/// executable's path (`AT_EXECFN`) to the very top of the stack, just under
/// an 8-byte end marker, so the page boundary above it is the top; if it
/// were lower, the bound would only be more cautious. glibc also stops the
/// stack at the mapping below it; the kernel leaves at least 128 MiB free
/// below the stack (the gap under `mmap_base`), so up to that rlimit there
/// is nothing to stop at. `None` (ask glibc) for a larger or unlimited
/// rlimit.
#[cfg(target_os = "linux")]
fn main_thread_stack_low() -> Option<usize> {
    /// The largest rlimit answered here; see above.
    const MAX_RLIMIT: u64 = 64 << 20;
    // SAFETY: getauxval, sysconf and getrlimit only read process state;
    // `execfn`, when not null, is the NUL-terminated path the kernel placed
    // on the stack, which lives as long as the process.
    unsafe {
        let execfn = libc::getauxval(libc::AT_EXECFN) as *const libc::c_char;
        if execfn.is_null() {
            return None;
        }
        let end = (execfn as usize).checked_add(libc::strlen(execfn) + 1)?;
        let page = usize::try_from(libc::sysconf(libc::_SC_PAGESIZE)).ok()?;
        let mut limit: libc::rlimit = std::mem::zeroed();
        if page == 0
            || libc::getrlimit(libc::RLIMIT_STACK, &mut limit) != 0
            || limit.rlim_cur == libc::RLIM_INFINITY
            || limit.rlim_cur > MAX_RLIMIT
        {
            return None;
        }
        let top = end.checked_next_multiple_of(page)?;
        top.checked_sub(usize::try_from(limit.rlim_cur).ok()? / page * page)
    }
}

#[cfg(not(target_os = "linux"))]
fn query_thread_stack_low() -> Option<usize> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod stack_bound_tests {
    /// The main thread's bound, found without `/proc/self/maps`, is the
    /// one glibc finds with it: the top of the `[stack]` mapping less the
    /// stack rlimit.
    #[test]
    fn the_main_threads_stack_bound_matches_the_stack_mapping() {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let line = maps.lines().find(|l| l.ends_with("[stack]")).unwrap();
        let range = line.split_whitespace().next().unwrap();
        let top = usize::from_str_radix(range.split('-').nth(1).unwrap(), 16).unwrap();
        // SAFETY: getrlimit writes the struct it is given.
        let limit = unsafe {
            let mut limit: libc::rlimit = std::mem::zeroed();
            assert_eq!(libc::getrlimit(libc::RLIMIT_STACK, &mut limit), 0);
            limit.rlim_cur
        };
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        if limit == libc::RLIM_INFINITY || limit > 64 << 20 {
            assert_eq!(super::main_thread_stack_low(), None);
        } else {
            let expected = top - (limit as usize) / page * page;
            assert_eq!(super::main_thread_stack_low(), Some(expected));
        }
    }
}
