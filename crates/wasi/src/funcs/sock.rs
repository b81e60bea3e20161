//! Calls on sockets.
//!
//! Preview1 can only use sockets that are already open (preopened); hoist
//! preopens none yet, so every fd the guest can name is not a socket.

use crate::{Errno, GuestMemory, WasiCtx};

/// `EBADF` for an fd that is not open, `ENOTSOCK` for any other.
fn not_a_socket(ctx: &WasiCtx, fd: u32) -> Errno {
    match ctx.table.get(fd) {
        Err(errno) => errno,
        Ok(_) => Errno::Notsock,
    }
}

pub fn sock_accept(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    _flags: u32,
    _fd_out: u32,
) -> Result<(), Errno> {
    Err(not_a_socket(ctx, fd))
}

pub fn sock_recv(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    _ri_data: u32,
    _ri_data_len: u32,
    _ri_flags: u32,
    _ro_datalen: u32,
    _ro_flags: u32,
) -> Result<(), Errno> {
    Err(not_a_socket(ctx, fd))
}

pub fn sock_send(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    _si_data: u32,
    _si_data_len: u32,
    _si_flags: u32,
    _so_datalen: u32,
) -> Result<(), Errno> {
    Err(not_a_socket(ctx, fd))
}

pub fn sock_shutdown(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    _how: u32,
) -> Result<(), Errno> {
    Err(not_a_socket(ctx, fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_badf_or_notsock() {
        let mut ctx = WasiCtx::builder().build();
        let mut bytes = vec![0u8; 64];
        let mut memory = GuestMemory::new(&mut bytes);
        assert_eq!(
            sock_accept(&mut ctx, &mut memory, 9, 0, 0),
            Err(Errno::Badf)
        );
        assert_eq!(
            sock_accept(&mut ctx, &mut memory, 0, 0, 0),
            Err(Errno::Notsock)
        );
        assert_eq!(
            sock_recv(&mut ctx, &mut memory, 1, 0, 0, 0, 0, 0),
            Err(Errno::Notsock)
        );
        assert_eq!(
            sock_send(&mut ctx, &mut memory, 2, 0, 0, 0, 0),
            Err(Errno::Notsock)
        );
        assert_eq!(sock_shutdown(&mut ctx, &mut memory, 3, 0), Err(Errno::Badf));
    }
}
