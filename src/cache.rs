//! The compile cache: `hoist run app.wasm` keeps the compiled artifact in
//! the user's cache directory, so the second run does not compile.
//!
//! Entries are native code that later runs will execute, so they are
//! guarded like it (see `docs/RATIONALE.md`):
//! - An entry is named by a hash of the module and of everything that
//!   decides the generated code (build, target, flags, CPU features), and
//!   sealed with a keyed BLAKE3 MAC over that name and every byte of the
//!   image but its memory images' and address map's pages, which have
//!   digests of their own in what the MAC covers ([`hoist_artifact::seal`]),
//!   under the user's local key ([`crate::key`]), which lives outside the
//!   cache directory. The images are checked when the entry loads or, for
//!   a big entry, at each instantiation (one that fails is built from the
//!   module binary's data segments instead, and the entry removed). An entry
//!   that was edited, truncated, renamed to another module's name or
//!   written by anything without the key fails the MAC and is recompiled
//!   and replaced.
//! - Entries are read into private memory, authenticated there, and run
//!   from there: nothing that writes the file later reaches the running
//!   code (see `hoist_runtime::code_memory`).
//! - A run whose preopened directories contain the cache directory or the
//!   key does not use the cache at all (it compiles in memory): its guest
//!   could read the key and forge entries for later runs.
//! - Only regular files are ever opened there: a symlink, FIFO or device
//!   planted under an entry's or a lock's name (by a guest given the
//!   directory, say) is not followed, never blocks a run, and is removed.
//! - Entries are written to a temporary file and renamed, so concurrent
//!   runs never see half an entry. The cache is capped in size (least
//!   recently used entries go first), and temporary files of dead
//!   processes are removed.

use anyhow::{Context, Result};
use hoist::{Engine, ImageBuffer, Module, SharedBytes};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Default size cap of the cache directory, in bytes.
pub const DEFAULT_MAX_SIZE: u64 = 1 << 30;

/// The environment variable that sets the cap (`1GiB`, `500MB`, `0` for none).
pub const MAX_SIZE_VAR: &str = "HOIST_CACHE_MAX_SIZE";

/// The user's compile cache.
#[derive(Clone)]
pub struct Cache {
    dir: PathBuf,
    key_path: PathBuf,
    key: [u8; 32],
    max_size: u64,
}

/// How a module missing from the cache is compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lazy {
    /// Whole, before it runs; the entry is stored before it runs.
    No,
    /// Each function on its first call, the entry in the background;
    /// `at_exit`: what a run that ends first does with that compile.
    Yes { at_exit: crate::background::AtExit },
}

/// Where the cache and its key live, before anything is created.
pub struct CachePaths {
    /// `$XDG_CACHE_HOME/hoist`, else `$HOME/.cache/hoist`.
    pub dir: PathBuf,
    /// The local key (see [`crate::key::key_path`]).
    pub key: PathBuf,
}

impl CachePaths {
    pub fn from_env() -> Option<CachePaths> {
        let cache = crate::key::env_dir("XDG_CACHE_HOME", ".cache")?;
        Some(CachePaths {
            dir: cache.join("hoist"),
            key: crate::key::key_path()?,
        })
    }

    /// Whether the cache directory or the key lies inside any of `dirs`
    /// (host directories a guest will be given). Compares device and inode
    /// numbers of every ancestor, so symlinks and bind mounts are seen
    /// through.
    pub fn exposed_by(&self, dirs: &[PathBuf]) -> bool {
        let roots: Vec<(u64, u64)> = dirs
            .iter()
            .filter_map(|d| std::fs::metadata(d).ok())
            .map(|m| (m.dev(), m.ino()))
            .collect();
        let inside = |path: &Path| {
            // The nearest existing ancestor stands for what is not created yet.
            let mut path = path.to_path_buf();
            while !path.exists() {
                if !path.pop() {
                    return false;
                }
            }
            let Ok(path) = path.canonicalize() else {
                return true;
            };
            path.ancestors()
                .any(|a| std::fs::metadata(a).is_ok_and(|m| roots.contains(&(m.dev(), m.ino()))))
        };
        inside(&self.dir) || inside(&self.key)
    }
}

