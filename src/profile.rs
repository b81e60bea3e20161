//! `--profile perfmap|jitdump`: telling Linux `perf` which wasm function
//! each stretch of compiled code is, so `perf report` shows their names.
//!
//! - perfmap: `/tmp/perf-PID.map`, one `START SIZE NAME` line (hex) per
//!   function; `perf report` reads it for addresses no file maps.
//! - jitdump: `./jit-PID.dump` in the format of perf's
//!   `jitdump-specification.txt`: a header, then one code-load record per
//!   function with a copy of its code. The file is mapped executable once
//!   so that `perf record` notes it; `perf inject --jit` then turns the
//!   records into symbol files. Record with `perf record -k mono`: the
//!   records' times are CLOCK_MONOTONIC.

use crate::commands::run::Loaded;
use anyhow::{Context, Result};
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Strategy {
    Perfmap,
    Jitdump,
}

pub enum Profiler {
    PerfMap(File),
    JitDump(JitDump),
}

impl Profiler {
    pub fn start(strategy: Strategy) -> Result<Profiler> {
        let pid = std::process::id();
        Ok(match strategy {
            Strategy::Perfmap => {
                let path = PathBuf::from(format!("/tmp/perf-{pid}.map"));
                let file = File::create(&path).with_context(|| {
                    format!("--profile perfmap: cannot create `{}`", path.display())
                })?;
                Profiler::PerfMap(file)
            }
            Strategy::Jitdump => Profiler::JitDump(JitDump::create(pid)?),
        })
    }

    /// Announces every function of `module`.
    pub fn register(&mut self, module: &Loaded) -> Result<()> {
        let label = module_label(module);
        for function in module.module.function_code() {
            let name = match &function.name {
                Some(name) => format!("{label}!{name}"),
                None => format!("{label}!<wasm function {}>", function.func_index),
            };
            // One line per function: no line breaks from the module's names.
            let name: String = name
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            match self {
                Profiler::PerfMap(file) => {
                    writeln!(file, "{:x} {:x} {name}", function.address, function.len)
                        .context("--profile perfmap: writing the map")?
                }
                Profiler::JitDump(dump) => dump.code_load(&name, function.address, function.len)?,
            }
        }
        match self {
            Profiler::PerfMap(file) => file.flush()?,
            Profiler::JitDump(dump) => dump.file.flush()?,
        }
        Ok(())
    }
}

/// The module part of a symbol: its name section's name, else its file's.
fn module_label(module: &Loaded) -> String {
    if let Some(name) = module.module.name() {
        return name.to_string();
    }
    std::path::Path::new(&module.path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| module.path.clone())
}

pub struct JitDump {
    file: std::io::BufWriter<File>,
    /// The marker mapping perf looks for; unmapped when dropped.
    marker: (*mut libc::c_void, usize),
    next_index: u64,
}

const JITDUMP_MAGIC: u32 = 0x4A69_5444;
const JIT_CODE_LOAD: u32 = 0;
const JIT_CODE_CLOSE: u32 = 3;

fn elf_machine() -> u32 {
    match std::env::consts::ARCH {
        "x86_64" => 62,
        "aarch64" => 183,
        "riscv64" => 243,
        _ => 0,
    }
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl JitDump {
    fn create(pid: u32) -> Result<JitDump> {
        let path = PathBuf::from(format!("jit-{pid}.dump"));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .with_context(|| format!("--profile jitdump: cannot create `{}`", path.display()))?;
        let mut header = Vec::with_capacity(40);
        header.extend_from_slice(&JITDUMP_MAGIC.to_ne_bytes());
        header.extend_from_slice(&1u32.to_ne_bytes()); // version
        header.extend_from_slice(&40u32.to_ne_bytes()); // header size
        header.extend_from_slice(&elf_machine().to_ne_bytes());
        header.extend_from_slice(&0u32.to_ne_bytes()); // padding
        header.extend_from_slice(&pid.to_ne_bytes());
        header.extend_from_slice(&monotonic_ns().to_ne_bytes());
        header.extend_from_slice(&0u64.to_ne_bytes()); // flags
        (&file)
            .write_all(&header)
            .context("--profile jitdump: writing the header")?;
        // perf finds the dump through this mapping's record in perf.data.
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
        // SAFETY: maps one page of our own open file, read-only; nothing
        // reads or runs it: it only marks the file for perf.
        let marker = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_PRIVATE,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            )
        };
        if marker == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error())
                .context("--profile jitdump: mapping the dump for perf");
        }
        Ok(JitDump {
            file: std::io::BufWriter::new(file),
            marker: (marker, page),
            next_index: 0,
        })
    }

    fn code_load(&mut self, name: &str, address: usize, len: usize) -> Result<()> {
        // SAFETY: the module owns this code and keeps it mapped readable
        // for as long as it lives, which is past this call.
        let code = unsafe { std::slice::from_raw_parts(address as *const u8, len) };
        let size = 16 + 4 + 4 + 8 + 8 + 8 + 8 + name.len() + 1 + len;
        let mut record = Vec::with_capacity(size);
        record.extend_from_slice(&JIT_CODE_LOAD.to_ne_bytes());
        record.extend_from_slice(&(size as u32).to_ne_bytes());
        record.extend_from_slice(&monotonic_ns().to_ne_bytes());
        record.extend_from_slice(&std::process::id().to_ne_bytes());
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        record.extend_from_slice(&tid.to_ne_bytes());
        record.extend_from_slice(&(address as u64).to_ne_bytes()); // vma
        record.extend_from_slice(&(address as u64).to_ne_bytes()); // code address
        record.extend_from_slice(&(len as u64).to_ne_bytes());
        record.extend_from_slice(&self.next_index.to_ne_bytes());
        record.extend_from_slice(name.as_bytes());
        record.push(0);
        record.extend_from_slice(code);
        self.next_index += 1;
        self.file
            .write_all(&record)
            .context("--profile jitdump: writing a record")
    }
}

impl Drop for JitDump {
    fn drop(&mut self) {
        let mut close = Vec::with_capacity(16);
        close.extend_from_slice(&JIT_CODE_CLOSE.to_ne_bytes());
        close.extend_from_slice(&16u32.to_ne_bytes());
        close.extend_from_slice(&monotonic_ns().to_ne_bytes());
        let _ = self.file.write_all(&close);
        let _ = self.file.flush();
        // SAFETY: unmaps exactly the mapping `create` made.
        unsafe { libc::munmap(self.marker.0, self.marker.1) };
    }
}
