//! The host functions compiled code calls for operations too big to
//! inline: memory.grow and the bulk memory and table operations.
//!
//! Each takes the calling instance's vmctx and 64-bit arguments and returns
//! a 64-bit result, or nothing (see `hoist_environ::foreach_builtin!`,
//! which lists them). Fallible ones return 0 on success and 1 on failure;
//! the compiled caller then traps with the operation's trap code. Only
//! `raise` unwinds, and it is written in C (`helpers.c`).

use crate::gc::builtins::{
    array_copy, array_init_data, array_init_elem, array_new_data, array_new_elem, gc_alloc,
};
use crate::instance::Instance;
use crate::lazy::lazy_compile;
use crate::vmcontext::VMBuiltinFunctions;
use hoist_environ::{DataIndex, ElemIndex, MemoryIndex, TableIndex};

/// Declares the builtin array from the table, each function cast to its
/// exact signature (vmctx, one `u64` per argument, a `u64` result unless
/// `unit`) so a mismatch between the table and an implementation does not
/// compile.
macro_rules! builtin_array {
    ($( $variant:ident $function:ident ( $($arg:ident),* ) -> $result:ident $( ( $code:ident ) )? ; )*) => {
        /// The builtin array every vmctx points at, in `Builtin` order.
        pub static BUILTINS: VMBuiltinFunctions = VMBuiltinFunctions {
            functions: [
                $( $function as unsafe extern "C" fn(*mut u8 $(, builtin_arg!($arg))*) -> builtin_return!($result) as *const u8, )*
            ],
        };
    };
}

macro_rules! builtin_arg {
    ($arg:ident) => {
        u64
    };
}

macro_rules! builtin_return {
    (unit) => {
        ()
    };
    ($result:ident) => {
        u64
    };
}

hoist_environ::foreach_builtin!(builtin_array);

unsafe extern "C" {
    /// `helpers.c`: after a host function failed, rethrows its error into
    /// wasm if it is an uncaught exception, else unwinds to the innermost
    /// entry (`hoist_catch`); never returns.
    #[link_name = "hoist_raise"]
    fn raise(vmctx: *mut u8) -> u64;
    /// `helpers.c`: throws a new exception of module-local tag `tag` with
    /// the values at `payload` (16-byte slots); never returns.
    #[link_name = "hoist_throw"]
    fn throw(vmctx: *mut u8, tag: u64, payload: u64) -> u64;
    /// `helpers.c`: rethrows the non-null exception `exn`; never returns.
    #[link_name = "hoist_throw_ref"]
    fn throw_ref(vmctx: *mut u8, exn: u64) -> u64;
}

/// `exn_payload(exn, dst)`: copies the payload of live exception `exn` into
/// the 16-byte slots at `dst` (as many as its tag has parameters).
unsafe extern "C" fn exn_payload(vmctx: *mut u8, exn: u64, dst: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: the store context outlives its instances' calls.
    let heap = unsafe { &*(*instance.store_context()).exn_heap.get() };
    if let Some(object) = heap.get(exn) {
        // SAFETY: compiled code passes room for the tag's values, the same
        // tag (validation) whose values the object holds.
        unsafe {
            std::ptr::copy_nonoverlapping(
                object.payload.as_ptr(),
                dst as *mut crate::vmcontext::ValRaw,
                object.payload.len(),
            )
        };
    }
    0
}

/// The instance that owns `vmctx`.
///
/// # Safety
/// `vmctx` must be a live instance's vmctx, as passed by compiled code.
unsafe fn instance<'a>(vmctx: *mut u8) -> &'a mut Instance {
    // SAFETY: per the contract; wasm code running on the instance's behalf
    // has exclusive use of it.
    unsafe { Instance::from_vmctx(vmctx) }
}

fn status<E>(result: Result<(), E>) -> u64 {
    u64::from(result.is_err())
}

unsafe extern "C" fn memory_grow(vmctx: *mut u8, memory: u64, delta: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    instance
        .memory_grow(MemoryIndex::from_u32(memory as u32), delta)
        .unwrap_or(u64::MAX)
}

/// `memory.copy`: compiled code has checked both ranges against their
/// memories' current lengths and passes native addresses (see
/// `hoist_cranelift`'s `bounds_checks::range_check`).
unsafe extern "C" fn memory_copy(_vmctx: *mut u8, dst: u64, src: u64, len: u64) {
    // SAFETY: `[src, src + len)` and `[dst, dst + len)` lie in accessible
    // linear memory (checked by the caller; memories never shrink or
    // move); they may overlap, which `copy` allows.
    unsafe { std::ptr::copy(src as *const u8, dst as *mut u8, len as usize) }
}

/// `memory.fill`, on a range compiled code has checked (as `memory_copy`).
unsafe extern "C" fn memory_fill(_vmctx: *mut u8, dst: u64, value: u64, len: u64) {
    // SAFETY: `[dst, dst + len)` lies in accessible linear memory (checked
    // by the caller).
    unsafe { std::ptr::write_bytes(dst as *mut u8, value as u8, len as usize) }
}

unsafe extern "C" fn memory_init(
    vmctx: *mut u8,
    memory: u64,
    data: u64,
    dst: u64,
    src: u64,
    len: u64,
) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    status(instance.memory_init(
        MemoryIndex::from_u32(memory as u32),
        DataIndex::from_u32(data as u32),
        dst,
        src as u32,
        len as u32,
    ))
}

