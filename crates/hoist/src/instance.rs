//! Instantiation: matching imports, allocating what the module defines,
//! running segment initializers and the start function.

use crate::externals::{Extern, Global, Memory, Table, Tag};
use crate::func::{call_funcref, Func};
use crate::module::Module;
use crate::store::{InstanceData, Store, StoreInner};
use crate::trap::Trap;
use crate::type_registry::{to_engine_ref, to_engine_val};
use crate::types::GlobalType;
use anyhow::{bail, Context, Result};
use hoist_environ::{limits_match, EntityIndex, EntityRef, EntityType};
use hoist_runtime::{InitError, InstanceParts, LinearMemory, Table as RuntimeTable, ValRaw};
use std::sync::Arc;

/// An instance of a module, living in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance(pub(crate) usize);

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import order.
    pub fn new<T>(store: &mut Store<T>, module: &Module, imports: &[Extern]) -> Result<Instance> {
        instantiate(&mut store.inner, module, imports)
    }

    pub fn get_export<T>(&self, store: &mut Store<T>, name: &str) -> Option<Extern> {
        export(&mut store.inner, self.0, name)
    }

    pub fn get_func<T>(&self, store: &mut Store<T>, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    pub fn get_memory<T>(&self, store: &mut Store<T>, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    pub fn get_global<T>(&self, store: &mut Store<T>, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    pub fn get_table<T>(&self, store: &mut Store<T>, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// Whether this instance was made from `module` (for tools that map
    /// frames or instances back to the modules they loaded).
    pub fn is_instance_of<T>(&self, store: &Store<T>, module: &Module) -> bool {
        Arc::ptr_eq(
            store.inner.instances[self.0].instance.code(),
            &module.inner.code,
        )
    }

    /// Every memory of the instance by memory index, imported ones first,
    /// exported or not (for core dumps).
    pub fn memories<T>(&self, store: &Store<T>) -> Vec<Memory> {
        store.inner.instances[self.0]
            .memories
            .iter()
            .map(|handle| Memory(*handle))
            .collect()
    }

    /// Every global of the instance by global index, imported ones first,
    /// exported or not (for core dumps).
    pub fn globals<T>(&self, store: &mut Store<T>) -> Vec<Global> {
        let inner = &mut *store.inner;
        let module = inner.instances[self.0].instance.module().clone();
        module
            .globals
            .iter()
            .map(|(g, wasm)| {
                let data = &inner.instances[self.0];
                let definition = data.instance.global_ptr(g);
                let ty = GlobalType::from_wasm(&hoist_environ::GlobalType {
                    ty: to_engine_val(wasm.ty, &data.type_ids),
                    mutable: wasm.mutable,
                });
                Global(inner.global_handle(definition, ty))
            })
            .collect()
    }

    /// All exports, in module order.
    pub fn exports<T>(&self, store: &mut Store<T>) -> Vec<(String, Extern)> {
        let module = store.inner.instances[self.0].instance.module().clone();
        module
            .exports
            .iter()
            .filter_map(|(name, _)| Some((name.clone(), export(&mut store.inner, self.0, name)?)))
            .collect()
    }
}

/// The export `name` of instance `index`, as a store handle.
pub(crate) fn export<T>(store: &mut StoreInner<T>, index: usize, name: &str) -> Option<Extern> {
    let data = &store.instances[index];
    let module = data.instance.module().clone();
    let (_, entity) = module.exports.iter().find(|(export, _)| export == name)?;
    Some(match *entity {
        EntityIndex::Function(f) => {
            let funcref = data.instance.funcref(f);
            Extern::Func(Func(store.func_handle(funcref)))
        }
        EntityIndex::Memory(m) => Extern::Memory(Memory(data.memories[m.as_u32() as usize])),
        EntityIndex::Table(t) => Extern::Table(Table(data.tables[t.as_u32() as usize])),
        EntityIndex::Global(g) => {
            let definition = data.instance.global_ptr(g);
            let wasm = &module.globals[g];
            let ty = GlobalType::from_wasm(&hoist_environ::GlobalType {
                ty: to_engine_val(wasm.ty, &data.type_ids),
                mutable: wasm.mutable,
            });
            Extern::Global(Global(store.global_handle(definition, ty)))
        }
        EntityIndex::Tag(t) => {
            let definition = data.instance.tag_ptr(t);
            Extern::Tag(Tag(store.tag_handle(definition)))
        }
    })
}

fn instantiate<T>(
    store: &mut StoreInner<T>,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance> {
    if !Arc::ptr_eq(&module.engine().inner, &store.engine.inner) {
        bail!("the module was compiled by a different engine than the store's");
    }
    let code = module.inner.code.clone();
    let m = &code.module;
    if imports.len() != m.imports.len() {
        bail!(
            "the module needs {} imports, but {} were given",
            m.imports.len(),
            imports.len()
        );
    }

    let ids = module.type_ids();
    let mut imported_functions = Vec::new();
    let mut tables = Vec::new();
    let mut table_handles = Vec::new();
    let mut memories = Vec::new();
    let mut memory_handles = Vec::new();
    let mut imported_globals = Vec::new();
    let mut imported_tags = Vec::new();
    for (import, item) in m.imports.iter().zip(imports) {
        let expected = m.entity_type(import.index);
        let types = store.engine.types();
        let matches = match (&expected, item) {
            // A function's type must be a subtype of the import's.
            (EntityType::Function(ty), Extern::Func(f)) => {
                // SAFETY: funcrefs of this store are live and initialized.
                let funcref = unsafe { hoist_runtime::VMFuncRef::load(store.funcs[f.0].funcref) };
                imported_functions.push(funcref);
                types.is_subtype(funcref.type_id, ids[ty.index()])
            }
            // Tables are invariant in their element type.
            (EntityType::Table(ty), Extern::Table(t)) => {
                let table = &mut store.tables[t.0];
                let actual = table.ty();
                let ok = actual.element == to_engine_ref(ty.element, ids)
                    && actual.table64 == ty.table64
                    && limits_match(
                        u64::from(table.size()),
                        actual.maximum,
                        ty.minimum,
                        ty.maximum,
                    );
                tables.push(&mut **table as *mut RuntimeTable);
                table_handles.push(t.0);
                ok
            }
            (EntityType::Memory(ty), Extern::Memory(mem)) => {
                let memory = &store.memories[mem.0];
                let actual = memory.ty();
                let ok = actual.memory64 == ty.memory64
                    && actual.shared == ty.shared
                    && actual.page_size_log2 == ty.page_size_log2
                    && limits_match(memory.pages(), actual.maximum, ty.minimum, ty.maximum);
                memories.push(std::sync::Arc::as_ptr(memory) as *mut LinearMemory);
                memory_handles.push(mem.0);
                ok
            }
            // Immutable globals are covariant, mutable ones invariant.
            (EntityType::Global(ty), Extern::Global(g)) => {
                let data = &store.globals[g.0];
                imported_globals.push(data.definition);
                let actual = data.ty.to_wasm();
                let expected = to_engine_val(ty.ty, ids);
                actual.mutable == ty.mutable
                    && if ty.mutable {
                        actual.ty == expected
                    } else {
                        types.val_subtype(actual.ty, expected)
                    }
            }
            (EntityType::Tag(ty), Extern::Tag(t)) => {
                let definition = store.tags[t.0];
                imported_tags.push(definition);
                // SAFETY: tag definitions live as long as their store.
                unsafe { (*definition).type_id == ids[ty.ty.index()] }
            }
            _ => false,
        };
        if !matches {
            bail!(
                "incompatible import type for `{}::{}`: expected {}",
                import.module,
                import.field,
                expected.kind()
            );
        }
    }

    let tunables = store.engine.tunables().clone();
    for (_, ty) in m.memories.iter().skip(m.num_imported_memories) {
        let memory =
            LinearMemory::new(ty, &tunables).context("failed to allocate a linear memory")?;
        let memory = std::sync::Arc::new(memory);
        memories.push(std::sync::Arc::as_ptr(&memory) as *mut LinearMemory);
        store.memories.push(memory);
        memory_handles.push(store.memories.len() - 1);
    }
    for (_, ty) in m.tables.iter().skip(m.num_imported_tables) {
        let mut ty = ty.clone();
        ty.element = to_engine_ref(ty.element, ids);
        let table = RuntimeTable::new(&ty, 0, tunables.max_table_elements, &store.table_budget)?;
        let mut table = Box::new(table);
        tables.push(&mut *table as *mut RuntimeTable);
        let traced = store.is_traced(hoist_environ::WasmValType::Ref(ty.element));
        store.tables.push(table);
        store.table_traced.push(traced);
        table_handles.push(store.tables.len() - 1);
    }

    // The module's types (and every other the engine knows) before its
    // code can make objects or funcrefs of them.
    store.check_gc_type_ids(ids)?;
    store.sync_gc_types();
    let store_pointer = store as *mut StoreInner<T> as *mut u8;
    let instance = hoist_runtime::Instance::new(InstanceParts {
        code: code.clone(),
        type_ids: module.inner.type_ids.clone(),
        imported_functions,
        tables,
        memories,
        imported_globals,
        imported_tags,
        store_context: &mut *store.context,
        store: store_pointer,
        type_info: store.engine.inner.clone(),
    });
    let index = store.instances.len();
    store.instances.push(InstanceData {
        instance,
        memories: memory_handles,
        tables: table_handles,
        type_ids: ids.to_vec(),
    });

    // Segments may trap; what they wrote before stays (the instance stays in
    // the store, and shared tables and memories keep the writes).
    store.instances[index]
        .instance
        .initialize()
        .map_err(|e| match e {
            InitError::Trap(code) => anyhow::Error::new(Trap::new(code, Vec::new())),
            InitError::Image { memory, error } => anyhow::Error::new(error).context(format!(
                "damaged artifact: cannot read the image of memory {}",
                memory.as_u32()
            )),
        })?;
    if let Some(start) = m.start {
        let funcref = store.instances[index].instance.funcref(start);
        let mut values = [ValRaw::default()];
        // SAFETY: the funcref belongs to the instance just added to this
        // store; the start function has no parameters or results.
        unsafe { call_funcref(store, funcref, &mut values) }?;
    }
    Ok(Instance(index))
}
