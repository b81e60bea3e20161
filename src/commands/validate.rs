//! `hoist validate`: whether a module is valid WebAssembly with the
//! features hoist (or `-W`) allows, without compiling it.

use crate::options::{Resolved, Scope, SettingsArgs, COMPILE};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ValidateArgs {
    /// The module (.wasm or .wat).
    module: PathBuf,

    #[command(flatten)]
    settings: SettingsArgs<COMPILE>,
}

pub fn execute(args: ValidateArgs) -> Result<ExitCode> {
    let settings = match args.settings.resolve()? {
        Resolved::Help(group) => {
            crate::output::print(&crate::options::help(group, Scope::Compile))?;
            return Ok(ExitCode::SUCCESS);
        }
        Resolved::Settings(settings) => *settings,
    };
    let name = args.module.display().to_string();
    let bytes = crate::input::read_module(&args.module, &name)?;
    crate::identify::check_not_foreign_elf(&name, &bytes)?;
    let wasm = if bytes.starts_with(b"\0asm") {
        crate::identify::check_wasm_header(&bytes).with_context(|| format!("`{name}`"))?;
        bytes
    } else if hoist::is_artifact(&bytes) {
        anyhow::bail!("`{name}` is a compiled hoist artifact, not a WebAssembly module");
    } else {
        crate::identify::wat_to_wasm(&args.module, &name, &bytes)?
    };
    wasmparser::Validator::new_with_features(settings.features)
        .validate_all(&wasm)
        .with_context(|| format!("`{name}` is not valid WebAssembly"))?;
    crate::output::print(&format!("{name}: valid\n"))?;
    Ok(ExitCode::SUCCESS)
}
