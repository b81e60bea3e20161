//! Applying image layers (tar streams) to a root file system, as hostile
//! input: every path is resolved through a `cap-std` directory, so nothing
//! is ever created, written or removed outside the root, whatever the
//! entries say.
//!
//! - Names are taken relative to the root (a leading `/` is dropped); a
//!   name with a `..` component is refused, as is an entry whose path leads
//!   out of the root through a symbolic link.
//! - A file or link replaces what was at its path (that thing is removed,
//!   never written through). Symbolic links are created as they are, except
//!   that an absolute target is made relative to the root (`/usr/lib` from
//!   `lib/x` becomes `../usr/lib`), which is what it means in a container.
//! - Hard links must name an entry inside the root.
//! - Device nodes and FIFOs are skipped: nothing a Wasm guest can open.
//! - Modes keep their permission bits only (no setuid, setgid, sticky), and
//!   the owner may always read and write (so the root can be removed);
//!   owners and times are not restored.
//! - Whiteouts (`.wh.NAME`, and `.wh..wh..opq` for an opaque directory)
//!   remove what earlier layers put there, never what the same layer adds.
//! - [`Limits`] bound the bytes written and the entries read.

use crate::Limits;
use anyhow::{bail, Context, Result};
use cap_std::fs::{Dir, OpenOptions, Permissions, PermissionsExt};
use std::collections::HashSet;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_WHITEOUT: &str = ".wh..wh..opq";

/// Applies layers, one after another, to a root directory.
pub struct Unpacker {
    root: Dir,
    limits: Limits,
    written: u64,
    entries: u64,
}

impl Unpacker {
    /// An unpacker for the existing directory `root`.
    pub fn new(root: &Path, limits: &Limits) -> Result<Unpacker> {
        let root = Dir::open_ambient_dir(root, cap_std::ambient_authority())
            .with_context(|| format!("cannot open `{}`", root.display()))?;
        Ok(Unpacker {
            root,
            limits: limits.clone(),
            written: 0,
            entries: 0,
        })
    }

    /// Bytes written so far, all layers together.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Counts `bytes` against the limit on unpacked bytes (for a module
    /// written beside the root, say).
    pub fn charge(&mut self, bytes: u64) -> Result<()> {
        self.written = self.written.saturating_add(bytes);
        if self.written > self.limits.max_unpacked_bytes {
            bail!(
                "the image unpacks to more than {} bytes",
                self.limits.max_unpacked_bytes
            );
        }
        Ok(())
    }

