//! A single-pass baseline compiler for x86-64: wasm operators straight to
//! machine code, in one pass over a function body, for the first tier of
//! lazy compilation (V8's Liftoff and Wasmtime's Winch are compilers of
//! this kind). The engine's `single_pass_compiler` option (`-C baseline`,
//! on by default) has `hoist-cranelift`'s `link::compile_function_lazily`
//! try it first.
//!
//! Every wasm local and every operand-stack value has a frame slot of its
//! own (8 bytes, at a fixed offset from `rbp`: the operand stack's height
//! at each operator is known statically). Constants, copies of locals and
//! the last result (in `rax`) are stored to their slots only when
//! something needs them there (`values`): simple operators take their
//! operands where they are, so `local.get`, `local.get`, `i32.add`,
//! `local.set` is two loads, an add and a store. Before a branch, a label
//! or a call every value is in its slot, so merges need no register
//! shuffling and a block's results are where the target expects them.
//!
//! It compiles a subset: functions whose values are all `i32`, `i64`,
//! `f32` or `f64` (in Cranelift's tail-call convention, see [`Abi`]:
//! integer parameters in `rdx`, `rcx`, `r8`, `r9` after the two vmctx
//! pointers, float ones in `xmm0`-`xmm7`, then on the stack; up to eight
//! results of each class in registers), integer and scalar float
//! arithmetic, conversions, locals, globals, loads and stores of 32-bit
//! memories whose guard region covers every access (bounds checks case 1
//! of `hoist-cranelift`'s `bounds_checks.rs`), control flow and direct
//! calls, with epoch checks (a time limit) at entries and loop headers when
//! the engine asks for them; not fuel metering. A float is its bits, in a
//! general-purpose register or a slot like an integer (an `f32`'s in the
//! low 32 bits), so moves, loads,
//! stores, `select`, `reinterpret`, `abs`, `neg` and `copysign` are integer
//! code; arithmetic moves its operands to `xmm0`/`xmm1` for one SSE
//! instruction and its result back. Anything else is [`Unsupported`], and the caller compiles the
//! function with Cranelift instead. The frame layout matches Cranelift's
//! (`rbp` chain, return address above it), so backtraces, traps and
//! exceptions unwinding through the frame work as for Cranelift code.
//!
//! The most used locals and the memory base live in callee-saved registers
//! for the whole function instead (`pinning`).
//!
//! Frame, from `rbp` down: the vmctx at `rbp - 8`, the `s` callee-saved
//! registers the function uses, the slots of the locals that are not
//! pinned (in index order), operand-stack value `i` below them.

#![forbid(unsafe_code)]

mod asm;
mod pinning;
mod translate;
mod values;

use asm::{Asm, Cond, Mem, Reg, Size, Xmm, R11, R8, R9, RAX, RBP, RCX, RDI, RDX, RSP};
use hoist_environ::{
    DefinedFuncIndex, Module, TrapCode, Tunables, VMOffsets, WasmFuncType, WasmValType,
};
use wasmparser::{FunctionBody, ValType};

/// The machine code of one function and what the runtime needs to know
/// about it. Offsets are bytes from the start of `code`.
#[derive(Debug, Default)]
pub struct Compiled {
    pub code: Vec<u8>,
    /// Instructions that may trap (faulting loads and stores, `ud2`s),
    /// sorted by offset.
    pub traps: Vec<(u32, TrapCode)>,
    /// (code offset, module byte offset of the operator), sorted.
    pub address_map: Vec<(u32, u32)>,
    /// Bytes of the frame below `rbp`.
    pub frame_size: u32,
}

/// Why a function is left to the optimizing compiler: the first thing met
/// that this compiler does not handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

fn unsupported<T>(what: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported(what.into()))
}

