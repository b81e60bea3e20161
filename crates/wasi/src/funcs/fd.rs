//! Calls on file descriptors.

use crate::{Errno, GuestMemory, WasiCtx};

pub fn fd_advise(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _offset: u64,
    _len: u64,
    _advice: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_allocate(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _offset: u64,
    _len: u64,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_close(_ctx: &mut WasiCtx, _memory: &mut GuestMemory, _fd: u32) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_datasync(_ctx: &mut WasiCtx, _memory: &mut GuestMemory, _fd: u32) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_fdstat_get(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _out: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_fdstat_set_flags(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _flags: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_fdstat_set_rights(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _base: u64,
    _inheriting: u64,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_filestat_get(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _out: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_filestat_set_size(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _size: u64,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_filestat_set_times(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _atim: u64,
    _mtim: u64,
    _fst_flags: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_pread(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _iovs: u32,
    _iovs_len: u32,
    _offset: u64,
    _nread: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_prestat_get(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _out: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_prestat_dir_name(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _path: u32,
    _path_len: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_pwrite(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _iovs: u32,
    _iovs_len: u32,
    _offset: u64,
    _nwritten: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_read(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _iovs: u32,
    _iovs_len: u32,
    _nread: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_readdir(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _buf: u32,
    _buf_len: u32,
    _cookie: u64,
    _bufused: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_renumber(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _to: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_seek(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _offset: u64,
    _whence: u32,
    _newoffset: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_sync(_ctx: &mut WasiCtx, _memory: &mut GuestMemory, _fd: u32) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_tell(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _out: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn fd_write(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _iovs: u32,
    _iovs_len: u32,
    _nwritten: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}
