//! The GC heap's memory: one reservation holding two semispaces, of which
//! one (the current space) holds the objects and takes allocations, and
//! the other receives the survivors of the next collection.
//!
//! ```text
//! base
//! | guard (64 KiB) | space 0: capacity committed, rest reserved | space 1: likewise |
//! ```
//!
//! Objects are named by their offset from `base`, so no object is at offset
//! 0 (null) and every offset fits in 32 bits. Each space reserves
//! `max` bytes of address space up front (inaccessible); `capacity` bytes
//! of both are made accessible, and capacity grows (never past `max`) when
//! a collection leaves too little room. Nothing moves the reservation, so
//! compiled code may keep the base for as long as it likes.
//!
//! Allocation bumps a pointer: `next` is where the next object goes and
//! `limit` the end of the current space's capacity. Both live in the
//! store context, where compiled code reads and advances them inline; the
//! heap only takes over when an allocation does not fit (see
//! [`super::GcStore::alloc`]).

use hoist_environ::MAX_GC_HEAP_LIMIT;
use std::io;

/// Bytes at the start of the reservation that are never an object, so
/// offset 0 stays null and small offsets fault.
pub const GUARD: u32 = 64 << 10;
/// The capacity a heap starts with.
pub const INITIAL_CAPACITY: u32 = 1 << 20;

fn os_page() -> u32 {
    // SAFETY: sysconf has no preconditions.
    u32::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

/// A heap's reservation and its two spaces.
pub struct GcHeap {
    base: *mut u8,
    /// Bytes of the whole reservation.
    len: usize,
    /// Bytes reserved per space: the most a space can hold.
    max: u32,
    /// Bytes of each space that are accessible.
    capacity: u32,
    /// Which space is current (0 or 1).
    current: u32,
}

// SAFETY: the heap is plain memory owned by its store, used by one thread
// at a time with the store.
unsafe impl Send for GcHeap {}

impl GcHeap {
    /// Reserves a heap whose spaces may grow to `max` bytes each.
    pub fn new(max: u64) -> io::Result<GcHeap> {
        let page = os_page();
        let max = max.clamp(u64::from(page), MAX_GC_HEAP_LIMIT) as u32;
        let max = max.next_multiple_of(page);
        let len = GUARD as usize + 2 * max as usize;
        // SAFETY: an anonymous private mapping with no access; nothing else
        // refers to the range.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mut heap = GcHeap {
            base: base as *mut u8,
            len,
            max,
            capacity: 0,
            current: 0,
        };
        heap.grow_to(INITIAL_CAPACITY.min(max))?;
        Ok(heap)
    }

    /// The reservation's start: offsets are from here.
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    /// The most bytes a space can hold.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The bytes a space holds now.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Where space `i` starts.
    pub fn space_start(&self, i: u32) -> u32 {
        GUARD + i * self.max
    }

    /// Where the current space starts.
    pub fn current_start(&self) -> u32 {
        self.space_start(self.current)
    }

    /// The end of the current space's capacity: the allocation limit.
    pub fn current_limit(&self) -> u32 {
        self.current_start() + self.capacity
    }

    /// The current space (0 or 1).
    pub fn current(&self) -> u32 {
        self.current
    }

    /// The space survivors go to.
    pub fn other(&self) -> u32 {
        1 - self.current
    }

    /// Makes the other space current (after a collection copied into it).
    pub fn flip(&mut self) {
        self.current = self.other();
    }

    /// Whether `offset` is inside space `i`'s capacity.
    pub fn in_space(&self, i: u32, offset: u32) -> bool {
        let start = self.space_start(i);
        offset >= start && offset - start < self.capacity
    }

    /// Makes both spaces `capacity` bytes (rounded up to pages, at most
    /// `max`) accessible; never shrinks.
    pub fn grow_to(&mut self, capacity: u32) -> io::Result<()> {
        let capacity = capacity.next_multiple_of(os_page()).min(self.max);
        if capacity <= self.capacity {
            return Ok(());
        }
        for space in 0..2 {
            let start = self.space_start(space) as usize;
            // SAFETY: the range lies inside our reservation.
            let rc = unsafe {
                libc::mprotect(
                    self.base.add(start) as *mut libc::c_void,
                    capacity as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        self.capacity = capacity;
        Ok(())
    }

    /// Gives the pages of `[start, end)` back to the OS (they read as zero
    /// afterwards); the range stays accessible.
    pub fn release(&mut self, start: u32, end: u32) {
        let page = os_page();
        let (start, end) = (start.next_multiple_of(page), end.next_multiple_of(page));
        if end <= start {
            return;
        }
        // SAFETY: the range is inside our reservation and holds no live
        // object (the caller's contract: it is the space just evacuated).
        unsafe {
            libc::madvise(
                self.base.add(start as usize) as *mut libc::c_void,
                (end - start) as usize,
                libc::MADV_DONTNEED,
            );
        }
    }

    /// The address of `offset`, which must be inside the reservation.
    pub fn at(&self, offset: u32) -> *mut u8 {
        debug_assert!((offset as usize) < self.len);
        // SAFETY: inside the reservation (the caller's contract).
        unsafe { self.base.add(offset as usize) }
    }

    /// Reads the u32 at `offset` (inside an accessible space).
    ///
    /// # Safety
    /// `offset` must be 4-byte aligned and inside an accessible space.
    pub unsafe fn read_u32(&self, offset: u32) -> u32 {
        // SAFETY: per the contract.
        unsafe { (self.at(offset) as *const u32).read() }
    }

    /// Writes the u32 at `offset`.
    ///
    /// # Safety
    /// As for [`GcHeap::read_u32`].
    pub unsafe fn write_u32(&self, offset: u32, value: u32) {
        // SAFETY: per the contract.
        unsafe { (self.at(offset) as *mut u32).write(value) }
    }
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`; nothing uses it any more (the
        // store that owned it is being dropped).
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}