/// What to compile for and how.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The CPU has `popcnt` (else `i32.popcnt`/`i64.popcnt` are unsupported).
    pub popcnt: bool,
    /// The CPU has SSE4.1's `roundss`/`roundsd` (else `ceil`, `floor`,
    /// `trunc` and `nearest` are unsupported).
    pub sse41: bool,
    /// Count entries and loop iterations down in the function's hotness
    /// counter (tier-up; see `hoist-cranelift`'s `translate::hotness`).
    pub count_hotness: bool,
    /// The biggest frame allowed, in bytes; a bigger one is unsupported.
    pub max_frame: u32,
}

/// Compiles defined function `index` of `module`, whose body is `body`
/// (validated already: this compiler trusts its types and nesting).
///
/// # Errors
/// [`Unsupported`] for a function outside the subset the crate comment
/// describes.
pub fn compile(
    module: &Module,
    offsets: &VMOffsets,
    tunables: &Tunables,
    index: DefinedFuncIndex,
    body: &FunctionBody<'_>,
    options: Options,
) -> Result<Compiled, Unsupported> {
    if tunables.consume_fuel {
        return unsupported("fuel metering");
    }
    if offsets.ptr != 8 {
        return unsupported("a pointer size other than 8");
    }
    let func_index = module.func_index(index);
    let ty = module.func_type(func_index);
    let Abi {
        params,
        results,
        stack_bytes,
    } = abi(ty)?;
    let mut locals = ty.params.len();
    let reader = body
        .get_locals_reader()
        .map_err(|e| Unsupported(e.to_string()))?;
    for local in reader {
        let (count, ty) = local.map_err(|e| Unsupported(e.to_string()))?;
        if !is_number_type(ty) {
            return unsupported("a local that is not an integer or a float");
        }
        locals = locals.saturating_add(count as usize);
        if locals > (options.max_frame / 8) as usize {
            return unsupported("too many locals");
        }
    }
    let pinning = pinning::plan(module, tunables, body, locals)?;
    let mut c = Compiler {
        module,
        offsets,
        tunables,
        options,
        asm: Asm::default(),
        traps: Vec::new(),
        trap_jumps: Vec::new(),
        operator_at: 0,
        address_map: Vec::new(),
        labels: Vec::new(),
        frames: Vec::new(),
        locals,
        pinning,
        sp: 0,
        vals: Vec::new(),
        dirty_from: 0,
        max_sp: 0,
        slots_used: std::cell::Cell::new(0),
        reachable: true,
        dead_depth: 0,
        broken: std::cell::Cell::new(false),
        index,
        frame_patches: [0; 2],
        pop: stack_bytes as u16,
        max_out: 0,
        results,
    };
    // The prologue's stack check traps at the function's first operator.
    c.operator_at = body
        .get_operators_reader()
        .map_err(|e| Unsupported(e.to_string()))?
        .original_position() as u32;
    c.prologue(&params)?;
    let end = c.new_label();
    c.frames.push(Frame {
        kind: Kind::Block,
        height: 0,
        params: 0,
        results: ty.results.len(),
        label: end,
        else_label: None,
        branched: false,
        then_reachable: false,
    });
    let mut reader = body
        .get_operators_reader()
        .map_err(|e| Unsupported(e.to_string()))?;
    while !reader.eof() {
        let at = reader.original_position() as u32;
        // Used where the reader put it: copying the operator out of its
        // `Result` (an enum of mixed-width fields) cost a fifth of this loop.
        let read = reader.read();
        let op = match &read {
            Ok(op) => op,
            Err(e) => return unsupported(e.to_string()),
        };
        let here = c.asm.offset();
        match c.address_map.last_mut() {
            Some(last) if last.0 == here => last.1 = at,
            _ => c.address_map.push((here, at)),
        }
        c.operator_at = at;
        c.operator(op)?;
        if c.broken.get() {
            return unsupported("the compiler's stacks out of step with the body");
        }
        if c.frames.is_empty() {
            break;
        }
    }
    if !c.frames.is_empty() || !reader.eof() {
        return unsupported("a body whose blocks do not end where it does");
    }
    c.finish()
}

