//! Running the container's module with hoist and WASI, as `hoist run`
//! does: the start function, `_initialize` if exported, then the
//! entrypoint's function (`_start` unless the entrypoint names another).

use crate::compiler::Stored;
use crate::mounts::Preopen;
use anyhow::{bail, Context, Result};
use hoist::{Engine, Linker, Module, Store, Trap, Val};
use hoist_wasi::{I32Exit, WasiCtx, WasiCtxBuilder};

/// Exit status after a trap or an uncaught exception: 128 + SIGABRT, as
/// `hoist run` (and a native abort()).
pub const TRAP_EXIT_STATUS: i32 = 134;

/// Everything the guest gets.
pub struct Guest {
    /// The module: a binary, text, a hoist artifact, or a [`Stored`] blob.
    pub module: Vec<u8>,
    /// The function to call after instantiation.
    pub func: String,
    /// argv, `argv[0]` first.
    pub argv: Vec<String>,
    /// `NAME=VALUE` entries.
    pub env: Vec<String>,
    /// Directories, `/` first.
    pub preopens: Vec<Preopen>,
}

struct Host {
    wasi: WasiCtx,
}

impl Guest {
    /// Runs the guest to its end and returns the container's exit status;
    /// errors are reported on stderr (the container's), as `hoist run`
    /// reports them.
    pub fn run(self) -> i32 {
        exit_status(self.run_to_end())
    }

    fn run_to_end(self) -> Result<()> {
        let engine = Engine::new(&hoist::Config::default())?;
        let module = load(&engine, &self.module)?;
        let mut wasi = WasiCtxBuilder::new();
        wasi.args(&self.argv);
        for entry in &self.env {
            match entry.split_once('=') {
                Some((name, value)) => wasi.env(name, value),
                None => wasi.env(entry.as_str(), ""),
            };
        }
        for preopen in &self.preopens {
            wasi.preopen_dir(&preopen.host, preopen.guest.clone(), preopen.read_only)
                .with_context(|| format!("cannot give the guest `{}`", preopen.guest))?;
        }
        let mut store = Store::new(&engine, Host { wasi: wasi.build() });
        let mut linker = Linker::new(&engine);
        hoist_wasi::add_to_linker(&mut linker, &mut store, |host| &mut host.wasi)?;
        hoist_wasi::snapshot0::add_to_linker(&mut linker, &mut store, |host| &mut host.wasi)?;
        // Instantiating runs the start function, if any.
        let instance = linker
            .instantiate(&mut store, &module)
            .context("failed to instantiate the module")?;
        if let Some(init) = instance.get_func(&mut store, "_initialize") {
            init.call(&mut store, &[], &mut [])?;
        }
        let Some(func) = instance.get_func(&mut store, &self.func) else {
            if self.func == "_start" {
                // A reactor, or a module with only a start function: done.
                return Ok(());
            }
            bail!("the module exports no function `{}`", self.func);
        };
        let ty = func.ty(&store);
        if !ty.params().is_empty() {
            bail!(
                "`{}` takes parameters (its type is {ty}); an entrypoint takes none",
                self.func
            );
        }
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        func.call(&mut store, &[], &mut results)
    }
}

/// Compiles or loads the module.
///
/// A [`Stored`] blob is what this shim compiled and containerd kept: its
/// artifact runs if this engine accepts it (same hoist build, target, CPU
/// features, settings); otherwise its module is compiled again, and the
/// artifact is never run. A bare hoist artifact is the image's own
/// precompiled module (a `.hwasm` entrypoint or layer): native code, as
/// much the image's own program as a native executable would be; it runs
/// after the same checks, and cannot be recompiled (an artifact does not
/// hold all of its module).
pub fn load(engine: &Engine, bytes: &[u8]) -> Result<Module> {
    if let Some(stored) = Stored::parse(bytes) {
        return match Module::deserialize(engine, stored.artifact) {
            Ok(module) => Ok(module),
            Err(e) => {
                log::warn!("hoist: recompiling the module, the stored artifact cannot run: {e:#}");
                Module::new(engine, stored.wasm).context("failed to compile the module")
            }
        };
    }
    if hoist::is_artifact(bytes) {
        return Module::deserialize(engine, bytes)
            .context("the image's precompiled module (a hoist artifact) cannot run here; ship the .wasm, or compile it with this build of hoist");
    }
    Module::new(engine, bytes).context("failed to compile the module")
}

