//! Lazy compilation: validate the whole module, then compile each function
//! the first time it is called (see `hoist_runtime`'s `lazy` module for the
//! stubs and the funcrefs), or just before, on another core
//! ([`start_speculating`]).
//!
//! The code compiled here is Cranelift's baseline tier (no optimizations,
//! see `hoist_cranelift::CompilerOptions::baseline_tier`), and calls to the
//! module's functions load their target from the vmctx funcref instead of
//! calling a fixed address.
//! A program's next run is meant to use the fully linked artifact that a
//! background compile leaves in the compile cache (the CLI does that).

use crate::engine::Engine;
use anyhow::Result;
use hoist_environ::{DefinedFuncIndex, FunctionBodyData, VMOffsets};
use hoist_runtime::{
    ArenaCode, CodeArena, CodeTables, CompiledFunction, LazyFunctions, ModuleCode, TrapTable,
};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::error::Error;
use std::ops::Range;
use std::sync::{Arc, OnceLock, RwLock, Weak};
use wasmparser::{BinaryReader, FuncToValidate, FunctionBody, ValidatorResources, WasmFeatures};

/// Where one function's body is, and what its validator needs.
pub(crate) struct LazyBody {
    /// Byte range of the body (locals and code) in the module binary.
    range: Range<usize>,
    /// Its function index and type index, as the validator numbers them.
    func: u32,
    ty: u32,
}

/// Validates every function body of a translated module (in parallel),
/// keeping where each one is for the compile on first call. An invalid
/// body's error is returned (with several, whichever was found first), as a
/// full compile would report it.
pub(crate) fn validate_bodies(
    bodies: Vec<FunctionBodyData<'_>>,
) -> Result<(Vec<LazyBody>, Option<ValidatorResources>)> {
    let resources = bodies.first().map(|b| b.validator.resources.clone());
    let checked = bodies
        .into_par_iter()
        .map(|FunctionBodyData { body, validator }| {
            let range = body.range();
            let (func, ty) = (validator.index, validator.ty);
            validator
                .into_validator(Default::default())
                .validate(&body)
                .map_err(hoist_environ::WasmError::from)?;
            Ok(LazyBody {
                range: range.start as usize..range.end as usize,
                func,
                ty,
            })
        })
        .collect::<Result<Vec<_>, hoist_environ::WasmError>>()?;
    Ok((checked, resources))
}

/// One function compiled on its first call (or optimized after, see
/// [`crate::tier_up`]).
pub(crate) struct Compiled {
    /// Packed with the module's other functions (see
    /// `hoist_runtime::CodeArena`).
    pub(crate) code: ArenaCode,
    /// Where the function starts in `code` (after padding that places its
    /// loop; see `hoist_cranelift::Compiler::compile_function_lazily`).
    pub(crate) entry: u32,
    len: usize,
    /// Sorted (text offset, wasm byte offset) pairs.
    address_map: Vec<(u32, u32)>,
}

/// The compiler of a lazily compiled module, kept by its `ModuleCode`.
pub(crate) struct LazyCode {
    engine: Engine,
    module: Arc<hoist_environ::Module>,
    offsets: VMOffsets,
    /// The module binary the body ranges refer to (the artifact image's
    /// copy has its custom sections stripped: other offsets).
    wasm: crate::SharedBytes,
    bodies: Vec<LazyBody>,
    resources: Option<ValidatorResources>,
    features: WasmFeatures,
    compiled: Vec<OnceLock<Result<Arc<Compiled>, String>>>,
    /// Code start address → function, for `lookup_pc`: filled before the
    /// code is handed out, so a frame of it can always be named.
    by_address: RwLock<BTreeMap<usize, (DefinedFuncIndex, Arc<Compiled>)>>,
    /// Functions to compile ahead of their first call (see
    /// [`start_speculating`]), most recently found last.
    speculation: Speculation,
    /// When the program last compiled a function on its first call.
    activity: Arc<LazyActivity>,
    /// The full compile this module switched to mid-run, if it has
    /// ([`crate::Module::tier_up`]); kept so its code stays mapped.
    tiered: OnceLock<crate::Module>,
    /// Hot functions compiled again, optimized (`None`: the baseline tier
    /// counts nothing, see [`crate::Config::tiering_budget`]).
    pub(crate) tier_up: Option<crate::tier_up::TierUp>,
    /// Where the compiled functions' code is packed.
    arena: CodeArena,
    /// The module's code, whose live instances the optimizing thread
    /// points at optimized code (weak: the code owns this object).
    module_code: OnceLock<Weak<ModuleCode>>,
}

