//! Stores: everything instantiated together, and the user's data.
//!
//! A store owns every instance, memory, table, global and function made in
//! it; handles (`Func`, `Memory`, ...) are indices into it. Compiled code
//! and the runtime hold raw pointers into these objects, which is sound
//! because they are boxed (stable addresses) and only freed when the whole
//! store is dropped.

use crate::engine::Engine;
use crate::types::{FuncType, GlobalType, ValType};
use crate::values::Val;
use foldhash::{HashMap, HashMapExt};
use hoist_runtime::{
    Instance, LinearMemory, Table, VMFuncRef, VMGlobalDefinition, VMHostFunc, VMStoreContext,
};
use std::any::Any;

/// A collection of instances and host objects, plus the embedder's `T`.
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

pub(crate) struct FuncData {
    pub(crate) funcref: *mut VMFuncRef,
    pub(crate) ty: FuncType,
}

pub(crate) struct GlobalData {
    pub(crate) definition: *mut VMGlobalDefinition,
    pub(crate) ty: GlobalType,
    /// Whether it holds a reference the GC traces.
    pub(crate) traced: bool,
}

pub(crate) struct InstanceData {
    pub(crate) instance: Box<Instance>,
    /// Store handles of the instance's memories and tables, by index.
    pub(crate) memories: Vec<usize>,
    pub(crate) tables: Vec<usize>,
    /// Engine-wide id of each of the module's types.
    pub(crate) type_ids: Vec<u32>,
}

// The boxes are the point: compiled code and instances hold pointers to
// these objects, so they must not move when the vectors grow.
#[allow(clippy::vec_box)]
pub(crate) struct StoreInner<T> {
    pub(crate) engine: Engine,
    pub(crate) data: T,
    /// Boxed: compiled code reads the stack limit through a pointer.
    pub(crate) context: Box<VMStoreContext>,
    pub(crate) instances: Vec<InstanceData>,
    /// Shared (`Arc`) because a shared memory belongs to every store that
    /// imports it; an unshared one has only this reference.
    pub(crate) memories: Vec<std::sync::Arc<LinearMemory>>,
    pub(crate) tables: Vec<Box<Table>>,
    /// What `tables` may hold together (`max_total_table_elements`).
    pub(crate) table_budget: std::sync::Arc<hoist_runtime::TableBudget>,
    /// Whether each table holds references the GC traces.
    pub(crate) table_traced: Vec<bool>,
    pub(crate) globals: Vec<GlobalData>,
    pub(crate) host_globals: Vec<Box<VMGlobalDefinition>>,
    pub(crate) funcs: Vec<FuncData>,
    pub(crate) host_funcs: Vec<Box<VMHostFunc>>,
    /// Func handle of each funcref address seen so far.
    pub(crate) funcref_handles: HashMap<usize, usize>,
    /// Tag definitions reachable through `Tag` handles.
    pub(crate) tags: Vec<*mut hoist_runtime::VMTagDefinition>,
    pub(crate) tag_handles: HashMap<usize, usize>,
    pub(crate) host_tags: Vec<Box<hoist_runtime::VMTagDefinition>>,
    /// Global handle of each global address seen so far.
    pub(crate) global_handles: HashMap<usize, usize>,
    pub(crate) externrefs: Vec<Box<dyn Any + Send + Sync>>,
    /// Fuel given by the last `set_fuel`.
    pub(crate) fuel_given: i64,
    /// References the host holds (the GC proposal).
    pub(crate) gc_roots: crate::gc::roots::GcRoots,
}

/// A store, borrowed mutably: what the API functions that work inside
/// host functions as well as outside take (see [`AsContextMut`]).
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

