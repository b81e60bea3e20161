//! `hoist run`: run a WASI command, or call one export with `--invoke`.

use super::compile;
use crate::cache::{Cache, CachePaths};
use crate::entry::EntryPoints;
use anyhow::{anyhow, bail, Context, Result};
use hoist::{Engine, Func, ImageBuffer, Linker, Module, Store, Trap, Val, ValType};
use hoist_wasi::{I32Exit, WasiCtx, WasiCtxBuilder};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
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
    envs: Vec<OsString>,

    /// Give the guest the whole host environment (`--env` entries still apply on top).
    #[arg(long)]
    inherit_env: bool,

    /// Call this export instead of `_start` (after `_initialize`, if exported), passing the first
    /// ARGS as its parameters (all of them are argv too, as in wasmtime), and print its results one
    /// per line.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,

    /// The program name the guest sees as argv[0] (default: the file name of MODULE).
    #[arg(long, value_name = "NAME")]
    argv0: Option<OsString>,

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

    /// Run an OCI image instead of MODULE: an image layout directory, or an archive from `docker
    /// save` or `skopeo copy ... oci-archive:`. Its wasi/wasm image is unpacked into a temporary
    /// root file system (preopened as `/`) and run with the entrypoint, command, env of its config;
    /// ARGS replace the command, and `--dir`/`--env` apply on top.
    #[arg(long, value_name = "PATH")]
    image: Option<PathBuf>,

    /// The module to run (.wasm or .wat), then the arguments for the guest. Options must come
    /// before the module: everything after it goes to the guest.
    #[arg(
        value_name = "MODULE",
        required_unless_present = "image",
        trailing_var_arg = true
    )]
    module_and_args: Vec<OsString>,
}

/// What the store holds for the guest.
struct Host {
    wasi: WasiCtx,
}

