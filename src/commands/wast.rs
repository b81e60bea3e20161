//! `hoist wast`: run .wast spec scripts and report the directives that fail.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

#[derive(Args)]
pub struct WastArgs {
    /// Print only the final `N passed, M failed` line, not each failure
    #[arg(short, long)]
    quiet: bool,

    /// The .wast scripts to run, each in a fresh store
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// Prints `file:line:col: message` per failed directive, then the totals.
/// A script that cannot be read or parsed counts as one failure.
pub fn execute(args: WastArgs) -> Result<ExitCode> {
    let mut out = io::stdout().lock();
    let (mut passed, mut failed) = (0, 0);
    for file in &args.files {
        match hoist_wast::run_file(file) {
            Ok(report) => {
                passed += report.passed;
                failed += report.failed.len();
                if !args.quiet {
                    for failure in &report.failed {
                        writeln!(out, "{}:{failure}", file.display())
                            .context("failed to write to stdout")?;
                    }
                }
            }
            Err(err) => {
                failed += 1;
                out.flush().context("failed to write to stdout")?;
                super::print_error(&err);
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed").context("failed to write to stdout")?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
