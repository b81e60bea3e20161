//! The WasmEdge socket extension to `wasi_snapshot_preview1`, as WasmEdge
//! 0.14 defines it (`include/host/wasi/wasifunc.h`, `lib/host/wasi/
//! wasifunc.cpp`, `thirdparty/wasi/api.hpp`), for guests built with the
//! `wasmedge_wasi_socket` crate or declaring the imports themselves.
//!
//! Every call takes `i32`s and returns an errno; pointers are offsets into
//! memory 0. Unlike WasmEdge, nothing here is allowed by default: opening
//! a socket or resolving a name needs a non-empty [`NetPolicy`], and each
//! address bound, connected or sent to must match one of its patterns.
//! Anything else is `ENOTCAPABLE` (76).
//!
//! **V1 and V2.** WasmEdge registers two versions of eleven calls: the
//! plain names are V1 (the behaviour before WasmEdge 0.12), the `_v2`
//! names V2. When a module imports a plain name with a type V1 does not
//! have, WasmEdge gives it V2 instead. Only three pairs differ in type:
//! `sock_accept` (V1: `fd, *ro_fd`; V2: `fd, fdflags, *ro_fd`, which is
//! preview1's own), `sock_recv_from` (V1: 7 parameters, the sender's
//! address raw and no port; V2: 8, with the port), and
//! `sock_getlocaladdr`/`sock_getpeeraddr` (V1: 4 parameters with an
//! address type of 4 or 6; V2: 3, with a 128-byte address storage).
//! [`add_to_linker`] defines V1 under the plain names, except `sock_accept`,
//! which stays preview1's; [`link_versions`] then redefines each plain name
//! a module imports by the type it imports it with. A type matching
//! neither is left to fail instantiation (WasmEdge would bind V2 anyway).
//!
//! **Addresses.** An address argument points to a `__wasi_address_t`
//! (`buf: u32, buf_len: u32`) whose buffer is 4 bytes (IPv4, network
//! order), 16 (IPv6) or, in V2 only, 128: a `WasiAddrStorage` with the
//! family (`u16`, 1 = IPv4, 2 = IPv6) at 0 and the address from byte 2.
//! Ports are separate arguments, in host order; WasmEdge truncates them to
//! 16 bits and so does hoist.
//!
//! **Where hoist differs** from WasmEdge 0.14: `sock_recv_from` (V2) writes
//! the sender's port in host order (WasmEdge writes `sin_port` as it is,
//! in network order: its issue 2491, a bug); `sock_accept`'s NONBLOCK
//! applies to the new connection (WasmEdge sets it on the listener, a
//! bug); `sock_getaddrinfo` walks only as many of the guest's result
//! entries as it fills (WasmEdge checks all `max_res_len` first, holding a
//! host array of that many), skips results it has no numbers for (raw
//! sockets) where WasmEdge's behaviour is undefined, and refuses node names
//! over 1025 bytes and service names over 256; AF_UNIX sockets are not
//! offered (`ENOSYS`, as WasmEdge without `--allow-af-unix`); shutdown with
//! no flags is `EINVAL` (preview1) where WasmEdge shuts down reading;
//! `sock_listen` on a socket never bound needs a pattern matching port 0
//! on the unspecified address, since the kernel would bind it to every
//! interface. As in WasmEdge, `sock_getaddrinfo` writes the whole
//! `sa_data` (14 or 26 bytes) and the canonical name with its NUL whatever
//! lengths the guest's entries declare; only the bounds of memory are
//! checked.
//! `epoll_oneoff` is `poll_oneoff`: level-triggered, which an edge-triggered
//! caller can use unchanged (it only sees readiness more often).

// The signatures mirror the WasmEdge calls, some of which take many arguments.
#![allow(clippy::too_many_arguments)]

use crate::abi::fdflags;
use crate::funcs::{self, sock};
use crate::linker::errno;
use crate::table::{lock, Descriptor};
use crate::{Errno, GuestMemory, OpenSocket, SocketKind, WasiCtx};
use anyhow::Result;
use hoist::{Caller, ExternType, Linker, Module, Store, ValType};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::linker::MODULE;

/// `address_family` values (`u8`).
pub mod address_family {
    pub const UNSPEC: u8 = 0;
    pub const INET4: u8 = 1;
    pub const INET6: u8 = 2;
    pub const AF_UNIX: u8 = 3;
}

/// `sock_type` values (`u8`).
pub mod sock_type {
    pub const ANY: u8 = 0;
    pub const DGRAM: u8 = 1;
    pub const STREAM: u8 = 2;
}

/// `protocol` values (`u8`).
pub mod protocol {
    pub const IP: u8 = 0;
    pub const TCP: u8 = 1;
    pub const UDP: u8 = 2;
}

/// `sock_opt_level`: only `SOL_SOCKET`.
pub const SOCK_OPT_LEVEL_SOL_SOCKET: u32 = 0;

/// `sock_opt_so` values, in order: `SO_REUSEADDR` is 0, ...,
/// `SO_BINDTODEVICE` is 14. Index = WASI value.
const SOCK_OPT_SO: [libc::c_int; 15] = [
    libc::SO_REUSEADDR,
    libc::SO_TYPE,
    libc::SO_ERROR,
    libc::SO_DONTROUTE,
    libc::SO_BROADCAST,
    libc::SO_SNDBUF,
    libc::SO_RCVBUF,
    libc::SO_KEEPALIVE,
    libc::SO_OOBINLINE,
    libc::SO_LINGER,
    libc::SO_RCVLOWAT,
    libc::SO_RCVTIMEO,
    libc::SO_SNDTIMEO,
    libc::SO_ACCEPTCONN,
    libc::SO_BINDTODEVICE,
];
/// `sock_opt_so::SO_TYPE`, `SO_ERROR`: their values are translated.
const SO_TYPE: u32 = 1;
const SO_ERROR: u32 = 2;

/// `aiflags` bits (`u16`).
pub mod aiflags {
    pub const PASSIVE: u16 = 1 << 0;
    pub const CANONNAME: u16 = 1 << 1;
    pub const NUMERICHOST: u16 = 1 << 2;
    pub const NUMERICSERV: u16 = 1 << 3;
    pub const V4MAPPED: u16 = 1 << 4;
    pub const ALL: u16 = 1 << 5;
    pub const ADDRCONFIG: u16 = 1 << 6;
}

/// `__wasi_address_t`: a pointer to the address bytes and their length.
pub mod address {
    pub const SIZE: u32 = 8;
    pub const BUF: u32 = 0;
    pub const BUF_LEN: u32 = 4;
}

/// `WasiAddrStorage`: the family as a `u16`, then 126 bytes of address.
pub mod addr_storage {
    pub const SIZE: u32 = 128;
    pub const FAMILY: u32 = 0;
    pub const ADDRESS: u32 = 2;
}

