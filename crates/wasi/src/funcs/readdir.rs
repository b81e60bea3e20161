//! `fd_readdir`, with positions as cookies and the kernel's offsets kept
//! behind them.
//!
//! A cookie is an entry's position in the listing (1 after the first
//! entry, 2 after the second...), as wasmtime numbers them: wasi-libc keeps
//! a cookie in a 32-bit `long` for `telldir`/`seekdir`, so the kernel's own
//! `d_off` (a 63-bit hash on ext4) would come back truncated, and a
//! `seekdir(telldir())` would send the guest elsewhere.
//!
//! Each open directory keeps a descriptor open for reading and the entries
//! of its last `getdents64` batch that the guest has not taken yet, as
//! libc's `DIR` does. A call with the cookie the previous one ended at
//! carries on from the kernel's position, which the kernel keeps valid
//! while entries come and go: removing entries already returned (`rm -r`)
//! never makes the listing skip others, as re-reading the directory and
//! skipping `cookie` entries would. Any other cookie is found from the
//! kernel offset recorded every [`STRIDE`] entries, reading forward from
//! there; 0 rewinds, so the listing shows the directory as it is now; a
//! cookie past every position handed out lists nothing. The host keeps at
//! most one batch per directory, and one offset per [`STRIDE`] entries
//! read.

use super::fs_util::{filetype, put_u32, put_u64, rights};
use crate::table::{lock, Descriptor};
use crate::{Errno, GuestMemory, WasiCtx};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir, SeekFrom};
use std::collections::VecDeque;
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};

/// Bytes of `getdents64` output read at once: many entries, and room for
/// the longest name (255 bytes) with its header.
const BATCH: usize = 8 << 10;

/// Every this many entries, the kernel offset after the entry is kept, for
/// a seek to any cookie (8 bytes per this many entries).
const STRIDE: u64 = 32;

use crate::abi::dirent::{self, SIZE as DIRENT_SIZE};

struct Entry {
    name: Box<[u8]>,
    ino: u64,
    filetype: u8,
    /// The cookie after this entry: its position, from 1.
    next: u64,
}

/// The reading state of one open directory.
pub struct DirStream {
    /// The directory opened again for reading (cap-std's own descriptor
    /// may be `O_PATH`); its offset is the kernel's position.
    fd: OwnedFd,
    /// The inode reported for `..`: the directory's own, so nothing about
    /// what lies above a preopen is shown.
    ino: u64,
    /// The cookie of the first pending entry, or of the fd's position when
    /// there is none.
    pos: u64,
    pending: VecDeque<Entry>,
    /// The cookie the next entry read from the kernel gets.
    read: u64,
    /// The highest cookie given to an entry read from the kernel since the
    /// last rewind (handed out, or pending).
    last: u64,
    /// `offsets[i]`: the kernel offset at cookie `i * STRIDE`.
    offsets: Vec<u64>,
    /// After a seek past every cookie handed out: nothing more to list.
    past_end: bool,
    /// Reused for every batch.
    batch: Vec<u8>,
    /// `fd` counts toward the guest's descriptor limit.
    _permit: crate::table::ExtraPermit,
}

/// The WASI `filetype` of a `getdents64`/`stat` file type.
fn filetype_of(ft: FileType) -> u8 {
    match ft {
        FileType::RegularFile => filetype::REGULAR_FILE,
        FileType::Directory => filetype::DIRECTORY,
        FileType::Symlink => filetype::SYMBOLIC_LINK,
        FileType::BlockDevice => filetype::BLOCK_DEVICE,
        FileType::CharacterDevice => filetype::CHARACTER_DEVICE,
        // Unix sockets are usually stream sockets; preview1 cannot say more.
        FileType::Socket => filetype::SOCKET_STREAM,
        // FIFOs have no preview1 file type.
        FileType::Fifo | FileType::Unknown => filetype::UNKNOWN,
    }
}

