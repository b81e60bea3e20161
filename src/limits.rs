//! What a run may use: time (`-W timeout`, WasmEdge's `--time-limit`),
//! fuel (`-W fuel`, `--gas-limit`), memory and table sizes
//! (`-W max-memory-size`, `--memory-page-limit`, `-W max-table-elements`,
//! `-W max-total-table-elements`), the GC heap (`-W max-gc-heap`)
//! and native stack (`-W max-wasm-stack`). Beyond what is asked for, the
//! engine always enforces its own defaults: the stack budget, the
//! address-space reservations, 10M elements per table and 16M for all of
//! a store's tables, the 1 GiB GC heap.
//!
//! A time limit is enforced twice: the epoch checks compiled into every
//! function entry and loop header stop a guest that computes, and a
//! watchdog ends the process when the guest is blocked in the host (a
//! sleep, a read) and so never reaches a check. Time spent compiling
//! functions on their first call (lazy compilation) is not the guest's:
//! the watchdog moves its deadline by it, as a module compiled whole
//! before the run has no such time in its budget either.

use anyhow::{bail, Result};
use hoist::{Config, Engine, Store, TrapCode};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Exit status when a limit ends the guest: as after a trap.
pub const LIMIT_EXIT_STATUS: u8 = 134;

/// How long the watchdog waits, after the deadline, for the guest to
/// reach an epoch check before it ends the process itself.
const WATCHDOG_GRACE: Duration = Duration::from_millis(250);

/// Native stack kept for hoist itself on a thread made for a larger wasm
/// stack budget (host calls, the signal handler, WASI).
const HOST_STACK: usize = 8 << 20;

/// The limits of one run. `Default` is no limit beyond the engine's own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// Wall-clock time for instantiating and running the guest.
    pub timeout: Option<Duration>,
    /// Fuel units (one per operator that does work).
    pub fuel: Option<u64>,
    /// Bytes any one linear memory may reach.
    pub max_memory_size: Option<u64>,
    /// Elements any one table may reach.
    pub max_table_elements: Option<u64>,
    /// Elements all the tables of a store may hold together.
    pub max_total_table_elements: Option<u64>,
    /// Bytes of GC objects a store may keep alive (the GC proposal).
    pub max_gc_heap: Option<u64>,
    /// A failed `memory.grow` or `table.grow` traps instead of returning -1.
    pub trap_on_grow_failure: bool,
    /// Compile epoch checks even without a timeout (for `hoist compile`,
    /// so the artifact can later run with one).
    pub epoch_interruption: bool,
    /// Compile fuel metering even without fuel to give (as above).
    pub consume_fuel: bool,
    /// Bytes of native stack wasm may use.
    pub max_wasm_stack: Option<usize>,
}

impl Limits {
    /// Sets the engine configuration these limits need: the checks a
    /// timeout or fuel needs are compiled in, which makes the code
    /// (slightly) slower, so only when asked for.
    pub fn configure(&self, config: &mut Config) {
        config.epoch_interruption(self.epoch_interruption || self.timeout.is_some());
        config.consume_fuel(self.consume_fuel || self.fuel.is_some());
        config.trap_on_grow_failure(self.trap_on_grow_failure);
        config.max_memory_size(self.max_memory_size);
        config.max_table_elements(self.max_table_elements);
        if let Some(elements) = self.max_total_table_elements {
            config.max_total_table_elements(elements);
        }
        if let Some(bytes) = self.max_gc_heap {
            config.max_gc_heap(bytes);
        }
        if let Some(bytes) = self.max_wasm_stack {
            config.max_wasm_stack(bytes);
        }
    }

