//! Hot-function detection in the baseline tier (lazy compilation), as V8's
//! Liftoff counts a budget down: each entry and each loop iteration of a
//! lazily compiled function takes one from the function's counter, an `i64`
//! of the module's array that the vmctx points at (the runtime's, one per
//! defined function). When an entry finds it spent, the function calls the
//! `tier_up` builtin, which has the function compiled again,
//! optimized, on another thread, and later installs that code in the
//! instance's funcref; it rearms the counter each time, so a function whose
//! optimized code is not ready yet asks again at a later entry.
//!
//! Only the baseline tier counts: optimized and fully linked code carry no
//! counter. The decrement is a plain load and store: threads racing on it
//! lose counts, which only delays a tier-up.

use super::FuncTranslator;
use cranelift_codegen::ir::{
    condcodes::IntCC, types::I64, InstBuilder, MemFlagsData, SourceLoc, Value,
};
use hoist_environ::{Builtin, DefinedFuncIndex};

impl FuncTranslator<'_, '_> {
    /// At a loop header, after the limits checks (the current source
    /// location is the `loop` operator's): one off the counter, checked at
    /// the next entry only, since a call in progress keeps its code anyway.
    /// No branch, so the header stays one block (a block boundary costs
    /// the single-pass register allocator a reload of every value live
    /// across it: rust-compression cold, 137 -> 150 ms with a check here).
    /// The counting is given the location of the loop's next byte, inside
    /// the loop: the linker aligns the block holding a loop's first code
    /// (`link::hot_loop_header`), which is then the block the back edge
    /// jumps to, counting included.
    pub(crate) fn hotness_count_in_loop(&mut self) {
        let Some((counter, _)) = self.env.hotness_counter else {
            return;
        };
        let at = self.builder.srcloc();
        self.builder
            .set_srcloc(SourceLoc::new(at.bits().wrapping_add(1)));
        self.hotness_decrement(counter);
        self.builder.set_srcloc(at);
    }

    /// At function entry, after the limits checks: one off the counter, and
    /// the `tier_up` builtin called once it is spent.
    pub(crate) fn hotness_count(&mut self) {
        let Some((counter, func)) = self.env.hotness_counter else {
            return;
        };
        let left = self.hotness_decrement(counter);
        let spent = self
            .builder
            .ins()
            .icmp_imm_s(IntCC::SignedLessThanOrEqual, left, 0);
        let hot = self.builder.create_block();
        let ok = self.builder.create_block();
        self.builder.ins().brif(spent, hot, &[], ok, &[]);
        self.builder.seal_block(hot);
        self.builder.switch_to_block(hot);
        self.builder.set_cold_block(hot);
        let func = self.builder.ins().iconst(I64, i64::from(func.as_u32()));
        self.env
            .call_unit_builtin(&mut self.builder, Builtin::TierUp, &[func]);
        self.builder.ins().jump(ok, &[]);
        self.builder.seal_block(ok);
        self.builder.switch_to_block(ok);
    }

    /// Takes one off defined function `counter`'s counter; the value left.
    fn hotness_decrement(&mut self, counter: DefinedFuncIndex) -> Value {
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
        left
    }
}
