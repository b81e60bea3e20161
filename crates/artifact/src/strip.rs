//! Storing a module without the data its memory images already hold.

use anyhow::{bail, Result};
use hoist_environ::MemoryIndex;
use wasm_encoder::{ConstExpr, DataSection, RawSection, Section};
use wasmparser::{DataKind, Parser, Payload};

/// `wasm` with the bytes of every active data segment of the `imaged`
/// memories removed (the segments stay, empty, so indices and offsets do
/// not change). Those segments are applied by the memory image at
/// instantiation and are dropped afterwards, so a `memory.init` from them
/// sees an empty segment either way: the module behaves the same, and the
/// artifact does not hold its data twice.
pub fn strip_imaged_data(wasm: &[u8], imaged: &[MemoryIndex]) -> Result<Vec<u8>> {
    if imaged.is_empty() {
        return Ok(wasm.to_vec());
    }
    let mut out = Vec::with_capacity(wasm.len());
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::Version {
                encoding, range, ..
            } => {
                if *encoding != wasmparser::Encoding::Module {
                    bail!("a component is not a core module");
                }
                out.extend_from_slice(&wasm[range.start as usize..range.end as usize]);
            }
            Payload::DataSection(reader) => {
                let mut section = DataSection::new();
                for data in reader.clone() {
                    let data = data?;
                    match data.kind {
                        DataKind::Passive => {
                            section.passive(data.data.iter().copied());
                        }
                        DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => {
                            let mut expr = offset_expr.get_binary_reader();
                            let bytes = expr.read_bytes(expr.bytes_remaining())?;
                            // The reader's bytes end with `end`, which the
                            // encoder adds again.
                            let offset = ConstExpr::raw(bytes[..bytes.len() - 1].iter().copied());
                            let keep = !imaged.contains(&MemoryIndex::from_u32(memory_index));
                            let bytes = if keep { data.data } else { &[] };
                            section.active(memory_index, &offset, bytes.iter().copied());
                        }
                    }
                }
                section.append_to(&mut out);
            }
            other => {
                if let Some((id, range)) = other.as_section() {
                    let range = range.start as usize..range.end as usize;
                    RawSection {
                        id,
                        data: &wasm[range],
                    }
                    .append_to(&mut out);
                }
            }
        }
    }
    Ok(out)
}
