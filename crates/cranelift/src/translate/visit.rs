//! One `VisitOperator` method per operator.
//!
//! Operators of the proposals hoist implements (the Wasm 2.0 set) are
//! written by hand below, the SIMD ones (a separate wasmparser trait) in
//! `simd.rs`, the GC ones in `gc.rs`; if wasmparser adds an operator to one of them, this impl stops
//! compiling. Operators of every other proposal are generated as
//! "unsupported" errors, and the validator rejects them first anyway because
//! those proposals are disabled.

use super::calls::CallKind;
use super::{unsupported, FuncTranslator};
use crate::trap_code;
use cranelift_codegen::ir::{
    condcodes::{FloatCC, IntCC},
    immediates::{Ieee32, Ieee64},
    types::{F32, F64, I16, I32, I64, I8},
    AtomicRmwOp, InstBuilder, MemFlagsData, Value,
};
use hoist_environ::{
    Builtin, DataIndex, ElemIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TrapCode,
    WasmResult,
};
use wasmparser::{MemArg, VisitOperator};

macro_rules! define_unsupported {
    (@one mvp $($rest:tt)*) => {};
    (@one sign_extension $($rest:tt)*) => {};
    (@one saturating_float_to_int $($rest:tt)*) => {};
    (@one bulk_memory $($rest:tt)*) => {};
    (@one reference_types $($rest:tt)*) => {};
    (@one tail_call $($rest:tt)*) => {};
    (@one function_references $($rest:tt)*) => {};
    (@one wide_arithmetic $($rest:tt)*) => {};
    (@one exceptions $($rest:tt)*) => {};
    (@one threads $($rest:tt)*) => {};
    (@one legacy_exceptions $($rest:tt)*) => {};
    (@one gc $($rest:tt)*) => {};
    (@one $proposal:ident $op:ident $visit:ident $({ $($arg:ident: $argty:ty),* })?) => {
        fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
            $($(let _ = $arg;)*)?
            Err(unsupported(stringify!($op)))
        }
    };
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        $( define_unsupported!(@one $proposal $op $visit $({ $($arg: $argty),* })?); )*
    };
}

/// `(a, b) -> op(a, b)`
macro_rules! binary {
    ($($visit:ident => $op:ident,)*) => {$(
        fn $visit(&mut self) -> Self::Output {
            if self.reachable {
                let (a, b) = self.pop2();
                let v = self.builder.ins().$op(a, b);
                self.push(v);
            }
            Ok(())
        }
    )*};
}

/// `a -> op(a)`
macro_rules! unary {
    ($($visit:ident => $op:ident,)*) => {$(
        fn $visit(&mut self) -> Self::Output {
            if self.reachable {
                let a = self.pop();
                let v = self.builder.ins().$op(a);
                self.push(v);
            }
            Ok(())
        }
    )*};
}

/// `a -> op(TYPE, a)`: conversions.
macro_rules! convert {
    ($($visit:ident => $op:ident($ty:ident),)*) => {$(
        fn $visit(&mut self) -> Self::Output {
            if self.reachable {
                let a = self.pop();
                let v = self.builder.ins().$op($ty, a);
                self.push(v);
            }
            Ok(())
        }
    )*};
}

/// `(a, b) -> i32(icmp(cc, a, b))`
macro_rules! icmp {
    ($($visit:ident => $cc:ident,)*) => {$(
        fn $visit(&mut self) -> Self::Output {
            if self.reachable {
                let (a, b) = self.pop2();
                let c = self.builder.ins().icmp(IntCC::$cc, a, b);
                let v = self.builder.ins().uextend(I32, c);
                self.push(v);
            }
            Ok(())
        }
    )*};
}

/// `(a, b) -> i32(fcmp(cc, a, b))`
macro_rules! fcmp {
    ($($visit:ident => $cc:ident,)*) => {$(
        fn $visit(&mut self) -> Self::Output {
            if self.reachable {
                let (a, b) = self.pop2();
                let c = self.builder.ins().fcmp(FloatCC::$cc, a, b);
                let v = self.builder.ins().uextend(I32, c);
                self.push(v);
            }
            Ok(())
        }
    )*};
}

/// Memory loads: `index -> load(TYPE, address)`.
macro_rules! load {
    ($($visit:ident => $op:ident($($ty:ident,)? $size:literal),)*) => {$(
        fn $visit(&mut self, memarg: MemArg) -> Self::Output {
            if self.reachable {
                let (address, flags) = self.memory_access(&memarg, $size);
                let v = self.builder.ins().$op($($ty,)? flags, address, 0);
                self.push(v);
            }
            Ok(())
        }
    )*};
}

/// Memory stores: `(index, value) -> ()`.
macro_rules! store {
    ($($visit:ident => $op:ident($size:literal),)*) => {$(
        fn $visit(&mut self, memarg: MemArg) -> Self::Output {
            if self.reachable {
                let value = self.pop();
                let (address, flags) = self.memory_access(&memarg, $size);
                self.builder.ins().$op(flags, value, address, 0);
            }
            Ok(())
        }
    )*};
}