/// How recently a lazily compiled module's program last had to compile a
/// function it called for the first time: while it keeps doing so, it is
/// still warming up, and the spare cores are best spent compiling ahead of
/// it. Calls that find their function compiled do not count (a function
/// compiled ahead, or a call through a funcref copied before the compile,
/// which goes through the stub every time). See
/// [`crate::Module::lazy_activity`].
#[derive(Debug)]
pub struct LazyActivity {
    start: std::time::Instant,
    /// Milliseconds from `start` to the end of the last such compile.
    last_compile: std::sync::atomic::AtomicU64,
}

impl LazyActivity {
    fn new() -> LazyActivity {
        LazyActivity {
            start: std::time::Instant::now(),
            last_compile: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn compiled(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_compile
            .store(now, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long since the program last finished compiling a function on its
    /// first call (since the module was made, before any), to the
    /// millisecond.
    pub fn quiet_for(&self) -> std::time::Duration {
        let last = self.last_compile.load(std::sync::atomic::Ordering::Relaxed);
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        std::time::Duration::from_millis(now.saturating_sub(last))
    }
}

/// The queue of [`start_speculating`]'s thread.
#[derive(Default)]
struct Speculation {
    /// Whether a thread takes from the queue (else nothing is queued).
    on: std::sync::atomic::AtomicBool,
    /// What to do next, last first.
    queue: std::sync::Mutex<Vec<Job>>,
    ready: std::sync::Condvar,
    /// The function being compiled ahead and since when, and the functions
    /// the program has claimed: it compiles them itself, or waits for their
    /// compile ahead (see [`LazyCode::claim`]); never started ahead after.
    ahead: std::sync::Mutex<Ahead>,
    /// Signalled when a compile ahead ends.
    done: std::sync::Condvar,
    /// Nanoseconds of compile per byte of body, a moving average of the
    /// compiles so far (0: none yet), to bound a wait for a compile ahead.
    pace: std::sync::atomic::AtomicU64,
}

/// Work for the thread compiling ahead.
#[derive(Clone, Copy, Debug)]
enum Job {
    /// Compile this function, this many calls away from a function the
    /// program needed.
    Compile(DefinedFuncIndex, u32),
    /// Queue the callees of this function, which the program is compiling
    /// for its first call: reading its body for them is this thread's
    /// work, not the program's (a second decode of every operator; 323 KB
    /// for hashset's `benchmark()`).
    Callees(DefinedFuncIndex),
}

#[derive(Default)]
struct Ahead {
    compiling: Option<(DefinedFuncIndex, std::time::Instant)>,
    claimed: std::collections::HashSet<DefinedFuncIndex>,
}

/// [`Speculation::pace`] until a compile is measured: about twice the
/// development machine's.
const FIRST_PACE_NS_PER_BYTE: u64 = 1_000;

impl Speculation {
    fn lock_ahead(&self) -> std::sync::MutexGuard<'_, Ahead> {
        self.ahead.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Folds a compile of `bytes` of body that took `took` into the pace.
    fn measured(&self, took: std::time::Duration, bytes: usize) {
        let Some(pace) = u64::try_from(took.as_nanos())
            .unwrap_or(u64::MAX)
            .checked_div(bytes as u64)
        else {
            return;
        };
        let _ = self.pace.fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |old| Some(if old == 0 { pace } else { (old * 7 + pace) / 8 }),
        );
    }
}

/// How far ahead of the program the speculation goes: callees, their
/// callees, and so on to this many calls from a function the program
/// needed. Unbounded, it compiles much of the call graph (cc1's peak
/// memory: 176 MB without speculation, 257 MB at 3, 320 MB unbounded);
/// cold CPython: 702, 667, 644 and 623 ms at 1, 2, 3 and unbounded.
const MAX_DEPTH: u32 = 3;

/// The program's thread, waiting for a function being compiled ahead
/// ([`LazyCode::claim`]), compiles queued functions meanwhile when the wait
/// is expected to last at least this long...
const MIN_FILL: std::time::Duration = std::time::Duration::from_micros(200);

/// ... and looks for one that fits among this many of the functions queued
/// last (the likeliest to be called next).
const FILL_SCAN: usize = 8;

/// Starts compiling `lazy`'s functions ahead of their first call, on one
/// thread of its own (on a machine with two cores or more): the functions
/// that compiled functions call directly, most recently found first. While
/// the program runs a function just compiled, the callees it is about to
/// call may be ready when it calls them (cold, `-C cache=n`, an idle
/// two-core machine: CPython 736 -> 698 ms, cc1 4.14 -> 3.79 s, for 60 %
/// more CPU time and 80 MB more peak memory on cc1). It compiles only
/// while the machine has a core to spare ([`cores_to_spare`]), far below
/// the program's priority; the program waits for it only for a function
/// it has under way, and not for long ([`LazyCode::claim`]); a function
/// the program reaches first it compiles itself, and this thread leaves
/// alone. It goes a few calls ahead at most ([`MAX_DEPTH`]), and it ends
/// when the module is gone.
pub(crate) fn start_speculating(lazy: &Arc<LazyCode>) {
    if std::thread::available_parallelism().map_or(true, |n| n.get() < 2) {
        return;
    }
    let weak = Arc::downgrade(lazy);
    let spawned = std::thread::Builder::new()
        .name("hoist-speculate".into())
        // Cranelift's stack needs, with room to spare (as a first call's
        // compile on a thread of its own).
        .stack_size(16 << 20)
        .spawn(move || {
            // However this thread ends, nothing is queued for it any more.
            struct Off(std::sync::Weak<LazyCode>);
            impl Drop for Off {
                fn drop(&mut self) {
                    if let Some(lazy) = self.0.upgrade() {
                        lazy.speculation
                            .on
                            .store(false, std::sync::atomic::Ordering::Release);
                    }
                }
            }
            let _off = Off(weak.clone());
            lower_thread_priority();
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            while let Some(lazy) = weak.upgrade() {
                // Only on a core nothing else wants: on a busy machine (a
                // `make -j` of compilers) it would slow everyone down.
                if !cores_to_spare(cores) {
                    drop(lazy);
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    continue;
                }
                // Hot functions, once the warm-up is over, come first
                // (see `tier_up::turn`); none are once the module has
                // switched to its full compile.
                if !lazy.is_tiered_up()
                    && lazy
                        .tier_up
                        .as_ref()
                        .is_some_and(|t| t.wants_core(lazy.activity().quiet_for()))
                {
                    drop(lazy);
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    continue;
                }
                if let Some((index, depth)) = lazy.next_speculation() {
                    // An error or a panic is the program's own first call's
                    // to meet and report; nothing to do here.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        lazy.speculate(index, depth)
                    }));
                }
            }
        });
    if spawned.is_ok() {
        lazy.speculation
            .on
            .store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Whether no more than `cores` + 1 threads are runnable (the kernel's
/// count, `/proc/loadavg`'s fourth field, includes this thread and the
/// program's; the one more lets a short-lived helper or kernel thread
/// pass). One reading is one instant: a count over is read again a
/// millisecond later, and only two in a row say the cores are busy (at a
/// module's start, this process's own threads being born made the thread
/// compiling ahead sit out 50 ms in 4 of 6 cold runs of hashset, the whole
/// run). Elsewhere, or unreadable: assumed so.
pub(crate) fn cores_to_spare(cores: usize) -> bool {
    let spare = || runnable().is_none_or(|runnable| runnable <= cores + 1);
    spare() || {
        std::thread::sleep(std::time::Duration::from_millis(1));
        spare()
    }
}

/// The number of runnable threads on the machine, as the kernel counts.
#[cfg(target_os = "linux")]
fn runnable() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace()
        .nth(3)?
        .split('/')
        .next()?
        .parse()
        .ok()
}

/// Unknown elsewhere.
#[cfg(not(target_os = "linux"))]
fn runnable() -> Option<usize> {
    None
}

/// The nice value of the threads compiling ahead and optimizing: the CLI's
/// background compile's, far below the program's (0): they take idle
/// cores.
#[cfg(target_os = "linux")]
const SPECULATION_NICE: libc::c_int = 10;

/// Gives the calling thread [`SPECULATION_NICE`] (on Linux; elsewhere the
/// call would change the whole process, so nothing is done).
pub(crate) fn lower_thread_priority() {
    // SAFETY: setpriority has no memory effects; on Linux, PRIO_PROCESS
    // with `who` 0 is the calling thread.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, SPECULATION_NICE);
    }
}

impl LazyCode {
    pub(crate) fn new(
        engine: Engine,
        module: Arc<hoist_environ::Module>,
        offsets: VMOffsets,
        wasm: crate::SharedBytes,
        bodies: Vec<LazyBody>,
        resources: Option<ValidatorResources>,
        this: std::sync::Weak<LazyCode>,
    ) -> LazyCode {
        let features = engine.inner.features;
        let compiled = (0..bodies.len()).map(|_| OnceLock::new()).collect();
        let tier_up = engine.inner.tiering_budget.map(|budget| {
            let eager = engine.inner.tier_up_eagerly;
            crate::tier_up::TierUp::new(bodies.len(), budget, eager, this)
        });
        LazyCode {
            engine,
            module,
            offsets,
            wasm,
            bodies,
            resources,
            features,
            compiled,
            by_address: RwLock::default(),
            speculation: Speculation::default(),
            activity: Arc::new(LazyActivity::new()),
            tiered: OnceLock::new(),
            tier_up,
            arena: CodeArena::new(),
            module_code: OnceLock::new(),
        }
    }