/// `__wasi_addrinfo_t` (28 bytes, 4-aligned).
pub mod addrinfo {
    pub const SIZE: u32 = 28;
    pub const FLAGS: u32 = 0;
    pub const FAMILY: u32 = 2;
    pub const SOCKTYPE: u32 = 3;
    pub const PROTOCOL: u32 = 4;
    pub const ADDRLEN: u32 = 8;
    pub const ADDR: u32 = 12;
    pub const CANONNAME: u32 = 16;
    pub const CANONNAME_LEN: u32 = 20;
    pub const NEXT: u32 = 24;
}

/// `__wasi_sockaddr_t` (12 bytes): the family, then `sa_data`, the OS
/// `sockaddr` after its family field (port in network order first).
pub mod sockaddr {
    pub const SIZE: u32 = 12;
    pub const FAMILY: u32 = 0;
    pub const DATA_LEN: u32 = 4;
    pub const DATA: u32 = 8;
}

// The layouts as C structs, for the compiler to check the numbers above.
#[repr(C)]
#[allow(dead_code)]
struct AddrinfoC {
    flags: u16,
    family: u8,
    socktype: u8,
    protocol: u8,
    addrlen: u32,
    addr: u32,
    canonname: u32,
    canonname_len: u32,
    next: u32,
}

#[repr(C)]
#[allow(dead_code)]
struct SockaddrC {
    family: u8,
    data_len: u32,
    data: u32,
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<AddrinfoC>() == addrinfo::SIZE as usize);
    assert!(offset_of!(AddrinfoC, flags) == addrinfo::FLAGS as usize);
    assert!(offset_of!(AddrinfoC, family) == addrinfo::FAMILY as usize);
    assert!(offset_of!(AddrinfoC, socktype) == addrinfo::SOCKTYPE as usize);
    assert!(offset_of!(AddrinfoC, protocol) == addrinfo::PROTOCOL as usize);
    assert!(offset_of!(AddrinfoC, addrlen) == addrinfo::ADDRLEN as usize);
    assert!(offset_of!(AddrinfoC, addr) == addrinfo::ADDR as usize);
    assert!(offset_of!(AddrinfoC, canonname) == addrinfo::CANONNAME as usize);
    assert!(offset_of!(AddrinfoC, canonname_len) == addrinfo::CANONNAME_LEN as usize);
    assert!(offset_of!(AddrinfoC, next) == addrinfo::NEXT as usize);
    assert!(size_of::<SockaddrC>() == sockaddr::SIZE as usize);
    assert!(offset_of!(SockaddrC, family) == sockaddr::FAMILY as usize);
    assert!(offset_of!(SockaddrC, data_len) == sockaddr::DATA_LEN as usize);
    assert!(offset_of!(SockaddrC, data) == sockaddr::DATA as usize);
};

/// An address argument, decoded.
enum GuestAddr {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl GuestAddr {
    fn with_port(&self, port: u32) -> SocketAddr {
        // WasmEdge casts the port to 16 bits.
        let port = port as u16;
        match self {
            GuestAddr::V4(b) => SocketAddr::new(IpAddr::V4(Ipv4Addr::from(*b)), port),
            GuestAddr::V6(b) => SocketAddr::new(IpAddr::V6(Ipv6Addr::from(*b)), port),
        }
    }
}

/// Where an address argument's bytes are: `(buf, buf_len)`, both checked
/// to lie in memory.
fn address_buf(memory: &GuestMemory, addr_ptr: u32) -> Result<(u32, u32), Errno> {
    let buf = memory.read_u32(addr_ptr.checked_add(address::BUF).ok_or(Errno::Fault)?)?;
    let len = memory.read_u32(addr_ptr.checked_add(address::BUF_LEN).ok_or(Errno::Fault)?)?;
    memory.slice(buf, len)?;
    Ok((buf, len))
}

/// Reads an address argument: 4 or 16 bytes, or (`v2`) a 128-byte storage.
fn read_address(memory: &GuestMemory, addr_ptr: u32, v2: bool) -> Result<GuestAddr, Errno> {
    let (buf, len) = address_buf(memory, addr_ptr)?;
    match len {
        4 => Ok(GuestAddr::V4(memory.read(buf)?)),
        16 => Ok(GuestAddr::V6(memory.read(buf)?)),
        addr_storage::SIZE if v2 => {
            let family = memory.read_u16(buf + addr_storage::FAMILY)?;
            let at = buf + addr_storage::ADDRESS;
            match u8::try_from(family) {
                Ok(address_family::INET4) => Ok(GuestAddr::V4(memory.read(at)?)),
                Ok(address_family::INET6) => Ok(GuestAddr::V6(memory.read(at)?)),
                Ok(address_family::AF_UNIX) => Err(Errno::Afnosupport),
                _ => Err(Errno::Inval),
            }
        }
        _ => Err(Errno::Inval),
    }
}

/// The address bytes and WASI family of a host socket address.
fn address_bytes(addr: &SocketAddr) -> (u8, Vec<u8>) {
    match addr.ip() {
        IpAddr::V4(ip) => (address_family::INET4, ip.octets().to_vec()),
        IpAddr::V6(ip) => (address_family::INET6, ip.octets().to_vec()),
    }
}

pub fn sock_open(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    af: u32,
    socktype: u32,
    ro_fd: u32,
) -> Result<(), Errno> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    memory.slice(ro_fd, 4)?;
    let domain = match u8::try_from(af) {
        Ok(address_family::INET4) => AddressFamily::INET,
        Ok(address_family::INET6) => AddressFamily::INET6,
        Ok(address_family::AF_UNIX) => return Err(Errno::Nosys),
        _ => return Err(Errno::Inval),
    };
    let (ty, kind) = match u8::try_from(socktype) {
        Ok(sock_type::DGRAM) => (SocketType::DGRAM, SocketKind::Datagram),
        Ok(sock_type::STREAM) => (SocketType::STREAM, SocketKind::Stream),
        _ => return Err(Errno::Inval),
    };
    ctx.net().check_any("socket")?;
    let fd = rustix::net::socket_with(domain, ty, SocketFlags::CLOEXEC, None)?;
    let fd = ctx
        .table
        .push(Descriptor::Socket(OpenSocket::new(fd, kind)))?;
    memory.write_u32(ro_fd, fd)
}

fn bind(
    ctx: &mut WasiCtx,
    memory: &GuestMemory,
    fd: u32,
    addr: u32,
    port: u32,
    v2: bool,
) -> Result<(), Errno> {
    let addr = read_address(memory, addr, v2)?.with_port(port);
    // The fd is checked before the policy: EBADF/ENOTSOCK come first.
    let socket = ctx.table.get(fd)?;
    lock(&socket).as_socket()?;
    ctx.net().check("bind", addr)?;
    rustix::net::bind(&lock(&socket).as_socket()?.fd, &addr)?;
    Ok(())
}

pub fn sock_bind_v1(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    addr: u32,
    port: u32,
) -> Result<(), Errno> {
    bind(ctx, memory, fd, addr, port, false)
}

pub fn sock_bind_v2(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    addr: u32,
    port: u32,
) -> Result<(), Errno> {
    bind(ctx, memory, fd, addr, port, true)
}

