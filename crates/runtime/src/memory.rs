//! Linear memories: a large reservation of address space, of which the
//! first `current_length` bytes are accessible.
//!
//! A 32-bit memory reserves `memory_reservation + memory_guard_size` bytes
//! (4 GiB + 32 MiB by default) up front, inaccessible. Growing makes more of
//! it readable and writable; the base never moves, which is what lets
//! compiled code elide bounds checks (see `hoist_cranelift::bounds_checks`).
//!
//! A 64-bit memory reserves up to `memory64_reservation` (256 GiB by
//! default) and can grow that far; its accesses are always checked
//! explicitly against `current_length`, so the reservation is only how far
//! it can grow. Memories with pages smaller than the OS page (the
//! custom-page-sizes proposal) are checked explicitly too: the accessible
//! region is rounded up to whole OS pages, but code never reads past
//! `current_length`.

use crate::vmcontext::VMMemoryDefinition;
use hoist_environ::{MemoryType, Tunables};
use std::io;

/// The OS page size, to which accessible regions are rounded.
fn os_page() -> usize {
    // SAFETY: sysconf has no preconditions.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

/// One linear memory. Owned by a store; instances point at it.
pub struct LinearMemory {
    /// Read by compiled code through instances' vmctx pointers.
    definition: VMMemoryDefinition,
    reservation: usize,
    max_pages: u64,
    ty: MemoryType,
}

// SAFETY: the memory is plain bytes owned by this object; the raw base
// pointer is only dereferenced by compiled code and by methods that take
// `&self`/`&mut self`, under the store's exclusive access.
unsafe impl Send for LinearMemory {}
// SAFETY: as for `Send`, with every use behind the same exclusive access.
unsafe impl Sync for LinearMemory {}

impl LinearMemory {
    pub fn new(ty: &MemoryType, tunables: &Tunables) -> io::Result<LinearMemory> {
        if ty.shared {
            return Err(io::Error::other(
                "shared memories (the threads proposal) are not supported yet",
            ));
        }
        let max_bytes = ty
            .max_pages()
            .saturating_mul(ty.page_size())
            .min(tunables.max_memory_size.unwrap_or(u64::MAX));
        if ty.initial_bytes() > max_bytes {
            return Err(io::Error::other(format!(
                "the memory's initial size of {} bytes exceeds the limit of {max_bytes} bytes",
                ty.initial_bytes()
            )));
        }
        let usable = if ty.memory64 {
            max_bytes.min(tunables.memory64_reservation)
        } else {
            tunables.memory_reservation.max(max_bytes)
        };
        // Pages past what the reservation holds can never be grown into.
        let max_pages = ty
            .max_pages()
            .min(usable >> ty.page_size_log2)
            .min(max_bytes >> ty.page_size_log2);
        let reservation = usize::try_from(usable + tunables.memory_guard_size)
            .map_err(|_| io::Error::other("memory reservation too large for this host"))?
            .next_multiple_of(os_page());
        // SAFETY: an anonymous private mapping with no access; nothing else
        // refers to the range.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reservation,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mut memory = LinearMemory {
            definition: VMMemoryDefinition {
                base: base as *mut u8,
                current_length: 0,
            },
            reservation,
            max_pages,
            ty: ty.clone(),
        };
        if memory.grow(ty.minimum)?.is_none() {
            return Err(io::Error::other(
                "initial memory size exceeds its maximum or what this host reserves for it",
            ));
        }
        Ok(memory)
    }

    pub fn ty(&self) -> &MemoryType {
        &self.ty
    }

    /// The definition compiled code reads; its address is stable.
    pub fn definition(&mut self) -> *mut VMMemoryDefinition {
        &mut self.definition
    }

    pub fn pages(&self) -> u64 {
        self.definition.current_length as u64 >> self.ty.page_size_log2
    }

    /// Grows by `delta` pages. Returns the old size in pages, or `None`
    /// when the maximum would be exceeded (wasm's -1).
    pub fn grow(&mut self, delta: u64) -> io::Result<Option<u64>> {
        let old = self.pages();
        let Some(new) = old.checked_add(delta).filter(|n| *n <= self.max_pages) else {
            return Ok(None);
        };
        let new_length = (new << self.ty.page_size_log2) as usize;
        if new_length > self.definition.current_length {
            // Whole OS pages; the part past `new_length` of the last one
            // stays zero and unreachable for wasm (explicit bounds checks).
            let page = os_page();
            let start = self.definition.current_length.next_multiple_of(page);
            let end = new_length.next_multiple_of(page);
            if end > start {
                // SAFETY: [start, end) is inside our reservation (end is at
                // most max_pages pages rounded up to an OS page, and the
                // reservation is rounded the same way), which we own.
                let rc = unsafe {
                    libc::mprotect(
                        self.definition.base.add(start) as *mut libc::c_void,
                        end - start,
                        libc::PROT_READ | libc::PROT_WRITE,
                    )
                };
                if rc != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            self.definition.current_length = new_length;
        }
        Ok(Some(old))
    }

    pub fn data(&self) -> &[u8] {
        // SAFETY: the first `current_length` bytes are mapped read+write and
        // owned by this memory.
        unsafe { std::slice::from_raw_parts(self.definition.base, self.definition.current_length) }
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and `&mut self` gives exclusive access.
        unsafe {
            std::slice::from_raw_parts_mut(self.definition.base, self.definition.current_length)
        }
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        // SAFETY: we mapped exactly this range in `new` and nothing uses it
        // after the memory is dropped.
        unsafe {
            libc::munmap(self.definition.base as *mut libc::c_void, self.reservation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_within_its_maximum() {
        let ty = MemoryType {
            minimum: 1,
            maximum: Some(3),
            memory64: false,
            shared: false,
            page_size_log2: 16,
        };
        let mut memory = LinearMemory::new(&ty, &Tunables::default()).unwrap();
        assert_eq!(memory.data().len(), 65536);
        assert_eq!(memory.grow(2).unwrap(), Some(1));
        memory.data_mut()[3 * 65536 - 1] = 7;
        assert_eq!(memory.grow(1).unwrap(), None);
        assert_eq!(memory.pages(), 3);
    }
}
