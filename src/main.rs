//! The `hoist` command line: parse the arguments, run one subcommand.

mod backtrace;
mod cache;
mod commands;
mod entry;
mod image;
mod key;
mod output;
mod size;

use std::process::ExitCode;

use clap::Parser;

/// A standalone WebAssembly runtime.
#[derive(Parser)]
#[command(name = "hoist", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: commands::Command,
}

fn main() -> ExitCode {
    // Usage errors exit 2 inside `parse`.
    let cli = Cli::parse();
    match cli.command.execute() {
        Ok(code) => code,
        Err(err) => commands::failure(&err),
    }
}
