//! Hot-function detection in the baseline tier (lazy compilation), as V8's
//! Liftoff counts a budget down: each entry and each loop iteration of a
//! lazily compiled function takes one from the function's counter, an `i64`
//! of the module's array that the vmctx points at (the runtime's, one per
//! defined function). The code only counts: the optimizing thread reads
//! the counters, has the functions whose budget is spent compiled again,
//! optimized, and points every instance's funcref at that code (see the
//! `hoist` crate's `tier_up`). No check, no branch and no call: the count
//! is two loads (the array, the counter), a subtract and a store in the
//! block it is in.
//!
//! Only the baseline tier counts: optimized and fully linked code carry no
//! counter. The decrement is a plain load and store: threads racing on it
//! lose counts, which only delays a tier-up.

use super::FuncTranslator;
use cranelift_codegen::ir::{types::I64, InstBuilder, MemFlagsData, SourceLoc};
use hoist_environ::DefinedFuncIndex;

impl FuncTranslator<'_, '_> {
    /// At a loop header, after the limits checks (the current source
    /// location is the `loop` operator's): one off the counter. The
    /// counting is given the location of the loop's next byte, inside the
    /// loop: its code counts as the loop's body where the linker looks for
    /// the loop to align (`link::hot_loop_header`), whose header, the block
    /// the back edge jumps to, then includes the counting.
    pub(crate) fn hotness_count_in_loop(&mut self) {
        let Some(counter) = self.env.hotness_counter else {
            return;
        };
        let at = self.builder.srcloc();
        self.builder
            .set_srcloc(SourceLoc::new(at.bits().wrapping_add(1)));
        self.hotness_decrement(counter);
        self.builder.set_srcloc(at);
    }

    /// At function entry, after the limits checks: one off the counter.
    pub(crate) fn hotness_count(&mut self) {
        if let Some(counter) = self.env.hotness_counter {
            self.hotness_decrement(counter);
        }
    }

    /// Takes one off defined function `counter`'s counter.
    fn hotness_decrement(&mut self, counter: DefinedFuncIndex) {
        let vmctx = self.env.vmctx();
        let counters = self.builder.ins().load(
            self.env.pointer_type,
            crate::func_environ::readonly(),
            vmctx,
            self.env.offsets.vmctx_hotness_counters() as i32,
        );
        // At most 2^32 functions of 8 bytes: the offset fits an i64 always,
        // an i32 immediate for any module a validator accepts (1,000,000
        // functions at most).
        let offset = i32::try_from(u64::from(counter.as_u32()) * 8).unwrap_or(i32::MAX);
        let flags = MemFlagsData::trusted();
        let left = self.builder.ins().load(I64, flags, counters, offset);
        let left = self.builder.ins().iadd_imm_s(left, -1);
        self.builder.ins().store(flags, left, counters, offset);
    }
}
