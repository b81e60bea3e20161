//! Exception objects (the exception-handling proposal's `exnref`s) and
//! their collector.
//!
//! A thrown exception is an object in its store's [`ExnHeap`]: the tag it
//! was thrown with and a copy of its payload. Wasm holds it as a handle,
//! `(generation << 32) | (slot + 1)`: the generation is random per slot and
//! changes whenever the slot is reused, so a stale handle never names a
//! newer object, and a random word almost never looks like a live handle.
//!
//! That last property is what the collector relies on: it is
//! *conservative*. Handles can live in wasm locals and operand stacks,
//! globals, tables and other exceptions' payloads; instead of stack maps, a
//! collection treats every aligned word of the wasm stack of the current
//! activation, every global and table slot of the store, and every payload
//! word of a marked object as a possible handle, marks what matches, and
//! frees the rest. A false match only keeps an object alive a little
//! longer; a real handle is always found, because compiled code keeps no
//! reference only in a register across the calls that allocate (the
//! allocating helper spills callee-saved registers onto the scanned stack).
//!
//! Collections run when the number of live objects doubles (and at least
//! [`MIN_THRESHOLD`] were made), only while the store has one activation on
//! the thread (an outer activation's frames are not scanned). The heap is
//! capped at [`MAX_OBJECTS`] live objects: a guest that keeps more alive
//! gets an error, not an unbounded host allocation.

use crate::vmcontext::{VMTagDefinition, ValRaw};

/// Collections start once this many objects were made.
pub const MIN_THRESHOLD: usize = 1024;
/// The most exception objects a store keeps alive at once.
pub const MAX_OBJECTS: usize = 1 << 20;
/// The most payload values one exception carries (a tag's parameter count
/// is validated to be far smaller; this bounds the copy).
pub const MAX_PAYLOAD: usize = 1000;

/// One exception.
pub struct ExnObject {
    pub tag: *const VMTagDefinition,
    pub payload: Box<[ValRaw]>,
    /// Which payload values are references the GC traces (the GC
    /// proposal's collector rewrites them when objects move).
    pub gc_refs: Box<[u16]>,
}

struct Slot {
    generation: u32,
    object: Option<ExnObject>,
    marked: bool,
}

/// A store's exception objects.
pub struct ExnHeap {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    threshold: usize,
    /// xorshift state for generations.
    rng: u64,
}

impl Default for ExnHeap {
    fn default() -> Self {
        // Address-space randomization is enough entropy for generations;
        // they only need to be unpredictable to words on the stack.
        let seed = &MIN_THRESHOLD as *const usize as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
        ExnHeap {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            threshold: MIN_THRESHOLD,
            rng: seed | 1,
        }
    }
}

