//! A small x86-64 encoder: the few instruction forms the baseline compiler
//! emits, on 64-bit general-purpose registers and `[base + index*scale +
//! disp]` operands (Intel SDM vol. 2, chapter 2: REX, ModRM, SIB).

/// A general-purpose register by its hardware number (`rax` = 0 ... `r15` = 15).
pub type Reg = u8;

pub const RAX: Reg = 0;
pub const RCX: Reg = 1;
pub const RDX: Reg = 2;
pub const RBX: Reg = 3;
pub const RSP: Reg = 4;
pub const RBP: Reg = 5;
pub const RSI: Reg = 6;
pub const RDI: Reg = 7;
pub const R8: Reg = 8;
pub const R9: Reg = 9;
pub const R10: Reg = 10;
pub const R11: Reg = 11;
pub const R12: Reg = 12;
pub const R13: Reg = 13;
pub const R14: Reg = 14;
pub const R15: Reg = 15;

/// An SSE register by its number (`xmm0` = 0 ... `xmm15` = 15).
pub type Xmm = u8;

/// The width of a scalar SSE instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Float {
    F32,
    F64,
}

impl Float {
    /// The mandatory prefix of the `ss` (`f3`) and `sd` (`f2`) forms.
    fn prefix(self) -> u8 {
        match self {
            Float::F32 => 0xf3,
            Float::F64 => 0xf2,
        }
    }
}

/// SSE scalar opcodes (`op xmm, xmm/m`, after `0f`).
pub const SQRT: u8 = 0x51;
pub const FADD: u8 = 0x58;
pub const FMUL: u8 = 0x59;
/// `cvtss2sd` with the `ss` prefix, `cvtsd2ss` with the `sd` one.
pub const CVT: u8 = 0x5a;
pub const FSUB: u8 = 0x5c;
pub const FMIN: u8 = 0x5d;
pub const FDIV: u8 = 0x5e;
pub const FMAX: u8 = 0x5f;
/// Packed bitwise opcodes (`andps`, `orps`: all 128 bits).
pub const ANDPS: u8 = 0x54;
pub const ORPS: u8 = 0x56;

/// A condition code, as the low nibble of `jcc`, `setcc` and `cmovcc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    B = 2,
    Ae = 3,
    E = 4,
    Ne = 5,
    Be = 6,
    A = 7,
    /// Parity set: after `ucomiss`/`ucomisd`, unordered (a NaN).
    P = 0xa,
    Np = 0xb,
    L = 0xc,
    Ge = 0xd,
    Le = 0xe,
    G = 0xf,
}

impl Cond {
    /// The condition that holds exactly when `self` does not.
    pub fn invert(self) -> Cond {
        match self {
            Cond::B => Cond::Ae,
            Cond::Ae => Cond::B,
            Cond::E => Cond::Ne,
            Cond::Ne => Cond::E,
            Cond::Be => Cond::A,
            Cond::A => Cond::Be,
            Cond::P => Cond::Np,
            Cond::Np => Cond::P,
            Cond::L => Cond::Ge,
            Cond::Ge => Cond::L,
            Cond::Le => Cond::G,
            Cond::G => Cond::Le,
        }
    }
}

/// A memory operand: `[base + index * 2^scale + disp]`. `index` is never
/// `rsp` (it cannot be encoded as an index).
#[derive(Clone, Copy, Debug)]
pub struct Mem {
    pub base: Reg,
    pub index: Option<(Reg, u8)>,
    pub disp: i32,
}

impl Mem {
    pub fn base(base: Reg, disp: i32) -> Mem {
        Mem {
            base,
            index: None,
            disp,
        }
    }

    pub fn indexed(base: Reg, index: Reg, disp: i32) -> Mem {
        Mem {
            base,
            index: Some((index, 0)),
            disp,
        }
    }
}

/// Operand size of an integer instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    S32,
    S64,
}

/// Code being emitted.
#[derive(Default)]
pub struct Asm {
    pub code: Vec<u8>,
}

impl Asm {
    pub fn offset(&self) -> u32 {
        self.code.len() as u32
    }

    fn byte(&mut self, b: u8) {
        self.code.push(b);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.code.extend_from_slice(b);
    }

    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    /// A REX prefix for `reg` (ModRM.reg), `index` (SIB.index) and `base`
    /// (ModRM.rm or SIB.base); left out when it would be a plain 0x40
    /// unless `force` (byte registers spl..dil need one).
    fn rex(&mut self, w: bool, reg: Reg, index: Reg, base: Reg, force: bool) {
        let rex = 0x40 | (u8::from(w) << 3) | ((reg >> 3) << 2) | ((index >> 3) << 1) | (base >> 3);
        if rex != 0x40 || force {
            self.byte(rex);
        }
    }