impl Cache {
    /// Opens (creating if needed) the cache and its key. `Err` says why the
    /// cache cannot be used; a run then compiles in memory.
    pub fn open(paths: &CachePaths) -> Result<Cache> {
        crate::key::prepare_dir(&paths.dir)?;
        let key = crate::key::load_or_create(&paths.key)?;
        Ok(Cache {
            dir: paths.dir.clone(),
            key_path: paths.key.clone(),
            key,
            max_size: max_size_from_env()?,
        })
    }

    /// The same cache with another size cap (`0` for none).
    pub fn with_max_size(mut self, max_size: u64) -> Cache {
        self.max_size = max_size;
        self
    }

    /// Loads `wasm` compiled from the cache, compiling and storing it on a
    /// miss. Cache trouble (unwritable directory, damaged or forged entry)
    /// never fails the run; it only costs time (a compile, or a memory
    /// image built again from the module file).
    ///
    /// With `lazy`, a miss is compiled lazily (each function on its first
    /// call) and the full compile that fills the cache entry goes on in the
    /// background (see [`crate::background`]); `path_of` is the file
    /// `wasm` was read from.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        shared: &SharedBytes,
        path_of: &Path,
        lazy: Lazy,
    ) -> Result<Module> {
        let wasm = shared.as_slice();
        let digest = hoist_artifact::module_digest(wasm);
        let name = entry_name(engine, &digest);
        let path = self.dir.join(format!("{name}.hwasm"));
        if let Some(module) = self.load(engine, &path, &name, &digest, Some(path_of)) {
            return Ok(module);
        }
        if let Lazy::Yes { at_exit } = lazy {
            // The module and the background compile share the run's copy.
            let module = Module::new_lazy_shared(engine, shared.clone())?;
            let wasm = shared.clone();
            let activity = module.lazy_activity();
            crate::background::start(
                self.clone(),
                engine.clone(),
                wasm,
                &digest,
                path_of,
                at_exit,
                activity,
                module.clone(),
            );
            return Ok(module);
        }
        let mut image = engine.precompile_module_for_cache(wasm)?;
        let module = Module::deserialize(engine, &image)?;
        self.write(&path, &name, &mut image);
        Ok(module)
    }

    /// Compiles `wasm` and stores it, unless a valid entry is there already
    /// (the detached process that finishes a background compile). One
    /// process compiles a module at a time, holding `.<entry>.lock`: with
    /// `wait`, this waits for the holder (the detached process, for the run
    /// that started it to end) and then finds the entry stored; without, it
    /// leaves the compile to the holder.
    pub fn store(&self, engine: &Engine, wasm: &[u8], wait: bool) {
        self.compile_into(engine, wasm, wait, None);
    }

    /// [`Cache::store`] for the background compile of a lazy run, which
    /// then wants the module, if `wanted()` still says so once the entry is
    /// stored: the one loaded from the entry found, or this process's own
    /// image just compiled (trusted as a sealed entry is: nothing is read
    /// back from the cache directory). `None` when another process holds
    /// the compile, it failed, or the module is no longer wanted.
    pub fn store_and_load(
        &self,
        engine: &Engine,
        wasm: &[u8],
        wanted: &dyn Fn() -> bool,
    ) -> Option<Module> {
        self.compile_into(engine, wasm, false, Some(wanted))
    }

    fn compile_into(
        &self,
        engine: &Engine,
        wasm: &[u8],
        wait: bool,
        keep: Option<&dyn Fn() -> bool>,
    ) -> Option<Module> {
        let digest = hoist_artifact::module_digest(wasm);
        let name = entry_name(engine, &digest);
        let path = self.dir.join(format!("{name}.hwasm"));
        let _lock = EntryLock::take(&lock_path(&path), wait)?;
        if let Some(module) = self.load(engine, &path, &name, &digest, None) {
            return keep.is_some().then_some(module);
        }
        let mut image = engine.precompile_module_for_cache(wasm).ok()?;
        let len = image.len();
        // Stored first: the next run needs it even if this one ends now.
        self.write(&path, &name, &mut image);
        if !keep.is_some_and(|wanted| wanted()) {
            return None;
        }
        image.truncate(len);
        let buffer = ImageBuffer::from_bytes(&image).ok()?;
        // Compiled and validated by this process a moment ago.
        Module::deserialize_authenticated(engine, buffer).ok()
    }

    /// Seals `image` under `name` and writes it to `path` (atomically).
    fn write(&self, path: &Path, name: &str, image: &mut Vec<u8>) {
        hoist_artifact::seal(image, &self.key, name.as_bytes());
        if crate::commands::compile::write_atomically(path, image).is_ok() {
            self.evict();
        }
    }

    /// The entry at `path`, if it authenticates and loads. With `wasm_file`
    /// (a regular file holding the module binary, whose digest is
    /// `digest`), a big entry's memory images are left unread: each
    /// instantiation reads them from the entry and checks them, and builds
    /// one that fails from the data segments of the binary read again
    /// from `wasm_file` instead (and removes the entry). Without, they are
    /// read and checked here, so that a damaged one costs a compile.
    fn load(
        &self,
        engine: &Engine,
        path: &Path,
        name: &str,
        digest: &[u8; 32],
        wasm_file: Option<&Path>,
    ) -> Option<Module> {
        let mut file = open_regular(path, std::fs::OpenOptions::new().read(true))?;
        let wasm_file = wasm_file.filter(|p| p.is_file());
        // A big entry's address map is left unread too, and read and
        // checked against its digest only if a trap needs its wasm offsets.
        let skip = match wasm_file {
            Some(_) => hoist_artifact::lazy_range,
            None => hoist_artifact::lazy_range_after_images,
        };
        let identity = file.metadata().ok().map(|m| (m.dev(), m.ino()));
        let loaded = ImageBuffer::read_file_except(&mut file, skip)
            .ok()
            .and_then(|mut buffer| {
                let len = hoist_artifact::unseal(buffer.as_slice(), &self.key, name.as_bytes())?;
                buffer.truncate(len);
                // The seal's MAC covered every byte but the memory images'
                // and the address map's (a cache entry keeps no
                // `.hoist.debug`), which have their own digests: no digest
                // pass again.
                let module = match wasm_file {
                    Some(wasm_file) => {
                        let wasm_file = wasm_file.to_path_buf();
                        let reload = Box::new(move || std::fs::read(&wasm_file).ok());
                        let path = path.to_path_buf();
                        // Only this entry: not one another process has
                        // written there since.
                        let forget = Box::new(move || {
                            let now = std::fs::symlink_metadata(&path).ok();
                            if now.map(|m| (m.dev(), m.ino())) == identity {
                                let _ = std::fs::remove_file(&path);
                            }
                        });
                        Module::deserialize_cached(engine, buffer, digest, reload, forget)
                    }
                    None => Module::deserialize_authenticated(engine, buffer),
                };
                let module = module.ok()?;
                (module.digest() == *digest).then_some(module)
            });
        match &loaded {
            // Recently used: eviction goes by modification time.
            Some(_) => {
                let _ = file.set_modified(SystemTime::now());
            }
            // Forged, damaged or from another build: replace it.
            None => {
                let _ = std::fs::remove_file(path);
            }
        }
        loaded
    }

    /// Entries and temporary files, for `hoist cache info` and eviction.
    fn scan(&self) -> Scan {
        let mut scan = Scan::default();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return scan;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // Not followed: a symlink's own metadata.
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                if is_cache_file_name(&name) {
                    scan.strays.push((entry.path(), meta.is_dir()));
                }
                continue;
            }
            if name.starts_with('.') && name.ends_with(".tmp") {
                scan.temps.push((entry.path(), name, meta));
            } else if name.ends_with(".hwasm") {
                scan.total += meta.len();
                scan.entries.push((entry.path(), meta));
            }
        }
        scan
    }

    /// Removes temporary files of processes that are gone, then the least
    /// recently used entries until the cache is within its cap (with some
    /// room, so the next write does not evict again at once).
    fn evict(&self) {
        let mut scan = self.scan();
        remove_strays(&scan.strays);
        for (path, name, meta) in &scan.temps {
            if temp_is_stale(name, meta) {
                let _ = std::fs::remove_file(path);
            }
        }
        if self.max_size == 0 || scan.total <= self.max_size {
            return;
        }
        scan.entries
            .sort_by_key(|(_, meta)| meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
        let target = self.max_size / 10 * 9;
        for (path, meta) in &scan.entries {
            if scan.total <= target {
                break;
            }
            if std::fs::remove_file(path).is_ok() {
                scan.total -= meta.len();
                let _ = std::fs::remove_file(lock_path(path));
            }
        }
    }

    /// A description for `hoist cache info`.
    pub fn describe(&self) -> String {
        let scan = self.scan();
        let cap = if self.max_size == 0 {
            "none".to_string()
        } else {
            format_size(self.max_size)
        };
        format!(
            "directory:   {}\nkey:         {}\nentries:     {}\nsize:        {}\nsize cap:    {cap} (set with {MAX_SIZE_VAR})\ntemp files:  {}\n",
            self.dir.display(),
            self.key_path.display(),
            scan.entries.len(),
            format_size(scan.total),
            scan.temps.len()
        )
    }

    /// Removes every entry and temporary file; returns how many and how
    /// many bytes. The key stays.
    pub fn clean(&self) -> (usize, u64) {
        let scan = self.scan();
        let mut removed = (0, 0);
        for (path, meta) in &scan.entries {
            if std::fs::remove_file(path).is_ok() {
                removed.0 += 1;
                removed.1 += meta.len();
                let _ = std::fs::remove_file(lock_path(path));
            }
        }
        for (path, _, _) in &scan.temps {
            let _ = std::fs::remove_file(path);
        }
        remove_strays(&scan.strays);
        removed
    }
}

