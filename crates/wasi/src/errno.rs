//! WASI error numbers and the mapping from host errors.

use std::io;

/// A `wasi_snapshot_preview1` errno.
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Errno {
    Success = 0,
    TooBig = 1,
    Acces = 2,
    Addrinuse = 3,
    Addrnotavail = 4,
    Afnosupport = 5,
    Again = 6,
    Already = 7,
    Badf = 8,
    Badmsg = 9,
    Busy = 10,
    Canceled = 11,
    Child = 12,
    Connaborted = 13,
    Connrefused = 14,
    Connreset = 15,
    Deadlk = 16,
    Destaddrreq = 17,
    Dom = 18,
    Dquot = 19,
    Exist = 20,
    Fault = 21,
    Fbig = 22,
    Hostunreach = 23,
    Idrm = 24,
    Ilseq = 25,
    Inprogress = 26,
    Intr = 27,
    Inval = 28,
    Io = 29,
    Isconn = 30,
    Isdir = 31,
    Loop = 32,
    Mfile = 33,
    Mlink = 34,
    Msgsize = 35,
    Multihop = 36,
    Nametoolong = 37,
    Netdown = 38,
    Netreset = 39,
    Netunreach = 40,
    Nfile = 41,
    Nobufs = 42,
    Nodev = 43,
    Noent = 44,
    Noexec = 45,
    Nolck = 46,
    Nolink = 47,
    Nomem = 48,
    Nomsg = 49,
    Noprotoopt = 50,
    Nospc = 51,
    Nosys = 52,
    Notconn = 53,
    Notdir = 54,
    Notempty = 55,
    Notrecoverable = 56,
    Notsock = 57,
    Notsup = 58,
    Notty = 59,
    Nxio = 60,
    Overflow = 61,
    Ownerdead = 62,
    Perm = 63,
    Pipe = 64,
    Proto = 65,
    Protonosupport = 66,
    Prototype = 67,
    Range = 68,
    Rofs = 69,
    Spipe = 70,
    Srch = 71,
    Stale = 72,
    Timedout = 73,
    Txtbsy = 74,
    Xdev = 75,
    Notcapable = 76,
}

impl Errno {
    /// The WASI errno for a host OS error number.
    pub fn from_raw_os_error(code: i32) -> Errno {
        match code {
            libc::EPERM => Errno::Perm,
            libc::ENOENT => Errno::Noent,
            libc::ESRCH => Errno::Srch,
            libc::EINTR => Errno::Intr,
            libc::EIO => Errno::Io,
            libc::ENXIO => Errno::Nxio,
            libc::E2BIG => Errno::TooBig,
            libc::ENOEXEC => Errno::Noexec,
            libc::EBADF => Errno::Badf,
            libc::ECHILD => Errno::Child,
            libc::EAGAIN => Errno::Again,
            libc::ENOMEM => Errno::Nomem,
            libc::EACCES => Errno::Acces,
            libc::EFAULT => Errno::Fault,
            libc::EBUSY => Errno::Busy,
            libc::EEXIST => Errno::Exist,
            libc::EXDEV => Errno::Xdev,
            libc::ENODEV => Errno::Nodev,
            libc::ENOTDIR => Errno::Notdir,
            libc::EISDIR => Errno::Isdir,
            libc::EINVAL => Errno::Inval,
            libc::ENFILE => Errno::Nfile,
            libc::EMFILE => Errno::Mfile,
            libc::ENOTTY => Errno::Notty,
            libc::ETXTBSY => Errno::Txtbsy,
            libc::EFBIG => Errno::Fbig,
            libc::ENOSPC => Errno::Nospc,
            libc::ESPIPE => Errno::Spipe,
            libc::EROFS => Errno::Rofs,
            libc::EMLINK => Errno::Mlink,
            libc::EPIPE => Errno::Pipe,
            libc::EDOM => Errno::Dom,
            libc::ERANGE => Errno::Range,
            libc::EDEADLK => Errno::Deadlk,
            libc::ENAMETOOLONG => Errno::Nametoolong,
            libc::ENOLCK => Errno::Nolck,
            libc::ENOSYS => Errno::Nosys,
            libc::ENOTEMPTY => Errno::Notempty,
            libc::ELOOP => Errno::Loop,
            libc::ENOMSG => Errno::Nomsg,
            libc::EIDRM => Errno::Idrm,
            libc::ENOLINK => Errno::Nolink,
            libc::EPROTO => Errno::Proto,
            libc::EMULTIHOP => Errno::Multihop,
            libc::EBADMSG => Errno::Badmsg,
            libc::EOVERFLOW => Errno::Overflow,
            libc::EILSEQ => Errno::Ilseq,
            libc::ENOTSOCK => Errno::Notsock,
            libc::EDESTADDRREQ => Errno::Destaddrreq,
            libc::EMSGSIZE => Errno::Msgsize,
            libc::EPROTOTYPE => Errno::Prototype,
            libc::ENOPROTOOPT => Errno::Noprotoopt,
            libc::EPROTONOSUPPORT => Errno::Protonosupport,
            libc::EOPNOTSUPP => Errno::Notsup,
            libc::EAFNOSUPPORT => Errno::Afnosupport,
            libc::EADDRINUSE => Errno::Addrinuse,
            libc::EADDRNOTAVAIL => Errno::Addrnotavail,
            libc::ENETDOWN => Errno::Netdown,
            libc::ENETUNREACH => Errno::Netunreach,
            libc::ENETRESET => Errno::Netreset,
            libc::ECONNABORTED => Errno::Connaborted,
            libc::ECONNRESET => Errno::Connreset,
            libc::ENOBUFS => Errno::Nobufs,
            libc::EISCONN => Errno::Isconn,
            libc::ENOTCONN => Errno::Notconn,
            libc::ETIMEDOUT => Errno::Timedout,
            libc::ECONNREFUSED => Errno::Connrefused,
            libc::EHOSTUNREACH => Errno::Hostunreach,
            libc::EALREADY => Errno::Already,
            libc::EINPROGRESS => Errno::Inprogress,
            libc::ESTALE => Errno::Stale,
            libc::EDQUOT => Errno::Dquot,
            libc::ECANCELED => Errno::Canceled,
            libc::EOWNERDEAD => Errno::Ownerdead,
            libc::ENOTRECOVERABLE => Errno::Notrecoverable,
            _ => Errno::Io,
        }
    }
}