/// Where the tail-call convention (Cranelift's `tail`, x86-64) puts a
/// wasm function's parameters and results, after the two vmctx pointers
/// in `rdi` and `rsi`: integer parameters in `rdx`, `rcx`, `r8`, `r9` and
/// float ones in `xmm0`-`xmm7`, each class counted apart; the rest in
/// 8-byte stack slots above the return address, in parameter order, which
/// the callee pops. Up to eight integer results in `rax`, `rcx`, `rdx`,
/// `rsi`, `rdi`, `r8`, `r9`, `r10` and eight float ones in `xmm0`-`xmm7`.
/// Source: cranelift-codegen's `isa/x64/abi.rs` (`compute_arg_locs`,
/// `get_intreg_for_arg`, `get_fltreg_for_arg`, `get_intreg_for_retval`,
/// `get_fltreg_for_retval`).
pub(crate) struct Abi {
    pub params: Vec<ParamLoc>,
    /// Where each result is: a general-purpose or an SSE register.
    pub results: Vec<ParamLoc>,
    /// Bytes of stack arguments (a multiple of 16), popped by the callee.
    pub stack_bytes: u32,
}

#[derive(Clone, Copy)]
pub(crate) enum ParamLoc {
    Reg(Reg),
    Xmm(Xmm),
    /// Offset in the stack-argument area (at the callee's entry, `rsp + 8`).
    Stack(u32),
}

/// The registers of integer results, in order.
pub(crate) const RESULT_REGS: [Reg; 8] = [RAX, RCX, RDX, asm::RSI, RDI, R8, R9, asm::R10];

/// The SSE registers of float parameters and of float results, in order.
const FLOAT_REGS: [Xmm; 8] = [0, 1, 2, 3, 4, 5, 6, 7];

fn is_float(t: &WasmValType) -> bool {
    matches!(t, WasmValType::F32 | WasmValType::F64)
}

/// The value types this compiler handles: numbers (a float as its bits).
pub(crate) fn is_number(t: &WasmValType) -> bool {
    matches!(
        t,
        WasmValType::I32 | WasmValType::I64 | WasmValType::F32 | WasmValType::F64
    )
}

/// [`is_number`] for a type as the body's reader gives it.
pub(crate) fn is_number_type(t: ValType) -> bool {
    matches!(t, ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64)
}

/// The convention for `ty`, if its values are all integers or floats and
/// its results fit the result registers.
pub(crate) fn abi(ty: &WasmFuncType) -> Result<Abi, Unsupported> {
    if !ty.params.iter().chain(ty.results.iter()).all(is_number) {
        return unsupported("a signature with a type other than i32, i64, f32 or f64");
    }
    let mut stack = 0u32;
    let mut regs = ClassRegs::new(&PARAM_REGS);
    let params = ty
        .params
        .iter()
        .map(|t| {
            regs.next(t).unwrap_or_else(|| {
                stack += 8;
                ParamLoc::Stack(stack - 8)
            })
        })
        .collect();
    let mut regs = ClassRegs::new(&RESULT_REGS);
    let mut results = Vec::with_capacity(ty.results.len());
    for t in ty.results.iter() {
        match regs.next(t) {
            Some(loc) => results.push(loc),
            None => return unsupported("more results than result registers"),
        }
    }
    let stack_bytes = stack.next_multiple_of(16);
    if stack_bytes > u32::from(u16::MAX) {
        return unsupported("too many stack arguments");
    }
    Ok(Abi {
        params,
        results,
        stack_bytes,
    })
}

/// Hands out registers in order for a list of values, integers from
/// `ints` and floats from [`FLOAT_REGS`], each class counted apart.
struct ClassRegs<'a> {
    ints: &'a [Reg],
    int: usize,
    float: usize,
}

impl<'a> ClassRegs<'a> {
    fn new(ints: &'a [Reg]) -> Self {
        ClassRegs {
            ints,
            int: 0,
            float: 0,
        }
    }

