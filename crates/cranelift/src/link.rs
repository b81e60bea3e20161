//! Compiling every function of a module and linking them into one text
//! section, with the trap table and the wasm address map.

use crate::func_environ::FuncEnvironment;
use crate::translate::{translate_function, FuncTranslatorContext, LoopSpan};
use crate::{from_clif_trap, trampolines};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, ExternalName};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::settings::{OptLevel, RegallocAlgorithm};
use cranelift_codegen::{
    Context, ExceptionContextLoc, FinalizedMachExceptionHandler, FinalizedRelocTarget,
};
use cranelift_entity::PrimaryMap;
use cranelift_frontend::FunctionBuilderContext;
use hoist_environ::{
    CallSite, CompiledText, DefinedFuncIndex, EntityRef, FuncIndex, FunctionBodyData, FunctionLoc,
    Module, StackMap, TrapCode, Tunables, TypeIndex, VMOffsets, WasmError, WasmFuncType,
    WasmResult,
};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// One compiled function before linking.
#[derive(Clone)]
struct CompiledFunction {
    code: Vec<u8>,
    /// Where the function should start: a multiple of this.
    alignment: u32,
    /// What the code needs: a multiple of this (its constants' alignment).
    min_alignment: u32,
    /// The offset in `code` of the header of the loop placed at a
    /// [`LOOP_ALIGN`] boundary, if any (see [`hot_loop_header`]).
    loop_header: Option<u32>,
    /// (offset in function, kind, addend, callee)
    relocs: Vec<(u32, cranelift_codegen::binemit::Reloc, i64, FuncIndex)>,
    traps: Vec<(u32, TrapCode)>,
    address_map: Vec<(u32, u32)>,
    call_sites: Vec<CallSite>,
    stack_maps: Vec<StackMap>,
    /// Bytes of the frame below the frame pointer (spill slots, stack
    /// slots, saved registers, outgoing arguments).
    frame_size: u32,
}

fn compile_error(func: &ir::Function, error: cranelift_codegen::CodegenError) -> WasmError {
    let text = cranelift_codegen::print_errors::pretty_error(func, error);
    WasmError::Unsupported(format!("Cranelift failed to compile {}: {text}", func.name))
}

/// Branch-table and exception-table targets past which a function is
/// compiled as [`crate::isa::for_hard_functions`] says: without block
/// start offsets (so without loop alignment) and without mid-end
/// optimizations. Cranelift keeps those offsets in time quadratic in a run
/// of empty edge blocks, and a `br_table` of n targets makes a run of n
/// (1M targets took 300 s to compile; 4096 take a few milliseconds), as
/// may the catch edges of calls in a `try_table`; and the optimizer's
/// redundant-load elimination undoes the translator's split of the values
/// a huge `br_table` passes (40,000 targets: 37 s and 9.5 GB, 1.5 s
/// without).
const MAX_BRANCH_TARGETS: usize = 4096;

/// Puts `func` in `ctx` and runs the mid-end on it for `isa`.
fn optimize(
    ctx: &mut Context,
    isa: &dyn TargetIsa,
    func: ir::Function,
    ctrl_plane: &mut ControlPlane,
) -> WasmResult<()> {
    ctx.clear();
    ctx.func = func;
    ctx.optimize(isa, ctrl_plane)
        .map_err(|e| compile_error(&ctx.func, e))
}

