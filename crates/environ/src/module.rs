//! The compiler-independent description of one module.

use crate::*;
use cranelift_entity::PrimaryMap;
use std::collections::HashMap;

/// One instruction of a constant expression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConstOp {
    I32Const(i32),
    I64Const(i64),
    F32Const(u32),
    F64Const(u64),
    V128Const(u128),
    RefNull(WasmHeapType),
    RefFunc(FuncIndex),
    GlobalGet(GlobalIndex),
    // The extended-const proposal.
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
    // The GC proposal.
    /// `struct.new`: pops the fields, pushes the new struct.
    StructNew(TypeIndex),
    StructNewDefault(TypeIndex),
    /// `array.new`: pops the initial value and the length.
    ArrayNew(TypeIndex),
    /// `array.new_default`: pops the length.
    ArrayNewDefault(TypeIndex),
    /// `array.new_fixed`: pops this many elements.
    ArrayNewFixed(TypeIndex, u32),
    RefI31,
    AnyConvertExtern,
    ExternConvertAny,
}

/// A constant expression, as used by global and table initializers and
/// segment offsets and items: a validated instruction sequence that
/// leaves one value (evaluated on a small stack at instantiation).
#[derive(Clone, Debug, PartialEq)]
pub struct ConstExpr {
    ops: Box<[ConstOp]>,
}

impl ConstExpr {
    pub fn new(ops: impl IntoIterator<Item = ConstOp>) -> ConstExpr {
        ConstExpr {
            ops: ops.into_iter().collect(),
        }
    }

    /// The one-instruction expression `op`.
    pub fn op(op: ConstOp) -> ConstExpr {
        ConstExpr::new([op])
    }

    pub fn ops(&self) -> &[ConstOp] {
        &self.ops
    }

    /// The value, when the expression is a single `i32.const`.
    pub fn as_i32(&self) -> Option<i32> {
        match *self.ops {
            [ConstOp::I32Const(v)] => Some(v),
            _ => None,
        }
    }

    /// The value, when the expression is a single `i32.const` or `i64.const`.
    pub fn as_u64(&self) -> Option<u64> {
        match *self.ops {
            [ConstOp::I32Const(v)] => Some(u64::from(v as u32)),
            [ConstOp::I64Const(v)] => Some(v as u64),
            _ => None,
        }
    }
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
    pub ty: WasmRefType,
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
    /// The type section, in order.
    pub types: PrimaryMap<TypeIndex, WasmSubType>,
    /// The recursion groups of the type section: (first type, count), in
    /// order. A type may only refer to types of earlier groups or its own.
    pub rec_groups: Vec<(TypeIndex, u32)>,
    /// The type of each function, imports first.
    pub functions: PrimaryMap<FuncIndex, TypeIndex>,
    pub tables: PrimaryMap<TableIndex, TableType>,
    /// Initial element of each defined table (`None`: null).
    pub table_inits: PrimaryMap<DefinedTableIndex, Option<ConstExpr>>,
    pub memories: PrimaryMap<MemoryIndex, MemoryType>,
    pub globals: PrimaryMap<GlobalIndex, GlobalType>,
    /// Initial values of the defined globals.
    pub global_inits: PrimaryMap<DefinedGlobalIndex, ConstExpr>,
    /// Each tag's type, imports first (the exception-handling proposal).
    pub tags: PrimaryMap<TagIndex, TagType>,
    pub num_imported_funcs: usize,
    pub num_imported_tables: usize,
    pub num_imported_memories: usize,
    pub num_imported_globals: usize,
    pub num_imported_tags: usize,
    pub imports: Vec<Import>,
    /// Exports in module order.
    pub exports: Vec<(String, EntityIndex)>,
    pub start: Option<FuncIndex>,
    pub elements: PrimaryMap<ElemIndex, ElementSegment>,
    pub data: PrimaryMap<DataIndex, DataSegment>,
    /// Function names from the name section.
    pub func_names: HashMap<FuncIndex, String>,
    /// Tag names from the name section.
    pub tag_names: HashMap<TagIndex, String>,
    /// The layout of each struct and array type (`None`: a function type).
    pub gc_layouts: PrimaryMap<TypeIndex, Option<GcLayout>>,
    /// Whether anything in the module is a reference the collector traces
    /// (an `anyref` or `externref`, say): its functions then keep such
    /// values where stack maps find them.
    pub has_gc_refs: bool,
}

