//! Differential testing against the wasmi interpreter: random modules from
//! wasm-smith run in hoist and in wasmi, and every observable result must
//! agree.
//!
//! Two tests, each with its own feature set, given to wasm-smith and to both
//! engines alike:
//!
//! - `differential`: Wasm 2.0 only (SIMD, bulk memory, reference types,
//!   multi-value...).
//! - `differential_wasm3`: Wasm 2.0 plus the Wasm 3.0 proposals wasmi 1.1
//!   also implements: tail calls (`return_call`, `return_call_indirect`),
//!   extended constant expressions, multiple memories (up to four) and
//!   memory64 (64-bit memories and tables, mixed with 32-bit ones). The rest
//!   of 3.0 is left out: wasmi 1.1 implements neither GC, typed function
//!   references, exceptions nor atomics, and relaxed SIMD's results may
//!   differ between engines.
//!
//! For each seed a module is generated (everything exported, NaNs
//! canonicalized, bounded sizes) and made to terminate with wasm-smith's fuel
//! pass, whose fuel global we export so every call starts with the same
//! budget. Both engines then instantiate it (success or failure must agree,
//! and the trap kind when both trap), and every exported function is called
//! with a few fixed argument lists. After instantiation and after each call
//! the results (or the trap kind), every exported global, table (null-ness
//! and which function) and memory (byte for byte) are compared. Seeds take
//! turns at hoist's settings: this CPU's features or the architecture's
//! baseline, optimized or not, with Cranelift's verifier on.
//!
//! Stack exhaustion is where the engines legitimately differ (hoist stops at
//! 512 KiB of native stack, wasmi at its recursion limit): both exhausting it
//! is agreement and only one doing so is not a mismatch, but either way each
//! engine stopped at its own depth, so their states may differ and the rest of
//! the module is skipped (and counted).
//!
//! The oracle is wasmi 1.1 rather than 2.0: 2.0.0 miscompiles some `select`s
//! and, built without its `memory64` feature, misdecodes `v128.storeN_lane`
//! with offsets of 64 KiB and more (and crashes).
//!
//! By default `differential` runs 300 fixed seeds and `differential_wasm3`
//! 1000, side by side: about 7 s of CPU in all, and under 20 s on a busy
//! 2-core machine. To run others:
//!
//! ```text
//! HOIST_DIFF_SEED=1000 HOIST_DIFF_ITERS=5000 cargo test --profile release-nolto --workspace --test differential -- --nocapture
//! HOIST_DIFF_ITERS=100000 cargo test --profile release-nolto --workspace --test differential -- --exact differential_wasm3
//! ```
//!
//! `HOIST_DIFF_SEED` is the first seed (default 0) and `HOIST_DIFF_ITERS` how
//! many consecutive seeds each test runs (default: its own count, above);
//! `--exact differential` or `--exact differential_wasm3` picks one test.
//! Every failing module is written to
//! `target/differential-failures/<test>-<seed>.wasm` (each module is written
//! there before it runs, so one that crashes the process is left behind too,
//! and removed when it passes; `HOIST_DIFF_KEEP=1` keeps them all), and the
//! test fails listing each seed with hoist's settings, the function, the
//! arguments and both outcomes. `HOIST_DIFF_VERBOSE=1` prints each seed and
//! call before running it. `HOIST_DIFF_WASM_STACK=<bytes>` gives hoist that
//! much native stack instead of 512 KiB (with `RUST_MIN_STACK` larger still,
//! for the test's thread), to tell whether a seed where only hoist exhausted
//! its stack just had deep frames: with enough stack the engines then agree.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use arbitrary::Unstructured;

/// Fuel given to the module before each call (and to the start function):
/// one unit per function entry and loop iteration.
const FUEL: u32 = 2_000;
/// The name under which the fuel global is exported.
const FUEL_EXPORT: &str = "hoist-diff-fuel";
/// The most memories a module of the 3.0 profile has.
const MAX_MEMORIES: usize = 4;
/// Bytes of random input per seed from which wasm-smith builds the module.
const INPUT_BYTES: usize = 16 * 1024;
/// How many failures the final message details.
const SHOWN_FAILURES: usize = 20;

/// Wasm 2.0 modules.
#[test]
fn differential() {
    run(Profile::Wasm2);
}

/// Wasm 2.0 plus tail calls, extended-const, multi-memory and memory64.
#[test]
fn differential_wasm3() {
    run(Profile::Wasm3);
}

/// Which features wasm-smith may use, and so both engines accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Profile {
    /// Wasm 2.0 exactly.
    Wasm2,
    /// Wasm 2.0 plus the 3.0 proposals wasmi 1.1 implements and whose
    /// results are deterministic: tail calls, extended-const, multi-memory
    /// and memory64.
    Wasm3,
}

impl Profile {
    /// The test's name, which also prefixes its saved modules.
    fn name(self) -> &'static str {
        match self {
            Profile::Wasm2 => "differential",
            Profile::Wasm3 => "differential_wasm3",
        }
    }

    /// Seeds per `cargo test` run unless `HOIST_DIFF_ITERS` says otherwise.
    fn default_iters(self) -> u64 {
        match self {
            Profile::Wasm2 => 300,
            Profile::Wasm3 => 1000,
        }
    }

    fn hoist_features(self) -> hoist::WasmFeatures {
        use hoist::WasmFeatures as F;
        match self {
            Profile::Wasm2 => F::WASM2,
            Profile::Wasm3 => {
                F::WASM2 | F::TAIL_CALL | F::EXTENDED_CONST | F::MULTI_MEMORY | F::MEMORY64
            }
        }
    }

    fn wasmi_config(self) -> wasmi::Config {
        let wasm3 = self == Profile::Wasm3;
        let mut config = wasmi::Config::default();
        config
            // wasmi's defaults include most of these; say each one.
            .wasm_mutable_global(true)
            .wasm_sign_extension(true)
            .wasm_saturating_float_to_int(true)
            .wasm_multi_value(true)
            .wasm_bulk_memory(true)
            .wasm_reference_types(true)
            .wasm_simd(true)
            .floats(true)
            .wasm_tail_call(wasm3)
            .wasm_extended_const(wasm3)
            .wasm_multi_memory(wasm3)
            .wasm_memory64(wasm3)
            .wasm_relaxed_simd(false)
            .wasm_custom_page_sizes(false)
            .wasm_wide_arithmetic(false);
        config
    }
}