#[derive(Default)]
struct Scan {
    entries: Vec<(PathBuf, std::fs::Metadata)>,
    temps: Vec<(PathBuf, String, std::fs::Metadata)>,
    /// Symlinks, FIFOs, directories (`true`)... under a name hoist writes
    /// regular files by: never hoist's own, removed by eviction and clean.
    strays: Vec<(PathBuf, bool)>,
    total: u64,
}

/// Removes strays (see [`Scan::strays`]); a directory with what is in it
/// (`remove_dir_all` does not follow symlinks inside).
fn remove_strays(strays: &[(PathBuf, bool)]) {
    for (path, dir) in strays {
        let _ = if *dir {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
    }
}

/// A name hoist gives files in the cache: entries, their locks and
/// temporary files.
fn is_cache_file_name(name: &str) -> bool {
    name.ends_with(".hwasm")
        || (name.starts_with('.') && (name.ends_with(".lock") || name.ends_with(".tmp")))
}

/// `path` opened with `options` if it is a regular file. What is not (a
/// symlink, a FIFO, a device, a directory) is not followed and never
/// blocks the open; it is removed so the next run finds the name free.
fn open_regular(path: &Path, options: &mut std::fs::OpenOptions) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let opened = options
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let file = match opened {
        Ok(file) => file,
        Err(err) => {
            // ELOOP: a symlink; ENXIO: a FIFO with no writer (write side);
            // EISDIR: a directory (write side).
            match err.raw_os_error() {
                Some(libc::ELOOP | libc::ENXIO) => remove_strays(&[(path.to_owned(), false)]),
                Some(libc::EISDIR) => remove_strays(&[(path.to_owned(), true)]),
                _ => {}
            }
            return None;
        }
    };
    match file.metadata() {
        Ok(meta) if meta.is_file() => Some(file),
        Ok(meta) => {
            remove_strays(&[(path.to_owned(), meta.is_dir())]);
            None
        }
        Err(_) => None,
    }
}

