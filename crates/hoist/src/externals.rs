//! Globals, memories, tables, and the `Extern` that holds any of them.

use crate::func::Func;
use crate::store::Store;
use crate::types::{ExternType, GlobalType, MemoryType, Mutability, TableType, ValType};
use crate::values::Val;
use anyhow::{bail, Result};
use hoist_runtime::{LinearMemory, Table as RuntimeTable, VMGlobalDefinition};
use std::sync::Arc;

/// Anything a module can import or export.
#[derive(Clone, Copy, Debug)]
pub enum Extern {
    Func(Func),
    Global(Global),
    Table(Table),
    Memory(Memory),
    Tag(Tag),
}

impl Extern {
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }
    pub fn into_tag(self) -> Option<Tag> {
        if let Extern::Tag(t) = self {
            Some(t)
        } else {
            None
        }
    }
    pub fn ty<T>(&self, store: &Store<T>) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(f.ty(store)),
            Extern::Global(g) => ExternType::Global(g.ty(store)),
            Extern::Table(t) => ExternType::Table(t.ty(store)),
            Extern::Memory(m) => ExternType::Memory(m.ty(store)),
            Extern::Tag(t) => ExternType::Tag(t.ty(store)),
        }
    }
}

impl From<Tag> for Extern {
    fn from(t: Tag) -> Extern {
        Extern::Tag(t)
    }
}

/// An exception tag (the exception-handling proposal): a wasm module's, or
/// one the host made. Its identity is its definition: importing and
/// exporting it keeps it the same tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag(pub(crate) usize);

impl Tag {
    /// A new tag whose exceptions carry values of `params`.
    pub fn new<T>(store: &mut Store<T>, params: impl IntoIterator<Item = ValType>) -> Tag {
        let ty = crate::types::FuncType::new(params, []);
        let id = store.inner.engine.signature_id(&ty.to_wasm());
        let mut definition = Box::new(hoist_runtime::VMTagDefinition { type_id: id });
        let pointer: *mut hoist_runtime::VMTagDefinition = &mut *definition;
        store.inner.host_tags.push(definition);
        Tag(store.inner.tag_handle(pointer))
    }

