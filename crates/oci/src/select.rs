//! Which image of an archive or layout to run: the only one, or the
//! wasi/wasm one of a multi-platform index.

use crate::store::{Sha256Hex, Store};
use crate::{Limits, COMPAT_ANNOTATION, COMPAT_VARIANT};
use anyhow::{bail, Context, Result};
use oci_spec::image::{Arch, Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use serde::Deserialize;
use std::collections::HashMap;

/// Index levels followed below `index.json` (an index of indexes is
/// common: `docker buildx --output type=oci`; deeper is not).
const MAX_INDEX_DEPTH: usize = 4;

const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// One layer of the chosen image and how to check it.
pub(crate) struct Layer {
    /// The file in the store.
    pub(crate) name: String,
    pub(crate) media_type: String,
    pub(crate) check: LayerCheck,
}

pub(crate) enum LayerCheck {
    /// An OCI blob: its digest and size, of the bytes as stored.
    Blob { digest: Sha256Hex, size: u64 },
    /// A `docker save` layer: the digest of its uncompressed tar (the
    /// config's `diff_ids`), when the config gives one.
    DiffId(Option<Sha256Hex>),
}

/// The chosen image: its config and layers, and what marks it.
pub(crate) struct Chosen {
    pub(crate) config: ImageConfiguration,
    pub(crate) layers: Vec<Layer>,
    /// The compat annotation is on the manifest, its index entry, or the
    /// config's labels.
    pub(crate) compat_annotated: bool,
}

/// An image manifest found by walking the index, with what its index entry
/// said.
struct Candidate {
    descriptor: Descriptor,
}

/// Chooses the image to run from `store`.
pub(crate) fn choose(store: &Store, limits: &Limits) -> Result<Chosen> {
    if store.contains("index.json") {
        choose_oci(store, limits)
    } else if store.contains("manifest.json") {
        choose_docker(store, limits)
    } else {
        bail!("not an OCI image layout or `docker save` archive: it has neither `index.json` nor `manifest.json`")
    }
}

fn choose_oci(store: &Store, limits: &Limits) -> Result<Chosen> {
    let bytes = store.read_document("index.json", None, limits.max_document_bytes)?;
    let index: ImageIndex =
        serde_json::from_slice(&bytes).context("`index.json` is not an OCI image index")?;
    let mut candidates = Vec::new();
    walk(store, limits, index.manifests(), 0, &mut candidates)?;
    if candidates.is_empty() {
        bail!("the image index lists no image manifest");
    }
    let chosen = if candidates.len() == 1 {
        candidates.remove(0)
    } else {
        let mut platforms = Vec::new();
        let mut wasm = None;
        for candidate in candidates {
            let (arch, os) = match candidate.descriptor.platform() {
                Some(p) => (p.architecture().to_string(), p.os().to_string()),
                // No platform in the index: the config says.
                None => {
                    let (_, config) = read_manifest(store, &candidate.descriptor, limits)?;
                    (config.architecture().to_string(), config.os().to_string())
                }
            };
            if arch == Arch::Wasm.to_string() {
                wasm = Some(candidate);
                break;
            }
            platforms.push(format!("{os}/{arch}"));
        }
        match wasm {
            Some(candidate) => candidate,
            None => bail!(
                "the image index has no wasi/wasm image (it has {})",
                platforms.join(", ")
            ),
        }
    };
    let (manifest, config) = read_manifest(store, &chosen.descriptor, limits)?;
    let mut layers = Vec::new();
    for layer in manifest.layers() {
        let digest = Sha256Hex::parse(layer.digest().as_ref())?;
        layers.push(Layer {
            name: digest.blob_name(),
            media_type: layer.media_type().to_string(),
            check: LayerCheck::Blob {
                digest,
                size: layer.size(),
            },
        });
    }
    let compat_annotated = is_compat(chosen.descriptor.annotations().as_ref())
        || is_compat(manifest.annotations().as_ref())
        || is_compat(config.config().as_ref().and_then(|c| c.labels().as_ref()));
    Ok(Chosen {
        config,
        layers,
        compat_annotated,
    })
}

fn is_compat(annotations: Option<&HashMap<String, String>>) -> bool {
    annotations
        .and_then(|a| a.get(COMPAT_ANNOTATION))
        .is_some_and(|v| v == COMPAT_VARIANT)
}

/// Collects the image manifests below `descriptors`, following indexes.
fn walk(
    store: &Store,
    limits: &Limits,
    descriptors: &[Descriptor],
    depth: usize,
    out: &mut Vec<Candidate>,
) -> Result<()> {
    for descriptor in descriptors {
        let media_type = descriptor.media_type().to_string();
        // BuildKit's attestations are manifests for platform unknown/unknown.
        let attestation = descriptor
            .annotations()
            .as_ref()
            .and_then(|a| a.get("vnd.docker.reference.type"))
            .is_some_and(|t| t == "attestation-manifest");
        if attestation {
            continue;
        }
        if INDEX_TYPES.contains(&media_type.as_str()) {
            if depth >= MAX_INDEX_DEPTH {
                bail!("the image nests indexes more than {MAX_INDEX_DEPTH} deep");
            }
            let digest = Sha256Hex::parse(descriptor.digest().as_ref())?;
            let bytes = read_blob_document(store, &digest, descriptor.size(), limits)?;
            let index: ImageIndex = serde_json::from_slice(&bytes)
                .with_context(|| format!("blob {digest} is not an image index"))?;
            walk(store, limits, index.manifests(), depth + 1, out)?;
        } else if MANIFEST_TYPES.contains(&media_type.as_str()) {
            out.push(Candidate {
                descriptor: descriptor.clone(),
            });
        }
        // Anything else (an artifact, a signature) is not an image to run.
    }
    Ok(())
}

fn read_blob_document(
    store: &Store,
    digest: &Sha256Hex,
    size: u64,
    limits: &Limits,
) -> Result<Vec<u8>> {
    if size > limits.max_document_bytes {
        bail!(
            "blob {digest} is {size} bytes, more than the {} a document may have",
            limits.max_document_bytes
        );
    }
    store.read_document(&digest.blob_name(), Some(digest), limits.max_document_bytes)
}

fn read_manifest(
    store: &Store,
    descriptor: &Descriptor,
    limits: &Limits,
) -> Result<(ImageManifest, ImageConfiguration)> {
    let digest = Sha256Hex::parse(descriptor.digest().as_ref())?;
    let bytes = read_blob_document(store, &digest, descriptor.size(), limits)?;
    let manifest: ImageManifest = serde_json::from_slice(&bytes)
        .with_context(|| format!("blob {digest} is not an image manifest"))?;
    let config_digest = Sha256Hex::parse(manifest.config().digest().as_ref())?;
    let bytes = read_blob_document(store, &config_digest, manifest.config().size(), limits)?;
    let config: ImageConfiguration = serde_json::from_slice(&bytes)
        .with_context(|| format!("blob {config_digest} is not an image config"))?;
    Ok((manifest, config))
}

/// One image of a `docker save` archive's `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerImage {
    config: String,
    #[serde(default)]
    layers: Vec<String>,
}

