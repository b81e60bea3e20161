//! The types the API speaks in, and their conversions to the module model.

use hoist_environ::{self as env, WasmValType};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
}

impl ValType {
    pub(crate) fn from_wasm(ty: WasmValType) -> ValType {
        match ty {
            WasmValType::I32 => ValType::I32,
            WasmValType::I64 => ValType::I64,
            WasmValType::F32 => ValType::F32,
            WasmValType::F64 => ValType::F64,
            WasmValType::V128 => ValType::V128,
            WasmValType::FuncRef => ValType::FuncRef,
            WasmValType::ExternRef => ValType::ExternRef,
        }
    }

    pub(crate) fn to_wasm(self) -> WasmValType {
        match self {
            ValType::I32 => WasmValType::I32,
            ValType::I64 => WasmValType::I64,
            ValType::F32 => WasmValType::F32,
            ValType::F64 => WasmValType::F64,
            ValType::V128 => WasmValType::V128,
            ValType::FuncRef => WasmValType::FuncRef,
            ValType::ExternRef => WasmValType::ExternRef,
        }
    }
}

impl std::fmt::Display for ValType {
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

/// A memory type; sizes in 64 KiB pages.
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
            },
        }
    }
    pub fn minimum(&self) -> u64 {
        self.ty.minimum
    }
    pub fn maximum(&self) -> Option<u64> {
        self.ty.maximum
    }
}

/// A table type; sizes in elements.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    pub(crate) ty: env::TableType,
}

impl TableType {
    pub fn new(element: ValType, minimum: u32, maximum: Option<u32>) -> Self {
        TableType {
            ty: env::TableType {
                element: element.to_wasm(),
                minimum: u64::from(minimum),
                maximum: maximum.map(u64::from),
            },
        }
    }
    pub fn element(&self) -> ValType {
        ValType::from_wasm(self.ty.element)
    }
    pub fn minimum(&self) -> u64 {
        self.ty.minimum
    }
    pub fn maximum(&self) -> Option<u64> {
        self.ty.maximum
    }
}

/// The type of an import or export.
#[derive(Clone, Debug)]
pub enum ExternType {
    Func(FuncType),
    Global(GlobalType),
    Table(TableType),
    Memory(MemoryType),
}
