//! The full compile behind a lazy first run: while a module compiled
//! lazily runs (each function compiled on its first call), the whole
//! module is compiled again, linked, on the other cores at low priority,
//! and the artifact stored in the compile cache, so the next run starts
//! from it as from any cache hit.
//!
//! A run that ends first never waits for a big module's compile: it hands
//! the job to a detached `hoist` (same command line, its own process group,
//! no terminal, low priority), which compiles and stores the entry and
//! exits. Small modules (forced lazy with `-C lazy=y`) are waited for, as
//! their compile takes a moment. Nothing half-written is ever left: cache
//! entries are written to a temporary file and renamed.

use crate::cache::Cache;
use hoist::Engine;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Set (to the module's digest, in hex) in the environment of the detached
/// `hoist` that finishes a background compile: it compiles that module into
/// the cache and exits without running it.
pub const FILL_VAR: &str = "HOIST_INTERNAL_FILL_CACHE";

/// Modules with at least this many bytes of function bodies are compiled
/// lazily by default (`-C lazy=auto`), and their background compile is
/// detached rather than waited for when the run ends first. A full compile
/// of this much code takes a few seconds on two cores.
pub const BIG_MODULE_CODE: u64 = 2 << 20;

/// Nice value of the background compile (and of the detached process).
const NICE: libc::c_int = 10;

/// How long a run goes before its background compile starts: a short run
/// (most first runs of a tool) then has every core to itself, and hands the
/// whole compile to the detached process.
const START_AFTER: Duration = Duration::from_secs(1);

/// What a run that ends before its background compile does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtExit {
    /// Waits for it (small modules: a moment).
    Wait,
    /// Hands it to a detached `hoist` (big modules read from a file).
    Detach,
    /// Drops it (big modules read from stdin, which a second process
    /// cannot read again): the next run compiles lazily again.
    Abandon,
}

/// One background compile.
struct Job {
    done: Arc<AtomicBool>,
    /// Set when the run ends before the compile started: it never will.
    cancelled: Arc<AtomicBool>,
    /// Wakes the thread before [`START_AFTER`] (the run is ending).
    wake: mpsc::Sender<()>,
    thread: JoinHandle<()>,
    /// What happens to it when the run ends first.
    at_exit: AtExit,
    digest: String,
}

/// The background compiles of this process (one per lazily run module).
static JOBS: Mutex<Vec<Job>> = Mutex::new(Vec::new());

/// Starts compiling `wasm` (whose digest is `digest`) in full into
/// `cache`, in the background.
pub fn start(cache: Cache, engine: Engine, wasm: Vec<u8>, digest: &[u8; 32], at_exit: AtExit) {
    let digest = hex(digest);
    let done = Arc::new(AtomicBool::new(false));
    let cancelled = Arc::new(AtomicBool::new(false));
    let (finished, cancel) = (done.clone(), cancelled.clone());
    let (wake, woken) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("hoist-background-compile".into())
        .spawn(move || {
            let _ = woken.recv_timeout(START_AFTER);
            if cancel.load(Ordering::Acquire) {
                return;
            }
            lower_priority();
            // The guest has the calling thread; compile on the other cores.
            let threads = std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1));
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("hoist-background-compile-{i}"))
                .start_handler(|_| lower_priority())
                .build();
            if let Ok(pool) = pool {
                pool.install(|| cache.store(&engine, &wasm));
            }
            finished.store(true, Ordering::Release);
        });
    if let Ok(thread) = spawned {
        JOBS.lock().unwrap_or_else(|e| e.into_inner()).push(Job {
            done,
            cancelled,
            wake,
            thread,
            at_exit,
            digest,
        });
    }
}

/// At the end of a run: waits for the background compiles of small
/// modules, hands those of big ones still running to a detached process.
pub fn finish() {
    let jobs = std::mem::take(&mut *JOBS.lock().unwrap_or_else(|e| e.into_inner()));
    for job in jobs {
        if job.done.load(Ordering::Acquire) || job.at_exit == AtExit::Wait {
            let _ = job.wake.send(());
            let _ = job.thread.join();
            continue;
        }
        // A compile under way dies with this process; one that has not
        // started never will.
        job.cancelled.store(true, Ordering::Release);
        let _ = job.wake.send(());
        if job.at_exit == AtExit::Detach {
            detach(&job.digest);
        }
    }
}

/// Starts `hoist` again with this run's command line and [`FILL_VAR`]:
/// it compiles the module into the cache and exits. Its own process group
/// (the terminal's Ctrl-C is for this run, not it), no stdio.
fn detach(digest: &str) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = Command::new(exe);
    command
        .args(std::env::args_os().skip(1))
        .env(FILL_VAR, digest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    // Not waited for: it outlives this run, and is reaped by init.
    let _ = command.spawn();
}

/// In the detached process: whether this run is only to compile the module
/// with digest [`FILL_VAR`] into the cache.
pub fn fill_request() -> Option<String> {
    std::env::var(FILL_VAR).ok()
}

/// Lowers the calling thread's priority: the background compile must not
/// slow the program it runs beside.
pub fn lower_priority() {
    // SAFETY: setpriority has no memory effects; on Linux, PRIO_PROCESS with
    // `who` 0 is the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, NICE);
    }
}

/// The module digest as the detached process is told it.
pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
