//! Calls on sockets.

use crate::{Errno, GuestMemory, WasiCtx};

pub fn sock_accept(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _flags: u32,
    _fd_out: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn sock_recv(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _ri_data: u32,
    _ri_data_len: u32,
    _ri_flags: u32,
    _ro_datalen: u32,
    _ro_flags: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn sock_send(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _si_data: u32,
    _si_data_len: u32,
    _si_flags: u32,
    _so_datalen: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}

pub fn sock_shutdown(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _fd: u32,
    _how: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}
