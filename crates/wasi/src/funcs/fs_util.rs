//! Helpers shared by the fd and path calls: rights, file types, `filestat`
//! encoding, timestamps and guest path checks.

use crate::abi::filestat;
use crate::{Errno, GuestMemory};
use cap_std::fs::{FileType, Metadata, MetadataExt};

/// `rights` bits (witx `rights`).
#[allow(dead_code)] // the full set, for reference and for sockets
pub mod rights {
    use crate::Access;

    pub use crate::abi::rights::*;

    /// Rights that make `path_open` open the host file for writing.
    pub const WRITE_ANY: u64 = FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE;

    /// What a directory descriptor reports (the set userlands expect; see
    /// wasi-testsuite `path_open_preopen`). `PATH_FILESTAT_SET_SIZE` is
    /// left out, as in Wasmtime: truncation is by `path_open` + `O_TRUNC`.
    const DIR_ALL: u64 = PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES;

    /// Directory rights that change the tree: none below a read-only
    /// preopen. (Linking from it counts: the new name would let the file
    /// be changed through a writable tree.)
    const DIR_CHANGES: u64 = PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_SET_TIMES;

    /// Everything a regular file can do.
    const FILE_ALL: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;

    /// File rights that change the file: none below a read-only preopen.
    const FILE_CHANGES: u64 = WRITE_ANY | FD_FILESTAT_SET_TIMES;

    fn changes_allowed(access: Access, rights: u64, changes: u64) -> u64 {
        match access {
            Access::ReadWrite => rights,
            Access::ReadOnly => rights & !changes,
        }
    }

    /// What a directory below a preopen with `access` reports.
    pub fn dir_base(access: Access) -> u64 {
        changes_allowed(access, DIR_ALL, DIR_CHANGES)
    }

    /// What files and directories opened below such a directory may get.
    /// It holds the directory rights too, or libc cannot open
    /// subdirectories (wasi-libc computes new rights from it); libc's
    /// `access(W_OK)` looks for `FD_WRITE` here.
    pub fn dir_inheriting(access: Access) -> u64 {
        dir_base(access) | changes_allowed(access, FILE_ALL, FILE_CHANGES)
    }

    /// What a stream (FIFO, character device, socket) cannot do: there is
    /// no position, size or storage to sync or allocate.
    const STREAM_CANNOT: u64 =
        FD_SEEK | FD_TELL | FD_ADVISE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE | FD_SYNC | FD_DATASYNC;

    /// The rights of a file opened for reading and/or writing below a
    /// preopen with `access`; `seekable` is false for streams.
    pub fn file(access: Access, readable: bool, writable: bool, seekable: bool) -> u64 {
        let mut r = changes_allowed(access, FILE_ALL, FILE_CHANGES);
        if !readable {
            r &= !FD_READ;
        }
        if !writable {
            r &= !WRITE_ANY;
        }
        if !seekable {
            r &= !STREAM_CANNOT;
        }
        r
    }

    /// Stdio streams: reading (stdin) or writing (stdout, stderr) and
    /// nothing else, as Wasmtime reports them. No seek or tell, so libc's
    /// `isatty` can say yes; no `FD_FDSTAT_SET_FLAGS`, as the streams stay
    /// blocking whatever the guest sets.
    pub fn stdio(readable: bool) -> u64 {
        if readable {
            FD_READ
        } else {
            FD_WRITE
        }
    }
}

pub use crate::abi::filetype;

/// The WASI `filetype` of a host file type.
pub fn filetype_of(ft: FileType) -> u8 {
    use cap_std::fs::FileTypeExt;
    if ft.is_dir() {
        filetype::DIRECTORY
    } else if ft.is_file() {
        filetype::REGULAR_FILE
    } else if ft.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if ft.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if ft.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if ft.is_socket() {
        // Unix sockets are usually stream sockets; preview1 cannot say more.
        filetype::SOCKET_STREAM
    } else {
        // FIFOs have no preview1 file type.
        filetype::UNKNOWN
    }
}

fn nanos(secs: i64, nsec: i64) -> u64 {
    if secs < 0 {
        return 0;
    }
    (secs as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nsec.max(0) as u64)
}

