//! Sockets: what a guest's socket descriptor holds, who may have one, and
//! the host I/O the socket calls share.
//!
//! A guest has no socket unless the embedder gives it one: a listener
//! bound before the guest starts ([`crate::WasiCtxBuilder::preopen_listener`],
//! the CLI's `--tcplisten` and `--listenfd`), or, through the WasmEdge
//! socket calls ([`crate::wasmedge`]), one it opens itself. Opening one
//! needs a non-empty [`NetPolicy`]; binding, connecting and sending to an
//! address needs a pattern in it that matches the address. Anything else is
//! `ENOTCAPABLE`.

use crate::abi::{filetype, rights};
use crate::{Errno, GuestMemory, IoVec, Rights};
use rustix::net::{RecvFlags, SendFlags};
use std::fmt;
use std::io::IoSlice;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// TCP or UDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketKind {
    Stream,
    Datagram,
}

/// A socket in the guest's fd table.
pub struct OpenSocket {
    pub fd: OwnedFd,
    pub kind: SocketKind,
    /// `fdflags` the guest set (only NONBLOCK can be).
    pub flags: u16,
    /// WASI rights (see [`Rights`]): `sock_accept` needs `SOCK_ACCEPT`,
    /// reads `FD_READ`, writes `FD_WRITE`, `sock_shutdown`
    /// `SOCK_SHUTDOWN`.
    pub rights: Rights,
}

/// What any socket may be asked to do.
const SOCKET_RIGHTS: u64 = rights::FD_READ
    | rights::FD_WRITE
    | rights::FD_FDSTAT_SET_FLAGS
    | rights::FD_FILESTAT_GET
    | rights::POLL_FD_READWRITE
    | rights::SOCK_SHUTDOWN
    | rights::SOCK_ACCEPT;

impl OpenSocket {
    /// A blocking socket with every socket right. The host fd must be
    /// blocking too (sockets are created so).
    pub fn new(fd: OwnedFd, kind: SocketKind) -> Self {
        OpenSocket {
            fd,
            kind,
            flags: 0,
            rights: Rights::full(SOCKET_RIGHTS, SOCKET_RIGHTS),
        }
    }

    /// The WASI file type `fd_fdstat_get` and `fd_filestat_get` report.
    pub fn filetype(&self) -> u8 {
        match self.kind {
            SocketKind::Stream => filetype::SOCKET_STREAM,
            SocketKind::Datagram => filetype::SOCKET_DGRAM,
        }
    }

    /// Sets or clears `O_NONBLOCK` on the host socket and records it.
    pub(crate) fn set_nonblocking(&mut self, on: bool) -> Result<(), Errno> {
        rustix::io::ioctl_fionbio(&self.fd, on)?;
        if on {
            self.flags |= crate::abi::fdflags::NONBLOCK;
        } else {
            self.flags &= !crate::abi::fdflags::NONBLOCK;
        }
        Ok(())
    }

    /// Accepts one connection; the new socket is blocking unless
    /// `nonblocking`, and is never inherited by host children.
    pub(crate) fn accept(&self, nonblocking: bool) -> Result<OpenSocket, Errno> {
        self.rights.require(rights::SOCK_ACCEPT)?;
        let mut flags = rustix::net::SocketFlags::CLOEXEC;
        if nonblocking {
            flags |= rustix::net::SocketFlags::NONBLOCK;
        }
        let fd = retry(|| rustix::net::accept_with(&self.fd, flags))?;
        let mut socket = OpenSocket::new(fd, SocketKind::Stream);
        // Accepted connections do not take the listener's rights beyond
        // what a connection can use.
        let passed_on = self.rights.inheriting & !rights::SOCK_ACCEPT;
        socket.rights = socket.rights.limited(passed_on, passed_on);
        if nonblocking {
            socket.flags |= crate::abi::fdflags::NONBLOCK;
        }
        Ok(socket)
    }

    /// Receives into `iovs` (see [`recv_into`]).
    pub(crate) fn recv(
        &self,
        memory: &mut GuestMemory,
        iovs: &[IoVec],
        peek: bool,
        waitall: bool,
    ) -> Result<Received, Errno> {
        self.rights.require(rights::FD_READ)?;
        recv_into(self.fd.as_fd(), self.kind, memory, iovs, peek, waitall)
    }

