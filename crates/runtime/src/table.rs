//! Tables of references. Every element is one pointer-sized word: a
//! `*const VMFuncRef` for funcref tables, an externref handle otherwise,
//! and 0 for null.
//!
//! A table's elements are host memory the guest chooses the size of, so
//! besides each table's own maximum, all the tables of a store draw on one
//! [`TableBudget`]: a module cannot multiply the per-table cap by declaring
//! thousands of tables.

use crate::vmcontext::VMTableDefinition;
use hoist_environ::TableType;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The most elements a table may have, whatever its type says.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// Why a table could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableError {
    /// Its minimum is past its maximum, [`MAX_TABLE_ELEMENTS`] or the
    /// limit on table elements.
    OverMaximum { minimum: u64, maximum: u64 },
    /// Its minimum is more than the store's tables have left.
    OverBudget { minimum: u64, remaining: u64 },
    /// The host could not allocate the elements.
    OutOfMemory { minimum: u64 },
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableError::OverMaximum { minimum, maximum } => write!(
                f,
                "a table of {minimum} elements exceeds its maximum or the limit on \
                 table elements ({maximum})"
            ),
            TableError::OverBudget { minimum, remaining } => write!(
                f,
                "a table of {minimum} elements exceeds what the store's tables may \
                 still hold ({remaining} elements; -W max-total-table-elements)"
            ),
            TableError::OutOfMemory { minimum } => {
                write!(f, "out of host memory for a table of {minimum} elements")
            }
        }
    }
}

impl std::error::Error for TableError {}

/// The elements all the tables of one store may hold together. A table
/// takes its elements from here when it is made or grows and gives them
/// back when it is dropped.
#[derive(Debug)]
pub struct TableBudget {
    remaining: AtomicU64,
}

impl TableBudget {
    /// A budget of `elements` elements.
    pub fn new(elements: u64) -> Arc<TableBudget> {
        Arc::new(TableBudget {
            remaining: AtomicU64::new(elements),
        })
    }

    /// The elements not yet taken.
    pub fn remaining(&self) -> u64 {
        self.remaining.load(Ordering::Acquire)
    }

    /// Takes `elements`, or nothing and false when fewer remain.
    fn take(&self, elements: u64) -> bool {
        self.remaining
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(elements)
            })
            .is_ok()
    }

    fn give(&self, elements: u64) {
        self.remaining.fetch_add(elements, Ordering::AcqRel);
    }
}

/// One table. Owned by a store; instances point at it.
pub struct Table {
    definition: VMTableDefinition,
    elements: Vec<usize>,
    maximum: u64,
    ty: TableType,
    budget: Arc<TableBudget>,
}

// SAFETY: the raw pointer in `definition` points into `elements`, owned here.
unsafe impl Send for Table {}
// SAFETY: as for `Send`, with every use behind the same exclusive access.
unsafe impl Sync for Table {}

impl Table {
    /// A table of `ty.minimum` elements set to `init`, which may grow to
    /// its maximum, [`MAX_TABLE_ELEMENTS`] and `limit`, whichever is least,
    /// as long as `budget` lasts.
    pub fn new(
        ty: &TableType,
        init: usize,
        limit: Option<u64>,
        budget: &Arc<TableBudget>,
    ) -> Result<Table, TableError> {
        let maximum = ty
            .maximum
            .unwrap_or(u64::from(u32::MAX))
            .min(MAX_TABLE_ELEMENTS)
            .min(limit.unwrap_or(u64::MAX));
        let minimum = ty.minimum;
        if minimum > maximum {
            return Err(TableError::OverMaximum { minimum, maximum });
        }
        if !budget.take(minimum) {
            let remaining = budget.remaining();
            return Err(TableError::OverBudget { minimum, remaining });
        }
        let mut elements = Vec::new();
        if elements.try_reserve_exact(minimum as usize).is_err() {
            budget.give(minimum);
            return Err(TableError::OutOfMemory { minimum });
        }
        elements.resize(minimum as usize, init);
        let mut table = Table {
            definition: VMTableDefinition {
                base: std::ptr::null_mut(),
                current_elements: 0,
            },
            elements,
            maximum,
            ty: ty.clone(),
            budget: Arc::clone(budget),
        };
        table.sync();
        Ok(table)
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

    /// Grows by `delta` elements set to `init`; the old size, or `None`
    /// (nothing changed) past the maximum, the store's budget or the host's
    /// memory.
    pub fn grow(&mut self, delta: u32, init: usize) -> Option<u32> {
        let old = self.size();
        let new = u64::from(old) + u64::from(delta);
        if new > self.maximum || !self.budget.take(u64::from(delta)) {
            return None;
        }
        if self.elements.try_reserve_exact(delta as usize).is_err() {
            self.budget.give(u64::from(delta));
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

impl Drop for Table {
    fn drop(&mut self) {
        self.budget.give(self.elements.len() as u64);
    }
}
