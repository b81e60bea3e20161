//! The GC proposal's objects as hoist lays them out: how references are
//! encoded, what an object header holds, and where each field of a struct
//! or each element of an array lives. The compiler bakes these numbers into
//! code and the runtime's collector walks objects with them, so both get
//! them from here.
//!
//! # References
//!
//! A reference in the `any` and `extern` hierarchies is a 32-bit word
//! (zero-extended to pointer width in registers, globals and tables):
//!
//! - `0` is null;
//! - `(value << 1) | 1` is an `i31ref` ([`I31_TAG`]);
//! - `(index << 2) | 2` is a host value (an `externref` the host made, or
//!   one turned into an `anyref` by `any.convert_extern`) ([`HOST_TAG`]);
//! - anything else (a non-zero multiple of [`GC_ALIGN`]) is an object: its
//!   byte offset in the store's GC heap.
//!
//! So `any.convert_extern` and `extern.convert_any` change nothing but the
//! static type, and `ref.eq` is a word comparison. Offsets rather than
//! addresses keep every reference inside the heap's reservation, and let
//! objects move (the collector is a copying one).
//!
//! Function references (`funcref`) and exception references (`exnref`)
//! keep their own representations (a `VMFuncRef` address, an exception
//! handle); they take 8 bytes in an object and the collector does not
//! trace them.
//!
//! # Objects
//!
//! Every object starts with a 4-byte header word: the engine-wide id of
//! its type in the low [`TYPE_ID_BITS`] bits and its kind above
//! ([`KIND_STRUCT`], [`KIND_ARRAY`]). An array's length (u32) follows at
//! [`ARRAY_LENGTH_OFFSET`] and its elements start at
//! [`ARRAY_ELEMS_OFFSET`]; a struct's fields follow the header in
//! declaration order, each aligned to its size (at most 8). Objects are
//! [`GC_ALIGN`]-aligned and at least 8 bytes long (the collector keeps a
//! forwarding offset in the second word of a moved object). A subtype's
//! struct starts with its supertype's fields, which declaration order
//! keeps at the same offsets, so `struct.get` of a supertype field works on
//! every subtype.

use crate::{TypeRef, WasmCompositeType, WasmHeapType, WasmStorageType, WasmValType};

/// Objects are aligned to this and their sizes are multiples of it.
pub const GC_ALIGN: u32 = 8;
/// Low bit of an `i31ref`.
pub const I31_TAG: u32 = 1;
/// Low two bits of a host value's reference.
pub const HOST_TAG: u32 = 2;
/// The largest host value index a reference can carry.
pub const MAX_HOST_INDEX: u32 = (1 << 30) - 1;
/// Bits of the header word that hold the type id.
pub const TYPE_ID_BITS: u32 = 28;
/// Mask of the type id in the header word.
pub const TYPE_ID_MASK: u32 = (1 << TYPE_ID_BITS) - 1;
/// Header kind of a struct.
pub const KIND_STRUCT: u32 = 1 << TYPE_ID_BITS;
/// Header kind of an array.
pub const KIND_ARRAY: u32 = 2 << TYPE_ID_BITS;
/// Mask of the kind in the header word.
pub const KIND_MASK: u32 = 3 << TYPE_ID_BITS;
/// Where an array's length is.
pub const ARRAY_LENGTH_OFFSET: u32 = 4;
/// Where an array's elements start.
pub const ARRAY_ELEMS_OFFSET: u32 = 8;
/// Where a struct's fields start.
pub const STRUCT_FIELDS_OFFSET: u32 = 4;
/// The size of the smallest object.
pub const MIN_OBJECT_SIZE: u32 = 8;
/// The largest object, in bytes: larger allocations fail as out of memory.
pub const MAX_OBJECT_SIZE: u64 = 1 << 31;

/// What a field or element holds, as far as its layout and the collector
/// care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GcFieldKind {
    /// An integer of this many bytes (1, 2, 4 or 8).
    Int(u8),
    /// A 4-byte float.
    F32,
    /// An 8-byte float.
    F64,
    /// A 16-byte vector (8-aligned in objects).
    V128,
    /// A 4-byte reference in the `any` or `extern` hierarchy: traced.
    GcRef,
    /// An 8-byte function reference (a `VMFuncRef` address).
    FuncRef,
    /// An 8-byte exception handle.
    ExnRef,
}

