//! Alias regions: which memory operations of a wasm function may touch the
//! same bytes. Cranelift's alias analysis knows that operations in two
//! different regions never do, so a global loaded before a store to linear
//! memory is still known after it (store-to-load forwarding, redundant-load
//! and dead-store elimination). An operation with no region may alias
//! anything: a store with none acts as a fence.
//!
//! Only what is disjoint for every instantiation is told apart. A module can
//! import one memory, table or global under two names, so all linear
//! memories share one region, all tables' elements another, all imported
//! globals a third. A defined global is stored in this instance's vmctx and
//! nothing else in the instance can name it: it gets a region of its own,
//! up to [`MAX_GLOBAL_REGIONS`]; the rest share one. (Cranelift interns a
//! function's distinct memory flags, regions included, in a set of at most
//! 65,535: a function reading that many globals each in its own region
//! made it panic.)
//! Calls (builtins, host functions, other instances) observe and clobber
//! every region, as do atomic operations (Cranelift treats them as fences).

use cranelift_codegen::ir::{AliasRegion, AliasRegionData, Function};
use hoist_environ::DefinedGlobalIndex;
use std::borrow::Cow;

/// Disjoint kinds of state that compiled code loads and stores.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Region {
    /// The bytes of every linear memory.
    Heap,
    /// The elements of every table.
    TableElements,
    /// The tables' definitions (base and size, which `table.grow` changes).
    TableDefinitions,
    /// The linear memories' definitions (length, which `memory.grow`
    /// changes).
    MemoryDefinitions,
    /// The values of every imported global.
    ImportedGlobals,
    /// The value of one global defined by this module, one of the first
    /// [`MAX_GLOBAL_REGIONS`].
    DefinedGlobal(DefinedGlobalIndex),
    /// The values of the module's other defined globals.
    OtherDefinedGlobals,
}

/// Defined globals that get a region each (see the module docs).
pub(crate) const MAX_GLOBAL_REGIONS: u32 = 1024;

impl Region {
    /// Unique among a function's regions (Cranelift deduplicates on it).
    fn user_id(self) -> u32 {
        match self {
            Region::Heap => 0,
            Region::TableElements => 1,
            Region::TableDefinitions => 2,
            Region::MemoryDefinitions => 3,
            Region::ImportedGlobals => 4,
            Region::DefinedGlobal(index) => 5 + index.as_u32(),
            // After every `DefinedGlobal`, whose indices stay below this.
            Region::OtherDefinedGlobals => 5 + MAX_GLOBAL_REGIONS,
        }
    }

    fn description(self) -> &'static str {
        match self {
            Region::Heap => "heap",
            Region::TableElements => "table elements",
            Region::TableDefinitions => "table definitions",
            Region::MemoryDefinitions => "memory definitions",
            Region::ImportedGlobals => "imported globals",
            Region::DefinedGlobal(_) => "defined global",
            Region::OtherDefinedGlobals => "other defined globals",
        }
    }

    /// This region in `func`, declared on first use.
    pub(crate) fn in_function(self, func: &mut Function) -> AliasRegion {
        func.dfg.alias_regions.insert(AliasRegionData {
            user_id: self.user_id(),
            description: Cow::Borrowed(self.description()),
        })
    }
}
