//! Calls on paths, resolved under a directory descriptor.

use crate::{Errno, GuestMemory, WasiCtx};

pub fn path_create_directory(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _path: u32,
    _path_len: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn path_filestat_get(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _flags: u32,
    _path: u32,
    _path_len: u32,
    _out: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn path_filestat_set_times(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _flags: u32,
    _path: u32,
    _path_len: u32,
    _atim: u64,
    _mtim: u64,
    _fst_flags: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn path_link(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _old_fd: u32,
    _old_flags: u32,
    _old_path: u32,
    _old_path_len: u32,
    _new_fd: u32,
    _new_path: u32,
    _new_path_len: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn path_open(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _dirflags: u32,
    _path: u32,
    _path_len: u32,
    _oflags: u32,
    _rights_base: u64,
    _rights_inheriting: u64,
    _fdflags: u32,
    _opened_fd: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn path_readlink(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _path: u32,
    _path_len: u32,
    _buf: u32,
    _buf_len: u32,
    _bufused: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn path_remove_directory(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _path: u32,
    _path_len: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn path_rename(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _old_path: u32,
    _old_path_len: u32,
    _new_fd: u32,
    _new_path: u32,
    _new_path_len: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn path_symlink(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _old_path: u32,
    _old_path_len: u32,
    _fd: u32,
    _new_path: u32,
    _new_path_len: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn path_unlink_file(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _path: u32,
    _path_len: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}
