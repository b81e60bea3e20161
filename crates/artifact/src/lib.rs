//! The hoist artifact: one ELF image per compiled module. JIT and AOT share
//! it (a module compiled in memory is written to an image and loaded back
//! exactly as a `.hwasm` file is), so every test exercises the loader.
//!
//! Sections, in file order:
//! - `.text`: the linked code, no relocations left; page-aligned and
//!   followed by a page-aligned section, so its pages hold nothing but code.
//! - `.hoist.engine`: the [`MAGIC`], a BLAKE3 digest of all but the side parts
//!   (see [`digest`]), the [`FORMAT_VERSION`], what the code was compiled
//!   for ([`EngineInfo`]) and the BLAKE3 digest of the original module.
//! - `.hoist.info`: function and trampoline offsets, the trap table, the
//!   memory image table, exception handlers, stack maps and GC object
//!   layouts ([`info`]).
//! - `.hoist.wasm`: the module's [`skeleton`], from which loading rebuilds
//!   the module model (parsing only): every section as it was, except that
//!   function bodies are `unreachable` (where they were is recorded in a
//!   custom section, [`BODY_OFFSETS`]) and active data segments that went
//!   into a memory image are empty.
//! - `.hoist.data` (when there are memory images): the images, each
//!   page-aligned, in a page-aligned section after every section that
//!   loading needs, so that a big artifact's loader can leave its pages
//!   unread ([`lazy_range`]) and instantiation read each image from the
//!   file straight into its linear memory, checked there against the
//!   image's digest in `.hoist.info` ([`check_image`]): 7.5 of CPython's
//!   41.6 MB, read once instead of twice.
//! - `.hoist.addrmap` (when there is one): the wasm address map, (text
//!   offset, wasm byte offset) records sorted by text offset
//!   ([`AddressMapRecords`]), page-aligned and left unread as the data
//!   is: 8 of CPython's 44 MB, needed only to name a trap's wasm offsets.
//! - `.hoist.debug` (only when the module's DWARF is kept): its `.debug_*`
//!   custom sections as they were ([`debug_sections`]), page-aligned and
//!   last, left unread as the address map is: 13 of CPython's 44 MB,
//!   needed only for a trap's source lines.
//!
//! The digest is for integrity (a damaged or truncated file is refused);
//! an artifact is native code, so only files the user trusts are run. The
//! compile cache adds a keyed MAC on top ([`seal`]). Neither covers the
//! bytes of `.hoist.data`, `.hoist.addrmap` and `.hoist.debug` (the "side
//! parts"): `.hoist.info` holds each memory image's digest and the header
//! the other two's, which whoever reads them checks ([`check_image`],
//! [`check_side_part`], [`check_address_map`]).
//!
//! This crate has no Cranelift and no `unsafe`: it is bytes in, bytes out.

#![forbid(unsafe_code)]

mod engine_info;
pub mod info;
mod seal;
mod sections;
mod strip;

pub use engine_info::EngineInfo;
pub use info::ImageEntry;
pub use seal::{seal, unseal, SEAL_LEN};
pub use strip::{debug_sections, skeleton, BODY_OFFSETS, SKELETON_BODY};

use anyhow::{bail, Context, Result};
use hoist_environ::{AddressMapRecords, CompiledText, MemoryImage, TrapRecords, IMAGE_PAGE_SIZE};
use object::{Object, ObjectSection};

/// The first bytes of `.hoist.engine`.
pub const MAGIC: &[u8; 8] = b"\x7fHOIST\x03\x00";
/// Bumped whenever the layout of any section changes.
pub const FORMAT_VERSION: u32 = 8;
pub const TEXT: &str = ".text";
pub const ENGINE: &str = ".hoist.engine";
pub const INFO: &str = ".hoist.info";
pub const WASM: &str = ".hoist.wasm";
pub const DATA: &str = ".hoist.data";
pub const ADDRESS_MAP: &str = ".hoist.addrmap";
pub const DEBUG: &str = ".hoist.debug";

/// Alignment of `.text` and of the section after it: a page on every
/// supported host with 4 KiB pages.
pub const TEXT_ALIGN: u64 = 0x1000;

/// A BLAKE3 digest.
pub type Digest = [u8; 32];

