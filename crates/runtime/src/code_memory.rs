//! Executable memory: where compiled code runs from.
//!
//! SECURITY: code only ever runs from anonymous memory that hoist filled
//! itself, never from a file mapping. A private file mapping still shows
//! later writes to pages it has not copied, so anything that can write the
//! file (a guest given a directory that holds it, say) could change code
//! while it runs. An artifact is read into an [`ImageBuffer`], checked
//! there, and its `.text` pages made executable in place. What may be read
//! from the file later ([`CodeMemory::read_range`]: a big artifact's
//! address map; [`CodeMemory::read_range_into`]: its memory images, into
//! linear memory) is data, checked against a digest before it is used.

use crate::code_registry::{register_code, unregister_code, CodeTables, TrapTable};
use hoist_environ::TrapCode;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// A private, page-aligned, anonymous copy of an artifact image. Nothing
/// outside this process can change it once it is filled.
pub struct ImageBuffer {
    map: memmap2::MmapMut,
    len: usize,
    /// Bytes of the file left unread (zero here), see
    /// [`ImageBuffer::read_file_except`], and the file to read them from.
    unread: Option<Unread>,
}

/// What [`ImageBuffer::read_file_except`] left unread, and where it is.
struct Unread {
    range: Range<usize>,
    /// The file it was read from (a descriptor of its own), for
    /// [`CodeMemory::read_range`] and [`CodeMemory::read_range_into`]:
    /// whoever reads from it checks what it gets against a digest, since
    /// the file may have changed since.
    file: std::fs::File,
}

impl ImageBuffer {
    /// A copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> io::Result<ImageBuffer> {
        let mut map = memmap2::MmapMut::map_anon(bytes.len().max(1))?;
        map[..bytes.len()].copy_from_slice(bytes);
        Ok(ImageBuffer {
            map,
            len: bytes.len(),
            unread: None,
        })
    }

    /// The whole content of `file` from its start, read (not mapped), by
    /// several threads when it is big (see [`PARALLEL_READ_MIN`]). A file
    /// that changes size while it is read is refused.
    pub fn read_file(file: &mut std::fs::File) -> io::Result<ImageBuffer> {
        ImageBuffer::read_file_except(file, |_| None)
    }

    /// [`ImageBuffer::read_file`], leaving unread the range that `skip`
    /// names once it has seen the file's two ends: its first page and its
    /// last [`LAZY_TAIL`] bytes, read first, with zeros between (an ELF
    /// file's header and its section headers, say; see
    /// `hoist_artifact::lazy_range`). Only the whole pages of the range
    /// that lie between those ends are skipped. The pages left unread
    /// are never touched, so they cost nothing; they read as zeros, and
    /// [`ImageBuffer::unread`] says where they are. Only files of
    /// [`LAZY_MIN`] bytes or more are read this way. The buffer then keeps
    /// a descriptor of the file (and so does the [`CodeMemory`] made from
    /// it), for [`CodeMemory::read_range`] and
    /// [`CodeMemory::read_range_into`]; if none can be made, the pages
    /// are read after all.
    pub fn read_file_except(
        file: &mut std::fs::File,
        skip: impl FnOnce(&[u8]) -> Option<Range<usize>>,
    ) -> io::Result<ImageBuffer> {
        let expected = usize::try_from(file.metadata()?.len())
            .map_err(|_| io::Error::other("the file is too large"))?;
        // One byte of slack shows whether the file grew meanwhile. Small
        // pages: transparent huge pages halved the cost of a warm CPython
        // run's 70 MB of buffers in back-to-back runs, but in a VM that
        // hands free memory back to its host (virtio-balloon free page
        // reporting gives back free 2 MiB blocks) each huge page came back
        // from the host on first touch: runs a few seconds apart took
        // 150 ms instead of 90.
        let mut map = memmap2::MmapMut::map_anon(expected + 1)?;
        let page = page_size();
        let mut unread = None;
        let mut regions: Vec<_> = std::iter::once(0..expected).collect();
        if expected >= LAZY_MIN {
            let head = 0..page;
            let tail = (expected - LAZY_TAIL) / page * page..expected;
            read_in_parts(file, &mut map[..], vec![head.clone(), tail.clone()], 1)?;
            // Whole pages of this host (which may be bigger than the
            // range's), between the two ends.
            unread = skip(&map[..expected])
                .and_then(|r| Some(r.start.checked_next_multiple_of(page)?..r.end / page * page))
                .map(|r| r.start.max(head.end)..r.end.min(tail.start))
                .filter(|r| r.start < r.end);
            regions = match &unread {
                Some(r) => vec![head.end..r.start, r.end..tail.start],
                None => std::iter::once(head.end..tail.start).collect(),
            };
        }
        let len = regions.iter().map(|r| r.len()).sum();
        read_in_parts(file, &mut map[..], regions, reader_threads(len))?;
        // A file that grew has a byte where the slack is.
        let grew = loop {
            match file.read_at(&mut map[expected..], expected as u64) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        if grew != 0 {
            return Err(changed_size());
        }
        let unread = match unread {
            Some(range) => match file.try_clone() {
                Ok(file) => Some(Unread { range, file }),
                // No descriptor to keep (too many open files, say): the
                // pages are read now after all.
                Err(_) => {
                    let threads = reader_threads(range.len());
                    read_in_parts(file, &mut map[..], vec![range], threads)?;
                    None
                }
            },
            None => None,
        };
        Ok(ImageBuffer {
            map,
            len: expected,
            unread,
        })
    }

    /// The range [`ImageBuffer::read_file_except`] left unread, if any.
    pub fn unread(&self) -> Option<Range<usize>> {
        self.unread.as_ref().map(|u| u.range.clone())
    }

    /// Bytes `range` of the image, as [`CodeMemory::read_range`] reads them.
    pub fn read_range(&self, range: Range<usize>) -> io::Result<std::borrow::Cow<'_, [u8]>> {
        read_range(self.as_slice(), self.unread.as_ref(), range)
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.map[..self.len]
    }

    /// Forgets everything after the first `len` bytes (a trailer that was
    /// checked and is not part of the image).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

