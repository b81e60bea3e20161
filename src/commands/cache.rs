//! `hoist cache info|clean`: look at or empty the compile cache.

use crate::cache::{Cache, CachePaths};
use anyhow::{Context, Result};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Where the cache is, how many entries it holds and how large it is
    Info,
    /// Remove every cached compilation (the key stays)
    Clean,
}

pub fn execute(args: CacheArgs) -> Result<ExitCode> {
    let paths = CachePaths::from_env()
        .context("no cache directory: neither XDG_CACHE_HOME nor HOME is set")?;
    let cache = Cache::open(&paths).context("the compile cache cannot be used")?;
    match args.action {
        Action::Info => crate::output::print(&cache.describe())?,
        Action::Clean => {
            let (entries, bytes) = cache.clean();
            crate::output::print(&format!("removed {entries} entries ({bytes} bytes)\n"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
