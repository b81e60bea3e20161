//! Every decision about how a wasm entity is reached from compiled code:
//! memories, tables, globals, calls and builtins. The operator translator
//! knows no VMContext offsets; it asks this environment.

use crate::alias::Region;
use crate::bounds_checks::{bounds_check, HeapInfo};
use crate::{ir_type, trap_code, wasm_signature};
use cranelift_codegen::ir::{
    self, condcodes::IntCC, AbiParam, ExtFuncData, ExternalName, InstBuilder, MemFlagsData, SigRef,
    Signature, Type, UserExternalName, Value,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use hoist_environ::*;
use std::collections::HashMap;

/// Flags for loads of VMContext fields that never change while the
/// instance lives: they may be hoisted and merged freely.
pub(crate) fn readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// Flags for loads and stores of VMContext-reachable fields that may change.
pub(crate) fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Where a call goes.
#[derive(Clone, Copy, Debug)]
pub enum Callee {
    /// A defined function of this module, called directly.
    Direct(ir::FuncRef),
    /// Code reached through a pointer, with its own vmctx.
    Indirect {
        sig: SigRef,
        code: Value,
        vmctx: Value,
    },
}

/// The per-function translation environment.
pub struct FuncEnvironment<'a> {
    pub module: &'a Module,
    pub offsets: &'a VMOffsets,
    pub tunables: &'a Tunables,
    pub isa: &'a dyn TargetIsa,
    pub pointer_type: Type,
    vmctx: Option<Value>,
    heaps: HashMap<MemoryIndex, HeapInfo>,
    signatures: HashMap<TypeIndex, SigRef>,
    functions: HashMap<FuncIndex, ir::FuncRef>,
    builtin_signatures: HashMap<usize, SigRef>,
    /// Lazy compilation: calls to this module's functions load their code
    /// from the vmctx funcref (a stub until the callee is compiled) instead
    /// of calling a linked address.
    calls_through_funcrefs: bool,
    /// Numeric locals live in stack slots of their own (loaded on
    /// `local.get`, stored on `local.set`) instead of SSA variables: the
    /// frame layout of a single-pass baseline compiler, for the single-pass
    /// register allocator (see [`FuncEnvironment::with_locals_in_stack_slots`]).
    pub(crate) locals_in_stack_slots: bool,
    /// Tier-up in lazily compiled code: where this function's hotness
    /// counter is (see [`FuncEnvironment::with_hotness_counter`]).
    pub(crate) hotness_counter: Option<DefinedFuncIndex>,
    /// The prologue checks unoptimized first-call code's stack limit (see
    /// [`FuncEnvironment::with_unoptimized_stack_limit`]).
    unoptimized_stack_limit: bool,
}

impl<'a> FuncEnvironment<'a> {
    pub fn new(
        module: &'a Module,
        offsets: &'a VMOffsets,
        tunables: &'a Tunables,
        isa: &'a dyn TargetIsa,
    ) -> Self {
        FuncEnvironment {
            module,
            offsets,
            tunables,
            isa,
            pointer_type: isa.pointer_type(),
            vmctx: None,
            heaps: HashMap::new(),
            signatures: HashMap::new(),
            functions: HashMap::new(),
            builtin_signatures: HashMap::new(),
            calls_through_funcrefs: false,
            locals_in_stack_slots: false,
            hotness_counter: None,
            unoptimized_stack_limit: false,
        }
    }

    /// For a lazily compiled module's first-call code from Cranelift
    /// without optimizations: the prologue checks the store context's
    /// `unoptimized_stack_limit` (the budget twice over, as unoptimized
    /// frames are bigger) instead of `stack_limit`, so a recursion that
    /// fits optimized code fits this. (The single-pass compiler checks its
    /// own limit, `baseline_stack_limit`, whatever this says.)
    pub fn with_unoptimized_stack_limit(mut self) -> Self {
        self.unoptimized_stack_limit = true;
        self
    }