fn changed_size() -> io::Error {
    io::Error::other("the file changed size while it was read")
}

/// Files of this many bytes or more are read by several threads at once, a
/// part each: copying out of the page cache into fresh pages (a fault and a
/// zeroed page per 4 KiB) is most of the time it takes to load a big
/// artifact, and the kernel does it for each thread on its own core.
/// CPython's 44 MB `.hwasm`, `-c 'print(1)'` on two cores (medians of 25
/// alternating runs): 104.6 -> 92.0 ms.
const PARALLEL_READ_MIN: usize = 8 << 20;

/// Files this big or bigger may be read with a range left out
/// ([`ImageBuffer::read_file_except`]); smaller ones are read whole.
pub const LAZY_MIN: usize = 1 << 20;

/// How much of a file's end [`ImageBuffer::read_file_except`] reads before
/// it asks what to skip: an artifact's section headers and names, and the
/// seal, are a few hundred bytes.
pub const LAZY_TAIL: usize = 64 << 10;

/// The smallest part one thread reads.
const READ_PART_MIN: usize = 4 << 20;

/// How many threads read `len` bytes: one per core, up to four, each at
/// least [`READ_PART_MIN`].
fn reader_threads(len: usize) -> usize {
    if len < PARALLEL_READ_MIN {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(4).min(len / READ_PART_MIN).max(1)
}

/// Fills the `regions` of `buf` (disjoint, in order, each starting on a
/// page boundary) from the same offsets of `file`, in page-aligned parts
/// read by this thread and up to `threads - 1` others (see
/// [`read_parts`]). A file shorter than a region is an error.
fn read_in_parts(
    file: &std::fs::File,
    buf: &mut [u8],
    regions: Vec<Range<usize>>,
    threads: usize,
) -> io::Result<()> {
    let total: usize = regions.iter().map(|r| r.len()).sum();
    let part = part_size(total, threads);
    let mut chunks = Vec::new();
    let mut rest = buf;
    let mut at = 0;
    for region in regions {
        let (_, tail) = rest.split_at_mut(region.start - at);
        let (region_buf, tail) = tail.split_at_mut(region.len());
        for (i, chunk) in region_buf.chunks_mut(part).enumerate() {
            chunks.push((region.start + i * part, chunk));
        }
        rest = tail;
        at = region.end;
    }
    read_parts(file, chunks, threads)
}

/// How long each of `threads` readers' parts of `total` bytes are: whole
/// pages.
fn part_size(total: usize, threads: usize) -> usize {
    total.div_ceil(threads).next_multiple_of(4096).max(4096)
}

/// Fills each `(file offset, buffer)` part from `file`, the parts taken
/// from a shared queue by this thread and up to `threads - 1` others
/// (fewer if threads cannot be made: this one reads whatever is left; with
/// one, no thread is made). A file shorter than a part is an error.
fn read_parts(
    file: &std::fs::File,
    chunks: Vec<(usize, &mut [u8])>,
    threads: usize,
) -> io::Result<()> {
    let queue = std::sync::Mutex::new(chunks);
    let work = || -> io::Result<()> {
        loop {
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((offset, chunk)) = next else {
                return Ok(());
            };
            match file.read_exact_at(chunk, offset as u64) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(changed_size()),
                other => other?,
            }
        }
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("read".into())
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        let mut outcome = work();
        for helper in helpers {
            let joined = helper
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a reader thread panicked")));
            outcome = outcome.and(joined);
        }
        outcome
    })
}

