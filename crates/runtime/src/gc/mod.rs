//! Garbage collection for the GC proposal: a store's heap of structs and
//! arrays, allocation, and a precise, moving collector.
//!
//! # The algorithm: semispace copying (Cheney)
//!
//! The heap is two equal spaces; objects live in one, allocation bumps a
//! pointer through it, and when it is full the collector copies everything
//! reachable into the other space and swaps them ([`collector`]). Chosen
//! because:
//!
//! - allocation is a pointer bump compiled inline (a compare and an add), the
//!   fast path for languages that allocate as much as GC'd ones do;
//! - the cost of a collection is proportional to what survives, not to the
//!   garbage, and garbage-heavy programs (the common case) pay little;
//! - it needs no write barriers (wasm stores into objects stay plain
//!   stores), no free lists, and it compacts: no fragmentation;
//! - cycles are collected like everything else.
//!
//! The price is memory: the heap needs a second space as large as the
//! first to copy into (reserved address space always; memory only while
//! collecting, for all but the first 64 MiB of each space: the evacuated
//! space's pages beyond those go back to the OS afterwards),
//! and surviving objects are copied each time. A mark-compact collector
//! would halve the reservation at the cost of several passes over the heap
//! per collection; for the heap sizes wasm programs use, copying wins.
//!
//! # Roots
//!
//! Precise: Cranelift stack maps for wasm frames ([`roots`]); every global,
//! table and passive element segment whose type is a traced reference, and
//! the host's rooted handles (the store enumerates those through the
//! callback it installs, [`GcStore::set_roots`]); the payloads of live
//! exceptions; and whatever the caller of an allocation holds (`extra`).
//! Only references in the `any` and `extern` hierarchies are traced
//! (`hoist_environ::gc` has the encoding).
//!
//! # Limits
//!
//! A space grows (up to the store's maximum, `--max-gc-heap`) to three
//! times what survived a collection, when that is more than it holds, so
//! the mutator gets at least twice the live data to allocate in between
//! collections (each collection then costs at most half a byte copied per
//! byte allocated); an allocation that does
//! not fit after a full collection at the maximum fails, and compiled code
//! traps with "out of GC heap memory".

pub mod builtins;
pub mod collector;
pub mod consts;
pub mod heap;
pub mod object;
pub mod roots;
pub mod types;

use crate::vmcontext::VMStoreContext;
use collector::Copier;
use heap::GcHeap;
pub use roots::Frames;
use types::GcTypes;

/// Bytes of each space that stay resident after a collection evacuated it
/// (the rest is given back to the OS).
pub const KEEP_RESIDENT: u32 = 64 << 20;

/// Visits every root slot the store holds (see [`GcStore::set_roots`]).
pub type GcTraceFn = unsafe fn(*mut u8, &mut dyn FnMut(&mut u64));

/// Counters of a store's collector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Collections so far.
    pub collections: u64,
    /// Objects copied by all collections.
    pub objects_copied: u64,
    /// Bytes of live objects after the last collection.
    pub live_bytes: u64,
    /// The bytes each space holds now.
    pub capacity: u64,
    /// The largest capacity the heap had.
    pub peak_capacity: u64,
}

/// A store's GC state that compiled code does not see: the heap, the
/// type table and where roots are.
pub struct GcStore {
    heap: Option<GcHeap>,
    /// The engine's types as far as this store knows them.
    pub types: GcTypes,
    max: u64,
    /// Where the frames of every activation interrupted by a nested entry
    /// into wasm start (`(fp, pc)`, fp 0: none), outermost first.
    activations: Vec<(usize, usize)>,
    /// Where the innermost activation's frames start while it calls the
    /// host: the wasm-to-host trampoline's frame (`(fp, pc)`).
    last_exit: (usize, usize),
    roots: Option<(GcTraceFn, *mut u8)>,
    stats: GcStats,
    /// Collect before every allocation that takes the slow path, and make
    /// every allocation take it (for tests of the roots).
    stress: bool,
}

impl Default for GcStore {
    fn default() -> Self {
        GcStore {
            heap: None,
            types: GcTypes::default(),
            max: hoist_environ::DEFAULT_MAX_GC_HEAP,
            activations: Vec::new(),
            last_exit: (0, 0),
            roots: None,
            stats: GcStats::default(),
            stress: false,
        }
    }
}

// SAFETY: the roots pointer names the store that owns this state, which
// moves between threads only as a whole.
unsafe impl Send for GcStore {}

/// Why an allocation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocError {
    /// The heap is at its maximum and full of live objects.
    OutOfMemory,
}