    /// For code compiled on its first call (lazy compilation): it lives
    /// apart from any linked text, so every call to a function of this
    /// module goes through the function's funcref in the vmctx, where the
    /// callee's code (or its compile stub) is.
    pub fn with_calls_through_funcrefs(mut self) -> Self {
        self.calls_through_funcrefs = true;
        self
    }

    /// Numeric locals in stack slots: values then live across blocks only
    /// as wasm operands (block parameters), so the single-pass register
    /// allocator, which gives each value live across a block boundary a
    /// slot of its own, makes frames about the size of the locals rather
    /// than of every SSA value the function has.
    pub fn with_locals_in_stack_slots(mut self) -> Self {
        self.locals_in_stack_slots = true;
        self
    }

    /// With `func` (the defined function translated), counts its entries
    /// and loop iterations down in its counter of the vmctx's hotness
    /// counters, for the optimizing thread to read: the baseline tier's
    /// hot-function detection (see `translate::hotness`). `None`: no
    /// counting.
    pub fn with_hotness_counter(mut self, func: Option<DefinedFuncIndex>) -> Self {
        self.hotness_counter = func;
        self
    }

    /// Called in the entry block, once the vmctx parameter exists.
    pub fn set_vmctx(&mut self, vmctx: Value) {
        self.vmctx = Some(vmctx);
    }

    pub fn vmctx(&self) -> Value {
        self.vmctx.expect("vmctx is set in the entry block")
    }

    /// Loads the stack limit for the prologue check: vmctx → store context →
    /// limit (or unoptimized code's, see
    /// [`Self::with_unoptimized_stack_limit`]).
    pub fn declare_stack_limit(&self, func: &mut ir::Function) {
        let vmctx = func.create_global_value(ir::GlobalValueData::VMContext);
        let flags = func.dfg.mem_flags.insert(readonly()).expect("few memflags");
        let store = func.create_global_value(ir::GlobalValueData::Load {
            base: vmctx,
            offset: (self.offsets.vmctx_store_context() as i32).into(),
            global_type: self.pointer_type,
            flags,
        });
        let limit_flags = func.dfg.mem_flags.insert(trusted()).expect("few memflags");
        let limit = func.create_global_value(ir::GlobalValueData::Load {
            base: store,
            offset: (if self.unoptimized_stack_limit {
                self.offsets.store_context_unoptimized_stack_limit()
            } else {
                self.offsets.store_context_stack_limit()
            } as i32)
                .into(),
            global_type: self.pointer_type,
            flags: limit_flags,
        });
        func.stack_limit = Some(limit);
    }

    // ----- memories -----

    fn heap(&mut self, builder: &mut FunctionBuilder, memory: MemoryIndex) -> HeapInfo {
        if let Some(heap) = self.heaps.get(&memory) {
            return *heap;
        }
        // `prepare_heaps` computes these in the entry block so the values
        // dominate every use. The base never moves (the whole reservation is
        // mapped up front), so the vmctx holds a copy of it, loaded once and
        // read-only; the length changes with memory.grow and is loaded from
        // the definition where needed (an unused definition load is dropped).
        let vmctx = self.vmctx();
        let definition = builder.ins().load(
            self.pointer_type,
            readonly(),
            vmctx,
            self.offsets.vmctx_memory_pointer(memory) as i32,
        );
        let base = builder.ins().load(
            self.pointer_type,
            readonly(),
            vmctx,
            self.offsets.vmctx_memory_base(memory) as i32,
        );
        let ty = &self.module.memories[memory];
        // Wasm accesses may trap out of bounds. Another thread may grow a
        // shared memory at any time: its accesses and its length get no
        // alias region. A region-less store acts as a fence in Cranelift's
        // alias analysis, so the length is loaded again after each store;
        // with regions, a length loaded before a loop could stand for the
        // whole loop.
        let access_flags = MemFlagsData::new()
            .with_endianness(ir::Endianness::Little)
            .with_trap_code(Some(trap_code(TrapCode::MemoryOutOfBounds)));
        let (access_flags, length_flags) = if ty.shared {
            (access_flags, trusted())
        } else {
            let length_flags = Self::in_region(builder, trusted(), Region::MemoryDefinitions);
            (
                Self::in_region(builder, access_flags, Region::Heap),
                length_flags,
            )
        };
        let heap = HeapInfo {
            definition,
            base,
            memory64: ty.memory64,
            page_size_log2: ty.page_size_log2,
            access_flags,
            length_flags,
        };
        self.heaps.insert(memory, heap);
        heap
    }