    /// Sends `iovs` (see [`send_from`]).
    pub(crate) fn send(
        &self,
        memory: &GuestMemory,
        iovs: &[IoVec],
        to: Option<SocketAddr>,
    ) -> Result<u32, Errno> {
        self.rights.require(rights::FD_WRITE)?;
        send_from(self.fd.as_fd(), memory, iovs, to)
    }
}

fn retry<T>(mut op: impl FnMut() -> rustix::io::Result<T>) -> rustix::io::Result<T> {
    loop {
        match op() {
            Err(rustix::io::Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// What one receive got.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Bytes stored in the guest's buffers.
    pub len: u32,
    /// A datagram was longer than the buffers: the rest is gone.
    pub truncated: bool,
    /// Who sent it, when the socket says.
    pub from: Option<SocketAddr>,
}

/// The largest datagram a socket can carry, and so the largest bounce
/// buffer a receive into several guest buffers needs.
const MAX_DATAGRAM: usize = 65536;

/// Receives into the guest's buffers.
///
/// A stream socket fills the first non-empty buffer with one `recv`, as
/// `readv` on a socket would in practice (fewer bytes than asked is always
/// allowed); with `waitall` it goes on through every buffer until all are
/// full or the peer has nothing more. A datagram lands whole: straight in
/// the buffer when there is one, else in a bounded host buffer (at most
/// 64 KiB, the largest datagram) and then spread over the guest's; a
/// datagram longer than the buffers is cut and says so.
pub(crate) fn recv_into(
    fd: BorrowedFd<'_>,
    kind: SocketKind,
    memory: &mut GuestMemory,
    iovs: &[IoVec],
    peek: bool,
    waitall: bool,
) -> Result<Received, Errno> {
    let mut flags = RecvFlags::empty();
    if peek {
        flags |= RecvFlags::PEEK;
    }
    let mut nonempty = iovs.iter().filter(|iov| iov.len > 0);
    match kind {
        SocketKind::Stream => {
            let mut received = Received::default();
            let Some(first) = nonempty.next() else {
                // Nothing to fill (as `recv` with no room: 0 at once).
                return Ok(received);
            };
            if waitall {
                flags |= RecvFlags::WAITALL;
            }
            let mut iov = *first;
            loop {
                let buf = memory.slice_mut(iov.ptr, iov.len)?;
                let result = retry(|| rustix::net::recvfrom(fd, &mut *buf, flags));
                let (n, from) = match result {
                    Ok((_, n, from)) => (n, from),
                    Err(_) if received.len > 0 => break,
                    Err(e) => return Err(e.into()),
                };
                if received.from.is_none() {
                    received.from = from.and_then(|a| a.try_into().ok());
                }
                received.len = received
                    .len
                    .checked_add(u32::try_from(n)?)
                    .ok_or(Errno::Overflow)?;
                // Peeking twice would see the same bytes again.
                if !waitall || peek || n < iov.len as usize {
                    break;
                }
                match nonempty.next() {
                    Some(next) => iov = *next,
                    None => break,
                }
            }
            Ok(received)
        }
        SocketKind::Datagram => {
            flags |= RecvFlags::TRUNC;
            let bufs: Vec<IoVec> = nonempty.copied().collect();
            let (n, from, room) = if bufs.len() <= 1 {
                let (ptr, len) = bufs.first().map_or((0, 0), |iov| (iov.ptr, iov.len));
                let buf = memory.slice_mut(ptr, len)?;
                let (_, n, from) = retry(|| rustix::net::recvfrom(fd, &mut *buf, flags))?;
                (n, from, len as usize)
            } else {
                let room = bufs
                    .iter()
                    .map(|iov| iov.len as usize)
                    .fold(0usize, usize::saturating_add)
                    .min(MAX_DATAGRAM);
                let mut bounce = vec![0u8; room];
                let (_, n, from) = retry(|| rustix::net::recvfrom(fd, &mut bounce[..], flags))?;
                memory.scatter(&bufs, &bounce[..n.min(room)])?;
                (n, from, room)
            };
            Ok(Received {
                len: u32::try_from(n.min(room))?,
                truncated: n > room,
                from: from.and_then(|a| a.try_into().ok()),
            })
        }
    }
}

/// How many buffers one send passes to the kernel without allocating.
const INLINE_SLICES: usize = 16;

/// Sends the guest's buffers with one `sendmsg` (to `to`, if given),
/// never raising `SIGPIPE`: a peer that went away is `EPIPE`. Returns what
/// the kernel took, at most `u32::MAX` bytes. The buffers go to the kernel
/// as they are; nothing is gathered into a host allocation.
pub(crate) fn send_from(
    fd: BorrowedFd<'_>,
    memory: &GuestMemory,
    iovs: &[IoVec],
    to: Option<SocketAddr>,
) -> Result<u32, Errno> {
    let mut inline = [IoSlice::new(&[]); INLINE_SLICES];
    let mut spilled: Vec<IoSlice<'_>> = Vec::new();
    let mut count = 0;
    let mut room = u32::MAX;
    for iov in iovs.iter().filter(|iov| iov.len > 0) {
        let len = iov.len.min(room);
        if len == 0 {
            break;
        }
        room -= len;
        let slice = IoSlice::new(memory.slice(iov.ptr, len)?);
        if count < INLINE_SLICES {
            inline[count] = slice;
        } else {
            if spilled.is_empty() {
                spilled.extend_from_slice(&inline);
            }
            spilled.push(slice);
        }
        count += 1;
    }
    let slices = if spilled.is_empty() {
        &inline[..count]
    } else {
        &spilled[..]
    };
    let flags = SendFlags::NOSIGNAL;
    let mut control = rustix::net::SendAncillaryBuffer::default();
    let n = match to {
        None => retry(|| rustix::net::sendmsg(fd, slices, &mut control, flags))?,
        Some(addr) => retry(|| rustix::net::sendmsg_addr(fd, &addr, slices, &mut control, flags))?,
    };
    Ok(u32::try_from(n)?)
}

/// One `--allow-net` pattern: an address (or any) and a port range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetPattern {
    /// `None` for `*`: any address of either family.
    pub ip: Option<IpAddr>,
    pub ports: std::ops::RangeInclusive<u16>,
}

impl NetPattern {
    /// Parses `HOST:PORTS`. HOST is an IPv4 address, an IPv6 address in
    /// brackets, or `*`; PORTS is a port, a range `LOW-HIGH`, or `*`:
    /// `127.0.0.1:8080`, `*:443`, `0.0.0.0:8000-8100`, `[::1]:*`.
    pub fn parse(text: &str) -> Result<NetPattern, String> {
        let (host, ports) = text.rsplit_once(':').ok_or_else(|| {
            format!("`{text}`: expected HOST:PORT (e.g. 127.0.0.1:8080, *:443, [::1]:*)")
        })?;
        let ip = if host == "*" {
            None
        } else if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(IpAddr::V6(v6.parse().map_err(|_| {
                format!("`{text}`: `{v6}` is not an IPv6 address")
            })?))
        } else {
            let v4: std::net::Ipv4Addr = host.parse().map_err(|_| {
                if host.contains(':') {
                    format!("`{text}`: write IPv6 addresses in brackets, e.g. [::1]:8080")
                } else {
                    format!("`{text}`: `{host}` is not an IP address or `*` (host names are not resolved)")
                }
            })?;
            Some(IpAddr::V4(v4))
        };
        let port = |p: &str| {
            p.parse::<u16>()
                .map_err(|_| format!("`{text}`: `{p}` is not a port (0 to 65535)"))
        };
        let ports = if ports == "*" {
            0..=u16::MAX
        } else if let Some((low, high)) = ports.split_once('-') {
            let (low, high) = (port(low)?, port(high)?);
            if low > high {
                return Err(format!("`{text}`: the range {low}-{high} is empty"));
            }
            low..=high
        } else {
            let p = port(ports)?;
            p..=p
        };
        Ok(NetPattern { ip, ports })
    }

    /// Whether `addr` is within this pattern. An IPv4 pattern also covers
    /// the same address mapped into IPv6 (`::ffff:127.0.0.1`), which an
    /// IPv6 socket may use to reach it.
    pub fn matches(&self, addr: &SocketAddr) -> bool {
        if !self.ports.contains(&addr.port()) {
            return false;
        }
        match (self.ip, addr.ip()) {
            (None, _) => true,
            (Some(want), got) if want == got => true,
            (Some(IpAddr::V4(want)), IpAddr::V6(got)) => got.to_ipv4_mapped() == Some(want),
            _ => false,
        }
    }
}

impl fmt::Display for NetPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            None => f.write_str("*")?,
            Some(IpAddr::V4(ip)) => write!(f, "{ip}")?,
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
        }
        let (low, high) = (*self.ports.start(), *self.ports.end());
        if low == 0 && high == u16::MAX {
            f.write_str(":*")
        } else if low == high {
            write!(f, ":{low}")
        } else {
            write!(f, ":{low}-{high}")
        }
    }
}