fn connect(
    ctx: &mut WasiCtx,
    memory: &GuestMemory,
    fd: u32,
    addr: u32,
    port: u32,
    v2: bool,
) -> Result<(), Errno> {
    let addr = read_address(memory, addr, v2)?.with_port(port);
    let socket = ctx.table.get(fd)?;
    lock(&socket).as_socket()?;
    ctx.net().check_peer("connect", addr)?;
    // Not retried on EINTR: the connection goes on, and a second connect
    // would only say EALREADY.
    rustix::net::connect(&lock(&socket).as_socket()?.fd, &addr)?;
    Ok(())
}

pub fn sock_connect_v1(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    addr: u32,
    port: u32,
) -> Result<(), Errno> {
    connect(ctx, memory, fd, addr, port, false)
}

pub fn sock_connect_v2(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    addr: u32,
    port: u32,
) -> Result<(), Errno> {
    connect(ctx, memory, fd, addr, port, true)
}

/// `listen`. A socket the guest never bound would be bound by the kernel
/// to an ephemeral port on every interface: that needs a pattern matching
/// port 0 on the unspecified address (`*:*`, say).
pub fn sock_listen(
    ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    fd: u32,
    backlog: u32,
) -> Result<(), Errno> {
    let entry = ctx.table.get(fd)?;
    let mut guard = lock(&entry);
    let socket = guard.as_socket()?;
    let local = rustix::net::getsockname(&socket.fd)?;
    if let Ok(local) = SocketAddr::try_from(local) {
        if local.port() == 0 {
            ctx.net().check("listen on", local)?;
        }
    }
    rustix::net::listen(&socket.fd, backlog as i32)?;
    Ok(())
}

pub fn sock_accept_v1(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    ro_fd: u32,
) -> Result<(), Errno> {
    sock::sock_accept(ctx, memory, fd, 0, ro_fd)
}

pub fn sock_accept_v2(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    flags: u32,
    ro_fd: u32,
) -> Result<(), Errno> {
    // WasmEdge's order: the out pointer, the flags, then the socket.
    memory.slice(ro_fd, 4)?;
    if flags & !u32::from(fdflags::ALL) != 0 {
        return Err(Errno::Inval);
    }
    sock::sock_accept(ctx, memory, fd, flags, ro_fd)
}

/// Writes a sender's address as V1 does: the raw bytes at the start of the
/// buffer, if they fit; nothing else.
fn write_raw_address(
    memory: &mut GuestMemory,
    buf: u32,
    len: u32,
    from: &SocketAddr,
) -> Result<(), Errno> {
    let (_, bytes) = address_bytes(from);
    if len as usize >= bytes.len() {
        memory.write(buf, &bytes)?;
    }
    Ok(())
}

pub fn sock_recv_from_v1(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    ri_data: u32,
    ri_data_len: u32,
    addr: u32,
    ri_flags: u32,
    ro_datalen: u32,
    ro_flags: u32,
) -> Result<(), Errno> {
    let (buf, len) = address_buf(memory, addr)?;
    memory.slice(ro_datalen, 4)?;
    memory.slice(ro_flags, 2)?;
    let (n, flags, from) = sock::recv(ctx, memory, fd, ri_data, ri_data_len, ri_flags)?;
    if let Some(from) = from {
        write_raw_address(memory, buf, len, &from)?;
    }
    memory.write_u32(ro_datalen, n)?;
    memory.write_u16(ro_flags, flags)
}

pub fn sock_recv_from_v2(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    ri_data: u32,
    ri_data_len: u32,
    addr: u32,
    ri_flags: u32,
    ro_port: u32,
    ro_datalen: u32,
    ro_flags: u32,
) -> Result<(), Errno> {
    let (buf, len) = address_buf(memory, addr)?;
    if !matches!(len, 4 | 16 | addr_storage::SIZE) {
        return Err(Errno::Inval);
    }
    memory.slice(ro_port, 2)?;
    memory.slice(ro_datalen, 4)?;
    memory.slice(ro_flags, 2)?;
    let (n, flags, from) = sock::recv(ctx, memory, fd, ri_data, ri_data_len, ri_flags)?;
    if len == addr_storage::SIZE {
        let family = match &from {
            Some(from) => {
                let (family, bytes) = address_bytes(from);
                memory.write(buf + addr_storage::ADDRESS, &bytes)?;
                family
            }
            None => address_family::UNSPEC,
        };
        memory.write_u16(buf + addr_storage::FAMILY, family.into())?;
    } else if let Some(from) = &from {
        write_raw_address(memory, buf, len, from)?;
    }
    if let Some(from) = from {
        memory.write_u16(ro_port, from.port())?;
    }
    memory.write_u32(ro_datalen, n)?;
    memory.write_u16(ro_flags, flags)
}

fn send_to(
    ctx: &mut WasiCtx,
    memory: &GuestMemory,
    fd: u32,
    si_data: u32,
    si_data_len: u32,
    addr: u32,
    port: u32,
    si_flags: u32,
    so_datalen: u32,
    v2: bool,
) -> Result<u32, Errno> {
    let to = read_address(memory, addr, v2)?.with_port(port);
    if si_flags != 0 {
        return Err(Errno::Inval);
    }
    let iovs = memory.iovecs(si_data, si_data_len)?;
    memory.slice(so_datalen, 4)?;
    let socket = ctx.table.get(fd)?;
    lock(&socket).as_socket()?;
    ctx.net().check_peer("send to", to)?;
    let sent = lock(&socket).as_socket()?.send(memory, &iovs, Some(to));
    sent
}

pub fn sock_send_to_v1(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    si_data: u32,
    si_data_len: u32,
    addr: u32,
    port: u32,
    si_flags: u32,
    so_datalen: u32,
) -> Result<(), Errno> {
    let n = send_to(
        ctx,
        memory,
        fd,
        si_data,
        si_data_len,
        addr,
        port,
        si_flags,
        so_datalen,
        false,
    )?;
    memory.write_u32(so_datalen, n)
}

pub fn sock_send_to_v2(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    si_data: u32,
    si_data_len: u32,
    addr: u32,
    port: u32,
    si_flags: u32,
    so_datalen: u32,
) -> Result<(), Errno> {
    let n = send_to(
        ctx,
        memory,
        fd,
        si_data,
        si_data_len,
        addr,
        port,
        si_flags,
        so_datalen,
        true,
    )?;
    memory.write_u32(so_datalen, n)
}

/// The local (`peer` false) or peer address of socket `fd`.
fn socket_addr(ctx: &WasiCtx, fd: u32, peer: bool) -> Result<SocketAddr, Errno> {
    let entry = ctx.table.get(fd)?;
    let mut guard = lock(&entry);
    let socket = guard.as_socket()?;
    let addr = if peer {
        rustix::net::getpeername(&socket.fd)?.ok_or(Errno::Notconn)?
    } else {
        rustix::net::getsockname(&socket.fd)?
    };
    SocketAddr::try_from(addr).map_err(|_| Errno::Nosys)
}

