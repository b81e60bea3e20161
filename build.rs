//! Links the unwinder statically into the `hoist` binary on GNU/Linux.
//!
//! Rust's std links `libgcc_s.so.1` for `_Unwind_*`. Loading it costs every
//! run of `hoist` about 0.1 ms: one more library for the dynamic loader to
//! map and relocate, and its constructor's CPU model detection, whose
//! `cpuid` instructions each exit to the hypervisor on a virtual machine.
//! The same unwinder is in gcc's `libgcc_eh.a` (what static binaries use),
//! so a `libgcc_s.so` linker script naming it is put first on the library
//! path. Where the toolchain has no `libgcc_eh.a`, nothing changes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("TARGET") == var("HOST");
    if !(native && var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu") {
        return;
    }
    if var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "crt-static")
    {
        return; // Already static: std links libgcc_eh itself.
    }
    let Some(libgcc_eh) = find_library("libgcc_eh.a") else {
        return;
    };
    let dir = PathBuf::from(var("OUT_DIR")).join("static-unwinder");
    let script = format!("INPUT(\"{}\")\n", libgcc_eh.display());
    if std::fs::create_dir_all(&dir).is_err()
        || std::fs::write(dir.join("libgcc_s.so"), script).is_err()
    {
        return;
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
}

/// The path the C compiler (the linker driver) finds `name` at, if any.
fn find_library(name: &str) -> Option<PathBuf> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(cc)
        .arg(format!("-print-file-name={name}"))
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    // Not found: the driver prints the bare name back.
    (path.is_absolute() && Path::new(&path).is_file()).then_some(path)
}
