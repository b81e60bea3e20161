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
use std::cell::UnsafeCell;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The OS page size, to which accessible regions are rounded.
fn os_page() -> usize {
    // SAFETY: sysconf has no preconditions.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

/// One linear memory. An unshared one is owned by one store; a shared one
/// (the threads proposal) by every store that imports it, on any thread.
/// Instances point at it.
///
/// The base never moves. The length only grows, under `grow_lock`, and is
/// published with a release store after the new pages are accessible, so
/// a thread that sees the new length (compiled code's bounds checks, or
/// [`LinearMemory::byte_size`]) can use the pages; one that sees the old
/// length only refuses accesses it could have made.
pub struct LinearMemory {
    /// Read by compiled code through instances' vmctx pointers.
    definition: UnsafeCell<VMMemoryDefinition>,
    reservation: usize,
    max_pages: u64,
    ty: MemoryType,
    grow_lock: Mutex<()>,
}

// SAFETY: the memory is plain bytes owned by this object, reached through
// a base pointer that never changes; its length is read and written
// atomically (see the type's documentation) and grown under a lock.
unsafe impl Send for LinearMemory {}
// SAFETY: as for `Send`: nothing in it is changed without the lock or an
// atomic access.
unsafe impl Sync for LinearMemory {}

impl LinearMemory {
    pub fn new(ty: &MemoryType, tunables: &Tunables) -> io::Result<LinearMemory> {
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
        let memory = LinearMemory {
            definition: UnsafeCell::new(VMMemoryDefinition {
                base: base as *mut u8,
                current_length: 0,
            }),
            reservation,
            max_pages,
            ty: ty.clone(),
            grow_lock: Mutex::new(()),
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
    pub fn definition(&self) -> *mut VMMemoryDefinition {
        self.definition.get()
    }

    /// Whether other threads may use this memory at the same time.
    pub fn is_shared(&self) -> bool {
        self.ty.shared
    }

    /// The first byte; it never moves.
    pub fn base(&self) -> *mut u8 {
        // SAFETY: `base` is written once, in `new`, before any sharing.
        unsafe { (*self.definition.get()).base }
    }

    /// The accessible length in bytes (a whole number of wasm pages).
    pub fn byte_size(&self) -> usize {
        // SAFETY: the field is a live, aligned usize; every write to it is
        // the atomic store in `grow`.
        let length =
            unsafe { AtomicUsize::from_ptr(&raw mut (*self.definition.get()).current_length) };
        length.load(Ordering::Acquire)
    }

    pub fn pages(&self) -> u64 {
        self.byte_size() as u64 >> self.ty.page_size_log2
    }

    /// Grows by `delta` pages. Returns the old size in pages, or `None`
    /// when the maximum would be exceeded (wasm's -1). Safe to call from
    /// several threads at once on a shared memory: one grows at a time.
    pub fn grow(&self, delta: u64) -> io::Result<Option<u64>> {
        let _grow = self.grow_lock.lock().unwrap_or_else(|e| e.into_inner());
        let old_length = self.byte_size();
        let old = old_length as u64 >> self.ty.page_size_log2;
        let Some(new) = old.checked_add(delta).filter(|n| *n <= self.max_pages) else {
            return Ok(None);
        };
        let new_length = (new << self.ty.page_size_log2) as usize;
        if new_length > old_length {
            // Whole OS pages; the part past `new_length` of the last one
            // stays zero and unreachable for wasm (explicit bounds checks).
            let page = os_page();
            let start = old_length.next_multiple_of(page);
            let end = new_length.next_multiple_of(page);
            if end > start {
                // SAFETY: [start, end) is inside our reservation (end is at
                // most max_pages pages rounded up to an OS page, and the
                // reservation is rounded the same way), which we own; no
                // one can reach these bytes before the length says so.
                let rc = unsafe {
                    libc::mprotect(
                        self.base().add(start) as *mut libc::c_void,
                        end - start,
                        libc::PROT_READ | libc::PROT_WRITE,
                    )
                };
                if rc != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            // SAFETY: as in `byte_size`; we hold the grow lock, so this is
            // the only writer.
            let length =
                unsafe { AtomicUsize::from_ptr(&raw mut (*self.definition.get()).current_length) };
            length.store(new_length, Ordering::Release);
        }
        Ok(Some(old))
    }

    /// The accessible bytes.
    ///
    /// # Safety
    /// For an unshared memory, nothing may write the bytes while the slice
    /// lives (its store is borrowed). A shared memory's bytes may be written
    /// by other threads' wasm code at any time, as the threads proposal
    /// allows: use the slice only to copy bytes out, never to check a value
    /// and then rely on it.
    pub unsafe fn data(&self) -> &[u8] {
        // SAFETY: the first `byte_size` bytes are mapped read+write, owned
        // by this memory, and stay mapped while it lives.
        unsafe { std::slice::from_raw_parts(self.base(), self.byte_size()) }
    }

    /// The accessible bytes, to write.
    ///
    /// # Safety
    /// For an unshared memory, no other reference to the bytes may live
    /// while this one does (its store is borrowed mutably). For a shared
    /// memory, as for [`LinearMemory::data`]: copy in or out only.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn data_mut(&self) -> &mut [u8] {
        // SAFETY: as in `data`; exclusivity is the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.base(), self.byte_size()) }
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        // SAFETY: we mapped exactly this range in `new` and nothing uses it
        // after the memory is dropped.
        unsafe {
            libc::munmap(self.base() as *mut libc::c_void, self.reservation);
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
        let memory = LinearMemory::new(&ty, &Tunables::default()).unwrap();
        assert_eq!(memory.byte_size(), 65536);
        assert_eq!(memory.grow(2).unwrap(), Some(1));
        // SAFETY: the memory is this test's alone.
        unsafe { memory.data_mut()[3 * 65536 - 1] = 7 };
        assert_eq!(memory.grow(1).unwrap(), None);
        assert_eq!(memory.pages(), 3);
    }
}
