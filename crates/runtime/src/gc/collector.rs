//! The collector: a Cheney-style semispace copy.
//!
//! Every root slot is forwarded: an object still in the from-space is
//! copied to the end of the to-space (its old header is overwritten with
//! [`FORWARDED`] and the second word with its new offset) and the slot
//! rewritten to the new offset; an object already copied just gets the
//! slot rewritten. Then the to-space is scanned from its start: each copied
//! object's reference fields are forwarded the same way, which copies what
//! they point to behind it, until the scan catches up with the copying.
//! What was never reached stays behind in the from-space and is gone.
//!
//! References that are not objects (null, `i31ref`s, host values) are left
//! as they are; see `hoist_environ::gc` for the encoding.

use super::heap::GcHeap;
use super::types::GcTypes;
use hoist_environ::gc::{
    ARRAY_ELEMS_OFFSET, ARRAY_LENGTH_OFFSET, GC_ALIGN, KIND_ARRAY, KIND_MASK, TYPE_ID_MASK,
};

/// Header word of an object that has been copied; its second word holds
/// the new offset.
pub const FORWARDED: u32 = 1 << 31;

/// One collection in progress.
pub struct Copier<'a> {
    heap: &'a GcHeap,
    types: &'a GcTypes,
    /// The space being evacuated and how far it was filled.
    from: u32,
    from_start: u32,
    from_end: u32,
    to: u32,
    /// Where the next survivor goes.
    to_next: u32,
    /// How many objects were copied.
    pub copied: u64,
}

impl<'a> Copier<'a> {
    /// A copy from the current space (filled up to `from_end`) to the other.
    pub fn new(heap: &'a GcHeap, types: &'a GcTypes, from_end: u32) -> Copier<'a> {
        let from = heap.current();
        let to = heap.other();
        Copier {
            heap,
            types,
            from,
            from_start: heap.space_start(from),
            from_end,
            to,
            to_next: heap.space_start(to),
            copied: 0,
        }
    }

    /// Where the to-space is filled up to.
    pub fn to_next(&self) -> u32 {
        self.to_next
    }

    /// The from-space range that was in use.
    pub fn from_range(&self) -> (u32, u32) {
        (self.from_start, self.from_end)
    }

    /// The size of the object at `offset` with header `header`.
    ///
    /// # Safety
    /// `offset` must be a live object of this heap.
    unsafe fn object_size(&self, offset: u32, header: u32) -> u32 {
        let Some(trace) = self.types.trace(header & TYPE_ID_MASK) else {
            // Every object's type is in the table (see `super::types`).
            unreachable!("an object of unknown type {header:#x} at {offset:#x}")
        };
        if trace.size != 0 {
            return trace.size;
        }
        // SAFETY: per the contract; arrays have a length word.
        let len = unsafe { self.heap.read_u32(offset + ARRAY_LENGTH_OFFSET) };
        let bytes = u64::from(ARRAY_ELEMS_OFFSET) + u64::from(len) * u64::from(trace.elem_size);
        bytes.next_multiple_of(u64::from(GC_ALIGN)) as u32
    }

    /// The new value of a reference word `raw`: an object's new offset, or
    /// `raw` itself for anything else.
    ///
    /// # Safety
    /// `raw` must be a reference word of this heap's store.
    pub unsafe fn forward(&mut self, raw: u32) -> u32 {
        if raw == 0 || raw & 3 != 0 {
            return raw;
        }
        let from = self.from;
        if !self.heap.in_space(from, raw) || raw >= self.from_end {
            // Already in the to-space (a slot reached twice), or not ours:
            // leave it.
            debug_assert!(self.heap.in_space(self.to, raw), "stray reference {raw:#x}");
            return raw;
        }
        // SAFETY: `raw` is an object in the from-space.
        let header = unsafe { self.heap.read_u32(raw) };
        if header & FORWARDED != 0 {
            // SAFETY: a forwarded object keeps its new offset in word 2.
            return unsafe { self.heap.read_u32(raw + 4) };
        }
        // SAFETY: as above.
        let size = unsafe { self.object_size(raw, header) };
        let new = self.to_next;
        // The to-space is as large as the from-space, which held this and
        // every other survivor: the copy fits.
        debug_assert!(self.heap.in_space(self.to, new + size - GC_ALIGN));
        // SAFETY: both ranges are inside accessible, distinct spaces, and
        // objects are 8-aligned multiples of 8 bytes.
        unsafe {
            let (from, to) = (
                self.heap.at(raw) as *const u64,
                self.heap.at(new) as *mut u64,
            );
            if size <= 64 {
                // Most objects are small: copy words, skip a call.
                for i in 0..(size / 8) as usize {
                    to.add(i).write(from.add(i).read());
                }
            } else {
                std::ptr::copy_nonoverlapping(from, to, (size / 8) as usize);
            }
            self.heap.write_u32(raw, FORWARDED);
            self.heap.write_u32(raw + 4, new);
        }
        self.to_next = new + size;
        self.copied += 1;
        new
    }

    /// Forwards the reference in a root slot (a word zero-extended to 64
    /// bits).
    ///
    /// # Safety
    /// As for [`Copier::forward`].
    pub unsafe fn forward_slot(&mut self, slot: &mut u64) {
        let raw = *slot;
        if raw > u64::from(u32::MAX) {
            // Not a reference word of the any/extern hierarchies; roots
            // are typed, so this does not happen.
            debug_assert!(false, "root slot holds {raw:#x}");
            return;
        }
        // SAFETY: per the contract.
        *slot = u64::from(unsafe { self.forward(raw as u32) });
    }

    /// Forwards the reference field at `offset`.
    ///
    /// # Safety
    /// `offset` must be a reference field of a copied object.
    unsafe fn forward_field(&mut self, offset: u32) {
        // SAFETY: per the contract.
        unsafe {
            let raw = self.heap.read_u32(offset);
            let new = self.forward(raw);
            if new != raw {
                self.heap.write_u32(offset, new);
            }
        }
    }

    /// Scans the to-space from its start until every copied object's
    /// fields are forwarded.
    ///
    /// # Safety
    /// Every root must have been forwarded into the to-space by now.
    pub unsafe fn scan(&mut self) {
        let mut scan = self.heap.space_start(self.to);
        while scan < self.to_next {
            // SAFETY: `scan` walks the copied objects one by one.
            let header = unsafe { self.heap.read_u32(scan) };
            let types = self.types;
            let Some(trace) = types.trace(header & TYPE_ID_MASK) else {
                unreachable!("an object of unknown type {header:#x} at {scan:#x}")
            };
            let size = if trace.size != 0 {
                for &offset in trace.ref_offsets.iter() {
                    // SAFETY: a reference field of a copied object.
                    unsafe { self.forward_field(scan + offset) };
                }
                trace.size
            } else {
                // SAFETY: as above.
                let size = unsafe { self.object_size(scan, header) };
                if trace.elems_traced {
                    debug_assert_eq!(header & KIND_MASK, KIND_ARRAY);
                    // SAFETY: arrays have a length word.
                    let len = unsafe { self.heap.read_u32(scan + ARRAY_LENGTH_OFFSET) };
                    let elems = scan + ARRAY_ELEMS_OFFSET;
                    for i in 0..len {
                        // SAFETY: element `i` of a copied array.
                        unsafe { self.forward_field(elems + 4 * i) };
                    }
                }
                size
            };
            scan += size;
        }
    }
}
