//! Link settings of the `hoist` binary: its start-up code first in .text,
//! and the unwinder and C library linked statically on GNU/Linux.
//!
//! Start-up code: `src/startup-symbols.txt` lists the functions that run
//! to start a small program (`benches/startup-symbols.sh` writes it), and
//! a linker script (`-T`, with `INSERT` so the rest of the layout stays the
//! linker's) places them together at the start of .text, so start-up
//! faults in about a MiB of code rather than pages across 10 MB. Only where
//! rustc links with its own lld, as it does by default on x86_64 Linux;
//! patterns that match nothing are skipped. The list is written from the
//! release profile's whole-program (LTO) build, whose inlining decides
//! which functions exist; a build without LTO matches part of it.
//!
//! The unwinder:
//! Rust's std links `libgcc_s.so.1` for `_Unwind_*`. Loading it costs every
//! run of `hoist` about 0.1 ms: one more library for the dynamic loader to
//! map and relocate, and its constructor's CPU model detection, whose
//! `cpuid` instructions each exit to the hypervisor on a virtual machine.
//! The same unwinder is in gcc's `libgcc_eh.a` (what static binaries use),
//! so a `libgcc_s.so` linker script naming it is put first on the library
//! path. Where the toolchain has no `libgcc_eh.a`, nothing changes.
//!
//! The C library: where the toolchain has glibc's static archives and
//! `rcrt1.o`, the binary is a static PIE (as `-C target-feature=+crt-static`
//! makes, which cargo cannot give one binary of a workspace with proc
//! macros). Each run then skips the dynamic loader: no `libc.so.6` to map,
//! no symbol lookups, no second set of relocations; hello from an artifact
//! 1.6 -> 1.1 ms (`benches/startup.sh`). The libraries rustc names
//! (`-lc`, `-lm`, ...) resolve to linker scripts naming the archives, and
//! `-static-pie` picks the self-relocating start file. ASLR stays: the
//! binary is still position-independent. glibc's `getaddrinfo` (WasmEdge's
//! `sock_getaddrinfo`) reads `/etc/hosts` and DNS itself in a static binary
//! (its `files` and `dns` sources are built in since 2.34, which the
//! static link requires); other NSS sources named in `nsswitch.conf` are
//! skipped. `HOIST_LINK=dynamic` at build time, or a linker of one's own
//! choosing, keeps the shared C library.
//!
//! The static PIE's relative relocations are packed (`-z
//! pack-relative-relocs`, DT_RELR, which glibc's self-relocation reads
//! since 2.36): a bitmap of 3 KiB where the usual table took 320 KiB, 24
//! bytes per pointer that every run read before `main`. Hello from an
//! artifact: peak RSS 3,980 -> 3,656 KiB, page faults 87 -> 76, the
//! self-relocation 180k -> 146k instructions (the writes remain); wall
//! time unchanged within 1 % (3 x 1,500 runs interleaved with the
//! unpacked build).
//!
//! With the static C library, two steps of its start-up are trimmed: on
//! x86-64 the ELF entry is `hoist_entry` (src/prefault.rs), which asks the
//! kernel for the pages the self-relocation will write in one call before
//! jumping to `_start`, and `_dl_get_origin` is hoist's own
//! (src/startup.rs). Hello from an artifact, 1,500 interleaved runs on a
//! 2-core VM: 1.77 -> 1.72 -> 1.67 ms (medians).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(hoist_prefault)");
    println!("cargo::rustc-check-cfg=cfg(hoist_static_libc)");
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
        let script = PathBuf::from(var("OUT_DIR")).join("startup-order.ld");
        if let Ok(list) = std::fs::read_to_string(&symbols) {
            // `-Wl,` splits its argument at commas.
            if std::fs::write(&script, startup_order(&list)).is_ok()
                && !script.to_string_lossy().contains(',')
            {
                println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
            }
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
    println!("cargo:rerun-if-env-changed=HOIST_LINK");
    if var("HOIST_LINK") != "dynamic"
        && !linker_chosen
        && glibc_at_least(2, 34)
        && static_libc(
            &PathBuf::from(var("OUT_DIR")).join("static-libc"),
            &libgcc_eh,
        )
    {
        // src/startup.rs: what the static C library's start-up need not do.
        println!("cargo:rustc-cfg=hoist_static_libc");
        // glibc's static start-up applies DT_RELR from 2.36 on; an older
        // one would leave the packed pointers unrelocated.
        if glibc_at_least(2, 36) {
            println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        }
        // x86-64 with 64-bit pointers (not x32, whose ELF headers differ).
        if var("CARGO_CFG_TARGET_ARCH") == "x86_64" && var("CARGO_CFG_TARGET_POINTER_WIDTH") == "64"
        {
            // src/prefault.rs: the entry stub that populates the writable
            // segments before the static PIE relocates itself.
            println!("cargo:rustc-cfg=hoist_prefault");
            println!("cargo:rustc-link-arg-bins=-Wl,-e,hoist_entry");
        }
    }
}

