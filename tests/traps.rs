//! Traps as the embedding API reports them: every kind of wasm trap with its
//! code and spec message, stack exhaustion, host functions that fail or
//! panic, nested calls across stores, and a host fault that must *not* be
//! turned into a wasm trap.
//!
//! After every trap the store is used again: a trap must leave it (and the
//! thread's trap handling state) ready for the next call.

use std::cell::RefCell;
use std::fmt::Debug;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use anyhow::{anyhow, Result};
use hoist::{
    Config, Engine, Func, FuncType, Instance, Module, Store, Trap, TrapCode, Val, ValType,
};

/// A module with one export per kind of trap, plus some that do not trap.
const CORE: &str = r#"
(module
  (type $v2v (func))
  (type $v2i (func (result i32)))
  (type $i2i (func (param i32) (result i32)))

  (memory (export "memory") 1)

  ;; slot 0: null; slot 1: $forty_two (type $v2i); slot 2: $overflow_indirect (type $v2v)
  (table $t 3 funcref)
  (elem (table $t) (i32.const 1) func $forty_two $overflow_indirect)

  (func $forty_two (export "forty_two") (result i32)
    i32.const 42)

  (func $overflow (export "overflow")
    call $overflow)

  (func $overflow_indirect (export "overflow_indirect")
    (call_indirect $t (type $v2v) (i32.const 2)))

  ;; Returns its argument, after recursing that deep.
  (func $recurse (export "recurse") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $recurse (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))

  (func (export "load") (param i32) (result i32)
    (i32.load (local.get 0)))
  (func (export "load_offset") (param i32) (result i32)
    (i32.load offset=65535 (local.get 0)))
  (func (export "store") (param i32 i32)
    (i32.store (local.get 0) (local.get 1)))
  (func (export "store_load") (param i32 i32) (result i32)
    (i32.store (local.get 0) (local.get 1))
    (i32.load (local.get 0)))

  (func (export "div_s") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func (export "div_u") (param i32 i32) (result i32)
    (i32.div_u (local.get 0) (local.get 1)))
  (func (export "rem_s") (param i32 i32) (result i32)
    (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "div_s64") (param i64 i64) (result i64)
    (i64.div_s (local.get 0) (local.get 1)))
  (func (export "trunc") (param f32) (result i32)
    (i32.trunc_f32_s (local.get 0)))

  (func (export "unreachable")
    unreachable)

  (func (export "call_v2i") (param i32) (result i32)
    (call_indirect $t (type $v2i) (local.get 0)))
  (func (export "call_i2i") (param i32) (result i32)
    (call_indirect $t (type $i2i) (i32.const 7) (local.get 0)))
  (func (export "table_get") (param i32) (result funcref)
    (table.get $t (local.get 0)))
)
"#;

fn instantiate_core(store: &mut Store<()>) -> Instance {
    let module = Module::new(store.engine(), CORE).expect("the test module compiles");
    Instance::new(store, &module, &[]).expect("the test module instantiates")
}

fn core() -> (Store<()>, Instance) {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate_core(&mut store);
    (store, instance)
}

/// Calls the export `name`, with one result slot per result of its type.
fn call<T>(
    store: &mut Store<T>,
    instance: &Instance,
    name: &str,
    params: &[Val],
) -> Result<Vec<Val>> {
    let func = instance
        .get_func(store, name)
        .unwrap_or_else(|| panic!("no exported function `{name}`"));
    let mut results: Vec<Val> = func
        .ty(store)
        .results()
        .iter()
        .map(|ty| Val::default_for(*ty))
        .collect();
    func.call(store, params, &mut results)?;
    Ok(results)
}

/// Calls an export that returns one i32.
fn call_i32<T>(
    store: &mut Store<T>,
    instance: &Instance,
    name: &str,
    params: &[Val],
) -> Result<i32> {
    let results = call(store, instance, name, params)?;
    assert_eq!(results.len(), 1, "`{name}` should return one value");
    Ok(results[0]
        .i32()
        .unwrap_or_else(|| panic!("`{name}` returned {results:?}, not an i32")))
}

