//! The engine: compiler settings, the signature registry and the host
//! trampolines, shared by every module and store made with it.

use crate::type_registry::TypeRegistry;
use anyhow::{anyhow, bail, Result};
use hoist_artifact::EngineInfo;
use hoist_cranelift::{build_isa, Compiler, CompilerOptions, Cpu, OptLevel};
use hoist_environ::{Tunables, WasmFuncType};
use hoist_runtime::CodeMemory;
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use target_lexicon::Triple;
pub use wasmparser::WasmFeatures;

/// Settings for an [`Engine`].
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) compiler: CompilerOptions,
    pub(crate) tunables: Tunables,
    /// The WebAssembly proposals modules may use.
    pub(crate) features: WasmFeatures,
    /// Stores collect at every GC allocation (see [`Config::gc_stress`]).
    pub(crate) gc_stress: bool,
    /// See [`Config::lazy_compilation`].
    pub(crate) lazy_compilation: bool,
    /// See [`Config::lazy_speculation`].
    pub(crate) lazy_speculation: bool,
    /// See [`Config::tiering_budget`].
    pub(crate) tiering_budget: Option<u32>,
    /// See [`Config::tier_up_eagerly`].
    pub(crate) tier_up_eagerly: bool,
}

impl Default for Config {
    fn default() -> Self {
        let tiering = tiering_from_env();
        Config {
            compiler: CompilerOptions {
                single_pass_compiler: single_pass_from_env(),
                ..CompilerOptions::default()
            },
            tunables: Tunables::default(),
            features: hoist_environ::wasm_features(),
            gc_stress: false,
            lazy_compilation: lazy_from_env(),
            lazy_speculation: true,
            tiering_budget: tiering.0,
            tier_up_eagerly: tiering.1,
        }
    }
}

/// `HOIST_TIERING_BUDGET`: the defaults of [`Config::tiering_budget`] (a
/// number, or `n` for none) and [`Config::tier_up_eagerly`] (`eager`: a
/// budget of 1, optimized at once), so a test configuration can have
/// functions optimized after a call or two. Unreadable values are ignored.
fn tiering_from_env() -> (Option<u32>, bool) {
    let default = Some(crate::tier_up::DEFAULT_TIERING_BUDGET);
    match std::env::var("HOIST_TIERING_BUDGET").as_deref() {
        Ok("n" | "no" | "off") => (None, false),
        Ok("eager") => (Some(1), true),
        Ok(text) => (text.parse().ok().map(Some).unwrap_or(default), false),
        Err(_) => (default, false),
    }
}

/// Whether lazy compilation's first tier is the single-pass compiler by
/// default (see [`Config::single_pass_compiler`]).
const SINGLE_PASS_BY_DEFAULT: bool = true;

/// `HOIST_BASELINE` (`single-pass` or `cranelift`): the default of
/// [`Config::single_pass_compiler`], so a test configuration can run
/// everything through either first tier; otherwise
/// `SINGLE_PASS_BY_DEFAULT`.
fn single_pass_from_env() -> bool {
    match std::env::var("HOIST_BASELINE").as_deref() {
        Ok("single-pass") => true,
        Ok("cranelift") => false,
        _ => SINGLE_PASS_BY_DEFAULT,
    }
}

/// `HOIST_LAZY=y` (or `yes`, `true`, `1`) makes lazy compilation the
/// default: a test configuration that runs everything lazily.
fn lazy_from_env() -> bool {
    std::env::var("HOIST_LAZY").is_ok_and(|v| matches!(v.as_str(), "y" | "yes" | "true" | "1"))
}

impl Config {
    pub fn new() -> Self {
        Self::default()
    }

