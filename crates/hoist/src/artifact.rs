//! The hoist artifact: one ELF image per compiled module. JIT and AOT
//! share it — a module compiled in memory is written to an image and
//! loaded back exactly as a `.hwasm` file is — so every test exercises the
//! loader.
//!
//! Sections:
//! - `.text`: the linked code, with no relocations left.
//! - `.hoist.engine`: what the code needs to run (format and hoist
//!   version, target, code-affecting flags, CPU features), and a CRC-32 of
//!   everything else, so a damaged or truncated file is refused.
//! - `.hoist.info`: function and trampoline offsets, the trap table and
//!   the wasm address map.
//! - `.hoist.wasm`: the module binary, from which loading rebuilds the
//!   module model (parsing only; nothing is compiled again).
//! - `.hoist.data`: memory images (data segments merged per memory), each
//!   page-aligned in the file so instantiation can map it copy-on-write.
//!
//! `.hoist.engine` layout: the 8-byte [`MAGIC`], a little-endian `u32`
//! CRC-32 over the rest of the section and then `.text`, `.hoist.info`,
//! `.hoist.wasm` and `.hoist.data` in that order (each preceded by its
//! length as a `u64`), a `u32` [`FORMAT_VERSION`], then five
//! strings (each a `u32` length and UTF-8 bytes): hoist version, target
//! triple, shared flags, ISA flags (comma-separated), tunables.

use anyhow::{bail, Context, Result};
use hoist_cranelift::{CompiledText, FunctionLoc};
use hoist_environ::{MemoryImage, MemoryIndex, TrapCode, TypeIndex, IMAGE_PAGE_SIZE};
use object::{Object, ObjectSection};

pub const MAGIC: &[u8; 8] = b"\x7fHOIST\x01\x00";
pub const FORMAT_VERSION: u32 = 1;
pub const TEXT: &str = ".text";
pub const ENGINE: &str = ".hoist.engine";
pub const INFO: &str = ".hoist.info";
pub const WASM: &str = ".hoist.wasm";
pub const DATA: &str = ".hoist.data";

/// A memory image inside `.hoist.data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageEntry {
    pub memory: MemoryIndex,
    /// Byte offset in the linear memory.
    pub offset: u64,
    /// Byte offset in `.hoist.data` (a page multiple).
    pub section_offset: u64,
    pub len: u64,
}

/// What compiled code was compiled for; it must match where it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineInfo {
    pub hoist_version: String,
    pub triple: String,
    /// Cranelift's shared flags that change generated code.
    pub shared_flags: String,
    /// Enabled CPU features and other ISA settings, sorted.
    pub isa_flags: Vec<String>,
    pub tunables: String,
}

/// A parsed artifact, borrowing from the image.
pub struct Artifact<'a> {
    pub engine: EngineInfo,
    pub text: &'a [u8],
    /// Where `.text` starts in the file (page-aligned).
    pub text_file_offset: u64,
    pub compiled: CompiledText,
    pub wasm: &'a [u8],
    pub images: Vec<ImageEntry>,
    pub data: &'a [u8],
    /// Where `.hoist.data` starts in the file (page-aligned).
    pub data_file_offset: u64,
}

/// Whether `bytes` look like a hoist artifact (an ELF file; the loader
/// then says precisely what is wrong with it if it is not ours).
pub fn is_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

pub fn write(
    architecture: object::Architecture,
    engine: &EngineInfo,
    compiled: &CompiledText,
    wasm: &[u8],
    images: &[MemoryImage],
) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    let mut entries = Vec::new();
    for image in images {
        entries.push(ImageEntry {
            memory: image.memory,
            offset: image.offset,
            section_offset: data.len() as u64,
            len: image.bytes.len() as u64,
        });
        data.extend_from_slice(&image.bytes);
        data.resize(data.len().next_multiple_of(IMAGE_PAGE_SIZE as usize), 0);
    }
    let info = encode_info(compiled, &entries);
    let mut tail = Vec::new();
    tail.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    for string in [
        engine.hoist_version.as_str(),
        &engine.triple,
        &engine.shared_flags,
        &engine.isa_flags.join(","),
        &engine.tunables,
    ] {
        put_bytes(&mut tail, string.as_bytes());
    }
    let crc = checksum(&tail, &compiled.text, &info, wasm, &data);
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&crc.to_le_bytes());
    header.extend_from_slice(&tail);

    let mut obj = object::write::Object::new(
        object::BinaryFormat::Elf,
        architecture,
        object::Endianness::Little,
    );
    obj.flags = object::FileFlags::Elf {
        os_abi: object::elf::ELFOSABI_STANDALONE,
        abi_version: 0,
        e_flags: 0,
    };
    let text = obj.add_section(
        Vec::new(),
        TEXT.as_bytes().to_vec(),
        object::SectionKind::Text,
    );
    obj.set_section_data(text, compiled.text.as_slice(), 0x1000);
    // `.hoist.data` is page-aligned so its images can be mapped.
    let sections = [
        (ENGINE, header.as_slice(), 16),
        (INFO, &info, 16),
        (WASM, wasm, 16),
        (DATA, &data, IMAGE_PAGE_SIZE),
    ];
    for (name, bytes, align) in sections {
        let id = obj.add_section(
            Vec::new(),
            name.as_bytes().to_vec(),
            object::SectionKind::ReadOnlyData,
        );
        obj.set_section_data(id, bytes, align);
    }
    Ok(obj.write()?)
}

