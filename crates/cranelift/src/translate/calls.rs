//! Calls: `call`, `call_indirect`, `call_ref` and their tail-call forms
//! (`return_call*`, which replace the caller's frame: every wasm function
//! uses Cranelift's `tail` convention, so any call can be a tail call).

use super::exceptions::CallInst;
use super::FuncTranslator;
use crate::func_environ::Callee;
use hoist_environ::{FuncIndex, TableIndex, TypeIndex, WasmResult};

/// Whether a call returns here or replaces this frame.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    Normal,
    Tail,
}

impl FuncTranslator<'_, '_> {
    pub(crate) fn translate_call(&mut self, function_index: u32, kind: CallKind) -> WasmResult<()> {
        if self.reachable {
            let callee = FuncIndex::from_u32(function_index);
            let n = self.env.module.func_type(callee).params.len();
            let args = self.popn(n);
            let target = self.env.direct_callee(&mut self.builder, callee);
            self.finish_call(target, &args, kind);
        }
        Ok(())
    }

    pub(crate) fn translate_call_indirect(
        &mut self,
        type_index: u32,
        table_index: u32,
        kind: CallKind,
    ) -> WasmResult<()> {
        if self.reachable {
            let ty = TypeIndex::from_u32(type_index);
            let index = self.pop();
            let n = self.env.module.func_sig(ty).params.len();
            let args = self.popn(n);
            let target = self.env.indirect_callee(
                &mut self.builder,
                TableIndex::from_u32(table_index),
                ty,
                index,
            );
            self.finish_call(target, &args, kind);
        }
        Ok(())
    }

    pub(crate) fn translate_call_ref(&mut self, type_index: u32, kind: CallKind) -> WasmResult<()> {
        if self.reachable {
            let ty = TypeIndex::from_u32(type_index);
            let funcref = self.pop();
            let n = self.env.module.func_sig(ty).params.len();
            let args = self.popn(n);
            let target = self.env.ref_callee(&mut self.builder, ty, funcref);
            self.finish_call(target, &args, kind);
        }
        Ok(())
    }

    /// Emits the call: a normal one pushes its results, a tail call ends
    /// the block (nothing after it is reachable).
    fn finish_call(
        &mut self,
        target: Callee,
        args: &[cranelift_codegen::ir::Value],
        kind: CallKind,
    ) {
        match kind {
            CallKind::Normal => {
                let results = self.call(target, args);
                self.stack.extend(results);
            }
            CallKind::Tail => {
                self.env.emit_return_call(&mut self.builder, target, args);
                self.reachable = false;
            }
        }
    }

    /// A normal call from this function (a `try_call` where exception
    /// handlers are in scope).
    pub(crate) fn call(
        &mut self,
        target: Callee,
        args: &[cranelift_codegen::ir::Value],
    ) -> Vec<cranelift_codegen::ir::Value> {
        let full = self.env.call_args(&target, args);
        let (inst, sig) = match target {
            Callee::Direct(f) => (
                CallInst::Direct(f),
                self.builder.func.dfg.ext_funcs[f].signature,
            ),
            Callee::Indirect { sig, code, .. } => (CallInst::Indirect(code), sig),
        };
        self.emit_call_inst(inst, sig, &full)
    }
}
