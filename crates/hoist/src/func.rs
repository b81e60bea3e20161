//! Functions: wasm exports and host functions alike.

use crate::store::{FuncData, Store, StoreInner};
use crate::trap;
use crate::typed::{IntoFunc, StoreRef};
use crate::types::FuncType;
use crate::values::Val;
use crate::Extern;
use anyhow::{bail, Result};
use hoist_runtime::{invoke_wasm, is_host_funcref, HostFn, VMFuncRef, VMHostFunc, ValRaw};

/// A function in a store: exported by an instance or defined by the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func(pub(crate) usize);

/// What a host function sees of its caller.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut StoreInner<T>,
    /// The calling instance's vmctx (null when called from the host).
    pub(crate) vmctx: *mut u8,
}

impl<T> Caller<'_, T> {
    pub fn data(&self) -> &T {
        &self.store.data
    }

    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.data
    }

    /// The bytes of the calling instance's memory exported as `memory`
    /// (WASI's convention), or else of its only memory (a threaded program
    /// imports its shared memory and need not export it), together with
    /// the store's data, so a host function can use both at once; found in
    /// constant time. Empty when there is no such memory (or the host is
    /// the caller). A shared memory's bytes may change under other
    /// threads: copy in and out only.
    pub fn memory(&mut self) -> (&mut [u8], &mut T) {
        let bytes = if self.vmctx.is_null() {
            None
        } else {
            // SAFETY: a non-null caller vmctx is the live instance whose
            // wasm code called this host function; while the host function
            // runs, nothing else uses that instance.
            unsafe { hoist_runtime::Instance::from_vmctx(self.vmctx) }.exported_memory_data()
        };
        (bytes.unwrap_or_default(), &mut self.store.data)
    }

    /// The calling instance's exported memory `name` together with the
    /// store's data, so a host function can use both at once. The memory
    /// is empty when the caller exports no such memory.
    pub fn memory_and_data(&mut self, name: &str) -> (&mut [u8], &mut T) {
        if name == "memory" {
            return self.memory();
        }
        let memory = match self.get_export(name) {
            Some(Extern::Memory(memory)) => Some(memory.0),
            _ => None,
        };
        let store = &mut *self.store;
        let bytes = match memory {
            // SAFETY: the caller is borrowed mutably, so nothing else in
            // this store uses the memory; a shared memory's bytes are
            // copied in and out only (see `LinearMemory::data`).
            Some(index) => unsafe { store.memories[index].data_mut() },
            None => &mut [],
        };
        (bytes, &mut store.data)
    }

    /// An export of the calling instance, such as its `memory`.
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let instance = self.store.instance_by_vmctx(self.vmctx)?;
        crate::instance::export(self.store, instance, name)
    }
}

/// Runs host function `f` of type `signature` on the raw values.
fn call_host<T>(
    store: &mut StoreInner<T>,
    signature: &FuncType,
    f: &(impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static),
    vmctx: *mut u8,
    values: &mut [ValRaw],
) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let params: Vec<Val> = signature
        .params()
        .iter()
        .enumerate()
        .map(|(i, ty)| Val::from_raw(values[i], *ty, store))
        .collect();
    let mut results: Vec<Val> = signature
        .results()
        .iter()
        .map(|ty| Val::default_in(*ty, store))
        .collect();
    f(
        Caller {
            store: &mut *store,
            vmctx,
        },
        &params,
        &mut results,
    )
    .map_err(trap::to_host_error)?;
    for (i, (result, ty)) in results.iter().zip(signature.results()).enumerate() {
        if !result.matches_in(store, *ty) {
            return Err(format!(
                "host function returned a {} where its type says {ty}",
                result.ty()
            )
            .into());
        }
        values[i] = result.to_raw(store);
    }
    Ok(())
}

/// A raw pointer that host closures may carry across threads with the store.
struct StorePtr<T>(*mut StoreInner<T>);
// SAFETY: the store (and so this pointer's target) moves between threads
// only as a whole, and is used by one thread at a time (`&mut Store`).
unsafe impl<T> Send for StorePtr<T> {}
// SAFETY: as for `Send`, with every use behind the same exclusive access.
unsafe impl<T> Sync for StorePtr<T> {}

impl<T> StorePtr<T> {
    // A method (not a field access) so closures capture the whole wrapper.
    fn get(&self) -> *mut StoreInner<T> {
        self.0
    }
}

