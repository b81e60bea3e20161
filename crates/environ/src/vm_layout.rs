//! The layout of the VM structures that is the same in every module: what
//! compiled code and the runtime agree on besides the per-module vmctx
//! ([`crate::VMOffsets`]). The runtime's `#[repr(C)]` structs are checked
//! against these numbers by an `offset_of!` test.
//!
//! ```text
//! VMContext header    { magic: u32, instance, store_context, builtins }
//! VMStoreContext      { stack_limit: usize, epoch_counter: *const u64,
//!                       epoch_deadline: u64, fuel_consumed: i64,
//!                       gc_heap_base: *mut u8, gc_next: u64, gc_limit: u64,
//!                       gc_types: *const VMGcTypeEntry,
//!                       baseline_stack_limit: usize,
//!                       unoptimized_stack_limit: usize, ... }
//! VMGcTypeEntry       { display: *const u32, depth: u32, (pad) }
//! VMMemoryDefinition  { base: *mut u8, current_length: usize }
//! VMTableDefinition   { base: *mut usize, current_elements: u32 }
//! VMGlobalDefinition  { storage: [u8; 16] }
//! VMFuncRef           { wasm_call, array_call, vmctx, type_id: u32 }
//! VMTagDefinition     { type_id: u32 }  (its address is the tag's identity)
//! value array slot    16 bytes (ValRaw), arguments then results
//! ```

/// Bytes per slot of the value arrays through which the host passes
/// arguments and results (any wasm value fits in 16 bytes).
pub const VALUE_SLOT_SIZE: u32 = 16;

/// Offsets in the fixed VM structures, for a target's pointer size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VMLayout {
    /// Pointer size in bytes.
    pub ptr: u8,
}

impl VMLayout {
    pub fn new(ptr: u8) -> Self {
        VMLayout { ptr }
    }

    pub(crate) fn p(&self) -> u32 {
        u32::from(self.ptr)
    }

    // --- the VMContext header, before the per-module arrays ---
    pub fn vmctx_magic(&self) -> u32 {
        0
    }
    pub fn vmctx_instance(&self) -> u32 {
        self.p()
    }
    pub fn vmctx_store_context(&self) -> u32 {
        2 * self.p()
    }
    pub fn vmctx_builtins(&self) -> u32 {
        3 * self.p()
    }
    /// The module's hotness counters (lazy compilation's tier-up: one `i64`
    /// per defined function; null for a module compiled whole).
    pub fn vmctx_hotness_counters(&self) -> u32 {
        4 * self.p()
    }
    /// Where the per-module arrays start.
    pub fn vmctx_header_size(&self) -> u32 {
        5 * self.p()
    }

    // --- VMStoreContext ---
    pub fn store_context_stack_limit(&self) -> u32 {
        0
    }
    /// Pointer to the engine's epoch counter (a `u64` another thread bumps).
    pub fn store_context_epoch_counter(&self) -> u32 {
        self.p()
    }
    /// The epoch at which compiled code stops (interrupt).
    pub fn store_context_epoch_deadline(&self) -> u32 {
        2 * self.p()
    }
    /// Fuel spent minus fuel given: compiled code traps once it is above 0.
    pub fn store_context_fuel_consumed(&self) -> u32 {
        2 * self.p() + 8
    }
    /// The GC heap's base: object references are offsets from it.
    pub fn store_context_gc_heap_base(&self) -> u32 {
        2 * self.p() + 16
    }
    /// The GC bump pointer (a heap offset, u64).
    pub fn store_context_gc_next(&self) -> u32 {
        3 * self.p() + 16
    }
    /// The GC allocation limit (a heap offset, u64).
    pub fn store_context_gc_limit(&self) -> u32 {
        3 * self.p() + 24
    }
    /// The store's `VMGcTypeEntry` table, indexed by engine type id.
    pub fn store_context_gc_types(&self) -> u32 {
        3 * self.p() + 32
    }
    /// The stack limit of single-pass (baseline-tier) code: further down
    /// than `stack_limit`, as its frames are bigger (see the runtime's
    /// `BASELINE_STACK_FACTOR`).
    pub fn store_context_baseline_stack_limit(&self) -> u32 {
        4 * self.p() + 32
    }
    /// The stack limit of a lazily compiled module's first-call code from
    /// Cranelift without optimizations (see the runtime's
    /// `UNOPTIMIZED_STACK_FACTOR`).
    pub fn store_context_unoptimized_stack_limit(&self) -> u32 {
        5 * self.p() + 32
    }

    // --- VMGcTypeEntry ---
    /// The type's supertype display: engine ids from the root to itself.
    pub fn gc_type_entry_display(&self) -> u32 {
        0
    }
    /// The display's length minus one (u32).
    pub fn gc_type_entry_depth(&self) -> u32 {
        self.p()
    }
    pub fn size_of_gc_type_entry(&self) -> u32 {
        self.p() + 8
    }

    // --- VMMemoryDefinition ---
    pub fn memory_base(&self) -> u32 {
        0
    }
    pub fn memory_current_length(&self) -> u32 {
        self.p()
    }

    // --- VMTableDefinition ---
    pub fn table_base(&self) -> u32 {
        0
    }
    pub fn table_current_elements(&self) -> u32 {
        self.p()
    }

    // --- VMFuncRef ---
    pub fn funcref_wasm_call(&self) -> u32 {
        0
    }
    pub fn funcref_array_call(&self) -> u32 {
        self.p()
    }
    pub fn funcref_vmctx(&self) -> u32 {
        2 * self.p()
    }
    pub fn funcref_type_id(&self) -> u32 {
        3 * self.p()
    }
    pub fn size_of_vmfuncref(&self) -> u32 {
        4 * self.p()
    }
}
