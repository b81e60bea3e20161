//! Shared memories across threads through the embedding API: one
//! `SharedMemory`, a store and an instance per thread. Atomic increments
//! from 8 threads add up exactly; `memory.atomic.wait32`/`notify` carry a
//! ping-pong of 100,000 rounds between two threads; waits time out and see
//! unequal values; a memory grows while other threads use it; and the same
//! module runs from an artifact.

use std::sync::{Arc, Barrier};

use hoist::{Engine, Linker, Memory, MemoryType, Module, SharedMemory, Store, Val};

const MODULE: &str = r#"
(module
  (import "env" "memory" (memory 1 1024 shared))
  ;; n atomic increments of the counter at 0.
  (func (export "add") (param $n i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l))))
  ;; Ping-pong on the flag at 8: `ping` waits for 0, sets 1; `pong` waits
  ;; for 1, sets 0; each notifies the other. n rounds.
  (func $turn (param $mine i32) (param $next i32) (param $n i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (block $ready
          (loop $wait
            (br_if $ready (i32.eq (i32.atomic.load (i32.const 8)) (local.get $mine)))
            (drop (memory.atomic.wait32 (i32.const 8) (i32.xor (local.get $mine) (i32.const 1)) (i64.const -1)))
            (br $wait)))
        (i32.atomic.store (i32.const 8) (local.get $next))
        (drop (memory.atomic.notify (i32.const 8) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l))))
  (func (export "ping") (param i32) (call $turn (i32.const 0) (i32.const 1) (local.get 0)))
  (func (export "pong") (param i32) (call $turn (i32.const 1) (i32.const 0) (local.get 0)))
  (func (export "wait") (param $expected i32) (param $timeout i64) (result i32)
    (memory.atomic.wait32 (i32.const 16) (local.get $expected) (local.get $timeout)))
  (func (export "notify") (param $count i32) (result i32)
    (memory.atomic.notify (i32.const 16) (local.get $count)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  ;; Writes at the last word of the memory as it is now, n times.
  (func (export "poke_end") (param $n i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (i32.store (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4)) (local.get $n))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l))))
  (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
)
"#;

/// One thread's view: its own store and instance on the shared memory.
struct Thread {
    store: Store<()>,
    instance: hoist::Instance,
}

impl Thread {
    fn new(engine: &Engine, module: &Module, memory: &SharedMemory) -> Thread {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        let memory = Memory::from_shared(&mut store, memory).unwrap();
        linker.define("env", "memory", memory).unwrap();
        let instance = linker.instantiate(&mut store, module).unwrap();
        Thread { store, instance }
    }

    fn call(&mut self, name: &str, args: &[Val]) -> Option<Val> {
        let func = self.instance.get_func(&mut self.store, name).unwrap();
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        func.call(&mut self.store, args, &mut results).unwrap();
        results.pop()
    }
}

fn setup() -> (Engine, Module, SharedMemory) {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).unwrap();
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 1024)).unwrap();
    (engine, module, memory)
}

