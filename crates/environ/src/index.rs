//! Typed index spaces. A `FuncIndex` counts imports and definitions, a
//! `DefinedFuncIndex` only definitions; conversions go through [`crate::Module`].

use cranelift_entity::entity_impl;
pub use cranelift_entity::EntityRef;

macro_rules! indices {
    ($($(#[$doc:meta])* $name:ident, $prefix:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);
        entity_impl!($name, $prefix);
    )*};
}

indices! {
    /// Index of a type in the module's type section.
    TypeIndex, "type";
    /// Index of a function, imports first.
    FuncIndex, "func";
    /// Index of a function defined in (not imported by) the module.
    DefinedFuncIndex, "defined_func";
    /// Index of a table, imports first.
    TableIndex, "table";
    /// Index of a table defined in the module.
    DefinedTableIndex, "defined_table";
    /// Index of a memory, imports first.
    MemoryIndex, "memory";
    /// Index of a memory defined in the module.
    DefinedMemoryIndex, "defined_memory";
    /// Index of a global, imports first.
    GlobalIndex, "global";
    /// Index of a global defined in the module.
    DefinedGlobalIndex, "defined_global";
    /// Index of an element segment.
    ElemIndex, "elem";
    /// Index of a data segment.
    DataIndex, "data";
    /// Index of a tag, imports first.
    TagIndex, "tag";
    /// Index of a tag defined in the module.
    DefinedTagIndex, "defined_tag";
}

/// An index in one of the four import/export index spaces.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum EntityIndex {
    Function(FuncIndex),
    Table(TableIndex),
    Memory(MemoryIndex),
    Global(GlobalIndex),
    Tag(TagIndex),
}
