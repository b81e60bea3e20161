//! Whether a target can compile vector code, and refusing v128 where not.

use cranelift_codegen::isa::TargetIsa;
use hoist_environ::{Module, WasmError, WasmResult, WasmValType};
use target_lexicon::Architecture;

/// What the target can do with vectors, decided once per function.
#[derive(Clone, Debug)]
pub(crate) struct SimdSupport {
    /// Why v128 cannot be compiled for this target, if it cannot.
    pub unavailable: Option<String>,
    /// x86_64 without SSSE3: no `pshufb`.
    pub(super) no_pshufb: bool,
    /// No vector rounding instructions (x86_64 without SSE4.1).
    pub(super) no_round: bool,
}

impl SimdSupport {
    pub(crate) fn new(isa: &dyn TargetIsa) -> Self {
        let x86 = isa.triple().architecture == Architecture::X86_64;
        SimdSupport {
            unavailable: unavailable(isa),
            no_pshufb: x86 && !isa.has_x86_pshufb_lowering(),
            no_round: !isa.has_round(),
        }
    }
}

/// Why `isa` cannot compile v128 code, if it cannot.
fn unavailable(isa: &dyn TargetIsa) -> Option<String> {
    match isa.triple().architecture {
        Architecture::Riscv64(_) => {
            let has_v = isa
                .isa_flags()
                .iter()
                .any(|flag| flag.name == "has_v" && flag.as_bool() == Some(true));
            (!has_v).then(|| {
                format!(
                    "SIMD (v128) for {}: riscv64 needs the vector extension (V), \
                     which this target's CPU features do not include",
                    isa.triple()
                )
            })
        }
        _ => None,
    }
}

/// Refuses `module` when its types or globals use v128 and `isa` cannot
/// compile vector code. Function bodies are checked while translating.
pub(crate) fn check_module(isa: &dyn TargetIsa, module: &Module) -> WasmResult<()> {
    let uses_v128 = module
        .types
        .values()
        .filter_map(|ty| ty.as_func())
        .any(|ty| ty.params.iter().chain(ty.results.iter()).any(is_v128))
        || module.globals.values().any(|g| is_v128(&g.ty));
    check_types(isa, uses_v128)
}

/// Refuses v128 in a host function's type when `isa` cannot compile it.
pub(crate) fn check_func_type(
    isa: &dyn TargetIsa,
    ty: &hoist_environ::WasmFuncType,
) -> WasmResult<()> {
    check_types(isa, ty.params.iter().chain(ty.results.iter()).any(is_v128))
}

fn check_types(isa: &dyn TargetIsa, uses_v128: bool) -> WasmResult<()> {
    match unavailable(isa) {
        Some(why) if uses_v128 => Err(WasmError::Unsupported(why)),
        _ => Ok(()),
    }
}

fn is_v128(ty: &WasmValType) -> bool {
    *ty == WasmValType::V128
}
