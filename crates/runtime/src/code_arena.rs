//! Packed executable memory for code compiled one function at a time (lazy
//! compilation's baseline tier and its tier-up).
//!
//! Each function in pages of its own puts every function's start at the
//! same few bytes of a page: with 4 KiB pages and a 32 KiB, 8-way L1
//! instruction cache, their first lines all compete for the same cache set
//! (and each needs a TLB entry of its own). CPython's hot functions,
//! optimized but each in its own pages, ran 1.6 times slower than the same
//! code linked into one text (`sum(map(lambda x: x*x, range(10**7)))`).
//! So functions are packed, one after the other at 64-byte boundaries, into
//! chunks of a few MiB.
//!
//! A chunk is one memory file mapped twice: writable (never executable)
//! to copy code in, and executable (never writable) to run it. Code is
//! only ever added in bytes no function occupies, so nothing that runs is
//! changed, and no mapping is ever writable and executable at once; but
//! while a chunk is being filled, its pages are writable through the one
//! view and executable through the other (a weaker W^X than pages that are
//! writable only until they become code): a host bug that could write
//! anywhere could write code there. The writable view goes as soon as the
//! chunk is full ([`Chunk::retire`]), so only the chunk being filled is
//! exposed. Neither view is reachable by a guest (they are host memory,
//! outside every linear memory and its guards).
//!
//! Where memory files are refused (an old kernel, a seccomp profile,
//! `vm.memfd_noexec`), [`CodeArena::alloc`] gives each function pages of
//! its own ([`crate::CodeMemory`]) instead, and does not ask again. A process forked after code was placed never
//! writes to its parent's chunks (they are shared mappings): it starts
//! chunks of its own.
//!
//! Another thread may run code the moment its address is published (a
//! funcref's compare-and-swap), on a core that did not write it. x86 keeps
//! instruction fetch coherent with stores; on aarch64 every core of the
//! process is made to resynchronize its instruction stream after code is
//! placed (`membarrier`'s `SYNC_CORE`, as wasmtime does for new code), on
//! top of the cache maintenance of the writing core.

use crate::code_memory::{CodeMemory, ImageBuffer};
use crate::code_registry::{register_code, unregister_code, CodeTables};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};

/// Size of a chunk (virtual: pages are only backed once code is written).
const CHUNK: usize = 4 << 20;

/// Functions start at multiples of this: a cache line on every target, and
/// the alignment the lazily compiled text's loop padding assumes.
const ALIGN: usize = 64;

/// An arena of packed code (see the module docs); one per lazily compiled
/// module, living as long as its code.
#[derive(Default)]
pub struct CodeArena {
    /// The chunk being filled, and how much of it is used.
    current: Mutex<Option<(Arc<Chunk>, usize)>>,
    /// A chunk could not be made: no more tries.
    refused: AtomicBool,
}

/// One memory file and its two views.
struct Chunk {
    /// Null once the chunk is full ([`Chunk::retire`]).
    writable: AtomicPtr<u8>,
    executable: *const u8,
    size: usize,
    /// The process that made it (a forked child must not write to it).
    pid: u32,
}

// SAFETY: the views are plain memory owned by the chunk; the arena's lock
// orders writes to free bytes, and code handed out is never written again.
unsafe impl Send for Chunk {}
// SAFETY: as above.
unsafe impl Sync for Chunk {}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.retire();
        // SAFETY: a mapping of `size` bytes this chunk made and alone owns;
        // no code handle outlives it (each holds an `Arc`).
        unsafe {
            libc::munmap(self.executable as *mut libc::c_void, self.size);
        }
    }
}

impl Chunk {
    /// Unmaps the writable view: nothing more will be written here.
    fn retire(&self) {
        let writable = self.writable.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !writable.is_null() {
            // SAFETY: the writable view, `size` bytes this chunk mapped; it
            // is only written under the arena's lock, through the pointer
            // just taken out, so no one uses it any more.
            unsafe {
                libc::munmap(writable.cast(), self.size);
            }
        }
    }