fn run(profile: Profile) {
    let first = env_u64("HOIST_DIFF_SEED").unwrap_or(0);
    let iters = env_u64("HOIST_DIFF_ITERS").unwrap_or(profile.default_iters());
    let verbose = std::env::var_os("HOIST_DIFF_VERBOSE").is_some();
    let keep = std::env::var_os("HOIST_DIFF_KEEP").is_some();
    let test = profile.name();
    let wasm_stack = env_u64("HOIST_DIFF_WASM_STACK");

    // Seeds take turns at hoist's compiler settings: mostly the default
    // (this CPU's features, optimized), then the architecture's baseline
    // (other SIMD lowerings), then unoptimized. Cranelift's verifier runs on
    // every function.
    let hoist_engines: Vec<(&str, hoist::Engine)> = [
        ("native, speed", hoist::Cpu::Native, hoist::OptLevel::Speed),
        (
            "baseline, speed",
            hoist::Cpu::Baseline,
            hoist::OptLevel::Speed,
        ),
        ("native, no opt", hoist::Cpu::Native, hoist::OptLevel::None),
    ]
    .into_iter()
    .map(|(name, cpu, opt)| {
        let mut config = hoist::Config::new();
        config
            .cpu(cpu)
            .opt_level(opt)
            .verify(true)
            .wasm_features(profile.hoist_features());
        if let Some(bytes) = wasm_stack {
            config.max_wasm_stack(bytes as usize);
        }
        (name, hoist::Engine::new(&config).expect("hoist engine"))
    })
    .collect();
    let wasmi_engine = {
        let mut config = profile.wasmi_config();
        config
            .compilation_mode(wasmi::CompilationMode::Eager)
            // Far beyond what hoist's 512 KiB allows, so that wasmi exhausting
            // its stack first is rare; fuel bounds the depth anyway.
            .set_max_recursion_depth(100_000)
            .set_max_stack_height(64 * 1024 * 1024);
        wasmi::Engine::new(&config)
    };

    let started = Instant::now();
    let mut stats = Stats {
        wasm3_coverage: (profile == Profile::Wasm3).then(Coverage::default),
        ..Stats::default()
    };
    let mut failures = Vec::new();
    for seed in first..first + iters {
        let wasm = match generate(profile, seed) {
            Ok(wasm) => wasm,
            Err(err) => {
                stats.not_generated += 1;
                eprintln!("{test} seed {seed}: wasm-smith made no module: {err}");
                continue;
            }
        };
        if verbose {
            eprintln!("{test} seed {seed}: {} bytes", wasm.len());
        }
        if let Some(coverage) = &mut stats.wasm3_coverage {
            coverage.add(&wasm);
        }
        // Written before it runs and removed when it passes, so that a module
        // that crashes the process is left behind too.
        let path = save(test, seed, &wasm);
        let mut run = Run {
            test,
            seed,
            stats: &mut stats,
            verbose,
        };
        let (engine_name, hoist_engine) = &hoist_engines[match seed % 4 {
            2 => 1,
            3 => 2,
            _ => 0,
        }];
        match run.module(hoist_engine, &wasmi_engine, &wasm) {
            Ok(()) => {
                if !keep {
                    let _ = std::fs::remove_file(&path);
                }
            }
            Err(mismatch) => {
                failures.push(format!(
                    "seed {seed} (hoist {engine_name}; {}): {mismatch}",
                    path.display()
                ));
            }
        }
    }
    eprintln!(
        "{test}: seeds {first}..{} in {:.1?}: {stats}",
        first + iters,
        started.elapsed()
    );

    if !failures.is_empty() {
        let mut message = format!(
            "{test}: {} of {iters} seeds disagree between hoist and wasmi:\n",
            failures.len()
        );
        for failure in failures.iter().take(SHOWN_FAILURES) {
            message.push_str(failure);
            message.push('\n');
        }
        if failures.len() > SHOWN_FAILURES {
            message.push_str(&format!(
                "... and {} more\n",
                failures.len() - SHOWN_FAILURES
            ));
        }
        message.push_str(&format!(
            "rerun one with HOIST_DIFF_SEED=<seed> HOIST_DIFF_ITERS=1 \
             cargo test --profile release-nolto --workspace --test differential -- --exact {test}"
        ));
        panic!("{message}");
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

/// Writes a failing module where the report says it is.
fn save(test: &str, seed: u64, wasm: &[u8]) -> PathBuf {
    let target = match option_env!("CARGO_TARGET_TMPDIR") {
        Some(tmp) => PathBuf::from(tmp).join(".."),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
    };
    let dir = target.join("differential-failures");
    let path = dir.join(format!("{test}-{seed}.wasm"));
    if let Err(err) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, wasm)) {
        eprintln!("failed to write {}: {err}", path.display());
    }
    path.canonicalize().unwrap_or(path)
}

#[derive(Default)]
struct Stats {
    modules: u64,
    not_generated: u64,
    instantiation_failed: u64,
    calls: u64,
    returned: u64,
    /// Calls that trapped (in both, alike), by kind.
    trapped: std::collections::BTreeMap<String, u64>,
    /// Modules cut short because both engines exhausted their stacks.
    both_exhausted: u64,
    /// Modules cut short because only one engine exhausted its stack.
    one_side_exhausted: u64,
    /// How many modules use each Wasm 3.0 feature (3.0 profile only).
    wasm3_coverage: Option<Coverage>,
}