    /// How hard Cranelift optimizes (default: speed).
    pub fn opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.compiler.opt_level = level;
        self
    }

    /// Runs Cranelift's IR verifier on every function (for tests).
    pub fn verify(&mut self, on: bool) -> &mut Self {
        self.compiler.verify = on;
        self
    }

    /// Compiles for another target (for `Engine::precompile_module`); such an
    /// engine cannot run what it compiles.
    pub fn target(&mut self, triple: Triple) -> &mut Self {
        self.compiler.target = Some(triple);
        self
    }

    /// Which CPU features compiled code may use: all of the host's
    /// (default) or the architecture's baseline, for portable artifacts.
    pub fn cpu(&mut self, cpu: Cpu) -> &mut Self {
        self.compiler.cpu = cpu;
        self
    }

    /// The WebAssembly features modules may use, all at once (default:
    /// [`hoist_environ::wasm_features`], the Wasm 3.0 standard as far as
    /// hoist implements it). `WasmFeatures::WASM2` checks modules against
    /// Wasm 2.0 exactly.
    pub fn wasm_features(&mut self, features: WasmFeatures) -> &mut Self {
        self.features = features;
        self
    }

    /// Turns one feature (a proposal) on or off.
    pub fn wasm_feature(&mut self, feature: WasmFeatures, on: bool) -> &mut Self {
        self.features.set(feature, on);
        self
    }

    /// Accepts modules with more than one memory (the multi-memory proposal).
    pub fn wasm_multi_memory(&mut self, on: bool) -> &mut Self {
        self.wasm_feature(WasmFeatures::MULTI_MEMORY, on)
    }

    /// Bytes of native stack wasm may use per call from the host (default
    /// 512 KiB). The calling thread must have that much stack (plus room
    /// for the host); hoist never uses more than the thread has. A lazily
    /// compiled module's first-call code may use more where the thread has
    /// it, as its frames are bigger: the single-pass compiler's
    /// [`BASELINE_STACK_FACTOR`] times as much, unoptimized Cranelift code's
    /// [`UNOPTIMIZED_STACK_FACTOR`] times, so a recursion runs as deep on a
    /// first run as from the cache.
    ///
    /// [`BASELINE_STACK_FACTOR`]: crate::BASELINE_STACK_FACTOR
    /// [`UNOPTIMIZED_STACK_FACTOR`]: crate::UNOPTIMIZED_STACK_FACTOR
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.tunables.max_wasm_stack = bytes;
        self
    }

    /// Compiles epoch checks into function entries and loop headers, so
    /// [`Engine::increment_epoch`] past a store's deadline
    /// ([`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline))
    /// interrupts its guest with a trap. Off by default (it costs a little
    /// in every loop); code-affecting, so artifacts record it.
    pub fn epoch_interruption(&mut self, on: bool) -> &mut Self {
        self.tunables.epoch_interruption = on;
        self
    }

    /// Compiles fuel metering: every operator costs one unit (those that do
    /// no work, none); a store runs out after the fuel it was given
    /// ([`Store::set_fuel`](crate::Store::set_fuel)) and traps. Off by
    /// default; code-affecting.
    pub fn consume_fuel(&mut self, on: bool) -> &mut Self {
        self.tunables.consume_fuel = on;
        self
    }

    /// A failed `memory.grow` or `table.grow` traps instead of returning
    /// -1 (for debugging out-of-memory conditions). Code-affecting.
    pub fn trap_on_grow_failure(&mut self, on: bool) -> &mut Self {
        self.tunables.trap_on_grow_failure = on;
        self
    }

    /// The largest size, in bytes, any linear memory may reach; growing past
    /// it fails (`memory.grow` returns -1), and a memory whose initial size
    /// is larger fails to instantiate.
    pub fn max_memory_size(&mut self, bytes: Option<u64>) -> &mut Self {
        self.tunables.max_memory_size = bytes;
        self
    }

    /// The most bytes of GC objects (the GC proposal's structs and
    /// arrays) a store's heap may hold: an allocation that does not fit
    /// after a full collection traps with "out of GC heap memory". Default
    /// 1 GiB; at most [`MAX_GC_HEAP_LIMIT`](crate::MAX_GC_HEAP_LIMIT) (larger
    /// values are taken as that). The copying collector reserves as much
    /// address space again to copy into.
    pub fn max_gc_heap(&mut self, bytes: u64) -> &mut Self {
        self.tunables.max_gc_heap = bytes.min(hoist_environ::MAX_GC_HEAP_LIMIT);
        self
    }

    /// Makes every store of the engine collect garbage at every GC
    /// allocation (as [`Store::gc_stress`](crate::Store::gc_stress)): very
    /// slow, for testing that no reference escapes the collector's roots.
    pub fn gc_stress(&mut self, on: bool) -> &mut Self {
        self.gc_stress = on;
        self
    }

    /// Makes [`Module::new`](crate::Module::new) compile lazily, as
    /// [`Module::new_lazy`](crate::Module::new_lazy) does: each function on
    /// its first call. Off by default (unless the environment has
    /// `HOIST_LAZY=y`, for testing). Artifacts
    /// ([`Engine::precompile_module`]) are always compiled whole.
    pub fn lazy_compilation(&mut self, on: bool) -> &mut Self {
        self.lazy_compilation = on;
        self
    }

    /// The first tier of lazy compilation: hoist's single-pass compiler
    /// (crate `hoist-baseline`: integer functions straight to x86-64 in one
    /// pass, several times faster to compile than Cranelift and slower to
    /// run), or, when off, Cranelift without optimizations. Functions the
    /// single-pass compiler does not handle, and other targets, always go
    /// to Cranelift. Default: the environment's `HOIST_BASELINE`
    /// (`single-pass` or `cranelift`), else `SINGLE_PASS_BY_DEFAULT`.
    pub fn single_pass_compiler(&mut self, on: bool) -> &mut Self {
        self.compiler.single_pass_compiler = on;
        self
    }

    /// With lazy compilation, one more thread per module compiles ahead of
    /// the program: the functions that compiled functions call directly, a
    /// few calls deep, most recently found first, at a low priority and only
    /// while the machine has a core to spare, so a function is often ready
    /// when first called (cold CPython on two cores: 736 -> 698 ms). On by
    /// default; never on a machine with one core. The program never waits
    /// for it: a function it needs first it compiles itself.
    pub fn lazy_speculation(&mut self, on: bool) -> &mut Self {
        self.lazy_speculation = on;
        self
    }

    /// With lazy compilation, a function is compiled again with the full
    /// optimizations, on a thread of its own at a low priority, once its
    /// entries and loop iterations in the quickly compiled baseline tier
    /// reach `budget` (default 10,000; that thread reads the counts every
    /// 10 to 100 ms); once compiled, every instance's funcref is switched
    /// to that code, and calls made from then on run it (a call in progress
    /// finishes in the code it started in). `None`: lazily compiled code
    /// stays in the baseline tier (until a full compile is switched to, see
    /// [`Module::tier_up`](crate::Module::tier_up)). A budget of 0 counts as 1.
    pub fn tiering_budget(&mut self, budget: Option<u32>) -> &mut Self {
        self.tiering_budget = budget;
        self
    }

    /// For testing: the optimizing thread (see [`Config::tiering_budget`])
    /// starts on a hot function at once, without waiting for the program's
    /// warm-up to end, for a spare core or for the thread compiling ahead.
    /// `HOIST_TIERING_BUDGET=eager` in the environment sets this and a
    /// budget of 1: a test configuration in which most functions called
    /// once run optimized code soon after.
    #[doc(hidden)]
    pub fn tier_up_eagerly(&mut self, on: bool) -> &mut Self {
        self.tier_up_eagerly = on;
        self
    }

    /// The most elements any table may reach (as `max_memory_size`).
    pub fn max_table_elements(&mut self, elements: Option<u64>) -> &mut Self {
        self.tunables.max_table_elements = elements;
        self
    }

    /// The most elements all the tables of one store may hold together
    /// (default [`DEFAULT_MAX_TOTAL_TABLE_ELEMENTS`](crate::DEFAULT_MAX_TOTAL_TABLE_ELEMENTS)):
    /// making a table past it fails, and so does `table.grow` (-1).
    pub fn max_total_table_elements(&mut self, elements: u64) -> &mut Self {
        self.tunables.max_total_table_elements = elements;
        self
    }
}

