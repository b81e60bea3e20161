//! Which functions the single-pass compiler takes and which it leaves to
//! Cranelift. What the code does is checked by running the spec suite and
//! the other wasm suites lazily (`HOIST_LAZY=y`, see `.ci/run`), where it
//! is the first tier; this checks that those runs do go through it.

use hoist_baseline::{compile, Options, Unsupported};
use hoist_environ::{translate_module, DefinedFuncIndex, TrapCode, Tunables, VMOffsets};

const OPTIONS: Options = Options {
    popcnt: true,
    sse41: true,
    count_hotness: true,
    max_frame: 16 << 10,
};

/// Each defined function of `wat`, compiled with `options`.
fn outcomes(wat: &str, options: Options) -> Vec<Result<usize, Unsupported>> {
    let wasm = wat::parse_str(wat).expect("valid text");
    let translation = translate_module(&wasm).expect("valid module");
    let module = &translation.module;
    let offsets = VMOffsets::new(8, module);
    let tunables = Tunables::default();
    translation
        .function_bodies
        .iter()
        .map(|(index, body): (DefinedFuncIndex, _)| {
            compile(module, &offsets, &tunables, index, &body.body, options)
                .map(|compiled| compiled.code.len())
        })
        .collect()
}

#[test]
fn integer_functions_are_compiled() {
    let wat = r#"
    (module
      (type $t (func (param i32) (result i32)))
      (memory 1)
      (table 2 funcref)
      (global $g (mut i64) (i64.const 7))
      (elem (i32.const 0) $fac $sum6)
      (func $fac (type $t)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 1))
          (else (i32.mul (local.get 0)
                  (call $fac (i32.sub (local.get 0) (i32.const 1)))))))
      ;; six parameters: two on the stack
      (func $sum6 (param i32 i32 i32 i64 i64 i32) (result i64)
        (i64.add
          (i64.add (i64.extend_i32_u (local.get 0)) (i64.extend_i32_s (local.get 5)))
          (i64.mul (local.get 3) (local.get 4))))
      (func (param i32) (result i32 i64)
        (local i64)
        (local.set 1 (call $sum6 (i32.const 1) (i32.const 2) (i32.const 3)
                                 (i64.const 4) (i64.const 5) (local.get 0)))
        (global.set $g (local.get 1))
        (call_indirect (type $t) (i32.const 1) (local.get 0))
        (global.get $g))
      (func (param i32 i32) (result i32)
        (block $out
          (loop $top
            (br_table $out $top $top (local.get 0))))
        (i32.store offset=8 (local.get 1) (i32.load16_s (local.get 0)))
        (i64.store8 (local.get 1) (i64.load32_u offset=4 (local.get 0)))
        (memory.fill (local.get 0) (i32.const 0) (local.get 1))
        (memory.copy (local.get 0) (local.get 1) (i32.const 16))
        (drop (memory.grow (i32.const 1)))
        (i32.add (memory.size)
          (select (i32.div_s (local.get 0) (local.get 1))
                  (i32.rem_u (local.get 0) (local.get 1))
                  (i32.popcnt (i32.clz (i32.ctz (local.get 0)))))))
    )"#;
    for (i, outcome) in outcomes(wat, OPTIONS).into_iter().enumerate() {
        assert!(
            matches!(outcome, Ok(len) if len > 0),
            "function {i}: {outcome:?}"
        );
    }
}

#[test]
fn everything_else_is_left_to_cranelift() {
    let wat = r#"
    (module
      (type $open (sub (func)))
      (memory $small 1)
      (memory $wide i64 1)
      (table 1 funcref)
      (func (param v128) (result v128) (local.get 0))
      (func (local externref))
      (func (param f64) (result f64) (f64.floor (local.get 0)))
      (func (result i32) (i32.load $wide (i64.const 0)))
      (func (drop (i32.load offset=0xffff_fff0 (i32.const 0))))
      (func (call_indirect (type $open) (i32.const 0)))
      (func (drop (i32.popcnt (i32.const 1))))
      (func (result i32 i32 i32 i32 i32 i32 i32 i32 i32)
        (unreachable))
    )"#;
    let older_cpu = Options {
        popcnt: false,
        sse41: false,
        ..OPTIONS
    };
    let outcomes = outcomes(wat, older_cpu);
    assert_eq!(outcomes.len(), 8);
    for (i, outcome) in outcomes.iter().enumerate() {
        assert!(outcome.is_err(), "function {i} was compiled");
    }
}

