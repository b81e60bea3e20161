//! The `hoist` command line around the guest: which entry points run,
//! `--preload` reactors, `--invoke` arguments, argv[0], environment bytes,
//! exit statuses, and hoist's own output when its stdout is closed.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod support;
use support::{program, Scratch};

fn temp_dir(tag: &str) -> Scratch {
    Scratch::new(&format!("cli-test-{tag}"))
}

/// Writes `wat` as a module binary in a fresh directory (kept while the
/// returned guard lives).
fn wasm_file(tag: &str, wat: &str) -> (Scratch, PathBuf) {
    let dir = temp_dir(tag);
    let path = dir.join(format!("{tag}.wasm"));
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    (dir, path)
}

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

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
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }
}

fn finish(output: Output) -> Run {
    Run {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn run_cmd(mut cmd: Command) -> Run {
    finish(cmd.stdin(Stdio::null()).output().expect("running hoist"))
}

fn run<S: AsRef<OsStr>>(args: &[S]) -> Run {
    let mut cmd = support::hoist();
    cmd.args(args);
    run_cmd(cmd)
}

// 1. Entry points.

#[test]
fn a_start_section_alone_is_an_entry_point() {
    let run = run(&["run", &program("start_only")]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "start function ran\n");
    assert_eq!(run.stderr, "");

    // The same from an artifact, whose exports are read after loading it.
    let dir = temp_dir("start-artifact");
    let artifact = dir.join("start_only.hwasm");
    let artifact = artifact.to_str().unwrap();
    self::run(&["compile", &program("start_only"), "-o", artifact]).expect_code(0);
    let run = self::run(&["run", artifact]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "start function ran\n");
}

#[test]
fn a_reactor_alone_is_initialized() {
    let run = run(&["run", &program("wat_reactor")]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "");
    assert_eq!(run.stderr, "wat_reactor: _initialize\n");
}

#[test]
fn initialize_runs_before_start() {
    let (_dir, module) = wasm_file(
        "both",
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "init\n")
          (data (i32.const 32) "start\n")
          (func $print (param i32 i32)
            (i32.store (i32.const 0) (local.get 0))
            (i32.store (i32.const 4) (local.get 1))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
          (func (export "_initialize") (call $print (i32.const 16) (i32.const 5)))
          (func (export "_start") (call $print (i32.const 32) (i32.const 6))))"#,
    );
    let run = run(&[OsStr::new("run"), module.as_os_str()]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "init\nstart\n");
}

/// The default export `""` is what runs, before `_start`, as in wasmtime
/// (ITK-wasm's WASI pipelines have no `_start`): called as `--invoke ''`
/// would be, the arguments as its parameters and its results printed,
/// after `_initialize`.
#[test]
fn the_default_export_runs_first() {
    let (_dir, module) = wasm_file(
        "default-export",
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "init\n")
          (func (export "_initialize")
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 5))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
          (func (export "") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
          (func (export "_start") (call $exit (i32.const 4))))"#,
    );
    let run = run(&[module.as_os_str(), OsStr::new("41")]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "init\n42\n");

    let run = self::run(&[module.as_os_str()]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("the default export `\"\"` takes 1 arguments, 0 given"),
        "{}",
        run.stderr
    );

    // Alone, with its exit code through proc_exit.
    let (_dir, module) = wasm_file(
        "default-only",
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func (export "") (call $exit (i32.const 7))))"#,
    );
    self::run(&[OsStr::new("run"), module.as_os_str()]).expect_code(7);
}

