//! Text renderings of compiled functions, for golden tests and debugging:
//! the optimized Cranelift IR and the lowered machine instructions.

use crate::func_environ::FuncEnvironment;
use crate::translate::{translate_function, FuncTranslatorContext};
use cranelift_codegen::control::ControlPlane;

use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::Context;
use hoist_environ::{translate_module, Tunables, VMOffsets, WasmError, WasmResult};
use std::fmt::Write;

/// Compiles every function of `wasm` and returns, per function, the
/// optimized CLIF followed by the lowered instructions (VCode).
pub fn disassemble(isa: &dyn TargetIsa, tunables: &Tunables, wasm: &[u8]) -> WasmResult<String> {
    let translation = translate_module(wasm)?;
    let module = &translation.module;
    let offsets = VMOffsets::new(isa.pointer_bytes(), module);
    let mut translator = FuncTranslatorContext::default();
    let mut out = String::new();
    for (index, body) in translation.function_bodies {
        let func_index = module.func_index(index);
        let mut env = FuncEnvironment::new(module, &offsets, tunables, isa);
        let func = translate_function(&mut translator, &mut env, func_index, body, false)?;
        let mut ctx = Context::for_function(func);
        ctx.set_disasm(true);
        let vcode = match ctx.compile(isa, &mut ControlPlane::default()) {
            Ok(compiled) => compiled.vcode.clone().unwrap_or_default(),
            Err(e) => return Err(WasmError::Unsupported(format!("{:?}", e.inner))),
        };
        let _ = writeln!(
            out,
            ";; function {}\n;; optimized CLIF\n{}",
            func_index.as_u32(),
            ctx.func.display()
        );
        let _ = writeln!(out, ";; lowered\n{vcode}");
    }
    Ok(out)
}