unsafe extern "C" fn data_drop(vmctx: *mut u8, data: u64) {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe { instance(vmctx) }.data_drop(DataIndex::from_u32(data as u32));
}

unsafe extern "C" fn table_grow(vmctx: *mut u8, table: u64, delta: u64, init: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    let Some(delta) = elements(delta) else {
        return u64::MAX;
    };
    match instance.table_grow(TableIndex::from_u32(table as u32), delta, init as usize) {
        Some(old) => u64::from(old),
        None => u64::MAX,
    }
}

/// A table index or length from compiled code: 64-bit for table64 tables.
/// Tables never hold more than `u32::MAX` elements, so anything larger is
/// out of bounds (`None`).
fn elements(n: u64) -> Option<u32> {
    u32::try_from(n).ok()
}

unsafe extern "C" fn table_fill(vmctx: *mut u8, table: u64, dst: u64, value: u64, len: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    let (Some(dst), Some(len)) = (elements(dst), elements(len)) else {
        return 1;
    };
    status(instance.table_fill(TableIndex::from_u32(table as u32), dst, value as usize, len))
}

unsafe extern "C" fn table_copy(
    vmctx: *mut u8,
    dst_table: u64,
    src_table: u64,
    dst: u64,
    src: u64,
    len: u64,
) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    let (Some(dst), Some(src), Some(len)) = (elements(dst), elements(src), elements(len)) else {
        return 1;
    };
    status(instance.table_copy(
        TableIndex::from_u32(dst_table as u32),
        TableIndex::from_u32(src_table as u32),
        dst,
        src,
        len,
    ))
}

unsafe extern "C" fn table_init(
    vmctx: *mut u8,
    table: u64,
    elem: u64,
    dst: u64,
    src: u64,
    len: u64,
) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    let (Some(dst), Some(src), Some(len)) = (elements(dst), elements(src), elements(len)) else {
        return 1;
    };
    status(instance.table_init(
        TableIndex::from_u32(table as u32),
        ElemIndex::from_u32(elem as u32),
        dst,
        src,
        len,
    ))
}

unsafe extern "C" fn elem_drop(vmctx: *mut u8, elem: u64) {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe { instance(vmctx) }.elem_drop(ElemIndex::from_u32(elem as u32));
}

unsafe extern "C" fn is_subtype(vmctx: *mut u8, actual: u64, expected: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    u64::from(
        instance
            .type_info()
            .is_subtype(actual as u32, expected as u32),
    )
}

/// `exn_tag(exn)`: the address of live exception `exn`'s tag definition.
unsafe extern "C" fn exn_tag(vmctx: *mut u8, exn: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: the store context outlives its instances' calls.
    let heap = unsafe { &*(*instance.store_context()).exn_heap.get() };
    heap.get(exn).map_or(0, |object| object.tag as u64)
}

macro_rules! rounding {
    ($($name:ident: $float:ident::$op:ident, quiet bit $quiet:expr;)*) => {$(
        /// Rounding for CPUs without the instruction; the value travels as
        /// bits. Wasm wants NaN results quiet, which the library functions
        /// do not promise for a signaling NaN input.
        extern "C" fn $name(_vmctx: *mut u8, bits: u64) -> u64 {
            let x = $float::from_bits(bits as _);
            let result = if x.is_nan() { $float::from_bits(x.to_bits() | $quiet) } else { x.$op() };
            u64::from(result.to_bits())
        }
    )*};
}

rounding! {
    ceil_f32: f32::ceil, quiet bit 1 << 22;
    floor_f32: f32::floor, quiet bit 1 << 22;
    trunc_f32: f32::trunc, quiet bit 1 << 22;
    nearest_f32: f32::round_ties_even, quiet bit 1 << 22;
    ceil_f64: f64::ceil, quiet bit 1 << 51;
    floor_f64: f64::floor, quiet bit 1 << 51;
    trunc_f64: f64::trunc, quiet bit 1 << 51;
    nearest_f64: f64::round_ties_even, quiet bit 1 << 51;
}

/// `memory_atomic_notify(address, count)`: see `crate::parking`.
extern "C" fn memory_atomic_notify(_vmctx: *mut u8, address: u64, count: u64) -> u64 {
    crate::parking::notify(address as usize, count as u32)
}

/// `memory_atomic_wait32(address, expected, timeout)`: see `crate::parking`.
unsafe extern "C" fn memory_atomic_wait32(
    _vmctx: *mut u8,
    address: u64,
    expected: u64,
    timeout: u64,
) -> u64 {
    // SAFETY: compiled code passes an address it checked against a shared
    // memory's bounds and alignment (`atomic_address` in the translator)
    // and then loaded from, so a guard-region address trapped in guest code
    // before this call; a shared memory never shrinks, so it stays mapped.
    unsafe { crate::parking::wait32(address as usize, expected as u32, timeout as i64) }
}

/// `memory_atomic_wait64(address, expected, timeout)`: see `crate::parking`.
unsafe extern "C" fn memory_atomic_wait64(
    _vmctx: *mut u8,
    address: u64,
    expected: u64,
    timeout: u64,
) -> u64 {
    // SAFETY: as in `memory_atomic_wait32`, 8-byte aligned.
    unsafe { crate::parking::wait64(address as usize, expected, timeout as i64) }
}
