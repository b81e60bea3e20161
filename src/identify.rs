//! What a file given as a module is, when it is not WebAssembly: hoist
//! names it (an archive, a web page, another runtime's compiled code, a
//! native program) instead of reporting a text-format parse error at
//! line 1, column 1. And the text format, parsed with the file's name in
//! its errors.

use anyhow::{anyhow, bail, Result};
use std::path::Path;

/// Refuses a `\0asm` binary that is not a core module of version 1: a
/// component, or a version hoist does not know.
pub fn check_wasm_header(bytes: &[u8]) -> Result<()> {
    match bytes.get(4..8) {
        Some([1, 0, 0, 0]) => Ok(()),
        // Components are layer 1: version 0x0d (and older drafts) then 1 0.
        Some([_, _, 1, 0]) => bail!(
            "this is a WebAssembly component; hoist runs core WebAssembly modules only (a WASI \
             preview1 build, e.g. Rust's wasm32-wasip1 target, is one)"
        ),
        Some(version) => bail!(
            "unsupported WebAssembly binary version {} (hoist reads version 1)",
            u32::from_le_bytes(version.try_into().unwrap_or([0; 4]))
        ),
        None => bail!("the file ends inside the WebAssembly header"),
    }
}

/// The module binary of WebAssembly text at `path` (`name` in messages),
/// or an error that says what the file is when it is not the text format.
pub fn wat_to_wasm(path: &Path, name: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    if let Some(what) = describe(bytes) {
        bail!(
            "{}",
            is_not(name, &what, "not a WebAssembly module (.wasm or .wat)")
        );
    }
    let text_path = (path.as_os_str() != "-").then_some(path);
    wat::Parser::new()
        .parse_bytes(text_path, bytes)
        .map(|wasm| wasm.into_owned())
        .map_err(|e| anyhow!("failed to parse `{name}` as WebAssembly text:\n{e}"))
}

/// What an ELF file that is no hoist artifact is (`None` for anything
/// else). hoist artifacts are relocatable ELF files with `.hoist.*`
/// sections; a damaged one (cut short, say) may have lost its section
/// names, so only what is plainly something else counts: another
/// runtime's code, or an ELF file that is not relocatable.
pub fn foreign_elf(bytes: &[u8]) -> Option<String> {
    if !bytes.starts_with(b"\x7fELF") || bytes.windows(13).any(|w| w == b".hoist.engine") {
        return None;
    }
    let what = describe(bytes)?;
    let relocatable = bytes.get(16..18) == Some(&[1, 0]);
    (!relocatable || !what.contains("(ELF)")).then_some(what)
}

/// Refuses an ELF file that is not a hoist artifact, naming it.
pub fn check_not_foreign_elf(name: &str, bytes: &[u8]) -> Result<()> {
    match foreign_elf(bytes) {
        Some(what) => bail!(
            "{}",
            is_not(name, &what, "not a WebAssembly module or a hoist artifact")
        ),
        None => Ok(()),
    }
}

/// "`name` is WHAT, NOT", with advice that [`describe`] puts after a `; `
/// in `what` going last: "`x.gz` is gzip-compressed, not a WebAssembly
/// module; decompress it first".
fn is_not(name: &str, what: &str, not: &str) -> String {
    match what.split_once("; ") {
        Some((kind, advice)) => format!("`{name}` is {kind}, {not}; {advice}"),
        None => format!("`{name}` is {what}, {not}"),
    }
}