/// Links the binary as a static PIE (see the crate comment): writes, into
/// `dir`, a `lib<name>.so` linker script for each C library rustc links,
/// naming its static archive, and asks the driver for `-static-pie` with
/// `dir` on the library path. Only the binary: the package's test binaries
/// stay dynamic PIEs, which must not take glibc's static archives. Does
/// nothing unless every archive and the start file are there; says whether
/// the binary is a static PIE.
fn static_libc(dir: &Path, libgcc_eh: &Path) -> bool {
    const LIBS: [&str; 6] = ["c", "m", "pthread", "dl", "rt", "util"];
    let mut archives = Vec::new();
    for name in LIBS {
        match find_library(&format!("lib{name}.a")) {
            Some(path) => archives.push((name, path)),
            None => return false,
        }
    }
    let (Some(libgcc), Some(_)) = (find_library("libgcc.a"), find_library("rcrt1.o")) else {
        return false;
    };
    if std::fs::create_dir_all(dir).is_err() || dir.to_string_lossy().contains(',') {
        return false;
    }
    for (name, archive) in &archives {
        // libc.a needs the unwinder (thread cancellation) and libgcc's
        // helpers, and they need libc.a, as in the `-lc -lgcc_eh -lgcc -lc`
        // of a crt-static link: a group, searched until nothing new is
        // pulled in (GNU ld searches each archive once otherwise).
        let extra = match *name {
            "c" => format!(" \"{}\" \"{}\"", libgcc_eh.display(), libgcc.display()),
            _ => String::new(),
        };
        let script = format!("GROUP(\"{}\"{extra})\n", archive.display());
        if std::fs::write(dir.join(format!("lib{name}.so")), script).is_err() {
            return false;
        }
    }
    println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
    println!("cargo:rustc-link-arg-bins=-static-pie");
    true
}

/// A linker script that puts the functions `list` names (one pattern a
/// line, `#` comments; see `benches/startup-symbols.sh`) first, in order,
/// in `.text`, then every other text section as by default; the rest of
/// the layout is the linker's own (`INSERT`). Each function is in its own input
/// section, `.text.` (or `.text.unlikely.`) and its symbol, so the patterns
/// match sections. They
/// are globs because symbol names carry hashes of the build (of the crate's
/// features, which differ between `cargo build` and `cargo test
/// --workspace`, and of the toolchain): exact names would match only the
/// build that wrote the list.
fn startup_order(list: &str) -> String {
    let mut script = String::from("SECTIONS\n{\n  .text : {\n");
    for pattern in list.lines().map(str::trim) {
        if pattern.is_empty() || pattern.starts_with('#') {
            continue;
        }
        // A pattern must not end the section description early.
        if pattern.contains(|c: char| c.is_whitespace() || "(){};\"".contains(c)) {
            continue;
        }
        // LLVM puts cold functions (`#[cold]`, such as `RawVec::grow_one`)
        // in `.text.unlikely.` sections.
        script.push_str(&format!(
            "    *(.text.{pattern} .text.unlikely.{pattern})\n"
        ));
    }
    // The rest as the linker lays it out by default: every other text
    // section in input order.
    script.push_str("    *(.text .text.*)\n  }\n}\nINSERT BEFORE .init;\n");
    script
}

/// Whether the C library is glibc `major.minor` or later (`getconf
/// GNU_LIBC_VERSION` prints `glibc 2.36`). The static link relies on 2.34:
/// libpthread and the rest folded into libc, and the `files` and `dns`
/// name services built into libc, so a static `getaddrinfo` or `getpwuid_r`
/// loads no `libnss_*.so` of whatever glibc the machine has then.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
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
