//! Functions whose shape strains a compiler, compiled by both tiers (the
//! single-pass compiler that lazy compilation starts with, and Cranelift):
//! huge `br_table`s, 70,000 globals, thousands of locals across thousands of
//! control edges, deep joins, tens of thousands of live values, locals of
//! every type, locals kept in registers across calls, throws and recursion.
//! Each compiles in reasonable time and computes the same either way.

mod support;

use hoist::{Engine, Instance, Module, Store, Trap, TrapCode, Val};
use support::lazy::{call, call_i32, check_lazily_and_eagerly, instantiate, same_lazily, Want};

/// A `br_table` of 300,000 targets, alternating between two blocks (a
/// run of as many empty edge blocks once made its compile quadratic: a
/// million targets took 300 s), compiled lazily and eagerly.
#[test]
fn a_huge_br_table_compiles_in_linear_time() {
    const TARGETS: usize = 300_000;
    let targets: Vec<&str> = (0..TARGETS)
        .map(|i| if i % 2 == 0 { "$even" } else { "$odd" })
        .collect();
    let wat = format!(
        r#"(module
          (func (export "pick") (param i32) (result i32)
            (block $other
              (block $odd
                (block $even
                  (br_table {} $other (local.get 0)))
                (return (i32.const 10)))
              (return (i32.const 11)))
            (i32.const 12)))"#,
        targets.join(" ")
    );
    let engine = Engine::default();
    for lazy in [true, false] {
        let (mut store, instance) = instantiate(&engine, &wat, lazy);
        for (index, expected) in [
            (0, 10),
            (1, 11),
            (TARGETS as i32 - 1, 11),
            (TARGETS as i32, 12),
            (-1, 12),
        ] {
            let got = call_i32(&mut store, &instance, "pick", &[Val::I32(index)]);
            assert_eq!(got, expected, "lazy: {lazy}, index {index}");
        }
    }
}

/// A `br_table` of 6,000 distinct targets that each take the value it
/// passes (the translator hands such values over through a stack slot,
/// and the function is compiled without mid-end optimizations: 40,000
/// targets once took 71 s and 9 GB), and a 4-value one: results checked,
/// lazily and eagerly.
#[test]
fn a_huge_br_table_passing_values_computes_the_same() {
    const N: i64 = 6000;
    // Blocks B_N (outermost) .. B_0; the br_table exits B_x with x (B_N
    // for the default); after B_i ends, i + 1 is added.
    let mut one = String::from("(module (func (export \"pick\") (param i32) (result i32)\n");
    one.push_str(&"(block (result i32) ".repeat(N as usize + 1));
    let labels: Vec<String> = (0..=N).map(|d| d.to_string()).collect();
    one.push_str(&format!(
        "(br_table {} (local.get 0) (local.get 0)))\n",
        labels.join(" ")
    ));
    for i in 0..N {
        one.push_str(&format!("i32.const {} i32.add)\n", i + 1));
    }
    one.push_str("))");
    let expected = |x: i64| {
        if x >= N {
            x
        } else {
            x + N * (N + 1) / 2 - x * (x + 1) / 2
        }
    };
    // The same with four values: (x, 1, 2, 3), summed at the end.
    let mut four = String::from(
        "(module (type $r (func (result i32 i32 i32 i32)))\n\
         (func (export \"pick\") (param i32) (result i32)\n",
    );
    four.push_str(&"(block (type $r) ".repeat(N as usize + 1));
    four.push_str(&format!(
        "(br_table {} (local.get 0) (i32.const 1) (i32.const 2) (i32.const 3) (local.get 0)))\n",
        labels.join(" ")
    ));
    for _ in 0..N {
        four.push_str(")\n");
    }
    four.push_str("i32.add i32.add i32.add))");
    let engine = Engine::default();
    for lazy in [true, false] {
        for (wat, four_values) in [(&one, false), (&four, true)] {
            let (mut store, instance) = instantiate(&engine, wat, lazy);
            for x in [0, 1, 17, N - 1, N, N + 5] {
                let got = call_i32(&mut store, &instance, "pick", &[Val::I32(x as i32)]);
                let want = if four_values { x + 6 } else { expected(x) };
                assert_eq!(
                    i64::from(got),
                    want,
                    "lazy: {lazy}, four: {four_values}, x = {x}"
                );
            }
        }
    }
}