    /// Keeps `optimized`, a full compile of this module: later first calls
    /// use its code instead of compiling (see [`crate::Module::tier_up`],
    /// which checked that it fits).
    pub(crate) fn tier_up(&self, optimized: crate::Module) -> Result<()> {
        self.tiered
            .set(optimized)
            .map_err(|_| anyhow::anyhow!("this module has already switched to a full compile"))?;
        // Nothing more to compile ahead, or to optimize.
        self.speculation
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        if let Some(tier_up) = &self.tier_up {
            tier_up.clear();
        }
        Ok(())
    }

    /// Links this object to the module's code it compiles for (once, when
    /// that is made).
    pub(crate) fn set_module_code(&self, code: &Arc<ModuleCode>) {
        let _ = self.module_code.set(Arc::downgrade(code));
    }

    /// Tier-up of `index`, whose optimized code is ready: every live
    /// instance's funcref still on its baseline code is pointed at it.
    /// Returns how many were.
    pub(crate) fn install_optimized(&self, index: DefinedFuncIndex) -> usize {
        let Some(tier_up) = &self.tier_up else {
            return 0;
        };
        let (Some(optimized), Some(Ok(baseline))) = (
            tier_up.optimized(index),
            self.compiled
                .get(index.as_u32() as usize)
                .and_then(OnceLock::get),
        ) else {
            return 0;
        };
        let Some(code) = self.module_code.get().and_then(Weak::upgrade) else {
            return 0;
        };
        // SAFETY: `optimized` is this function compiled for this module's
        // vmctx layout and calling convention (the baseline's), and this
        // object, which keeps its code mapped, lives as long as `code`.
        unsafe {
            code.install_tier_up(
                index,
                baseline.code.address(baseline.entry),
                optimized.code.address(optimized.entry),
            )
        }
    }

