//! The wasm control stack: blocks, loops and ifs as Cranelift blocks.

use super::FuncTranslator;
use cranelift_codegen::ir::{
    Block, BlockArg, Inst, InstBuilder, StackSlot, StackSlotData, StackSlotKind, Value,
};
use hoist_environ::{WasmResult, WasmValType};

#[derive(Clone, Copy, Debug)]
pub(crate) enum FrameKind {
    Block,
    /// A `try_table`: its catch clauses' landing blocks are
    /// `landings[start..start + count]` of the translator, sealed at `end`.
    TryTable {
        landings: usize,
        count: usize,
    },
    /// A legacy `try`: `landing` receives any exception thrown in the body
    /// (a catch-all handler), which is kept in `exn` for `rethrow`;
    /// `dispatch` is the block that tests the next catch clause's tag.
    LegacyTry {
        landing: Block,
        exn: cranelift_frontend::Variable,
        dispatch: Option<Block>,
    },
    /// Branches go back to `header`, with the loop's parameters.
    Loop {
        header: Block,
    },
    /// `else_block` receives the if's parameters. It is made up front only
    /// when their types differ from the results' (an `else` must follow);
    /// otherwise `branch` takes the false edge straight to the destination,
    /// and the block is made, and the edge moved to it, at an `else` if one
    /// comes. So an `if` without `else` leaves no block that only jumps on
    /// (as wasmtime's translator does: CPython's interpreter loop had 1,000
    /// such blocks, and the register allocator reloaded spilled values
    /// around them).
    If {
        else_block: Option<Block>,
        branch: Inst,
        else_seen: bool,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct ControlFrame {
    pub kind: FrameKind,
    /// Where control continues after `end`; its params are the results.
    pub destination: Block,
    pub num_params: usize,
    pub num_results: usize,
    /// Operand stack height below this frame's parameters.
    pub stack_height: usize,
    /// Whether some branch (or the fallthrough) reaches `destination`.
    pub exit_reachable: bool,
    /// Entered while unreachable: nothing inside is translated.
    pub unreachable_entry: bool,
    /// The construct as the binary reader sees it.
    pub wasm_kind: wasmparser::FrameKind,
    /// How many exception handlers are active inside this construct.
    pub handlers_inside: usize,
}

impl ControlFrame {
    /// The block a branch to this frame jumps to, and how many values it takes.
    pub fn branch_target(&self) -> (Block, usize) {
        match self.kind {
            FrameKind::Loop { header } => (header, self.num_params),
            _ => (self.destination, self.num_results),
        }
    }
}

/// Distinct `br_table` targets past which the values a `br_table` passes
/// go to its edge blocks through a stack slot rather than as one value to
/// every target's block parameter: regalloc2 merges each parameter into
/// that value's bundle, in time and memory quadratic in the targets (40,000
/// targets passing an i32 took 71 s and 9 GB to compile).
const MAX_EDGES_SHARING_VALUES: usize = 4096;

pub(crate) fn args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

impl FuncTranslator<'_, '_> {
    pub(crate) fn block_with_params(&mut self, types: &[WasmValType]) -> Block {
        let block = self.builder.create_block();
        for ty in types {
            self.builder
                .append_block_param(block, crate::ir_type(*ty, self.env.pointer_type));
        }
        block
    }

    /// Pushes a frame for a construct met in unreachable code.
    pub(crate) fn push_unreachable_frame(&mut self, wasm_kind: wasmparser::FrameKind) {
        let destination = self.builder.create_block();
        self.control.push(ControlFrame {
            kind: FrameKind::Block,
            destination,
            num_params: 0,
            num_results: 0,
            stack_height: self.stack.len(),
            exit_reachable: false,
            unreachable_entry: true,
            wasm_kind,
            handlers_inside: self.handlers.len(),
        });
    }

    pub(crate) fn translate_block(&mut self, ty: wasmparser::BlockType) -> WasmResult<()> {
        if !self.reachable {
            self.push_unreachable_frame(wasmparser::FrameKind::Block);
            return Ok(());
        }
        let (params, results) = self.block_type(ty)?;
        let destination = self.block_with_params(&results);
        self.control.push(ControlFrame {
            kind: FrameKind::Block,
            destination,
            num_params: params.len(),
            num_results: results.len(),
            stack_height: self.stack.len() - params.len(),
            exit_reachable: false,
            unreachable_entry: false,
            wasm_kind: wasmparser::FrameKind::Block,
            handlers_inside: self.handlers.len(),
        });
        Ok(())
    }

    pub(crate) fn translate_loop(&mut self, ty: wasmparser::BlockType) -> WasmResult<()> {
        if !self.reachable {
            self.push_unreachable_frame(wasmparser::FrameKind::Loop);
            return Ok(());
        }
        let (params, results) = self.block_type(ty)?;
        self.enter_loop();
        let header = self.block_with_params(&params);
        let destination = self.block_with_params(&results);
        let inputs = self.popn(params.len());
        self.builder.ins().jump(header, &args(&inputs));
        self.builder.switch_to_block(header);
        self.limits_loop_header();
        let header_params = self.builder.block_params(header).to_vec();
        self.stack.extend(header_params);
        self.control.push(ControlFrame {
            kind: FrameKind::Loop { header },
            destination,
            num_params: params.len(),
            num_results: results.len(),
            stack_height: self.stack.len() - params.len(),
            exit_reachable: false,
            unreachable_entry: false,
            wasm_kind: wasmparser::FrameKind::Loop,
            handlers_inside: self.handlers.len(),
        });
        Ok(())
    }

    /// Records a loop starting at the current operator, nested in the loops
    /// still open (the last of `open_loops` until its `end`). Constant
    /// time, however deep the control stack (a body of nested blocks must
    /// not make each loop scan them).
    fn enter_loop(&mut self) {
        let depth = match self.open_loops.last() {
            Some(&parent) => {
                self.loops[parent].innermost = false;
                self.loops[parent].depth + 1
            }
            None => 1,
        };
        let start = self.builder.srcloc().bits();
        self.loops.push(super::LoopSpan {
            start,
            end: start,
            depth,
            innermost: true,
        });
        self.open_loops.push(self.loops.len() - 1);
    }

    pub(crate) fn translate_if(&mut self, ty: wasmparser::BlockType) -> WasmResult<()> {
        if !self.reachable {
            self.push_unreachable_frame(wasmparser::FrameKind::If);
            return Ok(());
        }
        let condition = self.pop();
        let (params, results) = self.block_type(ty)?;
        let destination = self.block_with_params(&results);
        let else_block = (params != results).then(|| self.block_with_params(&params));
        let then_block = self.builder.create_block();
        let inputs = self.peekn(params.len()).to_vec();
        let branch = self.builder.ins().brif(
            condition,
            then_block,
            &[],
            else_block.unwrap_or(destination),
            &args(&inputs),
        );
        self.builder.seal_block(then_block);
        self.builder.switch_to_block(then_block);
        self.control.push(ControlFrame {
            kind: FrameKind::If {
                else_block,
                branch,
                else_seen: false,
            },
            destination,
            num_params: params.len(),
            num_results: results.len(),
            stack_height: self.stack.len() - params.len(),
            exit_reachable: false,
            unreachable_entry: false,
            wasm_kind: wasmparser::FrameKind::If,
            handlers_inside: self.handlers.len(),
        });
        Ok(())
    }

    pub(crate) fn translate_else(&mut self) -> WasmResult<()> {
        let frame = self.control.last_mut().expect("validated: else inside if");
        frame.wasm_kind = wasmparser::FrameKind::Else;
        if frame.unreachable_entry {
            return Ok(());
        }
        let FrameKind::If {
            else_block, branch, ..
        } = frame.kind
        else {
            unreachable!("validated: else follows if");
        };
        let (destination, num_results, height) =
            (frame.destination, frame.num_results, frame.stack_height);
        let else_block = else_block.unwrap_or_else(|| {
            // The parameters' types are the results': the else arm's block
            // takes them as the destination does.
            let block = self.builder.create_block();
            let types: Vec<_> = self
                .builder
                .func
                .dfg
                .block_params(destination)
                .iter()
                .map(|v| self.builder.func.dfg.value_type(*v))
                .collect();
            for ty in types {
                self.builder.append_block_param(block, ty);
            }
            self.builder
                .change_jump_destination(branch, destination, block);
            block
        });
        let frame = self.control.last_mut().expect("the if's frame");
        frame.kind = FrameKind::If {
            else_block: Some(else_block),
            branch,
            else_seen: true,
        };
        if self.reachable {
            frame.exit_reachable = true;
            let results = self.popn(num_results);
            self.builder.ins().jump(destination, &args(&results));
        }
        self.stack.truncate(height);
        // The else arm is reachable whenever the `if` itself was.
        self.builder.seal_block(else_block);
        self.builder.switch_to_block(else_block);
        let params = self.builder.block_params(else_block).to_vec();
        self.stack.extend(params);
        self.reachable = true;
        Ok(())
    }

    pub(crate) fn translate_end(&mut self) -> WasmResult<()> {
        let mut frame = self.control.pop().expect("validated: end closes a frame");
        if frame.unreachable_entry {
            return Ok(());
        }
        if self.reachable {
            frame.exit_reachable = true;
            let results = self.popn(frame.num_results);
            self.builder.ins().jump(frame.destination, &args(&results));
        }
        match frame.kind {
            FrameKind::TryTable { landings, count } => self.end_try_table(landings, count),
            FrameKind::LegacyTry { .. } => self.end_legacy_try(&frame),
            FrameKind::Loop { header } => {
                self.builder.seal_block(header);
                let span = self.open_loops.pop().expect("each loop frame is open");
                self.loops[span].end = self.builder.srcloc().bits();
            }
            FrameKind::If {
                else_block,
                else_seen: false,
                ..
            } => {
                // No else: the implicit else passes the parameters through,
                // straight from the branch or through the block made for
                // parameters of other types.
                if let Some(else_block) = else_block {
                    self.builder.seal_block(else_block);
                    self.builder.switch_to_block(else_block);
                    let params = self.builder.block_params(else_block).to_vec();
                    self.builder.ins().jump(frame.destination, &args(&params));
                }
                frame.exit_reachable = true;
            }
            _ => {}
        }
        self.stack.truncate(frame.stack_height);
        self.builder.seal_block(frame.destination);
        if frame.exit_reachable {
            self.builder.switch_to_block(frame.destination);
            let results = self.builder.block_params(frame.destination).to_vec();
            self.stack.extend(results);
            self.reachable = true;
        } else {
            self.reachable = false;
        }
        Ok(())
    }

    pub(crate) fn translate_br(&mut self, depth: u32) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let (target, n) = self.mark_branch(depth);
        let values = self.peekn(n).to_vec();
        self.builder.ins().jump(target, &args(&values));
        self.reachable = false;
        Ok(())
    }

    pub(crate) fn translate_br_if(&mut self, depth: u32) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let condition = self.pop();
        let (target, n) = self.mark_branch(depth);
        let values = self.peekn(n).to_vec();
        let next = self.builder.create_block();
        self.builder
            .ins()
            .brif(condition, target, &args(&values), next, &[]);
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
        Ok(())
    }

