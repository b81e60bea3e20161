//! The types the API speaks in, and their conversions to the module model.
//!
//! Concrete (defined) types are named by their engine-wide id: the API's
//! types are the same in every module of an engine.

use hoist_environ::{self as env, TypeRef, WasmHeapType, WasmRefType, WasmValType};

/// A heap type: what a reference points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeapType {
    Func,
    NoFunc,
    Extern,
    NoExtern,
    Any,
    Eq,
    I31,
    Struct,
    Array,
    None,
    Exn,
    NoExn,
    /// A defined (function, struct or array) type, by engine-wide id.
    Concrete(u32),
}

/// A reference type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefType {
    pub nullable: bool,
    pub heap: HeapType,
}

/// A value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    Ref(RefType),
}

impl ValType {
    /// `funcref`: a nullable reference to any function.
    pub const FUNCREF: ValType = ValType::Ref(RefType {
        nullable: true,
        heap: HeapType::Func,
    });
    /// `externref`: a nullable reference to a host value.
    pub const EXTERNREF: ValType = ValType::Ref(RefType {
        nullable: true,
        heap: HeapType::Extern,
    });
    /// `exnref`: a nullable reference to a caught exception.
    pub const EXNREF: ValType = ValType::Ref(RefType {
        nullable: true,
        heap: HeapType::Exn,
    });
    /// `anyref`: a nullable reference in the GC proposal's hierarchy.
    pub const ANYREF: ValType = ValType::Ref(RefType {
        nullable: true,
        heap: HeapType::Any,
    });

    /// The reference type, if this is one.
    pub fn as_ref(self) -> Option<RefType> {
        match self {
            ValType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// From the model, whose concrete references must be engine ids.
    pub(crate) fn from_wasm(ty: WasmValType) -> ValType {
        match ty {
            WasmValType::I32 => ValType::I32,
            WasmValType::I64 => ValType::I64,
            WasmValType::F32 => ValType::F32,
            WasmValType::F64 => ValType::F64,
            WasmValType::V128 => ValType::V128,
            WasmValType::Ref(r) => ValType::Ref(RefType::from_wasm(r)),
        }
    }

    pub(crate) fn to_wasm(self) -> WasmValType {
        match self {
            ValType::I32 => WasmValType::I32,
            ValType::I64 => WasmValType::I64,
            ValType::F32 => WasmValType::F32,
            ValType::F64 => WasmValType::F64,
            ValType::V128 => WasmValType::V128,
            ValType::Ref(r) => WasmValType::Ref(r.to_wasm()),
        }
    }
}

impl RefType {
    pub(crate) fn from_wasm(r: WasmRefType) -> RefType {
        use WasmHeapType as W;
        RefType {
            nullable: r.nullable,
            heap: match r.heap {
                W::Func => HeapType::Func,
                W::NoFunc => HeapType::NoFunc,
                W::Extern => HeapType::Extern,
                W::NoExtern => HeapType::NoExtern,
                W::Any => HeapType::Any,
                W::Eq => HeapType::Eq,
                W::I31 => HeapType::I31,
                W::Struct => HeapType::Struct,
                W::Array => HeapType::Array,
                W::None => HeapType::None,
                W::Exn => HeapType::Exn,
                W::NoExn => HeapType::NoExn,
                W::Concrete(TypeRef::Engine(id)) => HeapType::Concrete(id),
                W::Concrete(other) => unreachable!("API types are engine types, not {other:?}"),
            },
        }
    }

    pub(crate) fn to_wasm(self) -> WasmRefType {
        use WasmHeapType as W;
        WasmRefType {
            nullable: self.nullable,
            heap: match self.heap {
                HeapType::Func => W::Func,
                HeapType::NoFunc => W::NoFunc,
                HeapType::Extern => W::Extern,
                HeapType::NoExtern => W::NoExtern,
                HeapType::Any => W::Any,
                HeapType::Eq => W::Eq,
                HeapType::I31 => W::I31,
                HeapType::Struct => W::Struct,
                HeapType::Array => W::Array,
                HeapType::None => W::None,
                HeapType::Exn => W::Exn,
                HeapType::NoExn => W::NoExn,
                HeapType::Concrete(id) => W::Concrete(TypeRef::Engine(id)),
            },
        }
    }
}

impl std::fmt::Display for ValType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_wasm().fmt(f)
    }
}

impl std::fmt::Display for RefType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_wasm().fmt(f)
    }
}

/// A function signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: Box<[ValType]>,
    results: Box<[ValType]>,
}

