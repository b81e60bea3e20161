//! Opening an image and saying what to run from it.

use crate::select::{self, LayerCheck};
use crate::store::{HashingReader, Sha256Hex, Store};
use crate::unpack::Unpacker;
use crate::{is_wasm_layer, Limits};
use anyhow::{bail, Context, Result};
use cap_std::fs::Dir;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Which of the two kinds of Wasm image this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    /// The module is a layer of its own (a media type of
    /// [`WASM_LAYER_MEDIA_TYPES`](crate::WASM_LAYER_MEDIA_TYPES)); the
    /// entrypoint only names it.
    WasmLayer,
    /// The entrypoint is a file in the root file system; `annotated` if the
    /// image carries `module.wasm.image/variant=compat` (it need not: an
    /// ordinary image whose entrypoint is Wasm runs too).
    Compat {
        /// The image is marked as a compat image.
        annotated: bool,
    },
}

/// An image unpacked into a temporary directory: its root file system, the
/// module of a Wasm layer if any, and its config. Everything is removed
/// when this is dropped.
pub struct Unpacked {
    dir: tempfile::TempDir,
    kind: ImageKind,
    platform: String,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    env: Vec<String>,
    working_dir: String,
    /// The Wasm layer, written beside the root file system.
    layer_module: Option<PathBuf>,
}

/// What to run from an image: the module (a private copy, outside the root
/// file system) and the guest's argv.
#[derive(Debug)]
pub struct Command {
    /// The module file: read it, not the image's copy (which a symbolic
    /// link could point anywhere).
    pub module: PathBuf,
    /// The module's path in the image, or the entrypoint that named it.
    pub module_in_image: String,
    /// The guest's argv: the image's entrypoint with its command (or the
    /// arguments that replace it); `argv[0]` as the image names it.
    pub argv: Vec<OsString>,
}

/// Opens the image at `path` (an OCI image layout directory, an archive of
/// one, or a `docker save` archive; tar or tar.gz), picks its wasi/wasm
/// image, and unpacks it into a new temporary directory.
pub fn unpack(path: &Path, limits: &Limits) -> Result<Unpacked> {
    let store = Store::open(path, limits)?;
    let chosen = select::choose(&store, limits)?;
    let dir = tempfile::Builder::new()
        .prefix("hoist-image-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let root = dir.path().join("rootfs");
    std::fs::create_dir(&root)?;
    std::fs::create_dir(dir.path().join("module"))?;
    let mut unpacker = Unpacker::new(&root, limits)?;
    let mut layer_module = None;
    let mut wasm_layers = 0;
    for (i, layer) in chosen.layers.iter().enumerate() {
        let what = || format!("layer {} ({})", i + 1, layer.media_type);
        if is_wasm_layer(&layer.media_type) {
            wasm_layers += 1;
            if wasm_layers > 1 {
                bail!("the image has more than one Wasm layer; hoist runs one module");
            }
            let LayerCheck::Blob { digest, size } = &layer.check else {
                bail!("{}: a Wasm layer in a `docker save` archive", what());
            };
            unpacker.charge(*size)?;
            let module = dir.path().join("module").join("layer.wasm");
            let mut reader = store.open_blob(digest, *size).with_context(what)?;
            let mut file = std::fs::File::create(&module)?;
            io::copy(&mut reader, &mut file).with_context(what)?;
            reader.finish().with_context(what)?;
            layer_module = Some(module);
            continue;
        }
        if !is_tar_layer(&layer.media_type) {
            // A config or other artifact beside the image: not part of the
            // file system.
            continue;
        }
        apply(&store, &mut unpacker, layer).with_context(what)?;
    }
    let config = chosen.config.config().clone().unwrap_or_default();
    let kind = if layer_module.is_some() {
        ImageKind::WasmLayer
    } else {
        ImageKind::Compat {
            annotated: chosen.compat_annotated,
        }
    };
    let working_dir = config
        .working_dir()
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".to_string());
    Ok(Unpacked {
        dir,
        kind,
        platform: format!("{}/{}", chosen.config.os(), chosen.config.architecture()),
        entrypoint: config.entrypoint().clone().unwrap_or_default(),
        cmd: config.cmd().clone().unwrap_or_default(),
        env: config.env().clone().unwrap_or_default(),
        working_dir,
        layer_module,
    })
}

fn is_tar_layer(media_type: &str) -> bool {
    media_type.contains(".tar") || media_type.contains("rootfs.diff")
}

/// Applies one tar layer, compressed or not, checked against its digest:
/// an OCI blob as stored, a `docker save` layer against the config's digest
/// of the uncompressed tar.
fn apply(store: &Store, unpacker: &mut Unpacker, layer: &select::Layer) -> Result<()> {
    match &layer.check {
        LayerCheck::Blob { digest, size } => {
            let mut raw = BufReader::new(store.open_blob(digest, *size)?);
            apply_stream(&mut raw, unpacker, None, &layer.name)?;
            // The rest of the blob (padding, what follows the gzip
            // trailer) goes through the digest check too.
            raw.into_inner().finish()?;
        }
        LayerCheck::DiffId(diff_id) => {
            let mut raw = BufReader::new(store.open_file(&layer.name)?.0);
            apply_stream(&mut raw, unpacker, diff_id.as_ref(), &layer.name)?;
        }
    }
    Ok(())
}

fn apply_stream(
    raw: &mut impl BufRead,
    unpacker: &mut Unpacker,
    diff_id: Option<&Sha256Hex>,
    name: &str,
) -> Result<()> {
    let head = raw.fill_buf()?;
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        bail!("zstd-compressed layers are not supported; recompress the image with gzip");
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut tar = flate2::bufread::GzDecoder::new(raw);
        apply_tar(&mut tar, unpacker, diff_id, name)
    } else {
        apply_tar(raw, unpacker, diff_id, name)
    }
}

