//! Lazy compilation (`Module::new_lazy`, `hoist run -C lazy`): functions
//! compiled on their first call behave exactly as linked ones: through
//! direct calls, tables and funcrefs taken before the callee was compiled,
//! tail calls, traps with their frames, exceptions, many threads racing for
//! the same first call; an invalid function is refused up front even if it
//! is never called; hot functions tier up. And the CLI: the background
//! compile fills the cache, the detached process that finishes it runs
//! nothing (and is handed a module read from stdin). Functions whose shape
//! strains a compiler are in tests/code_shapes.rs.

mod support;

use hoist::{Engine, Instance, Module, Store, Trap, TrapCode, Val};
use support::hoist;
use support::lazy::{call, call_i32, i32_of};

const MODULE: &str = r#"
(module
  (type $i2i (func (param i32) (result i32)))
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $double $triple $fact $boom)
  (global $saved (mut funcref) (ref.func $triple))
  (tag $oops (param i32))

  (func $double (export "double") (type $i2i) (i32.mul (local.get 0) (i32.const 2)))
  (func $triple (type $i2i) (i32.mul (local.get 0) (i32.const 3)))
  (func $fact (export "fact") (type $i2i)
    (if (result i32) (i32.le_s (local.get 0) (i32.const 1))
      (then (i32.const 1))
      (else (i32.mul (local.get 0) (call $fact (i32.sub (local.get 0) (i32.const 1)))))))
  (func $boom (type $i2i) (i32.div_s (local.get 0) (i32.const 0)))

  ;; Through the table: slot n applied to x.
  (func (export "apply") (param i32 i32) (result i32)
    (call_indirect $t (type $i2i) (local.get 1) (local.get 0)))
  ;; Through a funcref kept in a global since instantiation.
  (func (export "saved") (param i32) (result i32)
    (call_ref $i2i (local.get 0) (ref.cast (ref $i2i) (global.get $saved))))
  ;; A direct call after the same function ran through the table.
  (func (export "triple") (param i32) (result i32) (call $triple (local.get 0)))
  ;; Tail calls into functions compiled on the way.
  (func $count (param i32 i64) (result i64)
    (if (result i64) (i32.eqz (local.get 0))
      (then (local.get 1))
      (else (return_call $count_b (i32.sub (local.get 0) (i32.const 1))
                                  (i64.add (local.get 1) (i64.const 1))))))
  (func $count_b (param i32 i64) (result i64)
    (return_call $count (local.get 0) (local.get 1)))
  (func (export "count") (param i32) (result i64) (call $count (local.get 0) (i64.const 0)))
  ;; Traps two lazily compiled frames down.
  (func $inner (param i32) (result i32) (call_indirect $t (type $i2i) (local.get 0) (i32.const 3)))
  (func (export "trap") (param i32) (result i32) (call $inner (local.get 0)))
  ;; Throws in one function, catches in another.
  (func $throw (param i32) (throw $oops (local.get 0)))
  (func (export "catch") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $oops $caught) (call $throw (local.get 0)))
      (i32.const -1))))
"#;

/// MODULE's `trap` export divides by zero two calls down: the trap
/// names $boom (3) <- $inner <- the export, each with a wasm offset.
fn assert_trap_names_its_frames(store: &mut Store<()>, instance: &Instance) {
    let err = call(store, instance, "trap", &[Val::I32(1)]).unwrap_err();
    let trap = err.downcast_ref::<Trap>().expect("a trap");
    assert_eq!(trap.code(), Some(TrapCode::IntegerDivisionByZero));
    let frames: Vec<u32> = trap.frames().iter().map(|f| f.func_index).collect();
    assert_eq!(frames.first(), Some(&3), "frames: {frames:?}");
    assert!(frames.len() >= 3, "frames: {frames:?}");
    assert!(trap.frames().iter().all(|f| f.module_offset.is_some()));
}

/// The function indices of `module`'s compiled code, in order (a function
/// compiled twice would be there twice).
fn compiled_functions(module: &Module) -> Vec<u32> {
    let mut compiled: Vec<u32> = module
        .function_code()
        .iter()
        .map(|f| f.func_index)
        .collect();
    compiled.sort();
    compiled
}

