//! What the compiler hands to the runtime for one module: a linked text
//! section and the tables that describe it. Plain data, shared by the
//! compiler (which fills it), the artifact format (which stores it) and the
//! loader (which checks it).

use crate::{TrapCode, TypeIndex};
use foldhash::HashMap;

/// Where a function sits in the text section, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionLoc {
    pub start: u32,
    pub length: u32,
}

/// A linked text section and what the runtime needs to know about it. All
/// offsets are byte offsets into `text`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompiledText {
    pub text: Vec<u8>,
    /// Each defined function's code, by `DefinedFuncIndex`, in text order.
    pub functions: Vec<FunctionLoc>,
    /// The host-to-wasm trampoline for each type used by a defined function.
    pub array_to_wasm: HashMap<TypeIndex, u32>,
    /// The wasm-to-host trampoline (host trampoline texts only).
    pub wasm_to_array: Option<u32>,
    /// The wasm-to-host trampoline for each type of an imported function,
    /// so host functions imported by a module need no compile at run time.
    pub import_trampolines: HashMap<TypeIndex, u32>,
    /// Text offsets of instructions that may trap, sorted, with the code.
    pub traps: Vec<(u32, TrapCode)>,
    /// (text offset, wasm byte offset) pairs, sorted, for backtraces.
    pub address_map: Vec<(u32, u32)>,
    /// Calls made inside exception handlers' scope, sorted by return address.
    pub call_sites: Vec<CallSite>,
    /// Where GC-managed references live in each frame at each safepoint,
    /// sorted by return address.
    pub stack_maps: Vec<StackMap>,
    /// The object layout of each type the code was compiled against (by
    /// type index; `None` for function types): field offsets are baked
    /// into the code, so a loader checks them against its own.
    pub gc_layouts: Vec<Option<crate::GcLayout>>,
    /// A lazily compiled function's text only: where the loop header placed
    /// at a 64-byte boundary starts (the start of the block holding the
    /// hottest loop's first code). Not stored in artifacts.
    pub loop_header: Option<u32>,
}

/// A call that exceptions may unwind through into handlers of its frame
/// (a Cranelift `try_call`). Offsets are into the text section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallSite {
    /// The call's return address.
    pub ret: u32,
    /// FP minus SP at the call: the frame's SP when a handler runs.
    pub frame_offset: u32,
    /// Where the frame's vmctx is (SP-relative), to resolve its tags.
    pub vmctx_sp_offset: u32,
    /// Handlers in the order they are tried: a module-local tag index
    /// (`None`: catch all) and the handler's text offset.
    pub handlers: Vec<(Option<u32>, u32)>,
}

/// The GC-managed references live across one call: SP-relative offsets of
/// 8-byte slots in the calling frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StackMap {
    /// The call's return address.
    pub ret: u32,
    /// FP minus SP at the call.
    pub frame_size: u32,
    pub slots: Vec<u32>,
}

/// The address map as artifacts store it and the loader reads it, in
/// place: (text offset, wasm byte offset) pairs sorted by text offset, each
/// two little-endian u32s. Big modules' maps are millions of entries
/// (CPython's: 8 MB), so they are not decoded into a `Vec` on every load.
#[derive(Clone, Copy, Debug, Default)]
pub struct AddressMapRecords<'a>(&'a [u8]);

impl<'a> AddressMapRecords<'a> {
    /// Bytes of one record.
    pub const RECORD: usize = 8;

    /// The records in `bytes`, whose length must be a multiple of
    /// [`Self::RECORD`] (a partial record at the end is ignored).
    pub fn new(bytes: &'a [u8]) -> Self {
        AddressMapRecords(&bytes[..bytes.len() / Self::RECORD * Self::RECORD])
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.0.len() / Self::RECORD
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Record `i` (`i < len()`).
    pub fn get(&self, i: usize) -> (u32, u32) {
        let r = &self.0[i * Self::RECORD..][..Self::RECORD];
        let word = |at: usize| u32::from_le_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]]);
        (word(0), word(4))
    }

    /// The records' bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The records in order: (text offset, wasm byte offset).
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        // By chunks, not `get`: the loader checks a million of CPython's
        // records this way on every load, and this loop has no index
        // arithmetic or bounds checks left in it.
        self.0.chunks_exact(Self::RECORD).map(|r| {
            let r = u64::from_le_bytes(r.try_into().expect("a whole record"));
            (r as u32, (r >> 32) as u32)
        })
    }

    /// The last record at or before text offset `offset`, if any.
    pub fn at_or_before(&self, offset: u32) -> Option<(u32, u32)> {
        // The first record past `offset`, by binary search.
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if self.get(mid).0 <= offset {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low.checked_sub(1).map(|i| self.get(i))
    }
}