/// Asserts that `result` is a wasm trap with `code` whose message is `message`
/// (the spec's wording), and returns the trap.
#[track_caller]
fn expect_trap<V: Debug>(result: Result<V>, code: TrapCode, message: &str) -> Trap {
    let err = match result {
        Ok(value) => panic!("expected the trap `{message}`, but the call returned {value:?}"),
        Err(err) => err,
    };
    let trap = err
        .downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("expected the trap `{message}`, got a non-trap error: {err:#}"))
        .clone();
    assert_eq!(trap.code(), Some(code), "trap: {trap}");
    assert_eq!(trap.to_string(), message);
    assert!(err.to_string().contains(message), "error: {err:#}");
    trap
}

/// Uses the core instance for something that does not trap: a call, and a
/// memory write and read.
#[track_caller]
fn assert_core_works(store: &mut Store<()>, instance: &Instance) {
    assert_eq!(call_i32(store, instance, "forty_two", &[]).unwrap(), 42);
    assert_eq!(
        call_i32(store, instance, "store_load", &[Val::I32(64), Val::I32(-7)]).unwrap(),
        -7
    );
    assert_eq!(
        call_i32(store, instance, "call_v2i", &[Val::I32(1)]).unwrap(),
        42
    );
}

// ---- Stack exhaustion ----

#[test]
fn infinite_recursion_traps_repeatably_and_the_store_keeps_working() {
    let (mut store, instance) = core();
    for _ in 0..3 {
        let trap = expect_trap(
            call(&mut store, &instance, "overflow", &[]),
            TrapCode::StackOverflow,
            "call stack exhausted",
        );
        // The trapping PC plus the return addresses of the recursive frames.
        assert!(
            trap.native_backtrace().len() > 1,
            "backtrace: {:x?}",
            trap.native_backtrace()
        );
        // A second call on the same store works.
        assert_eq!(
            call_i32(&mut store, &instance, "forty_two", &[]).unwrap(),
            42
        );
    }
    assert_core_works(&mut store, &instance);
}

#[test]
fn infinite_indirect_recursion_traps() {
    let (mut store, instance) = core();
    for _ in 0..2 {
        expect_trap(
            call(&mut store, &instance, "overflow_indirect", &[]),
            TrapCode::StackOverflow,
            "call stack exhausted",
        );
        assert_core_works(&mut store, &instance);
    }
}

#[test]
fn deep_bounded_recursion_succeeds() {
    let (mut store, instance) = core();
    assert_eq!(
        call_i32(&mut store, &instance, "recurse", &[Val::I32(10_000)]).unwrap(),
        10_000
    );
    // Also right after a stack overflow: the trap leaves the full budget for the next call.
    expect_trap(
        call(&mut store, &instance, "overflow", &[]),
        TrapCode::StackOverflow,
        "call stack exhausted",
    );
    assert_eq!(
        call_i32(&mut store, &instance, "recurse", &[Val::I32(10_000)]).unwrap(),
        10_000
    );
}

#[test]
fn max_wasm_stack_bounds_the_recursion_depth() {
    let mut config = Config::new();
    config.max_wasm_stack(64 << 10);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = instantiate_core(&mut store);
    // 10_000 frames do not fit in 64 KiB (each holds at least a return address and a frame pointer)...
    expect_trap(
        call(&mut store, &instance, "recurse", &[Val::I32(10_000)]),
        TrapCode::StackOverflow,
        "call stack exhausted",
    );
    // ...but 100 do.
    assert_eq!(
        call_i32(&mut store, &instance, "recurse", &[Val::I32(100)]).unwrap(),
        100
    );
}

// ---- Every other kind of wasm trap ----

