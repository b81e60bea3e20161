//! Compiled modules, and loading them from artifacts.

use crate::artifact::{self, Artifact};
use crate::engine::Engine;
use crate::types::{ExternType, FuncType, GlobalType, MemoryType, TableType};
use anyhow::{bail, Context, Result};
use hoist_environ::{EntityRef, EntityType, VMOffsets};
use hoist_runtime::{CodeMemory, ImageSource, MemoryImageRef, ModuleCode};
use std::path::Path;
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

/// Translates and compiles `wasm`, returning the artifact image and the
/// module model (so a JIT load need not parse the module again).
pub(crate) fn compile(engine: &Engine, wasm: &[u8]) -> Result<(Vec<u8>, hoist_environ::Module)> {
    if artifact::is_artifact(wasm) {
        bail!("this is a compiled hoist artifact, not a WebAssembly module");
    }
    let wasm = wat::parse_bytes(wasm).context("failed to parse the WebAssembly text")?;
    let hoist_environ::ModuleTranslation {
        module,
        function_bodies,
    } = hoist_environ::translate_module_with_features(&wasm, engine.inner.features)?;
    let compiler = &engine.inner.compiler;
    let compiled = compiler.compile_module(&module, function_bodies)?;
    let images = hoist_environ::memory_images(&module);
    let image = artifact::write(
        architecture(engine)?,
        &engine.inner.info,
        &compiled,
        &wasm,
        &images,
    )?;
    Ok((image, module))
}

fn architecture(engine: &Engine) -> Result<object::Architecture> {
    Ok(match engine.target().architecture {
        target_lexicon::Architecture::X86_64 => object::Architecture::X86_64,
        target_lexicon::Architecture::Aarch64(_) => object::Architecture::Aarch64,
        target_lexicon::Architecture::Riscv64(_) => object::Architecture::Riscv64,
        other => bail!("hoist does not compile for {other}"),
    })
}

impl Module {
    /// Compiles a module from its binary or text (`.wat`) form.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        Module::from_binary(engine, bytes.as_ref())
    }

    /// Compiles a module from its binary (or text) form.
    pub fn from_binary(engine: &Engine, wasm: &[u8]) -> Result<Module> {
        if !engine.can_run() {
            bail!("this engine compiles for {} and cannot run code here; use Engine::precompile_module", engine.target());
        }
        let (image, module) = compile(engine, wasm)?;
        Module::load(engine, &image, Some(module), None)
    }

    /// Loads an artifact image made by [`Engine::precompile_module`] or
    /// `hoist compile`.
    ///
    /// An artifact is native code that will run as is: only load images
    /// you made or trust. The image is checked (format, checksum, hoist
    /// version, target, flags, CPU features) and refused with a plain
    /// explanation when it cannot run here.
    pub fn deserialize(engine: &Engine, image: &[u8]) -> Result<Module> {
        Module::load(engine, image, None, None)
    }

    /// [`Module::deserialize`] from a file, which is mapped, not read.
    pub fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)
            .with_context(|| format!("failed to open `{}`", path.display()))?;
        Module::deserialize_open_file(engine, file)
            .with_context(|| format!("cannot run `{}`", path.display()))
    }

    /// [`Module::deserialize_file`] from a file already open, so a caller
    /// that inspected it loads exactly what it inspected.
    pub fn deserialize_open_file(engine: &Engine, file: std::fs::File) -> Result<Module> {
        // SAFETY: the mapping is private and read-only; if another process
        // truncates the file meanwhile, reads may fault, as with any mapped
        // file. The checksum check below catches concurrent modification.
        let map = unsafe { memmap2::Mmap::map(&file) }.context("failed to map the artifact")?;
        Module::load(engine, &map, None, Some(Arc::new(file)))
    }

    /// Loads an image; with `file` (the image's file, mapped), code and
    /// memory images are mapped from it instead of copied.
    fn load(
        engine: &Engine,
        image: &[u8],
        module: Option<hoist_environ::Module>,
        file: Option<Arc<std::fs::File>>,
    ) -> Result<Module> {
        let Artifact {
            engine: info,
            text,
            text_file_offset,
            compiled,
            wasm,
            images,
            data,
            data_file_offset,
        } = artifact::read(image)?;
        engine.check_compatible(&info)?;
        let module = match module {
            Some(module) => module,
            None => {
                hoist_environ::translate_module_with_features(wasm, engine.inner.features)
                    .context("damaged artifact: its module does not parse")?
                    .module
            }
        };
        if compiled.functions.len() != module.num_defined_funcs() {
            bail!(
                "damaged artifact: code for {} functions, module defines {}",
                compiled.functions.len(),
                module.num_defined_funcs()
            );
        }
        let module = Arc::new(module);
        let code = match &file {
            // SAFETY: the artifact passed its checks, so `.text` is code for
            // this host; hoist replaces artifact files only by renaming.
            Some(file) => unsafe {
                CodeMemory::from_file(file, text_file_offset, text.len(), compiled.traps)
            },
            None => CodeMemory::new(text, compiled.traps),
        };
        let code = Arc::new(code.context("mapping compiled code")?);
        // Without a file the images are copied from a shared buffer.
        let shared_data: Option<Arc<[u8]>> = file.is_none().then(|| Arc::from(data));
        let memory_images = images
            .iter()
            .filter(|i| {
                i.memory.index() < module.memories.len()
                    && module.defined_memory_index(i.memory).is_some()
            })
            .map(|i| MemoryImageRef {
                memory: i.memory,
                offset: i.offset,
                len: i.len as usize,
                source: match (&file, &shared_data) {
                    (Some(file), _) => {
                        ImageSource::File(file.clone(), data_file_offset + i.section_offset)
                    }
                    (None, Some(bytes)) => ImageSource::Bytes(Arc::from(
                        &bytes[i.section_offset as usize..(i.section_offset + i.len) as usize],
                    )),
                    (None, None) => unreachable!("bytes are kept when there is no file"),
                },
            })
            .collect();
        let offsets = VMOffsets::new(engine.inner.compiler.isa().pointer_bytes(), &module);
        let array_to_wasm = module
            .types
            .keys()
            .map(|ty| compiled.array_to_wasm.get(&ty).copied())
            .collect();
        let import_trampolines = module
            .types
            .keys()
            .map(|ty| compiled.import_trampolines.get(&ty).copied())
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
                    import_trampolines,
                    function_ends,
                    address_map: compiled.address_map,
                    memory_images,
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