    /// Gives the store its fuel and its epoch deadline (one tick: the
    /// watchdog ticks once, when the time is up).
    pub fn arm<T>(&self, store: &mut Store<T>) -> Result<()> {
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel)?;
        }
        if self.timeout.is_some() {
            store.set_epoch_deadline(1);
        }
        Ok(())
    }

    /// Starts the watchdog for the time limit, if there is one. Drop the
    /// result when the guest is done.
    pub fn watchdog(&self, engine: &Engine) -> Option<Watchdog> {
        self.timeout.map(|timeout| Watchdog::start(engine, timeout))
    }

    /// What to say when a trap with `code` ended the guest, if a limit of
    /// this run explains it better than the trap's own message.
    pub fn explain(&self, code: Option<TrapCode>) -> Option<String> {
        match code? {
            TrapCode::Interrupt => self
                .timeout
                .map(|t| format!("timed out after {}", format_duration(t))),
            TrapCode::OutOfFuel => self
                .fuel
                .map(|fuel| format!("all fuel consumed ({fuel} units were given)")),
            _ => None,
        }
    }

    /// Runs `f` on a thread whose stack holds the wasm stack budget and
    /// room for hoist, when the budget is more than the calling thread
    /// can be relied on to have; otherwise on the calling thread.
    pub fn on_stack<R: Send>(&self, f: impl FnOnce() -> R + Send) -> Result<R> {
        let Some(budget) = self.max_wasm_stack.filter(|b| *b > 1 << 20) else {
            return Ok(f());
        };
        // First-call code may use the budget several times over (its
        // frames are bigger; `BASELINE_STACK_FACTOR` is the largest factor).
        let wasm = budget.checked_mul(hoist::BASELINE_STACK_FACTOR);
        let Some(size) = wasm.and_then(|wasm| wasm.checked_add(HOST_STACK)) else {
            bail!("-W max-wasm-stack={budget}: too large");
        };
        std::thread::scope(|scope| {
            let thread = std::thread::Builder::new()
                .name("wasm".into())
                .stack_size(size)
                .spawn_scoped(scope, f)
                .map_err(|e| {
                    anyhow::anyhow!("cannot make a thread with a {size}-byte stack: {e}")
                })?;
            match thread.join() {
                Ok(result) => Ok(result),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

/// Ends the guest when its time is up: advances the engine's epoch (the
/// guest traps at its next check), and if the guest is still running
/// after a grace period (blocked in a host call), reports the timeout and
/// exits the process.
pub struct Watchdog {
    done: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(engine: &Engine, timeout: Duration) -> Watchdog {
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let epoch = engine.epoch_counter();
        let compiling = engine.first_call_compile_nanos();
        let thread = {
            let done = Arc::clone(&done);
            std::thread::Builder::new()
                .name("watchdog".into())
                .spawn(move || {
                    if wait_guest_time(&done, timeout, &compiling) {
                        return;
                    }
                    epoch.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if wait_done(&done, WATCHDOG_GRACE) {
                        return;
                    }
                    // Another thread is reporting and ending the process
                    // (not a wait: dropping the watchdog joins this thread).
                    if !crate::threads::claim_process_end() {
                        return;
                    }
                    crate::output::eprintln(format_args!(
                        "error: timed out after {} (the guest was waiting in a host call)",
                        format_duration(timeout)
                    ));
                    // Not `exit`: the main thread is inside the guest's
                    // host call and must not run destructors under it.
                    crate::background::hand_off();
                    // SAFETY: `_exit` only ends the process.
                    unsafe { libc::_exit(i32::from(LIMIT_EXIT_STATUS)) }
                })
                .ok()
        };
        Watchdog { done, thread }
    }
}

/// Waits until `done` is set or the guest has had `timeout` of its own
/// time: wall time less what its threads spent compiling functions on
/// their first call (`compiling`, nanoseconds, see
/// `Engine::first_call_compile_nanos`), which is only known once each
/// such compile ends. Whether `done` was set.
fn wait_guest_time(
    done: &(Mutex<bool>, Condvar),
    timeout: Duration,
    compiling: &std::sync::atomic::AtomicU64,
) -> bool {
    let read = || Duration::from_nanos(compiling.load(std::sync::atomic::Ordering::Relaxed));
    let start = std::time::Instant::now();
    let before = read();
    let mut excluded = Duration::ZERO;
    loop {
        let left =
            (start + timeout + excluded).saturating_duration_since(std::time::Instant::now());
        if wait_done(done, left) {
            return true;
        }
        let now = read().saturating_sub(before);
        if now == excluded {
            return false;
        }
        excluded = now;
    }
}

/// Waits until `done` is set or `timeout` passes; whether it was set.
fn wait_done(done: &(Mutex<bool>, Condvar), timeout: Duration) -> bool {
    let (lock, cvar) = done;
    let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
    let (guard, _) = cvar
        .wait_timeout_while(guard, timeout, |done| !*done)
        .unwrap_or_else(|e| e.into_inner());
    *guard
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.done;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Parses a duration as wasmtime's `-W timeout` takes it: a number with
/// an optional unit, `ns`, `us`, `ms`, `s` (the default), `m` or `h`;
/// fractions allowed (`1.5s`).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let expected = || format!("expected a duration such as 10s, 500ms or 2m, found `{text}`");
    let Ok(number) = number.parse::<f64>() else {
        bail!("{}", expected());
    };
    let seconds = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => bail!("{}", expected()),
    };
    Duration::try_from_secs_f64(number * seconds).map_err(|_| anyhow::anyhow!("{}", expected()))
}

/// A duration as a person would write it: `2s`, `1.5s`, `300ms`.
pub fn format_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) && d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        for bad in ["", "s", "1x", "-1s", "1e400", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn explanations() {
        let limits = Limits {
            timeout: Some(Duration::from_secs(2)),
            fuel: Some(1000),
            ..Limits::default()
        };
        assert_eq!(
            limits.explain(Some(TrapCode::Interrupt)).unwrap(),
            "timed out after 2s"
        );
        assert!(limits
            .explain(Some(TrapCode::OutOfFuel))
            .unwrap()
            .contains("1000"));
        assert_eq!(limits.explain(Some(TrapCode::MemoryOutOfBounds)), None);
        assert_eq!(Limits::default().explain(Some(TrapCode::Interrupt)), None);
    }
}
