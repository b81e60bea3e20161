//! The full compile behind a lazy first run: while a module compiled
//! lazily runs (each function compiled on its first call), the whole
//! module is compiled again, linked, on the other cores at low priority,
//! and the artifact stored in the compile cache, so the next run starts
//! from it as from any cache hit.
//!
//! A run that ends first never waits for a big module's compile: it hands
//! the job to a detached `hoist` (same options, its own session, no
//! terminal, low priority), which compiles that one module into the cache
//! and exits. It reads the module again from its file, or, for a module
//! that has none to read again (`hoist run -`, from a pipe), from a sealed
//! memory file holding this run's copy, given as its stdin. Small modules
//! (forced lazy with `-C lazy=y`) are waited for, as their compile takes a
//! moment. Nothing half-written is ever left:
//! cache entries are written to a temporary file and renamed. One module is
//! compiled by one process at a time: a lock file per entry (see
//! [`Cache::store`]).

use crate::cache::Cache;
use hoist::{Engine, SharedBytes};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Set to `DIGEST:PATH` (the module's digest in hex, its file, or `-` for
/// its stdin) in the environment of the detached `hoist` that finishes a
/// background compile: it compiles that module into the cache, if it still
/// has that digest, and exits without running anything.
pub const FILL_VAR: &str = "HOIST_INTERNAL_FILL_CACHE";

/// Modules with at least this many bytes of function bodies are compiled
/// lazily by default (`-C lazy=auto`), and their background compile is
/// detached rather than waited for when the run ends first. A full compile
/// of this much code takes a few tenths of a second on two cores, more than
/// most first runs of such a program need lazily: the seven Sightglass
/// programs above it, cold (`-C cache=n`), against wasmtime 49's cold run,
/// medians of 5: 0.26, 0.26, 0.37, 0.44, 0.48 and 0.83 of its time lazily
/// where compiled whole they took 0.94 to 0.96, and one, hashset, a single
/// long loop (calls in progress keep the baseline code), 1.11 instead of
/// 0.94.
pub const BIG_MODULE_CODE: u64 = 256 << 10;

/// Nice value of the background compile (and of the detached process).
const NICE: libc::c_int = 10;

/// How long a run goes before its background compile starts: a short run
/// (most first runs of a tool) then has every core to itself, and hands the
/// whole compile to the detached process.
const START_AFTER: Duration = Duration::from_secs(1);

/// After [`START_AFTER`], the compile also waits for the program's warm-up
/// to end: no function compiled on its first call in this long. Until then
/// the spare core compiles ahead of the program (the speculating thread,
/// see `hoist::Module::lazy_activity`), which shortens this run, where a
/// full compile only serves the next one and is lost if this run ends
/// first (the detached process starts over). Cold cc1 (a 4 s run that
/// reaches new functions throughout), medians of 4: 4.09 -> 3.63 s.
const QUIET: Duration = Duration::from_millis(500);

/// The latest a background compile starts, warm-up or not.
const START_BY: Duration = Duration::from_secs(10);

/// Waits until the background compile should start (see [`START_AFTER`]
/// and [`QUIET`]), or the run ends (`woken`).
fn wait_to_start(woken: &mpsc::Receiver<()>, activity: Option<&hoist::LazyActivity>) {
    let woken_early = |wait: Duration| {
        !matches!(
            woken.recv_timeout(wait),
            Err(mpsc::RecvTimeoutError::Timeout)
        )
    };
    let started = std::time::Instant::now();
    if woken_early(START_AFTER) {
        return;
    }
    let Some(activity) = activity else {
        return;
    };
    while let Some(left) = START_BY.checked_sub(started.elapsed()) {
        let quiet = activity.quiet_for();
        if quiet >= QUIET || woken_early((QUIET - quiet).min(left)) {
            return;
        }
    }
}

/// What a run that ends before its background compile does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtExit {
    /// Waits for it (small modules: a moment).
    Wait,
    /// Hands it to a detached `hoist` (big modules).
    Detach,
}

