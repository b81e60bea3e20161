//! Tier-up of lazily compiled code: a function that runs hot in the
//! baseline tier is compiled again, optimized, on a thread of its own, and
//! its calls from then on run the optimized code (as V8's Liftoff code
//! tiers up to TurboFan).
//!
//! The baseline code counts its entries and loop iterations down in the
//! function's counter here (`hoist_cranelift`'s `translate::hotness`); at
//! zero it calls the `tier_up` builtin, which lands in [`TierUp::hot`]:
//! the first time, the function is queued for the optimizing thread; once
//! its code is ready, the builtin installs it in the calling instance's
//! funcref, where calls, tables and exports find it (funcref identity is
//! unchanged, as for a first call's compile). Each time the counter is
//! rearmed with the budget, so a function still entered in its baseline
//! code (in another instance, whose funcref switches at its own next spent
//! entry) asks again at most every budget's worth of entries and
//! iterations: noise. Loop headers only count; entries check.
//! A call in progress keeps its code: there is no on-stack replacement.
//!
//! The optimizing thread, like the one compiling ahead, runs below the
//! program's priority and only while a core is spare: on a busy machine a
//! hot function just stays in the baseline tier.

use crate::lazy::{Compiled, LazyCode};
use hoist_environ::DefinedFuncIndex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};

/// Entries plus loop iterations a function runs in the baseline tier
/// before it is compiled optimized, by default (see
/// [`crate::Config::tiering_budget`]).
pub const DEFAULT_TIERING_BUDGET: u32 = 10_000;

/// How long the program must go without compiling a function on its first
/// call before functions are optimized (see [`optimize`]). Cold CPython
/// `-c 'print(1)'`, which warms up throughout: 655 ms without tier-up,
/// 769 ms with optimized compiles from the start.
const WARM_UP_QUIET: std::time::Duration = std::time::Duration::from_millis(50);

/// A counter that never runs down in practice (a function that will not be
/// optimized: its compile failed, or the whole module was switched to).
const NEVER: i64 = i64::MAX;

/// The tier-up state of one lazily compiled module.
pub(crate) struct TierUp {
    /// Each defined function's hotness counter; baseline code holds their
    /// addresses, so the slice never moves or shrinks.
    counters: Box<[AtomicI64]>,
    /// What each counter starts from, and is rearmed with.
    budget: i64,
    /// Whether each function has been queued (set once).
    queued: Box<[AtomicBool]>,
    /// Each function's optimized code (`None`: its compile failed).
    optimized: Box<[OnceLock<Option<Arc<Compiled>>>]>,
    queue: Mutex<VecDeque<DefinedFuncIndex>>,
    ready: Condvar,
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
            ready: Condvar::new(),
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

    /// See `hoist_runtime::LazyFunctions::hot`: `baseline` is the entry of
    /// `index`'s baseline code; `tiered` whether the module has switched
    /// to a full compile (nothing more to optimize then).
    pub(crate) fn hot(
        &self,
        index: DefinedFuncIndex,
        baseline: Option<*const u8>,
        tiered: bool,
    ) -> Option<(*const u8, *const u8)> {
        let at = index.as_u32() as usize;
        let counter = self.counters.get(at)?;
        if tiered {
            counter.store(NEVER, Ordering::Relaxed);
            return None;
        }
        match self.optimized[at].get() {
            Some(Some(optimized)) => {
                counter.store(self.budget, Ordering::Relaxed);
                return Some((baseline?, optimized.code.address(optimized.entry)));
            }
            Some(None) => {
                counter.store(NEVER, Ordering::Relaxed);
                return None;
            }
            None => counter.store(self.budget, Ordering::Relaxed),
        }
        if !self.queued[at].swap(true, Ordering::AcqRel) {
            self.queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_back(index);
            self.ready.notify_one();
            self.start();
        }
        None
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

    /// Starts the optimizing thread, once. Without one (a thread could not
    /// be started), hot functions stay in the baseline tier.
    fn start(&self) {
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

    /// The next function to optimize, waiting a while for one; `None`
    /// after a quiet spell (so the thread can see whether the module is
    /// still there).
    fn next(&self) -> Option<DefinedFuncIndex> {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let (mut queue, _) = self
            .ready
            .wait_timeout_while(queue, std::time::Duration::from_millis(200), |q| {
                q.is_empty()
            })
            .unwrap_or_else(|e| e.into_inner());
        queue.pop_front()
    }

    /// Keeps `index`'s optimized compile (`None`: it failed).
    fn keep(&self, index: DefinedFuncIndex, compiled: Option<Arc<Compiled>>) {
        if let Some(cell) = self.optimized.get(index.as_u32() as usize) {
            let _ = cell.set(compiled);
        }
    }
}

/// The optimizing thread: compiles queued functions, optimized, while the
/// module lives; at a low priority, and only while a core is spare and the
/// program's warm-up is over.
fn optimize(owner: Weak<LazyCode>) {
    crate::lazy::lower_thread_priority();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    loop {
        let Some(index) = owner
            .upgrade()
            .and_then(|lazy| lazy.tier_up.as_ref().map(TierUp::next))
        else {
            return;
        };
        let Some(index) = index else {
            continue;
        };
        // Waits for its turn without keeping the module alive.
        loop {
            let Some(lazy) = owner.upgrade() else {
                return;
            };
            let wait = turn(&lazy, cores);
            if wait.is_zero() {
                if !lazy.is_tiered_up() {
                    // A failed compile (or a panic in one) leaves the
                    // function in the baseline tier, which runs it right.
                    let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        lazy.compile_optimized(index).ok()
                    }))
                    .ok()
                    .flatten();
                    if let Some(tier_up) = &lazy.tier_up {
                        tier_up.keep(index, compiled);
                    }
                }
                break;
            }
            drop(lazy);
            std::thread::sleep(wait);
        }
    }
}

/// How long the optimizing thread waits before it may compile (zero: now).
/// Only on a core nothing else wants, and warm-up first: while the program
/// still calls functions for the first time, the spare core is worth more
/// compiling ahead of it (a function it waits for holds it up now; a hot
/// one only runs slower), and an optimized compile under way cannot be cut
/// short.
fn turn(lazy: &LazyCode, cores: usize) -> std::time::Duration {
    if lazy.tier_up.as_ref().is_some_and(|t| t.eager) {
        return std::time::Duration::ZERO;
    }
    if !crate::lazy::cores_to_spare(cores) {
        return std::time::Duration::from_millis(50);
    }
    let quiet = lazy.activity().quiet_for();
    if quiet < WARM_UP_QUIET {
        return WARM_UP_QUIET - quiet;
    }
    if lazy.compiling_ahead() {
        return std::time::Duration::from_millis(2);
    }
    std::time::Duration::ZERO
}
