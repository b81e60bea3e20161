//! hoist's settings, each defined once: a key in one of wasmtime's option
//! groups (`-W` wasm, `-S` WASI, `-C` codegen, `-O` optimization, `-D`
//! debug), its one-line help, and the long flags (hoist's own, WasmEdge's,
//! wasmer's) that are other spellings of the same key. Every spelling goes
//! through the key's one definition, in command-line order (the last one
//! wins). A key hoist lacks is an error that names it; only wasmtime's keys
//! that tune its own machinery are accepted with no effect (see
//! `keys::Action::NoEffect`). The key table is in `keys`, the other
//! runtimes' spellings in `aliases`.

use anyhow::{anyhow, bail, Result};
use clap::{Arg, ArgAction, ArgMatches, Command};
use hoist::{OptLevel, WasmFeatures};
use std::path::PathBuf;

mod aliases;
mod keys;

use aliases::*;
use keys::*;
pub use keys::{feature_keys, is_key_setting};

/// One of wasmtime's option groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Wasm,
    Wasi,
    Codegen,
    Optimize,
    Debug,
}

impl Group {
    pub fn letter(self) -> char {
        match self {
            Group::Wasm => 'W',
            Group::Wasi => 'S',
            Group::Codegen => 'C',
            Group::Optimize => 'O',
            Group::Debug => 'D',
        }
    }

    /// The long option, also the clap id.
    fn long(self) -> &'static str {
        match self {
            Group::Wasm => "wasm",
            Group::Wasi => "wasi",
            Group::Codegen => "codegen",
            Group::Optimize => "optimize",
            Group::Debug => "debug",
        }
    }

    fn about(self) -> &'static str {
        match self {
            Group::Wasm => "WebAssembly features and limits",
            Group::Wasi => "what the guest's WASI may do",
            Group::Codegen => "compilation and the compile cache",
            Group::Optimize => "optimization",
            Group::Debug => "debugging",
        }
    }
}

/// The subcommand the settings are given to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Run,
    Compile,
    Wast,
}

pub const RUN: u8 = 0;
pub const COMPILE: u8 = 1;
pub const WAST: u8 = 2;

impl Scope {
    fn from_const(scope: u8) -> Scope {
        match scope {
            RUN => Scope::Run,
            COMPILE => Scope::Compile,
            _ => Scope::Wast,
        }
    }

    fn groups(self) -> &'static [Group] {
        match self {
            Scope::Run => &[
                Group::Wasm,
                Group::Wasi,
                Group::Codegen,
                Group::Optimize,
                Group::Debug,
            ],
            // WASI and debugging only mean something to a run.
            Scope::Compile | Scope::Wast => &[Group::Wasm, Group::Codegen, Group::Optimize],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scope::Run => "run",
            Scope::Compile => "compile",
            Scope::Wast => "wast",
        }
    }
}

/// `-C lazy`: whether `hoist run` compiles a module missing from the cache
/// lazily (each function on its first call, the whole module in the
/// background for the cache).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LazyMode {
    /// Modules with at least `background::BIG_MODULE_CODE` bytes of code.
    Auto,
    Always,
    Never,
}

impl LazyMode {
    /// `y`, `n` or `auto` (and the usual spellings of yes and no).
    pub fn parse(value: &str) -> Result<LazyMode> {
        Ok(match value {
            "auto" => LazyMode::Auto,
            "y" | "yes" | "true" | "1" | "" => LazyMode::Always,
            "n" | "no" | "false" | "0" => LazyMode::Never,
            other => bail!("`{other}` is not y, n or auto"),
        })
    }
}