/// The entry name: BLAKE3 of the engine fingerprint and the module digest.
fn entry_name(engine: &Engine, digest: &[u8; 32]) -> String {
    let mut hasher = blake3::Hasher::new();
    let fingerprint = engine.fingerprint();
    hasher.update(&(fingerprint.len() as u64).to_le_bytes());
    hasher.update(fingerprint.as_bytes());
    hasher.update(digest);
    hasher.finalize().to_hex()[..32].to_string()
}

/// A temporary file (`.NAME.PID.tmp`, see `write_atomically`) whose writer
/// is gone, or that is more than a day old (its PID may have been reused).
fn temp_is_stale(name: &str, meta: &std::fs::Metadata) -> bool {
    let old = meta
        .modified()
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age > Duration::from_secs(24 * 3600));
    let pid = name
        .strip_suffix(".tmp")
        .and_then(|n| n.rsplit('.').next())
        .and_then(|pid| pid.parse::<libc::pid_t>().ok());
    let dead = pid.is_some_and(|pid| {
        // SAFETY: kill with signal 0 only checks whether `pid` exists.
        let rc = unsafe { libc::kill(pid, 0) };
        rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    });
    old || dead
}

/// What hoist takes from a wasmtime cache configuration file
/// (`-C cache-config=FILE`): its `[cache]` table's `enabled`, `directory`
/// and `files-total-size-soft-limit`. The other settings tune wasmtime's
/// own cache worker; hoist has none, so it says it leaves them out.
#[derive(Debug, Default, PartialEq)]
pub struct CacheConfig {
    pub enabled: bool,
    pub directory: Option<PathBuf>,
    pub max_size: Option<u64>,
}