impl DirStream {
    fn open(dir: impl AsFd, permit: crate::table::ExtraPermit) -> Result<DirStream, Errno> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        // "." of the directory itself: nothing outside it is named.
        let fd = rustix::fs::openat(dir, ".", flags, Mode::empty())?;
        let ino = rustix::fs::fstat(&fd)?.st_ino;
        Ok(DirStream {
            fd,
            ino,
            pos: 0,
            pending: VecDeque::new(),
            read: 0,
            last: 0,
            offsets: vec![0],
            past_end: false,
            batch: Vec::with_capacity(BATCH),
            _permit: permit,
        })
    }

    /// Moves to `cookie` (0: the start), dropping what was read ahead. On
    /// an error nothing changed.
    fn seek(&mut self, cookie: u64) -> Result<(), Errno> {
        let last = if cookie == 0 { 0 } else { self.last };
        if cookie > last {
            // Never handed out: as at the end of the listing.
            self.pending.clear();
            self.past_end = true;
            self.pos = cookie;
            return Ok(());
        }
        // `cookie <= last`, so its stride's offset was recorded.
        let stride = (cookie / STRIDE) as usize;
        let start = stride as u64 * STRIDE;
        rustix::fs::seek(&self.fd, SeekFrom::Start(self.offsets[stride]))?;
        if cookie == 0 {
            self.offsets.truncate(1);
            self.last = 0;
        }
        self.pending.clear();
        self.past_end = false;
        self.read = start;
        self.pos = start;
        // Forward to `cookie`, entry by entry (fewer than STRIDE).
        while self.pos < cookie {
            if self.pending.is_empty() && !self.fill()? {
                break;
            }
            if let Some(entry) = self.pending.pop_front() {
                self.pos = entry.next;
            }
        }
        Ok(())
    }

    /// Reads one batch into `pending`; false at the end of the directory.
    fn fill(&mut self) -> Result<bool, Errno> {
        if self.past_end {
            return Ok(false);
        }
        let mut raw = RawDir::new(&self.fd, self.batch.spare_capacity_mut());
        while let Some(entry) = raw.next() {
            let entry = entry?;
            let name = entry.file_name();
            let filetype = match entry.file_type() {
                // Some filesystems leave the type out of directory entries.
                FileType::Unknown => lstat_type(&self.fd, name),
                ft => filetype_of(ft),
            };
            let ino = if name.to_bytes() == b".." {
                self.ino
            } else {
                entry.ino()
            };
            self.read += 1;
            let next = self.read;
            if next.is_multiple_of(STRIDE) {
                let at = (next / STRIDE) as usize;
                let offset = entry.next_entry_cookie();
                match self.offsets.get_mut(at) {
                    Some(kept) => *kept = offset,
                    // Strides are reached in order: `at` is the next one.
                    None => self.offsets.push(offset),
                }
            }
            self.last = self.last.max(next);
            self.pending.push_back(Entry {
                name: name.to_bytes().into(),
                ino,
                filetype,
                next,
            });
            // One getdents64 per fill: `next` would read the following
            // batch once this one is used up.
            if raw.is_buffer_empty() {
                break;
            }
        }
        Ok(!self.pending.is_empty())
    }
}

/// The type of entry `name` of `dir`, without following a symlink. `name`
/// came from the directory itself, so it is one component with no `/`.
fn lstat_type(dir: &OwnedFd, name: &CStr) -> u8 {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => filetype_of(FileType::from_raw_mode(st.st_mode)),
        Err(_) => filetype::UNKNOWN,
    }
}

/// Writes as much of `entry` as fits in `room` bytes at `at`; returns
/// whether all of it did.
fn write_entry(
    memory: &mut GuestMemory,
    at: u32,
    room: usize,
    entry: &Entry,
) -> Result<bool, Errno> {
    let mut header = [0u8; DIRENT_SIZE];
    put_u64(&mut header, dirent::NEXT, entry.next);
    put_u64(&mut header, dirent::INO, entry.ino);
    put_u32(&mut header, dirent::NAMLEN, entry.name.len() as u32);
    header[dirent::TYPE] = entry.filetype;
    let header_part = DIRENT_SIZE.min(room);
    memory.write(at, &header[..header_part])?;
    let name_part = entry.name.len().min(room - header_part);
    if name_part > 0 {
        // The whole header fitted and the name starts inside the buffer,
        // which is in memory: no overflow.
        memory.write(at + DIRENT_SIZE as u32, &entry.name[..name_part])?;
    }
    Ok(header_part + name_part == DIRENT_SIZE + entry.name.len())
}

pub fn fd_readdir(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> Result<(), Errno> {
    let entry = ctx.table.get(fd)?;
    let mut guard = lock(&entry);
    guard.require(rights::FD_READDIR)?;
    let dir = match &mut *guard {
        Descriptor::Dir(dir) => dir,
        Descriptor::File(_) => return Err(Errno::Notdir),
        Descriptor::Stdio(..) | Descriptor::Socket(_) => return Err(Errno::Badf),
    };
    memory.slice(buf, buf_len)?;
    memory.slice(bufused, 4)?;
    let stream = match &mut dir.stream {
        Some(stream) => stream,
        stream @ None => {
            let permit = ctx.table.extra_permit()?;
            stream.insert(Box::new(DirStream::open(&dir.dir, permit)?))
        }
    };
    if cookie == 0 || cookie != stream.pos {
        stream.seek(cookie)?;
    }

    // Entries go straight into guest memory. One that does not fit is cut
    // at the end of the buffer and stays pending: libc, seeing
    // bufused == buf_len, asks again from the last whole entry's cookie,
    // with a bigger buffer if no whole entry fitted.
    let cap = buf_len as usize;
    let mut used = 0;
    while used < cap {
        let Some(entry) = stream.pending.front() else {
            if stream.fill()? {
                continue;
            }
            break;
        };
        // `used < cap <= u32::MAX`, and `buf + cap` is in memory.
        if !write_entry(memory, buf + used as u32, cap - used, entry)? {
            used = cap;
            break;
        }
        used += DIRENT_SIZE + entry.name.len();
        stream.pos = entry.next;
        stream.pending.pop_front();
    }
    memory.write_u32(bufused, used as u32)
}