/// One function reading 70,000 defined globals: Cranelift interns a
/// function's distinct memory flags in a set of 65,535, and each global's
/// own alias region made a new one, so compiling it panicked. Globals past
/// the first 1024 share a region now. Lazily, and eagerly without
/// optimizations (with them the register allocator takes a minute here).
#[test]
fn a_function_reading_70000_globals_compiles() {
    const N: i64 = 70_000;
    let mut wat = String::from("(module\n");
    for i in 0..N {
        wat.push_str(&format!("(global (mut i32) (i32.const {i}))\n"));
    }
    wat.push_str("(func (export \"sum\") (param i32) (result i32) (local.get 0)\n");
    for i in 0..N {
        wat.push_str(&format!("global.get {i} i32.add\n"));
    }
    wat.push_str("))");
    let want = (N * (N - 1) / 2) as i32;
    let mut config = hoist::Config::new();
    config.opt_level(hoist::OptLevel::None);
    let unoptimized = Engine::new(&config).unwrap();
    let lazily = Engine::default();
    for (engine, lazy) in [(&lazily, true), (&unoptimized, false)] {
        let (mut store, instance) = instantiate(engine, &wat, lazy);
        let got = call_i32(&mut store, &instance, "sum", &[Val::I32(0)]);
        assert_eq!(got, want, "lazy: {lazy}");
    }
}

/// Thousands of locals across thousands of control edges: as SSA
/// variables they took Cranelift a minute and gigabytes (see
/// `translate::pressure`); such functions get their locals in stack slots.
/// Five shapes, each compiled lazily and eagerly, each result checked:
/// locals updated in nested loops, `br_if`s back to one loop, locals live
/// into the catch of the calls of a `try_table` or of a legacy `try`, and
/// a `br_table` whose targets each have a second predecessor.
#[test]
fn locals_across_a_huge_control_flow_compile_and_compute_the_same() {
    const N: i32 = 3_000;
    let n = N as usize;
    let sum_locals = |first: usize, last: usize| {
        (first..=last).fold(String::new(), |wat, i| {
            wat + &format!(" local.get {i} i32.add")
        })
    };
    // Each local gets the parameter added once, inside N loops.
    let mut nested = format!(
        "(module (func (export \"f\") (param i32) (result i32) (local {})",
        "i32 ".repeat(n)
    );
    nested += &" loop".repeat(n);
    for i in 1..=n {
        nested += &format!(" local.get {i} local.get 0 i32.add local.set {i}");
    }
    nested += &" end".repeat(n);
    nested += &format!(" i32.const 0{}))", sum_locals(1, n));
    // After each local's increment, the parameter counts down and a
    // `br_if` goes back to the loop's start while it is positive: the first
    // local is incremented max(p, 1) times, the others once.
    let mut back_edges = format!(
        "(module (func (export \"f\") (param i32) (result i32) (local {})",
        "i32 ".repeat(n)
    );
    back_edges += " loop";
    for i in 1..=n {
        back_edges += &format!(
            " local.get {i} i32.const 1 i32.add local.set {i}
              local.get 0 i32.const 1 i32.sub local.tee 0 i32.const 0 i32.gt_s br_if 0"
        );
    }
    back_edges += &format!(" end i32.const 0{}))", sum_locals(1, n));
    // Local i starts as p + i; call i passes it to a function that throws
    // it when it is 700, then sets it to p. The result: the thrown value
    // (or 0) plus every local.
    const M: i32 = 1_500;
    let m = M as usize;
    let mut catches = String::from(
        "(module (tag $e (param i32))
           (func $maybe_throw (param i32)
             (if (i32.eq (local.get 0) (i32.const 700)) (then (throw $e (local.get 0)))))",
    );
    catches += &format!(
        "(func (export \"f\") (param i32) (result i32) (local {})",
        "i32 ".repeat(m)
    );
    for i in 1..=m {
        catches += &format!(" local.get 0 i32.const {i} i32.add local.set {i}");
    }
    catches += " block $done (result i32) try_table (catch $e $done)";
    for i in 1..=m {
        catches += &format!(" local.get {i} call $maybe_throw local.get 0 local.set {i}");
    }
    catches += &format!(" end i32.const 0 end{}))", sum_locals(1, m));
    // The same with a legacy `try`, whose calls the translator gives a
    // catch-all handler each.
    let legacy_catches = catches
        .replace(
            " block $done (result i32) try_table (catch $e $done)",
            " try (result i32)",
        )
        .replace(" end i32.const 0 end", " i32.const 0 catch $e end");
    assert_ne!(legacy_catches, catches);
    // A `br_table` to the ends of T nested blocks, each end adding to a
    // local and falling through to the next: the target of label k adds
    // k + 1, ..., T, out of range only T.
    const T: i32 = 20_000;
    let mut table =
        String::from("(module (func (export \"f\") (param i32) (result i32) (local i32)");
    table += &" block".repeat(T as usize);
    table += " local.get 0 br_table";
    for k in 0..T {
        table += &format!(" {k}");
    }
    for k in 1..=T {
        table += &format!(" end local.get 1 i32.const {k} i32.add local.set 1");
    }
    table += " local.get 1))";
    let table_want = |p: i32| match p {
        0..T => T * (T + 1) / 2 - p * (p + 1) / 2,
        _ => T,
    };

    let nested_want = |p: i32| N.wrapping_mul(p);
    let back_edges_want = |p: i32| p.max(1) + N - 1;
    let catches_want = |p: i32| {
        // The local that reaches 700 first is number 700 - p, if any.
        match 700 - p {
            k @ 1..=M => 700 + (k..=M).map(|i| p + i).sum::<i32>() + (k - 1) * p,
            _ => M * p,
        }
    };
    let cases: [(&str, &str, Want); 5] = [
        ("nested loops", &nested, &nested_want),
        ("back edges", &back_edges, &back_edges_want),
        ("catches", &catches, &catches_want),
        ("legacy catches", &legacy_catches, &catches_want),
        ("table", &table, &table_want),
    ];
    check_lazily_and_eagerly(&cases, &[0, 1, 5, 650, -2_000]);
}

