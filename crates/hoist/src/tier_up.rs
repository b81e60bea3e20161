//! Tier-up of lazily compiled code: a function that runs hot in the
//! baseline tier is compiled again, optimized, on a thread of its own, and
//! its calls from then on run the optimized code (as V8's Liftoff code
//! tiers up to TurboFan).
//!
//! The baseline code counts its entries and loop iterations down in the
//! function's counter here (`hoist_cranelift`'s `translate::hotness`), and
//! does nothing else: no check, no call. The optimizing thread reads the
//! counters every few milliseconds ([`TierUp::scan`]), queues each function
//! whose budget is spent, compiles it optimized and points every live
//! instance's funcref at that code where it still holds the baseline code
//! (`ModuleCode::install_tier_up`), where calls, tables and exports find it
//! (funcref identity is unchanged, as for a first call's compile); an
//! instance that has not called the function yet gets the optimized code
//! from its first call. The counter is rearmed then: should it run out
//! again, baseline code still runs somewhere, and the install is repeated
//! (once more for as long as it switches a funcref; a call in progress, or
//! a funcref an importing instance copied, it cannot reach).
//! A call in progress keeps its code: there is no on-stack replacement.
//!
//! The optimizing thread, like the one compiling ahead, runs below the
//! program's priority and only while a core is spare: on a busy machine a
//! hot function just stays in the baseline tier.

use crate::lazy::{Compiled, LazyCode};
use hoist_environ::DefinedFuncIndex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

/// Entries plus loop iterations a function runs in the baseline tier
/// before it is compiled optimized, by default (see
/// [`crate::Config::tiering_budget`]).
pub const DEFAULT_TIERING_BUDGET: u32 = 10_000;

/// How long the program must go without compiling a function on its first
/// call before functions are optimized (see [`optimize`]). With Cranelift
/// as the first tier, cold CPython `-c 'print(1)'`, which warms up
/// throughout, took 655 ms without tier-up and 769 ms with optimized
/// compiles from the start, so the wait was 50 ms. The single-pass
/// compiler's first-call compiles are several times cheaper, and the wait
/// mostly kept hot code in the baseline tier: cold runs (`-C cache=n`,
/// medians of 7, interleaved) with 50 / 20 / 10 / 5 / 0 ms: hashset 78 /
/// 61 / 60 / 59 / 67 ms, sqlite3 1111 / 986 / 965 / 954 / 962, CPython
/// `print(1)` 295 / 283 / 286 / 282 / 280, cc1 511 / 504 / 510 / 503 /
/// 508, rust-compression and tinygo-json within 2 ms.
const WARM_UP_QUIET: Duration = Duration::from_millis(10);

/// During the warm-up, hot functions of at most this many bytes of body
/// are optimized at once: their optimized compiles take a millisecond or
/// two (hashset's 400-byte hot functions about 0.6 ms each, 1.7 KB 1.5 ms,
/// 5.4 KB 5 ms, on this project's 2-core test machine).
const WARM_UP_BODY: usize = 2048;

/// How often the optimizing thread reads the counters: at first, and while
/// scans find hot functions. A program's hot functions run out of budget
/// early and all through its warm-up; a scan later than that leaves them in
/// the baseline tier for nothing (cold hashset's came 20 ms late at 10 ms
/// doubling after its first empty scan). A scan reads one counter per
/// function: 32,000 for cc1, some microseconds (at most 1 % of the spare
/// core, at its low priority, while scans keep finding hot functions).
/// 2 ms against 5: cold hashset 53.0 -> 48.5 ms (medians of 11), CPython
/// `print(1)`, cc1 and sqlite3 within noise.
const SCAN_EVERY: Duration = Duration::from_millis(2);

/// After this many scans in a row find nothing hot, the interval doubles
/// after each further one...
const SCANS_BEFORE_BACKING_OFF: u32 = 8;

/// ... up to this (a program idle or settled costs a scan a tenth of a
/// second).
const SCAN_AT_LEAST_EVERY: Duration = Duration::from_millis(100);

/// A counter that never runs out in practice: a function no longer looked
/// at (its optimized compile failed, or nothing is left to switch).
const NEVER: i64 = i64::MAX;

/// The tier-up state of one lazily compiled module.
pub(crate) struct TierUp {
    /// Each defined function's hotness counter; baseline code holds their
    /// addresses, so the slice never moves or shrinks.
    counters: Box<[AtomicI64]>,
    /// What each counter starts from, and is rearmed with once the
    /// function's optimized code is installed.
    budget: i64,
    /// Whether each function has been queued (set once).
    queued: Box<[AtomicBool]>,
    /// Each function's optimized code (`None`: its compile failed).
    optimized: Box<[OnceLock<Option<Arc<Compiled>>>]>,
    queue: Mutex<VecDeque<DefinedFuncIndex>>,
    /// Whether an optimized compile is under way.
    compiling: AtomicBool,
    /// Whether the optimizing thread has been started.
    started: AtomicBool,
    /// Optimize at once, whatever the program and the machine are doing
    /// (testing: `Config::tier_up_eagerly`).
    eager: bool,
    /// The module the optimizing thread compiles for (it ends with it).
    owner: Weak<LazyCode>,
}