    /// Prepares every memory's base in the entry block (before any branch),
    /// so later accesses reuse one load.
    pub fn prepare_heaps(&mut self, builder: &mut FunctionBuilder) {
        for (memory, _) in self.module.memories.iter() {
            self.heap(builder, memory);
        }
    }

    /// The native address of a wasm memory access, bounds-checked as the
    /// tunables allow, and the flags for the load or store there.
    pub fn memory_address(
        &mut self,
        builder: &mut FunctionBuilder,
        memory: MemoryIndex,
        index: Value,
        offset: u64,
        access_size: u8,
    ) -> (Value, MemFlagsData) {
        let heap = self.heap(builder, memory);
        let address = bounds_check(
            builder,
            &heap,
            self.tunables,
            self.offsets,
            self.pointer_type,
            index,
            offset,
            access_size,
        );
        (address, heap.access_flags)
    }

    /// `memory.copy`: both ranges checked here, then a memmove.
    pub fn memory_copy(
        &mut self,
        builder: &mut FunctionBuilder,
        dst_memory: MemoryIndex,
        dst: Value,
        src_memory: MemoryIndex,
        src: Value,
        len: Value,
    ) {
        let dst = self.memory_range(builder, dst_memory, dst, len);
        let src = self.memory_range(builder, src_memory, src, len);
        self.call_unit_builtin(builder, Builtin::MemoryCopy, &[dst, src, len]);
    }

    /// `memory.fill`: the range checked here, then a memset.
    pub fn memory_fill(
        &mut self,
        builder: &mut FunctionBuilder,
        memory: MemoryIndex,
        dst: Value,
        value: Value,
        len: Value,
    ) {
        let dst = self.memory_range(builder, memory, dst, len);
        self.call_unit_builtin(builder, Builtin::MemoryFill, &[dst, value, len]);
    }

    /// The native address of `len` bytes at `index` in `memory`, trapping
    /// when they are not all inside it.
    fn memory_range(
        &mut self,
        builder: &mut FunctionBuilder,
        memory: MemoryIndex,
        index: Value,
        len: Value,
    ) -> Value {
        let heap = self.heap(builder, memory);
        crate::bounds_checks::range_check(
            builder,
            &heap,
            self.offsets,
            self.pointer_type,
            index,
            len,
        )
    }

    /// `flags` in `region`.
    fn in_region(
        builder: &mut FunctionBuilder,
        flags: MemFlagsData,
        region: Region,
    ) -> MemFlagsData {
        flags.with_alias_region(Some(region.in_function(builder.func)))
    }

    pub fn memory_size(&mut self, builder: &mut FunctionBuilder, memory: MemoryIndex) -> Value {
        let heap = self.heap(builder, memory);
        let length = if self.module.memories[memory].shared {
            // Sequentially consistent, as the threads proposal has
            // `memory.size` of a shared memory: an atomic load is never
            // merged with another or moved.
            let address = builder.ins().iadd_imm_u(
                heap.definition,
                i64::from(self.offsets.memory_current_length()),
            );
            builder
                .ins()
                .atomic_load(self.pointer_type, trusted(), address)
        } else {
            builder.ins().load(
                self.pointer_type,
                heap.length_flags,
                heap.definition,
                self.offsets.memory_current_length() as i32,
            )
        };
        let pages = builder
            .ins()
            .ushr_imm_u(length, i64::from(heap.page_size_log2));
        if heap.memory64 {
            pages
        } else {
            builder.ins().ireduce(ir::types::I32, pages)
        }
    }

