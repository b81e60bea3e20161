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