impl Func {
    /// Defines a host function. `f` gets the caller, the arguments, and a
    /// result slice to fill; an `Err` traps the calling wasm code.
    pub fn new<T: 'static>(
        store: &mut Store<T>,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        let store_ptr = StorePtr(&mut *store.inner as *mut StoreInner<T>);
        let signature = ty.clone();
        let host: Box<HostFn> = Box::new(move |vmctx, values| {
            // SAFETY: host functions run only while their store is in a call
            // (`Func::call` or instantiation), which holds `&mut Store` and
            // does not touch it until the call returns.
            let store = unsafe { &mut *store_ptr.get() };
            // References the function receives or makes are rooted until
            // it returns (unless it keeps them).
            let scope = store.gc_roots.enter_scope();
            let result = call_host(store, &signature, &f, vmctx, values);
            store.gc_roots.exit_scope(scope);
            result
        });
        Func::from_host_fn(store, ty, host)
    }

    /// Defines a host function from a Rust closure over plain values:
    /// `Fn(Caller<T>, A1, ..., An) -> R`, each `Ai` one of `i32`, `u32`,
    /// `i64`, `u64`, `f32`, `f64`, and `R` nothing, one of them, a tuple,
    /// or a `Result` of those (an `Err` traps the calling wasm code). The
    /// function's wasm type follows from the closure's; arguments and
    /// results go straight between the value slots and the closure.
    pub fn wrap<T: 'static, Params, Results, F: IntoFunc<T, Params, Results>>(
        store: &mut Store<T>,
        f: F,
    ) -> Func {
        let ty = F::func_type();
        let host = f.into_host_fn(StoreRef(&mut *store.inner as *mut StoreInner<T>));
        Func::from_host_fn(store, ty, host)
    }

    fn from_host_fn<T: 'static>(store: &mut Store<T>, ty: FuncType, host: Box<HostFn>) -> Func {
        let inner = &mut *store.inner;
        let wasm_ty = ty.to_wasm();
        // The wasm-to-host trampoline comes from the importing module, or
        // from the engine when the function reaches wasm another way
        // (see `StoreInner::wasm_callable`).
        let trampoline = std::ptr::null();
        let type_id = inner.engine.signature_id(&wasm_ty);
        // The store knows the type before wasm can cast a funcref of it.
        inner.sync_gc_types();
        let slots = ty.params().len().max(ty.results().len()).max(1);
        let mut host = VMHostFunc::new(trampoline, type_id, slots, host);
        let funcref = host.funcref();
        inner.host_funcs.push(host);
        inner.funcs.push(FuncData { funcref, ty });
        let handle = inner.funcs.len() - 1;
        inner.funcref_handles.insert(funcref as usize, handle);
        Func(handle)
    }

    pub fn ty<T>(&self, store: &Store<T>) -> FuncType {
        store.inner.funcs[self.0].ty.clone()
    }

    /// Calls the function. `results` must have one slot per result.
    pub fn call<T>(&self, store: &mut Store<T>, params: &[Val], results: &mut [Val]) -> Result<()> {
        self.call_in(&mut *store.inner, params, results)
    }

    /// Calls the function from inside a host function of the same store
    /// (wasm → host → wasm). A trap or an uncaught exception in the nested
    /// call is its error; a host function that returns that error passes
    /// it on to its own caller (an exception is rethrown there).
    pub fn call_from<T>(
        &self,
        caller: &mut Caller<'_, T>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        self.call_in(&mut *caller.store, params, results)
    }

    fn call_in<T>(
        &self,
        inner: *mut StoreInner<T>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        // SAFETY: `inner` comes from the `&mut Store` we hold for the whole
        // call; host functions reach the store through the same pointer.
        unsafe {
            let (funcref, ty) = {
                let data = &(&(*inner).funcs)[self.0];
                (data.funcref, data.ty.clone())
            };
            if params.len() != ty.params().len() || results.len() != ty.results().len() {
                bail!(
                    "function of type {ty} called with {} arguments and {} result slots",
                    params.len(),
                    results.len()
                );
            }
            let mut values =
                vec![ValRaw::default(); ty.params().len().max(ty.results().len()).max(1)];
            for (i, (param, expected)) in params.iter().zip(ty.params()).enumerate() {
                if !param.matches_in(&*inner, *expected) {
                    bail!(
                        "argument {i} is a {} but the function takes a {expected}",
                        param.ty()
                    );
                }
                values[i] = param.to_raw(&*inner);
            }
            call_funcref(inner, funcref, &mut values)?;
            for (i, (slot, ty)) in results.iter_mut().zip(ty.results()).enumerate() {
                *slot = Val::from_raw(values[i], *ty, &mut *inner);
            }
        }
        Ok(())
    }
}

/// Calls any funcref from the host: host functions directly, wasm through
/// its host-to-wasm trampoline under the trap handler.
///
/// # Safety
/// `store` must be the live store owning `funcref`, and `values` must have
/// max(params, results) slots.
pub(crate) unsafe fn call_funcref<T>(
    store: *mut StoreInner<T>,
    funcref: *mut VMFuncRef,
    values: &mut [ValRaw],
) -> Result<()> {
    // SAFETY: per the contract.
    let funcref_data = unsafe { &*funcref };
    if is_host_funcref(funcref_data) {
        let host = funcref_data.vmctx as *const VMHostFunc;
        // SAFETY: a host funcref's vmctx is its live VMHostFunc.
        // A panic must not escape differently than when wasm calls the
        // function: both become a `HostPanic` error.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
            (*host).call(std::ptr::null_mut(), values)
        }));
        match result {
            Ok(result) => result.map_err(trap::from_host_error),
            Err(panic) => Err(anyhow::Error::new(hoist_runtime::HostPanic::from_payload(
                &*panic,
            ))),
        }
    } else {
        // SAFETY: per the contract; the store context is boxed in the store.
        let (context, max_stack) = unsafe {
            (
                &mut *(*store).context as *mut _,
                (*store).engine.tunables().max_wasm_stack,
            )
        };
        // SAFETY: per the contract; symbolizing only reads the store's
        // instances after the call has returned.
        unsafe { invoke_wasm(context, funcref, values.as_mut_ptr(), max_stack) }.map_err(|reason| {
            trap::from_reason(
                reason,
                // SAFETY: the call has returned; the store is ours again.
                |pc| unsafe { (*store).symbolize(pc) },
                // SAFETY: as above.
                |exn| unsafe { (*store).describe_exception(exn) },
            )
        })
    }
}