    pub fn memory_grow(
        &mut self,
        builder: &mut FunctionBuilder,
        memory: MemoryIndex,
        delta: Value,
    ) -> Value {
        let memory64 = self.module.memories[memory].memory64;
        let delta = self.to_i64(builder, delta);
        let index = builder.ins().iconst(ir::types::I64, memory.as_u32() as i64);
        let old = self.call_builtin(builder, Builtin::MemoryGrow, &[index, delta]);
        self.trap_on_grow_failure(builder, old);
        if memory64 {
            old
        } else {
            builder.ins().ireduce(ir::types::I32, old)
        }
    }

    /// With `trap_on_grow_failure`, a failed `memory.grow` / `table.grow`
    /// (the builtin's -1) traps instead of returning -1.
    pub fn trap_on_grow_failure(&mut self, builder: &mut FunctionBuilder, old: Value) {
        if self.tunables.trap_on_grow_failure {
            let failed = builder.ins().icmp_imm_s(IntCC::Equal, old, -1);
            builder
                .ins()
                .trapnz(failed, trap_code(TrapCode::GrowFailure));
        }
    }

    // ----- globals -----

    /// Where a global's value is: a base and an offset from it. A defined
    /// global is at a fixed offset in the vmctx, given to the load or store
    /// itself: an `iadd` for the address would be one more value that GVN
    /// keeps live across the function beside the vmctx.
    fn global_address(
        &mut self,
        builder: &mut FunctionBuilder,
        global: GlobalIndex,
    ) -> (Value, i32) {
        let vmctx = self.vmctx();
        match self.module.defined_global_index(global) {
            Some(def) => (vmctx, self.offsets.vmctx_defined_global(def) as i32),
            None => {
                let pointer = builder.ins().load(
                    self.pointer_type,
                    readonly(),
                    vmctx,
                    self.offsets.vmctx_global_pointer(global) as i32,
                );
                (pointer, 0)
            }
        }
    }

    pub fn global_get(&mut self, builder: &mut FunctionBuilder, global: GlobalIndex) -> Value {
        let ty = self.module.globals[global];
        let (base, offset) = self.global_address(builder, global);
        // A traced reference changes when the collector moves its object.
        let flags = if ty.mutable || self.module.is_gc_ref(ty.ty) {
            trusted()
        } else {
            readonly()
        };
        let flags = Self::in_region(builder, flags, self.global_region(global));
        builder
            .ins()
            .load(ir_type(ty.ty, self.pointer_type), flags, base, offset)
    }

    pub fn global_set(&mut self, builder: &mut FunctionBuilder, global: GlobalIndex, value: Value) {
        let (base, offset) = self.global_address(builder, global);
        let flags = Self::in_region(builder, trusted(), self.global_region(global));
        builder.ins().store(flags, value, base, offset);
    }

    /// A defined global has its own region (the first
    /// [`MAX_GLOBAL_REGIONS`](crate::alias::MAX_GLOBAL_REGIONS) do; the
    /// rest share one); imported ones may be one global imported twice, so
    /// they share one.
    fn global_region(&self, global: GlobalIndex) -> Region {
        match self.module.defined_global_index(global) {
            Some(def) if def.as_u32() < crate::alias::MAX_GLOBAL_REGIONS => {
                Region::DefinedGlobal(def)
            }
            Some(_) => Region::OtherDefinedGlobals,
            None => Region::ImportedGlobals,
        }
    }

    // ----- tables -----

    fn table_definition(&mut self, builder: &mut FunctionBuilder, table: TableIndex) -> Value {
        let vmctx = self.vmctx();
        builder.ins().load(
            self.pointer_type,
            readonly(),
            vmctx,
            self.offsets.vmctx_table_pointer(table) as i32,
        )
    }

    /// The current size (an i32) of a table that can grow, from its
    /// definition: `table.grow` (a call) changes it.
    fn growable_table_size(&mut self, builder: &mut FunctionBuilder, definition: Value) -> Value {
        let flags = Self::in_region(builder, trusted(), Region::TableDefinitions);
        builder.ins().load(
            ir::types::I32,
            flags,
            definition,
            self.offsets.table_current_elements() as i32,
        )
    }

