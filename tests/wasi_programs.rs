//! Our own WASI guests (C programs in tests/programs/, built ahead of time
//! by tests/programs/build.sh) run through the `hoist` binary: arguments,
//! environment, exit codes, stdin and stdout through pipes, a closed
//! stdout, files and directories, sandbox escapes, a PHP-style docroot,
//! traps, read-only preopens, clocks, randomness and poll.
//!
//! Each guest prints what it observed and exits nonzero when one of its own
//! expectations failed; these tests check the output, the exit status and,
//! where a guest had a directory, the host tree afterwards.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any one guest may run before we kill it and fail.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A host variable set for every hoist we start; guests must not see it
/// unless asked for.
const CANARY: (&str, &str) = ("HOIST_TEST_CANARY", "from-host");

mod support;
use support::program;

fn hoist() -> Command {
    let mut cmd = support::hoist();
    cmd.env(CANARY.0, CANARY.1);
    cmd
}

/// What the guest reads on stdin.
enum Input {
    /// `/dev/null`.
    Null,
    /// These bytes, then EOF (written from a thread, so any size works).
    Bytes(Vec<u8>),
    /// These bytes, then the pipe stays open (no EOF) until hoist exits.
    HoldOpen(Vec<u8>),
}

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Panics with everything we know unless the exit status is `code`.
    #[track_caller]
    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit status {:?}, expected {code}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code,
            self.stdout(),
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "hoist panicked:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    fn expect_success(&self) -> &Self {
        self.expect_code(0)
    }
}

/// Waits for `child` for at most [`TIMEOUT`]; kills it (by its pid) and
/// panics when it takes longer.
fn wait(child: Child, started: Instant) -> (Output, Duration) {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(output) => (output.expect("waiting for hoist"), started.elapsed()),
        Err(_) => {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
            panic!("hoist (pid {pid}) did not finish within {TIMEOUT:?}");
        }
    }
}

/// Runs `hoist` with `args`, feeding it `input`.
fn run_with(args: &[&str], input: Input) -> Run {
    let mut cmd = hoist();
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(match input {
            Input::Null => Stdio::null(),
            _ => Stdio::piped(),
        });
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawning hoist");
    let mut held = None;
    match input {
        Input::Null => {}
        Input::Bytes(bytes) => {
            let mut stdin = child.stdin.take().expect("piped stdin");
            // The guest may exit before reading everything: ignore EPIPE.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        Input::HoldOpen(bytes) => {
            let mut stdin = child.stdin.take().expect("piped stdin");
            stdin.write_all(&bytes).expect("writing to hoist's stdin");
            held = Some(stdin);
        }
    }
    let (output, elapsed) = wait(child, started);
    drop(held);
    Run {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed,
    }
}

fn run(args: &[&str]) -> Run {
    run_with(args, Input::Null)
}

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "hoist-wasi-programs-{}-{}-{tag}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("creating a temp dir");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn str(&self, rel: &str) -> String {
        self.join(rel).to_str().expect("UTF-8 path").to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything below `root`, by relative path: the kind, and the contents
