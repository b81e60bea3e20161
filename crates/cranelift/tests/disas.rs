//! Golden codegen tests: one named trial per `tests/disas/*.wat`.
//!
//! Each module is compiled for `x86_64-unknown-linux-gnu` (baseline
//! features, so the output does not depend on the host CPU) with the default
//! tunables, and [`hoist_cranelift::disassemble`]'s text is compared with
//! `tests/disas/<name>.clif`. Run with `HOIST_TEST_BLESS=1` to (re)write the
//! golden files instead; review the diff before committing it.
//!
//! Some cases also assert a property of the generated code directly (see
//! [`PROPERTIES`]), so that blessing cannot silently accept, say, a bounds
//! check coming back where the guard pages make it unnecessary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use cranelift_codegen::isa::TargetIsa;
use hoist_cranelift::{build_isa, disassemble, CompilerOptions, Cpu};
use hoist_environ::Tunables;
use libtest_mimic::{Arguments, Failed, Trial};

const BLESS_VAR: &str = "HOIST_TEST_BLESS";
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// How many lines of each side a mismatch report shows.
const SHOWN_DIFF_LINES: usize = 40;

/// A check on the generated code of one case, beyond the golden comparison.
type Property = fn(&str) -> Result<(), String>;

/// Cases whose output must have a property, whatever the golden file says.
/// A name here that matches no `.wat` file fails the run.
const PROPERTIES: &[(&str, Property)] = &[
    ("load-i32-no-bounds-check", |out| {
        // Offset 16 + 4 bytes fits in the 32 MiB guard: no explicit check.
        let clif = optimized_clif(out, 0)?;
        require_opcode(clif, "uextend", true)?;
        for opcode in [
            "icmp",
            "icmp_imm",
            "select_spectre_guard",
            "trap",
            "trapz",
            "trapnz",
        ] {
            require_opcode(clif, opcode, false)?;
        }
        // The base is read straight from the vmctx (`load ... v0+N`), not
        // through the memory's definition: one load before the access.
        require_loads(clif, 2)
    }),
    ("call-indirect-fixed-table", |out| {
        // The bound is a constant and the base one load from the vmctx:
        // loads of the base, the funcref, its type id, the expected type
        // id, its code and its vmctx; nothing of the table's definition.
        require_loads(optimized_clif(out, 0)?, 6)
    }),
    ("global-across-heap-store", |out| {
        // The stack-pointer global once (not again after the heap stores),
        // the heap base, the imported global's pointer; its value after
        // the store to it is the stored value.
        require_loads(optimized_clif(out, 0)?, 3)
    }),
    ("i64x2-from-two-i64s", |out| {
        // The `insertlane` takes the `splat` itself, not a bitcast of a
        // bitcast of it: x86-64 with SSE4.1 lowers that pair to a `movq`
        // and a `pinsrq` (the golden's baseline CPU has no `pinsrq`).
        for function in 0..2 {
            let clif = optimized_clif(out, function)?;
            require_opcode(clif, "splat", true)?;
            if clif.contains("bitcast.i64x2") {
                return Err(format!("a v128 is cast back to i64x2:\n{clif}"));
            }
        }
        Ok(())
    }),
    ("load-big-offset-bounds-check", |out| {
        // Offset 256 MiB is past the 32 MiB guard: compare and guard.
        let clif = optimized_clif(out, 0)?;
        require_opcode(clif, "icmp", true)?;
        require_opcode(clif, "select_spectre_guard", true)
    }),
    ("memory-copy-fill", |out| {
        // Checked inline (a compare and a trap per range), then a call
        // with no result.
        for function in 0..3 {
            let clif = optimized_clif(out, function)?;
            require_opcode(clif, "trapnz", true)?;
            require_opcode(clif, "select_spectre_guard", true)?;
            if !clif.contains("call_indirect") {
                return Err(format!("no builtin call:\n{clif}"));
            }
            if clif.lines().any(|line| line.contains("= call_indirect")) {
                return Err(format!("the builtin call has a result:\n{clif}"));
            }
            // 32-bit operands cannot wrap; a 64-bit index can, and its
            // carry must be part of the condition the Spectre guard uses.
            require_opcode(clif, "uadd_overflow", function == 2)?;
            require_opcode(clif, "bor", function == 2)?;
        }
        Ok(())
    }),
    ("shared-memory-size", |out| {
        // Both `memory.size`s load the length (atomically).
        let clif = optimized_clif(out, 0)?;
        let atomic = clif.matches("atomic_load").count();
        if atomic != 2 {
            return Err(format!("expected 2 atomic_loads, found {atomic}:\n{clif}"));
        }
        if !clif.contains(" store ") {
            return Err(format!("no store in the optimized CLIF:\n{clif}"));
        }
        if clif.contains("region") {
            return Err(format!(
                "a shared memory's access has an alias region:\n{clif}"
            ));
        }
        Ok(())
    }),
    ("simd-baseline-fallbacks", |out| {
        // Only the shuffle SSE2 can do stays a `shuffle`; the others, and
        // the rounding, must not reach Cranelift (they would be libcalls).
        require_opcode(optimized_clif(out, 0)?, "shuffle", true)?;
        require_opcode(optimized_clif(out, 1)?, "shuffle", false)?;
        require_opcode(optimized_clif(out, 2)?, "swizzle", false)?;
        let ceil = optimized_clif(out, 3)?;
        require_opcode(ceil, "ceil", false)?;
        require_opcode(ceil, "call_indirect", true)
    }),
];

