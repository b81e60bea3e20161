//! References to GC objects as the host holds them: [`AnyRef`],
//! [`StructRef`], [`ArrayRef`] and [`I31`].
//!
//! Each is a handle to a root slot of its store (see [`super::roots`]),
//! so the object stays alive, and the handle stays valid when the
//! collector moves it. A host function receives such handles for its
//! `anyref` (and struct, array, ...) arguments, can look inside, make new
//! objects, and return any of them; they are released when it returns
//! unless it [`keep`](AnyRef::keep)s them.

use super::roots::RootSlot;
use crate::store::{AsContextMut, StoreInner};
use crate::types::{HeapType, ValType};
use crate::values::Val;
use anyhow::{anyhow, bail, Result};
use hoist_environ::gc::{gc_ref_kind, i31_ref, GcRefKind, KIND_ARRAY, KIND_STRUCT};
use hoist_environ::{
    GcLayout, TypeRef, WasmCompositeType, WasmHeapType, WasmStorageType, WasmValType,
};
use hoist_runtime::gc::object::ObjectKind;

/// The value of an `i31ref`: a 31-bit integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct I31(u32);

impl I31 {
    /// The low 31 bits of `value`.
    pub fn wrapping_u32(value: u32) -> I31 {
        I31(value & 0x7fff_ffff)
    }

    /// The low 31 bits of `value`.
    pub fn wrapping_i32(value: i32) -> I31 {
        I31::wrapping_u32(value as u32)
    }

    /// `value`, if it fits in 31 bits as a signed number.
    pub fn new_i32(value: i32) -> Option<I31> {
        (-(1 << 30)..(1 << 30))
            .contains(&value)
            .then(|| I31::wrapping_i32(value))
    }

    /// `value`, if it fits in 31 bits.
    pub fn new_u32(value: u32) -> Option<I31> {
        (value < 1 << 31).then_some(I31(value))
    }

    /// The value sign-extended (`i31.get_s`).
    pub fn get_i32(self) -> i32 {
        ((self.0 << 1) as i32) >> 1
    }

    /// The value zero-extended (`i31.get_u`).
    pub fn get_u32(self) -> u32 {
        self.0
    }
}

/// A non-null reference in the `any` hierarchy: an `i31ref`, a struct, an
/// array, or a host value made an `anyref` by `any.convert_extern`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnyRef(pub(crate) RootSlot);

/// A reference to a struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StructRef(pub(crate) RootSlot);

/// A reference to an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArrayRef(pub(crate) RootSlot);

fn unrooted() -> anyhow::Error {
    anyhow!(
        "the reference was unrooted (it belongs to a host call that has returned, or was released)"
    )
}

/// The reference word behind a root slot.
pub(crate) fn word<T>(store: &StoreInner<T>, slot: RootSlot) -> Result<u32> {
    store
        .gc_roots
        .get(slot)
        .map(|w| w as u32)
        .ok_or_else(unrooted)
}

impl AnyRef {
    /// An `i31ref`.
    pub fn from_i31(mut store: impl AsContextMut, value: I31) -> AnyRef {
        let store = store.as_context_mut().0;
        AnyRef(store.gc_roots.root(u64::from(i31_ref(value.0))))
    }

    pub(crate) fn word<T>(&self, store: &StoreInner<T>) -> Result<u32> {
        word(store, self.0)
    }

    /// The `i31ref`'s value, if this is one.
    pub fn as_i31(&self, mut store: impl AsContextMut) -> Result<Option<I31>> {
        let store = store.as_context_mut().0;
        let w = self.word(store)?;
        Ok((gc_ref_kind(w) == GcRefKind::I31).then_some(I31(w >> 1)))
    }

    /// This reference as a struct reference, if it is one.
    pub fn as_struct(&self, mut store: impl AsContextMut) -> Result<Option<StructRef>> {
        let store = store.as_context_mut().0;
        let w = self.word(store)?;
        Ok(
            matches!(store.gc().object_type(w), Some((_, ObjectKind::Struct)))
                .then_some(StructRef(self.0)),
        )
    }