impl Module {
    pub fn func_type(&self, func: FuncIndex) -> &WasmFuncType {
        self.types[self.functions[func]].unwrap_func()
    }

    /// The signature of function type `ty` (validated to be one).
    pub fn func_sig(&self, ty: TypeIndex) -> &WasmFuncType {
        self.types[ty].unwrap_func()
    }

    /// The signature of tag `tag`'s exceptions.
    pub fn tag_sig(&self, tag: TagIndex) -> &WasmFuncType {
        self.func_sig(self.tags[tag].ty)
    }

    pub fn defined_tag_index(&self, tag: TagIndex) -> Option<DefinedTagIndex> {
        tag.index()
            .checked_sub(self.num_imported_tags)
            .map(DefinedTagIndex::new)
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
            EntityIndex::Function(f) => EntityType::Function(self.functions[f]),
            EntityIndex::Table(t) => EntityType::Table(self.tables[t].clone()),
            EntityIndex::Memory(m) => EntityType::Memory(self.memories[m].clone()),
            EntityIndex::Global(g) => EntityType::Global(self.globals[g]),
            EntityIndex::Tag(t) => EntityType::Tag(self.tags[t]),
        }
    }

    /// Whether concrete type `r` (a module type index) is a function type.
    pub fn is_func_type(&self, r: TypeRef) -> bool {
        match r {
            TypeRef::Module(t) => self
                .types
                .get(t)
                .is_some_and(|t| matches!(t.composite, WasmCompositeType::Func(_))),
            _ => false,
        }
    }

    /// Whether values of `ty` are references the collector traces.
    pub fn is_gc_ref(&self, ty: WasmValType) -> bool {
        crate::gc::is_gc_ref(ty, &|r| self.is_func_type(r))
    }

    /// The layout of struct or array type `ty` (validated to be one).
    pub fn gc_layout(&self, ty: TypeIndex) -> &GcLayout {
        self.gc_layouts[ty]
            .as_ref()
            .expect("validated: a struct or array type")
    }

    /// Fills `gc_layouts` and `has_gc_refs` once the module is read.
    pub(crate) fn compute_gc_info(&mut self) {
        let is_func = |r: TypeRef| self.is_func_type(r);
        let layouts: Vec<Option<GcLayout>> = self
            .types
            .values()
            .map(|t| GcLayout::of(&t.composite, &is_func))
            .collect();
        let gc_ref = |ty: WasmValType| crate::gc::is_gc_ref(ty, &is_func);
        let in_types = self.types.values().any(|t| match &t.composite {
            WasmCompositeType::Func(f) => {
                f.params.iter().chain(f.results.iter()).any(|t| gc_ref(*t))
            }
            // A module with struct or array types makes objects.
            _ => true,
        });
        let has_gc_refs = in_types
            || self.globals.values().any(|g| gc_ref(g.ty))
            || self
                .tables
                .values()
                .any(|t| gc_ref(WasmValType::Ref(t.element)))
            || self
                .elements
                .values()
                .any(|e| gc_ref(WasmValType::Ref(e.ty)));
        self.gc_layouts = layouts.into_iter().collect();
        self.has_gc_refs = has_gc_refs;
    }

    /// The name to show for a function in backtraces.
    pub fn func_name(&self, func: FuncIndex) -> Option<&str> {
        self.func_names.get(&func).map(|s| s.as_str())
    }
}
