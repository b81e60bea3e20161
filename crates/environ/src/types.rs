//! WebAssembly types as hoist models them.

use std::fmt;

/// A value type.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum WasmValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
}

impl WasmValType {
    /// Whether values of this type are references (stored as pointers).
    pub fn is_ref(self) -> bool {
        matches!(self, WasmValType::FuncRef | WasmValType::ExternRef)
    }
}

impl fmt::Display for WasmValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WasmValType::I32 => "i32",
            WasmValType::I64 => "i64",
            WasmValType::F32 => "f32",
            WasmValType::F64 => "f64",
            WasmValType::V128 => "v128",
            WasmValType::FuncRef => "funcref",
            WasmValType::ExternRef => "externref",
        })
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
}

impl fmt::Display for WasmFuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[WasmValType]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(
            f,
            "(func (param {}) (result {}))",
            list(&self.params),
            list(&self.results)
        )
    }
}

/// A table type. Sizes are in elements.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct TableType {
    pub element: WasmValType,
    pub minimum: u64,
    pub maximum: Option<u64>,
}

/// A memory type. Sizes are in 64 KiB pages.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MemoryType {
    pub minimum: u64,
    pub maximum: Option<u64>,
    pub memory64: bool,
    pub shared: bool,
}

impl MemoryType {
    /// The largest number of pages this memory may ever have.
    pub fn max_pages(&self) -> u64 {
        let limit = if self.memory64 {
            1 << 48
        } else {
            crate::WASM32_MAX_PAGES
        };
        self.maximum.unwrap_or(limit).min(limit)
    }
}

/// A global type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct GlobalType {
    pub ty: WasmValType,
    pub mutable: bool,
}

/// The type of an importable or exportable entity.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EntityType {
    Function(WasmFuncType),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
}

impl EntityType {
    /// What kind of entity this is, in words.
    pub fn kind(&self) -> &'static str {
        match self {
            EntityType::Function(_) => "function",
            EntityType::Table(_) => "table",
            EntityType::Memory(_) => "memory",
            EntityType::Global(_) => "global",
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