    #[cfg(target_os = "linux")]
    fn new(size: usize) -> io::Result<Chunk> {
        use std::os::fd::{FromRawFd, OwnedFd};
        // MFD_EXEC (Linux 6.3): executable mappings of the file are meant,
        // which `vm.memfd_noexec=1` otherwise refuses; older kernels reject
        // the flag (EINVAL), and then it is not needed.
        const MFD_EXEC: libc::c_uint = 0x0010;
        let create = |flags| {
            // SAFETY: a plain system call with a NUL-terminated name.
            unsafe { libc::memfd_create(c"hoist-code".as_ptr(), flags) }
        };
        let mut fd = create(libc::MFD_CLOEXEC | MFD_EXEC);
        if fd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
            fd = create(libc::MFD_CLOEXEC);
        }
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned here alone.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let file = std::fs::File::from(fd);
        file.set_len(size as u64)?;
        let map = |prot| {
            // SAFETY: a new shared mapping of the whole file, at an
            // address of the kernel's choosing: it aliases nothing of ours.
            let at = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    size,
                    prot,
                    libc::MAP_SHARED,
                    std::os::fd::AsRawFd::as_raw_fd(&file),
                    0,
                )
            };
            if at == libc::MAP_FAILED {
                Err(io::Error::last_os_error())
            } else {
                Ok(at.cast::<u8>())
            }
        };
        let writable = map(libc::PROT_READ | libc::PROT_WRITE)?;
        let executable = match map(libc::PROT_READ | libc::PROT_EXEC) {
            Ok(at) => at,
            Err(e) => {
                // SAFETY: the mapping just made, unused.
                unsafe { libc::munmap(writable.cast(), size) };
                return Err(e);
            }
        };
        // The mappings keep the file; its descriptor closes here.
        Ok(Chunk {
            writable: AtomicPtr::new(writable),
            executable,
            size,
            pid: std::process::id(),
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn new(_size: usize) -> io::Result<Chunk> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "packed code needs memfd_create",
        ))
    }
}

/// One function's code placed by a [`CodeArena`], registered with the trap
/// handler for as long as the handle lives: packed in a chunk, or in pages
/// of its own where the arena has no chunks.
pub struct ArenaCode(Placed);

enum Placed {
    Packed(Packed),
    Alone(CodeMemory),
}

/// Code in a chunk.
struct Packed {
    chunk: Arc<Chunk>,
    offset: usize,
    len: usize,
}

impl Drop for Packed {
    fn drop(&mut self) {
        // The bytes stay (nothing reuses them); only the name goes.
        unregister_code(self.chunk.executable as usize + self.offset);
    }
}

impl ArenaCode {
    /// The address of byte `offset` of the code.
    pub fn address(&self, offset: u32) -> *const u8 {
        match &self.0 {
            Placed::Packed(code) => {
                assert!((offset as usize) < code.len);
                // SAFETY: inside the chunk's executable view (`offset + len`
                // is within its size, checked when the code was placed).
                unsafe { code.chunk.executable.add(code.offset + offset as usize) }
            }
            Placed::Alone(code) => code.address(offset),
        }
    }

    /// The code's bytes (read through the executable view).
    pub fn text(&self) -> &[u8] {
        match &self.0 {
            // SAFETY: bytes of the executable view, written before this
            // handle existed and never changed after.
            Placed::Packed(code) => unsafe {
                std::slice::from_raw_parts(code.chunk.executable.add(code.offset), code.len)
            },
            Placed::Alone(code) => code.text(),
        }
    }
}

impl CodeArena {
    pub fn new() -> CodeArena {
        CodeArena::default()
    }

    /// Copies `text` (not empty) to executable memory, registers its
    /// `tables` (offsets into `text`) and returns where it is: packed at a
    /// 64-byte boundary, or, where the arena can make no chunk (see the
    /// module docs), in pages of its own. Fails only as mapping those
    /// pages can.
    pub fn alloc(&self, text: &[u8], tables: CodeTables) -> io::Result<ArenaCode> {
        match self.pack(text, tables) {
            Ok(packed) => Ok(ArenaCode(Placed::Packed(packed))),
            Err(tables) => {
                let len = text.len();
                let code =
                    CodeMemory::from_image(ImageBuffer::from_bytes(text)?, 0..len, tables, None)?;
                Ok(ArenaCode(Placed::Alone(code)))
            }
        }
    }

