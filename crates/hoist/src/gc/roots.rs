//! Host-held references: the store's root table.
//!
//! A reference the host holds ([`AnyRef`](crate::AnyRef), a
//! [`StructRef`](crate::StructRef), an internalized
//! [`ExternRef`](crate::ExternRef), ...) is a slot in this table, which the
//! collector treats as a root and rewrites when the object moves. The
//! handle names the slot and the slot's generation, so a handle whose slot
//! was released (and maybe reused) is recognized as stale: it reads as an
//! error, never as another object.
//!
//! Slots are released in LIFO scopes: the handles a host function receives
//! or makes while it runs are released when it returns, unless it
//! [`keep`](crate::AnyRef::keep)s one. Handles made outside any host
//! function (the results of [`Func::call`](crate::Func::call) from the
//! embedder, say) live until [`unroot`](crate::AnyRef::unroot)ed or until
//! the store is dropped.

/// A handle to a root slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RootSlot {
    index: u32,
    generation: u32,
}

struct Entry {
    /// The reference word (see `hoist_environ::gc`).
    value: u64,
    generation: u32,
    live: bool,
    /// Survives the scope it was made in.
    kept: bool,
}

/// The store's root table.
#[derive(Default)]
pub(crate) struct GcRoots {
    slots: Vec<Entry>,
    free: Vec<u32>,
    /// Slots made in the open scopes, in order.
    scope_log: Vec<u32>,
    /// `scope_log`'s length when each open scope began.
    scopes: Vec<usize>,
}

impl GcRoots {
    /// Roots reference word `value`.
    pub(crate) fn root(&mut self, value: u64) -> RootSlot {
        let index = match self.free.pop() {
            Some(index) => {
                let entry = &mut self.slots[index as usize];
                entry.value = value;
                entry.live = true;
                entry.kept = false;
                index
            }
            None => {
                self.slots.push(Entry {
                    value,
                    generation: 0,
                    live: true,
                    kept: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        if !self.scopes.is_empty() {
            self.scope_log.push(index);
        }
        RootSlot {
            index,
            generation: self.slots[index as usize].generation,
        }
    }

    fn entry(&self, slot: RootSlot) -> Option<&Entry> {
        self.slots
            .get(slot.index as usize)
            .filter(|e| e.live && e.generation == slot.generation)
    }

    /// The reference word in `slot`, if the slot is still rooted.
    pub(crate) fn get(&self, slot: RootSlot) -> Option<u64> {
        self.entry(slot).map(|e| e.value)
    }

    /// Whether `slot` is still rooted.
    pub(crate) fn is_live(&self, slot: RootSlot) -> bool {
        self.entry(slot).is_some()
    }

    /// Keeps `slot` past the scope that made it.
    pub(crate) fn keep(&mut self, slot: RootSlot) -> bool {
        if !self.is_live(slot) {
            return false;
        }
        self.slots[slot.index as usize].kept = true;
        true
    }

    /// Releases `slot` (nothing if it is stale).
    pub(crate) fn unroot(&mut self, slot: RootSlot) {
        if self.is_live(slot) {
            self.release(slot.index);
        }
    }

    fn release(&mut self, index: u32) {
        let entry = &mut self.slots[index as usize];
        entry.live = false;
        entry.value = 0;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(index);
    }

    /// Opens a scope; returns its mark for [`GcRoots::exit_scope`].
    pub(crate) fn enter_scope(&mut self) -> usize {
        self.scopes.push(self.scope_log.len());
        self.scope_log.len()
    }

    /// Closes the innermost scope: releases the slots made in it that were
    /// not kept.
    pub(crate) fn exit_scope(&mut self, mark: usize) {
        self.scopes.pop();
        let made: Vec<u32> = self
            .scope_log
            .drain(mark.min(self.scope_log.len())..)
            .collect();
        for index in made {
            let entry = &self.slots[index as usize];
            if entry.live && !entry.kept {
                self.release(index);
            }
        }
    }

    /// Calls `visit` with every rooted reference word.
    pub(crate) fn for_each(&mut self, visit: &mut dyn FnMut(&mut u64)) {
        for entry in self.slots.iter_mut().filter(|e| e.live) {
            visit(&mut entry.value);
        }
    }

    /// Number of rooted slots.
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_release_what_they_made_unless_kept() {
        let mut roots = GcRoots::default();
        let outer = roots.root(8);
        let mark = roots.enter_scope();
        let a = roots.root(16);
        let b = roots.root(24);
        assert!(roots.keep(b));
        roots.exit_scope(mark);
        assert_eq!(roots.get(outer), Some(8));
        assert_eq!(roots.get(a), None, "released with its scope");
        assert_eq!(roots.get(b), Some(24), "kept");
        let c = roots.root(32);
        assert_eq!(roots.get(a), None, "a stale handle stays stale after reuse");
        assert_eq!(roots.get(c), Some(32));
        roots.unroot(b);
        assert_eq!(roots.get(b), None);
        assert_eq!(roots.len(), 2);
    }
}