/// How many generated modules use each of the 3.0 profile's features, to
/// show that wasm-smith makes them.
#[derive(Default)]
struct Coverage {
    tail_call: u64,
    extended_const: u64,
    multi_memory: u64,
    memory64: u64,
    table64: u64,
}

impl Coverage {
    /// Counts what `wasm` (valid, as wasm-smith made it) uses.
    fn add(&mut self, wasm: &[u8]) {
        use wasmparser::{DataKind, ElementKind, Operator, Payload};
        let (mut tail_call, mut extended_const, mut memory64, mut table64) =
            (false, false, false, false);
        let mut memories = 0;
        // An extended constant expression is one with arithmetic in it.
        let extended = |expr: &wasmparser::ConstExpr| {
            expr.get_operators_reader().into_iter().any(|op| {
                matches!(
                    op,
                    Ok(Operator::I32Add
                        | Operator::I32Sub
                        | Operator::I32Mul
                        | Operator::I64Add
                        | Operator::I64Sub
                        | Operator::I64Mul)
                )
            })
        };
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            match payload.expect("wasm-smith made a valid module") {
                Payload::MemorySection(reader) => {
                    for memory in reader.into_iter().flatten() {
                        memories += 1;
                        memory64 |= memory.memory64;
                    }
                }
                Payload::TableSection(reader) => {
                    for table in reader.into_iter().flatten() {
                        table64 |= table.ty.table64;
                    }
                }
                Payload::GlobalSection(reader) => {
                    for global in reader.into_iter().flatten() {
                        extended_const |= extended(&global.init_expr);
                    }
                }
                Payload::DataSection(reader) => {
                    for data in reader.into_iter().flatten() {
                        if let DataKind::Active { offset_expr, .. } = &data.kind {
                            extended_const |= extended(offset_expr);
                        }
                    }
                }
                Payload::ElementSection(reader) => {
                    for element in reader.into_iter().flatten() {
                        if let ElementKind::Active { offset_expr, .. } = &element.kind {
                            extended_const |= extended(offset_expr);
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    if let Ok(ops) = body.get_operators_reader() {
                        tail_call |= ops.into_iter().any(|op| {
                            matches!(
                                op,
                                Ok(Operator::ReturnCall { .. }
                                    | Operator::ReturnCallIndirect { .. })
                            )
                        });
                    }
                }
                _ => {}
            }
        }
        self.tail_call += u64::from(tail_call);
        self.extended_const += u64::from(extended_const);
        self.multi_memory += u64::from(memories > 1);
        self.memory64 += u64::from(memory64);
        self.table64 += u64::from(table64);
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trapped: u64 = self.trapped.values().sum();
        let kinds: Vec<String> = self
            .trapped
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        write!(
            f,
            "{} modules ({} not generated, {} failed to instantiate in both), {} calls \
             ({} returned, {} trapped [{}]); modules cut short by stack exhaustion: \
             {} in both engines, {} in only one",
            self.modules,
            self.not_generated,
            self.instantiation_failed,
            self.calls,
            self.returned,
            trapped,
            kinds.join(", "),
            self.both_exhausted,
            self.one_side_exhausted,
        )?;
        if let Some(c) = &self.wasm3_coverage {
            write!(
                f,
                "; modules with tail calls {}, extended constants {}, several memories {}, \
                 a 64-bit memory {}, a 64-bit table {}",
                c.tail_call, c.extended_const, c.multi_memory, c.memory64, c.table64
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Generating modules

/// SplitMix64: a fixed, dependency-free stream of bytes per seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn generate(profile: Profile, seed: u64) -> arbitrary::Result<Vec<u8>, String> {
    let mut rng = SplitMix64(seed);
    let bytes: Vec<u8> = (0..INPUT_BYTES / 8)
        .flat_map(|_| rng.next().to_le_bytes())
        .collect();
    let mut u = Unstructured::new(&bytes);
    let config = config(profile, &mut u).map_err(|e| e.to_string())?;
    let mut module = wasm_smith::Module::new(config, &mut u).map_err(|e| e.to_string())?;
    let fuel_global = module.ensure_termination(FUEL).map_err(|e| e.to_string())?;
    Ok(export_global(&module.to_bytes(), FUEL_EXPORT, fuel_global))
}

/// What the profile allows (never relaxed SIMD: its results may differ
/// between engines) and what runs the same everywhere. A few switches are
/// drawn per seed, so that some modules are dense in one kind of code.
fn config(profile: Profile, u: &mut Unstructured) -> arbitrary::Result<wasm_smith::Config> {
    // The switches drawn per seed, in a fixed order.
    let simd = u.ratio(2, 3)?;
    let floats = u.ratio(4, 5)?;
    // Half the seeds avoid traps (wasm-smith guards each access, division
    // and conversion), so that more code runs to the end; the other half
    // exercise the trapping paths.
    let disallow_traps = u.ratio(1, 2)?;
    let max_instructions = u.int_in_range(20..=400)?;
    // wasm-smith stops adding each kind of item at the first coin flip that
    // says so; minimums keep most modules from being nearly empty.
    let min_funcs = u.int_in_range(1..=10)?;
    let min_globals = u.int_in_range(0..=4)?;
    let (min_memories, min_data_segments) = if u.ratio(4, 5)? {
        (1, u.int_in_range(0..=3)?)
    } else {
        (0, 0)
    };
    let (min_tables, min_element_segments) = if u.ratio(1, 2)? {
        (1, u.int_in_range(0..=3)?)
    } else {
        (0, 0)
    };
    // Drawn after the 2.0 switches, so that a 2.0 seed makes the module it
    // always has.
    let wasm3 = profile == Profile::Wasm3;
    let (min_memories, max_memories) = if wasm3 {
        // Most modules with a memory get several (of both index types, with
        // memory64: wasm-smith picks each memory's at random).
        let min = if min_memories > 0 && u.ratio(2, 3)? {
            u.int_in_range(2..=MAX_MEMORIES as u32)?
        } else {
            min_memories
        };
        (min, MAX_MEMORIES)
    } else {
        (min_memories, 1)
    };

    Ok(wasm_smith::Config {
        // Wasm 2.0.
        multi_value_enabled: true,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        sign_extension_ops_enabled: true,
        saturating_float_to_int_enabled: true,
        simd_enabled: simd,
        allow_floats: floats,
        // Wasm 3.0 as far as wasmi implements it, in the 3.0 profile.
        tail_call_enabled: wasm3,
        memory64_enabled: wasm3,
        extended_const_enabled: wasm3,
        max_memories,
        // Nothing beyond it.
        relaxed_simd_enabled: false,
        threads_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        compact_imports_enabled: false,
        shared_everything_threads_enabled: false,
        custom_descriptors_enabled: false,
        acquire_release_atomics_enabled: false,
        multibyte_array_access_enabled: false,

        // Self-contained and callable.
        max_imports: 0,
        export_everything: true,
        canonicalize_nans: true,
        allow_invalid_funcs: false,
        generate_custom_sections: false,
        disallow_traps,

        // Bounded sizes. Memories and tables have a maximum, so growing fails
        // at the same point in both engines.
        max_types: 20,
        max_funcs: 20,
        max_globals: 10,
        max_tables: 3,
        max_table_elements: 100,
        table_max_size_required: true,
        max_memory32_bytes: 16 * 65536,
        max_memory64_bytes: 16 * 65536,
        memory_max_size_required: true,
        max_instructions,
        max_data_segments: 10,
        max_element_segments: 10,
        max_elements: 20,
        max_nesting_depth: 10,

        min_types: 1,
        min_funcs,
        min_globals,
        min_memories,
        min_data_segments,
        min_tables,
        min_element_segments,
        ..wasm_smith::Config::default()
    })
}

/// Adds an export of global `index` to `wasm`, whose sections are in the
/// spec's order.
fn export_global(wasm: &[u8], name: &str, index: u32) -> Vec<u8> {
    const EXPORT: u8 = 7;
    // Sections that come after the export section.
    const LATER: [u8; 5] = [8, 9, 12, 10, 11];

    let mut entry = Vec::new();
    leb(&mut entry, name.len() as u32);
    entry.extend_from_slice(name.as_bytes());
    entry.push(0x03);
    leb(&mut entry, index);

    let mut out = wasm[..8].to_vec();
    let mut pos = 8;
    let mut done = false;
    while pos < wasm.len() {
        let id = wasm[pos];
        let (size, len) = read_leb(&wasm[pos + 1..]);
        let start = pos + 1 + len;
        let payload = &wasm[start..start + size as usize];
        pos = start + size as usize;
        if !done && id == EXPORT {
            let (count, len) = read_leb(payload);
            let mut section = Vec::new();
            leb(&mut section, count + 1);
            section.extend_from_slice(&payload[len..]);
            section.extend_from_slice(&entry);
            push_section(&mut out, EXPORT, &section);
            done = true;
            continue;
        }
        if !done && LATER.contains(&id) {
            let mut section = Vec::new();
            leb(&mut section, 1);
            section.extend_from_slice(&entry);
            push_section(&mut out, EXPORT, &section);
            done = true;
        }
        push_section(&mut out, id, payload);
    }
    if !done {
        let mut section = Vec::new();
        leb(&mut section, 1);
        section.extend_from_slice(&entry);
        push_section(&mut out, EXPORT, &section);
    }
    out
}

fn push_section(out: &mut Vec<u8>, id: u8, payload: &[u8]) {
    out.push(id);
    leb(out, payload.len() as u32);
    out.extend_from_slice(payload);
}

fn leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb(bytes: &[u8]) -> (u32, usize) {
    let mut value = 0u32;
    for (i, byte) in bytes.iter().enumerate() {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    panic!("truncated LEB128");
}

// ---------------------------------------------------------------------------
// Values and outcomes, engine-neutral

#[derive(Clone, Debug)]
enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    /// A funcref: `None` for null; otherwise the name of the exported
    /// function it is, or `?` when the engine cannot tell.
    FuncRef(Option<String>),
    /// An externref: only null-ness is observable here (we pass no others).
    ExternRef(bool),
}

impl Value {
    /// Equal up to NaN payloads, for scalars and for a vector whose lanes are
    /// NaNs in the same places as f32x4 or as f64x2.
    fn agrees(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::I32(a), Value::I32(b)) => a == b,
            (Value::I64(a), Value::I64(b)) => a == b,
            (Value::F32(a), Value::F32(b)) => a == b || (is_nan32(*a) && is_nan32(*b)),
            (Value::F64(a), Value::F64(b)) => a == b || (is_nan64(*a) && is_nan64(*b)),
            (Value::V128(a), Value::V128(b)) => {
                a == b
                    || (0..4).all(|i| {
                        let (x, y) = ((a >> (32 * i)) as u32, (b >> (32 * i)) as u32);
                        x == y || (is_nan32(x) && is_nan32(y))
                    })
                    || (0..2).all(|i| {
                        let (x, y) = ((a >> (64 * i)) as u64, (b >> (64 * i)) as u64);
                        x == y || (is_nan64(x) && is_nan64(y))
                    })
            }
            (Value::FuncRef(a), Value::FuncRef(b)) => match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => a == b || a == "?" || b == "?",
                _ => false,
            },
            (Value::ExternRef(a), Value::ExternRef(b)) => a == b,
            _ => false,
        }
    }
}

fn is_nan32(bits: u32) -> bool {
    f32::from_bits(bits).is_nan()
}

fn is_nan64(bits: u64) -> bool {
    f64::from_bits(bits).is_nan()
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "i32:{v}"),
            Value::I64(v) => write!(f, "i64:{v}"),
            Value::F32(v) => write!(f, "f32:{:?}({v:#010x})", f32::from_bits(*v)),
            Value::F64(v) => write!(f, "f64:{:?}({v:#018x})", f64::from_bits(*v)),
            Value::V128(v) => write!(f, "v128:{v:#034x}"),
            Value::FuncRef(None) => write!(f, "funcref:null"),
            Value::FuncRef(Some(name)) => write!(f, "funcref:{name}"),
            Value::ExternRef(false) => write!(f, "externref:null"),
            Value::ExternRef(true) => write!(f, "externref:non-null"),
        }
    }
}