fn main() -> ExitCode {
    let args = Arguments::from_args();
    match collect() {
        Ok(trials) => libtest_mimic::run(&args, trials).exit_code(),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn collect() -> Result<Vec<Trial>, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/disas");
    let entries = std::fs::read_dir(&dir)
        .map_err(|err| format!("failed to read {}: {err}", dir.display()))?;
    let mut cases = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|err| format!("failed to read {}: {err}", dir.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "wat") {
            cases.push(path);
        }
    }
    cases.sort();
    if cases.is_empty() {
        return Err(format!("no .wat files in {}", dir.display()));
    }
    for (name, _) in PROPERTIES {
        if !cases.iter().any(|path| stem(path) == *name) {
            return Err(format!(
                "PROPERTIES names `{name}`, but there is no {name}.wat"
            ));
        }
    }

    let isa: Arc<dyn TargetIsa> = build_isa(&CompilerOptions {
        target: Some(
            TARGET
                .parse()
                .map_err(|err| format!("target {TARGET}: {err}"))?,
        ),
        // Named explicitly: on an x86_64 host, the target is the host, whose
        // default is its native features.
        cpu: Cpu::Baseline,
        // The verifier does not change the output; it catches invalid IR.
        verify: true,
        ..Default::default()
    })?;
    let bless = std::env::var_os(BLESS_VAR).is_some_and(|value| value == "1");

    Ok(cases
        .into_iter()
        .map(|path| {
            let isa = isa.clone();
            Trial::test(stem(&path), move || run_case(&*isa, &path, bless))
        })
        .collect())
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

fn run_case(isa: &dyn TargetIsa, wat_path: &Path, bless: bool) -> Result<(), Failed> {
    let name = stem(wat_path);
    let wasm = wat::parse_file(wat_path)?;
    let output = disassemble(isa, &Tunables::default(), &wasm)
        .map_err(|err| format!("compiling {name}.wat: {err}"))?;
    let actual = format!(
        ";; Generated from {name}.wat by tests/disas.rs ({TARGET}, default tunables).\n\
         ;; Do not edit; regenerate with {BLESS_VAR}=1 cargo test -p hoist-cranelift --test disas\n\n{output}"
    );

    let golden: PathBuf = wat_path.with_extension("clif");
    if bless {
        std::fs::write(&golden, &actual)
            .map_err(|err| format!("failed to write {}: {err}", golden.display()))?;
    }
    // Checked in bless mode too: blessing must not accept a broken property.
    if let Some((_, property)) = PROPERTIES.iter().find(|(case, _)| *case == name) {
        property(&actual).map_err(|err| format!("{name}: {err}\n\n{actual}"))?;
    }
    if bless {
        return Ok(());
    }

    let expected = match std::fs::read_to_string(&golden) {
        Ok(text) => text.replace("\r\n", "\n"),
        Err(err) => {
            return Err(format!(
                "failed to read {}: {err}\n\
                 To create it, run: {BLESS_VAR}=1 cargo test -p hoist-cranelift --test disas -- {name}",
                golden.display()
            )
            .into())
        }
    };
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "generated code differs from {}\n{}\n\
         If the new output is intended, bless it and review the diff:\n    \
         {BLESS_VAR}=1 cargo test -p hoist-cranelift --test disas -- {name}",
        golden.display(),
        diff(&expected, &actual)
    )
    .into())
}