    pub(crate) fn is_tiered_up(&self) -> bool {
        self.tiered.get().is_some()
    }

    /// The entry of `index` in the full compile switched to, if any.
    pub(crate) fn tiered_code(&self, index: DefinedFuncIndex) -> Option<*const u8> {
        let code = &self.tiered.get()?.inner.code;
        Some(
            code.code
                .address(*code.functions.get(index.as_u32() as usize)?),
        )
    }

    /// The size of `index`'s body in the module binary, in bytes.
    pub(crate) fn body_size(&self, index: DefinedFuncIndex) -> usize {
        self.bodies
            .get(index.as_u32() as usize)
            .map_or(0, |body| body.range.len())
    }

    /// The program's compiles on first call, for
    /// [`crate::Module::lazy_activity`].
    pub(crate) fn activity(&self) -> Arc<LazyActivity> {
        self.activity.clone()
    }

    /// The next function to compile ahead, waiting a while for one;
    /// `None` after a quiet spell (so the thread can see whether the module
    /// is still there).
    fn next_speculation(&self) -> Option<(DefinedFuncIndex, u32)> {
        let speculation = &self.speculation;
        let mut queue = speculation.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match queue.pop() {
                Some(Job::Compile(index, depth)) => {
                    if !self.is_compiled(index) {
                        return Some((index, depth));
                    }
                    continue;
                }
                Some(Job::Callees(index)) => {
                    drop(queue);
                    self.queue_callees(index, 0);
                    queue = speculation.queue.lock().unwrap_or_else(|e| e.into_inner());
                    continue;
                }
                None => {}
            }
            let (waited, timeout) = speculation
                .ready
                .wait_timeout(queue, std::time::Duration::from_millis(200))
                .unwrap_or_else(|e| e.into_inner());
            queue = waited;
            if timeout.timed_out() && queue.is_empty() {
                return None;
            }
        }
    }

