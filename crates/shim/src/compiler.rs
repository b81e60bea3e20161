//! Precompilation: the first start of a Wasm-layer image compiles its
//! module, and containerd keeps the result in its content store, labelled
//! with [`HoistCompiler::cache_key`]; later starts load it without compiling.
//!
//! What is stored is a [`Stored`] blob: the hoist artifact and the module
//! it was compiled from. The key covers everything the code depends on (the
//! hoist build, target, CPU features, settings: `Engine::fingerprint`), so
//! another hoist build uses another label and compiles again; and should a
//! stored artifact reach a hoist that cannot run it anyway, the engine
//! refuses it (build id, target, features) and the module is recompiled
//! from the copy beside it. Such an artifact never runs.

use anyhow::{Context, Result};
use containerd_shim_wasm::sandbox::context::WasmLayer;
use containerd_shim_wasm::shim::Compiler;
use hoist::Engine;
use std::hash::Hash;

/// Compiles Wasm layers to hoist artifacts for containerd to keep.
pub struct HoistCompiler {
    engine: Engine,
}

impl HoistCompiler {
    /// A compiler for this machine, or `None` (no precompilation) if no
    /// engine can be made.
    pub fn new() -> Option<HoistCompiler> {
        match Engine::new(&hoist::Config::default()) {
            Ok(engine) => Some(HoistCompiler { engine }),
            Err(e) => {
                log::warn!("hoist: no precompilation: {e:#}");
                None
            }
        }
    }
}

impl Compiler for HoistCompiler {
    fn cache_key(&self) -> impl Hash {
        format!(
            "{} {}\n{}",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            self.engine.fingerprint()
        )
    }

    async fn compile(&self, layers: &[WasmLayer]) -> Result<Vec<Option<Vec<u8>>>> {
        let engine = self.engine.clone();
        // Layers that are already compiled (another image shares the blob)
        // or already an artifact stay as they are.
        let modules: Vec<Option<Vec<u8>>> = layers
            .iter()
            .map(|layer| {
                let compiled = layer.precompiled
                    || Stored::parse(&layer.layer).is_some()
                    || hoist::is_artifact(&layer.layer);
                (!compiled).then(|| layer.layer.clone())
            })
            .collect();
        tokio::task::spawn_blocking(move || {
            modules
                .into_iter()
                .map(|module| {
                    let wasm = module?;
                    // The stored blob keeps the module beside the artifact:
                    // the artifact need not carry the module's DWARF too.
                    match engine.precompile_module_for_cache(&wasm) {
                        Ok(artifact) => Some(Stored::encode(&wasm, &artifact)),
                        Err(e) => {
                            // The start that follows compiles it again and
                            // reports the error to the container's stderr.
                            log::warn!("hoist: cannot precompile a layer: {e:#}");
                            None
                        }
                    }
                })
                .collect()
        })
        .await
        .context("the compiling thread failed")
    }
}

/// A precompiled layer as stored: `MAGIC`, the module's length (u64, little
/// endian), the module, then the hoist artifact.
pub struct Stored<'a> {
    /// The module the artifact was compiled from (binary or text).
    pub wasm: &'a [u8],
    /// The hoist artifact.
    pub artifact: &'a [u8],
}

impl<'a> Stored<'a> {
    const MAGIC: &'static [u8; 8] = b"hoistpc\x01";

    /// The blob for `artifact` compiled from `wasm`.
    pub fn encode(wasm: &[u8], artifact: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + wasm.len() + artifact.len());
        out.extend_from_slice(Self::MAGIC);
        out.extend_from_slice(&(wasm.len() as u64).to_le_bytes());
        out.extend_from_slice(wasm);
        out.extend_from_slice(artifact);
        out
    }

    /// The parts of a stored blob, or `None` if `bytes` is not one.
    pub fn parse(bytes: &'a [u8]) -> Option<Stored<'a>> {
        let rest = bytes.strip_prefix(Self::MAGIC)?;
        let (len, rest) = rest.split_first_chunk::<8>()?;
        let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
        if len > rest.len() {
            return None;
        }
        let (wasm, artifact) = rest.split_at(len);
        Some(Stored { wasm, artifact })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_round_trip() {
        let blob = Stored::encode(b"\0asm\x01\0\0\0", b"ARTIFACT");
        let stored = Stored::parse(&blob).unwrap();
        assert_eq!(stored.wasm, b"\0asm\x01\0\0\0");
        assert_eq!(stored.artifact, b"ARTIFACT");
        assert!(Stored::parse(b"\0asm\x01\0\0\0").is_none());
        let mut short = blob.clone();
        short.truncate(20);
        assert!(Stored::parse(&short).is_none());
    }

    fn layer(bytes: &[u8], precompiled: bool) -> WasmLayer {
        let digest: oci_spec::image::Digest = format!("sha256:{}", "0".repeat(64)).parse().unwrap();
        WasmLayer {
            config: oci_spec::image::Descriptor::new(
                hoist_oci::WASM_LAYER_MEDIA_TYPES[0].into(),
                bytes.len() as u64,
                digest,
            ),
            precompiled,
            layer: bytes.to_vec(),
        }
    }

    #[test]
    fn compiles_modules_and_leaves_compiled_layers_alone() {
        let compiler = HoistCompiler::new().unwrap();
        let wasm = wat::parse_str("(module (func (export \"_start\")))").unwrap();
        let stored = Stored::encode(&wasm, &compiler.engine.precompile_module(&wasm).unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let out = runtime
            .block_on(compiler.compile(&[
                layer(&wasm, false),
                layer(&wasm, true),
                layer(&stored, false),
                layer(b"not wasm", false),
            ]))
            .unwrap();
        assert_eq!(out.len(), 4);
        let first = Stored::parse(out[0].as_deref().unwrap()).unwrap();
        assert_eq!(first.wasm, wasm);
        assert!(hoist::is_artifact(first.artifact));
        assert!(out[1].is_none() && out[2].is_none() && out[3].is_none());
    }

    #[test]
    fn the_key_follows_the_engine() {
        use std::hash::{DefaultHasher, Hasher};
        let hash = |c: &HoistCompiler| {
            let mut h = DefaultHasher::new();
            c.cache_key().hash(&mut h);
            h.finish()
        };
        let native = HoistCompiler::new().unwrap();
        let mut config = hoist::Config::default();
        config.cpu(hoist::Cpu::Baseline);
        let baseline = HoistCompiler {
            engine: Engine::new(&config).unwrap(),
        };
        assert_eq!(hash(&native), hash(&HoistCompiler::new().unwrap()));
        if native.engine.fingerprint() != baseline.engine.fingerprint() {
            assert_ne!(hash(&native), hash(&baseline));
        }
    }
}