impl TierUp {
    /// For `functions` defined functions, each counting `budget` down
    /// first; `eager`: see `Config::tier_up_eagerly`.
    pub(crate) fn new(functions: usize, budget: u32, eager: bool, owner: Weak<LazyCode>) -> TierUp {
        let budget = i64::from(budget.max(1));
        TierUp {
            eager,
            counters: (0..functions).map(|_| AtomicI64::new(budget)).collect(),
            budget,
            queued: (0..functions).map(|_| AtomicBool::new(false)).collect(),
            optimized: (0..functions).map(|_| OnceLock::new()).collect(),
            queue: Mutex::default(),
            compiling: AtomicBool::new(false),
            started: AtomicBool::new(false),
            owner,
        }
    }

    /// The counters' array, for the vmctx (see
    /// `hoist_runtime::LazyFunctions::hotness_counters`).
    pub(crate) fn counters(&self) -> *mut i64 {
        // `AtomicI64` has the layout of `i64`; compiled code writes the
        // counters with plain stores (racing threads only lose counts).
        self.counters.as_ptr() as *mut i64
    }

    /// `index`'s optimized code, if it is ready.
    pub(crate) fn optimized(&self, index: DefinedFuncIndex) -> Option<&Arc<Compiled>> {
        self.optimized.get(index.as_u32() as usize)?.get()?.as_ref()
    }

    /// Queues, once each, the functions whose counters are spent, the
    /// hottest (the furthest past its budget) first, and returns whether
    /// there were any, and the functions optimized already
    /// whose counters ran out again: baseline code still runs somewhere
    /// (a call in progress, or an instance whose first call installed the
    /// baseline code just as the optimized code was installed elsewhere),
    /// so their code is installed again (a no-op where it is), their
    /// counters rearmed.
    pub(crate) fn scan(&self) -> (bool, Vec<DefinedFuncIndex>) {
        let mut hot = Vec::new();
        let mut again = Vec::new();
        for (at, counter) in self.counters.iter().enumerate() {
            let left = counter.load(Ordering::Relaxed);
            if left > 0 {
                continue;
            }
            let index = DefinedFuncIndex::from_u32(at as u32);
            match self.optimized[at].get() {
                Some(Some(_)) => {
                    counter.store(self.budget, Ordering::Relaxed);
                    again.push(index);
                }
                // Its compile failed: it stays in the baseline tier.
                Some(None) => counter.store(NEVER, Ordering::Relaxed),
                None => {
                    if !self.queued[at].swap(true, Ordering::AcqRel) {
                        hot.push((left, index));
                    }
                }
            }
        }
        hot.sort_unstable();
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(hot.iter().map(|&(_, index)| index));
        (!hot.is_empty(), again)
    }

    /// Whether hot functions wait for their optimized compile, or one is
    /// under way, once the program's warm-up is over (`quiet`: how long it
    /// has gone without a first call's compile): the thread compiling ahead
    /// then leaves the spare core to this one (see [`turn`]).
    pub(crate) fn wants_core(&self, quiet: Duration) -> bool {
        quiet >= WARM_UP_QUIET && (self.compiling.load(Ordering::Acquire) || self.has_queued())
    }

    /// Forgets what is queued (the module switched to a full compile).
    pub(crate) fn clear(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Whether `compiled` is `index`'s optimized code.
    pub(crate) fn is_current(&self, index: DefinedFuncIndex, compiled: &Arc<Compiled>) -> bool {
        self.optimized(index)
            .is_some_and(|current| Arc::ptr_eq(current, compiled))
    }

    /// Starts the optimizing thread, once (at the module's first baseline
    /// compile: nothing counts before). Without one (a thread could not be
    /// started), hot functions stay in the baseline tier.
    pub(crate) fn start(&self) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let owner = self.owner.clone();
        let _ = std::thread::Builder::new()
            .name("hoist-tier-up".into())
            // Cranelift's stack needs, with room to spare (as the thread
            // compiling ahead).
            .stack_size(16 << 20)
            .spawn(move || optimize(owner));
    }