/// The trap table as artifacts store it and the runtime reads it, in
/// place: `len` little-endian u32 text offsets, sorted, then `len` trap
/// code bytes ([`TrapCode::from_u8`]) in the same order. Big modules have
/// hundreds of thousands of trap sites (CPython: 636,792), which loading
/// would otherwise decode into a 5 MB table, a page fault per 4 KiB.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapRecords<'a> {
    offsets: &'a [u8],
    codes: &'a [u8],
}

impl<'a> TrapRecords<'a> {
    /// The records in `offsets` (4 bytes each) and `codes` (1 byte each);
    /// a partial or unmatched record at the end is ignored.
    pub fn new(offsets: &'a [u8], codes: &'a [u8]) -> Self {
        let len = (offsets.len() / 4).min(codes.len());
        TrapRecords {
            offsets: &offsets[..len * 4],
            codes: &codes[..len],
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The offsets' bytes.
    pub fn offset_bytes(&self) -> &'a [u8] {
        self.offsets
    }

    /// The codes' bytes.
    pub fn code_bytes(&self) -> &'a [u8] {
        self.codes
    }

    fn offset(&self, i: usize) -> u32 {
        let b = &self.offsets[i * 4..][..4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The text offsets in order.
    pub fn offsets(self) -> impl Iterator<Item = u32> + 'a {
        self.offsets
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Whether every code byte names a trap code ([`TrapCode::from_u8`]),
    /// in one pass the compiler turns into vector code.
    pub fn codes_known(self) -> bool {
        self.codes
            .iter()
            .fold(true, |ok, &c| ok & TrapCode::is_code(c))
    }

    /// The records in order: (text offset, code; `None` for a byte that
    /// names no trap code).
    pub fn iter(self) -> impl Iterator<Item = (u32, Option<TrapCode>)> + 'a {
        self.offsets()
            .zip(self.codes.iter().map(|&c| TrapCode::from_u8(c)))
    }

    /// The code recorded at exactly `offset`, by binary search (the
    /// offsets must be sorted). Allocates nothing: the signal handler
    /// calls it.
    pub fn lookup(&self, offset: u32) -> Option<TrapCode> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.offset(mid).cmp(&offset) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return TrapCode::from_u8(self.codes[mid]),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{AddressMapRecords, TrapRecords};
    use crate::TrapCode;

    #[test]
    fn trap_records_are_found_in_place() {
        let pairs = [
            (4u32, TrapCode::MemoryOutOfBounds),
            (9, TrapCode::IntegerDivisionByZero),
        ];
        let offsets: Vec<u8> = pairs.iter().flat_map(|(o, _)| o.to_le_bytes()).collect();
        let mut codes: Vec<u8> = pairs.iter().map(|(_, c)| *c as u8).collect();
        let traps = TrapRecords::new(&offsets, &codes);
        assert_eq!(traps.len(), 2);
        assert_eq!(traps.lookup(4), Some(TrapCode::MemoryOutOfBounds));
        assert_eq!(traps.lookup(9), Some(TrapCode::IntegerDivisionByZero));
        assert_eq!(
            (traps.lookup(0), traps.lookup(5), traps.lookup(10)),
            (None, None, None)
        );
        assert_eq!(
            traps.iter().collect::<Vec<_>>(),
            pairs.map(|(o, c)| (o, Some(c)))
        );
        codes[1] = 0;
        assert_eq!(TrapRecords::new(&offsets, &codes).lookup(9), None);
        assert_eq!(TrapRecords::new(&offsets[..7], &codes).len(), 1);
        assert!(TrapRecords::default().lookup(0).is_none());
    }

    #[test]
    fn records_are_found_at_or_before_an_offset() {
        let pairs = [(0u32, 30u32), (8, 31), (8, 32), (50, 41)];
        let bytes: Vec<u8> = pairs
            .iter()
            .flat_map(|(t, w)| t.to_le_bytes().into_iter().chain(w.to_le_bytes()))
            .collect();
        let map = AddressMapRecords::new(&bytes);
        assert_eq!(map.len(), 4);
        assert_eq!(map.iter().collect::<Vec<_>>(), pairs);
        assert_eq!(map.at_or_before(0), Some((0, 30)));
        assert_eq!(map.at_or_before(7), Some((0, 30)));
        assert_eq!(map.at_or_before(8), Some((8, 32)));
        assert_eq!(map.at_or_before(49), Some((8, 32)));
        assert_eq!(map.at_or_before(1000), Some((50, 41)));
        assert_eq!(AddressMapRecords::new(&bytes[8..]).at_or_before(0), None);
        assert_eq!(AddressMapRecords::default().at_or_before(5), None);
        assert_eq!(AddressMapRecords::new(&bytes[..12]).len(), 1);
    }
}
