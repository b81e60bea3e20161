//! Bounds checks for linear memory accesses.
//!
//! SECURITY: this file decides whether a guest can read or write outside
//! its linear memory. Change it only with a second reviewer and a test.
//!
//! The case ladder, for an access of `size` bytes at `index + offset`:
//!
//! 1. 32-bit memory with 64 KiB pages, and `offset + size <= guard`: emit
//!    no check. The
//!    runtime reserves `reservation` (4 GiB) plus `guard` bytes of address
//!    space for the memory, with only the first `current_length` bytes
//!    accessible. `index < 2^32 <= reservation`, so `base + index + offset`
//!    is below `base + reservation + guard`: any out-of-bounds access lands
//!    on an inaccessible page and faults; the fault's trap record maps it to
//!    "out of bounds memory access".
//! 2. Otherwise compare explicitly: `index + offset + size > current_length`
//!    is out of bounds. `index` is zero-extended to 64 bits and `offset +
//!    size <= 2^32 + 8`, so the sum cannot overflow. With Spectre
//!    mitigation, the address becomes null when out of bounds
//!    (`select_spectre_guard`) so even a speculated access cannot read out
//!    of bounds, and the access itself faults on the null page; the access
//!    carries the out-of-bounds trap code.
//!
//! 64-bit memories always take case 2 with an overflow-checked add: guard
//! pages cannot cover a 64-bit index. So do memories with pages smaller
//! than the OS page (custom-page-sizes): their accessible region is rounded
//! up to OS pages, so a fault would come too late.
//!
//! Ranges of bulk operations (`memory.copy`, `memory.fill`: [`range_check`])
//! are as long as the guest says, so no guard page covers them: they are
//! always compared, and trap before anything is written.

use crate::trap_code;
use cranelift_codegen::ir::{self, condcodes::IntCC, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use hoist_environ::{TrapCode, Tunables, VMOffsets};

/// What the bounds check needs to know about one memory in one function.
#[derive(Clone, Copy, Debug)]
pub struct HeapInfo {
    /// Pointer to the memory's `VMMemoryDefinition`.
    pub definition: Value,
    /// The memory's base address (never moves).
    pub base: Value,
    pub memory64: bool,
    /// log2 of the wasm page size (16 unless custom-page-sizes).
    pub page_size_log2: u8,
    /// Flags for the wasm loads and stores of this memory.
    pub access_flags: ir::MemFlagsData,
    /// Flags for loads of the definition's length.
    pub length_flags: ir::MemFlagsData,
}

/// Returns the native address for the access, after whatever check the
/// ladder above requires.
#[allow(clippy::too_many_arguments)]
pub fn bounds_check(
    builder: &mut FunctionBuilder,
    heap: &HeapInfo,
    tunables: &Tunables,
    offsets: &VMOffsets,
    pointer_type: Type,
    index: Value,
    offset: u64,
    access_size: u8,
) -> Value {
    let end_offset = offset.saturating_add(u64::from(access_size));
    let index = if heap.memory64 {
        index
    } else {
        builder.ins().uextend(pointer_type, index)
    };

    // Case 1: guard pages catch every out-of-bounds access.
    if !heap.memory64
        && heap.page_size_log2 == 16
        && tunables.memory_reservation >= (1 << 32)
        && end_offset <= tunables.memory_guard_size
    {
        let address = builder.ins().iadd(heap.base, index);
        return add_offset(builder, address, offset);
    }

    // Case 2: explicit comparison against the current length.
    let length = builder.ins().load(
        pointer_type,
        heap.length_flags,
        heap.definition,
        offsets.memory_current_length() as i32,
    );
    let end = if heap.memory64 {
        let size = builder.ins().iconst(pointer_type, end_offset as i64);
        builder
            .ins()
            .uadd_overflow_trap(index, size, trap_code(TrapCode::MemoryOutOfBounds))
    } else {
        builder.ins().iadd_imm_u(index, end_offset as i64)
    };
    let oob = builder.ins().icmp(IntCC::UnsignedGreaterThan, end, length);
    let address = builder.ins().iadd(heap.base, index);
    let address = add_offset(builder, address, offset);
    let null = builder.ins().iconst(pointer_type, 0);
    builder.ins().select_spectre_guard(oob, null, address)
}

/// The native address of the `len` bytes at `index`, for a bulk memory
/// operation, after trapping with an out-of-bounds access unless `index +
/// len <= current_length` (without wrapping). `index` and `len` are i32 or
/// i64 (a 64-bit memory's, or the narrower of a copy's two memories'
/// index types for `len`). With Spectre mitigation, the address is null
/// when out of bounds, wrapping included, so even a speculated call past
/// the trap reaches no memory outside.
pub fn range_check(
    builder: &mut FunctionBuilder,
    heap: &HeapInfo,
    offsets: &VMOffsets,
    pointer_type: Type,
    index: Value,
    len: Value,
) -> Value {
    let wide = |builder: &mut FunctionBuilder, value: Value| {
        if builder.func.dfg.value_type(value) == pointer_type {
            (value, true)
        } else {
            (builder.ins().uextend(pointer_type, value), false)
        }
    };
    let (index, index_wide) = wide(builder, index);
    let (len, len_wide) = wide(builder, len);
    let length = builder.ins().load(
        pointer_type,
        heap.length_flags,
        heap.definition,
        offsets.memory_current_length() as i32,
    );
    // Two zero-extended 32-bit values cannot wrap; a 64-bit one can, and
    // the wrap counts as out of bounds for the Spectre guard too.
    let oob = if index_wide || len_wide {
        let (end, wrapped) = builder.ins().uadd_overflow(index, len);
        let past = builder.ins().icmp(IntCC::UnsignedGreaterThan, end, length);
        builder.ins().bor(past, wrapped)
    } else {
        let end = builder.ins().iadd(index, len);
        builder.ins().icmp(IntCC::UnsignedGreaterThan, end, length)
    };
    builder
        .ins()
        .trapnz(oob, trap_code(TrapCode::MemoryOutOfBounds));
    let address = builder.ins().iadd(heap.base, index);
    let null = builder.ins().iconst(pointer_type, 0);
    builder.ins().select_spectre_guard(oob, null, address)
}

fn add_offset(builder: &mut FunctionBuilder, address: Value, offset: u64) -> Value {
    if offset == 0 {
        address
    } else {
        builder.ins().iadd_imm_u(address, offset as i64)
    }
}
