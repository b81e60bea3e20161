//! The WASI preview1 conformance suite (`shared/wasi-testsuite`, see its
//! README): one trial per `.wasm`, run through the hoist API.
//!
//! Each trial starts this test binary again as a child (so the guest's
//! stdout, stdin, exit status and cwd are its own): the child builds the
//! context the spec asks for, runs `_start` and exits with the guest's
//! status. The parent copies the spec's `root` (or `dirs`) to a scratch
//! directory first, so the shared copy is never changed, then compares the
//! exit status and the start of stdout (and stderr, when given) with the
//! spec, as upstream's runner does.
//!
//! Trials named in `KNOWN_FAILURES` are marked ignored; `--include-ignored`
//! runs them anyway.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

/// Set in a child's environment: run one guest instead of the suite.
const CHILD_ENV: &str = "HOIST_WASI_TESTSUITE_CHILD";

/// How long one guest may run before it is killed and fails.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Trials (`suite/name`) that are expected to fail for now, with why.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

fn suite_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/wasi-testsuite/tests")
}

fn main() -> ExitCode {
    if std::env::var_os(CHILD_ENV).is_some() {
        return child::main();
    }
    let args = Arguments::from_args();
    let trials = match collect() {
        Ok(trials) => trials,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    libtest_mimic::run(&args, trials).exit_code()
}

fn collect() -> Result<Vec<Trial>, String> {
    let root = suite_root();
    let mut wasms = Vec::new();
    let suites =
        std::fs::read_dir(&root).map_err(|e| format!("cannot read {}: {e}", root.display()))?;
    for suite in suites {
        let suite = suite.map_err(|e| e.to_string())?.path();
        let dir = suite.join("testsuite/wasm32-wasip1");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|e| e == "wasm") {
                let suite_name = suite.file_name().unwrap().to_string_lossy().into_owned();
                wasms.push((suite_name, path));
            }
        }
    }
    wasms.sort();
    if wasms.is_empty() {
        return Err(format!("no tests under {}", root.display()));
    }
    let mut known: BTreeMap<&str, &str> = KNOWN_FAILURES.iter().copied().collect();
    let mut trials = Vec::new();
    for (suite, wasm) in wasms {
        let stem = wasm.file_stem().unwrap().to_string_lossy().into_owned();
        let name = format!("{suite}/{stem}");
        let ignored = known.remove(name.as_str()).is_some();
        trials.push(Trial::test(name, move || run(&wasm)).with_ignored_flag(ignored));
    }
    if let Some(stale) = known.keys().next() {
        return Err(format!("KNOWN_FAILURES names no test: {stale}"));
    }
    Ok(trials)
}

/// A test's `.json` spec (legacy format).
#[derive(Default, Debug)]
struct Spec {
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Preopened as `/`.
    root: Option<String>,
    /// Each preopened under its own name.
    dirs: Vec<String>,
    exit_code: i32,
    stdout: String,
    stderr: String,
}

fn read_spec(wasm: &Path) -> Result<Spec, String> {
    let path = wasm.with_extension("json");
    let mut spec = Spec::default();
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(spec);
    };
    let json = json::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let json::Value::Object(fields) = json else {
        return Err(format!("{}: not an object", path.display()));
    };
    let strings = |v: &json::Value| -> Result<Vec<String>, String> {
        match v {
            json::Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or("expected a string".into())
                })
                .collect(),
            _ => Err("expected an array".into()),
        }
    };
    for (key, value) in &fields {
        match key.as_str() {
            "args" => spec.args = strings(value)?,
            "dirs" => spec.dirs = strings(value)?,
            "env" => {
                let json::Value::Object(vars) = value else {
                    return Err("env: expected an object".into());
                };
                for (k, v) in vars {
                    let v = v.as_str().ok_or("env: expected strings")?;
                    spec.env.push((k.clone(), v.to_owned()));
                }
            }
            "root" => spec.root = value.as_str().map(str::to_owned),
            "exit_code" => match value {
                json::Value::Number(n) => spec.exit_code = *n as i32,
                _ => return Err("exit_code: expected a number".into()),
            },
            "stdout" => spec.stdout = value.as_str().ok_or("stdout: expected a string")?.into(),
            "stderr" => spec.stderr = value.as_str().ok_or("stderr: expected a string")?.into(),
            other => return Err(format!("{}: unsupported key `{other}`", path.display())),
        }
    }
    Ok(spec)
}

