//! WASI preview1 (`wasi_snapshot_preview1`) for hoist, over cap-std, and
//! the legacy `wasi_unstable` (snapshot 0) as an adapter over it
//! ([`snapshot0`]).
//!
//! Every path a guest names is resolved inside one of its preopened
//! directories by cap-std, never joined onto a host path string: `..` past
//! a preopen's root, absolute symlinks and symlinks leading out are refused
//! with a capability error. That check happens whenever a symlink is
//! followed, so a guest may create a symlink with any relative target (only
//! absolute ones are refused); one that leads out simply cannot be used.

mod abi;
mod ctx;
mod errno;
mod funcs;
mod linker;
mod memory;
mod net;
pub mod snapshot0;
mod table;
pub mod wasmedge;

pub use abi::Errno;
pub use ctx::{WasiBytes, WasiCtx, WasiCtxBuilder};
pub use linker::{add_to_linker, I32Exit, MODULE};
pub use memory::{GuestMemory, IoVec, IoVecs, IOV_MAX};
pub use net::{Denied, NetPattern, NetPolicy, OpenSocket, SocketKind};
pub use table::{fdflags, Access, Descriptor, FdTable, OpenDir, OpenFile, Rights, Stdio};
