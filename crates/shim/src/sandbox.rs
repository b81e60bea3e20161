//! The container's process: `run_wasi` is called by `containerd-shim-wasm`
//! in the container (PID 1 of its PID namespace, root switched to the
//! container's root file system, stdio the container's, cwd the spec's).

use crate::guest::{self, Guest};
use crate::mounts;
use anyhow::{bail, Result};
use containerd_shim_wasm::sandbox::context::{Entrypoint, RuntimeContext, Source};
use containerd_shim_wasm::sandbox::Sandbox;
use tokio::signal::unix::{signal, SignalKind};

/// Runs one container's module with hoist.
#[derive(Default)]
pub struct HoistSandbox;

/// Stack of the thread the guest runs on (the main thread's usual 8 MiB;
/// hoist gives wasm 512 KiB of it by default).
const GUEST_STACK: usize = 8 << 20;

impl Sandbox for HoistSandbox {
    async fn run_wasi(&self, ctx: &impl RuntimeContext) -> Result<i32> {
        let guest = match prepare(ctx) {
            Ok(guest) => guest,
            Err(e) => {
                guest::report(&e);
                return Ok(1);
            }
        };
        // PID 1 of a PID namespace ignores signals it has no handler for:
        // without these, `ctr task kill` (SIGTERM) would do nothing. They
        // end the container with 128 + the signal, as a process killed by
        // it would.
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let (done, finished) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("hoist-guest".into())
            .stack_size(GUEST_STACK)
            .spawn(move || {
                let _ = done.send(guest.run());
            })?;
        let status = tokio::select! {
            status = finished => status.unwrap_or(1),
            _ = term.recv() => 128 + SignalKind::terminate().as_raw_value(),
            _ = int.recv() => 128 + SignalKind::interrupt().as_raw_value(),
            _ = hup.recv() => 128 + SignalKind::hangup().as_raw_value(),
        };
        log::info!("hoist: the guest ended with status {status}");
        Ok(status)
    }

    async fn can_handle(&self, ctx: &impl RuntimeContext) -> Result<()> {
        let source = ctx.entrypoint().source;
        if let Source::File(path) = &source {
            let bytes = source.as_bytes()?;
            if bytes.starts_with(b"\0asm") {
                return Ok(());
            }
            if hoist::is_artifact(&bytes) {
                if hoist_artifact::module_wasm(&bytes).is_none() {
                    bail!(
                        "`{}` is a native executable without execute permission, not WebAssembly",
                        path.display()
                    );
                }
                return Ok(());
            }
            wat::parse_bytes(&bytes).map_err(|e| {
                anyhow::anyhow!(
                    "`{}` is neither WebAssembly nor a hoist artifact: {e}",
                    path.display()
                )
            })?;
        }
        Ok(())
    }
}

/// The guest for this container: its module, argv, environment and
/// directories.
fn prepare(ctx: &impl RuntimeContext) -> Result<Guest> {
    let Entrypoint { func, source, .. } = ctx.entrypoint();
    let module = match &source {
        Source::Oci([layer]) => layer.layer.clone(),
        Source::Oci(layers) => bail!(
            "the image has {} Wasm layers; hoist runs one module",
            layers.len()
        ),
        Source::File(_) => source.as_bytes()?.into_owned(),
    };
    let mut argv = ctx.args().to_vec();
    // `path#function` names the function to call; the guest sees the path.
    if let Some(first) = argv.first_mut() {
        if let Some((path, _)) = first.split_once('#') {
            *first = path.to_string();
        }
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    Ok(Guest {
        module,
        func,
        argv,
        env: ctx.envs().to_vec(),
        preopens: mounts::preopens(&mountinfo),
    })
}
