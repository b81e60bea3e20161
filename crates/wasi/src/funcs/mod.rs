//! The `wasi_snapshot_preview1` functions, one group per file. Each takes
//! the context, the caller's memory and the raw arguments, and returns
//! `Ok(())` or the errno to report.

// The signatures mirror the WASI calls, some of which take many arguments.
#![allow(clippy::too_many_arguments)]

mod clock;
mod environ;
mod fd;
pub(crate) mod fs_util;
mod misc;
mod path;
pub(crate) mod poll;
mod readdir;
pub(crate) mod sock;

pub use clock::*;
pub use environ::*;
pub use fd::*;
pub use misc::*;
pub use path::*;
pub use poll::*;
pub use readdir::*;
pub use sock::*;

pub(crate) use fs_util::rights;
