//! WASI error numbers and the mapping from host errors.

pub use crate::abi::Errno;
use std::io;

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
