//! Calls on sockets: preview1's four, which work on any socket the guest
//! holds (a preopened listener, a connection accepted from it, or one made
//! with the WasmEdge calls in [`crate::wasmedge`]).

use crate::abi::{fdflags, rights};
use crate::table::{lock, Descriptor};
use crate::{Errno, GuestMemory, WasiCtx};

/// `riflags` bits (`u16`).
pub(crate) mod riflags {
    pub const PEEK: u32 = 1 << 0;
    pub const WAITALL: u32 = 1 << 1;
}

/// `roflags::recv_data_truncated`.
pub(crate) const ROFLAGS_DATA_TRUNCATED: u16 = 1;

/// `sdflags` bits (`u8`).
pub(crate) mod sdflags {
    pub const RD: u32 = 1 << 0;
    pub const WR: u32 = 1 << 1;
}

pub fn sock_accept(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    flags: u32,
    fd_out: u32,
) -> Result<(), Errno> {
    let entry = ctx.table.get(fd)?;
    let mut guard = lock(&entry);
    let listener = guard.as_socket()?;
    if flags & !u32::from(fdflags::ALL) != 0 {
        return Err(Errno::Inval);
    }
    memory.slice(fd_out, 4)?;
    // The other fdflags mean nothing for a socket and are ignored, as
    // WasmEdge does; NONBLOCK makes the new connection non-blocking.
    ctx.table.check_room()?;
    let socket = listener.accept(flags & u32::from(fdflags::NONBLOCK) != 0)?;
    let new = ctx.table.push(Descriptor::Socket(socket))?;
    memory.write_u32(fd_out, new)
}

/// Receives into `ri_data`; returns the byte count and `roflags`, and
/// who sent it when the socket says (for `sock_recv_from`).
pub(crate) fn recv(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    ri_data: u32,
    ri_data_len: u32,
    ri_flags: u32,
) -> Result<(u32, u16, Option<std::net::SocketAddr>), Errno> {
    if ri_flags & !(riflags::PEEK | riflags::WAITALL) != 0 {
        return Err(Errno::Inval);
    }
    let iovs = memory.iovecs(ri_data, ri_data_len)?;
    let received = lock(&ctx.table.get(fd)?).as_socket()?.recv(
        memory,
        &iovs,
        ri_flags & riflags::PEEK != 0,
        ri_flags & riflags::WAITALL != 0,
    )?;
    let ro_flags = if received.truncated {
        ROFLAGS_DATA_TRUNCATED
    } else {
        0
    };
    Ok((received.len, ro_flags, received.from))
}

pub fn sock_recv(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    ri_data: u32,
    ri_data_len: u32,
    ri_flags: u32,
    ro_datalen: u32,
    ro_flags: u32,
) -> Result<(), Errno> {
    memory.slice(ro_datalen, 4)?;
    memory.slice(ro_flags, 2)?;
    let (len, flags, _) = recv(ctx, memory, fd, ri_data, ri_data_len, ri_flags)?;
    memory.write_u32(ro_datalen, len)?;
    memory.write_u16(ro_flags, flags)
}

pub fn sock_send(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    si_data: u32,
    si_data_len: u32,
    si_flags: u32,
    so_datalen: u32,
) -> Result<(), Errno> {
    // No `siflags` are defined.
    if si_flags != 0 {
        return Err(Errno::Inval);
    }
    let iovs = memory.iovecs(si_data, si_data_len)?;
    memory.slice(so_datalen, 4)?;
    let n = lock(&ctx.table.get(fd)?)
        .as_socket()?
        .send(memory, &iovs, None)?;
    memory.write_u32(so_datalen, n)
}

