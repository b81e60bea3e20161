//! Helpers shared by the artifact tests (tests/aot.rs, tests/sightglass.rs,
//! tests/kernels.rs): running the hoist binary, compiling artifacts, comparing runs.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

#[path = "../support/mod.rs"]
mod support;
#[allow(unused_imports)]
pub use support::{hoist, private_home, walk, Scratch};

/// Writes into `dir` the `bench` module Sightglass programs (and the
/// kernels in benches/kernels) import: `start` and `end`, doing nothing.
pub fn bench_module(dir: &Path) -> PathBuf {
    let path = dir.join("bench.wat");
    std::fs::write(
        &path,
        r#"(module (func (export "start")) (func (export "end")))"#,
    )
    .unwrap();
    path
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory for one test, removed at its end.
pub fn scratch(name: &str) -> Scratch {
    Scratch::new(&format!("aot-{name}"))
}

pub fn run(args: &[&str], cwd: &Path) -> Output {
    hoist()
        .arg("run")
        .arg("--no-cache")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("hoist runs")
}

pub fn compile(module: &Path, out: &Path, extra: &[&str]) {
    let status = hoist()
        .arg("compile")
        .arg(module)
        .arg("-o")
        .arg(out)
        .args(extra)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "hoist compile {} failed",
        module.display()
    );
}

/// Runs `module` (with `options` before it and `args` after) as .wasm and
/// as a compiled artifact; both must print the same and exit the same.
pub fn assert_same(
    module: &Path,
    options: &[&str],
    args: &[&str],
    cwd: &Path,
    scratch: &Path,
) -> Output {
    let artifact = scratch.join(format!(
        "{}.hwasm",
        module.file_stem().unwrap().to_string_lossy()
    ));
    compile(module, &artifact, &[]);
    let with = |m: &Path| {
        let mut all: Vec<&str> = options.to_vec();
        all.push(m.to_str().unwrap());
        all.extend_from_slice(args);
        run(&all, cwd)
    };
    let from_wasm = with(module);
    let from_artifact = with(&artifact);
    assert_eq!(
        from_wasm.status.code(),
        from_artifact.status.code(),
        "{}: exit status differs",
        module.display()
    );
    assert!(
        from_wasm.stdout == from_artifact.stdout,
        "{}: stdout differs",
        module.display()
    );
    from_wasm
}

/// The ELF machine field of an image.
pub fn elf_machine(image: &[u8]) -> u16 {
    assert_eq!(&image[..4], b"\x7fELF");
    u16::from_le_bytes([image[18], image[19]])
}

pub const TARGETS: [(&str, u16); 3] = [
    ("x86_64-unknown-linux-gnu", 62),
    ("aarch64-unknown-linux-gnu", 183),
    ("riscv64gc-unknown-linux-gnu", 243),
];
