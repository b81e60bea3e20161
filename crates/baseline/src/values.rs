//! The operand stack's values that are not in their slots yet: constants,
//! copies of locals, and the last result, left in `rax`. Simple operators
//! take them where they are, and everything else finds every value in its
//! slot: [`Compiler::flush`] stores them first (before branches, labels,
//! calls and any operator without a fast path), so at every label all
//! values are in their slots, as the branches that reach it left them.

use crate::asm::{Cond, Mem, Reg, Size, R11, RAX};
use crate::Compiler;

/// How many values at the top of the operand stack may be out of their
/// slots at once.
const WINDOW: usize = 16;

/// Where an operand-stack value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Val {
    /// In its slot.
    Slot,
    /// A constant (an i32's sign-extended: its low 32 bits are the value).
    Const(i64),
    /// The current value of a local: stored to the slot before the local
    /// changes.
    Local(u32),
    /// In `rax`: at most one value is, stored to its slot before anything
    /// else uses `rax`.
    Rax,
    /// An i32 boolean that is the condition on the flags the last
    /// instruction set (a comparison's): only ever the top value, and only
    /// until the next operator, which branches on it (`br_if`, `if`),
    /// selects on it (`select`), inverts it (`i32.eqz`) or has it put in
    /// `rax` first
    /// (`Compiler::materialize_flags`). Stores and moves keep the flags,
    /// so spilling values below it does not disturb it.
    Flags(Cond),
}

impl Compiler<'_> {
    /// Pushes `val` (see [`Val`]). At most [`WINDOW`] values at the top
    /// are out of their slots: older ones are stored, so that no scan of
    /// them (`flush`, `spill_local`, `free_rax`) costs more than that.
    pub(crate) fn push_val(&mut self, val: Val) {
        self.push();
        self.vals.push(val);
        while self.vals.len() - self.dirty_from > WINDOW {
            self.spill(self.dirty_from);
            self.dirty_from += 1;
        }
    }

    /// Pops the top value (its code is the caller's).
    pub(crate) fn pop_val(&mut self) -> Val {
        self.drop_values(1);
        let val = self.vals.pop().unwrap_or(Val::Slot);
        self.dirty_from = self.dirty_from.min(self.vals.len());
        val
    }

    /// Stores value `i` to its slot, through r11.
    fn spill(&mut self, i: usize) {
        let val = self.vals.get(i).copied().unwrap_or(Val::Slot);
        if val == Val::Slot {
            return;
        }
        let slot = self.slot(i);
        match val {
            Val::Slot => return,
            Val::Const(c) => match i32::try_from(c) {
                Ok(v) => self.asm.store_imm(Size::S64, slot, v),
                Err(_) => {
                    self.asm.mov_imm(R11, c);
                    self.asm.store(Size::S64, slot, R11);
                }
            },
            Val::Local(j) => match self.local_reg(j as usize) {
                Some(reg) => self.asm.store(Size::S64, slot, reg),
                None => {
                    let local = self.local(j as usize);
                    self.asm.load(Size::S64, R11, local);
                    self.asm.store(Size::S64, slot, R11);
                }
            },
            Val::Rax => self.asm.store(Size::S64, slot, RAX),
            Val::Flags(cond) => {
                self.asm.set_bool(cond, R11);
                self.asm.store(Size::S64, slot, R11);
            }
        }
        self.vals[i] = Val::Slot;
    }

    /// Every value to its slot.
    pub(crate) fn flush(&mut self) {
        self.flush_below(self.vals.len());
    }

    /// Every value below index `end` to its slot.
    pub(crate) fn flush_below(&mut self, end: usize) {
        let end = end.min(self.vals.len());
        for i in self.dirty_from..end {
            self.spill(i);
        }
        self.dirty_from = self.dirty_from.max(end);
    }

    /// The value in `rax`, if any but `except`, to its slot.
    pub(crate) fn free_rax(&mut self, except: Option<usize>) {
        let from = self.dirty_from.min(self.vals.len());
        if let Some(k) = self.vals[from..].iter().rposition(|v| *v == Val::Rax) {
            if Some(from + k) != except {
                self.spill(from + k);
            }
        }
    }

    /// The copies of local `j`, but `except`, to their slots (before it
    /// changes).
    pub(crate) fn spill_local(&mut self, j: u32, except: Option<usize>) {
        for i in self.dirty_from..self.vals.len() {
            if self.vals[i] == Val::Local(j) && Some(i) != except {
                self.spill(i);
            }
        }
    }

    /// Value `i` into `reg` (32-bit: zero-extended), leaving it where it is.
    /// Clobbers nothing else; `rax` only when it is `reg`.
    pub(crate) fn fetch(&mut self, i: usize, reg: Reg, size: Size) {
        match self.vals.get(i).copied().unwrap_or(Val::Slot) {
            Val::Slot => {
                let slot = self.slot(i);
                self.asm.load(size, reg, slot);
            }
            Val::Const(c) => {
                let c = if size == Size::S32 {
                    i64::from(c as u32)
                } else {
                    c
                };
                self.asm.mov_imm(reg, c);
            }
            Val::Local(j) => match self.local_reg(j as usize) {
                Some(pinned) => self.asm.mov_rr(size, reg, pinned),
                None => {
                    let local = self.local(j as usize);
                    self.asm.load(size, reg, local);
                }
            },
            Val::Rax => {
                if reg != RAX || size == Size::S32 {
                    self.asm.mov_rr(size, reg, RAX);
                }
            }
            // setcc and movzx keep the flags.
            Val::Flags(cond) => self.asm.set_bool(cond, reg),
        }
    }

    /// A comparison result on the flags at the top (see [`Val::Flags`])
    /// into `rax`.
    pub(crate) fn materialize_flags(&mut self) {
        let Some(i) = self.vals.len().checked_sub(1) else {
            return;
        };
        if let Val::Flags(cond) = self.vals[i] {
            self.free_rax(None);
            self.asm.set_bool(cond, RAX);
            self.vals[i] = Val::Rax;
        }
    }

    /// Writes value `i` to local `j` (64 bits): to its register if pinned,
    /// else to its slot, through r11.
    pub(crate) fn write_local(&mut self, i: usize, j: u32) {
        if let Some(pinned) = self.local_reg(j as usize) {
            self.fetch(i, pinned, Size::S64);
            return;
        }
        let local: Mem = self.local(j as usize);
        match self.vals.get(i).copied().unwrap_or(Val::Slot) {
            Val::Rax => self.asm.store(Size::S64, local, RAX),
            Val::Const(c) if i32::try_from(c).is_ok() => {
                self.asm.store_imm(Size::S64, local, c as i32)
            }
            _ => {
                self.fetch(i, R11, Size::S64);
                self.asm.store(Size::S64, local, R11);
            }
        }
    }
}
