//! `hoist wast`: run .wast spec scripts and report the directives that fail.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct WastArgs {
    /// Print only the final `N passed, M failed` line, not each failure
    #[arg(short, long)]
    quiet: bool,

    /// CPU features compiled code may use: `native` (this machine's) or `baseline` (the
    /// architecture's minimum, e.g. plain SSE2 on x86_64)
    #[arg(long, value_name = "native|baseline", default_value = "native")]
    cpu: String,

    #[command(flatten)]
    settings: crate::options::SettingsArgs<{ crate::options::WAST }>,

    /// The .wast scripts to run, each in a fresh store
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// Prints `file:line:col: message` per failed directive, then the totals.
/// A script that cannot be read or parsed counts as one failure.
pub fn execute(args: WastArgs) -> Result<ExitCode> {
    let settings = match args.settings.resolve()? {
        crate::options::Resolved::Help(group) => {
            crate::output::print(&crate::options::help(group, crate::options::Scope::Wast))?;
            return Ok(ExitCode::SUCCESS);
        }
        crate::options::Resolved::Settings(settings) => settings,
    };
    settings.apply_process_wide();
    let mut config = settings.config();
    config.cpu(match args.cpu.as_str() {
        "native" => hoist::Cpu::Native,
        "baseline" => hoist::Cpu::Baseline,
        other => anyhow::bail!("--cpu {other}: expected `native` or `baseline`"),
    });
    let engine = hoist::Engine::new(&config)?;
    let mut out = io::stdout().lock();
    let (mut passed, mut failed) = (0, 0);
    for file in &args.files {
        let name = file.display().to_string();
        let report = crate::input::read_text(file, &name, crate::input::MAX_MODULE_SIZE)
            .and_then(|text| hoist_wast::run_str_with(&engine, &name, &text));
        match report {
            Ok(report) => {
                passed += report.passed;
                failed += report.failed.len();
                if !args.quiet {
                    for failure in &report.failed {
                        let line = format!("{}:{failure}", file.display());
                        writeln!(out, "{}", crate::output::escape_controls(&line))
                            .map_err(crate::output::stdout_error)?;
                    }
                }
            }
            Err(err) => {
                failed += 1;
                out.flush().map_err(crate::output::stdout_error)?;
                super::print_error(&err);
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed").map_err(crate::output::stdout_error)?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