/// Where the detached process reads the module.
enum Handed {
    /// Its file, by canonical path (a regular file only).
    File(std::path::PathBuf),
    /// This run's bytes, for a module read from stdin or a pipe.
    Bytes(SharedBytes),
}

/// One background compile.
struct Job {
    done: Arc<AtomicBool>,
    /// Set when the run ends before the compile started: it never will.
    cancelled: Arc<AtomicBool>,
    /// Set when the run ends: a compile that still finishes (a small
    /// module's, waited for) only stores the cache entry.
    run_over: Arc<AtomicBool>,
    /// Wakes the thread before [`START_AFTER`] (the run is ending).
    wake: mpsc::Sender<()>,
    thread: JoinHandle<()>,
    /// What happens to it when the run ends first.
    at_exit: AtExit,
    /// The module's digest, in hex.
    digest: String,
    /// Where a detached process would read the module.
    handed: Handed,
}

/// The background compiles of this process (one per lazily run module).
static JOBS: Mutex<Vec<Job>> = Mutex::new(Vec::new());

/// `hoist run -v`: say when a compile is handed to a detached process.
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Makes [`finish`] say (on stderr) when it leaves a compile running in a
/// detached process.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Starts compiling `wasm` (whose digest is `digest`, read from `path`) in
/// full into `cache`, in the background. When it is done and the run is
/// still going, `lazy` (the lazily compiled module of `wasm` the run uses)
/// switches to it (`Module::tier_up`): the rest of the run calls optimized
/// code.
#[allow(clippy::too_many_arguments)]
pub fn start(
    cache: Cache,
    engine: Engine,
    wasm: SharedBytes,
    digest: &[u8; 32],
    path: &std::path::Path,
    at_exit: AtExit,
    activity: Option<Arc<hoist::LazyActivity>>,
    lazy: hoist::Module,
) {
    // Only a regular file can be read again by the detached process; a
    // pipe's module (`-`, `/dev/stdin`, `<(...)`) goes to it as bytes.
    let file = (path.as_os_str() != "-")
        .then(|| std::fs::canonicalize(path).ok())
        .flatten()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()));
    let handed = match file {
        Some(file) => Handed::File(file),
        None => Handed::Bytes(wasm.clone()),
    };
    let digest = hex(digest);
    let done = Arc::new(AtomicBool::new(false));
    let cancelled = Arc::new(AtomicBool::new(false));
    let run_over = Arc::new(AtomicBool::new(false));
    let (finished, cancel, over) = (done.clone(), cancelled.clone(), run_over.clone());
    let (wake, woken) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("hoist-background-compile".into())
        .spawn(move || {
            wait_to_start(&woken, activity.as_deref());
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
                // Another process compiling the same module: leave it to it.
                // Wanted while the run goes on: not once it has ended and
                // only waits for the cache entry.
                let wanted = || !cancel.load(Ordering::Acquire) && !over.load(Ordering::Acquire);
                let optimized =
                    pool.install(|| cache.store_and_load(&engine, (*wasm).as_ref(), &wanted));
                if let Some(optimized) = optimized.filter(|_| wanted()) {
                    // Refused only if it does not fit, which a full compile
                    // of the same binary by the same engine always does.
                    let _ = lazy.tier_up(&optimized);
                }
            }
            finished.store(true, Ordering::Release);
        });
    if let Ok(thread) = spawned {
        JOBS.lock().unwrap_or_else(|e| e.into_inner()).push(Job {
            done,
            cancelled,
            run_over,
            wake,
            thread,
            at_exit,
            digest,
            handed,
        });
    }
}

/// At the end of a run: waits for the background compiles of small
/// modules, hands those of big ones still running to a detached process.
pub fn finish() {
    end(true);
}

/// At an `_exit` (a spawned thread's `proc_exit`, the time limit's
/// watchdog): hands big modules' compiles on, waits for nothing.
pub fn hand_off() {
    end(false);
}

