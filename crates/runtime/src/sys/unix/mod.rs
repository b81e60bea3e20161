//! Unix implementation: trap handling through POSIX signals.

#[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
mod host_cpu;
mod signals;

#[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
pub use host_cpu::host_cpu_features;
pub use signals::{install_signal_handlers, lazy_per_thread_init};

/// The host CPU's features as Cranelift settings, where the C library has
/// them without `cpuid`: not on this target, so `None` (see `host_cpu`).
#[cfg(not(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu")))]
pub fn host_cpu_features() -> Option<Vec<&'static str>> {
    None
}
