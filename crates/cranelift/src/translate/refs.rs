//! Typed function references: null checks and branches on null.

use super::control::args;
use super::FuncTranslator;
use crate::trap_code;
use cranelift_codegen::ir::{condcodes::IntCC, InstBuilder};
use hoist_environ::{TrapCode, WasmResult};

impl FuncTranslator<'_, '_> {
    /// `ref.as_non_null`: traps "null reference" on null, else the operand.
    pub(crate) fn translate_ref_as_non_null(&mut self) -> WasmResult<()> {
        if self.reachable {
            let r = *self.stack.last().expect("validated: an operand");
            self.builder
                .ins()
                .trapz(r, trap_code(TrapCode::NullReference));
        }
        Ok(())
    }

    /// `br_on_null l`: branch (dropping the null) when null, else keep the
    /// reference (now non-null) on the stack.
    pub(crate) fn translate_br_on_null(&mut self, depth: u32) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let r = self.pop();
        let (target, n) = self.mark_branch(depth);
        let values = self.peekn(n).to_vec();
        let next = self.builder.create_block();
        let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
        self.builder
            .ins()
            .brif(is_null, target, &args(&values), next, &[]);
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
        self.push(r);
        Ok(())
    }

    /// `br_on_non_null l`: branch with the reference when non-null, else
    /// drop it and continue.
    pub(crate) fn translate_br_on_non_null(&mut self, depth: u32) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let (target, n) = self.mark_branch(depth);
        // The reference is the last of the branch's values.
        let values = self.peekn(n).to_vec();
        let r = *values
            .last()
            .expect("validated: the branch carries the reference");
        self.pop();
        let next = self.builder.create_block();
        self.builder
            .ins()
            .brif(r, target, &args(&values), next, &[]);
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
        Ok(())
    }

    /// `ref.eq`: identity of two references (null equals null).
    pub(crate) fn translate_ref_eq(&mut self) -> WasmResult<()> {
        if self.reachable {
            let (a, b) = self.pop2();
            let eq = self.builder.ins().icmp(IntCC::Equal, a, b);
            let v = self
                .builder
                .ins()
                .uextend(cranelift_codegen::ir::types::I32, eq);
            self.push(v);
        }
        Ok(())
    }
}
