//! Scalar float operators. A float is its bits (see the crate comment):
//! an operator moves its operands to `xmm0`/`xmm1`, runs one SSE
//! instruction or a short sequence, and leaves the result's bits in `rax`.
//! What the sequences follow is the wasm spec's numerics (section 4.3.3)
//! and the x86 forms Cranelift lowers the same operators to.

use super::{Load, AND, OR, XOR};
use crate::asm::{
    Asm, Cond, Float, Size, ANDPS, CVT, FADD, FDIV, FMAX, FMIN, FMUL, FSUB, ORPS, RAX, RCX, RDX,
    SQRT,
};
use crate::values::Val;
use crate::{unsupported, Compiler, Unsupported};
use hoist_environ::TrapCode;
use wasmparser::Operator;

/// A float comparison.
#[derive(Clone, Copy)]
enum Compare {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// The integer size that holds a float's bits.
fn bits(ty: Float) -> Size {
    match ty {
        Float::F32 => Size::S32,
        Float::F64 => Size::S64,
    }
}

impl Compiler<'_> {
    /// The float operators, loads and stores; false for any other.
    pub(crate) fn float(&mut self, op: &Operator<'_>) -> Result<bool, Unsupported> {
        use Float::{F32, F64};
        use Operator as O;
        use Size::{S32, S64};
        match *op {
            O::F32Const { value } => self.push_val(Val::Const(i64::from(value.bits() as i32))),
            O::F64Const { value } => self.push_val(Val::Const(value.bits() as i64)),
            O::F32Load { memarg } => self.load(memarg, 4, Load::Full(S32))?,
            O::F64Load { memarg } => self.load(memarg, 8, Load::Full(S64))?,
            O::F32Store { memarg } => self.store(memarg, 4)?,
            O::F64Store { memarg } => self.store(memarg, 8)?,
            // The bits are the value already.
            O::I32ReinterpretF32
            | O::F32ReinterpretI32
            | O::I64ReinterpretF64
            | O::F64ReinterpretI64 => {}

            O::F32Add => self.sse_binary(F32, FADD),
            O::F32Sub => self.sse_binary(F32, FSUB),
            O::F32Mul => self.sse_binary(F32, FMUL),
            O::F32Div => self.sse_binary(F32, FDIV),
            O::F64Add => self.sse_binary(F64, FADD),
            O::F64Sub => self.sse_binary(F64, FSUB),
            O::F64Mul => self.sse_binary(F64, FMUL),
            O::F64Div => self.sse_binary(F64, FDIV),
            O::F32Min => self.min_max(F32, true),
            O::F32Max => self.min_max(F32, false),
            O::F64Min => self.min_max(F64, true),
            O::F64Max => self.min_max(F64, false),
            O::F32Sqrt => self.sse_unary(S32, |a| a.sse_rr(F32, SQRT, 0, 0)),
            O::F64Sqrt => self.sse_unary(S64, |a| a.sse_rr(F64, SQRT, 0, 0)),
            O::F32Nearest => self.round(F32, 0)?,
            O::F32Floor => self.round(F32, 1)?,
            O::F32Ceil => self.round(F32, 2)?,
            O::F32Trunc => self.round(F32, 3)?,
            O::F64Nearest => self.round(F64, 0)?,
            O::F64Floor => self.round(F64, 1)?,
            O::F64Ceil => self.round(F64, 2)?,
            O::F64Trunc => self.round(F64, 3)?,

            // The sign bit, in the integer registers.
            O::F32Abs => self.sign_bit(F32, AND, magnitude(F32)),
            O::F64Abs => self.sign_bit(F64, AND, magnitude(F64)),
            O::F32Neg => self.sign_bit(F32, XOR, sign(F32)),
            O::F64Neg => self.sign_bit(F64, XOR, sign(F64)),
            O::F32Copysign => self.binary(S32, |a| copysign(a, F32)),
            O::F64Copysign => self.binary(S64, |a| copysign(a, F64)),

            O::F32Eq => self.compare_float(F32, Compare::Eq),
            O::F32Ne => self.compare_float(F32, Compare::Ne),
            O::F32Lt => self.compare_float(F32, Compare::Lt),
            O::F32Gt => self.compare_float(F32, Compare::Gt),
            O::F32Le => self.compare_float(F32, Compare::Le),
            O::F32Ge => self.compare_float(F32, Compare::Ge),
            O::F64Eq => self.compare_float(F64, Compare::Eq),
            O::F64Ne => self.compare_float(F64, Compare::Ne),
            O::F64Lt => self.compare_float(F64, Compare::Lt),
            O::F64Gt => self.compare_float(F64, Compare::Gt),
            O::F64Le => self.compare_float(F64, Compare::Le),
            O::F64Ge => self.compare_float(F64, Compare::Ge),

            // cvtss2sd and cvtsd2ss quiet a signaling NaN: an arithmetic
            // NaN, as the spec allows.
            O::F64PromoteF32 => self.sse_unary(S32, |a| a.sse_rr(F32, CVT, 0, 0)),
            O::F32DemoteF64 => self.sse_unary(S64, |a| a.sse_rr(F64, CVT, 0, 0)),
            O::F32ConvertI32S => self.int_to_float(F32, S32, true),
            O::F32ConvertI32U => self.int_to_float(F32, S32, false),
            O::F32ConvertI64S => self.int_to_float(F32, S64, true),
            O::F32ConvertI64U => self.int_to_float(F32, S64, false),
            O::F64ConvertI32S => self.int_to_float(F64, S32, true),
            O::F64ConvertI32U => self.int_to_float(F64, S32, false),
            O::F64ConvertI64S => self.int_to_float(F64, S64, true),
            O::F64ConvertI64U => self.int_to_float(F64, S64, false),
            O::I32TruncF32S => self.float_to_int(F32, S32, true, false),
            O::I32TruncF32U => self.float_to_int(F32, S32, false, false),
            O::I32TruncF64S => self.float_to_int(F64, S32, true, false),
            O::I32TruncF64U => self.float_to_int(F64, S32, false, false),
            O::I64TruncF32S => self.float_to_int(F32, S64, true, false),
            O::I64TruncF32U => self.float_to_int(F32, S64, false, false),
            O::I64TruncF64S => self.float_to_int(F64, S64, true, false),
            O::I64TruncF64U => self.float_to_int(F64, S64, false, false),
            O::I32TruncSatF32S => self.float_to_int(F32, S32, true, true),
            O::I32TruncSatF32U => self.float_to_int(F32, S32, false, true),
            O::I32TruncSatF64S => self.float_to_int(F64, S32, true, true),
            O::I32TruncSatF64U => self.float_to_int(F64, S32, false, true),
            O::I64TruncSatF32S => self.float_to_int(F32, S64, true, true),
            O::I64TruncSatF32U => self.float_to_int(F32, S64, false, true),
            O::I64TruncSatF64S => self.float_to_int(F64, S64, true, true),
            O::I64TruncSatF64U => self.float_to_int(F64, S64, false, true),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `abs` (AND with the magnitude's bits) or `neg` (XOR with the sign
    /// bit) of the top value, as `op` on its bits with `mask`.
    fn sign_bit(&mut self, ty: Float, op: u8, mask: i64) {
        let size = bits(ty);
        self.unary(size, |a| {
            a.mov_imm(RCX, mask);
            a.alu_rr(size, op, RAX, RCX);
        });
    }

    /// `op` on the top value's bits in `xmm0` (read as `size`), the
    /// result's bits left in rax.
    fn sse_unary(&mut self, size: Size, op: impl FnOnce(&mut Asm)) {
        self.unary(size, |a| {
            a.movq_to_xmm(0, RAX);
            op(a);
            a.movq_from_xmm(RAX, 0);
        });
    }

    /// `xmm0 = xmm0 op xmm1` on the top two values.
    fn sse_binary(&mut self, ty: Float, op: u8) {
        self.binary(bits(ty), |a| {
            a.movq_to_xmm(0, RAX);
            a.movq_to_xmm(1, RCX);
            a.sse_rr(ty, op, 0, 1);
            a.movq_from_xmm(RAX, 0);
        });
    }

    /// `ceil`, `floor`, `trunc`, `nearest`: `roundss`/`roundsd` with
    /// `mode` (SSE4.1).
    fn round(&mut self, ty: Float, mode: u8) -> Result<(), Unsupported> {
        if !self.options.sse41 {
            return unsupported("rounding on a CPU without SSE4.1");
        }
        self.sse_unary(bits(ty), |a| a.round(ty, 0, 0, mode));
        Ok(())
    }

    /// `min`/`max`: x86's `minss` and friends return the second operand
    /// for a NaN or two zeros, where wasm wants a NaN and -0 (min) or +0
    /// (max). Equal operands differ only as zeros, so OR (min) or AND
    /// (max) of the bits gives the signed zero; with a NaN, the sum is one.
    fn min_max(&mut self, ty: Float, min: bool) {
        self.operands(bits(ty));
        self.asm.movq_to_xmm(0, RAX);
        self.asm.movq_to_xmm(1, RCX);
        let (nan, normal, done) = (self.new_label(), self.new_label(), self.new_label());
        self.asm.ucomis(ty, 0, 1);
        self.jump_if(Cond::P, nan);
        self.jump_if(Cond::Ne, normal);
        self.asm.packed_rr(if min { ORPS } else { ANDPS }, 0, 1);
        self.jump(done);
        self.bind(nan);
        self.asm.sse_rr(ty, FADD, 0, 1);
        self.jump(done);
        self.bind(normal);
        self.asm.sse_rr(ty, if min { FMIN } else { FMAX }, 0, 1);
        self.bind(done);
        self.asm.movq_from_xmm(RAX, 0);
        self.push_val(Val::Rax);
    }

    /// A comparison: false whenever an operand is a NaN (unordered), but
    /// for `ne`, true then. The orderings are left on the flags (see
    /// [`Val::Flags`]).
    fn compare_float(&mut self, ty: Float, compare: Compare) {
        self.operands(bits(ty));
        let a = &mut self.asm;
        a.movq_to_xmm(0, RAX);
        a.movq_to_xmm(1, RCX);
        let result = match compare {
            Compare::Eq => {
                a.ucomis(ty, 0, 1);
                a.set_bool(Cond::E, RAX);
                a.set_bool(Cond::Np, RCX);
                a.alu_rr(Size::S32, AND, RAX, RCX);
                Val::Rax
            }
            Compare::Ne => {
                a.ucomis(ty, 0, 1);
                a.set_bool(Cond::Ne, RAX);
                a.set_bool(Cond::P, RCX);
                a.alu_rr(Size::S32, OR, RAX, RCX);
                Val::Rax
            }
            // Unordered sets CF and ZF, which `above` and `above or
            // equal` exclude; `lt` and `le` swap the operands.
            Compare::Gt => {
                a.ucomis(ty, 0, 1);
                Val::Flags(Cond::A)
            }
            Compare::Ge => {
                a.ucomis(ty, 0, 1);
                Val::Flags(Cond::Ae)
            }
            Compare::Lt => {
                a.ucomis(ty, 1, 0);
                Val::Flags(Cond::A)
            }
            Compare::Le => {
                a.ucomis(ty, 1, 0);
                Val::Flags(Cond::Ae)
            }
        };
        self.push_val(result);
    }

    /// `convert_i32`/`convert_i64`, signed or not. An unsigned i32 is a
    /// non-negative i64; an unsigned i64 with its top bit set is halved
    /// (keeping the low bit, so the rounding is the same), converted and
    /// doubled.
    fn int_to_float(&mut self, ty: Float, size: Size, signed: bool) {
        if signed || size == Size::S32 {
            // A 32-bit fetch zero-extends.
            let from = if signed { size } else { Size::S64 };
            self.unary(size, |a| {
                a.int_to_float(ty, from, 0, RAX);
                a.movq_from_xmm(RAX, 0);
            });
            return;
        }
        let i = self.under(1);
        self.free_rax(Some(i));
        self.fetch(i, RAX, Size::S64);
        self.pop_val();
        let (big, done) = (self.new_label(), self.new_label());
        self.asm.test_rr(Size::S64, RAX, RAX);
        self.jump_if(Cond::L, big);
        self.asm.int_to_float(ty, Size::S64, 0, RAX);
        self.jump(done);
        self.bind(big);
        let a = &mut self.asm;
        a.mov_rr(Size::S64, RCX, RAX);
        a.shr_imm(Size::S64, RCX, 1);
        a.mov_imm(RDX, 1);
        a.alu_rr(Size::S64, AND, RDX, RAX);
        a.alu_rr(Size::S64, OR, RCX, RDX);
        a.int_to_float(ty, Size::S64, 0, RCX);
        a.sse_rr(ty, FADD, 0, 0);
        self.bind(done);
        self.asm.movq_from_xmm(RAX, 0);
        self.push_val(Val::Rax);
    }

    /// `trunc` (trapping: "invalid conversion to integer" for a NaN,
    /// "integer overflow" out of range) and `trunc_sat` (0 for a NaN, the
    /// nearest bound out of range). The range checks are made on the
    /// value as an f64 (every f32 is one exactly), against bounds just
    /// outside the range that f64 holds exactly.
    fn float_to_int(&mut self, ty: Float, size: Size, signed: bool, saturating: bool) {
        let i = self.under(1);
        self.free_rax(Some(i));
        self.fetch(i, RAX, bits(ty));
        self.pop_val();
        self.asm.movq_to_xmm(0, RAX);
        if ty == Float::F32 {
            self.asm.sse_rr(Float::F32, CVT, 0, 0);
        }
        // (exclusive lower bound, exclusive upper bound, minimum, maximum)
        let (lo, hi, min, max): (f64, f64, i64, i64) = match (size, signed) {
            (Size::S32, true) => (
                -2_147_483_649.0,
                2_147_483_648.0,
                i64::from(i32::MIN),
                i64::from(i32::MAX),
            ),
            (Size::S32, false) => (-1.0, 4_294_967_296.0, 0, i64::from(u32::MAX)),
            // The f64 below -2^63 is -2^63 - 2048.
            (Size::S64, true) => (
                -9_223_372_036_854_777_856.0,
                9_223_372_036_854_775_808.0,
                i64::MIN,
                i64::MAX,
            ),
            (Size::S64, false) => (-1.0, 18_446_744_073_709_551_616.0, 0, -1),
        };
        let labels = saturating.then(|| (self.new_label(), self.new_label(), self.new_label()));
        self.asm.ucomis(Float::F64, 0, 0);
        match labels {
            Some((nan, _, _)) => self.jump_if(Cond::P, nan),
            None => self.trap_if(Cond::P, TrapCode::BadConversionToInteger),
        }
        self.out_of_range(lo, Cond::Be, labels.map(|(_, low, _)| low));
        self.out_of_range(hi, Cond::Ae, labels.map(|(_, _, high)| high));
        match (size, signed) {
            (Size::S32, true) => self.asm.float_to_int(Float::F64, Size::S32, RAX, 0),
            (Size::S32, false) | (Size::S64, true) => {
                self.asm.float_to_int(Float::F64, Size::S64, RAX, 0)
            }
            (Size::S64, false) => {
                // From 2^63 up: convert x - 2^63 and set the top bit.
                let (big, done) = (self.new_label(), self.new_label());
                self.compare_f64(9_223_372_036_854_775_808.0);
                self.jump_if(Cond::Ae, big);
                self.asm.float_to_int(Float::F64, Size::S64, RAX, 0);
                self.jump(done);
                self.bind(big);
                self.asm.sse_rr(Float::F64, FSUB, 0, 1);
                self.asm.float_to_int(Float::F64, Size::S64, RAX, 0);
                self.asm.mov_imm(RCX, i64::MIN);
                self.asm.alu_rr(Size::S64, XOR, RAX, RCX);
                self.bind(done);
            }
        }
        if let Some((nan, low, high)) = labels {
            let done = self.new_label();
            self.jump(done);
            for (label, value) in [(nan, 0), (low, min), (high, max)] {
                self.bind(label);
                self.asm.mov_imm(RAX, value);
                self.jump(done);
            }
            self.bind(done);
        }
        self.push_val(Val::Rax);
    }

    /// `ucomisd xmm0, bound`, through rcx and xmm1.
    fn compare_f64(&mut self, bound: f64) {
        self.asm.mov_imm(RCX, bound.to_bits() as i64);
        self.asm.movq_to_xmm(1, RCX);
        self.asm.ucomis(Float::F64, 0, 1);
    }

    /// Where xmm0 compares to `bound` as `cond` says: to `saturate` (a
    /// `trunc_sat`'s label for that bound), else the "integer overflow"
    /// trap.
    fn out_of_range(&mut self, bound: f64, cond: Cond, saturate: Option<usize>) {
        self.compare_f64(bound);
        match saturate {
            Some(label) => self.jump_if(cond, label),
            None => self.trap_if(cond, TrapCode::IntegerOverflow),
        }
    }
}

/// A float's sign bit, as an immediate for its integer size.
fn sign(ty: Float) -> i64 {
    match ty {
        Float::F32 => 0x8000_0000,
        Float::F64 => i64::MIN,
    }
}

/// Every bit of a float but its sign.
fn magnitude(ty: Float) -> i64 {
    match ty {
        Float::F32 => 0x7fff_ffff,
        Float::F64 => i64::MAX,
    }
}

/// `rax = (rax without its sign) | (rcx's sign)`.
fn copysign(a: &mut Asm, ty: Float) {
    let size = bits(ty);
    a.mov_imm(RDX, sign(ty));
    a.alu_rr(size, AND, RCX, RDX);
    a.mov_imm(RDX, magnitude(ty));
    a.alu_rr(size, AND, RAX, RDX);
    a.alu_rr(size, OR, RAX, RCX);
}
