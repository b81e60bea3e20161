//! `hoist compile`: ahead-of-time compile a module to an artifact.

use anyhow::{anyhow, Context, Result};
use hoist::{Config, Cpu, Engine, OptLevel};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct CompileArgs {
    /// The module to compile (.wasm or .wat).
    module: PathBuf,

    /// Where to write the artifact (default: the module's name with the `.hwasm` extension).
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,

    /// Target triple: x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu or
    /// riscv64gc-unknown-linux-gnu (default: this machine).
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,

    /// CPU features the code may use: `native` (all of this machine's; the default for this
    /// machine) or `baseline` (any CPU of the architecture; always used for other targets).
    #[arg(long, value_name = "native|baseline", default_value = "native")]
    cpu: String,

    /// Optimization level: `none` compiles fastest, `speed` runs fastest.
    #[arg(
        short = 'O',
        long = "opt-level",
        value_name = "none|speed",
        default_value = "speed"
    )]
    opt_level: String,
}

pub fn execute(args: CompileArgs) -> Result<ExitCode> {
    let mut config = Config::new();
    config.cpu(match args.cpu.as_str() {
        "native" => Cpu::Native,
        "baseline" => Cpu::Baseline,
        other => return Err(anyhow!("--cpu {other}: expected `native` or `baseline`")),
    });
    config.opt_level(match args.opt_level.as_str() {
        "none" => OptLevel::None,
        "speed" => OptLevel::Speed,
        other => return Err(anyhow!("-O {other}: expected `none` or `speed`")),
    });
    if let Some(target) = &args.target {
        let triple = target
            .parse()
            .map_err(|e| anyhow!("--target {target}: {e}"))?;
        config.target(triple);
    }
    let engine = Engine::new(&config)?;
    let wasm = std::fs::read(&args.module)
        .with_context(|| format!("failed to read `{}`", args.module.display()))?;

    let started = Instant::now();
    let progress = Progress::start(&args.module);
    let image = engine
        .precompile_module(&wasm)
        .with_context(|| format!("failed to compile `{}`", args.module.display()));
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
        .unwrap_or_else(|| args.module.with_extension("hwasm"));
    write_atomically(&output, &image)
        .with_context(|| format!("failed to write `{}`", output.display()))?;
    Ok(ExitCode::SUCCESS)
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
struct Progress {
    done: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<bool>,
}

impl Progress {
    fn start(module: &std::path::Path) -> Progress {
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let name = module.display().to_string();
        let thread = std::thread::spawn(move || match wait.recv_timeout(Duration::from_secs(1)) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                crate::output::eprintln(format_args!("compiling {name} ..."));
                true
            }
            _ => false,
        });
        Progress { done, thread }
    }

    fn finish(self, elapsed: Duration) {
        let _ = self.done.send(());
        if self.thread.join().unwrap_or(false) {
            crate::output::eprintln(format_args!("compiled in {:.1} s", elapsed.as_secs_f64()));
        }
    }
}