/// The BLAKE3 digest of a module binary, as recorded in artifacts.
pub fn module_digest(wasm: &[u8]) -> Digest {
    let mut hasher = blake3::Hasher::new();
    hash(&mut hasher, wasm);
    *hasher.finalize().as_bytes()
}

/// Inputs at least this long are hashed on all of rayon's threads.
const PARALLEL_HASH_MIN: usize = 2 << 20;

/// Feeds `bytes` to `hasher`, on all cores when there is enough to share
/// (CPython's 50 MB cache entry: 12 ms on one core of this machine). BLAKE3
/// is a tree hash: the digest is the same either way.
pub(crate) fn hash(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    if bytes.len() >= PARALLEL_HASH_MIN {
        hasher.update_rayon(bytes);
    } else {
        hasher.update(bytes);
    }
}

/// What [`write`] puts into an artifact.
pub struct ArtifactParts<'a> {
    pub architecture: object::Architecture,
    pub engine: &'a EngineInfo,
    pub compiled: &'a CompiledText,
    /// The module binary as given (reduced to its skeleton here).
    pub wasm: &'a [u8],
    pub images: &'a [MemoryImage],
    /// Keep the module's DWARF sections (see [`skeleton`]).
    pub debug_sections: bool,
    /// Keep the bytes of the active data segments that the images hold
    /// (see [`skeleton`]): for a module whose instantiation may trap
    /// before the data segments (`hoist_environ::may_trap_before_data`).
    pub keep_imaged_segments: bool,
}

/// A parsed and checked artifact, borrowing from its image.
#[derive(Debug)]
pub struct Artifact<'a> {
    pub engine: EngineInfo,
    /// BLAKE3 of the module binary the artifact was compiled from.
    pub module_digest: Digest,
    pub text: &'a [u8],
    /// Where `.text` starts in the image.
    pub text_offset: usize,
    /// The code tables; `compiled.text` is empty (the code is `text`), and
    /// so are `compiled.traps` (they are `traps`) and
    /// `compiled.address_map` (it is `.hoist.addrmap`).
    pub compiled: CompiledText,
    /// The trap table, in place (checked: sorted, inside `.text`, every
    /// code known).
    pub traps: TrapRecords<'a>,
    /// Where the trap table's offsets and codes are in the image, for
    /// readers that keep the image and not this borrow of it.
    pub trap_ranges: (std::ops::Range<usize>, std::ops::Range<usize>),
    /// `.hoist.addrmap`, if the code has an address map. Its bytes are
    /// checked as [`read_with`] was asked to ([`SideCheck`]).
    pub address_map: Option<SidePart>,
    pub wasm: &'a [u8],
    /// The memory images; their bytes are checked as [`read_with`] was
    /// asked to ([`SideCheck`]).
    pub images: Vec<ImageEntry>,
    /// `.hoist.data` as loaded (empty when there are no images; zeros
    /// where loading left its pages unread).
    pub data: &'a [u8],
    /// Where `.hoist.data` starts in the image.
    pub data_offset: usize,
    /// `.hoist.debug`, if the artifact kept the module's DWARF. Its bytes
    /// are not checked here (they may not even have been read, see
    /// [`lazy_range`]): [`check_side_part`] checks them when they are used.
    pub debug: Option<SidePart>,
    /// From the first side part to the end of the last, padding between
    /// them included: no other section touches it, and it is all that a
    /// loader may have left unread.
    pub side_span: Option<std::ops::Range<usize>>,
}

/// Where a side part of an artifact (`.hoist.addrmap`, `.hoist.debug`) is,
/// and what its bytes must hash to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SidePart {
    /// Its bytes' range in the image (the file).
    pub range: std::ops::Range<usize>,
    /// Their BLAKE3 digest, from the checked header.
    pub digest: Digest,
}

/// Whether `bytes` are the side part that `part` describes (read from the
/// file again, say, after loading left them unread).
pub fn check_side_part(part: &SidePart, bytes: &[u8]) -> bool {
    bytes.len() == part.range.len()
        && blake3::Hash::from_bytes(module_digest(bytes)) == blake3::Hash::from_bytes(part.digest)
}

