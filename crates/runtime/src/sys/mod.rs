//! Platform-specific parts of the runtime: for now, the trap signal handler and the per-thread
//! alternate signal stack. Only Linux (x86_64, aarch64, riscv64) is supported; other targets fail
//! to compile with a clear message rather than running without trap handling.

#[cfg(unix)]
mod unix;

#[cfg(unix)]
pub use unix::*;

#[cfg(not(unix))]
compile_error!("hoist's runtime supports only Unix (Linux) hosts");
