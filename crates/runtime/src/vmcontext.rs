//! The structures compiled code reads and writes at fixed offsets.
//!
//! Their layout is a contract with the compiler: `hoist_environ::VMOffsets`
//! computes the same offsets, and the tests at the bottom check that the two
//! agree.

use hoist_environ::Builtin;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Where a store's GC roots outside wasm stacks are: a function that calls
/// its second argument with every word of every global and table slot of
/// the store identified by the first.
pub type GcRootsFn = unsafe fn(*mut u8, &mut dyn FnMut(u64));

/// Per-store state shared by all instances of a store. Compiled code reads
/// the first eight fields; the rest is the runtime's.
#[repr(C)]
pub struct VMStoreContext {
    /// Compiled prologues trap with "call stack exhausted" when the stack
    /// pointer goes below this.
    pub stack_limit: UnsafeCell<usize>,
    /// The engine's epoch counter, which a timer (or a signal) advances.
    pub epoch_counter: *const std::sync::atomic::AtomicU64,
    /// Code compiled with epoch checks traps ("interrupt") once the
    /// counter reaches this.
    pub epoch_deadline: UnsafeCell<u64>,
    /// Code compiled with fuel metering adds each operator's cost here and
    /// traps ("all fuel consumed") once it is above zero; a store given N
    /// units of fuel starts at -N.
    pub fuel_consumed: UnsafeCell<i64>,
    /// The GC heap's reservation (objects are offsets from it); null until
    /// the store allocates its first object.
    pub gc_heap_base: UnsafeCell<*mut u8>,
    /// Where the next GC object goes (a heap offset): compiled code bumps
    /// it inline.
    pub gc_next: UnsafeCell<u64>,
    /// An allocation that would end past this takes the slow path (the
    /// `gc_alloc` builtin).
    pub gc_limit: UnsafeCell<u64>,
    /// The store's type table, by engine type id (see `crate::gc::types`).
    pub gc_types: UnsafeCell<*const crate::gc::types::VMGcTypeEntry>,
    /// Prologues of single-pass (baseline-tier) code trap with "call stack
    /// exhausted" when the stack pointer goes below this: `stack_limit`'s
    /// budget times [`crate::BASELINE_STACK_FACTOR`], so that their bigger
    /// frames fit about as deep a recursion.
    pub baseline_stack_limit: UnsafeCell<usize>,
    /// The same for a lazily compiled module's first-call code from
    /// Cranelift without optimizations: the budget times
    /// [`crate::UNOPTIMIZED_STACK_FACTOR`].
    pub unoptimized_stack_limit: UnsafeCell<usize>,
    /// How many calls into wasm of this store are active on its thread.
    pub entry_depth: std::cell::Cell<u32>,
    /// The store's exception objects.
    pub exn_heap: UnsafeCell<crate::exn::ExnHeap>,
    /// The store's roots outside wasm stacks, and the store to pass.
    pub gc_roots: std::cell::Cell<Option<(GcRootsFn, *mut u8)>>,
    /// The GC heap and what its collector needs (the GC proposal).
    pub gc: UnsafeCell<crate::gc::GcStore>,
}

// SAFETY: the context moves between threads only with its store, which one
// thread uses at a time; the epoch counter it points at is an atomic that
// outlives it (a static or the engine's).
unsafe impl Send for VMStoreContext {}

/// An epoch counter that never moves, for stores whose engine has none.
static NO_EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Default for VMStoreContext {
    fn default() -> Self {
        VMStoreContext {
            stack_limit: UnsafeCell::new(0),
            epoch_counter: &NO_EPOCH,
            epoch_deadline: UnsafeCell::new(u64::MAX),
            fuel_consumed: UnsafeCell::new(0),
            gc_heap_base: UnsafeCell::new(std::ptr::null_mut()),
            gc_next: UnsafeCell::new(0),
            gc_limit: UnsafeCell::new(0),
            gc_types: UnsafeCell::new(std::ptr::null()),
            baseline_stack_limit: UnsafeCell::new(0),
            unoptimized_stack_limit: UnsafeCell::new(0),
            entry_depth: Default::default(),
            exn_heap: Default::default(),
            gc_roots: Default::default(),
            gc: Default::default(),
        }
    }
}

impl std::fmt::Debug for VMStoreContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VMStoreContext").finish_non_exhaustive()
    }
}

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    pub base: *mut u8,
    pub current_length: usize,
}

/// A table as compiled code sees it: `current_elements` pointer-sized slots.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    pub base: *mut usize,
    pub current_elements: u32,
}