    /// The first queued function that `may` allow, taken off the queue and
    /// marked as compiling (under the queue's lock, so that the thread
    /// compiling ahead never sees neither: see [`TierUp::wants_core`]); the
    /// caller ends that with [`TierUp::compiled`].
    fn next(&self, may: impl Fn(DefinedFuncIndex) -> bool) -> Option<DefinedFuncIndex> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let at = queue.iter().position(|&index| may(index))?;
        let index = queue.remove(at)?;
        self.compiling.store(true, Ordering::Release);
        Some(index)
    }

    /// The compile [`TierUp::next`] handed out is over.
    fn compiled(&self) {
        self.compiling.store(false, Ordering::Release);
    }

    /// Whether any function waits for its optimized compile.
    fn has_queued(&self) -> bool {
        !self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Starts `index`'s counter over (its optimized code just installed).
    fn rearm(&self, index: DefinedFuncIndex) {
        self.set_counter(index, self.budget);
    }

    /// Stops looking at `index`'s counter.
    fn retire(&self, index: DefinedFuncIndex) {
        self.set_counter(index, NEVER);
    }

    fn set_counter(&self, index: DefinedFuncIndex, value: i64) {
        if let Some(counter) = self.counters.get(index.as_u32() as usize) {
            counter.store(value, Ordering::Relaxed);
        }
    }

    /// Keeps `index`'s optimized compile (`None`: it failed).
    fn keep(&self, index: DefinedFuncIndex, compiled: Option<Arc<Compiled>>) {
        if let Some(cell) = self.optimized.get(index.as_u32() as usize) {
            let _ = cell.set(compiled);
        }
    }
}

/// The optimizing thread: reads the counters, compiles the hot functions,
/// optimized, and installs their code, while the module lives and has not
/// switched to a full compile; at a low priority, and only while a core is
/// spare and the program's warm-up is over.
fn optimize(owner: Weak<LazyCode>) {
    crate::lazy::lower_thread_priority();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut every = SCAN_EVERY;
    let mut nap = every;
    let mut empty_scans = 0u32;
    loop {
        // Sleeps without keeping the module alive.
        std::thread::sleep(nap);
        let Some(lazy) = owner.upgrade() else {
            return;
        };
        let Some(tier_up) = lazy.tier_up.as_ref() else {
            return;
        };
        if lazy.is_tiered_up() {
            return;
        }
        let (found, again) = tier_up.scan();
        if lazy.is_tiered_up() {
            // It switched during the scan, after its clear of the queue:
            // what the scan queued would keep the thread compiling ahead
            // waiting (`wants_core`).
            tier_up.clear();
            return;
        }
        for index in again {
            // Nothing left to switch: what still runs the baseline code is
            // a call in progress, or a copy of the funcref an importing
            // instance made (out of reach): stop counting it.
            if lazy.install_optimized(index) == 0 {
                tier_up.retire(index);
            }
        }
        empty_scans = if found {
            0
        } else {
            empty_scans.saturating_add(1)
        };
        every = if empty_scans <= SCANS_BEFORE_BACKING_OFF || tier_up.eager {
            SCAN_EVERY
        } else {
            (every * 2).min(SCAN_AT_LEAST_EVERY)
        };
        nap = every;
        // Reads the load (in `turn`) only when there is something to do.
        while tier_up.has_queued() {
            let index = match turn(&lazy, cores) {
                Turn::Now => tier_up.next(|_| true),
                Turn::WarmingUp(left) => {
                    let small = tier_up.next(|index| lazy.body_size(index) <= WARM_UP_BODY);
                    if small.is_none() {
                        // Only big ones wait: look again when the warm-up
                        // would be over (its end is known to the
                        // millisecond).
                        nap = left;
                    }
                    small
                }
                Turn::Busy(wait) => {
                    nap = wait;
                    None
                }
            };
            let Some(index) = index else {
                break;
            };
            if lazy.is_tiered_up() {
                tier_up.compiled();
                tier_up.clear();
                return;
            }
            // A failed compile (or a panic in one) leaves the function in
            // the baseline tier, which runs it right.
            let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                lazy.compile_optimized(index).ok()
            }))
            .ok()
            .flatten();
            tier_up.compiled();
            tier_up.keep(index, compiled);
            let _ = lazy.install_optimized(index);
            tier_up.rearm(index);
        }
    }
}

/// What the optimizing thread may compile now.
enum Turn {
    /// Any hot function.
    Now,
    /// Only small ones ([`WARM_UP_BODY`]): the program still calls
    /// functions for the first time, and the warm-up is over in this long
    /// at the earliest.
    WarmingUp(Duration),
    /// None: no core is spare; look again in this long.
    Busy(Duration),
}

/// What the optimizing thread may compile now. Only on a core nothing else
/// wants, and big functions after the warm-up: while the program still
/// calls functions for the first time, the spare core is worth more
/// compiling ahead of it (a function it waits for holds it up now; a hot
/// one only runs slower), and an optimized compile under way cannot be cut
/// short; a small function's takes the core from it for a millisecond or
/// two. After the warm-up the hot functions come first, and the thread
/// compiling ahead waits for them ([`TierUp::wants_core`]): what it would
/// compile may never run, while the hot code runs now. Cold hashset lost
/// 20 ms of its 60 to both waits: see `docs/RATIONALE.md`.
fn turn(lazy: &LazyCode, cores: usize) -> Turn {
    if lazy.tier_up.as_ref().is_some_and(|t| t.eager) {
        return Turn::Now;
    }
    if !crate::lazy::cores_to_spare(cores) {
        return Turn::Busy(Duration::from_millis(50));
    }
    let quiet = lazy.activity().quiet_for();
    if quiet < WARM_UP_QUIET {
        return Turn::WarmingUp(WARM_UP_QUIET - quiet);
    }
    Turn::Now
}
