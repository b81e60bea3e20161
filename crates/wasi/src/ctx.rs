//! What a WASI guest may see: its arguments, environment, preopened
//! directories and standard streams, and nothing else.

use crate::table::{Access, Descriptor, FdTable, OpenDir, Rights, Stdio};
use crate::{Errno, NetPolicy, OpenSocket, SocketKind};
use anyhow::{Context, Result};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The state behind one guest's `wasi_snapshot_preview1` imports.
///
/// A clone shares everything with the original: what each thread of a
/// guest built for wasi-threads has (one fd table, one environment).
#[derive(Clone)]
pub struct WasiCtx {
    pub(crate) args: Arc<[Vec<u8>]>,
    pub(crate) env: Arc<[(Vec<u8>, Vec<u8>)]>,
    pub(crate) table: Arc<FdTable>,
    net: Arc<Mutex<NetPolicy>>,
    /// Files the guest may not open under any name: (device, inode).
    withheld: Arc<[(u64, u64)]>,
}

/// An argument, or a variable's name or value, for the guest. WASI passes
/// them as bytes, and so does hoist: a host value that is not UTF-8 (an
/// [`OsString`] from the environment, say) reaches the guest unchanged.
pub trait WasiBytes {
    fn into_wasi_bytes(self) -> Vec<u8>;
}

macro_rules! wasi_bytes {
    ($($ty:ty => |$v:ident| $e:expr;)*) => {$(
        impl WasiBytes for $ty {
            fn into_wasi_bytes(self) -> Vec<u8> {
                let $v = self;
                $e
            }
        }
    )*};
}

wasi_bytes! {
    Vec<u8> => |v| v;
    &[u8] => |v| v.to_vec();
    String => |v| v.into_bytes();
    &String => |v| v.as_bytes().to_vec();
    &str => |v| v.as_bytes().to_vec();
    OsString => |v| v.into_vec();
    &OsString => |v| v.as_bytes().to_vec();
    &OsStr => |v| v.as_bytes().to_vec();
    std::borrow::Cow<'_, str> => |v| v.into_owned().into_bytes();
}

/// Builds a [`WasiCtx`]. By default the guest gets no arguments, no
/// environment and no directories; stdio is the host's.
#[derive(Default)]
pub struct WasiCtxBuilder {
    args: Vec<Vec<u8>>,
    env: Vec<(Vec<u8>, Vec<u8>)>,
    preopens: Vec<OpenDir>,
    sockets: Vec<OpenSocket>,
    net: NetPolicy,
    withheld: Vec<(u64, u64)>,
}

