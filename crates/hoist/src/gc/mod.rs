//! The GC proposal on the store's side: the types the store's heap may
//! hold, the roots outside wasm stacks, and host-made objects. The heap
//! and its collector are `hoist_runtime::gc`; the host's view of
//! references is [`refs`].

pub(crate) mod refs;
pub(crate) mod roots;

use crate::store::StoreInner;
use anyhow::{bail, Result};
use hoist_environ::gc::TYPE_ID_MASK;
use hoist_environ::WasmValType;
use hoist_runtime::gc::{Frames, GcStats, GcStore};

/// Every slot of the store at `store` outside wasm stacks that holds a
/// traced reference: instances' globals and element segments, tables,
/// host globals, and the host's root table. Installed as the collector's
/// root enumerator.
///
/// # Safety
/// `store` must be the live `StoreInner<T>` that installed this function;
/// the collector calls it while the store is in a call it made.
pub(crate) unsafe fn trace_roots<T>(store: *mut u8, visit: &mut dyn FnMut(&mut u64)) {
    // SAFETY: per the contract; the collector only runs inside a call the
    // store made, and nothing else uses these objects while it does.
    let store = unsafe { &mut *(store as *mut StoreInner<T>) };
    for data in &mut store.instances {
        data.instance.trace_gc_roots(visit);
    }
    for (table, traced) in store.tables.iter_mut().zip(&store.table_traced) {
        if *traced {
            for slot in table.elements_mut() {
                let mut word = *slot as u64;
                visit(&mut word);
                *slot = word as usize;
            }
        }
    }
    for global in &store.globals {
        if global.traced {
            // SAFETY: global definitions live as long as their store; a
            // reference is the low 8 bytes of the 16-byte, aligned slot.
            let slot = unsafe { &mut *(global.definition as *mut u64) };
            visit(slot);
        }
    }
    store.gc_roots.for_each(visit);
}

impl<T> StoreInner<T> {
    /// The store's GC state.
    #[allow(clippy::mut_from_ref)]
    pub(crate) fn gc(&self) -> &mut GcStore {
        // SAFETY: the state lives in the boxed store context; the store is
        // borrowed, so no wasm of it runs, and callers do not keep the
        // reference across anything that could reach the state again.
        unsafe { &mut *self.context.gc.get() }
    }

    /// Adds every type the engine has registered to the store's type table
    /// (before a module's code or a host function can carry one).
    pub(crate) fn sync_gc_types(&mut self) {
        let types = self.engine.types();
        let gc = self.gc();
        let known = gc.types.len();
        if types.len() == known {
            return;
        }
        for id in known as u32..types.len() as u32 {
            let display: Box<[u32]> = types.display(id).unwrap_or(&[]).into();
            gc.types.push(display, types.gc_layout(id));
        }
        drop(types);
        gc.publish_types(&self.context);
    }

    /// Refuses struct and array type ids that do not fit in an object
    /// header (an engine with more than 2^28 types).
    pub(crate) fn check_gc_type_ids(&self, ids: &[u32]) -> Result<()> {
        let types = self.engine.types();
        if let Some(id) = ids
            .iter()
            .find(|id| **id > TYPE_ID_MASK && types.gc_layout(**id).is_some())
        {
            bail!(
                "struct or array type {id} is past the {} types GC objects can name",
                TYPE_ID_MASK as usize + 1
            );
        }
        Ok(())
    }

    /// Whether values of `ty` (engine references) are traced.
    pub(crate) fn is_traced(&self, ty: WasmValType) -> bool {
        ty.is_ref() && self.engine.types().is_gc_ref(ty)
    }

    /// Allocates and initializes an object for the host (header, array
    /// length, zeros), collecting if needed; `extra` are references the
    /// caller holds (rewritten if objects move).
    pub(crate) fn alloc_object(
        &mut self,
        header: u32,
        size: u32,
        array_len: Option<u32>,
        extra: &mut [u64],
    ) -> Result<u32> {
        let ctx: &hoist_runtime::VMStoreContext = &self.context;
        // SAFETY: host code: the frames of any activation below are
        // recorded; every other reference is a root of the store or in
        // `extra`.
        let obj = unsafe { self.gc().alloc(ctx, size, Frames::Host, extra) }.map_err(|_| {
            anyhow::Error::new(crate::Trap::new(
                hoist_environ::TrapCode::GcHeapOutOfMemory,
                Vec::new(),
            ))
        })?;
        self.gc().init_object(obj, size, header, array_len);
        Ok(obj)
    }
}

impl<T> crate::Store<T> {
    /// Collects garbage now: a full collection of the store's GC heap.
    pub fn gc(&mut self) {
        let inner = &mut *self.inner;
        let ctx: &hoist_runtime::VMStoreContext = &inner.context;
        // SAFETY: as in `StoreInner::alloc_object`.
        unsafe { inner.gc().collect(ctx, Frames::Host, &mut []) };
    }

    /// What the store's collector has done so far.
    pub fn gc_stats(&self) -> GcStats {
        self.inner.gc().stats()
    }

    /// How many references the host holds rooted in this store (see
    /// [`AnyRef::keep`](crate::AnyRef::keep)).
    pub fn gc_rooted(&self) -> usize {
        self.inner.gc_roots.len()
    }

    /// Makes every allocation collect first (for tests of the roots: any
    /// reference the collector missed then points at garbage quickly).
    pub fn gc_stress(&mut self, on: bool) {
        let inner = &mut *self.inner;
        inner.gc().set_stress(&inner.context, on);
    }
}
