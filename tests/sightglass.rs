//! The Sightglass benchmark programs from ../shared (see its README) under
//! hoist: they run with their expected output, the same from artifacts, and
//! compile for every target. Needs ../shared beside the project, so .ci/run
//! runs it after the README's test command (`cargo test --test sightglass`).

mod artifacts;

use artifacts::*;
use std::path::{Path, PathBuf};
use std::process::Output;

fn sightglass() -> PathBuf {
    let dir = root().join("../shared/benchmarks/sightglass");
    assert!(
        dir.is_dir(),
        "the Sightglass programs are expected at {}",
        dir.display()
    );
    dir
}

#[test]
fn sightglass_programs_run_the_same_from_artifacts() {
    let dir = scratch("sightglass");
    let bench = bench_module(&dir);
    let preload = format!("bench={}", bench.display());
    for name in ["bz2", "quicksort", "pulldown-cmark", "regex"] {
        let folder = sightglass().join(name);
        let out = assert_same(
            &folder.join("benchmark.wasm"),
            &["--dir", ".", "--preload", &preload],
            &[],
            &folder,
            &dir,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = folder.join("benchmark.stdout.expected");
        let expected = if expected.exists() {
            expected
        } else {
            folder.join("default.stdout.expected")
        };
        if let Ok(expected) = std::fs::read(&expected) {
            assert!(
                out.stdout == expected,
                "{name}: stdout differs from its expected output"
            );
        }
    }
}

/// Every core-module Sightglass program hoist can compile today: not the
/// components (cm-online-stats, kotlin-richards), not wasi-nn
/// (image-classification), and not yet the SIMD ones.
fn scalar_programs() -> Vec<PathBuf> {
    const SKIP: &[&str] = &[
        "cm-online-stats",
        "kotlin-richards",
        "image-classification",
        "blake3-simd",
        "hex-simd",
        "intgemm-simd",
        "meshoptimizer",
        "libsodium",
    ];
    let mut programs = Vec::new();
    for folder in std::fs::read_dir(sightglass()).unwrap() {
        let folder = folder.unwrap().path();
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        if !folder.is_dir() || SKIP.contains(&name.as_str()) {
            continue;
        }
        for file in std::fs::read_dir(&folder).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "wasm") {
                programs.push(file);
            }
        }
    }
    programs.sort();
    programs
}

#[test]
fn sightglass_programs_compile_for_every_target() {
    let programs = scalar_programs();
    assert!(
        programs.len() >= 30,
        "found only {} programs",
        programs.len()
    );
    for (triple, machine) in TARGETS {
        let engine =
            hoist::Engine::new(hoist::Config::new().target(triple.parse().unwrap())).unwrap();
        for program in &programs {
            let wasm = std::fs::read(program).unwrap();
            let image = engine
                .precompile_module(&wasm)
                .unwrap_or_else(|e| panic!("{} for {triple}: {e:?}", program.display()));
            assert_eq!(
                elf_machine(&image),
                machine,
                "{} for {triple}",
                program.display()
            );
        }
    }
}

/// The programs that use SIMD: blake3-simd, hex-simd, intgemm-simd,
/// meshoptimizer (each `benchmark.wasm`) and the libsodium ones.
fn simd_programs() -> Vec<PathBuf> {
    let mut programs: Vec<PathBuf> = ["blake3-simd", "hex-simd", "intgemm-simd", "meshoptimizer"]
        .iter()
        .map(|name| sightglass().join(name).join("benchmark.wasm"))
        .collect();
    let libsodium = sightglass().join("libsodium");
    let mut sodium: Vec<PathBuf> = std::fs::read_dir(&libsodium)
        .unwrap()
        .map(|file| file.unwrap().path())
        .filter(|file| file.extension().is_some_and(|e| e == "wasm"))
        .collect();
    sodium.sort();
    programs.extend(sodium);
    programs
}