fn get_addr_v1(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    addr: u32,
    addr_type: u32,
    port: u32,
    peer: bool,
) -> Result<(), Errno> {
    let (buf, len) = address_buf(memory, addr)?;
    if len != 4 && len != 16 {
        return Err(Errno::Inval);
    }
    memory.slice(addr_type, 4)?;
    memory.slice(port, 4)?;
    let sa = socket_addr(ctx, fd, peer)?;
    let (family, bytes) = address_bytes(&sa);
    if (len as usize) < bytes.len() {
        return Err(Errno::Nomem);
    }
    memory.write(buf, &bytes)?;
    memory.write_u32(port, sa.port().into())?;
    // V1 says 4 or 6, not the family's number: WasmEdge keeps this for
    // the programs built against it.
    memory.write_u32(
        addr_type,
        if family == address_family::INET4 {
            4
        } else {
            6
        },
    )
}

fn get_addr_v2(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    addr: u32,
    port: u32,
    peer: bool,
) -> Result<(), Errno> {
    let (buf, len) = address_buf(memory, addr)?;
    memory.slice(port, 4)?;
    if len != addr_storage::SIZE {
        return Err(Errno::Inval);
    }
    let sa = socket_addr(ctx, fd, peer)?;
    let (family, bytes) = address_bytes(&sa);
    memory.write(buf + addr_storage::ADDRESS, &bytes)?;
    memory.write_u16(buf + addr_storage::FAMILY, family.into())?;
    memory.write_u32(port, sa.port().into())
}

pub fn sock_getlocaladdr_v1(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    addr: u32,
    addr_type: u32,
    port: u32,
) -> Result<(), Errno> {
    get_addr_v1(ctx, memory, fd, addr, addr_type, port, false)
}

pub fn sock_getpeeraddr_v1(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    addr: u32,
    addr_type: u32,
    port: u32,
) -> Result<(), Errno> {
    get_addr_v1(ctx, memory, fd, addr, addr_type, port, true)
}

pub fn sock_getlocaladdr_v2(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    addr: u32,
    port: u32,
) -> Result<(), Errno> {
    get_addr_v2(ctx, memory, fd, addr, port, false)
}

pub fn sock_getpeeraddr_v2(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    addr: u32,
    port: u32,
) -> Result<(), Errno> {
    get_addr_v2(ctx, memory, fd, addr, port, true)
}

/// The most option bytes passed to or from the host in one call: more
/// than any `SOL_SOCKET` option has (`SO_BINDTODEVICE` takes an interface
/// name of at most 16).
const MAX_OPTION_LEN: u32 = 256;

/// The host option for a WASI level and name; `EINVAL` for others.
fn sockopt_name(level: u32, name: u32) -> Result<libc::c_int, Errno> {
    if level != SOCK_OPT_LEVEL_SOL_SOCKET {
        return Err(Errno::Inval);
    }
    SOCK_OPT_SO.get(name as usize).copied().ok_or(Errno::Inval)
}

/// `getsockopt(SOL_SOCKET, ...)`. The value's bytes are the host's, as in
/// WasmEdge (an `int` for most; `SO_LINGER` a `struct linger`, the
/// timeouts a 64-bit `struct timeval`), except `SO_ERROR`, which becomes a
/// WASI errno, and `SO_TYPE`, a WASI `sock_type`. `*flag_size` is the room
/// on the way in and the length on the way out.
pub fn sock_getsockopt(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    level: u32,
    name: u32,
    flag: u32,
    flag_size: u32,
) -> Result<(), Errno> {
    let optname = sockopt_name(level, name)?;
    let room = memory.read_u32(flag_size)?;
    memory.slice(flag, room)?;
    let entry = ctx.table.get(fd)?;
    let mut guard = lock(&entry);
    let socket = guard.as_socket()?;
    let mut value = [0u8; MAX_OPTION_LEN as usize];
    let mut len = room.min(MAX_OPTION_LEN) as libc::socklen_t;
    // SAFETY: `value` has room for `len` bytes, which the kernel writes at
    // most, and updates `len` to what it wrote.
    let r = unsafe {
        libc::getsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&socket.fd),
            libc::SOL_SOCKET,
            optname,
            value.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let len = (len as usize).min(value.len());
    if (name == SO_ERROR || name == SO_TYPE) && len == 4 {
        let host = i32::from_ne_bytes(value[..4].try_into().expect("4 bytes"));
        let wasi = if name == SO_ERROR {
            if host == 0 {
                0
            } else {
                Errno::from_raw_os_error(host) as i32
            }
        } else {
            match host {
                libc::SOCK_DGRAM => sock_type::DGRAM.into(),
                libc::SOCK_STREAM => sock_type::STREAM.into(),
                _ => sock_type::ANY.into(),
            }
        };
        value[..4].copy_from_slice(&wasi.to_le_bytes());
    }
    memory.write(flag, &value[..len])?;
    memory.write_u32(flag_size, len as u32)
}

/// `setsockopt(SOL_SOCKET, ...)` with the guest's bytes as they are (see
/// [`sock_getsockopt`]); at most [`MAX_OPTION_LEN`] of them.
pub fn sock_setsockopt(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    level: u32,
    name: u32,
    flag: u32,
    flag_size: u32,
) -> Result<(), Errno> {
    let optname = sockopt_name(level, name)?;
    let bytes = memory.slice(flag, flag_size)?;
    if flag_size > MAX_OPTION_LEN {
        return Err(Errno::Inval);
    }
    let entry = ctx.table.get(fd)?;
    let mut guard = lock(&entry);
    let socket = guard.as_socket()?;
    // SAFETY: `bytes` is valid for reads of `flag_size` bytes, the length
    // passed; the kernel only reads them.
    let r = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&socket.fd),
            libc::SOL_SOCKET,
            optname,
            bytes.as_ptr().cast(),
            flag_size as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

/// The longest node name and service name `sock_getaddrinfo` resolves.
const MAX_NODE_LEN: usize = 1025;
const MAX_SERVICE_LEN: usize = 256;

/// A guest string as WasmEdge passes it on: empty is none (NULL), and a
/// NUL ends it early.
fn c_string(bytes: &[u8]) -> Option<std::ffi::CString> {
    if bytes.is_empty() {
        return None;
    }
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    Some(std::ffi::CString::new(&bytes[..end]).expect("no NUL before `end`"))
}