/// Compiles `func` and extracts code, relocations, traps and source
/// locations; a function of thousands of branch targets, or of crowded
/// values (see `crate::crowding`), with a variant of `isa` (see
/// `crate::isa::for_hard_functions`).
fn compile(
    isa: &dyn TargetIsa,
    codegen: &mut Codegen,
    func: ir::Function,
    loops: &[LoopSpan],
) -> WasmResult<CompiledFunction> {
    let jump_targets = func
        .dfg
        .jump_tables
        .values()
        .map(|t| t.all_branches().len());
    let catch_targets = (func.dfg.exception_tables.values()).map(|t| t.all_branches().len());
    let branch_targets: usize = jump_targets.chain(catch_targets).sum();
    let huge = (branch_targets > MAX_BRANCH_TARGETS)
        .then(|| crate::isa::for_hard_functions(isa, true, false))
        .flatten();
    let isa = huge.as_deref().unwrap_or(isa);
    let Codegen {
        context: ctx,
        regalloc,
    } = codegen;
    // The mid-end, then the backend, as `Context::compile` runs them; but
    // the registers of a function whose values crowd (see
    // `crate::crowding`) are allocated by the single-pass allocator, after
    // the function is optimized again without the mid-end: its sinking of
    // pure values to their uses may be what crowds them, and the
    // single-pass allocator's frame grows with the values it spills. (Not
    // the backtracking allocator, even if the values then crowd less: the
    // estimate errs, and without the mid-end there are more of them.)
    let mut ctrl_plane = ControlPlane::default();
    let backtracking = isa.flags().regalloc_algorithm() == RegallocAlgorithm::Backtracking;
    let may_crowd = backtracking && func.dfg.num_values() > crate::crowding::DENSE_LIVE;
    let optimizing = isa.flags().opt_level() != OptLevel::None;
    let plain = (may_crowd && optimizing).then(|| func.clone());
    optimize(ctx, isa, func, &mut ctrl_plane)?;
    let mut variant = None;
    if may_crowd && crate::crowding::crowded(&ctx.func) {
        let unoptimized = crate::isa::for_hard_functions(isa, true, false);
        if let (Some(plain), Some(unoptimized)) = (plain, unoptimized) {
            optimize(ctx, &*unoptimized, plain, &mut ctrl_plane)?;
            variant = Some(unoptimized);
        }
        let base = variant.as_deref().unwrap_or(isa);
        variant = crate::isa::for_hard_functions(base, false, true).or(variant);
    }
    let isa = variant.as_deref().unwrap_or(isa);
    let compiled = isa
        .compile_function(&ctx.func, &ctx.domtree, regalloc, false, &mut ctrl_plane)
        .map_err(|e| compile_error(&ctx.func, e))?
        .apply_params(&ctx.func.params);
    let buffer = &compiled.buffer;
    let mut relocs = Vec::new();
    for reloc in buffer.relocs() {
        let callee = match &reloc.target {
            FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                let name = &ctx.func.params.user_named_funcs()[*name];
                FuncIndex::from_u32(name.index)
            }
            other => {
                return Err(WasmError::Unsupported(format!(
                "relocation to {other:?} in {} (the target lacks a CPU feature hoist relies on?)",
                ctx.func.name
            )))
            }
        };
        relocs.push((reloc.offset, reloc.kind, reloc.addend, callee));
    }
    let traps = buffer
        .traps()
        .iter()
        .filter_map(|t| from_clif_trap(t.code).map(|code| (t.offset, code)))
        .collect();
    let address_map = buffer
        .get_srclocs_sorted()
        .iter()
        .filter(|s| !s.loc.is_default())
        .map(|s| (s.start, s.loc.bits()))
        .collect();
    let mut call_sites = Vec::new();
    for site in buffer.call_sites() {
        if site.exception_handlers.is_empty() {
            continue;
        }
        let missing = |what: &str| {
            WasmError::Unsupported(format!(
                "Cranelift gave a call with exception handlers no {what} in {}",
                ctx.func.name
            ))
        };
        let mut call_site = CallSite {
            ret: site.ret_addr,
            frame_offset: site.frame_offset.ok_or_else(|| missing("frame offset"))?,
            vmctx_sp_offset: u32::MAX,
            handlers: Vec::new(),
        };
        for handler in site.exception_handlers {
            match handler {
                FinalizedMachExceptionHandler::Context(ExceptionContextLoc::SPOffset(offset)) => {
                    call_site.vmctx_sp_offset = *offset;
                }
                FinalizedMachExceptionHandler::Context(ExceptionContextLoc::GPR(_)) => {
                    return Err(missing("stack slot for the vmctx"));
                }
                FinalizedMachExceptionHandler::Tag(tag, offset) => {
                    call_site.handlers.push((Some(tag.as_u32()), *offset));
                }
                FinalizedMachExceptionHandler::Default(offset) => {
                    call_site.handlers.push((None, *offset));
                }
            }
        }
        if call_site.vmctx_sp_offset == u32::MAX {
            return Err(missing("vmctx"));
        }
        call_sites.push(call_site);
    }
    let stack_maps = buffer
        .user_stack_maps()
        .iter()
        .map(|(ret, frame_size, map)| StackMap {
            ret: *ret,
            frame_size: *frame_size,
            slots: map.entries().map(|(_, offset)| offset).collect(),
        })
        .collect();
    let min_alignment = buffer.alignment.max(isa.function_alignment().minimum);
    let frame_size = buffer.frame_layout().map_or(0, |f| f.frame_to_fp_offset);
    Ok(CompiledFunction {
        frame_size,
        code: buffer.data().to_vec(),
        alignment: min_alignment.max(isa.function_alignment().preferred),
        min_alignment,
        loop_header: hot_loop_header(
            loops,
            buffer.get_srclocs_sorted(),
            &BlockLayout {
                starts: &compiled.bb_starts,
                edges: &compiled.bb_edges,
                len: buffer.data().len() as u32,
            },
            isa.flags().opt_level() != OptLevel::None,
        ),
        relocs,
        traps,
        address_map,
        call_sites,
        stack_maps,
    })
}

/// How the environment of a defined function is set up (see
/// [`FuncEnvironment`]'s builders).
#[derive(Clone, Copy, Default)]
struct EnvOptions {
    calls_through_funcrefs: bool,
    hotness_counter: Option<DefinedFuncIndex>,
    locals_in_stack_slots: bool,
    unoptimized_stack_limit: bool,
}

impl EnvOptions {
    fn env<'a>(
        self,
        module: &'a Module,
        offsets: &'a VMOffsets,
        tunables: &'a Tunables,
        isa: &'a dyn TargetIsa,
    ) -> FuncEnvironment<'a> {
        let mut env = FuncEnvironment::new(module, offsets, tunables, isa)
            .with_hotness_counter(self.hotness_counter);
        if self.calls_through_funcrefs {
            env = env.with_calls_through_funcrefs();
        }
        if self.locals_in_stack_slots {
            env = env.with_locals_in_stack_slots();
        }
        if self.unoptimized_stack_limit {
            env = env.with_unoptimized_stack_limit();
        }
        env
    }
}

