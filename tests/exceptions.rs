//! Wasm exceptions as the embedding API sees them, and across host
//! functions: an exception that leaves a nested call into wasm comes back
//! to the host function as an error; returned from it, it is rethrown into
//! the wasm code that called the host function, where a handler may catch
//! it. Rust frames in between return normally, so their destructors run.

use anyhow::Result;
use hoist::{Engine, Func, FuncType, Instance, Module, Store, Val, ValType, WasmException};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const WAT: &str = r#"(module
  (import "host" "callback" (func $callback (param i32) (result i32)))
  (tag $boom (export "boom") (param i32))
  (func $thrower (export "thrower") (param i32) (result i32)
    (if (i32.gt_s (local.get 0) (i32.const 0)) (then (throw $boom (local.get 0))))
    (i32.const -1))
  ;; wasm -> host -> wasm (throws) -> host -> wasm: caught here
  (func (export "outer") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $boom $caught)
        (return (call $callback (local.get 0))))
      (unreachable))
    (i32.add (i32.const 1000)))
  (func (export "uncaught") (param i32) (result i32) (call $callback (local.get 0)))
)"#;

struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A store with the module; its callback calls `thrower` and either
/// propagates an exception (`catch_in_host == false`) or handles it.
fn setup(catch_in_host: bool) -> (Store<()>, Instance, Arc<AtomicUsize>) {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = drops.clone();
    let ty = FuncType::new([ValType::I32], [ValType::I32]);
    let callback = Func::new(&mut store, ty, move |mut caller, params, results| {
        let _guard = Guard(counter.clone());
        let thrower = caller
            .get_export("thrower")
            .and_then(hoist::Extern::into_func)
            .unwrap();
        let mut out = [Val::I32(0)];
        let result = thrower.call_from(&mut caller, &params[..1], &mut out);
        match result {
            Ok(()) => results[0] = out[0].clone(),
            Err(err) if catch_in_host => {
                let exception = err.downcast_ref::<WasmException>().expect("an exception");
                let Val::I32(payload) = exception.payload()[0] else {
                    panic!("payload")
                };
                results[0] = Val::I32(-payload);
            }
            Err(err) => return Err(err),
        }
        Ok(())
    });
    let module = Module::new(&engine, WAT).unwrap();
    let instance = Instance::new(&mut store, &module, &[callback.into()]).unwrap();
    (store, instance, drops)
}

fn call(store: &mut Store<()>, instance: Instance, name: &str, arg: i32) -> Result<i32> {
    let func = instance.get_func(store, name).unwrap();
    let mut out = [Val::I32(0)];
    func.call(store, &[Val::I32(arg)], &mut out)?;
    Ok(out[0].i32().unwrap())
}

#[test]
fn exceptions_cross_host_functions_into_wasm_handlers() {
    let (mut store, instance, drops) = setup(false);
    // Thrown two calls deep, through the host function, caught by `outer`.
    assert_eq!(call(&mut store, instance, "outer", 7).unwrap(), 1007);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the host frame's destructor ran"
    );
    // Nothing thrown: the callback's value comes back.
    assert_eq!(call(&mut store, instance, "outer", -3).unwrap(), -1);
    // Nobody catches it: the error of the outermost call, with its tag and
    // payload, after the host frame unwound normally.
    let err = call(&mut store, instance, "uncaught", 5).unwrap_err();
    let exception = err.downcast_ref::<WasmException>().expect("an exception");
    assert!(exception.tag().contains("boom"), "{}", exception.tag());
    assert_eq!(exception.payload()[0].i32(), Some(5));
    assert!(!exception.frames().is_empty());
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    // The store is fine afterwards.
    assert_eq!(call(&mut store, instance, "outer", 1).unwrap(), 1001);
}

#[test]
fn a_host_function_may_handle_an_exception_itself() {
    let (mut store, instance, drops) = setup(true);
    assert_eq!(call(&mut store, instance, "uncaught", 9).unwrap(), -9);
    assert_eq!(call(&mut store, instance, "outer", 4).unwrap(), -4);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn many_exceptions_are_collected() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
          (tag $t (param i32))
          (global $keep (mut exnref) (ref.null exn))
          (func (export "run") (param i32) (result i32) (local $sum i32) (local $e exnref)
            (block $done
              (loop $l
                (br_if $done (i32.eqz (local.get 0)))
                (block $h (result i32 exnref)
                  (try_table (catch_ref $t $h) (throw $t (local.get 0)))
                  (unreachable))
                (local.set $e)
                ;; keep every 1000th exception alive in a global
                (if (i32.eqz (i32.rem_u (local.get 0) (i32.const 1000)))
                  (then (global.set $keep (local.get $e))))
                (local.set $sum (i32.add (local.get $sum)))
                (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                (br $l)))
            (local.get $sum))
          (func (export "rethrow-kept")
            (throw_ref (global.get $keep))))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    let mut out = [Val::I32(0)];
    run.call(&mut store, &[Val::I32(3_000_000)], &mut out)
        .unwrap();
    assert_eq!(out[0].i32(), Some((1..=3_000_000u64).sum::<u64>() as i32));
    // The exception kept in the global survived every collection.
    let rethrow = instance.get_func(&mut store, "rethrow-kept").unwrap();
    let err = rethrow.call(&mut store, &[], &mut []).unwrap_err();
    let exception = err.downcast_ref::<WasmException>().unwrap();
    assert_eq!(exception.payload()[0].i32(), Some(1000));
}
