//! Traps: wasm execution stopped by the spec's rules.

use std::fmt;

pub use hoist_environ::TrapCode;

/// A wasm trap. Its `Display` is the spec's message ("out of bounds
/// memory access", "call stack exhausted", ...).
#[derive(Debug, Clone)]
pub struct Trap {
    code: TrapCode,
    /// The trapping PC and the return addresses of the wasm frames above it.
    pcs: Vec<usize>,
    frames: Vec<FrameInfo>,
}

/// One wasm frame of a trap's backtrace, innermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// The module's name from its name section.
    pub module_name: Option<String>,
    pub func_index: u32,
    /// The function's name from the name section.
    pub func_name: Option<String>,
    /// Byte offset of the instruction in the module binary.
    pub module_offset: Option<u32>,
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.module_offset {
            Some(offset) => write!(f, "{offset:#x} - ")?,
            None => write!(f, "<unknown> - ")?,
        }
        write!(f, "{}!", self.module_name.as_deref().unwrap_or("<module>"))?;
        match &self.func_name {
            Some(name) => write!(f, "{name}"),
            None => write!(f, "<wasm function {}>", self.func_index),
        }
    }
}

impl Trap {
    pub(crate) fn new(code: TrapCode, pcs: Vec<usize>) -> Trap {
        Trap {
            code,
            pcs,
            frames: Vec::new(),
        }
    }

    /// The wasm frames active when the trap happened, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }

    pub fn code(&self) -> Option<TrapCode> {
        Some(self.code)
    }

    /// Native addresses of the trapping frames, innermost first.
    pub fn native_backtrace(&self) -> &[usize] {
        &self.pcs
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.message())
    }
}

impl std::error::Error for Trap {}

/// Converts a runtime trap into the error the API returns; `symbolize`
/// finds the frame for a code address.
pub(crate) fn from_reason(
    reason: hoist_runtime::TrapReason,
    symbolize: impl Fn(usize) -> Option<FrameInfo>,
) -> anyhow::Error {
    match reason {
        hoist_runtime::TrapReason::Wasm { code, pc } => {
            let mut pcs = hoist_runtime::last_trap_backtrace();
            if pcs.is_empty() {
                pcs.push(pc);
            }
            // Callers' addresses are return addresses: look up the call
            // instruction just before them.
            let frames = pcs
                .iter()
                .enumerate()
                .filter_map(|(i, pc)| symbolize(if i == 0 { *pc } else { pc - 1 }))
                .collect();
            anyhow::Error::new(Trap { code, pcs, frames })
        }
        hoist_runtime::TrapReason::Host(error) => from_host_error(error),
    }
}

/// An embedder's error on its way through the runtime, which only knows
/// boxed errors. Unwrapped on the way out, so callers can still downcast
/// to their own types (such as WASI's exit status).
#[derive(Debug)]
struct HostError(anyhow::Error);

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for HostError {}

pub(crate) fn to_host_error(error: anyhow::Error) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(HostError(error))
}

pub(crate) fn from_host_error(error: Box<dyn std::error::Error + Send + Sync>) -> anyhow::Error {
    match error.downcast::<HostError>() {
        Ok(host) => host.0,
        Err(other) => anyhow::Error::from_boxed(other),
    }
}
