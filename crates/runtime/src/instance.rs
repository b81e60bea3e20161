//! Instances: a module's code plus its `VMContext`, imports and state.

use crate::builtins::BUILTINS;
use crate::code_memory::CodeMemory;
use crate::host_func::is_host_funcref;
use crate::memory::LinearMemory;
use crate::table::Table;
use crate::vmcontext::*;
use hoist_environ::*;
use std::alloc::Layout;
use std::io;
use std::sync::Arc;

/// The compiled form of a module, shared by all its instances.
pub struct ModuleCode {
    pub module: Arc<Module>,
    pub offsets: VMOffsets,
    pub code: Arc<CodeMemory>,
    /// Text offset of each defined function.
    pub functions: Vec<u32>,
    /// Text offset of the host-to-wasm trampoline for each type, if any.
    pub array_to_wasm: Vec<Option<u32>>,
    /// Text offset of the wasm-to-host trampoline for each type of an
    /// imported function, used for imported host functions.
    pub import_trampolines: Vec<Option<u32>>,
    /// Text offset just past each defined function.
    pub function_ends: Vec<u32>,
    /// The address map's records (see `hoist_environ::AddressMapRecords`):
    /// in `code`'s image, or read from its file on first use.
    pub address_map: crate::AddressMap,
    /// Initial contents of defined memories, replacing their active data
    /// segments (see `hoist_environ::memory_images`).
    pub memory_images: Vec<MemoryImageRef>,
    /// For a module compiled lazily: its compiler. `functions` then locate
    /// each function's compile stub, and the compiled code lives apart.
    pub lazy: Option<Arc<dyn crate::LazyFunctions>>,
    /// For a module compiled lazily: the vmctx of each of its live
    /// instances, so their funcrefs can be pointed at optimized code when a
    /// full compile arrives mid-run ([`ModuleCode::repoint_funcrefs`]) or a
    /// hot function's optimized code is ready
    /// ([`ModuleCode::install_tier_up`]).
    pub live_instances: std::sync::Mutex<Vec<usize>>,
}

/// One memory image of a compiled module: bytes of the module's image
/// (`ModuleCode::code`) to write into a defined memory at instantiation,
/// copied from the image or, where loading left them unread, read from
/// its file (`CodeMemory::read_range_into`).
pub struct MemoryImageRef {
    pub memory: MemoryIndex,
    /// Page-aligned byte offset in the linear memory.
    pub offset: u64,
    pub len: usize,
    /// Where the bytes start in the image.
    pub image_offset: usize,
    /// For bytes that loading did not check (it may have left them
    /// unread, see `CodeMemory::read_range_into`): whether the bytes that
    /// arrived in the linear memory are the image.
    pub check: Option<ImageCheck>,
    /// For an image that fails to read or check: another source of its
    /// bytes (a compile cache entry's module binary, see
    /// `hoist::Module::deserialize_cached`), whose bytes must pass `check`
    /// too.
    pub fallback: Option<ImageFallback>,
}

/// Whether bytes are a memory image (its digest, see
/// `hoist_artifact::check_image`).
pub type ImageCheck = Box<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// Writes a memory image into the given bytes from another source;
/// `false` if it cannot.
pub type ImageFallback = Box<dyn Fn(&mut [u8]) -> bool + Send + Sync>;

/// Why [`Instance::initialize`] stopped.
#[derive(Debug)]
pub enum InitError {
    /// A segment out of bounds, or a constant expression that trapped.
    Trap(TrapCode),
    /// A memory image could not be read from the module's file, or what
    /// was read is not the image (the file changed after loading), and no
    /// fallback could stand in for it.
    Image {
        memory: MemoryIndex,
        error: io::Error,
    },
}

impl From<TrapCode> for InitError {
    fn from(code: TrapCode) -> InitError {
        InitError::Trap(code)
    }
}

