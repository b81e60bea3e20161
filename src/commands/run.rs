//! `hoist run`: run a WASI command, or call one export with `--invoke`.

use super::compile;
use crate::cache::{Cache, CachePaths, Lazy};
use crate::entry::EntryPoints;
use crate::options::{LazyMode, Resolved, Scope, SettingsArgs, RUN};
use anyhow::{anyhow, bail, Context, Result};
use hoist::{Engine, Func, ImageBuffer, Linker, Module, SharedBytes, Store, Trap, Val, ValType};
use hoist_wasi::{I32Exit, WasiCtx, WasiCtxBuilder};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit status after a trap: 128 + SIGABRT, like a native abort().
const TRAP_EXIT_STATUS: u8 = 134;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  hoist run app.wasm arg1 arg2
  hoist run --dir /data:./data --env KEY=VAL app.wasm
  hoist run --invoke add math.wasm 1 2
  hoist run -W help            (also -S, -C, -O, -D help)

Options go before the module: everything after it goes to the guest.")]
#[cfg_attr(test, derive(Debug))]
pub struct RunArgs {
    /// Preopen a host directory: `GUEST:HOST` (as WasmEdge), `HOST::GUEST` (as wasmtime) or
    /// `DIR`; append `:ro` or `:readonly` to refuse changes. A DIR with a colon in its name is
    /// taken as the directory when it exists (and `GUEST:HOST` does not). Repeatable.
    #[arg(long = "dir", alias = "mapdir", value_name = "GUEST:HOST")]
    dirs: Vec<String>,

    /// wasmer's `--volume HOST:GUEST`, the same as `--dir HOST::GUEST`.
    #[arg(long = "volume", value_name = "HOST:GUEST", hide = true)]
    volumes: Vec<String>,

    /// Set a guest variable: `NAME=VALUE`, or `NAME` to copy the host's. Repeatable.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<OsString>,

    /// Call this export (after `_initialize`) with the first ARGS as its parameters, and print
    /// its results. Without it: the default export `""` so, if there is one, else `_start`.
    #[arg(short = 'i', long, value_name = "NAME")]
    invoke: Option<String>,

    /// Call the export named by the first ARG with the rest as its parameters (WasmEdge's
    /// reactor mode).
    #[arg(long, conflicts_with = "invoke")]
    reactor: bool,

    /// The program name the guest sees as argv[0] (default: the module's file name).
    #[arg(long, value_name = "NAME")]
    argv0: Option<OsString>,

    /// Run a precompiled artifact whose name does not end in `.hwasm` (native code: only
    /// files you compiled or trust).
    #[arg(long)]
    allow_precompiled: bool,

    /// Say on stderr what hoist decides on the way (e.g. that the compile cache is not used).
    #[arg(short, long)]
    verbose: bool,

    /// Instantiate MODULE first and make its exports importable under NAME. Repeatable.
    #[arg(long, value_name = "NAME=MODULE")]
    preload: Vec<String>,

    /// Run an OCI image instead of MODULE: an image layout directory, or an archive from `docker
    /// save` or `skopeo copy ... oci-archive:`. Its wasi/wasm image is unpacked into a temporary
    /// root file system (preopened as `/`) and run with the entrypoint, command, env of its config;
    /// ARGS replace the command, and `--dir`/`--env` apply on top.
    #[arg(long, value_name = "PATH")]
    image: Option<PathBuf>,

    /// Tell `perf` the wasm functions' names: `perfmap` writes /tmp/perf-PID.map, `jitdump`
    /// writes ./jit-PID.dump (for `perf record -k mono` and `perf inject --jit`).
    #[arg(long, alias = "profiler", value_name = "STRATEGY")]
    profile: Option<crate::profile::Strategy>,

    #[command(flatten)]
    settings: SettingsArgs<RUN>,

    #[command(flatten)]
    net: super::net::NetArgs,

    /// The module (.wasm, .wat, a hoist artifact, or `-` for stdin), then the guest's
    /// arguments.
    #[arg(
        value_name = "MODULE",
        trailing_var_arg = true,
        allow_hyphen_values = false
    )]
    module_and_args: Vec<OsString>,
}

impl RunArgs {
    /// `hoist run MODULE [ARGS]...` with no options before MODULE: the
    /// arguments clap would parse from it, without building clap's command,
    /// which costs about 0.1 ms, a tenth of starting a small program.
    /// `None` (leave it to clap) for anything else: an option, `-` (stdin),
    /// or a help or version flag anywhere. A test checks that clap parses
    /// the same from each command line this takes.
    pub fn plain(args: &[OsString]) -> Option<RunArgs> {
        let [_, run, module, ..] = args else {
            return None;
        };
        if run != "run" || module.is_empty() || module.as_bytes().starts_with(b"-") {
            return None;
        }
        let asks_help = |a: &OsString| {
            matches!(
                a.to_str(),
                Some("-h" | "--help" | "help" | "-V" | "--version")
            )
        };
        if args.iter().any(asks_help) {
            return None;
        }
        // Every field, so a new option cannot be missed here.
        Some(RunArgs {
            dirs: Vec::new(),
            volumes: Vec::new(),
            envs: Vec::new(),
            invoke: None,
            reactor: false,
            argv0: None,
            allow_precompiled: false,
            verbose: false,
            preload: Vec::new(),
            image: None,
            profile: None,
            settings: SettingsArgs::default(),
            net: super::net::NetArgs::default(),
            module_and_args: args[2..].to_vec(),
        })
    }
}

/// What the store holds for the guest.
pub(crate) struct Host {
    pub(crate) wasi: WasiCtx,
}