/// Translates defined function `func_index` from `body` and compiles it
/// with `isa`. A function whose joins make regalloc2's dominator tree
/// quadratic (see `crate::joins`) is translated again with its locals in
/// stack slots and compiled without mid-end optimizations and with the
/// single-pass allocator, as the lazy tier compiles big bodies, unless its
/// frame then passes `translate::max_cheap_frame`; one whose dominator
/// tree would make the mid-end's scope searches quadratic (see
/// `crate::joins` too) is compiled without the mid-end.
#[allow(clippy::too_many_arguments)]
fn translate_and_compile(
    isa: &dyn TargetIsa,
    module: &Module,
    offsets: &VMOffsets,
    tunables: &Tunables,
    ctx: &mut ThreadContext,
    func_index: FuncIndex,
    body: FunctionBodyData<'_>,
    validated: bool,
    options: EnvOptions,
) -> WasmResult<CompiledFunction> {
    let copy = copy_body(&body);
    let mut env = options.env(module, offsets, tunables, isa);
    let func = translate_function(&mut ctx.translator, &mut env, func_index, body, validated)?;
    let backtracking = isa.flags().regalloc_algorithm() == RegallocAlgorithm::Backtracking;
    let walks = crate::joins::walks(&func);
    if backtracking && walks.joins > crate::joins::MAX_JOIN_WALK {
        if let Some(quick) = crate::isa::for_hard_functions(isa, true, true) {
            let slots = EnvOptions {
                locals_in_stack_slots: true,
                ..options
            };
            let mut env = slots.env(module, offsets, tunables, &*quick);
            // The single-pass allocator gives every value live across a
            // block its own slot.
            let max_frame = crate::translate::max_cheap_frame(tunables.max_wasm_stack);
            // Any error leaves the function to the usual path.
            let compiled =
                translate_function(&mut ctx.translator, &mut env, func_index, copy, true).and_then(
                    |slotted| compile(&*quick, &mut ctx.codegen, slotted, ctx.translator.loops()),
                );
            if let Ok(compiled) = compiled {
                if u64::from(compiled.frame_size) <= max_frame {
                    return Ok(compiled);
                }
            }
        }
    }
    let optimizing = isa.flags().opt_level() != OptLevel::None;
    let unoptimized = (optimizing && walks.scopes > crate::joins::MAX_SCOPE_WALK)
        .then(|| crate::isa::for_hard_functions(isa, true, false))
        .flatten();
    let isa = unoptimized.as_deref().unwrap_or(isa);
    // (`loops` is the same for both translations.)
    compile(isa, &mut ctx.codegen, func, ctx.translator.loops())
}

/// What compiling a function reuses from one function to the next.
struct Codegen {
    context: Context,
    regalloc: regalloc2::Ctx,
}

impl Default for Codegen {
    fn default() -> Self {
        Codegen {
            context: Context::new(),
            regalloc: regalloc2::Ctx::default(),
        }
    }
}

#[derive(Default)]
struct ThreadContext {
    codegen: Codegen,
    translator: FuncTranslatorContext,
}

pub fn compile_module(
    isa: &dyn TargetIsa,
    tunables: &Tunables,
    module: &Module,
    function_bodies: PrimaryMap<DefinedFuncIndex, FunctionBodyData<'_>>,
) -> WasmResult<CompiledText> {
    let offsets = VMOffsets::new(isa.pointer_bytes(), module);
    let bodies: Vec<_> = function_bodies.into_iter().collect();

    let functions = bodies
        .into_par_iter()
        .map_init(ThreadContext::default, |ctx, (index, body)| {
            let func_index = module.func_index(index);
            let options = EnvOptions::default();
            translate_and_compile(
                isa, module, &offsets, tunables, ctx, func_index, body, false, options,
            )
        })
        .collect::<WasmResult<Vec<_>>>()?;

    let (trampolines, shared) = compile_trampolines(isa, module)?;
    let mut text = link(isa, module, functions, trampolines)?;
    shared.finish(module, &mut text);
    Ok(text)
}