pub fn sock_shutdown(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    how: u32,
) -> Result<(), Errno> {
    let entry = ctx.table.get(fd)?;
    let mut guard = lock(&entry);
    let socket = guard.as_socket()?;
    let how = match how {
        sdflags::RD => rustix::net::Shutdown::Read,
        sdflags::WR => rustix::net::Shutdown::Write,
        h if h == sdflags::RD | sdflags::WR => rustix::net::Shutdown::Both,
        _ => return Err(Errno::Inval),
    };
    socket.rights.require(rights::SOCK_SHUTDOWN)?;
    // Shutting a listener down stops it listening and, for one the kernel
    // bound to an ephemeral port (`--tcplisten ADDR:0`), gives the port
    // back: a later `sock_listen` would listen on a new one no pattern
    // allowed, since getsockname still names the old (helper-34). A
    // listener is not connected: POSIX's ENOTCONN.
    if rustix::net::sockopt::socket_acceptconn(&socket.fd)? {
        return Err(Errno::Notconn);
    }
    rustix::net::shutdown(&socket.fd, how)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OpenSocket, SocketKind};
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn only_badf_or_notsock_without_sockets() {
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
            sock_recv(&mut ctx, &mut memory, 1, 0, 0, 0, 0, 8),
            Err(Errno::Notsock)
        );
        assert_eq!(
            sock_send(&mut ctx, &mut memory, 2, 0, 0, 0, 0),
            Err(Errno::Notsock)
        );
        assert_eq!(sock_shutdown(&mut ctx, &mut memory, 3, 1), Err(Errno::Badf));
        assert_eq!(sock_shutdown(&mut ctx, &mut memory, 3, 0), Err(Errno::Badf));
    }

    /// A context whose fd 3 listens on a loopback port; returns the port.
    fn listening_ctx() -> (WasiCtx, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut builder = WasiCtx::builder();
        builder.preopen_listener(listener.into()).unwrap();
        (builder.build(), port)
    }

    /// Shutting a listener down would stop it listening and give back
    /// its ephemeral port, which a later listen would replace with one no
    /// pattern allowed (helper-34): refused, and it keeps listening.
    #[test]
    fn a_listener_is_not_shut_down() {
        let (mut ctx, port) = listening_ctx();
        let mut bytes = vec![0u8; 64];
        let mut memory = GuestMemory::new(&mut bytes);
        for how in [1, 2, 3] {
            assert_eq!(
                sock_shutdown(&mut ctx, &mut memory, 3, how),
                Err(Errno::Notconn)
            );
        }
        TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock_accept(&mut ctx, &mut memory, 3, 0, 0).unwrap();
    }

    #[test]
    fn accept_recv_peek_waitall_send_shutdown() {
        let (mut ctx, port) = listening_ctx();
        let mut bytes = vec![0u8; 4096];
        let mut memory = GuestMemory::new(&mut bytes);
        // Nothing pending: a non-blocking listener says EAGAIN.
        crate::funcs::fd_fdstat_set_flags(&mut ctx, &mut memory, 3, fdflags::NONBLOCK.into())
            .unwrap();
        assert_eq!(
            sock_accept(&mut ctx, &mut memory, 3, 0, 100),
            Err(Errno::Again)
        );
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        client.write_all(b"hello world").unwrap();
        // Unknown flags are refused before anything is accepted.
        assert_eq!(
            sock_accept(&mut ctx, &mut memory, 3, 0x100, 100),
            Err(Errno::Inval)
        );
        let start = std::time::Instant::now();
        loop {
            match sock_accept(&mut ctx, &mut memory, 3, 0, 100) {
                Ok(()) => break,
                Err(Errno::Again) if start.elapsed().as_secs() < 10 => {
                    std::thread::sleep(std::time::Duration::from_millis(5))
                }
                Err(e) => panic!("accept: {e:?}"),
            }
        }
        let conn = memory.read_u32(100).unwrap();
        assert_eq!(conn, 4);
        // The connection is blocking and may not accept.
        assert_eq!(
            lock(&ctx.table.get(conn).unwrap())
                .as_socket()
                .unwrap()
                .flags,
            0
        );
        assert_eq!(
            sock_accept(&mut ctx, &mut memory, conn, 0, 100),
            Err(Errno::Notcapable)
        );
        // iovecs at 0: 5 bytes at 1000, 6 bytes at 1100.
        memory.write_u32(0, 1000).unwrap();
        memory.write_u32(4, 5).unwrap();
        memory.write_u32(8, 1100).unwrap();
        memory.write_u32(12, 6).unwrap();
        // PEEK leaves the bytes; WAITALL fills both buffers.
        sock_recv(&mut ctx, &mut memory, conn, 0, 2, riflags::PEEK, 200, 204).unwrap();
        assert_eq!(memory.read_u32(200).unwrap(), 5);
        assert_eq!(memory.slice(1000, 5).unwrap(), b"hello");
        sock_recv(
            &mut ctx,
            &mut memory,
            conn,
            0,
            2,
            riflags::WAITALL,
            200,
            204,
        )
        .unwrap();
        assert_eq!(memory.read_u32(200).unwrap(), 11);
        assert_eq!(memory.read_u16(204).unwrap(), 0);
        assert_eq!(memory.slice(1100, 6).unwrap(), b" world");
        assert_eq!(
            sock_recv(&mut ctx, &mut memory, conn, 0, 2, 4, 200, 204),
            Err(Errno::Inval)
        );
        // Send both buffers back in one call.
        sock_send(&mut ctx, &mut memory, conn, 0, 2, 0, 300).unwrap();
        assert_eq!(memory.read_u32(300).unwrap(), 11);
        let mut back = [0u8; 11];
        client.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"hello world");
        assert_eq!(
            sock_send(&mut ctx, &mut memory, conn, 0, 2, 1, 300),
            Err(Errno::Inval)
        );
        // Shut down writing: the client sees end of stream.
        assert_eq!(
            sock_shutdown(&mut ctx, &mut memory, conn, 4),
            Err(Errno::Inval)
        );
        sock_shutdown(&mut ctx, &mut memory, conn, sdflags::WR).unwrap();
        assert_eq!(client.read(&mut back).unwrap(), 0);
    }

    #[test]
    fn send_to_a_closed_peer_is_epipe_not_a_signal() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut ctx = WasiCtx::builder().build();
        let fd = ctx
            .table
            .push(Descriptor::Socket(OpenSocket::new(
                a.into(),
                SocketKind::Stream,
            )))
            .unwrap();
        drop(b);
        let mut bytes = vec![0u8; 64];
        let mut memory = GuestMemory::new(&mut bytes);
        memory.write_u32(0, 32).unwrap();
        memory.write_u32(4, 8).unwrap();
        assert_eq!(
            sock_send(&mut ctx, &mut memory, fd, 0, 1, 0, 16),
            Err(Errno::Pipe)
        );
    }
}