fn apply_tar(
    tar: &mut impl Read,
    unpacker: &mut Unpacker,
    diff_id: Option<&Sha256Hex>,
    name: &str,
) -> Result<()> {
    match diff_id {
        Some(diff_id) => {
            let mut checked = HashingReader::new(tar, diff_id.clone(), None, name);
            unpacker.apply_layer(&mut checked)?;
            checked.finish()?;
        }
        None => {
            unpacker.apply_layer(&mut *tar)?;
            io::copy(tar, &mut io::sink())?;
        }
    }
    Ok(())
}

impl Unpacked {
    /// The root file system.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// Which kind of Wasm image this is.
    pub fn kind(&self) -> ImageKind {
        self.kind
    }

    /// The image's platform, `os/architecture` (`wasip1/wasm`, say).
    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// The image config's environment, `NAME=VALUE` entries.
    pub fn env(&self) -> &[String] {
        &self.env
    }

    /// The image config's working directory (`/` if it names none).
    pub fn working_dir(&self) -> &str {
        &self.working_dir
    }

    /// What to run: the entrypoint with `args`, or with the image's command
    /// when `args` is empty (as `docker run IMAGE [ARGS]`).
    pub fn command(&self, args: &[OsString]) -> Result<Command> {
        let mut argv: Vec<OsString> = self.entrypoint.iter().map(OsString::from).collect();
        if args.is_empty() {
            argv.extend(self.cmd.iter().map(OsString::from));
        } else {
            argv.extend(args.iter().cloned());
        }
        if let Some(module) = &self.layer_module {
            // The entrypoint only names the module of a Wasm layer.
            let named = argv
                .first()
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_else(|| "module.wasm".to_string());
            let (named, _) = split_function(&named)?;
            let named = named.to_string();
            if argv.is_empty() {
                argv.push(OsString::from(&named));
            } else {
                argv[0] = OsString::from(&named);
            }
            return Ok(Command {
                module: module.clone(),
                module_in_image: named,
                argv,
            });
        }
        let Some(first) = argv.first() else {
            bail!("the image names no entrypoint: its config has neither Entrypoint nor Cmd");
        };
        let Some(first) = first.to_str() else {
            bail!(
                "the image's entrypoint `{}` is not UTF-8",
                first.to_string_lossy()
            );
        };
        let (path, _) = split_function(first)?;
        let path = path.to_string();
        argv[0] = OsString::from(&path);
        let root = Dir::open_ambient_dir(self.root(), cap_std::ambient_authority())?;
        let found = self.resolve(&root, &path)?;
        let file_name = Path::new(&found)
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| OsString::from("module.wasm"));
        let module = self.dir.path().join("module").join(file_name);
        copy_module(&root, &found, &module)
            .with_context(|| format!("cannot read the image's entrypoint `{path}`"))?;
        Ok(Command {
            module,
            module_in_image: format!("/{}", found.display()),
            argv,
        })
    }

    /// Finds the entrypoint in the root file system as a container runtime
    /// does: a path with a `/` from the working directory, a bare name on
    /// the image's `PATH` (then in the working directory).
    fn resolve(&self, root: &Dir, path: &str) -> Result<PathBuf> {
        let working = Path::new(self.working_dir.trim_start_matches('/'));
        let mut tried = Vec::new();
        if path.contains('/') {
            let rel = if let Some(abs) = path.strip_prefix('/') {
                PathBuf::from(abs.trim_start_matches('/'))
            } else {
                working.join(path)
            };
            tried.push(rel);
        } else {
            let search = self
                .env
                .iter()
                .rev()
                .find_map(|e| e.strip_prefix("PATH="))
                .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            for dir in search.split(':').filter(|d| !d.is_empty()) {
                tried.push(Path::new(dir.trim_start_matches('/')).join(path));
            }
            tried.push(working.join(path));
        }
        for candidate in &tried {
            if root.metadata(candidate).is_ok_and(|m| m.is_file()) {
                return Ok(candidate.clone());
            }
        }
        bail!(
            "the image's entrypoint `{path}` is not a file in its root file system (looked for {})",
            tried
                .iter()
                .map(|p| format!("/{}", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// `path#function` (runwasi's way to name the export to call): only
/// `_start` is run here.
fn split_function(entry: &str) -> Result<(&str, &str)> {
    match entry.split_once('#') {
        None => Ok((entry, "_start")),
        Some((path, "_start")) => Ok((path, "_start")),
        Some((_, function)) => bail!(
            "the image's entrypoint `{entry}` names the export `{function}`; `hoist run --image` \
             runs `_start` (call other exports with `--invoke`)"
        ),
    }
}

/// Copies the entrypoint out of the root file system, through cap-std: a
/// symbolic link that leads out of the root is refused.
fn copy_module(root: &Dir, from: &Path, to: &Path) -> Result<()> {
    let mut source = root.open(from).map_err(|e| {
        if e.to_string().contains("outside") {
            anyhow::anyhow!("it is a symbolic link that leads outside the image's root file system")
        } else {
            e.into()
        }
    })?;
    let mut out = std::fs::File::create(to)?;
    io::copy(&mut source, &mut out)?;
    Ok(())
}
