//! Values crossing between the host and wasm.

use crate::func::Func;
use crate::store::{Store, StoreInner};
use crate::types::ValType;
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
}

impl Val {
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
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
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
        }
    }

    pub(crate) fn to_raw<T>(&self, store: &StoreInner<T>) -> ValRaw {
        match self {
            Val::I32(v) => ValRaw::i32(*v),
            Val::I64(v) => ValRaw::i64(*v),
            Val::F32(bits) => ValRaw(u128::from(*bits)),
            Val::F64(bits) => ValRaw(u128::from(*bits)),
            Val::V128(bits) => ValRaw(*bits),
            Val::FuncRef(None) | Val::ExternRef(None) => ValRaw(0),
            Val::FuncRef(Some(f)) => {
                ValRaw(store.wasm_callable(store.funcs[f.0].funcref) as usize as u128)
            }
            Val::ExternRef(Some(e)) => ValRaw(u128::from(e.0) + 1),
        }
    }

    pub(crate) fn from_raw<T>(raw: ValRaw, ty: ValType, store: &mut StoreInner<T>) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.get_u32() as i32),
            ValType::I64 => Val::I64(raw.get_u64() as i64),
            ValType::F32 => Val::F32(raw.get_u32()),
            ValType::F64 => Val::F64(raw.get_u64()),
            ValType::V128 => Val::V128(raw.0),
            ValType::FuncRef => match raw.get_u64() {
                0 => Val::FuncRef(None),
                ptr => Val::FuncRef(Some(Func(
                    store.func_handle(ptr as usize as *mut VMFuncRef),
                ))),
            },
            ValType::ExternRef => match raw.get_u64() {
                0 => Val::ExternRef(None),
                handle => Val::ExternRef(Some(ExternRef((handle - 1) as u32))),
            },
        }
    }
}

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
