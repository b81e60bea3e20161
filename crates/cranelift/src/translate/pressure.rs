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

/// The biggest frame a function compiled the cheap way (locals in stack
/// slots here, or the deep joins of `crate::joins`) may have, in bytes, for
/// a stack budget of `max_wasm_stack` bytes; past it the function is
/// compiled the usual way. A frame may take an eighth of the budget, so
/// such a function still recurses a few levels deep, but never more than
/// 64 KiB, and never less than 16 KiB unless the budget is under 32 KiB
/// (then half of it): with `-W max-wasm-stack=40000`, an eighth (5,000
/// bytes) sent a function of 8,000 back edges and 1,500 locals, whose slot
/// frame is 12 KB, back to the quadratic path: 71 s and 3.2 GB.
pub(crate) fn max_cheap_frame(max_wasm_stack: usize) -> u64 {
    let budget = max_wasm_stack as u64;
    (budget / 8).clamp(16 << 10, 64 << 10).min(budget / 2)
}

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
    let mut joins = Joins::new();
    let mut reader = body.get_operators_reader().ok()?;
    while !reader.eof() {
        let op = reader.read().ok()?;
        joins.step(&op);
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
            Operator::TryTable { try_table } => 1 + try_table.catches.len() as u64,
            Operator::BrTable { targets } => u64::from(targets.len()) + 1,
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::Else
            | Operator::Catch { .. }
            | Operator::CatchAll
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
            | Operator::BrOnCast { .. }
            | Operator::BrOnCastFail { .. } => 1,
            Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::Throw { .. }
            | Operator::ThrowRef
                if joins.catching > 0 =>
            {
                1
            }
            _ => 0,
        };
    }
    let work = used_count.saturating_mul(edges);
    let tables_heavy = used_count.saturating_mul(joins.table_work) > MAX_TABLE_WORK;
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
    // (Only numeric locals were marked used.)
    Some(used)
}

/// The open block `depth` levels out (0: the innermost), if any.
fn target(frames: &mut [Frame], depth: u32) -> Option<&mut Frame> {
    let index = frames.len().checked_sub(1 + depth as usize)?;
    frames.get_mut(index)
}

/// What a block of the body is, for [`Joins`].
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Block,
    Loop,
    If,
}

/// An open block of the body, for [`Joins`].
struct Frame {
    kind: Kind,
    /// The block was entered from reachable code.
    entry: bool,
    /// An `if` with an `else`.
    has_else: bool,
    /// Calls in it go to a handler: a `try_table` with catches, or a
    /// legacy `try` (the translator gives each of its calls a catch-all)
    /// until its first `catch`.
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

/// The control structure of a body as a scan reads it (see
/// [`MAX_TABLE_WORK`]); malformed nesting is tolerated (validation
/// reports it).
struct Joins {
    /// The open blocks, the function's body first.
    frames: Vec<Frame>,
    /// The code being read is reachable.
    reachable: bool,
    /// The sizes of the `br_table`s targeting labels known to have more
    /// than one predecessor, summed.
    table_work: u64,
    /// Open blocks whose calls go to a handler.
    catching: usize,
}

impl Joins {
    fn new() -> Self {
        Joins {
            frames: vec![Frame::new(Kind::Block, true)],
            reachable: true,
            table_work: 0,
            catching: 0,
        }
    }

    /// Pushes a block entered here.
    fn open(&mut self, kind: Kind, catches: bool) {
        let mut frame = Frame::new(kind, self.reachable);
        frame.catches = catches;
        self.catching += usize::from(catches);
        self.frames.push(frame);
    }

    /// Pops the innermost block.
    fn close(&mut self) -> Option<Frame> {
        let frame = self.frames.pop()?;
        self.catching -= usize::from(frame.catches);
        Some(frame)
    }

    /// Follows `op`'s effect on the open blocks and on reachability.
    fn step(&mut self, op: &Operator<'_>) {
        match op {
            Operator::Block { .. } => self.open(Kind::Block, false),
            Operator::Try { .. } => self.open(Kind::Block, true),
            Operator::TryTable { try_table } => {
                self.open(Kind::Block, !try_table.catches.is_empty());
            }
            Operator::Loop { .. } => self.open(Kind::Loop, false),
            Operator::If { .. } => self.open(Kind::If, false),
            Operator::Else | Operator::Catch { .. } | Operator::CatchAll => {
                if let Some(frame) = self.frames.last_mut() {
                    frame.has_else = true;
                    // The end of what came before falls through to the end.
                    frame.branches += u64::from(self.reachable);
                    self.reachable = frame.entry;
                    // A handler's calls are outside the `try` body.
                    if std::mem::take(&mut frame.catches) {
                        self.catching -= 1;
                    }
                }
            }
            Operator::Br { relative_depth } => {
                if self.reachable {
                    if let Some(frame) = target(&mut self.frames, *relative_depth) {
                        frame.branches += 1;
                    }
                }
                self.reachable = false;
            }
            Operator::BrIf { relative_depth }
            | Operator::BrOnNull { relative_depth }
            | Operator::BrOnNonNull { relative_depth }
            | Operator::BrOnCast { relative_depth, .. }
            | Operator::BrOnCastFail { relative_depth, .. }
                if self.reachable =>
            {
                if let Some(frame) = target(&mut self.frames, *relative_depth) {
                    frame.branches += 1;
                }
            }
            Operator::BrTable { targets } => {
                if self.reachable {
                    let size = u64::from(targets.len()) + 1;
                    let mut distinct = std::collections::HashSet::new();
                    let depths = targets
                        .targets()
                        .chain(std::iter::once(Ok(targets.default())));
                    for depth in depths.flatten() {
                        if distinct.insert(depth) {
                            if let Some(frame) = target(&mut self.frames, depth) {
                                frame.branches += 1;
                                frame.table_refs += size;
                            }
                        }
                    }
                }
                self.reachable = false;
            }
            Operator::Return
            | Operator::Unreachable
            | Operator::Throw { .. }
            | Operator::ThrowRef
            | Operator::Rethrow { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. } => self.reachable = false,
            // `delegate` ends its `try` and branches out of it.
            Operator::Delegate { .. } => {
                if let Some(frame) = self.close() {
                    self.reachable = frame.entry;
                }
            }
            Operator::End => {
                let Some(frame) = self.close() else {
                    return;
                };
                let implicit_else = frame.kind == Kind::If && !frame.has_else && frame.entry;
                let (label_preds, end_reached) = match frame.kind {
                    // A loop's label is its start.
                    Kind::Loop => (u64::from(frame.entry) + frame.branches, self.reachable),
                    _ => {
                        let preds =
                            frame.branches + u64::from(self.reachable) + u64::from(implicit_else);
                        (preds, preds > 0)
                    }
                };
                if label_preds > 1 {
                    self.table_work = self.table_work.saturating_add(frame.table_refs);
                }
                self.reachable = end_reached;
            }
            _ => {}
        }
    }
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

    #[test]
    fn cheap_frames_take_an_eighth_of_the_stack_between_16_and_64_kib() {
        assert_eq!(max_cheap_frame(512 << 10), 64 << 10);
        assert_eq!(max_cheap_frame(8 << 20), 64 << 10);
        assert_eq!(max_cheap_frame(256 << 10), 32 << 10);
        assert_eq!(max_cheap_frame(40_000), 16 << 10);
        assert_eq!(max_cheap_frame(32 << 10), 16 << 10);
        assert_eq!(max_cheap_frame(16 << 10), 8 << 10);
        assert_eq!(max_cheap_frame(0), 0);
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
