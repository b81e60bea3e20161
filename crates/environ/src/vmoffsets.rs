//! The layout of the `VMContext`, the per-instance block of memory that
//! compiled code reads at fixed offsets.
//!
//! ```text
//! VMContext {
//!     magic: u32, (padding)
//!     instance: *mut Instance,                 // runtime bookkeeping
//!     store_context: *mut VMStoreContext,      // stack limit, shared per store
//!     builtins: *const VMBuiltinFunctions,     // host helpers for memory.grow etc.
//!     hotness_counters: *mut i64,              // lazy compilation's tier-up, or null
//!     type_ids: [u32; types],                  // engine-wide signature ids
//!     memories: [(*mut VMMemoryDefinition, *mut u8); memories], // imported and defined:
//!                                              // the definition, and its base
//!     tables: [(*mut VMTableDefinition, *mut usize); tables], // imported and defined:
//!                                              // the definition, and the base of a
//!                                              // fixed-size table (else null)
//!     globals: [*mut VMGlobalDefinition; globals],     // imported and defined
//!     funcrefs: [VMFuncRef; funcs],                    // imported and defined
//!     tags: [*const VMTagDefinition; tags],            // imported and defined
//!     defined_globals: [VMGlobalDefinition; defined globals], // 16-byte aligned
//!     defined_tags: [VMTagDefinition; defined tags],
//! }
//! ```
//!
//! The structures the arrays point at have the same layout in every module
//! ([`VMLayout`]); this file computes where things are in one module's
//! vmctx. Offsets are computed for the *target's* pointer size, so an
//! artifact for another machine gets that machine's layout. The runtime's
//! `#[repr(C)]` structs are checked against these numbers by a test.

use crate::{
    DefinedGlobalIndex, DefinedTagIndex, FuncIndex, GlobalIndex, MemoryIndex, Module, TableIndex,
    TagIndex, TypeIndex, VMLayout,
};

/// The value of `VMContext::magic`.
pub const VMCONTEXT_MAGIC: u32 = u32::from_le_bytes(*b"hoi!");

/// Offsets of everything in a module's `VMContext`; derefs to the fixed
/// [`VMLayout`] of the structures it points at.
#[derive(Clone, Debug)]
pub struct VMOffsets {
    layout: VMLayout,
    num_types: u32,
    num_memories: u32,
    num_tables: u32,
    num_globals: u32,
    num_funcs: u32,
    num_defined_globals: u32,
    num_tags: u32,
    num_defined_tags: u32,
    type_ids: u32,
    memories: u32,
    tables: u32,
    globals: u32,
    funcrefs: u32,
    tags: u32,
    defined_globals: u32,
    defined_tags: u32,
    size: u32,
}

fn align(n: u32, to: u32) -> u32 {
    n.next_multiple_of(to)
}

impl std::ops::Deref for VMOffsets {
    type Target = VMLayout;
    fn deref(&self) -> &VMLayout {
        &self.layout
    }
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
        let num_tags = module.tags.len() as u32;
        let num_defined_tags = num_tags - module.num_imported_tags as u32;

        let type_ids = VMLayout::new(ptr).vmctx_header_size();
        let memories = align(type_ids + 4 * num_types, p);
        let tables = memories + 2 * p * num_memories;
        let globals = tables + 2 * p * num_tables;
        let funcrefs = globals + p * num_globals;
        let tags = funcrefs + 4 * p * num_funcs;
        let defined_globals = align(tags + p * num_tags, 16);
        let defined_tags = defined_globals + 16 * num_defined_globals;
        let size = defined_tags + 4 * num_defined_tags;
        VMOffsets {
            layout: VMLayout::new(ptr),
            num_types,
            num_memories,
            num_tables,
            num_globals,
            num_funcs,
            num_defined_globals,
            num_tags,
            num_defined_tags,
            type_ids,
            memories,
            tables,
            globals,
            funcrefs,
            tags,
            defined_globals,
            defined_tags,
            size,
        }
    }

    // --- the VMContext arrays ---
    pub fn vmctx_type_id(&self, index: TypeIndex) -> u32 {
        assert!(index.as_u32() < self.num_types);
        self.type_ids + 4 * index.as_u32()
    }
    pub fn vmctx_memory_pointer(&self, index: MemoryIndex) -> u32 {
        assert!(index.as_u32() < self.num_memories);
        self.memories + 2 * self.p() * index.as_u32()
    }
    /// A copy of the memory's base, beside its definition pointer: a base
    /// never moves (the whole reservation is mapped up front), so code
    /// reaches the memory with one load from the vmctx instead of two.
    pub fn vmctx_memory_base(&self, index: MemoryIndex) -> u32 {
        self.vmctx_memory_pointer(index) + self.p()
    }
    pub fn vmctx_table_pointer(&self, index: TableIndex) -> u32 {
        assert!(index.as_u32() < self.num_tables);
        self.tables + 2 * self.p() * index.as_u32()
    }
    /// A copy of the elements' base of a table whose type fixes its size
    /// (maximum = minimum: it never grows, so its elements never move);
    /// null for any other table, whose base moves as it grows.
    pub fn vmctx_fixed_table_base(&self, index: TableIndex) -> u32 {
        self.vmctx_table_pointer(index) + self.p()
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
    /// The pointer to tag `index`'s `VMTagDefinition` (imported or defined).
    pub fn vmctx_tag_pointer(&self, index: TagIndex) -> u32 {
        assert!(index.as_u32() < self.num_tags);
        self.tags + self.p() * index.as_u32()
    }
    /// A defined tag's `VMTagDefinition`, whose address is the tag's identity.
    pub fn vmctx_defined_tag(&self, index: DefinedTagIndex) -> u32 {
        assert!(index.as_u32() < self.num_defined_tags);
        self.defined_tags + 4 * index.as_u32()
    }
    /// The size of the whole VMContext in bytes.
    pub fn size_of_vmctx(&self) -> u32 {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    #[test]
    fn arrays_follow_each_other_without_overlap() {
        let mut module = Module::default();
        let ty = module
            .types
            .push(WasmSubType::func(WasmFuncType::default()));
        module.functions.push(ty);
        module.functions.push(ty);
        module.globals.push(GlobalType {
            ty: WasmValType::I32,
            mutable: true,
        });
        module
            .global_inits
            .push(ConstExpr::op(ConstOp::I32Const(0)));
        let offsets = VMOffsets::new(8, &module);
        // After the five-pointer header (magic, instance, store context,
        // builtins, hotness counters).
        assert_eq!(offsets.vmctx_type_id(ty), 40);
        assert_eq!(offsets.vmctx_global_pointer(GlobalIndex::from_u32(0)), 48);
        assert_eq!(offsets.vmctx_funcref(FuncIndex::from_u32(1)), 56 + 32);
        assert_eq!(
            offsets.vmctx_defined_global(DefinedGlobalIndex::from_u32(0)),
            128
        );
        assert_eq!(offsets.size_of_vmctx(), 144);
    }
}
