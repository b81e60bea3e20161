//! One `VisitSimdOperator` method per simd and relaxed-simd operator.

use super::lowering::*;
use crate::translate::FuncTranslator;
use cranelift_codegen::ir::{
    condcodes::{FloatCC, IntCC},
    types::{F32X4, F64X2, I16X8, I32, I32X4, I64X2, I8X16},
    ConstantData, InstBuilder,
};
use wasmparser::{MemArg, VisitSimdOperator};

impl<'a> VisitSimdOperator<'a> for FuncTranslator<'_, '_> {
    // ----- memory -----

    fn visit_v128_load(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 16, |b, flags, address| {
            b.ins().load(I8X16, flags, address, 0)
        })
    }
    fn visit_v128_load8x8_s(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().sload8x8(f, a, 0))
    }
    fn visit_v128_load8x8_u(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().uload8x8(f, a, 0))
    }
    fn visit_v128_load16x4_s(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().sload16x4(f, a, 0))
    }
    fn visit_v128_load16x4_u(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().uload16x4(f, a, 0))
    }
    fn visit_v128_load32x2_s(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().sload32x2(f, a, 0))
    }
    fn visit_v128_load32x2_u(&mut self, memarg: MemArg) -> Self::Output {
        self.vload(memarg, 8, |b, f, a| b.ins().uload32x2(f, a, 0))
    }
    fn visit_v128_load8_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.load_splat(memarg, I8X16)
    }
    fn visit_v128_load16_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.load_splat(memarg, I16X8)
    }
    fn visit_v128_load32_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.load_splat(memarg, I32X4)
    }
    fn visit_v128_load64_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.load_splat(memarg, I64X2)
    }
    fn visit_v128_load32_zero(&mut self, memarg: MemArg) -> Self::Output {
        self.load_zero(memarg, I32X4)
    }
    fn visit_v128_load64_zero(&mut self, memarg: MemArg) -> Self::Output {
        self.load_zero(memarg, I64X2)
    }
    fn visit_v128_store(&mut self, memarg: MemArg) -> Self::Output {
        if self.reachable {
            let v = self.vpop(I8X16);
            let (address, flags) = self.memory_access(&memarg, 16);
            self.builder.ins().store(flags, v, address, 0);
        }
        Ok(())
    }
    fn visit_v128_load8_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.load_lane(memarg, I8X16, lane)
    }
    fn visit_v128_load16_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.load_lane(memarg, I16X8, lane)
    }
    fn visit_v128_load32_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.load_lane(memarg, I32X4, lane)
    }
    fn visit_v128_load64_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.load_lane(memarg, I64X2, lane)
    }
    fn visit_v128_store8_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.store_lane(memarg, I8X16, lane)
    }
    fn visit_v128_store16_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.store_lane(memarg, I16X8, lane)
    }
    fn visit_v128_store32_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.store_lane(memarg, I32X4, lane)
    }
    fn visit_v128_store64_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.store_lane(memarg, I64X2, lane)
    }

    // ----- constants, lanes, shuffles -----

    fn visit_v128_const(&mut self, value: wasmparser::V128) -> Self::Output {
        if self.reachable {
            let v = self.vconst(I8X16, *value.bytes());
            self.push(v);
        }
        Ok(())
    }
    fn visit_i8x16_shuffle(&mut self, lanes: [u8; 16]) -> Self::Output {
        if self.reachable {
            let (a, b) = self.vpop2(I8X16);
            let v = if self.simd.no_pshufb && !shuffle_without_pshufb(&lanes) {
                self.shuffle_in_memory(a, b, &lanes)
            } else {
                let mask = ConstantData::from(&lanes[..]);
                let mask = self.builder.func.dfg.immediates.push(mask);
                self.builder.ins().shuffle(a, b, mask)
            };
            self.vpush(v);
        }
        Ok(())
    }
    fn visit_i8x16_extract_lane_s(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I8X16, lane, true)
    }
    fn visit_i8x16_extract_lane_u(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I8X16, lane, false)
    }
    fn visit_i8x16_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(I8X16, lane)
    }
    fn visit_i16x8_extract_lane_s(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I16X8, lane, true)
    }
    fn visit_i16x8_extract_lane_u(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I16X8, lane, false)
    }
    fn visit_i16x8_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(I16X8, lane)
    }
    fn visit_i32x4_extract_lane(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I32X4, lane, false)
    }
    fn visit_i32x4_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(I32X4, lane)
    }
    fn visit_i64x2_extract_lane(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(I64X2, lane, false)
    }
    fn visit_i64x2_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(I64X2, lane)
    }
    fn visit_f32x4_extract_lane(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(F32X4, lane, false)
    }
    fn visit_f32x4_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(F32X4, lane)
    }
    fn visit_f64x2_extract_lane(&mut self, lane: u8) -> Self::Output {
        self.extract_lane(F64X2, lane, false)
    }
    fn visit_f64x2_replace_lane(&mut self, lane: u8) -> Self::Output {
        self.replace_lane(F64X2, lane)
    }
    fn visit_i8x16_swizzle(&mut self) -> Self::Output {
        self.swizzle()
    }
    fn visit_i8x16_splat(&mut self) -> Self::Output {
        self.splat(I8X16)
    }
    fn visit_i16x8_splat(&mut self) -> Self::Output {
        self.splat(I16X8)
    }
    fn visit_i32x4_splat(&mut self) -> Self::Output {
        self.splat(I32X4)
    }
    fn visit_i64x2_splat(&mut self) -> Self::Output {
        self.splat(I64X2)
    }
    fn visit_f32x4_splat(&mut self) -> Self::Output {
        self.splat(F32X4)
    }
    fn visit_f64x2_splat(&mut self) -> Self::Output {
        self.splat(F64X2)
    }

    // ----- comparisons -----

    fn visit_i8x16_eq(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::Equal)
    }
    fn visit_i8x16_ne(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::NotEqual)
    }
    fn visit_i8x16_lt_s(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::SignedLessThan)
    }
    fn visit_i8x16_lt_u(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::UnsignedLessThan)
    }
    fn visit_i8x16_gt_s(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::SignedGreaterThan)
    }
    fn visit_i8x16_gt_u(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::UnsignedGreaterThan)
    }
    fn visit_i8x16_le_s(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::SignedLessThanOrEqual)
    }
    fn visit_i8x16_le_u(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::UnsignedLessThanOrEqual)
    }
    fn visit_i8x16_ge_s(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::SignedGreaterThanOrEqual)
    }
    fn visit_i8x16_ge_u(&mut self) -> Self::Output {
        self.vicmp(I8X16, IntCC::UnsignedGreaterThanOrEqual)
    }
    fn visit_i16x8_eq(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::Equal)
    }
    fn visit_i16x8_ne(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::NotEqual)
    }
    fn visit_i16x8_lt_s(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::SignedLessThan)
    }
    fn visit_i16x8_lt_u(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::UnsignedLessThan)
    }
    fn visit_i16x8_gt_s(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::SignedGreaterThan)
    }
    fn visit_i16x8_gt_u(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::UnsignedGreaterThan)
    }
    fn visit_i16x8_le_s(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::SignedLessThanOrEqual)
    }
    fn visit_i16x8_le_u(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::UnsignedLessThanOrEqual)
    }
    fn visit_i16x8_ge_s(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::SignedGreaterThanOrEqual)
    }
    fn visit_i16x8_ge_u(&mut self) -> Self::Output {
        self.vicmp(I16X8, IntCC::UnsignedGreaterThanOrEqual)
    }
    fn visit_i32x4_eq(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::Equal)
    }
    fn visit_i32x4_ne(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::NotEqual)
    }
    fn visit_i32x4_lt_s(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::SignedLessThan)
    }
    fn visit_i32x4_lt_u(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::UnsignedLessThan)
    }
    fn visit_i32x4_gt_s(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::SignedGreaterThan)
    }
    fn visit_i32x4_gt_u(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::UnsignedGreaterThan)
    }
    fn visit_i32x4_le_s(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::SignedLessThanOrEqual)
    }
    fn visit_i32x4_le_u(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::UnsignedLessThanOrEqual)
    }
    fn visit_i32x4_ge_s(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::SignedGreaterThanOrEqual)
    }
    fn visit_i32x4_ge_u(&mut self) -> Self::Output {
        self.vicmp(I32X4, IntCC::UnsignedGreaterThanOrEqual)
    }
    fn visit_i64x2_eq(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::Equal)
    }
    fn visit_i64x2_ne(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::NotEqual)
    }
    fn visit_i64x2_lt_s(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::SignedLessThan)
    }
    fn visit_i64x2_gt_s(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::SignedGreaterThan)
    }
    fn visit_i64x2_le_s(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::SignedLessThanOrEqual)
    }
    fn visit_i64x2_ge_s(&mut self) -> Self::Output {
        self.vicmp(I64X2, IntCC::SignedGreaterThanOrEqual)
    }
    fn visit_f32x4_eq(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::Equal)
    }
    fn visit_f32x4_ne(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::NotEqual)
    }
    fn visit_f32x4_lt(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::LessThan)
    }
    fn visit_f32x4_gt(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::GreaterThan)
    }
    fn visit_f32x4_le(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::LessThanOrEqual)
    }
    fn visit_f32x4_ge(&mut self) -> Self::Output {
        self.vfcmp(F32X4, FloatCC::GreaterThanOrEqual)
    }
    fn visit_f64x2_eq(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::Equal)
    }
    fn visit_f64x2_ne(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::NotEqual)
    }
    fn visit_f64x2_lt(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::LessThan)
    }
    fn visit_f64x2_gt(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::GreaterThan)
    }
    fn visit_f64x2_le(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::LessThanOrEqual)
    }
    fn visit_f64x2_ge(&mut self) -> Self::Output {
        self.vfcmp(F64X2, FloatCC::GreaterThanOrEqual)
    }

    // ----- bitwise -----

    fn visit_v128_not(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().bnot(x))
    }
    fn visit_v128_and(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().band(x, y))
    }
    fn visit_v128_andnot(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().band_not(x, y))
    }
    fn visit_v128_or(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().bor(x, y))
    }
    fn visit_v128_xor(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().bxor(x, y))
    }
    fn visit_v128_bitselect(&mut self) -> Self::Output {
        self.bitselect()
    }
    fn visit_v128_any_true(&mut self) -> Self::Output {
        self.reduce(I8X16, |b, x| b.ins().vany_true(x))
    }

    // ----- i8x16 -----

    fn visit_i8x16_abs(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().iabs(x))
    }
    fn visit_i8x16_neg(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().ineg(x))
    }
    fn visit_i8x16_popcnt(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().popcnt(x))
    }
    fn visit_i8x16_all_true(&mut self) -> Self::Output {
        self.reduce(I8X16, |b, x| b.ins().vall_true(x))
    }
    fn visit_i8x16_bitmask(&mut self) -> Self::Output {
        self.reduce(I8X16, |b, x| b.ins().vhigh_bits(I32, x))
    }
    fn visit_i8x16_narrow_i16x8_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().snarrow(x, y))
    }
    fn visit_i8x16_narrow_i16x8_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().unarrow(x, y))
    }
    fn visit_i8x16_shl(&mut self) -> Self::Output {
        self.shift(I8X16, |b, x, y| b.ins().ishl(x, y))
    }
    fn visit_i8x16_shr_s(&mut self) -> Self::Output {
        self.shift(I8X16, |b, x, y| b.ins().sshr(x, y))
    }
    fn visit_i8x16_shr_u(&mut self) -> Self::Output {
        self.shift(I8X16, |b, x, y| b.ins().ushr(x, y))
    }
    fn visit_i8x16_add(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().iadd(x, y))
    }
    fn visit_i8x16_add_sat_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().sadd_sat(x, y))
    }
    fn visit_i8x16_add_sat_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().uadd_sat(x, y))
    }
    fn visit_i8x16_sub(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().isub(x, y))
    }
    fn visit_i8x16_sub_sat_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().ssub_sat(x, y))
    }
    fn visit_i8x16_sub_sat_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().usub_sat(x, y))
    }
    fn visit_i8x16_min_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().smin(x, y))
    }
    fn visit_i8x16_min_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().umin(x, y))
    }
    fn visit_i8x16_max_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().smax(x, y))
    }
    fn visit_i8x16_max_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().umax(x, y))
    }
    fn visit_i8x16_avgr_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| b.ins().avg_round(x, y))
    }

    // ----- i16x8 -----

    fn visit_i16x8_extadd_pairwise_i8x16_s(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| {
            let low = b.ins().swiden_low(x);
            let high = b.ins().swiden_high(x);
            b.ins().iadd_pairwise(low, high)
        })
    }
    fn visit_i16x8_extadd_pairwise_i8x16_u(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| {
            let low = b.ins().uwiden_low(x);
            let high = b.ins().uwiden_high(x);
            b.ins().iadd_pairwise(low, high)
        })
    }
    fn visit_i16x8_abs(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().iabs(x))
    }
    fn visit_i16x8_neg(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().ineg(x))
    }
    fn visit_i16x8_q15mulr_sat_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().sqmul_round_sat(x, y))
    }
    fn visit_i16x8_all_true(&mut self) -> Self::Output {
        self.reduce(I16X8, |b, x| b.ins().vall_true(x))
    }
    fn visit_i16x8_bitmask(&mut self) -> Self::Output {
        self.reduce(I16X8, |b, x| b.ins().vhigh_bits(I32, x))
    }
    fn visit_i16x8_narrow_i32x4_s(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().snarrow(x, y))
    }
    fn visit_i16x8_narrow_i32x4_u(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().unarrow(x, y))
    }
    fn visit_i16x8_extend_low_i8x16_s(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().swiden_low(x))
    }
    fn visit_i16x8_extend_high_i8x16_s(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().swiden_high(x))
    }
    fn visit_i16x8_extend_low_i8x16_u(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().uwiden_low(x))
    }
    fn visit_i16x8_extend_high_i8x16_u(&mut self) -> Self::Output {
        self.unop(I8X16, |b, x| b.ins().uwiden_high(x))
    }
    fn visit_i16x8_shl(&mut self) -> Self::Output {
        self.shift(I16X8, |b, x, y| b.ins().ishl(x, y))
    }
    fn visit_i16x8_shr_s(&mut self) -> Self::Output {
        self.shift(I16X8, |b, x, y| b.ins().sshr(x, y))
    }
    fn visit_i16x8_shr_u(&mut self) -> Self::Output {
        self.shift(I16X8, |b, x, y| b.ins().ushr(x, y))
    }
    fn visit_i16x8_add(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().iadd(x, y))
    }
    fn visit_i16x8_add_sat_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().sadd_sat(x, y))
    }
    fn visit_i16x8_add_sat_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().uadd_sat(x, y))
    }
    fn visit_i16x8_sub(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().isub(x, y))
    }
    fn visit_i16x8_sub_sat_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().ssub_sat(x, y))
    }
    fn visit_i16x8_sub_sat_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().usub_sat(x, y))
    }
    fn visit_i16x8_mul(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().imul(x, y))
    }
    fn visit_i16x8_min_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().smin(x, y))
    }
    fn visit_i16x8_min_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().umin(x, y))
    }
    fn visit_i16x8_max_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().smax(x, y))
    }
    fn visit_i16x8_max_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().umax(x, y))
    }
    fn visit_i16x8_avgr_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| b.ins().avg_round(x, y))
    }
    fn visit_i16x8_extmul_low_i8x16_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| {
            let x = b.ins().swiden_low(x);
            let y = b.ins().swiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i16x8_extmul_high_i8x16_s(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| {
            let x = b.ins().swiden_high(x);
            let y = b.ins().swiden_high(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i16x8_extmul_low_i8x16_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| {
            let x = b.ins().uwiden_low(x);
            let y = b.ins().uwiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i16x8_extmul_high_i8x16_u(&mut self) -> Self::Output {
        self.binop(I8X16, |b, x, y| {
            let x = b.ins().uwiden_high(x);
            let y = b.ins().uwiden_high(y);
            b.ins().imul(x, y)
        })
    }

    // ----- i32x4 -----

    fn visit_i32x4_extadd_pairwise_i16x8_s(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| {
            let low = b.ins().swiden_low(x);
            let high = b.ins().swiden_high(x);
            b.ins().iadd_pairwise(low, high)
        })
    }
    fn visit_i32x4_extadd_pairwise_i16x8_u(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| {
            let low = b.ins().uwiden_low(x);
            let high = b.ins().uwiden_high(x);
            b.ins().iadd_pairwise(low, high)
        })
    }
    fn visit_i32x4_abs(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().iabs(x))
    }
    fn visit_i32x4_neg(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().ineg(x))
    }
    fn visit_i32x4_all_true(&mut self) -> Self::Output {
        self.reduce(I32X4, |b, x| b.ins().vall_true(x))
    }
    fn visit_i32x4_bitmask(&mut self) -> Self::Output {
        self.reduce(I32X4, |b, x| b.ins().vhigh_bits(I32, x))
    }
    fn visit_i32x4_extend_low_i16x8_s(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().swiden_low(x))
    }
    fn visit_i32x4_extend_high_i16x8_s(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().swiden_high(x))
    }
    fn visit_i32x4_extend_low_i16x8_u(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().uwiden_low(x))
    }
    fn visit_i32x4_extend_high_i16x8_u(&mut self) -> Self::Output {
        self.unop(I16X8, |b, x| b.ins().uwiden_high(x))
    }
    fn visit_i32x4_shl(&mut self) -> Self::Output {
        self.shift(I32X4, |b, x, y| b.ins().ishl(x, y))
    }
    fn visit_i32x4_shr_s(&mut self) -> Self::Output {
        self.shift(I32X4, |b, x, y| b.ins().sshr(x, y))
    }
    fn visit_i32x4_shr_u(&mut self) -> Self::Output {
        self.shift(I32X4, |b, x, y| b.ins().ushr(x, y))
    }
    fn visit_i32x4_add(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().iadd(x, y))
    }
    fn visit_i32x4_sub(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().isub(x, y))
    }
    fn visit_i32x4_mul(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().imul(x, y))
    }
    fn visit_i32x4_min_s(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().smin(x, y))
    }
    fn visit_i32x4_min_u(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().umin(x, y))
    }
    fn visit_i32x4_max_s(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().smax(x, y))
    }
    fn visit_i32x4_max_u(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| b.ins().umax(x, y))
    }
    fn visit_i32x4_dot_i16x8_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| {
            let x_low = b.ins().swiden_low(x);
            let y_low = b.ins().swiden_low(y);
            let low = b.ins().imul(x_low, y_low);
            let x_high = b.ins().swiden_high(x);
            let y_high = b.ins().swiden_high(y);
            let high = b.ins().imul(x_high, y_high);
            b.ins().iadd_pairwise(low, high)
        })
    }
    fn visit_i32x4_extmul_low_i16x8_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| {
            let x = b.ins().swiden_low(x);
            let y = b.ins().swiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i32x4_extmul_high_i16x8_s(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| {
            let x = b.ins().swiden_high(x);
            let y = b.ins().swiden_high(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i32x4_extmul_low_i16x8_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| {
            let x = b.ins().uwiden_low(x);
            let y = b.ins().uwiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i32x4_extmul_high_i16x8_u(&mut self) -> Self::Output {
        self.binop(I16X8, |b, x, y| {
            let x = b.ins().uwiden_high(x);
            let y = b.ins().uwiden_high(y);
            b.ins().imul(x, y)
        })
    }

    // ----- i64x2 -----

    fn visit_i64x2_abs(&mut self) -> Self::Output {
        self.unop(I64X2, |b, x| b.ins().iabs(x))
    }
    fn visit_i64x2_neg(&mut self) -> Self::Output {
        self.unop(I64X2, |b, x| b.ins().ineg(x))
    }
    fn visit_i64x2_all_true(&mut self) -> Self::Output {
        self.reduce(I64X2, |b, x| b.ins().vall_true(x))
    }
    fn visit_i64x2_bitmask(&mut self) -> Self::Output {
        self.reduce(I64X2, |b, x| b.ins().vhigh_bits(I32, x))
    }
    fn visit_i64x2_extend_low_i32x4_s(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().swiden_low(x))
    }
    fn visit_i64x2_extend_high_i32x4_s(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().swiden_high(x))
    }
    fn visit_i64x2_extend_low_i32x4_u(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().uwiden_low(x))
    }
    fn visit_i64x2_extend_high_i32x4_u(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().uwiden_high(x))
    }
    fn visit_i64x2_shl(&mut self) -> Self::Output {
        self.shift(I64X2, |b, x, y| b.ins().ishl(x, y))
    }
    fn visit_i64x2_shr_s(&mut self) -> Self::Output {
        self.shift(I64X2, |b, x, y| b.ins().sshr(x, y))
    }
    fn visit_i64x2_shr_u(&mut self) -> Self::Output {
        self.shift(I64X2, |b, x, y| b.ins().ushr(x, y))
    }
    fn visit_i64x2_add(&mut self) -> Self::Output {
        self.binop(I64X2, |b, x, y| b.ins().iadd(x, y))
    }
    fn visit_i64x2_sub(&mut self) -> Self::Output {
        self.binop(I64X2, |b, x, y| b.ins().isub(x, y))
    }
    fn visit_i64x2_mul(&mut self) -> Self::Output {
        self.binop(I64X2, |b, x, y| b.ins().imul(x, y))
    }
    fn visit_i64x2_extmul_low_i32x4_s(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| {
            let x = b.ins().swiden_low(x);
            let y = b.ins().swiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i64x2_extmul_high_i32x4_s(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| {
            let x = b.ins().swiden_high(x);
            let y = b.ins().swiden_high(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i64x2_extmul_low_i32x4_u(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| {
            let x = b.ins().uwiden_low(x);
            let y = b.ins().uwiden_low(y);
            b.ins().imul(x, y)
        })
    }
    fn visit_i64x2_extmul_high_i32x4_u(&mut self) -> Self::Output {
        self.binop(I32X4, |b, x, y| {
            let x = b.ins().uwiden_high(x);
            let y = b.ins().uwiden_high(y);
            b.ins().imul(x, y)
        })
    }

    // ----- f32x4 -----

    fn visit_f32x4_ceil(&mut self) -> Self::Output {
        self.vround(F32X4, Round::Ceil)
    }
    fn visit_f32x4_floor(&mut self) -> Self::Output {
        self.vround(F32X4, Round::Floor)
    }
    fn visit_f32x4_trunc(&mut self) -> Self::Output {
        self.vround(F32X4, Round::Trunc)
    }
    fn visit_f32x4_nearest(&mut self) -> Self::Output {
        self.vround(F32X4, Round::Nearest)
    }
    fn visit_f32x4_abs(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().fabs(x))
    }
    fn visit_f32x4_neg(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().fneg(x))
    }
    fn visit_f32x4_sqrt(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().sqrt(x))
    }
    fn visit_f32x4_add(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fadd(x, y))
    }
    fn visit_f32x4_sub(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fsub(x, y))
    }
    fn visit_f32x4_mul(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fmul(x, y))
    }
    fn visit_f32x4_div(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fdiv(x, y))
    }
    fn visit_f32x4_min(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fmin(x, y))
    }
    fn visit_f32x4_max(&mut self) -> Self::Output {
        self.binop(F32X4, |b, x, y| b.ins().fmax(x, y))
    }
    fn visit_f32x4_pmin(&mut self) -> Self::Output {
        self.pminmax(F32X4, false)
    }
    fn visit_f32x4_pmax(&mut self) -> Self::Output {
        self.pminmax(F32X4, true)
    }

    // ----- f64x2 -----

    fn visit_f64x2_ceil(&mut self) -> Self::Output {
        self.vround(F64X2, Round::Ceil)
    }
    fn visit_f64x2_floor(&mut self) -> Self::Output {
        self.vround(F64X2, Round::Floor)
    }
    fn visit_f64x2_trunc(&mut self) -> Self::Output {
        self.vround(F64X2, Round::Trunc)
    }
    fn visit_f64x2_nearest(&mut self) -> Self::Output {
        self.vround(F64X2, Round::Nearest)
    }
    fn visit_f64x2_abs(&mut self) -> Self::Output {
        self.unop(F64X2, |b, x| b.ins().fabs(x))
    }
    fn visit_f64x2_neg(&mut self) -> Self::Output {
        self.unop(F64X2, |b, x| b.ins().fneg(x))
    }
    fn visit_f64x2_sqrt(&mut self) -> Self::Output {
        self.unop(F64X2, |b, x| b.ins().sqrt(x))
    }
    fn visit_f64x2_add(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fadd(x, y))
    }
    fn visit_f64x2_sub(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fsub(x, y))
    }
    fn visit_f64x2_mul(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fmul(x, y))
    }
    fn visit_f64x2_div(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fdiv(x, y))
    }
    fn visit_f64x2_min(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fmin(x, y))
    }
    fn visit_f64x2_max(&mut self) -> Self::Output {
        self.binop(F64X2, |b, x, y| b.ins().fmax(x, y))
    }
    fn visit_f64x2_pmin(&mut self) -> Self::Output {
        self.pminmax(F64X2, false)
    }
    fn visit_f64x2_pmax(&mut self) -> Self::Output {
        self.pminmax(F64X2, true)
    }

    // ----- conversions -----

    fn visit_i32x4_trunc_sat_f32x4_s(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().fcvt_to_sint_sat(I32X4, x))
    }
    fn visit_i32x4_trunc_sat_f32x4_u(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().fcvt_to_uint_sat(I32X4, x))
    }
    fn visit_f32x4_convert_i32x4_s(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().fcvt_from_sint(F32X4, x))
    }
    fn visit_f32x4_convert_i32x4_u(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| b.ins().fcvt_from_uint(F32X4, x))
    }
    fn visit_i32x4_trunc_sat_f64x2_s_zero(&mut self) -> Self::Output {
        self.trunc_sat_zero(true)
    }
    fn visit_i32x4_trunc_sat_f64x2_u_zero(&mut self) -> Self::Output {
        self.trunc_sat_zero(false)
    }
    fn visit_f64x2_convert_low_i32x4_s(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| {
            let x = b.ins().swiden_low(x);
            b.ins().fcvt_from_sint(F64X2, x)
        })
    }
    fn visit_f64x2_convert_low_i32x4_u(&mut self) -> Self::Output {
        self.unop(I32X4, |b, x| {
            let x = b.ins().uwiden_low(x);
            b.ins().fcvt_from_uint(F64X2, x)
        })
    }
    fn visit_f32x4_demote_f64x2_zero(&mut self) -> Self::Output {
        self.unop(F64X2, |b, x| b.ins().fvdemote(x))
    }
    fn visit_f64x2_promote_low_f32x4(&mut self) -> Self::Output {
        self.unop(F32X4, |b, x| b.ins().fvpromote_low(x))
    }

    // ----- relaxed SIMD: the deterministic profile (see the module doc) -----

    fn visit_i8x16_relaxed_swizzle(&mut self) -> Self::Output {
        self.swizzle()
    }
    fn visit_i32x4_relaxed_trunc_f32x4_s(&mut self) -> Self::Output {
        self.visit_i32x4_trunc_sat_f32x4_s()
    }
    fn visit_i32x4_relaxed_trunc_f32x4_u(&mut self) -> Self::Output {
        self.visit_i32x4_trunc_sat_f32x4_u()
    }
    fn visit_i32x4_relaxed_trunc_f64x2_s_zero(&mut self) -> Self::Output {
        self.trunc_sat_zero(true)
    }
    fn visit_i32x4_relaxed_trunc_f64x2_u_zero(&mut self) -> Self::Output {
        self.trunc_sat_zero(false)
    }
    fn visit_f32x4_relaxed_madd(&mut self) -> Self::Output {
        self.madd(F32X4, false)
    }
    fn visit_f32x4_relaxed_nmadd(&mut self) -> Self::Output {
        self.madd(F32X4, true)
    }
    fn visit_f64x2_relaxed_madd(&mut self) -> Self::Output {
        self.madd(F64X2, false)
    }
    fn visit_f64x2_relaxed_nmadd(&mut self) -> Self::Output {
        self.madd(F64X2, true)
    }
    fn visit_i8x16_relaxed_laneselect(&mut self) -> Self::Output {
        self.bitselect()
    }
    fn visit_i16x8_relaxed_laneselect(&mut self) -> Self::Output {
        self.bitselect()
    }
    fn visit_i32x4_relaxed_laneselect(&mut self) -> Self::Output {
        self.bitselect()
    }
    fn visit_i64x2_relaxed_laneselect(&mut self) -> Self::Output {
        self.bitselect()
    }
    fn visit_f32x4_relaxed_min(&mut self) -> Self::Output {
        self.visit_f32x4_min()
    }
    fn visit_f32x4_relaxed_max(&mut self) -> Self::Output {
        self.visit_f32x4_max()
    }
    fn visit_f64x2_relaxed_min(&mut self) -> Self::Output {
        self.visit_f64x2_min()
    }
    fn visit_f64x2_relaxed_max(&mut self) -> Self::Output {
        self.visit_f64x2_max()
    }
    fn visit_i16x8_relaxed_q15mulr_s(&mut self) -> Self::Output {
        self.visit_i16x8_q15mulr_sat_s()
    }
    fn visit_i16x8_relaxed_dot_i8x16_i7x16_s(&mut self) -> Self::Output {
        if self.reachable {
            let (a, b) = self.vpop2(I8X16);
            let v = self.dot_i8x16(a, b);
            self.vpush(v);
        }
        Ok(())
    }
    fn visit_i32x4_relaxed_dot_i8x16_i7x16_add_s(&mut self) -> Self::Output {
        if self.reachable {
            let c = self.vpop(I32X4);
            let (a, b) = self.vpop2(I8X16);
            let dot = self.dot_i8x16(a, b);
            let low = self.builder.ins().swiden_low(dot);
            let high = self.builder.ins().swiden_high(dot);
            let sums = self.builder.ins().iadd_pairwise(low, high);
            let v = self.builder.ins().iadd(sums, c);
            self.vpush(v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleavings_match_the_x64_backend_constants() {
        let masks: Vec<u128> = interleave_masks().map(u128::from_le_bytes).collect();
        assert_eq!(
            masks,
            [
                0x1707_1606_1505_1404_1303_1202_1101_1000,
                0x1f0f_1e0e_1d0d_1c0c_1b0b_1a0a_1909_1808,
                0x1716_0706_1514_0504_1312_0302_1110_0100,
                0x1f1e_0f0e_1d1c_0d0c_1b1a_0b0a_1918_0908,
                0x17161514_07060504_13121110_03020100,
                0x1f1e1d1c_0f0e0d0c_1b1a1918_0b0a0908,
                0x1716151413121110_0706050403020100,
                0x1f1e1d1c1b1a1918_0f0e0d0c0b0a0908,
            ]
        );
    }

    #[test]
    fn shuffles_that_need_pshufb_are_recognized() {
        let identity: [u8; 16] = std::array::from_fn(|i| i as u8);
        assert!(shuffle_without_pshufb(&identity));
        // pshufd: reverse the 32-bit lanes of `b`.
        let mut m = [0u8; 16];
        for (i, lane) in [7u8, 6, 5, 4].iter().enumerate() {
            for j in 0..4 {
                m[i * 4 + j] = lane * 4 + j as u8;
            }
        }
        assert!(shuffle_without_pshufb(&m));
        // Byte reversal needs pshufb.
        let reversed: [u8; 16] = std::array::from_fn(|i| 15 - i as u8);
        assert!(!shuffle_without_pshufb(&reversed));
        // Broadcast of byte 0 needs pshufb.
        assert!(!shuffle_without_pshufb(&[0; 16]));
    }
}
