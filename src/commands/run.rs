//! `hoist run`: run a WASI command, or call one export with `--invoke`.

use super::compile;
use crate::cache::{Cache, CachePaths};
use anyhow::{anyhow, bail, Context, Result};
use hoist::{Engine, Func, ImageBuffer, Linker, Module, Store, Trap, Val, ValType};
use hoist_wasi::{I32Exit, WasiCtx, WasiCtxBuilder};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit status after a trap: 128 + SIGABRT, like a native abort().
const TRAP_EXIT_STATUS: u8 = 134;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Preopen a host directory for the guest. `GUEST:HOST` maps host HOST to guest path GUEST
    /// (WasmEdge order, e.g. `/docroot:./docroot`); `HOST::GUEST` is the same in wasmtime order;
    /// `DIR` uses one path for both. Append `:ro` (or `:readonly`) to refuse every change below
    /// it. The host directory must exist. Repeatable; preopens get fds 3, 4, ... in order.
    #[arg(long = "dir", value_name = "GUEST:HOST")]
    dirs: Vec<String>,

    /// Set a guest environment variable: `NAME=VALUE`, or `NAME` to copy the host's value.
    /// Repeatable. By default the guest sees no host environment.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,

    /// Give the guest the whole host environment (`--env` entries still apply on top).
    #[arg(long)]
    inherit_env: bool,

    /// Call this export instead of `_start` (after `_initialize`, if exported), passing ARGS as its
    /// parameters, and print its results one per line.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,

    /// The program name the guest sees as argv[0] (default: MODULE as given).
    #[arg(long, value_name = "NAME")]
    argv0: Option<String>,

    /// Run a precompiled hoist artifact even when its name does not end in `.hwasm`. An artifact
    /// is native code that runs outside the wasm sandbox's guarantees: use this only for files
    /// you compiled or trust.
    #[arg(long)]
    allow_precompiled: bool,

    /// Compile every time: do not read or write the compile cache (in $XDG_CACHE_HOME/hoist).
    #[arg(long)]
    no_cache: bool,

    /// Say on stderr what hoist decides on the way (e.g. that the compile cache is not used).
    #[arg(short, long)]
    verbose: bool,

    /// Instantiate MODULE first and make its exports importable under NAME (as wasmtime's
    /// `--preload`). Repeatable.
    #[arg(long, value_name = "NAME=MODULE")]
    preload: Vec<String>,

    /// The module to run (.wasm or .wat), then the arguments for the guest. Options must come
    /// before the module: everything after it goes to the guest.
    #[arg(value_name = "MODULE", required = true, trailing_var_arg = true)]
    module_and_args: Vec<String>,
}

/// What the store holds for the guest.
struct Host {
    wasi: WasiCtx,
}

pub fn execute(args: RunArgs) -> Result<ExitCode> {
    let (module_path, guest_args) = args
        .module_and_args
        .split_first()
        .expect("clap requires the module");
    let dirs = args
        .dirs
        .iter()
        .map(|spec| DirSpec::parse(spec))
        .collect::<Result<Vec<_>>>()?;
    let engine = Engine::default();
    let loader = Loader {
        cache: open_cache(&args, &dirs),
        allow_precompiled: args.allow_precompiled,
    };
    let module = loader.load(&engine, Path::new(module_path))?;

    let mut wasi = WasiCtxBuilder::new();
    wasi.arg(args.argv0.clone().unwrap_or_else(|| module_path.clone()));
    wasi.args(guest_args.iter().cloned());
    if args.inherit_env {
        for (name, value) in std::env::vars() {
            wasi.env(name, value);
        }
    }
    for entry in &args.envs {
        match entry.split_once('=') {
            Some((name, value)) => wasi.env(name, value),
            None => match std::env::var(entry) {
                Ok(value) => wasi.env(entry.as_str(), value),
                Err(_) => &mut wasi,
            },
        };
    }
    for (dir, spec) in dirs.iter().zip(&args.dirs) {
        if !dir.host.is_dir() {
            bail!(
                "--dir {spec}: host directory `{}` does not exist",
                dir.host.display()
            );
        }
        wasi.preopen_dir(&dir.host, dir.guest.clone(), dir.read_only)
            .with_context(|| format!("--dir {spec}"))?;
    }

    let mut store = Store::new(&engine, Host { wasi: wasi.build() });
    let mut linker = Linker::new(&engine);
    hoist_wasi::add_to_linker(&mut linker, &mut store, |host| &mut host.wasi)?;
    for preload in &args.preload {
        let Some((name, path)) = preload.split_once('=') else {
            bail!("--preload {preload}: expected NAME=MODULE");
        };
        let preloaded = loader.load(&engine, Path::new(path))?;
        let instance = linker
            .instantiate(&mut store, &preloaded)
            .with_context(|| format!("failed to instantiate preloaded module `{path}`"))?;
        linker.instance(&mut store, name, instance)?;
    }

    let outcome = linker
        .instantiate(&mut store, &module)
        .with_context(|| format!("failed to instantiate `{module_path}`"))
        .and_then(|instance| match &args.invoke {
            Some(name) => invoke(&mut store, instance, name, guest_args),
            None => {
                let start = instance.get_func(&mut store, "_start").ok_or_else(|| {
                    anyhow!("`{module_path}` exports no `_start` function; use --invoke to call an export")
                })?;
                start.call(&mut store, &[], &mut [])
            }
        });
    Ok(exit_status(outcome))
}

