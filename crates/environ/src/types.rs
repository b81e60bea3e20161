//! WebAssembly types as hoist models them: the Wasm 3.0 type system, with
//! reference types over abstract and concrete heap types, recursion groups
//! and declared subtypes (the GC proposal's type system; which of its
//! instructions the compiler implements is another matter).
//!
//! Concrete heap types name a type by [`TypeRef`]: a module's own type
//! index inside a module, an engine-wide canonical id once the engine has
//! registered the module's types, or a position in the recursion group
//! being canonicalized.

use crate::TypeIndex;
use std::fmt;

/// Where a concrete heap type points.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum TypeRef {
    /// A type of the module, by its index in the type section.
    Module(TypeIndex),
    /// An engine-wide canonical type id (see `hoist::Engine`'s registry).
    Engine(u32),
    /// The n-th type of the recursion group being canonicalized.
    RecGroup(u32),
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Module(index) => write!(f, "{}", index.as_u32()),
            TypeRef::Engine(id) => write!(f, "<engine type {id}>"),
            TypeRef::RecGroup(i) => write!(f, "<rec {i}>"),
        }
    }
}

/// A heap type: what a reference points at.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum WasmHeapType {
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
    /// A defined type (function, struct or array).
    Concrete(TypeRef),
}

/// The three disjoint hierarchies of heap types (plus exceptions').
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum HeapTypeHierarchy {
    Func,
    Extern,
    Any,
    Exn,
}

impl WasmHeapType {
    /// Whether this is the bottom type of its hierarchy (the type of
    /// nothing but null).
    pub fn is_bottom(self) -> bool {
        matches!(
            self,
            WasmHeapType::NoFunc
                | WasmHeapType::NoExtern
                | WasmHeapType::None
                | WasmHeapType::NoExn
        )
    }
}

/// A reference type.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct WasmRefType {
    pub nullable: bool,
    pub heap: WasmHeapType,
}

impl WasmRefType {
    pub const FUNCREF: WasmRefType = WasmRefType {
        nullable: true,
        heap: WasmHeapType::Func,
    };
    pub const EXTERNREF: WasmRefType = WasmRefType {
        nullable: true,
        heap: WasmHeapType::Extern,
    };
    pub const EXNREF: WasmRefType = WasmRefType {
        nullable: true,
        heap: WasmHeapType::Exn,
    };
}

impl fmt::Display for WasmRefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = match (self.nullable, self.heap) {
            (true, WasmHeapType::Func) => Some("funcref"),
            (true, WasmHeapType::Extern) => Some("externref"),
            (true, WasmHeapType::Any) => Some("anyref"),
            (true, WasmHeapType::Eq) => Some("eqref"),
            (true, WasmHeapType::I31) => Some("i31ref"),
            (true, WasmHeapType::Struct) => Some("structref"),
            (true, WasmHeapType::Array) => Some("arrayref"),
            (true, WasmHeapType::None) => Some("nullref"),
            (true, WasmHeapType::NoFunc) => Some("nullfuncref"),
            (true, WasmHeapType::NoExtern) => Some("nullexternref"),
            (true, WasmHeapType::Exn) => Some("exnref"),
            (true, WasmHeapType::NoExn) => Some("nullexnref"),
            _ => None,
        };
        if let Some(short) = short {
            return f.write_str(short);
        }
        f.write_str(if self.nullable { "(ref null " } else { "(ref " })?;
        match self.heap {
            WasmHeapType::Concrete(r) => write!(f, "{r}")?,
            other => f.write_str(match other {
                WasmHeapType::Func => "func",
                WasmHeapType::NoFunc => "nofunc",
                WasmHeapType::Extern => "extern",
                WasmHeapType::NoExtern => "noextern",
                WasmHeapType::Any => "any",
                WasmHeapType::Eq => "eq",
                WasmHeapType::I31 => "i31",
                WasmHeapType::Struct => "struct",
                WasmHeapType::Array => "array",
                WasmHeapType::None => "none",
                WasmHeapType::Exn => "exn",
                WasmHeapType::NoExn => "noexn",
                WasmHeapType::Concrete(_) => unreachable!(),
            })?,
        }
        f.write_str(")")
    }
}