    /// ModRM (and SIB and displacement) for `reg` and a memory operand.
    fn modrm_mem(&mut self, reg: Reg, mem: Mem) {
        let (mode, disp8) = if i8::try_from(mem.disp).is_ok() {
            (1u8, true)
        } else {
            (2u8, false)
        };
        match mem.index {
            None if mem.base & 7 != 4 => self.byte((mode << 6) | ((reg & 7) << 3) | (mem.base & 7)),
            None => {
                self.byte((mode << 6) | ((reg & 7) << 3) | 4);
                self.byte((4 << 3) | 4); // no index, base rsp/r12
            }
            Some((index, scale)) => {
                debug_assert!(index != RSP);
                self.byte((mode << 6) | ((reg & 7) << 3) | 4);
                self.byte((scale << 6) | ((index & 7) << 3) | (mem.base & 7));
            }
        }
        if disp8 {
            self.byte(mem.disp as i8 as u8);
        } else {
            self.u32(mem.disp as u32);
        }
    }

    /// `opcode reg, [mem]` (or `[mem], reg`, as the opcode says), with an
    /// optional legacy prefix before the REX byte.
    fn op_mem(&mut self, prefix: Option<u8>, w: bool, opcode: &[u8], reg: Reg, mem: Mem) {
        if let Some(p) = prefix {
            self.byte(p);
        }
        let index = mem.index.map_or(0, |(i, _)| i);
        self.rex(w, reg, index, mem.base, false);
        self.bytes(opcode);
        self.modrm_mem(reg, mem);
    }

    /// `opcode reg, rm` on two registers.
    fn op_rr(&mut self, prefix: Option<u8>, w: bool, opcode: &[u8], reg: Reg, rm: Reg) {
        if let Some(p) = prefix {
            self.byte(p);
        }
        self.rex(w, reg, 0, rm, false);
        self.bytes(opcode);
        self.byte(0xc0 | ((reg & 7) << 3) | (rm & 7));
    }

    /// `mov reg, [mem]`.
    pub fn load(&mut self, size: Size, reg: Reg, mem: Mem) {
        self.op_mem(None, size == Size::S64, &[0x8b], reg, mem);
    }

    /// `mov [mem], reg`.
    pub fn store(&mut self, size: Size, mem: Mem, reg: Reg) {
        self.op_mem(None, size == Size::S64, &[0x89], reg, mem);
    }

    /// `mov byte [mem], reg8` (low byte of `reg`).
    pub fn store8(&mut self, mem: Mem, reg: Reg) {
        let index = mem.index.map_or(0, |(i, _)| i);
        self.rex(false, reg, index, mem.base, reg >= 4);
        self.byte(0x88);
        self.modrm_mem(reg, mem);
    }

    /// `mov word [mem], reg16`.
    pub fn store16(&mut self, mem: Mem, reg: Reg) {
        self.op_mem(Some(0x66), false, &[0x89], reg, mem);
    }

    /// `movzx`/`movsx` of a byte or word at `mem` into `reg`; `size` is
    /// the destination's.
    pub fn load_extend(&mut self, size: Size, reg: Reg, mem: Mem, bits: u8, signed: bool) {
        let opcode = match (bits, signed) {
            (8, false) => [0x0f, 0xb6],
            (8, true) => [0x0f, 0xbe],
            (16, false) => [0x0f, 0xb7],
            _ => [0x0f, 0xbf],
        };
        self.op_mem(None, size == Size::S64, &opcode, reg, mem);
    }

    /// `movsxd reg, dword [mem]`.
    pub fn load_sx32(&mut self, reg: Reg, mem: Mem) {
        self.op_mem(None, true, &[0x63], reg, mem);
    }

    /// `movzx`/`movsx` register to register (`bits` 8 or 16; 32 is
    /// `movsxd`, signed only).
    pub fn extend_rr(&mut self, size: Size, dst: Reg, src: Reg, bits: u8, signed: bool) {
        let w = size == Size::S64;
        match (bits, signed) {
            (32, _) => self.op_rr(None, true, &[0x63], dst, src),
            (8, _) => {
                self.rex(w, dst, 0, src, src >= 4);
                self.bytes(&[0x0f, if signed { 0xbe } else { 0xb6 }]);
                self.byte(0xc0 | ((dst & 7) << 3) | (src & 7));
            }
            _ => self.op_rr(None, w, &[0x0f, if signed { 0xbf } else { 0xb7 }], dst, src),
        }
    }

    /// `mov dword [mem], imm32` (64-bit: sign-extended).
    pub fn store_imm(&mut self, size: Size, mem: Mem, imm: i32) {
        self.op_mem(None, size == Size::S64, &[0xc7], 0, mem);
        self.u32(imm as u32);
    }