/// Anything that gives mutable access to a store: a [`Store`], a
/// [`Caller`](crate::Caller) inside a host function, or a
/// [`StoreContextMut`].
pub trait AsContextMut {
    /// The store's data type.
    type Data;
    /// The store, borrowed mutably.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContextMut for Store<T> {
    type Data = T;
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T> AsContextMut for &mut Store<T> {
    type Data = T;
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T> AsContextMut for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<T> AsContextMut for crate::Caller<'_, T> {
    type Data = T;
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store)
    }
}

impl<T> AsContextMut for &mut crate::Caller<'_, T> {
    type Data = T;
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store)
    }
}

impl<T> Store<T> {
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        let mut store = Store {
            inner: Box::new(StoreInner {
                engine: engine.clone(),
                data,
                context: Box::default(),
                instances: Vec::new(),
                memories: Vec::new(),
                tables: Vec::new(),
                table_budget: hoist_runtime::TableBudget::new(
                    engine.tunables().max_total_table_elements,
                ),
                globals: Vec::new(),
                host_globals: Vec::new(),
                funcs: Vec::new(),
                host_funcs: Vec::new(),
                funcref_handles: HashMap::new(),
                tags: Vec::new(),
                tag_handles: HashMap::new(),
                host_tags: Vec::new(),
                global_handles: HashMap::new(),
                externrefs: Vec::new(),
                fuel_given: 0,
                gc_roots: Default::default(),
                table_traced: Vec::new(),
            }),
        };
        let inner: *mut StoreInner<T> = &mut *store.inner;
        store
            .inner
            .context
            .gc_roots
            .set(Some((gc_roots::<T>, inner as *mut u8)));
        let counter: *const std::sync::atomic::AtomicU64 = &*engine.inner.epoch;
        store.inner.context.epoch_counter = counter;
        let gc = store.inner.context.gc.get_mut();
        gc.set_roots(crate::gc::trace_roots::<T>, inner as *mut u8);
        gc.set_max(engine.tunables().max_gc_heap);
        if engine.inner.gc_stress {
            store.gc_stress(true);
        }
        store
    }

    /// Sets the epoch deadline `ticks` increments of
    /// [`Engine::increment_epoch`] from now: code compiled with
    /// [`Config::epoch_interruption`](crate::Config::epoch_interruption)
    /// traps with [`TrapCode::Interrupt`](crate::TrapCode) at the next
    /// function entry or loop header once the engine's epoch reaches it.
    /// Without a deadline nothing is interrupted.
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        let now = self.inner.engine.current_epoch();
        *self.inner.context.epoch_deadline.get_mut() = now.saturating_add(ticks);
    }

    /// Gives the store `fuel` units to spend (one per operator that does
    /// work), replacing what was left. Code compiled with
    /// [`Config::consume_fuel`](crate::Config::consume_fuel) traps with
    /// [`TrapCode::OutOfFuel`](crate::TrapCode) once it is spent; it starts
    /// at 0. Fails if the engine does not meter fuel.
    pub fn set_fuel(&mut self, fuel: u64) -> anyhow::Result<()> {
        if !self.inner.engine.tunables().consume_fuel {
            anyhow::bail!("fuel is not enabled in this engine's configuration");
        }
        let fuel = i64::try_from(fuel).unwrap_or(i64::MAX);
        *self.inner.context.fuel_consumed.get_mut() = -fuel;
        self.inner.fuel_given = fuel;
        Ok(())
    }

    /// Fuel left (0 once spent). Fails if the engine does not meter fuel.
    pub fn get_fuel(&self) -> anyhow::Result<u64> {
        if !self.inner.engine.tunables().consume_fuel {
            anyhow::bail!("fuel is not enabled in this engine's configuration");
        }
        // SAFETY: no wasm of this store runs while it is borrowed.
        let consumed = unsafe { *self.inner.context.fuel_consumed.get() };
        Ok(consumed.saturating_neg().max(0) as u64)
    }

    /// Fuel spent since the last [`Store::set_fuel`] (can exceed what was
    /// given by the cost of the operators between two checks).
    pub fn fuel_consumed(&self) -> Option<u64> {
        if !self.inner.engine.tunables().consume_fuel {
            return None;
        }
        // SAFETY: as in `get_fuel`.
        let consumed = unsafe { *self.inner.context.fuel_consumed.get() };
        Some(consumed.saturating_add(self.inner.fuel_given).max(0) as u64)
    }

    /// Every instance made in this store, oldest first, including one
    /// whose instantiation trapped in its start function (for core dumps).
    pub fn instances(&self) -> Vec<crate::Instance> {
        (0..self.inner.instances.len())
            .map(crate::Instance)
            .collect()
    }

    pub fn data(&self) -> &T {
        &self.inner.data
    }

    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The budget of table elements this store's tables draw on
    /// ([`Config::max_total_table_elements`](crate::Config::max_total_table_elements)).
    pub fn table_budget(&self) -> std::sync::Arc<crate::TableBudget> {
        std::sync::Arc::clone(&self.inner.table_budget)
    }

    /// Makes the tables this store creates from now on draw on `budget`,
    /// another store's: stores that together run one program (its
    /// wasi-threads) share one budget instead of one each.
    pub fn share_table_budget(&mut self, budget: std::sync::Arc<crate::TableBudget>) {
        self.inner.table_budget = budget;
    }
}

