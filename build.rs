//! Link settings of the `hoist` binary: its start-up code first in .text,
//! and the unwinder linked statically on GNU/Linux.
//!
//! Start-up code: `src/startup-symbols.txt` lists the functions that run
//! to start a small program (`benches/startup-symbols.sh` writes it), and
//! the linker places them together at the start of .text, so start-up
//! faults in a few hundred KiB of code rather than pages across 10 MB (peak
//! RSS of a hello world 8.9 -> 7.1 MiB). Only where rustc links with its
//! own lld, as it does by default on x86_64 Linux (other linkers do not
//! take the option); names that no longer exist are skipped.
//!
//! The unwinder:
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
    println!("cargo:rerun-if-changed=src/startup-symbols.txt");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    // A configured linker, or flags choosing one, may not be lld.
    let linker_chosen = std::env::var_os("RUSTC_LINKER").is_some()
        || var("CARGO_ENCODED_RUSTFLAGS").contains("link");
    if var("TARGET") == "x86_64-unknown-linux-gnu" && !linker_chosen {
        let symbols = PathBuf::from(var("CARGO_MANIFEST_DIR")).join("src/startup-symbols.txt");
        // `-Wl,` splits its argument at commas.
        if symbols.is_file() && !symbols.to_string_lossy().contains(',') {
            println!(
                "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
                symbols.display()
            );
            println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
        }
    }
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
