//! Traps: wasm execution stopped by the spec's rules.

use crate::values::Val;
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
    /// The instance the frame's function belongs to.
    pub instance: Option<crate::Instance>,
    /// The module's name from its name section.
    pub module_name: Option<String>,
    pub func_index: u32,
    /// The function's name from the name section.
    pub func_name: Option<String>,
    /// Byte offset of the instruction in the module binary.
    pub module_offset: Option<u32>,
}

/// Longest name a frame shows, in bytes; names come from the module and
/// may be huge.
const MAX_NAME_BYTES: usize = 256;

/// Writes a name from a module for a terminal: control characters escaped
/// (a module must not be able to send escape sequences), at most
/// [`MAX_NAME_BYTES`] bytes, then `…` when cut.
fn write_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let mut written = 0;
    for c in name.chars() {
        let mut buf = [0u8; 4];
        let piece: &str = if c.is_control() {
            &format!("\\u{{{:x}}}", c as u32)
        } else {
            c.encode_utf8(&mut buf)
        };
        if written + piece.len() > MAX_NAME_BYTES {
            return f.write_str("…");
        }
        written += piece.len();
        f.write_str(piece)?;
    }
    Ok(())
}

/// Longest name that is demangled, in bytes: demangling is linear, but a
/// module's names may be megabytes (longer ones are shown as they are, cut).
const MAX_DEMANGLE_BYTES: usize = 4096;

/// Longest demangled name, in bytes: back-references let a short mangled
/// name expand exponentially. Past it the name is shown mangled.
const MAX_DEMANGLED_BYTES: usize = 64 << 10;

/// A `fmt::Write` that fails past [`MAX_DEMANGLED_BYTES`].
struct Bounded(String);

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.0.len() + s.len() > MAX_DEMANGLED_BYTES {
            return Err(fmt::Error);
        }
        self.0.push_str(s);
        Ok(())
    }
}

/// `name` demangled if it is a Rust (legacy `_ZN` or v0 `_R`) or C++
/// (Itanium `_Z`) symbol, as wasmtime shows them; otherwise as it is.
fn demangle(name: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    use std::fmt::Write;
    if name.len() > MAX_DEMANGLE_BYTES {
        return Cow::Borrowed(name);
    }
    let mut out = Bounded(String::new());
    if let Ok(rust) = rustc_demangle::try_demangle(name) {
        // `{:#}`: without the legacy scheme's hash suffix.
        if write!(out, "{rust:#}").is_ok() {
            return Cow::Owned(out.0);
        }
        return Cow::Borrowed(name);
    }
    if name.starts_with("_Z") {
        if let Ok(symbol) = cpp_demangle::Symbol::new(name.as_bytes()) {
            let options = cpp_demangle::DemangleOptions::default();
            if symbol.structured_demangle(&mut out, &options).is_ok() {
                return Cow::Owned(out.0);
            }
        }
    }
    Cow::Borrowed(name)
}

impl FrameInfo {
    /// The function as shown: `module!name`, names demangled (Rust, C++)
    /// and made safe to print.
    pub fn function(&self) -> String {
        struct Function<'a>(&'a FrameInfo);
        impl fmt::Display for Function<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_name(f, self.0.module_name.as_deref().unwrap_or("<module>"))?;
                f.write_str("!")?;
                match &self.0.func_name {
                    Some(name) => write_name(f, &demangle(name)),
                    None => write!(f, "<wasm function {}>", self.0.func_index),
                }
            }
        }
        Function(self).to_string()
    }
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.module_offset {
            Some(offset) => write!(f, "{offset:#x} - ")?,
            None => write!(f, "<unknown> - ")?,
        }
        f.write_str(&self.function())
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

/// A wasm exception that no handler caught: the error of the call that
/// ran the code that threw it. Returned from a host function (as its
/// error), it is rethrown into the wasm code that called the host function.
#[derive(Debug, Clone)]
pub struct WasmException {
    pub(crate) exn: u64,
    pub(crate) store: *const hoist_runtime::VMStoreContext,
    /// The tag, as `module!name` where the module says.
    tag: String,
    payload: Vec<Val>,
    frames: Vec<FrameInfo>,
}

// SAFETY: the store pointer only identifies the store (compared, never
// dereferenced through this error).
unsafe impl Send for WasmException {}
// SAFETY: as for `Send`, with every use behind the same exclusive access.
unsafe impl Sync for WasmException {}

