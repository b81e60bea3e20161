//! Functions whose joins make regalloc2's dominator tree quadratic.
//!
//! regalloc2's backtracking allocator computes dominators the iterative
//! way (Cooper, Harvey and Kennedy): for each join it walks up the tree from
//! every predecessor to their common dominator, on each pass. A loop with
//! 160,000 `br_if`s back to its header, in sequence, has predecessors down a
//! chain 320,000 blocks deep, and the walks took 18 s (94 % of the compile;
//! 625 KB of wasm). Cranelift's own dominator tree (semi-NCA) has no such
//! cost, and neither has the single-pass allocator, which needs none; so
//! such functions are compiled as the lazy tier compiles big bodies: locals
//! in stack slots (a local redefined before each of those branches would
//! otherwise give the target a parameter of as many values, which the
//! mid-end's rewrites of the chain made quadratic too: 30 s for 100,000, now 0.68 s),
//! no mid-end optimizations, the single-pass allocator (see
//! `link::translate_and_compile`).

use cranelift_codegen::dominator_tree::DominatorTree;
use cranelift_codegen::flowgraph::ControlFlowGraph;
use cranelift_codegen::ir;
use cranelift_entity::SecondaryMap;

/// Blocks below which a function is never checked: the walks are at most
/// quadratic in the blocks, so a small function's are cheap.
const MIN_BLOCKS: usize = 4096;

/// Walk steps (see [`join_walk`]) past which a function goes to the
/// single-pass allocator. The most of any function of cc1 (GCC 15, 32,092
/// functions), CPython 3.12 and the Sightglass programs is 66,353 (a cc1
/// function of 30,797 blocks); 20,000 `br_if`s back to one loop header
/// make 2.0e8 (the function compiled in 0.37 s), 100,000 make 5e9 (7.6 s,
/// now 0.42 s).
pub(crate) const MAX_JOIN_WALK: u64 = 1 << 24;

/// The length of the walks regalloc2's dominator computation makes in
/// one pass over `func`: for each block of two or more predecessors, the
/// sum of their depths in the dominator tree below the block's immediate
/// dominator. 0 for a function of fewer than [`MIN_BLOCKS`] blocks.
pub(crate) fn join_walk(func: &ir::Function) -> u64 {
    if func.dfg.num_blocks() < MIN_BLOCKS {
        return 0;
    }
    let cfg = ControlFlowGraph::with_function(func);
    let domtree = DominatorTree::with_function(func, &cfg);
    let mut depth: SecondaryMap<ir::Block, u64> = SecondaryMap::new();
    for &block in domtree.cfg_rpo() {
        depth[block] = domtree.idom(block).map_or(0, |idom| depth[idom] + 1);
    }
    let mut walk = 0u64;
    for &block in domtree.cfg_rpo() {
        let Some(idom) = domtree.idom(block) else {
            continue;
        };
        let mut preds = cfg
            .pred_iter(block)
            .filter(|p| domtree.is_reachable(p.block));
        if let (Some(first), Some(second)) = (preds.next(), preds.next()) {
            for pred in [first, second].into_iter().chain(preds) {
                walk += depth[pred.block].saturating_sub(depth[idom]);
            }
        }
    }
    walk
}