    /// `mov reg, imm` (a 64-bit immediate only when needed).
    pub fn mov_imm(&mut self, reg: Reg, imm: i64) {
        if let Ok(v) = u32::try_from(imm) {
            self.rex(false, 0, 0, reg, false);
            self.byte(0xb8 + (reg & 7));
            self.u32(v);
        } else if let Ok(v) = i32::try_from(imm) {
            self.rex(true, 0, 0, reg, false);
            self.byte(0xc7);
            self.byte(0xc0 | (reg & 7));
            self.u32(v as u32);
        } else {
            self.rex(true, 0, 0, reg, false);
            self.byte(0xb8 + (reg & 7));
            self.bytes(&imm.to_le_bytes());
        }
    }

    /// `mov dst, src` (64-bit).
    pub fn mov_rr(&mut self, size: Size, dst: Reg, src: Reg) {
        self.op_rr(None, size == Size::S64, &[0x89], src, dst);
    }

    /// An ALU operation `dst = dst op src`: `op` is the `op r/m, reg`
    /// opcode (add 0x01, or 0x09, and 0x21, sub 0x29, xor 0x31, cmp 0x39).
    pub fn alu_rr(&mut self, size: Size, op: u8, dst: Reg, src: Reg) {
        self.op_rr(None, size == Size::S64, &[op], src, dst);
    }

    /// `cmp reg, [mem]`.
    pub fn cmp_rm(&mut self, size: Size, reg: Reg, mem: Mem) {
        self.op_mem(None, size == Size::S64, &[0x3b], reg, mem);
    }

    /// `cmp reg, imm32` (64-bit: sign-extended).
    pub fn cmp_imm(&mut self, size: Size, reg: Reg, imm: i32) {
        self.rex(size == Size::S64, 0, 0, reg, false);
        self.byte(0x81);
        self.byte(0xc0 | (7 << 3) | (reg & 7));
        self.u32(imm as u32);
    }

    /// `sub qword [mem], 1`.
    pub fn dec_mem64(&mut self, mem: Mem) {
        self.op_mem(None, true, &[0x83], 5, mem);
        self.byte(1);
    }

    /// `test a, b`.
    pub fn test_rr(&mut self, size: Size, a: Reg, b: Reg) {
        self.op_rr(None, size == Size::S64, &[0x85], b, a);
    }

    /// `imul dst, src`.
    pub fn imul_rr(&mut self, size: Size, dst: Reg, src: Reg) {
        self.op_rr(None, size == Size::S64, &[0x0f, 0xaf], dst, src);
    }

    /// Shift or rotate `dst` by `cl`: `ext` is the ModRM extension (rol 0,
    /// ror 1, shl 4, shr 5, sar 7).
    pub fn shift_cl(&mut self, size: Size, ext: u8, dst: Reg) {
        self.op_rr(None, size == Size::S64, &[0xd3], ext, dst);
    }

    /// Shift `dst` right (logical) by an immediate.
    pub fn shr_imm(&mut self, size: Size, dst: Reg, imm: u8) {
        self.shift_imm(size, 5, dst, imm);
    }

    /// A shift or rotate of `dst` by an immediate (`ext` as in
    /// [`Asm::shift_cl`]).
    pub fn shift_imm(&mut self, size: Size, ext: u8, dst: Reg, imm: u8) {
        self.op_rr(None, size == Size::S64, &[0xc1], ext, dst);
        self.byte(imm);
    }

    /// An ALU operation `dst = dst op imm` (64-bit: the immediate
    /// sign-extended): `op` is the `op r/m, reg` opcode as for
    /// [`Asm::alu_rr`], whose group-1 extension is `op >> 3`.
    pub fn alu_ri(&mut self, size: Size, op: u8, dst: Reg, imm: i32) {
        match i8::try_from(imm) {
            Ok(imm8) => {
                self.op_rr(None, size == Size::S64, &[0x83], op >> 3, dst);
                self.byte(imm8 as u8);
            }
            Err(_) => {
                self.op_rr(None, size == Size::S64, &[0x81], op >> 3, dst);
                self.u32(imm as u32);
            }
        }
    }

    /// `cdq` / `cqo`: sign-extend rax into rdx.
    pub fn sign_extend_rax(&mut self, size: Size) {
        self.rex(size == Size::S64, 0, 0, 0, false);
        self.byte(0x99);
    }

    /// `div`/`idiv src`: rdx:rax divided, quotient in rax, remainder in rdx.
    pub fn div(&mut self, size: Size, src: Reg, signed: bool) {
        self.op_rr(
            None,
            size == Size::S64,
            &[0xf7],
            if signed { 7 } else { 6 },
            src,
        );
    }

    /// `setcc reg8`, then `movzx reg32, reg8`.
    pub fn set_bool(&mut self, cond: Cond, reg: Reg) {
        self.rex(false, 0, 0, reg, reg >= 4);
        self.bytes(&[0x0f, 0x90 | cond as u8]);
        self.byte(0xc0 | (reg & 7));
        self.extend_rr(Size::S32, reg, reg, 8, false);
    }