/// How many functions of `module` have a second compile (tier-up: their
/// optimized code beside the baseline code).
fn compiled_twice(module: &Module) -> usize {
    let compiled = compiled_functions(module);
    let mut once = compiled.clone();
    once.dedup();
    compiled.len() - once.len()
}

fn lazy_instance() -> (Module, Store<()>, Instance) {
    let engine = Engine::default();
    let module = Module::new_lazy(&engine, MODULE).expect("compiles");
    assert!(module.is_lazy());
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    (module, store, instance)
}

#[test]
fn nothing_is_compiled_before_it_is_called() {
    let (module, mut store, instance) = lazy_instance();
    assert!(module.function_code().is_empty());
    assert_eq!(
        i32_of(call(&mut store, &instance, "double", &[Val::I32(21)]).unwrap()),
        42
    );
    assert_eq!(compiled_functions(&module), [0], "only `double` ran");
}

/// A lazily compiled module tells how long its program has gone without
/// compiling a function on its first call (the CLI starts its background
/// compile once the program's warm-up is over); a compiled module has no
/// such thing. Only orderings are asserted, never durations of work.
#[test]
fn lazy_activity_restarts_at_each_first_call() {
    let (module, mut store, instance) = lazy_instance();
    let activity = module.lazy_activity().expect("a lazily compiled module");
    std::thread::sleep(std::time::Duration::from_millis(30));
    assert!(activity.quiet_for() >= std::time::Duration::from_millis(30));
    let before = std::time::Instant::now();
    call(&mut store, &instance, "double", &[Val::I32(1)]).unwrap();
    // Milliseconds are truncated on both sides: one of slack. (A compile
    // ahead of the call could only make the quiet spell longer: `double`
    // is an export, and nothing calls it directly.)
    let slack = std::time::Duration::from_millis(1);
    assert!(activity.quiet_for() <= before.elapsed() + slack);
    // A second call of the same function is no first call.
    std::thread::sleep(std::time::Duration::from_millis(30));
    call(&mut store, &instance, "double", &[Val::I32(1)]).unwrap();
    assert!(activity.quiet_for() >= std::time::Duration::from_millis(30));

    // Compiled whole even under HOIST_LAZY=y.
    let mut config = hoist::Config::new();
    config.lazy_compilation(false);
    let engine = Engine::new(&config).unwrap();
    let compiled = Module::new(&engine, MODULE).unwrap();
    assert!(!compiled.is_lazy());
    assert!(compiled.lazy_activity().is_none());
}

/// With speculation (the default on two cores or more), a function that a
/// compiled function calls directly is compiled ahead on another thread,
/// even before anything calls it (once the machine has a core to spare);
/// without, it is not.
#[test]
fn callees_are_compiled_ahead_on_another_thread() {
    if std::thread::available_parallelism().map_or(true, |n| n.get() < 2) {
        return;
    }
    const CALLER: &str = r#"(module
      (func $later (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func (export "maybe") (param i32) (result i32)
        (if (result i32) (local.get 0)
          (then (call $later (local.get 0)))
          (else (i32.const 0)))))"#;
    let compiled_after_a_call = |speculate: bool| -> Vec<u32> {
        let mut config = hoist::Config::default();
        config.lazy_speculation(speculate);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new_lazy(&engine, CALLER).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        assert_eq!(
            i32_of(call(&mut store, &instance, "maybe", &[Val::I32(0)]).unwrap()),
            0
        );
        // Speculation waits while the machine is busy (other tests run
        // beside this one): a generous deadline.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let compiled = compiled_functions(&module);
            if compiled.len() == 2 || !speculate || std::time::Instant::now() > deadline {
                return compiled;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    assert_eq!(
        compiled_after_a_call(true),
        [0, 1],
        "`$later` compiled ahead"
    );
    assert_eq!(compiled_after_a_call(false), [1], "only what ran");
}

#[test]
fn funcrefs_taken_before_compiling_call_the_compiled_code() {
    let (module, mut store, instance) = lazy_instance();
    // `triple` first through the global's funcref, then the table, then directly.
    assert_eq!(
        i32_of(call(&mut store, &instance, "saved", &[Val::I32(5)]).unwrap()),
        15
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "apply", &[Val::I32(1), Val::I32(7)]).unwrap()),
        21
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "triple", &[Val::I32(3)]).unwrap()),
        9
    );
    // `double` through the table first, then as an export.
    assert_eq!(
        i32_of(call(&mut store, &instance, "apply", &[Val::I32(0), Val::I32(4)]).unwrap()),
        8
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "double", &[Val::I32(4)]).unwrap()),
        8
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "fact", &[Val::I32(10)]).unwrap()),
        3628800
    );
    let mut compiled = compiled_functions(&module);
    compiled.dedup();
    assert!(compiled.contains(&1) && compiled.contains(&0) && compiled.contains(&2));
    // A second instance shares the compiled code and still gets it right.
    let other = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(
        i32_of(call(&mut store, &other, "apply", &[Val::I32(2), Val::I32(5)]).unwrap()),
        120
    );
}