pub fn sock_getaddrinfo(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    node: u32,
    node_len: u32,
    service: u32,
    service_len: u32,
    hints: u32,
    res: u32,
    max_res_len: u32,
    res_len: u32,
) -> Result<(), Errno> {
    let node = memory.slice(node, node_len)?;
    let service = memory.slice(service, service_len)?;
    let hints = memory.slice(hints, addrinfo::SIZE)?.to_vec();
    let mut entry = memory.read_u32(res)?;
    memory.slice(res_len, 4)?;
    if node.is_empty() && service.is_empty() {
        return Err(Errno::AiNoname);
    }
    if max_res_len < 1 {
        return Err(Errno::AiMemory);
    }
    let hint_flags = u16::from_le_bytes([hints[0], hints[1]]);
    let all_flags = aiflags::PASSIVE
        | aiflags::CANONNAME
        | aiflags::NUMERICHOST
        | aiflags::NUMERICSERV
        | aiflags::V4MAPPED
        | aiflags::ALL
        | aiflags::ADDRCONFIG;
    if hint_flags & !all_flags != 0 || (hint_flags & aiflags::CANONNAME != 0 && node.is_empty()) {
        return Err(Errno::AiBadflag);
    }
    let family = match hints[addrinfo::FAMILY as usize] {
        address_family::UNSPEC => libc::AF_UNSPEC,
        address_family::INET4 => libc::AF_INET,
        address_family::INET6 => libc::AF_INET6,
        _ => return Err(Errno::AiFamily),
    };
    let protocol = match hints[addrinfo::PROTOCOL as usize] {
        protocol::IP => libc::IPPROTO_IP,
        protocol::TCP => libc::IPPROTO_TCP,
        protocol::UDP => libc::IPPROTO_UDP,
        _ => return Err(Errno::Nosys),
    };
    let socktype = match hints[addrinfo::SOCKTYPE as usize] {
        sock_type::ANY => 0,
        sock_type::DGRAM => libc::SOCK_DGRAM,
        sock_type::STREAM => libc::SOCK_STREAM,
        _ => return Err(Errno::Nosys),
    };
    let node = c_string(node);
    let service = c_string(service);
    if node
        .as_ref()
        .is_some_and(|n| n.as_bytes().len() > MAX_NODE_LEN)
    {
        return Err(Errno::AiNoname);
    }
    if service
        .as_ref()
        .is_some_and(|s| s.as_bytes().len() > MAX_SERVICE_LEN)
    {
        return Err(Errno::AiService);
    }
    ctx.net().check_any("resolve")?;
    let results = resolve(
        node.as_deref(),
        service.as_deref(),
        hint_flags,
        family,
        socktype,
        protocol,
    )?;
    let mut written = 0u32;
    for result in results.iter().take(max_res_len as usize) {
        if written > 0 {
            entry = memory.read_u32(entry + addrinfo::NEXT)?;
        }
        memory.slice(entry, addrinfo::SIZE)?;
        memory.write_u16(entry + addrinfo::FLAGS, result.flags)?;
        memory.write_u8(entry + addrinfo::FAMILY, result.family)?;
        memory.write_u8(entry + addrinfo::SOCKTYPE, result.socktype)?;
        memory.write_u8(entry + addrinfo::PROTOCOL, result.protocol)?;
        memory.write_u32(entry + addrinfo::ADDRLEN, result.addrlen)?;
        match &result.canonname {
            Some(name) => {
                // The name and its NUL, as WasmEdge copies them.
                let at = memory.read_u32(entry + addrinfo::CANONNAME)?;
                memory.write(at, name.as_bytes_with_nul())?;
                memory.write_u32(
                    entry + addrinfo::CANONNAME_LEN,
                    name.as_bytes().len() as u32,
                )?;
            }
            None => memory.write_u32(entry + addrinfo::CANONNAME_LEN, 0)?,
        }
        let sa = memory.read_u32(entry + addrinfo::ADDR)?;
        memory.slice(sa, sockaddr::SIZE)?;
        memory.write_u8(sa + sockaddr::FAMILY, result.family)?;
        let data = memory.read_u32(sa + sockaddr::DATA)?;
        memory.write(data, &result.sa_data)?;
        memory.write_u32(sa + sockaddr::DATA_LEN, result.sa_data.len() as u32)?;
        written += 1;
    }
    memory.write_u32(res_len, written)
}

/// One `getaddrinfo` result in WASI's numbers.
struct Resolved {
    flags: u16,
    family: u8,
    socktype: u8,
    protocol: u8,
    addrlen: u32,
    canonname: Option<std::ffi::CString>,
    /// The `sockaddr` after its family: port (network order), then the
    /// IPv4 address and 8 zero bytes (14 in all), or the flow info, the
    /// IPv6 address and the scope id (26 in all).
    sa_data: Vec<u8>,
}

/// The host resolver's answer, without the entries WASI has no numbers
/// for (raw sockets, other families).
fn resolve(
    node: Option<&std::ffi::CStr>,
    service: Option<&std::ffi::CStr>,
    flags: u16,
    family: libc::c_int,
    socktype: libc::c_int,
    protocol: libc::c_int,
) -> Result<Vec<Resolved>, Errno> {
    let host_flags = [
        (aiflags::PASSIVE, libc::AI_PASSIVE),
        (aiflags::CANONNAME, libc::AI_CANONNAME),
        (aiflags::NUMERICHOST, libc::AI_NUMERICHOST),
        (aiflags::NUMERICSERV, libc::AI_NUMERICSERV),
        (aiflags::V4MAPPED, libc::AI_V4MAPPED),
        (aiflags::ALL, libc::AI_ALL),
        (aiflags::ADDRCONFIG, libc::AI_ADDRCONFIG),
    ];
    let to_host = |wasi: u16| {
        host_flags
            .iter()
            .filter(|(w, _)| wasi & w != 0)
            .fold(0, |acc, (_, h)| acc | h)
    };
    let from_host = |host: libc::c_int| {
        host_flags
            .iter()
            .filter(|(_, h)| host & h != 0)
            .fold(0u16, |acc, (w, _)| acc | w)
    };
    // SAFETY: an all-zero addrinfo is a valid hints value (no pointers set).
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = to_host(flags);
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol;
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: node and service are NUL-terminated or null, hints is valid,
    // and `list` receives a list we free below with freeaddrinfo.
    let r = unsafe {
        libc::getaddrinfo(
            node.map_or(std::ptr::null(), |n| n.as_ptr()),
            service.map_or(std::ptr::null(), |s| s.as_ptr()),
            &hints,
            &mut list,
        )
    };
    if r != 0 {
        return Err(eai_errno(r));
    }
    let mut out = Vec::new();
    let mut item = list;
    while !item.is_null() {
        // SAFETY: `item` is an entry of the list getaddrinfo returned,
        // which stays valid until freeaddrinfo.
        let ai = unsafe { &*item };
        item = ai.ai_next;
        let Some(socktype) = (match ai.ai_socktype {
            0 => Some(sock_type::ANY),
            libc::SOCK_DGRAM => Some(sock_type::DGRAM),
            libc::SOCK_STREAM => Some(sock_type::STREAM),
            _ => None,
        }) else {
            continue;
        };
        let Some(protocol) = (match ai.ai_protocol {
            libc::IPPROTO_IP => Some(protocol::IP),
            libc::IPPROTO_TCP => Some(protocol::TCP),
            libc::IPPROTO_UDP => Some(protocol::UDP),
            _ => None,
        }) else {
            continue;
        };
        if ai.ai_addr.is_null() {
            continue;
        }
        // SAFETY: `ai_addr` points to `ai_addrlen` bytes of socket address.
        let sa =
            unsafe { std::slice::from_raw_parts(ai.ai_addr.cast::<u8>(), ai.ai_addrlen as usize) };
        let (family, data_len) = match ai.ai_family {
            libc::AF_INET => (address_family::INET4, 14),
            libc::AF_INET6 => (address_family::INET6, 26),
            _ => continue,
        };
        if sa.len() < 2 + data_len {
            continue;
        }
        let canonname = if ai.ai_canonname.is_null() {
            None
        } else {
            // SAFETY: a non-null `ai_canonname` is a NUL-terminated string.
            Some(unsafe { std::ffi::CStr::from_ptr(ai.ai_canonname) }.to_owned())
        };
        out.push(Resolved {
            flags: from_host(ai.ai_flags),
            family,
            socktype,
            protocol,
            addrlen: ai.ai_addrlen,
            canonname,
            sa_data: sa[2..2 + data_len].to_vec(),
        });
    }
    // SAFETY: `list` came from getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(list) };
    Ok(out)
}

