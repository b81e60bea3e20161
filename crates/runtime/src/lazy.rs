//! Lazy compilation: a module whose functions are compiled on first call.
//!
//! Such a module's text holds, in each function's place, a compile stub
//! (see `hoist_cranelift`'s `lazy_stub`); instances' funcrefs point at the
//! stubs. A stub's first call reaches the `lazy_compile` builtin, which asks
//! the module's [`LazyFunctions`] for the function's code (compiled once,
//! other threads waiting for the same function), installs it in the
//! defining instance's funcref, and returns it for the stub to tail-call.
//! Funcref identity never changes: only the code a funcref holds does.
//! A copy of a funcref made when another instance imports the function
//! holds the code the funcref held then: the stub (whose calls then pass
//! through the builtin, which only looks the code up) or the function's
//! compiled code (which a later tier-up does not reach).

use crate::instance::Instance;
use crate::vmcontext::VMFuncRef;
use hoist_environ::{DefinedFuncIndex, FuncIndex};
use std::error::Error;
use std::sync::atomic::Ordering;

/// One function's code in a lazily compiled module (see
/// [`LazyFunctions::compiled_functions`]).
#[derive(Clone, Copy, Debug)]
pub struct CompiledFunction {
    pub index: DefinedFuncIndex,
    /// Where the code starts in this process.
    pub address: usize,
    /// Its length in bytes.
    pub len: usize,
    /// The first-call (baseline) tier's code, which counts its hotness;
    /// `false` for a tier-up's optimized code.
    pub baseline: bool,
}

/// The compiler behind a lazily compiled module (implemented by the `hoist`
/// crate, which has Cranelift; the runtime only calls it).
pub trait LazyFunctions: Send + Sync {
    /// The executable code of defined function `index`, compiling it on
    /// the first request. Concurrent requests for the same function wait
    /// for one compile; a failed compile fails every request the same way.
    fn code(&self, index: DefinedFuncIndex) -> Result<*const u8, Box<dyn Error + Send + Sync>>;

    /// The compiled function containing native address `pc`, and the wasm
    /// byte offset of the instruction there if known.
    fn lookup_pc(&self, pc: usize) -> Option<(DefinedFuncIndex, Option<u32>)>;

    /// The code of each function compiled so far.
    fn compiled_functions(&self) -> Vec<CompiledFunction>;

    /// The module's hotness counters, one `i64` per defined function, which
    /// its baseline code counts down (null: it counts nothing) and the
    /// optimizing thread reads. They live as long as this object; every
    /// instance's vmctx points at them.
    fn hotness_counters(&self) -> *mut i64;
}

/// The `lazy_compile(func)` builtin: compiles (or finds) defined function
/// `func` of the instance owning `vmctx`, installs its code in that
/// instance's funcref and returns the code. On failure the error is left
/// pending and 0 returned: the stub then calls `raise`, from wasm.
///
/// # Safety
/// `vmctx` is a live instance's vmctx and `func` one of its module's
/// defined functions, as only a compile stub passes them.
pub(crate) unsafe extern "C" fn lazy_compile(vmctx: *mut u8, func: u64) -> u64 {
    // SAFETY: per the contract; only shared access is needed.
    let instance: &Instance = unsafe { Instance::from_vmctx(vmctx) };
    let index = FuncIndex::from_u32(func as u32);
    let code = instance.code();
    let defined = code.module.defined_func_index(index);
    let result = match (code.lazy.as_ref(), defined) {
        (Some(lazy), Some(defined)) => on_enough_stack(|| {
            // Compiling is host work: a panic in it must not cross the
            // `extern "C"` frames of compiled code.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lazy.code(defined)))
                .unwrap_or_else(|panic| {
                    Err(Box::new(crate::HostPanic::from_payload(&*panic)) as Box<_>)
                })
                .map(|code| code as usize)
        }),
        _ => Err("a compile stub ran for a module that is not compiled lazily".into()),
    };
    match result {
        Ok(address) => {
            let funcref = instance.funcref(index);
            // `result` is only `Ok` for a defined function.
            let stub = defined.map_or(std::ptr::null(), |defined| {
                code.code.address(code.functions[defined.as_u32() as usize])
            });
            // Installed only over the stub: a full compile switched to while
            // this one ran (`ModuleCode::repoint_funcrefs`) has already put
            // its code there, and keeps it.
            // SAFETY: `funcref` is this instance's own funcref for `index`,
            // which lives as long as the vmctx.
            let slot = unsafe { VMFuncRef::wasm_call_slot(funcref) };
            let installed = match slot.compare_exchange(
                stub as *mut u8,
                address as *mut u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => address,
                Err(current) => current as usize,
            };
            installed as u64
        }
        Err(error) => {
            crate::traphandlers::set_pending_host_error(error);
            0
        }
    }
}

/// Stack a compile may need. The compile runs on the thread that called the
/// function, below the wasm frames; one that is deep in its stack (a small
/// thread, a recursion near its limit) compiles on a thread of its own.
const COMPILE_STACK: usize = 1 << 20;

type Compiled = Result<usize, Box<dyn Error + Send + Sync>>;

fn on_enough_stack(compile: impl FnOnce() -> Compiled + Send) -> Compiled {
    let room = crate::thread_stack_low().map(|low| crate::approximate_sp().saturating_sub(low));
    if room.is_none_or(|room| room >= COMPILE_STACK) {
        return compile();
    }
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("hoist-lazy-compile".into())
            .stack_size(4 * COMPILE_STACK)
            .spawn_scoped(scope, compile)
            .map_err(|e| format!("cannot start a thread to compile on: {e}"))?;
        // The compile catches its own panics.
        thread
            .join()
            .unwrap_or_else(|_| Err("the compile thread panicked".into()))
    })
}