/// Compiles modules and owns what all stores of it share.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

pub(crate) struct EngineInner {
    pub(crate) compiler: Compiler,
    /// What this engine's code is compiled for, as recorded in artifacts.
    pub(crate) info: EngineInfo,
    /// The WebAssembly features modules may use.
    pub(crate) features: wasmparser::WasmFeatures,
    /// The CPU features of this host, when the engine targets the host.
    host_features: Option<HashSet<String>>,
    types: Mutex<TypeRegistry>,
    /// The epoch counter (see [`Engine::increment_epoch`]); shared so stores'
    /// contexts can point at it and timers can hold it.
    pub(crate) epoch: Arc<std::sync::atomic::AtomicU64>,
    /// See [`Engine::first_call_compile_nanos`].
    pub(crate) first_call_compile_nanos: Arc<std::sync::atomic::AtomicU64>,
    host_trampolines: Mutex<HashMap<WasmFuncType, (Arc<CodeMemory>, u32)>>,
    /// See [`Config::gc_stress`].
    pub(crate) gc_stress: bool,
    /// See [`Config::lazy_compilation`].
    pub(crate) lazy_compilation: bool,
    /// See [`Config::lazy_speculation`].
    pub(crate) lazy_speculation: bool,
    /// See [`Config::tiering_budget`].
    pub(crate) tiering_budget: Option<u32>,
    /// See [`Config::tier_up_eagerly`].
    pub(crate) tier_up_eagerly: bool,
}

