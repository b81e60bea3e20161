//! Limits as the embedding API enforces them: epoch interruption (a loop,
//! a call loop, a tail-call loop, a loop through a host function), fuel
//! (exact, repeatable, across calls and exceptions), memory and table size
//! caps (grow fails at the cap, or traps with trap-on-grow-failure), and
//! the native stack budget (a million-deep recursion when it is given the
//! room). Then the same through `hoist run`, in wasmtime's and WasmEdge's
//! spellings, with signals: `-W timeout` (a guest computing, or blocked in
//! a host call), `-W fuel`, `-W max-memory-size`, `-W max-wasm-stack`,
//! SIGINT and SIGTERM.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoist::{Config, Engine, Func, Linker, Module, Store, Trap, TrapCode, Val};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Output, Stdio};

mod support;

const LOOPS: &str = r#"
(module
  (import "host" "tick" (func $tick))
  (memory 1)
  (func (export "spin") (loop $l (br $l)))
  ;; 2^60 calls, never deeper than 60 frames, and no loop
  (func (export "calls") (call $tree (i32.const 60)))
  (func $tree (param $depth i32)
    (if (local.get $depth)
      (then
        (call $tree (i32.sub (local.get $depth) (i32.const 1)))
        (call $tree (i32.sub (local.get $depth) (i32.const 1))))))
  (func $tail (export "tail") (return_call $tail))
  (func (export "host_loop") (loop $l (call $tick) (br $l)))
  ;; sum of 0..n, in a loop of a known number of operators per iteration
  (func (export "count") (param $n i32) (result i32) (local $i i32) (local $sum i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sum (i32.add (local.get $sum) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $sum))
  (func (export "finite") (result i32) (i32.const 7))
)
"#;

fn engine(configure: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    configure(&mut config);
    Engine::new(&config).unwrap()
}

fn instance(engine: &Engine, wat: &str) -> (Store<()>, hoist::Instance) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new(engine);
    linker
        .func_wrap(&mut store, "host", "tick", |_: hoist::Caller<'_, ()>| {})
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

fn call(
    store: &mut Store<()>,
    instance: hoist::Instance,
    name: &str,
    args: &[Val],
) -> hoist::Result<Vec<Val>> {
    let func: Func = instance.get_func(&mut *store, name).unwrap();
    let ty = func.ty(store);
    let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
    func.call(store, args, &mut results)?;
    Ok(results)
}

fn trap_code(err: &hoist::Error) -> Option<TrapCode> {
    err.downcast_ref::<Trap>().and_then(Trap::code)
}

/// Advances `engine`'s epoch every 10 ms until dropped.
struct Ticker(Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>);

impl Ticker {
    fn start(engine: &Engine) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let counter = engine.epoch_counter();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ticker(stop, Some(thread))
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        self.1.take().unwrap().join().unwrap();
    }
}

#[test]
fn epochs_interrupt_every_kind_of_endless_guest() {
    let engine = engine(|c| {
        c.epoch_interruption(true);
    });
    let (mut store, instance) = instance(&engine, LOOPS);
    let _ticker = Ticker::start(&engine);
    for name in ["spin", "calls", "tail", "host_loop"] {
        store.set_epoch_deadline(5);
        let started = Instant::now();
        let err = call(&mut store, instance, name, &[]).unwrap_err();
        assert_eq!(
            trap_code(&err),
            Some(TrapCode::Interrupt),
            "{name}: {err:#}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name} took {:?}",
            started.elapsed()
        );
        // The store is usable again after the interrupt.
        store.set_epoch_deadline(u64::MAX / 2);
        assert_eq!(
            call(&mut store, instance, "finite", &[]).unwrap()[0]
                .i32()
                .unwrap(),
            7
        );
    }
}

/// The same guests compiled on first call (the single-pass compiler's
/// code, Cranelift's where it declines), and the compile itself is no time
/// of the guest's: the engine counts it apart.
#[test]
fn epochs_interrupt_lazily_compiled_code() {
    let engine = engine(|c| {
        c.epoch_interruption(true);
        c.lazy_compilation(true);
    });
    let compiling = engine.first_call_compile_nanos();
    let (mut store, instance) = instance(&engine, LOOPS);
    let _ticker = Ticker::start(&engine);
    for name in ["spin", "calls", "tail", "host_loop"] {
        store.set_epoch_deadline(5);
        let err = call(&mut store, instance, name, &[]).unwrap_err();
        assert_eq!(
            trap_code(&err),
            Some(TrapCode::Interrupt),
            "{name}: {err:#}"
        );
        store.set_epoch_deadline(u64::MAX / 2);
    }
    assert_eq!(
        call(&mut store, instance, "count", &[Val::I32(1000)]).unwrap()[0]
            .i32()
            .unwrap(),
        499_500
    );
    assert!(compiling.load(Ordering::Relaxed) > 0);
}

#[test]
fn epochs_cost_nothing_without_a_deadline() {
    let engine = engine(|c| {
        c.epoch_interruption(true);
    });
    let (mut store, instance) = instance(&engine, LOOPS);
    engine.increment_epoch();
    engine.increment_epoch();
    // No deadline was set: the guest runs to the end.
    let sum = call(&mut store, instance, "count", &[Val::I32(1000)]).unwrap();
    assert_eq!(sum[0].i32().unwrap(), 499_500);
    // A deadline already in the past stops the next call at its entry.
    store.set_epoch_deadline(0);
    let err = call(&mut store, instance, "finite", &[]).unwrap_err();
    assert_eq!(trap_code(&err), Some(TrapCode::Interrupt));
}

#[test]
fn fuel_is_exact_and_repeatable() {
    let engine = engine(|c| {
        c.consume_fuel(true);
    });
    let (mut store, instance) = instance(&engine, LOOPS);
    let mut spent = Vec::new();
    for n in [0, 1, 10, 1000] {
        store.set_fuel(1 << 40).unwrap();
        call(&mut store, instance, "count", &[Val::I32(n)]).unwrap();
        spent.push(store.fuel_consumed().unwrap());
    }
    // Each iteration costs the same; the frame around it the same each time.
    let per_iteration = spent[1] - spent[0];
    assert!(per_iteration > 0);
    assert_eq!(spent[2] - spent[0], per_iteration * 10, "{spent:?}");
    assert_eq!(spent[3] - spent[0], per_iteration * 1000, "{spent:?}");
    // And again, the same numbers.
    store.set_fuel(1 << 40).unwrap();
    call(&mut store, instance, "count", &[Val::I32(1000)]).unwrap();
    assert_eq!(store.fuel_consumed().unwrap(), spent[3]);

    // Given less than it needs, the guest stops, close to where it ran out.
    store.set_fuel(spent[3] / 2).unwrap();
    let err = call(&mut store, instance, "count", &[Val::I32(1000)]).unwrap_err();
    assert_eq!(trap_code(&err), Some(TrapCode::OutOfFuel), "{err:#}");
    assert_eq!(store.get_fuel().unwrap(), 0);
    let over = store.fuel_consumed().unwrap() - spent[3] / 2;
    assert!(over < per_iteration, "spent {over} more than given");
    // Endless guests stop too, however they loop.
    for name in ["spin", "calls", "tail", "host_loop"] {
        store.set_fuel(100_000).unwrap();
        let err = call(&mut store, instance, name, &[]).unwrap_err();
        assert_eq!(
            trap_code(&err),
            Some(TrapCode::OutOfFuel),
            "{name}: {err:#}"
        );
    }
}

#[test]
fn fuel_needs_an_engine_that_meters_it() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    assert!(store.set_fuel(10).is_err());
    assert!(store.get_fuel().is_err());
    assert_eq!(store.fuel_consumed(), None);
}

