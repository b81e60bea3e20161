//! Translating one function body from wasm operators to Cranelift IR.
//!
//! The translator validates each operator (wasmparser's `FuncValidator`)
//! right before translating it, keeps the wasm value stack as Cranelift
//! values and the wasm control stack as Cranelift blocks. It is free of
//! policy: memories, tables, globals and calls go through
//! [`FuncEnvironment`].

mod atomics;
mod calls;
mod control;
mod exceptions;
mod gc;
mod hotness;
mod limits;
mod pressure;
mod refs;
mod simd;
mod visit;

pub(crate) use pressure::max_cheap_frame;
pub(crate) use simd::{check_func_type as check_simd_func_type, check_module as check_simd_module};

use crate::func_environ::FuncEnvironment;
use crate::ir_type;
use control::{ControlFrame, FrameKind};
use cranelift_codegen::ir::{self, InstBuilder, Value};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use hoist_environ::{FuncIndex, FunctionBodyData, WasmError, WasmResult, WasmValType};
use wasmparser::{FuncValidator, ValidatorResources};

/// Reusable buffers for translating many functions on one thread.
#[derive(Default)]
pub struct FuncTranslatorContext {
    builder_context: FunctionBuilderContext,
    allocations: wasmparser::FuncValidatorAllocations,
    loops: Vec<LoopSpan>,
}

impl FuncTranslatorContext {
    /// The reachable `loop`s of the function translated last, in the order
    /// their `loop` operators appear.
    pub fn loops(&self) -> &[LoopSpan] {
        &self.loops
    }
}

/// One wasm `loop` of a translated function, by the module offsets of its
/// `loop` and `end` operators: the code translated from its body carries
/// source locations in `start + 1..=end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopSpan {
    pub start: u32,
    pub end: u32,
    /// 1 for a loop in no other loop, 2 for a loop in one, ...
    pub depth: u32,
    /// No loop inside it.
    pub innermost: bool,
}

/// Translates `body` into a new Cranelift function named and typed as wasm
/// function `func_index` (see `crate::wasm_signature`). `validated`: the body passed validation before (a lazily compiled
/// function's, validated with the whole module), so its operators are not
/// checked again (a third of the reading), unless the module has GC
/// references, whose stack maps come from the validator's operand types.
pub fn translate_function(
    context: &mut FuncTranslatorContext,
    env: &mut FuncEnvironment<'_>,
    func_index: FuncIndex,
    body: FunctionBodyData<'_>,
    validated: bool,
) -> WasmResult<ir::Function> {
    let sig = crate::wasm_signature(env.isa, env.module.func_type(func_index));
    let mut func =
        ir::Function::with_name_signature(ir::UserFuncName::user(0, func_index.as_u32()), sig);
    let allocations = std::mem::take(&mut context.allocations);
    let mut validator = body.validator.into_validator(allocations);
    let mut loops = std::mem::take(&mut context.loops);
    loops.clear();
    let builder = FunctionBuilder::new(&mut func, &mut context.builder_context);
    let simd = simd::SimdSupport::new(env.isa);
    let mut translator = FuncTranslator {
        builder,
        env,
        stack: Vec::new(),
        control: Vec::new(),
        locals: Vec::new(),
        reachable: true,
        simd,
        simd_refused: false,
        handlers: Vec::new(),
        landings: Vec::new(),
        fuel_var: None,
        fuel_pending: 0,
        gc_before: Vec::new(),
        loops,
        open_loops: Vec::new(),
    };
    translator.env.declare_stack_limit(translator.builder.func);
    let validate = !validated || translator.env.module.has_gc_refs;
    let result = translator.translate_body(func_index, &body.body, &mut validator, validate);
    let loops = std::mem::take(&mut translator.loops);
    match result {
        Ok(()) => {
            let config = translator.env.isa.frontend_config();
            translator.builder.finalize(config);
        }
        // A half-built function cannot be finalized; start the next one
        // from fresh builder state.
        Err(_) => {
            drop(translator);
            context.builder_context = FunctionBuilderContext::new();
        }
    }
    context.allocations = validator.into_allocations();
    context.loops = loops;
    result.map(|()| func)
}

/// Where a wasm local lives.
#[derive(Clone, Copy)]
pub(crate) enum Local {
    Var(Variable),
    /// A stack slot of the local's Cranelift type (see
    /// `FuncEnvironment::with_locals_in_stack_slots`).
    Slot(ir::StackSlot, ir::Type),
}

