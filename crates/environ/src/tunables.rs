//! Knobs that change generated code, and so must match between the
//! compiler and the runtime (and be recorded in artifacts).

/// How memories are laid out and how their accesses are checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tunables {
    /// Bytes of address space reserved for each 32-bit linear memory.
    /// With 4 GiB every 32-bit index lands inside the reservation.
    pub memory_reservation: u64,
    /// Inaccessible bytes after the reservation. Accesses whose static
    /// `offset + size` fits in the guard need no bounds check at all.
    pub memory_guard_size: u64,
    /// Bytes of the wasm stack budget per entry from the host.
    pub max_wasm_stack: usize,
    /// Bytes of address space reserved for each 64-bit linear memory: how
    /// far it can grow (its accesses are checked explicitly).
    pub memory64_reservation: u64,
    /// Compile epoch checks (function entries and loop headers), so a
    /// timer or a signal can interrupt the guest.
    pub epoch_interruption: bool,
    /// Compile fuel metering: every operator costs fuel; running out traps.
    pub consume_fuel: bool,
    /// `memory.grow` and `table.grow` trap instead of returning -1.
    pub trap_on_grow_failure: bool,
    /// The largest size any linear memory may grow to, in bytes.
    pub max_memory_size: Option<u64>,
    /// The most elements any table may grow to.
    pub max_table_elements: Option<u64>,
    /// The most elements all the tables of one store may hold together
    /// (host memory: 8 bytes each).
    pub max_total_table_elements: u64,
    /// The most bytes of objects a store's GC heap may hold (the GC
    /// proposal); an allocation that does not fit after a full collection
    /// traps. The copying collector reserves as much again to copy into.
    pub max_gc_heap: u64,
}

/// The default of [`Tunables::max_total_table_elements`]: 16M elements,
/// 128 MiB of host memory; one table alone may have at most 10M.
pub const DEFAULT_MAX_TOTAL_TABLE_ELEMENTS: u64 = 1 << 24;
/// The default of [`Tunables::max_gc_heap`]: 1 GiB.
pub const DEFAULT_MAX_GC_HEAP: u64 = 1 << 30;
/// The largest [`Tunables::max_gc_heap`] there can be: references are
/// 32-bit offsets into a reservation holding two semispaces.
pub const MAX_GC_HEAP_LIMIT: u64 = (1 << 31) - (1 << 16);

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            memory_reservation: 1 << 32,
            memory_guard_size: 32 << 20,
            max_wasm_stack: 512 << 10,
            memory64_reservation: 256 << 30,
            epoch_interruption: false,
            consume_fuel: false,
            trap_on_grow_failure: false,
            max_memory_size: None,
            max_table_elements: None,
            max_total_table_elements: DEFAULT_MAX_TOTAL_TABLE_ELEMENTS,
            max_gc_heap: DEFAULT_MAX_GC_HEAP,
        }
    }
}

impl Tunables {
    /// The tunables that change generated code, by name: artifacts record
    /// them and code compiled with other values is refused. Every field is
    /// named here, so a new one does not compile until it is decided on.
    pub fn code_affecting(&self) -> Vec<(&'static str, u64)> {
        let Tunables {
            memory_reservation,
            memory_guard_size,
            // The stack budget is set when wasm is entered, not compiled in.
            max_wasm_stack: _,
            // 64-bit memories are always checked explicitly.
            memory64_reservation: _,
            epoch_interruption,
            consume_fuel,
            trap_on_grow_failure,
            // Limits the runtime enforces when memories and tables grow.
            max_memory_size: _,
            max_table_elements: _,
            max_total_table_elements: _,
            max_gc_heap: _,
        } = self;
        vec![
            ("memory_reservation", *memory_reservation),
            ("memory_guard_size", *memory_guard_size),
            ("epoch_interruption", u64::from(*epoch_interruption)),
            ("consume_fuel", u64::from(*consume_fuel)),
            ("trap_on_grow_failure", u64::from(*trap_on_grow_failure)),
        ]
    }
}
