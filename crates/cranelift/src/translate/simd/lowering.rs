//! The shared pieces of SIMD lowering: lane-shape casts, operand helpers,
//! and the fallbacks for CPUs that lack an instruction (see the module doc
//! of `simd`).

use crate::translate::FuncTranslator;
use cranelift_codegen::ir::{
    condcodes::{FloatCC, IntCC},
    types::{F32, F64X2, I16, I32, I32X4, I64, I64X2, I8, I8X16},
    Endianness, InstBuilder, InstructionData, MemFlagsData, Opcode, StackSlotData, StackSlotKind,
    Type, Value, ValueDef,
};
use cranelift_frontend::FunctionBuilder;
use hoist_environ::{Builtin, WasmResult};
use wasmparser::MemArg;

/// Flags for bitcasts between vector shapes: wasm's lane order.
pub(super) fn little() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// The 8 byte masks of the `punpck{l,h}{bw,wd,dq,qdq}` interleavings.
pub(super) fn interleave_masks() -> impl Iterator<Item = [u8; 16]> {
    [1u8, 2, 4, 8].into_iter().flat_map(|size| {
        [false, true].into_iter().map(move |high| {
            std::array::from_fn(|i| {
                let i = i as u8;
                let lane = i / size;
                let from = lane / 2 + if high { 8 / size } else { 0 };
                (lane % 2) * 16 + from * size + i % size
            })
        })
    })
}

/// Whether Cranelift lowers `shuffle` with this mask on x86_64 without
/// `pshufb`: the `pshuf{l,h}w`, `pshufd`, `shufps` and `punpck*` forms of
/// its x64 backend, which need nothing beyond SSE2.
pub(super) fn shuffle_without_pshufb(mask: &[u8; 16]) -> bool {
    // The mask in whole 16-bit lanes, if it moves whole 16-bit lanes.
    let words: Option<Vec<u8>> = mask
        .chunks(2)
        .map(|c| (c[0] % 2 == 0 && c[1] == c[0] + 1).then_some(c[0] / 2))
        .collect();
    if let Some(w) = words {
        for base in [0, 8] {
            if w.iter().all(|x| (base..base + 8).contains(x)) {
                let w: Vec<u8> = w.iter().map(|x| x - base).collect();
                let low_shuffled = w[..4].iter().all(|x| *x < 4) && w[4..] == [4, 5, 6, 7];
                let high_shuffled = w[..4] == [0, 1, 2, 3] && w[4..].iter().all(|x| *x >= 4);
                if low_shuffled || high_shuffled {
                    return true;
                }
            }
        }
    }
    let dwords: Option<Vec<u8>> = mask
        .chunks(4)
        .map(|c| {
            (c[0] % 4 == 0 && c[1] == c[0] + 1 && c[2] == c[0] + 2 && c[3] == c[0] + 3)
                .then_some(c[0] / 4)
        })
        .collect();
    if let Some(d) = dwords {
        let a = |x: u8| x < 4;
        let b = |x: u8| x >= 4;
        if d.iter().all(|x| a(*x)) || d.iter().all(|x| b(*x)) {
            return true; // pshufd
        }
        if (a(d[0]) && a(d[1]) && b(d[2]) && b(d[3])) || (b(d[0]) && b(d[1]) && a(d[2]) && a(d[3]))
        {
            return true; // shufps
        }
    }
    interleave_masks().any(|m| m == *mask)
}

/// Which rounding: the instruction and the builtins for CPUs without it.
#[derive(Clone, Copy)]
pub(super) enum Round {
    Ceil,
    Floor,
    Trunc,
    Nearest,
}

impl Round {
    pub(super) fn native(self, b: &mut FunctionBuilder<'_>, x: Value) -> Value {
        match self {
            Round::Ceil => b.ins().ceil(x),
            Round::Floor => b.ins().floor(x),
            Round::Trunc => b.ins().trunc(x),
            Round::Nearest => b.ins().nearest(x),
        }
    }