/// A loop with 100,000 `br_if`s back to its header, one after the other,
/// and 10,000 nested `if`s each with a `br_if` out of them all: regalloc2's
/// dominator computation walked from each predecessor up a chain as long
/// as the function (the first took 7.6 s to compile eagerly, 30 s with the
/// local redefined before each `br_if`; see `hoist_cranelift`'s `joins`),
/// so such functions are compiled as a baseline compiler would. The second
/// then has a frame over the cap for that (each `br_if`'s value gets a
/// slot), so it is compiled as before: both paths, lazily and eagerly,
/// results checked.
#[test]
fn deep_joins_compile_and_compute_the_same() {
    const N: usize = 100_000;
    // The parameter counts down by one per `br_if`, which goes back while
    // it is positive: the first `br_if` repeats until it is 0 or less,
    // then every other takes one more off.
    let mut back_edges = String::from("(module (func (export \"f\") (param i32) (result i32) loop");
    for _ in 0..N {
        back_edges += " local.get 0 i32.const 1 i32.sub local.tee 0 i32.const 0 i32.gt_s br_if 0";
    }
    back_edges += " end local.get 0))";
    let back_edges_want = |p: i32| if p >= 1 { 0 } else { p - 1 } - (N as i32 - 1);
    // Level k (from 1) leaves everything with k when p == k and goes one
    // level deeper when p > k; the rest falls out with 0.
    const M: usize = 10_000;
    let nested_ifs_of = |m: usize| {
        let mut wat = String::from(
            "(module (func (export \"f\") (param i32) (result i32) (block $out (result i32)",
        );
        for k in 1..=m {
            wat += &format!(
                " (i32.const {k}) (br_if $out (i32.eq (local.get 0) (i32.const {k}))) drop
                  (if (i32.gt_s (local.get 0) (i32.const {k})) (then"
            );
        }
        wat += &")".repeat(2 * m);
        wat + " (i32.const 0))))"
    };
    let nested_ifs = nested_ifs_of(M);
    let nested_ifs_want = |p: i32| if (1..=M as i32).contains(&p) { p } else { 0 };
    // 40,000 nested blocks each adding 1 to what the inner one yields: a
    // dominator tree 40,000 deep, which made the mid-end's scope searches
    // quadratic (10 s).
    const BLOCKS: usize = 40_000;
    let nested_blocks = format!(
        "(module (func (export \"f\") (param i32) (result i32) {} local.get 0 end {} ))",
        "block (result i32) ".repeat(BLOCKS),
        "i32.const 1 i32.add end ".repeat(BLOCKS - 1)
    );
    let nested_blocks_want = |p: i32| p + (BLOCKS as i32 - 1);
    let cases: [(&str, &str, Want); 3] = [
        ("back edges", &back_edges, &back_edges_want),
        ("nested ifs", &nested_ifs, &nested_ifs_want),
        ("nested blocks", &nested_blocks, &nested_blocks_want),
    ];
    let inputs = [
        -3, 0, 1, 2, 777, 9_999, 10_000, 10_001, 99_999, 100_000, 100_001,
    ];
    check_lazily_and_eagerly(&cases, &inputs);
    // With a 32 KiB stack budget, the baseline frame of 5,000 nested ifs
    // (about 40 KB) would trap on the first call: it is compiled as usual.
    let mut config = hoist::Config::new();
    config.max_wasm_stack(32 << 10);
    let small_stack = Engine::new(&config).unwrap();
    let (mut store, instance) = instantiate(&small_stack, &nested_ifs_of(5_000), false);
    for p in [0, 1, 4_999, 5_000, 5_001] {
        let got = call_i32(&mut store, &instance, "f", &[Val::I32(p)]);
        let want = if (1..=5_000).contains(&p) { p } else { 0 };
        assert_eq!(got, want, "32 KiB stack, p = {p}");
    }
    // With a 40,000-byte budget, the baseline frame of 1,500 locals (about
    // 12 KB) is still taken: an eighth of the budget turned it away, and
    // the usual path took 71 s and 3.2 GB and then exhausted the stack.
    // Each step adds 2 to a local and takes 1 off the parameter.
    const STEPS: usize = 8_000;
    const LOCALS: usize = 1_500;
    let mut many_locals = format!(
        "(module (func (export \"f\") (param i32) (result i32) (local {}) loop",
        "i32 ".repeat(LOCALS)
    );
    for step in 0..STEPS {
        let k = 1 + step % LOCALS;
        many_locals += &format!(
            " local.get {k} i32.const 2 i32.add local.set {k}
              local.get 0 i32.const 1 i32.sub local.tee 0 i32.const 0 i32.gt_s br_if 0"
        );
    }
    many_locals += " end local.get 0";
    for k in 1..=LOCALS {
        many_locals += &format!(" local.get {k} i32.add");
    }
    many_locals += "))";
    let steps = |p: i32| p.max(1) + STEPS as i32 - 1;
    let mut config = hoist::Config::new();
    config.max_wasm_stack(40_000);
    let small_stack = Engine::new(&config).unwrap();
    for lazy in [false, true] {
        let (mut store, instance) = instantiate(&small_stack, &many_locals, lazy);
        for p in [-5, 0, 1, 2, 3_000, 20_000] {
            let got = call_i32(&mut store, &instance, "f", &[Val::I32(p)]);
            assert_eq!(got, p + steps(p), "40,000-byte stack, lazy {lazy}, p = {p}");
        }
    }
}

/// Functions keeping tens of thousands of values live at once (see
/// crates/cranelift/src/crowding.rs), which took regalloc2's backtracking
/// allocator 12 to 111 s: loaded globals the mid-end leaves all live until
/// the adds it sinks below them, i64 locals all set before any is read
/// (crowded without the mid-end, as the lazy tier compiles), and v128
/// shuffles left on the operand stack (crowded either way).
#[test]
fn crowded_values_compile_and_compute_the_same() {
    const GLOBALS: i32 = 25_000;
    let mut globals = String::from("(module");
    for i in 0..GLOBALS {
        globals += &format!(" (global (mut i32) (i32.const {i}))");
    }
    globals += " (func (export \"f\") (param i32) (result i32) local.get 0";
    for i in 0..GLOBALS {
        globals += &format!(" global.get {i} i32.add");
    }
    globals += "))";
    let globals_want = |p: i32| (0..GLOBALS).fold(p, i32::wrapping_add);

    const LOCALS: i64 = 20_000;
    let mut locals = format!(
        "(module (func (export \"f\") (param i32) (result i32) (local {})",
        "i64 ".repeat(LOCALS as usize)
    );
    for i in 0..LOCALS {
        locals += &format!(
            " (local.set {} (i64.add (i64.extend_i32_s (local.get 0)) (i64.const {i})))",
            i + 1
        );
    }
    locals += " local.get 1";
    for i in 2..=LOCALS {
        locals += &format!(" local.get {i} i64.add");
    }
    locals += " i32.wrap_i64))";
    let locals_want = |p: i32| {
        let sum = (0..LOCALS).fold(0i64, |sum, i| sum.wrapping_add(i64::from(p) + i));
        sum as i32
    };

    // Shuffle i takes bytes (i + 5k) mod 32 of (v, v), v = i32x4.splat(p).
    const SHUFFLES: usize = 10_000;
    let pattern = |i: usize| (0..16).map(move |k| (i + 5 * k) % 32);
    let mut shuffles = String::from(
        "(module (func (export \"f\") (param i32) (result i32) (local v128)
           (local.set 1 (i32x4.splat (local.get 0)))",
    );
    for i in 0..SHUFFLES {
        let lanes: Vec<String> = pattern(i).map(|b| b.to_string()).collect();
        shuffles += &format!(" local.get 1 local.get 1 i8x16.shuffle {}", lanes.join(" "));
    }
    shuffles += &" i32x4.add".repeat(SHUFFLES - 1);
    shuffles += " i32x4.extract_lane 0))";
    let shuffles_want = |p: i32| {
        let bytes = p.to_le_bytes();
        (0..SHUFFLES).fold(0i32, |sum, i| {
            let lane: Vec<u8> = pattern(i).take(4).map(|b| bytes[b % 4]).collect();
            sum.wrapping_add(i32::from_le_bytes(lane.try_into().unwrap()))
        })
    };

    let cases: [(&str, &str, Want); 3] = [
        ("globals", &globals, &globals_want),
        ("i64 locals", &locals, &locals_want),
        ("v128 shuffles", &shuffles, &shuffles_want),
    ];
    check_lazily_and_eagerly(&cases, &[0, 1, -7, 0x0102_0304, i32::MIN]);
}

#[test]
fn locals_of_every_type_keep_their_values_in_lazily_compiled_code() {
    // Lazily compiled functions of 500 bytes or more keep numeric locals in
    // stack slots: each type, set in loops and branches, live across calls,
    // read back after `br_table` merges; references stay SSA values beside
    // them. The steps make the body big enough.
    let steps = "(local.set $a (i32.add (local.get $a) (i32.const 1)))\n".repeat(100);
    let wat = r#"(module
      (type $v (func (result i32)))
      (func $seven (type $v) (i32.const 7))
      (elem declare func $seven)
      (func $id64 (param i64) (result i64) (local.get 0))
      (func (export "mix") (param $n i32) (result i64)
        (local $a i32) (local $b i64) (local $c f32) (local $d f64) (local $e v128)
        (local $f (ref null $v)) (local $g externref) (local $i i32)
        (local.set $f (ref.func $seven))
        (local.set $c (f32.const 1.5))
        (local.set $d (f64.const -2.25))
        (local.set $e (v128.const i32x4 1 2 3 4))
        (loop $l
          (local.set $a (i32.add (local.get $a) (local.get $i)))
          (local.set $b (call $id64 (i64.add (local.get $b) (i64.extend_i32_u (local.get $a)))))
          (local.set $c (f32.mul (local.get $c) (f32.const 1.25)))
          (local.set $d (f64.add (local.get $d) (f64.convert_i32_s (local.tee $i (i32.add (local.get $i) (i32.const 1))))))
          (local.set $e (i32x4.add (local.get $e) (i32x4.splat (local.get $i))))
          STEPS
          (block $b2 (block $b1 (block $b0
            (br_table $b0 $b1 $b2 (i32.rem_u (local.get $i) (i32.const 3))))
            (local.set $a (i32.xor (local.get $a) (call_ref $v (local.get $f))))
            (br $b2))
            (local.set $b (i64.sub (local.get $b) (i64.const 3))))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (i64.add
          (i64.add (local.get $b) (i64.extend_i32_u (local.get $a)))
          (i64.add
            (i64.trunc_f64_s (local.get $d))
            (i64.add
              (i64.trunc_f32_s (f32.min (local.get $c) (f32.const 1e9)))
              (i64.add
                (i64.extend_i32_s (i32x4.extract_lane 3 (local.get $e)))
                (i64.extend_i32_u (ref.is_null (local.get $g))))))))
    )"#
    .replace("STEPS", &steps);
    let size = wat::parse_str(&wat).unwrap().len();
    assert!(size > 1000, "{size} bytes");
    for n in [0, 1, 5, 40] {
        same_lazily(&wat, "mix", &[Val::I32(n)]);
    }
}

#[test]
fn a_function_with_thousands_of_values_live_across_a_call_runs_right_lazily() {
    // 2,500 values on the operand stack across a call: the single-pass
    // register allocator would give each a slot (a frame over 16 KiB), so
    // the function is compiled again with the backtracking one.
    let n = 2500;
    let mut body = String::new();
    for k in 0..n {
        body.push_str(&format!("(i64.add (local.get 0) (i64.const {k}))\n"));
    }
    body.push_str("(drop (call $f (local.get 0)))\n");
    for _ in 1..n {
        body.push_str("(i64.add)\n");
    }
    let wat = format!(
        r#"(module
          (func $f (param i64) (result i64) (i64.mul (local.get 0) (local.get 0)))
          (func (export "wide") (param i64) (result i64) {body}))"#
    );
    let v = same_lazily(&wat, "wide", &[Val::I64(3)]);
    assert_eq!(
        format!("{v:?}"),
        format!("{:?}", Val::I64(3 * n + n * (n - 1) / 2))
    );
}

#[test]
fn locals_kept_in_registers_survive_calls_throws_and_recursion() {
    // The single-pass compiler keeps a function's busiest locals (and the
    // memory base) in callee-saved registers. `f`'s are live across calls to
    // a function that fills the same registers with its own busy locals
    // (and throws half the time, caught one frame up by a function Cranelift
    // compiles), to one whose parameters arrive on the stack, and to
    // builtins (`memory.grow`); `rec`'s across its own recursion.
    let wat = r#"(module
      (memory 1)
      (tag $t (param i32))
      (func $clobber (param $x i32) (param $throw i32) (result i32)
        (local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $e i32) (local $k i32)
        (loop $l
          (local.set $a (i32.add (local.get $a) (local.get $x)))
          (local.set $b (i32.xor (local.get $b) (local.get $a)))
          (local.set $c (i32.sub (local.get $c) (local.get $b)))
          (local.set $d (i32.add (local.get $d) (i32.const 0x1111)))
          (local.set $e (i32.or (local.get $e) (local.get $d)))
          (i32.store (i32.const 64) (local.get $e))
          (br_if $l (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (i32.const 3))))
        (if (local.get $throw) (then (throw $t (i32.add (local.get $a) (local.get $e)))))
        (i32.add (local.get $a) (i32.add (local.get $b) (i32.add (local.get $c) (local.get $d)))))
      (func $catch (param $x i32) (param $throw i32) (result i32)
        (block $h (result i32)
          (try_table (result i32) (catch $t $h) (call $clobber (local.get $x) (local.get $throw)))
          (return))
        (i32.const 1)
        (i32.add))
      (func $many (param $a i64) (param $b i64) (param $c i64) (param $d i64) (param $e i64)
                  (param $x f64) (param $g i64) (param $h i64) (result i64)
        (local $k i32)
        (loop $l
          (local.set $g (i64.add (local.get $g) (local.get $h)))
          (local.set $h (i64.xor (local.get $h) (local.get $e)))
          (local.set $e (i64.rotl (local.get $e) (local.get $g)))
          (local.set $x (f64.mul (local.get $x) (f64.const 1.5)))
          (br_if $l (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (i32.const 4))))
        (i64.add (i64.add (local.get $a) (i64.mul (local.get $b) (local.get $c)))
          (i64.add (i64.sub (local.get $d) (local.get $e))
            (i64.add (i64.trunc_f64_s (local.get $x)) (i64.xor (local.get $g) (local.get $h))))))
      (func (export "f") (param $n i32) (result i64)
        (local $i i32) (local $acc i64) (local $x f64) (local $p i32) (local $q i32)
        (loop $l
          (local.set $acc (i64.add (local.get $acc)
            (i64.extend_i32_u (call $catch (local.get $i) (i32.and (local.get $i) (i32.const 1))))))
          (local.set $x (f64.add (local.get $x) (f64.convert_i32_u (local.get $i))))
          (local.set $p (i32.add (local.get $p) (i32.load (i32.const 64))))
          (local.set $q (i32.add (local.get $q) (memory.grow (i32.const 0))))
          (local.set $acc (i64.add (local.get $acc)
            (call $many (i64.extend_i32_u (local.get $i)) (local.get $acc) (i64.const 3)
              (i64.extend_i32_u (local.get $p)) (i64.const 5) (local.get $x)
              (i64.extend_i32_u (local.get $q)) (local.get $acc))))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
        (i64.add (i64.add (local.get $acc) (i64.trunc_f64_s (local.get $x)))
          (i64.add (i64.extend_i32_u (local.get $p))
            (i64.add (i64.extend_i32_u (local.get $q)) (i64.extend_i32_u (local.get $i))))))
      (func $rec (export "rec") (param $n i32) (result i32)
        (local $a i32) (local $b i32)
        (local.set $a (i32.mul (local.get $n) (i32.const 3)))
        (local.set $b (i32.add (local.get $a) (local.get $n)))
        (if (result i32) (i32.eqz (local.get $n))
          (then (i32.const 0))
          (else (i32.add (call $rec (i32.sub (local.get $n) (i32.const 1)))
                  (i32.add (local.get $a) (i32.mul (local.get $b) (local.get $n))))))))"#;
    for n in [1, 2, 7, 30] {
        same_lazily(wat, "f", &[Val::I32(n)]);
    }
    // sum of 3k + 4k*k for k in 1..=20
    let want: i32 = (1..=20).map(|k| 3 * k + 4 * k * k).sum();
    assert_eq!(
        format!("{:?}", same_lazily(wat, "rec", &[Val::I32(20)])),
        format!("{:?}", Val::I32(want))
    );
}

#[test]
fn a_stack_overflow_in_single_pass_code_names_its_function_offset() {
    // The prologue's stack check traps before any operator ran: the frame
    // names the function's first operator, not module offset 0.
    let wat = r#"(module
      (func $r (export "r") (param i32) (result i32)
        (i32.add (call $r (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))"#;
    let engine = Engine::default();
    let (mut store, instance) = instantiate(&engine, wat, true);
    let err = call(&mut store, &instance, "r", &[Val::I32(0)]).unwrap_err();
    let trap = err.downcast_ref::<Trap>().expect("a trap");
    assert_eq!(trap.code(), Some(TrapCode::StackOverflow));
    let first = trap.frames().first().expect("a frame");
    // The body's first operator: `local.get 0`, `i32.const 1`, `i32.add`.
    let wasm = wat::parse_str(wat).unwrap();
    let body = [0x20, 0x00, 0x41, 0x01, 0x6a, 0x10, 0x00];
    let local_get = wasm.windows(body.len()).position(|w| w == body).unwrap();
    assert_eq!(first.module_offset, Some(local_get as u32), "{first:?}");
}

/// The deepest `r(n)` of `wat` that returns rather than trapping, found by
/// bisection below `high` (each failure must be a stack overflow).
fn deepest(store: &mut Store<()>, instance: &Instance, high: i32) -> i32 {
    let (mut fits, mut overflows) = (0, high);
    while overflows - fits > 1 {
        let mid = fits + (overflows - fits) / 2;
        match call(store, instance, "r", &[Val::I32(mid)]) {
            Ok(_) => fits = mid,
            Err(err) => {
                let trap = err.downcast_ref::<Trap>().expect("a trap");
                assert_eq!(trap.code(), Some(TrapCode::StackOverflow), "r({mid})");
                overflows = mid;
            }
        }
    }
    fits
}

#[test]
fn a_recursion_that_fits_optimized_code_fits_the_first_tier() {
    // First-call frames are bigger than optimized Cranelift's, so their
    // code gets the stack budget several times over (the single-pass
    // compiler's `BASELINE_STACK_FACTOR`, unoptimized Cranelift's
    // `UNOPTIMIZED_STACK_FACTOR`): a first (lazily compiled) run recurses
    // at least as deep as a run of the cached, optimized code, and at most
    // the factor times as deep; with the single-pass compiler and with
    // Cranelift's quick compile as the first tier. Two shapes: a
    // one-parameter function, and one with locals of several types and
    // values live across its call. On a thread of 16 MiB, so the budget
    // times the factor fits.
    let tiny = r#"(module
      (func $r (export "r") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (call $r (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))"#;
    let busy = r#"(module
      (memory 1)
      (global $sp (mut i32) (i32.const 65536))
      (func $r (export "r") (param $n i32) (result i32)
        (local $a i32) (local $b i32) (local $c i64) (local $d f64) (local $e i32) (local $f i32)
        (global.set $sp (i32.sub (global.get $sp) (i32.const 16)))
        (local.set $a (i32.mul (local.get $n) (i32.const 3)))
        (local.set $b (i32.add (local.get $a) (local.get $n)))
        (local.set $c (i64.extend_i32_u (local.get $b)))
        (local.set $d (f64.convert_i32_s (local.get $a)))
        (local.set $e (i32.load (i32.const 16)))
        (local.set $f (i32.xor (local.get $e) (local.get $b)))
        (if (result i32) (i32.eqz (local.get $n))
          (then (i32.const 0))
          (else (i32.add
                  (i32.add (local.get $a) (i32.mul (local.get $b) (local.get $n)))
                  (i32.add (call $r (i32.sub (local.get $n) (i32.const 1)))
                    (i32.add (i32.wrap_i64 (local.get $c))
                      (i32.add (i32.trunc_f64_s (local.get $d)) (local.get $f)))))))))"#;
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || {
            for ((name, wat), single_pass) in [("tiny", tiny), ("busy", busy)]
                .into_iter()
                .flat_map(|shape| [(shape, true), (shape, false)])
            {
                let mut config = hoist::Config::default();
                config
                    .lazy_speculation(false)
                    .tiering_budget(None)
                    .single_pass_compiler(single_pass);
                let engine = Engine::new(&config).unwrap();
                let name = format!("{name}, single-pass compiler: {single_pass}");
                let (mut store, instance) = instantiate(&engine, wat, false);
                let optimized = deepest(&mut store, &instance, 1 << 20);
                let module = Module::new_lazy(&engine, wat).unwrap();
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[]).unwrap();
                let first_tier = deepest(&mut store, &instance, 1 << 20);
                let code = module.function_code();
                assert!(code.iter().all(|f| f.baseline), "{name}: {code:?}");
                assert!(
                    first_tier >= optimized,
                    "{name}: {first_tier} deep lazily, {optimized} optimized"
                );
                // Still bounded: by the tier's factor (first-call frames are
                // never smaller than optimized ones), give or take the
                // entry's frames, which the budget holds once either way.
                let factor = if single_pass {
                    hoist::BASELINE_STACK_FACTOR
                } else {
                    hoist::UNOPTIMIZED_STACK_FACTOR
                };
                assert!(
                    first_tier as usize <= factor * (optimized as usize + 64),
                    "{name}: {first_tier} deep lazily, {optimized} optimized"
                );
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