    /// Applies one layer, an uncompressed tar stream.
    pub fn apply_layer(&mut self, layer: impl Read) -> Result<()> {
        let mut archive = tar::Archive::new(layer);
        // What this layer has made, with every parent directory: whiteouts
        // of this layer apply to lower layers only.
        let mut ours: HashSet<PathBuf> = HashSet::new();
        for entry in archive.entries().context("damaged layer")? {
            let mut entry = entry.context("damaged layer")?;
            self.entries += 1;
            if self.entries > self.limits.max_entries {
                bail!(
                    "the image has more than {} entries",
                    self.limits.max_entries
                );
            }
            let raw = entry
                .path()
                .context("damaged layer: an entry has a bad name")?;
            let raw = raw.into_owned();
            let Some(path) = clean(&raw) else {
                bail!(
                    "layer entry `{}` has a `..` component: refusing an image that reaches outside its root",
                    raw.display()
                );
            };
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue; // the root itself
            };
            let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
            let result = if name == OPAQUE_WHITEOUT {
                self.make_opaque(&parent, &ours)
            } else if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
                let hidden = parent.join(hidden);
                if ours.contains(&hidden) || hidden.as_os_str().is_empty() {
                    Ok(())
                } else {
                    self.remove(&hidden)
                }
            } else {
                match self.make(&path, &mut entry) {
                    Ok(true) => {
                        let mut at = path.as_path();
                        ours.insert(at.to_path_buf());
                        while let Some(up) = at.parent().filter(|p| !p.as_os_str().is_empty()) {
                            ours.insert(up.to_path_buf());
                            at = up;
                        }
                        Ok(())
                    }
                    Ok(false) => Ok(()),
                    Err(e) => Err(e),
                }
            };
            result.with_context(|| format!("layer entry `{}`", raw.display()))?;
        }
        Ok(())
    }

    /// Creates what `entry` describes at `path`; false if it was skipped.
    fn make(&mut self, path: &Path, entry: &mut tar::Entry<'_, impl Read>) -> Result<bool> {
        use tar::EntryType;
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().unwrap_or(0o644) & 0o777;
        match kind {
            EntryType::Directory => {
                self.make_dir(path, mode | 0o700)?;
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.make_parent(path)?;
                self.clear(path)?;
                let mut options = OpenOptions::new();
                options.write(true).create_new(true);
                let mut file = self.root.open_with(path, &options).map_err(escape_error)?;
                let left = self.limits.max_unpacked_bytes.saturating_sub(self.written);
                let copied = io::copy(&mut entry.take(left.saturating_add(1)), &mut file)
                    .context("damaged layer")?;
                self.charge(copied)?;
                file.set_permissions(Permissions::from_mode(mode | 0o600))?;
            }
            EntryType::Symlink => {
                let Some(target) = entry.link_name()? else {
                    bail!("a symbolic link without a target");
                };
                let target = relative_target(path, &target);
                self.make_parent(path)?;
                self.clear(path)?;
                self.root
                    .symlink_contents(&target, path)
                    .map_err(escape_error)?;
            }
            EntryType::Link => {
                let Some(target) = entry.link_name()? else {
                    bail!("a hard link without a target");
                };
                let Some(target) = clean(&target) else {
                    bail!(
                        "hard link to `{}`, which has a `..` component: refusing an image that reaches outside its root",
                        target.display()
                    );
                };
                if target == path {
                    return Ok(true);
                }
                self.make_parent(path)?;
                self.clear(path)?;
                self.root
                    .hard_link(&target, &self.root, path)
                    .map_err(escape_error)
                    .with_context(|| format!("hard link to `{}`", target.display()))?;
            }
            // Device nodes and FIFOs: nothing for a Wasm guest; metadata
            // entries: read by the tar reader already.
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn make_parent(&self, path: &Path) -> Result<()> {
        match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => self.make_dirs(parent),
            None => Ok(()),
        }
    }

    /// Creates `path` and its missing parents as directories (a parent that
    /// is a symbolic link is followed, inside the root only).
    fn make_dirs(&self, path: &Path) -> Result<()> {
        match self.root.metadata(path) {
            Ok(meta) if meta.is_dir() => return Ok(()),
            Ok(_) => {
                // A file where a directory must be: replaced.
                self.clear(path)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(escape_error(e).into()),
        }
        self.make_parent(path)?;
        match self.root.create_dir(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(escape_error(e).into()),
        }
    }

    fn make_dir(&self, path: &Path, mode: u32) -> Result<()> {
        match self.root.symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                self.clear(path)?;
                self.make_dirs(path)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.make_dirs(path)?,
            Err(e) => return Err(escape_error(e).into()),
        }
        self.root
            .set_permissions(path, Permissions::from_mode(mode))
            .map_err(escape_error)?;
        Ok(())
    }

    /// Removes whatever is at `path` (not following a final symbolic link).
    fn clear(&self, path: &Path) -> Result<()> {
        match self.root.symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => self.root.remove_dir_all(path).map_err(escape_error)?,
            Ok(_) => self.root.remove_file(path).map_err(escape_error)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(escape_error(e).into()),
        }
        Ok(())
    }

    /// A whiteout: what lower layers put at `path` goes.
    fn remove(&self, path: &Path) -> Result<()> {
        self.clear(path)
    }

    /// An opaque whiteout: everything lower layers put in `dir` goes (what
    /// this layer has put there stays).
    fn make_opaque(&self, dir: &Path, ours: &HashSet<PathBuf>) -> Result<()> {
        let listing = if dir.as_os_str().is_empty() {
            self.root.entries()
        } else {
            match self.root.symlink_metadata(dir) {
                Ok(meta) if meta.is_dir() => self.root.read_dir(dir),
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(escape_error(e).into()),
            }
        }
        .map_err(escape_error)?;
        let mut names = Vec::new();
        for entry in listing {
            names.push(entry?.file_name());
        }
        for name in names {
            let path = dir.join(name);
            if !ours.contains(&path) {
                self.clear(&path)?;
            } else if self.root.symlink_metadata(&path)?.is_dir() {
                self.make_opaque(&path, ours)?;
            }
        }
        Ok(())
    }
}

/// `path` relative to the root, or `None` if it has a `..` component.
fn clean(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// The target of a symbolic link at `link`, an absolute one made relative
/// to the root.
fn relative_target(link: &Path, target: &Path) -> PathBuf {
    if !target.has_root() {
        return target.to_path_buf();
    }
    // `..` at the root stays at the root, as in a container; elsewhere it
    // is taken lexically.
    let mut parts = Vec::new();
    for component in target.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    let depth = link.components().count().saturating_sub(1);
    let mut out = PathBuf::new();
    for _ in 0..depth {
        out.push("..");
    }
    out.extend(parts);
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// cap-std's refusal to leave the root, in words.
fn escape_error(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::PermissionDenied && e.to_string().contains("outside") {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the path leads outside the image's root file system (through `..` or a symbolic link): refused",
        )
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = |link: &str, target: &str| relative_target(Path::new(link), Path::new(target));
        assert_eq!(t("lib", "/usr/lib"), PathBuf::from("usr/lib"));
        assert_eq!(t("a/b/c", "/x"), PathBuf::from("../../x"));
        assert_eq!(t("a/self", "/"), PathBuf::from(".."));
        assert_eq!(t("self", "/"), PathBuf::from("."));
        assert_eq!(t("a/b", "../c"), PathBuf::from("../c"));
        assert_eq!(t("up", "/..//../x/../y"), PathBuf::from("y"));
    }
}
