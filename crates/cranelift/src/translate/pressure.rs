//! Which locals of a function go to stack slots so that its compile time
//! stays near linear.
//!
//! As SSA variables, locals cost Cranelift's SSA builder and regalloc2
//! time in about (locals used) × (control edges): a local live across a
//! loop header or a branch becomes a block parameter and a block argument
//! on every edge, and the SSA builder removes unneeded parameters one by
//! one in time linear in the block's parameters. A 62 KB module of 4,000
//! locals in 4,000 nested loops took 75 s to compile; one of 4,000 locals
//! and 4,000 `br_if`s back to one loop 73 s and 2.8 GB; 2,000 locals live
//! into the catch of 2,000 calls 20 s and 2.9 GB (wasmtime 49, on the same
//! Cranelift, is as slow: 14 s for 2,000 nested loops). With its numeric locals in stack slots (loaded
//! on `local.get`, stored on `local.set`, as a baseline compiler keeps
//! them) each takes a quarter of a second: values then live across edges
//! only as wasm operands.
//!
//! Slots make slower code, so only functions whose work passes
//! [`MAX_SSA_WORK`], or [`MIN_SSA_WORK`] and [`MAX_WORK_PER_BYTE`] times
//! the body's length, get them: bounds above what real programs' functions
//! reach (see their comments). And only the locals the body uses: unused
//! locals cost nothing as variables and would only grow the frame.

use hoist_environ::WasmValType;
use wasmparser::{FunctionBody, Operator};

/// (numeric locals used) × (control edges) past which a function's
/// numeric locals live in stack slots, however long its body.
///
/// Real programs stay below: the biggest work of any function in cc1 (GCC
/// 15, 32,092 functions) is 0.81M (20 locals, 40,561 edges, a 442 KB body),
/// in CPython 3.12 0.19M, in the Sightglass programs 0.21M. Hostile
/// functions at 2M took up to 9.6 s and 1.5 GB (1,400 locals live into the
/// catch of 1,400 calls), 3 s in nested loops.
pub(crate) const MAX_SSA_WORK: u64 = 2 << 20;

/// Work past which a function's locals live in stack slots when it is also
/// more than [`MAX_WORK_PER_BYTE`] times its body's length: work growing
/// faster than the body is what makes compile time superlinear. Real
/// functions reach 1.8 (cc1's biggest) to 5.7 (CPython's).
pub(crate) const MIN_SSA_WORK: u64 = 1 << 18;

/// See [`MIN_SSA_WORK`].
pub(crate) const MAX_WORK_PER_BYTE: u64 = 8;

/// Locals a function may have in all, counting parameters (wasmparser's
/// limit; a body declaring more fails validation).
const MAX_LOCALS: u64 = 50_000;

/// For a body whose SSA work (see the module comment) passes the bounds
/// (see [`MAX_SSA_WORK`]): for each local, parameters first, whether it goes to
/// a stack slot (numeric and used). `None` to keep every local a variable:
/// the work is below the bound; or the used locals would take more than
/// `max_frame` bytes of slots (a frame over the stack budget traps on
/// every call, where variables may need far less); or the body does not
/// read (the translation reports that, with validation's errors).
pub(crate) fn locals_in_slots(
    body: &FunctionBody<'_>,
    params: &[WasmValType],
    max_frame: u64,
) -> Option<Vec<bool>> {
    let mut types: Vec<Option<u32>> = params.iter().map(|ty| slot_size(*ty)).collect();
    let mut numeric = types.iter().filter(|size| size.is_some()).count() as u64;
    for entry in body.get_locals_reader().ok()? {
        let (count, ty) = entry.ok()?;
        if types.len() as u64 + u64::from(count) > MAX_LOCALS {
            return None;
        }
        let size = hoist_environ::val_type(ty).ok().and_then(slot_size);
        if size.is_some() {
            numeric += u64::from(count);
        }
        types.extend(std::iter::repeat_n(size, count as usize));
    }
    // Each edge takes at least one byte of the body: a cheap upper bound
    // that spares the scan below to nearly every function.
    let body_len = body.range().end - body.range().start;
    if numeric.saturating_mul(body_len) <= MIN_SSA_WORK {
        return None;
    }
    let mut used = vec![false; types.len()];
    let mut used_count = 0u64;
    let mut edges = 0u64;
    // Per open block: whether it is a `try_table` with catches (calls in
    // it have an edge to a handler).
    let mut frames: Vec<bool> = Vec::new();
    let mut catching = 0usize;
    let mut reader = body.get_operators_reader().ok()?;
    while !reader.eof() {
        let op = reader.read().ok()?;
        edges += match op {
            Operator::LocalGet { local_index }
            | Operator::LocalSet { local_index }
            | Operator::LocalTee { local_index } => {
                let index = local_index as usize;
                if index < used.len() && !used[index] && types[index].is_some() {
                    used[index] = true;
                    used_count += 1;
                }
                0
            }
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Try { .. } => {
                frames.push(false);
                1
            }
            Operator::TryTable { try_table } => {
                let catches = !try_table.catches.is_empty();
                frames.push(catches);
                catching += usize::from(catches);
                1 + try_table.catches.len() as u64
            }
            Operator::End => {
                if frames.pop() == Some(true) {
                    catching -= 1;
                }
                0
            }
            Operator::BrTable { targets } => u64::from(targets.len()) + 1,
            Operator::Else
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
            | Operator::BrOnCast { .. }
            | Operator::BrOnCastFail { .. }
            | Operator::Catch { .. }
            | Operator::CatchAll
            | Operator::Delegate { .. } => 1,
            Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::Throw { .. }
            | Operator::ThrowRef
                if catching > 0 =>
            {
                1
            }
            _ => 0,
        };
    }
    let work = used_count.saturating_mul(edges);
    if work <= MIN_SSA_WORK || (work <= MAX_SSA_WORK && work <= MAX_WORK_PER_BYTE * body_len) {
        return None;
    }
    let frame: u64 = (types.iter().zip(&used))
        .filter(|(_, used)| **used)
        .filter_map(|(size, _)| size.map(u64::from))
        .sum();
    if frame > max_frame {
        return None;
    }
    for (slot, size) in used.iter_mut().zip(&types) {
        *slot &= size.is_some();
    }
    Some(used)
}

