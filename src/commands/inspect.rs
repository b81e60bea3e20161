//! `hoist inspect`: what an artifact holds, or what a module imports,
//! exports and needs.

use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use wasmparser::{Parser, Payload, TypeRef, Validator, WasmFeatures};

#[derive(clap::Args)]
pub struct InspectArgs {
    /// The artifact (.hwasm) or module (.wasm, .wat) to describe.
    artifact: PathBuf,
}

pub fn execute(args: InspectArgs) -> Result<ExitCode> {
    let name = args.artifact.display().to_string();
    let bytes = crate::input::read_module(&args.artifact, &name)?;
    crate::identify::check_not_foreign_elf(&name, &bytes)?;
    let summary = if hoist::is_artifact(&bytes) {
        hoist::inspect_artifact(&bytes).with_context(|| format!("cannot inspect `{name}`"))?
    } else {
        let wasm = if bytes.starts_with(b"\0asm") {
            crate::identify::check_wasm_header(&bytes)
                .with_context(|| format!("cannot inspect `{name}`"))?;
            bytes
        } else {
            crate::identify::wat_to_wasm(&args.artifact, &name, &bytes)?
        };
        describe_module(&wasm).with_context(|| format!("cannot inspect `{name}`"))?
    };
    crate::output::print(&summary)?;
    Ok(ExitCode::SUCCESS)
}

/// Imports, exports, memories and the proposals a module binary uses.
fn describe_module(wasm: &[u8]) -> Result<String> {
    let mut out = String::from("WebAssembly module\n");
    let mut types: Vec<String> = Vec::new();
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    let mut memories = Vec::new();
    let mut functions = 0usize;
    let mut imported_functions = 0usize;
    let mut custom = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group?.into_types() {
                        types.push(match sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => func_text(&f),
                            other => format!("{other:?}"),
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let what = match import.ty {
                        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                            imported_functions += 1;
                            format!("func {}", types.get(t as usize).map_or("?", |s| s.as_str()))
                        }
                        TypeRef::Memory(m) => {
                            memories.push(memory_text(&m, true));
                            format!("memory {}", limits(&m))
                        }
                        TypeRef::Table(t) => format!("table {}", t.element_type),
                        TypeRef::Global(g) => format!("global {}", g.content_type),
                        TypeRef::Tag(_) => "tag".to_string(),
                    };
                    imports.push(format!("  {}::{}: {what}", import.module, import.name));
                }
            }
            Payload::FunctionSection(reader) => functions += reader.count() as usize,
            Payload::MemorySection(reader) => {
                for memory in reader {
                    memories.push(memory_text(&memory?, false));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let kind = format!("{:?}", export.kind).to_lowercase();
                    exports.push(format!("  {}: {kind}", export.name));
                }
            }
            Payload::CustomSection(reader) => custom.push(reader.name().to_string()),
            _ => {}
        }
    }
    let list = |title: &str, items: &[String], out: &mut String| {
        let _ = writeln!(out, "{title} ({}):", items.len());
        for item in items {
            let _ = writeln!(out, "{item}");
        }
    };
    let _ = writeln!(
        out,
        "functions: {} defined, {imported_functions} imported",
        functions
    );
    list("imports", &imports, &mut out);
    list("exports", &exports, &mut out);
    list("memories", &memories, &mut out);
    let features = used_features(wasm);
    let _ = writeln!(
        out,
        "features beyond WebAssembly 1.0: {}",
        if features.is_empty() {
            "none".to_string()
        } else {
            features.join(", ")
        }
    );
    if !custom.is_empty() {
        let _ = writeln!(out, "custom sections: {}", custom.join(", "));
    }
    Ok(out)
}

fn func_text(f: &wasmparser::FuncType) -> String {
    let list = |types: &[wasmparser::ValType]| {
        types
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut text = String::from("(");
    if !f.params().is_empty() {
        text.push_str(&format!("param {}", list(f.params())));
    }
    if !f.results().is_empty() {
        if text.len() > 1 {
            text.push(' ');
        }
        text.push_str(&format!("result {}", list(f.results())));
    }
    text.push(')');
    text
}

fn limits(m: &wasmparser::MemoryType) -> String {
    match m.maximum {
        Some(max) => format!("{}..{max} pages", m.initial),
        None => format!("{} pages", m.initial),
    }
}

fn memory_text(m: &wasmparser::MemoryType, imported: bool) -> String {
    let mut text = format!("  {}", limits(m));
    if m.memory64 {
        text.push_str(", 64-bit");
    }
    if m.shared {
        text.push_str(", shared");
    }
    if let Some(log2) = m.page_size_log2 {
        text.push_str(&format!(", {}-byte pages", 1u64 << log2));
    }
    if imported {
        text.push_str(" (imported)");
    }
    text
}

/// The proposals (by the `-W` key that turns them off) the module needs:
/// those without which it no longer validates.
fn used_features(wasm: &[u8]) -> Vec<&'static str> {
    let all = hoist_environ::wasm_features() | WasmFeatures::THREADS;
    if Validator::new_with_features(all)
        .validate_all(wasm)
        .is_err()
    {
        return vec!["(the module does not validate with hoist's features)"];
    }
    crate::options::feature_keys()
        .filter(|(_, flag)| {
            let mut without = all;
            without.remove(*flag);
            Validator::new_with_features(without)
                .validate_all(wasm)
                .is_err()
        })
        .map(|(name, _)| name)
        .collect()
}
