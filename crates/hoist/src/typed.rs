//! Typed host functions: Rust closures over plain wasm values, called with
//! no conversion through [`Val`](crate::Val) and no allocation per call.
//!
//! ```
//! use hoist::*;
//! let engine = Engine::default();
//! let mut store = Store::new(&engine, 0u32);
//! let add = Func::wrap(&mut store, |mut caller: Caller<'_, u32>, a: i32, b: i64| -> i64 {
//!     *caller.data_mut() += 1;
//!     i64::from(a) + b
//! });
//! let mut out = [Val::I64(0)];
//! add.call(&mut store, &[Val::I32(2), Val::I64(40)], &mut out)?;
//! assert_eq!(out[0].i64(), Some(42));
//! # Ok::<(), hoist::Error>(())
//! ```

use crate::func::Caller;
use crate::store::StoreInner;
use crate::types::{FuncType, ValType};
use anyhow::Result;
use hoist_runtime::{HostFn, ValRaw};

/// A Rust type that is a wasm value: `i32`/`u32` are `i32`, `i64`/`u64`
/// are `i64` (the unsigned ones reinterpret the bits), `f32`, `f64`.
pub trait WasmTy: Copy + Send + 'static {
    /// The wasm type of this Rust type.
    const TYPE: ValType;
    #[doc(hidden)]
    fn from_raw(raw: ValRaw) -> Self;
    #[doc(hidden)]
    fn into_raw(self) -> ValRaw;
}

macro_rules! wasm_ty {
    ($($ty:ty => $val:ident, |$r:ident| $from:expr, |$v:ident| $into:expr;)*) => {$(
        impl WasmTy for $ty {
            const TYPE: ValType = ValType::$val;
            fn from_raw($r: ValRaw) -> Self {
                $from
            }
            fn into_raw(self) -> ValRaw {
                let $v = self;
                $into
            }
        }
    )*};
}

wasm_ty! {
    i32 => I32, |r| r.get_u32() as i32, |v| ValRaw::i32(v);
    u32 => I32, |r| r.get_u32(), |v| ValRaw::i32(v as i32);
    i64 => I64, |r| r.get_u64() as i64, |v| ValRaw::i64(v);
    u64 => I64, |r| r.get_u64(), |v| ValRaw::i64(v as i64);
    f32 => F32, |r| f32::from_bits(r.get_u32()), |v| ValRaw(u128::from(v.to_bits()));
    f64 => F64, |r| f64::from_bits(r.get_u64()), |v| ValRaw(u128::from(v.to_bits()));
}

/// The results of a typed host function: `()`, one [`WasmTy`], or a tuple
/// of them.
pub trait WasmResults: Send + 'static {
    #[doc(hidden)]
    fn types() -> Vec<ValType>;
    #[doc(hidden)]
    fn store(self, values: &mut [ValRaw]);
}

impl WasmResults for () {
    fn types() -> Vec<ValType> {
        Vec::new()
    }
    fn store(self, _: &mut [ValRaw]) {}
}

impl<T: WasmTy> WasmResults for T {
    fn types() -> Vec<ValType> {
        vec![T::TYPE]
    }
    fn store(self, values: &mut [ValRaw]) {
        values[0] = self.into_raw();
    }
}

macro_rules! tuple_results {
    ($($name:ident $index:tt)*) => {
        impl<$($name: WasmTy),*> WasmResults for ($($name,)*) {
            fn types() -> Vec<ValType> {
                vec![$($name::TYPE),*]
            }
            fn store(self, values: &mut [ValRaw]) {
                $( values[$index] = self.$index.into_raw(); )*
            }
        }
    };
}

tuple_results!(A 0 B 1);
tuple_results!(A 0 B 1 C 2);
tuple_results!(A 0 B 1 C 2 D 3);

