//! Compiled modules.

use crate::engine::Engine;
use crate::types::{ExternType, FuncType, GlobalType, MemoryType, TableType};
use anyhow::{Context, Result};
use hoist_environ::{EntityType, VMOffsets};
use hoist_runtime::{CodeMemory, ModuleCode};
use std::sync::Arc;

/// A validated, compiled module, ready to instantiate in any store of its engine.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    pub(crate) code: Arc<ModuleCode>,
    /// Engine-wide signature id of each type in the type section.
    pub(crate) type_ids: Vec<u32>,
}

impl Module {
    /// Compiles a module from its binary or text (`.wat`) form.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = bytes.as_ref();
        let binary = wat::parse_bytes(bytes).context("failed to parse the WebAssembly text")?;
        Module::from_binary(engine, &binary)
    }

    /// Compiles a module from its binary form.
    pub fn from_binary(engine: &Engine, wasm: &[u8]) -> Result<Module> {
        let hoist_environ::ModuleTranslation {
            module,
            function_bodies,
        } = hoist_environ::translate_module(wasm)?;
        let module = Arc::new(module);
        let compiler = &engine.inner.compiler;
        let compiled = compiler.compile_module(&module, function_bodies)?;
        let code = Arc::new(
            CodeMemory::new(&compiled.text, compiled.traps).context("mapping compiled code")?,
        );
        let offsets = VMOffsets::new(compiler.isa().pointer_bytes(), &module);
        let array_to_wasm = module
            .types
            .keys()
            .map(|ty| compiled.array_to_wasm.get(&ty).copied())
            .collect();
        let functions = compiled.functions.iter().map(|f| f.start).collect();
        let function_ends = compiled
            .functions
            .iter()
            .map(|f| f.start + f.length)
            .collect();
        let type_ids = module
            .types
            .values()
            .map(|ty| engine.signature_id(ty))
            .collect();
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                code: Arc::new(ModuleCode {
                    module,
                    offsets,
                    code,
                    functions,
                    array_to_wasm,
                    function_ends,
                    address_map: compiled.address_map,
                }),
                type_ids,
            }),
        })
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.code.module.name.as_deref()
    }

    /// `(module, name, type)` of each import, in order.
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str, ExternType)> + '_ {
        let module = &self.inner.code.module;
        module.imports.iter().map(move |import| {
            (
                import.module.as_str(),
                import.field.as_str(),
                extern_type(module.entity_type(import.index)),
            )
        })
    }

    /// `(name, type)` of each export, in order.
    pub fn exports(&self) -> impl Iterator<Item = (&str, ExternType)> + '_ {
        let module = &self.inner.code.module;
        module
            .exports
            .iter()
            .map(move |(name, index)| (name.as_str(), extern_type(module.entity_type(*index))))
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }
}

pub(crate) fn extern_type(ty: EntityType) -> ExternType {
    match ty {
        EntityType::Function(f) => ExternType::Func(FuncType::from_wasm(&f)),
        EntityType::Global(g) => ExternType::Global(GlobalType::from_wasm(&g)),
        EntityType::Table(t) => ExternType::Table(TableType { ty: t }),
        EntityType::Memory(m) => ExternType::Memory(MemoryType { ty: m }),
    }
}