impl ModuleCode {
    /// Points the funcref of every defined function `index` of every live
    /// instance at `code(index)`, when it gives an address (a function's
    /// optimized code in a full compile of the same module, which keeps the
    /// same vmctx layout and calling convention). Calls made through the
    /// funcrefs afterwards (direct calls of lazily compiled code, tables,
    /// `call_ref`, exports) run that code; frames already running keep
    /// theirs. Each store is one atomic pointer store, as a compile stub's,
    /// since other threads may be reading the funcref.
    ///
    /// # Safety
    /// Every address `code` gives must be the entry of code that implements
    /// that function of this module for this module's vmctx layout, and
    /// stay executable for as long as this `ModuleCode` lives.
    pub unsafe fn repoint_funcrefs(&self, code: impl Fn(DefinedFuncIndex) -> Option<*const u8>) {
        let live = self
            .live_instances
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (index, _) in self.module.functions.iter() {
            let Some(def) = self.module.defined_func_index(index) else {
                continue;
            };
            let Some(address) = code(def) else {
                continue;
            };
            self.each_call_slot(&live, index, |slot| {
                slot.store(address as *mut u8, std::sync::atomic::Ordering::Release)
            });
        }
    }

    /// Tier-up of one function: points defined function `index`'s funcref
    /// in every live instance at `optimized`, where it holds `baseline`
    /// (an instance whose funcref still holds the compile stub gets the
    /// optimized code from its first call; one switched to a full compile
    /// keeps it). Calls made through the funcrefs afterwards run
    /// `optimized`; frames already running keep their code. Each switch is
    /// one atomic compare-and-swap, since other threads may be reading or
    /// switching the funcref. Returns how many funcrefs it switched.
    ///
    /// # Safety
    /// `optimized` must be the entry of code that implements that function
    /// of this module for this module's vmctx layout, and stay executable
    /// for as long as this `ModuleCode` lives.
    pub unsafe fn install_tier_up(
        &self,
        index: DefinedFuncIndex,
        baseline: *const u8,
        optimized: *const u8,
    ) -> usize {
        let live = self
            .live_instances
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut switched = 0;
        self.each_call_slot(&live, self.module.func_index(index), |slot| {
            let swapped = slot.compare_exchange(
                baseline as *mut u8,
                optimized as *mut u8,
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
            );
            switched += usize::from(swapped.is_ok());
        });
        switched
    }

    /// Calls `f` with the `wasm_call` slot of function `index`'s funcref in
    /// each of `live`, the vmctxs of [`ModuleCode::live_instances`], whose
    /// lock the caller holds.
    fn each_call_slot(
        &self,
        live: &[usize],
        index: FuncIndex,
        mut f: impl FnMut(&std::sync::atomic::AtomicPtr<u8>),
    ) {
        let offset = self.offsets.vmctx_funcref(index) as usize;
        for &vmctx in live {
            // SAFETY: `vmctx` is a live instance's (instances leave the list
            // under its lock, held by the caller, before their vmctx is
            // freed), and the funcref slot is inside it.
            f(unsafe {
                VMFuncRef::wasm_call_slot((vmctx as *mut u8).add(offset) as *const VMFuncRef)
            });
        }
    }

    /// The defined function containing native address `pc`, and the wasm
    /// byte offset of the instruction there if known.
    pub fn lookup_pc(&self, pc: usize) -> Option<(DefinedFuncIndex, Option<u32>)> {
        self.lookup_text_pc(pc)
            .or_else(|| self.lazy.as_ref()?.lookup_pc(pc))
    }

    fn lookup_text_pc(&self, pc: usize) -> Option<(DefinedFuncIndex, Option<u32>)> {
        let base = self.code.text().as_ptr() as usize;
        let offset = u32::try_from(pc.checked_sub(base)?).ok()?;
        let i = self
            .functions
            .partition_point(|start| *start <= offset)
            .checked_sub(1)?;
        if offset >= self.function_ends[i] {
            return None;
        }
        let records = self.address_map.records(&self.code);
        let wasm = hoist_environ::AddressMapRecords::new(records)
            .at_or_before(offset)
            .filter(|(text, _)| *text >= self.functions[i])
            .map(|(_, wasm)| wasm);
        Some((DefinedFuncIndex::new(i), wasm))
    }
}

/// What an instance is built from; every pointer must stay valid for the
/// instance's whole life (the store that owns them guarantees it).
pub struct InstanceParts {
    pub code: Arc<ModuleCode>,
    /// Engine-wide signature ids of the module's types.
    pub type_ids: Vec<u32>,
    pub imported_functions: Vec<VMFuncRef>,
    /// All tables, imported then defined.
    pub tables: Vec<*mut Table>,
    /// All memories, imported then defined.
    pub memories: Vec<*mut LinearMemory>,
    pub imported_globals: Vec<*mut VMGlobalDefinition>,
    pub imported_tags: Vec<*mut VMTagDefinition>,
    pub store_context: *mut VMStoreContext,
    /// Opaque pointer to the owning store, for host functions.
    pub store: *mut u8,
    /// The engine's answers about its types.
    pub type_info: Arc<dyn TypeInfo>,
}