/// How a call or an instantiation ended.
#[derive(Debug)]
enum Outcome {
    Returned(Vec<Value>),
    Trapped(Trap),
    /// An error that is not a wasm trap (a compile error, a limit).
    Failed(String),
}

/// The trap kinds both engines report, named by the spec's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trap {
    StackOverflow,
    MemoryOutOfBounds,
    TableOutOfBounds,
    IndirectCallToNull,
    BadSignature,
    IntegerOverflow,
    IntegerDivisionByZero,
    BadConversionToInteger,
    Unreachable,
    /// Something only one engine names (hoist's host trap, wasmi's
    /// out-of-fuel, growth errors): shown, never equal.
    Other(&'static str),
}

impl Outcome {
    fn agrees(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Returned(a), Outcome::Returned(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.agrees(b))
            }
            (Outcome::Trapped(a), Outcome::Trapped(b)) => a == b,
            // Failures that are not traps are compared only by existing.
            (Outcome::Failed(_), Outcome::Failed(_)) => true,
            _ => false,
        }
    }

    fn is_stack_overflow(&self) -> bool {
        matches!(self, Outcome::Trapped(Trap::StackOverflow))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Returned(values) => {
                write!(f, "returned [")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Outcome::Trapped(trap) => write!(f, "trapped: {trap:?}"),
            Outcome::Failed(err) => write!(f, "failed: {err}"),
        }
    }
}

