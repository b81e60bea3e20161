//! Calls on file descriptors.
//!
//! Positions live in [`OpenFile::position`]: reads and writes are
//! positioned (`pread`/`pwrite`) at that offset and then advance it, so the
//! host file offset never matters. With `APPEND`, the host file is in
//! append mode too and writes are plain `writev`s, which the kernel puts
//! at the end of the file atomically, other writers or not.
//!
//! Files that cannot seek (FIFOs, character devices, sockets: see
//! [`OpenFile::seekable`]) are streams instead: plain `read`/`write`, and
//! every call that needs a position is `ESPIPE`, as for stdio.

use super::fs_util::{self, filetype, put_u16, put_u32, put_u64, rights};
use crate::abi::{fdstat, filestat, prestat, whence, ADVICE_MAX, PREOPENTYPE_DIR};
use crate::table::{fdflags, lock, Descriptor, Entry, OpenFile, Stdio};
use crate::{Errno, GuestMemory, IoVec, WasiCtx};
use cap_std::fs::{File, FileExt};
use std::io::{self, Read, Write};
use std::sync::MutexGuard;

fn stdio_filetype(stdio: Stdio) -> u8 {
    if stdio.is_tty() {
        filetype::CHARACTER_DEVICE
    } else {
        filetype::UNKNOWN
    }
}

/// Whether the guest may read `file`.
fn readable(file: &OpenFile) -> Result<(), Errno> {
    if file.readable && file.rights.base & rights::FD_READ != 0 {
        Ok(())
    } else {
        Err(Errno::Badf)
    }
}

/// Whether the guest may write `file` (`EROFS` below a read-only preopen).
fn writable(file: &OpenFile) -> Result<(), Errno> {
    file.access.check_write()?;
    if file.writable && file.rights.base & rights::FD_WRITE != 0 {
        Ok(())
    } else {
        Err(Errno::Badf)
    }
}

/// `ESPIPE` for a stream: it has no position to seek, tell, or read or
/// write at.
fn seekable(file: &OpenFile) -> Result<(), Errno> {
    if file.seekable {
        Ok(())
    } else {
        Err(Errno::Spipe)
    }
}

/// `entry` locked, once it is known to hold `needed` (`ENOTCAPABLE` if
/// the guest gave any of them up; see `Rights`): one lock for the check
/// and the call.
fn locked(entry: &Entry, needed: u64) -> Result<MutexGuard<'_, Descriptor>, Errno> {
    let guard = lock(entry);
    guard.require(needed)?;
    Ok(guard)
}

/// `entry` locked, for telling its position: `FD_TELL` or `FD_SEEK` will
/// do (witx: `fd_seek` implies `fd_tell`).
fn locked_to_tell(entry: &Entry) -> Result<MutexGuard<'_, Descriptor>, Errno> {
    let guard = lock(entry);
    guard
        .require(rights::FD_TELL)
        .or_else(|_| guard.require(rights::FD_SEEK))?;
    Ok(guard)
}

fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Reads into `iovs` in order from `pos` until one comes back short.
/// Bytes already read when an error happens are reported, not the error.
fn read_iovecs_at(
    file: &File,
    memory: &mut GuestMemory,
    iovs: &[IoVec],
    mut pos: u64,
) -> Result<u32, Errno> {
    let mut total: u32 = 0;
    for iov in iovs.iter().filter(|iov| iov.len > 0) {
        let buf = memory.slice_mut(iov.ptr, iov.len)?;
        let n = match retry(|| file.read_at(buf, pos)) {
            Ok(n) => n,
            Err(_) if total > 0 => break,
            Err(e) => return Err(e.into()),
        };
        total = total.checked_add(n as u32).ok_or(Errno::Overflow)?;
        pos = pos.checked_add(n as u64).ok_or(Errno::Overflow)?;
        if n < buf.len() {
            break;
        }
    }
    Ok(total)
}

/// One `read(2)` from a stream into the first non-empty buffer: a pipe or
/// device gives what it has, as `readv` would, and nothing is read ahead.
fn read_stream(file: &File, memory: &mut GuestMemory, iovs: &[IoVec]) -> Result<u32, Errno> {
    let Some(iov) = iovs.iter().find(|iov| iov.len > 0) else {
        return Ok(0);
    };
    let buf = memory.slice_mut(iov.ptr, iov.len)?;
    let mut file = file;
    Ok(retry(|| file.read(buf))? as u32)
}

