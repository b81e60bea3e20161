//! Functions that keep too many values live at once for regalloc2's
//! backtracking allocator.
//!
//! To place a bundle (a value's live range, or a piece of it) in a
//! register, the backtracking allocator gathers the bundles already in
//! that register which overlap it; with thousands of values live across
//! the same stretch of code, every register holds thousands of pieces and
//! each placement gathers them again. That is quadratic: 25,000
//! `global.get`s summed took 21 s to compile (50,000 took 111 s; the
//! mid-end sinks the pure adds below all the loads, so every loaded value
//! is live at once), 20,000 i64 locals set and then summed 12.7 s without
//! the mid-end (as the lazy tier compiles), 20,000 v128 shuffles left on
//! the operand stack 16.6 s. The single-pass allocator has no such cost,
//! so a [`crowded`] function is allocated by it, without the mid-end (see
//! `link::compile`). It spills more; but a function keeping thousands of
//! values live spills nearly all of them anyway.
//!
//! The cost is quadratic in the values live at once, so what bounds it
//! per byte of wasm is their share of the function's values: thousands
//! live among tens of thousands (shootout-ed25519's unrolled field
//! arithmetic: 2,684 of 17,594 after the mid-end; 0.1 s for the whole
//! module) compile in a fraction of the time of as many live among twice
//! as many (a sum of 4,096 `global.get`s: 0.33 s). So a function is
//! crowded when more than [`DENSE_LIVE`] values are live at once and they
//! are more than 1/[`DENSITY`] of its values, or when more than
//! [`MAX_LIVE`] are. The worst left to the backtracking allocator costs
//! about what the old bound (2,048 live, any share) did per byte of wasm:
//! 4,092 `global.get`s summed after 24,540 other values, 0.65 s for 127
//! KB (5 µs per byte), against 0.08 s for 20 KB (4 µs per byte).

use cranelift_codegen::ir;
use cranelift_entity::SecondaryMap;

/// Values live at one point (see [`max_live`]) past which a function is
/// crowded if they are a dense share of its values (see [`DENSITY`]). Of
/// the real programs' functions (after the mid-end), the most live of any
/// of cc1 (GCC 15) is 560, of CPython 3.12 287, of the Sightglass programs
/// 315 but for shootout-ed25519's `__original_main`, 2,684 of 48,428
/// values, whose code ran 1.08 times slower when crowded (its frame
/// spilled, the vmctx reloaded at each use).
pub(crate) const DENSE_LIVE: usize = 2048;

/// A function with more than [`DENSE_LIVE`] values live at once is crowded
/// when they are more than one in `DENSITY` of its values.
pub(crate) const DENSITY: usize = 4;

/// Values live at one point past which a function is crowded whatever
/// their share (the backtracking allocator's time grows with their square:
/// a sum of 8,192 `global.get`s takes 1.2 s, 0.04 s crowded).
pub(crate) const MAX_LIVE: usize = 4096;

/// Whether `func`'s values crowd (see the module comment).
pub(crate) fn crowded(func: &ir::Function) -> bool {
    let Live { most, values } = live(func);
    most > MAX_LIVE || (most > DENSE_LIVE && most.saturating_mul(DENSITY) > values)
}

/// The most values live at one point of `func` (see [`live`]).
#[cfg(test)]
pub(crate) fn max_live(func: &ir::Function) -> usize {
    live(func).most
}

/// What [`live`] counts.
struct Live {
    /// The most values live at one point.
    most: usize,
    /// The values the function's blocks define (parameters and results).
    values: usize,
}