/// Copies `from` into `to` recursively, making everything writable.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if ty.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644))?;
        }
    }
    Ok(())
}

/// Removes the scratch directory when the trial ends, however it ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(wasm: &Path) -> Result<(), Failed> {
    let spec = read_spec(wasm)?;
    let test_dir = wasm.parent().unwrap();
    let stem = wasm.file_stem().unwrap().to_string_lossy().into_owned();
    let suite = test_dir
        .ancestors()
        .nth(2)
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let scratch = Scratch(std::env::temp_dir().join(format!(
        "hoist-wasi-testsuite-{}-{suite}-{stem}",
        std::process::id()
    )));
    let _ = std::fs::remove_dir_all(&scratch.0);
    std::fs::create_dir_all(&scratch.0).map_err(|e| format!("scratch dir: {e}"))?;

    let mut cmd = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
    cmd.env_clear()
        .env(CHILD_ENV, "1")
        .current_dir(test_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .arg(wasm);
    let mut preopens = Vec::new();
    if let Some(root) = &spec.root {
        preopens.push((root.clone(), "/".to_string()));
    }
    for dir in &spec.dirs {
        preopens.push((dir.clone(), dir.clone()));
    }
    for (i, (host, guest)) in preopens.iter().enumerate() {
        let copy = scratch.0.join(format!("{i}"));
        copy_tree(&test_dir.join(host), &copy)
            .map_err(|e| format!("copying {host} to {}: {e}", copy.display()))?;
        cmd.arg("--dir").arg(copy).arg(guest);
    }
    for (k, v) in &spec.env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    for a in &spec.args {
        cmd.arg("--arg").arg(a);
    }

    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawning child: {e}"))?;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {TIMEOUT:?}").into());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let stdout = String::from_utf8_lossy(&stdout);
    let stderr = String::from_utf8_lossy(&stderr);

    let mut problems = Vec::new();
    match status.code() {
        Some(code) if code == spec.exit_code => {}
        code => problems.push(format!(
            "exit status {code:?} (signal {:?}), expected {}",
            std::os::unix::process::ExitStatusExt::signal(&status),
            spec.exit_code
        )),
    }
    if !stdout.starts_with(&spec.stdout) {
        problems.push(format!("stdout does not start with {:?}", spec.stdout));
    }
    if !stderr.starts_with(&spec.stderr) {
        problems.push(format!("stderr does not start with {:?}", spec.stderr));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}\n--- stdout:\n{}\n--- stderr:\n{}",
        problems.join("\n"),
        tail(&stdout),
        tail(&stderr)
    )
    .into())
}

fn tail(s: &str) -> &str {
    const MAX: usize = 4000;
    if s.len() <= MAX {
        return s;
    }
    let mut at = s.len() - MAX;
    while !s.is_char_boundary(at) {
        at += 1;
    }
    &s[at..]
}

/// The child: runs one guest with the hoist API and exits with its status.
mod child {
    use hoist::{Engine, Linker, Module, Store};
    use hoist_wasi::{I32Exit, WasiCtx, WasiCtxBuilder};
    use std::process::ExitCode;

    pub fn main() -> ExitCode {
        match run() {
            Ok(code) => std::process::exit(code),
            Err(err) => {
                eprintln!("error: {err:?}");
                ExitCode::from(70)
            }
        }
    }

    fn run() -> anyhow::Result<i32> {
        let mut args = std::env::args_os().skip(1);
        let wasm = std::path::PathBuf::from(args.next().expect("wasm path"));
        let mut builder = WasiCtxBuilder::new();
        builder.arg(wasm.file_name().unwrap().to_string_lossy());
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .expect("flag value")
                    .into_string()
                    .expect("UTF-8 argument")
            };
            match flag.to_str() {
                Some("--dir") => {
                    let host = value();
                    let guest = value();
                    builder.preopen_dir(host, guest, false)?;
                }
                Some("--env") => {
                    let var = value();
                    let (k, v) = var.split_once('=').expect("K=V");
                    builder.env(k, v);
                }
                Some("--arg") => {
                    builder.arg(value());
                }
                other => anyhow::bail!("unknown flag {other:?}"),
            }
        }
        let engine = Engine::default();
        let mut store = Store::new(&engine, builder.build());
        let mut linker = Linker::new(&engine);
        hoist_wasi::add_to_linker(&mut linker, &mut store, |ctx: &mut WasiCtx| ctx)?;
        let module = Module::from_binary(&engine, &std::fs::read(&wasm)?)?;
        let instance = linker.instantiate(&mut store, &module)?;
        let start = instance
            .get_func(&mut store, "_start")
            .ok_or_else(|| anyhow::anyhow!("no _start export"))?;
        match start.call(&mut store, &[], &mut []) {
            Ok(()) => Ok(0),
            Err(err) => {
                if let Some(I32Exit(code)) = err.chain().find_map(|e| e.downcast_ref::<I32Exit>()) {
                    return Ok(*code);
                }
                // A trap: report it and exit as an abort would.
                eprintln!("error: {err:?}");
                Ok(134)
            }
        }
    }
}