/// What a guest may do on the network by itself (the WasmEdge calls).
/// Empty, the default, means nothing: no socket can be opened, no name
/// resolved.
#[derive(Default)]
pub struct NetPolicy {
    allowed: Vec<NetPattern>,
    /// Told about each refusal, so the user learns which option is missing.
    on_denied: Option<DeniedHook>,
}

/// What [`NetPolicy::on_denied`] keeps.
type DeniedHook = Box<dyn FnMut(&Denied) + Send>;

/// A network operation the policy refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    /// `socket`, `bind`, `connect`, `send to` or `resolve`.
    pub op: &'static str,
    pub addr: Option<SocketAddr>,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            Some(addr) => write!(f, "{} {addr}", self.op),
            None => f.write_str(self.op),
        }
    }
}

impl NetPolicy {
    pub fn allow(&mut self, pattern: NetPattern) {
        self.allowed.push(pattern);
    }

    /// Everything, as wasmtime's `-S inherit-network`.
    pub fn allow_all(&mut self) {
        self.allowed.push(NetPattern {
            ip: None,
            ports: 0..=u16::MAX,
        });
    }

    /// Calls `hook` with each operation refused from now on.
    pub fn on_denied(&mut self, hook: impl FnMut(&Denied) + Send + 'static) {
        self.on_denied = Some(Box::new(hook));
    }