/// The most values live at one point of `func`, estimated as linear-scan
/// allocators estimate it: each value is live from its definition (a block
/// parameter at its block's start) to its last use, in layout order, and
/// a value defined ahead of a loop (a block branched back to from later in
/// layout) and used in it is live to the loop's last back edge. A value
/// used ahead of its definition in layout is live from that use. Values
/// never used count nothing.
fn live(func: &ir::Function) -> Live {
    let values = func.dfg.num_values();
    // Positions count from 1; 0 is "none yet".
    let mut def: SecondaryMap<ir::Value, u32> = SecondaryMap::with_capacity(values);
    let mut first_use: SecondaryMap<ir::Value, u32> = SecondaryMap::with_capacity(values);
    let mut last_use: SecondaryMap<ir::Value, u32> = SecondaryMap::with_capacity(values);
    let mut block_start: SecondaryMap<ir::Block, u32> = SecondaryMap::new();
    // (header position, back-edge position)
    let mut back_edges = Vec::new();
    let mut pos = 0u32;
    let mut defined = 0usize;
    for block in func.layout.blocks() {
        pos += 1;
        block_start[block] = pos;
        for &param in func.dfg.block_params(block) {
            def[param] = pos;
            defined += 1;
        }
        for inst in func.layout.block_insts(block) {
            pos += 1;
            for arg in func.dfg.inst_values(inst) {
                if first_use[arg] == 0 {
                    first_use[arg] = pos;
                }
                last_use[arg] = pos;
            }
            for &result in func.dfg.inst_results(inst) {
                def[result] = pos;
                defined += 1;
            }
            let targets = func.dfg.insts[inst]
                .branch_destination(&func.dfg.jump_tables, &func.dfg.exception_tables);
            for target in targets {
                let header = block_start[target.block(&func.dfg.value_lists)];
                if header != 0 {
                    back_edges.push((header, pos));
                }
            }
        }
    }
    let loops = LoopEnds::new(pos as usize + 1, &back_edges);
    // +1 where a value's range starts, -1 just past its end.
    let mut delta = vec![0i32; pos as usize + 2];
    for (value, &last) in last_use.iter() {
        if last == 0 || def[value] == 0 {
            continue;
        }
        let start = def[value].min(first_use[value]);
        let end = last.max(loops.latest_end(start + 1, last));
        delta[start as usize] += 1;
        delta[end as usize + 1] -= 1;
    }
    let mut live = 0i64;
    let mut most = 0i64;
    for step in delta {
        live += i64::from(step);
        most = most.max(live);
    }
    Live {
        most: usize::try_from(most).unwrap_or(0),
        values: defined,
    }
}

/// For each loop header's position, its latest back edge's, with range
/// maxima (a segment tree over positions).
struct LoopEnds {
    size: usize,
    tree: Vec<u32>,
}

impl LoopEnds {
    fn new(size: usize, back_edges: &[(u32, u32)]) -> Self {
        if back_edges.is_empty() {
            return LoopEnds {
                size: 0,
                tree: Vec::new(),
            };
        }
        let mut tree = vec![0u32; 2 * size];
        for &(header, end) in back_edges {
            let leaf = &mut tree[size + header as usize];
            *leaf = (*leaf).max(end);
        }
        for i in (1..size).rev() {
            tree[i] = tree[2 * i].max(tree[2 * i + 1]);
        }
        LoopEnds { size, tree }
    }

