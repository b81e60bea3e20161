//! Hostile guests: requests built to exhaust the host must fail inside the
//! guest's own limits, never abort or bloat the hoist process.

mod support;

use std::process::Stdio;

/// Runs a WAT guest through the CLI with stdout discarded; its exit status.
fn run_wat(name: &str, wat: &str) -> (Option<i32>, String) {
    let dir = support::Scratch::new(&format!("hostile-{name}"));
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

/// A guest that opens descriptors until it is refused stops at its own cap
/// (the soft RLIMIT_NOFILE less 256 for hoist), so the host keeps
/// descriptors: `random_get` still works (it once panicked, its RNG unable
/// to open /dev/urandom), closing one lets the guest open one again, and
/// the second descriptor a directory holds while it is listed counts.
/// The guest exits with how many it opened.
#[test]
fn a_guest_cannot_take_the_hosts_last_descriptors() {
    let dir = support::Scratch::new("hostile-fds");
    let path = dir.join("fds.wat");
    std::fs::write(
        &path,
        r#"(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) ".")
  (func $open_dot (result i32)
    (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 2)
      (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 8)))
  (func (export "_start") (local $n i32) (local $err i32) (local $i i32) (local $or i32)
    (block $refused
      (loop $more
        (local.set $err (call $open_dot))
        (br_if $refused (local.get $err))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $more (i32.lt_u (local.get $n) (i32.const 100000)))))
    ;; refused with EMFILE (33)
    (if (i32.ne (local.get $err) (i32.const 33)) (then (call $exit (i32.const 249))))
    ;; 64 random bytes, not all zero
    (if (call $random (i32.const 64) (i32.const 64)) (then (call $exit (i32.const 250))))
    (loop $bytes
      (local.set $or (i32.or (local.get $or) (i32.load8_u (i32.add (i32.const 64) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $bytes (i32.lt_u (local.get $i) (i32.const 64))))
    (if (i32.eqz (local.get $or)) (then (call $exit (i32.const 251))))
    ;; one closed, one opened again
    (if (call $close (i32.load (i32.const 8))) (then (call $exit (i32.const 252))))
    (if (call $open_dot) (then (call $exit (i32.const 253))))
    ;; a directory being listed holds a second host descriptor, which counts:
    ;; with one slot free, listing the preopen takes it
    (if (call $close (i32.load (i32.const 8))) (then (call $exit (i32.const 254))))
    (if (call $readdir (i32.const 3) (i32.const 1024) (i32.const 4096) (i64.const 0) (i32.const 12))
      (then (call $exit (i32.const 255))))
    (if (i32.ne (call $open_dot) (i32.const 33)) (then (call $exit (i32.const 248))))
    (call $exit (select (local.get $n) (i32.const 200) (i32.lt_u (local.get $n) (i32.const 200))))))"#,
    )
    .unwrap();
    let hoist = support::hoist();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 400 && exec \"$0\" run --no-cache --dir . \"$1\"")
        .arg(hoist.get_program())
        .arg(&path)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 400 - 256 descriptors: stdin, stdout, stderr, the preopen and 140.
    assert_eq!(out.status.code(), Some(140), "{stderr}");
}