/// What the runtime asks the engine about engine-wide type ids.
pub trait TypeInfo: Send + Sync {
    /// Whether type `actual` is `expected` or a declared subtype of it.
    fn is_subtype(&self, actual: u32, expected: u32) -> bool;
}

/// A live instance. Boxed so its address (stored in its vmctx) is stable.
pub struct Instance {
    code: Arc<ModuleCode>,
    vmctx: *mut u8,
    layout: Layout,
    tables: Vec<*mut Table>,
    memories: Vec<*mut LinearMemory>,
    dropped_data: Vec<bool>,
    /// Evaluated element segments; `None` once dropped.
    elements: Vec<Option<Vec<usize>>>,
    store: *mut u8,
    /// The memory exported as `memory` (WASI's convention), found once.
    exported_memory: Option<MemoryIndex>,
    type_info: Arc<dyn TypeInfo>,
}

// SAFETY: an instance is only used by the store that owns it, which is
// accessed by one thread at a time (`&mut Store`).
unsafe impl Send for Instance {}
// SAFETY: as for `Send`, with every use behind the same exclusive access.
unsafe impl Sync for Instance {}

impl Instance {
    /// Allocates the vmctx and fills it; runs no wasm and initializes no
    /// segments yet (see [`Instance::initialize`]).
    pub fn new(parts: InstanceParts) -> Box<Instance> {
        let module = parts.code.module.clone();
        let offsets = &parts.code.offsets;
        let layout = Layout::from_size_align(offsets.size_of_vmctx().max(16) as usize, 16)
            .expect("vmctx layout");
        // SAFETY: the layout has a non-zero size.
        let vmctx = unsafe { std::alloc::alloc_zeroed(layout) };
        if vmctx.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        let mut instance = Box::new(Instance {
            code: parts.code.clone(),
            vmctx,
            layout,
            tables: parts.tables,
            memories: parts.memories,
            dropped_data: vec![false; module.data.len()],
            elements: Vec::new(),
            store: parts.store,
            type_info: parts.type_info.clone(),
            // WASI's memory: the one exported as `memory`, or else the
            // module's only memory (threaded programs import theirs and
            // need not export it again).
            exported_memory: module
                .exports
                .iter()
                .find_map(|(name, index)| match index {
                    EntityIndex::Memory(memory) if name == "memory" => Some(*memory),
                    _ => None,
                })
                .or_else(|| (module.memories.len() == 1).then(|| MemoryIndex::new(0))),
        });
        let instance_ptr: *mut Instance = &mut *instance;
        let code = &parts.code;

        // SAFETY: every write below is within the vmctx allocation, at the
        // offsets VMOffsets computed for this module, with the types the
        // compiler expects there.
        unsafe {
            let header = vmctx as *mut VMContextHeader;
            (*header).magic = VMCONTEXT_MAGIC;
            (*header).instance = instance_ptr;
            (*header).store_context = parts.store_context;
            (*header).builtins = &BUILTINS;
            (*header).hotness_counters = code
                .lazy
                .as_ref()
                .map_or(std::ptr::null_mut(), |lazy| lazy.hotness_counters());
            for (ty, id) in module.types.keys().zip(&parts.type_ids) {
                *(vmctx.add(offsets.vmctx_type_id(ty) as usize) as *mut u32) = *id;
            }
            for (i, memory) in instance.memories.iter().enumerate() {
                let slot = vmctx.add(offsets.vmctx_memory_pointer(MemoryIndex::new(i)) as usize);
                *(slot as *mut *mut VMMemoryDefinition) = (**memory).definition();
                let base = vmctx.add(offsets.vmctx_memory_base(MemoryIndex::new(i)) as usize);
                *(base as *mut *mut u8) = (**memory).base();
            }
            for (i, table) in instance.tables.iter().enumerate() {
                let slot = vmctx.add(offsets.vmctx_table_pointer(TableIndex::new(i)) as usize);
                let definition = (**table).definition();
                *(slot as *mut *mut VMTableDefinition) = definition;
                // Only a table this module sees as fixed-size never moves
                // its elements; code reads this copy only for those.
                let base = vmctx.add(offsets.vmctx_fixed_table_base(TableIndex::new(i)) as usize);
                *(base as *mut *mut usize) = match module.tables[TableIndex::new(i)].fixed_size() {
                    Some(_) => (*definition).base,
                    None => std::ptr::null_mut(),
                };
            }
            for (index, _) in module.globals.iter() {
                let pointer = match module.defined_global_index(index) {
                    Some(def) => vmctx.add(offsets.vmctx_defined_global(def) as usize)
                        as *mut VMGlobalDefinition,
                    None => parts.imported_globals[index.index()],
                };
                *(vmctx.add(offsets.vmctx_global_pointer(index) as usize)
                    as *mut *mut VMGlobalDefinition) = pointer;
            }
            for (index, tag) in module.tags.iter() {
                let pointer = match module.defined_tag_index(index) {
                    Some(def) => {
                        let pointer = vmctx.add(offsets.vmctx_defined_tag(def) as usize)
                            as *mut VMTagDefinition;
                        (*pointer).type_id = parts.type_ids[tag.ty.index()];
                        pointer
                    }
                    None => parts.imported_tags[index.index()],
                };
                *(vmctx.add(offsets.vmctx_tag_pointer(index) as usize)
                    as *mut *mut VMTagDefinition) = pointer;
            }
            for (index, ty) in module.functions.iter() {
                let funcref = match module.defined_func_index(index) {
                    // A host function is called through this module's own
                    // trampoline for the import's type: nothing is compiled
                    // at run time for the imports a module declares.
                    None => {
                        let mut funcref = parts.imported_functions[index.index()];
                        if let (true, Some(offset)) = (
                            is_host_funcref(&funcref),
                            code.import_trampolines[ty.index()],
                        ) {
                            funcref.wasm_call = code.code.address(offset);
                        }
                        funcref
                    }
                    Some(def) => VMFuncRef {
                        wasm_call: code.code.address(code.functions[def.index()]),
                        array_call: code.array_to_wasm[ty.index()]
                            .map_or(std::ptr::null(), |offset| code.code.address(offset)),
                        vmctx,
                        type_id: parts.type_ids[ty.index()],
                    },
                };
                *(vmctx.add(offsets.vmctx_funcref(index) as usize) as *mut VMFuncRef) = funcref;
            }
        }
        // Filled in: a full compile arriving mid-run may repoint its
        // funcrefs from now on (`repoint_funcrefs`).
        if instance.code.lazy.is_some() {
            instance
                .code
                .live_instances
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(instance.vmctx as usize);
        }
        instance
    }