/// A module this run loaded, for backtraces, core dumps and profilers.
pub struct Loaded {
    /// As given on the command line.
    pub path: String,
    pub module: Module,
    /// The module binary, when debug info or a core dump may need it.
    pub wasm: Option<Vec<u8>>,
}

pub fn execute(args: RunArgs) -> Result<ExitCode> {
    let settings = match args.settings.resolve()? {
        Resolved::Help(group) => {
            crate::output::print(&crate::options::help(group, Scope::Run))?;
            return Ok(ExitCode::SUCCESS);
        }
        Resolved::Settings(settings) => *settings,
    };
    // A wasm stack budget beyond what the main thread has gets a thread of
    // its own.
    let limits = settings.limits.clone();
    let status = limits.on_stack(move || run(args, settings))?;
    // Background compiles of modules run lazily: done, waited for, or
    // handed to a detached process.
    crate::background::finish();
    status
}

fn run(mut args: RunArgs, settings: crate::options::Settings) -> Result<ExitCode> {
    if let Some((digest, path)) = crate::background::fill_request() {
        return fill_cache(&args, &settings, &digest, &path);
    }
    crate::background::set_verbose(args.verbose);
    // `-S` keys add to the network options.
    for addr in &settings.tcplisten {
        args.net.add_tcplisten(addr.clone());
    }
    if settings.inherit_network {
        args.net.inherit_network();
    }
    if settings.listenfd {
        args.net.set_listenfd();
    }
    // hoist's sockets are all or nothing: one kind cannot be turned off
    // while others are granted.
    if let Some(key) = settings.network_off.first() {
        if args.net.grants_network() {
            bail!(
                "-S {key}=n: hoist cannot turn off one kind of network access while granting \
                 the network (--allow-net, --tcplisten, --listenfd, -S inherit-network); \
                 without those the guest has no network at all"
            );
        }
    }
    // Before anything is opened: inherited sockets sit at fds 3 and up.
    let inherited = args.net.take_inherited()?;
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
    let Some((module_arg, guest_args)) = args.module_and_args.split_first() else {
        crate::output::eprintln(
            "error: the following required arguments were not provided:\n  <MODULE>...\n\n\
             Usage: hoist run [OPTIONS] <MODULE>...\n\nFor more information, try \'--help\'.",
        );
        return Ok(ExitCode::from(2));
    };
    warn_misplaced_options(module_arg, guest_args);
    let module_path = Path::new(module_arg);
    let (invoke, guest_args) = match (&args.invoke, args.reactor) {
        (Some(name), _) => (Some(name.clone()), guest_args),
        (None, true) => match guest_args.split_first() {
            Some((name, rest)) => (Some(name.to_string_lossy().into_owned()), rest),
            None => bail!("--reactor: name the function to call after the module"),
        },
        (None, false) => (None, guest_args),
    };
    let mut dirs = args
        .dirs
        .iter()
        .map(|spec| DirSpec::parse(spec).map(|dir| (dir, format!("--dir {spec}"))))
        .collect::<Result<Vec<_>>>()?;
    for volume in &args.volumes {
        dirs.push((DirSpec::parse_volume(volume)?, format!("--volume {volume}")));
    }
    settings.apply_process_wide();
    let engine = Engine::new(&settings.config())?;
    let keep_wasm = settings.debug_info || settings.coredump.is_some() || debug_info_from_env();
    // The cache is opened (directories checked, the key read) only when a
    // module needs compiling: running an artifact never touches it.
    let cache_config = read_cache_config(&settings)?;
    let open = || open_cache(&settings, cache_config.as_ref(), args.verbose, &dirs);
    // Profilers name every function's code up front: nothing to name
    // before a lazy function's first call. (A time limit leaves compiling
    // on first call out of the guest's time: see `limits`.)
    let lazy = match (&args.profile, settings.lazy.or_else(lazy_from_env)) {
        (Some(_), _) => LazyMode::Never,
        (None, mode) => mode.unwrap_or(LazyMode::Auto),
    };
    let loader = Loader {
        cache: LazyCache {
            open: &open,
            cache: std::cell::OnceCell::new(),
        },
        allow_precompiled: args.allow_precompiled,
        keep_wasm,
        lazy,
    };
    let source = loader.read(module_path)?;
    // Refuse what cannot run before paying for the compile; but an invalid
    // module is refused for that first (the scan reads only the export and
    // start sections, past what may be wrong with the others).
    if let Some(entry) = source.entry_points() {
        let runs = match &invoke {
            Some(name) => entry.exports(name),
            None => entry.runnable(),
        };
        if let (false, Some(wasm)) = (runs, source.wasm()) {
            wasmparser::Validator::new_with_features(settings.features)
                .validate_all(wasm)
                .with_context(|| format!("`{}` is not valid WebAssembly", source.name()))?;
        }
        match &invoke {
            Some(name) if !entry.exports(name) => {
                bail!("`{}` exports no function `{name}`", source.name());
            }
            None if !entry.runnable() => bail!(
                "`{}` exports no `_start` function (nor a default export `\"\"` or `_initialize`, \
                 and it has no start function); use --invoke to call an export",
                source.name()
            ),
            _ => {}
        }
    }
    let mut loaded = vec![loader.compile(&engine, source)?];
    let mut profiler = args
        .profile
        .map(crate::profile::Profiler::start)
        .transpose()?;

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
    if settings.inherit_env {
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
    for (dir, spec) in &dirs {
        match std::fs::metadata(&dir.host) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => bail!("{spec}: `{}` is not a directory", dir.host.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "{spec}: host directory `{}` does not exist",
                dir.host.display()
            ),
            // Permission denied and the like: opening it says why.
            Err(_) => {}
        }
        wasi.preopen_dir(&dir.host, dir.guest.clone(), dir.read_only)
            .with_context(|| spec.clone())?;
    }
    // The key seals native code: a guest that read it (through a preopened
    // home, even read-only) could seal code of its own for a later run.
    if !dirs.is_empty() {
        if let Some(key) = crate::key::key_path() {
            wasi.withhold_file(key);
        }
    }
    args.net.configure(&mut wasi, inherited)?;

    let mut store = Store::new(&engine, Host { wasi: wasi.build() });
    settings.limits.arm(&mut store)?;
    let mut linker = Linker::new(&engine);
    let (wasi_on, preview0) = (settings.wasi, settings.preview0);
    let unknown_imports = settings.unknown_imports;
    // Preloaded modules are instantiated from the same linker, later.
    let only_imports = args.preload.is_empty();
    // What every store of this run links: the main one, and each thread's.
    let link_host: std::sync::Arc<crate::threads::LinkHost> =
        std::sync::Arc::new(move |linker, store, module| {
            if only_imports {
                linker.wrap_only_imports_of(module);
            }
            if wasi_on {
                hoist_wasi::add_to_linker(linker, store, |host| &mut host.wasi)?;
                // Legacy `wasi_unstable` imports, from old toolchains, share
                // the context.
                if preview0 {
                    hoist_wasi::snapshot0::add_to_linker(linker, store, |host| &mut host.wasi)?;
                }
                // WasmEdge's socket calls; each module gets the versions it
                // imports.
                hoist_wasi::wasmedge::add_to_linker(linker, store, |host| &mut host.wasi)?;
                hoist_wasi::wasmedge::link_versions(linker, store, module, |h| &mut h.wasi)?;
            }
            // Last: anything defined later (a preloaded module's exports)
            // replaces these.
            match unknown_imports {
                Some(crate::options::UnknownImports::Trap) => {
                    linker.define_unknown_imports_as_traps(store, module)?;
                }
                Some(crate::options::UnknownImports::Default) => {
                    linker.define_unknown_imports_as_default_values(store, module)?;
                }
                None => {}
            }
            Ok(())
        });
    link_host(&mut linker, &mut store, &loaded[0].module)?;
    // wasi-threads, for a module that spawns threads or shares its memory.
    if crate::threads::wanted(&loaded[0].module) {
        crate::threads::Threads::prepare(
            &engine,
            &loaded[0].module,
            &mut linker,
            &mut store,
            link_host.clone(),
            crate::threads::Options {
                name: loaded[0].path.clone(),
                limits: settings.limits.clone(),
                max_threads: settings.max_threads,
                spawn_enabled: settings.wasi_threads,
            },
        )?;
    }
    let mut preloads = Vec::new();
    for preload in &args.preload {
        let Some((name, path)) = preload.split_once('=') else {
            bail!("--preload {preload}: expected NAME=MODULE");
        };
        let source = loader.read(Path::new(path))?;
        preloads.push((name, path, loaded.len()));
        loaded.push(loader.compile(&engine, source)?);
    }
    if let Some(profiler) = &mut profiler {
        for module in &loaded {
            profiler.register(module)?;
        }
    }

    // What the store will hold: the module and each preload, once each.
    settings.store_limits.check(
        loaded.len() as u64,
        loaded
            .iter()
            .map(|l| l.module.defined_memories() as u64)
            .sum(),
        loaded
            .iter()
            .map(|l| l.module.defined_tables() as u64)
            .sum(),
    )?;
    // The time limit counts from here: compiling is not the guest's time.
    let watchdog = settings.limits.watchdog(&engine);
    let outcome = (|| {
        for (name, path, index) in &preloads {
            if settings.wasi {
                hoist_wasi::wasmedge::link_versions(
                    &mut linker,
                    &mut store,
                    &loaded[*index].module,
                    |h| &mut h.wasi,
                )?;
            }
            let instance = linker
                .instantiate(&mut store, &loaded[*index].module)
                .with_context(|| format!("failed to instantiate preloaded module `{path}`"))?;
            // A reactor is initialized once, before anything can use it.
            initialize(&mut store, instance)
                .with_context(|| format!("failed to initialize preloaded module `{path}`"))?;
            linker.instance(&mut store, name, instance)?;
        }
        // Instantiating runs the start function, if any.
        if settings.wasi {
            hoist_wasi::wasmedge::link_versions(&mut linker, &mut store, &loaded[0].module, |h| {
                &mut h.wasi
            })?;
        }
        let instance = linker
            .instantiate(&mut store, &loaded[0].module)
            .with_context(|| format!("failed to instantiate `{}`", loaded[0].path))?;
        initialize(&mut store, instance)?;
        match &invoke {
            Some(name) => self::invoke(&mut store, instance, name, guest_args),
            // The default export `""` first, as wasmtime runs it: called as
            // `--invoke ''` would be (ITK-wasm's pipelines are built so).
            None if instance.get_func(&mut store, "").is_some() => {
                self::invoke(&mut store, instance, "", guest_args)
            }
            None => match instance.get_func(&mut store, "_start") {
                Some(start) => start.call(&mut store, &[], &mut []),
                // A reactor or a module with only a start function: done.
                None => Ok(()),
            },
        }
    })();
    drop(watchdog);
    drop(profiler);
    if args.verbose {
        if let Some(fuel) = store.fuel_consumed() {
            crate::output::eprintln(format_args!("hoist: fuel consumed: {fuel}"));
        }
        let gc = store.gc_stats();
        if gc.peak_capacity > 0 {
            crate::output::eprintln(format_args!(
                "hoist: GC: {} collections, {} objects copied, {} KiB live after the last, heap peak {} KiB (each of two spaces)",
                gc.collections,
                gc.objects_copied,
                gc.live_bytes >> 10,
                gc.peak_capacity >> 10
            ));
        }
    }
    let status = exit_status(outcome, &mut store, &loaded, &settings);
    // The process ends next, and the kernel takes back memories, code and
    // mappings at once: unmapping and freeing them one by one first only
    // adds time (7 ms for CPython's artifact). Nothing here flushes on drop.
    std::mem::forget((store, linker, loaded));
    Ok(status)
}

