//! A guest must never turn a file capability into native code: artifacts
//! and compile-cache entries that a guest can write (because its preopen
//! holds them) are never executed from the file, and a rewritten entry is
//! refused by later runs.
//!
//! The attack guest is tests/programs/overwrite.wasm: it writes one file's
//! bytes over another in place (or truncates it), then keeps running code
//! and data that were in it from the start.

mod artifacts;

use artifacts::*;
use hoist_artifact::OwnedArtifact;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

fn overwrite_wasm() -> PathBuf {
    root().join("tests/programs/overwrite.wasm")
}

/// Bytes that trap at once if executed: what an attacker's code would be
/// replaced by in a test.
fn trap_fill(len: usize) -> Vec<u8> {
    #[cfg(target_arch = "x86_64")]
    let pattern: &[u8] = &[0xcc]; // int3
    #[cfg(target_arch = "aarch64")]
    let pattern: &[u8] = &0xd420_0000u32.to_le_bytes(); // brk #0
    #[cfg(target_arch = "riscv64")]
    let pattern: &[u8] = &0x0010_0073u32.to_le_bytes(); // ebreak
    pattern.iter().copied().cycle().take(len).collect()
}

/// `image` with every code byte replaced, and a digest that matches again:
/// what an attacker who knows the format (but not the local key) can write.
fn forged(image: &[u8]) -> Vec<u8> {
    let mut owned = OwnedArtifact::decode(image).unwrap();
    owned.compiled.text = trap_fill(owned.compiled.text.len());
    owned.encode().unwrap()
}

fn hoist_run(args: &[&str], cwd: &Path) -> Output {
    hoist()
        .arg("run")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("hoist runs")
}

fn assert_original_ran(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stdout.contains("still running the original code: "),
        "stdout: {stdout}\nstderr: {stderr}"
    );
}

/// `hoist run --dir D D/app.hwasm`, whose guest rewrites app.hwasm's code
/// (with a valid digest) while it runs: the run keeps executing the code it
/// loaded, and the next run refuses the rewritten file (it no longer
/// carries this user's seal).
#[test]
fn an_artifact_rewritten_by_its_guest_changes_nothing() {
    let dir = scratch("rewrite-artifact");
    let app = dir.join("app.hwasm");
    compile(&overwrite_wasm(), &app, &[]);
    let image = std::fs::read(&app).unwrap();
    let forged_path = dir.join("forged.bin");
    std::fs::write(&forged_path, forged(&image)).unwrap();

    let d = dir.to_str().unwrap();
    let out = hoist_run(
        &[
            "--dir",
            d,
            app.to_str().unwrap(),
            forged_path.to_str().unwrap(),
            app.to_str().unwrap(),
        ],
        &dir,
    );
    assert_original_ran(&out);
    assert_eq!(
        std::fs::read(&app).unwrap()[..image.len() - 40],
        forged(&image)[..]
    );

    // Next run: the file is native code hoist did not make.
    let again = hoist_run(&[app.to_str().unwrap(), "x", "y"], &dir);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no valid seal"), "{stderr}");
}

/// Truncating the running artifact neither crashes hoist (SIGBUS) nor
/// changes what the guest sees in its memory.
#[test]
fn an_artifact_truncated_by_its_guest_changes_nothing() {
    let dir = scratch("truncate-artifact");
    let app = dir.join("app.hwasm");
    compile(&overwrite_wasm(), &app, &[]);
    let d = dir.to_str().unwrap();
    let out = hoist_run(
        &[
            "--dir",
            d,
            app.to_str().unwrap(),
            "--truncate",
            app.to_str().unwrap(),
        ],
        &dir,
    );
    assert_original_ran(&out);
    assert_eq!(std::fs::metadata(&app).unwrap().len(), 0);
}

/// The cache entries of this test's private cache, by path.
fn cache_entries() -> Vec<PathBuf> {
    let dir = private_home().join("cache/hoist");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p: &PathBuf| p.extension().is_some_and(|e| e == "hwasm"))
        .collect();
    entries.sort();
    entries
}

/// The cache entry that a run of `module` adds.
fn entry_of(module: &Path, dir: &Path) -> PathBuf {
    let before = cache_entries();
    let out = hoist_run(
        &[module.to_str().unwrap(), "--truncate", "/nonexistent"],
        dir,
    );
    assert!(out.status.code().is_some(), "{out:?}");
    let added: Vec<PathBuf> = cache_entries()
        .into_iter()
        .filter(|e| !before.contains(e))
        .collect();
    assert_eq!(
        added.len(),
        1,
        "one new cache entry for {}",
        module.display()
    );
    added[0].clone()
}