#[test]
fn fuel_is_counted_through_exceptions() {
    let wat = r#"
    (module
      (tag $e (param i32))
      (func $thrower (param i32) (throw $e (local.get 0)))
      (func (export "catch_many") (param $n i32) (result i32) (local $sum i32)
        (block $done
          (loop $l
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $sum (i32.add (local.get $sum)
              (block $h (result i32)
                (try_table (catch $e $h) (call $thrower (local.get $n)))
                (i32.const 0))))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $l)))
        (local.get $sum)))
    "#;
    let engine = engine(|c| {
        c.consume_fuel(true);
    });
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let mut spent = Vec::new();
    for n in [10, 20, 20] {
        store.set_fuel(1 << 30).unwrap();
        let sum = call(&mut store, instance, "catch_many", &[Val::I32(n)]).unwrap();
        assert_eq!(sum[0].i32().unwrap(), n * (n + 1) / 2);
        spent.push(store.fuel_consumed().unwrap());
    }
    assert_eq!(spent[1], spent[2]);
    // Twice the iterations, twice the cost of the loop body.
    let per_iteration = (spent[1] - spent[0]) / 10;
    assert_eq!(spent[1] - spent[0], per_iteration * 10, "{spent:?}");
    assert!(per_iteration >= 8, "{spent:?}");
}

