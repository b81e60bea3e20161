//! How compiled code reaches the GC heap (the GC proposal): the heap base,
//! inline bump allocation, object addresses, and constant-time subtype
//! checks against the store's type displays. The object model itself is
//! `hoist_environ::gc`; the operators are lowered in `translate::gc`.

use crate::func_environ::{readonly, trusted, FuncEnvironment};
use crate::trap_code;
use cranelift_codegen::ir::{self, condcodes::IntCC, types, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use hoist_environ::{Builtin, TrapCode, TypeIndex, TypeRef};

/// Flags for accesses to object fields: plain little-endian accesses
/// that cannot trap (the reference was checked).
pub(crate) fn gc_flags(aligned: bool) -> MemFlagsData {
    let flags = MemFlagsData::new()
        .with_notrap()
        .with_endianness(ir::Endianness::Little);
    if aligned {
        flags.with_aligned()
    } else {
        flags
    }
}

impl FuncEnvironment<'_> {
    /// The store context (read-only: it never changes for an instance).
    fn store_context(&mut self, builder: &mut FunctionBuilder) -> Value {
        let vmctx = self.vmctx();
        builder.ins().load(
            self.pointer_type,
            readonly(),
            vmctx,
            self.offsets.vmctx_store_context() as i32,
        )
    }

    /// The GC heap's base. Loaded where it is needed: the heap is made by
    /// the store's first allocation, which may be a call away.
    pub fn gc_heap_base(&mut self, builder: &mut FunctionBuilder) -> Value {
        let ctx = self.store_context(builder);
        builder.ins().load(
            self.pointer_type,
            trusted(),
            ctx,
            self.offsets.store_context_gc_heap_base() as i32,
        )
    }

    /// The native address of byte `offset` of object `obj` (a non-null
    /// object reference word, zero-extended).
    pub fn gc_address(&mut self, builder: &mut FunctionBuilder, obj: Value, offset: u32) -> Value {
        let base = self.gc_heap_base(builder);
        let at = builder.ins().iadd(base, obj);
        if offset == 0 {
            at
        } else {
            builder.ins().iadd_imm_u(at, i64::from(offset))
        }
    }

    /// The engine-wide id of the module's type `ty` (an i32).
    pub fn engine_type_id(&mut self, builder: &mut FunctionBuilder, ty: TypeIndex) -> Value {
        let vmctx = self.vmctx();
        builder.ins().load(
            types::I32,
            readonly(),
            vmctx,
            self.offsets.vmctx_type_id(ty) as i32,
        )
    }

    /// Allocates `size` bytes (an i64, a multiple of 8) and writes the
    /// header word `header` (an i32): bumps the store's allocation pointer
    /// inline, or calls the `gc_alloc` builtin when the space is full
    /// (which collects or grows the heap, and traps "out of GC heap
    /// memory" when nothing helps). Returns the new object's reference.
    pub fn gc_alloc(&mut self, builder: &mut FunctionBuilder, header: Value, size: Value) -> Value {
        let ctx = self.store_context(builder);
        let next = builder.ins().load(
            types::I64,
            trusted(),
            ctx,
            self.offsets.store_context_gc_next() as i32,
        );
        let end = builder.ins().iadd(next, size);
        let limit = builder.ins().load(
            types::I64,
            trusted(),
            ctx,
            self.offsets.store_context_gc_limit() as i32,
        );
        let full = builder.ins().icmp(IntCC::UnsignedGreaterThan, end, limit);
        let fast = builder.create_block();
        let slow = builder.create_block();
        let done = builder.create_block();
        builder.append_block_param(done, types::I64);
        builder.ins().brif(full, slow, &[], fast, &[]);

        builder.seal_block(fast);
        builder.switch_to_block(fast);
        builder.ins().store(
            trusted(),
            end,
            ctx,
            self.offsets.store_context_gc_next() as i32,
        );
        builder.ins().jump(done, &[ir::BlockArg::Value(next)]);

        builder.seal_block(slow);
        builder.switch_to_block(slow);
        builder.set_cold_block(slow);
        let obj = self.call_builtin(builder, Builtin::GcAlloc, &[size]);
        builder
            .ins()
            .trapz(obj, trap_code(TrapCode::GcHeapOutOfMemory));
        builder.ins().jump(done, &[ir::BlockArg::Value(obj)]);

        builder.seal_block(done);
        builder.switch_to_block(done);
        let obj = builder.block_params(done)[0];
        let at = self.gc_address(builder, obj, 0);
        builder.ins().store(gc_flags(true), header, at, 0);
        obj
    }

    /// The number of declared supertypes of module type `ty`: its index in
    /// the display of itself and every subtype.
    fn type_depth(&self, ty: TypeIndex) -> u32 {
        let mut depth = 0;
        let mut at = ty;
        while let Some(TypeRef::Module(sup)) = self.module.types[at].supertype {
            depth += 1;
            at = sup;
        }
        depth
    }

    /// Whether engine type `actual` (an i32) is module type `expected` or
    /// a subtype of it: an i8 that is 1 or 0. Constant time: equal ids, or
    /// `expected` at its depth in `actual`'s display.
    pub fn gc_subtype_check(
        &mut self,
        builder: &mut FunctionBuilder,
        actual: Value,
        expected: TypeIndex,
    ) -> Value {
        let expected_id = self.engine_type_id(builder, expected);
        let same = builder.ins().icmp(IntCC::Equal, actual, expected_id);
        if self.module.types[expected].is_final {
            // A final type has no subtypes.
            return same;
        }
        let depth = self.type_depth(expected);
        let display = builder.create_block();
        let deep = builder.create_block();
        let done = builder.create_block();
        builder.append_block_param(done, types::I8);
        let one = builder.ins().iconst(types::I8, 1);
        builder
            .ins()
            .brif(same, done, &[ir::BlockArg::Value(one)], display, &[]);

        builder.seal_block(display);
        builder.switch_to_block(display);
        let ctx = self.store_context(builder);
        let table = builder.ins().load(
            self.pointer_type,
            trusted(),
            ctx,
            self.offsets.store_context_gc_types() as i32,
        );
        let index = builder.ins().uextend(self.pointer_type, actual);
        let scaled = builder
            .ins()
            .imul_imm_u(index, i64::from(self.offsets.size_of_gc_type_entry()));
        let entry = builder.ins().iadd(table, scaled);
        let actual_depth = builder.ins().load(
            types::I32,
            trusted(),
            entry,
            self.offsets.gc_type_entry_depth() as i32,
        );
        let deep_enough = builder.ins().icmp_imm_u(
            IntCC::UnsignedGreaterThanOrEqual,
            actual_depth,
            i64::from(depth),
        );
        let zero = builder.ins().iconst(types::I8, 0);
        builder
            .ins()
            .brif(deep_enough, deep, &[], done, &[ir::BlockArg::Value(zero)]);

        builder.seal_block(deep);
        builder.switch_to_block(deep);
        let supertypes = builder.ins().load(
            self.pointer_type,
            trusted(),
            entry,
            self.offsets.gc_type_entry_display() as i32,
        );
        let at_depth = builder
            .ins()
            .load(types::I32, trusted(), supertypes, (4 * depth) as i32);
        let found = builder.ins().icmp(IntCC::Equal, at_depth, expected_id);
        builder.ins().jump(done, &[ir::BlockArg::Value(found)]);

        builder.seal_block(done);
        builder.switch_to_block(done);
        builder.block_params(done)[0]
    }

    /// Whether funcref `funcref` (non-null) is of module type `expected`
    /// or a subtype: an i8.
    pub fn funcref_subtype_check(
        &mut self,
        builder: &mut FunctionBuilder,
        funcref: Value,
        expected: TypeIndex,
    ) -> Value {
        let actual = builder.ins().load(
            types::I32,
            trusted(),
            funcref,
            self.offsets.funcref_type_id() as i32,
        );
        self.gc_subtype_check(builder, actual, expected)
    }
}
