//! The GC proposal's collector: precise roots and limits.
//!
//! - References kept in globals, tables, locals across calls, element
//!   segments, constant expressions, exception payloads and host functions
//!   (which call back into wasm: nested activations) survive thousands of
//!   collections (every allocation collects: the store's GC stress mode)
//!   with every object's contents intact.
//! - The stress guest (`tests/gc/stress.wat`) allocates 10 GiB of small
//!   structs and arrays through `hoist run` while keeping about 50 MiB
//!   alive; its peak resident set is measured and must stay bounded.
//! - A guest whose live set outgrows `--max-gc-heap` traps with the
//!   message.

mod support;

use hoist::{
    AnyRef, Config, Engine, ExternType, Func, HeapType, Instance, Linker, Module, Store, StructRef,
    Trap, TrapCode, Val, ValType,
};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

fn stress_wat() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gc/stress.wat")
}

/// An engine whose stores' heaps hold at most `max` bytes.
fn engine(max: u64) -> Engine {
    let mut config = Config::new();
    config.max_gc_heap(max).verify(true);
    Engine::new(&config).unwrap()
}

const ROOTS: &str = r#"
(module
  (type $pair (struct (field $v (mut i64)) (field $next (mut (ref null $pair)))))
  (type $bytes (array (mut i8)))
  (type $pairs (array (mut (ref null $pair))))
  (type $boxed (struct (field anyref) (field externref) (field funcref)))
  (tag $boom (param (ref null $pair) i64))

  ;; The host checks a list's sum, keeps a struct of its own pointing at
  ;; the list, and returns a new one; `recall` gives a kept one back.
  (import "host" "observe" (func $observe (param (ref null $pair) i64) (result (ref null $pair))))
  (import "host" "recall" (func $recall (param i32) (result (ref null $pair))))

  (global $g (mut (ref null $pair)) (ref.null $pair))
  (global $arr (mut (ref null $pairs)) (ref.null $pairs))
  (global $boxed (mut (ref null $boxed)) (ref.null $boxed))
  ;; Made by constant expressions, nested (the inner object is on the
  ;; evaluation stack while the outer one is allocated).
  (global $const (ref $pair)
    (struct.new $pair (i64.const 1)
      (struct.new $pair (i64.const 2) (struct.new $pair (i64.const 3) (ref.null $pair)))))
  (table $t 8 (ref null $pair))
  (elem $seg (ref null $pair)
    (item (struct.new $pair (i64.const 10) (ref.null $pair)))
    (item (struct.new $pair (i64.const 20) (struct.new $pair (i64.const 21) (ref.null $pair)))))

  (func $f)
  (elem declare func $f)

  ;; Garbage: `n` byte arrays and pairs, dropped.
  (func $churn (param $n i32)
    (loop $l
      (drop (array.new $bytes (i32.const 7) (i32.const 40)))
      (drop (struct.new $pair (i64.const -1) (ref.null $pair)))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l)))

  ;; A list of `n` pairs holding base .. base + n - 1, with garbage made
  ;; between the links.
  (func $list (export "list") (param $base i64) (param $n i32) (result (ref null $pair))
    (local $l (ref null $pair))
    (loop $more
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (local.set $l (struct.new $pair
        (i64.add (local.get $base) (i64.extend_i32_u (local.get $n))) (local.get $l)))
      (call $churn (i32.const 2))
      (br_if $more (local.get $n)))
    (local.get $l))

  (func $sum (export "sum") (param $l (ref null $pair)) (result i64)
    (local $s i64)
    (block $done
      (loop $next
        (br_if $done (ref.is_null (local.get $l)))
        (local.set $s (i64.add (local.get $s) (struct.get $pair $v (local.get $l))))
        (local.set $l (struct.get $pair $next (local.get $l)))
        (br $next)))
    (local.get $s))

  ;; The sum of base .. base + n - 1.
  (func $expect (param $base i64) (param $n i32) (result i64)
    (i64.add
      (i64.mul (local.get $base) (i64.extend_i32_u (local.get $n)))
      (i64.div_u
        (i64.mul (i64.extend_i32_u (local.get $n))
                 (i64.sub (i64.extend_i32_u (local.get $n)) (i64.const 1)))
        (i64.const 2))))

  (func $check (param $l (ref null $pair)) (param $base i64) (param $n i32)
    (if (i64.ne (call $sum (local.get $l)) (call $expect (local.get $base) (local.get $n)))
      (then unreachable)))

  ;; A list thrown and caught: the exception's payload is a root.
  (func $through_exception (param $base i64) (result (ref null $pair))
    (local $l (ref null $pair))
    (block $caught (result (ref null $pair) i64)
      (try_table (catch $boom $caught)
        (throw $boom (call $list (local.get $base) (i32.const 5)) (local.get $base)))
      (unreachable))
    (drop)
    (call $churn (i32.const 20))
    (local.tee $l)
    (call $check (local.get $l) (local.get $base) (i32.const 5)))

  (func (export "run") (param $rounds i32) (result i64)
    (local $r i32) (local $base i64) (local $local (ref null $pair))
    (local $from_host (ref null $pair)) (local $i i32) (local $total i64)
    (local $seg (ref null $pairs))
    (local.set $seg (array.new_elem $pairs $seg (i32.const 0) (i32.const 2)))
    (loop $round
      (local.set $base (i64.mul (i64.extend_i32_u (local.get $r)) (i64.const 1000)))
      ;; A list in a local, another in a global, another in a table slot,
      ;; another in an array in a global, one through an exception.
      (local.set $local (call $list (local.get $base) (i32.const 10)))
      (global.set $g (call $list (i64.add (local.get $base) (i64.const 100)) (i32.const 10)))
      (table.set $t (i32.and (local.get $r) (i32.const 7))
        (call $list (i64.add (local.get $base) (i64.const 200)) (i32.const 10)))
      (global.set $arr (array.new $pairs (ref.null $pair) (i32.const 3)))
      (array.set $pairs (global.get $arr) (i32.const 1)
        (call $list (i64.add (local.get $base) (i64.const 300)) (i32.const 10)))
      (drop (call $through_exception (i64.add (local.get $base) (i64.const 400))))
      (global.set $boxed (struct.new $boxed
        (ref.i31 (i32.wrap_i64 (local.get $base)))
        (extern.convert_any (call $list (i64.add (local.get $base) (i64.const 500)) (i32.const 3)))
        (ref.func $f)))
      ;; The host sees the local's list (and keeps a struct pointing at it).
      (local.set $from_host (call $observe (local.get $local)
        (call $expect (local.get $base) (i32.const 10))))
      (call $churn (i32.const 50))
      ;; Everything is still what it was.
      (call $check (local.get $local) (local.get $base) (i32.const 10))
      (call $check (global.get $g) (i64.add (local.get $base) (i64.const 100)) (i32.const 10))
      (call $check (table.get $t (i32.and (local.get $r) (i32.const 7)))
        (i64.add (local.get $base) (i64.const 200)) (i32.const 10))
      (call $check (array.get $pairs (global.get $arr) (i32.const 1))
        (i64.add (local.get $base) (i64.const 300)) (i32.const 10))
      (if (i32.ne
            (i31.get_u (ref.cast (ref i31) (struct.get $boxed 0 (global.get $boxed))))
            (i32.and (i32.wrap_i64 (local.get $base)) (i32.const 0x7fffffff)))
        (then unreachable))
      (call $check
        (ref.cast (ref null $pair) (any.convert_extern (struct.get $boxed 1 (global.get $boxed))))
        (i64.add (local.get $base) (i64.const 500)) (i32.const 3))
      ;; The host's new struct holds the sum and the list it was given.
      (if (i64.ne (struct.get $pair $v (local.get $from_host))
                  (call $expect (local.get $base) (i32.const 10)))
        (then unreachable))
      (call $check (struct.get $pair $next (local.get $from_host))
        (local.get $base) (i32.const 10))
      ;; What the host kept from every round so far.
      (local.set $i (i32.const 0))
      (loop $kept
        (call $check (struct.get $pair $next (call $recall (local.get $i)))
          (i64.mul (i64.extend_i32_u (local.get $i)) (i64.const 1000)) (i32.const 10))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $kept (i32.le_u (local.get $i) (local.get $r))))
      ;; Constant-expression objects and the element segment's.
      (call $check (global.get $const) (i64.const 1) (i32.const 3))
      (call $check (array.get $pairs (local.get $seg) (i32.const 0)) (i64.const 10) (i32.const 1))
      (call $check (array.get $pairs (local.get $seg) (i32.const 1)) (i64.const 20) (i32.const 2))
      (local.set $total (i64.add (local.get $total) (call $sum (local.get $local))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $r) (local.get $rounds))))
    (local.get $total))
)
"#;