const GROW: &str = r#"
(module
  (memory (export "memory") 1)
  (table 1 funcref)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
)
"#;

#[test]
fn memory_and_tables_stop_at_their_caps() {
    let engine = engine(|c| {
        c.max_memory_size(Some(64 << 20))
            .max_table_elements(Some(1000));
    });
    let (mut store, instance) = instance(&engine, GROW);
    // 64 MiB is 1024 pages: up to 1023 more than the first.
    let grow = |store: &mut Store<()>, name, n| {
        call(store, instance, name, &[Val::I32(n)]).unwrap()[0]
            .i32()
            .unwrap()
    };
    assert_eq!(grow(&mut store, "grow", 1000), 1);
    assert_eq!(grow(&mut store, "grow", 24), -1);
    assert_eq!(grow(&mut store, "grow", 23), 1001);
    assert_eq!(grow(&mut store, "grow", 1), -1);
    assert_eq!(grow(&mut store, "grow", 0), 1024);
    assert_eq!(grow(&mut store, "grow_table", 999), 1);
    assert_eq!(grow(&mut store, "grow_table", 1), -1);

    // A module that starts above the cap does not instantiate.
    let big = Module::new(&engine, "(module (memory 1025))").unwrap();
    let err = Linker::new(&engine)
        .instantiate(&mut Store::new(&engine, ()), &big)
        .unwrap_err();
    assert!(format!("{err:#}").contains("memory"), "{err:#}");
    let big = Module::new(&engine, "(module (table 1001 funcref))").unwrap();
    assert!(Linker::new(&engine)
        .instantiate(&mut Store::new(&engine, ()), &big)
        .is_err());
}

/// Many tables, each under its own cap, draw on one budget per store: a
/// module of hundreds of tables once grew 15 GB of host memory, and an
/// allocation failure in `table.grow` aborted the process.
const MANY_TABLES: &str = r#"
(module
  (table $a 0 funcref) (table $b 0 funcref) (table $c 0 funcref)
  (func (export "grow_a") (param i32) (result i32) (table.grow $a (ref.null func) (local.get 0)))
  (func (export "grow_b") (param i32) (result i32) (table.grow $b (ref.null func) (local.get 0)))
  (func (export "grow_c") (param i32) (result i32) (table.grow $c (ref.null func) (local.get 0)))
)
"#;

#[test]
fn tables_of_a_store_share_one_budget() {
    let engine = engine(|c| {
        c.max_total_table_elements(1000);
    });
    let grow = |store: &mut Store<()>, instance, name, n| {
        call(store, instance, name, &[Val::I32(n)]).unwrap()[0]
            .i32()
            .unwrap()
    };
    let (mut store, first) = instance(&engine, MANY_TABLES);
    assert_eq!(grow(&mut store, first, "grow_a", 600), 0);
    assert_eq!(grow(&mut store, first, "grow_b", 401), -1);
    assert_eq!(grow(&mut store, first, "grow_b", 400), 0);
    assert_eq!(grow(&mut store, first, "grow_c", 1), -1);
    assert_eq!(grow(&mut store, first, "grow_a", 0), 600);
    // A second instance in the same store finds the budget spent...
    let module = Module::new(&engine, MANY_TABLES).unwrap();
    let second = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    assert_eq!(grow(&mut store, second, "grow_a", 1), -1);
    // ...and a module whose tables start past it does not instantiate.
    let big = Module::new(&engine, "(module (table 500 funcref) (table 501 funcref))").unwrap();
    let err = Linker::new(&engine)
        .instantiate(&mut Store::new(&engine, ()), &big)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("max-total-table-elements"),
        "{err:#}"
    );
    // Each store has its own budget, given back when the store is dropped.
    drop(store);
    let (mut store, first) = instance(&engine, MANY_TABLES);
    assert_eq!(grow(&mut store, first, "grow_c", 1000), 0);

    // The default: 16M elements for a store, 10M for one table.
    let engine = Engine::default();
    let (mut store, first) = instance(&engine, MANY_TABLES);
    assert_eq!(grow(&mut store, first, "grow_a", 10_000_000), 0);
    assert_eq!(grow(&mut store, first, "grow_b", 6_777_217), -1);
    assert_eq!(grow(&mut store, first, "grow_b", 6_777_216), 0);
    assert_eq!(grow(&mut store, first, "grow_c", 1), -1);
}