pub(crate) struct FuncTranslator<'a, 'e> {
    pub(crate) builder: FunctionBuilder<'a>,
    pub(crate) env: &'a mut FuncEnvironment<'e>,
    /// The wasm operand stack.
    pub(crate) stack: Vec<Value>,
    pub(crate) control: Vec<ControlFrame>,
    pub(crate) locals: Vec<(Local, WasmValType)>,
    /// False after an unconditional branch until the next reachable label.
    pub(crate) reachable: bool,
    /// What the target does with v128.
    pub(crate) simd: simd::SimdSupport,
    /// Set when a SIMD operator was refused (see `simd_visitor`).
    pub(crate) simd_refused: bool,
    /// Exception handlers in scope, outermost first: calls made here go
    /// to the innermost that catches.
    pub(crate) handlers: Vec<exceptions::Handler>,
    /// Landing blocks of the `try_table`s being translated.
    pub(crate) landings: Vec<cranelift_codegen::ir::Block>,
    /// Fuel metering: the variable holding `fuel_consumed`, and the cost of
    /// the operators since it was last updated.
    pub(crate) fuel_var: Option<Variable>,
    pub(crate) fuel_pending: i64,
    /// The operand stack before the operator being translated, when the
    /// module has traced references (see `gc::declare_gc_values`).
    pub(crate) gc_before: Vec<Value>,
    /// The loops met so far (see [`LoopSpan`]).
    pub(crate) loops: Vec<LoopSpan>,
    /// Indices in `loops` of the loops being translated, innermost last.
    pub(crate) open_loops: Vec<usize>,
}

impl FuncTranslator<'_, '_> {
    /// A new local of type `wasm_ty`: a stack slot for a number or vector
    /// when the environment asks for them, else a variable (references
    /// always: the collector finds them through stack maps).
    /// `in_slot`: this one goes to a slot anyway (see `pressure`).
    fn declare_local(&mut self, wasm_ty: WasmValType, in_slot: bool) -> Local {
        let ty = ir_type(wasm_ty, self.env.pointer_type);
        if (self.env.locals_in_stack_slots || in_slot) && !wasm_ty.is_ref() {
            let size = ty.bytes();
            let slot = self.builder.create_sized_stack_slot(ir::StackSlotData::new(
                ir::StackSlotKind::ExplicitSlot,
                size,
                size.trailing_zeros() as u8,
            ));
            return Local::Slot(slot, ty);
        }
        let var = self.builder.declare_var(ty);
        if self.env.module.has_gc_refs && self.env.module.is_gc_ref(wasm_ty) {
            self.builder.declare_var_needs_stack_map(var);
        }
        Local::Var(var)
    }

    /// `local.get`.
    pub(crate) fn get_local(&mut self, local: Local) -> Value {
        match local {
            Local::Var(var) => self.builder.use_var(var),
            Local::Slot(slot, ty) => {
                let pointer = self.env.pointer_type;
                self.builder.ins().stack_load(pointer, ty, slot, 0)
            }
        }
    }

    /// `local.set`.
    pub(crate) fn set_local(&mut self, local: Local, value: Value) {
        match local {
            Local::Var(var) => self.builder.def_var(var, value),
            Local::Slot(slot, _) => {
                let pointer = self.env.pointer_type;
                self.builder.ins().stack_store(pointer, value, slot, 0);
            }
        }
    }

    fn translate_body(
        &mut self,
        func_index: FuncIndex,
        body: &wasmparser::FunctionBody<'_>,
        validator: &mut FuncValidator<ValidatorResources>,
        validate: bool,
    ) -> WasmResult<()> {
        let ty = self.env.module.func_type(func_index).clone();
        self.check_v128(ty.params.iter().chain(ty.results.iter()))?;
        let entry = self.builder.create_block();
        self.builder.append_block_params_for_function_params(entry);
        self.builder.switch_to_block(entry);
        self.builder.seal_block(entry);
        let params = self.builder.block_params(entry).to_vec();
        self.env.set_vmctx(params[0]);

        // Parameters, then declared locals, as Cranelift variables (or
        // stack slots, see `Local`), unless a huge control flow makes
        // variables too costly to compile (see `pressure`).
        let slots = if self.env.locals_in_stack_slots {
            None // all of them already
        } else {
            let max_frame = pressure::max_cheap_frame(self.env.tunables.max_wasm_stack);
            pressure::locals_in_slots(body, &ty.params, max_frame)
        };
        let in_slot = |index: usize| {
            slots
                .as_ref()
                .is_some_and(|slots| slots.get(index) == Some(&true))
        };
        for (i, wasm_ty) in ty.params.iter().enumerate() {
            let local = self.declare_local(*wasm_ty, in_slot(i));
            self.set_local(local, params[i + 2]);
            self.locals.push((local, *wasm_ty));
        }
        let mut reader = body.get_binary_reader();
        reader.set_features(*validator.features());
        let declared = reader.read_var_u32()?;
        for _ in 0..declared {
            let offset = reader.original_position();
            let count = reader.read_var_u32()?;
            let wasm_ty = reader.read()?;
            validator.define_locals(offset, count, wasm_ty)?;
            let wasm_ty = hoist_environ::val_type(wasm_ty)?;
            self.check_v128([&wasm_ty])?;
            for _ in 0..count {
                let local = self.declare_local(wasm_ty, in_slot(self.locals.len()));
                let zero = self.zero(wasm_ty);
                self.set_local(local, zero);
                self.locals.push((local, wasm_ty));
            }
        }
        self.env.prepare_heaps(&mut self.builder);
        self.limits_function_entry();

        // The function body is a block whose end returns.
        let exit = self.builder.create_block();
        for result in ty.results.iter() {
            self.builder
                .append_block_param(exit, ir_type(*result, self.env.pointer_type));
        }
        self.control.push(ControlFrame {
            kind: FrameKind::Block,
            destination: exit,
            num_params: 0,
            num_results: ty.results.len(),
            stack_height: 0,
            exit_reachable: false,
            unreachable_entry: false,
            wasm_kind: wasmparser::FrameKind::Block,
            handlers_inside: 0,
        });

        while !reader.eof() {
            let offset = reader.original_position();
            self.builder.set_srcloc(ir::SourceLoc::new(offset as u32));
            // Validate the operator first (from a copy of the reader), so the
            // translator only ever sees well-typed code.
            if validate {
                let mut validating = reader.clone();
                validating.visit_operator(&mut validator.visitor(offset))??;
            }
            let op = if self.env.tunables.consume_fuel {
                let op = reader.peek_operator(&*self)?;
                self.fuel_before_op(&op);
                Some(op)
            } else {
                None
            };
            let gc_track = self.env.module.has_gc_refs && self.reachable;
            if gc_track {
                self.gc_before.clear();
                self.gc_before.extend_from_slice(&self.stack);
            }
            let translated = reader.visit_operator(self);
            if let Some(op) = &op {
                self.fuel_after_op(op);
            }
            if self.simd_refused {
                return Err(self.simd_unavailable());
            }
            translated??;
            if gc_track && self.reachable {
                let before = std::mem::take(&mut self.gc_before);
                self.declare_gc_values(validator, &before);
                self.gc_before = before;
            }
        }
        if validate {
            reader.finish_expression(&validator.visitor(reader.original_position()))?;
        }

        // The final `end` left the exit block current if it is reachable.
        self.fuel_function_exit();
        if self.reachable {
            let results = std::mem::take(&mut self.stack);
            self.builder.ins().return_(&results);
        }
        Ok(())
    }