#[test]
fn float_functions_are_compiled() {
    let wat = r#"
    (module
      (memory 1)
      (global $g (mut f64) (f64.const 0.5))
      ;; five float parameters and five integer ones: one of each class
      ;; on the stack, in parameter order
      (func $mix (param f32 i32 f64 i64 f32 i32 f64 i64 i32 f32 f64 f32 f64 f32 f64)
                 (result f64 i32 f32)
        (f64.add (local.get 2) (f64.promote_f32 (local.get 14)))
        (i32.add (local.get 1) (i32.trunc_sat_f64_s (local.get 13)))
        (f32.demote_f64 (local.get 12)))
      (func (param f32 f32) (result f32)
        (f32.copysign
          (f32.min (f32.abs (local.get 0)) (f32.neg (local.get 1)))
          (f32.max (f32.sqrt (local.get 0)) (f32.nearest (local.get 1)))))
      (func (param i64) (result f64)
        (local f32)
        (local.set 1 (f32.convert_i64_u (local.get 0)))
        (if (result f64) (f32.lt (local.get 1) (f32.const 1e10))
          (then (f64.convert_i64_u (i64.trunc_f64_u (f64.load (i32.const 8)))))
          (else (f64.reinterpret_i64 (i64.trunc_f32_s (local.get 1))))))
      (func (param f64 f64) (result i32)
        (global.set $g (f64.div (local.get 0) (local.get 1)))
        (f64.store offset=16 (i32.const 0) (global.get $g))
        (i32.or
          (i32.or (f64.eq (local.get 0) (local.get 1)) (f64.ne (local.get 0) (local.get 1)))
          (i32.or (f64.ge (local.get 0) (local.get 1)) (f64.le (local.get 0) (local.get 1)))))
      (func (result f64 i32 f32)
        (call $mix (f32.const 1) (i32.const 2) (f64.const 3) (i64.const 4)
                   (f32.const 5) (i32.const 6) (f64.const 7) (i64.const 8)
                   (i32.const 9) (f32.const 10) (f64.const 11) (f32.const 12)
                   (f64.const 13) (f32.const 14) (f64.const 15)))
    )"#;
    for (i, outcome) in outcomes(wat, OPTIONS).into_iter().enumerate() {
        assert!(
            matches!(outcome, Ok(len) if len > 0),
            "function {i}: {outcome:?}"
        );
    }
}

#[test]
fn big_frames_are_left_to_cranelift() {
    let wat = "(module (func (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (nop)))";
    let small = Options {
        max_frame: 64,
        ..OPTIONS
    };
    assert!(outcomes(wat, small)[0].is_err());
    assert!(outcomes(wat, OPTIONS)[0].is_ok());
}

/// A time limit (epoch interruption) is compiled in, as Cranelift's code
/// has it: a check at the entry and one at each loop header, so `hoist run
/// --timeout` keeps the first tier; fuel metering is left to Cranelift.
#[test]
fn epoch_checks_are_compiled_in_and_fuel_is_left_to_cranelift() {
    let wasm = wat::parse_str(
        // A stub per operator and code: the entry's check traps at the
        // first operator (the `nop`), each loop's at its `loop`.
        r#"(module (func (param i32)
             (nop)
             (loop $a (br_if $a (local.get 0)))
             (loop $b (br_if $b (local.get 0)))))"#,
    )
    .expect("valid text");
    let translation = translate_module(&wasm).expect("valid module");
    let module = &translation.module;
    let offsets = VMOffsets::new(8, module);
    let (index, body) = translation.function_bodies.iter().next().unwrap();
    let index: DefinedFuncIndex = index;
    let interrupts = |tunables: &Tunables| {
        compile(module, &offsets, tunables, index, &body.body, OPTIONS).map(|compiled| {
            compiled
                .traps
                .iter()
                .filter(|(_, code)| *code == TrapCode::Interrupt)
                .count()
        })
    };
    assert_eq!(interrupts(&Tunables::default()), Ok(0));
    let epochs = Tunables {
        epoch_interruption: true,
        ..Tunables::default()
    };
    assert_eq!(interrupts(&epochs), Ok(3), "the entry and two loops");
    let fuel = Tunables {
        consume_fuel: true,
        ..Tunables::default()
    };
    assert!(interrupts(&fuel).is_err());
}