    pub fn module(&self) -> &Arc<Module> {
        &self.code.module
    }

    pub fn code(&self) -> &Arc<ModuleCode> {
        &self.code
    }

    /// The context of the store this instance belongs to.
    pub fn store_context(&self) -> *mut VMStoreContext {
        // SAFETY: the header was filled in `new`.
        unsafe { (*(self.vmctx as *const VMContextHeader)).store_context }
    }

    /// The engine's answers about its types.
    pub fn type_info(&self) -> &dyn TypeInfo {
        &*self.type_info
    }

    /// The instance that owns `vmctx`.
    ///
    /// # Safety
    /// `vmctx` must be a live instance's vmctx (compiled code passes its
    /// own to host functions as the caller's), and nothing else may use
    /// the instance for the life of the returned reference.
    pub unsafe fn from_vmctx<'a>(vmctx: *mut u8) -> &'a mut Instance {
        // SAFETY: per the contract, the header's instance pointer is the
        // live, boxed instance that owns this vmctx.
        unsafe { &mut *(*(vmctx as *mut VMContextHeader)).instance }
    }

    /// The bytes of the memory exported as `memory`, if there is one: what
    /// WASI calls read and write. Constant time.
    pub fn exported_memory_data(&mut self) -> Option<&mut [u8]> {
        let memory = self.exported_memory?;
        // SAFETY: memory pointers stay valid for the instance's life, and
        // `&mut self` gives exclusive use of an unshared memory; a shared
        // one's bytes are only copied in and out by WASI (see
        // `LinearMemory::data`).
        Some(unsafe { (*self.memories[memory.index()]).data_mut() })
    }

    pub fn vmctx(&self) -> *mut u8 {
        self.vmctx
    }

    /// The store this instance belongs to (opaque here).
    pub fn store(&self) -> *mut u8 {
        self.store
    }

