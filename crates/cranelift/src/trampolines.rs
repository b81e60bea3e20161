//! Trampolines between the host's "array" calling convention and wasm's.
//!
//! Host → wasm (`array_to_wasm`, one per signature in a module): a native
//! C-ABI function `(funcref, caller_vmctx, values)` that loads the arguments
//! from `values` (16 bytes per slot), calls the funcref's wasm code with the
//! funcref's vmctx, and stores the results back into `values`.
//!
//! Wasm → host (`wasm_to_array`, one per host function signature): a wasm
//! function `(host_funcref, caller_vmctx, params...) -> results` that spills
//! the parameters into a stack array, calls the funcref's `array_call` (a
//! Rust `extern "C" fn(funcref, caller_vmctx, values) -> u64`), traps with
//! the `raise` builtin if that returned 0 (the host function failed and its
//! error is pending: `raise` unwinds to the host without a signal), and
//! returns the results from the array.
//!
//! Lazy compilation (`lazy_stub`, one per defined function of a module
//! compiled lazily): what the function's funcref holds until its first
//! call. A wasm function of the callee's type that asks the `lazy_compile`
//! builtin for the callee's code (compiling it, once, and installing it in
//! the funcref) and tail-calls it with its own arguments, so the callee
//! runs as if called directly.

use crate::func_environ::trusted;
use crate::{ir_type, trap_code, wasm_signature};
use cranelift_codegen::ir::{
    self, types, AbiParam, InstBuilder, Signature, StackSlotData, StackSlotKind, UserFuncName,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use hoist_environ::{Builtin, FuncIndex, TrapCode, VMLayout, WasmFuncType, VALUE_SLOT_SIZE};

/// Offsets in `VMFuncRef`, which has the same shape for every module:
/// (wasm_call, array_call, vmctx).
fn funcref_offsets(isa: &dyn TargetIsa) -> (i32, i32, i32) {
    let layout = VMLayout::new(isa.pointer_bytes());
    (
        layout.funcref_wasm_call() as i32,
        layout.funcref_array_call() as i32,
        layout.funcref_vmctx() as i32,
    )
}

/// The signature of `array_to_wasm` trampolines.
pub fn array_call_signature(isa: &dyn TargetIsa) -> Signature {
    let pointer = isa.pointer_type();
    let mut sig = Signature::new(isa.default_call_conv());
    sig.params.extend([AbiParam::new(pointer); 3]);
    sig
}

pub fn array_to_wasm(
    isa: &dyn TargetIsa,
    ty: &WasmFuncType,
    ctx: &mut FunctionBuilderContext,
) -> ir::Function {
    let pointer = isa.pointer_type();
    let mut func =
        ir::Function::with_name_signature(UserFuncName::default(), array_call_signature(isa));
    let mut builder = FunctionBuilder::new(&mut func, ctx);
    let block = builder.create_block();
    builder.append_block_params_for_function_params(block);
    builder.switch_to_block(block);
    builder.seal_block(block);
    let [funcref, caller_vmctx, values] = builder.block_params(block) else {
        unreachable!("three parameters")
    };
    let (funcref, caller_vmctx, values) = (*funcref, *caller_vmctx, *values);

    let mut args = Vec::with_capacity(ty.params.len() + 2);
    let (wasm_call, _, vmctx) = funcref_offsets(isa);
    let code = builder.ins().load(pointer, trusted(), funcref, wasm_call);
    let callee_vmctx = builder.ins().load(pointer, trusted(), funcref, vmctx);
    args.extend([callee_vmctx, caller_vmctx]);
    for (i, param) in ty.params.iter().enumerate() {
        let offset = (i as u32 * VALUE_SLOT_SIZE) as i32;
        args.push(
            builder
                .ins()
                .load(ir_type(*param, pointer), trusted(), values, offset),
        );
    }
    let sig = builder.import_signature(wasm_signature(isa, ty));
    let call = builder.ins().call_indirect(sig, code, &args);
    let results = builder.inst_results(call).to_vec();
    for (i, result) in results.into_iter().enumerate() {
        let offset = (i as u32 * VALUE_SLOT_SIZE) as i32;
        builder.ins().store(trusted(), result, values, offset);
    }
    builder.ins().return_(&[]);
    builder.finalize(isa.frontend_config());
    func
}

pub fn wasm_to_array(
    isa: &dyn TargetIsa,
    ty: &WasmFuncType,
    ctx: &mut FunctionBuilderContext,
) -> ir::Function {
    let pointer = isa.pointer_type();
    let mut func =
        ir::Function::with_name_signature(UserFuncName::default(), wasm_signature(isa, ty));
    let mut builder = FunctionBuilder::new(&mut func, ctx);
    let block = builder.create_block();
    builder.append_block_params_for_function_params(block);
    builder.switch_to_block(block);
    builder.seal_block(block);
    let params = builder.block_params(block).to_vec();
    let (callee, caller_vmctx) = (params[0], params[1]);

    let slots = ty.params.len().max(ty.results.len()).max(1) as u32;
    let slot = builder.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        slots * VALUE_SLOT_SIZE,
        4,
    ));
    for (i, value) in params[2..].iter().enumerate() {
        builder
            .ins()
            .stack_store(pointer, *value, slot, (i as u32 * VALUE_SLOT_SIZE) as i32);
    }
    let values = builder.ins().stack_addr(pointer, slot, 0);

    let mut host_sig = Signature::new(isa.default_call_conv());
    host_sig.params.extend([AbiParam::new(pointer); 3]);
    host_sig.returns.push(AbiParam::new(types::I64));
    let host_sig = builder.import_signature(host_sig);
    let (_, array_call, _) = funcref_offsets(isa);
    let host = builder.ins().load(pointer, trusted(), callee, array_call);
    let call = builder
        .ins()
        .call_indirect(host_sig, host, &[callee, caller_vmctx, values]);
    let ok = builder.inst_results(call)[0];
    // The caller is wasm, so `caller_vmctx` is an instance's.
    raise_unless(isa, &mut builder, ok, caller_vmctx);

    let mut results = Vec::with_capacity(ty.results.len());
    for (i, result) in ty.results.iter().enumerate() {
        let offset = (i as u32 * VALUE_SLOT_SIZE) as i32;
        results.push(
            builder
                .ins()
                .stack_load(pointer, ir_type(*result, pointer), slot, offset),
        );
    }
    builder.ins().return_(&results);
    builder.finalize(isa.frontend_config());
    func
}