/// Whether `bytes` are the memory image that `entry` describes (read from
/// the file into a linear memory, say, after loading left them unread).
pub fn check_image(entry: &ImageEntry, bytes: &[u8]) -> bool {
    bytes.len() as u64 == entry.len
        && blake3::Hash::from_bytes(module_digest(bytes)) == blake3::Hash::from_bytes(entry.digest)
}

/// Whether `bytes` are the `.hoist.addrmap` that `part` describes and a
/// well-formed map for a `.text` of `text_len` bytes: whole records, text
/// offsets ascending and inside `.text`. A map that is not gives no wasm
/// offsets; it cannot make the runtime read or jump anywhere else.
pub fn check_address_map(part: &SidePart, bytes: &[u8], text_len: usize) -> bool {
    check_side_part(part, bytes) && address_map_fits(bytes, text_len)
}

/// Whether `bytes` are whole address map records, in order, inside a
/// `.text` of `text_len` bytes.
fn address_map_fits(bytes: &[u8], text_len: usize) -> bool {
    bytes.len().is_multiple_of(AddressMapRecords::RECORD)
        && info::address_map_fits(AddressMapRecords::new(bytes), text_len)
}

/// What is wrong with an address map that fails [`check_address_map`].
const BAD_ADDRESS_MAP: &str = "the address map is damaged, unsorted or points outside `.text`";

/// Where `image`'s `.hoist.debug` is and the digest its header records
/// for it, found without checking anything else (as [`module_wasm`]):
/// for a reader of the DWARF, whose image [`read`] or the seal has
/// checked. `None` when the artifact kept no DWARF.
pub fn debug_part(image: &[u8]) -> Option<SidePart> {
    let file = sections::File::parse(image).ok()?;
    let range = section_range(&file, DEBUG)?;
    let header = sections::by_name(&file, ENGINE)?.data().ok()?;
    // The header's tail ends with the debug digest.
    let digest = header
        .get(header.len().checked_sub(32)?..)?
        .try_into()
        .ok()?;
    (range.end <= image.len()).then_some(SidePart { range, digest })
}

/// Where section `name`'s bytes are in the file, as its header says.
fn section_range(file: &sections::File<'_>, name: &str) -> Option<std::ops::Range<usize>> {
    let (offset, len) = sections::by_name(file, name)?.file_range()?;
    let start = usize::try_from(offset).ok()?;
    Some(start..start.checked_add(usize::try_from(len).ok()?)?)
}

/// The bytes from the first side part (`.hoist.data`, `.hoist.addrmap`,
/// `.hoist.debug`) to the end of the last, padding between them included:
/// what neither the digest nor the seal covers, and what no other section
/// may touch.
fn side_span(file: &sections::File<'_>) -> Option<std::ops::Range<usize>> {
    let parts = [DATA, ADDRESS_MAP, DEBUG].map(|name| section_range(file, name));
    let mut parts = parts.into_iter().flatten();
    let first = parts.next()?;
    Some(parts.fold(first, |span, r| {
        span.start.min(r.start)..span.end.max(r.end)
    }))
}

/// The pages of `image` that loading may leave unread: the whole pages of
/// its side parts (`.hoist.data`, `.hoist.addrmap`, `.hoist.debug`, and
/// the padding between them), which neither the digest nor the seal
/// covers. Only the ELF header and section headers are looked at (they
/// are at the file's two ends, which a reader fills first); anything
/// unexpected gives `None`, and the whole file is read. A range that lies
/// elsewhere in a damaged or forged file is refused: [`read_with`] refuses
/// side parts
/// that touch another section, the loader unread pages outside the side
/// parts, and the seal covers every other byte of the file and the
/// range's bounds.
pub fn lazy_range(image: &[u8]) -> Option<std::ops::Range<usize>> {
    let file = sections::File::parse(image).ok()?;
    whole_pages(side_span(&file)?, image.len())
}

/// [`lazy_range`] without `.hoist.data`: the pages of the side parts after
/// the memory images, for a loader that wants the images checked when it
/// loads (the compile cache's background store, which has no module file
/// to build a damaged image from: such an entry is then replaced, not a
/// failed instantiation).
pub fn lazy_range_after_images(image: &[u8]) -> Option<std::ops::Range<usize>> {
    let file = sections::File::parse(image).ok()?;
    let span = side_span(&file)?;
    let start = section_range(&file, DATA).map_or(span.start, |data| data.end.max(span.start));
    whole_pages(start..span.end, image.len())
}

