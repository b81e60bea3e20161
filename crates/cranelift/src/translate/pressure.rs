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
//! A `br_table` adds its own term: its targets that have a second
//! predecessor get parameters too, and the SSA builder appends each
//! argument by scanning the table (see [`MAX_TABLE_WORK`]). Calls in a
//! `try_table` with catches, and every call in a legacy `try` body, are
//! edges to a handler.
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

/// (numeric locals used) × (branch table work, see [`track_joins`]) past
/// which a function's numeric locals live in stack slots. The SSA builder
/// gives a block a parameter for a local read there that more than one
/// predecessor defines, and appends the argument to each predecessor's
/// branch by scanning that branch's destinations: a `br_table` of n
/// targets, n of them such blocks, made n² steps (80,000 targets each
/// falling through to the next took 17 s; the switch idiom's targets have
/// one predecessor each and cost nothing). About 0.4 s of steps.
pub(crate) const MAX_TABLE_WORK: u64 = 1 << 27;

/// Bodies up to this many bytes with few locals skip the scan (see
/// [`locals_in_slots`]): their branch table work is at most about
/// (bytes / 3)².
const MIN_SCANNED_BODY: u64 = 16 << 10;

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
    // that spares the scan below to nearly every function. (The branch
    // table work below is at most quadratic in the body: small in these.)
    let body_len = body.range().end - body.range().start;
    if numeric.saturating_mul(body_len) <= MIN_SSA_WORK && body_len <= MIN_SCANNED_BODY {
        return None;
    }
    let mut used = vec![false; types.len()];
    let mut used_count = 0u64;
    let mut edges = 0u64;
    let mut table_work = 0u64;
    // The function's body is a block too.
    let mut frames = vec![Frame::new(Kind::Block, true)];
    let mut reachable = true;
    let mut catching = 0usize;
    let mut reader = body.get_operators_reader().ok()?;
    while !reader.eof() {
        let op = reader.read().ok()?;
        let popped = track_joins(&op, &mut frames, &mut reachable, &mut table_work);
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
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => 1,
            // A legacy `try`'s calls go to its handlers (all of them: the
            // translator gives each call a catch-all) until its first
            // `catch`.
            Operator::Try { .. } => {
                if let Some(frame) = frames.last_mut() {
                    frame.catches = true;
                }
                catching += 1;
                1
            }
            Operator::TryTable { try_table } => {
                let catches = !try_table.catches.is_empty();
                if let Some(frame) = frames.last_mut() {
                    frame.catches = catches;
                }
                catching += usize::from(catches);
                1 + try_table.catches.len() as u64
            }
            Operator::End | Operator::Delegate { .. } => {
                if let Some(frame) = &popped {
                    catching -= usize::from(frame.catches);
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
            | Operator::BrOnCastFail { .. } => 1,
            Operator::Catch { .. } | Operator::CatchAll => {
                if let Some(frame) = frames.last_mut().filter(|frame| frame.catches) {
                    frame.catches = false;
                    catching -= 1;
                }
                1
            }
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
    let tables_heavy = used_count.saturating_mul(table_work) > MAX_TABLE_WORK;
    if !tables_heavy
        && (work <= MIN_SSA_WORK || (work <= MAX_SSA_WORK && work <= MAX_WORK_PER_BYTE * body_len))
    {
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

/// The open block `depth` levels out (0: the innermost), if any.
fn target(frames: &mut [Frame], depth: u32) -> Option<&mut Frame> {
    let index = frames.len().checked_sub(1 + depth as usize)?;
    frames.get_mut(index)
}

/// What a block of the body is, for [`track_joins`].
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Block,
    Loop,
    If,
}

/// An open block of the body, for [`track_joins`].
struct Frame {
    kind: Kind,
    /// The block was entered from reachable code.
    entry: bool,
    /// An `if` with an `else`.
    has_else: bool,
    /// A `try_table` with catches (see [`locals_in_slots`]).
    catches: bool,
    /// Branches to the block's label from reachable code.
    branches: u64,
    /// The summed sizes of the reachable `br_table`s targeting the label.
    table_refs: u64,
}

impl Frame {
    fn new(kind: Kind, entry: bool) -> Self {
        Frame {
            kind,
            entry,
            has_else: false,
            catches: false,
            branches: 0,
            table_refs: 0,
        }
    }
}

/// Follows `op`'s effect on the open blocks (`frames`) and on whether the
/// code is `reachable`, and adds to `table_work` the sizes of the
/// `br_table`s targeting a label once that label is known to have more
/// than one predecessor (see [`MAX_TABLE_WORK`]). Returns the block `op`
/// closes, if any. Malformed nesting is tolerated (validation reports it).
fn track_joins(
    op: &Operator<'_>,
    frames: &mut Vec<Frame>,
    reachable: &mut bool,
    table_work: &mut u64,
) -> Option<Frame> {
    match op {
        Operator::Block { .. } | Operator::Try { .. } | Operator::TryTable { .. } => {
            frames.push(Frame::new(Kind::Block, *reachable));
        }
        Operator::Loop { .. } => frames.push(Frame::new(Kind::Loop, *reachable)),
        Operator::If { .. } => frames.push(Frame::new(Kind::If, *reachable)),
        Operator::Else | Operator::Catch { .. } | Operator::CatchAll => {
            if let Some(frame) = frames.last_mut() {
                frame.has_else = true;
                // The end of what came before falls through to the end.
                frame.branches += u64::from(*reachable);
                *reachable = frame.entry;
            }
        }
        Operator::Br { relative_depth } => {
            if *reachable {
                if let Some(frame) = target(frames, *relative_depth) {
                    frame.branches += 1;
                }
            }
            *reachable = false;
        }
        Operator::BrIf { relative_depth }
        | Operator::BrOnNull { relative_depth }
        | Operator::BrOnNonNull { relative_depth }
        | Operator::BrOnCast { relative_depth, .. }
        | Operator::BrOnCastFail { relative_depth, .. }
            if *reachable =>
        {
            if let Some(frame) = target(frames, *relative_depth) {
                frame.branches += 1;
            }
        }
        Operator::BrTable { targets } => {
            if *reachable {
                let size = u64::from(targets.len()) + 1;
                let mut distinct = std::collections::HashSet::new();
                let depths = targets
                    .targets()
                    .chain(std::iter::once(Ok(targets.default())));
                for depth in depths.flatten() {
                    if distinct.insert(depth) {
                        if let Some(frame) = target(frames, depth) {
                            frame.branches += 1;
                            frame.table_refs += size;
                        }
                    }
                }
            }
            *reachable = false;
        }
        Operator::Return
        | Operator::Unreachable
        | Operator::Throw { .. }
        | Operator::ThrowRef
        | Operator::Rethrow { .. }
        | Operator::ReturnCall { .. }
        | Operator::ReturnCallIndirect { .. }
        | Operator::ReturnCallRef { .. } => *reachable = false,
        // `delegate` ends its `try` and branches out of it.
        Operator::Delegate { .. } => {
            let frame = frames.pop()?;
            *reachable = frame.entry;
            return Some(frame);
        }
        Operator::End => {
            let frame = frames.pop()?;
            let implicit_else = frame.kind == Kind::If && !frame.has_else && frame.entry;
            let (label_preds, end_reached) = match frame.kind {
                // A loop's label is its start.
                Kind::Loop => (u64::from(frame.entry) + frame.branches, *reachable),
                _ => {
                    let preds = frame.branches + u64::from(*reachable) + u64::from(implicit_else);
                    (preds, preds > 0)
                }
            };
            if label_preds > 1 {
                *table_work = table_work.saturating_add(frame.table_refs);
            }
            *reachable = end_reached;
            return Some(frame);
        }
        _ => {}
    }
    None
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

    /// A `br_table` over `targets` nested blocks; with `fall_through`,
    /// each block's end is also reached from the code before it.
    fn table(targets: usize, fall_through: bool) -> String {
        let mut wat = String::from("(module (func (param i32) (result i32) (local i32)");
        wat += &" (block".repeat(targets);
        wat += " (br_table";
        for k in 0..targets {
            wat += &format!(" {k}");
        }
        wat += " (local.get 0))";
        for k in 0..targets {
            wat += &format!(") (local.set 1 (i32.add (local.get 1) (i32.const {k})))");
            if !fall_through {
                wat += " (return (local.get 1))";
            }
        }
        wat + " (local.get 1)))"
    }

    #[test]
    fn only_a_table_of_joins_puts_locals_in_slots() {
        // The switch idiom: each target has the table as its only
        // predecessor.
        assert_eq!(slots(&table(20_000, false), &[I32], u64::MAX), None);
        // Each target also reached from the one before: n² for the SSA
        // builder.
        assert!(slots(&table(20_000, true), &[I32], u64::MAX).is_some());
        assert_eq!(slots(&table(2_000, true), &[I32], u64::MAX), None);
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