    pub fn ty<T>(&self, store: &Store<T>) -> crate::TagType {
        // SAFETY: tag definitions live as long as their store.
        let id = unsafe { (*store.inner.tags[self.0]).type_id };
        let sig = store
            .inner
            .engine
            .signature(id)
            .expect("a tag's type is a registered function type");
        crate::TagType {
            ty: crate::types::FuncType::from_wasm(&sig),
            id,
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}

/// A global variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global(pub(crate) usize);

impl Global {
    pub fn new<T>(store: &mut Store<T>, ty: GlobalType, val: Val) -> Result<Global> {
        if !val.matches(store, ty.content()) {
            bail!(
                "global of type {} cannot hold a {} value",
                ty.content(),
                val.ty()
            );
        }
        let inner = &mut *store.inner;
        let raw = val.to_raw(inner);
        let mut definition = Box::new(VMGlobalDefinition::from_raw(raw));
        let pointer: *mut VMGlobalDefinition = &mut *definition;
        inner.host_globals.push(definition);
        Ok(Global(inner.global_handle(pointer, ty)))
    }

    pub fn ty<T>(&self, store: &Store<T>) -> GlobalType {
        store.inner.globals[self.0].ty.clone()
    }

    pub fn get<T>(&self, store: &mut Store<T>) -> Val {
        let inner = &mut *store.inner;
        let data = &inner.globals[self.0];
        // SAFETY: global definitions live as long as the store.
        let raw = unsafe { (*data.definition).to_raw() };
        let ty = data.ty.content();
        Val::from_raw(raw, ty, inner)
    }

    pub fn set<T>(&self, store: &mut Store<T>, val: Val) -> Result<()> {
        let inner = &mut *store.inner;
        let ty = inner.globals[self.0].ty.clone();
        if ty.mutability() != Mutability::Var {
            bail!("cannot set an immutable global");
        }
        if !val.matches_in(inner, ty.content()) {
            bail!(
                "global of type {} cannot hold a {} value",
                ty.content(),
                val.ty()
            );
        }
        let raw = val.to_raw(inner);
        // SAFETY: as in `get`; the store is borrowed mutably.
        unsafe { *inner.globals[self.0].definition = VMGlobalDefinition::from_raw(raw) };
        Ok(())
    }
}

/// A linear memory.
///
/// A shared memory (the threads proposal) in a store is a `Memory` too,
/// one of possibly many stores' handles to the same [`SharedMemory`].
/// Other threads may write its bytes at any time: [`Memory::data`] and
/// [`Memory::data_mut`] on one are for copying bytes in and out, and what
/// was read may have changed by the time it is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory(pub(crate) usize);

impl Memory {
    pub fn new<T>(store: &mut Store<T>, ty: MemoryType) -> Result<Memory> {
        let memory = LinearMemory::new(&ty.ty, store.inner.engine.tunables())?;
        store.inner.memories.push(Arc::new(memory));
        Ok(Memory(store.inner.memories.len() - 1))
    }

    /// `shared` in this store: the handle to import it with.
    ///
    /// # Errors
    /// If `shared` was made by another engine (its layout may differ from
    /// what this store's code expects).
    pub fn from_shared<T>(store: &mut Store<T>, shared: &SharedMemory) -> Result<Memory> {
        if !shared.engine.same(&store.inner.engine) {
            bail!("the shared memory belongs to another engine");
        }
        if let Some(index) = store
            .inner
            .memories
            .iter()
            .position(|m| Arc::ptr_eq(m, &shared.memory))
        {
            return Ok(Memory(index));
        }
        store.inner.memories.push(Arc::clone(&shared.memory));
        Ok(Memory(store.inner.memories.len() - 1))
    }

    /// The [`SharedMemory`] behind this handle, if the memory is shared.
    pub fn shared<T>(&self, store: &Store<T>) -> Option<SharedMemory> {
        let memory = &store.inner.memories[self.0];
        memory.is_shared().then(|| SharedMemory {
            memory: Arc::clone(memory),
            engine: store.inner.engine.clone(),
        })
    }

    /// The current type: its minimum is the current size.
    pub fn ty<T>(&self, store: &Store<T>) -> MemoryType {
        let memory = &store.inner.memories[self.0];
        let mut ty = memory.ty().clone();
        ty.minimum = memory.pages();
        MemoryType { ty }
    }

    pub fn size<T>(&self, store: &Store<T>) -> u64 {
        store.inner.memories[self.0].pages()
    }

    /// The memory's bytes (see the type's note on shared memories).
    pub fn data<'a, T>(&self, store: &'a Store<T>) -> &'a [u8] {
        // SAFETY: the store is borrowed, so no wasm of it runs; an unshared
        // memory is this store's alone. A shared one may be written by
        // other threads: documented above, readers copy.
        unsafe { store.inner.memories[self.0].data() }
    }

    /// The memory's bytes, to write (see the type's note on shared
    /// memories).
    pub fn data_mut<'a, T>(&self, store: &'a mut Store<T>) -> &'a mut [u8] {
        // SAFETY: as in `data`, with the store borrowed mutably.
        unsafe { store.inner.memories[self.0].data_mut() }
    }

    /// Grows by `delta` pages, returning the old size.
    pub fn grow<T>(&self, store: &mut Store<T>, delta: u64) -> Result<u64> {
        match store.inner.memories[self.0].grow(delta)? {
            Some(old) => Ok(old),
            None => bail!("failed to grow memory by {delta} pages: over its maximum"),
        }
    }
}

/// A shared linear memory (the threads proposal), independent of any
/// store: every store (on any thread) that imports it through
/// [`Memory::from_shared`] sees the same bytes. Growing it is safe from
/// any thread; the base never moves.
#[derive(Clone)]
pub struct SharedMemory {
    memory: Arc<LinearMemory>,
    engine: crate::Engine,
}

impl std::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedMemory")
            .field("pages", &self.memory.pages())
            .finish_non_exhaustive()
    }
}