    pub fn is_empty(&self) -> bool {
        self.allowed.is_empty()
    }

    fn deny(&mut self, op: &'static str, addr: Option<SocketAddr>) -> Errno {
        if let Some(hook) = &mut self.on_denied {
            hook(&Denied { op, addr });
        }
        Errno::Notcapable
    }

    /// Opening a socket or resolving a name: allowed once anything is.
    pub(crate) fn check_any(&mut self, op: &'static str) -> Result<(), Errno> {
        if self.allowed.is_empty() {
            Err(self.deny(op, None))
        } else {
            Ok(())
        }
    }

    /// Binding to (or listening on) `addr`.
    pub(crate) fn check(&mut self, op: &'static str, addr: SocketAddr) -> Result<(), Errno> {
        if self.allowed.iter().any(|p| p.matches(&addr)) {
            Ok(())
        } else {
            Err(self.deny(op, Some(addr)))
        }
    }

    /// Connecting or sending to `addr`: checked as the address the
    /// connection or datagram reaches (see [`reached`]), so a pattern
    /// for binding to `0.0.0.0` does not open this host's loopback.
    /// A refusal names the address reached, which is what a pattern
    /// would have to allow.
    pub(crate) fn check_peer(&mut self, op: &'static str, addr: SocketAddr) -> Result<(), Errno> {
        self.check(op, reached(addr))
    }
}