/// Whether the environment asks for file:line in backtraces, as
/// `WASMTIME_BACKTRACE_DETAILS=1` does for wasmtime.
fn debug_info_from_env() -> bool {
    ["HOIST_BACKTRACE_DETAILS", "WASMTIME_BACKTRACE_DETAILS"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| v == "1"))
}

/// Options of `hoist run` written after the module went to the guest, as
/// wasmtime passes them; say so once, unless a `--` shows the user meant it.
fn warn_misplaced_options(module: &OsString, guest_args: &[OsString]) {
    // Most runs pass no option-like arguments: skip building the command.
    if !guest_args
        .iter()
        .any(|a| a.as_encoded_bytes().starts_with(b"-"))
    {
        return;
    }
    // `hoist run [OPTIONS] -- MODULE ARGS...`: everything after the `--`
    // is the guest's, knowingly.
    if separated_before(&std::env::args_os().collect::<Vec<_>>(), module) {
        return;
    }
    let command = <RunArgs as clap::Args>::augment_args(clap::Command::new("run"));
    // A guest's own flags are common (a compiler's `-O2 -Wall -DNDEBUG -S`):
    // a short flag counts only when what it sets is one of hoist's keys
    // (`-W timeout=1s`, `-Sinherit-env`).
    let known = |arg: &str, next: Option<&str>| {
        if let Some(long) = arg.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or(long);
            if GUEST_COMMON_LONG.contains(&name) {
                return false;
            }
            command.get_arguments().any(|a| {
                a.get_long() == Some(name)
                    || a.get_all_aliases().is_some_and(|al| al.contains(&name))
            })
        } else if let Some(short) = arg.strip_prefix('-') {
            let mut chars = short.chars();
            match chars.next() {
                Some(letter) if "WSCOD".contains(letter) => {
                    let attached = chars.as_str();
                    let value = if attached.is_empty() {
                        next.unwrap_or("")
                    } else {
                        attached
                    };
                    crate::options::is_key_setting(letter, value)
                }
                _ => false,
            }
        } else {
            false
        }
    };
    for (i, arg) in guest_args.iter().enumerate() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            return;
        }
        let next = guest_args.get(i + 1).and_then(|a| a.to_str());
        if known(text, next) {
            crate::output::eprintln(format_args!(
                "warning: `{text}` comes after the module, so it went to the guest; hoist's \
                 options go before it: hoist run {text} ... {} ...",
                module.to_string_lossy()
            ));
            return;
        }
    }
}