/// What the host functions of [`ROOTS`] keep between calls.
#[derive(Default)]
struct Kept {
    structs: Vec<StructRef>,
}

fn roots_instance(max_heap: u64, stress: bool) -> (Store<Arc<Mutex<Kept>>>, Instance) {
    let engine = engine(max_heap);
    let module = Module::new(&engine, ROOTS).unwrap();
    let kept = Arc::new(Mutex::new(Kept::default()));
    let mut store = Store::new(&engine, kept);
    store.gc_stress(stress);
    let import = |name: &str| {
        module
            .imports()
            .find_map(|(_, n, ty)| match ty {
                ExternType::Func(f) if n == name => Some(f),
                _ => None,
            })
            .unwrap()
    };
    let observe_ty = import("observe");
    let ValType::Ref(pair) = observe_ty.params()[0] else {
        panic!("observe takes a reference")
    };
    let pair_ty = pair.heap;
    assert!(matches!(pair_ty, HeapType::Concrete(_)));
    let observe = Func::new(
        &mut store,
        observe_ty,
        move |mut caller, params, results| {
            let Val::AnyRef(Some(list)) = &params[0] else {
                panic!("observe got {:?}", params[0]);
            };
            let Val::I64(expected) = params[1] else {
                panic!("observe got {:?}", params[1]);
            };
            // Walk the list through the API, allocating on the way (each
            // allocation collects under stress, moving the list).
            let mut sum = 0;
            let mut at = list.as_struct(&mut caller).unwrap().unwrap();
            loop {
                let _garbage =
                    StructRef::new(&mut caller, pair_ty, &[Val::I64(-7), Val::AnyRef(None)])
                        .unwrap();
                let Val::I64(v) = at.field(&mut caller, 0).unwrap() else {
                    panic!("not an i64")
                };
                sum += v;
                match at.field(&mut caller, 1).unwrap() {
                    Val::AnyRef(Some(next)) => at = next.as_struct(&mut caller).unwrap().unwrap(),
                    Val::AnyRef(None) => break,
                    other => panic!("next is {other:?}"),
                }
            }
            assert_eq!(sum, expected, "the host sees the list's contents");
            // Wasm again, from inside the host function: a nested activation
            // that allocates (collecting) while the outer one's frames hold
            // their references.
            let list_fn = caller.get_export("list").unwrap().into_func().unwrap();
            let mut made = [Val::I32(0)];
            list_fn
                .call_from(&mut caller, &[Val::I64(expected), Val::I32(4)], &mut made)
                .unwrap();
            let Val::AnyRef(Some(made)) = &made[0] else {
                panic!("list returned {:?}", made[0])
            };
            let made = made.as_struct(&mut caller).unwrap().unwrap();
            assert_eq!(made.field(&mut caller, 0).unwrap().i64(), Some(expected));
            // The list this call was given is still the same list.
            let head = list.as_struct(&mut caller).unwrap().unwrap();
            assert_eq!(
                head.field(&mut caller, 0).unwrap().i64(),
                Some((expected - 45) / 10)
            );
            // Keep a struct of the host's own pointing at the list ...
            let keep = StructRef::new(
                &mut caller,
                pair_ty,
                &[Val::I64(sum), Val::AnyRef(Some(*list))],
            )
            .unwrap();
            AnyRef::from(keep).keep(&mut caller).unwrap();
            caller.data().lock().unwrap().structs.push(keep);
            // ... and return another.
            let fresh = StructRef::new(
                &mut caller,
                pair_ty,
                &[Val::I64(sum), Val::AnyRef(Some(*list))],
            )
            .unwrap();
            results[0] = Val::AnyRef(Some(fresh.into()));
            Ok(())
        },
    );
    let recall_ty = import("recall");
    let recall = Func::new(&mut store, recall_ty, |caller, params, results| {
        let Val::I32(i) = params[0] else {
            panic!("recall takes an i32")
        };
        let kept = caller.data().lock().unwrap().structs[i as usize];
        results[0] = Val::AnyRef(Some(kept.into()));
        Ok(())
    });
    let mut linker = Linker::new(&engine);
    linker.define("host", "observe", observe).unwrap();
    linker.define("host", "recall", recall).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

fn run_roots(store: &mut Store<Arc<Mutex<Kept>>>, instance: Instance, rounds: i32) -> i64 {
    let run = instance.get_func(store, "run").unwrap();
    let mut results = [Val::I64(0)];
    run.call(store, &[Val::I32(rounds)], &mut results)
        .unwrap_or_else(|e| {
            let frames = e
                .downcast_ref::<Trap>()
                .map(|t| format!("{:?}", t.frames()))
                .unwrap_or_default();
            panic!("{e:?} {frames}")
        });
    let Val::I64(total) = results[0] else {
        panic!("run returned {:?}", results[0])
    };
    total
}

/// The sum of the local lists over `rounds` rounds (base 1000 r, 10 each).
fn expected_total(rounds: i64) -> i64 {
    (0..rounds).map(|r| 10 * 1000 * r + 45).sum()
}

#[test]
fn references_survive_collections_in_every_kind_of_root() {
    let (mut store, instance) = roots_instance(1 << 20, true);
    let rounds = 40;
    assert_eq!(
        run_roots(&mut store, instance, rounds),
        expected_total(i64::from(rounds))
    );
    let stats = store.gc_stats();
    assert!(
        stats.collections > 10_000,
        "every allocation collects: {stats:?}"
    );
    // The host's kept structs survived too (outside any call now), and the
    // references the host functions were given were released when they
    // returned: only the kept ones are rooted.
    let kept = store.data().lock().unwrap().structs.clone();
    assert_eq!(kept.len(), rounds as usize);
    assert_eq!(store.gc_rooted(), kept.len());
    for (i, s) in kept.iter().enumerate() {
        let Val::I64(sum) = s.field(&mut store, 0).unwrap() else {
            panic!()
        };
        assert_eq!(sum, 10 * 1000 * i as i64 + 45);
    }
    store.gc();
    let sum = instance.get_func(&mut store, "sum").unwrap();
    let list = kept[3].field(&mut store, 1).unwrap();
    let mut results = [Val::I64(0)];
    sum.call(&mut store, &[list], &mut results).unwrap();
    assert_eq!(results[0].i64(), Some(3000 * 10 + 45));
}

#[test]
fn references_survive_collections_in_a_small_heap_without_stress() {
    // Collections only when the 256 KiB heap is full; many rounds.
    let (mut store, instance) = roots_instance(256 << 10, false);
    let rounds = 400;
    assert_eq!(
        run_roots(&mut store, instance, rounds),
        expected_total(i64::from(rounds))
    );
    assert!(store.gc_stats().collections > 20, "{:?}", store.gc_stats());
}

#[test]
fn the_host_makes_and_inspects_objects() {
    let engine = engine(1 << 20);
    let module = Module::new(
        &engine,
        r#"(module
            (type $s (struct (field i8) (field (mut i32)) (field (mut anyref))))
            (type $a (array (mut i16)))
            (func (export "make") (result (ref $s))
              (struct.new $s (i32.const -1) (i32.const 7)
                (array.new_fixed $a 3 (i32.const 1) (i32.const -2) (i32.const 3))))
            (func (export "take") (param (ref $s)) (result i32)
              (i32.add (struct.get_s $s 0 (local.get 0))
                (array.get_s $a (ref.cast (ref $a) (struct.get $s 2 (local.get 0))) (i32.const 1)))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    store.gc_stress(true);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let make = instance.get_func(&mut store, "make").unwrap();
    let mut results = [Val::I32(0)];
    make.call(&mut store, &[], &mut results).unwrap();
    let Val::AnyRef(Some(s)) = results[0].clone() else {
        panic!("{:?}", results[0])
    };
    let s = s.as_struct(&mut store).unwrap().unwrap();
    assert_eq!(
        s.field(&mut store, 0).unwrap().i32(),
        Some(0xff),
        "packed, zero-extended"
    );
    assert_eq!(s.field(&mut store, 1).unwrap().i32(), Some(7));
    assert!(
        s.set_field(&mut store, 0, Val::I32(1)).is_err(),
        "immutable"
    );
    let Val::AnyRef(Some(a)) = s.field(&mut store, 2).unwrap() else {
        panic!()
    };
    let a = a.as_array(&mut store).unwrap().unwrap();
    assert_eq!(a.len(&mut store).unwrap(), 3);
    assert_eq!(a.get(&mut store, 1).unwrap().i32(), Some(0xfffe));
    a.set(&mut store, 1, Val::I32(-5)).unwrap();
    assert!(a.get(&mut store, 3).is_err(), "out of bounds");
    // A host-made array in the struct, an i31 in its place, and back.
    let i31 = AnyRef::from_i31(&mut store, hoist::I31::wrapping_i32(-3));
    assert_eq!(
        i31.as_i31(&mut store).unwrap().map(hoist::I31::get_i32),
        Some(-3)
    );
    s.set_field(&mut store, 2, Val::AnyRef(Some(a.into())))
        .unwrap();
    let take = instance.get_func(&mut store, "take").unwrap();
    take.call(&mut store, &[Val::AnyRef(Some(s.into()))], &mut results)
        .unwrap();
    assert_eq!(results[0].i32(), Some(-1 + -5));
    // A wrong type is refused, not stored.
    assert!(s.set_field(&mut store, 2, Val::I32(1)).is_err());
    let ty = a.ty(&mut store).unwrap();
    let fresh = hoist::ArrayRef::new(&mut store, ty, &Val::I32(9), 1000).unwrap();
    store.gc();
    assert_eq!(fresh.get(&mut store, 999).unwrap().i32(), Some(9));
    // Released references are stale, not dangling.
    AnyRef::from(fresh).unroot(&mut store);
    assert!(fresh.len(&mut store).is_err());
}

/// Peak resident set (KiB) and output of `hoist ARGS` as a child process,
/// measured by the kernel (`wait4`, which also reaps the child: hence no
/// `Child::wait`).
#[allow(clippy::zombie_processes)]
fn run_measured(args: &[&str]) -> (std::process::ExitStatus, String, String, i64) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let mut child = support::hoist()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let mut status = 0;
    // SAFETY: `usage` is a zeroed, writable rusage; the pid is our child's.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    (
        std::process::ExitStatus::from_raw(status),
        stdout,
        stderr,
        usage.ru_maxrss,
    )
}

#[test]
fn the_stress_guest_allocates_10_gib_with_a_bounded_resident_set() {
    // 300,000 slots, each a node (24 bytes) with 16..79 bytes of data, two
    // generations alive: about 50 MiB live. 440 rounds: 132 million nodes,
    // about 10 GiB allocated in all.
    let (live, rounds) = (300_000u64, 440u64);
    let wat = stress_wat();
    let (status, stdout, stderr, peak_kib) = run_measured(&[
        "run",
        "--invoke",
        "run",
        wat.to_str().unwrap(),
        &live.to_string(),
        &rounds.to_string(),
    ]);
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(stdout.trim(), (live * rounds).to_string());
    let allocated: u64 = (0..live * rounds)
        .map(|id| 24 + (8 + 16 + (id & 63)).next_multiple_of(8))
        .sum();
    eprintln!(
        "stress guest: {:.1} GiB allocated, peak resident set {} MiB",
        allocated as f64 / f64::from(1 << 30),
        peak_kib / 1024
    );
    assert!(allocated > 10 << 30, "{allocated} bytes");
    // Two spaces of three times the live data, plus hoist itself.
    assert!(
        peak_kib < 512 << 10,
        "peak resident set {} MiB",
        peak_kib / 1024
    );
}

#[test]
fn a_live_set_past_max_gc_heap_traps_with_the_message() {
    let wat = stress_wat();
    for spelling in [
        &["--max-gc-heap", "16MiB"][..],
        &["-W", "max-gc-heap=16MiB"],
    ] {
        let mut args = vec!["run"];
        args.extend_from_slice(spelling);
        args.extend(["--invoke", "hoard", wat.to_str().unwrap(), "10000000"]);
        let (status, stdout, stderr, peak_kib) = run_measured(&args);
        assert_eq!(status.code(), Some(134), "{stdout} {stderr}");
        assert!(
            stderr.contains("out of GC heap memory") && stderr.contains("--max-gc-heap"),
            "{stderr}"
        );
        assert!(peak_kib < 256 << 10, "{} MiB", peak_kib / 1024);
    }
    // The same through the API: a trap with its own code.
    let engine = engine(4 << 20);
    let module = Module::new(&engine, std::fs::read(stress_wat()).unwrap()).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let hoard = instance.get_func(&mut store, "hoard").unwrap();
    let err = hoard
        .call(&mut store, &[Val::I32(1_000_000)], &mut [Val::I32(0)])
        .unwrap_err();
    let trap = err.downcast_ref::<Trap>().expect("a trap");
    assert_eq!(trap.code(), Some(TrapCode::GcHeapOutOfMemory));
    // The store still works, and what was hoarded is garbage now.
    store.gc();
    assert!(store.gc_stats().live_bytes < 1 << 20);
}

/// Artifacts carry the object layouts their code was compiled with (for
/// every target); a loader whose layouts differ refuses the artifact.
#[test]
fn artifacts_carry_gc_layouts_and_mismatches_are_refused() {
    let wat = r#"(module
        (type $s (struct (field i8) (field (mut i64)) (field anyref)))
        (type $a (array (mut f64)))
        (func (export "f") (result i32)
          (struct.get_u $s 0 (struct.new $s (i32.const 200) (i64.const 1) (ref.null none)))))"#;
    for (triple, _) in [
        ("x86_64-unknown-linux-gnu", ()),
        ("aarch64-unknown-linux-gnu", ()),
        ("riscv64gc-unknown-linux-gnu", ()),
    ] {
        let engine = Engine::new(Config::new().target(triple.parse().unwrap())).unwrap();
        let image = engine.precompile_module(wat.as_bytes()).unwrap();
        let artifact = hoist_artifact::OwnedArtifact::decode(&image).unwrap();
        let layouts = &artifact.compiled.gc_layouts;
        assert_eq!(layouts.len(), 3, "{triple}");
        let Some(hoist_environ::GcLayout::Struct(s)) = &layouts[0] else {
            panic!("{triple}: {layouts:?}")
        };
        assert_eq!(
            s.fields.iter().map(|f| f.offset).collect::<Vec<_>>(),
            [4, 8, 16],
            "{triple}"
        );
        assert!(matches!(
            layouts[1],
            Some(hoist_environ::GcLayout::Array(_))
        ));
        assert!(layouts[2].is_none());
    }
    let engine = Engine::default();
    let image = engine.precompile_module(wat.as_bytes()).unwrap();
    let module = Module::deserialize(&engine, &image).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_func(&mut store, "f").unwrap();
    let mut results = [Val::I32(0)];
    f.call(&mut store, &[], &mut results).unwrap();
    assert_eq!(results[0].i32(), Some(200));
    let mut artifact = hoist_artifact::OwnedArtifact::decode(&image).unwrap();
    if let Some(hoist_environ::GcLayout::Struct(s)) = &mut artifact.compiled.gc_layouts[0] {
        s.fields[1].offset = 12;
    }
    let Err(err) = Module::deserialize(&engine, &artifact.encode().unwrap()) else {
        panic!("an artifact with other layouts loaded");
    };
    assert!(format!("{err:#}").contains("GC object layouts"), "{err:#}");
}
