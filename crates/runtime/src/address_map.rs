//! A module's wasm address map, where its records are and when they are
//! checked: in place in the image if loading read and checked them, or
//! read from the artifact file on first use and checked then (a big
//! artifact's map is left unread at load: CPython's is 8 MB, needed only to
//! name a trap's wasm offsets).

use crate::code_memory::CodeMemory;
use std::ops::Range;
use std::sync::OnceLock;

/// Checks records read on first use (their digest and order); `true` if
/// they may be used.
pub type AddressMapCheck = Box<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// The records (see `hoist_environ::AddressMapRecords`) of one module.
pub struct AddressMap {
    /// Where the records are in the module's image.
    range: Range<usize>,
    /// For records not checked at load: their check.
    check: Option<AddressMapCheck>,
    /// Records read and checked on first use; `None` if they could not be
    /// read or failed the check (then there are no wasm offsets).
    late: OnceLock<Option<Box<[u8]>>>,
}

impl AddressMap {
    /// Records at `range` of the image, already checked.
    pub fn checked(range: Range<usize>) -> AddressMap {
        AddressMap {
            range,
            check: None,
            late: OnceLock::new(),
        }
    }

    /// Records at `range` of the image, which may have been left unread:
    /// read (from the file if so) and checked with `check` on first use.
    pub fn checked_on_use(range: Range<usize>, check: AddressMapCheck) -> AddressMap {
        AddressMap {
            range,
            check: Some(check),
            late: OnceLock::new(),
        }
    }

    /// The records, from `code` (the image they belong to); empty when
    /// there are none or they did not pass their check.
    pub fn records<'a>(&'a self, code: &'a CodeMemory) -> &'a [u8] {
        let Some(check) = &self.check else {
            return code.image().get(self.range.clone()).unwrap_or(&[]);
        };
        if self.late.get().is_none() {
            // Read and checked outside the `OnceLock`: the check may hash
            // on rayon's threads, and a thread that waits for them may be
            // given another backtrace of this module meanwhile. Threads
            // that race here do the same work and keep one result.
            let records = code
                .read_range(self.range.clone())
                .ok()
                .filter(|bytes| check(bytes))
                .map(|bytes| bytes.into_owned().into_boxed_slice());
            let _ = self.late.set(records);
        }
        self.late.get().and_then(Option::as_deref).unwrap_or(&[])
    }

    /// Whether records read on first use could not be read or failed their
    /// check (the file changed since loading): frames then have no wasm
    /// offsets. `false` until they are first used.
    pub fn damaged(&self) -> bool {
        self.check.is_some() && matches!(self.late.get(), Some(None))
    }
}
