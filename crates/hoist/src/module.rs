//! Compiled modules, and loading them from artifacts.

use crate::engine::Engine;
use crate::type_registry::{to_engine_ref, to_engine_val};
use crate::types::{ExternType, FuncType, GlobalType, MemoryType, TableType, TagType};
use crate::SharedBytes;
use anyhow::{bail, Context, Result};
use hoist_artifact::SideCheck;
use hoist_artifact::{Artifact, ArtifactParts, Digest};
use hoist_environ::{EntityRef, EntityType, MemoryIndex, VMOffsets};
use hoist_runtime::{CodeMemory, CodeTables, ImageBuffer, MemoryImageRef, ModuleCode, TrapTable};
use std::borrow::Cow;
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
    /// BLAKE3 of the module binary this was compiled from.
    digest: Digest,
    /// A lazily compiled module's compiles on first call (see
    /// [`crate::LazyActivity`]).
    lazy_activity: Option<Arc<crate::lazy::LazyActivity>>,
    /// A lazily compiled module's compiler (also `code.lazy`, untyped).
    lazy: Option<Arc<crate::lazy::LazyCode>>,
}

/// What a lazily compiled module keeps to compile its functions: the module
/// binary, where each body is in it, and the validator's resources.
type LazyParts = (
    crate::SharedBytes,
    Vec<crate::lazy::LazyBody>,
    Option<wasmparser::ValidatorResources>,
);

/// The machine code of one function a module defines (see
/// [`Module::function_code`]).
#[derive(Debug, Clone)]
pub struct FunctionCode {
    pub func_index: u32,
    /// The function's name from the name section.
    pub name: Option<String>,
    /// Where its code starts in this process.
    pub address: usize,
    /// Its length in bytes.
    pub len: usize,
    /// A lazily compiled function's first-call code (the baseline tier,
    /// compiled fast, counting its hotness); `false` for its tier-up's
    /// optimized code and for a module compiled whole.
    pub baseline: bool,
}

/// Translates and compiles `wasm`, returning the artifact image and the
/// module model (so a JIT load need not parse the module again). With
/// `debug_sections`, the image keeps the module's DWARF.
pub(crate) fn compile(
    engine: &Engine,
    wasm: &[u8],
    debug_sections: bool,
) -> Result<(Vec<u8>, hoist_environ::Module)> {
    let (image, module, _) = compile_image(engine, wasm, Compile::Whole, debug_sections)?;
    Ok((image, module))
}

/// What [`compile_image`] compiles.
enum Compile<'a> {
    /// Every function.
    Whole,
    /// Only the trampolines and compile stubs, after validating every body;
    /// what compiling the functions later needs is returned too. `shared`:
    /// the caller's own copy of the bytes, which the module then keeps
    /// (else it keeps a copy).
    Lazy { shared: Option<&'a SharedBytes> },
}