impl FuncType {
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }
    pub fn params(&self) -> &[ValType] {
        &self.params
    }
    pub fn results(&self) -> &[ValType] {
        &self.results
    }
    /// From the model, whose concrete references must be engine ids.
    pub(crate) fn from_wasm(ty: &env::WasmFuncType) -> Self {
        FuncType::new(
            ty.params.iter().map(|t| ValType::from_wasm(*t)),
            ty.results.iter().map(|t| ValType::from_wasm(*t)),
        )
    }
    pub(crate) fn to_wasm(&self) -> env::WasmFuncType {
        env::WasmFuncType::new(
            self.params.iter().map(|t| t.to_wasm()),
            self.results.iter().map(|t| t.to_wasm()),
        )
    }
}

impl std::fmt::Display for FuncType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_wasm().fmt(f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    Const,
    Var,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    content: ValType,
    mutability: Mutability,
}

impl GlobalType {
    pub fn new(content: ValType, mutability: Mutability) -> Self {
        GlobalType {
            content,
            mutability,
        }
    }
    pub fn content(&self) -> ValType {
        self.content
    }
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }
    pub(crate) fn to_wasm(&self) -> env::GlobalType {
        env::GlobalType {
            ty: self.content.to_wasm(),
            mutable: self.mutability == Mutability::Var,
        }
    }
    /// From the model, whose concrete references must be engine ids.
    pub(crate) fn from_wasm(ty: &env::GlobalType) -> Self {
        GlobalType::new(
            ValType::from_wasm(ty.ty),
            if ty.mutable {
                Mutability::Var
            } else {
                Mutability::Const
            },
        )
    }
}

/// A memory type; sizes in pages (64 KiB unless the memory says otherwise).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    pub(crate) ty: env::MemoryType,
}

impl MemoryType {
    pub fn new(minimum: u32, maximum: Option<u32>) -> Self {
        MemoryType {
            ty: env::MemoryType {
                minimum: u64::from(minimum),
                maximum: maximum.map(u64::from),
                memory64: false,
                shared: false,
                page_size_log2: 16,
            },
        }
    }
    /// A shared memory (the threads proposal): it needs a maximum.
    pub fn shared(minimum: u32, maximum: u32) -> Self {
        let mut ty = MemoryType::new(minimum, Some(maximum));
        ty.ty.shared = true;
        ty
    }
    /// Whether the memory is shared between threads.
    pub fn is_shared(&self) -> bool {
        self.ty.shared
    }
    /// A memory indexed by i64 (the memory64 proposal).
    pub fn new64(minimum: u64, maximum: Option<u64>) -> Self {
        let mut ty = MemoryType::new(0, None);
        ty.ty.minimum = minimum;
        ty.ty.maximum = maximum;
        ty.ty.memory64 = true;
        ty
    }
    pub fn minimum(&self) -> u64 {
        self.ty.minimum
    }
    pub fn maximum(&self) -> Option<u64> {
        self.ty.maximum
    }
    pub fn is_64(&self) -> bool {
        self.ty.memory64
    }
    pub fn page_size(&self) -> u64 {
        self.ty.page_size()
    }
}

/// A table type; sizes in elements.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    pub(crate) ty: env::TableType,
}

impl TableType {
    /// A table of `element` references (`element` must be a reference type).
    pub fn new(element: ValType, minimum: u32, maximum: Option<u32>) -> Self {
        TableType {
            ty: env::TableType {
                element: element
                    .as_ref()
                    .expect("a table holds references")
                    .to_wasm(),
                minimum: u64::from(minimum),
                maximum: maximum.map(u64::from),
                table64: false,
            },
        }
    }
    pub fn element(&self) -> ValType {
        ValType::Ref(RefType::from_wasm(self.ty.element))
    }
    pub fn minimum(&self) -> u64 {
        self.ty.minimum
    }
    pub fn maximum(&self) -> Option<u64> {
        self.ty.maximum
    }
}

/// A tag type: the signature of the exceptions it tags.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagType {
    pub(crate) ty: FuncType,
    /// Engine-wide id of the signature.
    pub(crate) id: u32,
}

impl TagType {
    /// The exception payload's types (the signature's parameters).
    pub fn params(&self) -> &[ValType] {
        self.ty.params()
    }
}

/// The type of an import or export.
#[derive(Clone, Debug)]
pub enum ExternType {
    Func(FuncType),
    Global(GlobalType),
    Table(TableType),
    Memory(MemoryType),
    Tag(TagType),
}
