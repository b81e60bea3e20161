//! What a WASI guest may see: its arguments, environment, preopened
//! directories and standard streams, and nothing else.

use crate::table::{Access, Descriptor, FdTable, OpenDir, Stdio};
use anyhow::{Context, Result};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// The state behind one guest's `wasi_snapshot_preview1` imports.
pub struct WasiCtx {
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) env: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) table: FdTable,
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

    /// Stdio at fds 0, 1, 2, then the preopens at 3, 4, ... in order.
    pub fn build(&mut self) -> WasiCtx {
        let mut table = FdTable::default();
        table.insert_at(0, Descriptor::Stdio(Stdio::Stdin));
        table.insert_at(1, Descriptor::Stdio(Stdio::Stdout));
        table.insert_at(2, Descriptor::Stdio(Stdio::Stderr));
        for (i, dir) in std::mem::take(&mut self.preopens).into_iter().enumerate() {
            table.insert_at(3 + i as u32, Descriptor::Dir(dir));
        }
        WasiCtx {
            args: std::mem::take(&mut self.args),
            env: std::mem::take(&mut self.env),
            table,
        }
    }
}

impl WasiCtx {
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }
}
