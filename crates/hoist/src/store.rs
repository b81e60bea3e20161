//! Stores: everything instantiated together, and the user's data.
//!
//! A store owns every instance, memory, table, global and function made in
//! it; handles (`Func`, `Memory`, ...) are indices into it. Compiled code
//! and the runtime hold raw pointers into these objects, which is sound
//! because they are boxed (stable addresses) and only freed when the whole
//! store is dropped.

use crate::engine::Engine;
use crate::types::{FuncType, GlobalType};
use hoist_runtime::{
    Instance, LinearMemory, Table, VMFuncRef, VMGlobalDefinition, VMHostFunc, VMStoreContext,
};
use std::any::Any;
use std::collections::HashMap;

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
    pub(crate) memories: Vec<Box<LinearMemory>>,
    pub(crate) tables: Vec<Box<Table>>,
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
}

impl<T> Store<T> {
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        Store {
            inner: Box::new(StoreInner {
                engine: engine.clone(),
                data,
                context: Box::default(),
                instances: Vec::new(),
                memories: Vec::new(),
                tables: Vec::new(),
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
            }),
        }
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
}

impl<T> StoreInner<T> {
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
                self.globals.push(GlobalData { definition, ty });
                self.globals.len() - 1
            })
    }

    /// The wasm frame at code address `pc`, if it is in one of our modules.
    pub(crate) fn symbolize(&self, pc: usize) -> Option<crate::trap::FrameInfo> {
        self.instances.iter().find_map(|data| {
            let code = data.instance.code();
            let (defined, module_offset) = code.lookup_pc(pc)?;
            let module = &code.module;
            let func = module.func_index(defined);
            Some(crate::trap::FrameInfo {
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
