//! Values crossing between the host and wasm.

use crate::func::Func;
use crate::store::{Store, StoreInner};
use crate::types::{HeapType, RefType, ValType};
use hoist_runtime::{VMFuncRef, ValRaw};
use std::any::Any;

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
    /// A reference in the `any` hierarchy (the GC proposal); only null
    /// until hoist has GC objects.
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
            Val::ExternRef(Some(_)) => heap == H::Extern,
            Val::ExnRef(Some(_)) => heap == H::Exn,
            Val::AnyRef(Some(_)) => heap == H::Any,
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

    /// The zero (or null) value of a type.
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

    /// The null reference of `heap`'s hierarchy.
    pub fn null_of(heap: HeapType) -> Val {
        match hierarchy(heap) {
            Hierarchy::Func => Val::FuncRef(None),
            Hierarchy::Extern => Val::ExternRef(None),
            Hierarchy::Exn => Val::ExnRef(None),
            Hierarchy::Any => Val::AnyRef(None),
        }
    }

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
            Val::ExternRef(Some(e)) => ValRaw(u128::from(e.0) + 1),
            Val::ExnRef(Some(e)) => ValRaw(u128::from(e.0)),
            Val::AnyRef(Some(a)) => ValRaw(u128::from(a.0)),
        }
    }

    pub(crate) fn from_raw<T>(raw: ValRaw, ty: ValType, store: &mut StoreInner<T>) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.get_u32() as i32),
            ValType::I64 => Val::I64(raw.get_u64() as i64),
            ValType::F32 => Val::F32(raw.get_u32()),
            ValType::F64 => Val::F64(raw.get_u64()),
            ValType::V128 => Val::V128(raw.0),
            ValType::Ref(r) => match (hierarchy(r.heap), raw.get_u64()) {
                (hierarchy, 0) => Val::null_of(match hierarchy {
                    Hierarchy::Func => HeapType::Func,
                    Hierarchy::Extern => HeapType::Extern,
                    Hierarchy::Exn => HeapType::Exn,
                    Hierarchy::Any => HeapType::Any,
                }),
                (Hierarchy::Func, ptr) => Val::FuncRef(Some(Func(
                    store.func_handle(ptr as usize as *mut VMFuncRef),
                ))),
                (Hierarchy::Extern, handle) => Val::ExternRef(Some(ExternRef((handle - 1) as u32))),
                (Hierarchy::Exn, handle) => Val::ExnRef(Some(ExnRef(handle as u32))),
                (Hierarchy::Any, handle) => Val::AnyRef(Some(AnyRef(handle as u32))),
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

/// Which hierarchy a heap type belongs to. Concrete types are function
/// types until hoist has GC objects (the registry knows; values do not
/// need to).
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

/// A reference in the GC proposal's `any` hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnyRef(pub(crate) u32);

/// An opaque host value that wasm can hold and pass around as `externref`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef(pub(crate) u32);

impl ExternRef {
    pub fn new<T>(store: &mut Store<T>, value: impl Any + Send + Sync) -> ExternRef {
        store.inner.externrefs.push(Box::new(value));
        ExternRef((store.inner.externrefs.len() - 1) as u32)
    }

    pub fn data<'a, T>(&self, store: &'a Store<T>) -> &'a (dyn Any + Send + Sync) {
        &*store.inner.externrefs[self.0 as usize]
    }
}