    fn offsets(&self) -> &VMOffsets {
        &self.code.offsets
    }

    /// The funcref of function `index` inside this vmctx (stable address).
    pub fn funcref(&self, index: FuncIndex) -> *mut VMFuncRef {
        // SAFETY: the offset is inside the vmctx allocation.
        unsafe { self.vmctx.add(self.offsets().vmctx_funcref(index) as usize) as *mut VMFuncRef }
    }

    pub fn global_ptr(&self, index: GlobalIndex) -> *mut VMGlobalDefinition {
        // SAFETY: the slot was filled in `new` with a valid pointer.
        unsafe {
            *(self
                .vmctx
                .add(self.offsets().vmctx_global_pointer(index) as usize)
                as *const *mut VMGlobalDefinition)
        }
    }

    /// Tag `index`'s definition (its address is the tag's identity).
    pub fn tag_ptr(&self, index: TagIndex) -> *mut VMTagDefinition {
        // SAFETY: the slot was filled in `new` with a valid pointer.
        unsafe {
            *(self
                .vmctx
                .add(self.offsets().vmctx_tag_pointer(index) as usize)
                as *const *mut VMTagDefinition)
        }
    }

    pub fn memory_ptr(&self, index: MemoryIndex) -> *mut LinearMemory {
        self.memories[index.index()]
    }

    pub fn table_ptr(&self, index: TableIndex) -> *mut Table {
        self.tables[index.index()]
    }

    /// The engine-wide id of the module's type `ty`.
    pub fn type_id(&self, ty: TypeIndex) -> u32 {
        // SAFETY: the type id array was filled in `new`.
        unsafe { *(self.vmctx.add(self.offsets().vmctx_type_id(ty) as usize) as *const u32) }
    }

    /// The bytes of data segment `data` (empty once dropped).
    pub fn data_bytes(&self, data: DataIndex) -> &[u8] {
        if self.dropped_data[data.index()] {
            &[]
        } else {
            &self.code.module.data[data].bytes
        }
    }

    /// The evaluated items of element segment `elem` (empty once dropped).
    pub fn element_items(&self, elem: ElemIndex) -> &[usize] {
        self.elements
            .get(elem.index())
            .and_then(|e| e.as_deref())
            .unwrap_or(&[])
    }

    /// Calls `visit` with every slot of this instance that holds a
    /// reference the GC traces: defined globals and element segments of
    /// such types.
    pub fn trace_gc_roots(&mut self, visit: &mut dyn FnMut(&mut u64)) {
        let module = self.code.module.clone();
        if !module.has_gc_refs {
            return;
        }
        for (index, global) in module.globals.iter().skip(module.num_imported_globals) {
            if module.is_gc_ref(global.ty) {
                // SAFETY: defined globals live in our vmctx, 16-byte
                // aligned; a reference is the low 8 bytes.
                let slot = unsafe { &mut *(self.global_ptr(index) as *mut u64) };
                visit(slot);
            }
        }
        for (index, segment) in module.elements.iter() {
            if !module.is_gc_ref(WasmValType::Ref(segment.ty)) {
                continue;
            }
            if let Some(Some(items)) = self.elements.get_mut(index.index()) {
                for item in items.iter_mut() {
                    let mut word = *item as u64;
                    visit(&mut word);
                    *item = word as usize;
                }
            }
        }
    }

    /// Evaluates a (validated) constant expression in this instance; only
    /// the GC proposal's allocations can fail (the heap is full).
    pub fn eval_const(&self, expr: &ConstExpr) -> Result<ValRaw, TrapCode> {
        // Nearly every expression is one instruction.
        if let [op] = expr.ops() {
            return Ok(self.eval_const_op(*op, &mut Vec::new())?.0);
        }
        let mut stack = Vec::with_capacity(4);
        for op in expr.ops() {
            let value = self.eval_const_op(*op, &mut stack)?;
            stack.push(value);
        }
        Ok(stack
            .pop()
            .expect("validated: a constant expression leaves a value")
            .0)
    }