/// Sign extension from a narrower width: `a -> sextend(ireduce(a))`.
macro_rules! sign_extend {
    ($($visit:ident => $ty:ident from $narrow:ident,)*) => {$(
        fn $visit(&mut self) -> Self::Output {
            if self.reachable {
                let a = self.pop();
                let narrow = self.builder.ins().ireduce($narrow, a);
                let v = self.builder.ins().sextend($ty, narrow);
                self.push(v);
            }
            Ok(())
        }
    )*};
}

/// Reinterpretations: `a -> bitcast(TYPE, a)`.
macro_rules! reinterpret {
    ($($visit:ident => $ty:ident,)*) => {$(
        fn $visit(&mut self) -> Self::Output {
            if self.reachable {
                let a = self.pop();
                let v = self.builder.ins().bitcast($ty, MemFlagsData::new(), a);
                self.push(v);
            }
            Ok(())
        }
    )*};
}

impl FuncTranslator<'_, '_> {
    /// Pops the index operand and returns the checked native address.
    pub(super) fn memory_access(&mut self, memarg: &MemArg, size: u8) -> (Value, MemFlagsData) {
        let index = self.pop();
        let memory = match memarg.target {
            wasmparser::MemArgTarget::Memory(index) => MemoryIndex::from_u32(index),
            wasmparser::MemArgTarget::Array(_) => unreachable!("validated: GC is disabled"),
        };
        self.env
            .memory_address(&mut self.builder, memory, index, memarg.offset, size)
    }

    /// `i64.add128` / `i64.sub128`: two (low, high) pairs in, one out.
    fn wide_add_sub(&mut self, sub: bool) -> WasmResult<()> {
        if self.reachable {
            let (b_lo, b_hi) = self.pop2();
            let (a_lo, a_hi) = self.pop2();
            let a = self.builder.ins().iconcat(a_lo, a_hi);
            let b = self.builder.ins().iconcat(b_lo, b_hi);
            let r = if sub {
                self.builder.ins().isub(a, b)
            } else {
                self.builder.ins().iadd(a, b)
            };
            let (lo, hi) = self.builder.ins().isplit(r);
            self.push(lo);
            self.push(hi);
        }
        Ok(())
    }

    /// `i64.mul_wide_s` / `_u`: the full 128-bit product as (low, high).
    fn wide_mul(&mut self, signed: bool) -> WasmResult<()> {
        if self.reachable {
            let (a, b) = self.pop2();
            let lo = self.builder.ins().imul(a, b);
            let hi = if signed {
                self.builder.ins().smulhi(a, b)
            } else {
                self.builder.ins().umulhi(a, b)
            };
            self.push(lo);
            self.push(hi);
        }
        Ok(())
    }

    fn i64_const(&mut self, value: i64) -> Value {
        self.builder.ins().iconst(I64, value)
    }

    /// Runs a fallible builtin whose first argument is an index immediate
    /// and the rest are the popped operands.
    fn bulk(&mut self, builtin: Builtin, immediates: &[u32], operands: usize) {
        let popped = self.popn(operands);
        let mut args: Vec<Value> = immediates
            .iter()
            .map(|i| self.i64_const(i64::from(*i)))
            .collect();
        args.extend(popped);
        self.env
            .call_fallible_builtin(&mut self.builder, builtin, &args);
    }
}

impl<'a> VisitOperator<'a> for FuncTranslator<'_, '_> {
    type Output = WasmResult<()>;

    wasmparser::for_each_visit_operator!(define_unsupported);
    super::gc::gc_operators!();

