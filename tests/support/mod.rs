//! What every test that runs the `hoist` binary shares.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::PathBuf;
use std::process::Command;

/// A private home for this test process: its compile cache
/// (`XDG_CACHE_HOME`) and its key (`XDG_STATE_HOME`), so tests never read
/// or write the user's cache, and never run code an older tree compiled.
pub fn private_home() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hoist-test-home-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The hoist binary under test, with a private cache and key.
pub fn hoist() -> Command {
    let home = private_home();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
    cmd.env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_STATE_HOME", home.join("state"));
    cmd
}