    /// One instruction: a value to push (arithmetic pops its operands),
    /// and whether the collector traces it.
    fn eval_const_op(
        &self,
        op: ConstOp,
        stack: &mut Vec<crate::gc::consts::StackValue>,
    ) -> Result<crate::gc::consts::StackValue, TrapCode> {
        let traced = match op {
            ConstOp::GlobalGet(g) => self.code.module.is_gc_ref(self.code.module.globals[g].ty),
            ConstOp::StructNew(_)
            | ConstOp::StructNewDefault(_)
            | ConstOp::ArrayNew(_)
            | ConstOp::ArrayNewDefault(_)
            | ConstOp::ArrayNewFixed(..)
            | ConstOp::RefI31
            | ConstOp::AnyConvertExtern
            | ConstOp::ExternConvertAny => return crate::gc::consts::eval(self, op, stack),
            _ => false,
        };
        let mut pop = || stack.pop().expect("validated: operands are on the stack").0;
        let mut binary32 = |f: fn(i32, i32) -> i32| {
            let b = pop().get_u32() as i32;
            let a = pop().get_u32() as i32;
            ValRaw::i32(f(a, b))
        };
        let value = match op {
            ConstOp::I32Const(v) => ValRaw::i32(v),
            ConstOp::I64Const(v) => ValRaw::i64(v),
            ConstOp::F32Const(bits) => ValRaw(u128::from(bits)),
            ConstOp::F64Const(bits) => ValRaw(u128::from(bits)),
            ConstOp::V128Const(bits) => ValRaw(bits),
            ConstOp::RefNull(_) => ValRaw(0),
            ConstOp::RefFunc(f) => ValRaw(self.funcref(f) as usize as u128),
            // SAFETY: global pointers are valid for the instance's life.
            ConstOp::GlobalGet(g) => unsafe { (*self.global_ptr(g)).to_raw() },
            ConstOp::I32Add => binary32(i32::wrapping_add),
            ConstOp::I32Sub => binary32(i32::wrapping_sub),
            ConstOp::I32Mul => binary32(i32::wrapping_mul),
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let b = pop().get_u64() as i64;
                let a = pop().get_u64() as i64;
                ValRaw::i64(match op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                })
            }
            gc => unreachable!("{gc:?} is evaluated above"),
        };
        Ok((value, traced))
    }

    /// The instantiation steps before the start function: globals, then
    /// element segments, then data segments, in module order. A segment out
    /// of bounds stops here with its trap; earlier writes stay, as the spec
    /// says. A memory image that cannot be read, or fails its check (and
    /// has no fallback that passes it), stops it first, before anything is
    /// written ([`InitError::Image`]).
    pub fn initialize(&mut self) -> Result<(), InitError> {
        // Memories with an image get it in one step; their active segments
        // are already in it (and in bounds, or there would be no image).
        // First, so that an image that cannot be read fails before anything
        // a caller can see is written (the memories are this instance's
        // own).
        self.fill_memory_images()?;
        if let Err(trap) = self.initialize_globals_and_tables() {
            // The data segments were not reached: the memories must still
            // be all zeros, for whatever reaches this instance's functions
            // through the funcrefs earlier element segments left in an
            // imported table.
            self.clear_memory_images();
            return Err(trap.into());
        }
        self.apply_data_segments()?;
        Ok(())
    }

    /// Writes each memory image into its memory (read from the module's
    /// file and checked there, if loading left it unread), and marks the
    /// active segments it holds as applied. No image holds a segment that
    /// comes after one that may trap (`hoist_environ::memory_images`).
    fn fill_memory_images(&mut self) -> Result<(), InitError> {
        let code = self.code.clone();
        for image in &code.memory_images {
            // SAFETY: images are only made for memories this instance
            // defines, whose pointers are valid for its life.
            let memory = unsafe { &*self.memories[image.memory.index()] };
            let at = image.offset as usize;
            // SAFETY: the instance is being initialized; a memory it
            // defines is reachable from nowhere else yet.
            let Some(target) =
                unsafe { memory.data_mut() }.get_mut(at..at.saturating_add(image.len))
            else {
                // The loader checked that images fit their memory's initial
                // size; anything else is a hoist bug.
                unreachable!("memory image outside its memory");
            };
            let read = code.code.read_range_into(image.image_offset, target);
            let read = read.and_then(|()| match &image.check {
                Some(check) if !check(target) => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "it does not match its digest (the file changed after it was loaded?)",
                )),
                _ => Ok(()),
            });
            if let Err(error) = read {
                // The stand-in's bytes must pass the same check.
                let stood_in = image.fallback.as_ref().is_some_and(|write| write(target))
                    && image.check.as_ref().is_none_or(|check| check(target));
                if !stood_in {
                    return Err(InitError::Image {
                        memory: image.memory,
                        error,
                    });
                }
            }
        }
        self.mark_imaged_segments(true);
        Ok(())
    }

    /// Marks every active data segment of a memory with images as applied
    /// (dropped, as after instantiation) or not. One pass: CPython has
    /// thousands of segments and several images.
    fn mark_imaged_segments(&mut self, applied: bool) {
        let code = self.code.clone();
        let imaged = |memory: MemoryIndex| code.memory_images.iter().any(|i| i.memory == memory);
        for (index, segment) in code.module.data.iter() {
            if matches!(&segment.kind, DataKind::Active { memory, .. } if imaged(*memory)) {
                self.dropped_data[index.index()] = applied;
            }
        }
    }

    /// Undoes [`Instance::fill_memory_images`]: zeros where the images
    /// were, their segments not applied.
    fn clear_memory_images(&mut self) {
        let code = self.code.clone();
        for image in &code.memory_images {
            // SAFETY: as in `fill_memory_images`; no guest code has run.
            let memory = unsafe { &*self.memories[image.memory.index()] };
            let at = image.offset as usize;
            // SAFETY: as in `fill_memory_images`.
            let data = unsafe { memory.data_mut() };
            if let Some(target) = data.get_mut(at..at.saturating_add(image.len)) {
                target.fill(0);
            }
        }
        self.mark_imaged_segments(false);
    }

    /// Globals, tables' initial values and element segments, in module
    /// order.
    fn initialize_globals_and_tables(&mut self) -> Result<(), TrapCode> {
        let module = self.code.module.clone();
        for (def, init) in module.global_inits.iter() {
            let value = self.eval_const(init)?;
            let index = module.num_imported_globals + def.index();
            // SAFETY: defined global slots live in our vmctx.
            unsafe {
                *self.global_ptr(GlobalIndex::new(index)) = VMGlobalDefinition::from_raw(value)
            };
        }
        // Tables with an initializer start filled with its value (it may
        // read globals, so after them).
        for (def, init) in module.table_inits.iter() {
            if let Some(init) = init {
                let value = self.eval_const(init)?.0 as usize;
                let index = TableIndex::new(module.num_imported_tables + def.index());
                // SAFETY: table pointers are valid for the instance's life.
                let table = unsafe { &mut *self.tables[index.index()] };
                let size = table.size();
                table.fill(0, value, size);
            }
        }
        // Each segment's items go straight into `elements`, where they are
        // roots while later items allocate.
        self.elements = vec![None; module.elements.len()];
        for (index, segment) in module.elements.iter() {
            self.elements[index.index()] = Some(Vec::with_capacity(segment.items.len()));
            for item in segment.items.iter() {
                let value = self.eval_const(item)?.0 as usize;
                if let Some(Some(items)) = self.elements.get_mut(index.index()) {
                    items.push(value);
                }
            }
        }
        for (index, segment) in module.elements.iter() {
            match &segment.kind {
                ElementKind::Active { table, offset } => {
                    let offset = self.eval_const(offset)?.get_u32();
                    let len = segment.items.len() as u32;
                    self.table_init(*table, index, offset, 0, len)?;
                    self.elements[index.index()] = None;
                }
                ElementKind::Declared => self.elements[index.index()] = None,
                ElementKind::Passive => {}
            }
        }
        Ok(())
    }

    /// The active data segments that no image holds, in module order.
    fn apply_data_segments(&mut self) -> Result<(), TrapCode> {
        let module = self.code.module.clone();
        for (index, segment) in module.data.iter() {
            if self.dropped_data[index.index()] {
                continue;
            }
            if let DataKind::Active { memory, offset } = &segment.kind {
                let offset = self.eval_const(offset)?.get_u64();
                let offset = if module.memories[*memory].memory64 {
                    offset
                } else {
                    offset as u32 as u64
                };
                self.memory_init(*memory, index, offset, 0, segment.bytes.len() as u32)?;
                self.dropped_data[index.index()] = true;
            }
        }
        Ok(())
    }

    // ----- the operations behind the builtins -----

    pub fn memory_init(
        &mut self,
        memory: MemoryIndex,
        data: DataIndex,
        dst: u64,
        src: u32,
        len: u32,
    ) -> Result<(), TrapCode> {
        let module = self.code.module.clone();
        let bytes: &[u8] = if self.dropped_data[data.index()] {
            &[]
        } else {
            &module.data[data].bytes
        };
        // SAFETY: memory pointers are valid for the instance's life.
        let memory = unsafe { &*self.memories[memory.index()] };
        let src_range = range(u64::from(src), u64::from(len), bytes.len())?;
        let dst_range = range(dst, u64::from(len), memory.byte_size())?;
        // SAFETY: in bounds (checked above; memories never shrink); the
        // store gives exclusive access to an unshared memory while wasm
        // runs, and on a shared one this is a copy, as wasm's own would be.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes[src_range].as_ptr(),
                memory.base().add(dst_range.start),
                dst_range.len(),
            );
        }
        Ok(())
    }

    pub fn data_drop(&mut self, data: DataIndex) {
        self.dropped_data[data.index()] = true;
    }

    pub fn memory_grow(&mut self, memory: MemoryIndex, delta: u64) -> Option<u64> {
        // SAFETY: see `memory_init`.
        let memory = unsafe { &*self.memories[memory.index()] };
        memory.grow(delta).ok().flatten()
    }

    pub fn table_init(
        &mut self,
        table: TableIndex,
        elem: ElemIndex,
        dst: u32,
        src: u32,
        len: u32,
    ) -> Result<(), TrapCode> {
        let segment: &[usize] = self.elements[elem.index()].as_deref().unwrap_or(&[]);
        // SAFETY: table pointers are valid for the instance's life.
        let table = unsafe { &mut *self.tables[table.index()] };
        let src_range = range(u64::from(src), u64::from(len), segment.len())
            .map_err(|_| TrapCode::TableOutOfBounds)?;
        let dst_range = range(u64::from(dst), u64::from(len), table.size() as usize)
            .map_err(|_| TrapCode::TableOutOfBounds)?;
        table.elements_mut()[dst_range].copy_from_slice(&segment[src_range]);
        Ok(())
    }

    pub fn elem_drop(&mut self, elem: ElemIndex) {
        self.elements[elem.index()] = None;
    }

    pub fn table_copy(
        &mut self,
        dst_table: TableIndex,
        src_table: TableIndex,
        dst: u32,
        src: u32,
        len: u32,
    ) -> Result<(), TrapCode> {
        let oob = |_| TrapCode::TableOutOfBounds;
        // SAFETY: table pointers are valid; the tables may be the same, so
        // copy through a temporary when they are.
        unsafe {
            let src_elements: Vec<usize> = {
                let src_table = &*self.tables[src_table.index()];
                let r = range(u64::from(src), u64::from(len), src_table.size() as usize)
                    .map_err(oob)?;
                src_table.elements()[r].to_vec()
            };
            let dst_table = &mut *self.tables[dst_table.index()];
            let r =
                range(u64::from(dst), u64::from(len), dst_table.size() as usize).map_err(oob)?;
            dst_table.elements_mut()[r].copy_from_slice(&src_elements);
        }
        Ok(())
    }

    pub fn table_fill(
        &mut self,
        table: TableIndex,
        dst: u32,
        value: usize,
        len: u32,
    ) -> Result<(), TrapCode> {
        // SAFETY: table pointers are valid for the instance's life.
        let table = unsafe { &mut *self.tables[table.index()] };
        if table.fill(dst, value, len) {
            Ok(())
        } else {
            Err(TrapCode::TableOutOfBounds)
        }
    }

    pub fn table_grow(&mut self, table: TableIndex, delta: u32, init: usize) -> Option<u32> {
        // SAFETY: table pointers are valid for the instance's life.
        let table = unsafe { &mut *self.tables[table.index()] };
        table.grow(delta, init)
    }
}

/// `start..start+len` if it fits in `size`, else an out-of-bounds trap.
fn range(start: u64, len: u64, size: usize) -> Result<std::ops::Range<usize>, TrapCode> {
    match start.checked_add(len) {
        Some(end) if end <= size as u64 => Ok(start as usize..end as usize),
        _ => Err(TrapCode::MemoryOutOfBounds),
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if self.code.lazy.is_some() {
            let mut live = self
                .code
                .live_instances
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            live.retain(|&vmctx| vmctx != self.vmctx as usize);
        }
        // SAFETY: allocated in `new` with this layout; no longer among the
        // module's live instances.
        unsafe { std::alloc::dealloc(self.vmctx, self.layout) }
    }
}