impl WasiCtxBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one argument (the first is the program name, `argv[0]`).
    pub fn arg(&mut self, arg: impl WasiBytes) -> &mut Self {
        self.args.push(arg.into_wasi_bytes());
        self
    }

    pub fn args(&mut self, args: impl IntoIterator<Item = impl WasiBytes>) -> &mut Self {
        self.args
            .extend(args.into_iter().map(WasiBytes::into_wasi_bytes));
        self
    }

    /// Sets one environment variable (a later one with the same name wins).
    pub fn env(&mut self, name: impl WasiBytes, value: impl WasiBytes) -> &mut Self {
        let name = name.into_wasi_bytes();
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.into_wasi_bytes()));
        self
    }

    /// Preopens host directory `host` as guest path `guest`. It must exist.
    /// Read-only preopens refuse every change below them.
    pub fn preopen_dir(
        &mut self,
        host: impl AsRef<Path>,
        guest: impl Into<String>,
        read_only: bool,
    ) -> Result<&mut Self> {
        let host = host.as_ref();
        let dir = cap_std::fs::Dir::open_ambient_dir(host, cap_std::ambient_authority())
            .with_context(|| format!("failed to open directory `{}`", host.display()))?;
        let access = if read_only {
            Access::ReadOnly
        } else {
            Access::ReadWrite
        };
        self.preopens
            .push(OpenDir::new(dir, Some(guest.into()), access));
        Ok(self)
    }

    /// Hands the guest a listening socket, bound and listening already
    /// (`--tcplisten`, `--listenfd`). It gets the next fd after the
    /// preopened directories and the sockets given before it. It must be a
    /// listening stream socket. The guest accepts on it; besides polling,
    /// closing and its fd flags, the WasmEdge socket calls can set its
    /// options and listen again (which changes only the backlog), but not
    /// shut it down (`sock_shutdown`) or move it. The host socket is made
    /// blocking; the guest chooses with `fd_fdstat_set_flags`.
    pub fn preopen_listener(&mut self, listener: std::os::fd::OwnedFd) -> Result<&mut Self> {
        use rustix::net::sockopt;
        let ty = sockopt::socket_type(&listener).context("not a socket")?;
        if ty != rustix::net::SocketType::STREAM {
            anyhow::bail!("not a stream (TCP) socket");
        }
        if !sockopt::socket_acceptconn(&listener).context("not a socket")? {
            anyhow::bail!("the socket is not listening");
        }
        rustix::io::ioctl_fionbio(&listener, false).context("cannot make the socket blocking")?;
        self.sockets
            .push(OpenSocket::new(listener, SocketKind::Stream));
        Ok(self)
    }

    /// Binds a TCP listener on `addr` (with `SO_REUSEADDR`, a backlog of
    /// 1024, close-on-exec) and hands it to the guest as
    /// [`preopen_listener`](Self::preopen_listener) does. Returns the address
    /// it got (the port the kernel chose, for port 0).
    pub fn tcplisten(&mut self, addr: std::net::SocketAddr) -> Result<std::net::SocketAddr> {
        use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
        let family = match addr {
            std::net::SocketAddr::V4(_) => AddressFamily::INET,
            std::net::SocketAddr::V6(_) => AddressFamily::INET6,
        };
        let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)
            .context("cannot create a socket")?;
        sockopt::set_socket_reuseaddr(&fd, true).context("cannot set SO_REUSEADDR")?;
        rustix::net::bind(&fd, &addr).with_context(|| format!("cannot bind {addr}"))?;
        rustix::net::listen(&fd, 1024).with_context(|| format!("cannot listen on {addr}"))?;
        let bound = rustix::net::getsockname(&fd)
            .ok()
            .and_then(|a| std::net::SocketAddr::try_from(a).ok())
            .unwrap_or(addr);
        self.preopen_listener(fd)?;
        Ok(bound)
    }

    /// What the guest may do on the network by itself (the WasmEdge socket
    /// calls). Nothing unless set.
    pub fn net_policy(&mut self, policy: NetPolicy) -> &mut Self {
        self.net = policy;
        self
    }

    /// Keeps the file at `path` from the guest: `path_open` refuses it
    /// (`ENOTCAPABLE`) under any name it has, through a hard link, a
    /// symlink or a bind mount alike, since what is compared is the file
    /// (device and inode), not the path. For hoist's own key, which seals
    /// native code: a guest given a directory that holds it, even
    /// read-only, could otherwise read it and seal code of its own for a
    /// later run. Nothing happens if there is no such file.
    pub fn withhold_file(&mut self, path: impl AsRef<Path>) -> &mut Self {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(path) {
            self.withheld.push((meta.dev(), meta.ino()));
        }
        self
    }

    /// Stdio at fds 0, 1, 2, then the preopened directories at 3, 4, ... in
    /// order, then the preopened sockets.
    pub fn build(&mut self) -> WasiCtx {
        let table = FdTable::default();
        for (fd, stream) in [(0, Stdio::Stdin), (1, Stdio::Stdout), (2, Stdio::Stderr)] {
            let rights = crate::funcs::rights::stdio(stream == Stdio::Stdin);
            table.insert_at(
                fd,
                Descriptor::Stdio(stream, Rights::full(rights, rights), 0),
            );
        }
        let dirs = std::mem::take(&mut self.preopens)
            .into_iter()
            .map(Descriptor::Dir);
        let sockets = std::mem::take(&mut self.sockets)
            .into_iter()
            .map(Descriptor::Socket);
        for (i, descriptor) in dirs.chain(sockets).enumerate() {
            table.insert_at(3 + i as u32, descriptor);
        }
        WasiCtx {
            args: std::mem::take(&mut self.args).into(),
            env: std::mem::take(&mut self.env).into(),
            table: Arc::new(table),
            net: Arc::new(Mutex::new(std::mem::take(&mut self.net))),
            withheld: std::mem::take(&mut self.withheld).into(),
        }
    }
}

impl WasiCtx {
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// `ENOTCAPABLE` if `meta` is of a file withheld from the guest (see
    /// [`WasiCtxBuilder::withhold_file`]).
    pub(crate) fn check_not_withheld(&self, meta: &cap_std::fs::Metadata) -> Result<(), Errno> {
        use cap_std::fs::MetadataExt;
        if self.withheld.contains(&(meta.dev(), meta.ino())) {
            return Err(Errno::Notcapable);
        }
        Ok(())
    }

    /// The network policy (locked: threads share it).
    pub(crate) fn net(&self) -> std::sync::MutexGuard<'_, NetPolicy> {
        self.net.lock().unwrap_or_else(|e| e.into_inner())
    }
}