/// Where a connection or datagram addressed to `addr` goes: Linux sends
/// what is addressed to the unspecified address (`0.0.0.0`, `::`,
/// `::ffff:0.0.0.0`) to this host's loopback.
fn reached(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.to_ipv4_mapped() == Some(Ipv4Addr::UNSPECIFIED) => {
            IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped())
        }
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn patterns() {
        let p = NetPattern::parse("127.0.0.1:8080").unwrap();
        assert!(p.matches(&addr("127.0.0.1:8080")));
        assert!(!p.matches(&addr("127.0.0.1:8081")));
        assert!(!p.matches(&addr("127.0.0.2:8080")));
        assert!(p.matches(&addr("[::ffff:127.0.0.1]:8080")));
        assert_eq!(p.to_string(), "127.0.0.1:8080");

        let p = NetPattern::parse("*:443").unwrap();
        assert!(p.matches(&addr("10.1.2.3:443")));
        assert!(p.matches(&addr("[2001:db8::1]:443")));
        assert!(!p.matches(&addr("10.1.2.3:80")));

        let p = NetPattern::parse("0.0.0.0:8000-8100").unwrap();
        assert!(p.matches(&addr("0.0.0.0:8000")));
        assert!(p.matches(&addr("0.0.0.0:8100")));
        assert!(!p.matches(&addr("0.0.0.0:8101")));
        assert!(!p.matches(&addr("127.0.0.1:8050")));
        assert_eq!(p.to_string(), "0.0.0.0:8000-8100");

        let p = NetPattern::parse("[::1]:*").unwrap();
        assert!(p.matches(&addr("[::1]:0")));
        assert!(p.matches(&addr("[::1]:65535")));
        assert!(!p.matches(&addr("127.0.0.1:80")));
        assert_eq!(p.to_string(), "[::1]:*");

        for bad in [
            "8080",
            "localhost:80",
            "::1:80",
            "1.2.3.4:70000",
            "1.2.3.4:9-8",
            "1.2.3.4:",
            "[zz]:1",
        ] {
            assert!(NetPattern::parse(bad).is_err(), "{bad}");
        }
    }

    /// Linux sends what is addressed to 0.0.0.0 or :: to loopback: a
    /// pattern for binding to the unspecified address must not let the
    /// guest connect to services bound to loopback only (helper-34).
    #[test]
    fn the_unspecified_address_reaches_loopback() {
        let mut policy = NetPolicy::default();
        policy.allow(NetPattern::parse("0.0.0.0:9101").unwrap());
        policy.allow(NetPattern::parse("[::]:9101").unwrap());
        assert_eq!(policy.check("bind", addr("0.0.0.0:9101")), Ok(()));
        assert_eq!(policy.check("bind", addr("[::]:9101")), Ok(()));
        for to in ["0.0.0.0:9101", "[::]:9101", "[::ffff:0.0.0.0]:9101"] {
            assert_eq!(
                policy.check_peer("connect", addr(to)),
                Err(Errno::Notcapable),
                "{to}"
            );
        }
        policy.allow(NetPattern::parse("127.0.0.1:9101").unwrap());
        for to in ["0.0.0.0:9101", "[::ffff:0.0.0.0]:9101", "127.0.0.1:9101"] {
            assert_eq!(policy.check_peer("send to", addr(to)), Ok(()), "{to}");
        }
        assert_eq!(
            policy.check_peer("connect", addr("[::]:9101")),
            Err(Errno::Notcapable),
            "[::] reaches ::1, which no pattern allows"
        );
    }

    #[test]
    fn empty_policy_denies_and_reports() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut policy = NetPolicy::default();
        let log = seen.clone();
        policy.on_denied(move |d| log.lock().unwrap().push(d.to_string()));
        assert_eq!(policy.check_any("socket"), Err(Errno::Notcapable));
        assert_eq!(
            policy.check("bind", addr("127.0.0.1:80")),
            Err(Errno::Notcapable)
        );
        policy.allow(NetPattern::parse("127.0.0.1:80").unwrap());
        assert_eq!(policy.check_any("socket"), Ok(()));
        assert_eq!(policy.check("bind", addr("127.0.0.1:80")), Ok(()));
        assert_eq!(
            policy.check("connect", addr("127.0.0.1:81")),
            Err(Errno::Notcapable)
        );
        assert_eq!(
            *seen.lock().unwrap(),
            ["socket", "bind 127.0.0.1:80", "connect 127.0.0.1:81"]
        );
    }
}
