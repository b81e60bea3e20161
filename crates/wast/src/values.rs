//! Script values: arguments into [`Val`]s, expected results matched against
//! [`Val`]s, and both printed in the script's own syntax for failure messages.

use anyhow::{bail, Result};
use hoist::{AnyRef, ExternRef, Store, Val};
use wast::core::{
    AbstractHeapType, HeapType, NanPattern, V128Const, V128Pattern, WastArgCore, WastRetCore,
};
use wast::token::{F32, F64};
use wast::{WastArg, WastRet};

/// Converts an `invoke` argument into a value, allocating `ref.extern N` in `store`.
pub(crate) fn arg(store: &mut Store<()>, arg: &WastArg<'_>) -> Result<Val> {
    let WastArg::Core(arg) = arg else {
        bail!("component-model arguments are not supported");
    };
    Ok(match arg {
        WastArgCore::I32(x) => Val::I32(*x),
        WastArgCore::I64(x) => Val::I64(*x),
        WastArgCore::F32(x) => Val::F32(x.bits),
        WastArgCore::F64(x) => Val::F64(x.bits),
        WastArgCore::V128(x) => Val::V128(v128_bits(x)),
        WastArgCore::RefNull(ty) => match null_kind(ty) {
            Some(RefKind::Func) | None => Val::FuncRef(None),
            Some(RefKind::Extern) => Val::ExternRef(None),
            Some(RefKind::Exn) => Val::ExnRef(None),
            Some(RefKind::Any) => Val::AnyRef(None),
        },
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(store, *n))),
        // A host value made an `anyref` (`any.convert_extern`).
        WastArgCore::RefHost(n) => {
            let e = ExternRef::new(store, *n);
            Val::AnyRef(Some(AnyRef::convert_extern(&mut *store, e)?))
        }
    })
}

fn v128_bits(x: &V128Const) -> u128 {
    u128::from_le_bytes(x.to_le_bytes())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RefKind {
    Func,
    Extern,
    Exn,
    Any,
}

/// Which hierarchy a `ref.null T` is in; `None` for a defined type, whose
/// hierarchy the script does not say (any null matches it).
fn null_kind(ty: &HeapType<'_>) -> Option<RefKind> {
    match ty {
        HeapType::Abstract { ty, .. } => Some(match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => RefKind::Func,
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => RefKind::Extern,
            AbstractHeapType::Exn | AbstractHeapType::NoExn => RefKind::Exn,
            _ => RefKind::Any,
        }),
        HeapType::Concrete(_) | HeapType::Exact(_) => None,
    }
}

/// The `u32` a script's `ref.extern N` / `ref.host N` carries, if `e` is
/// one.
fn host_u32(store: &Store<()>, e: &ExternRef) -> Option<u32> {
    e.data(store)?.downcast_ref::<u32>().copied()
}

/// The hierarchy of a null value, if `val` is a null reference.
fn null_of(val: &Val) -> Option<RefKind> {
    match val {
        Val::FuncRef(None) => Some(RefKind::Func),
        Val::ExternRef(None) => Some(RefKind::Extern),
        Val::ExnRef(None) => Some(RefKind::Exn),
        Val::AnyRef(None) => Some(RefKind::Any),
        _ => None,
    }
}

/// The core part of an `assert_return` result.
pub(crate) fn ret<'a, 'b>(ret: &'b WastRet<'a>) -> Result<&'b WastRetCore<'a>> {
    match ret {
        WastRet::Core(ret) => Ok(ret),
        _ => bail!("component-model results are not supported"),
    }
}