/// The whole pages of `range`, if any, in an image of `len` bytes.
fn whole_pages(range: std::ops::Range<usize>, len: usize) -> Option<std::ops::Range<usize>> {
    let page = TEXT_ALIGN as usize;
    let start = range.start.checked_next_multiple_of(page)?;
    let end = range.end / page * page;
    (start < end && end <= len).then_some(start..end)
}

/// Whether `bytes` look like a hoist artifact (an ELF file; [`read`] then
/// says precisely what is wrong with it if it is not ours).
pub fn is_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// Writes the artifact image for `parts`.
pub fn write(parts: &ArtifactParts<'_>) -> Result<Vec<u8>> {
    let imaged: Vec<_> = match parts.keep_imaged_segments {
        true => Vec::new(),
        false => parts.images.iter().map(|i| i.memory).collect(),
    };
    // Encoded from the parts in place: copies of the code and the memory
    // images cost CPython's first run milliseconds of page faults.
    encode(&Encoding {
        architecture: parts.architecture,
        engine: parts.engine,
        module_digest: &module_digest(parts.wasm),
        compiled: parts.compiled,
        wasm: &skeleton(parts.wasm, &imaged, false)?,
        images: parts.images,
        debug: &if parts.debug_sections {
            debug_sections(parts.wasm)?
        } else {
            Vec::new()
        },
    })
}

/// What [`encode`] writes: an [`OwnedArtifact`]'s fields, borrowed.
struct Encoding<'a> {
    architecture: object::Architecture,
    engine: &'a EngineInfo,
    module_digest: &'a Digest,
    compiled: &'a CompiledText,
    wasm: &'a [u8],
    images: &'a [MemoryImage],
    debug: &'a [u8],
}

/// An artifact decoded into owned, editable parts. [`OwnedArtifact::encode`]
/// writes it back with a fresh digest, so tests and the fuzzer can build
/// crafted-but-consistent artifacts by changing the tables themselves.
#[derive(Clone, Debug)]
pub struct OwnedArtifact {
    pub architecture: object::Architecture,
    pub engine: EngineInfo,
    pub module_digest: Digest,
    /// The tables and the code (`compiled.text`).
    pub compiled: CompiledText,
    /// The module as stored: its [`skeleton`].
    pub wasm: Vec<u8>,
    pub images: Vec<MemoryImage>,
    /// `.hoist.debug`: the module's DWARF sections, or nothing.
    pub debug: Vec<u8>,
}

impl OwnedArtifact {
    /// Decodes `image` (which must pass [`read`]).
    pub fn decode(image: &[u8]) -> Result<OwnedArtifact> {
        let artifact = read(image)?;
        let file = object::File::parse(image)?;
        let mut compiled = artifact.compiled;
        compiled.text = artifact.text.to_vec();
        compiled.traps = artifact
            .traps
            .iter()
            .map(|(offset, code)| (offset, code.expect("checked by `read`")))
            .collect();
        // Checked by `read`.
        if let Some(part) = &artifact.address_map {
            compiled.address_map = AddressMapRecords::new(&image[part.range.clone()])
                .iter()
                .collect();
        }
        Ok(OwnedArtifact {
            architecture: file.architecture(),
            engine: artifact.engine,
            module_digest: artifact.module_digest,
            compiled,
            wasm: artifact.wasm.to_vec(),
            images: artifact
                .images
                .iter()
                .map(|i| MemoryImage {
                    memory: i.memory,
                    offset: i.offset,
                    bytes: artifact.data
                        [i.section_offset as usize..(i.section_offset + i.len) as usize]
                        .to_vec(),
                })
                .collect(),
            debug: artifact
                .debug
                .map_or(Vec::new(), |d| image[d.range].to_vec()),
        })
    }

    /// Writes the image, with the digest computed anew.
    pub fn encode(&self) -> Result<Vec<u8>> {
        encode(&Encoding {
            architecture: self.architecture,
            engine: &self.engine,
            module_digest: &self.module_digest,
            compiled: &self.compiled,
            wasm: &self.wasm,
            images: &self.images,
            debug: &self.debug,
        })
    }
}