impl AsRef<[u8]> for ImageBuffer {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Code mapped read+execute, registered with the trap handler for as long
/// as it lives, together with the rest of its image (read-only).
pub struct CodeMemory {
    /// The image, read-only except for the code pages when they are in place.
    image: Arc<memmap2::Mmap>,
    image_len: usize,
    /// A separate copy of the code, when it could not run in place.
    copy: Option<memmap2::Mmap>,
    /// Where the code is: in `copy` if there is one, else in `image`.
    text: Range<usize>,
    /// What loading left unread of the image, if anything.
    unread: Option<Unread>,
}

impl CodeMemory {
    /// Fresh pages holding a copy of `text`, made executable, with the trap
    /// table `traps` (offsets into `text`). For code compiled on the spot
    /// that belongs to no image (host trampolines).
    pub fn new(text: &[u8], traps: Vec<(u32, TrapCode)>) -> io::Result<CodeMemory> {
        let len = text.len();
        CodeMemory::from_image(
            ImageBuffer::from_bytes(text)?,
            0..len,
            CodeTables::traps(traps),
            None,
        )
    }

    /// Makes `text` (a range of `image`) executable in place and the rest
    /// of the image read-only, and registers its `tables` (offsets into
    /// `text`). When `text` does not start on a page boundary of this host
    /// (pages larger than the artifact's alignment), the code is copied to
    /// fresh pages instead.
    ///
    /// `image_traps`, if given, are where the trap table's offsets and
    /// codes are in `image` ([`hoist_environ::TrapRecords`], checked by the
    /// caller): `tables.traps` is then that table, read in place.
    ///
    /// The caller must have checked that `image` was made by hoist for this
    /// host: it becomes code that runs.
    pub fn from_image(
        image: ImageBuffer,
        text: Range<usize>,
        mut tables: CodeTables,
        image_traps: Option<(Range<usize>, Range<usize>)>,
    ) -> io::Result<CodeMemory> {
        assert!(text.start <= text.end && text.end <= image.len);
        let page = page_size();
        let image_len = image.len;
        let in_place = text.start.is_multiple_of(page);
        let copy = if in_place {
            None
        } else {
            let mut copy = memmap2::MmapMut::map_anon(text.len().max(1))?;
            copy[..text.len()].copy_from_slice(&image.as_slice()[text.clone()]);
            Some(copy.make_read_only()?)
        };
        // An image that is all code (a lazily compiled function, a host
        // trampoline) becomes executable in one step, not read-only first:
        // one `mprotect` per lazily compiled function, not two.
        let all_code = in_place && text.start == 0 && text.end == image_len && !text.is_empty();
        let unread = image.unread;
        let image = Arc::new(if all_code {
            image.map.make_exec()?
        } else {
            image.map.make_read_only()?
        });
        if let Some((offsets, codes)) = image_traps {
            tables.traps = TrapTable::in_image(image.clone(), offsets, codes);
        }
        let (code, text) = match &copy {
            Some(copy) => (copy, 0..text.len()),
            None => (&*image, text),
        };
        if all_code {
            flush_icache(code.as_ptr(), text.len());
        } else if !text.is_empty() {
            let exec_len = text
                .len()
                .next_multiple_of(page)
                .min(code.len() - text.start);
            // SAFETY: `[text.start, text.start + exec_len)` lies inside our
            // own anonymous mapping (`text.end <= len`, start page-aligned);
            // changing its protection affects nothing else. In an image, the
            // bytes past `text.end` to the page end are padding, not
            // metadata: the artifact aligns the next section to a page.
            let rc = unsafe {
                libc::mprotect(
                    code.as_ptr().add(text.start) as *mut libc::c_void,
                    exec_len,
                    libc::PROT_READ | libc::PROT_EXEC,
                )
            };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: as above, a range of our own mapping.
            flush_icache(unsafe { code.as_ptr().add(text.start) }, text.len());
        }
        let start = code.as_ptr() as usize + text.start;
        register_code(start, text.len().max(1), Arc::new(tables));
        Ok(CodeMemory {
            image,
            image_len,
            copy,
            text,
            unread,
        })
    }

