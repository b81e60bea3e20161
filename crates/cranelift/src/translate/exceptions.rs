//! Exception handling: `try_table`, `throw`, `throw_ref`, and the legacy
//! encoding (`try`, `catch`, `catch_all`, `delegate`, `rethrow`).
//!
//! Zero cost when nothing is thrown: a call made where handlers are in
//! scope becomes a Cranelift `try_call`, whose exception table lists them
//! (innermost first) with the frame's vmctx as the dynamic context, and
//! calls elsewhere stay plain calls. The runtime's unwinder
//! (`hoist_runtime::throw`) matches a thrown exception's tag against those
//! handlers and resumes at the first match with the exception in the first
//! payload register. Tags in exception tables are module-local tag indices;
//! the unwinder resolves them through the frame's vmctx, so imported and
//! re-exported tags keep their identity.
//!
//! A `try_table` clause's handler is a tag handler (or catch-all) whose
//! landing block unpacks the payload and branches to the clause's label.
//! A legacy `try` is desugared into the same machinery without a second
//! lowering: its body runs under one catch-all handler whose landing block
//! tests the tags of its `catch` clauses in order (each test is an
//! identity comparison of the exception's tag with the module's tag), and
//! rethrows to the outer handlers when none matches; the exception is kept
//! in a variable for `rethrow`. `delegate l` is a catch-all whose landing
//! block rethrows with the handlers that are in scope at label `l`.

use super::control::{args, ControlFrame, FrameKind};
use super::FuncTranslator;
use crate::trap_code;
use cranelift_codegen::ir::{
    self, condcodes::IntCC, BlockArg, ExceptionTableData, ExceptionTableItem, ExceptionTag,
    InstBuilder, SigRef, StackSlotData, StackSlotKind, Value,
};
use hoist_environ::{Builtin, TagIndex, TrapCode, WasmResult, VALUE_SLOT_SIZE};
use wasmparser::{Catch, TryTable};

/// One exception handler in scope.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Handler {
    /// The tag it catches; `None` catches everything.
    pub tag: Option<TagIndex>,
    /// Where it resumes, with the exception as the block's one parameter.
    pub landing: ir::Block,
}

/// The instruction that makes a call.
#[derive(Clone, Copy)]
pub(crate) enum CallInst {
    Direct(ir::FuncRef),
    Indirect(Value),
}

impl FuncTranslator<'_, '_> {
    /// Emits a call that returns here: a `try_call` when exception
    /// handlers are in scope, else a plain call. Returns its results.
    pub(crate) fn emit_call_inst(
        &mut self,
        inst: CallInst,
        sig: SigRef,
        args: &[Value],
    ) -> Vec<Value> {
        let handlers = self.handlers.clone();
        self.emit_call_with(inst, sig, args, &handlers)
    }