#[test]
fn memory_out_of_bounds() {
    let (mut store, instance) = core();
    let oob = "out of bounds memory access";
    // Last in-bounds word of the one page.
    assert_eq!(
        call_i32(&mut store, &instance, "load", &[Val::I32(65532)]).unwrap(),
        0
    );
    for address in [65536, 65533, -1, i32::MIN] {
        expect_trap(
            call(&mut store, &instance, "load", &[Val::I32(address)]),
            TrapCode::MemoryOutOfBounds,
            oob,
        );
        assert_core_works(&mut store, &instance);
    }
    // Out of bounds through the static offset (address 0 + offset 65535, and 4 GiB - 1 + offset).
    for address in [0, -1] {
        expect_trap(
            call(&mut store, &instance, "load_offset", &[Val::I32(address)]),
            TrapCode::MemoryOutOfBounds,
            oob,
        );
    }
    // A store out of bounds traps too, and writes nothing in bounds.
    expect_trap(
        call(
            &mut store,
            &instance,
            "store",
            &[Val::I32(65534), Val::I32(-1)],
        ),
        TrapCode::MemoryOutOfBounds,
        oob,
    );
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(&memory.data(&store)[65534..], &[0, 0]);

    // After growing, the same address is in bounds.
    assert_eq!(memory.grow(&mut store, 1).unwrap(), 1);
    assert_eq!(
        call_i32(&mut store, &instance, "load", &[Val::I32(65536)]).unwrap(),
        0
    );
    assert_eq!(
        call_i32(
            &mut store,
            &instance,
            "store_load",
            &[Val::I32(65536), Val::I32(5)]
        )
        .unwrap(),
        5
    );
    expect_trap(
        call(&mut store, &instance, "load", &[Val::I32(2 * 65536)]),
        TrapCode::MemoryOutOfBounds,
        oob,
    );
    assert_core_works(&mut store, &instance);
}

#[test]
fn integer_division_traps() {
    let (mut store, instance) = core();
    let by_zero = "integer divide by zero";
    for name in ["div_s", "div_u", "rem_s"] {
        expect_trap(
            call(&mut store, &instance, name, &[Val::I32(1), Val::I32(0)]),
            TrapCode::IntegerDivisionByZero,
            by_zero,
        );
        assert_core_works(&mut store, &instance);
    }
    expect_trap(
        call(
            &mut store,
            &instance,
            "div_s64",
            &[Val::I64(1), Val::I64(0)],
        ),
        TrapCode::IntegerDivisionByZero,
        by_zero,
    );
    // The one overflowing division; the matching remainder is 0, not a trap.
    expect_trap(
        call(
            &mut store,
            &instance,
            "div_s",
            &[Val::I32(i32::MIN), Val::I32(-1)],
        ),
        TrapCode::IntegerOverflow,
        "integer overflow",
    );
    assert_eq!(
        call_i32(
            &mut store,
            &instance,
            "rem_s",
            &[Val::I32(i32::MIN), Val::I32(-1)]
        )
        .unwrap(),
        0
    );
    assert_eq!(
        call_i32(&mut store, &instance, "div_s", &[Val::I32(-7), Val::I32(2)]).unwrap(),
        -3
    );
    assert_core_works(&mut store, &instance);
}

#[test]
fn float_to_int_conversion_traps() {
    let (mut store, instance) = core();
    expect_trap(
        call(
            &mut store,
            &instance,
            "trunc",
            &[Val::F32(f32::NAN.to_bits())],
        ),
        TrapCode::BadConversionToInteger,
        "invalid conversion to integer",
    );
    expect_trap(
        call(
            &mut store,
            &instance,
            "trunc",
            &[Val::F32(3e9f32.to_bits())],
        ),
        TrapCode::IntegerOverflow,
        "integer overflow",
    );
    assert_eq!(
        call_i32(
            &mut store,
            &instance,
            "trunc",
            &[Val::F32((-2.9f32).to_bits())]
        )
        .unwrap(),
        -2
    );
    assert_core_works(&mut store, &instance);
}

#[test]
fn unreachable_traps() {
    let (mut store, instance) = core();
    for _ in 0..2 {
        expect_trap(
            call(&mut store, &instance, "unreachable", &[]),
            TrapCode::UnreachableCodeReached,
            "wasm `unreachable` instruction executed",
        );
        assert_core_works(&mut store, &instance);
    }
}