    /// `cmovcc dst, src`.
    pub fn cmov(&mut self, size: Size, cond: Cond, dst: Reg, src: Reg) {
        self.op_rr(
            None,
            size == Size::S64,
            &[0x0f, 0x40 | cond as u8],
            dst,
            src,
        );
    }

    /// `bsr`/`bsf dst, src` (ZF set when `src` is zero, `dst` then undefined).
    pub fn bit_scan(&mut self, size: Size, dst: Reg, src: Reg, reverse: bool) {
        self.op_rr(
            None,
            size == Size::S64,
            &[0x0f, if reverse { 0xbd } else { 0xbc }],
            dst,
            src,
        );
    }

    /// `popcnt dst, src`.
    pub fn popcnt(&mut self, size: Size, dst: Reg, src: Reg) {
        self.byte(0xf3);
        self.op_rr(None, size == Size::S64, &[0x0f, 0xb8], dst, src);
    }

    /// `lea dst, [mem]` (64-bit).
    pub fn lea(&mut self, dst: Reg, mem: Mem) {
        self.op_mem(None, true, &[0x8d], dst, mem);
    }

    /// `lea dst, [rip + disp]`, the displacement to patch at the returned
    /// offset (relative to the end of the instruction, which is that
    /// offset + 4).
    pub fn lea_rip(&mut self, dst: Reg) -> u32 {
        self.rex(true, dst, 0, 0, false);
        self.byte(0x8d);
        self.byte(((dst & 7) << 3) | 5);
        let at = self.offset();
        self.u32(0);
        at
    }

    /// `jmp reg`.
    pub fn jmp_reg(&mut self, reg: Reg) {
        self.op_rr(None, false, &[0xff], 4, reg);
    }

    /// `call reg`.
    pub fn call_reg(&mut self, reg: Reg) {
        self.op_rr(None, false, &[0xff], 2, reg);
    }

    /// `jmp rel32`; returns the offset of the displacement to patch.
    pub fn jmp(&mut self) -> u32 {
        self.byte(0xe9);
        let at = self.offset();
        self.u32(0);
        at
    }

    /// `jcc rel32`; returns the offset of the displacement to patch.
    pub fn jcc(&mut self, cond: Cond) -> u32 {
        self.bytes(&[0x0f, 0x80 | cond as u8]);
        let at = self.offset();
        self.u32(0);
        at
    }

    /// Points the rel32 displacement at `at` to `target`.
    pub fn patch_rel32(&mut self, at: u32, target: u32) {
        let rel = target.wrapping_sub(at + 4) as i32;
        self.code[at as usize..at as usize + 4].copy_from_slice(&rel.to_le_bytes());
    }