    /// This reference as an array reference, if it is one.
    pub fn as_array(&self, mut store: impl AsContextMut) -> Result<Option<ArrayRef>> {
        let store = store.as_context_mut().0;
        let w = self.word(store)?;
        Ok(
            matches!(store.gc().object_type(w), Some((_, ObjectKind::Array)))
                .then_some(ArrayRef(self.0)),
        )
    }

    /// Whether this is a host value (made an `anyref` by
    /// `any.convert_extern`), and which: the `ExternRef` it came from.
    pub fn as_extern(&self, mut store: impl AsContextMut) -> Result<Option<crate::ExternRef>> {
        let store = store.as_context_mut().0;
        Ok(match gc_ref_kind(self.word(store)?) {
            GcRefKind::Host(index) => Some(crate::ExternRef::host(index)),
            _ => None,
        })
    }

    /// The most precise heap type of the referenced value: its defined
    /// type for a struct or array, `i31`, or `any` for a host value.
    pub fn ty(&self, mut store: impl AsContextMut) -> Result<HeapType> {
        let store = store.as_context_mut().0;
        let w = self.word(store)?;
        Ok(match gc_ref_kind(w) {
            GcRefKind::I31 => HeapType::I31,
            GcRefKind::Object(_) => match store.gc().object_type(w) {
                Some((id, _)) => HeapType::Concrete(id),
                None => bail!("the reference names no live object"),
            },
            _ => HeapType::Any,
        })
    }

    /// `ref.eq`: whether both name the same object (or equal `i31ref`s).
    pub fn ref_eq(&self, mut store: impl AsContextMut, other: &AnyRef) -> Result<bool> {
        let store = store.as_context_mut().0;
        Ok(self.word(store)? == other.word(store)?)
    }

    /// Keeps this reference rooted after the host call that made it
    /// returns, until [`AnyRef::unroot`].
    pub fn keep(&self, mut store: impl AsContextMut) -> Result<()> {
        let store = store.as_context_mut().0;
        if store.gc_roots.keep(self.0) {
            Ok(())
        } else {
            Err(unrooted())
        }
    }

    /// Releases the reference: the object may be collected, and this
    /// handle (and copies of it) no longer work.
    pub fn unroot(self, mut store: impl AsContextMut) {
        store.as_context_mut().0.gc_roots.unroot(self.0);
    }
}

impl From<StructRef> for AnyRef {
    fn from(s: StructRef) -> AnyRef {
        AnyRef(s.0)
    }
}

impl From<ArrayRef> for AnyRef {
    fn from(a: ArrayRef) -> AnyRef {
        AnyRef(a.0)
    }
}

/// Each field's (or an array's element's) unpacked type and mutability.
type Fields = Vec<(WasmValType, bool)>;

/// The engine type behind `ty`, which must be a struct (or array) type:
/// its id, layout and fields.
fn defined_type<T>(
    store: &mut StoreInner<T>,
    ty: HeapType,
    array: bool,
) -> Result<(u32, GcLayout, Fields)> {
    store.sync_gc_types();
    let HeapType::Concrete(id) = ty else {
        bail!("{ty:?} is not a defined struct or array type");
    };
    store.check_gc_type_ids(&[id])?;
    let types = store.engine.types();
    let Some(sub) = types.get(id) else {
        bail!("no type {id} in this engine");
    };
    let fields: Fields = match (&sub.composite, array) {
        (WasmCompositeType::Struct(fields), false) => fields
            .iter()
            .map(|f| (unpacked(f.storage), f.mutable))
            .collect(),
        (WasmCompositeType::Array(f), true) => vec![(unpacked(f.storage), f.mutable)],
        _ => bail!(
            "type {id} is not a{} type",
            if array { "n array" } else { " struct" }
        ),
    };
    let layout = types
        .gc_layout(id)
        .ok_or_else(|| anyhow!("type {id} has no object layout"))?;
    Ok((id, layout, fields))
}

/// The type a field's value has on the stack (packed fields are i32s).
fn unpacked(storage: WasmStorageType) -> WasmValType {
    match storage {
        WasmStorageType::I8 | WasmStorageType::I16 => WasmValType::I32,
        WasmStorageType::Val(v) => v,
    }
}

/// Checks that `val` may be stored in a field of type `ty`.
fn check_value<T>(store: &StoreInner<T>, val: &Val, ty: WasmValType) -> Result<()> {
    let ty = ValType::from_wasm(ty);
    if !val.matches_in(store, ty) {
        bail!("a field of type {ty} cannot hold a {} value", val.ty());
    }
    Ok(())
}