    /// [`CodeArena::alloc`] into a chunk; `tables` back if there is none.
    #[allow(clippy::result_large_err)]
    fn pack(&self, text: &[u8], tables: CodeTables) -> Result<Packed, CodeTables> {
        if text.is_empty() || self.refused.load(Ordering::Relaxed) {
            return Err(tables);
        }
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let pid = std::process::id();
        let fits = |(chunk, used): &(Arc<Chunk>, usize)| {
            chunk.pid == pid
                && used
                    .next_multiple_of(ALIGN)
                    .checked_add(text.len())
                    .is_some_and(|end| end <= chunk.size)
        };
        if !current.as_ref().is_some_and(fits) {
            let page = crate::code_memory::page_size();
            let size = CHUNK.max(text.len().next_multiple_of(page));
            match Chunk::new(size) {
                Ok(chunk) => {
                    // The full chunk (or the parent's, after a fork: a
                    // shared mapping) is written no more.
                    if let Some((full, _)) = current.replace((Arc::new(chunk), 0)) {
                        if full.pid == pid {
                            full.retire();
                        }
                    }
                }
                Err(_) => {
                    self.refused.store(true, Ordering::Relaxed);
                    return Err(tables);
                }
            }
        }
        let Some((chunk, used)) = current.as_mut() else {
            return Err(tables);
        };
        let writable = chunk.writable.load(Ordering::Acquire);
        if writable.is_null() {
            return Err(tables);
        }
        let offset = used.next_multiple_of(ALIGN);
        // SAFETY: `[offset, offset + len)` is inside the writable view
        // (checked by `fits` or by the new chunk's size), which this
        // process made and has not retired, and past every byte handed out
        // before (`used`), so no code there runs or is read by anyone; the
        // lock keeps other writers out.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), writable.add(offset), text.len());
        }
        *used = offset + text.len();
        // SAFETY: as above, in the executable view.
        let start = unsafe { chunk.executable.add(offset) };
        crate::code_memory::flush_icache(start, text.len());
        sync_cores();
        register_code(start as usize, text.len(), Arc::new(tables));
        Ok(Packed {
            chunk: chunk.clone(),
            offset,
            len: text.len(),
        })
    }
}

