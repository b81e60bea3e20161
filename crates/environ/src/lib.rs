//! The module model of hoist.
//!
//! Everything the compiler and the runtime must agree on lives here: the
//! parsed and validated [`Module`], typed index spaces, the layout of the
//! `VMContext` ([`VMOffsets`]) and the trap codes with their spec messages.
//! This crate knows WebAssembly but neither Cranelift nor raw memory.

#![forbid(unsafe_code)]

mod builtins;
mod compiled;
pub mod gc;
mod index;
mod memory_image;
mod module;
mod translate;
mod trap;
mod tunables;
mod types;
mod vm_layout;
mod vmoffsets;

pub use builtins::{Builtin, BuiltinResult};
pub use compiled::{AddressMapRecords, CallSite, CompiledText, FunctionLoc, StackMap, TrapRecords};
pub use gc::{GcArrayLayout, GcField, GcFieldKind, GcLayout, GcStructLayout};
pub use index::*;
pub use memory_image::{may_trap_before_data, memory_images, MemoryImage, IMAGE_PAGE_SIZE};
pub use module::*;
pub use translate::{
    heap_type, parse_validated_module, ref_type, translate_module, translate_module_with_features,
    val_type, wasm_features, FunctionBodyData, ModuleTranslation,
};
pub use trap::TrapCode;
pub use tunables::{
    Tunables, DEFAULT_MAX_GC_HEAP, DEFAULT_MAX_TOTAL_TABLE_ELEMENTS, MAX_GC_HEAP_LIMIT,
};
pub use types::*;
pub use vm_layout::{VMLayout, VALUE_SLOT_SIZE};
pub use vmoffsets::{VMOffsets, VMCONTEXT_MAGIC};

/// Size of a WebAssembly page in bytes.
pub const WASM_PAGE_SIZE: u64 = 65536;
/// The largest number of pages a 32-bit memory may have.
pub const WASM32_MAX_PAGES: u64 = 1 << 16;

/// An error in a module: malformed, invalid, or using an unsupported feature.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    /// The binary failed to parse or validate.
    #[error("{message} (at offset {offset:#x})")]
    Invalid { message: String, offset: usize },
    /// The module is valid but uses something hoist does not implement yet.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A limit of this implementation was exceeded.
    #[error("implementation limit exceeded: {0}")]
    ImplLimit(String),
}

impl From<wasmparser::BinaryReaderError> for WasmError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        WasmError::Invalid {
            message: e.message().to_string(),
            offset: e.offset() as usize,
        }
    }
}

/// Result of module-level operations.
pub type WasmResult<T> = Result<T, WasmError>;