impl StructRef {
    /// A new struct of defined type `ty` (a `HeapType::Concrete` struct
    /// type of this store's engine) with `fields`.
    pub fn new(mut store: impl AsContextMut, ty: HeapType, fields: &[Val]) -> Result<StructRef> {
        let store = store.as_context_mut().0;
        let (id, layout, types) = defined_type(store, ty, false)?;
        let GcLayout::Struct(layout) = layout else {
            unreachable!("a struct type's layout")
        };
        if fields.len() != types.len() {
            bail!(
                "struct type {id} has {} fields, {} were given",
                types.len(),
                fields.len()
            );
        }
        for (val, (ty, _)) in fields.iter().zip(&types) {
            check_value(store, val, *ty)?;
        }
        // The fields' references are roots while this allocates.
        let obj = store.alloc_object(id | KIND_STRUCT, layout.size, None, &mut [])?;
        for (val, field) in fields.iter().zip(layout.fields.iter()) {
            let raw = val.to_raw(store);
            store.gc().write(obj + field.offset, field.kind, raw);
        }
        Ok(StructRef(store.gc_roots.root(u64::from(obj))))
    }

    fn field_info<T>(&self, store: &StoreInner<T>, index: usize) -> Result<Slot> {
        let w = word(store, self.0)?;
        let (at, kind) = store
            .gc()
            .struct_field(w, index)
            .ok_or_else(|| anyhow!("no field {index} in this struct"))?;
        let (id, _) = store
            .gc()
            .object_type(w)
            .ok_or_else(|| anyhow!("not a live struct"))?;
        let types = store.engine.types();
        let Some(WasmCompositeType::Struct(fields)) = types.get(id).map(|t| &t.composite) else {
            bail!("not a struct type");
        };
        let field = fields[index];
        Ok(Slot {
            at,
            kind,
            ty: unpacked(field.storage),
            mutable: field.mutable,
        })
    }

    /// The value of field `index` (packed fields zero-extended).
    pub fn field(&self, mut store: impl AsContextMut, index: usize) -> Result<Val> {
        let store = store.as_context_mut().0;
        let slot = self.field_info(store, index)?;
        Ok(slot.read(store))
    }

    /// Sets mutable field `index` to `val`.
    pub fn set_field(&self, mut store: impl AsContextMut, index: usize, val: Val) -> Result<()> {
        let store = store.as_context_mut().0;
        let slot = self.field_info(store, index)?;
        if !slot.mutable {
            bail!("field {index} is immutable");
        }
        slot.write(store, val)
    }

    /// The struct's defined type (`HeapType::Concrete`).
    pub fn ty(&self, store: impl AsContextMut) -> Result<HeapType> {
        AnyRef(self.0).ty(store)
    }
}

impl ArrayRef {
    /// A new array of defined type `ty` with `len` copies of `elem`.
    pub fn new(
        mut store: impl AsContextMut,
        ty: HeapType,
        elem: &Val,
        len: u32,
    ) -> Result<ArrayRef> {
        let store = store.as_context_mut().0;
        let (id, layout, types) = defined_type(store, ty, true)?;
        let GcLayout::Array(layout) = layout else {
            unreachable!("an array type's layout")
        };
        check_value(store, elem, types[0].0)?;
        let size = layout
            .size(len)
            .ok_or_else(|| anyhow!("an array of {len} elements is too large"))?;
        let obj = store.alloc_object(id | KIND_ARRAY, size, Some(len), &mut [])?;
        let raw = elem.to_raw(store);
        for i in 0..len {
            if let Some((at, kind)) = store.gc().array_elem(obj, i) {
                store.gc().write(at, kind, raw);
            }
        }
        Ok(ArrayRef(store.gc_roots.root(u64::from(obj))))
    }

