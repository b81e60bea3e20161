//! The WASI preview1 ABI in one place: the numbers (errno, rights, file
//! types, flags, `whence`) and the byte layout of every struct a call reads
//! or writes in guest memory (little-endian, wasm32 alignment), plus where
//! the older `wasi_unstable` (snapshot 0) differs (see [`snapshot0`]).
//!
//! Each layout is also written down as a `#[repr(C)]` struct whose size and
//! field offsets the compiler checks against the constants, so a typo in an
//! offset fails the build. (On the 64-bit hosts hoist runs on, `repr(C)`
//! aligns `u64` to 8 bytes, as wasm32 C does.)

use std::mem::{offset_of, size_of};

/// A `wasi_snapshot_preview1` errno (witx `errno`, `u16`); the values are
/// the same in snapshot 0.
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
    // WasmEdge's extension: `sock_getaddrinfo`'s errors (its `EAI_*`),
    // returned by nothing else.
    AiAddrfamily = 77,
    AiAgain = 78,
    AiBadflag = 79,
    AiFail = 80,
    AiFamily = 81,
    AiMemory = 82,
    AiNodata = 83,
    AiNoname = 84,
    AiService = 85,
    AiSocktype = 86,
    AiSystem = 87,
}

/// `rights` bits (`u64`). Snapshot 0 has the same bits up to
/// `SOCK_SHUTDOWN`; `SOCK_ACCEPT` is new in preview1.
#[allow(dead_code)] // the full set, for reference and for sockets
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;
}

/// `filetype` values (`u8`).
#[allow(dead_code)]
pub mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_DGRAM: u8 = 5;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `whence` values (`u8`). Snapshot 0 numbers them differently: see
/// [`snapshot0::whence`].
pub mod whence {
    pub const SET: u32 = 0;
    pub const CUR: u32 = 1;
    pub const END: u32 = 2;
}

/// `clockid` values (`u32`).
pub mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME_ID: u32 = 2;
    pub const THREAD_CPUTIME_ID: u32 = 3;
}

/// `fdflags` bits (`u16`).
pub mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
    pub const ALL: u16 = APPEND | DSYNC | NONBLOCK | RSYNC | SYNC;
}

/// `oflags` bits (`u16`, passed as an `i32`).
pub mod oflags {
    pub const CREAT: u32 = 1 << 0;
    pub const DIRECTORY: u32 = 1 << 1;
    pub const EXCL: u32 = 1 << 2;
    pub const TRUNC: u32 = 1 << 3;
    pub const ALL: u32 = CREAT | DIRECTORY | EXCL | TRUNC;
}

/// `lookupflags` bits (`u32`).
pub mod lookupflags {
    pub const SYMLINK_FOLLOW: u32 = 1 << 0;
}

/// `fstflags` bits (`u16`, passed as an `i32`).
pub mod fstflags {
    pub const ATIM: u32 = 1 << 0;
    pub const ATIM_NOW: u32 = 1 << 1;
    pub const MTIM: u32 = 1 << 2;
    pub const MTIM_NOW: u32 = 1 << 3;
}

/// The largest `advice` value (`noreuse`).
pub const ADVICE_MAX: u32 = 5;

/// `eventtype` values (`u8`): a subscription's tag and an event's type.
pub mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

/// `subclockflags`: the timeout is an absolute time of the clock.
pub const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1;
/// `eventrwflags`: the peer closed its end.
pub const EVENT_FD_READWRITE_HANGUP: u16 = 1;
/// `preopentype::dir`.
pub const PREOPENTYPE_DIR: u8 = 0;

/// `iovec` / `ciovec`: a guest buffer.
pub mod iovec {
    pub const SIZE: u32 = 8;
    pub const BUF: usize = 0;
    pub const BUF_LEN: usize = 4;
}

/// `fdstat`.
pub mod fdstat {
    pub const SIZE: usize = 24;
    pub const FILETYPE: usize = 0;
    pub const FLAGS: usize = 2;
    pub const RIGHTS_BASE: usize = 8;
    pub const RIGHTS_INHERITING: usize = 16;
}

/// `filestat` (`nlink` is a `u64` here, a `u32` in snapshot 0).
pub mod filestat {
    pub const SIZE: usize = 64;
    pub const DEV: usize = 0;
    pub const INO: usize = 8;
    pub const FILETYPE: usize = 16;
    pub const NLINK: usize = 24;
    pub const FILESIZE: usize = 32;
    pub const ATIM: usize = 40;
    pub const MTIM: usize = 48;
    pub const CTIM: usize = 56;
}

/// `dirent`, the header before each name `fd_readdir` writes (the same
/// in snapshot 0).
pub mod dirent {
    pub const SIZE: usize = 24;
    pub const NEXT: usize = 0;
    pub const INO: usize = 8;
    pub const NAMLEN: usize = 16;
    pub const TYPE: usize = 20;
}

/// `prestat` (tag, then `prestat_dir`).
pub mod prestat {
    pub const SIZE: usize = 8;
    pub const TAG: usize = 0;
    pub const NAME_LEN: usize = 4;
}