/// The compile cache for this run, unless it is turned off, unusable, or
/// reachable by the guest (then compiling in memory is the safe choice).
fn open_cache(args: &RunArgs, dirs: &[DirSpec]) -> Option<Cache> {
    if args.no_cache {
        return None;
    }
    let verbose = |why: &str| {
        if args.verbose {
            eprintln!("hoist: not using the compile cache: {why}");
        }
    };
    let Some(paths) = CachePaths::from_env() else {
        verbose("neither XDG_CACHE_HOME nor HOME is set");
        return None;
    };
    let hosts: Vec<PathBuf> = dirs.iter().map(|d| d.host.clone()).collect();
    if paths.exposed_by(&hosts) {
        verbose(&format!(
            "a preopened directory contains `{}` or its key; compiling in memory",
            paths.dir.display()
        ));
        return None;
    }
    Cache::open(&paths)
        .inspect_err(|e| verbose(&format!("{e:#}")))
        .ok()
}

/// How modules given on the command line are loaded.
struct Loader {
    cache: Option<Cache>,
    allow_precompiled: bool,
}

impl Loader {
    /// A hoist artifact is loaded as is (if this user's hoist sealed it,
    /// or with --allow-precompiled); a wasm binary goes through the compile
    /// cache (when there is one); text is compiled. The file is read once,
    /// and what was checked is what runs.
    fn load(&self, engine: &Engine, path: &Path) -> Result<Module> {
        let mut buffer = std::fs::File::open(path)
            .and_then(|mut file| ImageBuffer::read_file(&mut file))
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        let bytes = buffer.as_slice();
        if hoist::is_artifact(bytes) {
            let sealed = crate::key::local_key().ok().and_then(|key| {
                hoist_artifact::unseal(bytes, &key, compile::ARTIFACT_SEAL_CONTEXT)
            });
            // Native code: only what the user knowingly runs as such. A file
            // passed as `app.wasm` that is really an artifact could be
            // anything; so could an artifact this user's hoist did not make.
            let named_artifact = path.extension().is_some_and(|e| e == "hwasm");
            if !self.allow_precompiled {
                if !named_artifact {
                    bail!(
                        "`{}` is a precompiled artifact (native code), not WebAssembly; to run it \
                         anyway, pass --allow-precompiled (only for files you compiled or trust)",
                        path.display()
                    );
                }
                if sealed.is_none() {
                    bail!(
                        "`{}` was not compiled by this user's hoist, or was changed since: it \
                         carries no valid seal of the local key. It is native code; recompile it \
                         with `hoist compile`, or pass --allow-precompiled to run it anyway (only \
                         for files you trust)",
                        path.display()
                    );
                }
            }
            if let Some(len) = sealed {
                buffer.truncate(len);
            }
            return Module::deserialize_buffer(engine, buffer)
                .with_context(|| format!("cannot run `{}`", path.display()));
        }
        let compiled = match &self.cache {
            Some(cache) if bytes.starts_with(b"\0asm") => cache.load_or_compile(engine, bytes),
            _ => Module::new(engine, bytes),
        };
        compiled.with_context(|| format!("failed to compile `{}`", path.display()))
    }
}