    /// A new array of defined type `ty` holding `elems`.
    pub fn new_fixed(
        mut store: impl AsContextMut,
        ty: HeapType,
        elems: &[Val],
    ) -> Result<ArrayRef> {
        let store = store.as_context_mut().0;
        let (id, layout, types) = defined_type(store, ty, true)?;
        let GcLayout::Array(layout) = layout else {
            unreachable!("an array type's layout")
        };
        for elem in elems {
            check_value(store, elem, types[0].0)?;
        }
        let len = u32::try_from(elems.len())?;
        let size = layout
            .size(len)
            .ok_or_else(|| anyhow!("an array of {len} elements is too large"))?;
        let obj = store.alloc_object(id | KIND_ARRAY, size, Some(len), &mut [])?;
        for (i, elem) in elems.iter().enumerate() {
            let raw = elem.to_raw(store);
            if let Some((at, kind)) = store.gc().array_elem(obj, i as u32) {
                store.gc().write(at, kind, raw);
            }
        }
        Ok(ArrayRef(store.gc_roots.root(u64::from(obj))))
    }

    /// The number of elements.
    pub fn len(&self, mut store: impl AsContextMut) -> Result<u32> {
        let store = store.as_context_mut().0;
        let w = word(store, self.0)?;
        store
            .gc()
            .array_len(w)
            .ok_or_else(|| anyhow!("not a live array"))
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self, store: impl AsContextMut) -> Result<bool> {
        Ok(self.len(store)? == 0)
    }

    fn elem_info<T>(&self, store: &StoreInner<T>, index: u32) -> Result<Slot> {
        let w = word(store, self.0)?;
        let (at, kind) = store
            .gc()
            .array_elem(w, index)
            .ok_or_else(|| anyhow!("array index {index} out of bounds"))?;
        let (id, _) = store
            .gc()
            .object_type(w)
            .ok_or_else(|| anyhow!("not a live array"))?;
        let types = store.engine.types();
        let Some(WasmCompositeType::Array(field)) = types.get(id).map(|t| &t.composite) else {
            bail!("not an array type");
        };
        Ok(Slot {
            at,
            kind,
            ty: unpacked(field.storage),
            mutable: field.mutable,
        })
    }

    /// Element `index` (packed elements zero-extended).
    pub fn get(&self, mut store: impl AsContextMut, index: u32) -> Result<Val> {
        let store = store.as_context_mut().0;
        let slot = self.elem_info(store, index)?;
        Ok(slot.read(store))
    }

    /// Sets element `index` of a mutable array to `val`.
    pub fn set(&self, mut store: impl AsContextMut, index: u32, val: Val) -> Result<()> {
        let store = store.as_context_mut().0;
        let slot = self.elem_info(store, index)?;
        if !slot.mutable {
            bail!("the array is immutable");
        }
        slot.write(store, val)
    }

    /// The array's defined type (`HeapType::Concrete`).
    pub fn ty(&self, store: impl AsContextMut) -> Result<HeapType> {
        AnyRef(self.0).ty(store)
    }
}

/// A struct field or array element: where it is, how it is stored, its
/// (unpacked) value type, and whether it may be set.
struct Slot {
    at: u32,
    kind: hoist_environ::GcFieldKind,
    ty: WasmValType,
    mutable: bool,
}

impl Slot {
    /// The value (packed storage zero-extended).
    fn read<T>(&self, store: &mut StoreInner<T>) -> Val {
        let raw = store.gc().read(self.at, self.kind);
        Val::from_raw(raw, ValType::from_wasm(self.ty), store)
    }

    /// Stores `val` after checking its type (mutability is the caller's).
    fn write<T>(&self, store: &mut StoreInner<T>, val: Val) -> Result<()> {
        check_value(store, &val, self.ty)?;
        let raw = val.to_raw(store);
        store.gc().write(self.at, self.kind, raw);
        Ok(())
    }
}

/// Whether a non-null reference word `w` of the `any` hierarchy is of heap
/// type `heap` (engine references).
pub(crate) fn word_matches<T>(store: &StoreInner<T>, w: u32, heap: WasmHeapType) -> bool {
    let types = store.engine.types();
    match gc_ref_kind(w) {
        GcRefKind::Null => false,
        GcRefKind::I31 => types.heap_subtype(WasmHeapType::I31, heap),
        GcRefKind::Host(_) => heap == WasmHeapType::Any,
        GcRefKind::Object(_) => match store.gc().object_type(w) {
            Some((id, _)) => types.heap_subtype(WasmHeapType::Concrete(TypeRef::Engine(id)), heap),
            None => false,
        },
    }
}