/// of files and the targets of symlinks (not times: those legitimately
/// change where the guest may write).
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("dir entry").path();
            let rel = path
                .strip_prefix(root)
                .expect("below root")
                .display()
                .to_string();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let what = if meta.file_type().is_symlink() {
                format!(
                    "symlink -> {}",
                    std::fs::read_link(&path).expect("readlink").display()
                )
            } else if meta.is_dir() {
                walk(root, &path, out);
                "dir".to_string()
            } else {
                format!(
                    "file {:?}",
                    String::from_utf8_lossy(&std::fs::read(&path).expect("read"))
                )
            };
            out.insert(rel, what);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn hello() {
    let run = run(&["run", &program("hello")]);
    run.expect_success();
    assert_eq!(run.stdout(), "hello, world\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn args() {
    let run = run(&["run", "--argv0", "prog", &program("args"), "a", "b c", ""]);
    run.expect_success();
    assert_eq!(
        run.stdout(),
        "argc=4\nargv[0]=prog\nargv[1]=a\nargv[2]=b c\nargv[3]=\n"
    );

    // Everything after the module is the guest's, flags included.
    let module = program("args");
    let run = self::run(&["run", &module, "--env", "X=1", "-v", "--"]);
    run.expect_success();
    assert_eq!(
        run.stdout(),
        "argc=5\nargv[0]=args.wasm\nargv[1]=--env\nargv[2]=X=1\nargv[3]=-v\nargv[4]=--\n"
    );
}

#[test]
fn env_is_empty_by_default() {
    let run = run(&["run", &program("env")]);
    run.expect_success();
    assert_eq!(run.stdout(), "");
}

#[test]
fn env_given_copied_and_inherited() {
    let run = run(&[
        "run",
        "--env",
        "A=B",
        "--env",
        "EMPTY=",
        "--env",
        "WITH_EQ=x=y",
        &program("env"),
    ]);
    run.expect_success();
    assert_eq!(run.stdout(), "A=B\nEMPTY=\nWITH_EQ=x=y\n");

    let run = self::run(&["run", "--env", CANARY.0, &program("env")]);
    run.expect_success();
    assert_eq!(run.stdout(), format!("{}={}\n", CANARY.0, CANARY.1));

    let run = self::run(&["run", "--inherit-env", &program("env")]);
    run.expect_success();
    assert!(
        run.stdout()
            .lines()
            .any(|l| l == format!("{}={}", CANARY.0, CANARY.1)),
        "inherited environment lacks the canary:\n{}",
        run.stdout()
    );
}

#[test]
fn exit_codes() {
    for code in [0, 7, 255] {
        let run = run(&["run", &program("exit"), &code.to_string()]);
        run.expect_code(code);
        assert_eq!(run.stdout(), format!("exiting with {code}\n"));
    }
}

#[test]
fn host_errors_exit_1() {
    let run = run(&["run", "tests/programs/does-not-exist.wasm"]);
    run.expect_code(1);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);

    let missing = TempDir::new("missing");
    let spec = format!("/d:{}", missing.str("nope"));
    let run = self::run(&["run", "--dir", &spec, &program("hello")]);
    run.expect_code(1);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert_eq!(run.stdout(), "", "the guest must not start");
}

/// `len` bytes of a fixed pseudo-random sequence.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn stdin_echo_3_mib() {
    let data = pseudo_random(3 << 20);
    let run = run_with(&["run", &program("stdin_echo")], Input::Bytes(data.clone()));
    run.expect_success();
    assert!(
        run.stdout.len() == data.len(),
        "echoed {} bytes",
        run.stdout.len()
    );
    assert!(run.stdout == data, "stdin came back altered");
    assert_eq!(run.stderr, format!("{}\n", 3 << 20));
}

/// Byte `k` of big_write's output is `k % 251`.
fn check_big_write_pattern(bytes: &[u8]) {
    if let Some(k) = bytes
        .iter()
        .enumerate()
        .position(|(k, b)| *b != (k % 251) as u8)
    {
        panic!(
            "byte {k} of the output is {}, expected {}",
            bytes[k],
            k % 251
        );
    }
}

#[test]
fn big_write_8_mib_to_a_pipe() {
    let run = run(&["run", &program("big_write"), "8"]);
    run.expect_success();
    assert_eq!(run.stdout.len(), 8 << 20);
    check_big_write_pattern(&run.stdout);
    assert_eq!(run.stderr, format!("wrote {} bytes\n", 8 << 20));
}

