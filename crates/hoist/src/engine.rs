//! The engine: compiler settings, the signature registry and the host
//! trampolines, shared by every module and store made with it.

use anyhow::{anyhow, Result};
use hoist_cranelift::{build_isa, Compiler, CompilerOptions, OptLevel};
use hoist_environ::{Tunables, WasmFuncType};
use hoist_runtime::CodeMemory;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Settings for an [`Engine`].
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub(crate) compiler: CompilerOptions,
    pub(crate) tunables: Tunables,
}

impl Config {
    pub fn new() -> Self {
        Self::default()
    }

    /// How hard Cranelift optimizes (default: speed).
    pub fn opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.compiler.opt_level = level;
        self
    }

    /// Runs Cranelift's IR verifier on every function (for tests).
    pub fn verify(&mut self, on: bool) -> &mut Self {
        self.compiler.verify = on;
        self
    }

    /// Bytes of native stack wasm may use per call from the host.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.tunables.max_wasm_stack = bytes;
        self
    }
}

/// Compiles modules and owns what all stores of it share.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

pub(crate) struct EngineInner {
    pub(crate) compiler: Compiler,
    signatures: Mutex<SignatureRegistry>,
    host_trampolines: Mutex<HashMap<WasmFuncType, (Arc<CodeMemory>, u32)>>,
}

/// Engine-wide ids for function signatures, so `call_indirect` can compare
/// types across modules with one integer comparison.
#[derive(Default)]
struct SignatureRegistry {
    ids: HashMap<WasmFuncType, u32>,
    types: Vec<WasmFuncType>,
}

impl Engine {
    pub fn new(config: &Config) -> Result<Engine> {
        hoist_runtime::init_traps();
        let isa = build_isa(&config.compiler).map_err(|e| anyhow!(e))?;
        Ok(Engine {
            inner: Arc::new(EngineInner {
                compiler: Compiler::new(isa, config.tunables.clone()),
                signatures: Mutex::default(),
                host_trampolines: Mutex::default(),
            }),
        })
    }

    pub(crate) fn tunables(&self) -> &Tunables {
        self.inner.compiler.tunables()
    }

    /// The id of a signature, registering it on first use.
    pub(crate) fn signature_id(&self, ty: &WasmFuncType) -> u32 {
        let mut registry = self
            .inner
            .signatures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(id) = registry.ids.get(ty) {
            return *id;
        }
        let id = registry.types.len() as u32;
        registry.types.push(ty.clone());
        registry.ids.insert(ty.clone(), id);
        id
    }

    /// The signature registered under `id`.
    pub(crate) fn signature(&self, id: u32) -> Option<WasmFuncType> {
        let registry = self
            .inner
            .signatures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        registry.types.get(id as usize).cloned()
    }

    /// The wasm-to-host trampoline for host functions of type `ty`,
    /// compiled on first use and kept for the engine's life.
    pub(crate) fn host_trampoline(&self, ty: &WasmFuncType) -> Result<*const u8> {
        let mut cache = self
            .inner
            .host_trampolines
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((code, offset)) = cache.get(ty) {
            return Ok(code.address(*offset));
        }
        let compiled = self.inner.compiler.compile_host_trampoline(ty)?;
        let offset = compiled
            .wasm_to_array
            .expect("host trampoline text has its entry");
        let code = Arc::new(CodeMemory::new(&compiled.text, compiled.traps)?);
        let address = code.address(offset);
        cache.insert(ty.clone(), (code, offset));
        Ok(address)
    }
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::new(&Config::default()).expect("the host is a supported target")
    }
}
