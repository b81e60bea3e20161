//! Values crossing between the host and wasm.

use crate::func::Func;
use crate::gc::refs::word_matches;
use crate::gc::roots::RootSlot;
use crate::store::{AsContextMut, Store, StoreInner};
use crate::types::{HeapType, RefType, ValType};
use hoist_environ::gc::{gc_ref_kind, GcRefKind, HOST_TAG, MAX_HOST_INDEX};
use hoist_runtime::{VMFuncRef, ValRaw};
use std::any::Any;

pub use crate::gc::refs::{AnyRef, ArrayRef, StructRef, I31};

/// A wasm value. Floats are kept as bits so NaN payloads survive.
#[derive(Clone, Debug)]
pub enum Val {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    FuncRef(Option<Func>),
    ExternRef(Option<ExternRef>),
    /// A reference to a caught exception (the exception-handling proposal).
    ExnRef(Option<ExnRef>),
    /// A reference in the `any` hierarchy (the GC proposal): an `i31ref`,
    /// a struct, an array, or a host value.
    AnyRef(Option<AnyRef>),
}

impl Val {
    /// The value's type, as precisely as the value alone tells: references
    /// are nullable references to their hierarchy's top type (a function
    /// reference's exact type is [`Func::ty`]).
    pub fn ty(&self) -> ValType {
        let top = |heap| {
            ValType::Ref(RefType {
                nullable: true,
                heap,
            })
        };
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => top(HeapType::Func),
            Val::ExternRef(_) => top(HeapType::Extern),
            Val::ExnRef(_) => top(HeapType::Exn),
            Val::AnyRef(_) => top(HeapType::Any),
        }
    }

    /// Whether this value may go where a `ty` is expected: a null where the
    /// type is nullable and of the same hierarchy, a function whose type
    /// is a subtype of the expected heap type, and so on.
    pub fn matches<T>(&self, store: &Store<T>, ty: ValType) -> bool {
        self.matches_in(&store.inner, ty)
    }

    pub(crate) fn matches_in<T>(&self, store: &StoreInner<T>, ty: ValType) -> bool {
        let ValType::Ref(expected) = ty else {
            return self.ty() == ty;
        };
        let expected = expected.to_wasm();
        let (nullable, heap) = (expected.nullable, expected.heap);
        let types = store.engine.types();
        use hoist_environ::WasmHeapType as H;
        let null_matches = |bottom: H| nullable && types.heap_subtype(bottom, heap);
        match self {
            Val::FuncRef(None) => null_matches(H::NoFunc),
            Val::ExternRef(None) => null_matches(H::NoExtern),
            Val::ExnRef(None) => null_matches(H::NoExn),
            Val::AnyRef(None) => null_matches(H::None),
            Val::FuncRef(Some(f)) => {
                // SAFETY: funcrefs of this store are live.
                let id = unsafe { (*store.funcs[f.0].funcref).type_id };
                types.heap_subtype(H::Concrete(hoist_environ::TypeRef::Engine(id)), heap)
            }
            Val::ExternRef(Some(e)) => heap == H::Extern && e.word(store).is_some(),
            Val::ExnRef(Some(_)) => heap == H::Exn,
            Val::AnyRef(Some(a)) => {
                drop(types);
                a.word(store).is_ok_and(|w| word_matches(store, w, heap))
            }
            _ => false,
        }
    }

    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }

    /// The zero (or null) value of `ty`, whose defined types the store's
    /// engine knows.
    pub(crate) fn default_in<T>(ty: ValType, store: &StoreInner<T>) -> Val {
        match ty {
            ValType::Ref(r) => Val::null_in(hierarchy_in(r.heap, store)),
            other => Val::default_for(other),
        }
    }

    fn null_in(hierarchy: Hierarchy) -> Val {
        match hierarchy {
            Hierarchy::Func => Val::FuncRef(None),
            Hierarchy::Extern => Val::ExternRef(None),
            Hierarchy::Exn => Val::ExnRef(None),
            Hierarchy::Any => Val::AnyRef(None),
        }
    }

    /// The zero (or null) value of a type. A defined type is taken for a
    /// function type (see [`Val::null_of`]).
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) => Val::null_of(r.heap),
        }
    }

    /// The null reference of `heap`'s hierarchy. A defined type
    /// (`HeapType::Concrete`) is taken for a function type; a value alone
    /// does not know what the engine's types are (the null of a struct
    /// type is `Val::AnyRef(None)`).
    pub fn null_of(heap: HeapType) -> Val {
        Val::null_in(hierarchy(heap))
    }

    /// The value as compiled code holds it. A reference whose root was
    /// released becomes null (the typed entry points refuse such values
    /// first, through `matches_in`).
    pub(crate) fn to_raw<T>(&self, store: &StoreInner<T>) -> ValRaw {
        match self {
            Val::I32(v) => ValRaw::i32(*v),
            Val::I64(v) => ValRaw::i64(*v),
            Val::F32(bits) => ValRaw(u128::from(*bits)),
            Val::F64(bits) => ValRaw(u128::from(*bits)),
            Val::V128(bits) => ValRaw(*bits),
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None) => {
                ValRaw(0)
            }
            Val::FuncRef(Some(f)) => {
                ValRaw(store.wasm_callable(store.funcs[f.0].funcref) as usize as u128)
            }
            Val::ExternRef(Some(e)) => ValRaw(u128::from(e.word(store).unwrap_or(0))),
            Val::ExnRef(Some(e)) => ValRaw(u128::from(e.0)),
            Val::AnyRef(Some(a)) => ValRaw(u128::from(a.word(store).unwrap_or(0))),
        }
    }

    /// The value of type `ty` that compiled code holds as `raw`; references
    /// of the `any` and `extern` hierarchies are rooted in the store.
    pub(crate) fn from_raw<T>(raw: ValRaw, ty: ValType, store: &mut StoreInner<T>) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.get_u32() as i32),
            ValType::I64 => Val::I64(raw.get_u64() as i64),
            ValType::F32 => Val::F32(raw.get_u32()),
            ValType::F64 => Val::F64(raw.get_u64()),
            ValType::V128 => Val::V128(raw.0),
            ValType::Ref(r) => match (hierarchy_in(r.heap, store), raw.get_u64()) {
                (hierarchy, 0) => Val::null_in(hierarchy),
                (Hierarchy::Func, ptr) => Val::FuncRef(Some(Func(
                    store.func_handle(ptr as usize as *mut VMFuncRef),
                ))),
                (Hierarchy::Extern, word) => Val::ExternRef(Some(match gc_ref_kind(word as u32) {
                    GcRefKind::Host(index) => ExternRef::host(index),
                    _ => ExternRef(ExternRepr::Any(store.gc_roots.root(word))),
                })),
                (Hierarchy::Exn, handle) => Val::ExnRef(Some(ExnRef(handle as u32))),
                (Hierarchy::Any, word) => Val::AnyRef(Some(AnyRef(store.gc_roots.root(word)))),
            },
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hierarchy {
    Func,
    Extern,
    Exn,
    Any,
}

