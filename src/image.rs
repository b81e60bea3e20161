//! `hoist run --image PATH`: an OCI image (a layout directory, or an
//! archive from `docker save` or `skopeo copy ... oci-archive:`) run as the
//! containerd shim runs it. The image is unpacked into a temporary root
//! file system (see `hoist-oci`), and its config becomes a plain run's
//! arguments: the module, argv (ARGS replace the image's Cmd), `--env`
//! entries before the given ones, and the root file system as a `--dir`
//! for guest `/` before the given ones. The working directory only places
//! a relative entrypoint: WASI preview 1 has no working directory.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::Path;

/// What must outlive the run: the temporary root file system, removed
/// when this is dropped.
pub struct ImageRun {
    _image: hoist_oci::Unpacked,
}

/// Unpacks the image at `path` and rewrites a run's MODULE and ARGS
/// (`module_and_args`, which holds only ARGS on entry), `--argv0`, `--env`
/// and `--dir` for it.
pub fn apply(
    path: &Path,
    module_and_args: &mut Vec<OsString>,
    argv0: &mut Option<OsString>,
    envs: &mut Vec<OsString>,
    dirs: &mut Vec<String>,
) -> Result<ImageRun> {
    let context = || format!("cannot run the image `{}`", path.display());
    let image = hoist_oci::unpack(path, &hoist_oci::Limits::default()).with_context(context)?;
    let command = image.command(module_and_args).with_context(context)?;
    check_module(&command).with_context(context)?;
    let root = image.root();
    let Some(root_text) = root.to_str().filter(|r| !r.contains("::")) else {
        bail!(
            "the temporary directory `{}` cannot be passed as a preopen; set TMPDIR to a plain path",
            root.display()
        );
    };
    dirs.insert(0, format!("{root_text}::/"));
    let mut image_envs: Vec<OsString> = image
        .env()
        .iter()
        .filter(|e| e.contains('='))
        .map(OsString::from)
        .collect();
    image_envs.append(envs);
    *envs = image_envs;
    let mut argv = command.argv.into_iter();
    let image_argv0 = argv.next();
    if argv0.is_none() {
        *argv0 = image_argv0;
    }
    *module_and_args = std::iter::once(command.module.into_os_string())
        .chain(argv)
        .collect();
    Ok(ImageRun { _image: image })
}

/// Refuses an entrypoint that is a native program: this is not a Wasm
/// image. (An ELF file that is a hoist artifact is left to `hoist run`'s
/// rules for artifacts.)
fn check_module(command: &hoist_oci::Command) -> Result<()> {
    let bytes = crate::input::read_module(&command.module, &command.module_in_image)
        .context("cannot read the entrypoint")?;
    let native = if bytes.starts_with(b"#!") {
        Some("a script (`#!`)")
    } else if hoist::is_artifact(&bytes) && hoist_artifact::module_wasm(&bytes).is_none() {
        Some("a native executable (ELF)")
    } else {
        None
    };
    if let Some(what) = native {
        bail!(
            "the image's entrypoint `{}` is {what}, not WebAssembly: this is not a Wasm image",
            command.module_in_image
        );
    }
    Ok(())
}