/// Parses and checks an artifact image. Checks the format and checksum
/// only; the caller compares the engine info with where it will run.
pub fn read(image: &[u8]) -> Result<Artifact<'_>> {
    let file = object::File::parse(image)
        .context("damaged or not a hoist artifact: the ELF image does not parse (truncated?)")?;
    let section_at = |name: &str| -> Result<(&[u8], u64)> {
        let section = file
            .section_by_name(name)
            .with_context(|| format!("not a hoist artifact: no `{name}` section"))?;
        let bytes = section
            .data()
            .with_context(|| format!("damaged artifact: section `{name}` is truncated"))?;
        Ok((bytes, section.file_range().map_or(0, |(offset, _)| offset)))
    };
    let section = |name: &str| section_at(name).map(|(bytes, _)| bytes);
    let header = section(ENGINE)?;
    if header.len() < 12 || &header[..8] != MAGIC {
        bail!("not a hoist artifact: `{ENGINE}` has the wrong magic");
    }
    let (text, text_file_offset) = section_at(TEXT)?;
    let info = section(INFO)?;
    let wasm = section(WASM)?;
    // An artifact without memory images may have no data section at all.
    let (data, data_file_offset) = if file.section_by_name(DATA).is_some() {
        section_at(DATA)?
    } else {
        (&[][..], 0)
    };
    let stored = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
    let tail = &header[12..];
    if checksum(tail, text, info, wasm, data) != stored {
        bail!("damaged artifact: checksum mismatch (the file was truncated or modified)");
    }
    let mut reader = Reader(tail);
    let format = reader.u32()?;
    if format != FORMAT_VERSION {
        bail!(
            "artifact format {format} is not supported (this hoist reads format {FORMAT_VERSION})"
        );
    }
    let mut string = || -> Result<String> { Ok(String::from_utf8(reader.bytes()?.to_vec())?) };
    let engine = EngineInfo {
        hoist_version: string()?,
        triple: string()?,
        shared_flags: string()?,
        isa_flags: string()?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        tunables: string()?,
    };
    let (mut compiled, images) = decode_info(info)?;
    // Every offset must point into the sections it names: a crafted file
    // must be refused, not crash the loader.
    let in_text = |offset: u32| (offset as usize) < text.len();
    let functions_ok = compiled
        .functions
        .iter()
        .all(|f| f.start as usize + f.length as usize <= text.len());
    let offsets_ok = compiled.array_to_wasm.values().all(|o| in_text(*o))
        && compiled.import_trampolines.values().all(|o| in_text(*o))
        && compiled.traps.iter().all(|(o, _)| in_text(*o));
    if !functions_ok || !offsets_ok {
        bail!("damaged artifact: an offset lies outside `.text`");
    }
    if images.iter().any(|i| {
        i.section_offset.saturating_add(i.len) > data.len() as u64
            || !i.section_offset.is_multiple_of(IMAGE_PAGE_SIZE)
            || !i.offset.is_multiple_of(IMAGE_PAGE_SIZE)
    }) {
        bail!("damaged artifact: a memory image lies outside `{DATA}`");
    }
    compiled.text = Vec::new();
    Ok(Artifact {
        engine,
        text,
        text_file_offset,
        compiled,
        wasm,
        images,
        data,
        data_file_offset,
    })
}

fn checksum(header_tail: &[u8], text: &[u8], info: &[u8], wasm: &[u8], data: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    for part in [header_tail, text, info, wasm, data] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize()
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len() as u32);
    out.extend_from_slice(bytes);
}

fn encode_info(compiled: &CompiledText, images: &[ImageEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, compiled.functions.len() as u32);
    for f in &compiled.functions {
        put_u32(&mut out, f.start);
        put_u32(&mut out, f.length);
    }
    let mut trampolines: Vec<_> = compiled.array_to_wasm.iter().collect();
    trampolines.sort();
    put_u32(&mut out, trampolines.len() as u32);
    for (ty, offset) in trampolines {
        put_u32(&mut out, ty.as_u32());
        put_u32(&mut out, *offset);
    }
    let mut imports: Vec<_> = compiled.import_trampolines.iter().collect();
    imports.sort();
    put_u32(&mut out, imports.len() as u32);
    for (ty, offset) in imports {
        put_u32(&mut out, ty.as_u32());
        put_u32(&mut out, *offset);
    }
    put_u32(&mut out, compiled.traps.len() as u32);
    for (offset, code) in &compiled.traps {
        put_u32(&mut out, *offset);
        out.push(*code as u8);
    }
    put_u32(&mut out, compiled.address_map.len() as u32);
    for (text, wasm) in &compiled.address_map {
        put_u32(&mut out, *text);
        put_u32(&mut out, *wasm);
    }
    put_u32(&mut out, images.len() as u32);
    for image in images {
        put_u32(&mut out, image.memory.as_u32());
        out.extend_from_slice(&image.offset.to_le_bytes());
        out.extend_from_slice(&image.section_offset.to_le_bytes());
        out.extend_from_slice(&image.len.to_le_bytes());
    }
    out
}