/// The text of a module compiled lazily: its trampolines, plus one compile
/// stub per defined function in place of the function (see
/// `trampolines::lazy_stub`); the functions themselves are compiled one by
/// one by [`compile_function_lazily`] when first called.
/// Stubs are compiled with `stub_isa` (the baseline tier: they are
/// trivial, and there is one per function).
pub fn compile_lazy_module(
    isa: &dyn TargetIsa,
    stub_isa: &dyn TargetIsa,
    module: &Module,
) -> WasmResult<CompiledText> {
    // One template per signature, patched per function where the target
    // encodes the index as a plain 32-bit immediate; else a compile each.
    // The signatures' compiles run in parallel (cc1 has 245, three compiles
    // each with the trampolines).
    let mut signatures: Vec<&WasmFuncType> = Vec::new();
    let mut seen: HashSet<&WasmFuncType> = HashSet::new();
    for (_, ty) in module.functions.iter().skip(module.num_imported_funcs) {
        let ty = module.func_sig(*ty);
        if seen.insert(ty) {
            signatures.push(ty);
        }
    }
    let (templates, trampolines) = rayon::join(
        || {
            signatures
                .par_iter()
                .map_init(
                    || (FunctionBuilderContext::new(), Codegen::default()),
                    |(builder_ctx, ctx), &ty| {
                        Ok((ty, stub_template(stub_isa, ty, builder_ctx, ctx)?))
                    },
                )
                .collect::<WasmResult<HashMap<&WasmFuncType, Option<StubTemplate>>>>()
        },
        || compile_trampolines(isa, module),
    );
    let (templates, (trampolines, shared)) = (templates?, trampolines?);
    let stubs = (0..module.num_defined_funcs())
        .into_par_iter()
        .map_init(
            || (FunctionBuilderContext::new(), Codegen::default()),
            |(builder_ctx, ctx), i| {
                let func_index = module.func_index(DefinedFuncIndex::new(i));
                let ty = module.func_type(func_index);
                if let Some(Some(template)) = templates.get(ty) {
                    return Ok(template.instantiate(func_index));
                }
                let func = trampolines::lazy_stub(stub_isa, ty, func_index, builder_ctx);
                compile(stub_isa, ctx, func, &[])
            },
        )
        .collect::<WasmResult<Vec<_>>>()?;
    let mut text = link(isa, module, stubs, trampolines)?;
    shared.finish(module, &mut text);
    Ok(text)
}

/// A compile stub whose only function-specific bytes are the function
/// index, as a little-endian 32-bit immediate at `at`.
struct StubTemplate {
    stub: CompiledFunction,
    at: usize,
}

impl StubTemplate {
    fn instantiate(&self, func: FuncIndex) -> CompiledFunction {
        let mut stub = self.stub.clone();
        stub.code[self.at..self.at + 4].copy_from_slice(&func.as_u32().to_le_bytes());
        stub
    }
}

/// Compiles the stub of type `ty` for two function indices and keeps it as
/// a template if the two differ in exactly the four bytes of the index
/// (x86_64's `mov r32, imm32`); `None` where the target splits immediates
/// across instructions (aarch64, riscv64): stubs are then compiled one by
/// one.
fn stub_template(
    isa: &dyn TargetIsa,
    ty: &WasmFuncType,
    builder_ctx: &mut FunctionBuilderContext,
    ctx: &mut Codegen,
) -> WasmResult<Option<StubTemplate>> {
    // Below 2^31 (a function index always is), every byte different.
    const A: u32 = 0x7ead_be01;
    const B: u32 = 0x1030_5070;
    let a = compile(
        isa,
        ctx,
        trampolines::lazy_stub(isa, ty, FuncIndex::from_u32(A), builder_ctx),
        &[],
    )?;
    let b = compile(
        isa,
        ctx,
        trampolines::lazy_stub(isa, ty, FuncIndex::from_u32(B), builder_ctx),
        &[],
    )?;
    // Nothing but the immediate may depend on the index: no relocations,
    // call sites or stack maps, and the same trap records in both.
    let plain = |f: &CompiledFunction| {
        f.relocs.is_empty() && f.call_sites.is_empty() && f.stack_maps.is_empty()
    };
    if a.code.len() != b.code.len() || !plain(&a) || !plain(&b) || a.traps != b.traps {
        return Ok(None);
    }
    let differ: Vec<usize> = (0..a.code.len())
        .filter(|&i| a.code[i] != b.code[i])
        .collect();
    let Some(&at) = differ.first() else {
        return Ok(None);
    };
    let exact = differ.len() == 4
        && differ.iter().enumerate().all(|(k, &i)| i == at + k)
        && a.code[at..at + 4] == A.to_le_bytes()
        && b.code[at..at + 4] == B.to_le_bytes();
    Ok(exact.then_some(StubTemplate { stub: a, at }))
}

thread_local! {
    /// Reused by the lazy compiles of one thread.
    static LAZY_CONTEXT: std::cell::RefCell<ThreadContext> = std::cell::RefCell::new(ThreadContext::default());
}

/// Which lazily compiled functions the single-pass register allocator
/// compiles, and how big its frames may get.
///
/// That allocator gives every value live across a block boundary or a call
/// a stack slot of its own: with locals in stack slots, frames grow about
/// 2.7 times (median; 6 at the 90th percentile, over cc1's 10,441
/// functions) and a few of the biggest functions' by a hundred times and
/// more (59 KiB against 144 bytes). Bigger frames mean a recursion that the
/// optimized code survives could exhaust the stack budget on a lazily
/// compiled first run only. So:
/// - bodies under [`MIN_SINGLE_PASS_BODY`] bytes keep the backtracking
///   allocator: they are cheap to compile either way (cc1: 0.66 of the
///   backtracking allocator's compile time with single-pass for every
///   function, 0.70 with it from 500 bytes up) and are where the deepest
///   recursions usually are (a list walk, a tree descent, `fib`);
/// - a frame over 1/32 of the stack budget (16 KiB of the default 512 KiB)
///   has the function compiled again with the backtracking allocator, so
///   a single frame never takes much of the budget.
const MIN_SINGLE_PASS_BODY: u64 = 500;