impl CacheConfig {
    pub fn read(path: &Path) -> Result<CacheConfig> {
        let name = path.display().to_string();
        // A settings file: a few lines, never a megabyte.
        let text = crate::input::read_text(path, &name, 1 << 20).context("-C cache-config")?;
        CacheConfig::parse(&text).with_context(|| format!("-C cache-config: `{}`", path.display()))
    }

    /// The subset of TOML such files use: `[table]` headers and
    /// `key = "string" | true | false | integer` lines, `#` comments.
    fn parse(text: &str) -> Result<CacheConfig> {
        let mut config = CacheConfig {
            enabled: true,
            ..CacheConfig::default()
        };
        let mut table = String::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let context = || format!("line {}", number + 1);
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                table = name.trim().to_string();
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .with_context(|| format!("{}: expected `key = value`", context()))?;
            if table != "cache" {
                anyhow::bail!(
                    "{}: wasmtime keeps cache settings in [cache], not [{table}]",
                    context()
                );
            }
            let string = || {
                value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .with_context(|| format!("{}: `{key}` needs a quoted string", context()))
            };
            match key {
                "enabled" => {
                    config.enabled = match value {
                        "true" => true,
                        "false" => false,
                        _ => anyhow::bail!("{}: `enabled` is true or false", context()),
                    }
                }
                "directory" => config.directory = Some(PathBuf::from(string()?)),
                "files-total-size-soft-limit" => {
                    // wasmtime writes `Ki`, `Mi`...; hoist's sizes say `KiB`.
                    let size = string()?;
                    let size = if size.ends_with('i') {
                        format!("{size}B")
                    } else {
                        size.to_string()
                    };
                    config.max_size = Some(
                        crate::size::parse_size(&size)
                            .with_context(|| format!("{}: `{key}`", context()))?,
                    );
                }
                other => crate::output::eprintln(format_args!(
                    "warning: -C cache-config: `{other}` tunes wasmtime's cache worker; hoist has \
                     no such setting and leaves it out"
                )),
            }
        }
        Ok(config)
    }
}

fn max_size_from_env() -> Result<u64> {
    match std::env::var(MAX_SIZE_VAR) {
        Ok(text) => {
            crate::size::parse_size(&text).with_context(|| format!("{MAX_SIZE_VAR}={text}"))
        }
        Err(_) => Ok(DEFAULT_MAX_SIZE),
    }
}

fn format_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

/// The lock file of the entry at `entry`: `.<name>.lock` beside it.
fn lock_path(entry: &Path) -> PathBuf {
    let name = entry.file_stem().unwrap_or_default().to_string_lossy();
    entry.with_file_name(format!(".{name}.lock"))
}

/// An exclusive `flock` on a cache entry's lock file, released when dropped
/// (or when the process ends, however it ends).
struct EntryLock {
    /// Held for its lock; closing it unlocks.
    _file: std::fs::File,
}

impl EntryLock {
    /// The lock, waiting for it with `wait`; `None` if another process
    /// holds it (without `wait`) or the file cannot be made.
    fn take(path: &Path, wait: bool) -> Option<EntryLock> {
        let open = || {
            open_regular(
                path,
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true),
            )
        };
        // A second try once a planted non-file was removed.
        let file = open().or_else(open)?;
        let how = if wait {
            libc::LOCK_EX
        } else {
            libc::LOCK_EX | libc::LOCK_NB
        };
        // SAFETY: flock on a descriptor this function owns; no memory is
        // involved.
        let rc = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), how) };
        (rc == 0).then_some(EntryLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasmtime_cache_config() {
        let config = CacheConfig::parse(
            "# mine\n[cache]\nenabled = true\ndirectory = \"/tmp/c\"\n\
             files-total-size-soft-limit = \"1Gi\"\ncleanup-interval = \"30m\"\n",
        )
        .unwrap();
        assert_eq!(
            config,
            CacheConfig {
                enabled: true,
                directory: Some(PathBuf::from("/tmp/c")),
                max_size: Some(1 << 30),
            }
        );
        assert!(
            !CacheConfig::parse("[cache]\nenabled = false")
                .unwrap()
                .enabled
        );
        assert!(CacheConfig::parse("[other]\nx = 1").is_err());
        assert!(CacheConfig::parse("[cache]\ndirectory = /x").is_err());
    }
}