fn choose_docker(store: &Store, limits: &Limits) -> Result<Chosen> {
    let bytes = store.read_document("manifest.json", None, limits.max_document_bytes)?;
    let images: Vec<DockerImage> = serde_json::from_slice(&bytes)
        .context("`manifest.json` is not a `docker save` manifest")?;
    if images.is_empty() {
        bail!("`manifest.json` lists no image");
    }
    let mut platforms = Vec::new();
    let mut configs = Vec::new();
    for image in &images {
        // `<hex>.json` (before Docker 25) or `blobs/sha256/<hex>`: either
        // way the name is the config's digest.
        let stem = image
            .config
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".json");
        let digest = Sha256Hex::parse(&format!("sha256:{stem}")).ok();
        let bytes =
            store.read_document(&image.config, digest.as_ref(), limits.max_document_bytes)?;
        let config: ImageConfiguration = serde_json::from_slice(&bytes)
            .with_context(|| format!("`{}` is not an image config", image.config))?;
        platforms.push(format!("{}/{}", config.os(), config.architecture()));
        configs.push(config);
    }
    let pick = if images.len() == 1 {
        0
    } else {
        match configs.iter().position(|c| *c.architecture() == Arch::Wasm) {
            Some(i) => i,
            None => bail!(
                "the archive has no wasi/wasm image (it has {})",
                platforms.join(", ")
            ),
        }
    };
    let config = configs.swap_remove(pick);
    let image = &images[pick];
    let diff_ids = config.rootfs().diff_ids();
    let layers = image
        .layers
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Ok(Layer {
                name: name.clone(),
                media_type: "application/vnd.docker.image.rootfs.diff.tar".to_string(),
                check: LayerCheck::DiffId(match diff_ids.get(i) {
                    Some(d) => Some(Sha256Hex::parse(d)?),
                    None => None,
                }),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let compat_annotated = is_compat(config.config().as_ref().and_then(|c| c.labels().as_ref()));
    Ok(Chosen {
        config,
        layers,
        compat_annotated,
    })
}
