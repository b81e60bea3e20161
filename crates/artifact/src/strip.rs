//! The module as an artifact stores it: without what the compiled code and
//! the memory images already hold.

use anyhow::{bail, Context, Result};
use hoist_environ::MemoryIndex;
use wasm_encoder::{ConstExpr, CustomSection, DataSection, Section};
use wasmparser::{BinaryReader, DataKind, Parser, Payload};

/// The custom section a [`skeleton`] ends with: the module offset of each
/// function body in the original module (`FunctionBody::range().start`),
/// as u32 little-endian, in function order. Core dumps count a frame's code
/// offset from it. Readers take the last section of this name, and only
/// from a module whose bodies are all skeleton-sized: a module may carry
/// one of its own.
pub const BODY_OFFSETS: &str = "hoist.body-offsets";

/// A skeleton body, size included: no locals, `unreachable`, `end` (valid
/// for any type). A body no longer than this stays as it was, so the code
/// section never grows and its size always fits the original's field.
pub const SKELETON_BODY: [u8; 4] = [3, 0x00, 0x00, 0x0b];

/// `wasm` as an artifact stores it: every function body replaced by
/// `unreachable` (the artifact's code is the function; loading rebuilds
/// only the module model, and the bodies were most of the bytes: 19 of
/// CPython's 26 MB), and the data of the `imaged` memories' active
/// segments removed. The code section starts at the same offset as before
/// (every section before it is copied as it was, and its size field keeps
/// its width), so DWARF, whose addresses count from there, still fits;
/// [`BODY_OFFSETS`], the last section, records where the original bodies
/// were. The result is a valid module.
/// Without `debug_sections`, the DWARF custom sections (`.debug_*`) after
/// the code section are left out too (in practice all of them: a toolchain
/// puts them at the end).
///
/// Imaged data: the segments stay, empty, so indices do not change. They
/// are applied by the memory image at instantiation and dropped afterwards,
/// so a `memory.init` from them sees an empty segment either way: the
/// module behaves the same, and the artifact does not hold its data twice.
/// (Unless instantiation may trap before the data segments: a failed
/// instance's functions may then `memory.init` from segments never
/// dropped, and the writer passes no memories here, keeping the bytes.)
pub fn skeleton(wasm: &[u8], imaged: &[MemoryIndex], debug_sections: bool) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(wasm.len() / 4);
    let mut offsets = Vec::new();
    let mut after_code = false;
    // Where the current section's id byte is: the end of the one before.
    let mut section_start = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::CodeSectionStart {
                unchecked_range, ..
            } => {
                let range = span(unchecked_range)?;
                let header = &wasm[section_start..range.start];
                let contents = wasm.get(range.clone()).context("truncated code section")?;
                let bodies = wasmparser::CodeSectionReader::new(BinaryReader::new(
                    contents,
                    range.start as u64,
                ))?;
                // The count, as it was written.
                let mut entry_start = {
                    let mut reader = BinaryReader::new(contents, 0);
                    reader.read_var_u32()?;
                    reader.current_position()
                };
                let mut section = contents[..entry_start].to_vec();
                for body in bodies {
                    let body = span(&body?.range())?;
                    offsets.push(u32::try_from(body.start).context("module too large")?);
                    // The entry: its size field, then the body.
                    let entry_end = body.end - range.start;
                    let entry = &contents[entry_start..entry_end];
                    if entry.len() <= SKELETON_BODY.len() {
                        section.extend_from_slice(entry);
                    } else {
                        section.extend_from_slice(&SKELETON_BODY);
                    }
                    entry_start = entry_end;
                }
                out.push(header[0]);
                out.extend_from_slice(&padded_leb(section.len(), header.len() - 1)?);
                out.extend_from_slice(&section);
                section_start = range.end;
                after_code = true;
            }
            // Read with the section start above.
            Payload::CodeSectionEntry(_) => {}
            Payload::DataSection(reader) if !imaged.is_empty() => {
                strip_data(reader.clone(), imaged)?.append_to(&mut out);
                section_start = span(&reader.range())?.end;
            }
            Payload::Version {
                encoding, range, ..
            } => {
                if *encoding != wasmparser::Encoding::Module {
                    bail!("a component is not a core module");
                }
                let range = span(range)?;
                out.extend_from_slice(&wasm[range.clone()]);
                section_start = range.end;
            }
            Payload::CustomSection(reader)
                if after_code && !debug_sections && reader.name().starts_with(".debug_") =>
            {
                section_start = span(&reader.range())?.end;
            }
            other => {
                if let Some((_, range)) = other.as_section() {
                    let end = span(&range)?.end;
                    out.extend_from_slice(
                        wasm.get(section_start..end).context("truncated section")?,
                    );
                    section_start = end;
                }
            }
        }
    }
    let table: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
    CustomSection {
        name: BODY_OFFSETS.into(),
        data: table.into(),
    }
    .append_to(&mut out);
    Ok(out)
}

/// The DWARF custom sections (`.debug_*`) after `wasm`'s code section, as
/// they were (each section whole: id, size, name and contents), in order:
/// what an artifact keeps in `.hoist.debug` when [`skeleton`] leaves them
/// out. Appended to the skeleton, they make a valid module again.
pub fn debug_sections(wasm: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut after_code = false;
    let mut section_start = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        if let Payload::CodeSectionStart { .. } = payload {
            after_code = true;
        }
        if let Payload::CustomSection(reader) = &payload {
            let end = span(&reader.range())?.end;
            if after_code && reader.name().starts_with(".debug_") {
                out.extend_from_slice(wasm.get(section_start..end).context("truncated section")?);
            }
            section_start = end;
        } else if let Some((_, range)) = payload.as_section() {
            section_start = span(&range)?.end;
        } else if let Payload::Version { range, .. } = &payload {
            section_start = span(range)?.end;
        }
    }
    Ok(out)
}

/// A parser's byte range as indices into the module.
fn span(range: &std::ops::Range<u64>) -> Result<std::ops::Range<usize>> {
    let index = |at: u64| usize::try_from(at).context("module too large");
    Ok(index(range.start)?..index(range.end)?)
}

/// `value` as an unsigned LEB128 of exactly `width` bytes (padded with
/// continuation bits, which decoders accept up to 5 bytes for a u32).
pub(crate) fn padded_leb(value: usize, width: usize) -> Result<Vec<u8>> {
    let mut value = u32::try_from(value).context("section too large")?;
    if width == 0 || width > 5 || (width < 5 && value >> (7 * width) != 0) {
        bail!("a section size does not fit its field");
    }
    let mut bytes = Vec::with_capacity(width);
    for i in 0..width {
        let more = if i + 1 < width { 0x80 } else { 0 };
        bytes.push((value & 0x7f) as u8 | more);
        value >>= 7;
    }
    Ok(bytes)
}

/// The data section without the bytes of the `imaged` memories' active
/// segments.
fn strip_data(
    reader: wasmparser::DataSectionReader<'_>,
    imaged: &[MemoryIndex],
) -> Result<DataSection> {
    let mut section = DataSection::new();
    for data in reader {
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
                // The reader's bytes end with `end`, which the encoder adds
                // again.
                let offset = ConstExpr::raw(bytes[..bytes.len() - 1].iter().copied());
                let keep = !imaged.contains(&MemoryIndex::from_u32(memory_index));
                let bytes = if keep { data.data } else { &[] };
                section.active(memory_index, &offset, bytes.iter().copied());
            }
        }
    }
    Ok(section)
}