#[test]
fn grow_failure_can_trap() {
    let engine = engine(|c| {
        c.max_memory_size(Some(2 << 16))
            .max_table_elements(Some(2))
            .trap_on_grow_failure(true);
    });
    let (mut store, instance) = instance(&engine, GROW);
    assert_eq!(
        call(&mut store, instance, "grow", &[Val::I32(1)]).unwrap()[0]
            .i32()
            .unwrap(),
        1
    );
    let err = call(&mut store, instance, "grow", &[Val::I32(1)]).unwrap_err();
    assert_eq!(trap_code(&err), Some(TrapCode::GrowFailure), "{err:#}");
    assert_eq!(
        call(&mut store, instance, "grow_table", &[Val::I32(1)]).unwrap()[0]
            .i32()
            .unwrap(),
        1
    );
    let err = call(&mut store, instance, "grow_table", &[Val::I32(1)]).unwrap_err();
    assert_eq!(trap_code(&err), Some(TrapCode::GrowFailure), "{err:#}");
}

#[test]
fn a_large_stack_budget_allows_deep_recursion() {
    let wat = r#"
    (module
      (func $down (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 0))
          (else (i32.add (call $down (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))
    "#;
    let thread = std::thread::Builder::new()
        .stack_size(64 << 20 | 8 << 20)
        .spawn(move || {
            // The default budget is too small for a million frames...
            let small = Engine::default();
            let (mut store, instance) = instance_plain(&small, wat);
            let err = call(&mut store, instance, "down", &[Val::I32(1_000_000)]).unwrap_err();
            assert_eq!(trap_code(&err), Some(TrapCode::StackOverflow));
            // ...64 MiB is enough.
            let large = engine(|c| {
                c.max_wasm_stack(64 << 20);
            });
            let (mut store, instance) = instance_plain(&large, wat);
            let depth = call(&mut store, instance, "down", &[Val::I32(1_000_000)]).unwrap();
            assert_eq!(depth[0].i32().unwrap(), 1_000_000);
        })
        .unwrap();
    thread.join().unwrap();
}

fn instance_plain(engine: &Engine, wat: &str) -> (Store<()>, hoist::Instance) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, &module)
        .unwrap();
    (store, instance)
}

// ----- through the command line -----

/// Writes `wat` to a fresh directory (removed with the guard) as `name`.
struct Guest {
    dir: PathBuf,
    path: PathBuf,
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn guest(name: &str, wat: &str) -> Guest {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hoist-limits-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    Guest { dir, path }
}

fn hoist(args: &[&str], guest: &Guest) -> Output {
    support::hoist()
        .args(args)
        .arg(&guest.path)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Prints "ready\n", then runs `$body`; `$tick` counts in memory and
/// prints a dot every 4096 counts, so how far a guest got shows in its
/// output.
fn printing_then(body: &str) -> String {
    format!(
        r#"
    (module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "ready\n")
      (data (i32.const 32) ".")
      (func $print (param $at i32) (param $len i32)
        (i32.store (i32.const 0) (local.get $at))
        (i32.store (i32.const 4) (local.get $len))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
      (func $tick
        (i32.store (i32.const 400) (i32.add (i32.load (i32.const 400)) (i32.const 1)))
        (if (i32.eqz (i32.and (i32.load (i32.const 400)) (i32.const 4095)))
          (then (call $print (i32.const 32) (i32.const 1)))))
      (func (export "_start")
        (call $print (i32.const 16) (i32.const 6))
        {body}))
    "#
    )
}

/// The three endless guests: a loop, a loop of calls to a small wasm
/// function, a loop of host calls.
const ENDLESS: [(&str, &str); 3] = [
    (
        "loop",
        r#"(loop $l
             (i32.store (i32.const 400) (i32.add (i32.load (i32.const 400)) (i32.const 1)))
             (if (i32.eqz (i32.and (i32.load (i32.const 400)) (i32.const 4095)))
               (then (call $print (i32.const 32) (i32.const 1))))
             (br $l))"#,
    ),
    ("calls", "(loop $l (call $tick) (br $l))"),
    (
        "host calls",
        "(loop $l (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 64))) (call $tick) (br $l))",
    ),
];

/// Counts to 1000 in memory, then ends.
const COUNT_TO_1000: &str = r#"
        (block $done
          (loop $l
            (br_if $done (i32.ge_u (i32.load (i32.const 400)) (i32.const 1000)))
            (i32.store (i32.const 400) (i32.add (i32.load (i32.const 400)) (i32.const 1)))
            (br $l)))"#;
/// One `poll_oneoff` with a relative clock subscription of an hour.
const SLEEP_AN_HOUR: &str = r#"
        (i64.store (i32.const 100) (i64.const 1))          ;; userdata
        (i32.store8 (i32.const 108) (i32.const 0))         ;; eventtype clock
        (i32.store (i32.const 116) (i32.const 1))          ;; clock id: monotonic
        (i64.store (i32.const 124) (i64.const 3600000000000)) ;; timeout, ns
        (i64.store (i32.const 132) (i64.const 0))          ;; precision
        (i32.store16 (i32.const 140) (i32.const 0))        ;; flags: relative
        (drop (call $poll (i32.const 100) (i32.const 200) (i32.const 1) (i32.const 300)))"#;

#[test]
fn a_timeout_stops_a_guest_however_it_runs() {
    let mut guests = ENDLESS.to_vec();
    guests.push(("a sleep of an hour", SLEEP_AN_HOUR));
    for (what, body) in guests {
        let guest = guest("forever.wasm", &printing_then(body));
        for spelling in [
            &["--timeout", "1s"][..],
            &["-W", "timeout=1s"],
            &["--time-limit", "1000"],
        ] {
            let started = Instant::now();
            let output = hoist(&[&["run"], spelling].concat(), &guest);
            let took = started.elapsed();
            let err = stderr(&output);
            assert_eq!(
                output.status.code(),
                Some(134),
                "{what} {spelling:?}: {err}"
            );
            assert!(
                output.stdout.starts_with(b"ready\n"),
                "{what}: output before the timeout is kept"
            );
            assert!(
                err.starts_with("error: timed out after 1s"),
                "{what} {spelling:?}: {err}"
            );
            assert!(took < Duration::from_millis(1500), "{what} took {took:?}");
            assert!(took >= Duration::from_secs(1), "{what} took {took:?}");
        }
    }
}

/// `--timeout` with lazy compilation (forced here; big modules get it by
/// default): the guest stops on time however it runs, as when compiled
/// whole. (Before, a time limit turned lazy compilation off: a cold
/// CPython `-c 'print(1)'` took 4 s instead of 0.3.)
#[test]
fn a_timeout_stops_a_lazily_compiled_guest_however_it_runs() {
    let mut guests = ENDLESS.to_vec();
    guests.push(("a sleep of an hour", SLEEP_AN_HOUR));
    for (what, body) in guests {
        let guest = guest("forever.wasm", &printing_then(body));
        let started = Instant::now();
        let output = hoist(&["run", "-C", "lazy=y", "--timeout", "1s"], &guest);
        let took = started.elapsed();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(134), "{what}: {err}");
        assert!(output.stdout.starts_with(b"ready\n"), "{what}");
        assert!(
            err.starts_with("error: timed out after 1s"),
            "{what}: {err}"
        );
        assert!(took < Duration::from_millis(1500), "{what} took {took:?}");
        assert!(took >= Duration::from_secs(1), "{what} took {took:?}");
    }
}

#[test]
fn fuel_stops_every_endless_guest_at_the_same_point_every_time() {
    for (what, body) in ENDLESS {
        let guest = guest("forever.wasm", &printing_then(body));
        let mut outputs = Vec::new();
        for spelling in [
            &["--fuel", "1000000"][..],
            &["--fuel", "1000000"],
            &["-W", "fuel=1000000"],
            &["--gas-limit", "1000000"],
        ] {
            let output = hoist(&[&["run"], spelling].concat(), &guest);
            let err = stderr(&output);
            assert_eq!(
                output.status.code(),
                Some(134),
                "{what} {spelling:?}: {err}"
            );
            assert!(
                err.starts_with("error: all fuel consumed (1000000 units were given)"),
                "{what} {spelling:?}: {err}"
            );
            outputs.push(output.stdout);
        }
        let dots = outputs[0].iter().filter(|b| **b == b'.').count();
        assert!(dots >= 5, "{what}: only {dots} dots for a million units");
        for other in &outputs[1..] {
            assert_eq!(other, &outputs[0], "{what}: fuel stopped it elsewhere");
        }
    }
}

#[test]
fn a_guest_that_finishes_in_time_is_untouched() {
    let guest = guest("quick.wasm", &printing_then(""));
    let output = hoist(&["run", "--timeout", "30s"], &guest);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(output.stdout, b"ready\n");
}

#[test]
fn verbose_runs_report_the_fuel_used() {
    let counting = guest("count.wasm", &printing_then(COUNT_TO_1000));
    let consumed = |args: &[&str]| {
        let output = hoist(args, &counting);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let text = stderr(&output);
        text.lines()
            .find_map(|l| l.strip_prefix("hoist: fuel consumed: "))
            .unwrap_or_else(|| panic!("no fuel line in {text}"))
            .parse::<u64>()
            .unwrap()
    };
    let spent = consumed(&["run", "-v", "--fuel", "1000000"]);
    assert!(spent > 1000, "{spent}");
    assert_eq!(consumed(&["run", "-v", "-W", "fuel=1000000"]), spent);
    assert_eq!(consumed(&["run", "-v", "--gas-limit", "1000000"]), spent);
    // Exactly enough runs. Fuel is checked at function entries and loop
    // headers, so a guest a few units short may still reach its end; one
    // short of what its loop needs stops there.
    assert_eq!(
        consumed(&["run", "-v", "--fuel", &spent.to_string()]),
        spent
    );
    let output = hoist(&["run", "--fuel", &(spent - 20).to_string()], &counting);
    assert_eq!(output.status.code(), Some(134), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("all fuel consumed"),
        "{}",
        stderr(&output)
    );
}

/// Grows memory one page at a time until it fails; exits with the number
/// of pages it reached, divided by 16 (64 MiB: 1024 pages, status 64).
const GROW_UNTIL_FULL: &str = r#"
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (call $exit (i32.shr_u (memory.size) (i32.const 4)))))
"#;