/// The lines between the common prefix and common suffix of the two texts,
/// with 1-based line numbers: `-` for the golden file, `+` for the output.
fn diff(expected: &str, actual: &str) -> String {
    let old: Vec<&str> = expected.lines().collect();
    let new: Vec<&str> = actual.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let old_changed = &old[prefix..old.len() - suffix];
    let new_changed = &new[prefix..new.len() - suffix];

    let mut out = format!(
        "@@ golden lines {}..{}, output lines {}..{} @@\n",
        prefix + 1,
        prefix + old_changed.len(),
        prefix + 1,
        prefix + new_changed.len()
    );
    for (sign, lines) in [('-', old_changed), ('+', new_changed)] {
        for (i, line) in lines.iter().enumerate().take(SHOWN_DIFF_LINES) {
            out.push_str(&format!("{sign}{:>5} | {line}\n", prefix + i + 1));
        }
        if lines.len() > SHOWN_DIFF_LINES {
            out.push_str(&format!(
                "{sign}  ... {} more lines\n",
                lines.len() - SHOWN_DIFF_LINES
            ));
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str("(the texts differ in their final newline)\n");
    }
    out
}

/// The optimized CLIF of function `index` in `disassemble`'s output.
fn optimized_clif(output: &str, index: u32) -> Result<&str, String> {
    let header = format!(";; function {index}\n;; optimized CLIF\n");
    let start = output
        .find(&header)
        .ok_or_else(|| format!("no `{}` in the output", header.trim_end()))?
        + header.len();
    let len = output[start..]
        .find("\n;; lowered\n")
        .ok_or_else(|| format!("no lowered code after function {index}'s CLIF"))?;
    Ok(&output[start..start + len])
}

/// Requires that `clif`'s instructions include exactly `count` loads
/// (`vN = load.*`; the preamble's global values are not instructions).
fn require_loads(clif: &str, count: usize) -> Result<(), String> {
    let found = clif
        .lines()
        .filter(|line| {
            let Some((lhs, rhs)) = line.split_once(" = ") else {
                return false;
            };
            let is_value = lhs
                .split_whitespace()
                .last()
                .is_some_and(|v| v.starts_with('v'));
            is_value && rhs.trim_start().split('.').next() == Some("load")
        })
        .count();
    if found == count {
        Ok(())
    } else {
        Err(format!(
            "expected {count} loads in the optimized CLIF, found {found}:\n{clif}"
        ))
    }
}

/// Requires that some instruction in `clif` has (or that none has) `opcode`,
/// ignoring type suffixes (`load.i32` is `load`).
fn require_opcode(clif: &str, opcode: &str, present: bool) -> Result<(), String> {
    let found = clif.lines().any(|line| {
        let inst = line
            .split_once(" = ")
            .map_or(line, |(_, rhs)| rhs)
            .trim_start();
        // A result-less instruction's line starts with its source location.
        let mut words = inst.split_whitespace().skip_while(|w| w.starts_with('@'));
        let op = words.next().unwrap_or("");
        op.split('.').next() == Some(opcode)
    });
    match (present, found) {
        (true, false) => Err(format!(
            "expected a `{opcode}` instruction in the optimized CLIF:\n{clif}"
        )),
        (false, true) => Err(format!(
            "unexpected `{opcode}` instruction in the optimized CLIF:\n{clif}"
        )),
        _ => Ok(()),
    }
}