/// A module with nothing to run: the missing entry point is reported
/// before the compile, which leaves no cache entry behind. (One whose code
/// does not validate is reported as invalid instead, see
/// `an_invalid_module_is_refused_as_invalid_before_its_entry_points`.)
#[test]
fn no_entry_point_is_refused_before_compiling() {
    let (dir, module) = wasm_file(
        "no-entry",
        r#"(module (func (export "other") (result i32) (i32.const 1)) (global (export "_start") i32 (i32.const 0)))"#,
    );
    let cache = dir.join("cache");
    let entries = || {
        std::fs::read_dir(cache.join("hoist"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".hwasm"))
                    .count()
            })
            .unwrap_or(0)
    };
    let refused = |args: &[&OsStr]| {
        let mut cmd = support::hoist();
        cmd.env("XDG_CACHE_HOME", &cache).args(args);
        let run = run_cmd(cmd);
        run.expect_code(1);
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
        assert!(!run.stderr.contains("compile"), "{}", run.stderr);
        assert_eq!(entries(), 0, "compiled before refusing: {}", run.stderr);
        run.stderr
    };
    let stderr = refused(&[OsStr::new("run"), module.as_os_str()]);
    assert!(stderr.contains("exports no `_start` function"), "{stderr}");
    let stderr = refused(&[
        OsStr::new("run"),
        OsStr::new("--invoke"),
        OsStr::new("missing"),
        module.as_os_str(),
    ]);
    assert!(stderr.contains("exports no function `missing`"), "{stderr}");
    // The cache works here: a runnable module leaves its entry.
    let mut cmd = support::hoist();
    cmd.env("XDG_CACHE_HOME", &cache)
        .args([
            OsStr::new("run"),
            OsStr::new("--invoke"),
            OsStr::new("other"),
        ])
        .arg(&module);
    run_cmd(cmd).expect_code(0);
    assert_eq!(entries(), 1);

    // A valid artifact with no entry point: refused once loaded.
    let dir = temp_dir("no-entry-artifact");
    let wasm = dir.join("none.wasm");
    std::fs::write(
        &wasm,
        wat::parse_str(r#"(module (func (export "f")))"#).unwrap(),
    )
    .unwrap();
    let artifact = dir.join("none.hwasm");
    run_cmd({
        let mut cmd = support::hoist();
        cmd.arg("compile").arg(&wasm).arg("-o").arg(&artifact);
        cmd
    })
    .expect_code(0);
    let run = self::run(&[OsStr::new("run"), artifact.as_os_str()]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("exports no `_start` function"),
        "{}",
        run.stderr
    );
}

// 2. --preload reactors.