#[test]
fn memory_limits_on_the_command_line() {
    let guest = guest("grow.wasm", GROW_UNTIL_FULL);
    for spelling in [
        &["--max-memory-size", "64MiB"][..],
        &["-W", "max-memory-size=64MiB"],
        &["-W", "max-memory-size=67108864"],
        &["--memory-page-limit", "1024"],
    ] {
        let output = hoist(&[&["run"], spelling].concat(), &guest);
        assert_eq!(
            output.status.code(),
            Some(64),
            "{spelling:?}: {}",
            stderr(&output)
        );
    }
    let output = hoist(&["run", "--memory-page-limit", "16"], &guest);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    for spelling in [
        &["--max-memory-size", "1MiB", "--trap-on-grow-failure"][..],
        &["-W", "max-memory-size=1MiB,trap-on-grow-failure"],
    ] {
        let output = hoist(&[&["run"], spelling].concat(), &guest);
        assert_eq!(output.status.code(), Some(134), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("growth failed"),
            "{}",
            stderr(&output)
        );
    }
    // A memory that starts above the limit does not instantiate.
    let big = self::guest(
        "big.wasm",
        "(module (memory 100) (func (export \"_start\")))",
    );
    let output = hoist(&["run", "--memory-page-limit", "16"], &big);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).starts_with("error: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn table_limits_on_the_command_line() {
    // Grows its three tables by 1000 until one fails; exits with how many
    // grows succeeded.
    let guest = guest(
        "tables.wasm",
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (table $a 0 funcref) (table $b 0 funcref) (table $c 0 funcref)
          (func (export "_start") (local $n i32)
            (block $full
              (loop $l
                (br_if $full (i32.eq (table.grow $a (ref.null func) (i32.const 1000)) (i32.const -1)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $full (i32.eq (table.grow $b (ref.null func) (i32.const 1000)) (i32.const -1)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $full (i32.eq (table.grow $c (ref.null func) (i32.const 1000)) (i32.const -1)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br $l)))
            (call $exit (local.get $n))))"#,
    );
    let output = hoist(&["run", "-W", "max-total-table-elements=5000"], &guest);
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    let output = hoist(
        &[
            "run",
            "-W",
            "max-total-table-elements=100000,max-table-elements=20000",
        ],
        &guest,
    );
    assert_eq!(output.status.code(), Some(60), "{}", stderr(&output));
}

#[test]
fn a_deep_recursion_with_a_large_stack() {
    let guest = guest(
        "deep.wasm",
        r#"
    (module
      (func $down (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 0))
          (else (i32.add (call $down (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))
    "#,
    );
    let output = support::hoist()
        .args(["run", "--max-wasm-stack", "64MiB", "--invoke", "down"])
        .arg(&guest.path)
        .arg("1000000")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(output.stdout, b"1000000\n");
    let output = support::hoist()
        .args(["run", "--invoke", "down"])
        .arg(&guest.path)
        .arg("1000000")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(134), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("call stack exhausted"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn signals_end_a_running_guest_as_they_end_a_native_program() {
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let guest = guest("spin.wasm", &printing_then(ENDLESS[0].1));
        let mut cmd = support::hoist();
        cmd.args(["run"])
            .arg(&guest.path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // hoist starts as a foreground job does: a shell without job
        // control starts `cmd &` with SIGINT ignored, and hoist (like any
        // program) keeps an ignored signal ignored, so the test must not
        // inherit that from whoever runs it.
        // SAFETY: the closure runs between fork and exec and only calls
        // `signal`, which is async-signal-safe.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                libc::signal(signal, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        // Wait for the guest's first output, so it is running.
        let mut stdout = child.stdout.take().unwrap();
        let mut ready = [0u8; 6];
        std::io::Read::read_exact(&mut stdout, &mut ready).unwrap();
        assert_eq!(&ready, b"ready\n");
        // The guest keeps printing: drain it so hoist never blocks on a
        // full pipe, whatever the signal does.
        let drain = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        // SAFETY: kill has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{name}: hoist still runs 30 s after the signal");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        drain.join().unwrap().unwrap();
        // hoist dies by the signal, as a native program does (so a script
        // interrupted with ^C stops too); a shell reports 128 + the signal:
        // 130 and 143.
        assert_eq!(status.signal(), Some(signal), "{name}: {status:?}");
    }
}

#[test]
fn an_artifact_without_the_checks_is_refused_for_limits() {
    let guest = guest("spin.wasm", &printing_then(ENDLESS[0].1));
    let plain = guest.dir.join("plain.hwasm");
    let metered = guest.dir.join("metered.hwasm");
    for (out, extra) in [(&plain, None), (&metered, Some("fuel=1000"))] {
        let mut cmd = support::hoist();
        cmd.arg("compile");
        if let Some(extra) = extra {
            cmd.args(["-W", extra]);
        }
        let output = cmd.arg(&guest.path).arg("-o").arg(out).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    }
    let run = |artifact: &PathBuf, fuel: &str| {
        support::hoist()
            .args(["run", "-W", fuel])
            .arg(artifact)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let output = run(&plain, "fuel=1000");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("consume_fuel (-W fuel)"),
        "{}",
        stderr(&output)
    );
    let output = run(&metered, "fuel=1000");
    assert_eq!(output.status.code(), Some(134), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("all fuel consumed"),
        "{}",
        stderr(&output)
    );
}