/// Writes the image of `parts`, with its digest.
fn encode(parts: &Encoding<'_>) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    let mut entries = Vec::new();
    for image in parts.images {
        entries.push(ImageEntry {
            memory: image.memory,
            offset: image.offset,
            section_offset: data.len() as u64,
            len: image.bytes.len() as u64,
            digest: module_digest(&image.bytes),
        });
        data.extend_from_slice(&image.bytes);
        data.resize(data.len().next_multiple_of(IMAGE_PAGE_SIZE as usize), 0);
    }
    let info = info::encode(parts.compiled, &entries);
    let address_map: Vec<u8> = parts
        .compiled
        .address_map
        .iter()
        .flat_map(|(text, wasm)| text.to_le_bytes().into_iter().chain(wasm.to_le_bytes()))
        .collect();
    let mut tail = Vec::new();
    tail.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    parts.engine.encode(&mut tail);
    tail.extend_from_slice(parts.module_digest);
    // The side parts' own digests (BLAKE3, as a module's); the debug
    // section's last (see `debug_part`).
    tail.extend_from_slice(&module_digest(&address_map));
    tail.extend_from_slice(&module_digest(parts.debug));
    let digest = digest(&tail, &parts.compiled.text, &info, parts.wasm);
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&digest);
    header.extend_from_slice(&tail);

    let mut obj = object::write::Object::new(
        object::BinaryFormat::Elf,
        parts.architecture,
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
    obj.set_section_data(text, parts.compiled.text.as_slice(), TEXT_ALIGN);
    // The engine section is page-aligned too, so no metadata shares a
    // page with code.
    let sections = [
        (ENGINE, header.as_slice(), TEXT_ALIGN),
        (INFO, &info, 16),
        (WASM, parts.wasm, 16),
        // The side parts: last and page-aligned (see `lazy_range`), the
        // images first, as instantiation needs them before a backtrace
        // needs the map or the DWARF.
        (DATA, &data, TEXT_ALIGN),
        (ADDRESS_MAP, &address_map, TEXT_ALIGN),
        (DEBUG, parts.debug, TEXT_ALIGN),
    ];
    for (name, bytes, align) in sections {
        if [DATA, ADDRESS_MAP, DEBUG].contains(&name) && bytes.is_empty() {
            continue;
        }
        let id = obj.add_section(
            Vec::new(),
            name.as_bytes().to_vec(),
            object::SectionKind::ReadOnlyData,
        );
        obj.set_section_data(id, bytes, align);
    }
    Ok(obj.write()?)
}

/// The module an artifact carries (its [`skeleton`]: imports, exports and
/// every other section, but no function bodies), found without checking
/// anything else (no digest: cheap), for a look at its exports before the
/// artifact is loaded; [`read`] is what makes sure the artifact is whole.
pub fn module_wasm(image: &[u8]) -> Option<&[u8]> {
    let file = sections::File::parse(image).ok()?;
    sections::by_name(&file, WASM)?.data().ok()
}

/// The format an artifact image says it is in, checking nothing else (as
/// [`module_wasm`]): to name it when the image cannot be read otherwise
/// (another format's seal or digest covers other bytes).
pub fn format_of(image: &[u8]) -> Option<u32> {
    let file = sections::File::parse(image).ok()?;
    let header = sections::by_name(&file, ENGINE)?.data().ok()?;
    if !header.starts_with(&MAGIC[..6]) {
        return None;
    }
    Some(u32::from_le_bytes(
        header
            .get(MAGIC.len() + 32..MAGIC.len() + 36)?
            .try_into()
            .ok()?,
    ))
}

/// Parses and checks an artifact image: format, digest, and that every
/// table lies inside the sections it points into. The caller compares the
/// engine info with where it will run and checks the tables against the
/// module (see `hoist::Module`).
pub fn read(image: &[u8]) -> Result<Artifact<'_>> {
    read_with(image, true, SideCheck::Whole)
}

/// [`read`] for an image whose every byte the caller has already
/// authenticated (a cache entry whose keyed seal checked out, see
/// [`unseal`]): the digest, which the seal's MAC covers, is not computed
/// again. Everything else is checked as by [`read`].
pub fn read_authenticated(image: &[u8]) -> Result<Artifact<'_>> {
    read_with(image, false, SideCheck::Whole)
}