/// A value type.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum WasmValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    Ref(WasmRefType),
}

impl WasmValType {
    pub const FUNCREF: WasmValType = WasmValType::Ref(WasmRefType::FUNCREF);
    pub const EXTERNREF: WasmValType = WasmValType::Ref(WasmRefType::EXTERNREF);
    pub const EXNREF: WasmValType = WasmValType::Ref(WasmRefType::EXNREF);

    /// Whether values of this type are references.
    pub fn is_ref(self) -> bool {
        matches!(self, WasmValType::Ref(_))
    }

    /// The reference type, if this is one.
    pub fn as_ref(self) -> Option<WasmRefType> {
        match self {
            WasmValType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// This type with every concrete type reference mapped by `f`.
    pub fn map_refs(self, f: &mut impl FnMut(TypeRef) -> TypeRef) -> WasmValType {
        match self {
            WasmValType::Ref(WasmRefType {
                nullable,
                heap: WasmHeapType::Concrete(r),
            }) => WasmValType::Ref(WasmRefType {
                nullable,
                heap: WasmHeapType::Concrete(f(r)),
            }),
            other => other,
        }
    }
}

impl fmt::Display for WasmValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WasmValType::I32 => f.write_str("i32"),
            WasmValType::I64 => f.write_str("i64"),
            WasmValType::F32 => f.write_str("f32"),
            WasmValType::F64 => f.write_str("f64"),
            WasmValType::V128 => f.write_str("v128"),
            WasmValType::Ref(r) => r.fmt(f),
        }
    }
}

/// A function signature.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct WasmFuncType {
    pub params: Box<[WasmValType]>,
    pub results: Box<[WasmValType]>,
}

impl WasmFuncType {
    pub fn new(
        params: impl IntoIterator<Item = WasmValType>,
        results: impl IntoIterator<Item = WasmValType>,
    ) -> Self {
        WasmFuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    /// This signature with every concrete type reference mapped by `f`.
    pub fn map_refs(&self, f: &mut impl FnMut(TypeRef) -> TypeRef) -> WasmFuncType {
        WasmFuncType {
            params: self.params.iter().map(|t| t.map_refs(f)).collect(),
            results: self.results.iter().map(|t| t.map_refs(f)).collect(),
        }
    }
}

impl fmt::Display for WasmFuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As the text format writes it: an empty list is left out.
        let list = |f: &mut fmt::Formatter<'_>, keyword: &str, v: &[WasmValType]| {
            if v.is_empty() {
                return Ok(());
            }
            write!(f, " ({keyword}")?;
            v.iter().try_for_each(|t| write!(f, " {t}"))?;
            f.write_str(")")
        };
        f.write_str("(func")?;
        list(f, "param", &self.params)?;
        list(f, "result", &self.results)?;
        f.write_str(")")
    }
}

/// What a struct field or array element holds.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum WasmStorageType {
    I8,
    I16,
    Val(WasmValType),
}

/// A struct field or an array's element.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct WasmFieldType {
    pub storage: WasmStorageType,
    pub mutable: bool,
}

impl WasmFieldType {
    fn map_refs(self, f: &mut impl FnMut(TypeRef) -> TypeRef) -> WasmFieldType {
        WasmFieldType {
            storage: match self.storage {
                WasmStorageType::Val(v) => WasmStorageType::Val(v.map_refs(f)),
                packed => packed,
            },
            mutable: self.mutable,
        }
    }
}

/// The shape of a defined type.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum WasmCompositeType {
    Func(WasmFuncType),
    Struct(Box<[WasmFieldType]>),
    Array(WasmFieldType),
}

/// A type defined in a module's type section: its shape, whether it may
/// have subtypes, and its declared supertype.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct WasmSubType {
    pub is_final: bool,
    pub supertype: Option<TypeRef>,
    pub composite: WasmCompositeType,
}

impl WasmSubType {
    /// A final function type with no supertype: what a plain
    /// `(type (func ...))` and every host function signature is.
    pub fn func(ty: WasmFuncType) -> WasmSubType {
        WasmSubType {
            is_final: true,
            supertype: None,
            composite: WasmCompositeType::Func(ty),
        }
    }