/// The biggest single-pass frame for a stack budget of `max_wasm_stack`
/// bytes (see [`MIN_SINGLE_PASS_BODY`]).
fn max_single_pass_frame(max_wasm_stack: usize) -> u32 {
    u32::try_from(max_wasm_stack / 32)
        .unwrap_or(u32::MAX)
        .min(16 << 10)
}

/// `body` again, for a second translation (the first consumes its
/// validator).
fn copy_body<'a>(body: &FunctionBodyData<'a>) -> FunctionBodyData<'a> {
    FunctionBodyData {
        body: body.body.clone(),
        validator: wasmparser::FuncToValidate {
            resources: body.validator.resources.clone(),
            index: body.validator.index,
            ty: body.validator.ty,
            features: body.validator.features,
        },
    }
}

/// Compiles one function for a module compiled lazily: its own text (no
/// relocations: calls to other functions go through their funcrefs; the
/// function at `functions[0].start`) with its trap records, address map,
/// call sites and stack maps. With `single_pass` (the same target with the
/// single-pass register allocator), numeric locals of a function of
/// [`MIN_SINGLE_PASS_BODY`] bytes or more live in stack slots and that
/// allocator compiles it, unless its frame comes out too big (see
/// [`max_single_pass_frame`]) or it fails; otherwise `isa` does, with
/// locals as SSA variables. With `single_pass_compiler`, hoist's own
/// single-pass compiler takes the function first if it can (see
/// `single_pass_baseline`). With `count_hotness`, the code counts its
/// entries and loop iterations down in its vmctx hotness counter (see
/// `translate::hotness`). Where `isa` does not optimize (a first-call
/// compile, not a tier-up's), the code checks the store context's
/// `unoptimized_stack_limit`, as the single-pass compiler's checks its own:
/// unoptimized frames are bigger too.
#[allow(clippy::too_many_arguments)]
pub fn compile_function_lazily(
    isa: &dyn TargetIsa,
    single_pass: Option<&dyn TargetIsa>,
    single_pass_compiler: bool,
    tunables: &Tunables,
    module: &Module,
    offsets: &VMOffsets,
    index: DefinedFuncIndex,
    body: FunctionBodyData<'_>,
    count_hotness: bool,
) -> WasmResult<CompiledText> {
    LAZY_CONTEXT.with(|ctx| {
        // Reentered on this thread (never expected): a context of its own.
        let mut fresh = ThreadContext::default();
        let mut borrowed = ctx.try_borrow_mut();
        let ctx = match &mut borrowed {
            Ok(ctx) => &mut **ctx,
            Err(_) => &mut fresh,
        };
        if single_pass_compiler {
            if let Some(out) =
                single_pass_baseline(isa, tunables, module, offsets, index, &body, count_hotness)
            {
                return Ok(out);
            }
        }
        let func_index = module.func_index(index);
        let counted = count_hotness.then_some(index);
        let options = EnvOptions {
            calls_through_funcrefs: true,
            hotness_counter: counted,
            locals_in_stack_slots: false,
            unoptimized_stack_limit: isa.flags().opt_level() == OptLevel::None,
        };
        let body_size = body.body.range().end - body.body.range().start;
        let quick = match single_pass {
            Some(single_pass) if body_size >= MIN_SINGLE_PASS_BODY => {
                let copy = copy_body(&body);
                let slots = EnvOptions {
                    locals_in_stack_slots: true,
                    ..options
                };
                let mut slots = slots.env(module, offsets, tunables, single_pass);
                let func =
                    translate_function(&mut ctx.translator, &mut slots, func_index, copy, true)?;
                // An error of the single-pass allocator's (it is the less
                // used one) leaves the function to the other.
                compile(single_pass, &mut ctx.codegen, func, ctx.translator.loops())
                    .ok()
                    .filter(|quick| {
                        quick.frame_size <= max_single_pass_frame(tunables.max_wasm_stack)
                    })
            }
            _ => None,
        };
        let compiled = match quick {
            Some(quick) => quick,
            None => translate_and_compile(
                isa, module, offsets, tunables, ctx, func_index, body, true, options,
            )?,
        };
        if !compiled.relocs.is_empty() {
            return Err(WasmError::Unsupported(
                "a lazily compiled function has relocations".into(),
            ));
        }
        // The text is placed at a 64-byte boundary (the runtime's code
        // arena, or pages of its own): zeros in front place its loop header
        // as the linker places it.
        let pad = compiled
            .loop_header
            .and_then(|header| loop_padding(0, header, compiled.min_alignment))
            .unwrap_or(0);
        let mut out = CompiledText::default();
        record(&mut out, pad, &compiled);
        out.functions.push(FunctionLoc {
            start: pad as u32,
            length: compiled.code.len() as u32,
        });
        out.text = vec![0; pad as usize];
        out.text.extend_from_slice(&compiled.code);
        out.loop_header = compiled.loop_header.map(|header| pad as u32 + header);
        Ok(out)
    })
}