/// Bytes of a stack slot for a local of type `ty`; `None` for references,
/// which stay variables (the collector finds them through stack maps).
fn slot_size(ty: WasmValType) -> Option<u32> {
    match ty {
        WasmValType::I32 | WasmValType::F32 => Some(4),
        WasmValType::I64 | WasmValType::F64 => Some(8),
        WasmValType::V128 => Some(16),
        WasmValType::Ref(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_environ::WasmValType::I32;

    /// The slots chosen for the first function body of `wat`.
    fn slots(wat: &str, params: &[WasmValType], max_frame: u64) -> Option<Vec<bool>> {
        let wasm = wat::parse_str(wat).unwrap();
        for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                return locals_in_slots(&body, params, max_frame);
            }
        }
        panic!("no function body");
    }

    /// A function of `locals` i64 locals (plus an i32 parameter, a
    /// funcref local and an unused i32 local, declared last) whose body
    /// updates each local inside each of `loops` nested loops.
    fn nested(locals: usize, loops: usize) -> String {
        let mut wat = String::from("(module (func (param i32)");
        wat += &format!(" (local {}funcref i32)", "i64 ".repeat(locals));
        for _ in 0..loops {
            wat += " (loop";
        }
        for i in 1..=locals {
            wat += &format!(" (local.set {i} (i64.add (local.get {i}) (i64.const 1)))");
        }
        wat += &format!(
            " (local.set 0 (local.get 0)) (local.set {} (ref.null func))",
            locals + 1
        );
        wat += &")".repeat(loops);
        wat + "))"
    }

    #[test]
    fn real_shapes_keep_their_locals_as_variables() {
        // Few locals, many edges: cc1's biggest functions look so.
        let mut wat = String::from("(module (func (param i32) (local i32 i32)");
        for _ in 0..20_000 {
            wat += " (block (br_if 0 (local.get 0)) (local.set 1 (local.get 2)))";
        }
        wat += "))";
        assert_eq!(slots(&wat, &[I32], u64::MAX), None);
        // Many locals, straight-line code.
        assert_eq!(slots(&nested(5_000, 0), &[I32], u64::MAX), None);
        // Moderately many of each.
        assert_eq!(slots(&nested(200, 200), &[I32], u64::MAX), None);
    }

    #[test]
    fn a_huge_control_flow_puts_the_used_numeric_locals_in_slots() {
        let wat = nested(1_500, 1_500);
        let chosen = slots(&wat, &[I32], u64::MAX).expect("slots");
        // The parameter (read and written), the i64 locals; not the
        // funcref, not the unused i32.
        assert_eq!(chosen.len(), 1 + 1_500 + 2);
        // Below the hard bound, but work growing much faster than the body.
        assert!(slots(&nested(600, 600), &[I32], u64::MAX).is_some());
        assert!(chosen[..=1_500].iter().all(|slot| *slot));
        assert!(!chosen[1_501] && !chosen[1_502]);
        // Their slots would take 1,500 × 8 + 4 bytes of frame.
        assert!(slots(&wat, &[I32], 12_004).is_some());
        assert_eq!(slots(&wat, &[I32], 12_003), None);
    }
}