    /// `table.size`: an i32, or an i64 for a table64 table.
    pub fn table_size(&mut self, builder: &mut FunctionBuilder, table: TableIndex) -> Value {
        let ty = if self.module.tables[table].table64 {
            ir::types::I64
        } else {
            ir::types::I32
        };
        if let Some(size) = self.module.tables[table].fixed_size() {
            return builder.ins().iconst(ty, size as i64);
        }
        let definition = self.table_definition(builder, table);
        let size = self.growable_table_size(builder, definition);
        if ty == ir::types::I64 {
            builder.ins().uextend(ir::types::I64, size)
        } else {
            size
        }
    }

    /// The address of table element `index`, trapping with `code` when the
    /// index is out of bounds.
    pub fn table_element_address(
        &mut self,
        builder: &mut FunctionBuilder,
        table: TableIndex,
        index: Value,
        code: TrapCode,
    ) -> Value {
        let index_type = builder.func.dfg.value_type(index);
        // A table whose type fixes its size never grows and is never
        // reallocated: its bound is a constant and its base, copied into
        // the vmctx, a read-only load that serves the whole function.
        let (bound, base) = match self.module.tables[table].fixed_size() {
            Some(size) => {
                // A table32's size is at most `u32::MAX`: zero-extended,
                // as `iconst.i32` wants it.
                let bound = builder.ins().iconst(index_type, size as i64);
                let vmctx = self.vmctx();
                let base = builder.ins().load(
                    self.pointer_type,
                    readonly(),
                    vmctx,
                    self.offsets.vmctx_fixed_table_base(table) as i32,
                );
                (bound, base)
            }
            None => {
                let definition = self.table_definition(builder, table);
                let bound = self.growable_table_size(builder, definition);
                // A table64 index is an i64; compare in 64 bits.
                let bound = if index_type == ir::types::I64 {
                    builder.ins().uextend(ir::types::I64, bound)
                } else {
                    bound
                };
                let flags = Self::in_region(builder, trusted(), Region::TableDefinitions);
                let base = builder.ins().load(
                    self.pointer_type,
                    flags,
                    definition,
                    self.offsets.table_base() as i32,
                );
                (bound, base)
            }
        };
        let oob = builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, bound);
        builder.ins().trapnz(oob, trap_code(code));
        let index = if builder.func.dfg.value_type(index) == self.pointer_type {
            index
        } else {
            builder.ins().uextend(self.pointer_type, index)
        };
        let scaled = builder.ins().imul_imm_u(index, i64::from(self.offsets.ptr));
        let address = builder.ins().iadd(base, scaled);
        // The trap above stops out-of-bounds indices architecturally; the
        // guard keeps a mispredicted check from loading past the table.
        let null = builder.ins().iconst(self.pointer_type, 0);
        builder.ins().select_spectre_guard(oob, null, address)
    }

    pub fn table_get(
        &mut self,
        builder: &mut FunctionBuilder,
        table: TableIndex,
        index: Value,
    ) -> Value {
        let address = self.table_element_address(builder, table, index, TrapCode::TableOutOfBounds);
        let flags = Self::in_region(builder, trusted(), Region::TableElements);
        builder.ins().load(self.pointer_type, flags, address, 0)
    }

    pub fn table_set(
        &mut self,
        builder: &mut FunctionBuilder,
        table: TableIndex,
        index: Value,
        value: Value,
    ) {
        let address = self.table_element_address(builder, table, index, TrapCode::TableOutOfBounds);
        let flags = Self::in_region(builder, trusted(), Region::TableElements);
        builder.ins().store(flags, value, address, 0);
    }

    // ----- calls -----

    fn signature(&mut self, builder: &mut FunctionBuilder, ty: TypeIndex) -> SigRef {
        if let Some(sig) = self.signatures.get(&ty) {
            return *sig;
        }
        let sig = builder
            .func
            .import_signature(wasm_signature(self.isa, self.module.func_sig(ty)));
        self.signatures.insert(ty, sig);
        sig
    }

    /// Where a `call` of function `callee` goes: straight to the code of a
    /// defined function (linked in place), or through the funcref the
    /// runtime filled in for an import (another instance's function or a
    /// host function, with its own vmctx). Code compiled lazily
    /// ([`Self::with_calls_through_funcrefs`]) calls defined functions
    /// through their funcrefs in this vmctx too.
    pub fn direct_callee(&mut self, builder: &mut FunctionBuilder, callee: FuncIndex) -> Callee {
        let sig = self.signature(builder, self.module.functions[callee]);
        let imported = self.module.is_imported_func(callee);
        if imported || self.calls_through_funcrefs {
            let vmctx = self.vmctx();
            let funcref = self.offsets.vmctx_funcref(callee) as i32;
            // An import's funcref is fixed at instantiation; a defined
            // function's (lazy compilation) changes when it is compiled.
            let code_flags = if imported { readonly() } else { trusted() };
            let code = builder.ins().load(
                self.pointer_type,
                code_flags,
                vmctx,
                funcref + self.offsets.funcref_wasm_call() as i32,
            );
            // A defined function runs with our vmctx.
            let callee_vmctx = if imported {
                builder.ins().load(
                    self.pointer_type,
                    readonly(),
                    vmctx,
                    funcref + self.offsets.funcref_vmctx() as i32,
                )
            } else {
                vmctx
            };
            return Callee::Indirect {
                sig,
                code,
                vmctx: callee_vmctx,
            };
        }
        let func_ref = match self.functions.get(&callee) {
            Some(f) => *f,
            None => {
                let name = builder
                    .func
                    .declare_imported_user_function(UserExternalName::new(0, callee.as_u32()));
                let f = builder.func.import_function(ExtFuncData {
                    name: ExternalName::User(name),
                    signature: sig,
                    colocated: true,
                    patchable: false,
                });
                self.functions.insert(callee, f);
                f
            }
        };
        Callee::Direct(func_ref)
    }

    /// Where a `call_indirect` goes: bounds check ("undefined element"),
    /// null check ("uninitialized element", by faulting on the null
    /// funcref), then a signature check ("indirect call type mismatch")
    /// unless the table's element type already guarantees the type.
    pub fn indirect_callee(
        &mut self,
        builder: &mut FunctionBuilder,
        table: TableIndex,
        ty: TypeIndex,
        index: Value,
    ) -> Callee {
        let vmctx = self.vmctx();
        let address = self.table_element_address(builder, table, index, TrapCode::UndefinedElement);
        let flags = Self::in_region(builder, trusted(), Region::TableElements);
        let funcref = builder.ins().load(self.pointer_type, flags, address, 0);
        let null_flags = MemFlagsData::new()
            .with_aligned()
            .with_trap_code(Some(trap_code(TrapCode::IndirectCallToNull)));
        let element = self.module.tables[table].element;
        let typed_table = element.heap == WasmHeapType::Concrete(TypeRef::Module(ty));
        if typed_table {
            // Every element is a `ty` (or null): only the null check is left.
            let code = builder.ins().load(
                self.pointer_type,
                null_flags,
                funcref,
                self.offsets.funcref_wasm_call() as i32,
            );
            return self.funcref_callee(builder, ty, funcref, code);
        }
        let actual = builder.ins().load(
            ir::types::I32,
            null_flags,
            funcref,
            self.offsets.funcref_type_id() as i32,
        );
        let expected = builder.ins().load(
            ir::types::I32,
            readonly(),
            vmctx,
            self.offsets.vmctx_type_id(ty) as i32,
        );
        let mismatch = builder.ins().icmp(IntCC::NotEqual, actual, expected);
        if self.module.types[ty].is_final {
            // A final type has no subtypes: equal ids or a mismatch.
            builder
                .ins()
                .trapnz(mismatch, trap_code(TrapCode::BadSignature));
        } else {
            // Another id may still be a declared subtype: ask the runtime,
            // off the fast path.
            let check = builder.create_block();
            let done = builder.create_block();
            builder.ins().brif(mismatch, check, &[], done, &[]);
            builder.seal_block(check);
            builder.switch_to_block(check);
            builder.set_cold_block(check);
            let is_subtype = self.call_builtin(builder, Builtin::IsSubtype, &[actual, expected]);
            builder
                .ins()
                .trapz(is_subtype, trap_code(TrapCode::BadSignature));
            builder.ins().jump(done, &[]);
            builder.seal_block(done);
            builder.switch_to_block(done);
        }
        let code = builder.ins().load(
            self.pointer_type,
            trusted(),
            funcref,
            self.offsets.funcref_wasm_call() as i32,
        );
        self.funcref_callee(builder, ty, funcref, code)
    }

    /// Where a `call_ref` goes: the funcref's code, null-checked by faulting
    /// on the null page ("null function reference"); validation proved the
    /// type.
    pub fn ref_callee(
        &mut self,
        builder: &mut FunctionBuilder,
        ty: TypeIndex,
        funcref: Value,
    ) -> Callee {
        let null_flags = MemFlagsData::new()
            .with_aligned()
            .with_trap_code(Some(trap_code(TrapCode::NullFunctionReference)));
        let code = builder.ins().load(
            self.pointer_type,
            null_flags,
            funcref,
            self.offsets.funcref_wasm_call() as i32,
        );
        self.funcref_callee(builder, ty, funcref, code)
    }

    fn funcref_callee(
        &mut self,
        builder: &mut FunctionBuilder,
        ty: TypeIndex,
        funcref: Value,
        code: Value,
    ) -> Callee {
        let callee_vmctx = builder.ins().load(
            self.pointer_type,
            trusted(),
            funcref,
            self.offsets.funcref_vmctx() as i32,
        );
        let sig = self.signature(builder, ty);
        Callee::Indirect {
            sig,
            code,
            vmctx: callee_vmctx,
        }
    }

    /// The full argument list of a call: the callee's vmctx, ours, then the
    /// wasm arguments.
    pub fn call_args(&self, callee: &Callee, args: &[Value]) -> Vec<Value> {
        let vmctx = self.vmctx();
        let callee_vmctx = match callee {
            // A defined function of this module runs with our vmctx.
            Callee::Direct(_) => vmctx,
            Callee::Indirect { vmctx, .. } => *vmctx,
        };
        let mut full = Vec::with_capacity(args.len() + 2);
        full.extend([callee_vmctx, vmctx]);
        full.extend_from_slice(args);
        full
    }

    /// Emits a tail call (`return_call*`): the callee replaces this frame
    /// and returns to our caller. Ends the block.
    pub fn emit_return_call(
        &mut self,
        builder: &mut FunctionBuilder,
        callee: Callee,
        args: &[Value],
    ) {
        let args = self.call_args(&callee, args);
        match callee {
            Callee::Direct(f) => builder.ins().return_call(f, &args),
            Callee::Indirect { sig, code, .. } => {
                builder.ins().return_call_indirect(sig, code, &args)
            }
        };
    }

    /// `ref.func`: the address of the function's funcref in this vmctx.
    pub fn ref_func(&mut self, builder: &mut FunctionBuilder, func: FuncIndex) -> Value {
        let vmctx = self.vmctx();
        builder
            .ins()
            .iadd_imm_u(vmctx, self.offsets.vmctx_funcref(func) as i64)
    }

    // ----- builtins -----

    /// Zero-extends an i32 to the i64 that every builtin argument is.
    pub fn to_i64(&self, builder: &mut FunctionBuilder, value: Value) -> Value {
        if builder.func.dfg.value_type(value) == ir::types::I64 {
            value
        } else {
            builder.ins().uextend(ir::types::I64, value)
        }
    }

    /// The signature and code address of a builtin (for callers that emit
    /// the call themselves, as `try_call`).
    pub fn builtin_sig_and_code(
        &mut self,
        builder: &mut FunctionBuilder,
        builtin: Builtin,
    ) -> (SigRef, Value) {
        let sig = self.builtin_signature(builder, builtin);
        let vmctx = self.vmctx();
        let array = builder.ins().load(
            self.pointer_type,
            readonly(),
            vmctx,
            self.offsets.vmctx_builtins() as i32,
        );
        let code = builder.ins().load(
            self.pointer_type,
            readonly(),
            array,
            (builtin as u32 * u32::from(self.offsets.ptr)) as i32,
        );
        (sig, code)
    }

    fn builtin_signature(&mut self, builder: &mut FunctionBuilder, builtin: Builtin) -> SigRef {
        // Builtins that never return (they throw or unwind) are declared
        // `preserve_all`: a `try_call` to them then treats every register
        // as clobbered, so the frame's vmctx (the exception context) is in
        // a stack slot the unwinder can read, not in a callee-saved
        // register. Their arguments travel as in the platform convention,
        // and since they never return, nothing relies on what they keep.
        let never = builtin.result() == BuiltinResult::Never;
        let returns = !never && builtin.result() != BuiltinResult::Unit;
        let key = builtin.num_args() * 4 + usize::from(never) * 2 + usize::from(returns);
        match self.builtin_signatures.get(&key) {
            Some(sig) => *sig,
            None => {
                let call_conv = if never {
                    cranelift_codegen::isa::CallConv::PreserveAll
                } else {
                    self.isa.default_call_conv()
                };
                let mut sig = Signature::new(call_conv);
                sig.params.push(AbiParam::new(self.pointer_type));
                sig.params
                    .extend((0..builtin.num_args()).map(|_| AbiParam::new(ir::types::I64)));
                // `preserve_all` has no return values; these never return.
                // A builtin without a result is declared so: a result no
                // one reads still takes a register at each call (in big
                // functions, that has tipped the allocator into spilling
                // the vmctx for the whole function).
                if returns {
                    sig.returns.push(AbiParam::new(ir::types::I64));
                }
                let sig = builder.func.import_signature(sig);
                self.builtin_signatures.insert(key, sig);
                sig
            }
        }
    }

    /// The identity (definition address) of tag `tag` in this instance.
    pub fn tag_pointer(&mut self, builder: &mut FunctionBuilder, tag: TagIndex) -> Value {
        let vmctx = self.vmctx();
        builder.ins().load(
            self.pointer_type,
            readonly(),
            vmctx,
            self.offsets.vmctx_tag_pointer(tag) as i32,
        )
    }

    /// Calls a builtin through the vmctx's builtin array.
    pub fn call_builtin(
        &mut self,
        builder: &mut FunctionBuilder,
        builtin: Builtin,
        args: &[Value],
    ) -> Value {
        let inst = self.emit_builtin_call(builder, builtin, args);
        builder.inst_results(inst)[0]
    }

    /// Calls a builtin without a result (`BuiltinResult::Unit`).
    pub fn call_unit_builtin(
        &mut self,
        builder: &mut FunctionBuilder,
        builtin: Builtin,
        args: &[Value],
    ) {
        debug_assert_eq!(builtin.result(), BuiltinResult::Unit);
        self.emit_builtin_call(builder, builtin, args);
    }

    fn emit_builtin_call(
        &mut self,
        builder: &mut FunctionBuilder,
        builtin: Builtin,
        args: &[Value],
    ) -> ir::Inst {
        debug_assert_eq!(args.len(), builtin.num_args());
        let (sig, code) = self.builtin_sig_and_code(builder, builtin);
        let vmctx = self.vmctx();
        let mut full_args = vec![vmctx];
        for arg in args {
            full_args.push(self.to_i64(builder, *arg));
        }
        builder.ins().call_indirect(sig, code, &full_args)
    }

    /// Calls a builtin that returns 0 or a trap code, trapping with the
    /// builtin's code when it failed.
    pub fn call_fallible_builtin(
        &mut self,
        builder: &mut FunctionBuilder,
        builtin: Builtin,
        args: &[Value],
    ) {
        let result = self.call_builtin(builder, builtin, args);
        let BuiltinResult::Trap(code) = builtin.result() else {
            unreachable!("{} is not a fallible builtin", builtin.name());
        };
        builder.ins().trapnz(result, trap_code(code));
    }
}
