//! Limits as the embedding API enforces them: epoch interruption (a loop,
//! a call loop, a tail-call loop, a loop through a host function), fuel
//! (exact, repeatable, across calls and exceptions), memory and table size
//! caps (grow fails at the cap, or traps with trap-on-grow-failure), and
//! the native stack budget (a million-deep recursion when it is given the
//! room).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoist::{Config, Engine, Func, Linker, Module, Store, Trap, TrapCode, Val};

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