/// `subscription`: userdata, then the tag and the union of
/// `subscription_clock` and `subscription_fd_readwrite` at 16.
pub mod subscription {
    pub const SIZE: u32 = 48;
    pub const USERDATA: usize = 0;
    pub const TAG: usize = 8;
    pub const CLOCK_ID: usize = 16;
    pub const CLOCK_TIMEOUT: usize = 24;
    pub const CLOCK_PRECISION: usize = 32;
    pub const CLOCK_FLAGS: usize = 40;
    pub const FD: usize = 16;
}

/// `event` (the same in snapshot 0).
pub mod event {
    pub const SIZE: u32 = 32;
    pub const USERDATA: usize = 0;
    pub const ERROR: usize = 8;
    pub const TYPE: usize = 10;
    pub const NBYTES: usize = 16;
    pub const FLAGS: usize = 24;
}

/// Where `wasi_unstable` (snapshot 0, witx `phases/old/snapshot_0`)
/// differs from preview1. Everything not here is the same.
pub mod snapshot0 {
    /// `whence`: `cur`, `end`, `set`, in that order.
    pub mod whence {
        pub const CUR: u32 = 0;
        pub const END: u32 = 1;
        pub const SET: u32 = 2;
    }

    /// `filestat` with a `u32` `linkcount`: 56 bytes.
    pub mod filestat {
        pub const SIZE: usize = 56;
        pub const DEV: usize = 0;
        pub const INO: usize = 8;
        pub const FILETYPE: usize = 16;
        pub const NLINK: usize = 20;
        pub const FILESIZE: usize = 24;
        pub const ATIM: usize = 32;
        pub const MTIM: usize = 40;
        pub const CTIM: usize = 48;
    }

    /// `subscription`: `subscription_clock` starts with an `identifier`
    /// (`u64`) that pushes the rest back 8 bytes: 56 bytes in all.
    pub mod subscription {
        pub const SIZE: u32 = 56;
        pub const USERDATA: usize = 0;
        pub const TAG: usize = 8;
        pub const CLOCK_IDENTIFIER: usize = 16;
        pub const CLOCK_ID: usize = 24;
        pub const CLOCK_TIMEOUT: usize = 32;
        pub const CLOCK_PRECISION: usize = 40;
        pub const CLOCK_FLAGS: usize = 48;
        pub const FD: usize = 16;
    }
}

// The layouts as C structs, for the compiler to check the numbers above.

#[repr(C)]
#[allow(dead_code)]
struct IovecC {
    buf: u32,
    buf_len: u32,
}

#[repr(C)]
#[allow(dead_code)]
struct FdstatC {
    filetype: u8,
    flags: u16,
    rights_base: u64,
    rights_inheriting: u64,
}

#[repr(C)]
#[allow(dead_code)]
struct FilestatC<Nlink> {
    dev: u64,
    ino: u64,
    filetype: u8,
    nlink: Nlink,
    size: u64,
    atim: u64,
    mtim: u64,
    ctim: u64,
}

#[repr(C)]
#[allow(dead_code)]
struct DirentC {
    next: u64,
    ino: u64,
    namlen: u32,
    ty: u8,
}

#[repr(C)]
#[allow(dead_code)]
struct PrestatC {
    tag: u8,
    name_len: u32,
}

#[repr(C)]
#[allow(dead_code)]
struct SubscriptionClockC {
    id: u32,
    timeout: u64,
    precision: u64,
    flags: u16,
}

#[repr(C)]
#[allow(dead_code)]
struct Snapshot0SubscriptionClockC {
    identifier: u64,
    id: u32,
    timeout: u64,
    precision: u64,
    flags: u16,
}

/// A tagged union: the tag, then the payload at its alignment.
#[repr(C)]
#[allow(dead_code)]
struct TaggedC<Payload> {
    tag: u8,
    payload: Payload,
}

#[repr(C)]
#[allow(dead_code)]
struct SubscriptionC<Clock> {
    userdata: u64,
    u: TaggedC<Clock>,
}

#[repr(C)]
#[allow(dead_code)]
struct EventC {
    userdata: u64,
    error: u16,
    ty: u8,
    nbytes: u64,
    flags: u16,
}