/// Long options of hoist's that are as common among guests' own flags
/// (`ld --verbose`, `tool --help`, `python --version`): no warning for
/// them after the module. Options that grant or limit something (`--dir`,
/// `--env`, `--timeout`...) still warn, since a misplaced one silently
/// does not apply.
const GUEST_COMMON_LONG: &[&str] = &["verbose", "help", "version", "profile", "debug", "image"];

/// Whether a `--` comes before `module` in the command line `args` (the
/// program's name first).
fn separated_before(args: &[OsString], module: &OsString) -> bool {
    args.iter()
        .skip(1)
        .take_while(|arg| *arg != module)
        .any(|arg| arg == "--")
}

/// Calls `_initialize` if `instance` exports it (a WASI reactor), as
/// wasmtime does before `_start` or the `--invoke`d function.
fn initialize(store: &mut Store<Host>, instance: hoist::Instance) -> Result<()> {
    match instance.get_func(&mut *store, "_initialize") {
        Some(init) => init.call(store, &[], &mut []),
        None => Ok(()),
    }
}

/// The wasmtime cache configuration of `-C cache-config`, read up front so
/// that an unreadable one is an error whether or not the cache is used.
fn read_cache_config(
    settings: &crate::options::Settings,
) -> Result<Option<crate::cache::CacheConfig>> {
    settings
        .cache_config
        .as_ref()
        .map(|path| crate::cache::CacheConfig::read(path))
        .transpose()
}

/// The compile cache for this run, unless it is turned off, unusable, or
/// reachable by the guest (then compiling in memory is the safe choice).
/// A wasmtime cache configuration (`-C cache-config`) may move it, cap its
/// size or turn it off.
fn open_cache(
    settings: &crate::options::Settings,
    config: Option<&crate::cache::CacheConfig>,
    verbose: bool,
    dirs: &[(DirSpec, String)],
) -> Option<Cache> {
    let say = |why: &str| {
        if verbose {
            crate::output::eprintln(format_args!("hoist: not using the compile cache: {why}"));
        }
    };
    if !settings.cache || config.is_some_and(|c| !c.enabled) {
        say("it is turned off");
        return None;
    }
    let Some(mut paths) = CachePaths::from_env() else {
        say("neither XDG_CACHE_HOME nor HOME is set");
        return None;
    };
    if let Some(dir) = config.and_then(|c| c.directory.clone()) {
        paths.dir = dir;
    }
    let hosts: Vec<PathBuf> = dirs.iter().map(|(d, _)| d.host.clone()).collect();
    if paths.exposed_by(&hosts) {
        say(&format!(
            "a preopened directory contains `{}` or its key; compiling in memory",
            paths.dir.display()
        ));
        return None;
    }
    let cache = Cache::open(&paths)
        .inspect_err(|e| say(&format!("{e:#}")))
        .ok()?;
    Some(match config.and_then(|c| c.max_size) {
        Some(max) => cache.with_max_size(max),
        None => cache,
    })
}

