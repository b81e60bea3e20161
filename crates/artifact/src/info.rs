//! `.hoist.info`: the tables that describe the code, and their checks.
//!
//! Layout: a sequence of tables, each a little-endian `u32` count followed
//! by fixed-size records:
//! 1. functions: `start: u32, length: u32` (by defined function index);
//! 2. host-to-wasm trampolines: `type: u32, offset: u32`;
//! 3. wasm-to-host trampolines for imports: `type: u32, offset: u32`;
//! 4. traps: a count `n`, then `n` offsets (`u32`, sorted), then `n`
//!    codes (`u8`), read in place (see [`TrapRecords`]);
//! 5. memory images: `memory: u32, offset: u64, section offset: u64,
//!    len: u64, digest: [u8; 32]` (BLAKE3 of the image's bytes, which
//!    `.hoist.data`, a side part, holds outside the artifact's digest);
//! 6. call sites with exception handlers, sorted by return address: `ret:
//!    u32, frame offset: u32, vmctx SP offset: u32, handler count: u32`,
//!    then per handler `tag: u32` (`u32::MAX`: catch all) and `offset: u32`;
//! 7. stack maps, sorted by return address: `ret: u32, frame size: u32,
//!    slot count: u32`, then each slot's SP offset as a `u32`;
//! 8. GC object layouts, one per type of the module (the GC proposal):
//!    `kind: u8` (0 a function type, 1 a struct, 2 an array); a struct then
//!    has `size: u32, field count: u32` and per field `offset: u32, kind:
//!    u8`, an array its element's `kind: u8` (see [`field_kind_byte`]).

use anyhow::{bail, Context, Result};
use hoist_environ::{
    AddressMapRecords, CallSite, CompiledText, FunctionLoc, GcArrayLayout, GcField, GcFieldKind,
    GcLayout, GcStructLayout, MemoryIndex, StackMap, TrapRecords, TypeIndex, IMAGE_PAGE_SIZE,
};

/// How a field kind is written: integers as their size, the others from 16.
fn field_kind_byte(kind: GcFieldKind) -> u8 {
    match kind {
        GcFieldKind::Int(n) => n,
        GcFieldKind::F32 => 16,
        GcFieldKind::F64 => 17,
        GcFieldKind::V128 => 18,
        GcFieldKind::GcRef => 19,
        GcFieldKind::FuncRef => 20,
        GcFieldKind::ExnRef => 21,
    }
}

fn field_kind_from_byte(byte: u8) -> Result<GcFieldKind> {
    Ok(match byte {
        1 | 2 | 4 | 8 => GcFieldKind::Int(byte),
        16 => GcFieldKind::F32,
        17 => GcFieldKind::F64,
        18 => GcFieldKind::V128,
        19 => GcFieldKind::GcRef,
        20 => GcFieldKind::FuncRef,
        21 => GcFieldKind::ExnRef,
        _ => bail!("damaged artifact: unknown GC field kind {byte}"),
    })
}

/// A memory image inside `.hoist.data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageEntry {
    pub memory: MemoryIndex,
    /// Byte offset in the linear memory (a page multiple).
    pub offset: u64,
    /// Byte offset in `.hoist.data` (a page multiple).
    pub section_offset: u64,
    pub len: u64,
    /// BLAKE3 of its `len` bytes (see [`crate::check_image`]).
    pub digest: crate::Digest,
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len() as u32);
    out.extend_from_slice(bytes);
}

pub(crate) fn encode(compiled: &CompiledText, images: &[ImageEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, compiled.functions.len() as u32);
    for f in &compiled.functions {
        put_u32(&mut out, f.start);
        put_u32(&mut out, f.length);
    }
    for map in [&compiled.array_to_wasm, &compiled.import_trampolines] {
        let mut entries: Vec<_> = map.iter().collect();
        entries.sort();
        put_u32(&mut out, entries.len() as u32);
        for (ty, offset) in entries {
            put_u32(&mut out, ty.as_u32());
            put_u32(&mut out, *offset);
        }
    }
    put_u32(&mut out, compiled.traps.len() as u32);
    for (offset, _) in &compiled.traps {
        put_u32(&mut out, *offset);
    }
    out.extend(compiled.traps.iter().map(|(_, code)| *code as u8));
    put_u32(&mut out, images.len() as u32);
    for image in images {
        put_u32(&mut out, image.memory.as_u32());
        out.extend_from_slice(&image.offset.to_le_bytes());
        out.extend_from_slice(&image.section_offset.to_le_bytes());
        out.extend_from_slice(&image.len.to_le_bytes());
        out.extend_from_slice(&image.digest);
    }
    put_u32(&mut out, compiled.call_sites.len() as u32);
    for site in &compiled.call_sites {
        for v in [
            site.ret,
            site.frame_offset,
            site.vmctx_sp_offset,
            site.handlers.len() as u32,
        ] {
            put_u32(&mut out, v);
        }
        for (tag, offset) in &site.handlers {
            put_u32(&mut out, tag.unwrap_or(u32::MAX));
            put_u32(&mut out, *offset);
        }
    }
    put_u32(&mut out, compiled.stack_maps.len() as u32);
    for map in &compiled.stack_maps {
        for v in [map.ret, map.frame_size, map.slots.len() as u32] {
            put_u32(&mut out, v);
        }
        for slot in &map.slots {
            put_u32(&mut out, *slot);
        }
    }
    put_u32(&mut out, compiled.gc_layouts.len() as u32);
    for layout in &compiled.gc_layouts {
        match layout {
            None => out.push(0),
            Some(GcLayout::Struct(s)) => {
                out.push(1);
                put_u32(&mut out, s.size);
                put_u32(&mut out, s.fields.len() as u32);
                for field in s.fields.iter() {
                    put_u32(&mut out, field.offset);
                    out.push(field_kind_byte(field.kind));
                }
            }
            Some(GcLayout::Array(a)) => {
                out.push(2);
                out.push(field_kind_byte(a.elem));
            }
        }
    }
    out
}

