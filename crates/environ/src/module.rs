//! The compiler-independent description of one module.

use crate::*;
use cranelift_entity::PrimaryMap;
use std::collections::HashMap;

/// A constant expression, as used by global initializers and segment
/// offsets and items.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConstExpr {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    RefNull(WasmValType),
    RefFunc(FuncIndex),
    GlobalGet(GlobalIndex),
}

/// One import, in module order.
#[derive(Clone, Debug)]
pub struct Import {
    pub module: String,
    pub field: String,
    pub index: EntityIndex,
}

/// Where an element segment goes.
#[derive(Clone, Debug)]
pub enum ElementKind {
    Passive,
    Declared,
    Active {
        table: TableIndex,
        offset: ConstExpr,
    },
}

/// An element segment: references to put into a table.
#[derive(Clone, Debug)]
pub struct ElementSegment {
    pub kind: ElementKind,
    pub ty: WasmValType,
    pub items: Box<[ConstExpr]>,
}

/// Where a data segment goes.
#[derive(Clone, Debug)]
pub enum DataKind {
    Passive,
    Active {
        memory: MemoryIndex,
        offset: ConstExpr,
    },
}

/// A data segment: bytes to put into a memory.
#[derive(Clone, Debug)]
pub struct DataSegment {
    pub kind: DataKind,
    pub bytes: Box<[u8]>,
}

/// A parsed and validated module, minus its function bodies.
#[derive(Debug, Default)]
pub struct Module {
    /// The name from the name section, if any.
    pub name: Option<String>,
    pub types: PrimaryMap<TypeIndex, WasmFuncType>,
    /// The type of each function, imports first.
    pub functions: PrimaryMap<FuncIndex, TypeIndex>,
    pub tables: PrimaryMap<TableIndex, TableType>,
    pub memories: PrimaryMap<MemoryIndex, MemoryType>,
    pub globals: PrimaryMap<GlobalIndex, GlobalType>,
    /// Initial values of the defined globals.
    pub global_inits: PrimaryMap<DefinedGlobalIndex, ConstExpr>,
    pub num_imported_funcs: usize,
    pub num_imported_tables: usize,
    pub num_imported_memories: usize,
    pub num_imported_globals: usize,
    pub imports: Vec<Import>,
    /// Exports in module order.
    pub exports: Vec<(String, EntityIndex)>,
    pub start: Option<FuncIndex>,
    pub elements: PrimaryMap<ElemIndex, ElementSegment>,
    pub data: PrimaryMap<DataIndex, DataSegment>,
    /// Function names from the name section.
    pub func_names: HashMap<FuncIndex, String>,
}

impl Module {
    pub fn func_type(&self, func: FuncIndex) -> &WasmFuncType {
        &self.types[self.functions[func]]
    }

    pub fn defined_func_index(&self, func: FuncIndex) -> Option<DefinedFuncIndex> {
        func.index()
            .checked_sub(self.num_imported_funcs)
            .map(DefinedFuncIndex::new)
    }

    pub fn func_index(&self, defined: DefinedFuncIndex) -> FuncIndex {
        FuncIndex::new(self.num_imported_funcs + defined.index())
    }

    pub fn is_imported_func(&self, func: FuncIndex) -> bool {
        func.index() < self.num_imported_funcs
    }

    pub fn defined_table_index(&self, table: TableIndex) -> Option<DefinedTableIndex> {
        table
            .index()
            .checked_sub(self.num_imported_tables)
            .map(DefinedTableIndex::new)
    }

    pub fn defined_memory_index(&self, memory: MemoryIndex) -> Option<DefinedMemoryIndex> {
        memory
            .index()
            .checked_sub(self.num_imported_memories)
            .map(DefinedMemoryIndex::new)
    }

    pub fn defined_global_index(&self, global: GlobalIndex) -> Option<DefinedGlobalIndex> {
        global
            .index()
            .checked_sub(self.num_imported_globals)
            .map(DefinedGlobalIndex::new)
    }

    pub fn num_defined_funcs(&self) -> usize {
        self.functions.len() - self.num_imported_funcs
    }

    /// The type of an entity of this module, for import/export matching.
    pub fn entity_type(&self, index: EntityIndex) -> EntityType {
        match index {
            EntityIndex::Function(f) => EntityType::Function(self.func_type(f).clone()),
            EntityIndex::Table(t) => EntityType::Table(self.tables[t].clone()),
            EntityIndex::Memory(m) => EntityType::Memory(self.memories[m].clone()),
            EntityIndex::Global(g) => EntityType::Global(self.globals[g]),
        }
    }

    /// The name to show for a function in backtraces.
    pub fn func_name(&self, func: FuncIndex) -> Option<&str> {
        self.func_names.get(&func).map(|s| s.as_str())
    }
}
