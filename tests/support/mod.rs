//! What every test that runs the `hoist` binary shares.

#![allow(dead_code)] // each test binary uses its own subset

pub mod lazy;

use std::ffi::OsStr;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// A private home for this test process: its compile cache
/// (`XDG_CACHE_HOME`) and its key (`XDG_STATE_HOME`), so tests never read
/// or write the user's cache, and never run code an older tree compiled.
/// Removed when the process exits: the tests share it, so no one test's
/// end can.
pub fn private_home() -> PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    extern "C" fn remove_home() {
        if let Some(dir) = HOME.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    HOME.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("hoist-test-home-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // SAFETY: `remove_home` is a plain function that only reads a
        // static set before it is registered; the harness's exit runs it.
        unsafe { libc::atexit(remove_home) };
        dir
    })
    .clone()
}

/// A fresh directory for one test's files, `$TMPDIR/hoist-{what}-{pid}-{n}`,
/// removed when dropped. A failing test's directory stays, named on
/// stderr, so what it left can be looked at.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(what: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hoist-{what}-{}-{n}", std::process::id()));
        // A directory of an earlier process with the same id.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<OsStr> for Scratch {
    fn as_ref(&self) -> &OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for the failing test", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The hoist binary under test: `HOIST_TEST_BINARY` if set (`.ci/run`
/// points it at the release build, whole-program optimized as users build
/// it), else the one cargo built with the tests.
pub fn hoist_binary() -> PathBuf {
    std::env::var_os("HOIST_TEST_BINARY")
        .filter(|path| !path.is_empty())
        // Absolute: tests run it from other directories.
        .map(|path| std::fs::canonicalize(&path).unwrap_or_else(|_| PathBuf::from(path)))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_hoist")))
}

/// The hoist binary under test, with a private cache and key.
pub fn hoist() -> Command {
    let home = private_home();
    let mut cmd = Command::new(hoist_binary());
    cmd.env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_STATE_HOME", home.join("state"));
    cmd
}

/// A test guest in tests/programs, by name without `.wasm`; it must exist.
pub fn program_path(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing; run tests/programs/build.sh",
        path.display()
    );
    path
}

/// [`program_path`] as a string, for argument lists.
pub fn program(name: &str) -> String {
    program_path(name)
        .into_os_string()
        .into_string()
        .expect("UTF-8 path")
}

/// Every file under `dir` (a compile cache, say), depth first.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
