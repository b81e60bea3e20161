//! The threads proposal's atomic memory operations, on any memory: loads,
//! stores, read-modify-writes and compare-exchanges of 8 to 64 bits
//! (zero-extended when narrow), `atomic.fence`, and `memory.atomic.wait` /
//! `notify`. An access at an address not aligned to its size traps
//! ("unaligned atomic") before the bounds check, as the proposal and
//! wasmtime do.
//!
//! On a shared memory `wait` and `notify` call the runtime's wait queue;
//! on an unshared one `notify` wakes nobody (0) and `wait` traps, since
//! nothing could ever wake it (as the proposal says).

use super::FuncTranslator;
use crate::trap_code;
use cranelift_codegen::ir::{
    self, types::I64, AtomicRmwOp, InstBuilder, MemFlagsData, Type, Value,
};
use hoist_environ::{Builtin, MemoryIndex, TrapCode, WasmResult};
use wasmparser::MemArg;

impl FuncTranslator<'_, '_> {
    /// Pops the index; returns the checked, aligned native address.
    fn atomic_address(&mut self, memarg: &MemArg, size: u8) -> (Value, MemFlagsData) {
        let index = self.pop();
        let memory = match memarg.target {
            wasmparser::MemArgTarget::Memory(index) => MemoryIndex::from_u32(index),
            wasmparser::MemArgTarget::Array(_) => unreachable!("validated: memory atomics"),
        };
        if size > 1 {
            let wide = self.env.to_i64(&mut self.builder, index);
            let effective = self.builder.ins().iadd_imm_u(wide, memarg.offset as i64);
            let misaligned = self
                .builder
                .ins()
                .band_imm_u(effective, i64::from(size) - 1);
            self.builder
                .ins()
                .trapnz(misaligned, trap_code(TrapCode::UnalignedAtomic));
        }
        self.env
            .memory_address(&mut self.builder, memory, index, memarg.offset, size)
    }

    /// `ty.atomic.load{size}`: zero-extended to `ty`.
    pub(crate) fn atomic_load(&mut self, memarg: MemArg, ty: Type, access: Type) -> WasmResult<()> {
        if self.reachable {
            let (address, flags) = self.atomic_address(&memarg, access.bytes() as u8);
            let v = self.builder.ins().atomic_load(access, flags, address);
            let v = if access == ty {
                v
            } else {
                self.builder.ins().uextend(ty, v)
            };
            self.push(v);
        }
        Ok(())
    }

    /// `ty.atomic.store{size}`: the low bits of the value.
    pub(crate) fn atomic_store(
        &mut self,
        memarg: MemArg,
        ty: Type,
        access: Type,
    ) -> WasmResult<()> {
        if self.reachable {
            let value = self.pop();
            let (address, flags) = self.atomic_address(&memarg, access.bytes() as u8);
            let value = if access == ty {
                value
            } else {
                self.builder.ins().ireduce(access, value)
            };
            self.builder.ins().atomic_store(flags, value, address);
        }
        Ok(())
    }

    /// `ty.atomic.rmw{size}.op`: the old value, zero-extended.
    pub(crate) fn atomic_rmw(
        &mut self,
        memarg: MemArg,
        ty: Type,
        access: Type,
        op: AtomicRmwOp,
    ) -> WasmResult<()> {
        if self.reachable {
            let value = self.pop();
            let (address, flags) = self.atomic_address(&memarg, access.bytes() as u8);
            let value = if access == ty {
                value
            } else {
                self.builder.ins().ireduce(access, value)
            };
            let old = self
                .builder
                .ins()
                .atomic_rmw(access, flags, op, address, value);
            let old = if access == ty {
                old
            } else {
                self.builder.ins().uextend(ty, old)
            };
            self.push(old);
        }
        Ok(())
    }

    /// `ty.atomic.rmw{size}.cmpxchg`: the old value, zero-extended.
    pub(crate) fn atomic_cmpxchg(
        &mut self,
        memarg: MemArg,
        ty: Type,
        access: Type,
    ) -> WasmResult<()> {
        if self.reachable {
            let (expected, replacement) = self.pop2();
            let (address, flags) = self.atomic_address(&memarg, access.bytes() as u8);
            let narrow = |this: &mut Self, v| {
                if access == ty {
                    v
                } else {
                    this.builder.ins().ireduce(access, v)
                }
            };
            let expected = narrow(self, expected);
            let replacement = narrow(self, replacement);
            let old = self
                .builder
                .ins()
                .atomic_cas(flags, address, expected, replacement);
            let old = if access == ty {
                old
            } else {
                self.builder.ins().uextend(ty, old)
            };
            self.push(old);
        }
        Ok(())
    }

    fn memarg_shared(&self, memarg: &MemArg) -> bool {
        match memarg.target {
            wasmparser::MemArgTarget::Memory(index) => {
                self.env.module.memories[MemoryIndex::from_u32(index)].shared
            }
            wasmparser::MemArgTarget::Array(_) => false,
        }
    }

    /// `memory.atomic.notify`: the runtime's wait queue on a shared memory;
    /// wakes nobody on an unshared one.
    pub(crate) fn atomic_notify(&mut self, memarg: MemArg) -> WasmResult<()> {
        if self.reachable {
            let count = self.pop();
            let (address, flags) = self.atomic_address(&memarg, 4);
            // Touched here, so an address in the guard region faults in
            // guest code (a trap), never in the builtin (a host crash).
            self.builder.ins().load(ir::types::I32, flags, address, 0);
            let woken = if self.memarg_shared(&memarg) {
                let woken = self.env.call_builtin(
                    &mut self.builder,
                    Builtin::MemoryAtomicNotify,
                    &[address, count],
                );
                self.builder.ins().ireduce(ir::types::I32, woken)
            } else {
                self.builder.ins().iconst(ir::types::I32, 0)
            };
            self.push(woken);
        }
        Ok(())
    }

    /// `memory.atomic.wait32/64`: the runtime's wait queue on a shared
    /// memory; traps on an unshared one, after the address is checked.
    pub(crate) fn atomic_wait(&mut self, memarg: MemArg, size: u8) -> WasmResult<()> {
        if self.reachable {
            let timeout = self.pop();
            let expected = self.pop();
            let (address, flags) = self.atomic_address(&memarg, size);
            // As in `atomic_notify`: the guard region faults here, in guest
            // code, not in the builtin.
            let ty = if size == 8 { I64 } else { ir::types::I32 };
            self.builder.ins().load(ty, flags, address, 0);
            if self.memarg_shared(&memarg) {
                let builtin = if size == 8 {
                    Builtin::MemoryAtomicWait64
                } else {
                    Builtin::MemoryAtomicWait32
                };
                let result = self.env.call_builtin(
                    &mut self.builder,
                    builtin,
                    &[address, expected, timeout],
                );
                let result = self.builder.ins().ireduce(ir::types::I32, result);
                self.push(result);
            } else {
                self.builder
                    .ins()
                    .trap(trap_code(TrapCode::AtomicWaitNonSharedMemory));
                self.reachable = false;
            }
        }
        Ok(())
    }

    pub(crate) fn atomic_fence(&mut self) -> WasmResult<()> {
        if self.reachable {
            self.builder.ins().fence();
        }
        Ok(())
    }
}
