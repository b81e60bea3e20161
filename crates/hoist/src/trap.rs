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
        hoist_runtime::TrapReason::Host(error) => anyhow::Error::from_boxed(error),
    }
}