#[test]
fn call_indirect_traps() {
    let (mut store, instance) = core();
    // Slot 0 is null.
    expect_trap(
        call(&mut store, &instance, "call_v2i", &[Val::I32(0)]),
        TrapCode::IndirectCallToNull,
        "uninitialized element",
    );
    assert_core_works(&mut store, &instance);
    // Slot 1 holds a [] -> [i32] function; called as [i32] -> [i32].
    expect_trap(
        call(&mut store, &instance, "call_i2i", &[Val::I32(1)]),
        TrapCode::BadSignature,
        "indirect call type mismatch",
    );
    assert_core_works(&mut store, &instance);
    // Slot 2 holds a [] -> [] function; called as [] -> [i32].
    expect_trap(
        call(&mut store, &instance, "call_v2i", &[Val::I32(2)]),
        TrapCode::BadSignature,
        "indirect call type mismatch",
    );
    // Past the end of the table.
    for index in [3, -1] {
        expect_trap(
            call(&mut store, &instance, "call_v2i", &[Val::I32(index)]),
            TrapCode::UndefinedElement,
            "undefined element",
        );
    }
    assert_core_works(&mut store, &instance);
}

#[test]
fn table_out_of_bounds() {
    let (mut store, instance) = core();
    expect_trap(
        call(&mut store, &instance, "table_get", &[Val::I32(3)]),
        TrapCode::TableOutOfBounds,
        "out of bounds table access",
    );
    let slot1 = call(&mut store, &instance, "table_get", &[Val::I32(1)]).unwrap();
    assert!(
        matches!(slot1[..], [Val::FuncRef(Some(_))]),
        "slot 1: {slot1:?}"
    );
    assert_core_works(&mut store, &instance);
}

#[test]
fn trap_in_start_function_fails_instantiation_and_the_store_keeps_working() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module (func $start unreachable) (start $start))"#,
    )
    .unwrap();
    for _ in 0..2 {
        expect_trap(
            Instance::new(&mut store, &module, &[]),
            TrapCode::UnreachableCodeReached,
            "wasm `unreachable` instruction executed",
        );
    }
    let instance = instantiate_core(&mut store);
    assert_core_works(&mut store, &instance);
}

