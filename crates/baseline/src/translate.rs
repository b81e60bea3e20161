//! One wasm operator at a time to machine code (see the crate comment for
//! the frame layout and the subset).

mod float;

use crate::asm::{Cond, Mem, Size, R10, R11, R8, RAX, RCX, RDI, RDX, RSI, RSP};
use crate::values::Val;
use crate::{
    is_number, is_number_type, unsupported, Compiler, Frame, Kind, ParamLoc, Unsupported, VMCTX,
};
use hoist_environ::{
    Builtin, FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TrapCode, TypeIndex, TypeRef,
    WasmHeapType, WasmValType,
};
use wasmparser::{BlockType, MemArg, MemArgTarget, Operator};

/// ALU opcodes (`op r/m, reg`).
const ADD: u8 = 0x01;
const OR: u8 = 0x09;
const AND: u8 = 0x21;
const SUB: u8 = 0x29;
const XOR: u8 = 0x31;
const CMP: u8 = 0x39;

/// Shift and rotate ModRM extensions.
const ROL: u8 = 0;
const ROR: u8 = 1;
const SHL: u8 = 4;
const SHR: u8 = 5;
const SAR: u8 = 7;

/// How a load extends what it reads.
#[derive(Clone, Copy)]
enum Load {
    /// A full 32- or 64-bit load.
    Full(Size),
    /// 8 or 16 bits, zero- or sign-extended to `Size`.
    Extend(Size, u8, bool),
    /// 32 bits sign-extended to 64.
    Sx32,
}