    /// The function signature, if this is a function type.
    pub fn as_func(&self) -> Option<&WasmFuncType> {
        match &self.composite {
            WasmCompositeType::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The function signature of a type that validation proved to be one.
    pub fn unwrap_func(&self) -> &WasmFuncType {
        self.as_func()
            .expect("validated: the type is a function type")
    }

    /// This type with every concrete type reference mapped by `f`.
    pub fn map_refs(&self, f: &mut impl FnMut(TypeRef) -> TypeRef) -> WasmSubType {
        WasmSubType {
            is_final: self.is_final,
            supertype: self.supertype.map(&mut *f),
            composite: match &self.composite {
                WasmCompositeType::Func(func) => WasmCompositeType::Func(func.map_refs(f)),
                WasmCompositeType::Struct(fields) => {
                    WasmCompositeType::Struct(fields.iter().map(|t| t.map_refs(f)).collect())
                }
                WasmCompositeType::Array(field) => WasmCompositeType::Array(field.map_refs(f)),
            },
        }
    }
}

/// A table type. Sizes are in elements.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct TableType {
    pub element: WasmRefType,
    pub minimum: u64,
    pub maximum: Option<u64>,
    /// Indexed by i64 (the memory64 proposal's table64).
    pub table64: bool,
}

impl TableType {
    /// The size of a table of this type when the type fixes it (maximum =
    /// minimum), else `None`. Such a table never grows, so its elements
    /// never move; and a table imported as this type has exactly this size
    /// too: import matching requires its size to be at least the minimum
    /// and its maximum at most the import's maximum, the same number (Wasm
    /// 3.0, 4.5.10.2 "Limits").
    pub fn fixed_size(&self) -> Option<u64> {
        (self.maximum == Some(self.minimum)).then_some(self.minimum)
    }
}

/// A memory type. Sizes are in pages.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MemoryType {
    pub minimum: u64,
    pub maximum: Option<u64>,
    pub memory64: bool,
    pub shared: bool,
    /// log2 of the page size: 16 (64 KiB) unless the custom-page-sizes
    /// proposal says otherwise (0, one byte).
    pub page_size_log2: u8,
}

impl MemoryType {
    /// Bytes per page.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }

    /// The largest number of pages this memory may ever have: its maximum,
    /// capped by what its index type can address.
    pub fn max_pages(&self) -> u64 {
        let address_bits = if self.memory64 { 64 } else { 32 };
        let limit = if self.memory64 && self.page_size_log2 == 16 {
            1 << 48
        } else {
            (1u128 << address_bits >> self.page_size_log2).min(u128::from(u64::MAX)) as u64
        };
        self.maximum.unwrap_or(limit).min(limit)
    }

    /// The initial size in bytes (saturating).
    pub fn initial_bytes(&self) -> u64 {
        self.minimum.saturating_mul(self.page_size())
    }
}

/// A global type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct GlobalType {
    pub ty: WasmValType,
    pub mutable: bool,
}

/// A tag type: the signature of the exceptions it tags (params only).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TagType {
    pub ty: TypeIndex,
}

/// The type of an importable or exportable entity, with concrete types as
/// the module's type indices.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EntityType {
    Function(TypeIndex),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
    Tag(TagType),
}

impl EntityType {
    /// What kind of entity this is, in words.
    pub fn kind(&self) -> &'static str {
        match self {
            EntityType::Function(_) => "function",
            EntityType::Table(_) => "table",
            EntityType::Memory(_) => "memory",
            EntityType::Global(_) => "global",
            EntityType::Tag(_) => "tag",
        }
    }
}

/// Limits subtyping as the spec defines it for imports: the actual
/// minimum must be at least the expected one, and if a maximum is
/// expected the actual one must exist and be no larger.
pub fn limits_match(actual_min: u64, actual_max: Option<u64>, min: u64, max: Option<u64>) -> bool {
    actual_min >= min
        && match max {
            None => true,
            Some(max) => matches!(actual_max, Some(a) if a <= max),
        }
}
