//! Wasm 3.0 guests under `hoist run`, from .wasm and from artifacts: Lua
//! 5.4 whose setjmp/longjmp are Wasm exceptions (standard and legacy
//! encodings), an uncaught exception, 10^8 tail calls in constant stack,
//! and a 64-bit memory grown past 4 GiB (see tests/programs/README.md).

mod artifacts;

use artifacts::*;
use std::path::{Path, PathBuf};
use std::process::Output;

fn programs() -> PathBuf {
    root().join("tests/programs")
}

/// Runs `module` with `args` as .wasm and from a fresh artifact; both runs
/// must agree, and the .wasm run's output is returned.
fn run_both(name: &str, module: &Path, options: &[&str], args: &[&str]) -> Output {
    let dir = scratch(name);
    assert_same(module, options, args, &programs(), &dir)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn lua_scripts(wasm: &str) {
    let lua = programs().join("lua");
    let module = programs().join(wasm);
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&lua)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 4);
    let dir = format!("{}::/lua", lua.display());
    for script in scripts {
        let name = script.file_stem().unwrap().to_string_lossy().into_owned();
        let guest = format!("/lua/{name}.lua");
        let out = run_both(
            &format!("{wasm}-{name}"),
            &module,
            &["--dir", &dir],
            &[&guest],
        );
        let expected = std::fs::read_to_string(lua.join(format!("{name}.expected"))).unwrap();
        let status = if name == "error_exit" { 1 } else { 0 };
        assert_eq!(out.status.code(), Some(status), "{name}: {}", stderr(&out));
        assert_eq!(stdout(&out), expected, "{name}");
        if name == "error_exit" {
            assert!(
                stderr(&out).contains("fatal error from depth 3"),
                "{}",
                stderr(&out)
            );
        }
    }
}

#[test]
fn lua_with_exceptions_runs_its_scripts() {
    lua_scripts("lua_eh.wasm");
}

#[test]
fn lua_with_legacy_exceptions_runs_its_scripts() {
    lua_scripts("lua_eh_legacy.wasm");
}

#[test]
fn an_uncaught_exception_names_its_tag_and_exits_134() {
    let out = run_both(
        "uncaught",
        &programs().join("uncaught_exception.wasm"),
        &[],
        &[],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(134), "{err}");
    assert_eq!(stdout(&out), "throwing $my_error(42)\n");
    assert!(
        err.starts_with(
            "error: uncaught wasm exception with tag `uncaught_exception!$my_error` (i32 42)"
        ),
        "{err}"
    );
    assert!(err.contains("wasm backtrace:"), "{err}");
    assert!(err.contains("uncaught_exception!raise"), "{err}");
    assert!(err.contains("uncaught_exception!_start"), "{err}");
}

#[test]
fn a_hundred_million_tail_calls_run_in_constant_stack() {
    let out = run_both("tail", &programs().join("tail_calls.wasm"), &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.lines().filter(|l| l.ends_with(" ok")).count(),
        3,
        "{text}"
    );
    assert!(text.contains("100000000 calls"), "{text}");
}

#[test]
fn a_64_bit_memory_grows_past_4_gib() {
    let module = programs().join("memory64.wasm");
    let out = run_both("memory64", &module, &[], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(text.contains("size now 65552 pages"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("ok: ")).count(),
        8,
        "{text}"
    );
    assert!(text.ends_with("memory64 done\n"), "{text}");
    // One past the end traps.
    let out = run_both("memory64-oob", &module, &[], &["oob"]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(stderr(&out).contains("out of bounds memory access"));
}