/// A guest whose preopen holds the cache directory: that run compiles in
/// memory (and says so with -v); entries it rewrites — its own, and another
/// module's — with valid digests are refused by the next run and
/// recompiled, and an entry renamed to another module's name is refused too.
#[test]
fn cache_entries_rewritten_by_a_guest_are_refused() {
    let dir = scratch("rewrite-cache");
    // A second module: the same program with one more custom section.
    let mut other = std::fs::read(overwrite_wasm()).unwrap();
    other.extend_from_slice(&[0, 6, 5, b'o', b't', b'h', b'e', b'r']);
    let other_wasm = dir.join("other.wasm");
    std::fs::write(&other_wasm, &other).unwrap();
    let victim = entry_of(&other_wasm, &dir);
    let own = entry_of(&overwrite_wasm(), &dir);

    let forged_own = dir.join("forged-own.bin");
    std::fs::write(&forged_own, forged(&std::fs::read(&own).unwrap())).unwrap();
    let forged_victim = dir.join("forged-victim.bin");
    std::fs::write(&forged_victim, forged(&std::fs::read(&victim).unwrap())).unwrap();

    let cache_dir = private_home().join("cache");
    let cache = cache_dir.to_str().unwrap();
    let wasm = overwrite_wasm();
    for (forged, entry) in [(&forged_own, &own), (&forged_victim, &victim)] {
        let out = hoist_run(
            &[
                "-v",
                "--dir",
                cache,
                "--dir",
                dir.to_str().unwrap(),
                wasm.to_str().unwrap(),
                forged.to_str().unwrap(),
                entry.to_str().unwrap(),
            ],
            &dir,
        );
        assert_original_ran(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not using the compile cache"), "{stderr}");
    }

    // Both modules still run their own code, from fresh entries.
    for module in [&wasm, &other_wasm] {
        let out = hoist_run(
            &[
                "--dir",
                dir.to_str().unwrap(),
                module.to_str().unwrap(),
                "--truncate",
                "/nonexistent",
            ],
            &dir,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("/nonexistent"), "{stderr}");
    }
    assert_ne!(
        std::fs::read(&own).unwrap(),
        std::fs::read(&forged_own).unwrap()
    );
    assert_ne!(
        std::fs::read(&victim).unwrap(),
        std::fs::read(&forged_victim).unwrap()
    );

    // A genuine entry under another module's name: the seal binds the name.
    std::fs::copy(&own, &victim).unwrap();
    let out = hoist_run(
        &[other_wasm.to_str().unwrap(), "--truncate", "/nonexistent"],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_ne!(
        std::fs::read(&own).unwrap(),
        std::fs::read(&victim).unwrap()
    );
}

/// The size cap evicts least recently used entries; temp files of dead
/// writers go; `hoist cache info` and `clean` report and empty it.
#[test]
fn the_cache_is_bounded_and_can_be_inspected_and_cleaned() {
    let dir = scratch("cache-cap");
    let home = dir.join("home");
    let cache_cmd = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = hoist();
        cmd.env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_STATE_HOME", home.join("state"))
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let entries = || -> Vec<PathBuf> {
        std::fs::read_dir(home.join("cache/hoist"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "hwasm"))
            .collect()
    };
    // A stale temp file from a writer that is gone (PID 2^22+1 is above
    // Linux's pid_max default, so no such process).
    std::fs::create_dir_all(home.join("cache/hoist")).unwrap();
    let stale = home.join("cache/hoist/.abc.hwasm.4194305.tmp");
    std::fs::write(&stale, b"half an entry").unwrap();

    let hello = root().join("tests/programs/hello.wasm");
    let mut modules = Vec::new();
    for i in 0..4u8 {
        let mut wasm = std::fs::read(&hello).unwrap();
        wasm.extend_from_slice(&[0, 2, 1, b'0' + i]);
        let path = dir.join(format!("hello{i}.wasm"));
        std::fs::write(&path, wasm).unwrap();
        modules.push(path);
    }
    let one_entry = {
        let out = cache_cmd(&["run", modules[0].to_str().unwrap()], &[]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello, world\n");
        std::fs::metadata(&entries()[0]).unwrap().len()
    };
    assert!(!stale.exists(), "the stale temp file is removed");
    // Room for two entries and a half: the oldest go first.
    let cap = (one_entry * 5 / 2).to_string();
    for module in &modules[1..] {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let out = cache_cmd(
            &["run", module.to_str().unwrap()],
            &[("HOIST_CACHE_MAX_SIZE", &cap)],
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello, world\n");
    }
    let left = entries();
    assert!(left.len() <= 2, "{left:?}");
    let total: u64 = left
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(total <= one_entry * 5 / 2);

    let info = cache_cmd(&["cache", "info"], &[]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains(&format!("entries:     {}", left.len())),
        "{text}"
    );
    let clean = cache_cmd(&["cache", "clean"], &[]);
    assert!(String::from_utf8_lossy(&clean.stdout)
        .starts_with(&format!("removed {} entries", left.len())));
    assert!(entries().is_empty());
    let bad = cache_cmd(
        &["run", modules[0].to_str().unwrap()],
        &[("HOIST_CACHE_MAX_SIZE", "lots")],
    );
    // An unusable setting costs the cache, not the run.
    assert_eq!(String::from_utf8_lossy(&bad.stdout), "hello, world\n");
}

/// What a guest given the cache directory could plant there: an entry
/// that is a symlink to a FIFO (opening it once blocked every later run),
/// a lock that is a symlink out of the cache (opening it once created the
/// file it pointed to), strays under entry names. Runs neither follow nor
/// block on them, replace them with real files, and `cache clean` removes
/// them, leaving what they pointed to alone.
#[test]
fn planted_symlinks_and_fifos_in_the_cache_are_not_followed() {
    use std::os::unix::fs::symlink;
    let dir = scratch("cache-plant");
    let home = dir.join("home");
    let cache = home.join("cache/hoist");
    let outside = dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let command = |args: &[&str]| {
        let mut cmd = hoist();
        cmd.env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_STATE_HOME", home.join("state"))
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        // Bounded: a run that blocks on a FIFO must fail the test, not hang.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("hoist {args:?} blocked");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    };
    let hello = root().join("tests/programs/hello.wasm");
    let hello = hello.to_str().unwrap();
    let run = |what: &str| {
        let out = command(&["run", "-C", "lazy=n", hello]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout, "hello, world\n", "{what}: {out:?}");
    };
    run("first run");
    let entries: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "hwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = entries[0].clone();
    let stem = entry.file_stem().unwrap().to_str().unwrap().to_string();
    let lock = cache.join(format!(".{stem}.lock"));

    // The entry a symlink to a FIFO, the lock a symlink out of the cache.
    let fifo = outside.join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(&entry).unwrap();
    symlink(&fifo, &entry).unwrap();
    let _ = std::fs::remove_file(&lock);
    let created = outside.join("created-by-the-lock");
    symlink(&created, &lock).unwrap();
    run("entry a symlink to a FIFO");
    assert!(!created.exists(), "the lock's symlink was followed");
    let meta = std::fs::symlink_metadata(&entry).unwrap();
    assert!(meta.is_file(), "the entry is a real file again: {meta:?}");
    run("from the new entry");

    // A FIFO itself under the entry's name.
    std::fs::remove_file(&entry).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&entry)
        .status()
        .unwrap();
    assert!(status.success());
    run("entry a FIFO");
    assert!(std::fs::symlink_metadata(&entry).unwrap().is_file());

    // Directories under the entry's and the lock's names.
    std::fs::remove_file(&entry).unwrap();
    let _ = std::fs::remove_file(&lock);
    std::fs::create_dir_all(entry.join("inside")).unwrap();
    std::fs::create_dir_all(lock.join("inside")).unwrap();
    run("entry and lock directories");
    assert!(std::fs::symlink_metadata(&entry).unwrap().is_file());
    assert!(!lock.is_dir());

    // Strays under hoist's names go with `cache clean`; their targets stay.
    let target = outside.join("keep-me");
    std::fs::write(&target, b"not the cache's").unwrap();
    symlink(&target, cache.join("0123.hwasm")).unwrap();
    symlink(&target, cache.join(".0123.lock")).unwrap();
    let out = command(&["cache", "clean"]);
    assert!(out.status.success(), "{out:?}");
    let left: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.iter()
            .all(|n| !n.to_string_lossy().ends_with(".hwasm") && n != ".0123.lock"),
        "{left:?}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"not the cache's");
    assert!(fifo.exists());
}

/// An artifact whose trap table was emptied (valid digest, run with
/// --allow-precompiled): its `unreachable` faults at an instruction with no
/// record. hoist cannot make that a trap, but it says what happened.
#[test]
fn a_fault_without_a_trap_record_is_reported() {
    let dir = scratch("no-trap-records");
    let wat = dir.join("unreachable.wat");
    std::fs::write(&wat, r#"(module (func (export "_start") unreachable))"#).unwrap();
    let app = dir.join("app.hwasm");
    compile(&wat, &app, &[]);
    let mut owned = OwnedArtifact::decode(&std::fs::read(&app).unwrap()).unwrap();
    owned.compiled.traps.clear();
    std::fs::write(&app, owned.encode().unwrap()).unwrap();
    let out = hoist_run(&["--allow-precompiled", app.to_str().unwrap()], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("with no trap record"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(0));
}

/// A guest cannot flood the terminal through a trap: a recursive function
/// with a 1 MiB name that exhausts the stack prints a short, escaped
/// backtrace (wasmtime prints ~21 MB here).
#[test]
fn trap_output_is_bounded_and_escaped() {
    let dir = scratch("trap-output");
    let wat = dir.join("deep.wat");
    let name = "x".repeat(1 << 20);
    std::fs::write(
        &wat,
        format!(
            r#"(module
  (func $recurse (@name "\1b[31m{name}") (param i32) (result i32)
    (call $recurse (i32.add (local.get 0) (i32.const 1))))
  (func $start (export "_start")
    (drop (call $recurse (i32.const 0)))))"#
        ),
    )
    .unwrap();
    let out = hoist_run(&["--no-cache", wat.to_str().unwrap()], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(134),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(stderr.contains("call stack exhausted"));
    assert!(
        out.stderr.len() < 4096,
        "{} bytes of stderr",
        out.stderr.len()
    );
    assert!(stderr.contains("more frames of"), "{stderr}");
    assert!(!out.stderr.contains(&0x1b), "{stderr}");
    assert!(stderr.contains("<module>!\\u{1b}[31mxxx"), "{stderr}");
}