/// A `filestat`: dev, ino, filetype, nlink, size, atim, mtim, ctim.
pub fn filestat_bytes(meta: &Metadata) -> [u8; filestat::SIZE] {
    let mut out = [0u8; filestat::SIZE];
    put_u64(&mut out, filestat::DEV, meta.dev());
    put_u64(&mut out, filestat::INO, meta.ino());
    out[filestat::FILETYPE] = filetype_of(meta.file_type());
    put_u64(&mut out, filestat::NLINK, meta.nlink());
    put_u64(&mut out, filestat::FILESIZE, meta.len());
    put_u64(
        &mut out,
        filestat::ATIM,
        nanos(meta.atime(), meta.atime_nsec()),
    );
    put_u64(
        &mut out,
        filestat::MTIM,
        nanos(meta.mtime(), meta.mtime_nsec()),
    );
    put_u64(
        &mut out,
        filestat::CTIM,
        nanos(meta.ctime(), meta.ctime_nsec()),
    );
    out
}

/// A `filestat` for something with no host metadata worth showing (stdio).
pub fn filestat_synthetic(filetype: u8) -> [u8; filestat::SIZE] {
    let mut out = [0u8; filestat::SIZE];
    out[filestat::FILETYPE] = filetype;
    out
}

/// Little-endian fields of a struct being laid out for the guest.
pub fn put_u16(out: &mut [u8], at: usize, v: u16) {
    out[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
pub fn put_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
pub fn put_u64(out: &mut [u8], at: usize, v: u64) {
    out[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

pub use crate::abi::fstflags;

/// What to do with one timestamp in `*_set_times`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSet {
    Keep,
    Now,
    At(u64),
}

/// Decodes `fst_flags` into what to do with atime and mtime. Setting a
/// time both to a value and to "now", or unknown bits, is `EINVAL`.
pub fn decode_times(atim: u64, mtim: u64, fst_flags: u32) -> Result<(TimeSet, TimeSet), Errno> {
    use fstflags::*;
    if fst_flags & !(ATIM | ATIM_NOW | MTIM | MTIM_NOW) != 0 {
        return Err(Errno::Inval);
    }
    let one = |set: u32, now: u32, value: u64| match (fst_flags & set != 0, fst_flags & now != 0) {
        (true, true) => Err(Errno::Inval),
        (true, false) => Ok(TimeSet::At(value)),
        (false, true) => Ok(TimeSet::Now),
        (false, false) => Ok(TimeSet::Keep),
    };
    Ok((one(ATIM, ATIM_NOW, atim)?, one(MTIM, MTIM_NOW, mtim)?))
}

impl TimeSet {
    /// As a cap-std time spec (`None` keeps the time).
    pub fn spec(self) -> Option<cap_fs_ext::SystemTimeSpec> {
        match self {
            TimeSet::Keep => None,
            TimeSet::Now => Some(cap_fs_ext::SystemTimeSpec::SymbolicNow),
            TimeSet::At(ns) => Some(cap_fs_ext::SystemTimeSpec::Absolute(
                cap_std::time::SystemTime::from_std(
                    std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns),
                ),
            )),
        }
    }

    /// As a `timespec` for `futimens`.
    pub fn timespec(self) -> libc::timespec {
        match self {
            TimeSet::Keep => libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_OMIT,
            },
            TimeSet::Now => libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_NOW,
            },
            TimeSet::At(ns) => libc::timespec {
                tv_sec: (ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (ns % 1_000_000_000) as _,
            },
        }
    }
}

/// Sets the times of an open host file or directory (`futimens`).
pub fn set_fd_times(
    fd: &impl std::os::fd::AsRawFd,
    atim: TimeSet,
    mtim: TimeSet,
) -> Result<(), Errno> {
    let times = [atim.timespec(), mtim.timespec()];
    // SAFETY: `times` is an array of two valid timespecs; the fd is open.
    if unsafe { libc::futimens(fd.as_raw_fd(), times.as_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

/// `set_fd_times` for a directory descriptor. cap-std opens directories
/// with `O_PATH`, on which `futimens` is `EBADF`; `utimensat` with an
/// empty path and `AT_EMPTY_PATH` works on such a descriptor, and where
/// the kernel does not take that flag (`EINVAL`, before Linux 5.8), the
/// directory itself (`.` below the descriptor) is opened to set them.
pub fn set_dir_times(
    dir: &impl std::os::fd::AsRawFd,
    atim: TimeSet,
    mtim: TimeSet,
) -> Result<(), Errno> {
    let times = [atim.timespec(), mtim.timespec()];
    let fd = dir.as_raw_fd();
    // SAFETY: the path is a NUL-terminated empty string, `times` two valid
    // timespecs, and the fd is open.
    let done = unsafe { libc::utimensat(fd, c"".as_ptr(), times.as_ptr(), libc::AT_EMPTY_PATH) };
    if done == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() != Some(libc::EINVAL) {
        return Err(error.into());
    }
    // SAFETY: `.` is a NUL-terminated path below the open descriptor.
    let opened = unsafe {
        libc::openat(
            fd,
            c".".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if opened < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: `opened` is a descriptor this function just opened and owns.
    let opened = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(opened) };
    set_fd_times(&opened, atim, mtim)
}

/// Linux's `PATH_MAX`, which counts the terminating NUL: the kernel
/// refuses a path of 4096 bytes or more with `ENAMETOOLONG`.
pub const PATH_MAX: u32 = 4096;

/// A guest string naming a path (or a symlink target): `ENAMETOOLONG` if
/// Linux would refuse its length, checked before the bytes are even looked
/// at, so no host copy of a path (cap-std makes one) is ever bigger.
pub fn guest_path_str<'m>(memory: &'m GuestMemory, ptr: u32, len: u32) -> Result<&'m str, Errno> {
    if len >= PATH_MAX {
        return Err(Errno::Nametoolong);
    }
    memory.str(ptr, len)
}

/// Reads a guest path for a `path_*` call. Too long is `ENAMETOOLONG`,
/// empty is `ENOENT`; absolute paths name nothing inside a directory
/// capability (`ENOTCAPABLE`); a NUL byte cannot be passed to the host
/// (`EINVAL`). Everything else, including `..` and symlinks, is left to
/// cap-std, which refuses escapes.
pub fn guest_path<'m>(memory: &'m GuestMemory, ptr: u32, len: u32) -> Result<&'m str, Errno> {
    let path = guest_path_str(memory, ptr, len)?;
    check_path(path)?;
    Ok(path)
}

pub fn check_path(path: &str) -> Result<(), Errno> {
    if path.is_empty() {
        return Err(Errno::Noent);
    }
    if path.starts_with('/') {
        return Err(Errno::Notcapable);
    }
    if path.contains('\0') {
        return Err(Errno::Inval);
    }
    Ok(())
}

/// `path` without trailing slashes (never empty: "a//" → "a").
pub fn strip_trailing_slashes(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        path
    } else {
        trimmed
    }
}