impl GcFieldKind {
    /// Bytes the field takes.
    pub fn size(self) -> u32 {
        match self {
            GcFieldKind::Int(n) => u32::from(n),
            GcFieldKind::F32 | GcFieldKind::GcRef => 4,
            GcFieldKind::F64 | GcFieldKind::FuncRef | GcFieldKind::ExnRef => 8,
            GcFieldKind::V128 => 16,
        }
    }

    /// The field's alignment inside an object.
    pub fn align(self) -> u32 {
        self.size().min(GC_ALIGN)
    }
}

/// Which hierarchy a reference is in, with concrete types resolved by
/// `is_func`, which says whether a concrete type is a function type.
pub fn is_gc_heap_type(heap: WasmHeapType, is_func: &dyn Fn(TypeRef) -> bool) -> bool {
    match heap {
        WasmHeapType::Func | WasmHeapType::NoFunc | WasmHeapType::Exn | WasmHeapType::NoExn => {
            false
        }
        WasmHeapType::Extern
        | WasmHeapType::NoExtern
        | WasmHeapType::Any
        | WasmHeapType::Eq
        | WasmHeapType::I31
        | WasmHeapType::Struct
        | WasmHeapType::Array
        | WasmHeapType::None => true,
        WasmHeapType::Concrete(r) => !is_func(r),
    }
}

/// Whether values of `ty` are references the collector traces (the `any`
/// and `extern` hierarchies).
pub fn is_gc_ref(ty: WasmValType, is_func: &dyn Fn(TypeRef) -> bool) -> bool {
    match ty {
        WasmValType::Ref(r) => is_gc_heap_type(r.heap, is_func),
        _ => false,
    }
}

/// How a field of storage type `storage` is kept.
pub fn field_kind(storage: WasmStorageType, is_func: &dyn Fn(TypeRef) -> bool) -> GcFieldKind {
    match storage {
        WasmStorageType::I8 => GcFieldKind::Int(1),
        WasmStorageType::I16 => GcFieldKind::Int(2),
        WasmStorageType::Val(v) => match v {
            WasmValType::I32 => GcFieldKind::Int(4),
            WasmValType::I64 => GcFieldKind::Int(8),
            WasmValType::F32 => GcFieldKind::F32,
            WasmValType::F64 => GcFieldKind::F64,
            WasmValType::V128 => GcFieldKind::V128,
            WasmValType::Ref(r) => match r.heap {
                WasmHeapType::Exn | WasmHeapType::NoExn => GcFieldKind::ExnRef,
                heap if is_gc_heap_type(heap, is_func) => GcFieldKind::GcRef,
                _ => GcFieldKind::FuncRef,
            },
        },
    }
}

/// One field of a struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GcField {
    /// Byte offset from the object's start.
    pub offset: u32,
    pub kind: GcFieldKind,
}

/// Where a struct type's fields are.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GcStructLayout {
    /// The object's size in bytes (a multiple of [`GC_ALIGN`]).
    pub size: u32,
    /// The fields, in declaration order.
    pub fields: Box<[GcField]>,
}

impl GcStructLayout {
    /// Offsets of the fields the collector traces.
    pub fn gc_ref_offsets(&self) -> impl Iterator<Item = u32> + '_ {
        self.fields
            .iter()
            .filter(|f| f.kind == GcFieldKind::GcRef)
            .map(|f| f.offset)
    }
}

/// An array type's elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GcArrayLayout {
    /// What each element is (elements follow each other, unpadded, from
    /// [`ARRAY_ELEMS_OFFSET`]).
    pub elem: GcFieldKind,
}

impl GcArrayLayout {
    /// Bytes per element.
    pub fn elem_size(&self) -> u32 {
        self.elem.size()
    }

    /// The size of an array of `len` elements, if it is not larger than
    /// [`MAX_OBJECT_SIZE`].
    pub fn size(&self, len: u32) -> Option<u32> {
        let bytes = u64::from(ARRAY_ELEMS_OFFSET) + u64::from(len) * u64::from(self.elem_size());
        let bytes = bytes.next_multiple_of(u64::from(GC_ALIGN));
        (bytes <= MAX_OBJECT_SIZE).then_some(bytes as u32)
    }
}

/// The layout of a struct or array type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GcLayout {
    /// A struct type's fields.
    Struct(GcStructLayout),
    /// An array type's elements.
    Array(GcArrayLayout),
}