/// Whether `actual` is a value that `expected` allows. Errors on patterns
/// for types hoist does not have (GC references, `ref.host`).
pub(crate) fn matches(
    store: &mut Store<()>,
    expected: &WastRetCore<'_>,
    actual: &Val,
) -> Result<bool> {
    Ok(match (expected, actual) {
        (WastRetCore::I32(e), Val::I32(a)) => e == a,
        (WastRetCore::I64(e), Val::I64(a)) => e == a,
        (WastRetCore::F32(e), Val::F32(a)) => f32_matches(e, *a),
        (WastRetCore::F64(e), Val::F64(a)) => f64_matches(e, *a),
        (WastRetCore::V128(e), Val::V128(a)) => v128_matches(e, *a),
        (WastRetCore::RefNull(ty), actual) => {
            match (ty.as_ref().and_then(null_kind), null_of(actual)) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(expected), Some(actual)) => expected == actual,
            }
        }
        (WastRetCore::RefExtern(None), Val::ExternRef(r)) => r.is_some(),
        (WastRetCore::RefExtern(Some(n)), Val::ExternRef(Some(r))) => {
            host_u32(store, r) == Some(*n)
        }
        (WastRetCore::RefFunc(_), Val::FuncRef(r)) => r.is_some(),
        (WastRetCore::Either(cases), actual) => {
            for case in cases {
                if matches(store, case, actual)? {
                    return Ok(true);
                }
            }
            false
        }
        (WastRetCore::RefAny, Val::AnyRef(r)) => r.is_some(),
        (WastRetCore::RefAny, Val::ExternRef(r)) => r.is_some(),
        (WastRetCore::RefHost(n), Val::AnyRef(Some(a))) => match a.as_extern(&mut *store)? {
            Some(e) => host_u32(store, &e) == Some(*n),
            None => false,
        },
        (WastRetCore::RefEq, Val::AnyRef(Some(a))) => {
            matches!(
                a.ty(&mut *store)?,
                hoist::HeapType::I31 | hoist::HeapType::Concrete(_)
            )
        }
        (WastRetCore::RefI31, Val::AnyRef(Some(a))) => a.as_i31(&mut *store)?.is_some(),
        (WastRetCore::RefStruct, Val::AnyRef(Some(a))) => a.as_struct(&mut *store)?.is_some(),
        (WastRetCore::RefArray, Val::AnyRef(Some(a))) => a.as_array(&mut *store)?.is_some(),
        (WastRetCore::RefI31Shared, _) => {
            bail!("unsupported result pattern `{}`", expected_str(expected))
        }
        _ => false,
    })
}

const F32_SIGN: u32 = 0x8000_0000;
const F32_EXP: u32 = 0x7f80_0000;
const F32_QUIET: u32 = 0x0040_0000;
const F32_CANONICAL_NAN: u32 = 0x7fc0_0000;
const F64_SIGN: u64 = 0x8000_0000_0000_0000;
const F64_EXP: u64 = 0x7ff0_0000_0000_0000;
const F64_QUIET: u64 = 0x0008_0000_0000_0000;
const F64_CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;

fn f32_matches(expected: &NanPattern<F32>, bits: u32) -> bool {
    let is_nan = f32::from_bits(bits).is_nan();
    match expected {
        NanPattern::CanonicalNan => bits & !F32_SIGN == F32_CANONICAL_NAN,
        NanPattern::ArithmeticNan => is_nan && bits & F32_QUIET != 0,
        NanPattern::Value(e) => e.bits == bits,
    }
}

fn f64_matches(expected: &NanPattern<F64>, bits: u64) -> bool {
    let is_nan = f64::from_bits(bits).is_nan();
    match expected {
        NanPattern::CanonicalNan => bits & !F64_SIGN == F64_CANONICAL_NAN,
        NanPattern::ArithmeticNan => is_nan && bits & F64_QUIET != 0,
        NanPattern::Value(e) => e.bits == bits,
    }
}

/// Splits `bits` into `N` little-endian lanes of `W` bytes each.
fn lanes<const N: usize, const W: usize>(bits: u128) -> [[u8; W]; N] {
    let bytes = bits.to_le_bytes();
    std::array::from_fn(|i| std::array::from_fn(|j| bytes[i * W + j]))
}