/// The tables of `.hoist.info`; the trap table is left in place (its
/// records are returned, `traps` in the tables is empty), and so is the
/// address map (`.hoist.addrmap`).
pub(crate) fn decode(bytes: &[u8]) -> Result<(CompiledText, TrapRecords<'_>, Vec<ImageEntry>)> {
    let mut r = Reader::new(bytes);
    let functions = r.records(8, |b| FunctionLoc {
        start: le32(&b[0..4]),
        length: le32(&b[4..8]),
    })?;
    let type_offset = |b: &[u8]| (TypeIndex::from_u32(le32(&b[0..4])), le32(&b[4..8]));
    let array_to_wasm = r.records(8, type_offset)?.into_iter().collect();
    let import_trampolines = r.records(8, type_offset)?.into_iter().collect();
    let n = r.count(5)?;
    let traps = TrapRecords::new(r.take(n * 4)?, r.take(n)?);
    let images = r.records(60, |b| ImageEntry {
        memory: MemoryIndex::from_u32(le32(&b[0..4])),
        offset: le64(&b[4..12]),
        section_offset: le64(&b[12..20]),
        len: le64(&b[20..28]),
        digest: b[28..60].try_into().expect("32 bytes"),
    })?;
    let mut call_sites = Vec::new();
    for _ in 0..r.count(16)? {
        let (ret, frame_offset, vmctx_sp_offset) = (r.u32()?, r.u32()?, r.u32()?);
        let handlers = r.records(8, |b| {
            let tag = le32(&b[0..4]);
            ((tag != u32::MAX).then_some(tag), le32(&b[4..8]))
        })?;
        call_sites.push(CallSite {
            ret,
            frame_offset,
            vmctx_sp_offset,
            handlers,
        });
    }
    let mut stack_maps = Vec::new();
    for _ in 0..r.count(12)? {
        let (ret, frame_size) = (r.u32()?, r.u32()?);
        let slots = r.records(4, le32)?;
        stack_maps.push(StackMap {
            ret,
            frame_size,
            slots,
        });
    }
    let mut gc_layouts = Vec::new();
    for _ in 0..r.count(1)? {
        gc_layouts.push(match r.take(1)?[0] {
            0 => None,
            1 => {
                let size = r.u32()?;
                let fields = r
                    .records(5, |b| (le32(&b[0..4]), b[4]))?
                    .into_iter()
                    .map(|(offset, kind)| {
                        Ok(GcField {
                            offset,
                            kind: field_kind_from_byte(kind)?,
                        })
                    })
                    .collect::<Result<_>>()?;
                Some(GcLayout::Struct(GcStructLayout { size, fields }))
            }
            2 => Some(GcLayout::Array(GcArrayLayout {
                elem: field_kind_from_byte(r.take(1)?[0])?,
            })),
            other => bail!("damaged artifact: unknown GC layout kind {other}"),
        });
    }
    r.finish(crate::INFO)?;
    let compiled = CompiledText {
        functions,
        array_to_wasm,
        import_trampolines,
        call_sites,
        stack_maps,
        gc_layouts,
        ..CompiledText::default()
    };
    Ok((compiled, traps, images))
}

/// Whether `offsets` ascend (`strictly`: no repeats) and each is below
/// `bound` (`inclusive`: or equal to it). One pass without early exits
/// (CPython has 636,792 trap sites and a million address map records:
/// 0.72 -> 0.39 ms for its trap table against a short-circuiting `all`).
fn ascending(
    offsets: impl Iterator<Item = u32>,
    strictly: bool,
    bound: u64,
    inclusive: bool,
) -> bool {
    // Ascending, so the last is the greatest: it alone is checked against
    // the bound. Before the first: -1, below every offset.
    let (mut ok, mut last) = (true, -1i64);
    for o in offsets {
        let o = i64::from(o);
        ok &= if strictly { o > last } else { o >= last };
        last = o;
    }
    let bound = bound as i64 + i64::from(inclusive);
    ok && last < bound
}

