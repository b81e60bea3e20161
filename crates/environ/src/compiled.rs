//! What the compiler hands to the runtime for one module: a linked text
//! section and the tables that describe it. Plain data, shared by the
//! compiler (which fills it), the artifact format (which stores it) and the
//! loader (which checks it).

use crate::{TrapCode, TypeIndex};
use std::collections::HashMap;

/// Where a function sits in the text section, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionLoc {
    pub start: u32,
    pub length: u32,
}

/// A linked text section and what the runtime needs to know about it. All
/// offsets are byte offsets into `text`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompiledText {
    pub text: Vec<u8>,
    /// Each defined function's code, by `DefinedFuncIndex`, in text order.
    pub functions: Vec<FunctionLoc>,
    /// The host-to-wasm trampoline for each type used by a defined function.
    pub array_to_wasm: HashMap<TypeIndex, u32>,
    /// The wasm-to-host trampoline (host trampoline texts only).
    pub wasm_to_array: Option<u32>,
    /// The wasm-to-host trampoline for each type of an imported function,
    /// so host functions imported by a module need no compile at run time.
    pub import_trampolines: HashMap<TypeIndex, u32>,
    /// Text offsets of instructions that may trap, sorted, with the code.
    pub traps: Vec<(u32, TrapCode)>,
    /// (text offset, wasm byte offset) pairs, sorted, for backtraces.
    pub address_map: Vec<(u32, u32)>,
}