/// Makes every core running a thread of this process resynchronize its
/// instruction stream (aarch64 Linux: `membarrier(SYNC_CORE)`, registered
/// once; if the kernel has no such command, nothing is done beyond the
/// writing core's cache maintenance). Elsewhere instruction fetch is
/// coherent with stores, or `__clear_cache` covers every core.
fn sync_cores() {
    #[cfg(all(target_arch = "aarch64", target_os = "linux"))]
    {
        const REGISTER_SYNC_CORE: libc::c_int = 1 << 6;
        const SYNC_CORE: libc::c_int = 1 << 5;
        static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        // SAFETY: membarrier takes no pointers; an unknown command fails
        // with an error code.
        let registered = *REGISTERED.get_or_init(
            || unsafe { libc::syscall(libc::SYS_membarrier, REGISTER_SYNC_CORE, 0, 0) } == 0,
        );
        if registered {
            // SAFETY: as above.
            unsafe {
                libc::syscall(libc::SYS_membarrier, SYNC_CORE, 0, 0);
            }
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::code_registry::lookup;
    use hoist_environ::TrapCode;

    #[test]
    fn functions_are_packed_at_cache_line_boundaries_and_named() {
        let arena = CodeArena::new();
        let first = arena
            .alloc(
                &[0xc3; 100],
                CodeTables::traps(vec![(3, TrapCode::UnreachableCodeReached)]),
            )
            .unwrap();
        let second = arena.alloc(&[0xc3; 10], CodeTables::traps(vec![])).unwrap();
        let (a, b) = (first.address(0) as usize, second.address(0) as usize);
        assert_eq!(a % ALIGN, 0);
        assert_eq!(b, a + 128, "the next 64-byte boundary after 100 bytes");
        assert_eq!(first.text(), &[0xc3; 100][..]);
        // Each is named for the trap handler by its own range only.
        let (offset, tables) = lookup(a + 3).unwrap();
        assert_eq!(offset, 3);
        assert_eq!(
            tables.traps.lookup(3),
            Some(TrapCode::UnreachableCodeReached)
        );
        assert_eq!(lookup(b).unwrap().0, 0);
        assert!(lookup(a + 100).is_none(), "the padding is no one's");
        drop(first);
        assert!(lookup(a + 3).is_none());
        assert_eq!(lookup(b + 9).unwrap().0, 9);
    }

    #[test]
    fn a_function_bigger_than_a_chunk_gets_one_of_its_own() {
        let arena = CodeArena::new();
        let small = arena.alloc(&[0xc3; 64], CodeTables::traps(vec![])).unwrap();
        let big = vec![0xc3; CHUNK + 1];
        let large = arena.alloc(&big, CodeTables::traps(vec![])).unwrap();
        assert_eq!(large.text().len(), CHUNK + 1);
        // And the next small one goes after it, in the big one's chunk
        // only if there is room: either way, no overlap.
        let next = arena.alloc(&[0xc3; 64], CodeTables::traps(vec![])).unwrap();
        let ranges = [&small, &large, &next].map(|c| {
            let start = c.address(0) as usize;
            start..start + c.text().len()
        });
        for (i, x) in ranges.iter().enumerate() {
            for y in &ranges[i + 1..] {
                assert!(x.end <= y.start || y.end <= x.start, "{x:?} {y:?}");
            }
        }
    }

    /// Where memory files are refused, each function gets pages of its
    /// own: it runs, is named for the trap handler by its range, and is
    /// forgotten when dropped; no memory file is asked for again.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn refused_memory_files_leave_code_in_pages_of_its_own() {
        let arena = CodeArena::new();
        arena.refused.store(true, Ordering::Relaxed);
        // mov eax, N; ret
        let code = |n: u8| [0xb8, n, 0, 0, 0, 0xc3];
        let traps = || CodeTables::traps(vec![(5, TrapCode::UnreachableCodeReached)]);
        let first = arena.alloc(&code(42), traps()).unwrap();
        let second = arena.alloc(&code(7), traps()).unwrap();
        assert!(matches!(first.0, Placed::Alone(_)) && matches!(second.0, Placed::Alone(_)));
        assert!(arena.current.lock().unwrap().is_none(), "no chunk was made");
        let page = crate::code_memory::page_size();
        for (code, want) in [(&first, 42), (&second, 7)] {
            let start = code.address(0) as usize;
            assert_eq!(start % page, 0, "a page of its own");
            assert_eq!(code.text(), &self::code_bytes(want)[..]);
            let (offset, tables) = lookup(start + 5).unwrap();
            assert_eq!(offset, 5);
            assert_eq!(
                tables.traps.lookup(5),
                Some(TrapCode::UnreachableCodeReached)
            );
            // SAFETY: the bytes are a complete function of this signature.
            let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(code.address(0)) };
            assert_eq!(f(), u32::from(want));
        }
        let start = first.address(0) as usize;
        drop(first);
        assert!(lookup(start + 5).is_none());
    }

    #[cfg(target_arch = "x86_64")]
    fn code_bytes(n: u8) -> [u8; 6] {
        [0xb8, n, 0, 0, 0, 0xc3]
    }

    /// The executable view runs what was written through the other.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn packed_code_runs() {
        let arena = CodeArena::new();
        // mov eax, N; ret
        let code = |n: u8| [0xb8, n, 0, 0, 0, 0xc3];
        let forty_two = arena.alloc(&code(42), CodeTables::traps(vec![])).unwrap();
        let seven = arena.alloc(&code(7), CodeTables::traps(vec![])).unwrap();
        for (code, want) in [(&forty_two, 42), (&seven, 7)] {
            // SAFETY: the bytes are a complete function of this signature.
            let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(code.address(0)) };
            assert_eq!(f(), want);
        }
    }
}