/// The compile stub of defined function `func` (of type `ty`) for lazy
/// compilation: see the module docs. Calls `lazy_compile(func)` with the
/// callee's vmctx, raises the pending error if it returns 0, else
/// tail-calls the code it returns with the stub's own arguments.
pub fn lazy_stub(
    isa: &dyn TargetIsa,
    ty: &WasmFuncType,
    func: FuncIndex,
    ctx: &mut FunctionBuilderContext,
) -> ir::Function {
    let pointer = isa.pointer_type();
    let mut function =
        ir::Function::with_name_signature(UserFuncName::default(), wasm_signature(isa, ty));
    let mut builder = FunctionBuilder::new(&mut function, ctx);
    let block = builder.create_block();
    builder.append_block_params_for_function_params(block);
    builder.switch_to_block(block);
    builder.seal_block(block);
    let params = builder.block_params(block).to_vec();
    // The callee's vmctx: the instance that defines the function, whose
    // funcref the builtin updates.
    let vmctx = params[0];
    let layout = VMLayout::new(isa.pointer_bytes());
    let builtins = builder
        .ins()
        .load(pointer, trusted(), vmctx, layout.vmctx_builtins() as i32);
    let compile = builder.ins().load(
        pointer,
        trusted(),
        builtins,
        (Builtin::LazyCompile as u32 * u32::from(layout.ptr)) as i32,
    );
    let mut compile_sig = Signature::new(isa.default_call_conv());
    compile_sig.params.push(AbiParam::new(pointer));
    compile_sig.params.push(AbiParam::new(types::I64));
    compile_sig.returns.push(AbiParam::new(types::I64));
    let compile_sig = builder.import_signature(compile_sig);
    let index = builder.ins().iconst(types::I64, i64::from(func.as_u32()));
    let call = builder
        .ins()
        .call_indirect(compile_sig, compile, &[vmctx, index]);
    let mut code = builder.inst_results(call)[0];
    // 0: the compile failed and its error is pending; `raise` unwinds to
    // the host with it (from this wasm frame, as host calls do).
    raise_unless(isa, &mut builder, code, vmctx);
    if pointer != types::I64 {
        code = builder.ins().ireduce(pointer, code);
    }
    let sig = builder.import_signature(wasm_signature(isa, ty));
    builder.ins().return_call_indirect(sig, code, &params);
    builder.finalize(isa.frontend_config());
    function
}

/// Continues in a new block when `status` is non-zero; when it is zero, a
/// host error is pending and the `raise` builtin of instance `vmctx`
/// unwinds to the host with it (it never returns; the trap after it is
/// never reached).
fn raise_unless(
    isa: &dyn TargetIsa,
    builder: &mut FunctionBuilder,
    status: ir::Value,
    vmctx: ir::Value,
) {
    let pointer = isa.pointer_type();
    let done = builder.create_block();
    let failed = builder.create_block();
    builder.ins().brif(status, done, &[], failed, &[]);
    builder.seal_block(failed);
    builder.switch_to_block(failed);
    builder.set_cold_block(failed);
    let layout = VMLayout::new(isa.pointer_bytes());
    let builtins = builder
        .ins()
        .load(pointer, trusted(), vmctx, layout.vmctx_builtins() as i32);
    let raise = builder.ins().load(
        pointer,
        trusted(),
        builtins,
        (Builtin::Raise as u32 * u32::from(layout.ptr)) as i32,
    );
    let mut raise_sig = Signature::new(isa.default_call_conv());
    raise_sig.params.push(AbiParam::new(pointer));
    raise_sig.returns.push(AbiParam::new(types::I64));
    let raise_sig = builder.import_signature(raise_sig);
    builder.ins().call_indirect(raise_sig, raise, &[vmctx]);
    builder.ins().trap(trap_code(TrapCode::HostTrap));
    builder.seal_block(done);
    builder.switch_to_block(done);
}