/// The deterministic argument lists: all zeros, then lists drawn from a
/// table of interesting values, shifted per parameter so that parameters of
/// one type get different values.
fn argument_lists(params: &[hoist::ValType]) -> Vec<Vec<Value>> {
    const I32S: [i32; 8] = [1, -1, i32::MIN, i32::MAX, 0xffff, 0x10000, 7, -65536];
    const I64S: [i64; 8] = [1, -1, i64::MIN, i64::MAX, 0xffff_ffff, 0x1_0000_0000, 7, -3];
    const F32S: [f32; 8] = [1.0, -1.5, f32::INFINITY, -0.0, 3.0e9, f32::NAN, 0.5, -1e-40];
    const F64S: [f64; 8] = [
        1.0,
        -1.5,
        f64::NEG_INFINITY,
        -0.0,
        1.0e19,
        f64::NAN,
        0.5,
        2.5e-310,
    ];
    const V128S: [u128; 4] = [
        1,
        u128::MAX,
        0x8000_0000_7fff_ffff_0000_0001_ffff_fffe,
        0x3f80_0000_bfc0_0000_7fc0_0000_0000_0000,
    ];
    let mut lists = vec![params.iter().map(|ty| zero(*ty)).collect::<Vec<_>>()];
    if params.is_empty() {
        // A second call sees the state the first one left.
        lists.push(Vec::new());
        return lists;
    }
    for list in 0..3 {
        lists.push(
            params
                .iter()
                .enumerate()
                .map(|(i, ty)| {
                    let k = list * 3 + i;
                    match ty {
                        hoist::ValType::I32 => Value::I32(I32S[k % I32S.len()]),
                        hoist::ValType::I64 => Value::I64(I64S[k % I64S.len()]),
                        hoist::ValType::F32 => Value::F32(F32S[k % F32S.len()].to_bits()),
                        hoist::ValType::F64 => Value::F64(F64S[k % F64S.len()].to_bits()),
                        hoist::ValType::V128 => Value::V128(V128S[k % V128S.len()]),
                        hoist::ValType::Ref(_) => zero(*ty),
                    }
                })
                .collect(),
        );
    }
    lists
}

fn zero(ty: hoist::ValType) -> Value {
    match ty {
        hoist::ValType::I32 => Value::I32(0),
        hoist::ValType::I64 => Value::I64(0),
        hoist::ValType::F32 => Value::F32(0),
        hoist::ValType::F64 => Value::F64(0),
        hoist::ValType::V128 => Value::V128(0),
        hoist::ValType::Ref(r) => match r.heap {
            hoist::HeapType::Extern | hoist::HeapType::NoExtern => Value::ExternRef(false),
            _ => Value::FuncRef(None),
        },
    }
}

fn show_args(args: &[Value]) -> String {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    format!("({})", args.join(", "))
}

// ---------------------------------------------------------------------------
// Running one module in both engines

struct Run<'a> {
    /// The test's name, for messages.
    test: &'static str,
    seed: u64,
    stats: &'a mut Stats,
    /// Print each call before making it (`HOIST_DIFF_VERBOSE`).
    verbose: bool,
}

/// Why a module's run stopped early without a mismatch.
enum Stop {
    Mismatch(String),
    /// Only one engine exhausted its stack: states diverged.
    OneSidedExhaustion,
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Mismatch(message)
    }
}

