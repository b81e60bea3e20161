//! What a module offers to be run by: its function exports and whether it
//! has a start function, read from the binary's sections alone, so a module
//! with nothing to run is refused before it is compiled.

use std::collections::BTreeSet;
use wasmparser::{ExternalKind, Parser, Payload};

/// The entry points of a module.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EntryPoints {
    /// The names of its exported functions.
    pub functions: BTreeSet<String>,
    /// It has a start section.
    pub start: bool,
}

impl EntryPoints {
    /// Reads the export and start sections of a module binary. `None` when
    /// the binary does not parse that far: compiling it then says why.
    pub fn scan(wasm: &[u8]) -> Option<EntryPoints> {
        let mut entry = EntryPoints::default();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.ok()? {
                Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                    return None;
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.ok()?;
                        if export.kind == ExternalKind::Func {
                            entry.functions.insert(export.name.to_string());
                        }
                    }
                }
                Payload::StartSection { .. } => entry.start = true,
                // Exports and the start section come before the code: the
                // rest of the module need not be read.
                Payload::CodeSectionStart { .. } | Payload::End(_) => return Some(entry),
                _ => {}
            }
        }
        Some(entry)
    }

    pub fn exports(&self, name: &str) -> bool {
        self.functions.contains(name)
    }

    /// Whether running the module without `--invoke` does anything: it has
    /// `_start` or a default export (`""`, which wasmtime runs too), or is a
    /// reactor (`_initialize`), or has a start function.
    pub fn runnable(&self) -> bool {
        self.start || self.exports("_start") || self.exports("") || self.exports("_initialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(wat: &str) -> EntryPoints {
        EntryPoints::scan(&wat::parse_str(wat).unwrap()).unwrap()
    }

    #[test]
    fn exports_and_start() {
        let e = scan(
            r#"(module (func $f) (global (export "g") i32 (i32.const 0))
                 (export "_start" (func $f)) (export "other" (func $f)) (start $f))"#,
        );
        assert!(e.start && e.exports("_start") && e.exports("other") && !e.exports("g"));
        assert!(e.runnable());

        let e = scan(r#"(module (func (export "_initialize")))"#);
        assert!(!e.start && e.runnable());

        // wasmtime's default export.
        let e = scan(r#"(module (func (export "")))"#);
        assert!(e.exports("") && e.runnable());

        // A `_start` that is no function does not count.
        let e = scan(r#"(module (global (export "_start") i32 (i32.const 0)))"#);
        assert!(!e.runnable());
        assert!(!scan("(module)").runnable());
    }

    #[test]
    fn garbage_is_left_to_the_compiler() {
        assert_eq!(EntryPoints::scan(b"\0asm\x01\0\0\0\x07\xff"), None);
        assert_eq!(EntryPoints::scan(b"not wasm"), None);
    }
}
