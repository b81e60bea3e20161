//! Where an image's files are: a directory (an OCI image layout, or an
//! unpacked `docker save`) or a tar archive of one, read by name, and
//! blobs checked against their digests as they are read.

use crate::Limits;
use anyhow::{bail, Context, Result};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// An image's files, by their names relative to the image's top.
pub(crate) enum Store {
    Dir(PathBuf),
    Archive(Archive),
}

/// A tar archive, indexed once: the data of each file is read in place.
pub(crate) struct Archive {
    /// The archive itself, or its decompressed copy (an unnamed temporary
    /// file, gone when closed).
    file: File,
    entries: HashMap<String, ArchiveEntry>,
}

enum ArchiveEntry {
    File {
        offset: u64,
        size: u64,
    },
    /// A symbolic or hard link to another entry (`docker save` links
    /// layers it has already written), by its normalized name.
    Link(String),
}

/// An expected digest: `sha256` and 64 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sha256Hex(pub(crate) String);

impl Sha256Hex {
    /// Checks the text of a digest (`sha256:<hex>`): the only algorithm an
    /// image may use here, and only hex digits (the digest names a file).
    pub(crate) fn parse(digest: &str) -> Result<Sha256Hex> {
        let Some((algorithm, hex)) = digest.split_once(':') else {
            bail!("`{digest}` is not a digest");
        };
        if algorithm != "sha256" {
            bail!("digest `{digest}`: only sha256 digests are supported");
        }
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            bail!("`{digest}` is not a valid sha256 digest");
        }
        Ok(Sha256Hex(hex.to_string()))
    }

    /// The blob's name in an image layout.
    pub(crate) fn blob_name(&self) -> String {
        format!("blobs/sha256/{}", self.0)
    }
}

impl std::fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.0)
    }
}

/// `name` without `./` and leading `/`, or `None` if it has a `..` (or is
/// empty): names in an image never need one.
pub(crate) fn normalize(name: &Path) -> Option<String> {
    let mut out = PathBuf::new();
    for component in name.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    let out = out.to_str()?.to_string();
    (!out.is_empty()).then_some(out)
}

impl Store {
    /// Opens `path`: a directory as it is, a file as a tar archive
    /// (gzip-compressed or not).
    pub(crate) fn open(path: &Path, limits: &Limits) -> Result<Store> {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot open `{}`", path.display()))?;
        if meta.is_dir() {
            return Ok(Store::Dir(path.to_path_buf()));
        }
        let mut file =
            File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
        let mut magic = [0u8; 2];
        let got = read_up_to(&mut file, &mut magic)?;
        file.rewind()?;
        if got == 2 && magic == [0x1f, 0x8b] {
            file = decompress(file, limits).with_context(|| {
                format!("`{}`: damaged gzip-compressed archive", path.display())
            })?;
        }
        let archive = Archive::index(file, limits).with_context(|| {
            format!(
                "`{}` is not an image archive, or it is damaged",
                path.display()
            )
        })?;
        Ok(Store::Archive(archive))
    }

    /// Whether the image has a file `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        match self {
            Store::Dir(dir) => normalize(Path::new(name)).is_some_and(|n| dir.join(n).is_file()),
            Store::Archive(archive) => archive.find(name).is_some(),
        }
    }

    /// The file `name` and its size, or an error naming it if it is
    /// missing.
    pub(crate) fn open_file(&self, name: &str) -> Result<(Box<dyn Read + '_>, u64)> {
        let Some(clean) = normalize(Path::new(name)) else {
            bail!("the image names a file outside itself: `{name}`");
        };
        match self {
            Store::Dir(dir) => {
                let path = dir.join(&clean);
                // Not blocking on a FIFO (refused below: not a file).
                // Symlinks are followed: blobs are checked by digest, and
                // the directory is the user's.
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(&path)
                    .with_context(|| format!("the image has no readable `{clean}`"))?;
                let meta = file.metadata()?;
                if !meta.is_file() {
                    bail!("the image's `{clean}` is not a file");
                }
                Ok((Box::new(file), meta.len()))
            }
            Store::Archive(archive) => {
                let Some((offset, size)) = archive.find(&clean) else {
                    bail!("the image has no `{clean}`");
                };
                Ok((
                    Box::new(RangeReader {
                        file: &archive.file,
                        pos: offset,
                        end: offset + size,
                    }),
                    size,
                ))
            }
        }
    }

    /// A small file read whole (at most `limit` bytes), checked against
    /// `digest` when one is given.
    pub(crate) fn read_document(
        &self,
        name: &str,
        digest: Option<&Sha256Hex>,
        limit: u64,
    ) -> Result<Vec<u8>> {
        let (reader, size) = self.open_file(name)?;
        if size > limit {
            bail!("`{name}` is {size} bytes, more than the {limit} a document may have");
        }
        let mut bytes = Vec::with_capacity(size as usize);
        match digest {
            Some(digest) => {
                let mut reader = HashingReader::new(reader, digest.clone(), Some(size), name);
                reader.read_to_end(&mut bytes)?;
            }
            None => {
                reader.take(limit + 1).read_to_end(&mut bytes)?;
            }
        }
        Ok(bytes)
    }

    /// The blob `digest` names, checked against its descriptor's size; its
    /// bytes are checked against the digest as they are read.
    pub(crate) fn open_blob(
        &self,
        digest: &Sha256Hex,
        size: u64,
    ) -> Result<HashingReader<Box<dyn Read + '_>>> {
        let name = digest.blob_name();
        let (reader, actual) = self.open_file(&name)?;
        if actual != size {
            bail!("blob {digest} is {actual} bytes, but its descriptor says {size}: the image is damaged");
        }
        Ok(HashingReader::new(
            reader,
            digest.clone(),
            Some(size),
            &name,
        ))
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Decompresses a gzip archive into an unnamed temporary file.
fn decompress(file: File, limits: &Limits) -> Result<File> {
    let mut out = tempfile::tempfile().context("cannot create a temporary file")?;
    let mut decoder = flate2::read::GzDecoder::new(io::BufReader::new(file));
    let copied = io::copy(
        &mut (&mut decoder).take(limits.max_archive_bytes + 1),
        &mut out,
    )?;
    if copied > limits.max_archive_bytes {
        bail!(
            "it decompresses to more than {} bytes",
            limits.max_archive_bytes
        );
    }
    out.rewind()?;
    Ok(out)
}