impl Engine {
    pub fn new(config: &Config) -> Result<Engine> {
        hoist_runtime::init_traps();
        let mut options = config.compiler.clone();
        if options.cpu == Cpu::Native && options.native_features.is_none() {
            options.native_features = hoist_runtime::host_cpu_features();
        }
        let isa = build_isa(&options).map_err(|e| anyhow!(e))?;
        let features = config.features;
        let info = engine_info(&*isa, &config.tunables, features);
        let native_host = config.compiler.cpu == Cpu::Native
            && config
                .compiler
                .target
                .as_ref()
                .is_none_or(|t| *t == Triple::host());
        let host_features = if native_host {
            // The engine's own ISA already has every host feature: no second
            // detection and ISA build (a tenth of a hello-world's start-up).
            Some(info.isa_flags.iter().cloned().collect())
        } else if isa.triple() == &Triple::host() {
            let native = build_isa(&CompilerOptions {
                cpu: Cpu::Native,
                native_features: hoist_runtime::host_cpu_features(),
                ..Default::default()
            })
            .map_err(|e| anyhow!(e))?;
            Some(
                engine_info(&*native, &config.tunables, features)
                    .isa_flags
                    .into_iter()
                    .collect(),
            )
        } else {
            None
        };
        // Lazily compiled functions: the same code contract, compiled fast.
        let compiler = Compiler::new(isa, config.tunables.clone()).with_baseline_tier(options);
        Ok(Engine {
            inner: Arc::new(EngineInner {
                compiler,
                info,
                host_features,
                features,
                types: Mutex::default(),
                epoch: Arc::default(),
                first_call_compile_nanos: Arc::default(),
                host_trampolines: Mutex::default(),
                gc_stress: config.gc_stress,
                lazy_compilation: config.lazy_compilation,
                lazy_speculation: config.lazy_speculation,
                tiering_budget: config.tiering_budget,
                tier_up_eagerly: config.tier_up_eagerly,
            }),
        })
    }

    /// The target this engine compiles for.
    pub fn target(&self) -> &Triple {
        self.inner.compiler.isa().triple()
    }

    /// Everything that decides what code this engine generates, as text:
    /// part of the compile cache's key.
    pub fn fingerprint(&self) -> String {
        let EngineInfo {
            build_id,
            hoist_version,
            triple,
            shared_flags,
            isa_flags,
            tunables,
            features,
        } = &self.inner.info;
        format!(
            "{build_id}\n{hoist_version}\n{triple}\n{shared_flags}\n{}\n{tunables}\n{features}",
            isa_flags.join(",")
        )
    }

    /// What this engine records in the artifacts it makes.
    pub fn info(&self) -> &EngineInfo {
        &self.inner.info
    }

    /// Whether code compiled by this engine can run on this host.
    pub fn can_run(&self) -> bool {
        self.inner.host_features.is_some()
    }

    /// Compiles `wasm` (binary or text) to an artifact image, without
    /// loading it: works for any target. The image keeps the module's
    /// DWARF (`.debug_*` sections), for source lines in backtraces.
    pub fn precompile_module(&self, wasm: &[u8]) -> Result<Vec<u8>> {
        Ok(crate::module::compile(self, wasm, true)?.0)
    }

    /// [`Engine::precompile_module`] for a compile cache, whose user still
    /// has the module it compiled from: the image leaves out the module's
    /// DWARF, a third of some modules (13 of CPython's 26 MB), which every
    /// load would read and authenticate.
    pub fn precompile_module_for_cache(&self, wasm: &[u8]) -> Result<Vec<u8>> {
        Ok(crate::module::compile(self, wasm, false)?.0)
    }