/// Checks `out` against the program's expected stdout and stderr, as
/// Sightglass does: `<stem>.std{out,err}.expected`, else
/// `default.std{out,err}.expected`, compared line by line; a stream
/// without an expected file is not checked.
fn assert_expected_output(program: &Path, out: &Output, how: &str) {
    let folder = program.parent().unwrap();
    let stem = program.file_stem().unwrap().to_string_lossy();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{} ({how}): {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    for (stream, actual) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let expected = [stem.as_ref(), "default"]
            .iter()
            .map(|name| folder.join(format!("{name}.{stream}.expected")))
            .find(|path| path.exists());
        let Some(expected) = expected else { continue };
        let expected = std::fs::read(&expected).unwrap();
        let lines = |bytes: &[u8]| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert!(
            lines(actual) == lines(&expected),
            "{} ({how}): {stream} differs from its expected output",
            program.display()
        );
    }
}

/// Every SIMD program prints what Sightglass expects, JIT-compiled with
/// this CPU's features and from an artifact compiled for the x86_64 (or
/// aarch64) baseline, which on x86_64 has no SSSE3 or SSE4.1 and so takes
/// the translator's fallbacks for shuffles, swizzles and rounding.
#[test]
fn simd_programs_produce_their_expected_output() {
    let dir = scratch("simd");
    let bench = bench_module(&dir);
    let preload = format!("bench={}", bench.display());
    let programs = simd_programs();
    assert!(
        programs.len() >= 80,
        "found only {} programs",
        programs.len()
    );
    for program in &programs {
        let folder = program.parent().unwrap();
        let options = ["--dir", ".", "--preload", &preload];
        let with = |module: &Path| {
            let mut args = options.to_vec();
            args.push(module.to_str().unwrap());
            run(&args, folder)
        };
        assert_expected_output(program, &with(program), "native");
        let artifact = dir.join(format!(
            "{}.hwasm",
            program.file_stem().unwrap().to_string_lossy()
        ));
        compile(program, &artifact, &["--cpu", "baseline"]);
        assert_expected_output(program, &with(&artifact), "baseline artifact");
    }
}

/// The SIMD programs compile for x86_64 and aarch64; riscv64 without the V
/// extension refuses those that use v128 with a plain error.
#[test]
fn simd_programs_compile_for_x86_64_and_aarch64_and_riscv64_refuses_them() {
    for (triple, machine) in TARGETS {
        let engine =
            hoist::Engine::new(hoist::Config::new().target(triple.parse().unwrap())).unwrap();
        for program in simd_programs() {
            let wasm = std::fs::read(&program).unwrap();
            let result = engine.precompile_module(&wasm);
            if triple.starts_with("riscv64") {
                match result {
                    // Two of the libsodium programs have no v128 at all.
                    Ok(_) => assert!(
                        program.to_string_lossy().contains("libsodium"),
                        "{} for {triple} compiled",
                        program.display()
                    ),
                    Err(e) => assert!(
                        format!("{e:#}").contains("needs the vector extension (V)"),
                        "{} for {triple}: {e:#}",
                        program.display()
                    ),
                }
            } else {
                let image =
                    result.unwrap_or_else(|e| panic!("{} for {triple}: {e:?}", program.display()));
                assert_eq!(
                    elf_machine(&image),
                    machine,
                    "{} for {triple}",
                    program.display()
                );
            }
        }
    }
}

/// `splay`, the GC program (structs, arrays and casts; a splay tree of
/// 8000 nodes with payloads, about 20 MiB live): its expected output from
/// the .wasm and from an artifact, with the default GC heap and with one
/// just large enough (24 MiB) that it collects often.
#[test]
fn splay_runs_with_its_expected_output_from_wasm_and_artifact() {
    let dir = scratch("splay");
    let bench = bench_module(&dir);
    let preload = format!("bench={}", bench.display());
    let program = sightglass().join("splay").join("splay.wasm");
    let folder = program.parent().unwrap();
    let artifact = dir.join("splay.hwasm");
    compile(&program, &artifact, &[]);
    for (module, how) in [(&program, "wasm"), (&artifact, "artifact")] {
        for heap in [None, Some("24MiB")] {
            let mut args = vec!["--dir", ".", "--preload", &preload];
            if let Some(heap) = heap {
                args.extend(["--max-gc-heap", heap]);
            }
            args.push(module.to_str().unwrap());
            assert_expected_output(&program, &run(&args, folder), how);
        }
    }
}