/// Every word of every table slot and global of the store at `store`: the
/// exception collector's roots outside wasm stacks (see
/// `hoist_runtime::exn`).
///
/// # Safety
/// `store` must be the live `StoreInner<T>` that installed this function.
unsafe fn gc_roots<T>(store: *mut u8, mark: &mut dyn FnMut(u64)) {
    // SAFETY: per the contract; the collector runs inside a call the store
    // is making, and only reads.
    let store = unsafe { &*(store as *const StoreInner<T>) };
    for table in &store.tables {
        for i in 0..table.size() {
            mark(table.get(i).unwrap_or(0) as u64);
        }
    }
    let mut global = |definition: *const VMGlobalDefinition| {
        // SAFETY: global definitions live as long as their store.
        let raw = unsafe { (*definition).to_raw() }.0;
        mark(raw as u64);
        mark((raw >> 64) as u64);
    };
    for data in &store.instances {
        let module = data.instance.module();
        for index in module.globals.keys().skip(module.num_imported_globals) {
            global(data.instance.global_ptr(index));
        }
    }
    for definition in &store.host_globals {
        global(&**definition);
    }
}

impl<T> StoreInner<T> {
    /// What an exception `exn` of this store is: its tag, named as its
    /// module names it, and its values.
    pub(crate) fn describe_exception(&mut self, exn: u64) -> crate::trap::ExceptionInfo {
        let store: *const VMStoreContext = &*self.context;
        // SAFETY: the heap is only touched by this store's calls; none runs.
        let heap = unsafe { &*self.context.exn_heap.get() };
        let Some(object) = heap.get(exn) else {
            return crate::trap::ExceptionInfo {
                store,
                tag: "<unknown>".into(),
                payload: Vec::new(),
            };
        };
        let (tag, raw) = (object.tag, object.payload.to_vec());
        let mut name = "<host tag>".to_string();
        for data in &self.instances {
            let module = data.instance.module();
            let found = module
                .tags
                .keys()
                .find(|t| std::ptr::eq(data.instance.tag_ptr(*t), tag));
            if let Some(t) = found {
                let export = module.exports.iter().find_map(|(n, e)| {
                    (*e == hoist_environ::EntityIndex::Tag(t)).then_some(n.as_str())
                });
                let tag_name = module
                    .tag_names
                    .get(&t)
                    .map(String::as_str)
                    .or(export)
                    .map_or_else(|| format!("#{}", t.as_u32()), |n| format!("${n}"));
                name = format!(
                    "`{}!{tag_name}`",
                    module.name.as_deref().unwrap_or("<module>")
                );
                break;
            }
        }
        // SAFETY: tag definitions live as long as their store.
        let type_id = unsafe { (*tag).type_id };
        let params = self
            .engine
            .signature(type_id)
            .map(|sig| sig.params.to_vec())
            .unwrap_or_default();
        let payload = params
            .iter()
            .zip(raw)
            .map(|(ty, raw)| Val::from_raw(raw, ValType::from_wasm(*ty), self))
            .collect();
        crate::trap::ExceptionInfo {
            store,
            tag: name,
            payload,
        }
    }