/// The compile cache, opened on first use.
struct LazyCache<'a> {
    open: &'a dyn Fn() -> Option<Cache>,
    cache: std::cell::OnceCell<Option<Cache>>,
}

impl LazyCache<'_> {
    fn get(&self) -> Option<&Cache> {
        self.cache.get_or_init(|| (self.open)()).as_ref()
    }
}

/// The detached end of a lazy run's background compile
/// ([`crate::background`]): compiles the module file at `path` into the
/// cache if it still has `digest`, with the engine this command line
/// configures, and runs nothing (no sockets, images or guests). Waits for
/// the lock of a compile of the same module under way (the run that
/// started this one, until it ends).
fn fill_cache(
    args: &RunArgs,
    settings: &crate::options::Settings,
    digest: &str,
    path: &Path,
) -> Result<ExitCode> {
    crate::background::lower_priority();
    let engine = Engine::new(&settings.config())?;
    let dirs = args
        .dirs
        .iter()
        .filter_map(|spec| DirSpec::parse(spec).ok())
        .chain(
            args.volumes
                .iter()
                .filter_map(|v| DirSpec::parse_volume(v).ok()),
        )
        .map(|dir| (dir, String::new()))
        .collect::<Vec<_>>();
    let cache_config = read_cache_config(settings)?;
    let Some(cache) = open_cache(settings, cache_config.as_ref(), false, &dirs) else {
        return Ok(ExitCode::SUCCESS);
    };
    let wasm = if path.as_os_str() == "-" {
        // The run that detached this process handed the module over as a
        // sealed memory file.
        let limit = crate::input::MAX_MODULE_SIZE;
        let expect = crate::input::Expect::Module;
        crate::input::read_stream(&mut std::io::stdin().lock(), "<stdin>", limit, expect).ok()
    } else {
        // Only a regular file (checked on the open file): a FIFO put there
        // since must not block this process.
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .ok()
            .filter(|f| f.metadata().is_ok_and(|m| m.is_file()));
        file.and_then(|mut file| {
            let limit = crate::input::MAX_MODULE_SIZE;
            crate::input::read_stream(&mut file, "", limit, crate::input::Expect::Module).ok()
        })
    };
    let Some(wasm) = wasm else {
        return Ok(ExitCode::SUCCESS);
    };
    if crate::background::hex(&hoist_artifact::module_digest(&wasm)) == digest {
        cache.store(&engine, &wasm, true);
    }
    Ok(ExitCode::SUCCESS)
}

/// How modules given on the command line are loaded.
struct Loader<'a> {
    cache: LazyCache<'a>,
    allow_precompiled: bool,
    /// Keep each module's binary (for debug info and core dumps).
    keep_wasm: bool,
    /// Whether a module is compiled function by function on first call.
    lazy: LazyMode,
}

/// `HOIST_LAZY` (`y`, `n`, `auto`): the default of `-C lazy`, so a test
/// configuration can run everything lazily. Unreadable values are ignored.
fn lazy_from_env() -> Option<LazyMode> {
    LazyMode::parse(&std::env::var("HOIST_LAZY").ok()?).ok()
}

/// Bytes of function bodies in `wasm` (0 if it has no code section or does
/// not parse: validation will say why).
fn code_size(wasm: &[u8]) -> u64 {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(wasmparser::Payload::CodeSectionStart { size, .. }) => return u64::from(size),
            Ok(_) => {}
            Err(_) => return 0,
        }
    }
    0
}

/// A module read from its file and checked, not compiled yet.
struct Source {
    /// As given on the command line (`-` for stdin).
    path: PathBuf,
    kind: SourceKind,
}

enum SourceKind {
    /// A hoist artifact, its seal (if any) checked and cut off; `sealed`
    /// if it had one (the seal covers every byte: no digest pass then).
    Artifact {
        buffer: ImageBuffer,
        sealed: bool,
    },
    /// A module binary, or one made from text.
    Wasm(ImageBuffer),
    Text(Vec<u8>),
}

impl Source {
    /// The module's entry points, if they can be read without compiling it
    /// (an artifact holds the module binary it was compiled from).
    fn entry_points(&self) -> Option<EntryPoints> {
        EntryPoints::scan(self.wasm()?)
    }

    /// The module binary.
    fn wasm(&self) -> Option<&[u8]> {
        match &self.kind {
            SourceKind::Artifact { buffer, .. } => hoist_artifact::module_wasm(buffer.as_slice()),
            SourceKind::Wasm(buffer) => Some(buffer.as_slice()),
            SourceKind::Text(wasm) => Some(wasm),
        }
    }

    /// The name messages use.
    fn name(&self) -> String {
        display_name(&self.path)
    }
}