/// Just enough JSON for the specs.
mod json {
    #[derive(Debug)]
    pub enum Value {
        Null,
        Bool(#[allow(dead_code)] bool),
        Number(f64),
        String(String),
        Array(Vec<Value>),
        Object(Vec<(String, Value)>),
    }

    impl Value {
        pub fn as_str(&self) -> Option<&str> {
            match self {
                Value::String(s) => Some(s),
                _ => None,
            }
        }
    }

    pub fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing data at byte {}", p.i));
        }
        Ok(v)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }

        fn peek(&mut self) -> Option<u8> {
            self.ws();
            self.s.get(self.i).copied()
        }

        fn expect(&mut self, c: u8) -> Result<(), String> {
            if self.peek() == Some(c) {
                self.i += 1;
                Ok(())
            } else {
                Err(format!("expected `{}` at byte {}", c as char, self.i))
            }
        }

        fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
            if self.s[self.i..].starts_with(word.as_bytes()) {
                self.i += word.len();
                Ok(v)
            } else {
                Err(format!("bad literal at byte {}", self.i))
            }
        }

        fn value(&mut self) -> Result<Value, String> {
            match self.peek().ok_or("unexpected end")? {
                b'{' => {
                    self.i += 1;
                    let mut fields = Vec::new();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        return Ok(Value::Object(fields));
                    }
                    loop {
                        self.ws();
                        let key = self.string()?;
                        self.expect(b':')?;
                        fields.push((key, self.value()?));
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                return Ok(Value::Object(fields));
                            }
                            _ => return Err(format!("bad object at byte {}", self.i)),
                        }
                    }
                }
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        return Ok(Value::Array(items));
                    }
                    loop {
                        items.push(self.value()?);
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                return Ok(Value::Array(items));
                            }
                            _ => return Err(format!("bad array at byte {}", self.i)),
                        }
                    }
                }
                b'"' => Ok(Value::String(self.string()?)),
                b't' => self.literal("true", Value::Bool(true)),
                b'f' => self.literal("false", Value::Bool(false)),
                b'n' => self.literal("null", Value::Null),
                _ => {
                    let start = self.i;
                    while self.i < self.s.len()
                        && matches!(
                            self.s[self.i],
                            b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                        )
                    {
                        self.i += 1;
                    }
                    std::str::from_utf8(&self.s[start..self.i])
                        .ok()
                        .and_then(|n| n.parse().ok())
                        .map(Value::Number)
                        .ok_or_else(|| format!("bad number at byte {start}"))
                }
            }
        }

        fn string(&mut self) -> Result<String, String> {
            if self.s.get(self.i) != Some(&b'"') {
                return Err(format!("expected a string at byte {}", self.i));
            }
            self.i += 1;
            let mut out = Vec::new();
            loop {
                let c = *self.s.get(self.i).ok_or("unterminated string")?;
                self.i += 1;
                match c {
                    b'"' => break,
                    b'\\' => {
                        let e = *self.s.get(self.i).ok_or("unterminated escape")?;
                        self.i += 1;
                        let ch = match e {
                            b'n' => '\n',
                            b't' => '\t',
                            b'r' => '\r',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'u' => {
                                let hex = self.s.get(self.i..self.i + 4).ok_or("bad \\u")?;
                                self.i += 4;
                                let code = u32::from_str_radix(
                                    std::str::from_utf8(hex).map_err(|e| e.to_string())?,
                                    16,
                                )
                                .map_err(|e| e.to_string())?;
                                char::from_u32(code).unwrap_or('\u{fffd}')
                            }
                            other => other as char,
                        };
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    c => out.push(c),
                }
            }
            String::from_utf8(out).map_err(|e| e.to_string())
        }
    }
}
