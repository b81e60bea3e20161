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
}

impl Trap {
    pub(crate) fn new(code: TrapCode, pcs: Vec<usize>) -> Trap {
        Trap { code, pcs }
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

/// Converts a runtime trap into the error the API returns.
pub(crate) fn from_reason(reason: hoist_runtime::TrapReason) -> anyhow::Error {
    match reason {
        hoist_runtime::TrapReason::Wasm { code, pc } => {
            let mut pcs = hoist_runtime::last_trap_backtrace();
            if pcs.is_empty() {
                pcs.push(pc);
            }
            anyhow::Error::new(Trap::new(code, pcs))
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
