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
    /// Calls made inside exception handlers' scope, sorted by return address.
    pub call_sites: Vec<CallSite>,
    /// Where GC-managed references live in each frame at each safepoint,
    /// sorted by return address.
    pub stack_maps: Vec<StackMap>,
    /// The object layout of each type the code was compiled against (by
    /// type index; `None` for function types): field offsets are baked
    /// into the code, so a loader checks them against its own.
    pub gc_layouts: Vec<Option<crate::GcLayout>>,
}

/// A call that exceptions may unwind through into handlers of its frame
/// (a Cranelift `try_call`). Offsets are into the text section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallSite {
    /// The call's return address.
    pub ret: u32,
    /// FP minus SP at the call: the frame's SP when a handler runs.
    pub frame_offset: u32,
    /// Where the frame's vmctx is (SP-relative), to resolve its tags.
    pub vmctx_sp_offset: u32,
    /// Handlers in the order they are tried: a module-local tag index
    /// (`None`: catch all) and the handler's text offset.
    pub handlers: Vec<(Option<u32>, u32)>,
}

/// The GC-managed references live across one call: SP-relative offsets of
/// 8-byte slots in the calling frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StackMap {
    /// The call's return address.
    pub ret: u32,
    /// FP minus SP at the call.
    pub frame_size: u32,
    pub slots: Vec<u32>,
}
