//! Which values live in callee-saved registers for the whole function: the
//! most used locals, and the base of the memory the body accesses. A quick
//! scan of the body before translation counts each local's uses, weighted
//! by loop depth (a loop body runs more often than the code around it), and
//! finds the memories the body loads from and stores to.
//!
//! A pinned local is always in its register: it has no copy in its slot,
//! so a merge, a branch or a call finds it where it always is, and the code
//! of a loop that works on a few locals is register arithmetic instead of
//! stores and reloads through the frame. The memory base never moves (the
//! whole reservation is mapped up front; `hoist-cranelift` loads it once per
//! function for the same reason), so one load in the prologue replaces the
//! two per access (vmctx, then base).
//!
//! `rbx` and `r12`-`r15` are callee-saved in Cranelift's `tail` convention
//! as in System V (cranelift-codegen `isa/x64/abi.rs`,
//! `is_callee_save_systemv`; hoist does not enable the pinned register), so
//! calls to wasm, builtins and host functions keep them. The function saves
//! those it uses in its frame and restores them before returning. An
//! exception that unwinds through the frame needs nothing restored: a
//! handler treats every register as clobbered (Cranelift's `try_call` on
//! the exceptional edge), and the host's entry restores its own.

use crate::asm::{Reg, R12, R13, R14, R15, RBX};
use crate::Unsupported;
use hoist_environ::{MemoryIndex, Module, Tunables};
use wasmparser::{FunctionBody, MemArg, MemArgTarget, Operator};

/// The registers handed out, in order; the memory base takes the last.
const REGS: [Reg; 5] = [RBX, R12, R13, R14, R15];

/// A local's weight must reach this to be worth a register (each pinned
/// register costs a store in the prologue and a load before returning):
/// three uses outside loops, or one inside.
const MIN_WEIGHT: u64 = 3;

/// What the scan decided.
#[derive(Debug, Default)]
pub(crate) struct Pinning {
    /// For each local, its register, if pinned.
    pub locals: Vec<Option<Reg>>,
    /// The memory whose base is kept in a register, and the register.
    pub memory: Option<(MemoryIndex, Reg)>,
    /// Every register used, in the order they are saved.
    pub saved: Vec<Reg>,
}

/// Scans `body` (with `locals` locals, parameters included) and picks what
/// to pin.
///
/// # Errors
/// [`Unsupported`] if the body cannot be read (the translation would fail
/// on it too).
pub(crate) fn plan(
    module: &Module,
    tunables: &Tunables,
    body: &FunctionBody<'_>,
    locals: usize,
) -> Result<Pinning, Unsupported> {
    let mut weights = vec![0u64; locals];
    let mut memory_uses = 0u64;
    // Open blocks: whether each is a loop.
    let mut blocks: Vec<bool> = Vec::new();
    let mut loops = 0usize;
    let mut reader = body
        .get_operators_reader()
        .map_err(|e| Unsupported(e.to_string()))?;
    while !reader.eof() {
        // Matched where the reader put it: moving the operator out of its
        // `Result` (an enum of mixed-width fields) costs more than the rest
        // of this loop (as in `compile`'s).
        let read = reader.read();
        let op = match &read {
            Ok(op) => op,
            Err(e) => return Err(Unsupported(e.to_string())),
        };
        let weight = 1u64 << (2 * loops.min(6));
        match op {
            Operator::LocalGet { local_index }
            | Operator::LocalSet { local_index }
            | Operator::LocalTee { local_index } => {
                if let Some(w) = weights.get_mut(*local_index as usize) {
                    *w = w.saturating_add(weight);
                }
            }
            Operator::Loop { .. } => {
                blocks.push(true);
                loops += 1;
            }
            Operator::Block { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::TryTable { .. } => blocks.push(false),
            Operator::End => {
                if blocks.pop() == Some(true) {
                    loops -= 1;
                }
            }
            Operator::Delegate { .. } => {
                blocks.pop();
            }
            op => {
                if let Some(memarg) = memarg(op) {
                    if memarg.target == MemArgTarget::Memory(0) {
                        memory_uses = memory_uses.saturating_add(weight);
                    }
                }
            }
        }
    }
    let mut pinning = Pinning {
        locals: vec![None; locals],
        ..Pinning::default()
    };
    let mut free = REGS.len();
    if memory_uses > 0 && reserved_4gib(module, tunables, MemoryIndex::from_u32(0)) {
        free -= 1;
        pinning.memory = Some((MemoryIndex::from_u32(0), REGS[free]));
    }
    for (k, j) in heaviest(&weights, free).into_iter().enumerate() {
        pinning.locals[j] = Some(REGS[k]);
        pinning.saved.push(REGS[k]);
    }
    if let Some((_, reg)) = pinning.memory {
        pinning.saved.push(reg);
    }
    Ok(pinning)
}

/// The indices of the `n` heaviest weights of at least [`MIN_WEIGHT`],
/// heaviest first (ties: the lower index first).
fn heaviest(weights: &[u64], n: usize) -> Vec<usize> {
    let mut best: Vec<(u64, usize)> = Vec::with_capacity(n + 1);
    for (j, &w) in weights.iter().enumerate() {
        if w < MIN_WEIGHT || best.len() == n && best.last().is_some_and(|b| b.0 >= w) {
            continue;
        }
        let at = best.partition_point(|b| b.0 >= w);
        best.insert(at, (w, j));
        best.truncate(n);
    }
    best.into_iter().map(|(_, j)| j).collect()
}

/// Whether `memory` exists and is one whose accesses this compiler
/// translates (see `Compiler::address`): 32-bit, 64 KiB pages, a
/// reservation of 4 GiB or more (so that only the offset is left for the
/// guard region to cover).
pub(crate) fn reserved_4gib(module: &Module, tunables: &Tunables, memory: MemoryIndex) -> bool {
    module.memories.get(memory).is_some_and(|ty| {
        !ty.memory64 && ty.page_size_log2 == 16 && tunables.memory_reservation >= 1 << 32
    })
}

/// The memory argument of the loads and stores this compiler translates.
fn memarg<'a>(op: &'a Operator<'_>) -> Option<&'a MemArg> {
    use Operator as O;
    match op {
        O::I32Load { memarg }
        | O::I64Load { memarg }
        | O::F32Load { memarg }
        | O::F64Load { memarg }
        | O::I32Load8S { memarg }
        | O::I32Load8U { memarg }
        | O::I32Load16S { memarg }
        | O::I32Load16U { memarg }
        | O::I64Load8S { memarg }
        | O::I64Load8U { memarg }
        | O::I64Load16S { memarg }
        | O::I64Load16U { memarg }
        | O::I64Load32S { memarg }
        | O::I64Load32U { memarg }
        | O::I32Store { memarg }
        | O::I64Store { memarg }
        | O::F32Store { memarg }
        | O::F64Store { memarg }
        | O::I32Store8 { memarg }
        | O::I32Store16 { memarg }
        | O::I64Store8 { memarg }
        | O::I64Store16 { memarg }
        | O::I64Store32 { memarg } => Some(memarg),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heaviest_locals_win_ties_to_the_lower_index() {
        assert_eq!(
            heaviest(&[1, 3, 16, 3, 64, 2, 3, 3, 5], 5),
            vec![4, 2, 8, 1, 3]
        );
        assert_eq!(heaviest(&[2, 2, 1], 5), Vec::<usize>::new());
        assert_eq!(heaviest(&[9, 9, 9], 0), Vec::<usize>::new());
    }
}