#[test]
fn traps_on_several_threads_at_once() {
    let threads: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(|| {
                let (mut store, instance) = core();
                for _ in 0..20 {
                    expect_trap(
                        call(&mut store, &instance, "overflow", &[]),
                        TrapCode::StackOverflow,
                        "call stack exhausted",
                    );
                    expect_trap(
                        call(&mut store, &instance, "load", &[Val::I32(-1)]),
                        TrapCode::MemoryOutOfBounds,
                        "out of bounds memory access",
                    );
                    expect_trap(
                        call(&mut store, &instance, "div_u", &[Val::I32(1), Val::I32(0)]),
                        TrapCode::IntegerDivisionByZero,
                        "integer divide by zero",
                    );
                    assert_core_works(&mut store, &instance);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

// ---- Host functions that fail ----

/// Imports two host functions that compute 10 * x, except for x == 0: then
/// `fail` returns an error and `panic` panics. The exports add 1 to it.
const HOST: &str = r#"
(module
  (import "host" "fail" (func $fail (param i32) (result i32)))
  (import "host" "panic" (func $panic (param i32) (result i32)))
  (func (export "call_fail") (param i32) (result i32)
    (i32.add (call $fail (local.get 0)) (i32.const 1)))
  (func (export "call_panic") (param i32) (result i32)
    (i32.add (call $panic (local.get 0)) (i32.const 1)))
  (func (export "forty_two") (result i32)
    i32.const 42)
)
"#;

const PANIC_MESSAGE: &str = "the host function gave up";

fn host_instance() -> (Store<()>, Instance, Func) {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let ty = FuncType::new([ValType::I32], [ValType::I32]);
    let fail = Func::new(&mut store, ty.clone(), |_caller, params, results| {
        let x = params[0].i32().unwrap();
        if x == 0 {
            return Err(anyhow!("boom"));
        }
        results[0] = Val::I32(10 * x);
        Ok(())
    });
    let panic = Func::new(&mut store, ty, |_caller, params, results| {
        let x = params[0].i32().unwrap();
        if x == 0 {
            panic!("{PANIC_MESSAGE}");
        }
        results[0] = Val::I32(10 * x);
        Ok(())
    });
    let module = Module::new(&engine, HOST).unwrap();
    let instance = Instance::new(&mut store, &module, &[fail.into(), panic.into()]).unwrap();
    (store, instance, fail)
}

#[test]
fn host_error_is_returned_and_is_not_a_trap() {
    let (mut store, instance, fail) = host_instance();
    for _ in 0..2 {
        let err = call_i32(&mut store, &instance, "call_fail", &[Val::I32(0)]).unwrap_err();
        assert!(
            err.downcast_ref::<Trap>().is_none(),
            "a host error came back as a trap: {err:?}"
        );
        assert!(
            err.chain().any(|e| e.to_string().contains("boom")),
            "error: {err:#}"
        );
        // The store works afterwards, and no stale error is left behind.
        assert_eq!(
            call_i32(&mut store, &instance, "call_fail", &[Val::I32(5)]).unwrap(),
            51
        );
        assert_eq!(
            call_i32(&mut store, &instance, "forty_two", &[]).unwrap(),
            42
        );
    }
    // Called directly from the host, the function's error is the call's error.
    let mut result = [Val::I32(0)];
    let err = fail
        .call(&mut store, &[Val::I32(0)], &mut result)
        .unwrap_err();
    assert!(err.downcast_ref::<Trap>().is_none(), "error: {err:?}");
    assert!(err.to_string().contains("boom"), "error: {err:#}");
    fail.call(&mut store, &[Val::I32(3)], &mut result).unwrap();
    assert_eq!(result[0].i32(), Some(30));
}

/// Host errors (and so WASI's proc_exit) leave wasm through the `raise`
/// builtin, not a trap instruction and the signal handler; a real trap
/// still takes the signal path.
#[test]
fn host_errors_unwind_without_a_signal() {
    use hoist_runtime::traphandlers::{raise_count, trap_signal_count};
    let (mut store, instance, _) = host_instance();
    let (signals, raises) = (trap_signal_count(), raise_count());
    for _ in 0..3 {
        call_i32(&mut store, &instance, "call_fail", &[Val::I32(0)]).unwrap_err();
    }
    assert_eq!(trap_signal_count(), signals);
    assert_eq!(raise_count(), raises + 3);
    let core = Module::new(store.engine(), CORE).unwrap();
    let core = Instance::new(&mut store, &core, &[]).unwrap();
    let mut out = [];
    let unreachable = core.get_func(&mut store, "unreachable").unwrap();
    unreachable.call(&mut store, &[], &mut out).unwrap_err();
    assert_eq!(trap_signal_count(), signals + 1);
}

#[test]
fn host_panic_becomes_an_error() {
    let (mut store, instance, _) = host_instance();
    for _ in 0..2 {
        let err = call_i32(&mut store, &instance, "call_panic", &[Val::I32(0)]).unwrap_err();
        assert!(format!("{err:#}").contains(PANIC_MESSAGE), "error: {err:#}");
        assert!(
            err.downcast_ref::<Trap>().is_none(),
            "a host panic came back as a trap: {err:?}"
        );
        assert_eq!(
            call_i32(&mut store, &instance, "call_panic", &[Val::I32(4)]).unwrap(),
            41
        );
        assert_eq!(
            call_i32(&mut store, &instance, "forty_two", &[]).unwrap(),
            42
        );
    }
    // A host error after a panic is still reported as itself.
    let err = call_i32(&mut store, &instance, "call_fail", &[Val::I32(0)]).unwrap_err();
    assert!(
        err.chain().any(|e| e.to_string().contains("boom")),
        "error: {err:#}"
    );
}

#[test]
fn host_functions_in_a_table() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let ty = FuncType::new([], [ValType::I32]);
    let seven = Func::new(&mut store, ty.clone(), |_caller, _params, results| {
        results[0] = Val::I32(7);
        Ok(())
    });
    let fail = Func::new(&mut store, ty, |_caller, _params, _results| {
        Err(anyhow!("boom"))
    });
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "seven" (func $seven (result i32)))
             (import "host" "fail" (func $fail (result i32)))
             (type $v2i (func (result i32)))
             (type $i2i (func (param i32) (result i32)))
             (table 2 funcref)
             (elem (i32.const 0) func $seven $fail)
             (func (export "call_v2i") (param i32) (result i32)
               (call_indirect (type $v2i) (local.get 0)))
             (func (export "call_i2i") (param i32) (result i32)
               (call_indirect (type $i2i) (i32.const 1) (local.get 0))))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[seven.into(), fail.into()]).unwrap();
    assert_eq!(
        call_i32(&mut store, &instance, "call_v2i", &[Val::I32(0)]).unwrap(),
        7
    );
    let err = call_i32(&mut store, &instance, "call_v2i", &[Val::I32(1)]).unwrap_err();
    assert!(err.downcast_ref::<Trap>().is_none(), "error: {err:?}");
    assert!(err.to_string().contains("boom"), "error: {err:#}");
    expect_trap(
        call(&mut store, &instance, "call_i2i", &[Val::I32(0)]),
        TrapCode::BadSignature,
        "indirect call type mismatch",
    );
    assert_eq!(
        call_i32(&mut store, &instance, "call_v2i", &[Val::I32(0)]).unwrap(),
        7
    );
}

