//! Source locations for trap backtraces (`-D debug-info`, or
//! `WASMTIME_BACKTRACE_DETAILS=1`) from the DWARF a module carries in its
//! `.debug_*` custom sections, read with `gimli` and `addr2line`.
//!
//! DWARF for WebAssembly addresses code by its offset from the start of
//! the code section's contents (just past the section's id and size), while
//! hoist's frames carry offsets in the whole module binary: the difference
//! is that start.

use crate::commands::run::Loaded;
use addr2line::gimli::{self, EndianSlice, LittleEndian};
use hoist::{FrameInfo, Instance, Store};
use std::collections::HashMap;

/// Sections are leaked to be `'static`: this runs once, as hoist reports a
/// trap and exits.
type Reader = EndianSlice<'static, LittleEndian>;

/// One module's DWARF, ready for lookups.
struct ModuleDebug {
    /// Module offset of the code section's contents.
    code_start: u32,
    context: addr2line::Context<Reader>,
}

/// Finds source lines for the frames of a store's instances.
pub struct Symbolizer {
    /// Which loaded module each instance was made from.
    instances: HashMap<Instance, usize>,
    modules: Vec<Option<ModuleDebug>>,
}

impl Symbolizer {
    pub fn new<T>(store: &Store<T>, loaded: &[Loaded]) -> Symbolizer {
        let instances = store
            .instances()
            .into_iter()
            .filter_map(|instance| {
                let index = loaded
                    .iter()
                    .position(|l| instance.is_instance_of(store, &l.module))?;
                Some((instance, index))
            })
            .collect();
        let modules = loaded
            .iter()
            .map(|l| l.wasm.as_deref().and_then(ModuleDebug::new))
            .collect();
        Symbolizer { instances, modules }
    }

    /// `at file:line:column` lines for `frame`, innermost (inlined) first;
    /// none when the module has no DWARF for it.
    pub fn lines(&self, frame: &FrameInfo) -> Vec<String> {
        let debug = frame
            .instance
            .and_then(|i| self.instances.get(&i))
            .and_then(|index| self.modules[*index].as_ref());
        let (Some(debug), Some(offset)) = (debug, frame.module_offset) else {
            return Vec::new();
        };
        let Some(address) = offset.checked_sub(debug.code_start) else {
            return Vec::new();
        };
        debug.locations(u64::from(address))
    }
}

impl ModuleDebug {
    fn new(wasm: &[u8]) -> Option<ModuleDebug> {
        let mut code_start = None;
        let mut sections: HashMap<String, &'static [u8]> = HashMap::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            match payload.ok()? {
                wasmparser::Payload::CodeSectionStart {
                    unchecked_range, ..
                } => {
                    code_start = Some(u32::try_from(unchecked_range.start).ok()?);
                }
                wasmparser::Payload::CustomSection(reader)
                    if reader.name().starts_with(".debug_") =>
                {
                    let data: &'static [u8] = Box::leak(reader.data().to_vec().into_boxed_slice());
                    sections.insert(reader.name().to_string(), data);
                }
                _ => {}
            }
        }
        if !sections.contains_key(".debug_info") && !sections.contains_key(".debug_line") {
            return None;
        }
        let dwarf = gimli::Dwarf::load(|id| {
            let data = sections.get(id.name()).copied().unwrap_or(&[]);
            Ok::<_, gimli::Error>(Reader::new(data, LittleEndian))
        })
        .ok()?;
        let context = addr2line::Context::from_dwarf(dwarf).ok()?;
        Some(ModuleDebug {
            code_start: code_start?,
            context,
        })
    }

    fn locations(&self, address: u64) -> Vec<String> {
        let mut lines = Vec::new();
        let Ok(mut frames) = self.context.find_frames(address).skip_all_loads() else {
            return lines;
        };
        let mut found = Vec::new();
        while let Ok(Some(frame)) = frames.next() {
            let name = frame
                .function
                .as_ref()
                .and_then(|f| f.raw_name().ok().map(|n| n.into_owned()));
            if let Some(location) = frame.location {
                found.push((name, location_text(&location)));
            }
        }
        if found.is_empty() {
            // No function covers it: the line table alone may.
            if let Ok(Some(location)) = self.context.find_location(address) {
                found.push((None, location_text(&location)));
            }
        }
        let inlined = found.len() > 1;
        for (name, location) in found {
            match name {
                Some(name) if inlined => lines.push(format!("           at {location} ({name})")),
                _ => lines.push(format!("           at {location}")),
            }
        }
        lines
    }
}

fn location_text(location: &addr2line::Location<'_>) -> String {
    let mut text = location.file.unwrap_or("<unknown file>").to_string();
    if let Some(line) = location.line {
        text.push_str(&format!(":{line}"));
        if let Some(column) = location.column.filter(|c| *c > 0) {
            text.push_str(&format!(":{column}"));
        }
    }
    // The path comes from the module: keep control characters off the terminal.
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
