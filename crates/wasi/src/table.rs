//! The guest's file descriptor table.
//!
//! File positions live here, not in the host file: `O_APPEND`, `fd_pread`,
//! `fd_pwrite` and `fd_tell` then behave as WASI says whatever the host
//! file offset does (see ../shared/research/users.md §7.5).

use crate::Errno;
use std::collections::BTreeMap;

/// `fdflags` bits.
pub mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
}

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
}

/// A regular (or other non-directory) file opened by the guest.
pub struct OpenFile {
    pub file: cap_std::fs::File,
    /// The guest's position; the host file offset is never used.
    pub position: u64,
    /// `fdflags` the guest set (APPEND, NONBLOCK, ...).
    pub flags: u16,
    pub readable: bool,
    pub writable: bool,
}

/// A directory: a preopen or one the guest opened below it.
pub struct OpenDir {
    pub dir: cap_std::fs::Dir,
    /// The guest-visible name, for preopened directories.
    pub preopen: Option<String>,
    /// False below a read-only preopen: nothing may be created or changed.
    pub writable: bool,
}

pub enum Descriptor {
    Stdio(Stdio),
    File(OpenFile),
    Dir(OpenDir),
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
            Descriptor::Stdio(_) => Err(Errno::Badf),
        }
    }

    pub fn file_mut(&mut self, fd: u32) -> Result<&mut OpenFile, Errno> {
        match self.get_mut(fd)? {
            Descriptor::File(file) => Ok(file),
            Descriptor::Dir(_) => Err(Errno::Isdir),
            Descriptor::Stdio(_) => Err(Errno::Badf),
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
