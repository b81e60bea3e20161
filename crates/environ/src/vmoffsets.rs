//! The layout of the `VMContext`, the per-instance block of memory that
//! compiled code reads at fixed offsets.
//!
//! ```text
//! VMContext {
//!     magic: u32, (padding)
//!     instance: *mut Instance,                 // runtime bookkeeping
//!     store_context: *mut VMStoreContext,      // stack limit, shared per store
//!     builtins: *const VMBuiltinFunctions,     // host helpers for memory.grow etc.
//!     type_ids: [u32; types],                  // engine-wide signature ids
//!     memories: [*mut VMMemoryDefinition; memories],   // imported and defined
//!     tables: [*mut VMTableDefinition; tables],        // imported and defined
//!     globals: [*mut VMGlobalDefinition; globals],     // imported and defined
//!     funcrefs: [VMFuncRef; funcs],                    // imported and defined
//!     defined_globals: [VMGlobalDefinition; defined globals], // 16-byte aligned
//! }
//! VMStoreContext      { stack_limit: usize }
//! VMMemoryDefinition  { base: *mut u8, current_length: usize }
//! VMTableDefinition   { base: *mut usize, current_elements: u32 }
//! VMGlobalDefinition  { storage: [u8; 16] }
//! VMFuncRef           { wasm_call, array_call, vmctx, type_id: u32 }
//! ```
//!
//! Offsets are computed for the *target's* pointer size, so an artifact for
//! another machine gets that machine's layout. The runtime's `#[repr(C)]`
//! structs are checked against these numbers by a test.

use crate::{
    DefinedGlobalIndex, FuncIndex, GlobalIndex, MemoryIndex, Module, TableIndex, TypeIndex,
};

/// The value of `VMContext::magic`.
pub const VMCONTEXT_MAGIC: u32 = u32::from_le_bytes(*b"hoi!");

/// Offsets of everything in a module's `VMContext`.
#[derive(Clone, Debug)]
pub struct VMOffsets {
    pub ptr: u8,
    num_types: u32,
    num_memories: u32,
    num_tables: u32,
    num_globals: u32,
    num_funcs: u32,
    num_defined_globals: u32,
    type_ids: u32,
    memories: u32,
    tables: u32,
    globals: u32,
    funcrefs: u32,
    defined_globals: u32,
    size: u32,
}

fn align(n: u32, to: u32) -> u32 {
    n.next_multiple_of(to)
}

impl VMOffsets {
    pub fn new(ptr: u8, module: &Module) -> Self {
        let p = u32::from(ptr);
        let num_types = module.types.len() as u32;
        let num_memories = module.memories.len() as u32;
        let num_tables = module.tables.len() as u32;
        let num_globals = module.globals.len() as u32;
        let num_funcs = module.functions.len() as u32;
        let num_defined_globals = num_globals - module.num_imported_globals as u32;

        let type_ids = 4 * p;
        let memories = align(type_ids + 4 * num_types, p);
        let tables = memories + p * num_memories;
        let globals = tables + p * num_tables;
        let funcrefs = globals + p * num_globals;
        let defined_globals = align(funcrefs + 4 * p * num_funcs, 16);
        let size = defined_globals + 16 * num_defined_globals;
        VMOffsets {
            ptr,
            num_types,
            num_memories,
            num_tables,
            num_globals,
            num_funcs,
            num_defined_globals,
            type_ids,
            memories,
            tables,
            globals,
            funcrefs,
            defined_globals,
            size,
        }
    }

    fn p(&self) -> u32 {
        u32::from(self.ptr)
    }

    // --- the VMContext header ---
    pub fn vmctx_magic(&self) -> u32 {
        0
    }
    pub fn vmctx_instance(&self) -> u32 {
        self.p()
    }
    pub fn vmctx_store_context(&self) -> u32 {
        2 * self.p()
    }
    pub fn vmctx_builtins(&self) -> u32 {
        3 * self.p()
    }

    // --- the VMContext arrays ---
    pub fn vmctx_type_id(&self, index: TypeIndex) -> u32 {
        assert!(index.as_u32() < self.num_types);
        self.type_ids + 4 * index.as_u32()
    }
    pub fn vmctx_memory_pointer(&self, index: MemoryIndex) -> u32 {
        assert!(index.as_u32() < self.num_memories);
        self.memories + self.p() * index.as_u32()
    }
    pub fn vmctx_table_pointer(&self, index: TableIndex) -> u32 {
        assert!(index.as_u32() < self.num_tables);
        self.tables + self.p() * index.as_u32()
    }
    pub fn vmctx_global_pointer(&self, index: GlobalIndex) -> u32 {
        assert!(index.as_u32() < self.num_globals);
        self.globals + self.p() * index.as_u32()
    }
    pub fn vmctx_funcref(&self, index: FuncIndex) -> u32 {
        assert!(index.as_u32() < self.num_funcs);
        self.funcrefs + self.size_of_vmfuncref() * index.as_u32()
    }
    pub fn vmctx_defined_global(&self, index: DefinedGlobalIndex) -> u32 {
        assert!(index.as_u32() < self.num_defined_globals);
        self.defined_globals + 16 * index.as_u32()
    }
    /// The size of the whole VMContext in bytes.
    pub fn size_of_vmctx(&self) -> u32 {
        self.size
    }