#[test]
fn tail_calls_through_compile_stubs_keep_the_stack_flat() {
    let (_, mut store, instance) = lazy_instance();
    let count = instance.get_func(&mut store, "count").unwrap();
    let mut results = [Val::I64(0)];
    count
        .call(&mut store, &[Val::I32(1_000_000)], &mut results)
        .unwrap();
    assert!(
        matches!(results[0], Val::I64(1_000_000)),
        "{:?}",
        results[0]
    );
}

#[test]
fn traps_in_lazy_code_name_their_frames() {
    let (_, mut store, instance) = lazy_instance();
    assert_trap_names_its_frames(&mut store, &instance);
    // The store is usable after the trap, the trapping code still there.
    assert_eq!(
        i32_of(call(&mut store, &instance, "apply", &[Val::I32(0), Val::I32(1)]).unwrap()),
        2
    );
    assert!(call(&mut store, &instance, "trap", &[Val::I32(1)]).is_err());
}

#[test]
fn exceptions_cross_lazily_compiled_functions() {
    let (_, mut store, instance) = lazy_instance();
    assert_eq!(
        i32_of(call(&mut store, &instance, "catch", &[Val::I32(7)]).unwrap()),
        7
    );
    assert_eq!(
        i32_of(call(&mut store, &instance, "catch", &[Val::I32(8)]).unwrap()),
        8
    );
}

#[test]
fn threads_racing_for_a_first_call_share_one_compile() {
    let engine = Engine::default();
    let module = Module::new_lazy(&engine, MODULE).unwrap();
    let barrier = std::sync::Barrier::new(8);
    std::thread::scope(|scope| {
        for i in 0..8 {
            let (engine, module, barrier) = (&engine, &module, &barrier);
            scope.spawn(move || {
                let mut store = Store::new(engine, ());
                let instance = Instance::new(&mut store, module, &[]).unwrap();
                barrier.wait();
                for n in 0..100 {
                    let x = i * 100 + n;
                    let got = call(
                        &mut store,
                        &instance,
                        "apply",
                        &[Val::I32(2), Val::I32(x % 12)],
                    );
                    let want = (1..=(x % 12).max(1)).product::<i32>();
                    assert_eq!(i32_of(got.unwrap()), want);
                }
            });
        }
    });
    let mut compiled = compiled_functions(&module);
    let all = compiled.len();
    compiled.dedup();
    assert_eq!(all, compiled.len(), "a function was compiled twice");
}

#[test]
fn an_invalid_function_is_refused_before_anything_runs() {
    let engine = Engine::default();
    let bad = r#"(module
        (func (export "_start"))
        (func $never_called (result i32) (i64.const 1)))"#;
    let wasm = wat::parse_str(bad);
    // `wat` itself does not type-check; the validator must.
    let err = Module::new_lazy(&engine, wasm.unwrap())
        .map(|_| ())
        .unwrap_err();
    assert!(format!("{err:#}").contains("type mismatch"), "{err:#}");
}

