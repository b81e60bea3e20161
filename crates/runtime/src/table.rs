//! Tables of references. Every element is one pointer-sized word: a
//! `*const VMFuncRef` for funcref tables, an externref handle otherwise,
//! and 0 for null.

use crate::vmcontext::VMTableDefinition;
use hoist_environ::TableType;

/// The most elements a table may have, whatever its type says.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// One table. Owned by a store; instances point at it.
pub struct Table {
    definition: VMTableDefinition,
    elements: Vec<usize>,
    maximum: u64,
    ty: TableType,
}

// SAFETY: the raw pointer in `definition` points into `elements`, owned here.
unsafe impl Send for Table {}
// SAFETY: as for `Send`, with every use behind the same exclusive access.
unsafe impl Sync for Table {}

impl Table {
    /// A table of `ty.minimum` elements set to `init`, which may grow to
    /// its maximum, [`MAX_TABLE_ELEMENTS`] and `limit`, whichever is least.
    /// `None` when the minimum is already past that.
    pub fn new(ty: &TableType, init: usize, limit: Option<u64>) -> Option<Table> {
        let maximum = ty
            .maximum
            .unwrap_or(u64::from(u32::MAX))
            .min(MAX_TABLE_ELEMENTS)
            .min(limit.unwrap_or(u64::MAX));
        if ty.minimum > maximum {
            return None;
        }
        let mut table = Table {
            definition: VMTableDefinition {
                base: std::ptr::null_mut(),
                current_elements: 0,
            },
            elements: vec![init; ty.minimum as usize],
            maximum,
            ty: ty.clone(),
        };
        table.sync();
        Some(table)
    }

    fn sync(&mut self) {
        self.definition.base = self.elements.as_mut_ptr();
        self.definition.current_elements = self.elements.len() as u32;
    }

    pub fn ty(&self) -> &TableType {
        &self.ty
    }

    /// The definition compiled code reads; its address is stable.
    pub fn definition(&mut self) -> *mut VMTableDefinition {
        &mut self.definition
    }

    pub fn size(&self) -> u32 {
        self.elements.len() as u32
    }

    pub fn get(&self, index: u32) -> Option<usize> {
        self.elements.get(index as usize).copied()
    }

    pub fn set(&mut self, index: u32, value: usize) -> bool {
        match self.elements.get_mut(index as usize) {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// Grows by `delta` elements set to `init`; the old size, or `None`.
    pub fn grow(&mut self, delta: u32, init: usize) -> Option<u32> {
        let old = self.size();
        let new = u64::from(old) + u64::from(delta);
        if new > self.maximum {
            return None;
        }
        self.elements.resize(new as usize, init);
        self.sync();
        Some(old)
    }

    /// `table.fill`: false when out of bounds (nothing is written).
    pub fn fill(&mut self, dst: u32, value: usize, len: u32) -> bool {
        let end = u64::from(dst) + u64::from(len);
        if end > u64::from(self.size()) {
            return false;
        }
        self.elements[dst as usize..end as usize].fill(value);
        true
    }

    pub fn elements(&self) -> &[usize] {
        &self.elements
    }

    pub fn elements_mut(&mut self) -> &mut [usize] {
        &mut self.elements
    }
}
