//! Other runtimes' spellings of the keys: WasmEdge's and wasmer's long
//! flags (`--enable-simd`, `--gas-limit`, ...), each naming a key.

use super::*;

/// A long flag that is another spelling of a key.
pub(super) struct Alias {
    pub(super) long: String,
    /// The clap id (`alias-LONG`), made once.
    pub(super) id: String,
    pub(super) group: Group,
    pub(super) key: &'static str,
    pub(super) value: AliasValue,
    /// Its line in `--help`; hidden when `None` (other runtimes' spellings
    /// are in the README's table and in `-X help`).
    pub(super) help: Option<&'static str>,
}

pub(super) enum AliasValue {
    /// A flag that sets the key to this value.
    Fixed(&'static str),
    /// Takes a value, turned into the key's value.
    Takes(&'static str, fn(&str) -> Result<String>),
}

pub(super) fn aliases() -> &'static [Alias] {
    static ALIASES: std::sync::LazyLock<Vec<Alias>> = std::sync::LazyLock::new(build_aliases);
    &ALIASES
}

pub(super) fn build_aliases() -> Vec<Alias> {
    use AliasValue::*;
    use Group::*;
    let alias = |long: &str, group, key, value, help| Alias {
        long: long.to_string(),
        id: alias_id(long),
        group,
        key,
        value,
        help,
    };
    let mut aliases = Vec::new();
    // WasmEdge's and wasmer's proposal switches.
    for (name, _, others, _) in FEATURES {
        for spelling in std::iter::once(name).chain(others.iter()) {
            aliases.push(alias(
                &format!("enable-{spelling}"),
                Wasm,
                name,
                Fixed("y"),
                None,
            ));
            aliases.push(alias(
                &format!("disable-{spelling}"),
                Wasm,
                name,
                Fixed("n"),
                None,
            ));
        }
    }
    aliases.extend([
        alias("enable-all", Wasm, "all-proposals", Fixed("y"), None),
        // hoist's own older spelling (`hoist wast --multi-memory`).
        alias("multi-memory", Wasm, "multi-memory", Fixed("y"), None),
        alias(
            "enable-component",
            Wasm,
            "component-model",
            Fixed("y"),
            None,
        ),
        alias(
            "max-wasm-stack",
            Wasm,
            "max-wasm-stack",
            Takes("SIZE", |v| Ok(v.to_string())),
            Some("Native stack wasm may use per call, e.g. 8MiB (-W max-wasm-stack)"),
        ),
        // wasmer
        alias(
            "stack-size",
            Wasm,
            "max-wasm-stack",
            Takes("SIZE", |v| Ok(v.to_string())),
            None,
        ),
        // hoist's own spellings of the limits.
        alias(
            "timeout",
            Wasm,
            "timeout",
            Takes("DURATION", |v| Ok(v.to_string())),
            Some("Stop the guest after this long, e.g. 10s or 500ms (-W timeout)"),
        ),
        alias(
            "fuel",
            Wasm,
            "fuel",
            Takes("N", |v| Ok(v.to_string())),
            Some("Stop the guest after N units of fuel, one per operator (-W fuel)"),
        ),
        alias(
            "max-memory-size",
            Wasm,
            "max-memory-size",
            Takes("SIZE", |v| Ok(v.to_string())),
            Some("The most bytes any memory may grow to, e.g. 64MiB (-W max-memory-size)"),
        ),
        alias(
            "max-gc-heap",
            Wasm,
            "max-gc-heap",
            Takes("SIZE", |v| Ok(v.to_string())),
            Some("The most bytes of GC objects the guest may keep alive, e.g. 256MiB (-W max-gc-heap)"),
        ),
        alias(
            "max-table-elements",
            Wasm,
            "max-table-elements",
            Takes("N", |v| Ok(v.to_string())),
            Some("The most elements any table may grow to (-W max-table-elements)"),
        ),
        alias(
            "trap-on-grow-failure",
            Wasm,
            "trap-on-grow-failure",
            Fixed("y"),
            Some("Trap when memory.grow or table.grow fails (-W trap-on-grow-failure)"),
        ),
        // WasmEdge's limits: milliseconds, gas, 64 KiB pages.
        alias(
            "time-limit",
            Wasm,
            "timeout",
            Takes("MS", |v| Ok(format!("{v}ms"))),
            None,
        ),
        alias(
            "gas-limit",
            Wasm,
            "fuel",
            Takes("N", |v| Ok(v.to_string())),
            None,
        ),
        alias(
            "memory-page-limit",
            Wasm,
            "max-memory-size",
            Takes("PAGES", |v| {
                let pages: u64 = v.parse().map_err(|_| anyhow!("not a page count"))?;
                Ok((pages << 16).to_string())
            }),
            None,
        ),
        alias(
            "inherit-env",
            Wasi,
            "inherit-env",
            Fixed("y"),
            Some("Give the guest the whole host environment (-S inherit-env)"),
        ),
        alias("forward-host-env", Wasi, "inherit-env", Fixed("y"), None),
        alias(
            "max-threads",
            Wasi,
            "max-threads",
            Takes("N", |v| Ok(v.to_string())),
            Some("The most wasi-threads running at once (-S max-threads, default 64)"),
        ),
        // wasmer: all networking.
        alias("net", Wasi, "inherit-network", Fixed("y"), None),
        alias(
            "no-cache",
            Codegen,
            "cache",
            Fixed("n"),
            Some("Do not read or write the compile cache (-C cache=n)"),
        ),
        alias("disable-cache", Codegen, "cache", Fixed("n"), None),
        alias("cranelift", Codegen, "compiler", Fixed("cranelift"), None),
        alias("singlepass", Codegen, "compiler", Fixed("singlepass"), None),
        alias("llvm", Codegen, "compiler", Fixed("llvm"), None),
        alias(
            "opt-level",
            Optimize,
            "opt-level",
            Takes("LEVEL", |v| Ok(v.to_string())),
            Some("Optimization level: 0 (compile fastest), 1, 2 (default) or s (-O opt-level)"),
        ),
        alias("debug-info", Debug, "debug-info", Fixed("y"), None),
        alias(
            "coredump-on-trap",
            Debug,
            "coredump",
            Takes("PATH", |v| Ok(v.to_string())),
            None,
        ),
    ]);
    aliases
}