/// Whether the address map's text offsets ascend and lie inside a
/// `.text` of `text_len` bytes. In one pass, without collecting:
/// CPython's map holds a million records.
pub(crate) fn address_map_fits(map: AddressMapRecords<'_>, text_len: usize) -> bool {
    ascending(map.iter().map(|(o, _)| o), false, text_len as u64, false)
}

/// Checks that every table is well-formed and points inside its section:
/// a crafted file is refused here rather than crash the loader or make
/// the runtime jump outside the code.
pub(crate) fn check(
    compiled: &CompiledText,
    traps: TrapRecords<'_>,
    images: &[ImageEntry],
    text_len: usize,
    data_len: usize,
) -> Result<()> {
    let text_len = text_len as u64;
    let damaged = |what: &str| -> Result<()> { bail!("damaged artifact: {what}") };
    let mut end = 0u64;
    for f in &compiled.functions {
        let start = u64::from(f.start);
        // Every function has at least a prologue and a return.
        if f.length == 0 || start < end || start + u64::from(f.length) > text_len {
            return damaged("function code is empty, overlaps or lies outside `.text`");
        }
        end = start + u64::from(f.length);
    }
    let in_text = |offset: u32| u64::from(offset) < text_len;
    if !compiled.array_to_wasm.values().all(|o| in_text(*o))
        || !compiled.import_trampolines.values().all(|o| in_text(*o))
    {
        return damaged("a trampoline lies outside `.text`");
    }
    // In one pass, without collecting: CPython's tables hold millions of
    // entries.
    if !ascending(traps.offsets(), false, text_len, false) {
        return damaged("the trap table is unsorted or points outside `.text`");
    }
    if !traps.codes_known() {
        return damaged("unknown trap code");
    }
    let handlers_ok = compiled
        .call_sites
        .iter()
        .flat_map(|site| &site.handlers)
        .all(|(_, offset)| in_text(*offset));
    // A return address may be the end of `.text` (`inclusive`).
    if !ascending(
        compiled.call_sites.iter().map(|s| s.ret),
        true,
        text_len,
        true,
    ) || !handlers_ok
    {
        return damaged("an exception handler table is unsorted or points outside `.text`");
    }
    if !ascending(
        compiled.stack_maps.iter().map(|m| m.ret),
        true,
        text_len,
        true,
    ) {
        return damaged("the stack maps are unsorted or point outside `.text`");
    }
    // Where each memory's images end so far: a memory's images ascend and
    // do not overlap.
    let mut ends = std::collections::HashMap::new();
    for i in images {
        let fits = i
            .section_offset
            .checked_add(i.len)
            .is_some_and(|end| end <= data_len as u64);
        let end = i.offset.checked_add(i.len);
        let after = ends.get(&i.memory).is_none_or(|&last| i.offset >= last);
        if !fits
            || i.len == 0
            || !i.len.is_multiple_of(IMAGE_PAGE_SIZE)
            || !i.section_offset.is_multiple_of(IMAGE_PAGE_SIZE)
            || !i.offset.is_multiple_of(IMAGE_PAGE_SIZE)
            || end.is_none()
            || !after
        {
            return damaged(
                "a memory image is empty, lies outside `.hoist.data` or overlaps another",
            );
        }
        ends.insert(i.memory, end.unwrap_or(u64::MAX));
    }
    Ok(())
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().expect("4 bytes"))
}

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

/// A bounds-checked little-endian reader; every error says "damaged".
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader(bytes)
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            bail!("damaged artifact: metadata is truncated");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(le32(self.take(4)?))
    }
    /// A count of items at least `min_size` bytes each, checked against
    /// what is left before anything is allocated.
    fn count(&mut self, min_size: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.0.len() {
            bail!("damaged artifact: metadata is truncated");
        }
        Ok(n)
    }
    /// A count, then that many records of `size` bytes, each decoded by `f`.
    fn records<T>(&mut self, size: usize, f: impl Fn(&[u8]) -> T) -> Result<Vec<T>> {
        Ok(self.record_bytes(size)?.chunks_exact(size).map(f).collect())
    }
    /// A count, then that many records of `size` bytes, as they are.
    fn record_bytes(&mut self, size: usize) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        // Checked against what is left before anything is allocated.
        let bytes = n
            .checked_mul(size)
            .filter(|len| *len <= self.0.len())
            .context("damaged artifact: metadata is truncated")?;
        self.take(bytes)
    }
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    /// Fails if anything is left: a table must end where its section does.
    pub(crate) fn finish(self, section: &str) -> Result<()> {
        if !self.0.is_empty() {
            bail!("damaged artifact: trailing bytes in `{section}`");
        }
        Ok(())
    }
}