/// glibc's `EAI_*` codes (negative) as WasmEdge's errnos.
fn eai_errno(code: libc::c_int) -> Errno {
    // glibc's values; libc exposes only some of them.
    const EAI_ADDRFAMILY: libc::c_int = -9;
    const EAI_NODATA: libc::c_int = -5;
    match code {
        EAI_ADDRFAMILY => Errno::AiAddrfamily,
        libc::EAI_AGAIN => Errno::AiAgain,
        libc::EAI_BADFLAGS => Errno::AiBadflag,
        libc::EAI_FAIL => Errno::AiFail,
        libc::EAI_FAMILY => Errno::AiFamily,
        libc::EAI_MEMORY => Errno::AiMemory,
        EAI_NODATA => Errno::AiNodata,
        libc::EAI_NONAME => Errno::AiNoname,
        libc::EAI_SERVICE => Errno::AiService,
        libc::EAI_SOCKTYPE => Errno::AiSocktype,
        libc::EAI_SYSTEM => Errno::AiSystem,
        _ => Errno::AiFail,
    }
}

/// `epoll_oneoff`: `poll_oneoff`, level-triggered (see the module docs).
pub fn epoll_oneoff(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    subscriptions: u32,
    events: u32,
    nsubscriptions: u32,
    nevents: u32,
) -> Result<(), Errno> {
    funcs::poll_oneoff(ctx, memory, subscriptions, events, nsubscriptions, nevents)
}

/// Defines one typed host function per call, as [`crate::add_to_linker`]
/// does.
macro_rules! define {
    ($linker:ident, $store:ident, $get:ident; $( $name:literal => $($func:ident)::+ ( $($arg:ident),* ); )*) => {$(
        define!(@one $linker, $store, $get, $name, $($func)::+, $($arg),*);
    )*};
    (@one $linker:ident, $store:ident, $get:ident, $name:expr, $func:path, $($arg:ident),*) => {
        $linker.func_wrap(
            $store,
            MODULE,
            $name,
            move |mut caller: Caller<'_, T>, $($arg: u32),*| -> i32 {
                let (memory, data) = caller.memory();
                errno($func($get(data), &mut GuestMemory::new(memory), $($arg),*))
            },
        )?;
    };
}

/// Defines the WasmEdge socket calls in `linker`, next to preview1's
/// (which [`crate::add_to_linker`] must define first): V1 under the plain
/// names (but `sock_accept`, which stays preview1's), V2 under the `_v2`
/// names, the calls both share, and `epoll_oneoff`. Call
/// [`link_versions`] before instantiating each module.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    store: &mut Store<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> Result<()> {
    define! { linker, store, get;
        "sock_open" => sock_open(af, ty, ro_fd);
        "sock_open_v2" => sock_open(af, ty, ro_fd);
        "sock_bind" => sock_bind_v1(fd, addr, port);
        "sock_bind_v2" => sock_bind_v2(fd, addr, port);
        "sock_connect" => sock_connect_v1(fd, addr, port);
        "sock_connect_v2" => sock_connect_v2(fd, addr, port);
        "sock_listen" => sock_listen(fd, backlog);
        "sock_listen_v2" => sock_listen(fd, backlog);
        "sock_accept_v2" => sock_accept_v2(fd, flags, ro_fd);
        "sock_recv_v2" => funcs::sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen, ro_flags);
        "sock_send_v2" => funcs::sock_send(fd, si_data, si_data_len, si_flags, so_datalen);
        "sock_recv_from" => sock_recv_from_v1(fd, ri_data, ri_data_len, addr, ri_flags, ro_datalen, ro_flags);
        "sock_recv_from_v2" => sock_recv_from_v2(fd, ri_data, ri_data_len, addr, ri_flags, ro_port, ro_datalen, ro_flags);
        "sock_send_to" => sock_send_to_v1(fd, si_data, si_data_len, addr, port, si_flags, so_datalen);
        "sock_send_to_v2" => sock_send_to_v2(fd, si_data, si_data_len, addr, port, si_flags, so_datalen);
        "sock_getlocaladdr" => sock_getlocaladdr_v1(fd, addr, addr_type, port);
        "sock_getpeeraddr" => sock_getpeeraddr_v1(fd, addr, addr_type, port);
        "sock_getlocaladdr_v2" => sock_getlocaladdr_v2(fd, addr, port);
        "sock_getpeeraddr_v2" => sock_getpeeraddr_v2(fd, addr, port);
        "sock_getsockopt" => sock_getsockopt(fd, level, name, flag, flag_size);
        "sock_setsockopt" => sock_setsockopt(fd, level, name, flag, flag_size);
        "sock_getaddrinfo" => sock_getaddrinfo(node, node_len, service, service_len, hints, res, max_res_len, res_len);
        "epoll_oneoff" => epoll_oneoff(subscriptions, events, nsubscriptions, nevents);
    }
    Ok(())
}

/// The calls whose V1 and V2 differ in type: name, V1's and V2's number
/// of `i32` parameters (all return one `i32`).
const VERSIONED: [(&str, usize, usize); 4] = [
    ("sock_accept", 2, 3),
    ("sock_recv_from", 7, 8),
    ("sock_getlocaladdr", 4, 3),
    ("sock_getpeeraddr", 4, 3),
];

/// Which version of the WasmEdge calls with two shapes `module` imports:
/// `(name, v2)` for each such import of `wasi_snapshot_preview1` whose type
/// is V1's (`false`) or V2's (`true`).
pub fn imported_versions(module: &Module) -> Vec<(&'static str, bool)> {
    let mut out = Vec::new();
    for (module_name, name, ty) in module.imports() {
        if module_name != MODULE {
            continue;
        }
        let Some((versioned, v1, v2)) = VERSIONED.iter().find(|(n, _, _)| *n == name) else {
            continue;
        };
        let ExternType::Func(ty) = ty else { continue };
        let all_i32 = ty.params().iter().all(|t| *t == ValType::I32);
        if ty.results() != [ValType::I32] || !all_i32 {
            continue;
        }
        if ty.params().len() == *v1 {
            out.push((*versioned, false));
        } else if ty.params().len() == *v2 {
            out.push((*versioned, true));
        }
    }
    out
}