#[test]
fn writing_to_a_closed_pipe_is_epipe() {
    let started = Instant::now();
    let mut child = hoist()
        .args(["run", &program("big_write"), "1024"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning hoist");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut first = vec![0u8; 64 << 10];
    stdout
        .read_exact(&mut first)
        .expect("reading the first 64 KiB");
    check_big_write_pattern(&first);
    drop(stdout);
    let (output, _) = wait(child, started);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "hoist panicked:\n{stderr}");
    assert_eq!(
        output.status.code(),
        Some(3),
        "expected the guest to see a write error and exit 3 (status {:?})\n{stderr}",
        output.status
    );
    assert!(
        stderr.contains("Broken pipe"),
        "the guest should see EPIPE:\n{stderr}"
    );
}

#[test]
fn files_and_directories() {
    let tmp = TempDir::new("files");
    let spec = format!("/sandbox:{}", tmp.path().display());
    let run = run(&["run", "--dir", &spec, &program("files"), "/sandbox"]);
    run.expect_success();
    let stdout = run.stdout();
    for line in [
        "mkdir sub: ok",
        "read sub/a.txt: hello",
        "append: size 18",
        "seek/pread/pwrite/ftruncate: HELLO world",
        "readdir sub: 201 entries besides . and .. (2 of those)",
        "rename sub/a.txt -> sub/b.txt: ok",
        "remove: ok",
        "files: all ok",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
    let after = snapshot(tmp.path());
    assert_eq!(
        after,
        BTreeMap::from([("kept.txt".to_string(), "file \"kept\\n\"".to_string())])
    );
}

#[test]
fn dir_in_wasmtime_order_and_same_path() {
    let tmp = TempDir::new("files-order");
    let spec = format!("{}::/w", tmp.path().display());
    run(&["run", "--dir", &spec, &program("files"), "/w"]).expect_success();
    assert_eq!(std::fs::read(tmp.join("kept.txt")).unwrap(), b"kept\n");

    let tmp = TempDir::new("files-same");
    let dir = tmp.path().to_str().unwrap();
    run(&["run", "--dir", dir, &program("files"), dir]).expect_success();
    assert_eq!(std::fs::read(tmp.join("kept.txt")).unwrap(), b"kept\n");
}

#[test]
fn read_only_preopen_refuses_writes() {
    let tmp = TempDir::new("ro");
    std::fs::write(tmp.join("existing.txt"), "untouched\n").unwrap();
    let before = snapshot(tmp.path());
    let spec = format!("/d:{}:ro", tmp.path().display());
    let run = run(&["run", "--dir", &spec, &program("files"), "/d"]);
    run.expect_code(1);
    assert!(
        run.stdout().starts_with("FAIL mkdir sub: "),
        "expected mkdir to be refused:\n{}",
        run.stdout()
    );
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn escapes_are_refused() {
    let tmp = TempDir::new("escape");
    std::fs::create_dir(tmp.join("sandbox")).unwrap();
    std::fs::write(tmp.join("sentinel.txt"), "secret\n").unwrap();
    std::fs::create_dir(tmp.join("sibling")).unwrap();
    std::fs::write(tmp.join("sibling/other.txt"), "other\n").unwrap();
    // Symlinks planted by the host inside the preopen, leading out.
    std::os::unix::fs::symlink("../sentinel.txt", tmp.join("sandbox/host_link_rel")).unwrap();
    std::os::unix::fs::symlink(tmp.join("sentinel.txt"), tmp.join("sandbox/host_link_abs"))
        .unwrap();
    std::os::unix::fs::symlink("../sibling", tmp.join("sandbox/host_link_dir")).unwrap();
    let before = snapshot(tmp.path());

    let spec = format!("/sandbox:{}", tmp.str("sandbox"));
    let run = run(&[
        "run",
        "--dir",
        &spec,
        &program("escape"),
        "/sandbox",
        "sentinel.txt",
        "/sandbox/host_link_rel",
        "/sandbox/host_link_abs",
        "/sandbox/host_link_dir/other.txt",
    ]);
    let stdout = run.stdout();
    assert!(
        !stdout.contains("ESCAPED"),
        "the guest got out of its preopen:\n{stdout}"
    );
    run.expect_success();
    assert!(stdout.contains("escape: all refused"), "{stdout}");
    let allowed = [
        "Capabilities insufficient",
        "Operation not permitted",
        "Permission denied",
        "No such file or directory",
        "Too many levels of symbolic links",
        "Not a directory",
    ];
    let mut attempts = 0;
    for line in stdout.lines() {
        if line.starts_with("  ") || line.starts_with("control:") || line.starts_with("escape:") {
            continue;
        }
        attempts += 1;
        let reason = line
            .split_once(": refused (")
            .map(|(_, r)| r.trim_end_matches(')'))
            .unwrap_or_else(|| panic!("not refused: `{line}`"));
        assert!(
            allowed.contains(&reason),
            "refused for an unexpected reason: `{line}`"
        );
    }
    assert_eq!(attempts, 18 + 3, "every attempt reported:\n{stdout}");
    // The two plain escapes must be capability errors, not accidents.
    for line in [
        "open /etc/passwd: refused (Capabilities insufficient)",
        "open /sandbox/../../etc/passwd: refused",
        "open /sandbox/../sentinel.txt: refused",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(line)),
            "missing `{line}` in:\n{stdout}"
        );
    }
    assert_eq!(snapshot(tmp.path()), before, "the host tree changed");
}

const INDEX_PHP: &str = "<?php\necho \"hello from the docroot\\n\";\n";

fn docroot(read_only: bool) {
    let tmp = TempDir::new("docroot");
    std::fs::create_dir_all(tmp.join("docroot/img")).unwrap();
    std::fs::write(tmp.join("docroot/index.php"), INDEX_PHP).unwrap();
    std::fs::write(tmp.join("docroot/style.css"), "body {}\n").unwrap();
    let before = snapshot(tmp.path());
    let spec = format!(
        "/docroot:{}{}",
        tmp.str("docroot"),
        if read_only { ":ro" } else { "" }
    );
    let run = run(&["run", "--dir", &spec, &program("docroot")]);
    run.expect_success();
    let stdout = run.stdout();
    let expected_head = format!(
        "index.php ({} bytes):\n{INDEX_PHP}ls /docroot: img index.php style.css\nenv vars: 0\nopen /: Capabilities insufficient\nopen /docroot/../../etc/passwd: ",
        INDEX_PHP.len()
    );
    assert!(
        stdout.starts_with(&expected_head),
        "expected\n{expected_head}\n--- got:\n{stdout}"
    );
    let last = stdout.lines().last().unwrap();
    assert!(
        last.ends_with(": Capabilities insufficient")
            || last.ends_with(": Operation not permitted"),
        "`..` out of the docroot must be a capability error: `{last}`"
    );
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn docroot_mapping() {
    docroot(false);
}

#[test]
fn docroot_mapping_read_only() {
    docroot(true);
}

#[test]
fn trap_prints_backtrace_and_exits_134() {
    let run = run(&["run", &program("trap")]);
    run.expect_code(134);
    // Written before the trap: stdout is not left in a buffer.
    assert_eq!(run.stdout(), "about to trap\n");
    assert!(
        run.stderr.contains("error: wasm trap"),
        "no trap message:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hoist_test_trap_here"),
        "the backtrace lacks the trapping function:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hoist_test_trap_caller"),
        "the backtrace lacks the caller:\n{}",
        run.stderr
    );
}