    /// [`Self::emit_call_inst`] with an explicit set of handlers
    /// (outermost first).
    fn emit_call_with(
        &mut self,
        inst: CallInst,
        sig: SigRef,
        args: &[Value],
        handlers: &[Handler],
    ) -> Vec<Value> {
        if handlers.is_empty() {
            let inst = match inst {
                CallInst::Direct(f) => self.builder.ins().call(f, args),
                CallInst::Indirect(code) => self.builder.ins().call_indirect(sig, code, args),
            };
            return self.builder.inst_results(inst).to_vec();
        }
        let result_types: Vec<ir::Type> = self.builder.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|p| p.value_type)
            .collect();
        let cont = self.builder.create_block();
        for ty in &result_types {
            self.builder.append_block_param(cont, *ty);
        }
        let rets: Vec<BlockArg> = (0..result_types.len() as u32)
            .map(BlockArg::TryCallRet)
            .collect();
        let normal = self.builder.func.dfg.block_call(cont, &rets);
        let mut items = vec![ExceptionTableItem::Context(self.env.vmctx())];
        let mut seen = Vec::new();
        for handler in handlers.iter().rev() {
            let call = self
                .builder
                .func
                .dfg
                .block_call(handler.landing, &[BlockArg::TryCallExn(0)]);
            match handler.tag {
                Some(tag) => {
                    // An inner handler of the same tag already wins.
                    if !seen.contains(&tag) {
                        seen.push(tag);
                        let tag = ExceptionTag::from_u32(tag.as_u32());
                        items.push(ExceptionTableItem::Tag(tag, call));
                    }
                }
                None => {
                    items.push(ExceptionTableItem::Default(call));
                    // Nothing after a catch-all is ever reached.
                    break;
                }
            }
        }
        let table = ExceptionTableData::new(sig, normal, items);
        let table = self.builder.func.dfg.exception_tables.push(table);
        match inst {
            CallInst::Direct(f) => self.builder.ins().try_call(f, args, table),
            CallInst::Indirect(code) => self.builder.ins().try_call_indirect(code, args, table),
        };
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
        self.builder.block_params(cont).to_vec()
    }

    /// Calls a builtin that may throw (under the handlers in scope).
    fn call_throwing_builtin(&mut self, builtin: Builtin, args: &[Value], handlers: &[Handler]) {
        let (sig, code) = self.env.builtin_sig_and_code(&mut self.builder, builtin);
        let mut full = vec![self.env.vmctx()];
        for arg in args {
            full.push(self.env.to_i64(&mut self.builder, *arg));
        }
        self.emit_call_with(CallInst::Indirect(code), sig, &full, handlers);
        // The builtin never returns normally.
        self.builder
            .ins()
            .trap(trap_code(TrapCode::UnreachableCodeReached));
        self.reachable = false;
    }

    /// The values `exn` carries, as tag `tag` defines them.
    fn exception_payload(&mut self, exn: Value, tag: TagIndex) -> Vec<Value> {
        let params = self.env.module.tag_sig(tag).params.to_vec();
        if params.is_empty() {
            return Vec::new();
        }
        let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            params.len() as u32 * VALUE_SLOT_SIZE,
            4,
        ));
        let ptr = self.env.pointer_type;
        let dst = self.builder.ins().stack_addr(ptr, slot, 0);
        self.env
            .call_builtin(&mut self.builder, Builtin::ExnPayload, &[exn, dst]);
        params
            .iter()
            .enumerate()
            .map(|(i, ty)| {
                let ty = crate::ir_type(*ty, ptr);
                let offset = (i as u32 * VALUE_SLOT_SIZE) as i32;
                self.builder.ins().stack_load(ptr, ty, slot, offset)
            })
            .collect()
    }

    // ----- the standard encoding -----

    pub(crate) fn translate_try_table(&mut self, try_table: TryTable) -> WasmResult<()> {
        if !self.reachable {
            self.push_unreachable_frame(wasmparser::FrameKind::TryTable);
            return Ok(());
        }
        let (params, results) = self.block_type(try_table.ty)?;
        let body = self.block_with_params(&params);
        let destination = self.block_with_params(&results);
        let inputs = self.popn(params.len());
        self.builder.ins().jump(body, &args(&inputs));
        // The landing blocks first (the current block is filled): each
        // unpacks the exception and branches to its clause's label, which
        // is counted outside the try_table.
        let first_landing = self.landings.len();
        let mut new_handlers = Vec::new();
        for catch in &try_table.catches {
            let landing = self.builder.create_block();
            let exn = self
                .builder
                .append_block_param(landing, self.env.pointer_type);
            self.builder.switch_to_block(landing);
            self.fuel_reload();
            let (tag, label, with_ref) = match *catch {
                Catch::One { tag, label } => (Some(tag), label, false),
                Catch::OneRef { tag, label } => (Some(tag), label, true),
                Catch::All { label } => (None, label, false),
                Catch::AllRef { label } => (None, label, true),
            };
            let tag = tag.map(TagIndex::from_u32);
            let mut values = match tag {
                Some(tag) => self.exception_payload(exn, tag),
                None => Vec::new(),
            };
            if with_ref {
                values.push(exn);
            }
            let (target, _) = self.mark_branch(label);
            self.builder.ins().jump(target, &args(&values));
            self.landings.push(landing);
            new_handlers.push(Handler { tag, landing });
        }
        // Clauses are tried in order: the first must be innermost.
        self.handlers.extend(new_handlers.into_iter().rev());
        self.builder.switch_to_block(body);
        self.builder.seal_block(body);
        let entry = self.builder.block_params(body).to_vec();
        let stack_height = self.stack.len();
        self.stack.extend(entry);
        self.control.push(ControlFrame {
            kind: FrameKind::TryTable {
                landings: first_landing,
                count: try_table.catches.len(),
            },
            destination,
            num_params: params.len(),
            num_results: results.len(),
            stack_height,
            exit_reachable: false,
            unreachable_entry: false,
            wasm_kind: wasmparser::FrameKind::TryTable,
            handlers_inside: self.handlers.len(),
        });
        Ok(())
    }

    /// At a `try_table`'s `end`: its handlers go out of scope, and its
    /// landing blocks have all their predecessors.
    pub(crate) fn end_try_table(&mut self, landings: usize, count: usize) {
        self.handlers.truncate(self.handlers.len() - count);
        for landing in self.landings.split_off(landings) {
            self.builder.seal_block(landing);
        }
    }

    pub(crate) fn translate_throw(&mut self, tag_index: u32) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let tag = TagIndex::from_u32(tag_index);
        let n = self.env.module.tag_sig(tag).params.len();
        let values = self.popn(n);
        let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (n.max(1) as u32) * VALUE_SLOT_SIZE,
            4,
        ));
        for (i, value) in values.iter().enumerate() {
            let ptr = self.env.pointer_type;
            self.builder
                .ins()
                .stack_store(ptr, *value, slot, (i as u32 * VALUE_SLOT_SIZE) as i32);
        }
        let payload = self
            .builder
            .ins()
            .stack_addr(self.env.pointer_type, slot, 0);
        let tag = self
            .builder
            .ins()
            .iconst(ir::types::I64, i64::from(tag_index));
        let handlers = self.handlers.clone();
        self.call_throwing_builtin(Builtin::Throw, &[tag, payload], &handlers);
        Ok(())
    }

    pub(crate) fn translate_throw_ref(&mut self) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let exn = self.pop();
        self.throw_ref(exn, &self.handlers.clone());
        Ok(())
    }

    /// Rethrows `exn` (trapping on null) under `handlers`.
    fn throw_ref(&mut self, exn: Value, handlers: &[Handler]) {
        self.builder
            .ins()
            .trapz(exn, trap_code(TrapCode::NullReference));
        self.call_throwing_builtin(Builtin::ThrowRef, &[exn], handlers);
    }

    // ----- the legacy encoding -----

    pub(crate) fn translate_legacy_try(&mut self, ty: wasmparser::BlockType) -> WasmResult<()> {
        if !self.reachable {
            self.push_unreachable_frame(wasmparser::FrameKind::LegacyTry);
            return Ok(());
        }
        let (params, results) = self.block_type(ty)?;
        let destination = self.block_with_params(&results);
        let landing = self.builder.create_block();
        self.builder
            .append_block_param(landing, self.env.pointer_type);
        let exn = self.builder.declare_var(self.env.pointer_type);
        self.handlers.push(Handler { tag: None, landing });
        self.control.push(ControlFrame {
            kind: FrameKind::LegacyTry {
                landing,
                exn,
                dispatch: None,
            },
            destination,
            num_params: params.len(),
            num_results: results.len(),
            stack_height: self.stack.len() - params.len(),
            exit_reachable: false,
            unreachable_entry: false,
            wasm_kind: wasmparser::FrameKind::LegacyTry,
            handlers_inside: self.handlers.len(),
        });
        Ok(())
    }

    /// Leaves the `try` body or the previous catch clause (branching to
    /// the try's end), and returns the frame's dispatch block, making it at
    /// the first clause: there the try's handler goes out of scope, and
    /// the landing block saves the exception.
    fn next_clause(&mut self) -> Option<(ir::Block, ir::Value)> {
        let frame = self.control.last().expect("validated: catch inside try");
        let FrameKind::LegacyTry {
            landing,
            exn,
            dispatch,
        } = frame.kind
        else {
            unreachable!("validated: catch follows try");
        };
        let (destination, num_results, height) =
            (frame.destination, frame.num_results, frame.stack_height);
        if self.reachable {
            let results = self.popn(num_results);
            self.builder.ins().jump(destination, &args(&results));
            self.control.last_mut().unwrap().exit_reachable = true;
        }
        self.stack.truncate(height);
        let dispatch = match dispatch {
            Some(block) => block,
            None => {
                // The first clause: the body's handler is done.
                self.handlers.pop();
                self.builder.seal_block(landing);
                self.builder.switch_to_block(landing);
                self.fuel_reload();
                let value = self.builder.block_params(landing)[0];
                self.builder.def_var(exn, value);
                landing
            }
        };
        if dispatch != landing {
            self.builder.switch_to_block(dispatch);
        }
        let value = self.builder.use_var(exn);
        Some((dispatch, value))
    }

    pub(crate) fn translate_legacy_catch(&mut self, tag_index: u32) -> WasmResult<()> {
        if self.control.last().is_some_and(|f| f.unreachable_entry) {
            self.control.last_mut().unwrap().wasm_kind = wasmparser::FrameKind::LegacyCatch;
            return Ok(());
        }
        let Some((_, exn)) = self.next_clause() else {
            return Ok(());
        };
        // In the dispatch block: is it this clause's tag?
        let tag = TagIndex::from_u32(tag_index);
        let thrown = self
            .env
            .call_builtin(&mut self.builder, Builtin::ExnTag, &[exn]);
        let ours = self.env.tag_pointer(&mut self.builder, tag);
        let matches = self.builder.ins().icmp(IntCC::Equal, thrown, ours);
        let clause = self.builder.create_block();
        let next = self.builder.create_block();
        self.builder.ins().brif(matches, clause, &[], next, &[]);
        self.builder.seal_block(clause);
        self.builder.seal_block(next);
        self.builder.switch_to_block(clause);
        let payload = self.exception_payload(exn, tag);
        self.stack.extend(payload);
        self.reachable = true;
        let frame = self.control.last_mut().unwrap();
        if let FrameKind::LegacyTry { dispatch, .. } = &mut frame.kind {
            *dispatch = Some(next);
        }
        frame.wasm_kind = wasmparser::FrameKind::LegacyCatch;
        Ok(())
    }

    pub(crate) fn translate_legacy_catch_all(&mut self) -> WasmResult<()> {
        if self.control.last().is_some_and(|f| f.unreachable_entry) {
            self.control.last_mut().unwrap().wasm_kind = wasmparser::FrameKind::LegacyCatchAll;
            return Ok(());
        }
        if self.next_clause().is_none() {
            return Ok(());
        }
        // Everything left lands here: the dispatch block is the clause.
        self.reachable = true;
        let frame = self.control.last_mut().unwrap();
        if let FrameKind::LegacyTry { dispatch, .. } = &mut frame.kind {
            *dispatch = None;
        }
        // No clause may follow a catch_all (validated), and `end` adds no
        // rethrow after one.
        frame.wasm_kind = wasmparser::FrameKind::LegacyCatchAll;
        Ok(())
    }

    /// At a legacy `try`'s `end`: the last dispatch block (no clause
    /// matched, no catch_all) rethrows to the handlers outside; a `try`
    /// without clauses still needs its landing block ended the same way.
    pub(crate) fn end_legacy_try(&mut self, frame: &ControlFrame) {
        let FrameKind::LegacyTry {
            landing,
            exn,
            dispatch,
        } = frame.kind
        else {
            return;
        };
        if frame.wasm_kind == wasmparser::FrameKind::LegacyTry {
            // No clause at all: the landing block just rethrows.
            self.handlers.pop();
            self.builder.seal_block(landing);
            self.builder.switch_to_block(landing);
            let value = self.builder.block_params(landing)[0];
            self.throw_ref(value, &self.handlers.clone());
            return;
        }
        if frame.wasm_kind == wasmparser::FrameKind::LegacyCatchAll {
            return;
        }
        if let Some(next) = dispatch {
            self.builder.switch_to_block(next);
            let value = self.builder.use_var(exn);
            self.throw_ref(value, &self.handlers.clone());
        }
    }

    /// `delegate l`: ends the `try`; an exception from its body is rethrown
    /// as if from inside label `l` (counted outside the try).
    pub(crate) fn translate_delegate(&mut self, depth: u32) -> WasmResult<()> {
        let frame = self
            .control
            .pop()
            .expect("validated: delegate closes a try");
        if frame.unreachable_entry {
            return Ok(());
        }
        let FrameKind::LegacyTry { landing, .. } = frame.kind else {
            unreachable!("validated: delegate follows try");
        };
        // End the body as `end` would.
        if self.reachable {
            let results = self.popn(frame.num_results);
            self.builder.ins().jump(frame.destination, &args(&results));
        }
        self.stack.truncate(frame.stack_height);
        self.handlers.pop();
        // The handlers in scope inside the target label (the function's
        // outermost label: none, the exception goes to the caller).
        let target = self.control.len() - 1 - depth as usize;
        let handlers: Vec<Handler> = if target == 0 {
            Vec::new()
        } else {
            self.handlers[..self.control[target].handlers_inside].to_vec()
        };
        self.builder.seal_block(landing);
        self.builder.switch_to_block(landing);
        let exn = self.builder.block_params(landing)[0];
        self.throw_ref(exn, &handlers);
        // Continue after the try, as `end` would.
        self.builder.seal_block(frame.destination);
        self.builder.switch_to_block(frame.destination);
        let results = self.builder.block_params(frame.destination).to_vec();
        self.stack.extend(results);
        self.reachable = true;
        Ok(())
    }

    /// `rethrow l`: rethrows the exception caught by the catch clause at
    /// label `l`.
    pub(crate) fn translate_rethrow(&mut self, depth: u32) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let frame = &self.control[self.control.len() - 1 - depth as usize];
        let FrameKind::LegacyTry { exn, .. } = frame.kind else {
            unreachable!("validated: rethrow names a catch clause");
        };
        let value = self.builder.use_var(exn);
        self.throw_ref(value, &self.handlers.clone());
        Ok(())
    }
}
