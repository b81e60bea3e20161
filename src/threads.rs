//! wasi-threads (https://github.com/WebAssembly/wasi-threads): the
//! `wasi` `thread-spawn` import, with which programs built for
//! `wasm32-wasip1-threads` (wasi-libc's pthreads) start threads.
//!
//! Each new thread gets an OS thread, a store of its own, and a new
//! instance of the program's module on the same shared memory and the same
//! WASI state (one fd table, one environment); it runs
//! `wasi_thread_start(tid, start_arg)`. Thread ids count up from 1 and stay
//! below 2^29, as the proposal asks. Ending:
//!
//! - a thread returning from `wasi_thread_start` ends only itself;
//! - `proc_exit` on any thread ends the process with its status;
//! - a trap on any thread ends the process with status 134, after its
//!   message and that thread's backtrace (one report only: threads that
//!   trap together, as on a timeout, leave it to the first);
//! - the main thread returning from `_start` ends the process, as a native
//!   program's `main` does, however many threads still run.
//!
//! What was written to stdout and stderr stays written: hoist buffers none
//! of it.

use crate::commands::run::Host;
use anyhow::{anyhow, bail, Context, Result};
use hoist::{Engine, ExternType, Linker, Memory, Module, SharedMemory, Store, Trap, Val};
use hoist_wasi::I32Exit;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

/// The proposal's limit on thread ids: they fit in 29 bits.
const MAX_TID: u32 = (1 << 29) - 1;

/// `EAGAIN` (WASI errno 6), returned negated when no thread can start.
const EAGAIN: i32 = 6;

/// Native stack for a spawned thread beyond the wasm stack budget: host
/// calls, the signal handler, WASI.
const HOST_STACK: usize = 2 << 20;

/// How a spawned thread's linker gets what the main one has (WASI and
/// its siblings); set up by `hoist run`.
pub type LinkHost =
    dyn Fn(&mut Linker<Host>, &mut Store<Host>, &Module) -> Result<()> + Send + Sync;

/// What `hoist run` decided about threads.
pub struct Options {
    /// The module as the command line gave it, for messages.
    pub name: String,
    /// Each thread's store gets the same limits (fuel each, the same time).
    pub limits: crate::limits::Limits,
    /// `-S max-threads`: how many spawned threads may run at once.
    pub max_threads: u32,
    /// `-S threads`: define `thread-spawn` (else only the shared memory).
    pub spawn_enabled: bool,
}

/// Everything a `thread-spawn` needs, shared by every thread.
pub struct Threads {
    engine: Engine,
    module: Module,
    /// See [`Options::name`].
    name: String,
    /// The module's shared memory import, if any: (module, name, memory).
    memory: Option<(String, String, SharedMemory)>,
    link_host: Arc<LinkHost>,
    limits: crate::limits::Limits,
    /// The main store's table budget: every thread's tables draw on it.
    table_budget: Arc<hoist::TableBudget>,
    next_tid: AtomicU32,
    live: AtomicU32,
    max_threads: u32,
    /// `-S threads`: define `thread-spawn` (else only the memory).
    spawn_enabled: bool,
}

/// Whether `module` imports `wasi` `thread-spawn` or a shared memory.
pub fn wanted(module: &Module) -> bool {
    module.imports().any(|(from, name, ty)| {
        (from == "wasi" && matches!(name, "thread-spawn" | "thread_spawn"))
            || matches!(ty, ExternType::Memory(ty) if ty.is_shared())
    })
}

impl Threads {
    /// Makes the shared memory the module imports (if it imports one) and
    /// defines it and, when `spawn_enabled`, `wasi` `thread-spawn` (both
    /// spellings the proposal has used) in `linker`.
    pub fn prepare(
        engine: &Engine,
        module: &Module,
        linker: &mut Linker<Host>,
        store: &mut Store<Host>,
        link_host: Arc<LinkHost>,
        options: Options,
    ) -> Result<()> {
        let Options {
            name,
            limits,
            max_threads,
            spawn_enabled,
        } = options;
        let mut memory = None;
        for (from, name, ty) in module.imports() {
            if let ExternType::Memory(ty) = ty {
                if ty.is_shared() {
                    let shared = SharedMemory::new(engine, ty).with_context(|| {
                        format!("failed to make the shared memory `{from}::{name}`")
                    })?;
                    memory = Some((from.to_string(), name.to_string(), shared));
                    break;
                }
            }
        }
        let threads = Arc::new(Threads {
            engine: engine.clone(),
            module: module.clone(),
            name,
            memory,
            link_host,
            limits,
            table_budget: store.table_budget(),
            next_tid: AtomicU32::new(1),
            live: AtomicU32::new(0),
            max_threads,
            spawn_enabled,
        });
        threads.define(linker, store)
    }