// ---- Nesting: host -> wasm -> host -> wasm ----
//
// A host function cannot call back into its own store: `Caller` has no way to
// call a function, and `Func::call` needs the `&mut Store` that the outer call
// holds. So the nested wasm runs in a second store, which the host function
// reaches through a thread-local (a `Store` is not `Send`, so the `Send + Sync`
// closure cannot own it). The trap handling state is per thread, so this
// exercises the same nesting of recovery points as same-store re-entry would.

thread_local! {
    static INNER: RefCell<Option<(Store<()>, Instance)>> = const { RefCell::new(None) };
}

const NESTING: &str = r#"
(module
  (import "host" "nested" (func $nested (param i32) (result i32)))
  (func (export "run") (param i32) (result i32)
    (i32.add (call $nested (local.get 0)) (i32.const 1)))
  (func (export "run_then_trap") (param i32) (result i32)
    (drop (call $nested (local.get 0)))
    unreachable)
  (func (export "forty_two") (result i32)
    i32.const 42)
)
"#;

/// The host function: takes two traps in the inner store (caught there, while
/// the outer wasm frames are live below), then returns 2 * x computed by the
/// inner store; for a negative x it returns the inner store's trap as its error.
fn nested(x: i32) -> Result<i32> {
    INNER.with(|inner| {
        let mut inner = inner.borrow_mut();
        let (store, instance) = inner.as_mut().expect("the test set up the inner store");
        expect_trap(
            call(store, instance, "div_s", &[Val::I32(x), Val::I32(0)]),
            TrapCode::IntegerDivisionByZero,
            "integer divide by zero",
        );
        expect_trap(
            call(store, instance, "overflow", &[]),
            TrapCode::StackOverflow,
            "call stack exhausted",
        );
        if x < 0 {
            call_i32(store, instance, "div_u", &[Val::I32(1), Val::I32(0)])?;
            unreachable!("1 / 0 returned");
        }
        call_i32(store, instance, "div_s", &[Val::I32(6 * x), Val::I32(3)])
    })
}