impl Run<'_> {
    fn module(
        &mut self,
        hoist_engine: &hoist::Engine,
        wasmi_engine: &wasmi::Engine,
        wasm: &[u8],
    ) -> Result<(), String> {
        self.stats.modules += 1;
        match self.module_inner(hoist_engine, wasmi_engine, wasm) {
            Ok(()) => Ok(()),
            Err(Stop::Mismatch(message)) => Err(message),
            Err(Stop::OneSidedExhaustion) => {
                self.stats.one_side_exhausted += 1;
                Ok(())
            }
        }
    }

    fn module_inner(
        &mut self,
        hoist_engine: &hoist::Engine,
        wasmi_engine: &wasmi::Engine,
        wasm: &[u8],
    ) -> Result<(), Stop> {
        // Compile. Both must accept every module wasm-smith makes.
        let hoist_module = hoist::Module::from_binary(hoist_engine, wasm)
            .map_err(|err| format!("hoist rejected the module: {err:#}"))?;
        let wasmi_module = wasmi::Module::new(wasmi_engine, wasm)
            .map_err(|err| format!("wasmi rejected the module: {err}"))?;

        // Instantiate: segments and the start function run here.
        let mut hs = hoist::Store::new(hoist_engine, ());
        let mut ws = wasmi::Store::new(wasmi_engine, ());
        let hi = hoist::Instance::new(&mut hs, &hoist_module, &[]);
        let wi = wasmi::Instance::new(&mut ws, &wasmi_module, &[]);
        let (hi, wi) = match (hi, wi) {
            (Ok(hi), Ok(wi)) => (hi, wi),
            (hi, wi) => {
                let h = match hi {
                    Ok(_) => Outcome::Returned(Vec::new()),
                    Err(err) => hoist_outcome(&err),
                };
                let w = match wi {
                    Ok(_) => Outcome::Returned(Vec::new()),
                    Err(err) => wasmi_outcome(&err),
                };
                if h.is_stack_overflow() != w.is_stack_overflow() {
                    eprintln!(
                        "{} seed {}: only one engine exhausted the stack while \
                         instantiating: hoist {h}; wasmi {w}",
                        self.test, self.seed
                    );
                    return Err(Stop::OneSidedExhaustion);
                }
                // wasmi reports segments that do not fit as an error of its
                // own rather than a trap, so two failures agree unless both
                // are traps of different kinds.
                let agree = match (&h, &w) {
                    (Outcome::Returned(_), _) | (_, Outcome::Returned(_)) => false,
                    (Outcome::Trapped(_), Outcome::Trapped(_)) => h.agrees(&w),
                    _ => true,
                };
                if !agree {
                    return Err(Stop::Mismatch(format!(
                        "instantiation: hoist {h}; wasmi {w}"
                    )));
                }
                self.stats.instantiation_failed += 1;
                return Ok(());
            }
        };

        let exports = Exports::new(&mut hs, hi, &ws, wi)?;
        exports.compare_state(&mut hs, &ws, "after instantiation")?;

        for (name, hf, wf) in &exports.funcs {
            let ty = hf.ty(&hs);
            for args in argument_lists(ty.params()) {
                if self.verbose {
                    eprintln!(
                        "{} seed {}: call {name:?} {}",
                        self.test,
                        self.seed,
                        show_args(&args)
                    );
                }
                exports.refuel(&mut hs, &mut ws);
                let h = call_hoist(&mut hs, *hf, &args, ty.results().len(), &exports);
                let w = call_wasmi(&mut ws, *wf, &args, ty.results().len(), &exports);
                self.stats.calls += 1;
                let context =
                    || format!("export {name:?} {}: hoist {h}; wasmi {w}", show_args(&args));
                match (h.is_stack_overflow(), w.is_stack_overflow()) {
                    (true, true) => {
                        // Agreement, but each engine stopped at its own
                        // depth, so what the frames did before differs.
                        self.stats.both_exhausted += 1;
                        return Ok(());
                    }
                    (false, false) => {}
                    _ => {
                        // Fuel is spent on each call and loop iteration, so
                        // what hoist spent bounds the depth it reached.
                        eprintln!(
                            "{} seed {}: only one engine exhausted the stack \
                             ({} fuel spent in hoist): {}",
                            self.test,
                            self.seed,
                            FUEL as i32 - exports.fuel_left(&mut hs),
                            context()
                        );
                        return Err(Stop::OneSidedExhaustion);
                    }
                }
                if !h.agrees(&w) {
                    return Err(Stop::Mismatch(context()));
                }
                match &h {
                    Outcome::Returned(_) => self.stats.returned += 1,
                    Outcome::Trapped(trap) => {
                        // wasm-smith's fuel check ends in `unreachable`.
                        let kind = match trap {
                            Trap::Unreachable if exports.fuel_left(&mut hs) == 0 => {
                                "OutOfFuel".to_string()
                            }
                            trap => format!("{trap:?}"),
                        };
                        *self.stats.trapped.entry(kind).or_default() += 1;
                    }
                    Outcome::Failed(_) => {
                        *self.stats.trapped.entry("Failed".into()).or_default() += 1
                    }
                }
                exports.compare_state(
                    &mut hs,
                    &ws,
                    &format!("after export {name:?} {}", show_args(&args)),
                )?;
            }
        }
        Ok(())
    }
}

/// A module's exports, paired up between the engines by name.
struct Exports {
    funcs: Vec<(String, hoist::Func, wasmi::Func)>,
    globals: Vec<(String, hoist::Global, wasmi::Global)>,
    memories: Vec<(String, hoist::Memory, wasmi::Memory)>,
    tables: Vec<(String, hoist::Table, wasmi::Table)>,
    fuel: (hoist::Global, wasmi::Global),
    /// Exported functions by identity, to name the funcrefs that values hold.
    hoist_names: HashMap<hoist::Func, String>,
    /// The same for wasmi, whose functions are told apart by their `Debug`
    /// form (a store index): it has no other public identity.
    wasmi_names: HashMap<String, String>,
}