    /// Refuses an artifact that cannot run here, saying why in words.
    /// Every recorded field is named, so a new one must be decided on.
    pub(crate) fn check_compatible(&self, artifact: &EngineInfo) -> Result<()> {
        let ours = &self.inner.info;
        let EngineInfo {
            build_id,
            hoist_version,
            triple,
            shared_flags,
            isa_flags,
            tunables,
            features,
        } = artifact;
        let recompile = "recompile it with `hoist compile`";
        // Another build may lay out the VMContext or number builtins
        // differently: its code must never run here.
        if *build_id != ours.build_id {
            bail!(
                "the artifact was compiled by another build of hoist ({hoist_version}, build {build_id}); \
                 this is hoist {} (build {}): {recompile}",
                ours.hoist_version,
                ours.build_id
            );
        }
        let Some(host_features) = &self.inner.host_features else {
            bail!(
                "this engine compiles for {} and cannot run code",
                ours.triple
            );
        };
        if *triple != Triple::host().to_string() {
            bail!(
                "the artifact was compiled for {triple}, but this machine is {}: {recompile} on or for this machine",
                Triple::host()
            );
        }
        if *tunables != ours.tunables {
            bail!(
                "the artifact was compiled with different code-generation settings ({}): \
                 {recompile} and the same options",
                tunables_differences(tunables, &ours.tunables)
            );
        }
        if code_affecting(shared_flags) != code_affecting(&ours.shared_flags) {
            bail!("the artifact was compiled with different code-generation settings: {recompile}");
        }
        let ours_enabled: HashSet<&str> = ours.features.split(',').collect();
        let disabled: Vec<&str> = features
            .split(',')
            .filter(|f| !f.is_empty() && !ours_enabled.contains(f))
            .collect();
        if !disabled.is_empty() {
            bail!(
                "the artifact was compiled with WebAssembly features this run has turned off ({}): {recompile}",
                disabled.join(", ")
            );
        }
        let missing: Vec<&str> = isa_flags
            .iter()
            .filter(|flag| !flag.contains('=') && !host_features.contains(*flag))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            bail!(
                "the artifact needs CPU features this machine lacks ({}): {recompile}, or compile with `--cpu baseline`",
                missing.join(", ")
            );
        }
        Ok(())
    }

    pub(crate) fn tunables(&self) -> &Tunables {
        self.inner.compiler.tunables()
    }

    /// Advances the epoch: every store whose deadline this reaches stops
    /// its guest at the next function entry or loop header (code compiled
    /// with [`Config::epoch_interruption`]). Safe to call from any thread
    /// and from a signal handler (one atomic add).
    pub fn increment_epoch(&self) {
        self.inner
            .epoch
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The epoch counter itself, for advancing it from anywhere (a timer
    /// thread, a signal handler: `fetch_add(1, Relaxed)` is all it takes).
    pub fn epoch_counter(&self) -> Arc<std::sync::atomic::AtomicU64> {
        Arc::clone(&self.inner.epoch)
    }

    /// Nanoseconds the program's threads have spent in lazily compiled
    /// modules' first calls: compiling the function, or waiting for
    /// another thread that compiles it; summed over threads, counted up
    /// from zero for the engine's life. A time limit can leave this out of
    /// the guest's time (the CLI's `--timeout` does), so compiling on first
    /// call costs the guest none of its budget. Bounded: each function is
    /// compiled on first call at most once per module.
    pub fn first_call_compile_nanos(&self) -> Arc<std::sync::atomic::AtomicU64> {
        Arc::clone(&self.inner.first_call_compile_nanos)
    }

    /// Whether `other` is this engine (a clone of the same one).
    pub fn same(&self, other: &Engine) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The current epoch.
    pub fn current_epoch(&self) -> u64 {
        self.inner.epoch.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The engine's type registry (see [`TypeRegistry`]).
    pub(crate) fn types(&self) -> std::sync::MutexGuard<'_, TypeRegistry> {
        self.inner.types.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The engine-wide id of a function signature (whose concrete
    /// references, if any, are engine ids), registering it on first use.
    pub(crate) fn signature_id(&self, ty: &WasmFuncType) -> u32 {
        self.types().register_func(ty)
    }

    /// The signature registered under `id`, if `id` is a function type.
    pub(crate) fn signature(&self, id: u32) -> Option<WasmFuncType> {
        self.types().get(id).and_then(|t| t.as_func()).cloned()
    }

    /// The wasm-to-host trampoline for host functions of type `ty`,
    /// compiled on first use and kept for the engine's life.
    pub(crate) fn host_trampoline(&self, ty: &WasmFuncType) -> Result<*const u8> {
        let mut cache = self
            .inner
            .host_trampolines
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((code, offset)) = cache.get(ty) {
            return Ok(code.address(*offset));
        }
        let compiled = self.inner.compiler.compile_host_trampoline(ty)?;
        let offset = compiled
            .wasm_to_array
            .expect("host trampoline text has its entry");
        let code = Arc::new(CodeMemory::new(&compiled.text, compiled.traps)?);
        let address = code.address(offset);
        cache.insert(ty.clone(), (code, offset));
        Ok(address)
    }
}

impl hoist_runtime::TypeInfo for EngineInner {
    fn is_subtype(&self, actual: u32, expected: u32) -> bool {
        self.types
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_subtype(actual, expected)
    }
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::new(&Config::default()).expect("the host is a supported target")
    }
}

/// The build id of this hoist (see build.rs). Tests may pretend to be
/// another build through `HOIST_BUILD_ID_OVERRIDE_FOR_TESTS`.
fn build_id() -> String {
    std::env::var("HOIST_BUILD_ID_OVERRIDE_FOR_TESTS")
        .ok()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| env!("HOIST_BUILD_ID").to_string())
}

/// What `isa` compiles for, in the words artifacts record.
fn engine_info(
    isa: &dyn hoist_cranelift::TargetIsa,
    tunables: &Tunables,
    features: wasmparser::WasmFeatures,
) -> EngineInfo {
    let mut isa_flags: Vec<String> = isa
        .isa_flags()
        .iter()
        .filter_map(|flag| match flag.as_bool() {
            Some(true) => Some(flag.name.to_string()),
            Some(false) => None,
            None => Some(format!("{}={}", flag.name, flag.value_string())),
        })
        .collect();
    isa_flags.sort();
    let features: Vec<String> = features
        .iter_names()
        .map(|(name, _)| name.to_ascii_lowercase().replace('_', "-"))
        .collect();
    EngineInfo {
        build_id: build_id(),
        hoist_version: format!("{} ({})", env!("CARGO_PKG_VERSION"), env!("HOIST_REVISION")),
        triple: isa.triple().to_string(),
        shared_flags: isa.flags().to_string(),
        isa_flags,
        tunables: tunables
            .code_affecting()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(" "),
        features: features.join(","),
    }
}

/// Shared flags minus those that do not change what code does.
fn code_affecting(flags: &str) -> Vec<&str> {
    flags
        .lines()
        .filter(|line| !line.starts_with("opt_level") && !line.starts_with("enable_verifier"))
        .collect()
}

/// What differs between an artifact's tunables and this engine's (both
/// `name=value` separated by spaces), as `name: artifact has X, this run
/// needs Y`. The checks a limit needs are the usual cause: `-W fuel` and
/// `-W timeout` need code compiled with `consume_fuel` and
/// `epoch_interruption`.
fn tunables_differences(artifact: &str, ours: &str) -> String {
    let parse = |text: &str| -> HashMap<String, String> {
        text.split_whitespace()
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let (theirs, ours) = (parse(artifact), parse(ours));
    let mut names: Vec<&String> = theirs.keys().chain(ours.keys()).collect();
    names.sort();
    names.dedup();
    let none = "none".to_string();
    names
        .into_iter()
        .filter(|name| theirs.get(*name) != ours.get(*name))
        .map(|name| {
            let hint = match name.as_str() {
                "consume_fuel" => " (-W fuel)",
                "epoch_interruption" => " (-W timeout)",
                "trap_on_grow_failure" => " (-W trap-on-grow-failure)",
                _ => "",
            };
            format!(
                "{name}{hint}: the artifact has {}, this run needs {}",
                theirs.get(name).unwrap_or(&none),
                ours.get(name).unwrap_or(&none)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The features read from the C library (where it has them) make the
    /// same ISA settings as cranelift_native's own detection on this host.
    #[test]
    fn host_features_match_cranelift_native() {
        let Some(features) = hoist_runtime::host_cpu_features() else {
            return; // Not at hand on this host: cranelift_native is used.
        };
        let settings = |native_features| {
            let isa = build_isa(&CompilerOptions {
                cpu: Cpu::Native,
                native_features,
                ..Default::default()
            })
            .unwrap();
            isa.isa_flags()
                .iter()
                .map(|value| value.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(settings(Some(features)), settings(None));
    }
}