const _: () = {
    assert!(size_of::<IovecC>() == iovec::SIZE as usize);
    assert!(offset_of!(IovecC, buf) == iovec::BUF);
    assert!(offset_of!(IovecC, buf_len) == iovec::BUF_LEN);

    assert!(size_of::<FdstatC>() == fdstat::SIZE);
    assert!(offset_of!(FdstatC, filetype) == fdstat::FILETYPE);
    assert!(offset_of!(FdstatC, flags) == fdstat::FLAGS);
    assert!(offset_of!(FdstatC, rights_base) == fdstat::RIGHTS_BASE);
    assert!(offset_of!(FdstatC, rights_inheriting) == fdstat::RIGHTS_INHERITING);

    assert!(size_of::<FilestatC<u64>>() == filestat::SIZE);
    assert!(offset_of!(FilestatC<u64>, dev) == filestat::DEV);
    assert!(offset_of!(FilestatC<u64>, ino) == filestat::INO);
    assert!(offset_of!(FilestatC<u64>, filetype) == filestat::FILETYPE);
    assert!(offset_of!(FilestatC<u64>, nlink) == filestat::NLINK);
    assert!(offset_of!(FilestatC<u64>, size) == filestat::FILESIZE);
    assert!(offset_of!(FilestatC<u64>, atim) == filestat::ATIM);
    assert!(offset_of!(FilestatC<u64>, mtim) == filestat::MTIM);
    assert!(offset_of!(FilestatC<u64>, ctim) == filestat::CTIM);

    assert!(size_of::<FilestatC<u32>>() == snapshot0::filestat::SIZE);
    assert!(offset_of!(FilestatC<u32>, dev) == snapshot0::filestat::DEV);
    assert!(offset_of!(FilestatC<u32>, ino) == snapshot0::filestat::INO);
    assert!(offset_of!(FilestatC<u32>, filetype) == snapshot0::filestat::FILETYPE);
    assert!(offset_of!(FilestatC<u32>, nlink) == snapshot0::filestat::NLINK);
    assert!(offset_of!(FilestatC<u32>, size) == snapshot0::filestat::FILESIZE);
    assert!(offset_of!(FilestatC<u32>, atim) == snapshot0::filestat::ATIM);
    assert!(offset_of!(FilestatC<u32>, mtim) == snapshot0::filestat::MTIM);
    assert!(offset_of!(FilestatC<u32>, ctim) == snapshot0::filestat::CTIM);

    assert!(size_of::<DirentC>() == dirent::SIZE);
    assert!(offset_of!(DirentC, next) == dirent::NEXT);
    assert!(offset_of!(DirentC, ino) == dirent::INO);
    assert!(offset_of!(DirentC, namlen) == dirent::NAMLEN);
    assert!(offset_of!(DirentC, ty) == dirent::TYPE);

    assert!(size_of::<PrestatC>() == prestat::SIZE);
    assert!(offset_of!(PrestatC, tag) == prestat::TAG);
    assert!(offset_of!(PrestatC, name_len) == prestat::NAME_LEN);

    type Sub = SubscriptionC<SubscriptionClockC>;
    let clock = offset_of!(Sub, u) + offset_of!(TaggedC<SubscriptionClockC>, payload);
    assert!(size_of::<Sub>() == subscription::SIZE as usize);
    assert!(offset_of!(Sub, userdata) == subscription::USERDATA);
    assert!(offset_of!(Sub, u) == subscription::TAG);
    assert!(clock + offset_of!(SubscriptionClockC, id) == subscription::CLOCK_ID);
    assert!(clock + offset_of!(SubscriptionClockC, timeout) == subscription::CLOCK_TIMEOUT);
    assert!(clock + offset_of!(SubscriptionClockC, precision) == subscription::CLOCK_PRECISION);
    assert!(clock + offset_of!(SubscriptionClockC, flags) == subscription::CLOCK_FLAGS);
    // subscription_fd_readwrite is one fd at the start of the payload.
    assert!(clock == subscription::FD);

    type Sub0 = SubscriptionC<Snapshot0SubscriptionClockC>;
    let clock0 = offset_of!(Sub0, u) + offset_of!(TaggedC<Snapshot0SubscriptionClockC>, payload);
    assert!(size_of::<Sub0>() == snapshot0::subscription::SIZE as usize);
    assert!(offset_of!(Sub0, userdata) == snapshot0::subscription::USERDATA);
    assert!(offset_of!(Sub0, u) == snapshot0::subscription::TAG);
    assert!(
        clock0 + offset_of!(Snapshot0SubscriptionClockC, identifier)
            == snapshot0::subscription::CLOCK_IDENTIFIER
    );
    assert!(
        clock0 + offset_of!(Snapshot0SubscriptionClockC, id) == snapshot0::subscription::CLOCK_ID
    );
    assert!(
        clock0 + offset_of!(Snapshot0SubscriptionClockC, timeout)
            == snapshot0::subscription::CLOCK_TIMEOUT
    );
    assert!(
        clock0 + offset_of!(Snapshot0SubscriptionClockC, precision)
            == snapshot0::subscription::CLOCK_PRECISION
    );
    assert!(
        clock0 + offset_of!(Snapshot0SubscriptionClockC, flags)
            == snapshot0::subscription::CLOCK_FLAGS
    );
    assert!(clock0 == snapshot0::subscription::FD);

    assert!(size_of::<EventC>() == event::SIZE as usize);
    assert!(offset_of!(EventC, userdata) == event::USERDATA);
    assert!(offset_of!(EventC, error) == event::ERROR);
    assert!(offset_of!(EventC, ty) == event::TYPE);
    assert!(offset_of!(EventC, nbytes) == event::NBYTES);
    assert!(offset_of!(EventC, flags) == event::FLAGS);
};