    /// The next register of `t`'s class; `None` once the class has none left.
    fn next(&mut self, t: &WasmValType) -> Option<ParamLoc> {
        if is_float(t) {
            self.float += 1;
            FLOAT_REGS.get(self.float - 1).map(|x| ParamLoc::Xmm(*x))
        } else {
            self.int += 1;
            self.ints.get(self.int - 1).map(|r| ParamLoc::Reg(*r))
        }
    }
}

/// The registers the tail-call convention passes wasm parameters in,
/// after the two vmctx pointers.
const PARAM_REGS: [Reg; 4] = [RDX, RCX, R8, R9];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Block,
    Loop,
    If,
    Else,
}

struct Frame {
    kind: Kind,
    /// Operand-stack height below the frame's parameters.
    height: usize,
    params: usize,
    results: usize,
    /// Where branches to the frame go: a loop's start, else the end.
    label: usize,
    /// An `if`'s jump to its `else` (or end) when the condition is false.
    else_label: Option<usize>,
    /// A branch targets the end (blocks and ifs).
    branched: bool,
    /// The `then` arm of an `if` with an `else` fell through to its end.
    then_reachable: bool,
}

#[derive(Default)]
struct Label {
    bound: Option<u32>,
    /// rel32 displacements to patch (offset of the displacement), and
    /// jump-table entries (offset of the entry, offset of the table).
    uses: Vec<(u32, Option<u32>)>,
}

struct Compiler<'a> {
    module: &'a Module,
    offsets: &'a VMOffsets,
    tunables: &'a Tunables,
    options: Options,
    asm: Asm,
    traps: Vec<(u32, TrapCode)>,
    /// Conditional jumps to a trap (displacement offset, code), placed at
    /// the end.
    trap_jumps: Vec<(u32, TrapCode, u32)>,
    /// The module offset of the operator being translated.
    operator_at: u32,
    address_map: Vec<(u32, u32)>,
    labels: Vec<Label>,
    frames: Vec<Frame>,
    locals: usize,
    /// The locals and the memory base kept in registers (see `pinning`).
    pinning: pinning::Pinning,
    /// Operand-stack height.
    sp: usize,
    /// Where each operand-stack value is (see `values`); `sp` long.
    vals: Vec<values::Val>,
    /// Every value below this index is in its slot (see `values`).
    dirty_from: usize,
    max_sp: usize,
    /// How many operand-stack slots, from the bottom, some code addresses
    /// (see `slot`): the frame holds these.
    slots_used: std::cell::Cell<usize>,
    reachable: bool,
    /// Blocks opened in unreachable code, not yet ended.
    dead_depth: usize,
    /// The compiler's model of the operand or control stack went out of
    /// step with the body (a validated body never does this; a bug of
    /// ours would): the function is left to Cranelift rather than compiled
    /// with slots outside its frame.
    broken: std::cell::Cell<bool>,
    index: DefinedFuncIndex,
    /// Where the frame size goes: the stack check's displacement (as a
    /// negative number) and `sub rsp`'s immediate.
    frame_patches: [u32; 2],
    /// Bytes of stack arguments the epilogue pops.
    pop: u16,
    /// The biggest outgoing stack-argument area of a call, at the frame's
    /// bottom.
    max_out: u32,
    /// Where the function's results go.
    results: Vec<ParamLoc>,
}

/// `[rbp - 8]`: the vmctx.
const VMCTX: Mem = Mem {
    base: RBP,
    index: None,
    disp: -8,
};