/// Before instantiating `module`: defines each WasmEdge call it imports
/// under a plain name with the version its import type asks for (see the
/// module docs). Imports of other types are left alone.
pub fn link_versions<T: 'static>(
    linker: &mut Linker<T>,
    store: &mut Store<T>,
    module: &Module,
    get: fn(&mut T) -> &mut WasiCtx,
) -> Result<()> {
    for (name, v2) in imported_versions(module) {
        match (name, v2) {
            ("sock_accept", false) => {
                define!(@one linker, store, get, "sock_accept", sock_accept_v1, fd, ro_fd);
            }
            ("sock_accept", true) => {
                define!(@one linker, store, get, "sock_accept", funcs::sock_accept, fd, flags, ro_fd);
            }
            ("sock_recv_from", false) => {
                define!(@one linker, store, get, "sock_recv_from", sock_recv_from_v1, fd, ri_data, ri_data_len, addr, ri_flags, ro_datalen, ro_flags);
            }
            ("sock_recv_from", true) => {
                define!(@one linker, store, get, "sock_recv_from", sock_recv_from_v2, fd, ri_data, ri_data_len, addr, ri_flags, ro_port, ro_datalen, ro_flags);
            }
            ("sock_getlocaladdr", false) => {
                define!(@one linker, store, get, "sock_getlocaladdr", sock_getlocaladdr_v1, fd, addr, addr_type, port);
            }
            ("sock_getlocaladdr", true) => {
                define!(@one linker, store, get, "sock_getlocaladdr", sock_getlocaladdr_v2, fd, addr, port);
            }
            ("sock_getpeeraddr", false) => {
                define!(@one linker, store, get, "sock_getpeeraddr", sock_getpeeraddr_v1, fd, addr, addr_type, port);
            }
            ("sock_getpeeraddr", true) => {
                define!(@one linker, store, get, "sock_getpeeraddr", sock_getpeeraddr_v2, fd, addr, port);
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NetPattern;
    use std::net::UdpSocket;

    fn module(wat: &str) -> Module {
        Module::new(&hoist::Engine::default(), wat::parse_str(wat).unwrap()).unwrap()
    }

    #[test]
    fn versions_follow_the_imported_types() {
        let m = module(
            r#"(module
                (import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32) (result i32)))
                (import "wasi_snapshot_preview1" "sock_recv_from"
                    (func (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
                (import "wasi_snapshot_preview1" "sock_getlocaladdr"
                    (func (param i32 i32 i32 i32) (result i32)))
                (import "wasi_snapshot_preview1" "sock_getpeeraddr"
                    (func (param i32 i32 i32) (result i32)))
                (import "wasi_snapshot_preview1" "sock_open" (func (param i32 i32 i32) (result i32)))
                (import "other" "sock_accept" (func (param i32 i32 i32) (result i32))))"#,
        );
        assert_eq!(
            imported_versions(&m),
            [
                ("sock_accept", false),
                ("sock_recv_from", true),
                ("sock_getlocaladdr", false),
                ("sock_getpeeraddr", true),
            ]
        );
        // preview1's sock_accept is V2's; a type matching neither is left
        // for instantiation to refuse.
        let m = module(
            r#"(module
                (import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32)))
                (import "wasi_snapshot_preview1" "sock_recv_from"
                    (func (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
                (import "wasi_snapshot_preview1" "sock_getpeeraddr" (func (param i32) (result i32))))"#,
        );
        assert_eq!(
            imported_versions(&m),
            [("sock_accept", true), ("sock_recv_from", false)]
        );
    }

    /// A context allowing 127.0.0.1, and 64 KiB of guest memory.
    fn setup() -> (WasiCtx, Vec<u8>) {
        let mut policy = crate::NetPolicy::default();
        policy.allow(NetPattern::parse("127.0.0.1:*").unwrap());
        let mut builder = WasiCtx::builder();
        builder.net_policy(policy);
        (builder.build(), vec![0u8; 65536])
    }

    /// Writes a `__wasi_address_t` at `at` for `len` bytes at `buf`.
    fn address(memory: &mut GuestMemory, at: u32, buf: u32, len: u32) {
        memory.write_u32(at, buf).unwrap();
        memory.write_u32(at + 4, len).unwrap();
    }

    #[test]
    fn udp_addresses_in_v1_and_v2_layouts() {
        let (mut ctx, mut bytes) = setup();
        let mut memory = GuestMemory::new(&mut bytes);
        let m = &mut memory;
        sock_open(
            &mut ctx,
            m,
            address_family::INET4.into(),
            sock_type::DGRAM.into(),
            0,
        )
        .unwrap();
        let fd = m.read_u32(0).unwrap();
        // Bind 127.0.0.1:0 with a 4-byte address.
        m.write(100, &[127, 0, 0, 1]).unwrap();
        address(m, 8, 100, 4);
        sock_bind_v1(&mut ctx, m, fd, 8, 0).unwrap();
        // V1 local address: raw bytes, type 4, port.
        address(m, 16, 200, 16);
        sock_getlocaladdr_v1(&mut ctx, m, fd, 16, 24, 28).unwrap();
        assert_eq!(m.slice(200, 4).unwrap(), [127, 0, 0, 1]);
        assert_eq!(m.read_u32(24).unwrap(), 4);
        let port = m.read_u32(28).unwrap() as u16;
        assert_ne!(port, 0);
        // V2 local address: 128-byte storage, family 1 at 0.
        address(m, 32, 1000, 128);
        sock_getlocaladdr_v2(&mut ctx, m, fd, 32, 40).unwrap();
        assert_eq!(m.read_u16(1000).unwrap(), 1);
        assert_eq!(m.slice(1002, 4).unwrap(), [127, 0, 0, 1]);
        assert_eq!(m.read_u32(40).unwrap(), u32::from(port));
        // V2 needs the storage, V1 needs 4 or 16.
        assert_eq!(
            sock_getlocaladdr_v2(&mut ctx, m, fd, 16, 40),
            Err(Errno::Inval)
        );
        assert_eq!(
            sock_getlocaladdr_v1(&mut ctx, m, fd, 32, 24, 28),
            Err(Errno::Inval)
        );
        // The kernel's bytes for a peer elsewhere; V1 has no peer here.
        assert_eq!(
            sock_getpeeraddr_v1(&mut ctx, m, fd, 16, 24, 28),
            Err(Errno::Notconn)
        );

        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let peer_port = peer.local_addr().unwrap().port();
        // send_to V2 with a storage address; "ab" then "cd" as two iovecs.
        m.write(300, b"abcd").unwrap();
        m.write_u32(400, 300).unwrap();
        m.write_u32(404, 2).unwrap();
        m.write_u32(408, 302).unwrap();
        m.write_u32(412, 2).unwrap();
        m.write_u16(1200, 1).unwrap();
        m.write(1202, &[127, 0, 0, 1]).unwrap();
        address(m, 48, 1200, 128);
        sock_send_to_v2(&mut ctx, m, fd, 400, 2, 48, peer_port.into(), 0, 56).unwrap();
        assert_eq!(m.read_u32(56).unwrap(), 4);
        // V1 refuses the storage form.
        assert_eq!(
            sock_send_to_v1(&mut ctx, m, fd, 400, 2, 48, peer_port.into(), 0, 56),
            Err(Errno::Inval)
        );
        let mut buf = [0u8; 16];
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from.port()), (&b"abcd"[..], port));
        // A datagram back, received V2-style into a 3-byte buffer: cut,
        // and the sender's port in host order.
        peer.send_to(b"xyz!", ("127.0.0.1", port)).unwrap();
        m.write_u32(420, 500).unwrap();
        m.write_u32(424, 3).unwrap();
        address(m, 64, 1400, 128);
        sock_recv_from_v2(&mut ctx, m, fd, 420, 1, 64, 0, 72, 76, 80).unwrap();
        assert_eq!(m.slice(500, 3).unwrap(), b"xyz");
        assert_eq!(m.read_u32(76).unwrap(), 3);
        assert_eq!(m.read_u16(80).unwrap(), 1, "DATA_TRUNCATED");
        assert_eq!(m.read_u16(72).unwrap(), peer_port);
        assert_eq!(m.read_u16(1400).unwrap(), 1);
        assert_eq!(m.slice(1402, 4).unwrap(), [127, 0, 0, 1]);
        // V1: the sender's address raw at the start of the buffer, no port.
        peer.send_to(b"v1", ("127.0.0.1", port)).unwrap();
        address(m, 64, 1600, 4);
        sock_recv_from_v1(&mut ctx, m, fd, 420, 1, 64, 0, 76, 80).unwrap();
        assert_eq!(m.slice(1600, 4).unwrap(), [127, 0, 0, 1]);
        assert_eq!(m.read_u32(76).unwrap(), 2);
        // Sending elsewhere than allowed: refused before anything is sent.
        m.write(1202, &[10, 0, 0, 1]).unwrap();
        assert_eq!(
            sock_send_to_v2(&mut ctx, m, fd, 400, 2, 48, 9, 0, 56),
            Err(Errno::Notcapable)
        );
    }

    #[test]
    fn open_checks_its_arguments_then_the_policy() {
        let (mut ctx, mut bytes) = setup();
        let mut memory = GuestMemory::new(&mut bytes);
        let m = &mut memory;
        assert_eq!(sock_open(&mut ctx, m, 0, 2, 0), Err(Errno::Inval));
        assert_eq!(sock_open(&mut ctx, m, 3, 2, 0), Err(Errno::Nosys));
        assert_eq!(sock_open(&mut ctx, m, 1, 0, 0), Err(Errno::Inval));
        assert_eq!(sock_open(&mut ctx, m, 1, 2, 65535), Err(Errno::Fault));
        let mut denied = WasiCtx::builder().build();
        assert_eq!(sock_open(&mut denied, m, 1, 2, 0), Err(Errno::Notcapable));
        // Listening on a socket never bound would bind every interface.
        sock_open(&mut ctx, m, 1, 2, 0).unwrap();
        let fd = m.read_u32(0).unwrap();
        assert_eq!(sock_listen(&mut ctx, m, fd, 16), Err(Errno::Notcapable));
    }

    #[test]
    fn getaddrinfo_fills_the_guests_list() {
        let (mut ctx, mut bytes) = setup();
        let mut memory = GuestMemory::new(&mut bytes);
        let m = &mut memory;
        // Two entries at 1000 and 1100, sockaddrs at 2000/2100 with 26-byte
        // buffers at 3000/3100, canonname buffers at 4000/4100.
        for (i, at) in [1000u32, 1100].into_iter().enumerate() {
            let i = i as u32;
            m.write_u32(at + addrinfo::ADDR, 2000 + 100 * i).unwrap();
            m.write_u32(at + addrinfo::CANONNAME, 4000 + 100 * i)
                .unwrap();
            m.write_u32(at + addrinfo::CANONNAME_LEN, 64).unwrap();
            m.write_u32(at + addrinfo::NEXT, if i == 0 { 1100 } else { 0 })
                .unwrap();
            m.write_u32(2000 + 100 * i + sockaddr::DATA, 3000 + 100 * i)
                .unwrap();
            m.write_u32(2000 + 100 * i + sockaddr::DATA_LEN, 26)
                .unwrap();
        }
        m.write(10, b"127.0.0.1\0").unwrap();
        m.write(30, b"8080").unwrap();
        // Hints at 500: stream sockets.
        m.write_u8(500 + addrinfo::SOCKTYPE, sock_type::STREAM)
            .unwrap();
        m.write_u32(600, 1000).unwrap();
        sock_getaddrinfo(&mut ctx, m, 10, 10, 30, 4, 500, 600, 2, 604).unwrap();
        assert_eq!(m.read_u32(604).unwrap(), 1);
        assert_eq!(m.read_u8(1000 + addrinfo::FAMILY).unwrap(), 1);
        assert_eq!(
            m.read_u8(1000 + addrinfo::SOCKTYPE).unwrap(),
            sock_type::STREAM
        );
        assert_eq!(m.read_u8(1000 + addrinfo::PROTOCOL).unwrap(), protocol::TCP);
        assert_eq!(m.read_u32(1000 + addrinfo::ADDRLEN).unwrap(), 16);
        assert_eq!(m.read_u8(2000 + sockaddr::FAMILY).unwrap(), 1);
        assert_eq!(m.read_u32(2000 + sockaddr::DATA_LEN).unwrap(), 14);
        // Port (network order), address, 8 zero bytes.
        assert_eq!(
            m.slice(3000, 14).unwrap(),
            [0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        // WasmEdge's checks, in its order.
        assert_eq!(
            sock_getaddrinfo(&mut ctx, m, 10, 0, 30, 0, 500, 600, 2, 604),
            Err(Errno::AiNoname)
        );
        assert_eq!(
            sock_getaddrinfo(&mut ctx, m, 10, 10, 30, 4, 500, 600, 0, 604),
            Err(Errno::AiMemory)
        );
        m.write_u16(500, 0x80).unwrap();
        assert_eq!(
            sock_getaddrinfo(&mut ctx, m, 10, 10, 30, 4, 500, 600, 2, 604),
            Err(Errno::AiBadflag)
        );
        m.write_u16(500, 0).unwrap();
        m.write_u8(500 + addrinfo::FAMILY, 9).unwrap();
        assert_eq!(
            sock_getaddrinfo(&mut ctx, m, 10, 10, 30, 4, 500, 600, 2, 604),
            Err(Errno::AiFamily)
        );
        assert_eq!(Errno::AiNoname as u16, 84);
    }
}