impl Compiler<'_> {
    pub(crate) fn operator(&mut self, op: &Operator<'_>) -> Result<(), Unsupported> {
        if !self.reachable {
            return self.dead_operator(op);
        }
        if matches!(self.vals.last(), Some(Val::Flags(_)))
            && !matches!(
                op,
                Operator::BrIf { .. }
                    | Operator::If { .. }
                    | Operator::I32Eqz
                    | Operator::Select
                    | Operator::TypedSelect { .. }
            )
        {
            self.materialize_flags();
        }
        if self.fast(op)? {
            return Ok(());
        }
        // Everything else finds every value in its slot.
        self.flush();
        use Operator as O;
        use Size::{S32, S64};
        match *op {
            O::Nop => {}
            O::Unreachable => {
                self.trap_here(TrapCode::UnreachableCodeReached);
                self.asm.ud2();
                self.reachable = false;
            }
            O::Block { blockty } => {
                let (params, results) = self.block_arity(blockty)?;
                let label = self.new_label();
                self.open(Kind::Block, params, results, label, None);
            }
            O::Loop { blockty } => {
                let (params, results) = self.block_arity(blockty)?;
                let label = self.new_label();
                self.bind(label);
                self.open(Kind::Loop, params, results, label, None);
                self.epoch_check();
                self.count_hotness()?;
            }
            O::If { blockty } => {
                let (params, results) = self.block_arity(blockty)?;
                if params > 0 {
                    return unsupported("an `if` with parameters");
                }
                self.pop_to(RAX, S32);
                self.asm.test_rr(S32, RAX, RAX);
                let else_label = self.new_label();
                self.jump_if(Cond::E, else_label);
                let label = self.new_label();
                self.open(Kind::If, params, results, label, Some(else_label));
            }
            O::Else => self.else_()?,
            O::End => self.end(),
            O::Br { relative_depth } => {
                let label = self.branch_values(relative_depth as usize);
                self.jump(label);
                self.reachable = false;
            }
            O::BrTable { ref targets } => {
                let mut depths = Vec::with_capacity(targets.len() as usize);
                for depth in targets.targets() {
                    depths.push(depth.map_err(|e| Unsupported(e.to_string()))? as usize);
                }
                self.br_table(&depths, targets.default() as usize)?;
            }
            O::Return => {
                let n = self.frames[0].results;
                self.return_values(self.under(n));
                self.reachable = false;
            }
            O::MemorySize { mem } => self.memory_size(mem)?,

            O::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index)?,
            O::MemoryGrow { mem } => self.memory_grow(mem)?,
            O::MemoryCopy { dst_mem, src_mem } => self.memory_copy(dst_mem, src_mem)?,
            O::MemoryFill { mem } => self.memory_fill(mem)?,

            O::I32Clz => self.count_zeros(S32, true),
            O::I32Ctz => self.count_zeros(S32, false),
            O::I64Clz => self.count_zeros(S64, true),
            O::I64Ctz => self.count_zeros(S64, false),
            O::I32Popcnt | O::I64Popcnt => {
                if !self.options.popcnt {
                    return unsupported("popcnt on a CPU without it");
                }
                let size = if matches!(op, O::I32Popcnt) { S32 } else { S64 };
                self.unary(size, |a| a.popcnt(size, RAX, RAX));
            }

            ref other => return unsupported(format!("{other:?}")),
        }
        self.vals.resize(self.sp, Val::Slot);
        self.dirty_from = self.dirty_from.min(self.sp);
        Ok(())
    }

    /// The operators that take their operands where they are (see
    /// `values`): locals, constants, integer arithmetic, comparisons,
    /// loads and stores, `br_if`. False for any other.
    fn fast(&mut self, op: &Operator<'_>) -> Result<bool, Unsupported> {
        use Operator as O;
        use Size::{S32, S64};
        match *op {
            O::LocalGet { local_index } => self.push_val(Val::Local(local_index)),
            O::LocalSet { local_index } => self.set_local(local_index, false),
            O::LocalTee { local_index } => self.set_local(local_index, true),
            O::I32Const { value } => self.push_val(Val::Const(i64::from(value))),
            O::I64Const { value } => self.push_val(Val::Const(value)),
            O::Drop => {
                self.pop_val();
            }
            // The low 32 bits are the i32 already.
            O::I32WrapI64 => {}

            O::I32Load { memarg } => self.load(memarg, 4, Load::Full(S32))?,
            O::I64Load { memarg } => self.load(memarg, 8, Load::Full(S64))?,
            O::I32Load8S { memarg } => self.load(memarg, 1, Load::Extend(S32, 8, true))?,
            O::I32Load8U { memarg } => self.load(memarg, 1, Load::Extend(S32, 8, false))?,
            O::I32Load16S { memarg } => self.load(memarg, 2, Load::Extend(S32, 16, true))?,
            O::I32Load16U { memarg } => self.load(memarg, 2, Load::Extend(S32, 16, false))?,
            O::I64Load8S { memarg } => self.load(memarg, 1, Load::Extend(S64, 8, true))?,
            O::I64Load8U { memarg } => self.load(memarg, 1, Load::Extend(S32, 8, false))?,
            O::I64Load16S { memarg } => self.load(memarg, 2, Load::Extend(S64, 16, true))?,
            O::I64Load16U { memarg } => self.load(memarg, 2, Load::Extend(S32, 16, false))?,
            O::I64Load32S { memarg } => self.load(memarg, 4, Load::Sx32)?,
            O::I64Load32U { memarg } => self.load(memarg, 4, Load::Full(S32))?,
            O::I32Store { memarg } | O::I64Store32 { memarg } => self.store(memarg, 4)?,
            O::I64Store { memarg } => self.store(memarg, 8)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(memarg, 1)?,
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(memarg, 2)?,

            O::BrIf { relative_depth } => self.br_if(relative_depth as usize),
            O::Select => self.select(),
            O::TypedSelect { ty } => {
                if !is_number_type(ty) {
                    return unsupported("a select of a type other than i32, i64, f32 or f64");
                }
                self.select();
            }
            O::GlobalGet { global_index } => {
                self.free_rax(None);
                let (base, disp, size) = self.global(global_index)?;
                self.asm.load(size, RAX, Mem::base(base, disp));
                self.push_val(Val::Rax);
            }
            O::GlobalSet { global_index } => {
                // The value into rcx first: finding the global uses rdx.
                let size = self.global_size(global_index)?;
                let i = self.under(1);
                self.fetch(i, RCX, size);
                self.pop_val();
                let (base, disp, _) = self.global(global_index)?;
                self.asm.store(size, Mem::base(base, disp), RCX);
            }
            O::Call { function_index } => self.call(function_index)?,
            O::I32DivS => self.divide(S32, true, false),
            O::I32DivU => self.divide(S32, false, false),
            O::I32RemS => self.divide(S32, true, true),
            O::I32RemU => self.divide(S32, false, true),
            O::I64DivS => self.divide(S64, true, false),
            O::I64DivU => self.divide(S64, false, false),
            O::I64RemS => self.divide(S64, true, true),
            O::I64RemU => self.divide(S64, false, true),
            O::If { blockty } if matches!(self.vals.last(), Some(Val::Flags(_))) => {
                self.if_flags(blockty)?
            }

            O::I32Add => self.alu(S32, ADD),
            O::I32Sub => self.alu(S32, SUB),
            O::I32Mul => self.binary(S32, |a| a.imul_rr(S32, RAX, RCX)),
            O::I32And => self.alu(S32, AND),
            O::I32Or => self.alu(S32, OR),
            O::I32Xor => self.alu(S32, XOR),
            O::I32Shl => self.shift(S32, SHL),
            O::I32ShrS => self.shift(S32, SAR),
            O::I32ShrU => self.shift(S32, SHR),
            O::I32Rotl => self.shift(S32, ROL),
            O::I32Rotr => self.shift(S32, ROR),
            O::I64Add => self.alu(S64, ADD),
            O::I64Sub => self.alu(S64, SUB),
            O::I64Mul => self.binary(S64, |a| a.imul_rr(S64, RAX, RCX)),
            O::I64And => self.alu(S64, AND),
            O::I64Or => self.alu(S64, OR),
            O::I64Xor => self.alu(S64, XOR),
            O::I64Shl => self.shift(S64, SHL),
            O::I64ShrS => self.shift(S64, SAR),
            O::I64ShrU => self.shift(S64, SHR),
            O::I64Rotl => self.shift(S64, ROL),
            O::I64Rotr => self.shift(S64, ROR),

            O::I32Eq => self.compare(S32, Cond::E),
            O::I32Ne => self.compare(S32, Cond::Ne),
            O::I32LtS => self.compare(S32, Cond::L),
            O::I32LtU => self.compare(S32, Cond::B),
            O::I32GtS => self.compare(S32, Cond::G),
            O::I32GtU => self.compare(S32, Cond::A),
            O::I32LeS => self.compare(S32, Cond::Le),
            O::I32LeU => self.compare(S32, Cond::Be),
            O::I32GeS => self.compare(S32, Cond::Ge),
            O::I32GeU => self.compare(S32, Cond::Ae),
            O::I64Eq => self.compare(S64, Cond::E),
            O::I64Ne => self.compare(S64, Cond::Ne),
            O::I64LtS => self.compare(S64, Cond::L),
            O::I64LtU => self.compare(S64, Cond::B),
            O::I64GtS => self.compare(S64, Cond::G),
            O::I64GtU => self.compare(S64, Cond::A),
            O::I64LeS => self.compare(S64, Cond::Le),
            O::I64LeU => self.compare(S64, Cond::Be),
            O::I64GeS => self.compare(S64, Cond::Ge),
            O::I64GeU => self.compare(S64, Cond::Ae),
            O::I32Eqz => self.eqz(S32),
            O::I64Eqz => self.eqz(S64),

            O::I64ExtendI32S => self.unary(S32, |a| a.extend_rr(S64, RAX, RAX, 32, true)),
            // A 32-bit fetch zero-extends.
            O::I64ExtendI32U => self.unary(S32, |_| {}),
            O::I32Extend8S => self.unary(S32, |a| a.extend_rr(S32, RAX, RAX, 8, true)),
            O::I32Extend16S => self.unary(S32, |a| a.extend_rr(S32, RAX, RAX, 16, true)),
            O::I64Extend8S => self.unary(S64, |a| a.extend_rr(S64, RAX, RAX, 8, true)),
            O::I64Extend16S => self.unary(S64, |a| a.extend_rr(S64, RAX, RAX, 16, true)),
            O::I64Extend32S => self.unary(S64, |a| a.extend_rr(S64, RAX, RAX, 32, true)),
            _ => return self.float(op),
        }
        Ok(true)
    }

    /// `local.set` (`tee`: the value stays, as a copy of the local).
    fn set_local(&mut self, j: u32, tee: bool) {
        let i = self.under(1);
        if self.vals.get(i) != Some(&Val::Local(j)) {
            // Values that are the local's old value keep it.
            self.spill_local(j, Some(i));
            self.write_local(i, j);
        }
        if tee {
            if let Some(val) = self.vals.get_mut(i) {
                *val = Val::Local(j);
                self.dirty_from = self.dirty_from.min(i);
            }
        } else {
            self.pop_val();
        }
    }

    /// In unreachable code: only the nesting matters, until the `else` or
    /// `end` of the frame that became unreachable.
    fn dead_operator(&mut self, op: &Operator<'_>) -> Result<(), Unsupported> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.dead_depth += 1
            }
            // Exception handling's blocks nest too; the function is not
            // compiled here anyway once one is met reachable, but a dead
            // one must still be counted.
            Operator::TryTable { .. } | Operator::Try { .. } => self.dead_depth += 1,
            Operator::Else if self.dead_depth == 0 => self.else_()?,
            Operator::End if self.dead_depth == 0 => self.end(),
            Operator::End => self.dead_depth -= 1,
            // The legacy `try ... delegate` ends without an `end`. A
            // reachable `try` is never compiled here, so one of ours
            // cannot end this way.
            Operator::Delegate { .. } if self.dead_depth > 0 => self.dead_depth -= 1,
            Operator::Delegate { .. } | Operator::Catch { .. } | Operator::CatchAll
                if self.dead_depth == 0 =>
            {
                self.broken.set(true)
            }
            _ => {}
        }
        // An `else` or `end` set the height: every value is in its slot.
        self.vals.resize(self.sp, Val::Slot);
        self.dirty_from = self.dirty_from.min(self.sp);
        Ok(())
    }

    /// (parameters, results) of a block type, all integers or floats.
    fn block_arity(&self, ty: BlockType) -> Result<(usize, usize), Unsupported> {
        match ty {
            BlockType::Empty => Ok((0, 0)),
            BlockType::Type(t) if is_number_type(t) => Ok((0, 1)),
            BlockType::Type(_) => unsupported("a block of a type other than a number"),
            BlockType::FuncType(index) => {
                let sig = self.module.func_sig(TypeIndex::from_u32(index));
                if sig.params.iter().chain(sig.results.iter()).all(is_number) {
                    Ok((sig.params.len(), sig.results.len()))
                } else {
                    unsupported("a block type with a type other than a number")
                }
            }
        }
    }

    fn open(
        &mut self,
        kind: Kind,
        params: usize,
        results: usize,
        label: usize,
        else_label: Option<usize>,
    ) {
        self.frames.push(Frame {
            kind,
            height: self.under(params),
            params,
            results,
            label,
            else_label,
            branched: false,
            then_reachable: false,
        });
    }

    fn else_(&mut self) -> Result<(), Unsupported> {
        let reachable = self.reachable;
        if self.frames.last().map(|f| f.kind) != Some(Kind::If) {
            self.broken.set(true);
            return Ok(());
        }
        let (label, else_label) = {
            let Some(frame) = self.frames.last_mut() else {
                return Ok(());
            };
            frame.then_reachable = reachable;
            frame.kind = Kind::Else;
            (frame.label, frame.else_label.take())
        };
        if reachable {
            self.jump(label);
        }
        if let Some(else_label) = else_label {
            self.bind(else_label);
        }
        let Some(frame) = self.frames.last() else {
            return Ok(());
        };
        self.sp = frame.height + frame.params;
        self.reachable = true;
        Ok(())
    }

    fn end(&mut self) {
        let Some(frame) = self.frames.pop() else {
            self.broken.set(true);
            return;
        };
        let was_reachable = self.reachable;
        let reachable = match frame.kind {
            Kind::Loop => was_reachable,
            Kind::Block => {
                self.bind(frame.label);
                was_reachable || frame.branched
            }
            Kind::If => {
                // No `else`: the false condition arrives here.
                if let Some(else_label) = frame.else_label {
                    self.bind(else_label);
                }
                self.bind(frame.label);
                true
            }
            Kind::Else => {
                self.bind(frame.label);
                was_reachable || frame.then_reachable || frame.branched
            }
        };
        self.sp = frame.height + frame.results;
        self.max_sp = self.max_sp.max(self.sp);
        self.reachable = reachable;
        self.dead_depth = 0;
        if self.frames.is_empty() && reachable {
            // The function's end: its results from the bottom slots.
            self.return_values(0);
        }
    }

    /// Copies a branch's values to where frame `depth` (0: innermost)
    /// expects them, and returns the label to jump to.
    fn branch_values(&mut self, depth: usize) -> usize {
        let index = self.frame_index(depth);
        let frame = &mut self.frames[index];
        let arity = if frame.kind == Kind::Loop {
            frame.params
        } else {
            frame.branched = true;
            frame.results
        };
        let (to, label) = (frame.height, frame.label);
        let from = self.under(arity);
        if from != to {
            for k in 0..arity {
                let (src, dst) = (self.slot(from + k), self.slot(to + k));
                self.asm.load(Size::S64, RAX, src);
                self.asm.store(Size::S64, dst, RAX);
            }
        }
        label
    }

    /// The index in `frames` of the frame `depth` out (0: the innermost);
    /// the outermost, out of step (see `broken`), if there is no such
    /// frame. `frames` is never empty while operators are translated.
    fn frame_index(&self, depth: usize) -> usize {
        self.frames.len().checked_sub(1 + depth).unwrap_or_else(|| {
            self.broken.set(true);
            0
        })
    }

    /// Whether a branch to frame `depth` from here moves values.
    fn branch_moves(&self, depth: usize) -> bool {
        let frame = &self.frames[self.frame_index(depth)];
        let arity = if frame.kind == Kind::Loop {
            frame.params
        } else {
            frame.results
        };
        arity > 0 && self.under(arity) != frame.height
    }

    fn br_if(&mut self, depth: usize) {
        let cond = self.pop_condition();
        if self.branch_moves(depth) {
            let skip = self.new_label();
            self.jump_if(cond.invert(), skip);
            let label = self.branch_values(depth);
            self.jump(label);
            self.bind(skip);
        } else {
            let label = self.branch_values(depth);
            self.jump_if(cond, label);
        }
    }

    /// Pops the top value, an i32 condition, and flushes every other value
    /// to its slot (what a branch needs); returns the condition on the
    /// flags under which it is true. Only moves follow the flags' setting,
    /// so the caller's jump reads them.
    fn pop_condition(&mut self) -> Cond {
        let i = self.under(1);
        if let Some(Val::Flags(cond)) = self.vals.get(i).copied() {
            self.pop_val();
            self.flush();
            return cond;
        }
        self.fetch(i, RCX, Size::S32);
        self.pop_val();
        self.flush();
        self.asm.test_rr(Size::S32, RCX, RCX);
        Cond::Ne
    }

    /// `if` on a comparison's flags (see [`Val::Flags`]).
    fn if_flags(&mut self, blockty: BlockType) -> Result<(), Unsupported> {
        let (params, results) = self.block_arity(blockty)?;
        if params > 0 {
            return unsupported("an `if` with parameters");
        }
        let cond = self.pop_condition();
        let else_label = self.new_label();
        self.jump_if(cond.invert(), else_label);
        let label = self.new_label();
        self.open(Kind::If, params, results, label, Some(else_label));
        Ok(())
    }

    /// `br_table`: a bounds check to the default, then a table of 32-bit
    /// offsets from the table's start; targets whose values move get a
    /// stub that moves them.
    fn br_table(&mut self, depths: &[usize], default: usize) -> Result<(), Unsupported> {
        let Ok(count) = i32::try_from(depths.len()) else {
            return unsupported("a br_table too big");
        };
        self.pop_to(RAX, Size::S32);
        let default_label = self.new_label();
        self.asm.cmp_imm(Size::S32, RAX, count);
        self.jump_if(Cond::Ae, default_label);
        // A mispredicted check must not read past the table: entry 0 then
        // (`mov` keeps the flags).
        self.asm.mov_imm(RCX, 0);
        self.asm.cmov(Size::S32, Cond::Ae, RAX, RCX);
        let lea = self.asm.lea_rip(RCX);
        let entry = Mem {
            base: RCX,
            index: Some((RAX, 2)),
            disp: 0,
        };
        self.asm.load_sx32(RAX, entry);
        self.asm.alu_rr(Size::S64, ADD, RAX, RCX);
        self.asm.jmp_reg(RAX);
        let table = self.asm.offset();
        self.asm.patch_rel32(lea, table);
        // One stub per target depth that moves values.
        let mut stubs: Vec<(usize, usize)> = Vec::new();
        for &depth in depths {
            let at = self.asm.placeholder();
            let label = if self.branch_moves(depth) {
                match stubs.iter().find(|(d, _)| *d == depth) {
                    Some((_, stub)) => *stub,
                    None => {
                        let stub = self.new_label();
                        stubs.push((depth, stub));
                        stub
                    }
                }
            } else {
                let index = self.frame_index(depth);
                if self.frames[index].kind != Kind::Loop {
                    self.frames[index].branched = true;
                }
                self.frames[index].label
            };
            match self.labels[label].bound {
                Some(target) => self.asm.patch_u32(at, target.wrapping_sub(table)),
                None => self.labels[label].uses.push((at, Some(table))),
            }
        }
        self.bind(default_label);
        let label = self.branch_values(default);
        self.jump(label);
        for (depth, stub) in stubs {
            self.bind(stub);
            let label = self.branch_values(depth);
            self.jump(label);
        }
        self.reachable = false;
        Ok(())
    }

    /// Pops the top value into `reg`.
    fn pop_to(&mut self, reg: u8, size: Size) {
        let top = self.top(0);
        self.asm.load(size, reg, top);
        self.drop_values(1);
    }

    /// `select`: the first value unless the condition (on the flags, or
    /// an i32 fetched into rdx) is false, with a `cmov`; left in rax. The
    /// moves that fetch the values keep the flags.
    fn select(&mut self) {
        let c = self.under(1);
        let flags = match self.vals.get(c).copied() {
            Some(Val::Flags(cond)) => Some(cond),
            _ => {
                self.fetch(c, RDX, Size::S32);
                None
            }
        };
        self.pop_val();
        self.operands(Size::S64);
        let cond = flags.unwrap_or_else(|| {
            self.asm.test_rr(Size::S32, RDX, RDX);
            Cond::Ne
        });
        self.asm.cmov(Size::S64, cond.invert(), RAX, RCX);
        self.push_val(Val::Rax);
    }

    /// The top two values into rax (the first) and rcx (the second),
    /// whatever holds rax now.
    fn operands(&mut self, size: Size) {
        let (a, b) = (self.under(2), self.under(1));
        if self.vals.get(b) == Some(&Val::Rax) {
            self.fetch(b, RCX, size);
            self.fetch(a, RAX, size);
        } else {
            if self.vals.get(a) != Some(&Val::Rax) {
                self.free_rax(None);
            }
            self.fetch(a, RAX, size);
            self.fetch(b, RCX, size);
        }
        self.pop_val();
        self.pop_val();
    }

    /// `rax = top(1) op top(0)`, replacing both, left in rax.
    fn binary(&mut self, size: Size, op: impl FnOnce(&mut crate::asm::Asm)) {
        self.operands(size);
        op(&mut self.asm);
        self.push_val(Val::Rax);
    }

    /// `rax = top(1) op top(0)` for an ALU opcode as [`Asm::alu_rr`]
    /// takes it: with an immediate when the second operand is a constant
    /// that fits one.
    fn alu(&mut self, size: Size, op: u8) {
        match self.immediate(size) {
            Some(imm) => self.unary(size, |a| a.alu_ri(size, op, RAX, imm)),
            None => self.binary(size, |a| a.alu_rr(size, op, RAX, RCX)),
        }
    }

    /// A shift or rotate (`ext` as [`Asm::shift_cl`] takes it): by an
    /// immediate when the count is a constant (masked to the width, as
    /// wasm and x86 both mask it).
    fn shift(&mut self, size: Size, ext: u8) {
        match self.immediate(size) {
            Some(count) => {
                let mask = if size == Size::S64 { 63 } else { 31 };
                self.unary(size, |a| a.shift_imm(size, ext, RAX, count as u8 & mask));
            }
            None => self.binary(size, |a| a.shift_cl(size, ext, RAX)),
        }
    }

    /// If the top value is a constant that an instruction of `size` can
    /// take as a 32-bit immediate (a 64-bit one sign-extends it), pops it
    /// and returns it.
    fn immediate(&mut self, size: Size) -> Option<i32> {
        let Some(Val::Const(c)) = self.vals.get(self.under(1)).copied() else {
            return None;
        };
        // An i32 constant's low 32 bits are its value.
        let imm = match size {
            Size::S32 => c as i32,
            Size::S64 => i32::try_from(c).ok()?,
        };
        self.pop_val();
        Some(imm)
    }

    /// `rax = op top(0)`, read as `size`, left in rax.
    fn unary(&mut self, size: Size, op: impl FnOnce(&mut crate::asm::Asm)) {
        let i = self.under(1);
        self.free_rax(Some(i));
        self.fetch(i, RAX, size);
        op(&mut self.asm);
        self.pop_val();
        self.push_val(Val::Rax);
    }

    /// A comparison, left on the flags (see [`Val::Flags`]).
    fn compare(&mut self, size: Size, cond: Cond) {
        match self.immediate(size) {
            Some(imm) => {
                let i = self.under(1);
                self.free_rax(Some(i));
                self.fetch(i, RAX, size);
                self.pop_val();
                self.asm.alu_ri(size, CMP, RAX, imm);
            }
            None => {
                self.operands(size);
                self.asm.alu_rr(size, CMP, RAX, RCX);
            }
        }
        self.push_val(Val::Flags(cond));
    }

    /// `eqz`, left on the flags; of a comparison on the flags, its inverse.
    fn eqz(&mut self, size: Size) {
        let i = self.under(1);
        if let Some(Val::Flags(cond)) = self.vals.get(i).copied() {
            self.vals[i] = Val::Flags(cond.invert());
            return;
        }
        self.free_rax(Some(i));
        self.fetch(i, RAX, size);
        self.pop_val();
        self.asm.test_rr(size, RAX, RAX);
        self.push_val(Val::Flags(Cond::E));
    }

    /// `clz` (`leading`) or `ctz`, defined for zero (the width).
    fn count_zeros(&mut self, size: Size, leading: bool) {
        let bits = if size == Size::S64 { 64 } else { 32 };
        self.unary(size, |a| {
            a.bit_scan(size, RAX, RAX, leading);
            if leading {
                // bsr gives the top set bit's index; zero gives -1, so
                // that (bits - 1) - index is the count either way.
                a.mov_imm(RCX, -1);
                a.cmov(size, Cond::E, RAX, RCX);
                a.mov_imm(RCX, bits - 1);
                a.alu_rr(size, SUB, RCX, RAX);
                a.mov_rr(size, RAX, RCX);
            } else {
                a.mov_imm(RCX, bits);
                a.cmov(size, Cond::E, RAX, RCX);
            }
        });
    }

    /// `div`/`rem`, signed or not: traps on a zero divisor, and a signed
    /// division of the minimum by -1 traps (overflow) where the remainder
    /// is 0 (x86's `idiv` faults on both).
    fn divide(&mut self, size: Size, signed: bool, remainder: bool) {
        self.operands(size);
        self.asm.test_rr(size, RCX, RCX);
        self.trap_if(Cond::E, TrapCode::IntegerDivisionByZero);
        let done = self.new_label();
        if signed {
            let normal = self.new_label();
            self.asm.cmp_imm(size, RCX, -1);
            self.jump_if(Cond::Ne, normal);
            if remainder {
                self.asm.alu_rr(Size::S32, XOR, RAX, RAX);
                self.jump(done);
            } else {
                let min = if size == Size::S64 {
                    i64::MIN
                } else {
                    i64::from(i32::MIN)
                };
                self.asm.mov_imm(RDX, min);
                self.asm.alu_rr(size, CMP, RAX, RDX);
                self.trap_if(Cond::E, TrapCode::IntegerOverflow);
            }
            self.bind(normal);
            self.asm.sign_extend_rax(size);
        } else {
            self.asm.alu_rr(Size::S32, XOR, RDX, RDX);
        }
        self.asm.div(size, RCX, signed);
        if remainder {
            self.asm.mov_rr(size, RAX, RDX);
        }
        self.bind(done);
        self.push_val(Val::Rax);
    }

    /// The size of a global's value: a number's.
    fn global_size(&self, index: u32) -> Result<Size, Unsupported> {
        match self.module.globals[GlobalIndex::from_u32(index)].ty {
            WasmValType::I32 | WasmValType::F32 => Ok(Size::S32),
            WasmValType::I64 | WasmValType::F64 => Ok(Size::S64),
            _ => unsupported("a global of a type other than a number"),
        }
    }

    /// A global's address: base register (rdx, loaded here) and
    /// displacement, and its size.
    fn global(&mut self, index: u32) -> Result<(u8, i32, Size), Unsupported> {
        let global = GlobalIndex::from_u32(index);
        let size = self.global_size(index)?;
        self.asm.load(Size::S64, RDX, VMCTX);
        match self.module.defined_global_index(global) {
            Some(def) => Ok((RDX, self.offsets.vmctx_defined_global(def) as i32, size)),
            None => {
                let pointer = self.offsets.vmctx_global_pointer(global) as i32;
                self.asm.load(Size::S64, RDX, Mem::base(RDX, pointer));
                Ok((RDX, 0, size))
            }
        }
    }

    /// Loads the memory's base into rax unless it is pinned (the index is
    /// in rcx, zero-extended) and returns the access's address, if the guard region
    /// catches every out-of-bounds access of `size` bytes (the
    /// bounds-check ladder's case 1); else unsupported. Uses r11.
    fn address(&mut self, memarg: MemArg, size: u64) -> Result<Mem, Unsupported> {
        let memory = match memarg.target {
            wasmparser::MemArgTarget::Memory(index) => MemoryIndex::from_u32(index),
            wasmparser::MemArgTarget::Array(_) => return unsupported("an array access"),
        };
        let end = memarg.offset.saturating_add(size);
        if !crate::pinning::reserved_4gib(self.module, self.tunables, memory)
            || end > self.tunables.memory_guard_size
        {
            return unsupported("a memory access the guard region does not cover");
        }
        let Ok(disp) = i32::try_from(memarg.offset) else {
            return unsupported("a memory offset of 2 GiB or more");
        };
        if let Some((pinned, reg)) = self.pinning.memory {
            if pinned == memory {
                return Ok(Mem::indexed(reg, RCX, disp));
            }
        }
        self.asm.load(Size::S64, R11, VMCTX);
        let base = self.offsets.vmctx_memory_base(memory) as i32;
        self.asm.load(Size::S64, RAX, Mem::base(R11, base));
        Ok(Mem::indexed(RAX, RCX, disp))
    }

    /// A load; the result is left in rax.
    fn load(&mut self, memarg: MemArg, bytes: u64, kind: Load) -> Result<(), Unsupported> {
        let index = self.under(1);
        self.fetch(index, RCX, Size::S32);
        self.pop_val();
        self.free_rax(None);
        let at = self.address(memarg, bytes)?;
        self.trap_here(TrapCode::MemoryOutOfBounds);
        match kind {
            Load::Full(size) => self.asm.load(size, RAX, at),
            Load::Extend(size, bits, signed) => self.asm.load_extend(size, RAX, at, bits, signed),
            Load::Sx32 => self.asm.load_sx32(RAX, at),
        }
        self.push_val(Val::Rax);
        Ok(())
    }

    fn store(&mut self, memarg: MemArg, bytes: u64) -> Result<(), Unsupported> {
        let (value, index) = (self.under(1), self.under(2));
        self.fetch(value, RDX, Size::S64);
        self.fetch(index, RCX, Size::S32);
        self.pop_val();
        self.pop_val();
        let pinned = self
            .pinning
            .memory
            .map(|(m, _)| MemArgTarget::Memory(m.as_u32()));
        if pinned != Some(memarg.target) {
            // The base goes to rax.
            self.free_rax(None);
        }
        let at = self.address(memarg, bytes)?;
        self.trap_here(TrapCode::MemoryOutOfBounds);
        match bytes {
            1 => self.asm.store8(at, RDX),
            2 => self.asm.store16(at, RDX),
            4 => self.asm.store(Size::S32, at, RDX),
            _ => self.asm.store(Size::S64, at, RDX),
        }
        Ok(())
    }

    fn memory_size(&mut self, mem: u32) -> Result<(), Unsupported> {
        let memory = MemoryIndex::from_u32(mem);
        let ty = &self.module.memories[memory];
        let (memory64, log2) = (ty.memory64, ty.page_size_log2);
        self.asm.load(Size::S64, RDX, VMCTX);
        let pointer = self.offsets.vmctx_memory_pointer(memory) as i32;
        self.asm.load(Size::S64, RAX, Mem::base(RDX, pointer));
        // An aligned 8-byte load is atomic (a shared memory's length).
        let length = self.offsets.memory_current_length() as i32;
        self.asm.load(Size::S64, RAX, Mem::base(RAX, length));
        self.asm.shr_imm(Size::S64, RAX, log2);
        let slot = self.push_slot();
        self.asm
            .store(if memory64 { Size::S64 } else { Size::S32 }, slot, RAX);
        Ok(())
    }

    /// `call`: through the callee's funcref in this vmctx (as all calls of
    /// lazily compiled code go), so a callee not compiled yet is compiled
    /// by its stub first. The arguments go from where they are (see
    /// `values`) to where the callee takes them; the values below them to
    /// their slots, as the call keeps no other register than the pinned
    /// ones. A single integer result stays in rax.
    fn call(&mut self, index: u32) -> Result<(), Unsupported> {
        let callee = FuncIndex::from_u32(index);
        let abi = crate::abi(self.module.func_type(callee))?;
        let Ok(funcref) = i32::try_from(self.offsets.vmctx_funcref(callee)) else {
            return unsupported("a funcref offset too big");
        };
        self.pass_args(&abi);
        self.asm.load(Size::S64, RSI, VMCTX);
        if self.module.is_imported_func(callee) {
            let vmctx = funcref + self.offsets.funcref_vmctx() as i32;
            self.asm.load(Size::S64, RDI, Mem::base(RSI, vmctx));
        } else {
            self.asm.mov_rr(Size::S64, RDI, RSI);
        }
        let code = funcref + self.offsets.funcref_wasm_call() as i32;
        self.asm.load(Size::S64, RAX, Mem::base(RSI, code));
        self.asm.call_reg(RAX);
        if abi.stack_bytes > 0 {
            self.asm.sub_rsp_imm(abi.stack_bytes);
        }
        if let [ParamLoc::Reg(RAX)] = abi.results[..] {
            self.push_val(Val::Rax);
        } else {
            self.push_results(&abi);
            let sp = self.sp;
            self.vals.resize(sp, Val::Slot);
        }
        Ok(())
    }

    /// [`Compiler::call_args`] from wherever the arguments are: stack
    /// arguments first (through r11, as rax may hold an argument), then
    /// float and integer registers, none of which holds a value. Flushes
    /// the values below the arguments, and pops the arguments.
    fn pass_args(&mut self, abi: &crate::Abi) {
        let n = abi.params.len();
        let base = self.under(n);
        self.flush_below(base);
        self.max_out = self.max_out.max(abi.stack_bytes);
        for (k, loc) in abi.params.iter().enumerate() {
            if let ParamLoc::Stack(offset) = *loc {
                let arg = Mem::base(RSP, offset as i32);
                if self.vals.get(base + k) == Some(&Val::Rax) {
                    self.asm.store(Size::S64, arg, RAX);
                } else {
                    self.fetch(base + k, R11, Size::S64);
                    self.asm.store(Size::S64, arg, R11);
                }
            }
        }
        for (k, loc) in abi.params.iter().enumerate() {
            match *loc {
                ParamLoc::Xmm(x) => {
                    self.fetch(base + k, R11, Size::S64);
                    self.asm.movq_to_xmm(x, R11);
                }
                ParamLoc::Reg(reg) => self.fetch(base + k, reg, Size::S64),
                ParamLoc::Stack(_) => {}
            }
        }
        for _ in 0..n {
            self.pop_val();
        }
    }

    /// `call_indirect`: the element's bounds ("undefined element"), its
    /// null check ("uninitialized element", by faulting on the null
    /// funcref) and the signature check ("indirect call type mismatch"),
    /// as `hoist-cranelift`'s `FuncEnvironment::indirect_callee`.
    fn call_indirect(&mut self, type_index: u32, table_index: u32) -> Result<(), Unsupported> {
        let ty = TypeIndex::from_u32(type_index);
        let abi = crate::abi(self.module.func_sig(ty))?;
        let table = TableIndex::from_u32(table_index);
        let table_ty = &self.module.tables[table];
        if table_ty.table64 {
            return unsupported("call_indirect through a table64");
        }
        let typed = table_ty.element.heap == WasmHeapType::Concrete(TypeRef::Module(ty));
        if !typed && !self.module.types[ty].is_final {
            return unsupported("call_indirect of a non-final type");
        }
        let fixed = table_ty.fixed_size();
        // The funcref into r11: index in eax, the bound in ecx, the
        // elements' base in rdx.
        self.pop_to(RAX, Size::S32);
        self.asm.load(Size::S64, RDX, VMCTX);
        match fixed {
            Some(size) => {
                let Ok(size) = u32::try_from(size) else {
                    return unsupported("a table too big");
                };
                self.asm.mov_imm(RCX, i64::from(size));
                let base = self.offsets.vmctx_fixed_table_base(table) as i32;
                self.asm.load(Size::S64, RDX, Mem::base(RDX, base));
            }
            None => {
                let pointer = self.offsets.vmctx_table_pointer(table) as i32;
                self.asm.load(Size::S64, RDX, Mem::base(RDX, pointer));
                let current = self.offsets.table_current_elements() as i32;
                self.asm.load(Size::S32, RCX, Mem::base(RDX, current));
                let base = self.offsets.table_base() as i32;
                self.asm.load(Size::S64, RDX, Mem::base(RDX, base));
            }
        }
        self.asm.alu_rr(Size::S32, CMP, RAX, RCX);
        self.trap_if(Cond::Ae, TrapCode::UndefinedElement);
        // A mispredicted check must not load past the table: the element
        // address is null then, as in Cranelift's code (`lea` and `mov`
        // keep the flags).
        let element = Mem {
            base: RDX,
            index: Some((RAX, 3)),
            disp: 0,
        };
        self.asm.lea(R11, element);
        self.asm.mov_imm(RCX, 0);
        self.asm.cmov(Size::S64, Cond::Ae, R11, RCX);
        self.asm.load(Size::S64, R11, Mem::base(R11, 0));
        if typed {
            self.trap_here(TrapCode::IndirectCallToNull);
            let code = self.offsets.funcref_wasm_call() as i32;
            self.asm.load(Size::S64, RAX, Mem::base(R11, code));
        } else {
            self.trap_here(TrapCode::IndirectCallToNull);
            let actual = self.offsets.funcref_type_id() as i32;
            self.asm.load(Size::S32, RAX, Mem::base(R11, actual));
            self.asm.load(Size::S64, RDX, VMCTX);
            let expected = self.offsets.vmctx_type_id(ty) as i32;
            self.asm.load(Size::S32, RCX, Mem::base(RDX, expected));
            self.asm.alu_rr(Size::S32, CMP, RAX, RCX);
            self.trap_if(Cond::Ne, TrapCode::BadSignature);
        }
        self.call_args(&abi);
        self.asm.load(Size::S64, RSI, VMCTX);
        let vmctx = self.offsets.funcref_vmctx() as i32;
        self.asm.load(Size::S64, RDI, Mem::base(R11, vmctx));
        let code = self.offsets.funcref_wasm_call() as i32;
        self.asm.load(Size::S64, RAX, Mem::base(R11, code));
        self.asm.call_reg(RAX);
        if abi.stack_bytes > 0 {
            self.asm.sub_rsp_imm(abi.stack_bytes);
        }
        self.drop_values(abi.params.len());
        self.push_results(&abi);
        Ok(())
    }

    /// Puts the top `abi.params.len()` values where the callee expects
    /// them (stack arguments at the frame's bottom, through rax; then the
    /// argument registers), leaving r11 alone.
    fn call_args(&mut self, abi: &crate::Abi) {
        let n = abi.params.len();
        self.max_out = self.max_out.max(abi.stack_bytes);
        for (k, loc) in abi.params.iter().enumerate() {
            if let ParamLoc::Stack(offset) = *loc {
                let slot = self.slot(self.under(n) + k);
                self.asm.load(Size::S64, RAX, slot);
                self.asm
                    .store(Size::S64, Mem::base(RSP, offset as i32), RAX);
            }
        }
        for (k, loc) in abi.params.iter().enumerate() {
            let slot = self.slot(self.under(n) + k);
            match *loc {
                ParamLoc::Reg(reg) => self.asm.load(Size::S64, reg, slot),
                ParamLoc::Xmm(x) => self.asm.movsd_load(x, slot),
                ParamLoc::Stack(_) => {}
            }
        }
    }

    /// Pushes a call's results, stored from their registers to their slots
    /// (the caller keeps `vals` in step).
    fn push_results(&mut self, abi: &crate::Abi) {
        for loc in &abi.results {
            let slot = self.push_slot();
            match *loc {
                ParamLoc::Reg(reg) => self.asm.store(Size::S64, slot, reg),
                ParamLoc::Xmm(x) => self.asm.movsd_store(slot, x),
                ParamLoc::Stack(_) => self.broken.set(true),
            }
        }
    }

    /// Calls builtin `builtin` (the platform's C convention) with this
    /// vmctx in rdi; its other arguments are in rsi, rdx, rcx, r8 already.
    fn call_builtin(&mut self, builtin: Builtin) {
        self.asm.load(Size::S64, RDI, VMCTX);
        let array = self.offsets.vmctx_builtins() as i32;
        self.asm.load(Size::S64, RAX, Mem::base(RDI, array));
        let entry = (builtin as u32 * u32::from(self.offsets.ptr)) as i32;
        self.asm.load(Size::S64, RAX, Mem::base(RAX, entry));
        self.asm.call_reg(RAX);
    }

    /// The memory types this compiler handles for bulk operations and
    /// growth: 32-bit.
    fn memory32(&self, mem: u32) -> Result<MemoryIndex, Unsupported> {
        let memory = MemoryIndex::from_u32(mem);
        if self.module.memories[memory].memory64 {
            return unsupported("a 64-bit memory");
        }
        Ok(memory)
    }

    /// `memory.grow`: the builtin, which returns the old size in pages or
    /// -1 (a trap instead, with trap-on-grow-failure).
    fn memory_grow(&mut self, mem: u32) -> Result<(), Unsupported> {
        let memory = self.memory32(mem)?;
        self.pop_to(RDX, Size::S32); // zero-extended delta
        self.asm.mov_imm(RSI, i64::from(memory.as_u32()));
        self.call_builtin(Builtin::MemoryGrow);
        if self.tunables.trap_on_grow_failure {
            self.asm.cmp_imm(Size::S64, RAX, -1);
            self.trap_if(Cond::E, TrapCode::GrowFailure);
        }
        let slot = self.push_slot();
        self.asm.store(Size::S32, slot, RAX);
        Ok(())
    }

    /// The native address of the i32 range at `index_slot` of `len_slot`
    /// bytes in `memory`, into `dst`, trapping unless it lies inside the
    /// memory; null when out of bounds, so that a mispredicted check
    /// reaches nothing (as `bounds_checks::range_check`). Uses rax, rcx,
    /// r10, r11.
    fn memory_range(&mut self, memory: MemoryIndex, index_slot: Mem, len_slot: Mem, dst: u8) {
        self.asm.load(Size::S64, R11, VMCTX);
        let pointer = self.offsets.vmctx_memory_pointer(memory) as i32;
        self.asm.load(Size::S64, R10, Mem::base(R11, pointer));
        let length = self.offsets.memory_current_length() as i32;
        self.asm.load(Size::S64, R10, Mem::base(R10, length));
        let base = self.offsets.vmctx_memory_base(memory) as i32;
        self.asm.load(Size::S64, R11, Mem::base(R11, base));
        self.asm.load(Size::S32, RAX, index_slot);
        self.asm.load(Size::S32, RCX, len_slot);
        self.asm.alu_rr(Size::S64, ADD, R11, RAX);
        // Two zero-extended 32-bit values do not wrap.
        self.asm.alu_rr(Size::S64, ADD, RCX, RAX);
        self.asm.alu_rr(Size::S64, CMP, RCX, R10);
        self.trap_if(Cond::A, TrapCode::MemoryOutOfBounds);
        self.asm.mov_imm(RAX, 0); // keeps the flags, unlike `xor`
        self.asm.cmov(Size::S64, Cond::A, R11, RAX);
        self.asm.mov_rr(Size::S64, dst, R11);
    }

    /// `memory.copy` (32-bit memories): both ranges checked, then the
    /// builtin's memmove.
    fn memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> Result<(), Unsupported> {
        let dst_memory = self.memory32(dst_mem)?;
        let src_memory = self.memory32(src_mem)?;
        let (dst, src, len) = (self.top(2), self.top(1), self.top(0));
        self.memory_range(dst_memory, dst, len, R8);
        self.memory_range(src_memory, src, len, RDX);
        self.asm.mov_rr(Size::S64, RSI, R8);
        self.asm.load(Size::S32, RCX, len);
        self.call_builtin(Builtin::MemoryCopy);
        self.drop_values(3);
        Ok(())
    }

    /// `memory.fill` (a 32-bit memory): the range checked, then the
    /// builtin's memset.
    fn memory_fill(&mut self, mem: u32) -> Result<(), Unsupported> {
        let memory = self.memory32(mem)?;
        let (dst, value, len) = (self.top(2), self.top(1), self.top(0));
        self.memory_range(memory, dst, len, RSI);
        self.asm.load(Size::S32, RDX, value);
        self.asm.load(Size::S32, RCX, len);
        self.call_builtin(Builtin::MemoryFill);
        self.drop_values(3);
        Ok(())
    }
}