#[test]
fn preloaded_reactors_are_initialized_once() {
    for reactor in ["preload_reactor", "wat_reactor"] {
        let spec = format!("reactor={}", program(reactor));
        let run = run(&["run", "--preload", &spec, &program("preload_main")]);
        run.expect_code(0);
        assert_eq!(run.stdout(), "reactor state: 1\n", "with {reactor}");
    }
    // Initialized before the main module is instantiated: the main
    // module's start function already sees the state.
    let (_dir, main) = wasm_file(
        "reads-in-start",
        r#"(module
          (import "reactor" "reactor_state" (func $state (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (func $start (call $exit (i32.add (i32.const 40) (call $state))))
          (start $start))"#,
    );
    let run = run(&[
        OsStr::new("run"),
        OsStr::new("--preload"),
        OsStr::new(&format!("reactor={}", program("wat_reactor"))),
        main.as_os_str(),
    ]);
    run.expect_code(41);
}

// 3. --invoke arguments.

fn invoke(name: &str, args: &[&str]) -> Run {
    let module = program("invoke");
    let mut all = vec!["run", "--invoke", name, &module];
    all.extend_from_slice(args);
    run(&all)
}

#[test]
fn invoke_gives_every_argument_to_argv() {
    let run = invoke("show_args", &["7", "-8", "x", "--flag", ""]);
    run.expect_code(0);
    // argv (all the arguments, as wasmtime passes them), then the results:
    // argc and the two parameters.
    assert_eq!(run.stdout(), "invoke.wasm\n7\n-8\nx\n--flag\n\n6\n7\n-8\n");

    let run = invoke("five", &["extra"]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "5\n");
}

#[test]
fn invoke_with_too_few_arguments() {
    let run = invoke("show_args", &["1"]);
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "error: `show_args` takes 2 arguments, 1 given (its type is (func (param i32 i64) (result i32 i32 i64)))\n"
    );
    // An empty list is left out of the type, as in the text format.
    let run = invoke("sink", &[]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("(its type is (func (param i32)))"),
        "{}",
        run.stderr
    );
}

#[test]
fn invoke_arguments_in_range() {
    for (func, arg, printed) in [
        ("id_i32", "-2147483648", "-2147483648"),
        ("id_i32", "2147483647", "2147483647"),
        ("id_i32", "+5", "5"),
        ("id_i32", "0x7fffffff", "2147483647"),
        ("id_i32", "0X10", "16"),
        ("id_i64", "-9223372036854775808", "-9223372036854775808"),
        ("id_i64", "0x7fffffffffffffff", "9223372036854775807"),
        ("id_f32", "1.5", "1.5"),
        ("id_f32", "-inf", "-inf"),
        ("id_f64", "-2.5e-3", "-0.0025"),
    ] {
        let run = invoke(func, &[arg]);
        run.expect_code(0);
        assert_eq!(run.stdout(), format!("{printed}\n"), "{func} {arg}");
    }
}

#[test]
fn invoke_arguments_out_of_range_are_errors() {
    for (func, arg, ty) in [
        ("id_i32", "2147483648", "i32"),
        ("id_i32", "4294967296", "i32"),
        ("id_i32", "-2147483649", "i32"),
        ("id_i32", "0xffffffff", "i32"),
        ("id_i64", "9223372036854775808", "i64"),
        ("id_i64", "18446744073709551616", "i64"),
        ("id_i64", "-9223372036854775809", "i64"),
        ("id_f32", "1e39", "f32"),
        ("id_f64", "1e309", "f64"),
    ] {
        let run = invoke(func, &[arg]);
        run.expect_code(1);
        assert_eq!(
            run.stderr,
            format!(
                "error: argument 1 of `{func}`, `{arg}`\n  caused by: out of range for {ty}{}\n",
                match ty {
                    "i32" => " (-2147483648 to 2147483647)",
                    "i64" => " (-9223372036854775808 to 9223372036854775807)",
                    _ => "",
                }
            ),
            "{func} {arg}"
        );
    }
    for (func, arg) in [
        ("id_i32", "1e3"),
        ("id_i32", "0x-5"),
        ("id_i64", " 5"),
        ("id_f32", "x"),
    ] {
        let run = invoke(func, &[arg]);
        run.expect_code(1);
        assert!(
            run.stderr.contains("caused by: not an"),
            "{func} {arg}: {}",
            run.stderr
        );
    }
}

// 4. argv[0].

#[test]
fn argv0_is_the_file_name() {
    let module = program("args");
    assert!(module.starts_with('/'));
    let run = run(&["run", &module, "x"]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "argc=2\nargv[0]=args.wasm\nargv[1]=x\n");

    let run = self::run(&["run", "--argv0", "/given/name", &module]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "argc=1\nargv[0]=/given/name\n");
}

// 5. Arguments and environment are bytes.

#[test]
fn non_utf8_environment_and_arguments_pass_through() {
    let value = OsStr::from_bytes(b"caf\xe9 \xff");
    let expected = b"HOIST_TEST_LATIN1=caf\xe9 \xff\n";
    for args in [
        vec![OsStr::new("--inherit-env")],
        vec![OsStr::new("--env"), OsStr::new("HOIST_TEST_LATIN1")],
    ] {
        let mut cmd = support::hoist();
        cmd.env_clear()
            .env("XDG_CACHE_HOME", support::private_home().join("cache"))
            .env("XDG_STATE_HOME", support::private_home().join("state"))
            .env("HOIST_TEST_LATIN1", value)
            .arg("run")
            .args(&args)
            .arg(program("env"));
        let run = run_cmd(cmd);
        run.expect_code(0);
        let line = run
            .stdout
            .split_inclusive(|b| *b == b'\n')
            .find(|l| l.starts_with(b"HOIST_TEST_LATIN1="));
        assert_eq!(
            line,
            Some(&expected[..]),
            "with {args:?}: {:?}",
            run.stdout()
        );
    }

    let mut env_arg = b"X=".to_vec();
    env_arg.extend_from_slice(value.as_bytes());
    let run = run(&[
        OsStr::new("run"),
        OsStr::new("--env"),
        OsStr::from_bytes(&env_arg),
        OsStr::new(&program("env")),
    ]);
    run.expect_code(0);
    assert_eq!(run.stdout, b"X=caf\xe9 \xff\n");

    let run = self::run(&[OsStr::new("run"), OsStr::new(&program("args")), value]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        b"argc=2\nargv[0]=args.wasm\nargv[1]=caf\xe9 \xff\n"
    );
}

// 6. A closed stdout.

/// Runs hoist with `args` and a stdout whose reader is gone.
fn run_with_closed_stdout(args: &[&OsStr]) -> Run {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = support::hoist()
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    finish(output)
}

#[test]
fn closed_stdout_ends_quietly() {
    let dir = temp_dir("closed-stdout");
    let artifact = dir.join("hello.hwasm");
    let hello = program("hello");
    run(&[
        OsStr::new("compile"),
        OsStr::new(&hello),
        OsStr::new("-o"),
        artifact.as_os_str(),
    ])
    .expect_code(0);
    let wast = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fac.wast");
    let invoke = program("invoke");
    let cases: Vec<Vec<&OsStr>> = vec![
        vec!["run", "--invoke", "five", &invoke]
            .into_iter()
            .map(OsStr::new)
            .collect(),
        vec![OsStr::new("inspect"), artifact.as_os_str()],
        vec![OsStr::new("wast"), wast.as_os_str()],
        vec![OsStr::new("cache"), OsStr::new("info")],
        vec![OsStr::new("cache"), OsStr::new("clean")],
    ];
    for args in cases {
        let run = run_with_closed_stdout(&args);
        run.expect_code(141);
        assert_eq!(run.stderr, "", "{args:?}");
    }

    // `compile` prints nothing on stdout: it succeeds, and a closed stderr
    // for its messages does not matter either.
    let out = dir.join("again.hwasm");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = support::hoist()
        .arg("compile")
        .arg(&hello)
        .arg("-o")
        .arg(&out)
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(out.exists());

    // An error with stderr closed: exit 1, no panic (101).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = support::hoist()
        .args(["run", "/nonexistent/x.wasm"])
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
}

/// With descriptors 0, 1 and 2 closed, hoist opens them on /dev/null before
/// anything else, so the files it opens never take their numbers: a guest
/// that writes to stdout while it has a file open must not find its output
/// in the file.
#[test]
fn closed_standard_fds_are_reopened_on_dev_null() {
    use std::os::unix::process::CommandExt;
    let (dir, wasm) = wasm_file(
        "closed-fds",
        r#"(module
            (import "wasi_snapshot_preview1" "path_open"
              (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_write"
              (func $fd_write (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "out.txt")
            (data (i32.const 32) "guest output\n")
            (func (export "_start")
              ;; out.txt in the preopen (fd 3): O_CREAT, right fd_write.
              (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 7)
                    (i32.const 1) (i64.const 0x40) (i64.const 0) (i32.const 0) (i32.const 8))
                (then unreachable))
              (i32.store (i32.const 0) (i32.const 32))
              (i32.store (i32.const 4) (i32.const 13))
              (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
              (if (call $fd_close (i32.load (i32.const 8))) (then unreachable))))"#,
    );
    let sandbox = dir.join("sandbox");
    std::fs::create_dir(&sandbox).unwrap();
    let spec = format!("{}::/w", sandbox.display());
    let mut cmd = support::hoist();
    cmd.args(["run", "-C", "cache=n", "--dir", &spec])
        .arg(&wasm);
    // SAFETY: only close runs between fork and exec (async-signal-safe).
    unsafe {
        cmd.pre_exec(|| {
            for fd in 0..3 {
                libc::close(fd);
            }
            Ok(())
        });
    }
    let status = cmd.status().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(sandbox.join("out.txt")).unwrap(),
        ""
    );
}

// 7. Exit statuses.

#[test]
fn exit_statuses_never_wrap_to_success() {
    for code in [0, 1, 125, 126, 255] {
        let run = run(&["run", &program("exit"), &code.to_string()]);
        run.expect_code(code);
        assert_eq!(run.stderr, "");
    }
    for code in [256, 257, -1, i32::MAX, i32::MIN] {
        let run = run(&["run", &program("exit"), &code.to_string()]);
        run.expect_code(1);
        assert_eq!(
            run.stderr,
            format!(
                "error: the guest exited with status {code}, which is not a process exit status (0 to 255)\n"
            )
        );
    }
}

// 8. Spellings of other runtimes, implicit run, messages.

#[test]
fn a_module_first_is_run_and_stdin_works() {
    let run = run(&[&program("args"), "x"]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "argc=2\nargv[0]=args.wasm\nargv[1]=x\n");
    // Options of `run` before the module, without `run`.
    let run = self::run(&["--env", "A=1", &program("env")]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "A=1\n");
    // A typo of a subcommand is still clap's error, with a suggestion.
    let run = self::run(&["rnu", "x"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("unrecognized subcommand 'rnu'"),
        "{}",
        run.stderr
    );

    let mut cmd = support::hoist();
    cmd.args(["run", "-", "y"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let wasm = std::fs::read(program("args")).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &wasm).unwrap();
    let run = finish(child.wait_with_output().unwrap());
    run.expect_code(0);
    assert_eq!(run.stdout(), "argc=2\nargv[0]=-\nargv[1]=y\n");
}

#[test]
fn grouped_keys_help_and_errors() {
    for group in ["-W", "-S", "-C", "-O", "-D"] {
        let run = run(&["run", group, "help"]);
        run.expect_code(0);
        assert!(run.stdout().starts_with(group), "{group}: {}", run.stdout());
    }
    let help = run(&["run", "-W", "help"]).stdout();
    assert!(
        help.contains("tail-call[=y|n]") && help.contains("fuel=N"),
        "{help}"
    );
    let run = self::run(&["run", "-W", "simd=n,bogus", &program("hello")]);
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "error: -W bogus: unknown key `bogus`; `hoist run -W help` lists them\n"
    );
    // clap's wrong tip (`-- --mapdir`) is gone; a note says what to do.
    let run = self::run(&["run", "--enable-all-statistics", &program("hello")]);
    run.expect_code(2);
    assert!(!run.stderr.contains("tip: to pass"), "{}", run.stderr);
    assert!(
        run.stderr.contains("no execution statistics"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_first_tier_of_lazy_compilation_is_chosen_with_c_baseline() {
    // A recursive integer function (the single-pass compiler's subset) and
    // one with floats (Cranelift's), run lazily with either first tier.
    let (_dir, module) = wasm_file(
        "tiers",
        r#"(module
          (func $fac (export "fac") (param i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0))
              (then (i64.const 1))
              (else (i64.mul (local.get 0)
                      (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
          (func (export "half") (param f64) (result f64)
            (f64.mul (local.get 0) (f64.const 0.5))))"#,
    );
    let module = module.to_str().unwrap();
    for tier in ["single-pass", "cranelift"] {
        let baseline = format!("baseline={tier}");
        let args = ["run", "-C", "lazy=y,cache=n", "-C", &baseline, "--invoke"];
        let fac = run(&[&args[..], &["fac", module, "20"]].concat());
        fac.expect_code(0);
        assert_eq!(fac.stdout(), "2432902008176640000\n", "{tier}");
        let half = run(&[&args[..], &["half", module, "3"]].concat());
        half.expect_code(0);
        assert_eq!(half.stdout(), "1.5\n", "{tier}");
    }
    let bad = run(&["run", "-C", "baseline=fast", module]);
    bad.expect_code(1);
    assert!(
        bad.stderr.contains("single-pass or cranelift, not fast"),
        "{}",
        bad.stderr
    );
}

#[test]
fn features_turned_off_refuse_modules_and_artifacts_that_use_them() {
    let (dir, module) = wasm_file(
        "simd",
        r#"(module (func (export "_start") (drop (v128.const i64x2 1 2))))"#,
    );
    let module = module.to_str().unwrap();
    run(&["run", module]).expect_code(0);
    let refused = run(&["run", "-W", "simd=n", module]);
    refused.expect_code(1);
    assert!(refused.stderr.contains("SIMD"), "{}", refused.stderr);
    let refused = run(&["run", "--disable-simd", module]);
    refused.expect_code(1);
    // An artifact compiled with SIMD on is refused by a run with it off.
    let artifact = dir.join("simd.hwasm");
    let artifact = artifact.to_str().unwrap();
    run(&["compile", module, "-o", artifact]).expect_code(0);
    run(&["run", artifact]).expect_code(0);
    let refused = run(&["run", "-W", "simd=n", artifact]);
    refused.expect_code(1);
    assert!(
        refused
            .stderr
            .contains("features this run has turned off (simd)"),
        "{}",
        refused.stderr
    );
}

#[test]
fn options_after_the_module_go_to_the_guest_with_a_warning() {
    let run = run(&[&program("args"), "--env", "A=1", "-W", "x"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout(),
        "argc=5\nargv[0]=args.wasm\nargv[1]=--env\nargv[2]=A=1\nargv[3]=-W\nargv[4]=x\n"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run
        .stderr
        .starts_with("warning: `--env` comes after the module"));
    // After `--` the user meant it; a guest's own flags are no hoist options,
    // nor are flags as common among guests as `--verbose` (`avr-ld
    // --verbose`) or `--help`.
    for args in [
        &["--", "--env"][..],
        &["-v", "--color"],
        &["--verbose", "-o", "x.elf"],
        &["--help"],
        &["--version"],
    ] {
        let mut all = vec![program("args")];
        all.extend(args.iter().map(|a| a.to_string()));
        let run = self::run(&all);
        run.expect_code(0);
        assert_eq!(run.stderr, "", "{args:?}");
    }
}

#[test]
fn a_guests_compiler_flags_after_the_module_draw_no_warning() {
    // cc1, clang, tcc as guests: their flags look like hoist's short ones.
    let flags = [
        "-O2", "-Wall", "-DNDEBUG", "-S", "-Os", "-D", "FOO", "-C", "-W", "error",
    ];
    let mut all = vec![program("args")];
    all.extend(flags.iter().map(|a| a.to_string()));
    let quiet = run(&all);
    quiet.expect_code(0);
    assert_eq!(quiet.stderr, "", "{flags:?}");
    // What sets one of hoist's keys is still pointed out.
    for args in [
        &["-W", "timeout=1s"][..],
        &["-Sinherit-env"][..],
        &["-C", "cache=n"][..],
    ] {
        let mut all = vec![program("args")];
        all.extend(args.iter().map(|a| a.to_string()));
        let warned = run(&all);
        warned.expect_code(0);
        assert!(
            warned.stderr.starts_with("warning: `"),
            "{args:?}: {}",
            warned.stderr
        );
    }
}

#[test]
fn files_that_are_not_modules_are_named() {
    let dir = temp_dir("not-wasm");
    let component = b"\0asm\x0d\0\x01\0".to_vec();
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    elf.resize(64, 0);
    for (name, bytes, says) in [
        (
            "app.wasm.gz",
            b"\x1f\x8b\x08\0\0\0\0\0".to_vec(),
            "is gzip-compressed",
        ),
        (
            "app.wasm",
            b"<!DOCTYPE html><html>404</html>".to_vec(),
            "is a web page",
        ),
        (
            "app.cwasm",
            [&elf[..], b".wasmtime.engine"].concat(),
            "wasmtime precompiled module",
        ),
        ("app", elf.clone(), "is a native executable (ELF)"),
        (
            "component.wasm",
            component,
            "component; hoist runs core WebAssembly modules only",
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        for sub in ["run", "compile", "inspect"] {
            let run = run(&[OsStr::new(sub), path.as_os_str()]);
            run.expect_code(1);
            assert!(run.stderr.contains(says), "{sub} {name}: {}", run.stderr);
        }
    }
    // Text that does not parse: the error names the file, never <anon>.
    let wat = dir.join("bad.wat");
    std::fs::write(&wat, "(module (func (i32.bogus)))").unwrap();
    for sub in ["run", "compile"] {
        let run = run(&[OsStr::new(sub), wat.as_os_str()]);
        run.expect_code(1);
        assert!(run.stderr.contains("bad.wat:1:"), "{}", run.stderr);
        assert!(!run.stderr.contains("<anon>"), "{}", run.stderr);
    }
}

/// An artifact whose seal cannot be checked because the local key is
/// unusable says why (it said the artifact was not compiled by this user's
/// hoist; helper-35).
#[test]
fn an_unusable_key_is_named_when_an_artifact_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("unusable-key");
    let state = dir.join("state");
    let artifact = dir.join("hello.hwasm");
    let mut compile = support::hoist();
    compile
        .env("XDG_STATE_HOME", &state)
        .arg("compile")
        .arg(support::program_path("hello"))
        .arg("-o")
        .arg(&artifact);
    run_cmd(compile).expect_code(0);
    // Others may write the key's directory: no key from there is trusted.
    let key_dir = state.join("hoist");
    std::fs::set_permissions(&key_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut cmd = support::hoist();
    cmd.env("XDG_STATE_HOME", &state).arg("run").arg(&artifact);
    let run = run_cmd(cmd);
    run.expect_code(1);
    assert!(
        run.stderr.contains("the local key is unusable")
            && run.stderr.contains("not a private directory"),
        "{}",
        run.stderr
    );
}

/// A `--dir` that names a file, or nothing, says which, in every form of
/// the option (helper-32: a file was "does not exist").
#[test]
fn dir_options_name_what_is_wrong_with_the_host_path() {
    let (dir, module) = wasm_file("dir-errors", "(module (func (export \"_start\")))");
    let file = dir.join("afile");
    std::fs::write(&file, "x").unwrap();
    let missing = dir.join("missing");
    let (file, missing) = (file.display(), missing.display());
    for (spec, says) in [
        (format!("{file}"), "is not a directory"),
        (format!("/g:{file}"), "is not a directory"),
        (format!("{file}::/g"), "is not a directory"),
        (format!("{missing}"), "does not exist"),
        (format!("/g:{missing}"), "does not exist"),
    ] {
        let run = run(&[
            OsStr::new("run"),
            OsStr::new("--dir"),
            OsStr::new(&spec),
            module.as_os_str(),
        ]);
        run.expect_code(1);
        assert!(
            run.stderr.starts_with("error: --dir"),
            "{spec}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(says), "{spec}: {}", run.stderr);
    }
}

#[test]
fn compile_refuses_targets_hoist_cannot_run_and_takes_wasmedge_output() {
    let dir = temp_dir("targets");
    let out = dir.join("x.hwasm");
    let run = run(&[
        OsStr::new("compile"),
        OsStr::new("--target"),
        OsStr::new("x86_64-apple-darwin"),
        OsStr::new(&program("hello")),
        out.as_os_str(),
    ]);
    run.expect_code(1);
    assert!(run.stderr.contains("only on Linux"), "{}", run.stderr);
    assert!(!out.exists());
    // `compile IN OUT`, as WasmEdge writes it.
    self::run(&[
        OsStr::new("compile"),
        OsStr::new(&program("hello")),
        out.as_os_str(),
    ])
    .expect_code(0);
    let run = self::run(&[OsStr::new("run"), out.as_os_str()]);
    run.expect_code(0);
    assert_eq!(run.stdout(), "hello, world\n");
}

#[test]
fn inspect_describes_a_plain_module() {
    let run = run(&["inspect", &program("invoke")]);
    run.expect_code(0);
    let text = run.stdout();
    assert!(text.starts_with("WebAssembly module\n"), "{text}");
    assert!(text.contains("exports ("), "{text}");
    assert!(text.contains("  id_i64: func"), "{text}");
    assert!(text.contains("memories ("), "{text}");
    assert!(text.contains("features beyond WebAssembly 1.0:"), "{text}");
    let run = self::run(&["inspect", &program("memory64")]);
    assert!(run.stdout().contains("memory64"), "{}", run.stdout());
    let run = self::run(&["inspect", &program("tail_calls")]);
    assert!(run.stdout().contains("tail-call"), "{}", run.stdout());
}

#[test]
fn wasi_can_be_left_out() {
    let run = run(&["run", "-S", "cli=n", &program("hello")]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("wasi_snapshot_preview1"),
        "{}",
        run.stderr
    );
    let run = self::run(&["run", "-S", "preview0=n", &program("wasi_unstable")]);
    run.expect_code(1);
    assert!(run.stderr.contains("wasi_unstable"), "{}", run.stderr);
}

#[test]
fn completions_for_the_shells() {
    for shell in ["bash", "zsh", "fish"] {
        let run = run(&["completion", shell]);
        run.expect_code(0);
        assert!(run.stdout().contains("hoist"), "{shell}");
        assert!(run.stdout().contains("invoke"), "{shell}");
    }
}

// 9. Artifacts and cache entries belong to the build that made them.

/// An artifact compiled by another build of hoist (another VMContext
/// layout, builtin order, ...) is refused with both builds named, and a
/// cache entry made by another build is never used: each build compiles and
/// keeps its own.
#[test]
fn another_builds_artifacts_and_cache_entries_are_not_run() {
    const OTHER: &str = "00000000deadbeef";
    let dir = temp_dir("build-id");
    let home = dir.join("home");
    let hoist = |other_build: bool| {
        let mut cmd = support::hoist();
        cmd.env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_STATE_HOME", home.join("state"))
            .current_dir(&dir);
        if other_build {
            cmd.env("HOIST_BUILD_ID_OVERRIDE_FOR_TESTS", OTHER);
        } else {
            cmd.env_remove("HOIST_BUILD_ID_OVERRIDE_FOR_TESTS");
        }
        cmd
    };
    let artifact = dir.join("hello.hwasm");
    let mut compile = hoist(true);
    compile
        .args(["compile", &program("hello"), "-o"])
        .arg(&artifact);
    run_cmd(compile).expect_code(0);

    let mut run = hoist(false);
    run.arg("run").arg(&artifact);
    let refused = run_cmd(run);
    refused.expect_code(1);
    let stderr = &refused.stderr;
    assert!(refused.stdout.is_empty(), "nothing of it ran");
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains("another build of hoist")
            && stderr.contains(OTHER),
        "{stderr}"
    );
    // The build that made it runs it.
    let mut run = hoist(true);
    run.arg("run").arg(&artifact);
    let ran = run_cmd(run);
    ran.expect_code(0);
    assert_eq!(ran.stdout(), "hello, world\n");

    // The cache: one entry per build, each run prints the same.
    let entries = || {
        std::fs::read_dir(home.join("cache/hoist"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "hwasm"))
                    .count()
            })
            .unwrap_or(0)
    };
    for (other_build, expected_entries) in [(true, 1), (false, 2), (true, 2), (false, 2)] {
        let mut run = hoist(other_build);
        run.arg("run").arg(program("hello"));
        let ran = run_cmd(run);
        ran.expect_code(0);
        assert_eq!(ran.stdout(), "hello, world\n");
        assert_eq!(entries(), expected_entries, "other build: {other_build}");
    }
}

/// Running an artifact never opens the compile cache (no directory made,
/// nothing checked): only a module that needs compiling does.
#[test]
fn running_an_artifact_leaves_the_cache_alone() {
    let dir = temp_dir("artifact-no-cache");
    let artifact = dir.join("hello.hwasm");
    let mut compile = support::hoist();
    compile
        .args(["compile", &program("hello"), "-o"])
        .arg(&artifact);
    run_cmd(compile).expect_code(0);
    let cache = dir.join("cache");
    let mut run = support::hoist();
    run.env("XDG_CACHE_HOME", &cache).arg("run").arg(&artifact);
    let ran = run_cmd(run);
    ran.expect_code(0);
    assert_eq!(ran.stdout(), "hello, world\n");
    assert!(!cache.exists(), "the artifact run made {}", cache.display());
    let mut run = support::hoist();
    run.env("XDG_CACHE_HOME", &cache)
        .arg("run")
        .arg(program("hello"));
    run_cmd(run).expect_code(0);
    assert!(cache.join("hoist").is_dir(), "a module run uses the cache");
}

/// Names from a hostile module (or image, or archive) in hoist's error
/// messages reach the terminal with their control characters escaped: no
/// escape sequence, bell or carriage return gets through.
#[test]
fn error_messages_escape_control_characters() {
    let (_dir, path) = wasm_file(
        "escapes",
        r#"(module (import "\1b[2Jevil\0d" "f\07\c2\9b" (func)) (func (export "_start")))"#,
    );
    let run = run(&[OsStr::new("run"), path.as_os_str()]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("unknown import") && run.stderr.contains("\\u{1b}[2Jevil\\u{d}"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{:?}",
        run.stderr
    );
    assert!(run.stderr.contains("f\\u{7}\\u{9b}"), "{}", run.stderr);
}

/// `hoist inspect` lists a module's names with control characters escaped.
#[test]
fn inspect_escapes_control_characters() {
    let (_dir, path) = wasm_file(
        "inspect-escapes",
        r#"(module (import "\1b[2Jevil" "f\07" (func)) (func (export "_start\1b]0;x\07")))"#,
    );
    let run = run(&[OsStr::new("inspect"), path.as_os_str()]);
    run.expect_code(0);
    let out = run.stdout();
    assert!(out.contains("\\u{1b}[2Jevil"), "{out}");
    assert!(
        !out.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{out:?}"
    );
}

/// Input that never ends is refused, not read into memory: `/dev/zero` as
/// a module, a script or a settings file, and endless text on stdin. A
/// module piped in (a FIFO, not a regular file) still runs.
#[test]
fn endless_input_is_refused_and_pipes_are_read() {
    for args in [
        &["validate", "/dev/zero"][..],
        &["compile", "/dev/zero", "-o", "/dev/null"],
        &["inspect", "/dev/zero"],
        &["run", "/dev/zero"],
        &["wast", "/dev/zero"],
        &["run", "-C", "cache-config=/dev/zero", "/dev/null"],
    ] {
        let run = run(args);
        run.expect_code(1);
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.len() < 1000, "{args:?}: {}", run.stderr);
    }
    // `yes | hoist run -`: text, but not WebAssembly text.
    let mut cmd = support::hoist();
    cmd.args(["run", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = b"y\n".repeat(4096);
        while std::io::Write::write_all(&mut stdin, &chunk).is_ok() {}
    });
    let run = finish(child.wait_with_output().unwrap());
    feeder.join().unwrap();
    run.expect_code(1);
    assert!(
        run.stderr.contains("not WebAssembly text"),
        "{}",
        run.stderr
    );

    // A module through a pipe, named as a path.
    let mut cmd = support::hoist();
    cmd.args(["run", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, &std::fs::read(program("hello")).unwrap()).unwrap();
    drop(stdin);
    let run = finish(child.wait_with_output().unwrap());
    run.expect_code(0);
    assert_eq!(run.stdout(), "hello, world\n");
}

/// An invalid module with nothing to run is refused as invalid, not for
/// its missing `_start`: the entry-point scan reads only the export and
/// start sections, so the module is validated before that error.
#[test]
fn an_invalid_module_is_refused_as_invalid_before_its_entry_points() {
    let dir = temp_dir("invalid");
    // A table section that declares 2^32-1 tables.
    let path = dir.join("tables.wasm");
    std::fs::write(
        &path,
        b"\0asm\x01\0\0\0\x04\x09\xff\xff\xff\xff\x0f\0\0\0\0",
    )
    .unwrap();
    for args in [&["run"][..], &["run", "--invoke", "run"]] {
        let mut cmd = support::hoist();
        cmd.args(args).arg(&path);
        let run = run_cmd(cmd);
        run.expect_code(1);
        assert!(
            run.stderr.contains("is not valid WebAssembly") && run.stderr.contains("tables count"),
            "{args:?}: {}",
            run.stderr
        );
    }
}