/// Everything the keys set, with hoist's defaults.
#[derive(Clone, Debug)]
pub struct Settings {
    pub features: WasmFeatures,
    /// Time, fuel, sizes and stack (`-W timeout`, `-W fuel`, ...).
    pub limits: crate::limits::Limits,
    pub opt_level: OptLevel,
    pub verify: bool,
    pub parallel_compilation: bool,
    /// Link WASI at all (`-S cli`).
    pub wasi: bool,
    /// Link the legacy `wasi_unstable` too (`-S preview0`).
    pub preview0: bool,
    pub inherit_env: bool,
    pub cache: bool,
    pub cache_config: Option<PathBuf>,
    /// `-C lazy`: when a module is compiled function by function on first
    /// call; `None` when not given (then `HOIST_LAZY`, else auto).
    pub lazy: Option<LazyMode>,
    /// `-C baseline`: the first tier of lazy compilation is the single-pass
    /// compiler (true) or Cranelift (false); `None` when not given (then
    /// `HOIST_BASELINE`, else the engine's default).
    pub single_pass: Option<bool>,
    pub debug_info: bool,
    pub coredump: Option<PathBuf>,
    /// `-S tcplisten=ADDR` (repeatable), `-S inherit-network`, `-S listenfd`.
    pub tcplisten: Vec<String>,
    pub inherit_network: bool,
    pub listenfd: bool,
    /// `-S threads`, `-S max-threads`.
    pub wasi_threads: bool,
    pub max_threads: u32,
    /// Network keys asked off (`-S tcp=n`, ...): hoist cannot turn one
    /// kind of socket off, so these are only kept when no network is
    /// granted at all (see `net_off_conflict`).
    pub network_off: Vec<&'static str>,
    /// `-W unknown-imports-trap`, `-W unknown-imports-default`.
    pub unknown_imports: Option<UnknownImports>,
    /// `-W max-instances`, `-W max-memories`, `-W max-tables`.
    pub store_limits: StoreLimits,
    /// wasmtime's pooling allocator's caps (`-O pooling-*`), which bound
    /// what the guest may have: folded into the limits above once every
    /// option is read, the smaller of the two winning.
    pub pooling: Pooling,
}

/// `-O pooling-max-memory-size`, `pooling-table-elements`,
/// `pooling-total-core-instances`, `pooling-total-memories`,
/// `pooling-total-tables`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pooling {
    pub memory_size: Option<u64>,
    pub table_elements: Option<u64>,
    pub instances: Option<u64>,
    pub memories: Option<u64>,
    pub tables: Option<u64>,
}

/// The smaller of two optional limits.
fn tighter(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Settings {
    /// Folds the pooling caps into the limits hoist enforces.
    fn apply_pooling(&mut self) {
        let pooling = self.pooling;
        self.limits.max_memory_size = tighter(self.limits.max_memory_size, pooling.memory_size);
        self.limits.max_table_elements =
            tighter(self.limits.max_table_elements, pooling.table_elements);
        let store = &mut self.store_limits;
        store.instances = tighter(store.instances, pooling.instances);
        store.memories = tighter(store.memories, pooling.memories);
        store.tables = tighter(store.tables, pooling.tables);
    }
}

/// Counts of what one store may hold, as wasmtime's `-W max-instances`,
/// `max-memories` and `max-tables` limit them; `None`: no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreLimits {
    pub instances: Option<u64>,
    pub memories: Option<u64>,
    pub tables: Option<u64>,
}

impl StoreLimits {
    /// Checks a store that will hold `instances` instances defining
    /// `memories` memories and `tables` tables; the error is wasmtime's
    /// wording, and names the key.
    pub fn check(&self, instances: u64, memories: u64, tables: u64) -> Result<()> {
        for (what, key, have, limit) in [
            ("instance", "max-instances", instances, self.instances),
            ("memory", "max-memories", memories, self.memories),
            ("table", "max-tables", tables, self.tables),
        ] {
            if let Some(limit) = limit.filter(|limit| have > *limit) {
                bail!(
                    "resource limit exceeded: {what} count too high at {have} (-W {key}={limit})"
                );
            }
        }
        Ok(())
    }
}

/// What function imports nothing defines become (see
/// `hoist::Linker::define_unknown_imports_as_traps`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownImports {
    Trap,
    Default,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            features: hoist_environ::wasm_features(),
            limits: crate::limits::Limits::default(),
            opt_level: OptLevel::Speed,
            verify: false,
            parallel_compilation: true,
            wasi: true,
            preview0: true,
            inherit_env: false,
            cache: true,
            cache_config: None,
            lazy: None,
            single_pass: None,
            debug_info: false,
            coredump: None,
            tcplisten: Vec::new(),
            inherit_network: false,
            listenfd: false,
            wasi_threads: true,
            max_threads: 64,
            network_off: Vec::new(),
            unknown_imports: None,
            store_limits: StoreLimits::default(),
            pooling: Pooling::default(),
        }
    }
}