    pub(super) fn builtin(self, lane: Type) -> Builtin {
        match (self, lane == F32) {
            (Round::Ceil, true) => Builtin::CeilF32,
            (Round::Floor, true) => Builtin::FloorF32,
            (Round::Trunc, true) => Builtin::TruncF32,
            (Round::Nearest, true) => Builtin::NearestF32,
            (Round::Ceil, false) => Builtin::CeilF64,
            (Round::Floor, false) => Builtin::FloorF64,
            (Round::Trunc, false) => Builtin::TruncF64,
            (Round::Nearest, false) => Builtin::NearestF64,
        }
    }
}

pub(super) type Unary = fn(&mut FunctionBuilder<'_>, Value) -> Value;
pub(super) type Binary = fn(&mut FunctionBuilder<'_>, Value, Value) -> Value;

impl FuncTranslator<'_, '_> {
    /// `v` as a vector of shape `ty`. A `v` that is itself a lane-order
    /// bitcast of a `ty` value (what [`Self::vpush`] made of an operator's
    /// result) gives that value back instead of a second bitcast: lowering
    /// then sees the instruction that made it, as in x86-64's `insertlane`
    /// of lane 1 into a `splat.i64x2`, which is one `movq` and one
    /// `pinsrq` instead of a shuffle first (argon2's BLAKE2b rows are built
    /// so). The mid-end does not fold such a pair itself.
    pub(super) fn cast(&mut self, v: Value, ty: Type) -> Value {
        let dfg = &self.builder.func.dfg;
        if dfg.value_type(v) == ty {
            return v;
        }
        if let ValueDef::Result(inst, 0) = dfg.value_def(v) {
            if let InstructionData::LoadNoOffset {
                opcode: Opcode::Bitcast,
                arg,
                flags,
            } = dfg.insts[inst]
            {
                if dfg.value_type(arg) == ty && dfg.mem_flags[flags] == little() {
                    return arg;
                }
            }
        }
        self.builder.ins().bitcast(ty, little(), v)
    }

    /// Pops a v128 as shape `ty`.
    pub(super) fn vpop(&mut self, ty: Type) -> Value {
        let v = self.pop();
        self.cast(v, ty)
    }

    pub(super) fn vpop2(&mut self, ty: Type) -> (Value, Value) {
        let b = self.vpop(ty);
        let a = self.vpop(ty);
        (a, b)
    }

    /// Pushes a vector of any shape as the canonical `I8X16`.
    pub(super) fn vpush(&mut self, v: Value) {
        let v = self.cast(v, I8X16);
        self.push(v);
    }

    pub(super) fn vconst(&mut self, ty: Type, bytes: [u8; 16]) -> Value {
        let c = self
            .builder
            .func
            .dfg
            .constants
            .insert(bytes.to_vec().into());
        self.builder.ins().vconst(ty, c)
    }

    /// `a -> f(a)`, with `a` of shape `ty`.
    pub(super) fn unop(&mut self, ty: Type, f: Unary) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(ty);
            let v = f(&mut self.builder, a);
            self.vpush(v);
        }
        Ok(())
    }

    /// `(a, b) -> f(a, b)`, both of shape `ty`.
    pub(super) fn binop(&mut self, ty: Type, f: Binary) -> WasmResult<()> {
        if self.reachable {
            let (a, b) = self.vpop2(ty);
            let v = f(&mut self.builder, a, b);
            self.vpush(v);
        }
        Ok(())
    }

    /// Lane-wise integer comparison; the result lanes are all ones or zeros.
    pub(super) fn vicmp(&mut self, ty: Type, cc: IntCC) -> WasmResult<()> {
        if self.reachable {
            let (a, b) = self.vpop2(ty);
            let v = self.builder.ins().icmp(cc, a, b);
            self.vpush(v);
        }
        Ok(())
    }

    /// Lane-wise float comparison.
    pub(super) fn vfcmp(&mut self, ty: Type, cc: FloatCC) -> WasmResult<()> {
        if self.reachable {
            let (a, b) = self.vpop2(ty);
            let v = self.builder.ins().fcmp(cc, a, b);
            self.vpush(v);
        }
        Ok(())
    }

    /// `(vector, i32 amount) -> f(vector, amount)`; Cranelift takes the
    /// amount modulo the lane width, as wasm does.
    pub(super) fn shift(&mut self, ty: Type, f: Binary) -> WasmResult<()> {
        if self.reachable {
            let amount = self.pop();
            let a = self.vpop(ty);
            let v = f(&mut self.builder, a, amount);
            self.vpush(v);
        }
        Ok(())
    }

    /// `a -> i32(f(a))` for the boolean and bitmask reductions.
    pub(super) fn reduce(&mut self, ty: Type, f: Unary) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(ty);
            let r = f(&mut self.builder, a);
            let v = if self.builder.func.dfg.value_type(r) == I32 {
                r
            } else {
                self.builder.ins().uextend(I32, r)
            };
            self.push(v);
        }
        Ok(())
    }

    pub(super) fn splat(&mut self, ty: Type) -> WasmResult<()> {
        if self.reachable {
            let x = self.pop();
            let lane = ty.lane_type();
            let x = if lane == I8 || lane == I16 {
                self.builder.ins().ireduce(lane, x)
            } else {
                x
            };
            let v = self.builder.ins().splat(ty, x);
            self.vpush(v);
        }
        Ok(())
    }

    /// `extract_lane`; 8- and 16-bit lanes are extended to i32 (`signed` or not).
    pub(super) fn extract_lane(&mut self, ty: Type, lane: u8, signed: bool) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(ty);
            let x = self.builder.ins().extractlane(a, lane);
            let x = match ty.lane_type() {
                I8 | I16 if signed => self.builder.ins().sextend(I32, x),
                I8 | I16 => self.builder.ins().uextend(I32, x),
                _ => x,
            };
            self.push(x);
        }
        Ok(())
    }

    pub(super) fn replace_lane(&mut self, ty: Type, lane: u8) -> WasmResult<()> {
        if self.reachable {
            let x = self.pop();
            let a = self.vpop(ty);
            let lane_ty = ty.lane_type();
            let x = if lane_ty == I8 || lane_ty == I16 {
                self.builder.ins().ireduce(lane_ty, x)
            } else {
                x
            };
            let v = self.builder.ins().insertlane(a, x, lane);
            self.vpush(v);
        }
        Ok(())
    }

    /// A load of `size` bytes: `index -> f(flags, address)`.
    pub(super) fn vload(
        &mut self,
        memarg: MemArg,
        size: u8,
        f: impl FnOnce(&mut FunctionBuilder<'_>, MemFlagsData, Value) -> Value,
    ) -> WasmResult<()> {
        if self.reachable {
            let (address, flags) = self.memory_access(&memarg, size);
            let v = f(&mut self.builder, flags, address);
            self.vpush(v);
        }
        Ok(())
    }

    /// `load*_splat`: one lane's worth loaded into every lane of `ty`.
    pub(super) fn load_splat(&mut self, memarg: MemArg, ty: Type) -> WasmResult<()> {
        let size = ty.lane_type().bytes() as u8;
        self.vload(memarg, size, |b, flags, address| {
            let x = b.ins().load(ty.lane_type(), flags, address, 0);
            b.ins().splat(ty, x)
        })
    }

    /// `load*_zero`: one scalar into lane 0, zeros elsewhere.
    pub(super) fn load_zero(&mut self, memarg: MemArg, ty: Type) -> WasmResult<()> {
        let size = ty.lane_type().bytes() as u8;
        self.vload(memarg, size, |b, flags, address| {
            let x = b.ins().load(ty.lane_type(), flags, address, 0);
            b.ins().scalar_to_vector(ty, x)
        })
    }

    /// `load*_lane`: `(index, vector) -> vector` with one lane loaded.
    pub(super) fn load_lane(&mut self, memarg: MemArg, ty: Type, lane: u8) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(ty);
            let lane_ty = ty.lane_type();
            let (address, flags) = self.memory_access(&memarg, lane_ty.bytes() as u8);
            let x = self.builder.ins().load(lane_ty, flags, address, 0);
            let v = self.builder.ins().insertlane(a, x, lane);
            self.vpush(v);
        }
        Ok(())
    }

    /// `store*_lane`: `(index, vector) -> ()` storing one lane.
    pub(super) fn store_lane(&mut self, memarg: MemArg, ty: Type, lane: u8) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(ty);
            let x = self.builder.ins().extractlane(a, lane);
            let (address, flags) = self.memory_access(&memarg, ty.lane_type().bytes() as u8);
            self.builder.ins().store(flags, x, address, 0);
        }
        Ok(())
    }

    /// `ceil`, `floor`, `trunc`, `nearest` of each lane: the instruction, or
    /// hoist's scalar builtins lane by lane where the CPU lacks it.
    pub(super) fn vround(&mut self, ty: Type, round: Round) -> WasmResult<()> {
        if !self.reachable {
            return Ok(());
        }
        let a = self.vpop(ty);
        let v = if !self.simd.no_round {
            round.native(&mut self.builder, a)
        } else {
            let lane_ty = ty.lane_type();
            let int = if lane_ty == F32 { I32 } else { I64 };
            let mut v = a;
            for lane in 0..ty.lane_count() as u8 {
                let x = self.builder.ins().extractlane(a, lane);
                let bits = self.builder.ins().bitcast(int, MemFlagsData::new(), x);
                let r = self
                    .env
                    .call_builtin(&mut self.builder, round.builtin(lane_ty), &[bits]);
                let r = if int == I32 {
                    self.builder.ins().ireduce(I32, r)
                } else {
                    r
                };
                let x = self.builder.ins().bitcast(lane_ty, MemFlagsData::new(), r);
                v = self.builder.ins().insertlane(v, x, lane);
            }
            v
        };
        self.vpush(v);
        Ok(())
    }

    /// A 48-byte stack slot for the byte-by-byte fallbacks.
    pub(super) fn scratch_slot(&mut self) -> cranelift_codegen::ir::StackSlot {
        self.builder
            .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 48, 4))
    }

    /// `i8x16.shuffle` without `pshufb`: both operands to the stack, the
    /// result assembled there byte by byte.
    pub(super) fn shuffle_in_memory(&mut self, a: Value, b: Value, mask: &[u8; 16]) -> Value {
        let ptr = self.env.pointer_type;
        let slot = self.scratch_slot();
        self.builder.ins().stack_store(ptr, a, slot, 0);
        // Shuffling one vector with itself (a common way to permute one
        // vector) needs only one copy.
        let same = a == b;
        if !same {
            self.builder.ins().stack_store(ptr, b, slot, 16);
        }
        for (i, from) in mask.iter().enumerate() {
            let from = if same { from % 16 } else { *from };
            let x = self
                .builder
                .ins()
                .stack_load(ptr, I8, slot, i32::from(from));
            self.builder.ins().stack_store(ptr, x, slot, 32 + i as i32);
        }
        self.builder.ins().stack_load(ptr, I8X16, slot, 32)
    }

    /// `i8x16.swizzle` without `pshufb`, byte by byte through the stack.
    pub(super) fn swizzle_in_memory(&mut self, a: Value, indices: Value) -> Value {
        let ptr = self.env.pointer_type;
        let slot = self.scratch_slot();
        self.builder.ins().stack_store(ptr, a, slot, 0);
        self.builder.ins().stack_store(ptr, indices, slot, 16);
        let base = self.builder.ins().stack_addr(ptr, slot, 0);
        let zero = self.builder.ins().iconst(I8, 0);
        for i in 0..16 {
            let index = self.builder.ins().stack_load(ptr, I8, slot, 16 + i);
            let index = self.builder.ins().uextend(ptr, index);
            let in_range = self
                .builder
                .ins()
                .icmp_imm_u(IntCC::UnsignedLessThan, index, 16);
            let offset = self.builder.ins().band_imm_u(index, 15);
            let address = self.builder.ins().iadd(base, offset);
            let x = self
                .builder
                .ins()
                .load(I8, MemFlagsData::trusted(), address, 0);
            let x = self.builder.ins().select(in_range, x, zero);
            self.builder.ins().stack_store(ptr, x, slot, 32 + i);
        }
        self.builder.ins().stack_load(ptr, I8X16, slot, 32)
    }

    pub(super) fn swizzle(&mut self) -> WasmResult<()> {
        if self.reachable {
            let (a, indices) = self.vpop2(I8X16);
            let v = if self.simd.no_pshufb {
                self.swizzle_in_memory(a, indices)
            } else {
                self.builder.ins().swizzle(a, indices)
            };
            self.vpush(v);
        }
        Ok(())
    }

    /// pmin/pmax: `if less(a, b) { b } else { a }` with the operands of
    /// `less` as given; this ordering is what x86's `minps`/`maxps` match.
    pub(super) fn pminmax(&mut self, ty: Type, max: bool) -> WasmResult<()> {
        if self.reachable {
            let (a, b) = self.vpop2(ty);
            let less = if max {
                self.builder.ins().fcmp(FloatCC::LessThan, a, b)
            } else {
                self.builder.ins().fcmp(FloatCC::LessThan, b, a)
            };
            let less = self.cast(less, ty);
            let v = self.builder.ins().bitselect(less, b, a);
            self.vpush(v);
        }
        Ok(())
    }

    /// `trunc_sat_f64x2_{s,u}_zero`: two saturated i64 lanes narrowed
    /// (saturating) into the low half, zeros above.
    pub(super) fn trunc_sat_zero(&mut self, signed: bool) -> WasmResult<()> {
        if self.reachable {
            let a = self.vpop(F64X2);
            // A zero `I64X2` constant itself (no bitcast): x64 lowers only
            // this exact pattern.
            let zero = self.vconst(I64X2, [0; 16]);
            let v = if signed {
                let x = self.builder.ins().fcvt_to_sint_sat(I64X2, a);
                self.builder.ins().snarrow(x, zero)
            } else if self.simd.no_round {
                // x64 lowers the pattern below with `roundpd` (SSE4.1), or
                // else a libcall: convert the two lanes as scalars instead.
                let mut v = self.builder.ins().bitcast(I32X4, little(), zero);
                for lane in 0..2 {
                    let x = self.builder.ins().extractlane(a, lane);
                    let x = self.builder.ins().fcvt_to_uint_sat(I32, x);
                    v = self.builder.ins().insertlane(v, x, lane);
                }
                v
            } else {
                let x = self.builder.ins().fcvt_to_uint_sat(I64X2, a);
                self.builder.ins().uunarrow(x, zero)
            };
            self.vpush(v);
        }
        Ok(())
    }

    /// `fmul` then `fadd`, with `a` negated for nmadd: relaxed madd in the
    /// deterministic profile (unfused).
    pub(super) fn madd(&mut self, ty: Type, negate: bool) -> WasmResult<()> {
        if self.reachable {
            let c = self.vpop(ty);
            let (a, b) = self.vpop2(ty);
            let a = if negate {
                self.builder.ins().fneg(a)
            } else {
                a
            };
            let product = self.builder.ins().fmul(a, b);
            let v = self.builder.ins().fadd(product, c);
            self.vpush(v);
        }
        Ok(())
    }

    /// Bit-by-bit select: `(a, b, mask) -> (a & mask) | (b & !mask)`.
    pub(super) fn bitselect(&mut self) -> WasmResult<()> {
        if self.reachable {
            let mask = self.vpop(I8X16);
            let (a, b) = self.vpop2(I8X16);
            let v = self.builder.ins().bitselect(mask, a, b);
            self.vpush(v);
        }
        Ok(())
    }

    /// Signed 8-bit products of `a` and `b`, adjacent pairs summed into
    /// 16-bit lanes (wrapping).
    pub(super) fn dot_i8x16(&mut self, a: Value, b: Value) -> Value {
        let builder = &mut self.builder;
        let a_low = builder.ins().swiden_low(a);
        let b_low = builder.ins().swiden_low(b);
        let low = builder.ins().imul(a_low, b_low);
        let a_high = builder.ins().swiden_high(a);
        let b_high = builder.ins().swiden_high(b);
        let high = builder.ins().imul(a_high, b_high);
        builder.ins().iadd_pairwise(low, high)
    }
}