impl ExnHeap {
    fn next_generation(&mut self) -> u32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        // Never zero, so a handle's high word is never zero.
        (self.rng as u32) | 1
    }

    /// Whether the next allocation should collect first.
    pub fn wants_collection(&self) -> bool {
        self.live >= self.threshold
    }

    /// Stores `object`; its handle, or `None` when [`MAX_OBJECTS`] are alive.
    pub fn alloc(&mut self, object: ExnObject) -> Option<u64> {
        if self.live >= MAX_OBJECTS {
            return None;
        }
        let generation = self.next_generation();
        let index = match self.free.pop() {
            Some(index) => {
                let slot = &mut self.slots[index as usize];
                slot.generation = generation;
                slot.object = Some(object);
                index
            }
            None => {
                self.slots.push(Slot {
                    generation,
                    object: Some(object),
                    marked: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.live += 1;
        Some(handle(generation, index))
    }

    /// The object behind `handle`, if it is a live handle of this heap.
    pub fn get(&self, handle: u64) -> Option<&ExnObject> {
        let index = self.slot_of(handle)?;
        self.slots[index].object.as_ref()
    }

    fn slot_of(&self, handle: u64) -> Option<usize> {
        let index = (handle as u32).checked_sub(1)? as usize;
        let slot = self.slots.get(index)?;
        (slot.object.is_some() && slot.generation == (handle >> 32) as u32).then_some(index)
    }

    /// Marks the object `word` names (if it names one) and what its
    /// payload names, transitively.
    fn mark(&mut self, word: u64, stack: &mut Vec<usize>) {
        if let Some(index) = self.slot_of(word) {
            if !self.slots[index].marked {
                self.slots[index].marked = true;
                stack.push(index);
            }
        }
    }

    /// A conservative mark-and-sweep collection. `roots` calls its
    /// argument with every word that may be a handle.
    pub fn collect(&mut self, roots: impl FnOnce(&mut dyn FnMut(u64))) {
        let mut stack = Vec::new();
        roots(&mut |word| self.mark(word, &mut stack));
        while let Some(index) = stack.pop() {
            let words: Vec<u64> = self.slots[index]
                .object
                .as_ref()
                .map(|o| {
                    o.payload
                        .iter()
                        .flat_map(|v| [v.0 as u64, (v.0 >> 64) as u64])
                        .collect()
                })
                .unwrap_or_default();
            for word in words {
                self.mark(word, &mut stack);
            }
        }
        self.live = 0;
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if slot.object.is_none() {
                continue;
            }
            if std::mem::take(&mut slot.marked) {
                self.live += 1;
            } else {
                slot.object = None;
                self.free.push(index as u32);
            }
        }
        self.threshold = (2 * self.live).max(MIN_THRESHOLD);
    }

    /// Calls `visit` with every payload value of a live exception that is
    /// a reference the GC traces (a GC root).
    pub fn for_each_gc_ref(&mut self, visit: &mut dyn FnMut(&mut u64)) {
        for slot in &mut self.slots {
            let Some(object) = &mut slot.object else {
                continue;
            };
            for &i in object.gc_refs.iter() {
                if let Some(value) = object.payload.get_mut(usize::from(i)) {
                    let mut word = value.0 as u64;
                    visit(&mut word);
                    value.0 = u128::from(word);
                }
            }
        }
    }

    /// Number of live objects.
    pub fn live(&self) -> usize {
        self.live
    }
}

fn handle(generation: u32, index: u32) -> u64 {
    (u64::from(generation) << 32) | u64::from(index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(payload: &[u128]) -> ExnObject {
        ExnObject {
            tag: std::ptr::null(),
            payload: payload.iter().map(|v| ValRaw(*v)).collect(),
            gc_refs: Box::new([]),
        }
    }

    #[test]
    fn handles_name_one_object_and_go_stale() {
        let mut heap = ExnHeap::default();
        let a = heap.alloc(object(&[7])).unwrap();
        let b = heap.alloc(object(&[8])).unwrap();
        assert_ne!(a, b);
        assert_eq!(heap.get(a).unwrap().payload[0].0, 7);
        assert!(heap.get(0).is_none());
        assert!(heap.get(a ^ (1 << 40)).is_none());
        heap.collect(|mark| mark(b));
        assert!(heap.get(a).is_none(), "unreached object freed");
        assert_eq!(heap.get(b).unwrap().payload[0].0, 8);
        let c = heap.alloc(object(&[9])).unwrap();
        assert_eq!(c as u32, a as u32, "slot reused");
        assert!(heap.get(a).is_none(), "old handle stays stale");
        assert_eq!(heap.live(), 2);
    }

    #[test]
    fn payloads_keep_objects_alive() {
        let mut heap = ExnHeap::default();
        let inner = heap.alloc(object(&[1])).unwrap();
        let outer = heap.alloc(object(&[u128::from(inner)])).unwrap();
        let lost = heap.alloc(object(&[2])).unwrap();
        heap.collect(|mark| mark(outer));
        assert!(heap.get(inner).is_some());
        assert!(heap.get(lost).is_none());
    }

    #[test]
    fn the_heap_is_capped() {
        let mut heap = ExnHeap {
            live: MAX_OBJECTS,
            ..ExnHeap::default()
        };
        assert!(heap.alloc(object(&[])).is_none());
    }
}