/// A lazily compiled function from the single-pass compiler (crate
/// `hoist-baseline`), where the target is this x86-64 machine and the
/// function is in its subset; `None` leaves it to Cranelift.
fn single_pass_baseline(
    isa: &dyn TargetIsa,
    tunables: &Tunables,
    module: &Module,
    offsets: &VMOffsets,
    index: DefinedFuncIndex,
    body: &FunctionBodyData<'_>,
    count_hotness: bool,
) -> Option<CompiledText> {
    #[cfg(target_arch = "x86_64")]
    {
        if isa.triple().architecture != target_lexicon::Architecture::X86_64 {
            return None;
        }
        let options = hoist_baseline::Options {
            popcnt: std::arch::is_x86_feature_detected!("popcnt"),
            sse41: std::arch::is_x86_feature_detected!("sse4.1"),
            count_hotness,
            max_frame: max_single_pass_frame(tunables.max_wasm_stack),
        };
        let compiled =
            hoist_baseline::compile(module, offsets, tunables, index, &body.body, options).ok()?;
        let mut out = CompiledText::default();
        out.functions.push(FunctionLoc {
            start: 0,
            length: compiled.code.len() as u32,
        });
        out.text = compiled.code;
        out.traps = compiled.traps;
        out.address_map = compiled.address_map;
        Some(out)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (isa, tunables, module, offsets, index, body, count_hotness);
        None
    }
}

/// The types whose trampoline is another type's (same signature).
struct SharedTrampolines {
    aliases: Vec<(TypeIndex, TypeIndex)>,
    import_aliases: Vec<(TypeIndex, TypeIndex)>,
}

impl SharedTrampolines {
    /// Records every type's trampoline in the linked `text`.
    fn finish(self, module: &Module, text: &mut CompiledText) {
        text.gc_layouts = module.gc_layouts.values().cloned().collect();
        for (alias, first) in self.aliases {
            let offset = text.array_to_wasm[&first];
            text.array_to_wasm.insert(alias, offset);
        }
        for (alias, first) in self.import_aliases {
            let offset = text.import_trampolines[&first];
            text.import_trampolines.insert(alias, offset);
        }
    }
}

/// One host-to-wasm trampoline per distinct signature of a defined
/// function, one host-call trampoline per distinct signature of an import.
#[allow(clippy::type_complexity)]
fn compile_trampolines(
    isa: &dyn TargetIsa,
    module: &Module,
) -> WasmResult<(Vec<(Trampoline, CompiledFunction)>, SharedTrampolines)> {
    // One host-to-wasm trampoline per distinct signature of a defined function.
    let mut trampoline_types: Vec<(TypeIndex, &WasmFuncType)> = Vec::new();
    let mut seen: HashMap<&WasmFuncType, TypeIndex> = HashMap::new();
    let mut aliases: Vec<(TypeIndex, TypeIndex)> = Vec::new();
    for (_, ty) in module.functions.iter().skip(module.num_imported_funcs) {
        let func_type = module.func_sig(*ty);
        match seen.get(func_type) {
            Some(first) if first != ty => aliases.push((*ty, *first)),
            Some(_) => {}
            None => {
                seen.insert(func_type, *ty);
                trampoline_types.push((*ty, func_type));
            }
        }
    }
    // And one host-call trampoline per distinct signature of an import.
    let mut import_types: Vec<(TypeIndex, &WasmFuncType)> = Vec::new();
    let mut import_aliases: Vec<(TypeIndex, TypeIndex)> = Vec::new();
    let mut seen_imports: HashMap<&WasmFuncType, TypeIndex> = HashMap::new();
    for (_, ty) in module.functions.iter().take(module.num_imported_funcs) {
        let func_type = module.func_sig(*ty);
        match seen_imports.get(func_type) {
            Some(first) if first != ty => import_aliases.push((*ty, *first)),
            Some(_) => {}
            None => {
                seen_imports.insert(func_type, *ty);
                import_types.push((*ty, func_type));
            }
        }
    }
    // In parallel, in a fixed order (the text's layout follows it).
    let wanted: Vec<Trampoline> = (trampoline_types.iter())
        .map(|&(index, _)| Trampoline::ArrayToWasm(index))
        .chain(
            import_types
                .iter()
                .map(|&(index, _)| Trampoline::WasmToArray(index)),
        )
        .collect();
    let trampolines = wanted
        .into_par_iter()
        .map_init(
            || (FunctionBuilderContext::new(), Codegen::default()),
            |(builder_ctx, ctx), trampoline| {
                let func = match trampoline {
                    Trampoline::ArrayToWasm(index) => {
                        trampolines::array_to_wasm(isa, module.func_sig(index), builder_ctx)
                    }
                    Trampoline::WasmToArray(index) => {
                        trampolines::wasm_to_array(isa, module.func_sig(index), builder_ctx)
                    }
                };
                Ok((trampoline, compile(isa, ctx, func, &[])?))
            },
        )
        .collect::<WasmResult<Vec<_>>>()?;

    Ok((
        trampolines,
        SharedTrampolines {
            aliases,
            import_aliases,
        },
    ))
}

