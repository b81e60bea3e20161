//! Which values live in callee-saved registers for the whole function: the
//! most used locals, and the base of memory 0.
//!
//! Which locals are the most used is estimated from the body's bytes, not
//! by decoding its operators: the opcodes of `local.get`, `local.set` and
//! `local.tee` (0x20-0x22) each followed by a one-byte index (locals 0 to
//! 127) are counted. Decoding the body a second time cost cc1's cold run
//! (each of its functions compiled once and run a few times) a tenth more
//! than one pass; this count costs a byte comparison per byte. Immediates
//! that contain such pairs add noise to the estimate, never an error: any
//! choice of pinned locals compiles correctly. Loops are not seen (their
//! `end`s cannot be told from immediates), so a local is pinned for its
//! uses anywhere; functions whose loops run hot are compiled again,
//! optimized, by tier-up.
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
use wasmparser::FunctionBody;

/// The registers handed out, in order; the memory base takes the last.
const REGS: [Reg; 5] = [RBX, R12, R13, R14, R15];

/// A local's count must reach this for a register. One: a pinned register
/// costs a store in the prologue and a load before returning, about what
/// a local kept in its slot costs for a use or two (a parameter's store, a
/// load), and a use that the count sees once may be in a loop.
const MIN_WEIGHT: u64 = 1;

/// The opcodes of `local.get`, `local.set` and `local.tee`.
const LOCAL_GET: u8 = 0x20;
const LOCAL_TEE: u8 = 0x22;

/// The opcodes of the loads and stores (`i32.load` to `i64.store32`).
const FIRST_LOAD: u8 = 0x28;
const LAST_STORE: u8 = 0x3e;

/// What [`plan`] decided.
#[derive(Debug, Default)]
pub(crate) struct Pinning {
    /// For each local, its register, if pinned.
    pub locals: Vec<Option<Reg>>,
    /// For each local that is not pinned, its slot among theirs (in
    /// index order, so the parameters' come first); pinned locals have none.
    pub slot_of: Vec<u32>,
    /// How many locals are not pinned (and have a slot).
    pub in_slots: usize,
    /// The memory whose base is kept in a register, and the register.
    pub memory: Option<(MemoryIndex, Reg)>,
    /// Every register used, in the order they are saved.
    pub saved: Vec<Reg>,
}

/// Picks what to pin for `body` (with `locals` locals, parameters
/// included), from its bytes (see the module comment).
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
    let mut reader = body
        .get_binary_reader_for_operators()
        .map_err(|e| Unsupported(e.to_string()))?;
    let code = reader
        .read_bytes(reader.bytes_remaining())
        .map_err(|e| Unsupported(e.to_string()))?;
    let mut weights = [0u64; 128];
    let mut memory_ops = false;
    for pair in code.windows(2) {
        match pair[0] {
            LOCAL_GET..=LOCAL_TEE => {
                if let Some(w) = weights.get_mut(usize::from(pair[1])) {
                    *w += 1;
                }
            }
            FIRST_LOAD..=LAST_STORE => memory_ops = true,
            _ => {}
        }
    }
    let mut pinning = Pinning {
        locals: vec![None; locals],
        ..Pinning::default()
    };
    let mut free = REGS.len();
    if memory_ops && reserved_4gib(module, tunables, MemoryIndex::from_u32(0)) {
        free -= 1;
        pinning.memory = Some((MemoryIndex::from_u32(0), REGS[free]));
    }
    let counted = locals.min(weights.len());
    for (k, j) in heaviest(&weights[..counted], free).into_iter().enumerate() {
        pinning.locals[j] = Some(REGS[k]);
        pinning.saved.push(REGS[k]);
    }
    if let Some((_, reg)) = pinning.memory {
        pinning.saved.push(reg);
    }
    pinning.slot_of = Vec::with_capacity(locals);
    for pinned in &pinning.locals {
        pinning.slot_of.push(pinning.in_slots as u32);
        if pinned.is_none() {
            pinning.in_slots += 1;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heaviest_locals_win_ties_to_the_lower_index() {
        assert_eq!(
            heaviest(&[1, 3, 16, 3, 64, 2, 3, 3, 5], 5),
            vec![4, 2, 8, 1, 3]
        );
        assert_eq!(heaviest(&[0, 0, 0], 5), Vec::<usize>::new());
        assert_eq!(heaviest(&[9, 9, 9], 0), Vec::<usize>::new());
    }
}
