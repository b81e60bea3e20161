//! `hoist run`'s network options: listeners given to the guest
//! (`--tcplisten`, `--listenfd`) and what the guest may reach by itself
//! (`--allow-net`). The `-S` spellings (`-S tcplisten=ADDR`,
//! `-S inherit-network`) call [`NetArgs::add_tcplisten`] and
//! [`NetArgs::inherit_network`].

use anyhow::{bail, Context, Result};
use hoist_wasi::{NetPattern, NetPolicy, WasiCtxBuilder};
use std::net::ToSocketAddrs;
use std::os::fd::{FromRawFd, OwnedFd};

#[derive(clap::Args, Default)]
#[cfg_attr(test, derive(Debug))]
pub struct NetArgs {
    /// Bind and listen on ADDR:PORT (e.g. 127.0.0.1:8080, [::1]:8080) before the guest starts and
    /// give the guest the listening socket: its fd comes after the preopened directories (and
    /// after --listenfd's), in order. The guest can accept connections on it and nothing else.
    /// Repeatable (wasmtime: -S tcplisten=ADDR:PORT).
    #[arg(long = "tcplisten", value_name = "ADDR:PORT")]
    tcplisten: Vec<String>,

    /// Give the guest the listening sockets hoist inherited by socket activation (LISTEN_FDS
    /// fds from 3 up, when LISTEN_PID is hoist's pid), after the preopened directories.
    #[arg(long)]
    listenfd: bool,

    /// Let the guest open sockets itself (the WasmEdge socket calls) and bind, connect or send
    /// to addresses matching PATTERN: ADDR:PORTS with ADDR an IPv4 address, [IPv6] or *, and
    /// PORTS a port, LOW-HIGH or * (127.0.0.1:8080, *:443, 0.0.0.0:8000-8100, [::1]:*).
    /// Repeatable. Networking is denied by default: without this, opening a socket or resolving
    /// a name fails, and so does any address no pattern matches, with ENOTCAPABLE (errno 76).
    /// Connecting or sending to 0.0.0.0 or [::] is checked as 127.0.0.1 or [::1], where Linux
    /// sends it. wasmtime's -S inherit-network is --allow-net '*:*'.
    #[arg(long = "allow-net", value_name = "PATTERN")]
    allow_net: Vec<String>,
}

/// Sockets handed over by socket activation, taken before hoist opens
/// anything of its own.
pub struct Inherited(Vec<OwnedFd>);

// The `-S` table (another branch) calls the first three.
#[allow(dead_code)]
impl NetArgs {
    /// `-S tcplisten=ADDR:PORT`.
    pub fn add_tcplisten(&mut self, addr: impl Into<String>) {
        self.tcplisten.push(addr.into());
    }

    /// `-S inherit-network`: the guest may reach anything.
    pub fn set_listenfd(&mut self) {
        self.listenfd = true;
    }

    pub fn inherit_network(&mut self) {
        self.allow_net.push("*:*".into());
    }

    /// Whether the guest gets any network: listeners or an address it may
    /// reach.
    pub fn grants_network(&self) -> bool {
        !self.allow_net.is_empty() || !self.tcplisten.is_empty() || self.listenfd
    }

    /// `--allow-net PATTERN`.
    pub fn add_allow_net(&mut self, pattern: impl Into<String>) {
        self.allow_net.push(pattern.into());
    }

    /// With `--listenfd`, takes the inherited listening sockets (systemd's
    /// `LISTEN_PID`/`LISTEN_FDS`). Call it before hoist opens any file, so
    /// that fds 3 and up can only be what was inherited.
    pub fn take_inherited(&self) -> Result<Inherited> {
        if !self.listenfd {
            return Ok(Inherited(Vec::new()));
        }
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .with_context(|| format!("--listenfd: {name} is not set"))
        };
        let pid: u32 = var("LISTEN_PID")?
            .parse()
            .context("--listenfd: LISTEN_PID is not a process id")?;
        if pid != std::process::id() {
            bail!(
                "--listenfd: LISTEN_PID is {pid}, not hoist's pid ({}): the sockets are not for \
                 this process",
                std::process::id()
            );
        }
        let count: i32 = var("LISTEN_FDS")?
            .parse()
            .ok()
            .filter(|n| (0..=4096).contains(n))
            .context("--listenfd: LISTEN_FDS is not a count of descriptors")?;
        let mut fds = Vec::new();
        for fd in 3..3 + count {
            // SAFETY: F_GETFD only inspects the descriptor table.
            if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                bail!("--listenfd: LISTEN_FDS is {count}, but fd {fd} is not open");
            }
            // SAFETY: fd is open, and by the socket activation protocol
            // (LISTEN_PID is this process) it was handed to this process to
            // own. hoist has opened nothing yet, so it is not one of ours,
            // and it is taken once: each number of 3..3+count once.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            // SAFETY: F_SETFD on an fd we own; no pointers.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            fds.push(owned);
        }
        Ok(Inherited(fds))
    }

    /// Gives the guest the listeners and its network policy. Denials are
    /// reported on stderr, the first one only, so that a guest's failure
    /// says which option it lacked.
    pub fn configure(&self, wasi: &mut WasiCtxBuilder, inherited: Inherited) -> Result<()> {
        for (i, fd) in inherited.0.into_iter().enumerate() {
            wasi.preopen_listener(fd)
                .with_context(|| format!("--listenfd: fd {}", 3 + i))?;
        }
        for spec in &self.tcplisten {
            let addr = spec
                .to_socket_addrs()
                .with_context(|| format!("--tcplisten {spec}: expected ADDR:PORT"))?
                .next()
                .with_context(|| format!("--tcplisten {spec}: no address"))?;
            wasi.tcplisten(addr)
                .with_context(|| format!("--tcplisten {spec}"))?;
        }
        let mut policy = NetPolicy::default();
        for spec in &self.allow_net {
            let pattern =
                NetPattern::parse(spec).map_err(|e| anyhow::anyhow!("--allow-net {e}"))?;
            policy.allow(pattern);
        }
        let mut reported = false;
        policy.on_denied(move |denied| {
            if reported {
                return;
            }
            reported = true;
            let hint = match denied.addr {
                Some(addr) => {
                    format!("not allowed by any --allow-net (allow it with --allow-net {addr})")
                }
                None => "networking is denied without --allow-net".to_string(),
            };
            crate::output::eprintln(format_args!(
                "hoist: refused the guest's {denied}: {hint}; the guest got ENOTCAPABLE \
                 (later refusals are not reported)"
            ));
        });
        wasi.net_policy(policy);
        Ok(())
    }
}