/// The module an artifact carries, with the DWARF sections it kept
/// appended (a valid module again, as debug info reads it): from the image,
/// or from the file when loading left them out, and checked against the
/// digest in the artifact's header (which the seal or the digest covers).
/// DWARF that does not check out is left out, with a warning: the file
/// changed since it was loaded.
fn artifact_wasm(name: &str, buffer: &ImageBuffer) -> Option<Vec<u8>> {
    let image = buffer.as_slice();
    let mut wasm = hoist_artifact::module_wasm(image)?.to_vec();
    let Some(part) = hoist_artifact::debug_part(image) else {
        return Some(wasm);
    };
    // A failed read is caught by the check below.
    let bytes = buffer.read_range(part.range.clone()).unwrap_or_default();
    if hoist_artifact::check_side_part(&part, &bytes) {
        wasm.extend_from_slice(&bytes);
    } else {
        eprintln!(
            "warning: `{name}`: its debug info changed since it was loaded; backtraces will have \
             no source lines"
        );
    }
    Some(wasm)
}

/// `<stdin>` for `-`, else the path as given.
fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

impl Loader<'_> {
    /// A hoist artifact is taken as is (if this user's hoist sealed it,
    /// or with --allow-precompiled); a wasm binary is kept for the compile
    /// cache; text is turned into a binary. The file is read once, and
    /// what was checked is what runs. Anything else is named for what it
    /// is (an archive, a web page, another runtime's compiled code...).
    fn read(&self, path: &Path) -> Result<Source> {
        let name = display_name(path);
        let limit = crate::input::MAX_MODULE_SIZE;
        let streamed = |reader: &mut dyn std::io::Read| {
            let bytes =
                crate::input::read_stream(reader, &name, limit, crate::input::Expect::Module)?;
            ImageBuffer::from_bytes(&bytes).with_context(|| format!("failed to read `{name}`"))
        };
        let mut buffer = if path.as_os_str() == "-" {
            streamed(&mut std::io::stdin().lock())?
        } else {
            let mut file =
                std::fs::File::open(path).with_context(|| format!("failed to read `{name}`"))?;
            match file.metadata() {
                // A regular file says its size: read straight into place.
                Ok(meta) if meta.is_file() => {
                    if meta.len() > limit {
                        bail!(
                            "`{name}` is {} bytes, more than hoist reads ({limit} bytes)",
                            meta.len()
                        );
                    }
                    // An artifact's DWARF is left unread: `artifact_wasm`
                    // reads and checks it if source lines may be printed.
                    ImageBuffer::read_file_except(&mut file, hoist_artifact::lazy_range)
                        .with_context(|| format!("failed to read `{name}`"))?
                }
                // A pipe (`<(curl ...)`) or a device: streamed, bounded.
                _ => streamed(&mut file)?,
            }
        };
        let bytes = buffer.as_slice();
        let kind = if hoist::is_artifact(bytes) {
            let key = crate::key::local_key();
            let sealed = key
                .as_ref()
                .ok()
                .and_then(|key| hoist_artifact::unseal(bytes, key, compile::ARTIFACT_SEAL_CONTEXT));
            // An ELF file this user's hoist did not seal may be anything:
            // name another runtime's code or a native program for what it
            // is (a scan of the file, so not for sealed artifacts).
            if sealed.is_none() {
                crate::identify::check_not_foreign_elf(&name, bytes)?;
            }
            // Native code: only what the user knowingly runs as such. A file
            // passed as `app.wasm` that is really an artifact could be
            // anything; so could an artifact this user's hoist did not make.
            let named_artifact = path.extension().is_some_and(|e| e == "hwasm");
            if !self.allow_precompiled {
                if !named_artifact {
                    bail!(
                        "`{name}` is a precompiled artifact (native code), not WebAssembly; to run \
                         it anyway, pass --allow-precompiled (only for files you compiled or trust)"
                    );
                }
                if let Err(e) = &key {
                    bail!(
                        "cannot check the seal of `{name}`: the local key is unusable ({e:#}). \
                         It is native code; pass --allow-precompiled to run it anyway (only for \
                         files you trust)"
                    );
                }
                match hoist_artifact::format_of(buffer.as_slice()) {
                    // Another format's seal covers other bytes: say why.
                    Some(format)
                        if sealed.is_none() && format != hoist_artifact::FORMAT_VERSION =>
                    {
                        bail!(
                            "`{name}` is a hoist artifact of format {format}; this hoist reads \
                             format {}: recompile it with `hoist compile`",
                            hoist_artifact::FORMAT_VERSION
                        )
                    }
                    _ => {}
                }
                if sealed.is_none() {
                    bail!(
                        "`{name}` was not compiled by this user's hoist, or was changed since: it \
                         carries no valid seal of the local key. It is native code; recompile it \
                         with `hoist compile`, or pass --allow-precompiled to run it anyway (only \
                         for files you trust)"
                    );
                }
            }
            if let Some(len) = sealed {
                buffer.truncate(len);
            }
            SourceKind::Artifact {
                buffer,
                sealed: sealed.is_some(),
            }
        } else if bytes.starts_with(b"\0asm") {
            crate::identify::check_wasm_header(bytes)
                .with_context(|| format!("cannot run `{name}`"))?;
            SourceKind::Wasm(buffer)
        } else {
            SourceKind::Text(crate::identify::wat_to_wasm(path, &name, bytes)?)
        };
        Ok(Source {
            path: path.to_path_buf(),
            kind,
        })
    }

    /// Whether `wasm`, if it must be compiled, is compiled lazily, and what
    /// becomes of its background compile if the run ends first: waited for
    /// (small modules) or detached (big ones).
    fn lazy(&self, wasm: &[u8]) -> Lazy {
        use crate::background::AtExit;
        if self.lazy == LazyMode::Never {
            return Lazy::No;
        }
        let big = code_size(wasm) >= crate::background::BIG_MODULE_CODE;
        let at_exit = if big { AtExit::Detach } else { AtExit::Wait };
        match self.lazy {
            LazyMode::Never => Lazy::No,
            LazyMode::Auto if !big => Lazy::No,
            LazyMode::Auto | LazyMode::Always => Lazy::Yes { at_exit },
        }
    }

    /// Compiles (or loads) what [`Loader::read`] read; a binary goes
    /// through the compile cache when there is one. A compile that takes
    /// more than a second says so on a terminal, as `hoist compile` does.
    fn compile(&self, engine: &Engine, source: Source) -> Result<Loaded> {
        let name = source.name();
        let wasm = match &source.kind {
            _ if !self.keep_wasm => None,
            SourceKind::Artifact { buffer, .. } => artifact_wasm(&name, buffer),
            _ => source.wasm().map(<[u8]>::to_vec),
        };
        let progress = match &source.kind {
            SourceKind::Artifact { .. } => None,
            _ => compile::Progress::start_on_terminal(&name),
        };
        let started = std::time::Instant::now();
        let module = match source.kind {
            SourceKind::Artifact { buffer, sealed, .. } => if sealed {
                Module::deserialize_authenticated(engine, buffer)
            } else {
                Module::deserialize_buffer(engine, buffer)
            }
            .with_context(|| format!("cannot run `{name}`")),
            SourceKind::Wasm(buffer) => {
                // Shared, not copied, with a lazily compiled module and its
                // background compile.
                let shared = SharedBytes::from(buffer);
                let wasm = shared.as_slice();
                let lazy = self.lazy(wasm);
                match self.cache.get() {
                    Some(cache) => cache.load_or_compile(engine, &shared, &source.path, lazy),
                    None if lazy != Lazy::No => Module::new_lazy_shared(engine, shared.clone()),
                    None => Module::new(engine, wasm),
                }
                .with_context(|| format!("failed to compile `{name}`"))
            }
            SourceKind::Text(wasm) => match self.lazy(&wasm) {
                Lazy::No => Module::new(engine, &wasm),
                Lazy::Yes { .. } => Module::new_lazy(engine, &wasm),
            }
            .with_context(|| format!("failed to compile `{name}`")),
        };
        if let Some(progress) = progress {
            progress.finish(started.elapsed());
        }
        Ok(Loaded {
            path: name,
            module: module?,
            wasm,
        })
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
    let label = match name {
        "" => "the default export `\"\"`".to_string(),
        _ => format!("`{name}`"),
    };
    let func: Func = instance
        .get_func(&mut *store, name)
        .ok_or_else(|| anyhow!("the module exports no function {label}"))?;
    let ty = func.ty(store);
    if args.len() < ty.params().len() {
        bail!(
            "{label} takes {} arguments, {} given (its type is {ty})",
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
                .with_context(|| format!("argument {} of {label}, `{text}`", i + 1))
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
/// errors on stderr (a trap's backtrace with source lines when asked, and
/// its core dump).
fn exit_status(
    outcome: Result<()>,
    store: &mut Store<Host>,
    loaded: &[Loaded],
    settings: &crate::options::Settings,
) -> ExitCode {
    // The main thread's end is the process's: a wasi-thread that traps from
    // now on must not report or change the status. If one already claimed
    // the end (it trapped too, on the same timeout, say), it is ending the
    // process and reporting.
    if !crate::threads::claim_process_end() {
        crate::threads::wait_for_process_end();
    }
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
    // A trap, or an exception nothing caught, ends the program like abort().
    let (message, frames) = if let Some(trap) = error.downcast_ref::<Trap>() {
        // A limit of this run says better what happened than "interrupt".
        let message = match settings.limits.explain(trap.code()) {
            Some(why) => why,
            None => format!("wasm trap: {trap}"),
        };
        (message, trap.frames())
    } else if let Some(exception) = error.downcast_ref::<hoist::WasmException>() {
        (exception.to_string(), exception.frames())
    } else {
        return super::failure(&error);
    };
    crate::output::eprintln(format_args!("error: {message}"));
    if !frames.is_empty() {
        let details = (settings.debug_info || debug_info_from_env())
            .then(|| crate::debuginfo::Symbolizer::new(store, loaded));
        crate::output::eprintln("wasm backtrace:");
        let lines = crate::backtrace::lines_with(frames, |frame| match &details {
            Some(details) => details.lines(frame),
            None => Vec::new(),
        });
        for line in lines {
            crate::output::eprintln(line);
        }
        for item in loaded {
            if let Some(warning) = crate::backtrace::damaged_map_warning(&item.path, &item.module) {
                crate::output::eprintln(warning);
            }
        }
    }
    if let Some(path) = &settings.coredump {
        match crate::coredump::write(path, store, loaded, frames) {
            Ok(()) => crate::output::eprintln(format_args!("core dumped to {}", path.display())),
            Err(e) => crate::output::eprintln(format_args!(
                "warning: no core dump written to {}: {e:#}",
                path.display()
            )),
        }
    }
    ExitCode::from(TRAP_EXIT_STATUS)
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
        DirSpec::parse_with(spec, |path| path.is_dir())
    }

    /// `spec` in its three forms: wasmtime's `HOST::GUEST`, WasmEdge's
    /// `GUEST:HOST`, or a `DIR` that is both; a `:readonly` (WasmEdge) or
    /// `:ro` suffix makes it read-only. A spec with one colon is both a
    /// `GUEST:HOST` and a wasmtime `DIR` whose name holds a colon
    /// (`run-10:30`): `is_dir` (the host's check) decides which host
    /// directory is meant, and when both exist nothing is guessed, since a
    /// wrong guess grants the guest another directory.
    fn parse_with(spec: &str, is_dir: impl Fn(&Path) -> bool) -> Result<DirSpec> {
        let read_only_suffix = |text: &str| -> (String, bool) {
            match text
                .strip_suffix(":readonly")
                .or_else(|| text.strip_suffix(":ro"))
            {
                Some(rest) if !rest.is_empty() => (rest.to_string(), true),
                _ => (text.to_string(), false),
            }
        };
        let (guest, host, read_only) = if let Some((host, guest)) = spec.split_once("::") {
            let (guest, read_only) = read_only_suffix(guest);
            (guest, host.to_string(), read_only)
        } else {
            let (rest, read_only) = read_only_suffix(spec);
            // `logs:ro` is read-only `logs`, or wasmtime's DIR `logs:ro`.
            let suffixed_dir = read_only && is_dir(Path::new(spec));
            let read_only_host = rest.split_once(':').map_or(rest.as_str(), |(_, host)| host);
            if suffixed_dir {
                if is_dir(Path::new(&rest)) || is_dir(Path::new(read_only_host)) {
                    bail!(
                        "--dir {spec}: both `{spec}` and `{read_only_host}` are directories; say \
                         which with HOST::GUEST (`--dir {spec}::{spec}`, or `--dir \
                         {read_only_host}::GUEST:ro`)"
                    );
                }
                return Ok(DirSpec {
                    guest: spec.to_string(),
                    host: PathBuf::from(spec),
                    read_only: false,
                });
            }
            match rest.split_once(':') {
                None => (rest.clone(), rest, read_only),
                Some((guest, host)) => {
                    let literal = is_dir(Path::new(&rest));
                    let split = !host.is_empty() && is_dir(Path::new(host));
                    match (literal, split) {
                        (true, true) => bail!(
                            "--dir {spec}: both `{rest}` and `{host}` are directories; say which \
                             with HOST::GUEST (`--dir {rest}::{rest}` or `--dir {host}::{guest}`)"
                        ),
                        (true, false) => (rest.clone(), rest, read_only),
                        (false, _) => (guest.to_string(), host.to_string(), read_only),
                    }
                }
            }
        };
        if guest.is_empty() || host.is_empty() {
            bail!("--dir {spec}: expected GUEST:HOST, HOST::GUEST or DIR");
        }
        Ok(DirSpec {
            guest,
            host: PathBuf::from(host),
            read_only,
        })
    }

    /// wasmer's `--volume HOST:GUEST` (or `DIR`, the same on both sides).
    fn parse_volume(spec: &str) -> Result<DirSpec> {
        let (host, guest) = spec.split_once(':').unwrap_or((spec, spec));
        if host.is_empty() || guest.is_empty() {
            bail!("--volume {spec}: expected HOST:GUEST or DIR");
        }
        Ok(DirSpec {
            guest: guest.to_string(),
            host: PathBuf::from(host),
            read_only: false,
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
        // wasmtime's form with a guest name that is also a suffix.
        assert_eq!(
            DirSpec::parse("data::ro").unwrap(),
            spec("ro", "data", false)
        );
        assert_eq!(
            DirSpec::parse("data::ro:ro").unwrap(),
            spec("ro", "data", true)
        );
    }

    #[test]
    fn a_separator_before_the_module_is_seen() {
        let args = |line: &str| -> Vec<OsString> { line.split(' ').map(OsString::from).collect() };
        let module = OsString::from("app.wasm");
        assert!(separated_before(
            &args("hoist run -- app.wasm --dir x"),
            &module
        ));
        assert!(separated_before(
            &args("hoist run --dir . -- app.wasm -- --env"),
            &module
        ));
        assert!(!separated_before(
            &args("hoist run app.wasm -- --dir x"),
            &module
        ));
        assert!(!separated_before(&args("hoist app.wasm --dir x"), &module));
    }

    /// One colon: a directory whose name holds it (wasmtime's `DIR`), or
    /// WasmEdge's `GUEST:HOST`, whichever exists on the host; both existing
    /// is an error, never a guess.
    #[test]
    fn dir_with_a_colon_is_what_exists() {
        let only = |existing: &'static [&'static str]| {
            move |path: &Path| existing.iter().any(|e| Path::new(e) == path)
        };
        assert_eq!(
            DirSpec::parse_with("run-10:30", only(&["run-10:30"])).unwrap(),
            spec("run-10:30", "run-10:30", false)
        );
        assert_eq!(
            DirSpec::parse_with("run-10:30:ro", only(&["run-10:30"])).unwrap(),
            spec("run-10:30", "run-10:30", true)
        );
        assert_eq!(
            DirSpec::parse_with("/docroot:./docroot", only(&["./docroot"])).unwrap(),
            spec("/docroot", "./docroot", false)
        );
        // Neither: read as GUEST:HOST, whose host the run then reports missing.
        assert_eq!(
            DirSpec::parse_with("/g:/missing", only(&[])).unwrap(),
            spec("/g", "/missing", false)
        );
        let both = DirSpec::parse_with("logs:ro", only(&["logs:ro", "logs"]))
            .unwrap_err()
            .to_string();
        assert!(both.contains("HOST::GUEST"), "{both}");
        assert_eq!(
            DirSpec::parse_with("logs:ro", only(&["logs:ro"])).unwrap(),
            spec("logs:ro", "logs:ro", false)
        );
        let both = DirSpec::parse_with("/tmp/p:v2", only(&["/tmp/p:v2", "v2"]))
            .unwrap_err()
            .to_string();
        assert!(both.contains("HOST::GUEST"), "{both}");
    }
}
