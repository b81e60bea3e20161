//! `hoist compile`: ahead-of-time compile a module to an artifact.

use crate::options::{Resolved, Scope, SettingsArgs, COMPILE};
use anyhow::{anyhow, bail, Context, Result};
use hoist::{Cpu, Engine};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use target_lexicon::Triple;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  hoist compile app.wasm                 writes app.hwasm
  hoist compile app.wasm -o out.hwasm    (or `hoist compile app.wasm out.hwasm`, as WasmEdge)
  hoist compile --target aarch64-unknown-linux-gnu app.wasm")]
pub struct CompileArgs {
    /// The module to compile (.wasm or .wat).
    module: PathBuf,

    /// Where to write the artifact, as WasmEdge's `compile IN OUT` (the same as `-o OUT`).
    #[arg(value_name = "OUT", conflicts_with = "output")]
    output_positional: Option<PathBuf>,

    /// Where to write the artifact (default: the module's name with the `.hwasm` extension).
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,

    /// Target triple: x86_64-, aarch64- or riscv64gc-unknown-linux-gnu (default: this machine).
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,

    /// CPU features the code may use: `native` (this machine's) or `baseline` (any CPU of the
    /// architecture; always used for other targets).
    #[arg(long, value_name = "native|baseline", default_value = "native")]
    cpu: String,

    #[command(flatten)]
    settings: SettingsArgs<COMPILE>,
}

pub fn execute(args: CompileArgs) -> Result<ExitCode> {
    let settings = match args.settings.resolve()? {
        Resolved::Help(group) => {
            crate::output::print(&crate::options::help(group, Scope::Compile))?;
            return Ok(ExitCode::SUCCESS);
        }
        Resolved::Settings(settings) => *settings,
    };
    settings.apply_process_wide();
    let mut config = settings.config();
    config.cpu(match args.cpu.as_str() {
        "native" => Cpu::Native,
        "baseline" => Cpu::Baseline,
        other => return Err(anyhow!("--cpu {other}: expected `native` or `baseline`")),
    });
    if let Some(target) = &args.target {
        config.target(runnable_target(target)?);
    }
    let engine = Engine::new(&config)?;
    let name = args.module.display().to_string();
    let bytes = crate::input::read_module(&args.module, &name)?;
    crate::identify::check_not_foreign_elf(&name, &bytes)?;
    let wasm = if hoist::is_artifact(&bytes) {
        bail!("`{name}` is already a compiled hoist artifact");
    } else if bytes.starts_with(b"\0asm") {
        crate::identify::check_wasm_header(&bytes)
            .with_context(|| format!("cannot compile `{name}`"))?;
        bytes
    } else {
        crate::identify::wat_to_wasm(&args.module, &name, &bytes)?
    };

    let started = Instant::now();
    let progress = Progress::start(&name);
    let image = engine
        .precompile_module(&wasm)
        .with_context(|| format!("failed to compile `{name}`"));
    progress.finish(started.elapsed());
    let mut image = image?;
    // Sealed with the local key, `hoist run` knows this user compiled it.
    match crate::key::local_key() {
        Ok(key) => hoist_artifact::seal(&mut image, &key, ARTIFACT_SEAL_CONTEXT),
        Err(e) => crate::output::eprintln(format_args!(
            "warning: the artifact is not sealed ({e:#}); `hoist run` will need --allow-precompiled"
        )),
    }

    let output = args
        .output
        .or(args.output_positional)
        .unwrap_or_else(|| args.module.with_extension("hwasm"));
    write_atomically(&output, &image)
        .with_context(|| format!("failed to write `{}`", output.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// `--target`, if hoist can run code for it: Linux on x86_64, aarch64 or
/// riscv64. Anything else would make an artifact no hoist can load.
fn runnable_target(text: &str) -> Result<Triple> {
    use target_lexicon::{Architecture, OperatingSystem};
    let triple: Triple = text.parse().map_err(|e| anyhow!("--target {text}: {e}"))?;
    let arch_ok = matches!(
        triple.architecture,
        Architecture::X86_64 | Architecture::Aarch64(_) | Architecture::Riscv64(_)
    );
    if !arch_ok || triple.operating_system != OperatingSystem::Linux {
        bail!(
            "--target {text}: hoist runs artifacts only on Linux, for x86_64, aarch64 or riscv64 \
             (x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, riscv64gc-unknown-linux-gnu)"
        );
    }
    Ok(triple)
}

/// What the local key's seal on a `hoist compile` artifact is bound to.
pub const ARTIFACT_SEAL_CONTEXT: &[u8] = b"hoist compile artifact";

/// Writes through a temporary file and a rename, so nobody sees half a file.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // A new file or nothing: never follow or reuse what is already there.
    let _ = std::fs::remove_file(&temp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)?;
    std::io::Write::write_all(&mut file, bytes)?;
    drop(file);
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// A "compiling..." line on stderr when compilation takes more than a second.
pub struct Progress {
    done: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<bool>,
}

impl Progress {
    /// The same line for `hoist run`'s first compile, only when stderr is
    /// a terminal (a script's stderr stays the guest's).
    pub fn start_on_terminal(name: &str) -> Option<Progress> {
        std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| Progress::start(name))
    }

    pub fn start(name: &str) -> Progress {
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let name = name.to_string();
        let thread = std::thread::spawn(move || match wait.recv_timeout(Duration::from_secs(1)) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                crate::output::eprintln(format_args!("compiling {name} ..."));
                true
            }
            _ => false,
        });
        Progress { done, thread }
    }

    pub fn finish(self, elapsed: Duration) {
        let _ = self.done.send(());
        if self.thread.join().unwrap_or(false) {
            crate::output::eprintln(format_args!("compiled in {:.1} s", elapsed.as_secs_f64()));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_targets_hoist_runs() {
        for ok in [
            "x86_64-unknown-linux-gnu",
            "aarch64-unknown-linux-gnu",
            "riscv64gc-unknown-linux-gnu",
            "x86_64-unknown-linux-musl",
        ] {
            assert!(super::runnable_target(ok).is_ok(), "{ok}");
        }
        for bad in [
            "x86_64-apple-darwin",
            "aarch64-pc-windows-msvc",
            "wasm32-wasip1",
            "i686-unknown-linux-gnu",
            "s390x-unknown-linux-gnu",
            "nonsense",
        ] {
            assert!(super::runnable_target(bad).is_err(), "{bad}");
        }
    }
}
