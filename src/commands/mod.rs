//! One module per subcommand; each has an `Args` struct and an `execute`.

pub mod run;
pub mod wast;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// Run a WASI command module (.wasm or .wat)
    Run(run::RunArgs),
    /// Run WebAssembly spec scripts (.wast)
    Wast(wast::WastArgs),
}

impl Command {
    /// Runs the subcommand; `Err` is a host-side failure, reported by `main`.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Run(args) => run::execute(args),
            Command::Wast(args) => wast::execute(args),
        }
    }
}

/// Prints `error: <msg>` and one `  caused by: <cause>` line per cause, to stderr.
pub fn print_error(err: &anyhow::Error) {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