impl Settings {
    /// The engine configuration these settings ask for.
    pub fn config(&self) -> hoist::Config {
        let mut config = hoist::Config::new();
        config.wasm_features(self.features);
        config.opt_level(self.opt_level);
        config.verify(self.verify);
        // `hoist run` decides module by module (Module::new_lazy).
        config.lazy_compilation(false);
        if let Some(on) = self.single_pass {
            config.single_pass_compiler(on);
        }
        self.limits.configure(&mut config);
        config
    }

    /// Applies what the process-wide settings need before anything is
    /// compiled (the engine compiles functions on rayon's global pool).
    pub fn apply_process_wide(&self) {
        if !self.parallel_compilation {
            // Fails only if the pool already exists, which it cannot yet.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build_global();
        }
    }
}

/// One setting as the user spelled it, in command-line order.
#[derive(Clone, Debug)]
struct Item {
    group: Group,
    /// `KEY[=VAL][,KEY[=VAL]...]`, or the value an alias gave.
    text: String,
    /// For an alias: its flag, and the key it sets.
    alias: Option<(String, &'static str)>,
    /// For a value-taking alias: turns its value into the key's.
    map: Option<fn(&str) -> Result<String>>,
}

/// What the settings options asked for.
pub enum Resolved {
    /// `-X help`: list the group's keys.
    Help(Group),
    Settings(Box<Settings>),
}

/// The settings options of one subcommand (`SCOPE` is [`RUN`], [`COMPILE`]
/// or [`WAST`]), for `#[command(flatten)]`.
#[derive(Clone, Debug, Default)]
pub struct SettingsArgs<const SCOPE: u8> {
    items: Vec<Item>,
}

fn alias_id(long: &str) -> String {
    format!("alias-{long}")
}

/// The `--long` options on this command line (set by `main` before
/// parsing). Hidden aliases (other runtimes' spellings, a hundred or so)
/// are only given to clap when the command line uses them: building them
/// all costs more than the rest of a small run. Unset (tests,
/// completions): all of them.
static COMMAND_LINE_LONGS: std::sync::OnceLock<std::collections::HashSet<String>> =
    std::sync::OnceLock::new();

/// Records the `--long` options of `args` (see [`COMMAND_LINE_LONGS`]).
pub fn note_command_line(args: &[std::ffi::OsString]) {
    let longs = args
        .iter()
        .filter_map(|a| a.to_str()?.strip_prefix("--"))
        .map(|long| long.split('=').next().unwrap_or(long).to_string())
        .collect();
    let _ = COMMAND_LINE_LONGS.set(longs);
}

fn offered(scope: Scope) -> impl Iterator<Item = &'static Alias> {
    let keys = keys();
    let longs = COMMAND_LINE_LONGS.get();
    aliases().iter().filter(move |alias| {
        if alias.help.is_none() && longs.is_some_and(|longs| !longs.contains(&alias.long)) {
            return false;
        }
        scope.groups().contains(&alias.group)
            && keys
                .iter()
                .find(|k| k.group == alias.group && k.name == alias.key)
                .is_some_and(|k| scope == Scope::Run || !k.run_only)
    })
}