impl SharedMemory {
    /// A new shared memory of type `ty`, which must be `shared` (and so
    /// have a maximum), laid out as `engine`'s code expects.
    pub fn new(engine: &crate::Engine, ty: MemoryType) -> Result<SharedMemory> {
        if !ty.ty.shared {
            bail!("a shared memory needs a shared memory type");
        }
        if ty.ty.maximum.is_none() {
            bail!("a shared memory needs a maximum size");
        }
        let memory = LinearMemory::new(&ty.ty, engine.tunables())?;
        Ok(SharedMemory {
            memory: Arc::new(memory),
            engine: engine.clone(),
        })
    }

    /// The current type: its minimum is the current size.
    pub fn ty(&self) -> MemoryType {
        let mut ty = self.memory.ty().clone();
        ty.minimum = self.memory.pages();
        MemoryType { ty }
    }

    /// The size in pages.
    pub fn size(&self) -> u64 {
        self.memory.pages()
    }

    /// The size in bytes.
    pub fn data_size(&self) -> usize {
        self.memory.byte_size()
    }

    /// Grows by `delta` pages, returning the old size; safe while other
    /// threads run wasm on it.
    pub fn grow(&self, delta: u64) -> Result<u64> {
        match self.memory.grow(delta)? {
            Some(old) => Ok(old),
            None => bail!("failed to grow memory by {delta} pages: over its maximum"),
        }
    }

    /// The bytes, as cells other threads may write at any time.
    pub fn data(&self) -> &[std::cell::UnsafeCell<u8>] {
        // SAFETY: the first `byte_size` bytes are mapped and stay mapped
        // while the memory lives; `UnsafeCell` tells Rust they may change.
        unsafe {
            std::slice::from_raw_parts(
                self.memory.base() as *const std::cell::UnsafeCell<u8>,
                self.memory.byte_size(),
            )
        }
    }
}

/// A table of references.
#[derive(Clone, Copy, Debug)]
pub struct Table(pub(crate) usize);

impl Table {
    pub fn new<T>(store: &mut Store<T>, ty: TableType, init: Val) -> Result<Table> {
        if !init.matches(store, ty.element()) {
            bail!(
                "table of {} cannot hold a {} value",
                ty.element(),
                init.ty()
            );
        }
        let init = init.to_raw(&store.inner).0 as usize;
        let limit = store.inner.engine.tunables().max_table_elements;
        let table = RuntimeTable::new(&ty.ty, init, limit, &store.inner.table_budget)?;
        let traced = store
            .inner
            .is_traced(hoist_environ::WasmValType::Ref(ty.ty.element));
        store.inner.tables.push(Box::new(table));
        store.inner.table_traced.push(traced);
        Ok(Table(store.inner.tables.len() - 1))
    }

    /// The current type: its minimum is the current size.
    pub fn ty<T>(&self, store: &Store<T>) -> TableType {
        let table = &store.inner.tables[self.0];
        let mut ty = table.ty().clone();
        ty.minimum = u64::from(table.size());
        TableType { ty }
    }

    pub fn size<T>(&self, store: &Store<T>) -> u32 {
        store.inner.tables[self.0].size()
    }

    pub fn get<T>(&self, store: &mut Store<T>, index: u32) -> Option<Val> {
        let inner = &mut *store.inner;
        let table = &inner.tables[self.0];
        let element = ValType::Ref(crate::types::RefType::from_wasm(table.ty().element));
        let raw = table.get(index)?;
        Some(Val::from_raw(
            hoist_runtime::ValRaw(raw as u128),
            element,
            inner,
        ))
    }

    pub fn set<T>(&self, store: &mut Store<T>, index: u32, val: Val) -> Result<()> {
        let element = ValType::Ref(crate::types::RefType::from_wasm(
            store.inner.tables[self.0].ty().element,
        ));
        if !val.matches(store, element) {
            bail!("table of {element} cannot hold a {} value", val.ty());
        }
        let raw = val.to_raw(&store.inner).0 as usize;
        if !store.inner.tables[self.0].set(index, raw) {
            bail!("table index {index} out of bounds");
        }
        Ok(())
    }
}