/// Runs `_initialize` if present, then calls `name` with `args` parsed
/// by its parameter types, printing the results.
fn invoke(
    store: &mut Store<Host>,
    instance: hoist::Instance,
    name: &str,
    args: &[String],
) -> Result<()> {
    if let Some(init) = instance.get_func(store, "_initialize") {
        init.call(store, &[], &mut [])?;
    }
    let func: Func = instance
        .get_func(store, name)
        .ok_or_else(|| anyhow!("the module exports no function `{name}`"))?;
    let ty = func.ty(store);
    if args.len() != ty.params().len() {
        bail!(
            "`{name}` takes {} arguments ({ty}), {} given",
            ty.params().len(),
            args.len()
        );
    }
    let params = ty
        .params()
        .iter()
        .zip(args)
        .map(|(ty, arg)| {
            parse_val(*ty, arg).with_context(|| format!("argument `{arg}` for `{name}`"))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
    func.call(store, &params, &mut results)?;
    for result in results {
        println!("{}", format_val(&result));
    }
    Ok(())
}

fn parse_val(ty: ValType, text: &str) -> Result<Val> {
    Ok(match ty {
        ValType::I32 => Val::I32(parse_int::<i64>(text)? as i32),
        ValType::I64 => Val::I64(parse_int::<i64>(text)?),
        ValType::F32 => Val::F32(text.parse::<f32>()?.to_bits()),
        ValType::F64 => Val::F64(text.parse::<f64>()?.to_bits()),
        other => bail!("cannot pass a {other} on the command line"),
    })
}

fn parse_int<T: std::str::FromStr>(text: &str) -> Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    Ok(text.parse::<T>()?)
}

fn format_val(val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(bits) => format!("{bits:#034x}"),
        Val::FuncRef(f) => if f.is_some() { "funcref" } else { "null" }.to_string(),
        Val::ExternRef(e) => if e.is_some() { "externref" } else { "null" }.to_string(),
        Val::ExnRef(e) => if e.is_some() { "exnref" } else { "null" }.to_string(),
        Val::AnyRef(a) => if a.is_some() { "anyref" } else { "null" }.to_string(),
    }
}

/// The process exit status for how the guest ended, after reporting
/// errors on stderr.
fn exit_status(outcome: Result<()>) -> ExitCode {
    let error = match outcome {
        Ok(()) => return ExitCode::SUCCESS,
        Err(error) => error,
    };
    if let Some(I32Exit(code)) = error.downcast_ref::<I32Exit>() {
        // Statuses wrap to 8 bits, as they would for a native process.
        return ExitCode::from(*code as u8);
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        eprintln!("error: wasm trap: {trap}");
        if !trap.frames().is_empty() {
            eprintln!("wasm backtrace:");
            for line in crate::backtrace::lines(trap.frames()) {
                eprintln!("{line}");
            }
        }
        return ExitCode::from(TRAP_EXIT_STATUS);
    }
    // An exception nothing caught ends the program like a trap.
    if let Some(exception) = error.downcast_ref::<hoist::WasmException>() {
        eprintln!("error: {exception}");
        if !exception.frames().is_empty() {
            eprintln!("wasm backtrace:");
            for line in crate::backtrace::lines(exception.frames()) {
                eprintln!("{line}");
            }
        }
        return ExitCode::from(TRAP_EXIT_STATUS);
    }
    super::print_error(&error);
    ExitCode::FAILURE
}

/// One `--dir` argument, in any of its three forms.
#[derive(Debug, PartialEq)]
struct DirSpec {
    guest: String,
    host: PathBuf,
    read_only: bool,
}

impl DirSpec {
    fn parse(spec: &str) -> Result<DirSpec> {
        let (rest, read_only) = match spec
            .strip_suffix(":readonly")
            .or_else(|| spec.strip_suffix(":ro"))
        {
            Some(rest) => (rest, true),
            None => (spec, false),
        };
        let (guest, host) = if let Some((host, guest)) = rest.split_once("::") {
            (guest, host)
        } else if let Some((guest, host)) = rest.split_once(':') {
            (guest, host)
        } else {
            (rest, rest)
        };
        if guest.is_empty() || host.is_empty() {
            bail!("--dir {spec}: expected GUEST:HOST, HOST::GUEST or DIR");
        }
        Ok(DirSpec {
            guest: guest.to_string(),
            host: PathBuf::from(host),
            read_only,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(guest: &str, host: &str, read_only: bool) -> DirSpec {
        DirSpec {
            guest: guest.into(),
            host: host.into(),
            read_only,
        }
    }

    #[test]
    fn dir_forms() {
        assert_eq!(
            DirSpec::parse("/docroot:./docroot").unwrap(),
            spec("/docroot", "./docroot", false)
        );
        assert_eq!(
            DirSpec::parse("./docroot::/docroot").unwrap(),
            spec("/docroot", "./docroot", false)
        );
        assert_eq!(DirSpec::parse("data").unwrap(), spec("data", "data", false));
        assert_eq!(
            DirSpec::parse("/d:/tmp/x:ro").unwrap(),
            spec("/d", "/tmp/x", true)
        );
        assert_eq!(
            DirSpec::parse("/tmp/x::/d:readonly").unwrap(),
            spec("/d", "/tmp/x", true)
        );
        assert_eq!(
            DirSpec::parse("data:ro").unwrap(),
            spec("data", "data", true)
        );
        assert!(DirSpec::parse(":x").is_err());
    }
}
