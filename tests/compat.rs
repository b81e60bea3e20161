//! Command lines of wasmtime, WasmEdge and wasmer, as their documentation
//! writes them, run against hoist with only the program's name changed.
//! Each one's result is checked: those that map onto something hoist has
//! must work unchanged; the others must be refused (or warned about) with
//! a message that says why. The test prints the count that work.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod support;

/// What a command line must do under hoist.
enum Expect {
    /// Works as written: this exit status, this text in stdout, and no
    /// warning.
    Works(i32, &'static str),
    /// Does not work unchanged: hoist says this on stderr (and exits with
    /// an error, unless the text is a warning).
    Differs(&'static str),
}

use Expect::{Differs, Works};

/// (runtime, where its documentation has it, the command line, expected).
const LINES: &[(&str, &str, &str, Expect)] = &[
    // wasmtime: docs/cli-options.md, docs/cli.md, `wasmtime --help`,
    // docs/examples-profiling-perf.md, docs/examples-debugging-core-dumps.md,
    // docs/cli-cache.md, docs/WASI-tutorial.md and `wasmtime run -X help`.
    (
        "wasmtime",
        "cli-options.md",
        "wasmtime run foo.wasm",
        Works(0, "hello, world"),
    ),
    (
        "wasmtime",
        "cli-options.md",
        "wasmtime foo.wasm",
        Works(0, "hello, world"),
    ),
    (
        "wasmtime",
        "cli-options.md",
        "wasmtime foo.wat",
        Works(0, "hello from wat"),
    ),
    (
        "wasmtime",
        "cli.md",
        "wasmtime --invoke _start foo.wasm",
        Works(0, "hello, world"),
    ),
    (
        "wasmtime",
        "cli-options.md",
        "wasmtime wast foo.wast",
        Works(0, "3 passed, 0 failed"),
    ),
    (
        "wasmtime",
        "cli-options.md",
        "wasmtime help",
        Works(0, "Usage"),
    ),
    (
        "wasmtime",
        "cli-options.md",
        "wasmtime --help",
        Works(0, "Usage"),
    ),
    (
        "wasmtime",
        "cli-options.md",
        "wasmtime -h",
        Works(0, "Usage"),
    ),
    (
        "wasmtime",
        "cli-options.md",
        "wasmtime help run",
        Works(0, "Usage"),
    ),
    (
        "wasmtime",
        "cli-options.md",
        "wasmtime run -h",
        Works(0, "Usage"),
    ),
    (
        "wasmtime",
        "cli-options.md",
        "wasmtime config new",
        Differs("unrecognized subcommand"),
    ),
    (
        "wasmtime",
        "cli-options.md",
        "wasmtime wasm2obj foo.wasm foo.o",
        Differs("unrecognized subcommand"),
    ),
    (
        "wasmtime",
        "--help",
        "wasmtime example.wasm",
        Works(0, "example ran"),
    ),
    (
        "wasmtime",
        "--help",
        "wasmtime args.wasm arg1 arg2 arg3",
        Works(0, "argv[3]=arg3"),
    ),
    (
        "wasmtime",
        "--help",
        "wasmtime --invoke add example.wasm 1 2",
        Works(0, "3\n"),
    ),
    (
        "wasmtime",
        "--help",
        "wasmtime --version",
        Works(0, "hoist"),
    ),
    (
        "wasmtime",
        "WASI-tutorial.md",
        "wasmtime --dir=. foo.wasm",
        Works(0, "hello, world"),
    ),
    (
        "wasmtime",
        "run --help",
        "wasmtime run --dir ./data::/data foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "run --help",
        "wasmtime run --env FOO=bar env.wasm",
        Works(0, "FOO=bar"),
    ),
    (
        "wasmtime",
        "run --help",
        "wasmtime run --env HOME env.wasm",
        Works(0, "HOME="),
    ),
    (
        "wasmtime",
        "run --help",
        "wasmtime run --argv0 tool args.wasm",
        Works(0, "argv[0]=tool"),
    ),
    (
        "wasmtime",
        "run --help",
        "wasmtime run --preload reactor=reactor.wasm main.wasm",
        Works(0, "reactor state: 1"),
    ),
    (
        "wasmtime",
        "-S help",
        "wasmtime run -S inherit-env env.wasm",
        Works(0, "HOME="),
    ),
    (
        "wasmtime",
        "-S help",
        "wasmtime run -S cli=y,preview0=y foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-S help",
        "wasmtime run -S preview2=n foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-S help",
        "wasmtime run -S tcplisten=127.0.0.1:8080 foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-S help",
        "wasmtime run -S inherit-network foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-S help",
        "wasmtime run -S http foo.wasm",
        Differs("preview1"),
    ),
    (
        "wasmtime",
        "-W help",
        "wasmtime run -W simd=n foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-W help",
        "wasmtime -W tail-call=y,gc=y foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-W help",
        "wasmtime run -W all-proposals=y foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-W help",
        "wasmtime run -W max-wasm-stack=1048576 foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-W help",
        "wasmtime run -W fuel=100000 foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-W help",
        "wasmtime run -W timeout=10s foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-W help",
        "wasmtime run -W max-memory-size=1048576 foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-W help",
        "wasmtime run -W unknown-imports-trap=y foo.wasm",
        Works(0, "hello, world"),
    ),
    (
        "wasmtime",
        "-W help",
        "wasmtime run -W help",
        Works(0, "tail-call[=y|n]"),
    ),
    (
        "wasmtime",
        "-O help",
        "wasmtime run -O opt-level=0 foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-O help",
        "wasmtime run -O opt-level=s foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-C help",
        "wasmtime run -C cache=n foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "cli-cache.md",
        "wasmtime run -C cache-config=cache.toml foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-C help",
        "wasmtime run -C parallel-compilation=n foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "-C help",
        "wasmtime run -C compiler=winch foo.wasm",
        Differs("Cranelift only"),
    ),
    (
        "wasmtime",
        "-D help",
        "wasmtime run -D debug-info foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "examples-debugging-core-dumps.md",
        "wasmtime -D coredump=./trap.coredump ./trap.wasm",
        Works(134, "about to trap"),
    ),
    (
        "wasmtime",
        "examples-debugging.md",
        "WASMTIME_BACKTRACE_DETAILS=1 wasmtime trap_debug.wasm",
        Works(134, ""),
    ),
    (
        "wasmtime",
        "examples-profiling-perf.md",
        "wasmtime --profile=perfmap foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "examples-profiling-perf.md",
        "wasmtime --profile=jitdump foo.wasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "examples-pre-compiling-wasm.md",
        "wasmtime compile foo.wasm",
        Works(0, ""),
    ),
    (
        "wasmtime",
        "compile --help",
        "wasmtime compile foo.wasm -o foo.cwasm",
        Works(0, ""),
    ),
    (
        "wasmtime",
        "run --help",
        "wasmtime run --allow-precompiled foo.cwasm",
        Works(0, "hello"),
    ),
    (
        "wasmtime",
        "compile --help (-C is common to every subcommand)",
        "wasmtime compile -C cache=n -O opt-level=2 foo.wasm -o foo.cwasm",
        Works(0, ""),
    ),
    (
        "wasmtime",
        "compile --help",
        "wasmtime compile --target aarch64-unknown-linux-gnu foo.wasm -o foo-arm.cwasm",
        Works(0, ""),
    ),
    (
        "wasmtime",
        "--help",
        "wasmtime completion bash",
        Works(0, "hoist"),
    ),
    (
        "wasmtime",
        "--help",
        "wasmtime settings",
        Differs("unrecognized subcommand"),
    ),
    (
        "wasmtime",
        "--help",
        "wasmtime explore foo.wasm",
        Differs("unrecognized subcommand"),
    ),
    (
        "wasmtime",
        "--help",
        "wasmtime objdump foo.cwasm",
        Works(0, "hoist artifact"),
    ),
    (
        "wasmtime",
        "--help",
        "wasmtime serve component.wasm",
        Differs("unrecognized subcommand"),
    ),
    (
        "wasmtime",
        "--help",
        "wasmtime component.wasm",
        Differs("component"),
    ),
    // WasmEdge: docs/start/build-and-run/{cli,run,aot}.md.
    (
        "WasmEdge",
        "cli.md",
        "wasmedge target/wasm32-wasip1/release/hello.wasm",
        Works(0, "hello, world"),
    ),
    ("WasmEdge", "cli.md", "wasmedge -v", Works(0, "hoist")),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --reactor add.wasm add 2 2",
        Works(0, "4\n"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --reactor fibonacci.wasm fib 10",
        Works(0, "89\n"),
    ),
    (
        "WasmEdge",
        "run.md",
        "wasmedge run --reactor fibonacci.wasm fib 10",
        Works(0, "89\n"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --dir .:. wasmedge_quickjs.wasm hello.js 1 2 3",
        Works(0, "argv[1]=hello.js"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --dir /data:./data hello.wasm",
        Works(0, "hello"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --dir /data:./data:readonly hello.wasm",
        Works(0, "hello"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --env ENV_NAME=VALUE env.wasm",
        Works(0, "ENV_NAME=VALUE"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --disable-simd hello.wasm",
        Works(0, "hello"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --disable-function-reference hello.wasm",
        Works(0, "hello"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --disable-exception-handling hello.wasm",
        Works(0, "hello"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --enable-threads hello.wasm",
        Works(0, "hello"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --enable-all hello.wasm",
        Works(0, "hello"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --enable-tail-call hello.wasm",
        Works(0, "hello"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --time-limit 100 hello.wasm",
        Works(0, "hello"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --gas-limit 20425 hello.wasm",
        Works(0, "hello"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --memory-page-limit 16 hello.wasm",
        Works(0, "hello"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --enable-all-statistics hello.wasm",
        Differs("statistics"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --run-mode=aot hello.wasm",
        Differs("native code"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge --enable-component component.wasm",
        Differs("components"),
    ),
    (
        "WasmEdge",
        "aot.md",
        "wasmedge compile fibonacci.wasm fibonacci_aot.wasm",
        Works(0, ""),
    ),
    (
        "WasmEdge",
        "aot.md",
        "wasmedge compile fibonacci.wasm fibonacci_aot.so",
        Works(0, ""),
    ),
    (
        "WasmEdge",
        "aot.md",
        "wasmedge compile --optimize 0 hello.wasm hello_o0.wasm",
        Works(0, ""),
    ),
    (
        "WasmEdge",
        "aot.md",
        "wasmedge --reactor fibonacci_aot.wasm fib 30",
        Differs("--allow-precompiled"),
    ),
    (
        "WasmEdge",
        "aot.md",
        "wasmedge compile app.wasm app_aot.wasm",
        Works(0, ""),
    ),
    (
        "WasmEdge",
        "aot.md",
        "wasmedge app_aot.wasm",
        Differs("--allow-precompiled"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge validate hello.wasm",
        Works(0, "valid"),
    ),
    (
        "WasmEdge",
        "cli.md",
        "wasmedge parse hello.wasm",
        Works(0, "imports ("),
    ),
    // wasmer: content/runtime/cli.mdx (wasmer 7).
    (
        "wasmer",
        "cli.mdx",
        "wasmer run my_program.wasm",
        Works(0, "argc=1"),
    ),
    (
        "wasmer",
        "cli.mdx",
        "wasmer run my_program.wasm --singlepass",
        Differs("warning"),
    ),
    (
        "wasmer",
        "cli.mdx",
        "wasmer run my_wasi_program.wasm -- arg1 arg2 arg3",
        Works(0, "argv[1]=--"),
    ),
    (
        "wasmer",
        "cli.mdx",
        "wasmer run my_wasi_program.wasm --env MYVAR=MYVALUE -- arg1 arg2 arg3",
        Differs("warning"),
    ),
    (
        "wasmer",
        "cli.mdx",
        "wasmer run my_wasi_program.wasm --volume /host/data:/data",
        Differs("warning"),
    ),
    (
        "wasmer",
        "cli.mdx",
        "wasmer run my_program.wasm --profiler=perfmap",
        Differs("warning"),
    ),
    (
        "wasmer",
        "cli.mdx",
        "wasmer run python/python",
        Differs("failed to read"),
    ),
    (
        "wasmer",
        "--help",
        "wasmer run --forward-host-env env.wasm",
        Works(0, "HOME="),
    ),
    (
        "wasmer",
        "--help",
        "wasmer run --disable-cache my_program.wasm",
        Works(0, "argc=1"),
    ),
    (
        "wasmer",
        "--help",
        "wasmer run --enable-simd --enable-threads my_program.wasm",
        Works(0, "argc"),
    ),
    (
        "wasmer",
        "--help",
        "wasmer run --cranelift my_program.wasm",
        Works(0, "argc"),
    ),
    (
        "wasmer",
        "--help",
        "wasmer run --llvm my_program.wasm",
        Differs("Cranelift only"),
    ),
    (
        "wasmer",
        "--help",
        "wasmer run -i add add.wasm 2 3",
        Works(0, "5\n"),
    ),
    (
        "wasmer",
        "--help",
        "wasmer compile add.wasm -o add.wasmu",
        Works(0, ""),
    ),
    (
        "wasmer",
        "--help",
        "wasmer validate add.wasm",
        Works(0, "valid"),
    ),
    (
        "wasmer",
        "--help",
        "wasmer inspect add.wasm",
        Works(0, "add: func"),
    ),
    ("wasmer", "--help", "wasmer --version", Works(0, "hoist")),
];

/// The files the command lines name, made in `dir`.
fn fixtures(dir: &Path) {
    let programs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs");
    let copy = |from: &str, to: &str| {
        let to = dir.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(programs.join(from), to).unwrap();
    };
    for name in [
        "foo.wasm",
        "hello.wasm",
        "app.wasm",
        "target/wasm32-wasip1/release/hello.wasm",
    ] {
        copy("hello.wasm", name);
    }
    for name in [
        "args.wasm",
        "my_program.wasm",
        "my_wasi_program.wasm",
        "wasmedge_quickjs.wasm",
    ] {
        copy("args.wasm", name);
    }
    copy("env.wasm", "env.wasm");
    copy("trap.wasm", "trap.wasm");
    copy("trap_debug.wasm", "trap_debug.wasm");
    copy("wat_reactor.wasm", "reactor.wasm");
    copy("preload_main.wasm", "main.wasm");
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    let wat = |name: &str, text: &str| write(name, &wat::parse_str(text).unwrap());
    let print = |text: &str| {
        format!(
            r#"(import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
               (memory (export "memory") 1)
               (data (i32.const 16) "{text}\n")
               (func (export "_start")
                 (i32.store (i32.const 0) (i32.const 16))
                 (i32.store (i32.const 4) (i32.const {}))
                 (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))"#,
            text.len() + 1
        )
    };
    write(
        "foo.wat",
        format!("(module {})", print("hello from wat")).as_bytes(),
    );
    wat(
        "example.wasm",
        &format!(
            r#"(module {} (func (export "add") (param i32 i32) (result i32)
                 (i32.add (local.get 0) (local.get 1))))"#,
            print("example ran")
        ),
    );
    wat(
        "add.wasm",
        r#"(module (func (export "add") (param i32 i32) (result i32)
             (i32.add (local.get 0) (local.get 1))))"#,
    );
    // WasmEdge's examples/wasm/fibonacci.wat computes fib(0) = fib(1) = 1.
    wat(
        "fibonacci.wasm",
        r#"(module (func $fib (export "fib") (param i32) (result i32)
             (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
               (then (i32.const 1))
               (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                              (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#,
    );
    write(
        "foo.wast",
        br#"(module (func (export "one") (result i32) (i32.const 1)))
            (assert_return (invoke "one") (i32.const 1))
            (assert_trap (module (func $f unreachable) (start $f)) "unreachable")"#,
    );
    write("component.wasm", b"\0asm\x0d\0\x01\0");
    write("hello.js", b"print('Hello', ...args);\n");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let cache = dir.join("wasmtime-cache");
    write(
        "cache.toml",
        format!(
            "[cache]\ndirectory = \"{}\"\nfiles-total-size-soft-limit = \"1Gi\"\n",
            cache.display()
        )
        .as_bytes(),
    );
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs one documented line with hoist in place of the runtime.
fn run_line(dir: &Path, line: &str) -> Outcome {
    let mut words = line.split_whitespace().peekable();
    let mut env = Vec::new();
    while let Some((name, value)) = words.peek().and_then(|w| w.split_once('=')) {
        if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            env.push((name.to_string(), value.to_string()));
            words.next();
        } else {
            break;
        }
    }
    let runtime = words.next().expect("a runtime");
    assert!(
        ["wasmtime", "wasmedge", "wasmer"].contains(&runtime),
        "{line}"
    );
    let mut cmd: Command = support::hoist();
    cmd.args(words)
        .envs(env)
        .current_dir(dir)
        .env("HOME", dir)
        .stdin(Stdio::null());
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(format!("/tmp/perf-{pid}.map"));
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hoist-compat-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn documented_command_lines() {
    let dir = temp_dir();
    fixtures(&dir);
    let mut failures = Vec::new();
    let mut works = 0;
    let mut differs = Vec::new();
    for (runtime, doc, line, expect) in LINES {
        let out = run_line(&dir, line);
        let report = || {
            format!(
                "{runtime} ({doc}): `{line}`\n  exit {:?}\n  stdout: {}\n  stderr: {}",
                out.code, out.stdout, out.stderr
            )
        };
        assert!(!out.stderr.contains("panicked"), "{}", report());
        match expect {
            Works(code, text) => {
                if out.code == Some(*code)
                    && out.stdout.contains(text)
                    && !out.stderr.contains("warning")
                {
                    works += 1;
                } else {
                    failures.push(report());
                }
            }
            Differs(text) => {
                // Refused or warned about, in words that say why.
                let said = out.stderr.contains(text) || out.stdout.contains(text);
                let refused = out.code != Some(0) || text.starts_with("warning");
                if said && refused {
                    differs.push(format!("{runtime}: `{line}`: {}", first_line(&out.stderr)));
                } else {
                    failures.push(report());
                }
            }
        }
    }
    // The lines that leave files behind did so.
    assert!(dir.join("trap.coredump").exists(), "no core dump");
    assert!(dir.join("foo.hwasm").exists() && dir.join("foo.cwasm").exists());
    assert!(dir.join("fibonacci_aot.so").exists() && dir.join("add.wasmu").exists());
    assert!(
        dir.join("wasmtime-cache").is_dir(),
        "-C cache-config's directory was not used"
    );
    let _ = std::fs::remove_dir_all(&dir);

    eprintln!(
        "{works} of {} documented command lines work unchanged",
        LINES.len()
    );
    eprintln!("the others, and what hoist says:");
    for line in &differs {
        eprintln!("  {line}");
    }
    assert!(
        failures.is_empty(),
        "unexpected results:\n{}",
        failures.join("\n\n")
    );
    assert!(LINES.len() >= 60);
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| l.starts_with("error") || l.starts_with("warning"))
        .unwrap_or_else(|| text.lines().next().unwrap_or(""))
}