impl GcStore {
    /// Sets the most bytes of objects the heap may hold (before it exists).
    pub fn set_max(&mut self, max: u64) {
        self.max = max;
    }

    /// The maximum set by [`GcStore::set_max`].
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Installs the store's root enumerator: `f(data, visit)` must call
    /// `visit` with every slot outside wasm stacks that holds a traced
    /// reference.
    pub fn set_roots(&mut self, f: GcTraceFn, data: *mut u8) {
        self.roots = Some((f, data));
    }

    /// Makes every allocation take the slow path and collect (tests).
    pub fn set_stress(&mut self, ctx: &VMStoreContext, on: bool) {
        self.stress = on;
        self.publish(ctx);
    }

    /// The collector's counters.
    pub fn stats(&self) -> GcStats {
        let mut stats = self.stats;
        stats.capacity = self.heap.as_ref().map_or(0, |h| u64::from(h.capacity()));
        stats
    }

    /// The heap, once something was allocated.
    pub fn heap(&self) -> Option<&GcHeap> {
        self.heap.as_ref()
    }

    /// Records where wasm called the host: the trampoline's frame pointer
    /// and the return address into it. Returns the previous record, to
    /// restore when the host call returns.
    pub fn enter_host(&mut self, fp: usize, pc: usize) -> (usize, usize) {
        std::mem::replace(&mut self.last_exit, (fp, pc))
    }

    /// Restores the record saved by [`GcStore::enter_host`].
    pub fn leave_host(&mut self, saved: (usize, usize)) {
        self.last_exit = saved;
    }

    /// Called when the host enters wasm: the running activation (if any)
    /// is interrupted at its current exit.
    pub fn enter_wasm(&mut self) {
        let exit = std::mem::take(&mut self.last_exit);
        self.activations.push(exit);
    }

    /// Called when an entry into wasm returns (normally or by a trap).
    pub fn leave_wasm(&mut self) {
        self.last_exit = self.activations.pop().unwrap_or((0, 0));
    }

    /// Publishes the type table to compiled code after types were added.
    pub fn publish_types(&self, ctx: &VMStoreContext) {
        // SAFETY: the store's thread owns the context; compiled code of
        // the store is not running (the host is).
        unsafe { *ctx.gc_types.get() = self.types.entries_ptr() };
    }

    /// Writes base and allocation limit where compiled code reads them.
    fn publish(&self, ctx: &VMStoreContext) {
        // SAFETY: as in `publish_types`.
        unsafe {
            match &self.heap {
                Some(heap) => {
                    *ctx.gc_heap_base.get() = heap.base();
                    // Under stress every allocation takes the slow path.
                    *ctx.gc_limit.get() = if self.stress {
                        0
                    } else {
                        u64::from(heap.current_limit())
                    };
                }
                None => {
                    *ctx.gc_heap_base.get() = std::ptr::null_mut();
                    *ctx.gc_next.get() = 0;
                    *ctx.gc_limit.get() = 0;
                }
            }
        }
    }

    /// Allocates `size` bytes (a multiple of 8) for an object; the caller
    /// writes its header and fields before anything else can allocate.
    /// Collects (and grows the heap) when the current space is full.
    /// `frames` says where the innermost wasm frames are; `extra` are
    /// further roots the caller holds (updated if objects move).
    ///
    /// # Safety
    /// `ctx` must be this state's store context, `frames` describe the
    /// live frames of this thread (see [`Frames`]), and every reference
    /// the caller keeps across this call must be in `extra` or a root the
    /// store enumerates.
    pub unsafe fn alloc(
        &mut self,
        ctx: &VMStoreContext,
        size: u32,
        frames: Frames,
        extra: &mut [u64],
    ) -> Result<u32, AllocError> {
        if self.heap.is_none() {
            let heap = GcHeap::new(self.max).map_err(|_| AllocError::OutOfMemory)?;
            // SAFETY: as in `publish_types`.
            unsafe { *ctx.gc_next.get() = u64::from(heap.current_start()) };
            self.heap = Some(heap);
            self.stats.peak_capacity = self.stats.peak_capacity.max(self.capacity());
            self.publish(ctx);
        }
        if !self.stress {
            if let Some(offset) = self.bump(ctx, size) {
                return Ok(offset);
            }
        }
        // SAFETY: per the contract.
        unsafe { self.collect(ctx, frames, extra) };
        self.make_room(ctx, size);
        self.bump(ctx, size).ok_or(AllocError::OutOfMemory)
    }

    fn capacity(&self) -> u64 {
        self.heap.as_ref().map_or(0, |h| u64::from(h.capacity()))
    }