    /// The Func handle for a non-null funcref pointer, creating one if new.
    pub(crate) fn func_handle(&mut self, funcref: *mut VMFuncRef) -> usize {
        if let Some(handle) = self.funcref_handles.get(&(funcref as usize)) {
            return *handle;
        }
        // SAFETY: funcref pointers handed out by wasm point into live
        // vmctxs or host functions of this store.
        let type_id = unsafe { (*funcref).type_id };
        let ty = self
            .engine
            .signature(type_id)
            .map(|ty| FuncType::from_wasm(&ty))
            .expect("funcrefs carry registered signature ids");
        let handle = self.funcs.len();
        self.funcs.push(FuncData { funcref, ty });
        self.funcref_handles.insert(funcref as usize, handle);
        handle
    }

    /// `funcref` made ready for wasm to call: a host function that was not
    /// imported gets the engine's trampoline for its type on first use.
    pub(crate) fn wasm_callable(&self, funcref: *mut VMFuncRef) -> *mut VMFuncRef {
        // SAFETY: funcrefs of this store are live; the store is borrowed, so
        // nothing runs wasm while the field is written.
        unsafe {
            if (*funcref).wasm_call.is_null() && hoist_runtime::is_host_funcref(&*funcref) {
                let ty = self
                    .engine
                    .signature((*funcref).type_id)
                    .expect("registered signature");
                (*funcref).wasm_call = self
                    .engine
                    .host_trampoline(&ty)
                    .expect("compiling a host trampoline cannot fail for a valid signature");
            }
        }
        funcref
    }

    /// The Global handle for a global's storage, creating one if new.
    /// The handle of a tag definition, made on first use.
    pub(crate) fn tag_handle(&mut self, definition: *mut hoist_runtime::VMTagDefinition) -> usize {
        *self
            .tag_handles
            .entry(definition as usize)
            .or_insert_with(|| {
                self.tags.push(definition);
                self.tags.len() - 1
            })
    }

    pub(crate) fn global_handle(
        &mut self,
        definition: *mut VMGlobalDefinition,
        ty: GlobalType,
    ) -> usize {
        *self
            .global_handles
            .entry(definition as usize)
            .or_insert_with(|| {
                let traced = ty
                    .content()
                    .as_ref()
                    .is_some_and(|_| self.engine.types().is_gc_ref(ty.content().to_wasm()));
                self.globals.push(GlobalData {
                    definition,
                    ty,
                    traced,
                });
                self.globals.len() - 1
            })
    }

    /// The wasm frame at code address `pc`, if it is in one of our modules.
    pub(crate) fn symbolize(&self, pc: usize) -> Option<crate::trap::FrameInfo> {
        self.instances.iter().enumerate().find_map(|(index, data)| {
            let code = data.instance.code();
            let (defined, module_offset) = code.lookup_pc(pc)?;
            let module = &code.module;
            let func = module.func_index(defined);
            Some(crate::trap::FrameInfo {
                instance: Some(crate::Instance(index)),
                module_name: module.name.clone(),
                func_index: func.as_u32(),
                func_name: module.func_name(func).map(str::to_string),
                module_offset,
            })
        })
    }

    /// The instance owning the vmctx `vmctx`, if it is one of ours.
    pub(crate) fn instance_by_vmctx(&self, vmctx: *mut u8) -> Option<usize> {
        self.instances
            .iter()
            .position(|i| i.instance.vmctx() == vmctx)
    }
}