/// Writes the buffers to a stream with `write(2)` in order; stops at a
/// short write (a full pipe in non-blocking mode), at an error after some
/// bytes (reporting the count), or at `u32::MAX` bytes.
fn write_stream(file: &File, memory: &GuestMemory, iovs: &[IoVec]) -> Result<u32, Errno> {
    let mut file = file;
    let mut total: u32 = 0;
    for iov in iovs.iter().filter(|iov| iov.len > 0) {
        let room = (u32::MAX - total).min(iov.len);
        if room == 0 {
            break;
        }
        let buf = memory.slice(iov.ptr, room)?;
        match retry(|| file.write(buf)) {
            Ok(n) => {
                total += n as u32;
                if n < buf.len() {
                    break;
                }
            }
            Err(_) if total > 0 => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(total)
}

/// Writes the buffers to a standard stream in order; stops early (with
/// the count so far) on an error after some bytes, or at `u32::MAX` bytes,
/// the most `nwritten` can say. Up to 16 buffers go out per `writev`,
/// gathered on the stack: the common call allocates nothing.
fn write_stdio(stdio: Stdio, memory: &GuestMemory, iovs: &[IoVec]) -> Result<u32, Errno> {
    const CHUNK: usize = 16;
    let mut bufs: [&[u8]; CHUNK] = [&[]; CHUNK];
    let mut iovs = iovs.iter().filter(|iov| iov.len > 0).peekable();
    let mut total: u32 = 0;
    loop {
        let (mut count, mut want) = (0, 0u32);
        while count < CHUNK {
            let Some(iov) = iovs.peek() else { break };
            let room = (u32::MAX - total - want).min(iov.len);
            if room == 0 {
                break;
            }
            bufs[count] = memory.slice(iov.ptr, room)?;
            want += room;
            count += 1;
            iovs.next();
        }
        if count == 0 {
            return Ok(total);
        }
        let wrote = match stdio.write_vectored(&bufs[..count]) {
            // At most `want` bytes were handed in.
            Ok(n) => n as u32,
            Err(_) if total > 0 => return Ok(total),
            Err(e) => return Err(e),
        };
        total += wrote;
        if wrote < want {
            return Ok(total);
        }
    }
}

/// Writes all of `iovs` from `pos`. Bytes already written when an error
/// happens are reported, not the error.
fn write_iovecs_at(
    file: &File,
    memory: &GuestMemory,
    iovs: &[IoVec],
    mut pos: u64,
) -> Result<u32, Errno> {
    let mut total: u32 = 0;
    for iov in iovs.iter().filter(|iov| iov.len > 0) {
        let mut buf = memory.slice(iov.ptr, iov.len)?;
        while !buf.is_empty() {
            let result = match retry(|| file.write_at(buf, pos)) {
                Ok(0) => Err(Errno::Io),
                Ok(n) => Ok(n),
                Err(e) => Err(Errno::from(e)),
            };
            let n = match result {
                Ok(n) => n,
                Err(_) if total > 0 => return Ok(total),
                Err(e) => return Err(e),
            };
            buf = &buf[n..];
            total = total.checked_add(n as u32).ok_or(Errno::Overflow)?;
            pos = pos.checked_add(n as u64).ok_or(Errno::Overflow)?;
        }
    }
    Ok(total)
}

/// Turns the host file's own `O_APPEND` on or off. A file the guest
/// opened, or set, with `APPEND` is in append mode on the host too, so
/// that each append lands at the end atomically even with other
/// processes writing to the same file (POSIX `write`); `fd_pwrite` turns
/// it off for its one write (see there).
pub(crate) fn set_host_append(file: &File, on: bool) -> Result<(), Errno> {
    set_host_flag(file, rustix::fs::OFlags::APPEND, on)
}

/// Turns a file status flag (`fcntl(F_SETFL)`) of the host file on or off.
fn set_host_flag(file: &File, flag: rustix::fs::OFlags, on: bool) -> Result<(), Errno> {
    let mut host = rustix::fs::fcntl_getfl(file)?;
    if host.contains(flag) != on {
        host.set(flag, on);
        rustix::fs::fcntl_setfl(file, host)?;
    }
    Ok(())
}

/// An `APPEND` write: one `writev` of the buffers on the host file, which
/// is in append mode, so the kernel puts them at the end as one piece;
/// returns the count and the position after them.
fn append_iovecs(file: &File, memory: &GuestMemory, iovs: &[IoVec]) -> Result<(u32, u64), Errno> {
    let mut bufs = Vec::with_capacity(iovs.len());
    let mut want: u32 = 0;
    for iov in iovs.iter().filter(|iov| iov.len > 0) {
        let room = (u32::MAX - want).min(iov.len);
        if room == 0 {
            break;
        }
        bufs.push(io::IoSlice::new(memory.slice(iov.ptr, room)?));
        want += room;
    }
    let n = retry(|| rustix::io::writev(file, &bufs).map_err(io::Error::from))?;
    let end = rustix::fs::seek(file, rustix::fs::SeekFrom::Current(0))?;
    Ok((n as u32, end))
}

pub fn fd_advise(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    offset: u64,
    len: u64,
    advice: u32,
) -> Result<(), Errno> {
    match &mut *locked(&ctx.table.get(fd)?, rights::FD_ADVISE)? {
        Descriptor::File(file) => seekable(file)?,
        Descriptor::Dir(_) => return Err(Errno::Isdir),
        Descriptor::Stdio(..) | Descriptor::Socket(_) => return Err(Errno::Spipe),
    }
    if advice > ADVICE_MAX {
        return Err(Errno::Inval);
    }
    offset.checked_add(len).ok_or(Errno::Inval)?;
    // Advice is only a hint; ignoring it is allowed.
    Ok(())
}

pub fn fd_allocate(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    offset: u64,
    len: u64,
) -> Result<(), Errno> {
    let entry = ctx.table.get(fd)?;
    let mut guard = locked(&entry, rights::FD_ALLOCATE)?;
    let file = guard.as_file()?;
    seekable(file)?;
    writable(file)?;
    // posix_fallocate(3): an empty range is invalid (it once grew the file
    // to `offset`).
    if len == 0 {
        return Err(Errno::Inval);
    }
    let end = offset.checked_add(len).ok_or(Errno::Fbig)?;
    if end > i64::MAX as u64 {
        return Err(Errno::Fbig);
    }
    if end > file.file.metadata()?.len() {
        file.file.set_len(end)?;
    }
    Ok(())
}

pub fn fd_close(ctx: &mut WasiCtx, _memory: &mut GuestMemory, fd: u32) -> Result<(), Errno> {
    ctx.table.remove(fd)?;
    Ok(())
}

fn sync(ctx: &mut WasiCtx, fd: u32, data_only: bool) -> Result<(), Errno> {
    let needed = if data_only {
        rights::FD_DATASYNC
    } else {
        rights::FD_SYNC
    };
    match &mut *locked(&ctx.table.get(fd)?, needed)? {
        Descriptor::File(file) if data_only => retry(|| file.file.sync_data())?,
        Descriptor::File(file) => retry(|| file.file.sync_all())?,
        Descriptor::Dir(dir) => {
            use std::os::fd::AsRawFd;
            // SAFETY: fsync only takes the open fd.
            if unsafe { libc::fsync(dir.dir.as_raw_fd()) } != 0 {
                return Err(io::Error::last_os_error().into());
            }
        }
        Descriptor::Stdio(..) | Descriptor::Socket(_) => return Err(Errno::Inval),
    }
    Ok(())
}

pub fn fd_datasync(ctx: &mut WasiCtx, _memory: &mut GuestMemory, fd: u32) -> Result<(), Errno> {
    sync(ctx, fd, true)
}

pub fn fd_sync(ctx: &mut WasiCtx, _memory: &mut GuestMemory, fd: u32) -> Result<(), Errno> {
    sync(ctx, fd, false)
}

/// An `fdstat`.
fn fdstat_bytes(filetype: u8, flags: u16, base: u64, inheriting: u64) -> [u8; fdstat::SIZE] {
    let mut out = [0u8; fdstat::SIZE];
    out[fdstat::FILETYPE] = filetype;
    put_u16(&mut out, fdstat::FLAGS, flags);
    put_u64(&mut out, fdstat::RIGHTS_BASE, base);
    put_u64(&mut out, fdstat::RIGHTS_INHERITING, inheriting);
    out
}

pub fn fd_fdstat_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    out: u32,
) -> Result<(), Errno> {
    let bytes = match &mut *lock(&ctx.table.get(fd)?) {
        Descriptor::Stdio(stdio, r, flags) => {
            fdstat_bytes(stdio_filetype(*stdio), *flags, r.base, r.inheriting)
        }
        Descriptor::File(file) => {
            let ft = fs_util::filetype_of(file.file.metadata()?.file_type());
            fdstat_bytes(ft, file.flags, file.rights.base, file.rights.inheriting)
        }
        Descriptor::Dir(dir) => fdstat_bytes(
            filetype::DIRECTORY,
            0,
            dir.rights.base,
            dir.rights.inheriting,
        ),
        Descriptor::Socket(socket) => fdstat_bytes(
            socket.filetype(),
            socket.flags,
            socket.rights.base,
            socket.rights.inheriting,
        ),
    };
    memory.write(out, &bytes)
}

pub fn fd_fdstat_set_flags(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    flags: u32,
) -> Result<(), Errno> {
    const ALL: u32 = fdflags::ALL as u32;
    const SYNCS: u16 = fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC;
    if flags & !ALL != 0 {
        return Err(Errno::Inval);
    }
    let flags = flags as u16;
    match &mut *locked(&ctx.table.get(fd)?, rights::FD_FDSTAT_SET_FLAGS)? {
        Descriptor::File(file) => {
            // Only APPEND and NONBLOCK can change; the sync flags are fixed
            // when the file is opened. The position is left alone.
            if flags & SYNCS != file.flags & SYNCS {
                return Err(Errno::Inval);
            }
            // APPEND goes to the host file of a file that can be written
            // at a position (see `set_host_append`).
            if (flags ^ file.flags) & fdflags::APPEND != 0 && file.seekable && file.writable {
                set_host_append(&file.file, flags & fdflags::APPEND != 0)?;
            }
            // NONBLOCK goes to the host file, where it matters for streams
            // (regular files ignore it).
            if (flags ^ file.flags) & fdflags::NONBLOCK != 0 {
                let on = flags & fdflags::NONBLOCK != 0;
                set_host_flag(&file.file, rustix::fs::OFlags::NONBLOCK, on)?;
            }
            file.flags = flags;
            Ok(())
        }
        // The host's stdio stays blocking and unbuffered whatever the
        // guest asks; NONBLOCK is emulated (reads and writes that would
        // wait are EAGAIN), APPEND is only reported.
        Descriptor::Stdio(_, _, stdio_flags) => {
            if flags & SYNCS != 0 {
                return Err(Errno::Inval);
            }
            *stdio_flags = flags;
            Ok(())
        }
        // NONBLOCK is all a socket has.
        Descriptor::Socket(socket) => {
            if flags & !fdflags::NONBLOCK != 0 {
                return Err(Errno::Inval);
            }
            socket.set_nonblocking(flags & fdflags::NONBLOCK != 0)
        }
        Descriptor::Dir(_) => Err(Errno::Badf),
    }
}

pub fn fd_fdstat_set_rights(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> Result<(), Errno> {
    match &mut *lock(&ctx.table.get(fd)?) {
        Descriptor::File(f) => f.rights.narrow(base, inheriting),
        Descriptor::Dir(d) => d.rights.narrow(base, inheriting),
        Descriptor::Stdio(_, r, _) => r.narrow(base, inheriting),
        Descriptor::Socket(s) => s.rights.narrow(base, inheriting),
    }
}

pub fn fd_filestat_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    out: u32,
) -> Result<(), Errno> {
    memory.write(out, &fd_filestat(ctx, fd)?)
}

/// The `filestat` of `fd`, as preview1 lays it out.
pub(crate) fn fd_filestat(ctx: &WasiCtx, fd: u32) -> Result<[u8; filestat::SIZE], Errno> {
    Ok(
        match &mut *locked(&ctx.table.get(fd)?, rights::FD_FILESTAT_GET)? {
            Descriptor::Stdio(stdio, _, _) => fs_util::filestat_synthetic(stdio_filetype(*stdio)),
            Descriptor::File(file) => fs_util::filestat_bytes(&file.file.metadata()?),
            Descriptor::Dir(dir) => fs_util::filestat_bytes(&dir.dir.dir_metadata()?),
            Descriptor::Socket(socket) => fs_util::filestat_synthetic(socket.filetype()),
        },
    )
}

pub fn fd_filestat_set_size(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    size: u64,
) -> Result<(), Errno> {
    let entry = ctx.table.get(fd)?;
    let mut guard = locked(&entry, rights::FD_FILESTAT_SET_SIZE)?;
    let file = guard.as_file()?;
    writable(file)?;
    if size > i64::MAX as u64 {
        return Err(Errno::Fbig);
    }
    retry(|| file.file.set_len(size))?;
    Ok(())
}

pub fn fd_filestat_set_times(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> Result<(), Errno> {
    let (atim, mtim) = fs_util::decode_times(atim, mtim, fst_flags)?;
    match &mut *locked(&ctx.table.get(fd)?, rights::FD_FILESTAT_SET_TIMES)? {
        Descriptor::File(file) => {
            file.access.check_write()?;
            fs_util::set_fd_times(&file.file, atim, mtim)
        }
        Descriptor::Dir(dir) => {
            dir.access.check_write()?;
            fs_util::set_dir_times(&*dir.dir, atim, mtim)
        }
        Descriptor::Stdio(..) | Descriptor::Socket(_) => Err(Errno::Badf),
    }
}

pub fn fd_pread(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> Result<(), Errno> {
    let iovs = memory.iovecs(iovs, iovs_len)?;
    memory.slice(nread, 4)?;
    let n = match &mut *locked(&ctx.table.get(fd)?, rights::FD_READ | rights::FD_SEEK)? {
        Descriptor::File(file) => {
            seekable(file)?;
            readable(file)?;
            read_iovecs_at(&file.file, memory, &iovs, offset)?
        }
        Descriptor::Dir(_) => return Err(Errno::Isdir),
        Descriptor::Stdio(..) | Descriptor::Socket(_) => return Err(Errno::Spipe),
    };
    memory.write_u32(nread, n)
}

/// The guest name of preopened directory `fd`. Only preopens answer the
/// prestat calls: wasi-libc scans fds from 3 up and stops at the first EBADF.
fn preopen_name(ctx: &WasiCtx, fd: u32) -> Result<String, Errno> {
    match &mut *lock(&ctx.table.get(fd)?) {
        Descriptor::Dir(dir) => dir.preopen.clone().ok_or(Errno::Badf),
        _ => Err(Errno::Badf),
    }
}

pub fn fd_prestat_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    out: u32,
) -> Result<(), Errno> {
    let name = preopen_name(ctx, fd)?;
    let len = u32::try_from(name.len())?;
    let mut bytes = [0u8; prestat::SIZE];
    bytes[prestat::TAG] = PREOPENTYPE_DIR;
    put_u32(&mut bytes, prestat::NAME_LEN, len);
    memory.write(out, &bytes)
}

pub fn fd_prestat_dir_name(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    let name = preopen_name(ctx, fd)?;
    if name.len() > path_len as usize {
        return Err(Errno::Nametoolong);
    }
    memory.write(path, name.as_bytes())
}

pub fn fd_pwrite(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> Result<(), Errno> {
    let iovs = memory.iovecs(iovs, iovs_len)?;
    memory.slice(nwritten, 4)?;
    let n = match &mut *locked(&ctx.table.get(fd)?, rights::FD_WRITE | rights::FD_SEEK)? {
        // POSIX semantics even with APPEND: the data goes at `offset`
        // (Linux would append; wasi-testsuite accepts both).
        Descriptor::File(file) => {
            seekable(file)?;
            writable(file)?;
            // Linux's pwrite appends on a file in append mode; the host
            // file leaves it for this write (the descriptor's lock keeps
            // the guest's other calls on it out meanwhile).
            let append = file.flags & fdflags::APPEND != 0;
            if append {
                set_host_append(&file.file, false)?;
            }
            let written = write_iovecs_at(&file.file, memory, &iovs, offset);
            if append {
                set_host_append(&file.file, true)?;
            }
            written?
        }
        Descriptor::Dir(_) => return Err(Errno::Isdir),
        Descriptor::Stdio(..) | Descriptor::Socket(_) => return Err(Errno::Spipe),
    };
    memory.write_u32(nwritten, n)
}

pub fn fd_read(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> Result<(), Errno> {
    let iovs = memory.iovecs(iovs, iovs_len)?;
    memory.slice(nread, 4)?;
    let n = match &mut *locked(&ctx.table.get(fd)?, rights::FD_READ)? {
        Descriptor::File(file) if !file.seekable => {
            readable(file)?;
            read_stream(&file.file, memory, &iovs)?
        }
        Descriptor::File(file) => {
            readable(file)?;
            let n = read_iovecs_at(&file.file, memory, &iovs, file.position)?;
            file.position = file
                .position
                .checked_add(u64::from(n))
                .ok_or(Errno::Overflow)?;
            n
        }
        Descriptor::Stdio(stdio, _, flags) => {
            if *flags & fdflags::NONBLOCK != 0
                && *stdio == Stdio::Stdin
                && !crate::table::ready_now(stdio.host_fd(), libc::POLLIN)?
            {
                return Err(Errno::Again);
            }
            // One read into the first non-empty buffer: a pipe or terminal
            // gives what it has, and nothing is read ahead.
            match iovs.iter().find(|iov| iov.len > 0) {
                Some(iov) => stdio.read(memory.slice_mut(iov.ptr, iov.len)?)? as u32,
                None => {
                    if *stdio != Stdio::Stdin {
                        return Err(Errno::Badf);
                    }
                    0
                }
            }
        }
        Descriptor::Socket(socket) => socket.recv(memory, &iovs, false, false)?.len,
        Descriptor::Dir(_) => return Err(Errno::Isdir),
    };
    memory.write_u32(nread, n)
}

pub fn fd_renumber(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    to: u32,
) -> Result<(), Errno> {
    // Like Wasmtime: both must be open; `to` is closed and replaced.
    ctx.table.renumber(fd, to)
}

pub fn fd_seek(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    offset: u64,
    whence: u32,
    newoffset: u32,
) -> Result<(), Errno> {
    // Asking where the position is (libc's `lseek(fd, 0, SEEK_CUR)`) is
    // telling.
    let entry = ctx.table.get(fd)?;
    let mut guard = if offset == 0 && whence == whence::CUR {
        locked_to_tell(&entry)?
    } else {
        locked(&entry, rights::FD_SEEK)?
    };
    let file = match &mut *guard {
        Descriptor::File(file) => file,
        Descriptor::Dir(_) => return Err(Errno::Isdir),
        Descriptor::Stdio(..) | Descriptor::Socket(_) => return Err(Errno::Spipe),
    };
    seekable(file)?;
    memory.slice(newoffset, 8)?;
    let offset = offset as i64;
    let position = match whence {
        whence::SET => u64::try_from(offset).map_err(|_| Errno::Inval)?,
        whence::CUR => file
            .position
            .checked_add_signed(offset)
            .ok_or(Errno::Inval)?,
        whence::END => file
            .file
            .metadata()?
            .len()
            .checked_add_signed(offset)
            .ok_or(Errno::Inval)?,
        _ => return Err(Errno::Inval),
    };
    if position > i64::MAX as u64 {
        return Err(Errno::Inval);
    }
    file.position = position;
    memory.write_u64(newoffset, position)
}

pub fn fd_tell(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    out: u32,
) -> Result<(), Errno> {
    let position = match &mut *locked_to_tell(&ctx.table.get(fd)?)? {
        Descriptor::File(file) => {
            seekable(file)?;
            file.position
        }
        Descriptor::Dir(_) => return Err(Errno::Isdir),
        Descriptor::Stdio(..) | Descriptor::Socket(_) => return Err(Errno::Spipe),
    };
    memory.write_u64(out, position)
}

pub fn fd_write(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> Result<(), Errno> {
    let iovs = memory.iovecs(iovs, iovs_len)?;
    memory.slice(nwritten, 4)?;
    let n = match &mut *locked(&ctx.table.get(fd)?, rights::FD_WRITE)? {
        Descriptor::File(file) if !file.seekable => {
            writable(file)?;
            write_stream(&file.file, memory, &iovs)?
        }
        Descriptor::File(file) => {
            writable(file)?;
            if file.flags & fdflags::APPEND != 0 {
                let (n, end) = append_iovecs(&file.file, memory, &iovs)?;
                file.position = end;
                n
            } else {
                let start = file.position;
                let n = write_iovecs_at(&file.file, memory, &iovs, start)?;
                file.position = start.checked_add(u64::from(n)).ok_or(Errno::Overflow)?;
                n
            }
        }
        // Each buffer goes out as it is, never gathered into one host
        // allocation: iovecs may all alias one large guest buffer.
        Descriptor::Stdio(stdio, _, flags) => {
            if *flags & fdflags::NONBLOCK != 0
                && *stdio != Stdio::Stdin
                && !crate::table::ready_now(stdio.host_fd(), libc::POLLOUT)?
            {
                return Err(Errno::Again);
            }
            write_stdio(*stdio, memory, &iovs)?
        }
        Descriptor::Socket(socket) => socket.send(memory, &iovs, None)?,
        Descriptor::Dir(_) => return Err(Errno::Isdir),
    };
    memory.write_u32(nwritten, n)
}