fn v128_matches(expected: &V128Pattern, bits: u128) -> bool {
    match expected {
        V128Pattern::I8x16(e) => e
            .iter()
            .zip(lanes::<16, 1>(bits))
            .all(|(e, a)| *e == i8::from_le_bytes(a)),
        V128Pattern::I16x8(e) => e
            .iter()
            .zip(lanes::<8, 2>(bits))
            .all(|(e, a)| *e == i16::from_le_bytes(a)),
        V128Pattern::I32x4(e) => e
            .iter()
            .zip(lanes::<4, 4>(bits))
            .all(|(e, a)| *e == i32::from_le_bytes(a)),
        V128Pattern::I64x2(e) => e
            .iter()
            .zip(lanes::<2, 8>(bits))
            .all(|(e, a)| *e == i64::from_le_bytes(a)),
        V128Pattern::F32x4(e) => e
            .iter()
            .zip(lanes::<4, 4>(bits))
            .all(|(e, a)| f32_matches(e, u32::from_le_bytes(a))),
        V128Pattern::F64x2(e) => e
            .iter()
            .zip(lanes::<2, 8>(bits))
            .all(|(e, a)| f64_matches(e, u64::from_le_bytes(a))),
    }
}

/// `1.5 (0x3fc00000)`, `-nan:0x200000 (0xffa00000)`: the value and its bits.
fn f32_str(bits: u32) -> String {
    let value = if f32::from_bits(bits).is_nan() {
        let sign = if bits & F32_SIGN != 0 { "-" } else { "" };
        format!("{sign}nan:{:#x}", bits & !(F32_SIGN | F32_EXP))
    } else {
        format!("{:?}", f32::from_bits(bits))
    };
    format!("{value} ({bits:#010x})")
}

fn f64_str(bits: u64) -> String {
    let value = if f64::from_bits(bits).is_nan() {
        let sign = if bits & F64_SIGN != 0 { "-" } else { "" };
        format!("{sign}nan:{:#x}", bits & !(F64_SIGN | F64_EXP))
    } else {
        format!("{:?}", f64::from_bits(bits))
    };
    format!("{value} ({bits:#018x})")
}

fn f32_pattern_str(p: &NanPattern<F32>) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".to_string(),
        NanPattern::ArithmeticNan => "nan:arithmetic".to_string(),
        NanPattern::Value(f) => f32_str(f.bits),
    }
}

fn f64_pattern_str(p: &NanPattern<F64>) -> String {
    match p {
        NanPattern::CanonicalNan => "nan:canonical".to_string(),
        NanPattern::ArithmeticNan => "nan:arithmetic".to_string(),
        NanPattern::Value(f) => f64_str(f.bits),
    }
}

fn join<T>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> String) -> String {
    items.into_iter().map(f).collect::<Vec<_>>().join(" ")
}

