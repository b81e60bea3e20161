//! Interruption and fuel: the checks compiled in only when asked for
//! (`Tunables::epoch_interruption`, `Tunables::consume_fuel`), so code
//! without them pays nothing.
//!
//! Epochs: the store context points at the engine's epoch counter, which a
//! timer thread or a signal handler advances, and holds the deadline. Every
//! function entry and loop header compares the two and traps with
//! "interrupt" once the counter has reached the deadline (entries too, or a
//! tree of calls without loops could run for exponential time).
//!
//! Fuel (as wasmtime meters it): the store context holds `fuel_consumed`,
//! counting up from minus the fuel given; it is kept in a variable while a
//! function runs. Each operator adds its cost to a compile-time tally that
//! is added to the variable where the basic block ends (branches, labels,
//! calls, returns); the variable goes back to the store context before
//! every call and return, and is reloaded after calls (the callee spent
//! fuel too). Function entries and loop headers trap with "all fuel
//! consumed" once the variable is above zero. A trap in the middle of a
//! block under-counts that block; good enough for a limit.

use super::FuncTranslator;
use crate::trap_code;
use cranelift_codegen::ir::{condcodes::IntCC, types::I64, InstBuilder, MemFlagsData, Value};
use hoist_environ::TrapCode;
use wasmparser::Operator;

/// What an operator costs in fuel: nothing for those that do no work.
fn cost(op: &Operator<'_>) -> i64 {
    match op {
        Operator::Nop
        | Operator::Drop
        | Operator::Block { .. }
        | Operator::Loop { .. }
        | Operator::Unreachable
        | Operator::Return
        | Operator::Else
        | Operator::End => 0,
        _ => 1,
    }
}

/// Whether an operator ends or starts a basic block, or leaves the
/// function: fuel is added to the variable before it.
fn ends_block(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
            | Operator::Return
            | Operator::Unreachable
            | Operator::TryTable { .. }
            | Operator::Try { .. }
            | Operator::Catch { .. }
            | Operator::CatchAll
            | Operator::Delegate { .. }
    ) || calls(op)
}

/// Whether an operator calls out (the callee spends fuel, a throw leaves).
fn calls(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. }
            | Operator::Throw { .. }
            | Operator::ThrowRef
            | Operator::Rethrow { .. }
    )
}

impl FuncTranslator<'_, '_> {
    /// The store context (vmctx → store context, loaded once, read-only).
    fn store_context(&mut self) -> Value {
        let vmctx = self.env.vmctx();
        self.builder.ins().load(
            self.env.pointer_type,
            crate::func_environ::readonly(),
            vmctx,
            self.env.offsets.vmctx_store_context() as i32,
        )
    }

    /// At function entry, after the parameters are set up.
    pub(crate) fn limits_function_entry(&mut self) {
        if self.env.tunables.consume_fuel {
            let var = self.builder.declare_var(I64);
            self.fuel_var = Some(var);
            self.fuel_load();
            self.fuel_check();
        }
        self.epoch_check();
        self.hotness_count();
    }

    /// At a loop header (the header block is current).
    pub(crate) fn limits_loop_header(&mut self) {
        self.fuel_check();
        self.epoch_check();
        self.hotness_count_in_loop();
    }

    /// Before each operator (only called with fuel metering on).
    pub(crate) fn fuel_before_op(&mut self, op: &Operator<'_>) {
        if !self.reachable {
            return;
        }
        self.fuel_pending += cost(op);
        if ends_block(op) {
            self.fuel_flush();
        }
        if calls(op) || matches!(op, Operator::Return) {
            self.fuel_store();
        }
    }

    /// After each operator (only called with fuel metering on): a call's
    /// callee spent fuel, so the variable is reloaded.
    pub(crate) fn fuel_after_op(&mut self, op: &Operator<'_>) {
        let call = matches!(
            op,
            Operator::Call { .. } | Operator::CallIndirect { .. } | Operator::CallRef { .. }
        );
        if call && self.reachable {
            self.fuel_load();
        }
    }

    /// Before the function's final return.
    pub(crate) fn fuel_function_exit(&mut self) {
        if self.fuel_var.is_some() && self.reachable {
            self.fuel_flush();
            self.fuel_store();
        }
    }

    /// After control arrives from elsewhere (an exception handler): the
    /// variable's value is the thrower's, stored before it threw.
    pub(crate) fn fuel_reload(&mut self) {
        if self.fuel_var.is_some() {
            self.fuel_load();
        }
    }

    fn fuel_flush(&mut self) {
        let Some(var) = self.fuel_var else { return };
        let pending = std::mem::take(&mut self.fuel_pending);
        if pending != 0 {
            let fuel = self.builder.use_var(var);
            let fuel = self.builder.ins().iadd_imm_s(fuel, pending);
            self.builder.def_var(var, fuel);
        }
    }

    fn fuel_load(&mut self) {
        let Some(var) = self.fuel_var else { return };
        let store = self.store_context();
        let offset = self.env.offsets.store_context_fuel_consumed() as i32;
        let fuel = self
            .builder
            .ins()
            .load(I64, MemFlagsData::trusted(), store, offset);
        self.builder.def_var(var, fuel);
    }

    fn fuel_store(&mut self) {
        let Some(var) = self.fuel_var else { return };
        let store = self.store_context();
        let offset = self.env.offsets.store_context_fuel_consumed() as i32;
        let fuel = self.builder.use_var(var);
        self.builder
            .ins()
            .store(MemFlagsData::trusted(), fuel, store, offset);
    }

    fn fuel_check(&mut self) {
        let Some(var) = self.fuel_var else { return };
        self.fuel_flush();
        let fuel = self.builder.use_var(var);
        let out = self
            .builder
            .ins()
            .icmp_imm_s(IntCC::SignedGreaterThan, fuel, 0);
        // The trap record's code says why; store the count first so the
        // host can report what was spent.
        let trapped = self.builder.create_block();
        let ok = self.builder.create_block();
        self.builder.ins().brif(out, trapped, &[], ok, &[]);
        self.builder.seal_block(trapped);
        self.builder.switch_to_block(trapped);
        self.builder.set_cold_block(trapped);
        self.fuel_store();
        self.builder.ins().trap(trap_code(TrapCode::OutOfFuel));
        self.builder.seal_block(ok);
        self.builder.switch_to_block(ok);
    }

    fn epoch_check(&mut self) {
        if !self.env.tunables.epoch_interruption {
            return;
        }
        let store = self.store_context();
        let flags = MemFlagsData::trusted();
        let counter_ptr = self.builder.ins().load(
            self.env.pointer_type,
            crate::func_environ::readonly(),
            store,
            self.env.offsets.store_context_epoch_counter() as i32,
        );
        // Atomic: another thread advances it, and a plain load would be
        // forwarded from the function's first one, hoisting the check out
        // of every loop (an x86_64 atomic load is a plain move anyway).
        let epoch = self.builder.ins().atomic_load(I64, flags, counter_ptr);
        let deadline = self.builder.ins().load(
            I64,
            flags,
            store,
            self.env.offsets.store_context_epoch_deadline() as i32,
        );
        let expired = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
        let trapped = self.builder.create_block();
        let ok = self.builder.create_block();
        self.builder.ins().brif(expired, trapped, &[], ok, &[]);
        self.builder.seal_block(trapped);
        self.builder.switch_to_block(trapped);
        self.builder.set_cold_block(trapped);
        self.fuel_store();
        self.builder.ins().trap(trap_code(TrapCode::Interrupt));
        self.builder.seal_block(ok);
        self.builder.switch_to_block(ok);
    }
}