fn run_threads(
    engine: &Engine,
    module: &Module,
    memory: &SharedMemory,
    work: Vec<(&'static str, i32)>,
) {
    let barrier = Arc::new(Barrier::new(work.len()));
    let handles: Vec<_> = work
        .into_iter()
        .map(|(name, n)| {
            let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut thread = Thread::new(&engine, &module, &memory);
                barrier.wait();
                thread.call(name, &[Val::I32(n)]);
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn atomic_increments_from_eight_threads_add_up() {
    let (engine, module, memory) = setup();
    run_threads(&engine, &module, &memory, vec![("add", 100_000); 8]);
    let mut main = Thread::new(&engine, &module, &memory);
    assert_eq!(
        main.call("load", &[Val::I32(0)]).unwrap().i32(),
        Some(800_000)
    );
}

#[test]
fn wait_and_notify_carry_a_ping_pong() {
    let (engine, module, memory) = setup();
    run_threads(
        &engine,
        &module,
        &memory,
        vec![("ping", 100_000), ("pong", 100_000)],
    );
    let mut main = Thread::new(&engine, &module, &memory);
    // The last turn was pong's: the flag is back at 0.
    assert_eq!(main.call("load", &[Val::I32(8)]).unwrap().i32(), Some(0));
}

#[test]
fn waits_time_out_and_see_other_values() {
    let (engine, module, memory) = setup();
    let mut main = Thread::new(&engine, &module, &memory);
    // Not equal: 1, at once.
    let r = main.call("wait", &[Val::I32(5), Val::I64(-1)]).unwrap();
    assert_eq!(r.i32(), Some(1));
    // Equal, nobody notifies: 2 after the timeout.
    let started = std::time::Instant::now();
    let r = main
        .call("wait", &[Val::I32(0), Val::I64(20_000_000)])
        .unwrap();
    assert_eq!(r.i32(), Some(2));
    assert!(started.elapsed() >= std::time::Duration::from_millis(20));
    // Nobody waits: notify wakes 0.
    assert_eq!(main.call("notify", &[Val::I32(1)]).unwrap().i32(), Some(0));

    // A waiter on another thread is woken, once.
    let (engine2, module2, memory2) = (engine.clone(), module.clone(), memory.clone());
    let waiter = std::thread::spawn(move || {
        let mut thread = Thread::new(&engine2, &module2, &memory2);
        thread
            .call("wait", &[Val::I32(0), Val::I64(-1)])
            .unwrap()
            .i32()
    });
    let mut woken = 0;
    while woken == 0 {
        woken = main.call("notify", &[Val::I32(5)]).unwrap().i32().unwrap();
        std::thread::yield_now();
    }
    assert_eq!(woken, 1);
    assert_eq!(waiter.join().unwrap(), Some(0));
}

#[test]
fn a_shared_memory_grows_while_others_use_it() {
    let (engine, module, memory) = setup();
    let growers: Vec<_> = (0..2)
        .map(|_| {
            let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
            std::thread::spawn(move || {
                let mut thread = Thread::new(&engine, &module, &memory);
                let mut grown = 0;
                while thread.call("grow", &[Val::I32(1)]).unwrap().i32() != Some(-1) {
                    grown += 1;
                }
                grown
            })
        })
        .collect();
    run_threads(&engine, &module, &memory, vec![("poke_end", 200_000); 2]);
    let grown: i32 = growers.into_iter().map(|h| h.join().unwrap()).sum();
    // Every page up to the maximum was added exactly once.
    assert_eq!(grown, 1023);
    assert_eq!(memory.size(), 1024);
    // And the host sees the same bytes.
    assert_eq!(memory.data_size(), 1024 * 65536);
}

#[test]
fn shared_memories_check_their_types_and_engines() {
    let engine = Engine::default();
    assert!(SharedMemory::new(&engine, MemoryType::new(1, Some(2))).is_err());
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 2)).unwrap();
    let other = Engine::default();
    let mut store = Store::new(&other, ());
    assert!(Memory::from_shared(&mut store, &memory).is_err());
    // The same memory twice in one store is one handle.
    let mut store = Store::new(&engine, ());
    let a = Memory::from_shared(&mut store, &memory).unwrap();
    let b = Memory::from_shared(&mut store, &memory).unwrap();
    assert_eq!(a, b);
    assert!(a.shared(&store).is_some());
    // An unshared import does not take a shared memory, nor the reverse.
    let module = Module::new(&engine, r#"(module (import "env" "memory" (memory 1 2)))"#).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define("env", "memory", a).unwrap();
    assert!(linker.instantiate(&mut store, &module).is_err());
}

#[test]
fn shared_memory_modules_run_from_artifacts() {
    let (engine, module, memory) = setup();
    let image = engine
        .precompile_module(&wat::parse_str(MODULE).unwrap())
        .unwrap();
    let loaded = Module::deserialize(&engine, &image).unwrap();
    let _ = module;
    run_threads(&engine, &loaded, &memory, vec![("add", 50_000); 4]);
    let mut main = Thread::new(&engine, &loaded, &memory);
    assert_eq!(
        main.call("load", &[Val::I32(0)]).unwrap().i32(),
        Some(200_000)
    );
}

// ----- wasi-threads through `hoist run` -----

mod support;
use support::program_path as program;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

fn run_hoist(args: &[&str], module: &Path, guest_args: &[&str]) -> Output {
    support::hoist()
        .args(["run"])
        .args(args)
        .arg(module)
        .args(guest_args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// How a run that should have succeeded ended: the status (with the
/// signal, if one ended it) and its output.
fn failure(out: &Output) -> String {
    format!(
        "{:?}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// What threads_demo prints, natively and under hoist, for `rounds` of
/// ping-pong.
fn demo_output(rounds: u64) -> String {
    format!(
        "mutex counter: 80000\nthread-local sums: 360000\natomic counter: 800000\n\
         main thread-local: 0\nping: {rounds}\npong: {rounds}\n"
    )
}

#[test]
fn the_threads_demo_matches_its_native_build_every_time() {
    // The native build of the same source, with pthreads.
    let dir = std::env::temp_dir().join(format!("hoist-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let native = dir.join("threads_demo");
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/src/threads/threads_demo.c");
    let built = std::process::Command::new("cc")
        .args(["-O2", "-pthread", "-o"])
        .arg(&native)
        .arg(&source)
        .status()
        .expect("a C compiler (cc) for the native build");
    assert!(built.success());
    let out = std::process::Command::new(&native).output().unwrap();
    assert_eq!(text(&out.stdout), demo_output(100_000));
    let _ = std::fs::remove_dir_all(&dir);
    let out = run_hoist(&[], &program("threads_demo"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", failure(&out));
    assert_eq!(text(&out.stdout), demo_output(100_000));

    // 100 runs in a row: no hang, no wrong count. Fewer rounds of
    // ping-pong each: a futex handoff between idle vCPUs costs tens of
    // microseconds on a virtual machine, natively too.
    for run in 0..100 {
        let out = run_hoist(&[], &program("threads_demo"), &["10000"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "run {run}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), demo_output(10_000), "run {run}");
    }
}

#[test]
fn a_parallel_kernel_gives_the_same_result_on_any_thread_count() {
    let mut sums = Vec::new();
    for threads in ["1", "2", "4"] {
        let out = run_hoist(&[], &program("mandel_threads"), &[threads]);
        assert_eq!(out.status.code(), Some(0), "{}", failure(&out));
        sums.push(text(&out.stdout));
    }
    assert!(sums[0].starts_with("checksum: "));
    assert_eq!(sums[0], sums[1]);
    assert_eq!(sums[0], sums[2]);
}

/// A module in the shape the wasi-threads proposal's tests use.
fn wat_module(name: &str, wat: &str) -> (PathBuf, impl Drop) {
    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hoist-wasi-threads-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    (path, Dir(dir))
}

/// Imports shared memory and the WASI calls the cases below use.
const PRELUDE: &str = r#"
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
"#;

#[test]
fn a_thread_gets_its_id_and_argument() {
    let (module, _dir) = wat_module(
        "spawn",
        &format!(
            r#"(module {PRELUDE}
          (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
            (i32.store (i32.const 4) (local.get $tid))
            (i32.store (i32.const 8) (local.get $arg))
            (i32.atomic.store (i32.const 0) (i32.const 1))
            (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
          (func (export "_start") (local $tid i32)
            (local.set $tid (call $spawn (i32.const 12345)))
            (if (i32.le_s (local.get $tid) (i32.const 0)) (then (call $exit (i32.const 1))))
            (block $done
              (loop $wait
                (br_if $done (i32.atomic.load (i32.const 0)))
                (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
                (br $wait)))
            (if (i32.ne (i32.load (i32.const 4)) (local.get $tid)) (then (call $exit (i32.const 2))))
            (if (i32.ne (i32.load (i32.const 8)) (i32.const 12345)) (then (call $exit (i32.const 3))))
            (call $exit (i32.const 22))))"#
        ),
    );
    let out = run_hoist(&[], &module, &[]);
    assert_eq!(out.status.code(), Some(22), "{}", text(&out.stderr));
}

#[test]
fn proc_exit_on_any_thread_ends_the_program() {
    let (module, _dir) = wat_module(
        "exit",
        &format!(
            r#"(module {PRELUDE}
          (func (export "wasi_thread_start") (param i32 i32)
            ;; let the main thread get into its loop, then exit
            (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 100000000)))
            (call $exit (i32.const 99)))
          (func (export "_start")
            (drop (call $spawn (i32.const 0)))
            (loop $busy (br $busy))))"#
        ),
    );
    let out = run_hoist(&[], &module, &[]);
    assert_eq!(out.status.code(), Some(99), "{}", text(&out.stderr));
}

#[test]
fn the_main_thread_returning_ends_every_thread() {
    let (module, _dir) = wat_module(
        "main_returns",
        &format!(
            r#"(module {PRELUDE}
          (func (export "wasi_thread_start") (param i32 i32) (loop $busy (br $busy)))
          (func (export "_start")
            (drop (call $spawn (i32.const 0)))
            (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 100000000)))))"#
        ),
    );
    let out = run_hoist(&[], &module, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", failure(&out));
}

#[test]
fn a_trap_on_a_thread_ends_the_program_with_its_backtrace() {
    let (module, _dir) = wat_module(
        "trap",
        &format!(
            r#"(module {PRELUDE}
          (func $deep (unreachable))
          (func (export "wasi_thread_start") (param i32 i32) (call $deep))
          (func (export "_start")
            (drop (call $spawn (i32.const 0)))
            (loop $busy (br $busy))))"#
        ),
    );
    let out = run_hoist(&[], &module, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{err}");
    assert!(
        err.contains("wasm trap in thread 1: wasm `unreachable` instruction executed"),
        "{err}"
    );
    assert!(err.contains("deep"), "{err}");
}

/// A trap on a spawned thread in a big artifact whose address map changed
/// on disk after loading (it is read from the file for the backtrace and
/// fails its digest): the frames have no wasm offsets, and a warning says
/// why, as on the main thread.
#[test]
fn a_trap_on_a_thread_says_when_the_address_map_changed() {
    // Thousands of calls (an address map of whole pages before the file's
    // last 64 KiB, which loading reads first) and a custom section that
    // makes the artifact big enough (1 MiB) to load with its map unread.
    let calls = "(call $store (i32.const 7))\n".repeat(40_000);
    let (module, _dir) = wat_module(
        "big_trap",
        &format!(
            r#"(module {PRELUDE}
          (func $store (param i32) (i32.store (i32.const 64) (local.get 0)))
          (func $work {calls})
          (func $deep (call $work) (unreachable))
          (func (export "wasi_thread_start") (param i32 i32) (call $deep))
          (func (export "_start")
            (drop (call $spawn (i32.const 0)))
            (loop $busy (br $busy))))"#
        ),
    );
    let mut wasm = std::fs::read(&module).unwrap();
    let padding: Vec<u8> = (0..2u32 << 20).map(|i| (i % 253) as u8).collect();
    wasm_encoder::Section::append_to(
        &wasm_encoder::CustomSection {
            name: "hoist_padding".into(),
            data: padding.as_slice().into(),
        },
        &mut wasm,
    );
    std::fs::write(&module, &wasm).unwrap();
    let artifact = module.with_extension("hwasm");
    let out = support::hoist()
        .arg("compile")
        .arg(&module)
        .arg("-o")
        .arg(&artifact)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", failure(&out));
    let bytes = std::fs::read(&artifact).unwrap();
    let map = hoist_artifact::read(&bytes)
        .unwrap()
        .address_map
        .expect("a .hoist.addrmap section");
    let unread = hoist_artifact::lazy_range(&bytes).expect("pages loading leaves unread");
    assert!(
        unread.start <= map.range.start + 5 && map.range.start + 5 < unread.end,
        "{unread:?} {:?}",
        map.range
    );

    // Intact: offsets, no warning.
    let out = run_hoist(&[], &artifact, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{err}");
    assert!(err.contains("wasm trap in thread 1"), "{err}");
    assert!(err.contains("0: 0x") && !err.contains("<unknown>"), "{err}");
    assert!(!err.contains("warning"), "{err}");

    // A record changed: the seal still holds, the map's digest does not.
    let mut changed = bytes.clone();
    changed[map.range.start + 5] ^= 0x55;
    std::fs::write(&artifact, &changed).unwrap();
    let out = run_hoist(&[], &artifact, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{err}");
    assert!(err.contains("wasm trap in thread 1"), "{err}");
    assert!(err.contains("0: <unknown> - "), "{err}");
    assert!(
        err.contains(
            "its address map changed since it was loaded; backtraces will have no wasm offsets"
        ),
        "{err}"
    );
}

/// A timeout with four threads spinning: every thread traps on the same
/// epoch, and the process says so once ("timed out", not "interrupt"),
/// where each thread used to print its own interleaved report.
#[test]
fn a_timeout_with_many_threads_is_reported_once() {
    let (module, _dir) = wat_module(
        "timeout",
        &format!(
            r#"(module {PRELUDE}
          (func (export "wasi_thread_start") (param i32 i32) (loop $busy (br $busy)))
          (func (export "_start")
            (drop (call $spawn (i32.const 0)))
            (drop (call $spawn (i32.const 0)))
            (drop (call $spawn (i32.const 0)))
            (loop $busy (br $busy))))"#
        ),
    );
    for _ in 0..3 {
        let out = run_hoist(&["--timeout", "200ms"], &module, &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(134), "{err}");
        assert_eq!(err.matches("error:").count(), 1, "{err}");
        assert!(err.starts_with("error: timed out after 200ms\n"), "{err}");
    }
}

/// Each wasi-thread's instance has tables of its own, but they all draw on
/// the run's one budget (`-W max-total-table-elements`), not one each: four
/// threads growing by 1000 under a budget of 2500 see two grows succeed.
/// (The threads keep their tables until the main thread has counted: a
/// thread that ends gives its elements back.)
#[test]
fn threads_share_the_runs_table_budget() {
    let (module, _dir) = wat_module(
        "tables",
        &format!(
            r#"(module {PRELUDE}
          (table $t 0 funcref)
          (func (export "wasi_thread_start") (param i32 i32)
            (if (i32.ne (table.grow $t (ref.null func) (i32.const 1000)) (i32.const -1))
              (then (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))))
            (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
            (drop (memory.atomic.notify (i32.const 4) (i32.const 1)))
            ;; hold the table until the program ends
            (loop $hold
              (drop (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const -1)))
              (br $hold)))
          (func (export "_start") (local $done i32)
            (drop (call $spawn (i32.const 0)))
            (drop (call $spawn (i32.const 0)))
            (drop (call $spawn (i32.const 0)))
            (drop (call $spawn (i32.const 0)))
            (block $all
              (loop $wait
                (local.set $done (i32.atomic.load (i32.const 4)))
                (br_if $all (i32.eq (local.get $done) (i32.const 4)))
                (drop (memory.atomic.wait32 (i32.const 4) (local.get $done) (i64.const -1)))
                (br $wait)))
            (call $exit (i32.atomic.load (i32.const 0)))))"#
        ),
    );
    let out = run_hoist(&["-W", "max-total-table-elements=2500"], &module, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = run_hoist(&[], &module, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
}

#[test]
fn max_threads_bounds_the_threads_running() {
    // Spawns threads that never end until one is refused; exits with how
    // many started.
    let (module, _dir) = wat_module(
        "many",
        &format!(
            r#"(module {PRELUDE}
          (func (export "wasi_thread_start") (param i32 i32)
            (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
          (func (export "_start") (local $n i32)
            (block $refused
              (loop $more
                (br_if $refused (i32.lt_s (call $spawn (i32.const 0)) (i32.const 0)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $more (i32.lt_u (local.get $n) (i32.const 200)))))
            (call $exit (local.get $n))))"#
        ),
    );
    let out = run_hoist(&["--max-threads", "5"], &module, &[]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let out = run_hoist(&["-S", "max-threads=3"], &module, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    // Without wasi-threads the import is not there.
    let out = run_hoist(&["-S", "threads=n"], &module, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("thread-spawn"),
        "{}",
        text(&out.stderr)
    );
}