/// What a typed host function's closure returns: its results, or a
/// `Result` of them whose `Err` traps the calling wasm code (and comes
/// back as the error of the call that ran it).
pub trait HostReturn: Send + 'static {
    #[doc(hidden)]
    type Results: WasmResults;
    #[doc(hidden)]
    fn into_result(self) -> Result<Self::Results>;
}

impl<R: WasmResults> HostReturn for R {
    type Results = R;
    fn into_result(self) -> Result<R> {
        Ok(self)
    }
}

impl<R: WasmResults> HostReturn for Result<R> {
    type Results = R;
    fn into_result(self) -> Result<R> {
        self
    }
}

/// A handle on the store that a typed host function's body reaches its
/// caller through; only the crate can make one.
#[doc(hidden)]
pub struct StoreRef<T>(pub(crate) *mut StoreInner<T>);

// SAFETY: the store (and so this pointer's target) moves between threads
// only as a whole, and is used by one thread at a time (`&mut Store`).
unsafe impl<T> Send for StoreRef<T> {}
// SAFETY: as for `Send`, with every use behind the same exclusive access.
unsafe impl<T> Sync for StoreRef<T> {}

impl<T> StoreRef<T> {
    // A method (not a field access) so closures capture the whole wrapper.
    fn get(&self) -> *mut StoreInner<T> {
        self.0
    }
}

/// A Rust closure that can be a host function: `Fn(Caller<T>, A1, ...,
/// An) -> R` with every `Ai: WasmTy` (up to 12) and `R: HostReturn`.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// The wasm type of the function.
    #[doc(hidden)]
    fn func_type() -> FuncType;
    /// The closure as the runtime calls it: arguments read from, results
    /// written to the raw value array.
    #[doc(hidden)]
    fn into_host_fn(self, store: StoreRef<T>) -> Box<HostFn>;
}

macro_rules! into_func {
    ($($arg:ident $index:tt)*) => {
        impl<T: 'static, F, $($arg: WasmTy,)* R: HostReturn> IntoFunc<T, ($($arg,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($arg),*) -> R + Send + Sync + 'static,
        {
            fn func_type() -> FuncType {
                FuncType::new([$($arg::TYPE),*], R::Results::types())
            }

            fn into_host_fn(self, store: StoreRef<T>) -> Box<HostFn> {
                Box::new(move |vmctx, values: &mut [ValRaw]| {
                    // SAFETY: host functions run only while their store is
                    // in a call (`Func::call` or instantiation), which holds
                    // `&mut Store` and does not touch it until the call
                    // returns.
                    let store = unsafe { &mut *store.get() };
                    let caller = Caller { store, vmctx };
                    let result = (self)(caller, $($arg::from_raw(values[$index])),*);
                    match result.into_result() {
                        Ok(results) => {
                            results.store(values);
                            Ok(())
                        }
                        Err(error) => Err(crate::trap::to_host_error(error)),
                    }
                })
            }
        }
    };
}

into_func!();
into_func!(A0 0);
into_func!(A0 0 A1 1);
into_func!(A0 0 A1 1 A2 2);
into_func!(A0 0 A1 1 A2 2 A3 3);
into_func!(A0 0 A1 1 A2 2 A3 3 A4 4);
into_func!(A0 0 A1 1 A2 2 A3 3 A4 4 A5 5);
into_func!(A0 0 A1 1 A2 2 A3 3 A4 4 A5 5 A6 6);
into_func!(A0 0 A1 1 A2 2 A3 3 A4 4 A5 5 A6 6 A7 7);
into_func!(A0 0 A1 1 A2 2 A3 3 A4 4 A5 5 A6 6 A7 7 A8 8);
into_func!(A0 0 A1 1 A2 2 A3 3 A4 4 A5 5 A6 6 A7 7 A8 8 A9 9);
into_func!(A0 0 A1 1 A2 2 A3 3 A4 4 A5 5 A6 6 A7 7 A8 8 A9 9 A10 10);
into_func!(A0 0 A1 1 A2 2 A3 3 A4 4 A5 5 A6 6 A7 7 A8 8 A9 9 A10 10 A11 11);