    // --- VMStoreContext ---
    pub fn store_context_stack_limit(&self) -> u32 {
        0
    }

    // --- VMMemoryDefinition ---
    pub fn memory_base(&self) -> u32 {
        0
    }
    pub fn memory_current_length(&self) -> u32 {
        self.p()
    }

    // --- VMTableDefinition ---
    pub fn table_base(&self) -> u32 {
        0
    }
    pub fn table_current_elements(&self) -> u32 {
        self.p()
    }

    // --- VMFuncRef ---
    pub fn funcref_wasm_call(&self) -> u32 {
        0
    }
    pub fn funcref_array_call(&self) -> u32 {
        self.p()
    }
    pub fn funcref_vmctx(&self) -> u32 {
        2 * self.p()
    }
    pub fn funcref_type_id(&self) -> u32 {
        3 * self.p()
    }
    pub fn size_of_vmfuncref(&self) -> u32 {
        4 * self.p()
    }
}

/// The host helpers that compiled code calls through `VMContext::builtins`.
/// The order here is the order of the function pointers in that array.
///
/// Every builtin takes the caller's vmctx and then only 64-bit integer
/// arguments (indices, addresses, lengths and reference bits, zero-extended),
/// and returns one 64-bit integer. That keeps one calling convention for
/// all of them on every target (riscv64 would otherwise want 32-bit
/// arguments sign-extended).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Builtin {
    /// `(memory, delta_pages)` → old size in pages, or -1.
    MemoryGrow,
    /// `(dst_memory, dst, src_memory, src, len)` → 0, or a trap code.
    MemoryCopy,
    /// `(memory, dst, value, len)` → 0, or a trap code.
    MemoryFill,
    /// `(memory, data, dst, src, len)` → 0, or a trap code.
    MemoryInit,
    /// `(data)` → 0.
    DataDrop,
    /// `(table, delta, init)` → old size in elements, or -1.
    TableGrow,
    /// `(table, dst, value, len)` → 0, or a trap code.
    TableFill,
    /// `(dst_table, src_table, dst, src, len)` → 0, or a trap code.
    TableCopy,
    /// `(table, elem, dst, src, len)` → 0, or a trap code.
    TableInit,
    /// `(elem)` → 0.
    ElemDrop,
    /// `(bits)` → bits of the rounded f32; for CPUs without rounding
    /// instructions (x86_64 without SSE4.1).
    CeilF32,
    FloorF32,
    TruncF32,
    NearestF32,
    /// `(bits)` → bits of the rounded f64.
    CeilF64,
    FloorF64,
    TruncF64,
    NearestF64,
}

impl Builtin {
    /// Number of builtins, the length of the builtin pointer array.
    pub const COUNT: usize = 18;

    /// Number of 64-bit arguments after the vmctx.
    pub fn num_args(self) -> usize {
        match self {
            Builtin::DataDrop
            | Builtin::ElemDrop
            | Builtin::CeilF32
            | Builtin::FloorF32
            | Builtin::TruncF32
            | Builtin::NearestF32
            | Builtin::CeilF64
            | Builtin::FloorF64
            | Builtin::TruncF64
            | Builtin::NearestF64 => 1,
            Builtin::MemoryGrow => 2,
            Builtin::TableGrow => 3,
            Builtin::MemoryFill | Builtin::TableFill => 4,
            Builtin::MemoryCopy | Builtin::MemoryInit | Builtin::TableCopy | Builtin::TableInit => {
                5
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    #[test]
    fn arrays_follow_each_other_without_overlap() {
        let mut module = Module::default();
        let ty = module.types.push(WasmFuncType::default());
        module.functions.push(ty);
        module.functions.push(ty);
        module.globals.push(GlobalType {
            ty: WasmValType::I32,
            mutable: true,
        });
        module.global_inits.push(ConstExpr::I32(0));
        let offsets = VMOffsets::new(8, &module);
        assert_eq!(offsets.vmctx_type_id(ty), 32);
        assert_eq!(offsets.vmctx_global_pointer(GlobalIndex::from_u32(0)), 40);
        assert_eq!(offsets.vmctx_funcref(FuncIndex::from_u32(1)), 48 + 32);
        assert_eq!(
            offsets.vmctx_defined_global(DefinedGlobalIndex::from_u32(0)),
            112
        );
        assert_eq!(offsets.size_of_vmctx(), 128);
    }
}
