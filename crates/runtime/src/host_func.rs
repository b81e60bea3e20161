//! Host functions as wasm sees them.
//!
//! A `VMHostFunc` starts with a `VMFuncRef` whose `vmctx` points back at the
//! `VMHostFunc` itself, so wasm calls it like any function: `wasm_call` is
//! the engine's wasm-to-host trampoline for the signature, which spills the
//! arguments and calls `array_call` = `hoist_host_call` (`helpers.c`, which
//! records where wasm left for the GC) with the funcref.

use crate::traphandlers::set_pending_host_error;
use crate::vmcontext::{VMFuncRef, ValRaw};
use std::error::Error;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The Rust side of a host function: gets the caller's vmctx and the value
/// array (arguments in, results out).
pub type HostFn =
    dyn Fn(*mut u8, &mut [ValRaw]) -> Result<(), Box<dyn Error + Send + Sync>> + Send + Sync;

#[repr(C)]
pub struct VMHostFunc {
    /// Must stay the first field: the funcref's address is the host func's.
    funcref: VMFuncRef,
    /// Slots in the value array: max(params, results).
    slots: usize,
    func: Box<HostFn>,
}

impl VMHostFunc {
    /// `wasm_call` is the wasm-to-host trampoline for the function's type.
    pub fn new(
        wasm_call: *const u8,
        type_id: u32,
        slots: usize,
        func: Box<HostFn>,
    ) -> Box<VMHostFunc> {
        let mut host = Box::new(VMHostFunc {
            funcref: VMFuncRef {
                wasm_call,
                array_call: hoist_host_call as *const u8,
                vmctx: std::ptr::null_mut(),
                type_id,
            },
            slots,
            func,
        });
        host.funcref.vmctx = &mut *host as *mut VMHostFunc as *mut u8;
        host
    }

    pub fn funcref(&mut self) -> *mut VMFuncRef {
        &mut self.funcref
    }

    /// Calls the function directly from the host.
    pub fn call(
        &self,
        caller_vmctx: *mut u8,
        values: &mut [ValRaw],
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        (self.func)(caller_vmctx, values)
    }
}

/// Whether `funcref` belongs to a host function.
pub fn is_host_funcref(funcref: &VMFuncRef) -> bool {
    funcref.array_call == hoist_host_call as *const u8
}

/// A host function panicked; the panic cannot cross wasm frames, so it
/// becomes this error.
#[derive(Debug)]
pub struct HostPanic(pub String);

impl std::fmt::Display for HostPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "host function panicked: {}", self.0)
    }
}

impl Error for HostPanic {}

impl HostPanic {
    /// The panic's message, from its payload.
    pub fn from_payload(panic: &(dyn std::any::Any + Send)) -> HostPanic {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        HostPanic(message)
    }
}

unsafe extern "C" {
    /// `helpers.c`: the `array_call` of every host function; calls
    /// [`hoist_host_call_impl`] with the trampoline's frame.
    fn hoist_host_call(funcref: *mut VMFuncRef, caller_vmctx: *mut u8, values: *mut ValRaw) -> u64;
}

/// Called by the wasm-to-host trampoline (through `hoist_host_call`, which
/// adds the trampoline's frame pointer `fp` and the return address `pc`
/// into it). Returns 1 on success; on failure records the error and
/// returns 0, and the trampoline traps.
///
/// # Safety
/// Called only by `hoist_host_call` from a trampoline called by wasm code
/// of the instance whose vmctx is `caller_vmctx`.
#[unsafe(no_mangle)]
unsafe extern "C" fn hoist_host_call_impl(
    funcref: *mut VMFuncRef,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
    fp: usize,
    pc: usize,
) -> u64 {
    // A collection while the host function runs starts its walk of the
    // wasm frames at the trampoline.
    // SAFETY: the caller is wasm of a live instance (the contract), whose
    // store context outlives the call; the GC state is only touched in
    // short, non-overlapping accesses.
    let ctx = unsafe { &*crate::Instance::from_vmctx(caller_vmctx).store_context() };
    // SAFETY: as above.
    let saved = unsafe { (*ctx.gc.get()).enter_host(fp, pc) };
    // SAFETY: the contract of `host_array_call`, which this forwards.
    let result = unsafe { host_array_call(funcref, caller_vmctx, values) };
    // SAFETY: as above.
    unsafe { (*ctx.gc.get()).leave_host(saved) };
    result
}

/// Runs the host function behind `funcref`. Returns 1 on success; on
/// failure records the error and returns 0, and the trampoline traps.
///
/// # Safety
/// `funcref` must be a live `VMHostFunc`'s and `values` its value array.
unsafe fn host_array_call(
    funcref: *mut VMFuncRef,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
) -> u64 {
    // SAFETY: the trampoline passes the funcref of a live VMHostFunc (its
    // first field) and a value array of `slots` entries on its stack.
    let host = unsafe { &*(funcref as *const VMHostFunc) };
    // SAFETY: as above: the array has `slots` entries.
    let values = unsafe { std::slice::from_raw_parts_mut(values, host.slots) };
    match catch_unwind(AssertUnwindSafe(|| host.call(caller_vmctx, values))) {
        Ok(Ok(())) => 1,
        Ok(Err(error)) => {
            set_pending_host_error(error);
            0
        }
        Err(panic) => {
            set_pending_host_error(Box::new(HostPanic::from_payload(&*panic)));
            0
        }
    }
}