pub fn execute(mut args: RunArgs) -> Result<ExitCode> {
    // The image's module, argv, env and root file system become MODULE,
    // ARGS, `--env`s and a `--dir`; the root is removed when this goes.
    let _image = match args.image.take() {
        Some(path) => Some(crate::image::apply(
            &path,
            &mut args.module_and_args,
            &mut args.argv0,
            &mut args.envs,
            &mut args.dirs,
        )?),
        None => None,
    };
    let (module_arg, guest_args) = args
        .module_and_args
        .split_first()
        .expect("clap requires the module");
    let module_path = Path::new(module_arg);
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
    let source = loader.read(module_path)?;
    // Refuse what cannot run before paying for the compile.
    if let Some(entry) = source.entry_points() {
        match &args.invoke {
            Some(name) if !entry.exports(name) => {
                bail!("`{}` exports no function `{name}`", module_path.display());
            }
            None if !entry.runnable() => bail!(
                "`{}` exports no `_start` function (nor `_initialize`, and it has no start \
                 function); use --invoke to call an export",
                module_path.display()
            ),
            _ => {}
        }
    }
    let module = loader.compile(&engine, source)?;

    let mut wasi = WasiCtxBuilder::new();
    // The program name as a native program would see it: the file's name,
    // not the host path it was found at (which is none of the guest's business).
    let argv0 = match &args.argv0 {
        Some(argv0) => argv0.clone(),
        None => module_path
            .file_name()
            .unwrap_or(module_arg.as_os_str())
            .to_os_string(),
    };
    wasi.arg(argv0);
    // With --invoke too, the guest sees every argument: wasmtime passes the
    // parameters in argv as well as in the call.
    wasi.args(guest_args.iter());
    if args.inherit_env {
        for (name, value) in std::env::vars_os() {
            wasi.env(name, value);
        }
    }
    // Values are bytes, passed on as they are: the host's need not be UTF-8.
    for entry in &args.envs {
        let bytes = entry.as_bytes();
        match bytes.iter().position(|b| *b == b'=') {
            Some(eq) => wasi.env(&bytes[..eq], &bytes[eq + 1..]),
            None => match std::env::var_os(entry) {
                Some(value) => wasi.env(entry, value),
                None => &mut wasi,
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
    // Legacy `wasi_unstable` imports, from old toolchains, share the context.
    hoist_wasi::snapshot0::add_to_linker(&mut linker, &mut store, |host| &mut host.wasi)?;
    let mut preloads = Vec::new();
    for preload in &args.preload {
        let Some((name, path)) = preload.split_once('=') else {
            bail!("--preload {preload}: expected NAME=MODULE");
        };
        let source = loader.read(Path::new(path))?;
        preloads.push((name, path, loader.compile(&engine, source)?));
    }

    let outcome = (|| {
        for (name, path, preloaded) in &preloads {
            let instance = linker
                .instantiate(&mut store, preloaded)
                .with_context(|| format!("failed to instantiate preloaded module `{path}`"))?;
            // A reactor is initialized once, before anything can use it.
            initialize(&mut store, instance)
                .with_context(|| format!("failed to initialize preloaded module `{path}`"))?;
            linker.instance(&mut store, name, instance)?;
        }
        // Instantiating runs the start function, if any.
        let instance = linker
            .instantiate(&mut store, &module)
            .with_context(|| format!("failed to instantiate `{}`", module_path.display()))?;
        initialize(&mut store, instance)?;
        match &args.invoke {
            Some(name) => invoke(&mut store, instance, name, guest_args),
            None => match instance.get_func(&mut store, "_start") {
                Some(start) => start.call(&mut store, &[], &mut []),
                // A reactor or a module with only a start function: done.
                None => Ok(()),
            },
        }
    })();
    Ok(exit_status(outcome))
}

/// Calls `_initialize` if `instance` exports it (a WASI reactor), as
/// wasmtime does before `_start` or the `--invoke`d function.
fn initialize(store: &mut Store<Host>, instance: hoist::Instance) -> Result<()> {
    match instance.get_func(&mut *store, "_initialize") {
        Some(init) => init.call(store, &[], &mut []),
        None => Ok(()),
    }
}

/// The compile cache for this run, unless it is turned off, unusable, or
/// reachable by the guest (then compiling in memory is the safe choice).
fn open_cache(args: &RunArgs, dirs: &[DirSpec]) -> Option<Cache> {
    if args.no_cache {
        return None;
    }
    let verbose = |why: &str| {
        if args.verbose {
            crate::output::eprintln(format_args!("hoist: not using the compile cache: {why}"));
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

/// A module read from its file and checked, not compiled yet.
struct Source {
    path: PathBuf,
    kind: SourceKind,
}

enum SourceKind {
    /// A hoist artifact, its seal (if any) checked and cut off.
    Artifact(ImageBuffer),
    /// A module binary, or one made from text.
    Wasm(ImageBuffer),
    Text(Vec<u8>),
}

impl Source {
    /// The module's entry points, if they can be read without compiling it
    /// (an artifact holds the module binary it was compiled from).
    fn entry_points(&self) -> Option<EntryPoints> {
        match &self.kind {
            SourceKind::Artifact(buffer) => {
                EntryPoints::scan(hoist_artifact::module_wasm(buffer.as_slice())?)
            }
            SourceKind::Wasm(buffer) => EntryPoints::scan(buffer.as_slice()),
            SourceKind::Text(wasm) => EntryPoints::scan(wasm),
        }
    }
}

impl Loader {
    /// A hoist artifact is taken as is (if this user's hoist sealed it,
    /// or with --allow-precompiled); a wasm binary is kept for the compile
    /// cache; text is turned into a binary. The file is read once, and
    /// what was checked is what runs.
    fn read(&self, path: &Path) -> Result<Source> {
        let mut buffer = std::fs::File::open(path)
            .and_then(|mut file| ImageBuffer::read_file(&mut file))
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        let bytes = buffer.as_slice();
        let kind = if hoist::is_artifact(bytes) {
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
            SourceKind::Artifact(buffer)
        } else if bytes.starts_with(b"\0asm") {
            SourceKind::Wasm(buffer)
        } else {
            let wasm = wat::parse_bytes(bytes)
                .with_context(|| format!("failed to compile `{}`", path.display()))?
                .into_owned();
            SourceKind::Text(wasm)
        };
        Ok(Source {
            path: path.to_path_buf(),
            kind,
        })
    }

    /// Compiles (or loads) what [`Loader::read`] read; a binary goes
    /// through the compile cache when there is one.
    fn compile(&self, engine: &Engine, source: Source) -> Result<Module> {
        let path = source.path.display();
        match source.kind {
            SourceKind::Artifact(buffer) => Module::deserialize_buffer(engine, buffer)
                .with_context(|| format!("cannot run `{path}`")),
            SourceKind::Wasm(buffer) => match &self.cache {
                Some(cache) => cache.load_or_compile(engine, buffer.as_slice()),
                None => Module::new(engine, buffer.as_slice()),
            }
            .with_context(|| format!("failed to compile `{path}`")),
            SourceKind::Text(wasm) => {
                Module::new(engine, &wasm).with_context(|| format!("failed to compile `{path}`"))
            }
        }
    }
}

/// Runs `name` with the first of `args` parsed by its parameter types
/// (the rest are only the guest's argv), printing the results.
fn invoke(
    store: &mut Store<Host>,
    instance: hoist::Instance,
    name: &str,
    args: &[OsString],
) -> Result<()> {
    let func: Func = instance
        .get_func(&mut *store, name)
        .ok_or_else(|| anyhow!("the module exports no function `{name}`"))?;
    let ty = func.ty(store);
    if args.len() < ty.params().len() {
        bail!(
            "`{name}` takes {} arguments, {} given (its type is {ty})",
            ty.params().len(),
            args.len()
        );
    }
    let params = ty
        .params()
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (ty, arg))| {
            let text = arg.to_string_lossy();
            parse_val(*ty, &text)
                .with_context(|| format!("argument {} of `{name}`, `{text}`", i + 1))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
    func.call(store, &params, &mut results)?;
    let mut text = String::new();
    for result in results {
        text.push_str(&format_val(&result));
        text.push('\n');
    }
    crate::output::print(&text)
}

/// A command-line argument as a value of type `ty`, as wasmtime reads
/// them: integers in decimal (with a sign) or `0x` hex, and within the
/// type's signed range; floats as Rust writes them.
fn parse_val(ty: ValType, text: &str) -> Result<Val> {
    Ok(match ty {
        ValType::I32 => Val::I32(parse_int(text, i32::from_str_radix, "i32")?),
        ValType::I64 => Val::I64(parse_int(text, i64::from_str_radix, "i64")?),
        ValType::F32 => Val::F32(parse_float::<f32>(text, "f32")?.to_bits()),
        ValType::F64 => Val::F64(parse_float::<f64>(text, "f64")?.to_bits()),
        other => bail!("cannot pass a {other} on the command line"),
    })
}

fn parse_int<T: std::fmt::Display>(
    text: &str,
    from_str_radix: fn(&str, u32) -> Result<T, std::num::ParseIntError>,
    ty: &str,
) -> Result<T> {
    use std::num::IntErrorKind;
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    // `from_str_radix` takes a sign anywhere it sees one; after `0x`, none.
    if radix == 16 && digits.starts_with(['+', '-']) {
        bail!("not an {ty}");
    }
    from_str_radix(digits, radix).map_err(|e| match e.kind() {
        IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => {
            let (min, max) = match ty {
                "i32" => (i64::from(i32::MIN), i64::from(i32::MAX)),
                _ => (i64::MIN, i64::MAX),
            };
            anyhow!("out of range for {ty} ({min} to {max})")
        }
        _ => anyhow!("not an {ty}"),
    })
}

fn parse_float<T>(text: &str, ty: &str) -> Result<T>
where
    T: std::str::FromStr + Into<f64> + Copy,
{
    let value: T = text.parse().map_err(|_| anyhow!("not an {ty}"))?;
    // A finite number too large for the type would silently become an
    // infinity; only "inf" itself may be one.
    if value.into().is_infinite() && !text.to_ascii_lowercase().contains("inf") {
        bail!("out of range for {ty}");
    }
    Ok(value)
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
        // A status a process can exit with passes through; any other must
        // not be cut to 8 bits, where 256 would read as success.
        return match u8::try_from(*code) {
            Ok(status) => ExitCode::from(status),
            Err(_) => {
                crate::output::eprintln(format_args!(
                    "error: the guest exited with status {code}, which is not a process exit \
                     status (0 to 255)"
                ));
                ExitCode::FAILURE
            }
        };
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        crate::output::eprintln(format_args!("error: wasm trap: {trap}"));
        if !trap.frames().is_empty() {
            crate::output::eprintln("wasm backtrace:");
            for line in crate::backtrace::lines(trap.frames()) {
                crate::output::eprintln(line);
            }
        }
        return ExitCode::from(TRAP_EXIT_STATUS);
    }
    // An exception nothing caught ends the program like a trap.
    if let Some(exception) = error.downcast_ref::<hoist::WasmException>() {
        crate::output::eprintln(format_args!("error: {exception}"));
        if !exception.frames().is_empty() {
            crate::output::eprintln("wasm backtrace:");
            for line in crate::backtrace::lines(exception.frames()) {
                crate::output::eprintln(line);
            }
        }
        return ExitCode::from(TRAP_EXIT_STATUS);
    }
    super::failure(&error)
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