impl From<io::Error> for Errno {
    fn from(error: io::Error) -> Errno {
        if let Some(code) = error.raw_os_error() {
            return Errno::from_raw_os_error(code);
        }
        // cap-std reports sandbox escapes ("a path led outside of the
        // filesystem") as PermissionDenied without an OS error.
        match error.kind() {
            io::ErrorKind::PermissionDenied => Errno::Notcapable,
            io::ErrorKind::NotFound => Errno::Noent,
            io::ErrorKind::AlreadyExists => Errno::Exist,
            io::ErrorKind::InvalidInput => Errno::Inval,
            io::ErrorKind::BrokenPipe => Errno::Pipe,
            io::ErrorKind::WouldBlock => Errno::Again,
            io::ErrorKind::Interrupted => Errno::Intr,
            io::ErrorKind::Unsupported => Errno::Notsup,
            io::ErrorKind::OutOfMemory => Errno::Nomem,
            io::ErrorKind::NotADirectory => Errno::Notdir,
            io::ErrorKind::IsADirectory => Errno::Isdir,
            io::ErrorKind::DirectoryNotEmpty => Errno::Notempty,
            io::ErrorKind::ReadOnlyFilesystem => Errno::Rofs,
            io::ErrorKind::InvalidFilename => Errno::Nametoolong,
            _ => Errno::Io,
        }
    }
}

impl From<rustix::io::Errno> for Errno {
    fn from(error: rustix::io::Errno) -> Errno {
        Errno::from_raw_os_error(error.raw_os_error())
    }
}

impl From<std::num::TryFromIntError> for Errno {
    fn from(_: std::num::TryFromIntError) -> Errno {
        Errno::Overflow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_os_errors_and_escapes() {
        assert_eq!(
            Errno::from(io::Error::from_raw_os_error(libc::ENOENT)),
            Errno::Noent
        );
        assert_eq!(
            Errno::from(io::Error::from_raw_os_error(libc::EPIPE)),
            Errno::Pipe
        );
        let escape = io::Error::new(
            io::ErrorKind::PermissionDenied,
            "a path led outside of the filesystem",
        );
        assert_eq!(Errno::from(escape), Errno::Notcapable);
    }
}