/// Storage for one global value of any type (up to v128).
#[repr(C, align(16))]
#[derive(Debug, Default, Clone, Copy)]
pub struct VMGlobalDefinition {
    pub storage: [u8; 16],
}

impl VMGlobalDefinition {
    pub fn from_raw(raw: ValRaw) -> Self {
        VMGlobalDefinition {
            storage: raw.0.to_le_bytes(),
        }
    }

    pub fn to_raw(&self) -> ValRaw {
        ValRaw(u128::from_le_bytes(self.storage))
    }
}

/// A function reference: what `ref.func`, tables and imports hold.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Code with the wasm calling convention.
    pub wasm_call: *const u8,
    /// Code with the array calling convention (see `hoist_cranelift` trampolines).
    pub array_call: *const u8,
    /// The callee's vmctx (an instance's `VMContext` or a `VMHostFunc`).
    pub vmctx: *mut u8,
    /// Engine-wide id of the function's signature.
    pub type_id: u32,
}

impl VMFuncRef {
    pub const NULL: VMFuncRef = VMFuncRef {
        wasm_call: std::ptr::null(),
        array_call: std::ptr::null(),
        vmctx: std::ptr::null_mut(),
        type_id: u32::MAX,
    };

    /// The `wasm_call` field of the funcref at `funcref`, for atomic
    /// access: other threads may store to it at any time (a lazily compiled
    /// function's first call, a switch to a full compile), so every read
    /// that may race with that, and every such write, goes through here.
    ///
    /// # Safety
    /// `funcref` points to a funcref that stays live for `'a`.
    pub unsafe fn wasm_call_slot<'a>(funcref: *const VMFuncRef) -> &'a AtomicPtr<u8> {
        // SAFETY: per the contract the field is live for `'a`; it is an
        // aligned pointer, which has the layout of an `AtomicPtr`.
        unsafe { AtomicPtr::from_ptr(std::ptr::addr_of!((*funcref).wasm_call) as *mut *mut u8) }
    }

    /// A copy of the funcref at `funcref`, `wasm_call` read atomically (see
    /// [`VMFuncRef::wasm_call_slot`]); the other fields never change once
    /// the funcref is made.
    ///
    /// # Safety
    /// `funcref` points to a live, initialized funcref.
    pub unsafe fn load(funcref: *const VMFuncRef) -> VMFuncRef {
        // SAFETY: per the contract.
        unsafe {
            VMFuncRef {
                wasm_call: Self::wasm_call_slot(funcref).load(Ordering::Acquire),
                array_call: (*funcref).array_call,
                vmctx: (*funcref).vmctx,
                type_id: (*funcref).type_id,
            }
        }
    }
}

/// A tag (the exception-handling proposal). Its address is its identity:
/// two tags are the same tag exactly when they are the same definition,
/// however often they are imported and exported.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VMTagDefinition {
    /// Engine-wide id of the tag's function type.
    pub type_id: u32,
}

/// One slot of the host's value array: any wasm value, little-endian.
#[repr(C, align(16))]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ValRaw(pub u128);

impl ValRaw {
    pub fn i32(v: i32) -> Self {
        ValRaw(u128::from(v as u32))
    }
    pub fn i64(v: i64) -> Self {
        ValRaw(u128::from(v as u64))
    }
    pub fn get_u32(self) -> u32 {
        self.0 as u32
    }
    pub fn get_u64(self) -> u64 {
        self.0 as u64
    }
}

/// The fixed header of every `VMContext`; the arrays follow it.
#[repr(C)]
#[derive(Debug)]
pub struct VMContextHeader {
    pub magic: u32,
    pub instance: *mut crate::Instance,
    pub store_context: *mut VMStoreContext,
    pub builtins: *const VMBuiltinFunctions,
    /// One counter per defined function, counted down by lazily compiled
    /// baseline code (see `LazyFunctions::hotness_counters`); null when
    /// the module is compiled whole.
    pub hotness_counters: *mut i64,
}

/// Opaque type of a `VMContext` pointer.
pub enum VMContext {}

/// The array of builtin function pointers, in [`Builtin`] order.
#[repr(C)]
pub struct VMBuiltinFunctions {
    pub functions: [*const u8; Builtin::COUNT],
}