impl Exports {
    fn new(
        hs: &mut hoist::Store<()>,
        hi: hoist::Instance,
        ws: &wasmi::Store<()>,
        wi: wasmi::Instance,
    ) -> Result<Exports, String> {
        let mut exports = Exports {
            funcs: Vec::new(),
            globals: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            fuel: (
                hi.get_global(hs, FUEL_EXPORT)
                    .ok_or("hoist: no fuel export")?,
                wi.get_global(ws, FUEL_EXPORT)
                    .ok_or("wasmi: no fuel export")?,
            ),
            hoist_names: HashMap::new(),
            wasmi_names: HashMap::new(),
        };
        for (name, ext) in hi.exports(hs) {
            let missing = || format!("export {name:?}: wasmi has none of that kind");
            match ext {
                hoist::Extern::Func(hf) => {
                    let wf = wi.get_func(ws, &name).ok_or_else(missing)?;
                    exports
                        .hoist_names
                        .entry(hf)
                        .or_insert_with(|| name.clone());
                    exports
                        .wasmi_names
                        .entry(format!("{wf:?}"))
                        .or_insert_with(|| name.clone());
                    exports.funcs.push((name, hf, wf));
                }
                hoist::Extern::Global(hg) => {
                    if name != FUEL_EXPORT {
                        let wg = wi.get_global(ws, &name).ok_or_else(missing)?;
                        exports.globals.push((name, hg, wg));
                    }
                }
                hoist::Extern::Memory(hm) => {
                    let wm = wi.get_memory(ws, &name).ok_or_else(missing)?;
                    exports.memories.push((name, hm, wm));
                }
                hoist::Extern::Table(ht) => {
                    let wt = wi.get_table(ws, &name).ok_or_else(missing)?;
                    exports.tables.push((name, ht, wt));
                }
                hoist::Extern::Tag(_) => return Err(missing()),
            }
        }
        let wasmi_count = wi.exports(ws).count();
        let hoist_count = exports.funcs.len()
            + exports.globals.len()
            + exports.memories.len()
            + exports.tables.len()
            + 1;
        if wasmi_count != hoist_count {
            return Err(format!(
                "hoist has {hoist_count} exports, wasmi {wasmi_count}"
            ));
        }
        Ok(exports)
    }

    fn fuel_left(&self, hs: &mut hoist::Store<()>) -> i32 {
        self.fuel.0.get(hs).i32().expect("fuel is an i32")
    }

    fn refuel(&self, hs: &mut hoist::Store<()>, ws: &mut wasmi::Store<()>) {
        self.fuel
            .0
            .set(hs, hoist::Val::I32(FUEL as i32))
            .expect("hoist: set fuel");
        self.fuel
            .1
            .set(ws, wasmi::Val::I32(FUEL as i32))
            .expect("wasmi: set fuel");
    }

    /// Compares every exported global, memory and table.
    fn compare_state(
        &self,
        hs: &mut hoist::Store<()>,
        ws: &wasmi::Store<()>,
        when: &str,
    ) -> Result<(), String> {
        for (name, hg, wg) in &self.globals {
            let h = self.hoist_value(&hg.get(hs));
            let w = self.wasmi_value(&wg.get(ws));
            if !h.agrees(&w) {
                return Err(format!("{when}: global {name:?}: hoist {h}; wasmi {w}"));
            }
        }
        for (name, hm, wm) in &self.memories {
            let h = hm.data(hs);
            let w = wm.data(ws);
            if h.len() != w.len() {
                return Err(format!(
                    "{when}: memory {name:?}: hoist has {} bytes, wasmi {}",
                    h.len(),
                    w.len()
                ));
            }
            if let Some(at) = h.iter().zip(w).position(|(a, b)| a != b) {
                let end = (at + 16).min(h.len());
                return Err(format!(
                    "{when}: memory {name:?} differs first at {at:#x}: \
                     hoist {:02x?}; wasmi {:02x?}",
                    &h[at..end],
                    &w[at..end]
                ));
            }
        }
        for (name, ht, wt) in &self.tables {
            let size = ht.size(hs);
            if u64::from(size) != wt.size(ws) {
                return Err(format!(
                    "{when}: table {name:?}: hoist has {size} elements, wasmi {}",
                    wt.size(ws)
                ));
            }
            for i in 0..size {
                let h = self.hoist_value(&ht.get(hs, i).expect("hoist: table element"));
                let w = self.wasmi_value(&wt.get(ws, u64::from(i)).expect("wasmi: table element"));
                if !h.agrees(&w) {
                    return Err(format!("{when}: table {name:?}[{i}]: hoist {h}; wasmi {w}"));
                }
            }
        }
        Ok(())
    }

    fn hoist_value(&self, val: &hoist::Val) -> Value {
        match val {
            hoist::Val::I32(v) => Value::I32(*v),
            hoist::Val::I64(v) => Value::I64(*v),
            hoist::Val::F32(v) => Value::F32(*v),
            hoist::Val::F64(v) => Value::F64(*v),
            hoist::Val::V128(v) => Value::V128(*v),
            hoist::Val::FuncRef(f) => Value::FuncRef(f.map(|f| {
                self.hoist_names
                    .get(&f)
                    .cloned()
                    .unwrap_or_else(|| "?".to_string())
            })),
            hoist::Val::ExternRef(e) => Value::ExternRef(e.is_some()),
            // wasm-smith here makes neither exceptions nor GC objects.
            hoist::Val::ExnRef(_) | hoist::Val::AnyRef(_) => Value::ExternRef(false),
        }
    }

    fn wasmi_value(&self, val: &wasmi::Val) -> Value {
        match val {
            wasmi::Val::I32(v) => Value::I32(*v),
            wasmi::Val::I64(v) => Value::I64(*v),
            wasmi::Val::F32(v) => Value::F32(v.to_bits()),
            wasmi::Val::F64(v) => Value::F64(v.to_bits()),
            wasmi::Val::V128(v) => Value::V128(v.as_u128()),
            wasmi::Val::FuncRef(f) => Value::FuncRef(match f {
                wasmi::Ref::Null => None,
                wasmi::Ref::Val(f) => Some(
                    self.wasmi_names
                        .get(&format!("{f:?}"))
                        .cloned()
                        .unwrap_or_else(|| "?".to_string()),
                ),
            }),
            wasmi::Val::ExternRef(e) => Value::ExternRef(!e.is_null()),
        }
    }
}