/// An expected result in script syntax, e.g. `f32.const nan:canonical`.
pub(crate) fn expected_str(expected: &WastRetCore<'_>) -> String {
    match expected {
        WastRetCore::I32(x) => format!("i32.const {x}"),
        WastRetCore::I64(x) => format!("i64.const {x}"),
        WastRetCore::F32(p) => format!("f32.const {}", f32_pattern_str(p)),
        WastRetCore::F64(p) => format!("f64.const {}", f64_pattern_str(p)),
        WastRetCore::V128(p) => format!("v128.const {}", v128_pattern_str(p)),
        WastRetCore::RefNull(None) => "ref.null".to_string(),
        WastRetCore::RefNull(Some(ty)) => match null_kind(ty) {
            Some(RefKind::Func) => "ref.null func".to_string(),
            Some(RefKind::Extern) => "ref.null extern".to_string(),
            Some(RefKind::Exn) => "ref.null exn".to_string(),
            Some(RefKind::Any) => "ref.null any".to_string(),
            None => format!("ref.null {ty:?}"),
        },
        WastRetCore::RefExtern(None) => "ref.extern".to_string(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefHost(n) => format!("ref.host {n}"),
        WastRetCore::RefFunc(_) => "ref.func".to_string(),
        WastRetCore::RefAny => "ref.any".to_string(),
        WastRetCore::RefEq => "ref.eq".to_string(),
        WastRetCore::RefArray => "ref.array".to_string(),
        WastRetCore::RefStruct => "ref.struct".to_string(),
        WastRetCore::RefI31 => "ref.i31".to_string(),
        WastRetCore::RefI31Shared => "ref.i31_shared".to_string(),
        WastRetCore::Either(cases) => {
            let cases: Vec<_> = cases.iter().map(expected_str).collect();
            format!("either({})", cases.join(" | "))
        }
    }
}

fn v128_pattern_str(p: &V128Pattern) -> String {
    match p {
        V128Pattern::I8x16(l) => format!("i8x16 {}", join(l, |x| x.to_string())),
        V128Pattern::I16x8(l) => format!("i16x8 {}", join(l, |x| x.to_string())),
        V128Pattern::I32x4(l) => format!("i32x4 {}", join(l, |x| x.to_string())),
        V128Pattern::I64x2(l) => format!("i64x2 {}", join(l, |x| x.to_string())),
        V128Pattern::F32x4(l) => format!("f32x4 {}", join(l, f32_pattern_str)),
        V128Pattern::F64x2(l) => format!("f64x2 {}", join(l, f64_pattern_str)),
    }
}

/// A v128 value split into the lanes of `shape` (the expected pattern, when
/// there is one, so both sides of a mismatch read alike; else `i32x4`).
fn v128_str(bits: u128, shape: Option<&V128Pattern>) -> String {
    match shape {
        Some(V128Pattern::I8x16(_)) => {
            format!(
                "i8x16 {}",
                join(lanes::<16, 1>(bits), |a| i8::from_le_bytes(a).to_string())
            )
        }
        Some(V128Pattern::I16x8(_)) => {
            format!(
                "i16x8 {}",
                join(lanes::<8, 2>(bits), |a| i16::from_le_bytes(a).to_string())
            )
        }
        Some(V128Pattern::I64x2(_)) => {
            format!(
                "i64x2 {}",
                join(lanes::<2, 8>(bits), |a| i64::from_le_bytes(a).to_string())
            )
        }
        Some(V128Pattern::F32x4(_)) => {
            format!(
                "f32x4 {}",
                join(lanes::<4, 4>(bits), |a| f32_str(u32::from_le_bytes(a)))
            )
        }
        Some(V128Pattern::F64x2(_)) => {
            format!(
                "f64x2 {}",
                join(lanes::<2, 8>(bits), |a| f64_str(u64::from_le_bytes(a)))
            )
        }
        Some(V128Pattern::I32x4(_)) | None => {
            format!(
                "i32x4 {}",
                join(lanes::<4, 4>(bits), |a| i32::from_le_bytes(a).to_string())
            )
        }
    }
}

/// A value in script syntax, e.g. `i32.const 7`; `expected` picks the v128 lane shape.
pub(crate) fn val_str(store: &Store<()>, val: &Val, expected: Option<&WastRetCore<'_>>) -> String {
    match val {
        Val::I32(x) => format!("i32.const {x}"),
        Val::I64(x) => format!("i64.const {x}"),
        Val::F32(bits) => format!("f32.const {}", f32_str(*bits)),
        Val::F64(bits) => format!("f64.const {}", f64_str(*bits)),
        Val::V128(bits) => {
            let shape = match expected {
                Some(WastRetCore::V128(p)) => Some(p),
                _ => None,
            };
            format!("v128.const {}", v128_str(*bits, shape))
        }
        Val::FuncRef(None) => "ref.null func".to_string(),
        Val::FuncRef(Some(_)) => "ref.func".to_string(),
        Val::ExternRef(None) => "ref.null extern".to_string(),
        Val::ExternRef(Some(r)) => match host_u32(store, r) {
            Some(n) => format!("ref.extern {n}"),
            None => "ref.extern <host data or wasm object>".to_string(),
        },
        Val::ExnRef(None) => "ref.null exn".to_string(),
        Val::ExnRef(Some(_)) => "ref.exn".to_string(),
        Val::AnyRef(None) => "ref.null any".to_string(),
        Val::AnyRef(Some(_)) => "ref.any".to_string(),
    }
}

/// `[a, b]` for a list of values.
pub(crate) fn vals_str(store: &Store<()>, vals: &[Val], expected: &[&WastRetCore<'_>]) -> String {
    let items: Vec<_> = vals
        .iter()
        .enumerate()
        .map(|(i, val)| val_str(store, val, expected.get(i).copied()))
        .collect();
    format!("[{}]", items.join(", "))
}

/// `[a, b]` for a list of expected results.
pub(crate) fn expecteds_str(expected: &[&WastRetCore<'_>]) -> String {
    let items: Vec<_> = expected.iter().map(|e| expected_str(e)).collect();
    format!("[{}]", items.join(", "))
}
