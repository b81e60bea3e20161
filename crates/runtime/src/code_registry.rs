//! The process-wide registry of compiled code and its trap tables.
//!
//! When a loaded image makes its `.text` executable it registers the text range here together with
//! the image's trap table (text offset → trap code). The signal handler asks this registry two
//! questions about a faulting PC: is it inside compiled wasm code at all ([`is_wasm_pc`]), and if
//! so, is there a trap record at exactly that offset ([`lookup_trap`])? Only a PC that passes both
//! is a wasm trap; anything else is forwarded to the previous signal handler, so that a genuine
//! bug in the host (or in a registered-but-not-trapping instruction) still crashes the process.
//!
//! The registry is a `BTreeMap` keyed by the *end* (exclusive) of each text range, so the range
//! that may contain `pc` is the first one whose end is greater than `pc`. It sits behind an
//! `RwLock`: registration takes the write lock briefly; the signal handler only takes the read
//! lock, which on Linux is a futex operation that neither allocates nor can be held by the
//! faulting thread itself (nothing runs compiled code while holding the write lock).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use hoist_environ::{CallSite, StackMap, TrapCode, TrapRecords};

/// The trap records of one text range: which instruction offsets may trap, and with what code.
///
/// Sorted by offset (relative to the start of the registered text range).
#[derive(Debug, Clone, Default)]
pub struct TrapTable {
    /// Records made in this process (host trampolines, lazily compiled code).
    entries: Vec<(u32, TrapCode)>,
    /// Or records in place in a loaded image (see [`TrapRecords`]).
    in_image: Option<ImageTraps>,
}

/// Trap records in a loaded image, which this keeps mapped.
#[derive(Debug, Clone)]
struct ImageTraps {
    image: Arc<memmap2::Mmap>,
    offsets: std::ops::Range<usize>,
    codes: std::ops::Range<usize>,
}

impl ImageTraps {
    fn records(&self) -> TrapRecords<'_> {
        let bytes = |range: &std::ops::Range<usize>| self.image.get(range.clone()).unwrap_or(&[]);
        TrapRecords::new(bytes(&self.offsets), bytes(&self.codes))
    }
}

impl TrapTable {
    /// The records at `offsets` and `codes` of `image`, read in place
    /// (as [`TrapRecords`] lays them out); the loader has checked that
    /// they are sorted and every code is known.
    pub fn in_image(
        image: Arc<memmap2::Mmap>,
        offsets: std::ops::Range<usize>,
        codes: std::ops::Range<usize>,
    ) -> TrapTable {
        debug_assert!(offsets.end <= image.len() && codes.end <= image.len());
        debug_assert_eq!(offsets.len(), 4 * codes.len());
        TrapTable {
            entries: Vec::new(),
            in_image: Some(ImageTraps {
                image,
                offsets,
                codes,
            }),
        }
    }

    /// Builds a table from `(text offset, code)` pairs in any order; they are sorted here.
    pub fn new(mut entries: Vec<(u32, TrapCode)>) -> Self {
        // An artifact's come sorted (the loader checked): one pass to see
        // so, rather than a sort's (CPython's 636,794 entries).
        if !entries.is_sorted_by_key(|&(offset, _)| offset) {
            entries.sort_by_key(|&(offset, _)| offset);
        }
        TrapTable {
            entries,
            in_image: None,
        }
    }

    /// The trap code recorded at exactly `offset`, if any. Allocates
    /// nothing: the signal handler calls it.
    pub fn lookup(&self, offset: u32) -> Option<TrapCode> {
        if let Some(image) = &self.in_image {
            return image.records().lookup(offset);
        }
        self.entries
            .binary_search_by_key(&offset, |&(o, _)| o)
            .ok()
            .map(|i| self.entries[i].1)
    }

    /// The `(offset, code)` pairs, sorted by offset.
    pub fn iter(&self) -> impl Iterator<Item = (u32, TrapCode)> + '_ {
        let in_image = self.in_image.iter().flat_map(|image| {
            image
                .records()
                .iter()
                .filter_map(|(offset, code)| Some((offset, code?)))
        });
        self.entries.iter().copied().chain(in_image)
    }

    /// Number of trap records.
    pub fn len(&self) -> usize {
        match &self.in_image {
            Some(image) => image.records().len(),
            None => self.entries.len(),
        }
    }

    /// Whether the table has no trap records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything the runtime looks up by code address in one text range:
/// trap records (for the signal handler), and the call sites with exception
/// handlers and the stack maps (for unwinding and GC roots). Offsets are
/// relative to the start of the range.
#[derive(Debug, Default)]
pub struct CodeTables {
    pub traps: TrapTable,
    /// Sorted by return address.
    pub call_sites: Vec<CallSite>,
    /// Sorted by return address.
    pub stack_maps: Vec<StackMap>,
}

impl CodeTables {
    /// Tables with trap records only (trampolines, tests).
    pub fn traps(traps: Vec<(u32, TrapCode)>) -> CodeTables {
        CodeTables {
            traps: TrapTable::new(traps),
            ..CodeTables::default()
        }
    }

    /// The call site whose return address is `ret`, if it has handlers.
    pub fn call_site(&self, ret: u32) -> Option<&CallSite> {
        let i = self.call_sites.binary_search_by_key(&ret, |s| s.ret).ok()?;
        Some(&self.call_sites[i])
    }

    /// The stack map of the call whose return address is `ret`.
    pub fn stack_map(&self, ret: u32) -> Option<&StackMap> {
        let i = self.stack_maps.binary_search_by_key(&ret, |m| m.ret).ok()?;
        Some(&self.stack_maps[i])
    }
}

/// One registered text range.
struct CodeRange {
    start: usize,
    tables: Arc<CodeTables>,
}

/// Registered text ranges, keyed by their end address (exclusive).
static REGISTRY: RwLock<BTreeMap<usize, CodeRange>> = RwLock::new(BTreeMap::new());

fn read() -> RwLockReadGuard<'static, BTreeMap<usize, CodeRange>> {
    // A poisoned lock only means some thread panicked while registering; the map itself is
    // always left consistent (single insert/remove), so keep using it.
    REGISTRY.read().unwrap_or_else(|e| e.into_inner())
}

fn write() -> RwLockWriteGuard<'static, BTreeMap<usize, CodeRange>> {
    REGISTRY.write().unwrap_or_else(|e| e.into_inner())
}

/// Registers the executable text range `[start, start + len)` and its trap table.
///
/// # Panics
/// If `len` is zero, the range wraps around the address space, or it overlaps an already
/// registered range (that would mean the same code is registered twice or freed without being
/// unregistered).
pub fn register_code(start: usize, len: usize, tables: Arc<CodeTables>) {
    assert!(len > 0, "cannot register an empty code range");
    let end = start
        .checked_add(len)
        .expect("code range wraps around the address space");
    let mut map = write();
    // The first range ending after `start` is the only one that could overlap `[start, end)`.
    let overlap = map
        .range((Bound::Excluded(start), Bound::Unbounded))
        .next()
        .filter(|(_, other)| other.start < end)
        .map(|(&other_end, other)| (other.start, other_end));
    if overlap.is_none() {
        map.insert(end, CodeRange { start, tables });
        return;
    }
    drop(map); // do not poison the lock
    let (other_start, other_end) = overlap.unwrap();
    panic!(
        "code range {start:#x}..{end:#x} overlaps registered range {other_start:#x}..{other_end:#x}"
    );
}

/// Unregisters the text range that was registered with this `start` address.
///
/// Unregistering an address that is not registered does nothing.
pub fn unregister_code(start: usize) {
    let mut map = write();
    let key = match map.range((Bound::Excluded(start), Bound::Unbounded)).next() {
        Some((&end, range)) if range.start == start => end,
        _ => return,
    };
    // The `Arc<CodeTables>` is dropped here, outside of any signal handler;
    // it is never the last owner of an image its trap table reads in place
    // (`CodeMemory` unregisters before its own reference goes).
    map.remove(&key);
}

/// Runs `f` on the registered range that contains `pc` (its start and tables).
fn with_range<R>(pc: usize, f: impl FnOnce(usize, &Arc<CodeTables>) -> R) -> Option<R> {
    let map = read();
    let (_, range) = map.range((Bound::Excluded(pc), Bound::Unbounded)).next()?;
    if range.start <= pc {
        Some(f(range.start, &range.tables))
    } else {
        None
    }
}

