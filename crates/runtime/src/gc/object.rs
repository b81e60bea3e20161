//! Reading and writing objects from the host side (the embedding API,
//! constant expressions, builtins). Every access checks that the object is
//! in the current space and the field or element inside the object, so a
//! stale or forged reference reads nothing it should not.

use super::GcStore;
use crate::vmcontext::ValRaw;
use hoist_environ::gc::{
    gc_ref_kind, GcRefKind, ARRAY_ELEMS_OFFSET, ARRAY_LENGTH_OFFSET, KIND_ARRAY, KIND_MASK,
    KIND_STRUCT, TYPE_ID_MASK,
};
use hoist_environ::{GcFieldKind, GcLayout};

/// What an object is, from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// A struct.
    Struct,
    /// An array.
    Array,
}

impl GcStore {
    /// The header word of object `obj`, if `obj` is an object of the
    /// current space.
    pub fn header(&self, obj: u32) -> Option<u32> {
        let GcRefKind::Object(obj) = gc_ref_kind(obj) else {
            return None;
        };
        let heap = self.heap()?;
        if !heap.in_space(heap.current(), obj) {
            return None;
        }
        // SAFETY: an aligned offset inside the current space.
        Some(unsafe { heap.read_u32(obj) })
    }

    /// The engine type id and kind of object `obj`.
    pub fn object_type(&self, obj: u32) -> Option<(u32, ObjectKind)> {
        let header = self.header(obj)?;
        let kind = match header & KIND_MASK {
            KIND_STRUCT => ObjectKind::Struct,
            KIND_ARRAY => ObjectKind::Array,
            _ => return None,
        };
        Some((header & TYPE_ID_MASK, kind))
    }

    /// The length of array `obj`.
    pub fn array_len(&self, obj: u32) -> Option<u32> {
        let (_, ObjectKind::Array) = self.object_type(obj)? else {
            return None;
        };
        // SAFETY: arrays have a length word.
        Some(unsafe { self.heap()?.read_u32(obj + ARRAY_LENGTH_OFFSET) })
    }

    /// Where field `index` of struct `obj` is, and what it holds.
    pub fn struct_field(&self, obj: u32, index: usize) -> Option<(u32, GcFieldKind)> {
        let (ty, ObjectKind::Struct) = self.object_type(obj)? else {
            return None;
        };
        let GcLayout::Struct(layout) = self.types.layout(ty)? else {
            return None;
        };
        let field = layout.fields.get(index)?;
        Some((obj + field.offset, field.kind))
    }

    /// Where element `index` of array `obj` is, and what it holds.
    pub fn array_elem(&self, obj: u32, index: u32) -> Option<(u32, GcFieldKind)> {
        let (ty, ObjectKind::Array) = self.object_type(obj)? else {
            return None;
        };
        let GcLayout::Array(layout) = self.types.layout(ty)? else {
            return None;
        };
        if index >= self.array_len(obj)? {
            return None;
        }
        Some((
            obj + ARRAY_ELEMS_OFFSET + index * layout.elem_size(),
            layout.elem,
        ))
    }

    /// Reads a field (or element) at `at` found by [`GcStore::struct_field`]
    /// or [`GcStore::array_elem`]: integers zero-extended, references as
    /// their words.
    pub fn read(&self, at: u32, kind: GcFieldKind) -> ValRaw {
        let Some(heap) = self.heap() else {
            return ValRaw(0);
        };
        let p = heap.at(at);
        // SAFETY: `at` came from an accessor above (inside a live object
        // of the current space); fields may be unaligned for their size
        // only if the layout says so, hence unaligned reads.
        unsafe {
            ValRaw(match kind.size() {
                1 => u128::from(p.read()),
                2 => u128::from((p as *const u16).read_unaligned()),
                4 => u128::from((p as *const u32).read_unaligned()),
                8 => u128::from((p as *const u64).read_unaligned()),
                _ => (p as *const u128).read_unaligned(),
            })
        }
    }

    /// Writes a field (or element) at `at`, truncating to its size.
    pub fn write(&mut self, at: u32, kind: GcFieldKind, value: ValRaw) {
        let Some(heap) = self.heap() else {
            return;
        };
        let p = heap.at(at);
        // SAFETY: as in `read`.
        unsafe {
            match kind.size() {
                1 => p.write(value.0 as u8),
                2 => (p as *mut u16).write_unaligned(value.0 as u16),
                4 => (p as *mut u32).write_unaligned(value.0 as u32),
                8 => (p as *mut u64).write_unaligned(value.0 as u64),
                _ => (p as *mut u128).write_unaligned(value.0),
            }
        }
    }

    /// Initializes a freshly allocated object: its header word and, for an
    /// array, its length; every other byte zero.
    pub fn init_object(&mut self, obj: u32, size: u32, header: u32, array_len: Option<u32>) {
        let Some(heap) = self.heap() else {
            return;
        };
        // SAFETY: `[obj, obj + size)` was just allocated in the current
        // space.
        unsafe {
            std::ptr::write_bytes(heap.at(obj), 0, size as usize);
            heap.write_u32(obj, header);
            if let Some(len) = array_len {
                heap.write_u32(obj + ARRAY_LENGTH_OFFSET, len);
            }
        }
    }

    /// The bytes of array `obj`'s elements `[index, index + count)`, if in
    /// bounds.
    pub fn array_bytes_mut(&mut self, obj: u32, index: u32, count: u32) -> Option<&mut [u8]> {
        let (ty, ObjectKind::Array) = self.object_type(obj)? else {
            return None;
        };
        let elem = self.types.layout(ty)?.as_array()?.elem_size();
        let len = self.array_len(obj)?;
        if u64::from(index) + u64::from(count) > u64::from(len) {
            return None;
        }
        let heap = self.heap()?;
        let start = obj + ARRAY_ELEMS_OFFSET + index * elem;
        // SAFETY: inside the array, which is inside the current space;
        // `&mut self` keeps other host accesses out, and no wasm runs.
        Some(unsafe { std::slice::from_raw_parts_mut(heap.at(start), (count * elem) as usize) })
    }
}
