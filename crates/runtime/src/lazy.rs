//! Lazy compilation: a module whose functions are compiled on first call.
//!
//! Such a module's text holds, in each function's place, a compile stub
//! (see `hoist_cranelift`'s `lazy_stub`); instances' funcrefs point at the
//! stubs. A stub's first call reaches the `lazy_compile` builtin, which asks
//! the module's [`LazyFunctions`] for the function's code (compiled once,
//! other threads waiting for the same function), installs it in the
//! calling instance's funcref, and returns it for the stub to tail-call.
//! Funcref identity never changes: only the code a funcref holds does.

use crate::instance::Instance;
use hoist_environ::{DefinedFuncIndex, FuncIndex};
use std::error::Error;
use std::sync::atomic::{AtomicPtr, Ordering};

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

    /// `(function, code address, length)` of each function compiled so far.
    fn compiled_functions(&self) -> Vec<(DefinedFuncIndex, usize, usize)>;
}

/// The `lazy_compile(func)` builtin: compiles (or finds) defined function
/// `func` of the instance owning `vmctx`, installs its code in that
/// instance's funcref and returns the code. On failure the error unwinds to
/// the host entry; it never returns 0.
///
/// # Safety
/// `vmctx` is a live instance's vmctx and `func` one of its module's
/// defined functions, as only a compile stub passes them.
pub(crate) unsafe extern "C" fn lazy_compile(vmctx: *mut u8, func: u64) -> u64 {
    // SAFETY: per the contract.
    let instance = unsafe { Instance::from_vmctx(vmctx) };
    let index = FuncIndex::from_u32(func as u32);
    let code = instance.code();
    let result = match (code.lazy.as_ref(), code.module.defined_func_index(index)) {
        (Some(lazy), Some(defined)) => {
            // Compiling is host work: a panic in it must not cross the
            // `extern "C"` frames of compiled code.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lazy.code(defined)))
                .unwrap_or_else(|panic| {
                    Err(Box::new(crate::HostPanic::from_payload(&*panic)) as Box<_>)
                })
        }
        _ => Err("a compile stub ran for a module that is not compiled lazily".into()),
    };
    match result {
        Ok(address) => {
            let funcref = instance.funcref(index);
            // SAFETY: `funcref` is this instance's own funcref for `index`
            // (it lives as long as the vmctx); other threads may read its
            // code concurrently, hence the atomic store of an aligned
            // pointer field.
            unsafe {
                let slot = std::ptr::addr_of_mut!((*funcref).wasm_call) as *mut *mut u8;
                AtomicPtr::from_ptr(slot).store(address as *mut u8, Ordering::Release);
            }
            address as u64
        }
        Err(error) => {
            crate::traphandlers::set_pending_host_error(error);
            // SAFETY: `vmctx` is the caller's; `raise` unwinds to the
            // innermost host entry and never returns.
            unsafe { crate::builtins::raise_pending(vmctx) }
        }
    }
}