#[test]
fn the_cli_runs_lazily_and_leaves_the_full_artifact_in_the_cache() {
    let dir = tempdir("cache");
    let run = |extra: &[&str]| {
        let mut cmd = hoist();
        cmd.env("XDG_CACHE_HOME", dir.join("cache"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .args(["run", "-C", "lazy=y"])
            .args(extra)
            .arg(support::program("hello"));
        cmd.output().unwrap()
    };
    let first = run(&[]);
    assert!(first.status.success(), "{first:?}");
    assert_eq!(String::from_utf8_lossy(&first.stdout), "hello, world\n");
    // A small module's background compile is waited for: the entry is there.
    assert_eq!(entries(&dir.join("cache/hoist")), 1);
    let second = run(&[]);
    assert_eq!(second.stdout, first.stdout);
    assert_eq!(entries(&dir.join("cache/hoist")), 1);
}

#[test]
fn the_detached_compile_only_fills_the_cache() {
    let dir = tempdir("fill");
    let path = support::program_path("hello");
    let wasm = std::fs::read(&path).unwrap();
    let digest: String = blake3::hash(&wasm)
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let fill = |request: &str| {
        hoist()
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("HOIST_INTERNAL_FILL_CACHE", request)
            .args(["run", &support::program("hello")])
            .output()
            .unwrap()
    };
    // Another digest (the file changed since), no file, a malformed
    // request: nothing stored, nothing run.
    let other = format!("{}:{}", "0".repeat(64), path.display());
    let missing = format!("{digest}:{}", dir.join("gone.wasm").display());
    for request in [other.as_str(), missing.as_str(), "garbage"] {
        let out = fill(request);
        assert!(
            out.status.success() && out.stdout.is_empty(),
            "{request}: {out:?}"
        );
        assert_eq!(entries(&dir.join("cache/hoist")), 0, "{request}");
    }
    let out = fill(&format!("{digest}:{}", path.display()));
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "the guest must not run: {out:?}");
    assert_eq!(entries(&dir.join("cache/hoist")), 1);
}

/// A module with at least 256 KiB of code (compiled lazily by default,
/// its full compile detached when the run ends first) whose `_start`
/// returns `ret` of many functions, as its exit code through `proc_exit`.
fn big_module() -> Vec<u8> {
    let mut wat = String::from(
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)"#,
    );
    // 600 functions of 65 steps, 8 bytes each: about 310 KB of code.
    for f in 0..600 {
        wat.push_str(&format!("(func $f{f} (param i32) (result i32)"));
        for k in 0..65 {
            wat.push_str(&format!(
                " (local.set 0 (i32.add (local.get 0) (i32.const {})))",
                1000 + (f * 7 + k) % 9000
            ));
        }
        wat.push_str(" (local.get 0))");
    }
    wat.push_str(
        r#"(func (export "_start")
             (call $exit (i32.and (call $f599 (i32.const 0)) (i32.const 63)))))"#,
    );
    wat::parse_str(&wat).unwrap()
}

/// What `_start` of [`big_module`] exits with.
fn big_module_status() -> i32 {
    let sum: usize = (0..65).map(|k| 1000 + (599 * 7 + k) % 9000).sum();
    (sum & 63) as i32
}

#[test]
fn a_big_module_read_from_stdin_is_cached_by_the_detached_compile() {
    use std::io::Write;
    let dir = tempdir("stdin");
    let wasm = big_module();
    let run = || {
        let mut child = hoist()
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .args(["run", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&wasm).unwrap();
        child.wait_with_output().unwrap()
    };
    let first = run();
    assert_eq!(first.status.code(), Some(big_module_status()), "{first:?}");
    // The run ends long before its background compile would start: a
    // detached process compiles the module it was handed and stores it.
    let cache = dir.join("cache/hoist");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while entries(&cache) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        entries(&cache),
        1,
        "no cache entry from the detached compile"
    );
    let second = run();
    assert_eq!(
        second.status.code(),
        Some(big_module_status()),
        "{second:?}"
    );
    assert_eq!(entries(&cache), 1);
}