/// The tables of the code containing `pc` and `pc`'s offset in it. Not for
/// the signal handler (clones an `Arc`).
pub fn lookup(pc: usize) -> Option<(u32, Arc<CodeTables>)> {
    with_range(pc, |start, tables| {
        Some((u32::try_from(pc - start).ok()?, tables.clone()))
    })
    .flatten()
}

/// The trap code recorded for the instruction at `pc`, if `pc` is in registered code and has a
/// trap record. Called from the signal handler: takes only the read lock, does not allocate.
pub fn lookup_trap(pc: usize) -> Option<TrapCode> {
    with_range(pc, |start, traps| {
        u32::try_from(pc - start)
            .ok()
            .and_then(|offset| traps.traps.lookup(offset))
    })
    .flatten()
}

/// Whether `pc` lies inside any registered text range. Called from the signal handler.
pub fn is_wasm_pc(pc: usize) -> bool {
    with_range(pc, |_, _| ()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_table_lookup() {
        let table = TrapTable::new(vec![
            (40, TrapCode::IntegerDivisionByZero),
            (4, TrapCode::MemoryOutOfBounds),
            (17, TrapCode::UnreachableCodeReached),
        ]);
        assert_eq!(table.len(), 3);
        assert_eq!(
            table.iter().map(|e| e.0).collect::<Vec<_>>(),
            vec![4, 17, 40]
        );
        assert_eq!(table.lookup(4), Some(TrapCode::MemoryOutOfBounds));
        assert_eq!(table.lookup(17), Some(TrapCode::UnreachableCodeReached));
        assert_eq!(table.lookup(40), Some(TrapCode::IntegerDivisionByZero));
        for miss in [0, 3, 5, 16, 18, 39, 41, u32::MAX] {
            assert_eq!(table.lookup(miss), None, "offset {miss}");
        }
        assert_eq!(TrapTable::new(Vec::new()).lookup(0), None);
        assert!(TrapTable::default().is_empty());
    }

    // The registry is global and tests run in parallel, so each test uses its own addresses
    // (these are never dereferenced).
    #[test]
    fn register_lookup_unregister() {
        let a = 0x7000_0000_0000usize;
        let b = a + 0x1000;
        register_code(
            a,
            0x100,
            Arc::new(CodeTables::traps(vec![(0x10, TrapCode::StackOverflow)])),
        );
        register_code(
            b,
            0x100,
            Arc::new(CodeTables::traps(vec![
                (0, TrapCode::BadSignature),
                (0xff, TrapCode::HostTrap),
            ])),
        );

        assert!(!is_wasm_pc(a - 1));
        assert!(is_wasm_pc(a));
        assert!(is_wasm_pc(a + 0xff));
        assert!(!is_wasm_pc(a + 0x100));
        assert!(!is_wasm_pc(b - 1));
        assert!(is_wasm_pc(b));
        assert!(is_wasm_pc(b + 0xff));
        assert!(!is_wasm_pc(b + 0x100));

        assert_eq!(lookup_trap(a + 0x10), Some(TrapCode::StackOverflow));
        assert_eq!(lookup_trap(a + 0x11), None);
        assert_eq!(lookup_trap(a + 0x1010), None);
        assert_eq!(lookup_trap(b), Some(TrapCode::BadSignature));
        assert_eq!(lookup_trap(b + 0xff), Some(TrapCode::HostTrap));
        assert_eq!(lookup_trap(b + 0x100), None);

        unregister_code(a);
        assert!(!is_wasm_pc(a + 0x10));
        assert_eq!(lookup_trap(a + 0x10), None);
        assert_eq!(lookup_trap(b), Some(TrapCode::BadSignature));
        // Not registered (anymore, or at all): no effect.
        unregister_code(a);
        unregister_code(b + 1);
        assert!(is_wasm_pc(b + 1));

        unregister_code(b);
        assert!(!is_wasm_pc(b));
    }

    #[test]
    #[should_panic(expected = "overlaps")]
    fn overlapping_registration_panics() {
        let a = 0x7100_0000_0000usize;
        register_code(a, 0x100, Arc::new(CodeTables::default()));
        // The second registration panics; this guard unregisters the first while unwinding.
        struct Cleanup(usize);
        impl Drop for Cleanup {
            fn drop(&mut self) {
                unregister_code(self.0);
            }
        }
        let _cleanup = Cleanup(a);
        register_code(a + 0x80, 0x100, Arc::new(CodeTables::default()));
    }
}