#[test]
fn host_wasm_host_wasm_nesting() {
    let engine = Engine::default();
    let mut inner_store = Store::new(&engine, ());
    let inner_instance = instantiate_core(&mut inner_store);
    INNER.with(|inner| *inner.borrow_mut() = Some((inner_store, inner_instance)));

    let mut store = Store::new(&engine, ());
    let host = Func::new(
        &mut store,
        FuncType::new([ValType::I32], [ValType::I32]),
        |_caller, params, results| {
            results[0] = Val::I32(nested(params[0].i32().unwrap())?);
            Ok(())
        },
    );
    let module = Module::new(&engine, NESTING).unwrap();
    let instance = Instance::new(&mut store, &module, &[host.into()]).unwrap();

    for _ in 0..2 {
        // The inner traps were caught inside; the outer call completes normally.
        assert_eq!(
            call_i32(&mut store, &instance, "run", &[Val::I32(21)]).unwrap(),
            43
        );
        // After the nested calls (which trapped), a trap in the outer wasm
        // reaches the outer call.
        expect_trap(
            call(&mut store, &instance, "run_then_trap", &[Val::I32(1)]),
            TrapCode::UnreachableCodeReached,
            "wasm `unreachable` instruction executed",
        );
        // An inner trap returned by the host function fails the outer call.
        let err = call_i32(&mut store, &instance, "run", &[Val::I32(-1)]).unwrap_err();
        assert!(
            format!("{err:#}").contains("integer divide by zero"),
            "error: {err:#}"
        );
        assert_eq!(
            call_i32(&mut store, &instance, "forty_two", &[]).unwrap(),
            42
        );
    }

    let (mut inner_store, inner_instance) = INNER.with(|inner| inner.borrow_mut().take()).unwrap();
    assert_core_works(&mut inner_store, &inner_instance);
}

// ---- A fault outside wasm code is not a wasm trap ----

const CHILD_ENV: &str = "HOIST_TEST_CHILD";
const HOST_FAULT_MARKER: &str = "host function: writing through a null pointer";

/// A host function called from wasm writes through a null pointer. That is a
/// bug in the host, not a wasm trap: the process must die of the fault, as
/// it would without hoist. The test runs itself in a child process (this test
/// binary, with `HOIST_TEST_CHILD=segfault`), which takes the fault; the
/// parent checks how the child died.
#[test]
fn host_fault_is_not_a_wasm_trap() {
    if std::env::var_os(CHILD_ENV).is_some_and(|v| v == "segfault") {
        host_fault_child();
    }

    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "host_fault_is_not_a_wasm_trap",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "segfault")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!(
        "child {:?}\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}",
        output.status
    );
    const SIGBUS: i32 = 7;
    const SIGSEGV: i32 = 11;
    assert!(
        matches!(output.status.signal(), Some(SIGSEGV | SIGBUS)),
        "the child should have been killed by SIGSEGV or SIGBUS; {report}"
    );
    // It died in the host function, not before reaching it...
    assert!(stderr.contains(HOST_FAULT_MARKER), "{report}");
    // ...and the fault never came back as a trap.
    assert!(!stderr.contains("wasm trap"), "{report}");
}

/// The child side of `host_fault_is_not_a_wasm_trap`. Does not return.
fn host_fault_child() -> ! {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let crash = Func::new(
        &mut store,
        FuncType::new([], []),
        |_caller, _params, _results| {
            eprintln!("{HOST_FAULT_MARKER}");
            // SAFETY: none; this is deliberately unsound. Address 0 is never mapped, so the write
            // faults (which `write_volatile`'s contract forbids). The crash is the point of this
            // test: it stands for a bug in host code, and it kills this child process, whose exit
            // signal the parent test checks.
            unsafe { std::ptr::write_volatile(std::ptr::null_mut::<u32>(), 1) };
            Ok(())
        },
    );
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "crash" (func $crash))
             (memory 1)
             (func (export "oob") (drop (i32.load (i32.const -1))))
             (func (export "run") (call $crash)))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[crash.into()]).unwrap();
    // First a real trap, so the trap handler is known to be installed and working in this
    // process, and has already unwound once.
    expect_trap(
        call(&mut store, &instance, "oob", &[]),
        TrapCode::MemoryOutOfBounds,
        "out of bounds memory access",
    );
    let result = call(&mut store, &instance, "run", &[]);
    // Getting here at all is the bug; say what the call returned.
    match &result {
        Err(err) if err.downcast_ref::<Trap>().is_some() => eprintln!("wasm trap: {err:#}"),
        other => eprintln!("the call returned: {other:?}"),
    }
    std::process::exit(0);
}

