//! The keys of `-W`, `-S`, `-C`, `-O` and `-D`: what each one is called,
//! takes and does (wasmtime's names, with hoist's own additions).

use super::*;

/// What a key does.
pub(super) enum Action {
    /// Sets something; gets `y`/`n` for a flag, the text for a value.
    Set(fn(&mut Settings, &str) -> Result<()>),
    /// Turns a WebAssembly feature on or off.
    Feature(WasmFeatures),
    /// hoist will have it; an error until then (the text says more).
    NotYet(&'static str),
    /// hoist does not do this; the text says why.
    Never(&'static str),
    /// hoist always behaves as this value of the flag: asking for it is
    /// fine, asking for the other an error.
    Always(&'static str),
    /// Accepted and ignored: it tunes how wasmtime works inside (its
    /// allocator, its memory layout, its logging), not what the guest
    /// sees, so a wasmtime command line carrying it runs unchanged.
    NoEffect,
}

/// The shape of a key's value.
#[derive(Clone, Copy)]
pub(super) enum Shape {
    /// `key`, `key=y`, `key=n`.
    Flag,
    /// `key=VALUE`, with VALUE as help shows it.
    Value(&'static str),
}

pub(super) struct Key {
    pub(super) group: Group,
    pub(super) name: &'static str,
    pub(super) shape: Shape,
    pub(super) help: &'static str,
    pub(super) action: Action,
    /// Only `hoist run` uses it.
    pub(super) run_only: bool,
}

/// The WebAssembly proposals hoist can turn on and off, wasmtime's key
/// first, then other runtimes' names for them (`--enable-NAME`).
pub(super) const FEATURES: &[(&str, WasmFeatures, &[&str], &str)] = &[
    ("simd", WasmFeatures::SIMD, &[], "128-bit SIMD"),
    (
        "relaxed-simd",
        WasmFeatures::RELAXED_SIMD,
        &[],
        "relaxed SIMD",
    ),
    (
        "bulk-memory",
        WasmFeatures::BULK_MEMORY,
        &[],
        "bulk memory operations",
    ),
    (
        "reference-types",
        WasmFeatures::REFERENCE_TYPES,
        &[],
        "reference types",
    ),
    (
        "multi-value",
        WasmFeatures::MULTI_VALUE,
        &[],
        "multiple results and block parameters",
    ),
    ("tail-call", WasmFeatures::TAIL_CALL, &[], "tail calls"),
    (
        "extended-const",
        WasmFeatures::EXTENDED_CONST,
        &[],
        "extended constant expressions",
    ),
    (
        "function-references",
        WasmFeatures::FUNCTION_REFERENCES,
        &["function-reference"],
        "typed function references",
    ),
    (
        "gc",
        WasmFeatures::GC,
        &[],
        "garbage-collected types (structs and arrays)",
    ),
    (
        "exceptions",
        WasmFeatures::EXCEPTIONS,
        &["exception-handling"],
        "exception handling (try_table, throw, exnref)",
    ),
    (
        "legacy-exceptions",
        WasmFeatures::LEGACY_EXCEPTIONS,
        &[],
        "the legacy exception encoding (try, catch, delegate, rethrow)",
    ),
    (
        "memory64",
        WasmFeatures::MEMORY64,
        &[],
        "64-bit memories and tables",
    ),
    (
        "multi-memory",
        WasmFeatures::MULTI_MEMORY,
        &[],
        "several memories in one module",
    ),
    (
        "threads",
        WasmFeatures::THREADS,
        &[],
        "atomics and shared memories",
    ),
    (
        "wide-arithmetic",
        WasmFeatures::WIDE_ARITHMETIC,
        &[],
        "128-bit arithmetic instructions",
    ),
    (
        "custom-page-sizes",
        WasmFeatures::CUSTOM_PAGE_SIZES,
        &[],
        "memories with 1-byte pages",
    ),
    (
        "mutable-global",
        WasmFeatures::MUTABLE_GLOBAL,
        &["import-export-mut-globals"],
        "importing and exporting mutable globals",
    ),
    (
        "saturating-float-to-int",
        WasmFeatures::SATURATING_FLOAT_TO_INT,
        &["non-trap-float-to-int"],
        "non-trapping float-to-int conversions",
    ),
    (
        "sign-extension",
        WasmFeatures::SIGN_EXTENSION,
        &["sign-extension-operators"],
        "sign-extension operators",
    ),
];

/// The `-W` key of each proposal hoist can turn off, with its flag.
pub fn feature_keys() -> impl Iterator<Item = (&'static str, WasmFeatures)> {
    FEATURES.iter().map(|(name, flag, _, _)| (*name, *flag))
}

/// Every proposal `-W all-proposals` (`--enable-all`) turns on.
pub(super) fn all_proposals() -> WasmFeatures {
    FEATURES
        .iter()
        .fold(hoist_environ::wasm_features(), |all, (_, flag, _, _)| {
            all | *flag
        })
}

pub(super) const FLAG: Shape = Shape::Flag;
pub(super) const SIZE: Shape = Shape::Value("N");

/// A count such as fuel or table elements: digits, `_` allowed.
pub(super) fn parse_count(text: &str) -> Result<u64> {
    text.replace('_', "")
        .parse()
        .map_err(|_| anyhow!("expected a whole number, found `{text}`"))
}

/// Whether `-LETTER VALUE` would set one of hoist's keys: `VALUE`'s first
/// key (`timeout` of `timeout=1s,fuel=9`) is one of that group's, or `help`.
/// Compiler flags such as `-Wall`, `-O2`, `-DNDEBUG` are not.
pub fn is_key_setting(letter: char, value: &str) -> bool {
    let name = value
        .split(',')
        .next()
        .unwrap_or("")
        .split('=')
        .next()
        .unwrap_or("");
    if name == "help" {
        return true;
    }
    keys()
        .iter()
        .any(|k| k.group.letter() == letter && k.name == name)
}

pub(super) fn keys() -> &'static [Key] {
    static KEYS: std::sync::LazyLock<Vec<Key>> = std::sync::LazyLock::new(build_keys);
    &KEYS
}

pub(super) fn build_keys() -> Vec<Key> {
    use Action::*;
    use Group::*;
    let key = |group, name, shape, help, action| Key {
        group,
        name,
        shape,
        help,
        action,
        run_only: false,
    };
    let run_key = |group, name, shape, help, action| Key {
        run_only: true,
        ..key(group, name, shape, help, action)
    };
    let mut keys: Vec<Key> = FEATURES
        .iter()
        .map(|(name, flag, _, help)| key(Wasm, *name, FLAG, *help, Feature(*flag)))
        .collect();
    let preview1 = "hoist implements WASI preview1 (and the older wasi_unstable) only";
    keys.extend([
        key(
            Wasm,
            "all-proposals",
            FLAG,
            "every proposal above (n: back to the defaults)",
            Set(|s, v| {
                s.features = if v == "y" {
                    all_proposals()
                } else {
                    hoist_environ::wasm_features()
                };
                Ok(())
            }),
        ),
        key(
            Wasm,
            "max-wasm-stack",
            SIZE,
            "native stack wasm may use per call from the host, in bytes (64KiB, 8MiB, ...)",
            Set(|s, v| {
                let bytes = crate::size::parse_size(v)?;
                s.limits.max_wasm_stack = Some(usize::try_from(bytes)?);
                Ok(())
            }),
        ),
        key(
            Wasm,
            "component-model",
            FLAG,
            "WebAssembly components",
            Never("hoist runs core WebAssembly modules; components are not supported"),
        ),
        key(
            Wasm,
            "stack-switching",
            FLAG,
            "stack switching (continuations)",
            Never("hoist does not implement the stack-switching proposal"),
        ),
        key(
            Wasm,
            "shared-everything-threads",
            FLAG,
            "shared-everything threads",
            Never("hoist does not implement the shared-everything-threads proposal"),
        ),
        run_key(
            Wasm,
            "unknown-imports-default",
            FLAG,
            "define function imports nothing provides as functions returning zeros and nulls",
            Set(|s, v| {
                unknown_imports(s, UnknownImports::Default, v);
                Ok(())
            }),
        ),
        run_key(
            Wasm,
            "max-instances",
            SIZE,
            "the most instances the run may make (the module and its preloads)",
            Set(|s, v| {
                s.store_limits.instances = Some(parse_count(v)?);
                Ok(())
            }),
        ),
        run_key(
            Wasm,
            "max-memories",
            SIZE,
            "the most memories the run's instances may define",
            Set(|s, v| {
                s.store_limits.memories = Some(parse_count(v)?);
                Ok(())
            }),
        ),
        run_key(
            Wasm,
            "max-tables",
            SIZE,
            "the most tables the run's instances may define",
            Set(|s, v| {
                s.store_limits.tables = Some(parse_count(v)?);
                Ok(())
            }),
        ),
        key(
            Wasm,
            "timeout",
            Shape::Value("N|Ns|Nms"),
            "stop wasm after this long (a number with ns, us, ms, s, m or h; seconds if none; \
             0: no limit)",
            Set(|s, v| {
                let timeout = crate::limits::parse_duration(v)?;
                s.limits.timeout = (!timeout.is_zero()).then_some(timeout);
                Ok(())
            }),
        ),
        key(
            Wasm,
            "epoch-interruption",
            FLAG,
            "compile the checks a timeout needs (implied by timeout; for `compile`)",
            Set(|s, v| {
                s.limits.epoch_interruption = v == "y";
                Ok(())
            }),
        ),
        key(
            Wasm,
            "fuel",
            SIZE,
            "stop wasm after this much fuel, one unit per operator that does work",
            Set(|s, v| {
                s.limits.fuel = Some(parse_count(v)?);
                Ok(())
            }),
        ),
        key(
            Wasm,
            "consume-fuel",
            FLAG,
            "compile fuel metering (implied by fuel; for `compile`)",
            Set(|s, v| {
                s.limits.consume_fuel = v == "y";
                Ok(())
            }),
        ),
        key(
            Wasm,
            "max-memory-size",
            SIZE,
            "the most bytes a memory may grow to (64MiB, 2GiB, ...)",
            Set(|s, v| {
                s.limits.max_memory_size = Some(crate::size::parse_size(v)?);
                Ok(())
            }),
        ),
        key(
            Wasm,
            "max-gc-heap",
            SIZE,
            "the most bytes of GC objects a store keeps (default 1GiB, at most 2GiB - 64KiB)",
            Set(|s, v| {
                s.limits.max_gc_heap = Some(crate::size::parse_size(v)?);
                if s.limits.max_gc_heap > Some(hoist::MAX_GC_HEAP_LIMIT) {
                    bail!("at most {} bytes", hoist::MAX_GC_HEAP_LIMIT);
                }
                Ok(())
            }),
        ),
        key(
            Wasm,
            "max-table-elements",
            SIZE,
            "the most elements a table may grow to",
            Set(|s, v| {
                s.limits.max_table_elements = Some(parse_count(v)?);
                Ok(())
            }),
        ),
        key(
            Wasm,
            "max-total-table-elements",
            SIZE,
            "the most elements all tables of a store (the run's instances, or one thread's) \
             may hold together (default 16M, 8 bytes each)",
            Set(|s, v| {
                s.limits.max_total_table_elements = Some(parse_count(v)?);
                Ok(())
            }),
        ),
        key(
            Wasm,
            "trap-on-grow-failure",
            FLAG,
            "trap when memory.grow or table.grow fails",
            Set(|s, v| {
                s.limits.trap_on_grow_failure = v == "y";
                Ok(())
            }),
        ),
        key(
            Wasm,
            "nan-canonicalization",
            FLAG,
            "canonical NaN results (always n)",
            Always("n"),
        ),
        key(
            Wasm,
            "relaxed-simd-deterministic",
            FLAG,
            "host-independent relaxed SIMD results (always n)",
            Always("n"),
        ),
        key(
            Wasm,
            "shared-memory",
            FLAG,
            "shared memories: the same as threads",
            Feature(WasmFeatures::THREADS),
        ),
        key(
            Wasm,
            "gc-support",
            FLAG,
            "the runtime's GC support (always y)",
            Always("y"),
        ),
        key(
            Wasm,
            "wmemcheck",
            FLAG,
            "wasmtime's memory checker",
            Always("n"),
        ),
        key(
            Wasm,
            "async-stack-size",
            SIZE,
            "wasmtime's async stacks",
            NoEffect,
        ),
        key(
            Wasm,
            "async-stack-zeroing",
            FLAG,
            "wasmtime's async stacks",
            NoEffect,
        ),
        key(
            Wasm,
            "unknown-exports-allow",
            FLAG,
            "exports a command may have (hoist allows any)",
            NoEffect,
        ),
        key(
            Wasm,
            "branch-hinting",
            FLAG,
            "branch hints (read, not used)",
            NoEffect,
        ),
        run_key(
            Wasm,
            "unknown-imports-trap",
            FLAG,
            "define function imports nothing provides as functions that trap when called",
            Set(|s, v| {
                unknown_imports(s, UnknownImports::Trap, v);
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "cli",
            FLAG,
            "link WASI at all (n: the module gets no WASI imports)",
            Set(|s, v| {
                s.wasi = v == "y";
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "common",
            FLAG,
            "old name for cli",
            Set(|s, v| {
                s.wasi = v == "y";
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "preview0",
            FLAG,
            "link the legacy wasi_unstable imports too (default: y)",
            Set(|s, v| {
                s.preview0 = v == "y";
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "preview2",
            FLAG,
            "accepted either way: hoist has one WASI preview1 implementation",
            Set(|_, _| Ok(())),
        ),
        run_key(
            Wasi,
            "inherit-env",
            FLAG,
            "give the guest the whole host environment (--env still applies on top)",
            Set(|s, v| {
                s.inherit_env = v == "y";
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "inherit-network",
            FLAG,
            "the host's network: any address (the same as --allow-net '*:*')",
            Set(|s, v| {
                s.inherit_network = v == "y";
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "tcplisten",
            Shape::Value("ADDR"),
            "bind and listen on ADDR:PORT and give the guest the socket (as --tcplisten)",
            Set(|s, v| {
                s.tcplisten.push(v.to_string());
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "listenfd",
            FLAG,
            "give the guest sockets inherited by socket activation (as --listenfd)",
            Set(|s, v| {
                s.listenfd = v == "y";
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "allow-ip-name-lookup",
            FLAG,
            "name lookups (y: with a network grant, as every socket call; n: only without one)",
            Set(|s, v| {
                network_off(s, "allow-ip-name-lookup", v);
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "tcp",
            FLAG,
            "TCP sockets (y: with a network grant; n: only without one)",
            Set(|s, v| {
                network_off(s, "tcp", v);
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "udp",
            FLAG,
            "UDP sockets (y: with a network grant; n: only without one)",
            Set(|s, v| {
                network_off(s, "udp", v);
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "network-error-code",
            FLAG,
            "preview2's network error codes",
            NoEffect,
        ),
        run_key(
            Wasi,
            "inherit-stdin",
            FLAG,
            "the host's stdin (always y)",
            Always("y"),
        ),
        run_key(
            Wasi,
            "inherit-stdout",
            FLAG,
            "the host's stdout (always y)",
            Always("y"),
        ),
        run_key(
            Wasi,
            "inherit-stderr",
            FLAG,
            "the host's stderr (always y)",
            Always("y"),
        ),
        run_key(
            Wasi,
            "cli-exit-with-code",
            FLAG,
            "components' exit codes",
            NoEffect,
        ),
        run_key(Wasi, "max-resources", SIZE, "a component limit", NoEffect),
        run_key(
            Wasi,
            "max-component-handles",
            SIZE,
            "a component limit",
            NoEffect,
        ),
        run_key(Wasi, "hostcall-fuel", SIZE, "a component limit", NoEffect),
        run_key(Wasi, "max-random-size", SIZE, "a preview2 limit", NoEffect),
        run_key(
            Wasi,
            "threads",
            FLAG,
            "wasi-threads: `wasi::thread-spawn` for modules that import it (default: y)",
            Set(|s, v| {
                s.wasi_threads = v == "y";
                Ok(())
            }),
        ),
        run_key(
            Wasi,
            "max-threads",
            SIZE,
            "the most wasi-threads running at once, besides the main one (default: 64)",
            Set(|s, v| {
                s.max_threads = u32::try_from(parse_count(v)?)?;
                Ok(())
            }),
        ),
        run_key(Wasi, "http", FLAG, "wasi-http", Never(preview1)),
        run_key(Wasi, "nn", FLAG, "wasi-nn", Never(preview1)),
        run_key(Wasi, "config", FLAG, "wasi-config", Never(preview1)),
        run_key(Wasi, "keyvalue", FLAG, "wasi-keyvalue", Never(preview1)),
        run_key(Wasi, "tls", FLAG, "wasi-tls", Never(preview1)),
        run_key(Wasi, "p3", FLAG, "WASI 0.3", Never(preview1)),
        run_key(
            Codegen,
            "cache",
            FLAG,
            "read and write the compile cache in $XDG_CACHE_HOME/hoist (default: y)",
            Set(|s, v| {
                s.cache = v == "y";
                Ok(())
            }),
        ),
        run_key(
            Codegen,
            "cache-config",
            Shape::Value("PATH"),
            "a wasmtime cache configuration (TOML): its directory, size limit and enabled",
            Set(|s, v| {
                s.cache_config = Some(PathBuf::from(v));
                Ok(())
            }),
        ),
        run_key(
            Codegen,
            "lazy",
            Shape::Value("y|n|auto"),
            "compile a module missing from the cache function by function as it runs, the \
             whole module in the background for the cache (default: auto, for modules with 256 \
             KiB of code or more; the environment's HOIST_LAZY when not given)",
            Set(|s, v| {
                s.lazy = Some(LazyMode::parse(v)?);
                Ok(())
            }),
        ),
        run_key(
            Codegen,
            "baseline",
            Shape::Value("single-pass|cranelift"),
            "the first tier of lazy compilation: hoist's single-pass compiler (integer \
             functions on x86-64; Cranelift compiles the rest), or Cranelift without \
             optimizations (default: single-pass, or the environment's HOIST_BASELINE)",
            Set(|s, v| {
                s.single_pass = Some(match v {
                    "single-pass" => true,
                    "cranelift" => false,
                    other => bail!("-C baseline is single-pass or cranelift, not {other}"),
                });
                Ok(())
            }),
        ),
        key(
            Codegen,
            "parallel-compilation",
            FLAG,
            "compile functions on every core (default: y)",
            Set(|s, v| {
                s.parallel_compilation = v == "y";
                Ok(())
            }),
        ),
        key(
            Codegen,
            "compiler",
            Shape::Value("cranelift"),
            "the optimizing code generator: Cranelift (the only one; -C baseline picks the first tier of lazy compilation)",
            Set(|_, v| match v {
                "cranelift" => Ok(()),
                other => bail!("hoist compiles with Cranelift only, not {other}"),
            }),
        ),
        key(
            Codegen,
            "cranelift-debug-verifier",
            FLAG,
            "run Cranelift's IR verifier on every function (slow)",
            Set(|s, v| {
                s.verify = v == "y";
                Ok(())
            }),
        ),
        key(
            Codegen,
            "inlining",
            FLAG,
            "inline calls between wasm functions (a speed hint)",
            NoEffect,
        ),
        key(
            Codegen,
            "native-unwind-info",
            FLAG,
            "unwind tables for native debuggers (hoist's backtraces follow frame pointers)",
            NoEffect,
        ),
        key(
            Codegen,
            "collector",
            Shape::Value("drc|null|copying"),
            "the GC (hoist has one, copying)",
            NoEffect,
        ),
        key(
            Codegen,
            "metadata-for-internal-asserts",
            FLAG,
            "wasmtime's own checks",
            NoEffect,
        ),
        key(
            Codegen,
            "metadata-for-gc-heap-corruption",
            FLAG,
            "wasmtime's own checks",
            NoEffect,
        ),
        key(
            Optimize,
            "opt-level",
            Shape::Value("0|1|2|s"),
            "0 compiles fastest; 1, 2 (default) and s all optimize for speed",
            Set(|s, v| {
                s.opt_level = opt_level(v)?;
                Ok(())
            }),
        ),
        key(
            Optimize,
            "pooling-max-memory-size",
            SIZE,
            "the most bytes a memory may grow to (as -W max-memory-size; the smaller wins)",
            Set(|s, v| {
                s.pooling.memory_size = Some(crate::size::parse_size(v)?);
                Ok(())
            }),
        ),
        key(
            Optimize,
            "pooling-table-elements",
            SIZE,
            "the most elements a table may grow to (as -W max-table-elements)",
            Set(|s, v| {
                s.pooling.table_elements = Some(parse_count(v)?);
                Ok(())
            }),
        ),
        run_key(
            Optimize,
            "pooling-total-core-instances",
            SIZE,
            "the most instances (as -W max-instances)",
            Set(|s, v| {
                s.pooling.instances = Some(parse_count(v)?);
                Ok(())
            }),
        ),
        run_key(
            Optimize,
            "pooling-total-memories",
            SIZE,
            "the most memories (as -W max-memories)",
            Set(|s, v| {
                s.pooling.memories = Some(parse_count(v)?);
                Ok(())
            }),
        ),
        run_key(
            Optimize,
            "pooling-total-tables",
            SIZE,
            "the most tables (as -W max-tables)",
            Set(|s, v| {
                s.pooling.tables = Some(parse_count(v)?);
                Ok(())
            }),
        ),
        key(
            Optimize,
            "pooling-max-memories-per-module",
            SIZE,
            "a per-module cap of wasmtime's pool",
            NotYet(""),
        ),
        key(
            Optimize,
            "pooling-max-tables-per-module",
            SIZE,
            "a per-module cap of wasmtime's pool",
            NotYet(""),
        ),
        key(
            Optimize,
            "pooling-max-core-instance-size",
            SIZE,
            "a per-instance size cap of wasmtime's pool",
            NotYet(""),
        ),
        key(
            Optimize,
            "static-memory-maximum-size",
            SIZE,
            "with static-memory-forced, a memory size cap",
            NotYet(""),
        ),
        key(
            Optimize,
            "gc-heap-may-move",
            FLAG,
            "n: the GC heap never moves, so gc-heap-reservation caps it (always y)",
            Always("y"),
        ),
        key(
            Optimize,
            "memory-may-move",
            FLAG,
            "n: memories never move, so memory-reservation caps them (always y)",
            Always("y"),
        ),
        run_key(
            Debug,
            "debug-info",
            FLAG,
            "file:line:column in trap backtraces, from the module's DWARF",
            Set(|s, v| {
                s.debug_info = v == "y";
                Ok(())
            }),
        ),
        run_key(
            Debug,
            "coredump",
            Shape::Value("PATH"),
            "write a Wasm core dump to PATH when the guest traps",
            Set(|s, v| {
                s.coredump = Some(PathBuf::from(v));
                Ok(())
            }),
        ),
        run_key(
            Debug,
            "logging",
            FLAG,
            "wasmtime's runtime logging",
            NoEffect,
        ),
        run_key(
            Debug,
            "debugger",
            Shape::Value("PATH"),
            "a debugger to run under",
            NotYet(""),
        ),
        run_key(
            Debug,
            "log-to-files",
            FLAG,
            "wasmtime's runtime logging",
            NoEffect,
        ),
        run_key(
            Debug,
            "address-map",
            FLAG,
            "native-to-wasm address maps (always kept)",
            NoEffect,
        ),
        run_key(
            Debug,
            "max-backtrace",
            SIZE,
            "frames in a trap's backtrace",
            NoEffect,
        ),
        run_key(
            Debug,
            "symbols",
            FLAG,
            "native symbols for profilers",
            NoEffect,
        ),
        run_key(
            Debug,
            "inherit-stdin",
            FLAG,
            "the host's stdin (always y)",
            Always("y"),
        ),
        run_key(
            Debug,
            "inherit-stdout",
            FLAG,
            "the host's stdout (always y)",
            Always("y"),
        ),
        run_key(
            Debug,
            "inherit-stderr",
            FLAG,
            "the host's stderr (always y)",
            Always("y"),
        ),
        run_key(
            Debug,
            "guest-debug",
            FLAG,
            "debugger instrumentation",
            NotYet(""),
        ),
    ]);
    // wasmtime's tuning of its memories, GC heaps and pooling allocator:
    // how it lays things out, not what the guest sees.
    keys.extend(WASMTIME_TUNING.iter().map(|&(name, shape)| Key {
        group: Optimize,
        name,
        shape,
        help: "wasmtime's memory layout and allocator",
        action: NoEffect,
        run_only: false,
    }));
    keys
}

/// wasmtime's `-O` keys that tune its own machinery (see [`Action::NoEffect`]).
pub(super) const WASMTIME_TUNING: &[(&str, Shape)] = &[
    (
        "regalloc-algorithm",
        Shape::Value("backtracking|single-pass"),
    ),
    ("memory-reservation", SIZE),
    ("memory-reservation-for-growth", SIZE),
    ("memory-guard-size", SIZE),
    ("gc-heap-reservation", SIZE),
    ("gc-heap-reservation-for-growth", SIZE),
    ("gc-heap-guard-size", SIZE),
    ("gc-heap-initial-size", SIZE),
    ("guard-before-linear-memory", FLAG),
    ("table-lazy-init", FLAG),
    ("pooling-allocator", FLAG),
    ("pooling-decommit-batch-size", SIZE),
    ("pooling-memory-keep-resident", SIZE),
    ("pooling-table-keep-resident", SIZE),
    ("pooling-memory-protection-keys", Shape::Value("y|n|auto")),
    ("pooling-max-memory-protection-keys", SIZE),
    ("memory-init-cow", FLAG),
    ("memory-guaranteed-dense-image-size", SIZE),
    ("pooling-total-component-instances", SIZE),
    ("pooling-total-stacks", SIZE),
    ("pooling-max-unused-warm-slots", SIZE),
    ("pooling-async-stack-keep-resident", SIZE),
    ("pooling-max-component-instance-size", SIZE),
    ("pooling-max-core-instances-per-component", SIZE),
    ("pooling-max-memories-per-component", SIZE),
    ("pooling-max-tables-per-component", SIZE),
    ("pooling-total-gc-heaps", SIZE),
    ("pooling-pagemap-scan", Shape::Value("y|n|auto")),
    ("signals-based-traps", FLAG),
    ("dynamic-memory-guard-size", SIZE),
    ("static-memory-guard-size", SIZE),
    ("static-memory-forced", FLAG),
    ("dynamic-memory-reserved-for-growth", SIZE),
    ("gc-zeal-alloc-counter", SIZE),
];

/// Records `-S KEY=n` for a kind of network access (see
/// [`Settings::network_off`]).
pub(super) fn network_off(settings: &mut Settings, key: &'static str, value: &str) {
    settings.network_off.retain(|k| *k != key);
    if value == "n" {
        settings.network_off.push(key);
    }
}

/// `-O` levels: wasmtime's (0, 1, 2, s), WasmEdge's `--optimize` (also 3
/// and z) and hoist's own names. Cranelift optimizes for speed at every
/// level but 0, so they all mean the same here.
pub(super) fn opt_level(text: &str) -> Result<OptLevel> {
    match text {
        "0" | "none" => Ok(OptLevel::None),
        "1" | "2" | "3" | "s" | "z" | "speed" => Ok(OptLevel::Speed),
        other => bail!("unknown optimization level `{other}` (0, 1, 2 or s)"),
    }
}

pub(super) fn unknown_imports(settings: &mut Settings, kind: UnknownImports, value: &str) {
    if value == "y" {
        settings.unknown_imports = Some(kind);
    } else if settings.unknown_imports == Some(kind) {
        settings.unknown_imports = None;
    }
}