impl Compiler<'_> {
    /// Local `j`'s slot; pinned locals have none (this is then the next
    /// local's, never used for it).
    fn local(&self, j: usize) -> Mem {
        let k = self.pinning.slot_of.get(j).map_or(j, |&k| k as usize);
        Mem::base(RBP, -16 - 8 * (self.pinning.saved.len() + k) as i32)
    }

    /// The register local `j` lives in, if it is pinned.
    fn local_reg(&self, j: usize) -> Option<Reg> {
        self.pinning.locals.get(j).copied().flatten()
    }

    /// Operand-stack value `i`'s slot. Only the slots some code addresses
    /// are in the frame (see `slots_used`), so every address of one must
    /// come from here.
    fn slot(&self, i: usize) -> Mem {
        self.slots_used.set(self.slots_used.get().max(i + 1));
        Mem::base(
            RBP,
            -16 - 8 * (self.pinning.saved.len() + self.pinning.in_slots + i) as i32,
        )
    }

    /// The frame's 8-byte slots: the vmctx, the saved registers, the
    /// locals not pinned and the operand-stack slots that code addresses
    /// (values that stay in registers or constants need none: a small
    /// recursive function's frame then holds only what Cranelift's would
    /// plus the vmctx, so the same stack holds about as deep a recursion).
    fn frame_slots(&self) -> usize {
        1 + self.pinning.saved.len() + self.pinning.in_slots + self.slots_used.get()
    }

    /// Where the `k`th saved callee-saved register is kept: below the vmctx.
    fn save_slot(k: usize) -> Mem {
        Mem::base(RBP, -16 - 8 * k as i32)
    }

    fn top(&self, from_top: usize) -> Mem {
        self.slot(self.under(1 + from_top))
    }

    /// `sp - k`, the index of the value `k` below the top's end; out of
    /// step (see `broken`) if the stack holds fewer.
    fn under(&self, k: usize) -> usize {
        self.sp.checked_sub(k).unwrap_or_else(|| {
            self.broken.set(true);
            0
        })
    }

    /// Drops `k` values from the height.
    fn drop_values(&mut self, k: usize) {
        self.sp = self.under(k);
    }

    /// Pushes a value whose code the caller emits (see `values`).
    fn push(&mut self) {
        self.sp += 1;
        self.max_sp = self.max_sp.max(self.sp);
        // A frame over the limit is refused at the end anyway; stopping
        // here bounds the work on a body that piles up values (as if each
        // had its slot, as most of them will).
        let slots = 1 + self.pinning.saved.len() + self.pinning.in_slots + self.max_sp;
        if slots as u64 * 8 > u64::from(self.options.max_frame) {
            self.broken.set(true);
        }
    }

    /// Pushes a value the caller stores to the slot returned.
    fn push_slot(&mut self) -> Mem {
        self.push();
        self.slot(self.sp - 1)
    }

    fn new_label(&mut self) -> usize {
        self.labels.push(Label::default());
        self.labels.len() - 1
    }

    fn bind(&mut self, label: usize) {
        let here = self.asm.offset();
        self.labels[label].bound = Some(here);
        for (at, table) in std::mem::take(&mut self.labels[label].uses) {
            match table {
                None => self.asm.patch_rel32(at, here),
                Some(base) => self.asm.patch_u32(at, here.wrapping_sub(base)),
            }
        }
    }

    fn use_label(&mut self, label: usize, at: u32) {
        match self.labels[label].bound {
            Some(target) => self.asm.patch_rel32(at, target),
            None => self.labels[label].uses.push((at, None)),
        }
    }

    fn jump(&mut self, label: usize) {
        let at = self.asm.jmp();
        self.use_label(label, at);
    }

    fn jump_if(&mut self, cond: Cond, label: usize) {
        let at = self.asm.jcc(cond);
        self.use_label(label, at);
    }

    fn trap_if(&mut self, cond: Cond, code: TrapCode) {
        let at = self.asm.jcc(cond);
        self.trap_jumps.push((at, code, self.operator_at));
    }

    fn trap_here(&mut self, code: TrapCode) {
        self.traps.push((self.asm.offset(), code));
    }

    /// Loads values `from..` of the operand stack into the function's
    /// result registers and returns.
    fn return_values(&mut self, from: usize) {
        for (k, loc) in self.results.iter().enumerate() {
            let slot = self.slot(from + k);
            match *loc {
                ParamLoc::Reg(reg) => self.asm.load(Size::S64, reg, slot),
                ParamLoc::Xmm(x) => self.asm.movsd_load(x, slot),
                ParamLoc::Stack(_) => self.broken.set(true),
            }
        }
        // No result register is callee-saved.
        for (k, &reg) in self.pinning.saved.iter().enumerate() {
            self.asm.load(Size::S64, reg, Self::save_slot(k));
        }
        self.asm.epilogue(self.pop);
    }

    /// Frame setup, the stack-limit check, parameters to their slots,
    /// locals zeroed, the hotness count.
    fn prologue(&mut self, params: &[ParamLoc]) -> Result<(), Unsupported> {
        let a = &mut self.asm;
        a.push_rbp();
        a.frame_setup();
        // The stack limit: vmctx -> store context -> this tier's limit
        // (lower than Cranelift code's: the frames are bigger).
        a.load(
            Size::S64,
            RAX,
            Mem::base(RDI, self.offsets.vmctx_store_context() as i32),
        );
        a.load(
            Size::S64,
            RAX,
            Mem::base(
                RAX,
                self.offsets.store_context_baseline_stack_limit() as i32,
            ),
        );
        // lea r11, [rsp - frame] with a 32-bit displacement patched at the
        // end, then trap unless r11 >= limit.
        a.lea(R11, Mem::base(RSP, i32::MIN));
        let frame_at = a.offset() - 4;
        a.alu_rr(Size::S64, 0x39, R11, RAX);
        self.trap_if(Cond::B, TrapCode::StackOverflow);
        let sub_at = self.asm.sub_rsp();
        self.frame_patches = [frame_at, sub_at];
        self.asm.store(Size::S64, VMCTX, RDI);
        for (k, &reg) in self.pinning.saved.iter().enumerate() {
            self.asm.store(Size::S64, Self::save_slot(k), reg);
        }
        if let Some((memory, reg)) = self.pinning.memory {
            let base = self.offsets.vmctx_memory_base(memory) as i32;
            self.asm.load(Size::S64, reg, Mem::base(RDI, base));
        }
        for (j, loc) in params.iter().enumerate() {
            let slot = self.local(j);
            match (*loc, self.local_reg(j)) {
                (ParamLoc::Reg(reg), None) => self.asm.store(Size::S64, slot, reg),
                (ParamLoc::Reg(reg), Some(pinned)) => self.asm.mov_rr(Size::S64, pinned, reg),
                (ParamLoc::Xmm(x), None) => self.asm.movsd_store(slot, x),
                (ParamLoc::Xmm(x), Some(pinned)) => self.asm.movq_from_xmm(pinned, x),
                (ParamLoc::Stack(offset), pinned) => {
                    // Above the saved rbp and the return address.
                    let arg = Mem::base(RBP, 16 + offset as i32);
                    match pinned {
                        Some(pinned) => self.asm.load(Size::S64, pinned, arg),
                        None => {
                            self.asm.load(Size::S64, RAX, arg);
                            self.asm.store(Size::S64, slot, RAX);
                        }
                    }
                }
            }
        }
        let params = params.len();
        for j in params..self.locals {
            if let Some(pinned) = self.local_reg(j) {
                self.asm.alu_rr(Size::S32, 0x31, pinned, pinned);
            }
        }
        // The slots of the locals that are not parameters: the last ones.
        let params_in_slots = (0..params).filter(|&j| self.local_reg(j).is_none()).count();
        let zeroed = self.pinning.in_slots - params_in_slots;
        if zeroed > 0 {
            let first = Mem::base(
                RBP,
                -16 - 8 * (self.pinning.saved.len() + self.pinning.in_slots - 1) as i32,
            );
            self.asm.alu_rr(Size::S32, 0x31, RAX, RAX);
            if zeroed <= 8 {
                for j in params..self.locals {
                    if self.local_reg(j).is_none() {
                        let slot = self.local(j);
                        self.asm.store(Size::S64, slot, RAX);
                    }
                }
            } else {
                let a = &mut self.asm;
                a.lea(RDI, first);
                a.mov_imm(RCX, zeroed as i64);
                a.rep_stosq();
            }
        }
        self.epoch_check();
        self.count_hotness()
    }

    /// With epoch interruption, traps with "interrupt" once the engine's
    /// epoch has reached the store's deadline: at the function's entry and
    /// each loop header, as Cranelift's code checks (`hoist-cranelift`'s
    /// `translate::limits`). `rax` and `rdx` are free at both places.
    pub(crate) fn epoch_check(&mut self) {
        if !self.tunables.epoch_interruption {
            return;
        }
        let a = &mut self.asm;
        a.load(Size::S64, RDX, VMCTX);
        a.load(
            Size::S64,
            RDX,
            Mem::base(RDX, self.offsets.vmctx_store_context() as i32),
        );
        a.load(
            Size::S64,
            RAX,
            Mem::base(RDX, self.offsets.store_context_epoch_counter() as i32),
        );
        // Another thread advances the counter: read each time (an x86-64
        // load is atomic, and nothing here caches it).
        a.load(Size::S64, RAX, Mem::base(RAX, 0));
        a.cmp_rm(
            Size::S64,
            RAX,
            Mem::base(RDX, self.offsets.store_context_epoch_deadline() as i32),
        );
        self.trap_if(Cond::Ae, TrapCode::Interrupt);
    }

    /// One off the function's hotness counter.
    fn count_hotness(&mut self) -> Result<(), Unsupported> {
        if !self.options.count_hotness {
            return Ok(());
        }
        let Ok(disp) = i32::try_from(u64::from(self.index.as_u32()) * 8) else {
            return unsupported("a function index too big for a counter offset");
        };
        let a = &mut self.asm;
        a.load(Size::S64, RDX, VMCTX);
        a.load(
            Size::S64,
            RAX,
            Mem::base(RDX, self.offsets.vmctx_hotness_counters() as i32),
        );
        a.dec_mem64(Mem::base(RAX, disp));
        Ok(())
    }

    fn finish(mut self) -> Result<Compiled, Unsupported> {
        // Trap stubs: a `ud2` per operator and trap code, its address-map
        // entry that operator's (so a trap names where it happened). They
        // follow the code in order, so the map stays sorted.
        let mut stubs: Vec<(TrapCode, u32, u32)> = Vec::new();
        for (at, code, operator) in std::mem::take(&mut self.trap_jumps) {
            // Jumps come in code order, so an operator's are together.
            let target = match stubs
                .iter()
                .rev()
                .take_while(|(_, op, _)| *op == operator)
                .find(|(c, _, _)| *c == code)
            {
                Some((_, _, target)) => *target,
                None => {
                    let target = self.asm.offset();
                    self.address_map.push((target, operator));
                    self.trap_here(code);
                    self.asm.ud2();
                    stubs.push((code, operator, target));
                    target
                }
            };
            self.asm.patch_rel32(at, target);
        }
        if self.labels.iter().any(|l| !l.uses.is_empty()) {
            return unsupported("a branch to a label never placed");
        }
        let frame = (self.frame_slots() as u64 * 8).next_multiple_of(16) + u64::from(self.max_out);
        if frame > u64::from(self.options.max_frame) {
            return unsupported("a frame over the limit");
        }
        let frame = frame as u32;
        let [lea_at, sub_at] = self.frame_patches;
        self.asm.patch_u32(lea_at, frame.wrapping_neg());
        self.asm.patch_u32(sub_at, frame);
        self.traps.sort_by_key(|(at, _)| *at);
        Ok(Compiled {
            code: self.asm.code,
            traps: self.traps,
            address_map: self.address_map,
            frame_size: frame,
        })
    }
}