fn decode_info(bytes: &[u8]) -> Result<(CompiledText, Vec<ImageEntry>)> {
    let mut r = Reader(bytes);
    // Each table is a count and then fixed-size records, decoded in one
    // pass over the slice (the address map has an entry per instruction).
    let functions = r.records(8, |b| FunctionLoc {
        start: le32(&b[0..4]),
        length: le32(&b[4..8]),
    })?;
    let type_offset = |b: &[u8]| (TypeIndex::from_u32(le32(&b[0..4])), le32(&b[4..8]));
    let array_to_wasm = r.records(8, type_offset)?.into_iter().collect();
    let import_trampolines = r.records(8, type_offset)?.into_iter().collect();
    let traps = r
        .records(5, |b| (le32(&b[0..4]), TrapCode::from_u8(b[4])))?
        .into_iter()
        .map(|(offset, code)| Ok((offset, code.context("damaged artifact: unknown trap code")?)))
        .collect::<Result<_>>()?;
    let address_map = r.records(8, |b| (le32(&b[0..4]), le32(&b[4..8])))?;
    let compiled = CompiledText {
        functions,
        array_to_wasm,
        import_trampolines,
        traps,
        address_map,
        ..CompiledText::default()
    };
    let images = r.records(28, |b| ImageEntry {
        memory: MemoryIndex::from_u32(le32(&b[0..4])),
        offset: le64(&b[4..12]),
        section_offset: le64(&b[12..20]),
        len: le64(&b[20..28]),
    })?;
    if !r.0.is_empty() {
        bail!("damaged artifact: trailing bytes in `{INFO}`");
    }
    Ok((compiled, images))
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().expect("4 bytes"))
}

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

/// A bounds-checked little-endian reader.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            bail!("damaged artifact: metadata is truncated");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    /// A count of items of `item_size` bytes, checked against what is left.
    fn count(&mut self, item_size: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(item_size) > self.0.len() {
            bail!("damaged artifact: metadata is truncated");
        }
        Ok(n)
    }
    /// A count, then that many records of `size` bytes, each decoded by `f`.
    fn records<T>(&mut self, size: usize, f: impl Fn(&[u8]) -> T) -> Result<Vec<T>> {
        let n = self.count(size)?;
        Ok(self.take(n * size)?.chunks_exact(size).map(f).collect())
    }
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// A human-readable description of an artifact image, for `hoist inspect`.
pub fn inspect(image: &[u8]) -> Result<String> {
    use std::fmt::Write;
    let artifact = read(image)?;
    let file = object::File::parse(image)?;
    let mut out = String::new();
    let e = &artifact.engine;
    let _ = writeln!(out, "hoist artifact, format {FORMAT_VERSION}");
    let _ = writeln!(out, "compiled by:   hoist {}", e.hoist_version);
    let _ = writeln!(out, "target:        {}", e.triple);
    let _ = writeln!(
        out,
        "cpu features:  {}",
        if e.isa_flags.is_empty() {
            "(baseline)".to_string()
        } else {
            e.isa_flags.join(" ")
        }
    );
    let _ = writeln!(out, "tunables:      {}", e.tunables);
    let _ = writeln!(out, "functions:     {}", artifact.compiled.functions.len());
    let _ = writeln!(out, "code size:     {} bytes", artifact.text.len());
    let _ = writeln!(out, "trap sites:    {}", artifact.compiled.traps.len());
    let _ = writeln!(out, "module size:   {} bytes", artifact.wasm.len());
    let _ = writeln!(
        out,
        "memory images: {} ({} bytes)",
        artifact.images.len(),
        artifact.data.len()
    );
    let _ = writeln!(out, "sections:");
    for section in file.sections() {
        let name = section.name().unwrap_or("?");
        if name.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "  {name:<16} {:>10} bytes at file offset {:#x}",
            section.size(),
            section.file_range().map_or(0, |r| r.0)
        );
    }
    let _ = writeln!(out, "flags:");
    for line in e.shared_flags.lines().filter(|l| l.contains('=')) {
        let _ = writeln!(out, "  {line}");
    }
    Ok(out)
}

/// The module binary embedded in an artifact (after checking the
/// checksum), so a cache can make sure an entry is for the same module.
pub fn embedded_wasm(image: &[u8]) -> Result<&[u8]> {
    Ok(read(image)?.wasm)
}
