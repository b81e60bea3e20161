//! The local key: 32 random bytes, private to the user, that seal what
//! this user's hoist compiled (compile-cache entries and `hoist compile`
//! artifacts) with a keyed MAC, so hoist can tell its own native code from
//! code that anything else wrote or changed.
//!
//! It lives in `$XDG_STATE_HOME/hoist/key` (else
//! `$HOME/.local/state/hoist/key`), outside the cache directory, in a
//! directory only the user can write. A run whose preopens contain it
//! (the user's home, say) does not use the cache, and its guest cannot open
//! the key under any name (`WasiCtxBuilder::withhold_file`: a hard link or
//! a read-only preopen reached it before). A guest given the home
//! directory writable could still replace the key file, as it could change
//! the user's shell startup files.

use anyhow::{Context, Result};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `$NAME` if set and not empty, else `$HOME/<fallback>`.
pub fn env_dir(name: &str, fallback: &str) -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var(name).or_else(|| var("HOME").map(|home| home.join(fallback)))
}

/// Where the key lives.
pub fn key_path() -> Option<PathBuf> {
    Some(
        env_dir("XDG_STATE_HOME", ".local/state")?
            .join("hoist")
            .join("key"),
    )
}

/// The key, created on first use.
pub fn local_key() -> Result<[u8; 32]> {
    let path = key_path().context("neither XDG_STATE_HOME nor HOME is set")?;
    load_or_create(&path)
}

/// Creates `dir` (private to the user) if needed, and refuses it unless it
/// is a directory owned by this user that others cannot write: anyone
/// else's directory could hold planted native code.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    // Usually it exists: one `lstat`, not a `mkdir` that fails first.
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(_) => {
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir);
            std::fs::symlink_metadata(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?
        }
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != me || meta.permissions().mode() & 0o022 != 0 {
        anyhow::bail!(
            "`{}` is not a private directory of this user",
            dir.display()
        );
    }
    Ok(())
}

/// The key at `path`: 32 random bytes in a file only the user can read,
/// in a private directory; created on first use.
pub fn load_or_create(path: &Path) -> Result<[u8; 32]> {
    prepare_dir(path.parent().context("the key path has no directory")?)?;
    let valid = |meta: &std::fs::Metadata| {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        meta.is_file() && meta.uid() == me && meta.mode() & 0o077 == 0 && meta.len() == 32
    };
    if let Some(key) = read_valid(path, valid) {
        return Ok(key);
    }
    let mut key = [0u8; 32];
    getrandom(&mut key).context("no randomness for the hoist key")?;
    // A new key invalidates every entry sealed with the old one.
    let temp = path.with_extension(format!("{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .context("writing the hoist key")?;
    std::io::Write::write_all(&mut file, &key)?;
    file.sync_all()?;
    drop(file);
    // Put it in place without replacing a key another run made meanwhile
    // (a hard link fails if the name exists): exactly one key ever wins,
    // so nothing sealed with a losing key is left unreadable. A damaged
    // key file (wrong size or rights) is replaced.
    let linked = match std::fs::hard_link(&temp, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let existing = std::fs::symlink_metadata(path)?;
            if valid(&existing) {
                false
            } else {
                std::fs::rename(&temp, path).context("writing the hoist key")?;
                true
            }
        }
        other => {
            other.context("writing the hoist key")?;
            true
        }
    };
    let _ = std::fs::remove_file(&temp);
    if linked {
        return Ok(key);
    }
    // Another run's key won: read it as any key is read.
    read_valid(path, valid).context("the hoist key is damaged")
}

/// The key file at `path` if it passes `valid`: checked on the open file
/// (`fstat`), so what is read is what was checked; not through a symlink,
/// and never blocking on a FIFO put there.
fn read_valid(path: &Path, valid: impl Fn(&std::fs::Metadata) -> bool) -> Option<[u8; 32]> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !valid(&file.metadata().ok()?) {
        return None;
    }
    let mut key = [0u8; 32];
    std::io::Read::read_exact(&mut file, &mut key).ok()?;
    Some(key)
}

fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the pointer and length describe the unfilled part of `buf`.
        let n = unsafe {
            libc::getrandom(
                buf[filled..].as_mut_ptr() as *mut libc::c_void,
                buf.len() - filled,
                0,
            )
        };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err);
            }
            continue;
        }
        filled += n as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hoist-key-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_key_is_made_private_once_and_read_back() {
        let dir = scratch("fresh");
        let path = dir.join("state/key");
        let key = load_or_create(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::metadata(dir.join("state")).unwrap().mode() & 0o777,
            0o700
        );
        assert_eq!(load_or_create(&path).unwrap(), key);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A key others could read, of the wrong size, or reached through a
    /// symlink is not used: a new one replaces it, and the symlink's
    /// target is left alone.
    #[test]
    fn a_key_that_is_not_private_is_replaced() {
        let dir = scratch("replace");
        let path = dir.join("state/key");
        let key = load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let replaced = load_or_create(&path).unwrap();
        assert_ne!(replaced, key);
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);

        std::fs::write(&path, [7u8; 31]).unwrap();
        assert_ne!(load_or_create(&path).unwrap(), [7u8; 32]);

        let planted = dir.join("planted");
        std::fs::write(&planted, [9u8; 32]).unwrap();
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::remove_file(&path).unwrap();
        symlink(&planted, &path).unwrap();
        assert_ne!(load_or_create(&path).unwrap(), [9u8; 32]);
        assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
        assert_eq!(std::fs::read(&planted).unwrap(), [9u8; 32]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        let dir = scratch("open-dir");
        let state = dir.join("state");
        std::fs::create_dir_all(&state).unwrap();
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = load_or_create(&state.join("key")).unwrap_err();
        assert!(err.to_string().contains("not a private directory"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
