//! Lazy compilation: validate the whole module, then compile each function
//! the first time it is called (see `hoist_runtime`'s `lazy` module for the
//! stubs and the funcrefs).
//!
//! The code compiled here is Cranelift's baseline tier (no optimizations,
//! see `hoist_cranelift::CompilerOptions::baseline_tier`), and calls to the
//! module's functions load their target from the vmctx funcref instead of
//! calling a fixed address.
//! A program's next run is meant to use the fully linked artifact that a
//! background compile leaves in the compile cache (the CLI does that).

use crate::engine::Engine;
use anyhow::Result;
use hoist_environ::{DefinedFuncIndex, FunctionBodyData, VMOffsets};
use hoist_runtime::{CodeMemory, CodeTables, ImageBuffer, LazyFunctions, TrapTable};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::error::Error;
use std::ops::Range;
use std::sync::{Arc, OnceLock, RwLock};
use wasmparser::{BinaryReader, FuncToValidate, FunctionBody, ValidatorResources, WasmFeatures};

/// Where one function's body is, and what its validator needs.
pub(crate) struct LazyBody {
    /// Byte range of the body (locals and code) in the module binary.
    range: Range<usize>,
    /// Its function index and type index, as the validator numbers them.
    func: u32,
    ty: u32,
}

/// Validates every function body of a translated module (in parallel),
/// keeping where each one is for the compile on first call. An invalid
/// body's error is returned (with several, whichever was found first), as a
/// full compile would report it.
pub(crate) fn validate_bodies(
    bodies: Vec<FunctionBodyData<'_>>,
) -> Result<(Vec<LazyBody>, Option<ValidatorResources>)> {
    let resources = bodies.first().map(|b| b.validator.resources.clone());
    let checked = bodies
        .into_par_iter()
        .map(|FunctionBodyData { body, validator }| {
            let range = body.range();
            let (func, ty) = (validator.index, validator.ty);
            validator
                .into_validator(Default::default())
                .validate(&body)
                .map_err(hoist_environ::WasmError::from)?;
            Ok(LazyBody {
                range: range.start as usize..range.end as usize,
                func,
                ty,
            })
        })
        .collect::<Result<Vec<_>, hoist_environ::WasmError>>()?;
    Ok((checked, resources))
}

/// One function compiled on its first call.
struct Compiled {
    code: CodeMemory,
    len: usize,
    /// Sorted (text offset, wasm byte offset) pairs.
    address_map: Vec<(u32, u32)>,
}

/// The compiler of a lazily compiled module, kept by its `ModuleCode`.
pub(crate) struct LazyCode {
    engine: Engine,
    module: Arc<hoist_environ::Module>,
    offsets: VMOffsets,
    /// The module binary the body ranges refer to (the artifact image's
    /// copy has its custom sections stripped: other offsets).
    wasm: Vec<u8>,
    bodies: Vec<LazyBody>,
    resources: Option<ValidatorResources>,
    features: WasmFeatures,
    compiled: Vec<OnceLock<Result<Arc<Compiled>, String>>>,
    /// Code start address → function, for `lookup_pc`: filled before the
    /// code is handed out, so a frame of it can always be named.
    by_address: RwLock<BTreeMap<usize, (DefinedFuncIndex, Arc<Compiled>)>>,
}

impl LazyCode {
    pub(crate) fn new(
        engine: Engine,
        module: Arc<hoist_environ::Module>,
        offsets: VMOffsets,
        wasm: Vec<u8>,
        bodies: Vec<LazyBody>,
        resources: Option<ValidatorResources>,
    ) -> LazyCode {
        let features = engine.inner.features;
        let compiled = (0..bodies.len()).map(|_| OnceLock::new()).collect();
        LazyCode {
            engine,
            module,
            offsets,
            wasm,
            bodies,
            resources,
            features,
            compiled,
            by_address: RwLock::default(),
        }
    }

    fn compile(&self, index: DefinedFuncIndex) -> Result<Compiled> {
        let body = &self.bodies[index.as_u32() as usize];
        let reader = BinaryReader::new(&self.wasm[body.range.clone()], body.range.start as u64);
        let resources = self
            .resources
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no function bodies to compile"))?;
        let data = FunctionBodyData {
            body: FunctionBody::new(reader),
            validator: FuncToValidate {
                resources,
                index: body.func,
                ty: body.ty,
                features: self.features,
            },
        };
        let text = self.engine.inner.compiler.compile_function_lazily(
            &self.module,
            &self.offsets,
            index,
            data,
        )?;
        let len = text.text.len();
        let tables = CodeTables {
            traps: TrapTable::new(text.traps),
            call_sites: text.call_sites,
            stack_maps: text.stack_maps,
        };
        let code = CodeMemory::from_image(ImageBuffer::from_bytes(&text.text)?, 0..len, tables)?;
        Ok(Compiled {
            code,
            len,
            address_map: text.address_map,
        })
    }
}

impl LazyFunctions for LazyCode {
    fn code(&self, index: DefinedFuncIndex) -> Result<*const u8, Box<dyn Error + Send + Sync>> {
        let cell = self
            .compiled
            .get(index.as_u32() as usize)
            .ok_or("no such function")?;
        let compiled = cell.get_or_init(|| {
            let compiled = self.compile(index).map(Arc::new).map_err(|e| {
                let func = self.module.func_index(index);
                let name = self
                    .module
                    .func_name(func)
                    .map(|n| format!(" (`{n}`)"))
                    .unwrap_or_default();
                format!(
                    "failed to compile function {}{name} on its first call: {e:#}",
                    func.as_u32()
                )
            })?;
            self.by_address
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(compiled.code.address(0) as usize, (index, compiled.clone()));
            Ok(compiled)
        });
        let compiled = compiled.as_ref().map_err(|e| e.clone())?;
        Ok(compiled.code.address(0))
    }

    fn lookup_pc(&self, pc: usize) -> Option<(DefinedFuncIndex, Option<u32>)> {
        let map = self.by_address.read().unwrap_or_else(|e| e.into_inner());
        let (&start, (index, compiled)) = map.range(..=pc).next_back()?;
        if pc >= start + compiled.len {
            return None;
        }
        let offset = u32::try_from(pc - start).ok()?;
        let wasm = compiled
            .address_map
            .partition_point(|(text, _)| *text <= offset)
            .checked_sub(1)
            .map(|j| compiled.address_map[j].1);
        Some((*index, wasm))
    }

    fn compiled_functions(&self) -> Vec<(DefinedFuncIndex, usize, usize)> {
        let map = self.by_address.read().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|(&start, (index, compiled))| (*index, start, compiled.len))
            .collect()
    }
}
