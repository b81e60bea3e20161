//! Compiling WebAssembly to machine code with Cranelift.
//!
//! [`Compiler::compile_module`] translates every function body (in
//! parallel), adds one host-to-wasm trampoline per signature, and links
//! everything into a single text section with no relocations left: calls
//! between functions are resolved in place, and everything else (builtins,
//! imports, other instances) is reached through the `VMContext`.

#![forbid(unsafe_code)]

mod alias;
mod bounds_checks;
mod crowding;
mod disas;
mod func_environ;
mod gc;
mod isa;
mod joins;
mod link;
mod trampolines;
mod translate;

pub use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
pub use disas::disassemble;
pub use hoist_environ::{CompiledText, FunctionLoc};
pub use isa::{build_isa, CompilerOptions, Cpu, OptLevel};

use cranelift_codegen::ir::{self, AbiParam, ArgumentPurpose, Signature};
use cranelift_codegen::isa::CallConv;
use cranelift_entity::PrimaryMap;
use hoist_environ::{
    DefinedFuncIndex, FunctionBodyData, Module, TrapCode, Tunables, VMOffsets, WasmFuncType,
    WasmResult, WasmValType,
};

/// Compiles modules and trampolines for one target.
pub struct Compiler {
    isa: OwnedTargetIsa,
    /// Options for the same target compiling fast rather than well
    /// ([`CompilerOptions::baseline_tier`]), for lazy compilation.
    baseline_options: Option<CompilerOptions>,
    /// That ISA, built on first use (most runs never compile lazily).
    baseline: std::sync::OnceLock<Option<OwnedTargetIsa>>,
    /// The same with the single-pass register allocator.
    baseline_single_pass: std::sync::OnceLock<Option<OwnedTargetIsa>>,
    tunables: Tunables,
}

impl Compiler {
    pub fn new(isa: OwnedTargetIsa, tunables: Tunables) -> Self {
        Compiler {
            isa,
            baseline_options: None,
            baseline: std::sync::OnceLock::new(),
            baseline_single_pass: std::sync::OnceLock::new(),
            tunables,
        }
    }

    /// Lazily compiled functions and their stubs are compiled for
    /// `options` with [`CompilerOptions::baseline_tier`] (the options this
    /// compiler's ISA was built from: same target and CPU features).
    pub fn with_baseline_tier(mut self, options: CompilerOptions) -> Self {
        self.baseline_options = Some(CompilerOptions {
            baseline_tier: true,
            ..options
        });
        self
    }

    fn lazy_isa(&self) -> &dyn TargetIsa {
        let baseline = self.baseline.get_or_init(|| {
            // Options that built `isa` once build this one too; should it
            // fail anyway, lazy code is compiled with `isa`.
            build_isa(self.baseline_options.as_ref()?).ok()
        });
        &**baseline.as_ref().unwrap_or(&self.isa)
    }

    fn lazy_single_pass_isa(&self) -> Option<&dyn TargetIsa> {
        let isa = self.baseline_single_pass.get_or_init(|| {
            let options = CompilerOptions {
                single_pass_regalloc: true,
                ..self.baseline_options.clone()?
            };
            build_isa(&options).ok()
        });
        isa.as_deref()
    }

    pub fn isa(&self) -> &dyn TargetIsa {
        &*self.isa
    }

    pub fn tunables(&self) -> &Tunables {
        &self.tunables
    }

    /// Compiles all function bodies of a module plus its trampolines.
    pub fn compile_module(
        &self,
        module: &Module,
        function_bodies: PrimaryMap<DefinedFuncIndex, FunctionBodyData<'_>>,
    ) -> WasmResult<CompiledText> {
        translate::check_simd_module(&*self.isa, module)?;
        link::compile_module(&*self.isa, &self.tunables, module, function_bodies)
    }

    /// Lazy compilation: the module's trampolines and one compile stub per
    /// defined function (at each function's place in the text); see
    /// [`Compiler::compile_function_lazily`].
    pub fn compile_lazy_module(&self, module: &Module) -> WasmResult<CompiledText> {
        translate::check_simd_module(&*self.isa, module)?;
        link::compile_lazy_module(&*self.isa, self.lazy_isa(), module)
    }