impl GcLayout {
    /// The layout of `ty`, if it is a struct or array type; `is_func` says
    /// whether a concrete type it refers to is a function type.
    pub fn of(ty: &WasmCompositeType, is_func: &dyn Fn(TypeRef) -> bool) -> Option<GcLayout> {
        match ty {
            WasmCompositeType::Func(_) => None,
            WasmCompositeType::Array(elem) => Some(GcLayout::Array(GcArrayLayout {
                elem: field_kind(elem.storage, is_func),
            })),
            WasmCompositeType::Struct(fields) => {
                let mut offset = STRUCT_FIELDS_OFFSET;
                let fields = fields
                    .iter()
                    .map(|f| {
                        let kind = field_kind(f.storage, is_func);
                        let at = offset.next_multiple_of(kind.align());
                        offset = at + kind.size();
                        GcField { offset: at, kind }
                    })
                    .collect();
                Some(GcLayout::Struct(GcStructLayout {
                    size: offset.next_multiple_of(GC_ALIGN).max(MIN_OBJECT_SIZE),
                    fields,
                }))
            }
        }
    }

    /// The struct layout, if this is one.
    pub fn as_struct(&self) -> Option<&GcStructLayout> {
        match self {
            GcLayout::Struct(s) => Some(s),
            GcLayout::Array(_) => None,
        }
    }

    /// The array layout, if this is one.
    pub fn as_array(&self) -> Option<&GcArrayLayout> {
        match self {
            GcLayout::Array(a) => Some(a),
            GcLayout::Struct(_) => None,
        }
    }

    /// The header kind bits of objects of this layout.
    pub fn kind_bits(&self) -> u32 {
        match self {
            GcLayout::Struct(_) => KIND_STRUCT,
            GcLayout::Array(_) => KIND_ARRAY,
        }
    }
}

/// The reference to `value`'s low 31 bits as an `i31ref`.
pub fn i31_ref(value: u32) -> u32 {
    (value << 1) | I31_TAG
}

/// What a reference word in the `any`/`extern` hierarchies is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcRefKind {
    /// `ref.null`.
    Null,
    /// An `i31ref`.
    I31,
    /// A host value, by its index in the store.
    Host(u32),
    /// An object, by its offset in the GC heap.
    Object(u32),
}

/// Decodes a reference word.
pub fn gc_ref_kind(raw: u32) -> GcRefKind {
    if raw == 0 {
        GcRefKind::Null
    } else if raw & I31_TAG != 0 {
        GcRefKind::I31
    } else if raw & 3 == HOST_TAG {
        GcRefKind::Host(raw >> 2)
    } else {
        GcRefKind::Object(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{WasmFieldType, WasmRefType};

    fn field(storage: WasmStorageType) -> WasmFieldType {
        WasmFieldType {
            storage,
            mutable: true,
        }
    }

    #[test]
    fn struct_fields_are_aligned_in_declaration_order() {
        let no_funcs = |_: TypeRef| false;
        let ty = WasmCompositeType::Struct(
            [
                field(WasmStorageType::I8),
                field(WasmStorageType::Val(WasmValType::I64)),
                field(WasmStorageType::Val(WasmValType::Ref(
                    WasmRefType::EXTERNREF,
                ))),
                field(WasmStorageType::I16),
                field(WasmStorageType::Val(WasmValType::FUNCREF)),
            ]
            .into(),
        );
        let layout = GcLayout::of(&ty, &no_funcs).unwrap();
        let layout = layout.as_struct().unwrap();
        let offsets: Vec<u32> = layout.fields.iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [4, 8, 16, 20, 24]);
        assert_eq!(layout.size, 32);
        assert_eq!(layout.gc_ref_offsets().collect::<Vec<_>>(), [16]);
        let empty = GcLayout::of(&WasmCompositeType::Struct([].into()), &no_funcs).unwrap();
        assert_eq!(empty.as_struct().unwrap().size, MIN_OBJECT_SIZE);
    }

    #[test]
    fn array_sizes_round_up_and_stop_at_the_maximum() {
        let layout = GcArrayLayout {
            elem: GcFieldKind::Int(1),
        };
        assert_eq!(layout.size(0), Some(8));
        assert_eq!(layout.size(1), Some(16));
        assert_eq!(layout.size(8), Some(16));
        let wide = GcArrayLayout {
            elem: GcFieldKind::V128,
        };
        assert_eq!(wide.size(u32::MAX), None);
    }

    #[test]
    fn reference_words_decode() {
        assert_eq!(gc_ref_kind(0), GcRefKind::Null);
        assert_eq!(gc_ref_kind(i31_ref(5)), GcRefKind::I31);
        assert_eq!(gc_ref_kind((7 << 2) | HOST_TAG), GcRefKind::Host(7));
        assert_eq!(gc_ref_kind(4096), GcRefKind::Object(4096));
    }
}
