//! One module per subcommand; each has an `Args` struct and an `execute`.

pub mod cache;
pub mod compile;
pub mod inspect;
pub mod net;
pub mod run;
pub mod wast;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// Run a WASI command module (.wasm, .wat, or a hoist artifact)
    Run(run::RunArgs),
    /// Compile a module ahead of time to an artifact (.hwasm)
    Compile(compile::CompileArgs),
    /// Show what an artifact holds: version, target, flags, functions, sections
    Inspect(inspect::InspectArgs),
    /// Run WebAssembly spec scripts (.wast)
    Wast(wast::WastArgs),
    /// Look at or empty the compile cache
    Cache(cache::CacheArgs),
}

impl Command {
    /// Runs the subcommand; `Err` is a host-side failure, reported by `main`.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Run(args) => run::execute(args),
            Command::Compile(args) => compile::execute(args),
            Command::Inspect(args) => inspect::execute(args),
            Command::Wast(args) => wast::execute(args),
            Command::Cache(args) => cache::execute(args),
        }
    }
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
