//! Computes the build id: which engine made a piece of compiled code.
//!
//! Artifacts and compile-cache entries record it, and a hoist with another
//! id refuses (or recompiles) them: their machine code assumes this
//! build's VMContext layout, builtin order and trampolines. The id is a
//! hash of everything that decides those — the sources of the engine
//! crates and the locked dependency versions (Cranelift above all) — so a
//! rebuilt tree with any engine change gets a new id even when the version
//! number stays. The git revision, where there is one, only labels it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The crates whose sources decide generated code and the VM contract.
const ENGINE_CRATES: &[&str] = &["environ", "cranelift", "runtime", "hoist", "artifact"];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let crates = manifest.parent().unwrap_or(&manifest).to_path_buf();
    let root = crates.parent().unwrap_or(&crates).to_path_buf();

    let mut files = Vec::new();
    for name in ENGINE_CRATES {
        // What is compiled into hoist: sources and manifests, not tests.
        let dir = crates.join(name);
        for part in ["src", "Cargo.toml", "build.rs"] {
            let path = dir.join(part);
            if path.is_dir() {
                collect(&path, &mut files);
            } else if path.is_file() {
                files.push(path.clone());
            } else {
                continue;
            }
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    // Outside a workspace (a packaged crate), this crate's own sources.
    if files.is_empty() {
        let src = manifest.join("src");
        println!("cargo:rerun-if-changed={}", src.display());
        collect(&src, &mut files);
    }
    let lock = root.join("Cargo.lock");
    if lock.is_file() {
        println!("cargo:rerun-if-changed={}", lock.display());
        files.push(lock);
    }
    files.sort();
    let mut hasher = DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    for file in &files {
        file.strip_prefix(&root).unwrap_or(file).hash(&mut hasher);
        std::fs::read(file).unwrap_or_default().hash(&mut hasher);
    }
    println!("cargo:rustc-env=HOIST_BUILD_ID={:016x}", hasher.finish());

    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(&root)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let revision = match git(&["rev-parse", "--short=10", "HEAD"]) {
        Some(rev) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev}-dirty")
            } else {
                rev
            }
        }
        None => "no git".to_string(),
    };
    for head in [root.join(".git/HEAD"), root.join(".git/logs/HEAD")] {
        if head.is_file() {
            println!("cargo:rerun-if-changed={}", head.display());
        }
    }
    println!("cargo:rustc-env=HOIST_REVISION={revision}");
}

/// Every file below `dir` except build output and editor droppings.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            collect(&path, out);
        } else if !name.ends_with('~') {
            out.push(path);
        }
    }
}