impl Archive {
    fn index(file: File, limits: &Limits) -> Result<Archive> {
        let len = file.metadata()?.len();
        let mut entries = HashMap::new();
        let mut archive = tar::Archive::new(&file);
        let mut count = 0u64;
        for entry in archive.entries()? {
            let entry = entry?;
            count += 1;
            if count > limits.max_entries {
                bail!("more than {} entries", limits.max_entries);
            }
            let path = entry.path()?.into_owned();
            // Names with `..` cannot be asked for: leave them out.
            let Some(name) = normalize(&path) else {
                continue;
            };
            let kind = entry.header().entry_type();
            let record = if kind.is_file() || kind == tar::EntryType::Continuous {
                let offset = entry.raw_file_position();
                let size = entry.size();
                if offset.checked_add(size).is_none_or(|end| end > len) {
                    bail!("`{name}` is cut off: the archive is truncated");
                }
                ArchiveEntry::File { offset, size }
            } else if kind.is_symlink() || kind.is_hard_link() {
                let Some(target) = entry.link_name()? else {
                    continue;
                };
                // A symbolic link is relative to its own directory, a hard
                // link to the archive's top.
                let target = if kind.is_symlink() && !target.has_root() {
                    Path::new(&name)
                        .parent()
                        .unwrap_or(Path::new(""))
                        .join(&target)
                } else {
                    target.into_owned()
                };
                match normalize(&target) {
                    Some(target) => ArchiveEntry::Link(target),
                    None => continue,
                }
            } else {
                continue;
            };
            entries.insert(name, record);
        }
        if entries.is_empty() {
            bail!("it holds no files (an empty archive, or not a tar file)");
        }
        Ok(Archive { file, entries })
    }

    /// The data range of `name`, through at most a few links.
    fn find(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = name.to_string();
        for _ in 0..8 {
            match self.entries.get(&name)? {
                ArchiveEntry::File { offset, size } => return Some((*offset, *size)),
                ArchiveEntry::Link(target) => name = target.clone(),
            }
        }
        None
    }
}

/// Reads one range of a file with `pread`, so several readers can share it.
struct RangeReader<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end - self.pos;
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside a file",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Passes bytes through while hashing them; at the end (or past the
/// expected size) it fails with `InvalidData` unless they match the digest.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    expected: Sha256Hex,
    size: Option<u64>,
    count: u64,
    what: String,
    checked: bool,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R, expected: Sha256Hex, size: Option<u64>, what: &str) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            expected,
            size,
            count: 0,
            what: what.to_string(),
            checked: false,
        }
    }

    /// Reads what is left (a tar reader stops at the end-of-archive blocks,
    /// a gzip reader may stop before the padding), so the whole blob is
    /// checked.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(())
    }

    fn damaged(&self, why: String) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is damaged: {why}", self.what),
        )
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if let Some(size) = self.size {
            if self.count > size {
                return Err(self.damaged(format!("it is longer than its {size} bytes")));
            }
        }
        if n == 0 && !buf.is_empty() && !self.checked {
            self.checked = true;
            if let Some(size) = self.size {
                if self.count != size {
                    return Err(self.damaged(format!(
                        "{} bytes, but its descriptor says {size}",
                        self.count
                    )));
                }
            }
            let got = hex(&self.hasher.clone().finalize());
            if got != self.expected.0 {
                return Err(self.damaged(format!("its sha256 is {got}, not {}", self.expected.0)));
            }
        }
        Ok(n)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(normalize(Path::new("./a/b")).as_deref(), Some("a/b"));
        assert_eq!(normalize(Path::new("/a//b/")).as_deref(), Some("a/b"));
        assert_eq!(normalize(Path::new("a/../b")), None);
        assert_eq!(normalize(Path::new("./")), None);
    }

    #[test]
    fn digests() {
        let hex = "a".repeat(64);
        assert_eq!(
            Sha256Hex::parse(&format!("sha256:{hex}"))
                .unwrap()
                .blob_name(),
            format!("blobs/sha256/{hex}")
        );
        assert!(Sha256Hex::parse(&format!("sha512:{hex}")).is_err());
        assert!(Sha256Hex::parse("sha256:../../etc/passwd").is_err());
        assert!(Sha256Hex::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
    }

    #[test]
    fn hashing_reader_refuses_other_bytes() {
        let data = b"hello";
        let good = Sha256Hex(hex(&Sha256::digest(data)));
        let mut out = Vec::new();
        HashingReader::new(&data[..], good.clone(), Some(5), "x")
            .read_to_end(&mut out)
            .unwrap();
        let err = HashingReader::new(&b"hellO"[..], good.clone(), Some(5), "x")
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(err.to_string().contains("sha256"), "{err}");
        let err = HashingReader::new(&b"hello!"[..], good, Some(5), "x")
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(err.to_string().contains("longer"), "{err}");
    }
}