    /// Writes `value` at `at` (a placeholder emitted earlier).
    pub fn patch_u32(&mut self, at: u32, value: u32) {
        self.code[at as usize..at as usize + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// A 32-bit placeholder; returns its offset.
    pub fn placeholder(&mut self) -> u32 {
        let at = self.offset();
        self.u32(0);
        at
    }

    pub fn push_rbp(&mut self) {
        self.byte(0x55);
    }

    /// `mov rbp, rsp`.
    pub fn frame_setup(&mut self) {
        self.bytes(&[0x48, 0x89, 0xe5]);
    }

    /// `sub rsp, imm32` with the immediate left to patch; returns its offset.
    pub fn sub_rsp(&mut self) -> u32 {
        self.bytes(&[0x48, 0x81, 0xec]);
        self.placeholder()
    }

    /// `mov rsp, rbp; pop rbp; ret` (`ret imm16` popping `pop` bytes of
    /// stack arguments, as the tail-call convention's callee does).
    pub fn epilogue(&mut self, pop: u16) {
        self.bytes(&[0x48, 0x89, 0xec, 0x5d]);
        if pop == 0 {
            self.byte(0xc3);
        } else {
            self.byte(0xc2);
            self.bytes(&pop.to_le_bytes());
        }
    }

    /// `sub rsp, imm32`.
    pub fn sub_rsp_imm(&mut self, imm: u32) {
        self.bytes(&[0x48, 0x81, 0xec]);
        self.u32(imm);
    }

    /// `movq xmm, r64`.
    pub fn movq_to_xmm(&mut self, dst: Xmm, src: Reg) {
        self.op_rr(Some(0x66), true, &[0x0f, 0x6e], dst, src);
    }

    /// `movq r64, xmm`.
    pub fn movq_from_xmm(&mut self, dst: Reg, src: Xmm) {
        self.op_rr(Some(0x66), true, &[0x0f, 0x7e], src, dst);
    }

    /// `movsd xmm, qword [mem]` (the low 64 bits; the rest zeroed).
    pub fn movsd_load(&mut self, dst: Xmm, mem: Mem) {
        self.op_mem(Some(0xf2), false, &[0x0f, 0x10], dst, mem);
    }

    /// `movsd qword [mem], xmm`.
    pub fn movsd_store(&mut self, mem: Mem, src: Xmm) {
        self.op_mem(Some(0xf2), false, &[0x0f, 0x11], src, mem);
    }

    /// A scalar SSE operation `dst = dst op src` (`op`: [`FADD`] ...).
    pub fn sse_rr(&mut self, ty: Float, op: u8, dst: Xmm, src: Xmm) {
        self.op_rr(Some(ty.prefix()), false, &[0x0f, op], dst, src);
    }

    /// `andps`/`orps dst, src`.
    pub fn packed_rr(&mut self, op: u8, dst: Xmm, src: Xmm) {
        self.op_rr(None, false, &[0x0f, op], dst, src);
    }

    /// `ucomiss`/`ucomisd a, b`: ZF, PF and CF all set when unordered;
    /// else CF for `a < b` and ZF for `a == b`.
    pub fn ucomis(&mut self, ty: Float, a: Xmm, b: Xmm) {
        let prefix = (ty == Float::F64).then_some(0x66);
        self.op_rr(prefix, false, &[0x0f, 0x2e], a, b);
    }

    /// `roundss`/`roundsd dst, src, mode` (SSE4.1; mode 0 nearest even,
    /// 1 down, 2 up, 3 toward zero).
    pub fn round(&mut self, ty: Float, dst: Xmm, src: Xmm, mode: u8) {
        let opcode = if ty == Float::F64 { 0x0b } else { 0x0a };
        self.op_rr(Some(0x66), false, &[0x0f, 0x3a, opcode], dst, src);
        self.byte(mode);
    }

    /// `cvtsi2ss`/`cvtsi2sd dst, src` of a signed `size` integer.
    pub fn int_to_float(&mut self, ty: Float, size: Size, dst: Xmm, src: Reg) {
        self.op_rr(
            Some(ty.prefix()),
            size == Size::S64,
            &[0x0f, 0x2a],
            dst,
            src,
        );
    }

    /// `cvttss2si`/`cvttsd2si dst, src`: truncated to a signed `size`
    /// integer (the minimum when out of range or NaN).
    pub fn float_to_int(&mut self, ty: Float, size: Size, dst: Reg, src: Xmm) {
        self.op_rr(
            Some(ty.prefix()),
            size == Size::S64,
            &[0x0f, 0x2c],
            dst,
            src,
        );
    }

    pub fn ud2(&mut self) {
        self.bytes(&[0x0f, 0x0b]);
    }

    /// `rep stosq`: `rcx` quadwords of `rax` to `[rdi]`.
    pub fn rep_stosq(&mut self) {
        self.bytes(&[0xf3, 0x48, 0xab]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut Asm)) -> Vec<u8> {
        let mut a = Asm::default();
        f(&mut a);
        a.code
    }

    // Expected bytes from GNU as / objdump.
    #[test]
    fn encodings() {
        // mov rax, [rbp-16]
        assert_eq!(
            enc(|a| a.load(Size::S64, RAX, Mem::base(RBP, -16))),
            [0x48, 0x8b, 0x45, 0xf0]
        );
        // mov ecx, [rbp-0x200]
        assert_eq!(
            enc(|a| a.load(Size::S32, RCX, Mem::base(RBP, -0x200))),
            [0x8b, 0x8d, 0x00, 0xfe, 0xff, 0xff]
        );
        // cmp rax, [rdx+0x28]
        assert_eq!(
            enc(|a| a.cmp_rm(Size::S64, RAX, Mem::base(RDX, 0x28))),
            [0x48, 0x3b, 0x42, 0x28]
        );
        // mov [r11+8], r9
        assert_eq!(
            enc(|a| a.store(Size::S64, Mem::base(R11, 8), R9)),
            [0x4d, 0x89, 0x4b, 0x08]
        );
        // mov rax, [rsp+8]
        assert_eq!(
            enc(|a| a.load(Size::S64, RAX, Mem::base(RSP, 8))),
            [0x48, 0x8b, 0x44, 0x24, 0x08]
        );
        // mov eax, [rax+rcx+0x10]
        assert_eq!(
            enc(|a| a.load(Size::S32, RAX, Mem::indexed(RAX, RCX, 0x10))),
            [0x8b, 0x44, 0x08, 0x10]
        );
        // mov [rax+rcx+0], dl
        assert_eq!(
            enc(|a| a.store8(Mem::indexed(RAX, RCX, 0), RDX)),
            [0x88, 0x54, 0x08, 0x00]
        );
        // mov [rax+rcx+0], sil (needs REX)
        assert_eq!(
            enc(|a| a.store8(Mem::indexed(RAX, RCX, 0), RSI)),
            [0x40, 0x88, 0x74, 0x08, 0x00]
        );
        // mov [rax+rcx+4], dx
        assert_eq!(
            enc(|a| a.store16(Mem::indexed(RAX, RCX, 4), RDX)),
            [0x66, 0x89, 0x54, 0x08, 0x04]
        );
        // movzx eax, byte [rax+rcx+1]; movsx rax, word [..]
        assert_eq!(
            enc(|a| a.load_extend(Size::S32, RAX, Mem::indexed(RAX, RCX, 1), 8, false)),
            [0x0f, 0xb6, 0x44, 0x08, 0x01]
        );
        assert_eq!(
            enc(|a| a.load_extend(Size::S64, RAX, Mem::indexed(RAX, RCX, 1), 16, true)),
            [0x48, 0x0f, 0xbf, 0x44, 0x08, 0x01]
        );
        // movsxd rax, dword [rbp-8]
        assert_eq!(
            enc(|a| a.load_sx32(RAX, Mem::base(RBP, -8))),
            [0x48, 0x63, 0x45, 0xf8]
        );
        // mov dword [rbp-8], 7 ; mov qword [rbp-8], -1
        assert_eq!(
            enc(|a| a.store_imm(Size::S32, Mem::base(RBP, -8), 7)),
            [0xc7, 0x45, 0xf8, 7, 0, 0, 0]
        );
        assert_eq!(
            enc(|a| a.store_imm(Size::S64, Mem::base(RBP, -8), -1)),
            [0x48, 0xc7, 0x45, 0xf8, 0xff, 0xff, 0xff, 0xff]
        );
        // mov r9d, 5 ; mov rax, -2 ; movabs rcx, 0x1_0000_0000
        assert_eq!(enc(|a| a.mov_imm(R9, 5)), [0x41, 0xb9, 5, 0, 0, 0]);
        assert_eq!(
            enc(|a| a.mov_imm(RAX, -2)),
            [0x48, 0xc7, 0xc0, 0xfe, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            enc(|a| a.mov_imm(RCX, 1 << 32)),
            [0x48, 0xb9, 0, 0, 0, 0, 1, 0, 0, 0]
        );
        // add eax, ecx ; sub rax, rcx ; cmp r8, r9
        assert_eq!(enc(|a| a.alu_rr(Size::S32, 0x01, RAX, RCX)), [0x01, 0xc8]);
        assert_eq!(
            enc(|a| a.alu_rr(Size::S64, 0x29, RAX, RCX)),
            [0x48, 0x29, 0xc8]
        );
        assert_eq!(
            enc(|a| a.alu_rr(Size::S64, 0x39, R8, R9)),
            [0x4d, 0x39, 0xc8]
        );
        // ret 16 ; sub rsp, 32
        assert_eq!(
            enc(|a| a.epilogue(16)),
            [0x48, 0x89, 0xec, 0x5d, 0xc2, 16, 0]
        );
        assert_eq!(enc(|a| a.sub_rsp_imm(32)), [0x48, 0x81, 0xec, 32, 0, 0, 0]);
        // mov rdi, rsi
        assert_eq!(enc(|a| a.mov_rr(Size::S64, RDI, RSI)), [0x48, 0x89, 0xf7]);
        // cmp ecx, -1
        assert_eq!(
            enc(|a| a.cmp_imm(Size::S32, RCX, -1)),
            [0x81, 0xf9, 0xff, 0xff, 0xff, 0xff]
        );
        // sub qword [rax+0x18], 1
        assert_eq!(
            enc(|a| a.dec_mem64(Mem::base(RAX, 0x18))),
            [0x48, 0x83, 0x68, 0x18, 0x01]
        );
        // imul eax, ecx ; shl rax, cl ; sar eax, cl ; shr rax, 16
        assert_eq!(enc(|a| a.imul_rr(Size::S32, RAX, RCX)), [0x0f, 0xaf, 0xc1]);
        assert_eq!(enc(|a| a.shift_cl(Size::S64, 4, RAX)), [0x48, 0xd3, 0xe0]);
        assert_eq!(enc(|a| a.shift_cl(Size::S32, 7, RAX)), [0xd3, 0xf8]);
        assert_eq!(
            enc(|a| a.shr_imm(Size::S64, RAX, 16)),
            [0x48, 0xc1, 0xe8, 0x10]
        );
        // add eax, 1 ; and rax, 0x1000 (the 0x81 form) ; cmp eax, -1 ; rol eax, 3
        assert_eq!(enc(|a| a.alu_ri(Size::S32, 0x01, RAX, 1)), [0x83, 0xc0, 1]);
        assert_eq!(
            enc(|a| a.alu_ri(Size::S64, 0x21, RAX, 0x1000)),
            [0x48, 0x81, 0xe0, 0, 0x10, 0, 0]
        );
        assert_eq!(
            enc(|a| a.alu_ri(Size::S32, 0x39, RAX, -1)),
            [0x83, 0xf8, 0xff]
        );
        assert_eq!(enc(|a| a.shift_imm(Size::S32, 0, RAX, 3)), [0xc1, 0xc0, 3]);
        // The callee-saved registers: mov rbx, r12 ; mov r13d, eax ;
        // xor r14d, r14d ; mov rax, [r15+rcx+8] ; mov [rbp-16], r15
        assert_eq!(enc(|a| a.mov_rr(Size::S64, RBX, R12)), [0x4c, 0x89, 0xe3]);
        assert_eq!(enc(|a| a.mov_rr(Size::S32, R13, RAX)), [0x41, 0x89, 0xc5]);
        assert_eq!(
            enc(|a| a.alu_rr(Size::S32, 0x31, R14, R14)),
            [0x45, 0x31, 0xf6]
        );
        assert_eq!(
            enc(|a| a.load(Size::S64, RAX, Mem::indexed(R15, RCX, 8))),
            [0x49, 0x8b, 0x44, 0x0f, 0x08]
        );
        assert_eq!(
            enc(|a| a.store(Size::S64, Mem::base(RBP, -16), R15)),
            [0x4c, 0x89, 0x7d, 0xf0]
        );
        for cond in [Cond::B, Cond::E, Cond::Be, Cond::P, Cond::L, Cond::Le] {
            assert_eq!(cond.invert() as u8, cond as u8 | 1);
            assert_eq!(cond.invert().invert(), cond);
        }
        // cqo ; idiv rcx ; div ecx
        assert_eq!(enc(|a| a.sign_extend_rax(Size::S64)), [0x48, 0x99]);
        assert_eq!(enc(|a| a.div(Size::S64, RCX, true)), [0x48, 0xf7, 0xf9]);
        assert_eq!(enc(|a| a.div(Size::S32, RCX, false)), [0xf7, 0xf1]);
        // setl al ; movzx eax, al
        assert_eq!(
            enc(|a| a.set_bool(Cond::L, RAX)),
            [0x0f, 0x9c, 0xc0, 0x0f, 0xb6, 0xc0]
        );
        // cmove rcx, rdx
        assert_eq!(
            enc(|a| a.cmov(Size::S64, Cond::E, RCX, RDX)),
            [0x48, 0x0f, 0x44, 0xca]
        );
        // bsr eax, eax ; bsf rax, rax ; popcnt eax, eax
        assert_eq!(
            enc(|a| a.bit_scan(Size::S32, RAX, RAX, true)),
            [0x0f, 0xbd, 0xc0]
        );
        assert_eq!(
            enc(|a| a.bit_scan(Size::S64, RAX, RAX, false)),
            [0x48, 0x0f, 0xbc, 0xc0]
        );
        assert_eq!(
            enc(|a| a.popcnt(Size::S32, RAX, RAX)),
            [0xf3, 0x0f, 0xb8, 0xc0]
        );
        // movsx eax, al ; movsxd rax, eax ; movzx eax, ax
        assert_eq!(
            enc(|a| a.extend_rr(Size::S32, RAX, RAX, 8, true)),
            [0x0f, 0xbe, 0xc0]
        );
        assert_eq!(
            enc(|a| a.extend_rr(Size::S64, RAX, RAX, 32, true)),
            [0x48, 0x63, 0xc0]
        );
        assert_eq!(
            enc(|a| a.extend_rr(Size::S32, RAX, RAX, 16, false)),
            [0x0f, 0xb7, 0xc0]
        );
        // lea r11, [rsp-0x1000] ; jmp rax ; call rax ; test eax, eax
        assert_eq!(
            enc(|a| a.lea(R11, Mem::base(RSP, -0x1000))),
            [0x4c, 0x8d, 0x9c, 0x24, 0x00, 0xf0, 0xff, 0xff]
        );
        assert_eq!(enc(|a| a.jmp_reg(RAX)), [0xff, 0xe0]);
        assert_eq!(enc(|a| a.call_reg(RAX)), [0xff, 0xd0]);
        assert_eq!(enc(|a| a.test_rr(Size::S32, RAX, RAX)), [0x85, 0xc0]);
        // lea rcx, [rip+0]
        assert_eq!(
            enc(|a| {
                a.lea_rip(RCX);
            }),
            [0x48, 0x8d, 0x0d, 0, 0, 0, 0]
        );
        // mov rax, [rdi+r8*1+0x7fffffff]
        assert_eq!(
            enc(|a| a.load(Size::S64, RAX, Mem::indexed(RDI, R8, 0x7fff_ffff))),
            [0x4a, 0x8b, 0x84, 0x07, 0xff, 0xff, 0xff, 0x7f]
        );
        // movq xmm1, rcx ; movq rax, xmm0 ; movq xmm9, r10
        assert_eq!(
            enc(|a| a.movq_to_xmm(1, RCX)),
            [0x66, 0x48, 0x0f, 0x6e, 0xc9]
        );
        assert_eq!(
            enc(|a| a.movq_from_xmm(RAX, 0)),
            [0x66, 0x48, 0x0f, 0x7e, 0xc0]
        );
        assert_eq!(
            enc(|a| a.movq_to_xmm(9, R10)),
            [0x66, 0x4d, 0x0f, 0x6e, 0xca]
        );
        // movsd xmm2, [rbp-24] ; movsd [rbp-24], xmm7
        assert_eq!(
            enc(|a| a.movsd_load(2, Mem::base(RBP, -24))),
            [0xf2, 0x0f, 0x10, 0x55, 0xe8]
        );
        assert_eq!(
            enc(|a| a.movsd_store(Mem::base(RBP, -24), 7)),
            [0xf2, 0x0f, 0x11, 0x7d, 0xe8]
        );
        // addss xmm0, xmm1 ; divsd xmm0, xmm1 ; sqrtsd xmm0, xmm0 ; cvtss2sd xmm0, xmm0
        assert_eq!(
            enc(|a| a.sse_rr(Float::F32, FADD, 0, 1)),
            [0xf3, 0x0f, 0x58, 0xc1]
        );
        assert_eq!(
            enc(|a| a.sse_rr(Float::F64, FDIV, 0, 1)),
            [0xf2, 0x0f, 0x5e, 0xc1]
        );
        assert_eq!(
            enc(|a| a.sse_rr(Float::F64, SQRT, 0, 0)),
            [0xf2, 0x0f, 0x51, 0xc0]
        );
        assert_eq!(
            enc(|a| a.sse_rr(Float::F32, CVT, 0, 0)),
            [0xf3, 0x0f, 0x5a, 0xc0]
        );
        // orps xmm0, xmm1 ; ucomiss xmm0, xmm1 ; ucomisd xmm1, xmm0
        assert_eq!(enc(|a| a.packed_rr(ORPS, 0, 1)), [0x0f, 0x56, 0xc1]);
        assert_eq!(enc(|a| a.ucomis(Float::F32, 0, 1)), [0x0f, 0x2e, 0xc1]);
        assert_eq!(
            enc(|a| a.ucomis(Float::F64, 1, 0)),
            [0x66, 0x0f, 0x2e, 0xc8]
        );
        // roundsd xmm0, xmm0, 3 ; roundss xmm0, xmm0, 1
        assert_eq!(
            enc(|a| a.round(Float::F64, 0, 0, 3)),
            [0x66, 0x0f, 0x3a, 0x0b, 0xc0, 0x03]
        );
        assert_eq!(
            enc(|a| a.round(Float::F32, 0, 0, 1)),
            [0x66, 0x0f, 0x3a, 0x0a, 0xc0, 0x01]
        );
        // cvtsi2sd xmm0, rax ; cvtsi2ss xmm0, eax ; cvttsd2si eax, xmm0 ; cvttss2si rax, xmm0
        assert_eq!(
            enc(|a| a.int_to_float(Float::F64, Size::S64, 0, RAX)),
            [0xf2, 0x48, 0x0f, 0x2a, 0xc0]
        );
        assert_eq!(
            enc(|a| a.int_to_float(Float::F32, Size::S32, 0, RAX)),
            [0xf3, 0x0f, 0x2a, 0xc0]
        );
        assert_eq!(
            enc(|a| a.float_to_int(Float::F64, Size::S32, RAX, 0)),
            [0xf2, 0x0f, 0x2c, 0xc0]
        );
        assert_eq!(
            enc(|a| a.float_to_int(Float::F32, Size::S64, RAX, 0)),
            [0xf3, 0x48, 0x0f, 0x2c, 0xc0]
        );
        // jp rel32 ; setnp cl
        assert_eq!(
            enc(|a| {
                a.jcc(Cond::P);
            }),
            [0x0f, 0x8a, 0, 0, 0, 0]
        );
        assert_eq!(
            enc(|a| a.set_bool(Cond::Np, RCX)),
            [0x0f, 0x9b, 0xc1, 0x0f, 0xb6, 0xc9]
        );
        // mov eax, [r13+rcx] (r13 base needs a displacement byte)
        assert_eq!(
            enc(|a| a.load(Size::S32, RAX, Mem::indexed(13, RCX, 0))),
            [0x41, 0x8b, 0x44, 0x0d, 0x00]
        );
    }
}