    pub(crate) fn translate_br_table(&mut self, table: wasmparser::BrTable<'_>) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let index = self.pop();
        let mut depths = table.targets().collect::<Result<Vec<u32>, _>>()?;
        depths.push(table.default());
        let (_, n) = self.mark_branch(table.default());
        let values = self.peekn(n).to_vec();
        // With values to pass, every distinct target gets an edge block that
        // jumps with them (a jump table entry cannot carry arguments here).
        let mut edges: std::collections::HashMap<u32, Block> = std::collections::HashMap::new();
        let mut calls = Vec::with_capacity(depths.len());
        for depth in &depths {
            let (target, _) = self.mark_branch(*depth);
            let block = if n == 0 {
                target
            } else {
                *edges
                    .entry(*depth)
                    .or_insert_with(|| self.builder.create_block())
            };
            calls.push(self.builder.func.dfg.block_call(block, &[]));
        }
        let default = calls.pop().expect("default target");
        let data = cranelift_codegen::ir::JumpTableData::new(default, &calls);
        let jt = self.builder.create_jump_table(data);
        // No safepoint lies between the store and the edges' loads, so GC
        // references may pass through the slot too.
        let spilled = (edges.len() > MAX_EDGES_SHARING_VALUES).then(|| self.spill(&values));
        self.builder.ins().br_table(index, jt);
        let mut edges: Vec<(u32, Block)> = edges.into_iter().collect();
        edges.sort_by_key(|(_, b)| *b);
        for (depth, edge) in edges {
            let (target, _) = self.mark_branch(depth);
            self.builder.seal_block(edge);
            self.builder.switch_to_block(edge);
            let passed = match spilled {
                Some(slot) => self.reload(slot, &values),
                None => values.clone(),
            };
            self.builder.ins().jump(target, &args(&passed));
        }
        self.reachable = false;
        Ok(())
    }