/// Parses (text too), translates and compiles `bytes` into an artifact
/// image (see [`Compile`]). `debug_sections`: see
/// `hoist_artifact::skeleton`.
fn compile_image(
    engine: &Engine,
    bytes: &[u8],
    how: Compile<'_>,
    debug_sections: bool,
) -> Result<(Vec<u8>, hoist_environ::Module, Option<LazyParts>)> {
    let lazy = matches!(how, Compile::Lazy { .. });
    if hoist_artifact::is_artifact(bytes) {
        bail!("this is a compiled hoist artifact, not a WebAssembly module");
    }
    let wasm = wat::parse_bytes(bytes).context("failed to parse the WebAssembly text")?;
    let hoist_environ::ModuleTranslation {
        module,
        function_bodies,
    } = hoist_environ::translate_module_with_features(&wasm, engine.inner.features)?;
    let compiler = &engine.inner.compiler;
    let (compiled, lazy) = if lazy {
        let bodies = function_bodies.into_iter().map(|(_, b)| b).collect();
        let (bodies, resources) = crate::lazy::validate_bodies(bodies)?;
        (
            compiler.compile_lazy_module(&module)?,
            Some((bodies, resources)),
        )
    } else {
        (compiler.compile_module(&module, function_bodies)?, None)
    };
    let images = hoist_environ::memory_images(&module);
    let image = hoist_artifact::write(&ArtifactParts {
        architecture: architecture(engine)?,
        engine: &engine.inner.info,
        compiled: &compiled,
        wasm: &wasm,
        images: &images,
        debug_sections,
        keep_imaged_segments: hoist_environ::may_trap_before_data(&module),
    })?;
    let lazy = lazy.map(|(bodies, resources)| {
        let kept: SharedBytes = match (wasm, how) {
            // The binary as given, which the caller shares: no copy (a
            // copy of CPython's 26 MB took 15 ms).
            (
                Cow::Borrowed(_),
                Compile::Lazy {
                    shared: Some(shared),
                },
            ) => shared.clone(),
            (wasm, _) => SharedBytes::from(wasm.into_owned()),
        };
        (kept, bodies, resources)
    });
    Ok((image, module, lazy))
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
        if engine.inner.lazy_compilation {
            return Module::new_lazy(engine, wasm);
        }
        if !engine.can_run() {
            bail!("this engine compiles for {} and cannot run code here; use Engine::precompile_module", engine.target());
        }
        // The image lives in memory only: nothing reads its DWARF (the
        // CLI's backtraces read the module they were given).
        let (image, module) = compile(engine, wasm, false)?;
        let buffer = ImageBuffer::from_bytes(&image).context("copying compiled code")?;
        // Made in this process a moment ago: its digest needs no check.
        Module::load_checked(engine, buffer, Some(module), None, false, None)
    }

    /// Compiles a module lazily: validates all of it (so an invalid module
    /// is refused here, as by [`Module::new`]), compiles its trampolines and
    /// one small stub per function, and leaves each function to be compiled
    /// the first time it is called, on the calling thread. Start-up is then
    /// as fast as the functions a run needs; a failed compile of one
    /// function (a Cranelift limit, say) is an error of the call that
    /// needed it. Calls between the module's functions go through their
    /// funcrefs, slightly slower than the linked code [`Module::new`]
    /// makes; funcref identity is the same before and after compiling.
    pub fn new_lazy(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        Module::lazy(engine, bytes.as_ref(), None)
    }

    /// [`Module::new_lazy`] of bytes the module keeps, shared, for the
    /// compiles of its functions, where [`Module::new_lazy`] keeps a copy.
    /// [`SharedBytes`] holds only memory nothing else can write, so what
    /// was validated is what each function's compile reads.
    pub fn new_lazy_shared(engine: &Engine, bytes: SharedBytes) -> Result<Module> {
        Module::lazy(engine, bytes.as_slice(), Some(&bytes))
    }

    fn lazy(engine: &Engine, bytes: &[u8], shared: Option<&SharedBytes>) -> Result<Module> {
        if !engine.can_run() {
            bail!("this engine compiles for {} and cannot run code here; use Engine::precompile_module", engine.target());
        }
        let (image, module, lazy) = compile_image(engine, bytes, Compile::Lazy { shared }, false)?;
        let buffer = ImageBuffer::from_bytes(&image).context("copying compiled code")?;
        // Made in this process a moment ago: its digest needs no check.
        Module::load_checked(engine, buffer, Some(module), lazy, false, None)
    }

    /// Whether this module compiles its functions on first call
    /// ([`Module::new_lazy`]).
    pub fn is_lazy(&self) -> bool {
        self.inner.code.lazy.is_some()
    }

    /// Switches a lazily compiled module to `optimized`, a full compile of
    /// the same module binary by the same engine (as the background compile
    /// of a lazy first run makes for the cache): from now on its instances'
    /// calls through funcrefs (every call of lazily compiled code, tables,
    /// `call_ref`, exports) run `optimized`'s code, and functions not yet
    /// compiled are not compiled any more. Frames already running finish
    /// in the code they are in; funcref identity does not change.
    /// `optimized` is kept as long as this module.
    ///
    /// # Errors
    /// If this module is not compiled lazily, `optimized` is, the engines
    /// differ, the module binaries differ (digest), or this module was
    /// already switched.
    pub fn tier_up(&self, optimized: &Module) -> Result<()> {
        let Some(lazy) = &self.inner.lazy else {
            bail!("only a lazily compiled module can switch to a full compile");
        };
        if optimized.is_lazy() {
            bail!("the module to switch to is compiled lazily itself");
        }
        if !self.inner.engine.same(&optimized.inner.engine) {
            bail!("the full compile comes from another engine");
        }
        if self.inner.digest != optimized.inner.digest {
            bail!("the full compile is of another module binary");
        }
        let target = optimized.inner.code.clone();
        if target.functions.len() != self.inner.code.functions.len()
            || target.offsets.size_of_vmctx() != self.inner.code.offsets.size_of_vmctx()
        {
            bail!("the full compile does not match this module's layout");
        }
        lazy.tier_up(optimized.clone())?;
        // SAFETY: the entries are `optimized`'s, which compiles this module
        // binary with this engine (same digest and engine, so the same vmctx
        // layout and calling convention), and `lazy` (which this module's
        // code holds as long as it lives) now keeps `optimized`, and so its
        // text, mapped.
        unsafe {
            self.inner
                .code
                .repoint_funcrefs(|index| lazy.tiered_code(index));
        }
        Ok(())
    }

    /// Whether this lazily compiled module has switched to a full compile
    /// ([`Module::tier_up`]).
    pub fn is_tiered_up(&self) -> bool {
        self.inner
            .lazy
            .as_ref()
            .is_some_and(|lazy| lazy.is_tiered_up())
    }

    /// For a lazily compiled module, how recently its program compiled a
    /// function on its first call (see [`crate::LazyActivity`]); `None` for
    /// a compiled one. It holds nothing of the module.
    pub fn lazy_activity(&self) -> Option<Arc<crate::LazyActivity>> {
        self.inner.lazy_activity.clone()
    }

    /// Loads an artifact image made by [`Engine::precompile_module`] or
    /// `hoist compile`.
    ///
    /// An artifact is native code that will run as is: only load images
    /// you made or trust. The image is checked (format, digest, build,
    /// target, flags, CPU features, tables) and refused with a plain
    /// explanation when it cannot run here. It is copied first, so later
    /// changes to `image` change nothing.
    pub fn deserialize(engine: &Engine, image: &[u8]) -> Result<Module> {
        let buffer = ImageBuffer::from_bytes(image).context("copying the artifact")?;
        Module::load(engine, buffer)
    }

    /// [`Module::deserialize`] from a file. The file is read, not mapped:
    /// code runs from hoist's own copy, so writing the file while it runs
    /// (or truncating it) changes nothing that runs. (A big artifact's
    /// memory images are read from the file at each instantiation, and its
    /// address map on the first backtrace, each checked against its
    /// digest: a changed image fails the instantiation, a changed map
    /// gives frames without wasm offsets. Each instantiation reads and
    /// hashes the images again: CPython's 7.5 MB, a few milliseconds.)
    pub fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)
            .with_context(|| format!("failed to open `{}`", path.display()))?;
        Module::deserialize_open_file(engine, file)
            .with_context(|| format!("cannot run `{}`", path.display()))
    }

    /// [`Module::deserialize_file`] from a file already open. The module's
    /// DWARF, if the artifact kept it, is not read (nothing here uses it);
    /// in a file of 1 MiB or more, neither are the memory images until an
    /// instantiation reads them into its memories, nor the address map
    /// until a backtrace needs it, and the module keeps a descriptor of
    /// the file for that.
    pub fn deserialize_open_file(engine: &Engine, mut file: std::fs::File) -> Result<Module> {
        let buffer = ImageBuffer::read_file_except(&mut file, hoist_artifact::lazy_range)
            .context("failed to read the artifact")?;
        Module::load(engine, buffer)
    }

    /// [`Module::deserialize`] from an image already in a private buffer
    /// (the compile cache reads and authenticates entries into one).
    pub fn deserialize_buffer(engine: &Engine, buffer: ImageBuffer) -> Result<Module> {
        Module::load(engine, buffer)
    }

    /// [`Module::deserialize_buffer`] for an image that hoist itself wrote
    /// and whose every byte but its side parts' pages (the memory images,
    /// the address map and the DWARF, checked against their own digests
    /// when they are read) the caller has authenticated (the compile
    /// cache's keyed seal, `hoist_artifact::unseal`): its digest, a check
    /// against damage that the seal already covers, is not computed again
    /// (a pass over the whole image), and its module, validated when it was
    /// compiled, is parsed without being validated again. Never for images
    /// from anywhere else. The tables are checked as always.
    pub fn deserialize_authenticated(engine: &Engine, buffer: ImageBuffer) -> Result<Module> {
        Module::load_checked(engine, buffer, None, None, false, None)
    }

    /// [`Module::deserialize_authenticated`] for a compile cache entry
    /// compiled from the module binary whose BLAKE3 digest (as
    /// `hoist_artifact::module_digest` gives it) is `wasm_digest` (an image
    /// recording another digest is refused). A big entry's memory images
    /// are read from its file at each instantiation and checked there; one
    /// that fails (the entry changed since it loaded) is built again from
    /// the data segments of the binary that `reload` gives (once, and only
    /// if its digest is `wasm_digest`), checked again, and `on_damage` is
    /// called once, so that the caller can drop the entry. Cache trouble
    /// then costs time, never the run; the binary is not kept meanwhile.
    pub fn deserialize_cached(
        engine: &Engine,
        buffer: ImageBuffer,
        wasm_digest: &Digest,
        reload: Box<dyn Fn() -> Option<Vec<u8>> + Send + Sync>,
        on_damage: Box<dyn Fn() + Send + Sync>,
    ) -> Result<Module> {
        let fallback = Arc::new(ImageSource {
            digest: *wasm_digest,
            reload,
            wasm: std::sync::OnceLock::new(),
            on_damage: std::sync::Once::new(),
            report: on_damage,
        });
        let module = Module::load_checked(engine, buffer, None, None, false, Some(fallback))?;
        if module.digest() != *wasm_digest {
            bail!("the cache entry was compiled from another module");
        }
        Ok(module)
    }

    /// Whether the wasm address map of an artifact loaded with it unread (a
    /// file of 1 MiB or more) was read for a backtrace and failed its digest
    /// or order check: the file changed since it was loaded, and frames in
    /// this module have no `module_offset`. `false` before the first
    /// backtrace that needs it.
    pub fn address_map_damaged(&self) -> bool {
        self.inner.code.address_map.damaged()
    }

    /// BLAKE3 of the module binary this module was compiled from.
    pub fn digest(&self) -> Digest {
        self.inner.digest
    }

    /// Checks and loads an image from outside (an artifact, a cache entry's
    /// bytes): its digest included.
    fn load(engine: &Engine, buffer: ImageBuffer) -> Result<Module> {
        Module::load_checked(engine, buffer, None, None, true, None)
    }

    /// Checks and loads an image; with `module`, the model is not parsed
    /// again from the image's module binary; with `lazy`, the module's
    /// functions are compiled on first call; `check_digest` is off for
    /// images this process made or authenticated; with `images_from`, a
    /// memory image read from the file that fails its check is built from
    /// the module binary instead.
    fn load_checked(
        engine: &Engine,
        buffer: ImageBuffer,
        module: Option<hoist_environ::Module>,
        lazy: Option<LazyParts>,
        check_digest: bool,
        images_from: Option<Arc<ImageSource>>,
    ) -> Result<Module> {
        let image = buffer.as_slice();
        let unread = buffer.unread();
        let Artifact {
            engine: info,
            module_digest,
            text,
            text_offset,
            compiled,
            traps: _,
            trap_ranges,
            wasm,
            images,
            data: _,
            data_offset,
            debug: _,
            address_map,
            side_span,
        } = hoist_artifact::read_with(
            image,
            check_digest,
            match (&unread, &module) {
                // They may be among the pages left unread: checked when
                // they are used (the map on the first backtrace, if ever,
                // an image at each instantiation).
                (Some(_), _) => SideCheck::OnUse,
                // Made by this process a moment ago.
                (None, Some(_)) => SideCheck::Order,
                (None, None) => SideCheck::Whole,
            },
        )?;
        // Only the side parts' pages (the memory images, the address map,
        // the DWARF, the padding between them) may have been left unread.
        if let Some(unread) = &unread {
            let inside = side_span.is_some_and(|s| s.start <= unread.start && unread.end <= s.end);
            if !inside {
                bail!(
                    "damaged artifact: pages outside `.hoist.data`, `.hoist.addrmap` and \
                     `.hoist.debug` were left unread"
                );
            }
        }
        let text_len = text.len();
        let address_map = match address_map {
            None => hoist_runtime::AddressMap::checked(0..0),
            Some(part) if unread.is_some() => hoist_runtime::AddressMap::checked_on_use(
                part.range.clone(),
                Box::new(move |bytes| hoist_artifact::check_address_map(&part, bytes, text_len)),
            ),
            // Checked by `read_with`.
            Some(part) => hoist_runtime::AddressMap::checked(part.range),
        };
        engine.check_compatible(&info)?;
        let module = match module {
            Some(module) => module,
            // An authenticated image is one this user's hoist wrote, from a
            // module it validated.
            None if !check_digest => {
                hoist_environ::parse_validated_module(wasm, engine.inner.features)
                    .context("damaged artifact: its module does not parse")?
            }
            None => {
                hoist_environ::translate_module_with_features(wasm, engine.inner.features)
                    .context("damaged artifact: its module does not parse")?
                    .module
            }
        };
        check_tables(&module, &compiled, &images)?;
        let text = text_offset..text_offset + text.len();
        let mut memory_images = Vec::with_capacity(images.len());
        for i in images {
            let image_offset = data_offset + i.section_offset as usize;
            let range = image_offset..image_offset + i.len as usize;
            let (memory, offset) = (i.memory, i.offset);
            // Unchecked by `read_with` (`SideCheck::OnUse`): an image that
            // loading read is checked now; one it left unread (wholly or
            // in part) is read from the file at each instantiation,
            // straight into the linear memory, and checked there.
            let check = match &unread {
                Some(u) if range.start < u.end && u.start < range.end => Some(Box::new(
                    move |bytes: &[u8]| hoist_artifact::check_image(&i, bytes),
                )
                    as hoist_runtime::ImageCheck),
                Some(_) if !hoist_artifact::check_image(&i, &image[range.clone()]) => bail!(
                    "damaged artifact: the image of memory {} does not match its digest",
                    i.memory.as_u32()
                ),
                _ => None,
            };
            let fallback = match (&check, &images_from) {
                (Some(_), Some(source)) => Some(ImageSource::fallback(source, memory, offset)),
                _ => None,
            };
            memory_images.push(MemoryImageRef {
                memory,
                offset,
                len: range.len(),
                image_offset,
                check,
                fallback,
            });
        }
        // The trap table is read in place (`CodeMemory::from_image`).
        let tables = CodeTables {
            traps: TrapTable::default(),
            call_sites: compiled.call_sites,
            stack_maps: compiled.stack_maps,
        };
        let code = Arc::new(
            CodeMemory::from_image(buffer, text, tables, Some(trap_ranges))
                .context("making compiled code executable")?,
        );
        let module = Arc::new(module);
        let offsets = VMOffsets::new(engine.inner.compiler.isa().pointer_bytes(), &module);
        let mut lazy_activity = None;
        let mut lazy_code = None;
        let lazy = lazy.map(|(wasm, bodies, resources)| {
            let code = Arc::new_cyclic(|this| {
                crate::lazy::LazyCode::new(
                    engine.clone(),
                    module.clone(),
                    offsets.clone(),
                    wasm,
                    bodies,
                    resources,
                    this.clone(),
                )
            });
            if engine.inner.lazy_speculation {
                crate::lazy::start_speculating(&code);
            }
            lazy_activity = Some(code.activity());
            lazy_code = Some(code.clone());
            code as Arc<dyn hoist_runtime::LazyFunctions>
        });
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
        let type_ids = engine.types().register_module(&module);
        let module_code = Arc::new(ModuleCode {
            module,
            offsets,
            code,
            functions,
            array_to_wasm,
            import_trampolines,
            function_ends,
            address_map,
            memory_images,
            lazy,
            live_instances: Default::default(),
        });
        if let Some(lazy) = &lazy_code {
            lazy.set_module_code(&module_code);
        }
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                code: module_code,
                type_ids,
                digest: module_digest,
                lazy_activity,
                lazy: lazy_code,
            }),
        })
    }

    /// How many memories an instance of this module creates (its own, not
    /// imported ones).
    pub fn defined_memories(&self) -> usize {
        let module = &self.inner.code.module;
        module.memories.len() - module.num_imported_memories
    }

    /// How many tables an instance of this module creates (its own, not
    /// imported ones).
    pub fn defined_tables(&self) -> usize {
        let module = &self.inner.code.module;
        module.tables.len() - module.num_imported_tables
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
                self.extern_type(module.entity_type(import.index)),
            )
        })
    }

    /// `(name, type)` of each export, in order.
    pub fn exports(&self) -> impl Iterator<Item = (&str, ExternType)> + '_ {
        let module = &self.inner.code.module;
        module
            .exports
            .iter()
            .map(move |(name, index)| (name.as_str(), self.extern_type(module.entity_type(*index))))
    }

    /// Where the native code of each function the module defines lies in
    /// memory, in function order: for profilers (perf maps, jitdump), which
    /// name code addresses that no symbol table covers.
    ///
    /// For a lazily compiled module, the functions compiled so far, in
    /// address order; a function tiered up is there twice (its baseline and
    /// its optimized code).
    pub fn function_code(&self) -> Vec<FunctionCode> {
        let code = &self.inner.code;
        let module = &code.module;
        if let Some(lazy) = &code.lazy {
            return lazy
                .compiled_functions()
                .into_iter()
                .map(|compiled| {
                    let func = module.func_index(compiled.index);
                    FunctionCode {
                        func_index: func.as_u32(),
                        name: module.func_name(func).map(str::to_string),
                        address: compiled.address,
                        len: compiled.len,
                        baseline: compiled.baseline,
                    }
                })
                .collect();
        }
        code.functions
            .iter()
            .zip(&code.function_ends)
            .enumerate()
            .filter(|(_, (start, end))| end > start)
            .map(|(i, (start, end))| {
                let func = module.func_index(hoist_environ::DefinedFuncIndex::new(i));
                FunctionCode {
                    func_index: func.as_u32(),
                    name: module.func_name(func).map(str::to_string),
                    address: code.code.address(*start) as usize,
                    len: (end - start) as usize,
                    baseline: false,
                }
            })
            .collect()
    }

    /// The engine-wide id of each of the module's types, by `TypeIndex`.
    pub(crate) fn type_ids(&self) -> &[u32] {
        &self.inner.type_ids
    }

    /// An entity type of this module as the API shows it (concrete types
    /// as engine ids).
    pub(crate) fn extern_type(&self, ty: EntityType) -> ExternType {
        let ids = self.type_ids();
        let engine = self.engine();
        let func_type = |ty: hoist_environ::TypeIndex| {
            let id = ids[ty.index()];
            let sig = engine
                .signature(id)
                .expect("validated: a function or tag type is a function type");
            (FuncType::from_wasm(&sig), id)
        };
        match ty {
            EntityType::Function(ty) => ExternType::Func(func_type(ty).0),
            EntityType::Global(g) => {
                ExternType::Global(GlobalType::from_wasm(&hoist_environ::GlobalType {
                    ty: to_engine_val(g.ty, ids),
                    mutable: g.mutable,
                }))
            }
            EntityType::Table(mut t) => {
                t.element = to_engine_ref(t.element, ids);
                ExternType::Table(TableType { ty: t })
            }
            EntityType::Memory(m) => ExternType::Memory(MemoryType { ty: m }),
            EntityType::Tag(tag) => {
                let (ty, id) = func_type(tag.ty);
                ExternType::Tag(TagType { ty, id })
            }
        }
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }
}