/// Which trampoline, for which type.
enum Trampoline {
    ArrayToWasm(TypeIndex),
    WasmToArray(TypeIndex),
}

/// Lays out functions then trampolines, resolving calls between functions.
fn link(
    isa: &dyn TargetIsa,
    module: &Module,
    functions: Vec<CompiledFunction>,
    trampolines: Vec<(Trampoline, CompiledFunction)>,
) -> WasmResult<CompiledText> {
    let mut builder = isa.text_section_builder(functions.len());
    let mut ctrl = ControlPlane::default();
    let mut out = CompiledText::default();
    for func in &functions {
        let start = append_function(&mut builder, func, &mut ctrl);
        for (offset, kind, addend, callee) in &func.relocs {
            let target = module
                .defined_func_index(*callee)
                .ok_or_else(|| WasmError::Unsupported("direct call to an import".into()))?;
            if !builder.resolve_reloc(start + u64::from(*offset), *kind, *addend, target.index()) {
                return Err(WasmError::Unsupported(format!(
                    "unresolvable relocation {kind:?}"
                )));
            }
        }
        record(&mut out, start, func);
        out.functions.push(FunctionLoc {
            start: start as u32,
            length: func.code.len() as u32,
        });
    }
    for (kind, func) in &trampolines {
        let start = builder.append(false, &func.code, func.alignment, &mut ctrl) as u32;
        record(&mut out, u64::from(start), func);
        match kind {
            Trampoline::ArrayToWasm(ty) => out.array_to_wasm.insert(*ty, start),
            Trampoline::WasmToArray(ty) => out.import_trampolines.insert(*ty, start),
        };
    }
    out.text = builder.finish(&mut ctrl);
    out.traps.sort_unstable_by_key(|(offset, _)| *offset);
    out.address_map.sort_unstable_by_key(|(offset, _)| *offset);
    out.call_sites.sort_unstable_by_key(|site| site.ret);
    out.stack_maps.sort_unstable_by_key(|map| map.ret);
    debug_assert_eq!(out.functions.len(), module.num_defined_funcs());
    Ok(out)
}

/// Loop headers are placed at multiples of this many bytes: a cache line
/// on every target hoist compiles for.
const LOOP_ALIGN: u64 = 64;

/// Which loop of a compiled function to align, and where its header is:
/// the deepest innermost wasm loop (the first such in the body), and in
/// the machine code the innermost loop that holds most of that loop's code
/// (see [`machine_loop_header`]). Without block edges (a function compiled
/// without `machine_code_cfg_info`), or when no machine loop holds most of
/// it, the header is found from the first code translated from the loop's
/// body: the first block start at or after it when the mid-end may have
/// `hoisted` instructions out of the loop, else the start of the block
/// holding it. `None` for a function without loops, or when the loop's code
/// was optimized away.
///
/// Why: where a hot loop lands relative to cache-line and fetch-block
/// boundaries moves a loop-bound program by up to 50 % on the machines
/// measured (benches/README.md, "Timed region"); Cranelift has no setting
/// to align blocks, so the linker aligns one header per function by
/// choosing where the function starts.
fn hot_loop_header(
    loops: &[LoopSpan],
    srclocs: &[cranelift_codegen::MachSrcLoc<cranelift_codegen::Final>],
    cfg: &BlockLayout<'_>,
    hoisted: bool,
) -> Option<u32> {
    let hot = loops
        .iter()
        .filter(|l| l.innermost)
        .max_by_key(|l| (l.depth, std::cmp::Reverse(l.start)))?;
    let body: Vec<Range<u32>> = srclocs
        .iter()
        .filter(|s| !s.loc.is_default() && (hot.start + 1..=hot.end).contains(&s.loc.bits()))
        .map(|s| s.start..s.end)
        .collect();
    if let Some(header) = machine_loop_header(&body, cfg) {
        return Some(header);
    }
    // The first code of the body is not always the header's: a constant
    // the mid-end merged with an equal one before the loop keeps the
    // loop's source location wherever it is placed.
    let first = body.first()?.start;
    if hoisted {
        cfg.starts.iter().copied().filter(|&b| b >= first).min()
    } else {
        // Nothing hoisted: the block holding that code is the header. It
        // may start with register moves of the allocator's (no source
        // location), which run on each iteration too.
        cfg.starts.iter().copied().filter(|&b| b <= first).max()
    }
}

/// A compiled function's blocks as Cranelift reports them with
/// `machine_code_cfg_info`: start offsets in layout order, and the edges
/// between blocks as `(from, to)` start offsets.
struct BlockLayout<'a> {
    starts: &'a [u32],
    edges: &'a [(u32, u32)],
    /// The function's length in bytes: where its last block ends.
    len: u32,
}