    /// Defines the shared memory and `thread-spawn` in `linker`.
    fn define(self: &Arc<Self>, linker: &mut Linker<Host>, store: &mut Store<Host>) -> Result<()> {
        if let Some((from, name, shared)) = &self.memory {
            let memory = Memory::from_shared(store, shared)?;
            linker.define(from, name, memory)?;
        }
        if !self.spawn_enabled {
            return Ok(());
        }
        for name in ["thread-spawn", "thread_spawn"] {
            let threads = Arc::clone(self);
            linker.func_wrap(
                store,
                "wasi",
                name,
                move |caller: hoist::Caller<'_, Host>, start_arg: i32| -> i32 {
                    threads.spawn(caller.data().wasi.clone(), start_arg)
                },
            )?;
        }
        Ok(())
    }

    /// `thread-spawn(start_arg)`: the new thread's id, or `-EAGAIN` when
    /// `--max-threads` are running or the OS refuses a thread.
    fn spawn(self: &Arc<Self>, wasi: hoist_wasi::WasiCtx, start_arg: i32) -> i32 {
        // Count the thread before it exists, so no two spawns both pass.
        if self
            .live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_threads).then_some(n + 1)
            })
            .is_err()
        {
            return -EAGAIN;
        }
        let Ok(tid) = self
            .next_tid
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                (t < MAX_TID).then_some(t + 1)
            })
        else {
            self.live.fetch_sub(1, Ordering::AcqRel);
            return -EAGAIN;
        };
        let threads = Arc::clone(self);
        let stack = self
            .limits
            .max_wasm_stack
            .unwrap_or(512 << 10)
            // Room for first-call code's bigger frames (the largest factor).
            .saturating_mul(hoist::BASELINE_STACK_FACTOR)
            .saturating_add(HOST_STACK);
        let spawned = std::thread::Builder::new()
            .name(format!("wasm thread {tid}"))
            .stack_size(stack)
            .spawn(move || {
                let outcome = threads.run(wasi, tid, start_arg);
                threads.live.fetch_sub(1, Ordering::AcqRel);
                if let Err(error) = outcome {
                    end_process(tid, &error, &threads);
                }
            });
        match spawned {
            Ok(_) => tid as i32,
            Err(_) => {
                self.live.fetch_sub(1, Ordering::AcqRel);
                -EAGAIN
            }
        }
    }

    /// A spawned thread's life: its store, its instance, its start.
    fn run(self: &Arc<Self>, wasi: hoist_wasi::WasiCtx, tid: u32, start_arg: i32) -> Result<()> {
        let mut store = Store::new(&self.engine, Host { wasi });
        store.share_table_budget(Arc::clone(&self.table_budget));
        self.limits.arm(&mut store)?;
        let mut linker = Linker::new(&self.engine);
        (self.link_host)(&mut linker, &mut store, &self.module)?;
        self.define(&mut linker, &mut store)?;
        let instance = linker
            .instantiate(&mut store, &self.module)
            .context("failed to instantiate the module for a new thread")?;
        let Some(start) = instance.get_func(&mut store, "wasi_thread_start") else {
            bail!("the module exports no `wasi_thread_start` for its threads");
        };
        start.call(
            &mut store,
            &[Val::I32(tid as i32), Val::I32(start_arg)],
            &mut [],
        )
    }
}

/// A spawned thread failed: the whole program ends, as the proposal says
/// (`proc_exit` with its status; a trap or an error with 134, reported).
/// Other threads are stopped by the exit; their output so far is written.
fn end_process(tid: u32, error: &anyhow::Error, threads: &Threads) -> ! {
    let limits = &threads.limits;
    if !claim_process_end() {
        wait_for_process_end();
    }
    let status = if let Some(I32Exit(code)) = error.downcast_ref::<I32Exit>() {
        match u8::try_from(*code) {
            Ok(status) => i32::from(status),
            Err(_) => {
                crate::output::eprintln(format_args!(
                    "error: thread {tid} exited with status {code}, which is not a process exit \
                     status (0 to 255)"
                ));
                1
            }
        }
    } else {
        let frames = if let Some(trap) = error.downcast_ref::<Trap>() {
            match limits.explain(trap.code()) {
                Some(why) => crate::output::eprintln(format_args!("error: {why}")),
                None => crate::output::eprintln(format_args!(
                    "error: wasm trap in thread {tid}: {trap}"
                )),
            }
            trap.frames()
        } else if let Some(exception) = error.downcast_ref::<hoist::WasmException>() {
            crate::output::eprintln(format_args!("error: in thread {tid}: {exception}"));
            exception.frames()
        } else {
            let error = anyhow!("{error:#}");
            crate::output::eprintln(format_args!("error: thread {tid}: {error}"));
            &[]
        };
        if !frames.is_empty() {
            crate::output::eprintln("wasm backtrace:");
            for line in crate::backtrace::lines(frames) {
                crate::output::eprintln(line);
            }
            if let Some(warning) =
                crate::backtrace::damaged_map_warning(&threads.name, &threads.module)
            {
                crate::output::eprintln(warning);
            }
        }
        i32::from(crate::limits::LIMIT_EXIT_STATUS)
    };
    // Not `exit`: other threads are inside wasm or host calls and must not
    // run destructors under them; nothing of hoist's is left unwritten.
    crate::background::hand_off();
    // SAFETY: `_exit` only ends the process.
    unsafe { libc::_exit(status) }
}

/// Set by the first thread that ends the process with an error report.
static ENDING: AtomicBool = AtomicBool::new(false);

/// Whether the caller is the first to end the process with an error
/// report. A later one (another thread that trapped on the same timeout,
/// the watchdog) must report nothing and [`wait_for_process_end`].
pub fn claim_process_end() -> bool {
    !ENDING.swap(true, Ordering::AcqRel)
}

/// Waits for the thread that claimed the process's end to end it.
pub fn wait_for_process_end() -> ! {
    loop {
        std::thread::park();
    }
}