    /// Lazy compilation: defined function `index` on its own, calling the
    /// module's functions through their funcrefs. Its text is meant for a
    /// 64-byte boundary: the function starts at `functions[0].start` (0, or
    /// after up to 63 zero bytes that put its loop header on a 64-byte
    /// boundary). `body` is validated again as it is translated. With
    /// `count_hotness`, the function counts its entries and loop iterations
    /// down in its vmctx hotness counter (for the optimizing thread to read).
    pub fn compile_function_lazily(
        &self,
        module: &Module,
        offsets: &VMOffsets,
        index: DefinedFuncIndex,
        body: FunctionBodyData<'_>,
        count_hotness: bool,
    ) -> WasmResult<CompiledText> {
        let single_pass_compiler = self
            .baseline_options
            .as_ref()
            .is_some_and(|options| options.single_pass_compiler);
        link::compile_function_lazily(
            self.lazy_isa(),
            self.lazy_single_pass_isa(),
            single_pass_compiler,
            &self.tunables,
            module,
            offsets,
            index,
            body,
            count_hotness,
        )
    }

    /// Tier-up of a lazily compiled module: defined function `index`
    /// compiled again with the full optimizations (as a whole-module
    /// compile would), in the same shape as
    /// [`Compiler::compile_function_lazily`]'s (calls through funcrefs, its
    /// own text), with no hotness counter.
    pub fn compile_function_optimized(
        &self,
        module: &Module,
        offsets: &VMOffsets,
        index: DefinedFuncIndex,
        body: FunctionBodyData<'_>,
    ) -> WasmResult<CompiledText> {
        link::compile_function_lazily(
            &*self.isa,
            None,
            false,
            &self.tunables,
            module,
            offsets,
            index,
            body,
            false,
        )
    }

    /// Compiles the wasm-to-host trampoline for host functions of type `ty`.
    pub fn compile_host_trampoline(&self, ty: &WasmFuncType) -> WasmResult<CompiledText> {
        translate::check_simd_func_type(&*self.isa, ty)?;
        link::compile_host_trampoline(&*self.isa, ty)
    }
}

/// The Cranelift type that holds values of a wasm type.
pub fn ir_type(ty: WasmValType, pointer_type: ir::Type) -> ir::Type {
    match ty {
        WasmValType::I32 => ir::types::I32,
        WasmValType::I64 => ir::types::I64,
        WasmValType::F32 => ir::types::F32,
        WasmValType::F64 => ir::types::F64,
        WasmValType::V128 => ir::types::I8X16,
        WasmValType::Ref(_) => pointer_type,
    }
}

/// The native signature of a wasm function: `(callee_vmctx, caller_vmctx,
/// params...) -> results`, in the tail-call convention, which allows any
/// number of results.
pub fn wasm_signature(isa: &dyn TargetIsa, ty: &WasmFuncType) -> Signature {
    let pointer = isa.pointer_type();
    let mut sig = Signature::new(CallConv::Tail);
    sig.params
        .push(AbiParam::special(pointer, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(pointer));
    sig.params.extend(
        ty.params
            .iter()
            .map(|t| AbiParam::new(ir_type(*t, pointer))),
    );
    sig.returns.extend(
        ty.results
            .iter()
            .map(|t| AbiParam::new(ir_type(*t, pointer))),
    );
    sig
}

/// Our trap code as Cranelift's.
pub fn trap_code(code: TrapCode) -> ir::TrapCode {
    match code {
        TrapCode::StackOverflow => ir::TrapCode::STACK_OVERFLOW,
        TrapCode::IntegerOverflow => ir::TrapCode::INTEGER_OVERFLOW,
        TrapCode::MemoryOutOfBounds => ir::TrapCode::HEAP_OUT_OF_BOUNDS,
        TrapCode::IntegerDivisionByZero => ir::TrapCode::INTEGER_DIVISION_BY_ZERO,
        TrapCode::BadConversionToInteger => ir::TrapCode::BAD_CONVERSION_TO_INTEGER,
        other => ir::TrapCode::unwrap_user(other as u8),
    }
}

/// Cranelift's trap code as ours.
pub fn from_clif_trap(code: ir::TrapCode) -> Option<TrapCode> {
    Some(match code {
        ir::TrapCode::STACK_OVERFLOW => TrapCode::StackOverflow,
        ir::TrapCode::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
        ir::TrapCode::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
        ir::TrapCode::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivisionByZero,
        ir::TrapCode::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
        other => return TrapCode::from_u8(other.as_raw().get()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_codes_round_trip_through_cranelift() {
        for code in TrapCode::ALL {
            assert_eq!(from_clif_trap(trap_code(code)), Some(code));
        }
    }
}