impl<const SCOPE: u8> clap::Args for SettingsArgs<SCOPE> {
    fn augment_args(mut cmd: Command) -> Command {
        let scope = Scope::from_const(SCOPE);
        for group in scope.groups() {
            cmd = cmd.arg(
                Arg::new(group.long())
                    .short(group.letter())
                    .long(group.long())
                    .value_name("KEY[=VAL[,..]]")
                    .action(ArgAction::Append)
                    .help(format!(
                        "Settings for {}; `-{} help` lists them",
                        group.about(),
                        group.letter()
                    )),
            );
        }
        for alias in offered(scope) {
            let mut arg = Arg::new(alias.id.as_str()).long(alias.long.as_str());
            arg = match alias.value {
                AliasValue::Fixed(_) => arg.action(ArgAction::Count),
                AliasValue::Takes(name, _) => arg.value_name(name).action(ArgAction::Append),
            };
            arg = match alias.help {
                Some(help) => arg.help(help),
                None => arg.hide(true),
            };
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<const SCOPE: u8> clap::FromArgMatches for SettingsArgs<SCOPE> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let scope = Scope::from_const(SCOPE);
        let mut found: Vec<(usize, Item)> = Vec::new();
        for group in scope.groups() {
            if let (Some(values), Some(indices)) = (
                matches.get_raw(group.long()),
                matches.indices_of(group.long()),
            ) {
                for (value, index) in values.zip(indices) {
                    found.push((
                        index,
                        Item {
                            group: *group,
                            text: value.to_string_lossy().into_owned(),
                            alias: None,
                            map: None,
                        },
                    ));
                }
            }
        }
        for alias in offered(scope) {
            let id = alias.id.as_str();
            if matches.value_source(id) != Some(clap::parser::ValueSource::CommandLine) {
                continue;
            }
            let Some(indices) = matches.indices_of(id) else {
                continue;
            };
            let spelled = Some((format!("--{}", alias.long), alias.key));
            match alias.value {
                AliasValue::Fixed(value) => {
                    for index in indices {
                        found.push((
                            index,
                            Item {
                                group: alias.group,
                                text: value.to_string(),
                                alias: spelled.clone(),
                                map: None,
                            },
                        ));
                    }
                }
                AliasValue::Takes(_, map) => {
                    let values = matches.get_raw(id).into_iter().flatten();
                    for (value, index) in values.zip(indices) {
                        found.push((
                            index,
                            Item {
                                group: alias.group,
                                text: value.to_string_lossy().into_owned(),
                                alias: spelled.clone(),
                                map: Some(map),
                            },
                        ));
                    }
                }
            }
        }
        found.sort_by_key(|(index, _)| *index);
        Ok(SettingsArgs {
            items: found.into_iter().map(|(_, item)| item).collect(),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<const SCOPE: u8> SettingsArgs<SCOPE> {
    /// Applies every setting in order, or finds a `-X help`.
    pub fn resolve(&self) -> Result<Resolved> {
        let scope = Scope::from_const(SCOPE);
        let keys = keys();
        let mut settings = Settings::default();
        for item in &self.items {
            if item.alias.is_none() && matches!(item.text.as_str(), "help" | "help-long") {
                return Ok(Resolved::Help(item.group));
            }
            if let (Some((flag, key)), Some(map)) = (&item.alias, item.map) {
                let value = map(&item.text).map_err(|e| anyhow!("{flag} {}: {e}", item.text))?;
                apply(keys, scope, &mut settings, item, key, Some(&value))?;
                continue;
            }
            if let Some((_, key)) = &item.alias {
                apply(keys, scope, &mut settings, item, key, Some(&item.text))?;
                continue;
            }
            for piece in item.text.split(',').filter(|p| !p.is_empty()) {
                let (name, value) = match piece.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (piece, None),
                };
                // `-O 2`, `--optimize 3` (WasmEdge), `-O speed` (hoist's
                // old spelling): a bare level is the opt-level.
                if item.group == Group::Optimize && value.is_none() && opt_level(name).is_ok() {
                    apply(keys, scope, &mut settings, item, "opt-level", Some(name))?;
                    continue;
                }
                apply(keys, scope, &mut settings, item, name, value)?;
            }
        }
        settings.apply_pooling();
        Ok(Resolved::Settings(Box::new(settings)))
    }
}

/// Applies one `name[=value]` of `item`'s group.
fn apply(
    keys: &[Key],
    scope: Scope,
    settings: &mut Settings,
    item: &Item,
    name: &str,
    value: Option<&str>,
) -> Result<()> {
    let letter = item.group.letter();
    // How the user wrote it, for messages.
    let spelled = match &item.alias {
        Some((flag, key)) => format!("{flag} (-{letter} {key})"),
        None => match value {
            Some(value) => format!("-{letter} {name}={value}"),
            None => format!("-{letter} {name}"),
        },
    };
    let Some(key) = keys
        .iter()
        .find(|k| k.group == item.group && k.name == name)
    else {
        bail!(
            "-{letter} {name}: unknown key `{name}`; `hoist {} -{letter} help` lists them",
            scope.name()
        );
    };
    let value = match (key.shape, value) {
        (Shape::Flag, None) => "y",
        (Shape::Flag, Some(v)) => match v {
            "y" | "yes" | "true" | "" => "y",
            "n" | "no" | "false" => "n",
            other => bail!("{spelled}: `{other}` is not y or n"),
        },
        (Shape::Value(_), Some(v)) => v,
        (Shape::Value(shape), None) => bail!("{spelled}: needs a value: {name}={shape}"),
    };
    if key.run_only && scope != Scope::Run {
        // Turning off what only a run does is what any other command does
        // anyway (wasmtime accepts `compile -C cache=n`).
        if matches!(key.shape, Shape::Flag) && value == "n" {
            return Ok(());
        }
        bail!("{spelled}: only `hoist run` uses `{name}`");
    }
    match &key.action {
        Action::Set(set) => set(settings, value).map_err(|e| anyhow!("{spelled}: {e}")),
        Action::Feature(flag) => {
            settings.features.set(*flag, value == "y");
            Ok(())
        }
        Action::NotYet(why) => {
            // Asking for it off is asking for what hoist does anyway.
            if matches!(key.shape, Shape::Flag) && value == "n" {
                return Ok(());
            }
            bail!("{spelled}: hoist does not support `{name}` yet{why}")
        }
        Action::Always(always) => {
            if value == *always {
                return Ok(());
            }
            bail!("{spelled}: hoist always runs with {name}={always}")
        }
        Action::NoEffect => Ok(()),
        Action::Never(why) => {
            // Asking for it off is asking for what hoist does anyway.
            if matches!(key.shape, Shape::Flag) && value == "n" {
                return Ok(());
            }
            bail!("{spelled}: {why}")
        }
    }
}

/// The `-X help` text for `group`: one line per key, those hoist does not
/// have yet last.
pub fn help(group: Group, scope: Scope) -> String {
    let letter = group.letter();
    let defaults = Settings::default();
    let aliases = aliases();
    let mut text = format!(
        "-{letter} (--{}): {}. Comma lists and repeats are fine: -{letter} a,b=1 -{letter} c\n\n",
        group.long(),
        group.about()
    );
    let mut later = String::new();
    let mut never = String::new();
    let mut no_effect = String::new();
    for key in keys().iter().filter(|k| k.group == group) {
        if key.run_only && scope != Scope::Run {
            continue;
        }
        let shape = match key.shape {
            Shape::Flag => "[=y|n]".to_string(),
            Shape::Value(v) => format!("={v}"),
        };
        let mut line = format!("  {:<32} {}", format!("{}{shape}", key.name), key.help);
        if let Action::Feature(flag) = key.action {
            let on = if defaults.features.contains(flag) {
                "y"
            } else {
                "n"
            };
            line.push_str(&format!(" (default: {on})"));
        }
        let spellings: Vec<String> = aliases
            .iter()
            .filter(|a| a.group == group && a.key == key.name)
            .map(|a| format!("--{}", a.long))
            .collect();
        if !spellings.is_empty() {
            line.push_str(&format!("; also {}", spellings.join(" ")));
        }
        line.push('\n');
        match key.action {
            Action::NotYet(_) => later.push_str(&line),
            Action::Never(_) => never.push_str(&line),
            Action::NoEffect => no_effect.push_str(&line),
            _ => text.push_str(&line),
        }
    }
    if group == Group::Optimize {
        text.push_str("  0|1|2|3|s|z                      the same as opt-level=LEVEL\n");
    }
    if !later.is_empty() {
        text.push_str("\nnot supported yet (an error for now, except =n):\n");
        text.push_str(&later);
    }
    if !never.is_empty() {
        text.push_str("\nnot supported (an error, except =n):\n");
        text.push_str(&never);
    }
    if !no_effect.is_empty() {
        text.push_str(
            "\naccepted for wasmtime command lines, no effect in hoist (they tune wasmtime's \
             own machinery):\n",
        );
        text.push_str(&no_effect);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Run {
        #[command(flatten)]
        settings: SettingsArgs<RUN>,
    }

    fn resolve(args: &[&str]) -> Result<Settings> {
        let cli = Run::try_parse_from(std::iter::once("hoist").chain(args.iter().copied()))
            .map_err(|e| anyhow!("{e}"))?;
        match cli.settings.resolve()? {
            Resolved::Settings(settings) => Ok(*settings),
            Resolved::Help(_) => bail!("help"),
        }
    }

    #[test]
    fn spellings_share_one_key_and_the_last_wins() {
        let s = resolve(&["-W", "simd=n,tail-call=n", "-W", "gc=n"]).unwrap();
        assert!(!s.features.contains(WasmFeatures::SIMD));
        assert!(!s.features.contains(WasmFeatures::TAIL_CALL));
        assert!(!s.features.contains(WasmFeatures::GC));
        let s = resolve(&["--disable-simd", "-W", "simd"]).unwrap();
        assert!(s.features.contains(WasmFeatures::SIMD));
        let s = resolve(&["-W", "simd", "--disable-simd"]).unwrap();
        assert!(!s.features.contains(WasmFeatures::SIMD));
        let s = resolve(&["--enable-threads", "--disable-function-reference"]).unwrap();
        assert!(s.features.contains(WasmFeatures::THREADS));
        assert!(!s.features.contains(WasmFeatures::FUNCTION_REFERENCES));
        let s = resolve(&["--inherit-env", "-C", "cache=n"]).unwrap();
        assert!(s.inherit_env && !s.cache);
        let s = resolve(&["--no-cache", "-Ccache"]).unwrap();
        assert!(s.cache);
        let s = resolve(&["-W", "max-wasm-stack=64KiB"]).unwrap();
        assert_eq!(s.limits.max_wasm_stack, Some(65536));
        let s = resolve(&["-W", "fuel=1_000,timeout=1.5s", "--memory-page-limit", "16"]).unwrap();
        assert_eq!(s.limits.fuel, Some(1000));
        assert_eq!(
            s.limits.timeout,
            Some(std::time::Duration::from_millis(1500))
        );
        assert_eq!(s.limits.max_memory_size, Some(16 << 16));
        let s = resolve(&["--time-limit", "250", "--gas-limit", "7"]).unwrap();
        assert_eq!(
            s.limits.timeout,
            Some(std::time::Duration::from_millis(250))
        );
        assert_eq!(s.limits.fuel, Some(7));
        // WasmEdge's 0 is no limit.
        assert_eq!(
            resolve(&["--time-limit", "0"]).unwrap().limits.timeout,
            None
        );
        let s = resolve(&["-W", "max-table-elements=10,trap-on-grow-failure"]).unwrap();
        assert_eq!(s.limits.max_table_elements, Some(10));
        assert!(s.limits.trap_on_grow_failure);
        let s = resolve(&["--optimize", "0"]).unwrap();
        assert_eq!(s.opt_level, OptLevel::None);
        let s = resolve(&["-O", "opt-level=0", "--opt-level", "2"]).unwrap();
        assert_eq!(s.opt_level, OptLevel::Speed);
        let s = resolve(&["-Ddebug-info,coredump=/tmp/x.core"]).unwrap();
        assert!(s.debug_info);
        assert_eq!(s.coredump, Some(PathBuf::from("/tmp/x.core")));
        assert!(resolve(&["--enable-all"])
            .unwrap()
            .features
            .contains(WasmFeatures::THREADS));
    }

    #[test]
    fn keys_hoist_lacks_are_errors_naming_them() {
        let err = |args: &[&str]| format!("{:#}", resolve(args).expect_err("an error"));
        assert!(err(&["-W", "bogus=1"]).contains("unknown key `bogus`"));
        assert!(err(&["-W", "fuel=lots"]).contains("whole number"));
        assert!(err(&["--gas-limit", "x"]).contains("--gas-limit (-W fuel)"));
        assert!(err(&["-W", "timeout=soon"]).contains("duration"));
        assert!(err(&["-W", "simd=maybe"]).contains("`maybe` is not y or n"));
        assert!(err(&["-W", "max-wasm-stack"]).contains("needs a value"));
        assert!(err(&["--enable-component"]).contains("components are not supported"));
        assert!(err(&["-S", "http"]).contains("preview1"));
        // Asking for what hoist always does is fine, the other value not.
        assert!(err(&["-W", "nan-canonicalization=y"]).contains("always"));
        assert!(err(&["-S", "inherit-stdout=n"]).contains("always"));
        assert!(resolve(&["-S", "inherit-stdout", "-D", "inherit-stdin=y"]).is_ok());
        // Network kinds asked off are kept, for the run to check against its
        // grants; wasmtime's tuning keys are accepted.
        assert_eq!(resolve(&["-S", "tcp=n"]).unwrap().network_off, ["tcp"]);
        assert_eq!(
            resolve(&["-S", "udp=n,tcp=n,tcp=y"]).unwrap().network_off,
            ["udp"]
        );
        assert!(resolve(&["-O", "pooling-allocator,memory-guard-size=65536"]).is_ok());
        let s = resolve(&["-W", "max-instances=3,max-memories=1"]).unwrap();
        assert!(s.store_limits.check(3, 1, 9).is_ok());
        let too_many = s.store_limits.check(4, 1, 0).unwrap_err().to_string();
        assert!(
            too_many.contains("instance count too high at 4"),
            "{too_many}"
        );
        assert!(s.store_limits.check(1, 2, 0).is_err());
        // wasmtime's pool caps bound the guest as hoist's limits do; the
        // smaller wins, in any order.
        let s = resolve(&[
            "-O",
            "pooling-max-memory-size=64MiB,pooling-total-memories=2",
            "-W",
            "max-memory-size=4GiB",
        ])
        .unwrap();
        assert_eq!(s.limits.max_memory_size, Some(64 << 20));
        assert_eq!(s.store_limits.memories, Some(2));
        assert!(err(&["-O", "memory-may-move=n"]).contains("always"));
        assert!(err(&["-O", "pooling-max-memories-per-module=1"]).contains("not support"));
        let s = resolve(&["-W", "unknown-imports-trap"]).unwrap();
        assert_eq!(s.unknown_imports, Some(UnknownImports::Trap));
        let s = resolve(&["-S", "tcplisten=127.0.0.1:80,inherit-network", "--net"]).unwrap();
        assert_eq!(s.tcplisten, ["127.0.0.1:80"]);
        assert!(s.inherit_network);
        assert!(err(&["-C", "compiler=winch"]).contains("Cranelift only"));
        assert!(err(&["-O", "opt-level=9"]).contains("unknown optimization level"));
        // Asking for what hoist does anyway is fine.
        assert!(resolve(&["-W", "component-model=n"]).is_ok());
    }

    #[test]
    fn help_lists_each_key_once() {
        for group in [
            Group::Wasm,
            Group::Wasi,
            Group::Codegen,
            Group::Optimize,
            Group::Debug,
        ] {
            let text = help(group, Scope::Run);
            for key in keys().iter().filter(|k| k.group == group) {
                let lines = text
                    .lines()
                    .filter(|l| {
                        l.trim_start().starts_with(&format!("{}=", key.name))
                            || l.trim_start().starts_with(&format!("{}[", key.name))
                    })
                    .count();
                assert_eq!(lines, 1, "{} in\n{text}", key.name);
            }
        }
        let cli = Run::try_parse_from(["hoist", "-W", "help"]).unwrap();
        assert!(matches!(
            cli.settings.resolve().unwrap(),
            Resolved::Help(Group::Wasm)
        ));
        // Every alias names a key that exists.
        let keys = keys();
        for alias in aliases() {
            assert!(
                keys.iter()
                    .any(|k| k.group == alias.group && k.name == alias.key),
                "--{}",
                alias.long
            );
        }
    }
}