    /// The 0xFD-prefixed operators (simd, relaxed-simd) are in `simd.rs`.
    /// On a target that cannot compile vectors this refuses them; the
    /// translator then reports why (see `FuncTranslator::translate_body`).
    fn simd_visitor(
        &mut self,
    ) -> Option<&mut dyn wasmparser::VisitSimdOperator<'a, Output = Self::Output>> {
        if self.simd.unavailable.is_some() {
            self.simd_refused = true;
            return None;
        }
        Some(self)
    }

    // ----- control -----

    fn visit_unreachable(&mut self) -> Self::Output {
        if self.reachable {
            self.builder
                .ins()
                .trap(trap_code(TrapCode::UnreachableCodeReached));
            self.reachable = false;
        }
        Ok(())
    }
    fn visit_nop(&mut self) -> Self::Output {
        Ok(())
    }
    fn visit_block(&mut self, blockty: wasmparser::BlockType) -> Self::Output {
        self.translate_block(blockty)
    }
    fn visit_loop(&mut self, blockty: wasmparser::BlockType) -> Self::Output {
        self.translate_loop(blockty)
    }
    fn visit_if(&mut self, blockty: wasmparser::BlockType) -> Self::Output {
        self.translate_if(blockty)
    }
    fn visit_else(&mut self) -> Self::Output {
        self.translate_else()
    }
    fn visit_end(&mut self) -> Self::Output {
        self.translate_end()
    }
    fn visit_br(&mut self, relative_depth: u32) -> Self::Output {
        self.translate_br(relative_depth)
    }
    fn visit_br_if(&mut self, relative_depth: u32) -> Self::Output {
        self.translate_br_if(relative_depth)
    }
    fn visit_br_table(&mut self, targets: wasmparser::BrTable<'a>) -> Self::Output {
        self.translate_br_table(targets)
    }
    fn visit_return(&mut self) -> Self::Output {
        self.translate_return()
    }
    fn visit_call(&mut self, function_index: u32) -> Self::Output {
        self.translate_call(function_index, CallKind::Normal)
    }
    fn visit_call_indirect(&mut self, type_index: u32, table_index: u32) -> Self::Output {
        self.translate_call_indirect(type_index, table_index, CallKind::Normal)
    }

    // ----- tail calls -----

    fn visit_return_call(&mut self, function_index: u32) -> Self::Output {
        self.translate_call(function_index, CallKind::Tail)
    }
    fn visit_return_call_indirect(&mut self, type_index: u32, table_index: u32) -> Self::Output {
        self.translate_call_indirect(type_index, table_index, CallKind::Tail)
    }

    // ----- typed function references -----

    fn visit_call_ref(&mut self, type_index: u32) -> Self::Output {
        self.translate_call_ref(type_index, CallKind::Normal)
    }
    fn visit_return_call_ref(&mut self, type_index: u32) -> Self::Output {
        self.translate_call_ref(type_index, CallKind::Tail)
    }
    fn visit_ref_as_non_null(&mut self) -> Self::Output {
        self.translate_ref_as_non_null()
    }
    fn visit_br_on_null(&mut self, relative_depth: u32) -> Self::Output {
        self.translate_br_on_null(relative_depth)
    }
    fn visit_br_on_non_null(&mut self, relative_depth: u32) -> Self::Output {
        self.translate_br_on_non_null(relative_depth)
    }
    fn visit_ref_eq(&mut self) -> Self::Output {
        self.translate_ref_eq()
    }

    // ----- atomics (threads proposal) -----
    fn visit_i32_atomic_load(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_load(memarg, I32, I32)
    }
    fn visit_i64_atomic_load(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_load(memarg, I64, I64)
    }
    fn visit_i32_atomic_load8_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_load(memarg, I32, I8)
    }
    fn visit_i32_atomic_load16_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_load(memarg, I32, I16)
    }
    fn visit_i64_atomic_load8_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_load(memarg, I64, I8)
    }
    fn visit_i64_atomic_load16_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_load(memarg, I64, I16)
    }
    fn visit_i64_atomic_load32_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_load(memarg, I64, I32)
    }
    fn visit_i32_atomic_store(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_store(memarg, I32, I32)
    }
    fn visit_i64_atomic_store(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_store(memarg, I64, I64)
    }
    fn visit_i32_atomic_store8(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_store(memarg, I32, I8)
    }
    fn visit_i32_atomic_store16(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_store(memarg, I32, I16)
    }
    fn visit_i64_atomic_store8(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_store(memarg, I64, I8)
    }
    fn visit_i64_atomic_store16(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_store(memarg, I64, I16)
    }
    fn visit_i64_atomic_store32(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_store(memarg, I64, I32)
    }
    fn visit_i32_atomic_rmw_add(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I32, AtomicRmwOp::Add)
    }
    fn visit_i64_atomic_rmw_add(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I64, AtomicRmwOp::Add)
    }
    fn visit_i32_atomic_rmw8_add_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I8, AtomicRmwOp::Add)
    }
    fn visit_i32_atomic_rmw16_add_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I16, AtomicRmwOp::Add)
    }
    fn visit_i64_atomic_rmw8_add_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I8, AtomicRmwOp::Add)
    }
    fn visit_i64_atomic_rmw16_add_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I16, AtomicRmwOp::Add)
    }
    fn visit_i64_atomic_rmw32_add_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I32, AtomicRmwOp::Add)
    }
    fn visit_i32_atomic_rmw_sub(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I32, AtomicRmwOp::Sub)
    }
    fn visit_i64_atomic_rmw_sub(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I64, AtomicRmwOp::Sub)
    }
    fn visit_i32_atomic_rmw8_sub_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I8, AtomicRmwOp::Sub)
    }
    fn visit_i32_atomic_rmw16_sub_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I16, AtomicRmwOp::Sub)
    }
    fn visit_i64_atomic_rmw8_sub_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I8, AtomicRmwOp::Sub)
    }
    fn visit_i64_atomic_rmw16_sub_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I16, AtomicRmwOp::Sub)
    }
    fn visit_i64_atomic_rmw32_sub_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I32, AtomicRmwOp::Sub)
    }
    fn visit_i32_atomic_rmw_and(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I32, AtomicRmwOp::And)
    }
    fn visit_i64_atomic_rmw_and(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I64, AtomicRmwOp::And)
    }
    fn visit_i32_atomic_rmw8_and_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I8, AtomicRmwOp::And)
    }
    fn visit_i32_atomic_rmw16_and_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I16, AtomicRmwOp::And)
    }
    fn visit_i64_atomic_rmw8_and_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I8, AtomicRmwOp::And)
    }
    fn visit_i64_atomic_rmw16_and_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I16, AtomicRmwOp::And)
    }
    fn visit_i64_atomic_rmw32_and_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I32, AtomicRmwOp::And)
    }
    fn visit_i32_atomic_rmw_or(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I32, AtomicRmwOp::Or)
    }
    fn visit_i64_atomic_rmw_or(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I64, AtomicRmwOp::Or)
    }
    fn visit_i32_atomic_rmw8_or_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I8, AtomicRmwOp::Or)
    }
    fn visit_i32_atomic_rmw16_or_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I16, AtomicRmwOp::Or)
    }
    fn visit_i64_atomic_rmw8_or_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I8, AtomicRmwOp::Or)
    }
    fn visit_i64_atomic_rmw16_or_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I16, AtomicRmwOp::Or)
    }
    fn visit_i64_atomic_rmw32_or_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I32, AtomicRmwOp::Or)
    }
    fn visit_i32_atomic_rmw_xor(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I32, AtomicRmwOp::Xor)
    }
    fn visit_i64_atomic_rmw_xor(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I64, AtomicRmwOp::Xor)
    }
    fn visit_i32_atomic_rmw8_xor_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I8, AtomicRmwOp::Xor)
    }
    fn visit_i32_atomic_rmw16_xor_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I16, AtomicRmwOp::Xor)
    }
    fn visit_i64_atomic_rmw8_xor_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I8, AtomicRmwOp::Xor)
    }
    fn visit_i64_atomic_rmw16_xor_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I16, AtomicRmwOp::Xor)
    }
    fn visit_i64_atomic_rmw32_xor_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I32, AtomicRmwOp::Xor)
    }
    fn visit_i32_atomic_rmw_xchg(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I32, AtomicRmwOp::Xchg)
    }
    fn visit_i64_atomic_rmw_xchg(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I64, AtomicRmwOp::Xchg)
    }
    fn visit_i32_atomic_rmw8_xchg_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I8, AtomicRmwOp::Xchg)
    }
    fn visit_i32_atomic_rmw16_xchg_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I32, I16, AtomicRmwOp::Xchg)
    }
    fn visit_i64_atomic_rmw8_xchg_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I8, AtomicRmwOp::Xchg)
    }
    fn visit_i64_atomic_rmw16_xchg_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I16, AtomicRmwOp::Xchg)
    }
    fn visit_i64_atomic_rmw32_xchg_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_rmw(memarg, I64, I32, AtomicRmwOp::Xchg)
    }
    fn visit_i32_atomic_rmw_cmpxchg(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_cmpxchg(memarg, I32, I32)
    }
    fn visit_i64_atomic_rmw_cmpxchg(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_cmpxchg(memarg, I64, I64)
    }
    fn visit_i32_atomic_rmw8_cmpxchg_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_cmpxchg(memarg, I32, I8)
    }
    fn visit_i32_atomic_rmw16_cmpxchg_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_cmpxchg(memarg, I32, I16)
    }
    fn visit_i64_atomic_rmw8_cmpxchg_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_cmpxchg(memarg, I64, I8)
    }
    fn visit_i64_atomic_rmw16_cmpxchg_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_cmpxchg(memarg, I64, I16)
    }
    fn visit_i64_atomic_rmw32_cmpxchg_u(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_cmpxchg(memarg, I64, I32)
    }
    fn visit_memory_atomic_notify(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_notify(memarg)
    }
    fn visit_memory_atomic_wait32(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_wait(memarg, 4)
    }
    fn visit_memory_atomic_wait64(&mut self, memarg: MemArg) -> Self::Output {
        self.atomic_wait(memarg, 8)
    }
    fn visit_atomic_fence(&mut self, ordering: wasmparser::Ordering) -> Self::Output {
        let _ = ordering;
        self.atomic_fence()
    }

    // ----- exceptions -----

    fn visit_try_table(&mut self, try_table: wasmparser::TryTable) -> Self::Output {
        self.translate_try_table(try_table)
    }
    fn visit_throw(&mut self, tag_index: u32) -> Self::Output {
        self.translate_throw(tag_index)
    }
    fn visit_throw_ref(&mut self) -> Self::Output {
        self.translate_throw_ref()
    }
    fn visit_try(&mut self, blockty: wasmparser::BlockType) -> Self::Output {
        self.translate_legacy_try(blockty)
    }
    fn visit_catch(&mut self, tag_index: u32) -> Self::Output {
        self.translate_legacy_catch(tag_index)
    }
    fn visit_catch_all(&mut self) -> Self::Output {
        self.translate_legacy_catch_all()
    }
    fn visit_delegate(&mut self, relative_depth: u32) -> Self::Output {
        self.translate_delegate(relative_depth)
    }
    fn visit_rethrow(&mut self, relative_depth: u32) -> Self::Output {
        self.translate_rethrow(relative_depth)
    }

    // ----- wide arithmetic -----

    fn visit_i64_add128(&mut self) -> Self::Output {
        self.wide_add_sub(false)
    }
    fn visit_i64_sub128(&mut self) -> Self::Output {
        self.wide_add_sub(true)
    }
    fn visit_i64_mul_wide_s(&mut self) -> Self::Output {
        self.wide_mul(true)
    }
    fn visit_i64_mul_wide_u(&mut self) -> Self::Output {
        self.wide_mul(false)
    }
    fn visit_drop(&mut self) -> Self::Output {
        if self.reachable {
            self.pop();
        }
        Ok(())
    }
    fn visit_select(&mut self) -> Self::Output {
        if self.reachable {
            let (a, b, condition) = self.pop3();
            let v = self.builder.ins().select(condition, a, b);
            self.push(v);
        }
        Ok(())
    }
    fn visit_typed_select(&mut self, ty: wasmparser::ValType) -> Self::Output {
        let _ = ty;
        self.visit_select()
    }
    fn visit_typed_select_multi(&mut self, tys: Vec<wasmparser::ValType>) -> Self::Output {
        let _ = tys;
        Err(unsupported("select with multiple results"))
    }

    // ----- locals and globals -----

    fn visit_local_get(&mut self, local_index: u32) -> Self::Output {
        if self.reachable {
            let (local, _) = self.locals[local_index as usize];
            let v = self.get_local(local);
            self.push(v);
        }
        Ok(())
    }
    fn visit_local_set(&mut self, local_index: u32) -> Self::Output {
        if self.reachable {
            let v = self.pop();
            let (local, _) = self.locals[local_index as usize];
            self.set_local(local, v);
        }
        Ok(())
    }
    fn visit_local_tee(&mut self, local_index: u32) -> Self::Output {
        if self.reachable {
            let v = *self.stack.last().expect("validated: tee has an operand");
            let (local, _) = self.locals[local_index as usize];
            self.set_local(local, v);
        }
        Ok(())
    }
    fn visit_global_get(&mut self, global_index: u32) -> Self::Output {
        if self.reachable {
            let v = self
                .env
                .global_get(&mut self.builder, GlobalIndex::from_u32(global_index));
            self.push(v);
        }
        Ok(())
    }
    fn visit_global_set(&mut self, global_index: u32) -> Self::Output {
        if self.reachable {
            let v = self.pop();
            self.env
                .global_set(&mut self.builder, GlobalIndex::from_u32(global_index), v);
        }
        Ok(())
    }

    // ----- memory -----

    load! {
        visit_i32_load => load(I32, 4),
        visit_i64_load => load(I64, 8),
        visit_f32_load => load(F32, 4),
        visit_f64_load => load(F64, 8),
        visit_i32_load8_s => sload8(I32, 1),
        visit_i32_load8_u => uload8(I32, 1),
        visit_i32_load16_s => sload16(I32, 2),
        visit_i32_load16_u => uload16(I32, 2),
        visit_i64_load8_s => sload8(I64, 1),
        visit_i64_load8_u => uload8(I64, 1),
        visit_i64_load16_s => sload16(I64, 2),
        visit_i64_load16_u => uload16(I64, 2),
        visit_i64_load32_s => sload32(4),
        visit_i64_load32_u => uload32(4),
    }

    store! {
        visit_i32_store => store(4),
        visit_i64_store => store(8),
        visit_f32_store => store(4),
        visit_f64_store => store(8),
        visit_i32_store8 => istore8(1),
        visit_i32_store16 => istore16(2),
        visit_i64_store8 => istore8(1),
        visit_i64_store16 => istore16(2),
        visit_i64_store32 => istore32(4),
    }

    fn visit_memory_size(&mut self, mem: u32) -> Self::Output {
        if self.reachable {
            let v = self
                .env
                .memory_size(&mut self.builder, MemoryIndex::from_u32(mem));
            self.push(v);
        }
        Ok(())
    }
    fn visit_memory_grow(&mut self, mem: u32) -> Self::Output {
        if self.reachable {
            let delta = self.pop();
            let v = self
                .env
                .memory_grow(&mut self.builder, MemoryIndex::from_u32(mem), delta);
            self.push(v);
        }
        Ok(())
    }
    fn visit_memory_init(&mut self, data_index: u32, mem: u32) -> Self::Output {
        if self.reachable {
            let _ = DataIndex::from_u32(data_index);
            self.bulk(Builtin::MemoryInit, &[mem, data_index], 3);
        }
        Ok(())
    }
    fn visit_data_drop(&mut self, data_index: u32) -> Self::Output {
        if self.reachable {
            let data = self.i64_const(i64::from(data_index));
            self.env
                .call_unit_builtin(&mut self.builder, Builtin::DataDrop, &[data]);
        }
        Ok(())
    }
    fn visit_memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> Self::Output {
        if self.reachable {
            let (dst, src, len) = self.pop3();
            self.env.memory_copy(
                &mut self.builder,
                MemoryIndex::from_u32(dst_mem),
                dst,
                MemoryIndex::from_u32(src_mem),
                src,
                len,
            );
        }
        Ok(())
    }
    fn visit_memory_fill(&mut self, mem: u32) -> Self::Output {
        if self.reachable {
            let (dst, value, len) = self.pop3();
            self.env.memory_fill(
                &mut self.builder,
                MemoryIndex::from_u32(mem),
                dst,
                value,
                len,
            );
        }
        Ok(())
    }

    // ----- tables and references -----

    fn visit_table_init(&mut self, elem_index: u32, table: u32) -> Self::Output {
        if self.reachable {
            let _ = ElemIndex::from_u32(elem_index);
            self.bulk(Builtin::TableInit, &[table, elem_index], 3);
        }
        Ok(())
    }
    fn visit_elem_drop(&mut self, elem_index: u32) -> Self::Output {
        if self.reachable {
            let elem = self.i64_const(i64::from(elem_index));
            self.env
                .call_unit_builtin(&mut self.builder, Builtin::ElemDrop, &[elem]);
        }
        Ok(())
    }
    fn visit_table_copy(&mut self, dst_table: u32, src_table: u32) -> Self::Output {
        if self.reachable {
            self.bulk(Builtin::TableCopy, &[dst_table, src_table], 3);
        }
        Ok(())
    }
    fn visit_table_fill(&mut self, table: u32) -> Self::Output {
        if self.reachable {
            self.bulk(Builtin::TableFill, &[table], 3);
        }
        Ok(())
    }
    fn visit_table_get(&mut self, table: u32) -> Self::Output {
        if self.reachable {
            let index = self.pop();
            let v = self
                .env
                .table_get(&mut self.builder, TableIndex::from_u32(table), index);
            self.push(v);
        }
        Ok(())
    }
    fn visit_table_set(&mut self, table: u32) -> Self::Output {
        if self.reachable {
            let (index, value) = self.pop2();
            self.env
                .table_set(&mut self.builder, TableIndex::from_u32(table), index, value);
        }
        Ok(())
    }
    fn visit_table_grow(&mut self, table: u32) -> Self::Output {
        if self.reachable {
            let (init, delta) = self.pop2();
            let table64 = self.env.module.tables[TableIndex::from_u32(table)].table64;
            let table = self.i64_const(i64::from(table));
            let old =
                self.env
                    .call_builtin(&mut self.builder, Builtin::TableGrow, &[table, delta, init]);
            self.env.trap_on_grow_failure(&mut self.builder, old);
            let v = if table64 {
                old
            } else {
                self.builder.ins().ireduce(I32, old)
            };
            self.push(v);
        }
        Ok(())
    }
    fn visit_table_size(&mut self, table: u32) -> Self::Output {
        if self.reachable {
            let v = self
                .env
                .table_size(&mut self.builder, TableIndex::from_u32(table));
            self.push(v);
        }
        Ok(())
    }
    fn visit_ref_null(&mut self, hty: wasmparser::HeapType) -> Self::Output {
        let _ = hty;
        if self.reachable {
            let v = self.builder.ins().iconst(self.env.pointer_type, 0);
            self.push(v);
        }
        Ok(())
    }
    fn visit_ref_is_null(&mut self) -> Self::Output {
        if self.reachable {
            let a = self.pop();
            let c = self.builder.ins().icmp_imm_u(IntCC::Equal, a, 0);
            let v = self.builder.ins().uextend(I32, c);
            self.push(v);
        }
        Ok(())
    }
    fn visit_ref_func(&mut self, function_index: u32) -> Self::Output {
        if self.reachable {
            let v = self
                .env
                .ref_func(&mut self.builder, FuncIndex::from_u32(function_index));
            self.push(v);
        }
        Ok(())
    }

    // ----- constants -----

    fn visit_i32_const(&mut self, value: i32) -> Self::Output {
        if self.reachable {
            let v = self.builder.ins().iconst(I32, i64::from(value as u32));
            self.push(v);
        }
        Ok(())
    }
    fn visit_i64_const(&mut self, value: i64) -> Self::Output {
        if self.reachable {
            let v = self.builder.ins().iconst(I64, value);
            self.push(v);
        }
        Ok(())
    }
    fn visit_f32_const(&mut self, value: wasmparser::Ieee32) -> Self::Output {
        if self.reachable {
            let v = self.builder.ins().f32const(Ieee32::with_bits(value.bits()));
            self.push(v);
        }
        Ok(())
    }
    fn visit_f64_const(&mut self, value: wasmparser::Ieee64) -> Self::Output {
        if self.reachable {
            let v = self.builder.ins().f64const(Ieee64::with_bits(value.bits()));
            self.push(v);
        }
        Ok(())
    }

    // ----- integer arithmetic -----

    fn visit_i32_eqz(&mut self) -> Self::Output {
        self.eqz()
    }
    fn visit_i64_eqz(&mut self) -> Self::Output {
        self.eqz()
    }

    icmp! {
        visit_i32_eq => Equal, visit_i32_ne => NotEqual,
        visit_i32_lt_s => SignedLessThan, visit_i32_lt_u => UnsignedLessThan,
        visit_i32_gt_s => SignedGreaterThan, visit_i32_gt_u => UnsignedGreaterThan,
        visit_i32_le_s => SignedLessThanOrEqual, visit_i32_le_u => UnsignedLessThanOrEqual,
        visit_i32_ge_s => SignedGreaterThanOrEqual, visit_i32_ge_u => UnsignedGreaterThanOrEqual,
        visit_i64_eq => Equal, visit_i64_ne => NotEqual,
        visit_i64_lt_s => SignedLessThan, visit_i64_lt_u => UnsignedLessThan,
        visit_i64_gt_s => SignedGreaterThan, visit_i64_gt_u => UnsignedGreaterThan,
        visit_i64_le_s => SignedLessThanOrEqual, visit_i64_le_u => UnsignedLessThanOrEqual,
        visit_i64_ge_s => SignedGreaterThanOrEqual, visit_i64_ge_u => UnsignedGreaterThanOrEqual,
    }

    fcmp! {
        visit_f32_eq => Equal, visit_f32_ne => NotEqual,
        visit_f32_lt => LessThan, visit_f32_gt => GreaterThan,
        visit_f32_le => LessThanOrEqual, visit_f32_ge => GreaterThanOrEqual,
        visit_f64_eq => Equal, visit_f64_ne => NotEqual,
        visit_f64_lt => LessThan, visit_f64_gt => GreaterThan,
        visit_f64_le => LessThanOrEqual, visit_f64_ge => GreaterThanOrEqual,
    }

    unary! {
        visit_i32_clz => clz, visit_i32_ctz => ctz, visit_i32_popcnt => popcnt,
        visit_i64_clz => clz, visit_i64_ctz => ctz, visit_i64_popcnt => popcnt,
        visit_f32_abs => fabs, visit_f32_neg => fneg,

        visit_f32_sqrt => sqrt,
        visit_f64_abs => fabs, visit_f64_neg => fneg,

        visit_f64_sqrt => sqrt,
    }

    binary! {
        visit_i32_add => iadd, visit_i32_sub => isub, visit_i32_mul => imul,
        visit_i32_div_s => sdiv, visit_i32_div_u => udiv,
        visit_i32_rem_s => srem, visit_i32_rem_u => urem,
        visit_i32_and => band, visit_i32_or => bor, visit_i32_xor => bxor,
        visit_i32_shl => ishl, visit_i32_shr_s => sshr, visit_i32_shr_u => ushr,
        visit_i32_rotl => rotl, visit_i32_rotr => rotr,
        visit_i64_add => iadd, visit_i64_sub => isub, visit_i64_mul => imul,
        visit_i64_div_s => sdiv, visit_i64_div_u => udiv,
        visit_i64_rem_s => srem, visit_i64_rem_u => urem,
        visit_i64_and => band, visit_i64_or => bor, visit_i64_xor => bxor,
        visit_i64_shl => ishl, visit_i64_shr_s => sshr, visit_i64_shr_u => ushr,
        visit_i64_rotl => rotl, visit_i64_rotr => rotr,
        visit_f32_add => fadd, visit_f32_sub => fsub, visit_f32_mul => fmul,
        visit_f32_div => fdiv, visit_f32_min => fmin, visit_f32_max => fmax,
        visit_f32_copysign => fcopysign,
        visit_f64_add => fadd, visit_f64_sub => fsub, visit_f64_mul => fmul,
        visit_f64_div => fdiv, visit_f64_min => fmin, visit_f64_max => fmax,
        visit_f64_copysign => fcopysign,
    }

    // Rounding: native instructions where the CPU has them, else builtins.
    fn visit_f32_ceil(&mut self) -> Self::Output {
        self.round(Builtin::CeilF32, |b, x| b.ins().ceil(x))
    }
    fn visit_f32_floor(&mut self) -> Self::Output {
        self.round(Builtin::FloorF32, |b, x| b.ins().floor(x))
    }
    fn visit_f32_trunc(&mut self) -> Self::Output {
        self.round(Builtin::TruncF32, |b, x| b.ins().trunc(x))
    }
    fn visit_f32_nearest(&mut self) -> Self::Output {
        self.round(Builtin::NearestF32, |b, x| b.ins().nearest(x))
    }
    fn visit_f64_ceil(&mut self) -> Self::Output {
        self.round(Builtin::CeilF64, |b, x| b.ins().ceil(x))
    }
    fn visit_f64_floor(&mut self) -> Self::Output {
        self.round(Builtin::FloorF64, |b, x| b.ins().floor(x))
    }
    fn visit_f64_trunc(&mut self) -> Self::Output {
        self.round(Builtin::TruncF64, |b, x| b.ins().trunc(x))
    }
    fn visit_f64_nearest(&mut self) -> Self::Output {
        self.round(Builtin::NearestF64, |b, x| b.ins().nearest(x))
    }

    // ----- conversions -----

    convert! {
        visit_i32_wrap_i64 => ireduce(I32),
        visit_i64_extend_i32_s => sextend(I64),
        visit_i64_extend_i32_u => uextend(I64),
        visit_i32_trunc_f32_s => fcvt_to_sint(I32), visit_i32_trunc_f32_u => fcvt_to_uint(I32),
        visit_i32_trunc_f64_s => fcvt_to_sint(I32), visit_i32_trunc_f64_u => fcvt_to_uint(I32),
        visit_i64_trunc_f32_s => fcvt_to_sint(I64), visit_i64_trunc_f32_u => fcvt_to_uint(I64),
        visit_i64_trunc_f64_s => fcvt_to_sint(I64), visit_i64_trunc_f64_u => fcvt_to_uint(I64),
        visit_i32_trunc_sat_f32_s => fcvt_to_sint_sat(I32), visit_i32_trunc_sat_f32_u => fcvt_to_uint_sat(I32),
        visit_i32_trunc_sat_f64_s => fcvt_to_sint_sat(I32), visit_i32_trunc_sat_f64_u => fcvt_to_uint_sat(I32),
        visit_i64_trunc_sat_f32_s => fcvt_to_sint_sat(I64), visit_i64_trunc_sat_f32_u => fcvt_to_uint_sat(I64),
        visit_i64_trunc_sat_f64_s => fcvt_to_sint_sat(I64), visit_i64_trunc_sat_f64_u => fcvt_to_uint_sat(I64),
        visit_f32_convert_i32_s => fcvt_from_sint(F32), visit_f32_convert_i32_u => fcvt_from_uint(F32),
        visit_f32_convert_i64_s => fcvt_from_sint(F32), visit_f32_convert_i64_u => fcvt_from_uint(F32),
        visit_f64_convert_i32_s => fcvt_from_sint(F64), visit_f64_convert_i32_u => fcvt_from_uint(F64),
        visit_f64_convert_i64_s => fcvt_from_sint(F64), visit_f64_convert_i64_u => fcvt_from_uint(F64),
        visit_f32_demote_f64 => fdemote(F32),
        visit_f64_promote_f32 => fpromote(F64),
    }

    reinterpret! {
        visit_i32_reinterpret_f32 => I32,
        visit_i64_reinterpret_f64 => I64,
        visit_f32_reinterpret_i32 => F32,
        visit_f64_reinterpret_i64 => F64,
    }

    sign_extend! {
        visit_i32_extend8_s => I32 from I8,
        visit_i32_extend16_s => I32 from I16,
        visit_i64_extend8_s => I64 from I8,
        visit_i64_extend16_s => I64 from I16,
        visit_i64_extend32_s => I64 from I32,
    }
}

impl FuncTranslator<'_, '_> {
    fn round(
        &mut self,
        builtin: Builtin,
        native: impl FnOnce(&mut cranelift_frontend::FunctionBuilder, Value) -> Value,
    ) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let x = self.pop();
        let v = if self.env.isa.has_round() {
            native(&mut self.builder, x)
        } else {
            let ty = self.builder.func.dfg.value_type(x);
            let int = if ty == F32 { I32 } else { I64 };
            let bits = self.builder.ins().bitcast(int, MemFlagsData::new(), x);
            let result = self.env.call_builtin(&mut self.builder, builtin, &[bits]);
            let result = if ty == F32 {
                self.builder.ins().ireduce(I32, result)
            } else {
                result
            };
            self.builder.ins().bitcast(ty, MemFlagsData::new(), result)
        };
        self.push(v);
        Ok(())
    }

    fn eqz(&mut self) -> WasmResult<()> {
        if self.reachable {
            let a = self.pop();
            let c = self.builder.ins().icmp_imm_u(IntCC::Equal, a, 0);
            let v = self.builder.ins().uextend(I32, c);
            self.push(v);
        }
        Ok(())
    }
}