/// What [`read_with`] checks of `.hoist.addrmap` and of the memory images
/// in `.hoist.data`, which neither the digest nor the seal covers (the
/// DWARF is checked by its reader, always).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideCheck {
    /// The map's digest and order ([`check_address_map`]), each image's
    /// digest ([`check_image`]).
    Whole,
    /// The map's order only, the images not at all: for an image this
    /// process has just written.
    Order,
    /// Nothing: their pages may have been left unread ([`lazy_range`]),
    /// and whoever reads them checks them ([`check_address_map`],
    /// [`check_image`]).
    OnUse,
}

/// [`read`] (or, without `check_digest`, [`read_authenticated`]), checking
/// the address map and the memory images as `side` says.
pub fn read_with(image: &[u8], check_digest: bool, side: SideCheck) -> Result<Artifact<'_>> {
    let file = sections::File::parse(image)
        .context("damaged or not a hoist artifact: the ELF image does not parse (truncated?)")?;
    let section_at = |name: &str| -> Result<(&[u8], usize)> {
        let section = sections::by_name(&file, name)
            .with_context(|| format!("not a hoist artifact: no `{name}` section"))?;
        let bytes = section
            .data()
            .with_context(|| format!("damaged artifact: section `{name}` is truncated"))?;
        // `data()` succeeded, so the range is inside the image.
        let offset = section
            .file_range()
            .map_or(0, |(offset, _)| offset as usize);
        Ok((bytes, offset))
    };
    let (header, _) = section_at(ENGINE)?;
    if header.len() < MAGIC.len() + 32 || &header[..MAGIC.len()] != MAGIC {
        if header.starts_with(&MAGIC[..6]) {
            bail!(
                "the artifact is in an older or newer hoist format: recompile it with `hoist compile`"
            );
        }
        bail!("not a hoist artifact: `{ENGINE}` has the wrong magic");
    }
    let (text, text_offset) = section_at(TEXT)?;
    let (info, _) = section_at(INFO)?;
    let (wasm, _) = section_at(WASM)?;
    let side_range = |name: &str| -> Result<Option<std::ops::Range<usize>>> {
        Ok(match sections::by_name(&file, name) {
            Some(_) => {
                let (bytes, offset) = section_at(name)?;
                // Never written empty; an empty (or `NOBITS`) one would be
                // left out of the span that `side_span` finds.
                if bytes.is_empty() {
                    bail!("damaged artifact: section `{name}` is empty");
                }
                Some(offset..offset + bytes.len())
            }
            None => None,
        })
    };
    // No data section: no memory images.
    let data_range = side_range(DATA)?.unwrap_or(0..0);
    let (data, data_offset) = (&image[data_range.clone()], data_range.start);
    let address_map_range = side_range(ADDRESS_MAP)?;
    let debug_range = side_range(DEBUG)?;
    let side_span = side_span(&file);
    if let Some(span) = &side_span {
        // The side parts are covered by their own digests only: no part
        // that the digest covers may share a byte with them, or with the
        // padding between them (left unread with them).
        let overlaps = |part: &[u8]| {
            // An empty part (no data section) may point anywhere.
            if part.is_empty() {
                return false;
            }
            let start = part.as_ptr() as usize - image.as_ptr() as usize;
            start < span.end && span.start < start + part.len()
        };
        if [header, text, info, wasm].into_iter().any(overlaps) {
            bail!(
                "damaged artifact: `{DATA}`, `{ADDRESS_MAP}` or `{DEBUG}` overlaps another \
                 section"
            );
        }
    }
    let stored: Digest = header[8..40].try_into().expect("32 bytes");
    let tail = &header[40..];
    // The format first: another format's digest covers other bytes, and
    // "recompile it" is the useful answer, not "damaged".
    if let Some(format) = tail
        .get(..4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4")))
    {
        if format != FORMAT_VERSION {
            bail!(
                "artifact format {format} is not supported (this hoist reads format \
                 {FORMAT_VERSION}): recompile it with `hoist compile`"
            );
        }
    }
    if check_digest && digest(tail, text, info, wasm) != stored {
        bail!("damaged artifact: digest mismatch (the file was truncated or modified)");
    }
    let mut reader = info::Reader::new(tail);
    let format = reader.u32()?;
    if format != FORMAT_VERSION {
        bail!(
            "artifact format {format} is not supported (this hoist reads format {FORMAT_VERSION})"
        );
    }
    let engine = EngineInfo::decode(&mut reader)?;
    let module_digest: Digest = reader.take(32)?.try_into().expect("32 bytes");
    let address_map_digest: Digest = reader.take(32)?.try_into().expect("32 bytes");
    let debug_digest: Digest = reader.take(32)?.try_into().expect("32 bytes");
    reader.finish(ENGINE)?;
    let address_map = address_map_range.map(|range| SidePart {
        range,
        digest: address_map_digest,
    });
    let debug = debug_range.map(|range| SidePart {
        range,
        digest: debug_digest,
    });
    if !text.is_empty() && !(text_offset as u64).is_multiple_of(TEXT_ALIGN) {
        bail!("damaged artifact: `{TEXT}` is not page-aligned");
    }
    if !(data_offset as u64).is_multiple_of(TEXT_ALIGN) {
        bail!("damaged artifact: `{DATA}` is not page-aligned");
    }
    let (compiled, traps, images) = info::decode(info)?;
    info::check(&compiled, traps, &images, text.len(), data.len())?;
    let place = |bytes: &[u8]| {
        let start = bytes.as_ptr() as usize - image.as_ptr() as usize;
        start..start + bytes.len()
    };
    let trap_ranges = (place(traps.offset_bytes()), place(traps.code_bytes()));
    if let Some(part) = &address_map {
        let bytes = &image[part.range.clone()];
        let ok = match side {
            SideCheck::Whole => check_address_map(part, bytes, text.len()),
            SideCheck::Order => address_map_fits(bytes, text.len()),
            SideCheck::OnUse => true,
        };
        if !ok {
            bail!("damaged artifact: {BAD_ADDRESS_MAP}");
        }
    }
    if side == SideCheck::Whole {
        // `info::check` put every image inside `data`.
        let damaged = images.iter().find(|i| {
            let start = i.section_offset as usize;
            !check_image(i, &data[start..start + i.len as usize])
        });
        if let Some(i) = damaged {
            bail!(
                "damaged artifact: the image of memory {} does not match its digest",
                i.memory.as_u32()
            );
        }
    }
    Ok(Artifact {
        engine,
        module_digest,
        text,
        text_offset,
        compiled,
        traps,
        trap_ranges,
        address_map,
        wasm,
        images,
        data,
        data_offset,
        debug,
        side_span,
    })
}