/// What `bytes` are, if they are plainly not WebAssembly text; `None` for
/// text that may be (the parser then says what is wrong with it).
pub fn describe(bytes: &[u8]) -> Option<String> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    if bytes.is_empty() {
        return Some("empty".into());
    }
    if starts(b"\x7fELF") {
        // wasmtime's .cwasm and WasmEdge's AOT .so are ELF files too.
        if contains(b".wasmtime.engine") || contains(b".wasmtime.info") {
            return Some(
                "a wasmtime precompiled module (.cwasm); hoist compiles the .wasm itself (`hoist \
                 compile`, or just run the .wasm)"
                    .into(),
            );
        }
        if contains(b"wasmedge") || contains(b"WasmEdge") {
            return Some(
                "WasmEdge's AOT-compiled code (a shared library); run the .wasm it was compiled \
                 from"
                    .into(),
            );
        }
        let kind = match bytes.get(16..18) {
            Some([1, 0]) => "a relocatable object file",
            Some([2, 0]) => "a native executable",
            Some([3, 0]) => "a native shared library or executable",
            Some([4, 0]) => "a native core dump",
            _ => "a native file",
        };
        return Some(format!("{kind} (ELF)"));
    }
    let table: &[(&[u8], &str)] = &[
        (b"\x1f\x8b", "gzip-compressed; decompress it first (gunzip)"),
        (
            b"\x28\xb5\x2f\xfd",
            "zstd-compressed; decompress it first (unzstd)",
        ),
        (b"BZh", "bzip2-compressed; decompress it first (bunzip2)"),
        (b"\xfd7zXZ\0", "xz-compressed; decompress it first (unxz)"),
        (b"PK\x03\x04", "a zip archive"),
        (
            b"\0webc",
            "a Wasmer package (.webc); hoist runs .wasm modules",
        ),
        (
            b"\0wasmer-universal",
            "Wasmer's compiled code (.wasmu); run the .wasm it came from",
        ),
        (b"MZ", "a Windows program (PE)"),
        (b"\xcf\xfa\xed\xfe", "a macOS program (Mach-O)"),
        (
            b"\xca\xfe\xba\xbe",
            "a macOS universal binary or Java class file",
        ),
        (b"%PDF", "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"#!", "a script"),
    ];
    if let Some((_, what)) = table.iter().find(|(magic, _)| starts(magic)) {
        return Some(what.to_string());
    }
    if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
        return Some("a tar archive".into());
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some("a binary file of unknown kind".into());
    };
    let head = text.trim_start_matches('\u{feff}').trim_start();
    let lower: String = head
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return Some("a web page (HTML), perhaps a download link's error page".into());
    }
    if lower.starts_with("<?xml") || lower.starts_with('<') {
        return Some("XML or HTML".into());
    }
    if head.starts_with('{') || head.starts_with('[') {
        return Some("JSON or other text".into());
    }
    if head.contains('\0') {
        return Some("a binary file of unknown kind".into());
    }
    // WebAssembly text starts with `(`, after comments.
    let mut rest = head;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(";;") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
        } else if rest.starts_with("(;") {
            rest = rest.split_once(";)").map_or("", |(_, r)| r);
        } else {
            break;
        }
    }
    if rest.is_empty() || rest.starts_with('(') {
        None
    } else {
        Some("a text file but not WebAssembly text, which starts with `(module`".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Advice comes after what the file is not (it read "... (`hoist
    /// compile`, or just run the .wasm), not a WebAssembly module").
    #[test]
    fn advice_comes_last() {
        let mut cwasm = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0\x3e\0".to_vec();
        cwasm.extend_from_slice(b"....wasmtime.engine..");
        let message = format!(
            "{}",
            check_not_foreign_elf("app.cwasm", &cwasm).unwrap_err()
        );
        assert!(
            message.starts_with(
                "`app.cwasm` is a wasmtime precompiled module (.cwasm), not a WebAssembly module \
                 or a hoist artifact; hoist compiles"
            ),
            "{message}"
        );
        let gz = format!(
            "{}",
            wat_to_wasm(Path::new("x.gz"), "x.gz", b"\x1f\x8b\x08\0").unwrap_err()
        );
        assert!(
            gz.ends_with("not a WebAssembly module (.wasm or .wat); decompress it first (gunzip)"),
            "{gz}"
        );
    }

    #[test]
    fn names_what_it_sees() {
        let what = |bytes: &[u8]| describe(bytes).unwrap_or_default();
        assert!(what(b"\x1f\x8b\x08\0").starts_with("gzip"));
        assert!(what(b"<!DOCTYPE html><html>").contains("web page"));
        assert!(what(b"\n  <html lang=en>").contains("web page"));
        let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
        assert!(what(&elf).contains("native executable"));
        elf.extend_from_slice(b"....wasmtime.engine..");
        assert!(what(&elf).contains("wasmtime precompiled"));
        assert!(what(b"#!/bin/sh\necho hi\n").contains("script"));
        assert!(what(b"hello world").contains("not WebAssembly text"));
        assert!(what(b"").contains("empty"));
        assert_eq!(describe(b";; comment\n(module)"), None);
        assert_eq!(describe(b"(; block ;) (module)"), None);
        assert_eq!(describe(b"  (module (func))"), None);
    }

    #[test]
    fn components_and_versions() {
        assert!(check_wasm_header(b"\0asm\x01\0\0\0").is_ok());
        let err = check_wasm_header(b"\0asm\x0d\0\x01\0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("component"), "{err}");
        assert!(check_wasm_header(b"\0asm\x02\0\0\0").is_err());
    }

    #[test]
    fn text_errors_name_the_file() {
        let err = wat_to_wasm(
            Path::new("dir/app.wat"),
            "dir/app.wat",
            b"(module (func (bad)))",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("dir/app.wat:1:"), "{err}");
        assert!(!err.contains("<anon>"), "{err}");
    }
}