// SAFETY: the array only holds addresses of `extern "C"` functions, which
// are immutable and valid on every thread.
unsafe impl Sync for VMBuiltinFunctions {}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_environ::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_vmoffsets() {
        let module = Module::default();
        let offsets = VMOffsets::new(size_of::<usize>() as u8, &module);
        assert_eq!(
            offsets.vmctx_magic() as usize,
            offset_of!(VMContextHeader, magic)
        );
        assert_eq!(
            offsets.vmctx_instance() as usize,
            offset_of!(VMContextHeader, instance)
        );
        assert_eq!(
            offsets.vmctx_store_context() as usize,
            offset_of!(VMContextHeader, store_context)
        );
        assert_eq!(
            offsets.vmctx_builtins() as usize,
            offset_of!(VMContextHeader, builtins)
        );
        assert_eq!(
            offsets.vmctx_hotness_counters() as usize,
            offset_of!(VMContextHeader, hotness_counters)
        );
        assert_eq!(
            offsets.vmctx_header_size() as usize,
            size_of::<VMContextHeader>()
        );
        assert_eq!(
            offsets.store_context_stack_limit() as usize,
            offset_of!(VMStoreContext, stack_limit)
        );
        assert_eq!(
            offsets.store_context_epoch_counter() as usize,
            offset_of!(VMStoreContext, epoch_counter)
        );
        assert_eq!(
            offsets.store_context_epoch_deadline() as usize,
            offset_of!(VMStoreContext, epoch_deadline)
        );
        assert_eq!(
            offsets.store_context_fuel_consumed() as usize,
            offset_of!(VMStoreContext, fuel_consumed)
        );
        assert_eq!(
            offsets.store_context_gc_heap_base() as usize,
            offset_of!(VMStoreContext, gc_heap_base)
        );
        assert_eq!(
            offsets.store_context_gc_next() as usize,
            offset_of!(VMStoreContext, gc_next)
        );
        assert_eq!(
            offsets.store_context_gc_limit() as usize,
            offset_of!(VMStoreContext, gc_limit)
        );
        assert_eq!(
            offsets.store_context_gc_types() as usize,
            offset_of!(VMStoreContext, gc_types)
        );
        assert_eq!(
            offsets.store_context_baseline_stack_limit() as usize,
            offset_of!(VMStoreContext, baseline_stack_limit)
        );
        assert_eq!(
            offsets.store_context_unoptimized_stack_limit() as usize,
            offset_of!(VMStoreContext, unoptimized_stack_limit)
        );
        use crate::gc::types::VMGcTypeEntry;
        assert_eq!(
            offsets.gc_type_entry_display() as usize,
            offset_of!(VMGcTypeEntry, display)
        );
        assert_eq!(
            offsets.gc_type_entry_depth() as usize,
            offset_of!(VMGcTypeEntry, depth)
        );
        assert_eq!(
            offsets.size_of_gc_type_entry() as usize,
            size_of::<VMGcTypeEntry>()
        );
        assert_eq!(
            offsets.memory_base() as usize,
            offset_of!(VMMemoryDefinition, base)
        );
        assert_eq!(
            offsets.memory_current_length() as usize,
            offset_of!(VMMemoryDefinition, current_length)
        );
        assert_eq!(
            offsets.table_base() as usize,
            offset_of!(VMTableDefinition, base)
        );
        assert_eq!(
            offsets.table_current_elements() as usize,
            offset_of!(VMTableDefinition, current_elements)
        );
        assert_eq!(
            offsets.funcref_wasm_call() as usize,
            offset_of!(VMFuncRef, wasm_call)
        );
        assert_eq!(
            offsets.funcref_array_call() as usize,
            offset_of!(VMFuncRef, array_call)
        );
        assert_eq!(
            offsets.funcref_vmctx() as usize,
            offset_of!(VMFuncRef, vmctx)
        );
        assert_eq!(
            offsets.funcref_type_id() as usize,
            offset_of!(VMFuncRef, type_id)
        );
        assert_eq!(offsets.size_of_vmfuncref() as usize, size_of::<VMFuncRef>());
        assert_eq!(size_of::<VMGlobalDefinition>(), 16);
        assert_eq!(size_of::<ValRaw>(), VALUE_SLOT_SIZE as usize);
        assert_eq!(
            offsets.vmctx_header_size() as usize,
            size_of::<VMContextHeader>()
        );
        assert_eq!(
            size_of::<VMBuiltinFunctions>(),
            Builtin::COUNT * size_of::<usize>()
        );
        // The arrays start right after the header.
        let ty = TypeIndex::from_u32(0);
        let mut one_type = Module::default();
        one_type
            .types
            .push(WasmSubType::func(WasmFuncType::default()));
        let offsets = VMOffsets::new(size_of::<usize>() as u8, &one_type);
        assert_eq!(
            offsets.vmctx_type_id(ty) as usize,
            size_of::<VMContextHeader>()
        );
    }
}