/// Which hierarchy a heap type belongs to, asking the store's engine
/// about defined types.
fn hierarchy_in<T>(heap: HeapType, store: &StoreInner<T>) -> Hierarchy {
    match heap {
        HeapType::Concrete(id) => {
            if store
                .engine
                .types()
                .is_func(hoist_environ::TypeRef::Engine(id))
            {
                Hierarchy::Func
            } else {
                Hierarchy::Any
            }
        }
        other => hierarchy(other),
    }
}

/// Which hierarchy a heap type belongs to; defined types are taken for
/// function types (see [`hierarchy_in`]).
fn hierarchy(heap: HeapType) -> Hierarchy {
    match heap {
        HeapType::Func | HeapType::NoFunc | HeapType::Concrete(_) => Hierarchy::Func,
        HeapType::Extern | HeapType::NoExtern => Hierarchy::Extern,
        HeapType::Exn | HeapType::NoExn => Hierarchy::Exn,
        HeapType::Any
        | HeapType::Eq
        | HeapType::I31
        | HeapType::Struct
        | HeapType::Array
        | HeapType::None => Hierarchy::Any,
    }
}

/// A caught exception, as wasm holds it in an `exnref`: a handle into its
/// store's exception heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExnRef(pub(crate) u32);

/// A non-null `externref`: a host value, or a reference of the `any`
/// hierarchy made an `externref` by `extern.convert_any`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef(pub(crate) ExternRepr);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ExternRepr {
    /// Index of the host value in the store.
    Host(u32),
    /// A rooted reference word of the `any` hierarchy.
    Any(RootSlot),
}

impl ExternRef {
    /// Wraps `value` for wasm.
    ///
    /// # Panics
    /// If the store already holds 2^30 host values.
    pub fn new<T>(store: &mut Store<T>, value: impl Any + Send + Sync) -> ExternRef {
        let index = store.inner.externrefs.len() as u32;
        assert!(
            index <= MAX_HOST_INDEX,
            "a store holds at most 2^30 host values"
        );
        store.inner.externrefs.push(Box::new(value));
        ExternRef::host(index)
    }

    pub(crate) fn host(index: u32) -> ExternRef {
        ExternRef(ExternRepr::Host(index))
    }

    /// The reference word, if the reference is still rooted.
    pub(crate) fn word<T>(&self, store: &StoreInner<T>) -> Option<u32> {
        match self.0 {
            ExternRepr::Host(index) => Some((index << 2) | HOST_TAG),
            ExternRepr::Any(slot) => store.gc_roots.get(slot).map(|w| w as u32),
        }
    }

    /// The host value, if this is one (not a wasm object made an
    /// `externref`).
    pub fn data<'a, T>(&self, store: &'a Store<T>) -> Option<&'a (dyn Any + Send + Sync)> {
        match self.0 {
            ExternRepr::Host(index) => store.inner.externrefs.get(index as usize).map(|b| &**b),
            ExternRepr::Any(_) => None,
        }
    }

    /// `extern.convert_any`: `any` as an `externref` (a host value made an
    /// `anyref` comes back as itself).
    pub fn convert_any(mut store: impl AsContextMut, any: AnyRef) -> anyhow::Result<ExternRef> {
        let store = store.as_context_mut().0;
        let word = any.word(store)?;
        Ok(match gc_ref_kind(word) {
            GcRefKind::Host(index) => ExternRef::host(index),
            _ => ExternRef(ExternRepr::Any(store.gc_roots.root(u64::from(word)))),
        })
    }
}

impl AnyRef {
    /// `any.convert_extern`: `externref` `e` as an `anyref`.
    pub fn convert_extern(mut store: impl AsContextMut, e: ExternRef) -> anyhow::Result<AnyRef> {
        let store = store.as_context_mut().0;
        let word = e
            .word(store)
            .ok_or_else(|| anyhow::anyhow!("the reference was unrooted"))?;
        Ok(AnyRef(store.gc_roots.root(u64::from(word))))
    }
}