fn end(wait: bool) {
    let jobs = std::mem::take(&mut *JOBS.lock().unwrap_or_else(|e| e.into_inner()));
    for job in jobs {
        // Nothing left to switch to optimized code.
        job.run_over.store(true, Ordering::Release);
        let done = job.done.load(Ordering::Acquire);
        if done || (wait && job.at_exit == AtExit::Wait) {
            let _ = job.wake.send(());
            let _ = job.thread.join();
            continue;
        }
        // A compile under way dies with this process; one that has not
        // started never will.
        job.cancelled.store(true, Ordering::Release);
        let _ = job.wake.send(());
        if job.at_exit == AtExit::Detach {
            detach(&job.digest, &job.handed);
        }
    }
}

/// Starts `hoist` again with this run's options and [`FILL_VAR`]: it
/// compiles the module into the cache and exits. A session of its own (no
/// controlling terminal: the terminal's Ctrl-C and hang-up are for this
/// run, not it), no stdio but, for a module handed as bytes, a sealed
/// memory file of them as stdin. Nothing is started if that file cannot be
/// made: the next run compiles lazily again.
fn detach(digest: &str, handed: &Handed) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let (request, stdin) = match handed {
        Handed::File(path) => (
            format!("{digest}:{}", path.to_string_lossy()),
            Stdio::null(),
        ),
        Handed::Bytes(wasm) => match sealed_memory_file(wasm.as_slice()) {
            Ok(file) => (format!("{digest}:-"), Stdio::from(file)),
            Err(_) => return,
        },
    };
    let mut command = Command::new(exe);
    command
        .args(std::env::args_os().skip(1))
        .env(FILL_VAR, request)
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: the closure runs in the child between fork and exec (after
    // its stdio is set up), where only async-signal-safe calls are allowed:
    // `setsid` and the `close_range` system call are, and they touch only
    // the child's session and descriptors.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            libc::setsid();
            // Nothing inherited beyond stdio (sockets a run was given, a
            // make jobserver's pipe): a compile that outlives the run must
            // not hold a reader of them waiting for their end. Best effort:
            // kernels before 5.9 lack the call.
            #[cfg(target_os = "linux")]
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    // Not waited for: it outlives this run, and is reaped by init.
    if let Ok(child) = command.spawn() {
        if VERBOSE.load(Ordering::Relaxed) {
            crate::output::eprintln(format_args!(
                "hoist: the full compile for the cache goes on in the background (process {}, \
                 at a low priority); the next run of this module starts from it once it is there",
                child.id()
            ));
        }
    }
}

/// `bytes` in an anonymous memory file, read from its start, sealed
/// against any change (and, where the kernel has the seal, against ever
/// being made an executable file): what a detached process reads as its
/// stdin.
fn sealed_memory_file(bytes: &[u8]) -> std::io::Result<std::fs::File> {
    use std::io::{Seek, Write};
    use std::os::fd::FromRawFd;
    // MFD_NOEXEC_SEAL (Linux 6.3); older kernels refuse it with EINVAL.
    const MFD_NOEXEC_SEAL: libc::c_uint = 0x0008;
    let create = |flags: libc::c_uint| {
        // SAFETY: a NUL-terminated name and flags; no memory is handed over.
        unsafe { libc::memfd_create(c"hoist-module".as_ptr(), flags) }
    };
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    let mut fd = create(flags | MFD_NOEXEC_SEAL);
    if fd < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        fd = create(flags);
    }
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.write_all(bytes)?;
    file.rewind()?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on a descriptor this function owns; no memory is passed.
    if unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

/// In the detached process: the digest (hex) and the file of the module to
/// compile into the cache (`-`: its stdin), if this run is only for that.
/// A malformed request still means "run nothing" (an empty path reads
/// nothing).
pub fn fill_request() -> Option<(String, std::path::PathBuf)> {
    let request = std::env::var_os(FILL_VAR)?;
    let request = request.to_string_lossy();
    let (digest, path) = request.split_once(':').unwrap_or(("", ""));
    Some((digest.to_string(), std::path::PathBuf::from(path)))
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