    pub(crate) fn translate_return(&mut self) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let n = self.control[0].num_results;
        let values = self.peekn(n).to_vec();
        self.builder.ins().return_(&values);
        self.reachable = false;
        Ok(())
    }

    /// Stores `values` in a new stack slot, 16 bytes each (see
    /// [`MAX_EDGES_SHARING_VALUES`]).
    fn spill(&mut self, values: &[Value]) -> StackSlot {
        let size = u32::try_from(values.len() * 16).expect("a wasm block's arity is small");
        let data = StackSlotData::new(StackSlotKind::ExplicitSlot, size, 4);
        let slot = self.builder.create_sized_stack_slot(data);
        for (i, value) in values.iter().enumerate() {
            let pointer = self.env.pointer_type;
            (self.builder.ins()).stack_store(pointer, *value, slot, (i * 16) as i32);
        }
        slot
    }

    /// `values` (their types) loaded again from [`spill`](Self::spill)'s slot.
    fn reload(&mut self, slot: StackSlot, values: &[Value]) -> Vec<Value> {
        let mut loaded = Vec::with_capacity(values.len());
        for (i, value) in values.iter().enumerate() {
            let ty = self.builder.func.dfg.value_type(*value);
            let pointer = self.env.pointer_type;
            loaded.push((self.builder.ins()).stack_load(pointer, ty, slot, (i * 16) as i32));
        }
        loaded
    }

    /// Marks the frame `depth` levels up as branched to; returns its target.
    pub(crate) fn mark_branch(&mut self, depth: u32) -> (Block, usize) {
        let i = self.control.len() - 1 - depth as usize;
        let frame = &mut self.control[i];
        if !matches!(frame.kind, FrameKind::Loop { .. }) {
            frame.exit_reachable = true;
        }
        frame.branch_target()
    }
}