/// A thread whose stack is smaller than the wasm stack budget still gets
/// "call stack exhausted", not a crash on the guard page.
#[test]
fn recursion_on_a_small_thread_stack_traps() {
    let handle = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let engine = Engine::default();
            let module =
                Module::new(&engine, r#"(module (func $f (export "f") (call $f)))"#).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let f = instance.get_func(&mut store, "f").unwrap();
            let error = f.call(&mut store, &[], &mut []).unwrap_err();
            let trap = error.downcast_ref::<Trap>().expect("a trap");
            assert_eq!(trap.code(), Some(TrapCode::StackOverflow));
        })
        .unwrap();
    handle.join().unwrap();
}

/// A host error keeps its type through wasm frames, so embedders (and
/// WASI's exit status) can downcast it.
#[test]
fn host_error_type_survives_wasm_frames() {
    #[derive(Debug)]
    struct Custom(u32);
    impl std::fmt::Display for Custom {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "custom {}", self.0)
        }
    }
    impl std::error::Error for Custom {}

    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "f" (func $f)) (func (export "run") (call $f)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let host = Func::new(&mut store, FuncType::new([], []), |_, _, _| {
        Err(anyhow::Error::new(Custom(7)))
    });
    let instance = Instance::new(&mut store, &module, &[host.into()]).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    let error = run.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(error.downcast_ref::<Custom>().map(|c| c.0), Some(7));
}

/// Typed host functions (`Func::wrap`): every value type in and out,
/// multiple results, `Result` errors, and the caller's memory.
#[test]
fn typed_host_functions() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, 0u64);
    let mix = Func::wrap(
        &mut store,
        |mut caller: hoist::Caller<'_, u64>, a: i32, b: u32, c: i64, d: u64, e: f32, f: f64| {
            *caller.data_mut() += 1;
            let sum = f64::from(a) + f64::from(b) + c as f64 + d as f64 + f64::from(e) + f;
            (sum as i64, sum as f32)
        },
    );
    let fail = Func::wrap(
        &mut store,
        |_: hoist::Caller<'_, u64>, x: i32| -> Result<i32> {
            if x == 0 {
                Err(anyhow!("typed boom"))
            } else {
                Ok(x * 2)
            }
        },
    );
    let poke = Func::wrap(&mut store, |mut caller: hoist::Caller<'_, u64>, at: u32| {
        let (memory, data) = caller.memory();
        memory[at as usize] = 7;
        *data += 100;
    });
    let module = Module::new(
        &engine,
        r#"(module
          (import "h" "mix" (func $mix (param i32 i32 i64 i64 f32 f64) (result i64 f32)))
          (import "h" "fail" (func $fail (param i32) (result i32)))
          (import "h" "poke" (func $poke (param i32)))
          (memory (export "memory") 1)
          (func (export "run") (result i64)
            (call $mix (i32.const -1) (i32.const 2) (i64.const 3) (i64.const 4) (f32.const 0.5) (f64.const 1.5))
            drop)
          (func (export "fail") (param i32) (result i32) (call $fail (local.get 0)))
          (func (export "poke") (result i32)
            (call $poke (i32.const 9))
            (i32.load8_u (i32.const 9))))"#,
    )
    .unwrap();
    let instance =
        Instance::new(&mut store, &module, &[mix.into(), fail.into(), poke.into()]).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    let mut out = [Val::I64(0)];
    run.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out[0].i64(), Some(10));
    assert_eq!(*store.data(), 1);
    assert_eq!(
        call_i32(&mut store, &instance, "fail", &[Val::I32(21)]).unwrap(),
        42
    );
    let err = call_i32(&mut store, &instance, "fail", &[Val::I32(0)]).unwrap_err();
    assert!(format!("{err:#}").contains("typed boom"), "{err:#}");
    assert_eq!(call_i32(&mut store, &instance, "poke", &[]).unwrap(), 7);
    assert_eq!(*store.data(), 101);
    assert_eq!(
        mix.ty(&store).to_string(),
        "(func (param i32 i32 i64 i64 f32 f64) (result i64 f32))"
    );
}