/// The integrity digest: BLAKE3 over the header tail and then each section
/// but the side parts, each preceded by its length, so no byte can move
/// between parts.
pub fn digest(header_tail: &[u8], text: &[u8], info: &[u8], wasm: &[u8]) -> Digest {
    let mut hasher = blake3::Hasher::new();
    for part in [header_tail, text, info, wasm] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hash(&mut hasher, part);
    }
    *hasher.finalize().as_bytes()
}

/// A human-readable description of an artifact image, for `hoist inspect`.
pub fn inspect(image: &[u8]) -> Result<String> {
    use std::fmt::Write;
    let artifact = read(image)?;
    let file = object::File::parse(image)?;
    let mut out = String::new();
    let e = &artifact.engine;
    let _ = writeln!(out, "hoist artifact, format {FORMAT_VERSION}");
    let _ = writeln!(
        out,
        "compiled by:   hoist {} (build {})",
        e.hoist_version, e.build_id
    );
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
    let _ = writeln!(out, "wasm features: {}", e.features);
    let _ = writeln!(out, "tunables:      {}", e.tunables);
    let _ = writeln!(out, "functions:     {}", artifact.compiled.functions.len());
    let _ = writeln!(out, "code size:     {} bytes", artifact.text.len());
    let _ = writeln!(out, "trap sites:    {}", artifact.traps.len());
    let _ = writeln!(
        out,
        "module:        {} bytes (without function bodies)",
        artifact.wasm.len()
    );
    let _ = writeln!(
        out,
        "memory images: {} ({} bytes)",
        artifact.images.len(),
        artifact.data.len()
    );
    let _ = writeln!(
        out,
        "debug info:    {}",
        artifact
            .debug
            .as_ref()
            .map_or("none".to_string(), |d| format!(
                "{} bytes of DWARF",
                d.range.len()
            ))
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

#[cfg(test)]
mod tests;
