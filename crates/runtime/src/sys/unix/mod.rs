//! Unix implementation: trap handling through POSIX signals.

mod signals;

pub use signals::{install_signal_handlers, lazy_per_thread_init};