/// The exit status for how the guest ended, after reporting errors.
pub fn exit_status(outcome: Result<()>) -> i32 {
    let error = match outcome {
        Ok(()) => return 0,
        Err(error) => error,
    };
    if let Some(I32Exit(code)) = error.downcast_ref::<I32Exit>() {
        if (0..=255).contains(code) {
            return *code;
        }
        eprintln!(
            "error: the guest exited with status {code}, which is not a process exit status (0 to 255)"
        );
        return 1;
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        eprintln!("error: wasm trap: {trap}");
        print_frames(trap.frames());
        return TRAP_EXIT_STATUS;
    }
    if let Some(exception) = error.downcast_ref::<hoist::WasmException>() {
        eprintln!("error: {exception}");
        print_frames(exception.frames());
        return TRAP_EXIT_STATUS;
    }
    report(&error);
    1
}

/// Prints `error: ...` and its causes on stderr.
pub fn report(error: &anyhow::Error) {
    log::error!("hoist: {error:#}");
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// A wasm backtrace, at most 32 frames.
fn print_frames(frames: &[hoist::FrameInfo]) {
    if frames.is_empty() {
        return;
    }
    eprintln!("wasm backtrace:");
    for (i, frame) in frames.iter().take(32).enumerate() {
        eprintln!("  {i:>3}: {frame}");
    }
    if frames.len() > 32 {
        eprintln!("       ... {} more frames", frames.len() - 32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = r#"(module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "data segment")
        (func (export "_start") (call $exit (i32.const 7))))"#;

    fn guest(module: Vec<u8>) -> Guest {
        Guest {
            module,
            func: "_start".into(),
            argv: vec!["/app.wasm".into()],
            env: vec![],
            preopens: vec![],
        }
    }

    #[test]
    fn text_binary_and_stored_modules_run() {
        let engine = Engine::new(&hoist::Config::default()).unwrap();
        let wasm = wat::parse_str(HELLO).unwrap();
        let artifact = engine.precompile_module(&wasm).unwrap();
        assert_eq!(guest(HELLO.as_bytes().to_vec()).run(), 7);
        assert_eq!(guest(wasm.clone()).run(), 7);
        assert_eq!(guest(artifact.clone()).run(), 7);
        assert_eq!(guest(Stored::encode(&wasm, &artifact)).run(), 7);
    }

    /// An artifact made by another hoist build (another build id) is
    /// refused by the engine: as a stored blob the module is recompiled
    /// from its copy, bare it is an error; it never runs.
    #[test]
    fn artifacts_of_another_build_never_run() {
        let engine = Engine::new(&hoist::Config::default()).unwrap();
        // The artifact's code traps at once; the module beside it exits 7.
        let trapping = wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#,
        )
        .unwrap();
        let artifact = engine.precompile_module(&trapping).unwrap();
        let mut foreign = hoist_artifact_with_build_id(&artifact, "another-build");
        assert!(Module::deserialize(&engine, &foreign).is_err());
        let wasm = wat::parse_str(HELLO).unwrap();
        assert_eq!(guest(Stored::encode(&wasm, &foreign)).run(), 7);
        assert_eq!(guest(foreign.clone()).run(), 1);
        // The same bytes with this build's id would run (and trap): the
        // refusal above is the build id's doing.
        foreign = hoist_artifact_with_build_id(&foreign, &engine.info().build_id);
        assert_eq!(
            guest(Stored::encode(&wasm, &foreign)).run(),
            TRAP_EXIT_STATUS
        );
    }

    fn hoist_artifact_with_build_id(image: &[u8], build_id: &str) -> Vec<u8> {
        let mut artifact = hoist_artifact::OwnedArtifact::decode(image).unwrap();
        artifact.engine.build_id = build_id.to_string();
        artifact.encode().unwrap()
    }

    #[test]
    fn exit_statuses() {
        assert_eq!(exit_status(Ok(())), 0);
        assert_eq!(exit_status(Err(I32Exit(42).into())), 42);
        assert_eq!(exit_status(Err(I32Exit(256).into())), 1);
        assert_eq!(exit_status(Err(I32Exit(-1).into())), 1);
        assert_eq!(exit_status(Err(anyhow::anyhow!("no"))), 1);
    }
}