    /// The latest back edge of the loops whose headers lie in
    /// `from..=to`; 0 for none.
    fn latest_end(&self, from: u32, to: u32) -> u32 {
        if self.size == 0 || from > to {
            return 0;
        }
        let (mut lo, mut hi) = (from as usize + self.size, to as usize + self.size + 1);
        let mut most = 0;
        while lo < hi {
            if lo & 1 == 1 {
                most = most.max(self.tree[lo]);
                lo += 1;
            }
            if hi & 1 == 1 {
                hi -= 1;
                most = most.max(self.tree[hi]);
            }
            lo /= 2;
            hi /= 2;
        }
        most
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::ir::{types::I64, AbiParam, Function, InstBuilder, Signature, Value};
    use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
    use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
    use target_lexicon::PointerWidth;

    /// A function of one i64 parameter (and an i64 result, with
    /// `returns`) whose entry block `body` fills, given the parameter.
    fn build(returns: bool, body: impl FnOnce(&mut FunctionBuilder, Value)) -> Function {
        let mut sig = Signature::new(CallConv::SystemV);
        sig.params.push(AbiParam::new(I64));
        if returns {
            sig.returns.push(AbiParam::new(I64));
        }
        let mut func = Function::with_name_signature(Default::default(), sig);
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let x = b.block_params(entry)[0];
        body(&mut b, x);
        b.seal_all_blocks();
        b.finalize(TargetFrontendConfig {
            default_call_conv: CallConv::SystemV,
            pointer_width: PointerWidth::U64,
            page_size_align_log2: 12,
        });
        func
    }

    /// A function that makes `n` values of its parameter, then sums them:
    /// `crowded` makes them all first (n live at once), otherwise each is
    /// added as soon as it is made.
    fn sum(n: usize, crowded: bool) -> Function {
        build(true, |b, x| {
            let mut acc = b.ins().iconst(I64, 0);
            let mut made = Vec::new();
            for _ in 0..n {
                let v = b.ins().ineg(x);
                if crowded {
                    made.push(v);
                } else {
                    acc = b.ins().iadd(acc, v);
                }
            }
            for v in made {
                acc = b.ins().iadd(acc, v);
            }
            b.ins().return_(&[acc]);
        })
    }

    /// `n` values of the parameter made ahead of a loop, each used once
    /// at the top of the loop's body, which then makes and sums `n` more
    /// and branches back.
    fn used_in_a_loop(n: usize) -> Function {
        build(false, |b, x| {
            let (header, exit) = (b.create_block(), b.create_block());
            let made: Vec<_> = (0..n).map(|_| b.ins().ineg(x)).collect();
            b.ins().jump(header, &[]);
            b.switch_to_block(header);
            let mut acc = b.ins().iconst(I64, 0);
            for v in made {
                acc = b.ins().iadd(acc, v);
            }
            let more: Vec<_> = (0..n).map(|_| b.ins().bnot(x)).collect();
            for v in more {
                acc = b.ins().iadd(acc, v);
            }
            b.ins().brif(acc, header, &[], exit, &[]);
            b.switch_to_block(exit);
            b.ins().return_(&[]);
        })
    }

    #[test]
    fn values_used_in_a_loop_live_to_its_back_edge() {
        // Each of the first n is last used at the loop's top, but the back
        // edge needs them all again: they are live with the n made later
        // (and x and an accumulator).
        let live = max_live(&used_in_a_loop(1000));
        assert!((2001..=2004).contains(&live), "{live}");
    }

    #[test]
    fn a_few_thousand_live_among_many_more_values_do_not_crowd() {
        // 3,000 live of about 6,000 values: crowded.
        assert!(crowded(&sum(3000, true)));
        // The same with 30,000 values made and used at once besides.
        let diluted = build(true, |b, x| {
            let mut acc = b.ins().iconst(I64, 0);
            for _ in 0..30_000 {
                let v = b.ins().ineg(x);
                acc = b.ins().iadd(acc, v);
            }
            let made: Vec<_> = (0..3000).map(|_| b.ins().bnot(x)).collect();
            for v in made {
                acc = b.ins().iadd(acc, v);
            }
            b.ins().return_(&[acc]);
        });
        assert!(!crowded(&diluted));
        // Past MAX_LIVE, crowded whatever the share.
        assert!(crowded(&sum(MAX_LIVE + 1, true)));
        assert!(!crowded(&sum(DENSE_LIVE - 8, true)));
    }

    #[test]
    fn values_made_and_then_summed_are_live_at_once() {
        // x, the accumulator and the n negations.
        assert_eq!(max_live(&sum(1000, true)), 1002);
        // x, the accumulator and one negation at a time (the old accumulator
        // and the new one meet at each add).
        assert!(max_live(&sum(1000, false)) <= 4);
    }
}
