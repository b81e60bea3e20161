//! The guest's file descriptor table.
//!
//! File positions live here, not in the host file: `O_APPEND`, `fd_pread`,
//! `fd_pwrite` and `fd_tell` then behave as WASI says whatever the host
//! file offset does (see ../shared/research/users.md §7.5).

use crate::Errno;
use std::collections::BTreeMap;

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

    /// Writes all of `buf` to the host fd, unbuffered. A closed pipe is
    /// `EPIPE` (Rust ignores `SIGPIPE`, so the host process survives). If
    /// some bytes went out before an error, that count is returned.
    /// Only stdout and stderr can be written.
    pub fn write(self, buf: &[u8]) -> Result<usize, Errno> {
        if self == Stdio::Stdin {
            return Err(Errno::Badf);
        }
        let mut done = 0;
        while done < buf.len() {
            let rest = &buf[done..];
            // SAFETY: `rest` is valid for reads of `rest.len()` bytes.
            let n = unsafe { libc::write(self.host_fd(), rest.as_ptr().cast(), rest.len()) };
            if n > 0 {
                done += n as usize;
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

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Blocks until `fd` is ready for `events` (or has hung up / failed, which
/// the following read or write then reports).
fn wait_for(fd: i32, events: i16) -> Result<(), Errno> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    loop {
        // SAFETY: `pfd` is one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, -1) };
        if r >= 0 {
            return Ok(());
        }
        match last_errno() {
            libc::EINTR => continue,
            code => return Err(Errno::from_raw_os_error(code)),
        }
    }
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
    /// WASI rights as `fd_fdstat_get` reports them; `fd_fdstat_set_rights`
    /// may only drop bits. Reads need `FD_READ`, writes `FD_WRITE`.
    pub rights_base: u64,
    pub rights_inheriting: u64,
}

/// A directory: a preopen or one the guest opened below it.
pub struct OpenDir {
    pub dir: cap_std::fs::Dir,
    /// The guest-visible name, for preopened directories.
    pub preopen: Option<String>,
    /// That of the preopen (or the preopen the directory is below).
    pub access: Access,
    /// WASI rights as `fd_fdstat_get` reports them (see [`OpenFile`]).
    pub rights_base: u64,
    pub rights_inheriting: u64,
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
            rights_base: rights,
            rights_inheriting: rights,
        }
    }
}

impl OpenDir {
    /// A directory descriptor with the directory rights of `access`.
    pub fn new(dir: cap_std::fs::Dir, preopen: Option<String>, access: Access) -> Self {
        OpenDir {
            dir,
            preopen,
            access,
            rights_base: crate::funcs::rights::dir_base(access),
            rights_inheriting: crate::funcs::rights::dir_inheriting(access),
            stream: None,
        }
    }
}

pub enum Descriptor {
    Stdio(Stdio),
    File(OpenFile),
    Dir(OpenDir),
    Socket(crate::OpenSocket),
}

/// Descriptors by guest fd number.
#[derive(Default)]
pub struct FdTable {
    entries: BTreeMap<u32, Descriptor>,
}

impl FdTable {
    pub fn get(&self, fd: u32) -> Result<&Descriptor, Errno> {
        self.entries.get(&fd).ok_or(Errno::Badf)
    }

    pub fn get_mut(&mut self, fd: u32) -> Result<&mut Descriptor, Errno> {
        self.entries.get_mut(&fd).ok_or(Errno::Badf)
    }

    pub fn file(&self, fd: u32) -> Result<&OpenFile, Errno> {
        match self.get(fd)? {
            Descriptor::File(file) => Ok(file),
            Descriptor::Dir(_) => Err(Errno::Isdir),
            Descriptor::Stdio(_) | Descriptor::Socket(_) => Err(Errno::Badf),
        }
    }

    pub fn file_mut(&mut self, fd: u32) -> Result<&mut OpenFile, Errno> {
        match self.get_mut(fd)? {
            Descriptor::File(file) => Ok(file),
            Descriptor::Dir(_) => Err(Errno::Isdir),
            Descriptor::Stdio(_) | Descriptor::Socket(_) => Err(Errno::Badf),
        }
    }

    /// The socket at `fd`: `ENOTSOCK` for anything else.
    pub fn socket(&self, fd: u32) -> Result<&crate::OpenSocket, Errno> {
        match self.get(fd)? {
            Descriptor::Socket(socket) => Ok(socket),
            _ => Err(Errno::Notsock),
        }
    }

    pub fn socket_mut(&mut self, fd: u32) -> Result<&mut crate::OpenSocket, Errno> {
        match self.get_mut(fd)? {
            Descriptor::Socket(socket) => Ok(socket),
            _ => Err(Errno::Notsock),
        }
    }

    pub fn dir(&self, fd: u32) -> Result<&OpenDir, Errno> {
        match self.get(fd)? {
            Descriptor::Dir(dir) => Ok(dir),
            _ => Err(Errno::Notdir),
        }
    }

    /// Puts `descriptor` at `fd`, replacing (and closing) what was there.
    pub fn insert_at(&mut self, fd: u32, descriptor: Descriptor) {
        self.entries.insert(fd, descriptor);
    }

    /// Puts `descriptor` at the lowest free fd number.
    pub fn push(&mut self, descriptor: Descriptor) -> Result<u32, Errno> {
        let mut fd = 0;
        for used in self.entries.keys() {
            if *used != fd {
                break;
            }
            fd = fd.checked_add(1).ok_or(Errno::Mfile)?;
        }
        self.entries.insert(fd, descriptor);
        Ok(fd)
    }

    pub fn remove(&mut self, fd: u32) -> Result<Descriptor, Errno> {
        self.entries.remove(&fd).ok_or(Errno::Badf)
    }

    pub fn contains(&self, fd: u32) -> bool {
        self.entries.contains_key(&fd)
    }
}
