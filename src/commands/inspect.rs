//! `hoist inspect`: what an artifact holds.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct InspectArgs {
    /// The artifact (.hwasm) to describe.
    artifact: PathBuf,
}

pub fn execute(args: InspectArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&args.artifact)
        .with_context(|| format!("failed to read `{}`", args.artifact.display()))?;
    let summary = hoist::inspect_artifact(&bytes)
        .with_context(|| format!("cannot inspect `{}`", args.artifact.display()))?;
    crate::output::print(&summary)?;
    Ok(ExitCode::SUCCESS)
}