fn to_hoist(value: &Value) -> hoist::Val {
    match value {
        Value::I32(v) => hoist::Val::I32(*v),
        Value::I64(v) => hoist::Val::I64(*v),
        Value::F32(v) => hoist::Val::F32(*v),
        Value::F64(v) => hoist::Val::F64(*v),
        Value::V128(v) => hoist::Val::V128(*v),
        Value::FuncRef(None) => hoist::Val::FuncRef(None),
        Value::ExternRef(false) => hoist::Val::ExternRef(None),
        _ => unreachable!("only null references are passed"),
    }
}

fn to_wasmi(value: &Value) -> wasmi::Val {
    match value {
        Value::I32(v) => wasmi::Val::I32(*v),
        Value::I64(v) => wasmi::Val::I64(*v),
        Value::F32(v) => wasmi::Val::F32(wasmi::F32::from_bits(*v)),
        Value::F64(v) => wasmi::Val::F64(wasmi::F64::from_bits(*v)),
        Value::V128(v) => wasmi::Val::V128(wasmi::V128::from(*v)),
        Value::FuncRef(None) => wasmi::Val::FuncRef(wasmi::Ref::Null),
        Value::ExternRef(false) => wasmi::Val::ExternRef(wasmi::Ref::Null),
        _ => unreachable!("only null references are passed"),
    }
}

fn call_hoist(
    store: &mut hoist::Store<()>,
    func: hoist::Func,
    args: &[Value],
    results: usize,
    exports: &Exports,
) -> Outcome {
    let args: Vec<hoist::Val> = args.iter().map(to_hoist).collect();
    let mut out = vec![hoist::Val::I32(0); results];
    match func.call(store, &args, &mut out) {
        Ok(()) => Outcome::Returned(out.iter().map(|v| exports.hoist_value(v)).collect()),
        Err(err) => hoist_outcome(&err),
    }
}

fn call_wasmi(
    store: &mut wasmi::Store<()>,
    func: wasmi::Func,
    args: &[Value],
    results: usize,
    exports: &Exports,
) -> Outcome {
    let args: Vec<wasmi::Val> = args.iter().map(to_wasmi).collect();
    let ty = func.ty(&*store);
    let mut out: Vec<wasmi::Val> = ty
        .results()
        .iter()
        .map(|ty| wasmi::Val::default(*ty))
        .collect();
    assert_eq!(out.len(), results);
    match func.call(&mut *store, &args, &mut out) {
        Ok(()) => Outcome::Returned(out.iter().map(|v| exports.wasmi_value(v)).collect()),
        Err(err) => wasmi_outcome(&err),
    }
}

fn hoist_outcome(err: &hoist::Error) -> Outcome {
    use hoist::TrapCode as C;
    let Some(trap) = err.downcast_ref::<hoist::Trap>() else {
        return Outcome::Failed(format!("{err:#}"));
    };
    Outcome::Trapped(match trap.code() {
        Some(C::StackOverflow) => Trap::StackOverflow,
        Some(C::MemoryOutOfBounds) => Trap::MemoryOutOfBounds,
        Some(C::TableOutOfBounds) => Trap::TableOutOfBounds,
        Some(C::IndirectCallToNull) => Trap::IndirectCallToNull,
        Some(C::BadSignature) => Trap::BadSignature,
        Some(C::IntegerOverflow) => Trap::IntegerOverflow,
        Some(C::IntegerDivisionByZero) => Trap::IntegerDivisionByZero,
        Some(C::BadConversionToInteger) => Trap::BadConversionToInteger,
        Some(C::UnreachableCodeReached) => Trap::Unreachable,
        // The spec says "undefined element" for a `call_indirect` past the
        // table's end and "out of bounds table access" for the table
        // instructions; wasmi has one code for both.
        Some(C::UndefinedElement) => Trap::TableOutOfBounds,
        Some(C::HostTrap) => Trap::Other("hoist: host trap"),
        // Wasm 3.0 traps wasm-smith does not make here (no typed function
        // references, atomics or GC in the generated modules).
        Some(
            C::NullReference
            | C::NullFunctionReference
            | C::UnalignedAtomic
            | C::CastFailure
            | C::NullStructReference
            | C::NullArrayReference
            | C::ArrayOutOfBounds
            | C::NullI31Reference
            | C::AtomicWaitNonSharedMemory,
        ) => Trap::Other("hoist: a Wasm 3.0 trap"),
        Some(C::Interrupt | C::OutOfFuel | C::GrowFailure | C::GcHeapOutOfMemory) => {
            Trap::Other("hoist: a limit")
        }
        None => Trap::Other("hoist: trap without a code"),
    })
}

fn wasmi_outcome(err: &wasmi::Error) -> Outcome {
    use wasmi::errors::{ErrorKind, MemoryError, TableError};
    use wasmi::TrapCode as C;
    let Some(code) = err.as_trap_code() else {
        // Some bulk operations that run past the end report the failing
        // table or memory operation instead of a trap code.
        return match err.kind() {
            ErrorKind::Table(
                TableError::CopyOutOfBounds
                | TableError::FillOutOfBounds
                | TableError::InitOutOfBounds
                | TableError::SetOutOfBounds,
            ) => Outcome::Trapped(Trap::TableOutOfBounds),
            ErrorKind::Memory(MemoryError::OutOfBoundsAccess) => {
                Outcome::Trapped(Trap::MemoryOutOfBounds)
            }
            _ => Outcome::Failed(err.to_string()),
        };
    };
    Outcome::Trapped(match code {
        C::StackOverflow => Trap::StackOverflow,
        C::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
        C::TableOutOfBounds => Trap::TableOutOfBounds,
        C::IndirectCallToNull => Trap::IndirectCallToNull,
        C::BadSignature => Trap::BadSignature,
        C::IntegerOverflow => Trap::IntegerOverflow,
        C::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
        C::BadConversionToInteger => Trap::BadConversionToInteger,
        C::UnreachableCodeReached => Trap::Unreachable,
        C::OutOfFuel => Trap::Other("wasmi: out of fuel"),
        C::GrowthOperationLimited => Trap::Other("wasmi: growth operation limited"),
    })
}
