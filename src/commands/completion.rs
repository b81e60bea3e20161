//! `hoist completion SHELL`: a completion script for the shell, from
//! hoist's own argument definitions.

use anyhow::Result;
use clap_complete::Shell;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct CompletionArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

pub fn execute(args: CompletionArgs) -> Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut crate::cli_command(), "hoist", &mut script);
    crate::output::print(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}