    fn code_base(&self) -> *const u8 {
        self.copy.as_ref().unwrap_or(&self.image).as_ptr()
    }

    /// The address of byte `offset` of the text.
    pub fn address(&self, offset: u32) -> *const u8 {
        assert!((offset as usize) < self.text.len());
        // SAFETY: in bounds of the text, checked above.
        unsafe { self.code_base().add(self.text.start + offset as usize) }
    }

    pub fn text(&self) -> &[u8] {
        &self.copy.as_ref().unwrap_or(&self.image)[self.text.clone()]
    }

    /// The whole image the code came from (read-only).
    pub fn image(&self) -> &[u8] {
        &self.image[..self.image_len]
    }

    /// Bytes `range` of the image: from memory where they were read, else
    /// from the file loading left them unread in (see
    /// [`ImageBuffer::read_file_except`]), as it is now. Those may differ
    /// from what was there at load: check them against a digest.
    pub fn read_range(&self, range: Range<usize>) -> io::Result<std::borrow::Cow<'_, [u8]>> {
        read_range(self.image(), self.unread.as_ref(), range)
    }

    /// [`CodeMemory::read_range`] into `target`, whose length is the
    /// range's: a copy from memory, or a read from the file straight into
    /// `target` (a linear memory, say: the bytes are not read twice), by
    /// several threads when it is big. Check what the file gave.
    pub fn read_range_into(&self, start: usize, target: &mut [u8]) -> io::Result<()> {
        let range = start
            ..start
                .checked_add(target.len())
                .ok_or(io::ErrorKind::InvalidInput)?;
        match &self.unread {
            Some(u) if range.start < u.range.end && u.range.start < range.end => {
                let threads = reader_threads(target.len());
                let part = part_size(target.len(), threads);
                let chunks = target
                    .chunks_mut(part)
                    .enumerate()
                    .map(|(i, chunk)| (start + i * part, chunk))
                    .collect();
                read_parts(&u.file, chunks, threads)
            }
            _ => {
                let bytes = self
                    .image()
                    .get(range)
                    .ok_or(io::ErrorKind::UnexpectedEof)?;
                target.copy_from_slice(bytes);
                Ok(())
            }
        }
    }
}

/// Bytes `range` of `image`: in place, or from the file if any of them
/// are in the range that loading left `unread`.
fn read_range<'a>(
    image: &'a [u8],
    unread: Option<&Unread>,
    range: Range<usize>,
) -> io::Result<std::borrow::Cow<'a, [u8]>> {
    match unread {
        Some(u) if range.start < u.range.end && u.range.start < range.end => {
            let mut bytes = vec![0; range.len()];
            u.file.read_exact_at(&mut bytes, range.start as u64)?;
            Ok(bytes.into())
        }
        _ => match image.get(range) {
            Some(bytes) => Ok(bytes.into()),
            None => Err(io::ErrorKind::UnexpectedEof.into()),
        },
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        unregister_code(self.code_base() as usize + self.text.start);
    }
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

