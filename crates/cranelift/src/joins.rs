//! Functions whose joins make regalloc2's dominator tree quadratic, or whose
//! dominator tree is deep enough to make the mid-end quadratic.
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
//!
//! The mid-end has a cost of the same tree's depth: its value numbering
//! finds the scope a pure value belongs to by searching the stack of
//! dominator-tree scopes from the top, down to the block its arguments are
//! available in (the entry block, for a constant). 40,000 nested blocks
//! each yielding a value took 10 s, 80,000 `if`s in sequence each holding
//! a `return_call` 9.7 s, nearly all of it in that search; so a function
//! whose searches may pass [`MAX_SCOPE_WALK`] is compiled without the
//! mid-end.

use cranelift_codegen::dominator_tree::DominatorTree;
use cranelift_codegen::flowgraph::ControlFlowGraph;
use cranelift_codegen::ir;
use cranelift_entity::SecondaryMap;

/// Blocks below which a function is never checked: the walks are at most
/// quadratic in the blocks, so a small function's are cheap.
const MIN_BLOCKS: usize = 4096;

/// Walk steps (see [`Walks::joins`]) past which a function goes to the
/// single-pass allocator. The most of any function of cc1 (GCC 15, 32,092
/// functions), CPython 3.12 and the Sightglass programs is 66,353 (a cc1
/// function of 30,797 blocks); 20,000 `br_if`s back to one loop header
/// make 2.0e8 (the function compiled in 0.37 s), 100,000 make 5e9 (7.6 s,
/// now 0.42 s).
pub(crate) const MAX_JOIN_WALK: u64 = 1 << 24;

/// Scope search steps (see [`Walks::scopes`], an upper bound) past which a
/// function is compiled without mid-end optimizations. The most of any
/// function of cc1 is 9.9M (a function of 171,703 instructions), of
/// CPython 3.12 1.1M; the Sightglass programs have no function of
/// [`MIN_BLOCKS`] blocks. 10,000 nested blocks each yielding a value make
/// 1.5e8 (0.9 s to compile; 0.2 s without the mid-end).
pub(crate) const MAX_SCOPE_WALK: u64 = 1 << 27;

/// Two costs of a function that grow with the depth of its dominator
/// tree (see [`walks`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Walks {
    /// The length of the walks regalloc2's dominator computation makes in
    /// one pass: for each block of two or more predecessors, the sum of
    /// their depths in the dominator tree below the block's immediate
    /// dominator.
    pub joins: u64,
    /// The length of the mid-end's scope searches, at most: for each
    /// block, its depth in the dominator tree times its instructions.
    pub scopes: u64,
}

/// The [`Walks`] of `func`; zero for a function of fewer than
/// [`MIN_BLOCKS`] blocks.
pub(crate) fn walks(func: &ir::Function) -> Walks {
    if func.dfg.num_blocks() < MIN_BLOCKS {
        return Walks::default();
    }
    let cfg = ControlFlowGraph::with_function(func);
    let domtree = DominatorTree::with_function(func, &cfg);
    let mut depth: SecondaryMap<ir::Block, u64> = SecondaryMap::new();
    for &block in domtree.cfg_rpo() {
        depth[block] = domtree.idom(block).map_or(0, |idom| depth[idom] + 1);
    }
    let mut walks = Walks::default();
    for &block in domtree.cfg_rpo() {
        let insts = func.layout.block_insts(block).count() as u64;
        walks.scopes += depth[block] * insts;
        let Some(idom) = domtree.idom(block) else {
            continue;
        };
        let mut preds = cfg
            .pred_iter(block)
            .filter(|p| domtree.is_reachable(p.block));
        if let (Some(first), Some(second)) = (preds.next(), preds.next()) {
            for pred in [first, second].into_iter().chain(preds) {
                walks.joins += depth[pred.block].saturating_sub(depth[idom]);
            }
        }
    }
    walks
}