#[test]
fn the_detached_compile_reads_a_handed_module_from_stdin() {
    use std::io::Write;
    let dir = tempdir("fill-stdin");
    let wasm = std::fs::read(support::program_path("hello")).unwrap();
    let digest: String = blake3::hash(&wasm)
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let fill = |bytes: &[u8]| {
        let mut child = hoist()
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("HOIST_INTERNAL_FILL_CACHE", format!("{digest}:-"))
            .args(["run", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        child.wait_with_output().unwrap()
    };
    // Bytes of another digest (cut short): nothing stored, nothing run.
    let out = fill(&wasm[..wasm.len() - 1]);
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    assert_eq!(entries(&dir.join("cache/hoist")), 0);
    let out = fill(&wasm);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "the guest must not run: {out:?}");
    assert_eq!(entries(&dir.join("cache/hoist")), 1);
}

#[test]
fn lazy_takes_y_n_or_auto() {
    let out = hoist()
        .args(["run", "-C", "lazy=sometimes", &support::program("hello")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not y, n or auto"), "{err}");
    for mode in ["y", "n", "auto"] {
        let out = hoist()
            .args([
                "run",
                "-C",
                &format!("lazy={mode}"),
                &support::program("hello"),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{mode}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello, world\n");
    }
}

/// A fresh directory for one test, removed at its end.
fn tempdir(name: &str) -> support::Scratch {
    support::Scratch::new(&format!("lazy-{name}"))
}

/// Cache entries (`*.hwasm`) in `dir`.
fn entries(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".hwasm"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_first_call_deep_in_a_small_stack_compiles_elsewhere() {
    // 1.5 MiB of stack, the default 512 KiB wasm budget used nearly up,
    // then the first call of a function: under 1 MiB is left, so the
    // compile runs on a thread of its own instead of overflowing this one.
    let wat = r#"(module
      (func $leaf (param i32) (result i32) (i32.mul (local.get 0) (i32.const 7)))
      (func $down (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (call $leaf (i32.const 6)))
          (else (call $down (i32.sub (local.get 0) (i32.const 1)))))))"#;
    let thread = std::thread::Builder::new()
        .stack_size(1536 << 10)
        .spawn(move || {
            let engine = Engine::default();
            let module = Module::new_lazy(&engine, wat).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            // Deep enough to use most of the budget, shallow enough to fit it.
            let mut depth = 12_000;
            loop {
                match call(&mut store, &instance, "down", &[Val::I32(depth)]) {
                    Ok(v) => return (depth, i32_of(v)),
                    Err(_) if depth > 1000 => depth -= 1000,
                    Err(e) => panic!("{e:#}"),
                }
            }
        })
        .unwrap();
    let (depth, result) = thread.join().unwrap();
    assert_eq!(result, 42, "at depth {depth}");
}

/// The program waiting for a function being compiled ahead (a big one,
/// queued as soon as its caller's compile began) compiles that function's
/// small callees meanwhile, then runs on whichever code each got: the
/// results are the same with the callees called or not, in fresh modules
/// each round (a trace showed the program compiling them while it waited
/// in about half the rounds).
#[test]
fn small_callees_compiled_while_waiting_for_a_compile_ahead_run_right() {
    let mut big = String::new();
    for k in 0..3000 {
        big.push_str(&format!(
            "(local.set 1 (i32.add (local.get 1) (i32.mul (local.get 0) (i32.const {k}))))\n"
        ));
    }
    let mut smalls = String::new();
    let mut calls = String::new();
    for i in 0..8 {
        smalls.push_str(&format!(
            "(func $s{i} (param i32) (result i32) (i32.add (local.get 0) (i32.const {i})))\n"
        ));
        calls.push_str(&format!(
            "(local.set 1 (i32.add (local.get 1) (call $s{i} (local.get 0))))\n"
        ));
    }
    let wat = format!(
        r#"(module
          {smalls}
          (func $big (param i32) (result i32) (local i32)
            {big}
            (if (local.get 0) (then {calls}))
            (local.get 1))
          (func (export "entry") (param i32) (result i32) (call $big (local.get 0))))"#
    );
    // What $big returns: sum of x*k for k < 3000, plus sum of x+i for i < 8
    // when x is not 0.
    let want = |x: i32| -> i32 {
        let mut sum = 0i32;
        for k in 0..3000 {
            sum = sum.wrapping_add(x.wrapping_mul(k));
        }
        if x != 0 {
            for i in 0..8 {
                sum = sum.wrapping_add(x + i);
            }
        }
        sum
    };
    let engine = Engine::default();
    for round in 0..4 {
        let module = Module::new_lazy(&engine, wat.as_str()).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        for x in [round % 2, 1 - round % 2, 7] {
            let got = call(&mut store, &instance, "entry", &[Val::I32(x)]).unwrap();
            assert_eq!(i32_of(got), want(x), "round {round}, entry({x})");
        }
    }
}

/// A lazily compiled module switched mid-run to a full compile of the same
/// binary (`Module::tier_up`, as the CLI does when its background compile
/// ends): calls keep their results, functions never called are not
/// compiled lazily any more, funcrefs keep their identity, traps name
/// frames of the optimized code, exceptions cross it, and instances made
/// before and after both run it. Mismatched switches are refused.
#[test]
fn a_full_compile_takes_over_mid_run() {
    let mut config = hoist::Config::default();
    // `Module::new` compiles in full here even under `HOIST_LAZY=y`.
    config.lazy_speculation(false).lazy_compilation(false);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new_lazy(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let before = Instance::new(&mut store, &module, &[]).unwrap();
    // Some functions compiled lazily first: `triple`, `double`, `fact`.
    assert_eq!(call_i32(&mut store, &before, "saved", &[Val::I32(5)]), 15);
    assert_eq!(
        call_i32(&mut store, &before, "apply", &[Val::I32(0), Val::I32(4)]),
        8
    );
    assert_eq!(call_i32(&mut store, &before, "fact", &[Val::I32(5)]), 120);
    let lazily = compiled_functions(&module);
    assert!(!module.is_tiered_up());

    // Refused: a lazy module, another binary, another engine, a full compile.
    let optimized = Module::new(&engine, MODULE).unwrap();
    let other_lazy = Module::new_lazy(&engine, MODULE).unwrap();
    assert!(module.tier_up(&other_lazy).is_err());
    let other_binary = Module::new(&engine, "(module (func (export \"f\")))").unwrap();
    assert!(module.tier_up(&other_binary).is_err());
    let other_engine = Module::new(&Engine::new(&config).unwrap(), MODULE).unwrap();
    assert!(module.tier_up(&other_engine).is_err());
    assert!(optimized.tier_up(&optimized).is_err());

    module.tier_up(&optimized).unwrap();
    assert!(module.is_tiered_up());
    assert!(module.tier_up(&optimized).is_err(), "switched twice");
    let after = Instance::new(&mut store, &module, &[]).unwrap();
    for instance in [&before, &after] {
        assert_eq!(call_i32(&mut store, instance, "saved", &[Val::I32(5)]), 15);
        for (slot, x, want) in [(0, 4, 8), (1, 7, 21), (2, 10, 3628800)] {
            let got = call_i32(
                &mut store,
                instance,
                "apply",
                &[Val::I32(slot), Val::I32(x)],
            );
            assert_eq!(got, want, "apply({slot}, {x})");
        }
        assert_eq!(call_i32(&mut store, instance, "triple", &[Val::I32(3)]), 9);
        assert_eq!(call_i32(&mut store, instance, "catch", &[Val::I32(7)]), 7);
        let count = instance.get_func(&mut store, "count").unwrap();
        let mut results = [Val::I64(0)];
        count
            .call(&mut store, &[Val::I32(100_000)], &mut results)
            .unwrap();
        assert!(matches!(results[0], Val::I64(100_000)), "{:?}", results[0]);
        assert_trap_names_its_frames(&mut store, instance);
    }
    // Nothing more was compiled lazily: the calls ran the full compile.
    assert_eq!(compiled_functions(&module), lazily);
    // An export's funcref is the table's element, before and after.
    let double = before.get_func(&mut store, "double").unwrap();
    let mut results = [Val::I32(0)];
    double
        .call(&mut store, &[Val::I32(21)], &mut results)
        .unwrap();
    assert_eq!(i32_of(results[0].clone()), 42);
    drop(optimized);
    // The module keeps the full compile alive.
    assert_eq!(call_i32(&mut store, &after, "fact", &[Val::I32(6)]), 720);
}

/// Tier-up: with a budget of one, every function called once is compiled
/// again, optimized, on the optimizing thread, and installed in the
/// instance's funcref (see `hoist::Config::tiering_budget`).
/// Everything keeps behaving the same across the switch, through direct
/// calls, the table, a funcref saved in a global, tail calls (a chain that
/// switches code mid-way), traps with their frames and exceptions, in the
/// instance that ran hot and in one made after.
#[test]
fn hot_functions_are_optimized_and_behave_the_same() {
    let mut config = hoist::Config::default();
    config.lazy_speculation(false).tiering_budget(Some(1));
    let engine = Engine::new(&config).unwrap();
    let module = Module::new_lazy(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let check = |store: &mut Store<()>, instance: &Instance| {
        assert_eq!(call_i32(store, instance, "double", &[Val::I32(21)]), 42);
        assert_eq!(call_i32(store, instance, "saved", &[Val::I32(5)]), 15);
        assert_eq!(call_i32(store, instance, "triple", &[Val::I32(3)]), 9);
        for (slot, x, want) in [(0, 4, 8), (1, 7, 21), (2, 10, 3628800)] {
            let got = call_i32(store, instance, "apply", &[Val::I32(slot), Val::I32(x)]);
            assert_eq!(got, want, "apply({slot}, {x})");
        }
        assert_eq!(
            call_i32(store, instance, "fact", &[Val::I32(12)]),
            479001600
        );
        assert_eq!(call_i32(store, instance, "catch", &[Val::I32(7)]), 7);
        let count = instance.get_func(&mut *store, "count").unwrap();
        let mut results = [Val::I64(0)];
        count
            .call(&mut *store, &[Val::I32(300_000)], &mut results)
            .unwrap();
        assert!(matches!(results[0], Val::I64(300_000)), "{:?}", results[0]);
        assert_trap_names_its_frames(store, instance);
    };
    // The optimizing thread works once the program's warm-up is over and a
    // core is spare (other tests run beside this one): a generous deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    check(&mut store, &instance);
    while compiled_twice(&module) < 4 && std::time::Instant::now() < deadline {
        check(&mut store, &instance);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        compiled_twice(&module) >= 4,
        "functions compiled again, optimized: {:?}",
        compiled_functions(&module)
    );
    // Calls now reach the optimized code (installed once compiled).
    for _ in 0..3 {
        check(&mut store, &instance);
    }
    let after = Instance::new(&mut store, &module, &[]).unwrap();
    for _ in 0..3 {
        check(&mut store, &after);
    }
}

/// After tier-up, calls run the optimized code, not just code that gives
/// the same answers: a trap in a hot function, reached from the host and
/// through a direct call, happens at an address of its optimized code, in
/// the instance that ran it hot and in one made afterwards.
#[test]
fn calls_after_tier_up_run_the_optimized_code() {
    const HOT: &str = r#"
      (module
        (func $hot (export "hot") (param i32) (result i32)
          (if (local.get 0) (then unreachable))
          (i32.const 7))
        (func (export "via") (param i32) (result i32) (call $hot (local.get 0))))"#;
    let mut config = hoist::Config::default();
    config
        .lazy_speculation(false)
        .tiering_budget(Some(1))
        .tier_up_eagerly(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new_lazy(&engine, HOT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let code_of_hot = |baseline: bool| {
        module
            .function_code()
            .into_iter()
            .find(|f| f.func_index == 0 && f.baseline == baseline)
            .map(|f| f.address..f.address + f.len)
    };
    // Where a trapping call of `export` traps.
    let trap_pc = |store: &mut Store<()>, export: &str| {
        let func = instance.get_func(&mut *store, export).unwrap();
        let mut results = [Val::I32(0)];
        let err = func
            .call(&mut *store, &[Val::I32(1)], &mut results)
            .unwrap_err();
        let trap = err.downcast_ref::<Trap>().expect("a trap");
        assert_eq!(trap.code(), Some(TrapCode::UnreachableCodeReached));
        assert_eq!(trap.frames()[0].func_index, 0, "{export}");
        trap.native_backtrace()[0]
    };
    // The optimizing thread compiles it once the counter is spent, then
    // points the instance's funcref at it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut last = Vec::new();
    while std::time::Instant::now() < deadline {
        assert_eq!(call_i32(&mut store, &instance, "hot", &[Val::I32(0)]), 7);
        assert_eq!(call_i32(&mut store, &instance, "via", &[Val::I32(0)]), 7);
        if let Some(optimized) = code_of_hot(false) {
            last = ["hot", "via"].map(|e| trap_pc(&mut store, e)).to_vec();
            if last.iter().all(|pc| optimized.contains(pc)) {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let optimized = code_of_hot(false).expect("$hot is optimized");
    let baseline = code_of_hot(true).expect("$hot keeps its baseline code");
    assert!(
        last.iter().all(|pc| optimized.contains(pc)),
        "trapped at {last:x?}, optimized code {optimized:x?}, baseline {baseline:x?}"
    );
    // So does an instance made after the tier-up, from its first call.
    let later = Instance::new(&mut store, &module, &[]).unwrap();
    let func = later.get_func(&mut store, "hot").unwrap();
    let mut results = [Val::I32(0)];
    let err = func
        .call(&mut store, &[Val::I32(1)], &mut results)
        .unwrap_err();
    let pc = err
        .downcast_ref::<Trap>()
        .expect("a trap")
        .native_backtrace()[0];
    assert!(
        optimized.contains(&pc),
        "a later instance trapped at {pc:#x}"
    );
}

/// With no budget, lazily compiled code stays in the baseline tier: nothing
/// is compiled twice however hot it runs.
#[test]
fn without_a_tiering_budget_nothing_is_optimized() {
    let mut config = hoist::Config::default();
    config.lazy_speculation(false).tiering_budget(None);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new_lazy(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    for _ in 0..2_000 {
        assert_eq!(call_i32(&mut store, &instance, "fact", &[Val::I32(5)]), 120);
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(compiled_functions(&module), [2]);
}

/// Tier-up and the switch to a full compile together: functions already
/// optimized one by one, then the whole module switched to its full
/// compile; every call still gives the same answer, in the instance that
/// ran hot and in a new one, and nothing is optimized after the switch.
#[test]
fn a_full_compile_takes_over_from_optimized_functions() {
    let mut config = hoist::Config::default();
    config
        .lazy_speculation(false)
        .lazy_compilation(false)
        .tiering_budget(Some(1));
    let engine = Engine::new(&config).unwrap();
    let module = Module::new_lazy(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while compiled_twice(&module) == 0 && std::time::Instant::now() < deadline {
        assert_eq!(call_i32(&mut store, &instance, "fact", &[Val::I32(6)]), 720);
        assert_eq!(call_i32(&mut store, &instance, "double", &[Val::I32(4)]), 8);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(compiled_twice(&module) > 0, "nothing was optimized");
    module
        .tier_up(&Module::new(&engine, MODULE).unwrap())
        .unwrap();
    let before = compiled_functions(&module);
    let after = Instance::new(&mut store, &module, &[]).unwrap();
    for instance in [&instance, &after] {
        for _ in 0..5 {
            assert_eq!(call_i32(&mut store, instance, "fact", &[Val::I32(7)]), 5040);
            assert_eq!(call_i32(&mut store, instance, "triple", &[Val::I32(3)]), 9);
            assert_eq!(
                call_i32(&mut store, instance, "apply", &[Val::I32(0), Val::I32(4)]),
                8
            );
            assert_eq!(call_i32(&mut store, instance, "catch", &[Val::I32(7)]), 7);
        }
        assert_trap_names_its_frames(&mut store, instance);
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(
        compiled_functions(&module),
        before,
        "compiled after the switch"
    );
}

/// `Module::new_lazy_shared` keeps the bytes it is given (the CLI's buffer
/// of the file it read), not a copy, for as long as the module lives (and
/// no longer), and
/// compiles from them as `new_lazy` does; text is turned into a binary of
/// its own.
#[test]
fn shared_bytes_are_kept_not_copied() {
    let engine = Engine::default();
    let wasm = wat::parse_str(MODULE).expect("wat");
    let shared = hoist::SharedBytes::from(wasm);
    let module = Module::new_lazy_shared(&engine, shared.clone()).expect("compiles");
    assert!(module.is_lazy());
    assert_eq!(
        hoist::SharedBytes::strong_count(&shared),
        2,
        "the module keeps the bytes"
    );
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    assert_eq!(call_i32(&mut store, &instance, "fact", &[Val::I32(5)]), 120);
    assert_eq!(
        call_i32(&mut store, &instance, "apply", &[Val::I32(1), Val::I32(7)]),
        21
    );
    drop((instance, store, module));
    // The module's helper threads let go of it within their next look
    // (the thread compiling ahead waits up to 200 ms for work).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while hoist::SharedBytes::strong_count(&shared) > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        hoist::SharedBytes::strong_count(&shared),
        1,
        "and lets them go with it"
    );

    let text = hoist::SharedBytes::from(MODULE.as_bytes().to_vec());
    let module = Module::new_lazy_shared(&engine, text.clone()).expect("compiles text");
    assert_eq!(
        hoist::SharedBytes::strong_count(&text),
        1,
        "text is compiled from its binary"
    );
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    assert_eq!(call_i32(&mut store, &instance, "double", &[Val::I32(4)]), 8);
}
