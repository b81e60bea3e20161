//! What the tests of lazily compiled code share: calling an export,
//! instantiating a module compiled lazily or eagerly, and checking that both
//! compute the same.

use hoist::{Engine, Instance, Module, Store, Val};

/// Export `name` of `instance` called with `args`: its first result.
pub fn call(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    args: &[Val],
) -> hoist::Result<Val> {
    let func = instance.get_func(store, name).expect("export");
    let mut results = [Val::I32(0)];
    func.call(store, args, &mut results)?;
    Ok(results[0].clone())
}

/// `wat` compiled lazily or eagerly with `engine`, instantiated in a
/// store of its own.
pub fn instantiate(engine: &Engine, wat: &str, lazy: bool) -> (Store<()>, Instance) {
    let module = if lazy {
        Module::new_lazy(engine, wat)
    } else {
        Module::new(engine, wat)
    }
    .expect("compiles");
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    (store, instance)
}

/// The expected result of a module's `f` for an argument.
pub type Want<'a> = &'a dyn Fn(i32) -> i32;

/// Each case (a name, a module exporting `f: (i32) -> i32`, what `f`
/// returns), compiled lazily and eagerly: `f` of each of `inputs`.
pub fn check_lazily_and_eagerly(cases: &[(&str, &str, Want)], inputs: &[i32]) {
    let engine = Engine::default();
    for (name, wat, want) in cases {
        for lazy in [true, false] {
            let (mut store, instance) = instantiate(&engine, wat, lazy);
            for &p in inputs {
                let got = call_i32(&mut store, &instance, "f", &[Val::I32(p)]);
                assert_eq!(got, want(p), "{name}, lazy: {lazy}, p = {p}");
            }
        }
    }
}

/// [`call`] of an export that returns an i32, which must succeed.
pub fn call_i32(store: &mut Store<()>, instance: &Instance, name: &str, args: &[Val]) -> i32 {
    i32_of(call(store, instance, name, args).unwrap())
}

/// The i32 in `v`; anything else fails the test.
pub fn i32_of(v: Val) -> i32 {
    match v {
        Val::I32(v) => v,
        other => panic!("not an i32: {other:?}"),
    }
}

/// Runs export `name` of `wat` with `args`, compiled whole and compiled
/// lazily; both must give the same value.
pub fn same_lazily(wat: &str, name: &str, args: &[Val]) -> Val {
    let engine = Engine::default();
    let mut results = Vec::new();
    for lazy in [false, true] {
        let module = if lazy {
            Module::new_lazy(&engine, wat).unwrap()
        } else {
            Module::new(&engine, wat).unwrap()
        };
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        results.push(call(&mut store, &instance, name, args).unwrap());
    }
    let lazy = results.pop().unwrap();
    let whole = results.pop().unwrap();
    assert_eq!(format!("{whole:?}"), format!("{lazy:?}"), "{name}{args:?}");
    lazy
}
