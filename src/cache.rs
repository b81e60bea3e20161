//! The compile cache: `hoist run app.wasm` keeps the compiled artifact in
//! the user's cache directory, so the second run does not compile.
//!
//! An entry is named by a hash of the module and of everything that
//! decides the generated code (hoist version, target, flags, CPU features).
//! An artifact embeds its module, and a hit is used only if that module is
//! byte-for-byte the one asked for, so a hash collision cannot run the
//! wrong code. Entries are written to a temporary file and renamed, so
//! concurrent runs never see half an entry; a damaged entry is replaced.

use anyhow::Result;
use hoist::{Engine, Module};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

/// `$XDG_CACHE_HOME/hoist`, else `$HOME/.cache/hoist`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("hoist"))
}

/// Loads `wasm` compiled from the cache in `dir`, compiling and storing
/// it on a miss. Cache trouble (unwritable directory, damaged entry) never
/// fails the run; it only costs a compile.
pub fn load_or_compile(engine: &Engine, dir: &std::path::Path, wasm: &[u8]) -> Result<Module> {
    let usable = prepare_dir(dir);
    let path = dir.join(format!("{:016x}.hwasm", key(engine, wasm)));
    if usable {
        if let Ok(file) = std::fs::File::open(&path) {
            // SAFETY: a private read-only mapping of a cache entry; entries
            // are only ever replaced by renaming, never rewritten in place.
            let same_module = unsafe { memmap2::Mmap::map(&file) }.is_ok_and(|image| {
                hoist::embedded_wasm(&image).is_ok_and(|embedded| embedded == wasm)
            });
            // Loaded from the same open file that was checked.
            if same_module {
                if let Ok(module) = Module::deserialize_open_file(engine, file) {
                    return Ok(module);
                }
            }
            let _ = std::fs::remove_file(&path);
        }
    }
    let image = engine.precompile_module(wasm)?;
    if usable && crate::commands::compile::write_atomically(&path, &image).is_ok() {
        // Mapped from the file, so data segments load copy-on-write.
        if let Ok(file) = std::fs::File::open(&path) {
            if let Ok(module) = Module::deserialize_open_file(engine, file) {
                return Ok(module);
            }
        }
    }
    Module::deserialize(engine, &image)
}

/// Creates the cache directory (private to the user) if needed, and says
/// whether it is safe to use: a directory owned by this user that others
/// cannot write. Anyone else's directory could hold planted native code.
fn prepare_dir(dir: &std::path::Path) -> bool {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    meta.is_dir() && meta.uid() == me && meta.permissions().mode() & 0o022 == 0
}

fn key(engine: &Engine, wasm: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.fingerprint().hash(&mut hasher);
    wasm.hash(&mut hasher);
    hasher.finish()
}