/// `path` without trailing slashes, and whether it had any. On Linux a
/// trailing slash says the name must be a directory; each path call
/// applies that rule as the kernel does (see tests/trailing_slashes.rs).
pub fn split_trailing_slashes(path: &str) -> (&str, bool) {
    let name = strip_trailing_slashes(path);
    (name, name.len() != path.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstflags() {
        use fstflags::*;
        assert_eq!(
            decode_times(1, 2, ATIM | MTIM_NOW),
            Ok((TimeSet::At(1), TimeSet::Now))
        );
        assert_eq!(decode_times(0, 0, ATIM | ATIM_NOW), Err(Errno::Inval));
        assert_eq!(decode_times(0, 0, MTIM | MTIM_NOW), Err(Errno::Inval));
        assert_eq!(decode_times(0, 0, 1 << 4), Err(Errno::Inval));
        assert_eq!(decode_times(0, 0, 0), Ok((TimeSet::Keep, TimeSet::Keep)));
    }

    #[test]
    fn paths() {
        assert_eq!(check_path(""), Err(Errno::Noent));
        assert_eq!(check_path("/etc"), Err(Errno::Notcapable));
        assert_eq!(check_path("a\0"), Err(Errno::Inval));
        assert_eq!(check_path("a/../b"), Ok(()));
        assert_eq!(strip_trailing_slashes("a//"), "a");
        assert_eq!(strip_trailing_slashes("a/b/"), "a/b");
        assert_eq!(split_trailing_slashes("a/b//"), ("a/b", true));
        assert_eq!(split_trailing_slashes("a/b"), ("a/b", false));
    }

    #[test]
    fn rights_sets() {
        use crate::Access::*;
        use rights::*;
        for access in [ReadOnly, ReadWrite] {
            assert_eq!(dir_base(access) & (FD_SEEK | PATH_FILESTAT_SET_SIZE), 0);
            assert_eq!(dir_inheriting(access) & dir_base(access), dir_base(access));
            assert_eq!(file(access, true, false, true) & FD_WRITE, 0);
            assert_eq!(file(access, false, true, true) & FD_READ, 0);
            assert_eq!(file(access, true, true, false) & (FD_SEEK | FD_TELL), 0);
        }
        assert_eq!(dir_inheriting(ReadOnly) & (FD_WRITE | PATH_CREATE_FILE), 0);
        assert_eq!(
            file(ReadOnly, true, true, true) & (WRITE_ANY | FD_FILESTAT_SET_TIMES),
            0
        );
        assert_eq!(stdio(true) & (FD_SEEK | FD_TELL), 0);
    }
}
