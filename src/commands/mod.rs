//! One module per subcommand; each has an `Args` struct and an `execute`.

pub mod cache;
pub mod compile;
pub mod completion;
pub mod inspect;
pub mod net;
pub mod run;
pub mod validate;
pub mod wast;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// Run a WASI command module (.wasm, .wat, or a hoist artifact)
    Run(run::RunArgs),
    /// Compile a module ahead of time to an artifact (.hwasm)
    Compile(compile::CompileArgs),
    /// Show what an artifact holds, or a module's imports, exports and features
    #[command(alias = "objdump", alias = "parse")]
    Inspect(inspect::InspectArgs),
    /// Check that a module is valid WebAssembly, without compiling it
    Validate(validate::ValidateArgs),
    /// Run WebAssembly spec scripts (.wast)
    Wast(wast::WastArgs),
    /// Look at or empty the compile cache
    Cache(cache::CacheArgs),
    /// Print a shell completion script: `hoist completion bash > ~/.local/share/bash-completion/completions/hoist`
    Completion(completion::CompletionArgs),
}

impl Command {
    /// Runs the subcommand; `Err` is a host-side failure, reported by `main`.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Run(args) => run::execute(args),
            Command::Compile(args) => compile::execute(args),
            Command::Inspect(args) => inspect::execute(args),
            Command::Validate(args) => validate::execute(args),
            Command::Wast(args) => wast::execute(args),
            Command::Cache(args) => cache::execute(args),
            Command::Completion(args) => completion::execute(args),
        }
    }
}

/// Other runtimes' flags that hoist has no counterpart for, and what to
/// say instead of clap's plain "unexpected argument".
const FOREIGN_FLAGS: &[(&str, &str)] = &[
    (
        "--enable-time-measuring",
        "hoist keeps no execution statistics (WasmEdge's --enable-*)",
    ),
    (
        "--enable-gas-measuring",
        "hoist keeps no execution statistics (WasmEdge's --enable-*)",
    ),
    (
        "--enable-instruction-count",
        "hoist keeps no execution statistics (WasmEdge's --enable-*)",
    ),
    (
        "--enable-all-statistics",
        "hoist keeps no execution statistics (WasmEdge's --enable-*)",
    ),
    (
        "--run-mode",
        "hoist always compiles to native code (there is no interpreter mode)",
    ),
    (
        "--force-interpreter",
        "hoist always compiles to native code (there is no interpreter)",
    ),
    (
        "--enable-jit",
        "hoist always compiles to native code; leave the flag out",
    ),
    (
        "--wasm-1",
        "hoist has no preset for Wasm 1.0; turn proposals off with -W NAME=n",
    ),
    (
        "--wasm-2",
        "hoist has no preset for Wasm 2.0; turn proposals off with -W NAME=n",
    ),
    (
        "--wasm-3",
        "Wasm 3.0 is hoist's default; leave the flag out",
    ),
    ("--net", "hoist's WASI has no sockets yet"),
    (
        "--entrypoint",
        "hoist runs modules, not Wasmer packages; use --invoke NAME for an export",
    ),
    (
        "--config",
        "hoist has no configuration file; use -W, -S, -C, -O and -D",
    ),
];

/// Reports a usage error from clap, exit status 2 (`--help` and
/// `--version` print to stdout and exit 0). Drops clap's tip to pass an
/// unknown option after `--`, which is wrong here: after `--` comes the
/// module, so the option would still not reach hoist.
pub fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let text = error.render().to_string();
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        return match crate::output::print(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => failure(&err),
        };
    }
    let mut lines: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("tip: to pass") {
            // and the blank line clap put before it
            if lines.last().is_some_and(|l| l.trim().is_empty()) {
                lines.pop();
            }
            continue;
        }
        lines.push(line);
    }
    let mut message = lines.join("\n");
    if let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) {
        let flag = arg.split('=').next().unwrap_or(arg);
        if let Some((_, why)) = FOREIGN_FLAGS.iter().find(|(f, _)| *f == flag) {
            message = message.replacen('\n', &format!("\n  note: {flag}: {why}\n"), 1);
        }
    }
    crate::output::eprintln(message.trim_end());
    ExitCode::from(2)
}

/// Prints `error: <msg>` and one `  caused by: <cause>` line per cause, to stderr.
pub fn print_error(err: &anyhow::Error) {
    crate::output::eprintln(format_args!("error: {err}"));
    for cause in err.chain().skip(1) {
        crate::output::eprintln(format_args!("  caused by: {cause}"));
    }
}

/// The exit status for a host-side failure, after reporting it: a closed
/// stdout ends hoist quietly (see [`crate::output`]), anything else is
/// `error: ...` and 1.
pub fn failure(err: &anyhow::Error) -> ExitCode {
    if crate::output::is_stdout_closed(err) {
        return ExitCode::from(crate::output::STDOUT_CLOSED_STATUS);
    }
    print_error(err);
    ExitCode::FAILURE
}