    /// Takes `size` bytes from the current space if they fit.
    fn bump(&mut self, ctx: &VMStoreContext, size: u32) -> Option<u32> {
        let heap = self.heap.as_ref()?;
        // SAFETY: as in `publish_types`.
        let next = unsafe { &mut *ctx.gc_next.get() };
        let end = *next + u64::from(size);
        if end > u64::from(heap.current_limit()) {
            return None;
        }
        let offset = *next as u32;
        *next = end;
        Some(offset)
    }

    /// After a collection: grows the spaces when the survivors fill more
    /// than a third of one, or when `size` more bytes would not fit.
    fn make_room(&mut self, ctx: &VMStoreContext, size: u32) {
        let Some(heap) = self.heap.as_mut() else {
            return;
        };
        // SAFETY: as in `publish_types`.
        let next = unsafe { *ctx.gc_next.get() };
        let live = next - u64::from(heap.current_start());
        let wanted = (3 * live).max(live + u64::from(size));
        let capacity = u64::from(heap.capacity());
        if wanted > capacity {
            // In whole MiB, so a slowly growing live set does not grow the
            // heap (and change its protection) a page at a time.
            let target = wanted.next_multiple_of(1 << 20).min(u64::from(heap.max()));
            // A failed mprotect leaves the capacity as it was: the
            // allocation then fails as out of memory.
            let _ = heap.grow_to(target as u32);
            self.stats.peak_capacity = self.stats.peak_capacity.max(self.capacity());
            self.publish(ctx);
        }
    }

    /// A full collection.
    ///
    /// # Safety
    /// As for [`GcStore::alloc`].
    pub unsafe fn collect(&mut self, ctx: &VMStoreContext, frames: Frames, extra: &mut [u64]) {
        let Some(heap) = self.heap.as_mut() else {
            return;
        };
        // SAFETY: as in `publish_types`.
        let from_end = unsafe { *ctx.gc_next.get() } as u32;
        let mut copier = Copier::new(heap, &self.types, from_end);
        {
            let mut visit = |slot: &mut u64| {
                // SAFETY: every slot visited holds a reference word of this
                // store (the roots are typed).
                unsafe { copier.forward_slot(slot) }
            };
            // SAFETY: per the contract, the frames are live and suspended
            // in calls; exit frames were recorded by live shims.
            unsafe {
                match frames {
                    Frames::Wasm { fp, pc } => roots::trace_frames(fp, pc, &mut visit),
                    Frames::Host if self.last_exit.0 != 0 => {
                        let (fp, pc) = self.last_exit;
                        roots::trace_frames(fp, pc, &mut visit);
                    }
                    Frames::Host => {}
                }
                for &(fp, pc) in self.activations.iter().rev() {
                    if fp != 0 {
                        roots::trace_frames(fp, pc, &mut visit);
                    }
                }
            }
            if let Some((f, data)) = self.roots {
                // SAFETY: the store installed this function for itself.
                unsafe { f(data, &mut visit) };
            }
            // SAFETY: the exception heap is the store's; nothing else
            // uses it during a collection.
            unsafe { (*ctx.exn_heap.get()).for_each_gc_ref(&mut visit) };
            for slot in extra.iter_mut() {
                visit(slot);
            }
        }
        // SAFETY: every root was forwarded.
        unsafe { copier.scan() };
        let to_next = copier.to_next();
        let (from_start, from_end) = copier.from_range();
        self.stats.collections += 1;
        self.stats.objects_copied += copier.copied;
        heap.flip();
        self.stats.live_bytes = u64::from(to_next - heap.current_start());
        // The evacuated space's pages go back to the OS, except its first
        // `KEEP_RESIDENT` bytes: a small heap is cheaper to keep than to
        // fault in again after every collection.
        heap.release(from_start.saturating_add(KEEP_RESIDENT), from_end);
        // SAFETY: as in `publish_types`.
        unsafe { *ctx.gc_next.get() = u64::from(to_next) };
        self.publish(ctx);
    }

    /// Calls `mark` with every word of the current space's objects: the
    /// exception collector's conservative view of exception handles kept
    /// in GC objects.
    pub fn for_each_word(&self, ctx: &VMStoreContext, mark: &mut dyn FnMut(u64)) {
        let Some(heap) = &self.heap else {
            return;
        };
        // SAFETY: as in `publish_types`.
        let next = unsafe { *ctx.gc_next.get() } as u32;
        let mut at = heap.current_start();
        while at + 8 <= next {
            // SAFETY: inside the current space's used part, aligned.
            mark(unsafe { (heap.at(at) as *const u64).read() });
            at += 8;
        }
    }
}