/// Where a compile cache entry's memory images can be built again: the
/// module binary it was compiled from (see [`Module::deserialize_cached`]).
struct ImageSource {
    /// The binary's digest, which what `reload` gives must have.
    digest: Digest,
    reload: Box<dyn Fn() -> Option<Vec<u8>> + Send + Sync>,
    /// The binary, once a damaged image needed it (`None`: it could not
    /// be had, or was another).
    wasm: std::sync::OnceLock<Option<SharedBytes>>,
    /// `report`, called once.
    on_damage: std::sync::Once,
    report: Box<dyn Fn() + Send + Sync>,
}

impl ImageSource {
    /// Writes the image of `memory` at byte `offset` from the binary's
    /// data segments, and reports the damage.
    fn fallback(
        source: &Arc<ImageSource>,
        memory: MemoryIndex,
        offset: u64,
    ) -> hoist_runtime::ImageFallback {
        let source = source.clone();
        Box::new(move |target: &mut [u8]| {
            source.on_damage.call_once(|| (source.report)());
            let wasm = source.wasm.get_or_init(|| {
                let wasm = (source.reload)()?;
                let digest = hoist_artifact::module_digest(&wasm);
                (blake3::Hash::from(digest) == blake3::Hash::from(source.digest))
                    .then(|| SharedBytes::from(wasm))
            });
            wasm.as_ref().is_some_and(|wasm| {
                crate::image_source::write_from_segments(wasm, memory.as_u32(), offset, target)
            })
        })
    }
}