    /// Compiles `index` (`depth` calls from a function the program
    /// needed) ahead of its first call, unless the program has claimed it
    /// (see [`LazyCode::claim`]).
    fn speculate(&self, index: DefinedFuncIndex, depth: u32) {
        let Some(cell) = self.compiled.get(index.as_u32() as usize) else {
            return;
        };
        {
            let mut ahead = self.speculation.lock_ahead();
            if cell.get().is_some() || ahead.claimed.contains(&index) || self.is_tiered_up() {
                return;
            }
            ahead.compiling = Some((index, std::time::Instant::now()));
        }
        let compiled = self.compile_named(index);
        self.speculation.lock_ahead().compiling = None;
        self.speculation.done.notify_all();
        self.keep_ahead(index, depth, compiled);
    }

    /// Keeps a compile of `index` made ahead of its first call, and queues
    /// its callees. Outside the function's once-cell: should the program
    /// tire of waiting for the speculating thread (which runs at a low
    /// priority) and compile the function itself, the compile that finishes
    /// second is dropped. An error is dropped too: the program's own first
    /// call meets it and reports it.
    fn keep_ahead(&self, index: DefinedFuncIndex, depth: u32, compiled: Result<Arc<Compiled>>) {
        let (Some(cell), Ok(compiled)) = (self.compiled.get(index.as_u32() as usize), compiled)
        else {
            return;
        };
        let address = compiled.code.address(0) as usize;
        match cell.set(Ok(compiled)) {
            Ok(()) => self.queue_callees(index, depth),
            Err(_) => {
                self.by_address
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&address);
            }
        }
    }

    /// Claims `index` for the program, which is about to compile it on its
    /// first call: it is not started ahead after this. If it is being
    /// compiled ahead right now, waits for that compile, which began
    /// earlier and so ends sooner than one started now (on cc1's cold run,
    /// nearly a third of the program's compile time went to functions being
    /// compiled ahead at the same time); but not past twice the time a
    /// compile of its size takes at the pace measured so far, plus 2 ms:
    /// the thread compiling ahead runs at a low priority and may be held
    /// up. Then the program compiles the function itself.
    ///
    /// While it waits, the program's thread compiles queued functions whose
    /// compile is expected to end before the one it waits for (at the pace
    /// measured so far): the callees of the function it waits for, most
    /// likely, which this thread then queues itself (see [`Job::Callees`]).
    /// (Cold, `-C cache=n`, medians of 5 alternating runs: cc1 8.33 -> 7.74 s,
    /// CPython `-c print(1)` 1.38 -> 1.27 s; on cc1 the program had been
    /// waiting 0.7 s in all.)
    fn claim(&self, index: DefinedFuncIndex) {
        let speculation = &self.speculation;
        let mut ahead = speculation.lock_ahead();
        ahead.claimed.insert(index);
        let Some((_, started)) = ahead.compiling.filter(|(i, _)| *i == index) else {
            return;
        };
        // The thread compiling ahead is busy with `index` itself: reading
        // its callees, asked of that thread, is this one's while it waits
        // (so that it can fill the wait with them). Lock order: `ahead`,
        // then the queue.
        let asked = {
            let mut queue = speculation.queue.lock().unwrap_or_else(|e| e.into_inner());
            let at = queue
                .iter()
                .rposition(|job| matches!(job, Job::Callees(i) if *i == index));
            at.map(|at| queue.remove(at)).is_some()
        };
        if asked {
            self.queue_callees(index, 0);
        }
        let bytes = self.bodies[index.as_u32() as usize].range.len() as u64;
        let pace = match speculation.pace.load(std::sync::atomic::Ordering::Relaxed) {
            0 => FIRST_PACE_NS_PER_BYTE,
            pace => pace,
        };
        let expected = std::time::Duration::from_nanos(bytes.saturating_mul(pace));
        let (expected_end, deadline) = (
            started + expected,
            started + expected * 2 + std::time::Duration::from_millis(2),
        );
        while ahead.compiling.is_some_and(|(i, _)| i == index) {
            let now = std::time::Instant::now();
            let Some(left) = deadline.checked_duration_since(now) else {
                return;
            };
            let room = expected_end.saturating_duration_since(now);
            if room >= MIN_FILL {
                if let Some((other, depth)) = self.take_fitting(&mut ahead, room, pace) {
                    drop(ahead);
                    // As on the speculating thread: an error or a panic is
                    // for the function's own first call to report.
                    let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.compile_named(other)
                    }));
                    if let Ok(compiled) = compiled {
                        self.keep_ahead(other, depth, compiled);
                    }
                    ahead = speculation.lock_ahead();
                    continue;
                }
            }
            ahead = speculation
                .done
                .wait_timeout(ahead, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Takes from the queue, for the program's thread to compile while it
    /// waits ([`LazyCode::claim`]), a function among the last queued that is
    /// not compiled, not claimed and not being compiled, and whose compile
    /// is expected to take at most `room` at `pace` nanoseconds per byte;
    /// claims it. Lock order: `ahead`, then the queue.
    fn take_fitting(
        &self,
        ahead: &mut Ahead,
        room: std::time::Duration,
        pace: u64,
    ) -> Option<(DefinedFuncIndex, u32)> {
        let mut queue = self
            .speculation
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let room = u64::try_from(room.as_nanos()).unwrap_or(u64::MAX);
        let last = queue.len();
        let position = (last.saturating_sub(FILL_SCAN)..last).rev().find(|&at| {
            let Job::Compile(other, _) = queue[at] else {
                return false;
            };
            let bytes = self.bodies[other.as_u32() as usize].range.len() as u64;
            !self.is_compiled(other)
                && !ahead.claimed.contains(&other)
                && ahead.compiling.is_none_or(|(i, _)| i != other)
                && bytes.saturating_mul(pace) <= room
        })?;
        let Job::Compile(other, depth) = queue.remove(position) else {
            return None;
        };
        ahead.claimed.insert(other);
        Some((other, depth))
    }

    /// Whether `index` has its code (or its compile error) for good.
    fn is_compiled(&self, index: DefinedFuncIndex) -> bool {
        self.compiled
            .get(index.as_u32() as usize)
            .is_none_or(|c| c.get().is_some())
    }

    /// Compiles `index` and names its code for `lookup_pc` before anyone
    /// can run it, so a frame of it can always be named.
    fn compile_named(&self, index: DefinedFuncIndex) -> Result<Arc<Compiled>> {
        self.compile_tier_named(index, false)
    }

    /// [`LazyCode::compile_tier`], the code named for `lookup_pc` first.
    fn compile_tier_named(
        &self,
        index: DefinedFuncIndex,
        optimized: bool,
    ) -> Result<Arc<Compiled>> {
        let compiled = Arc::new(self.compile_tier(index, optimized)?);
        self.by_address
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(compiled.code.address(0) as usize, (index, compiled.clone()));
        Ok(compiled)
    }

    /// Queues the defined functions `index` calls directly that are not
    /// compiled yet, first call last (it is taken first). The speculating
    /// thread does, for a function the program starts compiling (see
    /// [`Job::Callees`]) and for one it has compiled ahead; the program's
    /// thread for one it waits for. `depth`: how many calls `index`
    /// is from a function the program needed (0: it is one).
    fn queue_callees(&self, index: DefinedFuncIndex, depth: u32) {
        let speculation = &self.speculation;
        if !speculation.on.load(std::sync::atomic::Ordering::Acquire) || self.is_tiered_up() {
            return;
        }
        let depth = depth + 1;
        if depth > MAX_DEPTH {
            return;
        }
        let body = &self.bodies[index.as_u32() as usize];
        let reader = BinaryReader::new(&self.wasm[body.range.clone()], 0);
        let Ok(mut ops) = FunctionBody::new(reader).get_operators_reader() else {
            return;
        };
        let mut callees = Vec::new();
        let mut seen = std::collections::HashSet::new();
        while !ops.eof() {
            match ops.read() {
                Ok(
                    wasmparser::Operator::Call { function_index }
                    | wasmparser::Operator::ReturnCall { function_index },
                ) => {
                    let func = hoist_environ::FuncIndex::from_u32(function_index);
                    if let Some(defined) = self.module.defined_func_index(func) {
                        // Not itself: the program claims it next, and the
                        // low-priority thread must not take it before.
                        if defined != index && !self.is_compiled(defined) && seen.insert(defined) {
                            callees.push(defined);
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
        if callees.is_empty() {
            return;
        }
        let mut queue = speculation.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.extend(
            callees
                .into_iter()
                .rev()
                .map(|callee| Job::Compile(callee, depth)),
        );
        speculation.ready.notify_one();
    }

    /// Has the thread compiling ahead queue `index`'s callees (see
    /// [`Job::Callees`]); the program is about to compile `index`.
    fn ask_for_callees(&self, index: DefinedFuncIndex) {
        let speculation = &self.speculation;
        if !speculation.on.load(std::sync::atomic::Ordering::Acquire) || self.is_tiered_up() {
            return;
        }
        let mut queue = speculation.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.push(Job::Callees(index));
        speculation.ready.notify_one();
    }

    /// Compiles `index` again, optimized (tier-up), named as
    /// [`LazyCode::compile_named`] names the baseline code.
    pub(crate) fn compile_optimized(&self, index: DefinedFuncIndex) -> Result<Arc<Compiled>> {
        self.compile_tier_named(index, true)
    }

    /// Compiles `index` in the baseline tier (counting its hotness if
    /// tier-up is on), or `optimized`.
    fn compile_tier(&self, index: DefinedFuncIndex, optimized: bool) -> Result<Compiled> {
        let body = &self.bodies[index.as_u32() as usize];
        let reader = BinaryReader::new(&self.wasm[body.range.clone()], body.range.start as u64);
        let resources = self
            .resources
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no function bodies to compile"))?;
        let data = FunctionBodyData {
            body: FunctionBody::new(reader),
            validator: FuncToValidate {
                resources,
                index: body.func,
                ty: body.ty,
                features: self.features,
            },
        };
        let compiler = &self.engine.inner.compiler;
        let started = std::time::Instant::now();
        let text = if optimized {
            compiler.compile_function_optimized(&self.module, &self.offsets, index, data)?
        } else {
            let count_hotness = self.tier_up.is_some();
            let text = compiler.compile_function_lazily(
                &self.module,
                &self.offsets,
                index,
                data,
                count_hotness,
            )?;
            self.speculation
                .measured(started.elapsed(), body.range.len());
            text
        };
        let len = text.text.len();
        let tables = CodeTables {
            traps: TrapTable::new(text.traps),
            call_sites: text.call_sites,
            stack_maps: text.stack_maps,
        };
        let entry = text.functions.first().map_or(0, |f| f.start);
        let code = self.arena.alloc(&text.text, tables)?;
        Ok(Compiled {
            code,
            entry,
            len,
            address_map: text.address_map,
        })
    }
}

impl LazyFunctions for LazyCode {
    fn code(&self, index: DefinedFuncIndex) -> Result<*const u8, Box<dyn Error + Send + Sync>> {
        if let Some(code) = self.tiered_code(index) {
            return Ok(code);
        }
        if let Some(optimized) = self.tier_up.as_ref().and_then(|t| t.optimized(index)) {
            return Ok(optimized.code.address(optimized.entry));
        }
        let cell = self
            .compiled
            .get(index.as_u32() as usize)
            .ok_or("no such function")?;
        // Counted when it ends: a long compile is no quiet spell.
        let compiles = cell.get().is_none();
        let started = compiles.then(std::time::Instant::now);
        if compiles {
            // Its callees first, so the spare core starts on them while
            // this thread compiles the function or waits for its compile
            // ahead (cold, -C cache=n, medians of 4 and 5 alternating runs:
            // cc1 8.16 -> 8.01 s, CPython `-c print(1)` 1.51 -> 1.41 s).
            self.ask_for_callees(index);
            self.claim(index);
            // Baseline code now runs, and counts: someone must read it.
            if let Some(tier_up) = &self.tier_up {
                tier_up.start();
            }
        }
        let compiled = cell.get_or_init(|| {
            let compiled = self.compile_named(index).map_err(|e| {
                let func = self.module.func_index(index);
                let name = self
                    .module
                    .func_name(func)
                    .map(|n| format!(" (`{n}`)"))
                    .unwrap_or_default();
                format!(
                    "failed to compile function {}{name} on its first call: {e:#}",
                    func.as_u32()
                )
            })?;
            Ok(compiled)
        });
        if let Some(started) = started {
            self.activity.compiled();
            let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.engine
                .inner
                .first_call_compile_nanos
                .fetch_add(took, std::sync::atomic::Ordering::Relaxed);
        }
        let compiled = compiled.as_ref().map_err(|e| e.clone())?;
        // A full compile switched to while this one ran wins.
        if let Some(code) = self.tiered_code(index) {
            return Ok(code);
        }
        Ok(compiled.code.address(compiled.entry))
    }

    fn lookup_pc(&self, pc: usize) -> Option<(DefinedFuncIndex, Option<u32>)> {
        if let Some(found) = self.tiered.get().and_then(|m| m.inner.code.lookup_pc(pc)) {
            return Some(found);
        }
        let map = self.by_address.read().unwrap_or_else(|e| e.into_inner());
        let (&start, (index, compiled)) = map.range(..=pc).next_back()?;
        if pc >= start + compiled.len {
            return None;
        }
        let offset = u32::try_from(pc - start).ok()?;
        let wasm = compiled
            .address_map
            .partition_point(|(text, _)| *text <= offset)
            .checked_sub(1)
            .map(|j| compiled.address_map[j].1);
        Some((*index, wasm))
    }

    fn compiled_functions(&self) -> Vec<CompiledFunction> {
        let map = self.by_address.read().unwrap_or_else(|e| e.into_inner());
        map.iter()
            // Only the code each function has: a speculative compile that
            // lost the race is named here for a moment before it goes.
            .filter_map(|(&address, (index, compiled))| {
                let baseline = matches!(
                    self.compiled[index.as_u32() as usize].get(),
                    Some(Ok(current)) if Arc::ptr_eq(current, compiled)
                );
                let optimized = || {
                    self.tier_up
                        .as_ref()
                        .is_some_and(|t| t.is_current(*index, compiled))
                };
                (baseline || optimized()).then_some(CompiledFunction {
                    index: *index,
                    address,
                    len: compiled.len,
                    baseline,
                })
            })
            .collect()
    }

    fn hotness_counters(&self) -> *mut i64 {
        self.tier_up
            .as_ref()
            .map_or(std::ptr::null_mut(), |t| t.counters())
    }
}