#[test]
fn clocks_and_randomness() {
    let run = run(&["run", &program("clock_random")]);
    run.expect_success();
    let stdout = run.stdout();
    assert_eq!(stdout.lines().count(), 8, "{stdout}");
    assert!(stdout.lines().all(|l| l.ends_with(": ok")), "{stdout}");
}

#[test]
fn sleep_then_poll_stdin_with_no_data() {
    let run = run_with(
        &["run", &program("sleep_poll")],
        Input::HoldOpen(Vec::new()),
    );
    run.expect_success();
    let stdout = run.stdout();
    assert!(stdout.starts_with("slept at least 50 ms\n"), "{stdout}");
    assert!(
        stdout.contains("poll returned 0 after >= 10 ms"),
        "an empty open pipe must time out:\n{stdout}"
    );
    assert!(run.elapsed >= Duration::from_millis(60));
}

#[test]
fn sleep_then_poll_stdin_with_data() {
    let run = run_with(
        &["run", &program("sleep_poll")],
        Input::HoldOpen(b"x\n".to_vec()),
    );
    run.expect_success();
    assert!(
        run.stdout().contains("poll returned 1 POLLIN"),
        "data on stdin must make it readable:\n{}",
        run.stdout()
    );
}

#[test]
fn sleep_then_poll_stdin_at_eof() {
    for input in [Input::Null, Input::Bytes(Vec::new())] {
        let run = run_with(&["run", &program("sleep_poll")], input);
        run.expect_success();
        assert!(
            run.stdout().contains("poll returned 1 POLLIN"),
            "stdin at EOF is readable:\n{}",
            run.stdout()
        );
    }
}

/// The legacy `wasi_unstable` ABI: the guest seeks with its `whence`
/// numbering, reads its 56-byte filestat and its dirents, and polls with
/// its 56-byte subscriptions (see tests/programs/src/wasi_unstable.wat; it
/// exits with the number of the first failed check).
#[test]
fn wasi_unstable_guest() {
    let tmp = TempDir::new("wasi-unstable");
    std::fs::write(tmp.join("f.txt"), "0123456789").unwrap();
    let spec = format!("{}::/", tmp.path().display());
    let run = run(&["run", "--dir", &spec, &program("wasi_unstable")]);
    run.expect_success();
    assert_eq!(run.stdout(), "wasi_unstable: all ok\n");
}
