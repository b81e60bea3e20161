//! Hostile guests: requests built to exhaust the host must fail inside the
//! guest's own limits, never abort or bloat the hoist process.

mod support;

use std::process::Stdio;

/// Runs a WAT guest through the CLI with stdout discarded; its exit status.
fn run_wat(name: &str, wat: &str) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("hoist-hostile-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.wat"));
    std::fs::write(&path, wat).unwrap();
    let out = support::hoist()
        .args(["run", "--no-cache"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Iovecs that all point at the same 1 MiB: more than Linux's IOV_MAX
/// (1024) of them is EINVAL before anything is copied, as for a native
/// writev; 1024 of them are 1 GiB "to write", which the host writes buffer
/// by buffer (no gathering into one allocation) and reports exactly.
#[test]
fn aliasing_iovecs_do_not_allocate_their_sum() {
    let (status, stderr) = run_wat(
        "iovecs",
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 33)
  (func (export "_start") (local $i i32)
    ;; iovecs at 1 MiB: each {ptr 0, len 1 MiB}
    (loop $fill
      (i32.store (i32.add (i32.const 0x100000) (i32.shl (local.get $i) (i32.const 3))) (i32.const 0))
      (i32.store (i32.add (i32.const 0x100004) (i32.shl (local.get $i) (i32.const 3))) (i32.const 0x100000))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 131072))))
    ;; 131072 iovecs: EINVAL (28)
    (if (i32.ne (call $fd_write (i32.const 1) (i32.const 0x100000) (i32.const 131072) (i32.const 0x200000))
                (i32.const 28))
      (then (call $exit (i32.const 2))))
    ;; 1024 iovecs: all 1 GiB written
    (if (call $fd_write (i32.const 1) (i32.const 0x100000) (i32.const 1024) (i32.const 0x200000))
      (then (call $exit (i32.const 3))))
    (call $exit (i32.ne (i32.load (i32.const 0x200000)) (i32.const 0x40000000)))))"#,
    );
    assert_eq!(status, Some(0), "{stderr}");
}

#[test]
fn poll_oneoff_caps_the_subscription_count() {
    let (status, stderr) = run_wat(
        "poll",
        r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 4096)
  (func (export "_start")
    (call $exit (call $poll (i32.const 0) (i32.const 0) (i32.const 5592405) (i32.const 16)))))"#,
    );
    assert_eq!(status, Some(28), "{stderr}");
}