    pub(crate) fn zero(&mut self, ty: WasmValType) -> Value {
        let ptr = self.env.pointer_type;
        let ins = self.builder.ins();
        match ty {
            WasmValType::I32 => ins.iconst(ir::types::I32, 0),
            WasmValType::I64 => ins.iconst(ir::types::I64, 0),
            WasmValType::F32 => ins.f32const(0.0),
            WasmValType::F64 => ins.f64const(0.0),
            WasmValType::V128 => {
                let c = self.builder.func.dfg.constants.insert(vec![0u8; 16].into());
                self.builder.ins().vconst(ir::types::I8X16, c)
            }
            WasmValType::Ref(_) => ins.iconst(ptr, 0),
        }
    }

    /// The error for v128 on a target that cannot compile it.
    fn simd_unavailable(&self) -> WasmError {
        WasmError::Unsupported(self.simd.unavailable.clone().unwrap_or_default())
    }

    /// Refuses v128 among `types` when the target cannot compile vectors.
    fn check_v128<'t>(&self, types: impl IntoIterator<Item = &'t WasmValType>) -> WasmResult<()> {
        if self.simd.unavailable.is_some() && types.into_iter().any(|ty| *ty == WasmValType::V128) {
            return Err(self.simd_unavailable());
        }
        Ok(())
    }

    /// The types of the block type's parameters and results.
    pub(crate) fn block_type(
        &self,
        ty: wasmparser::BlockType,
    ) -> WasmResult<(Vec<WasmValType>, Vec<WasmValType>)> {
        let (params, results) = self.block_type_unchecked(ty)?;
        self.check_v128(params.iter().chain(results.iter()))?;
        Ok((params, results))
    }

    fn block_type_unchecked(
        &self,
        ty: wasmparser::BlockType,
    ) -> WasmResult<(Vec<WasmValType>, Vec<WasmValType>)> {
        Ok(match ty {
            wasmparser::BlockType::Empty => (vec![], vec![]),
            wasmparser::BlockType::Type(t) => (vec![], vec![hoist_environ::val_type(t)?]),
            wasmparser::BlockType::FuncType(index) => {
                let ty = self
                    .env
                    .module
                    .func_sig(hoist_environ::TypeIndex::from_u32(index));
                (ty.params.to_vec(), ty.results.to_vec())
            }
        })
    }

    pub(crate) fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated: operand stack is not empty")
    }

    pub(crate) fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    pub(crate) fn pop3(&mut self) -> (Value, Value, Value) {
        let c = self.pop();
        let (a, b) = self.pop2();
        (a, b, c)
    }

    pub(crate) fn popn(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    pub(crate) fn peekn(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    pub(crate) fn push(&mut self, value: Value) {
        self.stack.push(value);
    }
}

pub(crate) fn unsupported(what: &str) -> WasmError {
    WasmError::Unsupported(format!("the `{what}` operator"))
}

/// The binary reader asks which construct it is in (to check `else`, and
/// that nothing follows the final `end`).
impl wasmparser::FrameStack for FuncTranslator<'_, '_> {
    fn current_frame(&self) -> Option<wasmparser::FrameKind> {
        self.control.last().map(|frame| frame.wasm_kind)
    }
}