/// The header of the innermost machine loop that holds more than half of
/// the bytes of `body` (disjoint code ranges in ascending order, the code
/// translated from one wasm loop's body): the target of a back edge, a
/// loop being the code from that target to the end of the block the edge
/// leaves. Counting bytes rather than taking the first code keeps out
/// what the mid-end moved away from the loop (constants merged with
/// equal ones before it, values hoisted out) and what it left far away
/// (trap stubs at the function's end). `None` when no loop holds that much.
fn machine_loop_header(body: &[Range<u32>], cfg: &BlockLayout<'_>) -> Option<u32> {
    // Bytes of `body` below each range's start, and in all.
    let mut below = Vec::with_capacity(body.len());
    let mut total = 0u64;
    for range in body {
        below.push(total);
        total += u64::from(range.end - range.start);
    }
    if total == 0 {
        return None;
    }
    // Bytes of `body` below offset `at`.
    let bytes_below = |at: u32| -> u64 {
        let i = body.partition_point(|r| r.start < at);
        match i.checked_sub(1) {
            None => 0,
            Some(last) => below[last] + u64::from(body[last].end.min(at) - body[last].start),
        }
    };
    let block_end = |from: u32| -> u32 {
        let next = cfg.starts.partition_point(|&s| s <= from);
        cfg.starts.get(next).copied().unwrap_or(cfg.len)
    };
    cfg.edges
        .iter()
        .filter(|&&(from, to)| to <= from)
        .map(|&(from, to)| (to, block_end(from)))
        .filter(|&(to, end)| 2 * (bytes_below(end) - bytes_below(to)) > total)
        .min_by_key(|&(to, end)| (end - to, to))
        .map(|(to, _)| to)
}

/// How many bytes to put before a function that would start at `here`
/// (a multiple of its `required` alignment) so its loop header, `header`
/// bytes in, lands on a [`LOOP_ALIGN`] boundary, or as near after one as
/// `required` allows (constants may need 16 bytes). `None`: the function's
/// own alignment is a whole line or more, so there is no choice.
fn loop_padding(here: u64, header: u32, required: u32) -> Option<u64> {
    let required = u64::from(required);
    if required >= LOOP_ALIGN {
        return None;
    }
    let header = u64::from(header);
    let want = (LOOP_ALIGN - (header - header % required) % LOOP_ALIGN) % LOOP_ALIGN;
    Some((want + LOOP_ALIGN - here % LOOP_ALIGN) % LOOP_ALIGN)
}

/// Appends `func` to the text section and returns where it starts: at its
/// preferred alignment, or, for a function with a loop to align, where
/// that loop's header lands on a [`LOOP_ALIGN`] boundary (see
/// [`loop_padding`]).
fn append_function(
    builder: &mut Box<dyn cranelift_codegen::TextSectionBuilder>,
    func: &CompiledFunction,
    ctrl: &mut ControlPlane,
) -> u64 {
    let Some(header) = func.loop_header else {
        return builder.append(true, &func.code, func.alignment, ctrl);
    };
    // Where the text ends now (an empty append only reports it, after any
    // veneer island the target needs here).
    let here = builder.append(false, &[], 1, ctrl);
    let Some(pad) = loop_padding(here, header, func.min_alignment) else {
        return builder.append(true, &func.code, func.alignment, ctrl);
    };
    if pad > 0 {
        builder.append(false, &[0; LOOP_ALIGN as usize][..pad as usize], 1, ctrl);
    }
    // An island emitted here would move the start: still correct, only
    // the header is then wherever it falls.
    builder.append(true, &func.code, func.min_alignment, ctrl)
}

fn record(out: &mut CompiledText, start: u64, func: &CompiledFunction) {
    let start = start as u32;
    out.traps.extend(
        func.traps
            .iter()
            .map(|(offset, code)| (start + offset, *code)),
    );
    out.address_map.extend(
        func.address_map
            .iter()
            .map(|(offset, wasm)| (start + offset, *wasm)),
    );
    out.call_sites.extend(func.call_sites.iter().map(|site| {
        CallSite {
            ret: start + site.ret,
            handlers: site
                .handlers
                .iter()
                .map(|(tag, offset)| (*tag, start + offset))
                .collect(),
            ..site.clone()
        }
    }));
    out.stack_maps
        .extend(func.stack_maps.iter().map(|map| StackMap {
            ret: start + map.ret,
            ..map.clone()
        }));
}

pub fn compile_host_trampoline(isa: &dyn TargetIsa, ty: &WasmFuncType) -> WasmResult<CompiledText> {
    let mut builder_ctx = FunctionBuilderContext::new();
    let mut ctx = Codegen::default();
    let func = trampolines::wasm_to_array(isa, ty, &mut builder_ctx);
    let compiled = compile(isa, &mut ctx, func, &[])?;
    let mut builder = isa.text_section_builder(0);
    let mut ctrl = ControlPlane::default();
    let start = builder.append(false, &compiled.code, compiled.alignment, &mut ctrl);
    let mut out = CompiledText::default();
    record(&mut out, start, &compiled);
    out.wasm_to_array = Some(start as u32);
    out.text = builder.finish(&mut ctrl);
    Ok(out)
}