#[cfg(target_arch = "x86_64")]
pub(crate) fn flush_icache(_start: *const u8, _len: usize) {
    // x86 keeps instruction and data caches coherent.
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn flush_icache(start: *const u8, len: usize) {
    unsafe extern "C" {
        fn __clear_cache(start: *mut std::ffi::c_char, end: *mut std::ffi::c_char);
    }
    // SAFETY: the range is one mapping we own; `__clear_cache` only
    // synchronizes caches for it.
    unsafe { __clear_cache(start as *mut _, start.add(len) as *mut _) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8], name: &str) -> (std::path::PathBuf, std::fs::File) {
        let path = std::env::temp_dir().join(format!("hoist-read-{}-{name}", std::process::id()));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        let file = std::fs::File::open(&path).unwrap();
        (path, file)
    }

    #[test]
    fn a_big_file_is_read_whole_in_parts() {
        // Not a multiple of the part size or of a page.
        let bytes: Vec<u8> = (0..(9 << 20) + 4097)
            .map(|i: u32| (i * 7 + i / 4099) as u8)
            .collect();
        let (path, mut file) = file_with(&bytes, "big");
        assert_eq!(
            ImageBuffer::read_file(&mut file).unwrap().as_slice(),
            &bytes[..]
        );
        for threads in [2, 3, 4] {
            let mut buf = vec![0; bytes.len()];
            let whole = std::iter::once(0..bytes.len()).collect();
            read_in_parts(&file, &mut buf, whole, threads).unwrap();
            assert!(buf == bytes, "{threads} threads");
        }
        // Regions with gaps: only they are filled.
        let mut buf = vec![0; bytes.len()];
        let regions = vec![4096..(1 << 20) + 3, (3 << 20)..bytes.len()];
        read_in_parts(&file, &mut buf, regions.clone(), 2).unwrap();
        for (i, (got, want)) in buf.iter().zip(&bytes).enumerate() {
            let inside = regions.iter().any(|r| r.contains(&i));
            assert_eq!(*got, if inside { *want } else { 0 }, "byte {i}");
        }
        // A file shorter than it was said to be.
        let mut buf = vec![0; bytes.len() + 10];
        let longer = std::iter::once(0..bytes.len() + 10).collect();
        let err = read_in_parts(&file, &mut buf, longer, 3).unwrap_err();
        assert!(err.to_string().contains("changed size"), "{err}");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_range_is_left_unread_only_between_the_ends() {
        let bytes: Vec<u8> = (0..(3 << 20) + 100)
            .map(|i: u32| (i % 251) as u8 + 1)
            .collect();
        let (path, mut file) = file_with(&bytes, "skip");
        let page = page_size();
        let skipped = (page * 4)..(2 << 20);
        let mut seen = None;
        let buffer = ImageBuffer::read_file_except(&mut file, |head_and_tail| {
            seen = Some((head_and_tail[..page] == bytes[..page], head_and_tail[page]));
            Some(skipped.clone())
        })
        .unwrap();
        // The skip decision sees the first page and zeros after it.
        assert_eq!(seen, Some((true, 0)));
        assert_eq!(buffer.unread(), Some(skipped.clone()));
        for (i, (got, want)) in buffer.as_slice().iter().zip(&bytes).enumerate() {
            assert_eq!(
                *got,
                if skipped.contains(&i) { 0 } else { *want },
                "byte {i}"
            );
        }
        // Ranges lose their parts in the ends and their partial pages; what
        // is left of nothing is read after all.
        let tail_start = (bytes.len() - LAZY_TAIL) / page * page;
        let cases = [
            (0..page * 2, Some(page..page * 2)),
            (page * 2..tail_start + page, Some(page * 2..tail_start)),
            (tail_start..bytes.len() / page * page, None),
            (page * 2 - 1..page * 3 + 1, Some(page * 2..page * 3)),
            (page * 2 + 1..page * 3 + 1, None),
        ];
        for (asked, unread) in cases {
            let buffer = ImageBuffer::read_file_except(&mut file, |_| Some(asked.clone())).unwrap();
            assert_eq!(buffer.unread(), unread, "{asked:?}");
            let unread = unread.unwrap_or(0..0);
            for (i, (got, want)) in buffer.as_slice().iter().zip(&bytes).enumerate() {
                assert_eq!(
                    *got,
                    if unread.contains(&i) { 0 } else { *want },
                    "byte {i}"
                );
            }
        }
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn read_range_into_reads_unread_bytes_from_the_file() {
        // Big enough for a read of the unread range by several threads.
        let bytes: Vec<u8> = (0..(10 << 20) + 100)
            .map(|i: u32| (i % 249) as u8 ^ (i >> 12) as u8)
            .collect();
        let (path, mut file) = file_with(&bytes, "into");
        let page = page_size();
        let skipped = (page * 4)..(9 << 20);
        let buffer = ImageBuffer::read_file_except(&mut file, |_| Some(skipped.clone())).unwrap();
        assert_eq!(buffer.unread(), Some(skipped.clone()));
        let code = CodeMemory::from_image(buffer, 0..0, CodeTables::default(), None).unwrap();
        let read = |start: usize, len: usize| -> io::Result<Vec<u8>> {
            let mut target = vec![0xa5; len];
            code.read_range_into(start, &mut target)?;
            Ok(target)
        };

        // In read pages: the head, and the tail up to the file's last byte.
        assert_eq!(
            read(page + 10, 1000).unwrap(),
            &bytes[page + 10..page + 1010]
        );
        let end = bytes.len();
        assert_eq!(read(end - 5000, 5000).unwrap(), &bytes[end - 5000..]);
        // Straddling either end of the unread range, and over all of it
        // (more than one reader's part, from an unaligned start).
        for range in [
            skipped.start - 100..skipped.start + 100,
            skipped.end - 100..skipped.end + 100,
            skipped.start - 3..skipped.end + 5,
        ] {
            let got = read(range.start, range.len()).unwrap();
            assert!(got == bytes[range.clone()], "{range:?}");
        }

        // The file as it is now, where loading left it unread; what was
        // read is the copy in memory, whatever the file says now.
        let new = vec![0x5a; 3000];
        let writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let changed = skipped.start + page + 17;
        writer.write_all_at(&new, changed as u64).unwrap();
        writer.write_all_at(&new, (page + 10) as u64).unwrap();
        assert_eq!(read(changed, new.len()).unwrap(), new);
        let around = read(changed - 10, new.len() + 20).unwrap();
        assert_eq!(&around[..10], &bytes[changed - 10..changed]);
        assert_eq!(&around[10..10 + new.len()], &new[..]);
        assert_eq!(
            &around[10 + new.len()..],
            &bytes[changed + new.len()..][..10]
        );
        assert_eq!(
            read(page + 10, 1000).unwrap(),
            &bytes[page + 10..page + 1010]
        );

        // Past the end of the file: in memory, and from the unread range.
        assert!(read(end - 10, 100).is_err());
        assert!(read(end, 1).is_err());
        assert!(read(skipped.start, end - skipped.start + 10).is_err());
        // A range whose end overflows.
        assert!(read(usize::MAX, 1).is_err());
        assert!(read(usize::MAX - 10, 100).is_err());
        // Nothing to read: nothing to fail, in memory or in the unread
        // range, up to the end of the file.
        for start in [0, page + 10, skipped.start, skipped.start + 5, end] {
            assert_eq!(read(start, 0).unwrap(), Vec::<u8>::new(), "{start}");
        }
        drop(code);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_small_file_is_read_whole() {
        let (path, mut file) = file_with(b"\0asm\x01\0\0\0", "small");
        assert_eq!(
            ImageBuffer::read_file(&mut file).unwrap().as_slice(),
            b"\0asm\x01\0\0\0"
        );
        std::fs::remove_file(path).unwrap();
        let (path, mut file) = file_with(b"", "empty");
        assert!(ImageBuffer::read_file(&mut file)
            .unwrap()
            .as_slice()
            .is_empty());
        std::fs::remove_file(path).unwrap();
    }
}