impl WasmException {
    /// The exception's tag, named as its module names it.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The values the exception carries.
    pub fn payload(&self) -> &[Val] {
        &self.payload
    }

    /// The wasm frames from the throw, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }
}

impl fmt::Display for WasmException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uncaught wasm exception with tag {}", self.tag)?;
        if !self.payload.is_empty() {
            let values: Vec<String> = self.payload.iter().map(describe_val).collect();
            write!(f, " ({})", values.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for WasmException {}

fn describe_val(val: &Val) -> String {
    match val {
        Val::I32(v) => format!("i32 {v}"),
        Val::I64(v) => format!("i64 {v}"),
        Val::F32(b) => format!("f32 {}", f32::from_bits(*b)),
        Val::F64(b) => format!("f64 {}", f64::from_bits(*b)),
        Val::V128(b) => format!("v128 {b:#034x}"),
        Val::FuncRef(r) => if r.is_some() {
            "funcref"
        } else {
            "null funcref"
        }
        .into(),
        Val::ExternRef(r) => if r.is_some() {
            "externref"
        } else {
            "null externref"
        }
        .into(),
        Val::ExnRef(r) => if r.is_some() { "exnref" } else { "null exnref" }.into(),
        Val::AnyRef(r) => if r.is_some() { "anyref" } else { "null anyref" }.into(),
    }
}

/// What the store knows about an exception, for [`from_reason`].
pub(crate) struct ExceptionInfo {
    pub(crate) store: *const hoist_runtime::VMStoreContext,
    pub(crate) tag: String,
    pub(crate) payload: Vec<Val>,
}

/// Converts a runtime trap into the error the API returns; `symbolize`
/// finds the frame for a code address, `describe` an exception's tag and
/// values.
pub(crate) fn from_reason(
    reason: hoist_runtime::TrapReason,
    symbolize: impl Fn(usize) -> Option<FrameInfo>,
    describe: impl FnOnce(u64) -> ExceptionInfo,
) -> anyhow::Error {
    let backtrace = |first: usize| {
        let mut pcs = hoist_runtime::last_trap_backtrace();
        if pcs.is_empty() {
            pcs.push(first);
        }
        // Callers' addresses are return addresses: look up the call
        // instruction just before them.
        let frames = pcs
            .iter()
            .enumerate()
            .filter_map(|(i, pc)| symbolize(if i == 0 { *pc } else { pc - 1 }))
            .collect();
        (pcs, frames)
    };
    match reason {
        hoist_runtime::TrapReason::Wasm { code, pc } => {
            let (pcs, frames) = backtrace(pc);
            anyhow::Error::new(Trap { code, pcs, frames })
        }
        hoist_runtime::TrapReason::Host(error) => from_host_error(error),
        hoist_runtime::TrapReason::Exception { exn } => {
            // The first entry is a return address too (into the thrower).
            let pcs = hoist_runtime::last_trap_backtrace();
            let frames = pcs.iter().filter_map(|pc| symbolize(pc - 1)).collect();
            let info = describe(exn);
            anyhow::Error::new(WasmException {
                exn,
                store: info.store,
                tag: info.tag,
                payload: info.payload,
                frames,
            })
        }
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
    // An exception from a nested call goes on being thrown (see
    // `hoist_runtime::ThrownException`).
    if let Some(exception) = error.downcast_ref::<WasmException>() {
        return Box::new(hoist_runtime::ThrownException {
            exn: exception.exn,
            store: exception.store,
        });
    }
    Box::new(HostError(error))
}

pub(crate) fn from_host_error(error: Box<dyn std::error::Error + Send + Sync>) -> anyhow::Error {
    match error.downcast::<HostError>() {
        Ok(host) => host.0,
        Err(other) => anyhow::Error::from_boxed(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str) -> FrameInfo {
        FrameInfo {
            instance: None,
            module_name: Some("m\x1b[2J".into()),
            func_index: 3,
            func_name: Some(name.into()),
            module_offset: Some(0x10),
        }
    }

    #[test]
    fn names_are_escaped_and_cut() {
        assert_eq!(frame("f").to_string(), "0x10 - m\\u{1b}[2J!f");
        let long = frame(&"é".repeat(10_000)).to_string();
        assert!(long.len() < 2 * MAX_NAME_BYTES + 32, "{}", long.len());
        assert!(long.ends_with('…'));
        assert!(!frame("a\nb\u{7}").to_string().contains(['\n', '\u{7}']));
    }
}