/// Checks an artifact's tables against its module: everything the runtime
/// will look up exists. (The artifact crate already checked that every
/// offset lies inside its section.)
fn check_tables(
    module: &hoist_environ::Module,
    compiled: &hoist_environ::CompiledText,
    images: &[hoist_artifact::ImageEntry],
) -> Result<()> {
    if compiled.functions.len() != module.num_defined_funcs() {
        bail!(
            "damaged artifact: code for {} functions, module defines {}",
            compiled.functions.len(),
            module.num_defined_funcs()
        );
    }
    for (index, ty) in module.functions.iter() {
        let table = if module.is_imported_func(index) {
            &compiled.import_trampolines
        } else {
            &compiled.array_to_wasm
        };
        if !table.contains_key(ty) {
            bail!(
                "damaged artifact: no trampoline for the type of function {}",
                index.index()
            );
        }
    }
    // The code has field offsets baked in: they must be the ones this
    // build computes for the module's types.
    if compiled.gc_layouts.len() != module.gc_layouts.len()
        || compiled
            .gc_layouts
            .iter()
            .zip(module.gc_layouts.values())
            .any(|(a, b)| a != b)
    {
        bail!("damaged artifact: its GC object layouts are not the ones of its module's types");
    }
    for image in images {
        let fits = image.memory.index() < module.memories.len()
            && module.defined_memory_index(image.memory).is_some()
            && image
                .offset
                .checked_add(image.len)
                .is_some_and(|end| end <= module.memories[image.memory].initial_bytes());
        if !fits {
            bail!("damaged artifact: a memory image does not fit its memory");
        }
    }
    Ok(())
}
