//! What a store knows about the engine's types: for compiled code, each
//! type's supertype display (for constant-time casts), and for the
//! collector and the host, each struct or array type's layout.
//!
//! Types are named by their engine-wide id. The store adds every type of
//! the engine it may meet before any of its objects or functions can carry
//! it (when a module is instantiated, a host function made, an object made
//! by the host), so a lookup by the id in a header or a funcref always
//! finds an entry.
//!
//! A cast to type `T` of depth `d` (its number of supertypes) succeeds for
//! an object of type `S` when `S == T`, or when `S`'s display (its chain of
//! supertypes from the root, itself last) holds `T` at index `d`: Cohen's
//! display, as in the literature on fast subtype tests. Compiled code reads
//! the table through the store context ([`VMGcTypeEntry`]).

use hoist_environ::GcLayout;

/// One type as compiled code reads it: where its display is and its
/// depth (the display's length minus one).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMGcTypeEntry {
    /// The type's supertypes from the root down to itself (engine ids).
    pub display: *const u32,
    /// The display's length minus one: how many supertypes it has.
    pub depth: u32,
    _pad: u32,
}

/// The store's table of types.
#[derive(Default)]
pub struct GcTypes {
    entries: Vec<VMGcTypeEntry>,
    /// Owned displays (the entries point into them; boxes do not move).
    displays: Vec<Box<[u32]>>,
    layouts: Vec<Option<GcLayout>>,
    /// What the collector needs per type, flattened (see [`TraceInfo`]).
    trace: Vec<TraceInfo>,
}

/// How the collector walks an object of one type.
#[derive(Debug, Clone, Default)]
pub struct TraceInfo {
    /// A struct's size, or 0 for an array.
    pub size: u32,
    /// An array's element size.
    pub elem_size: u32,
    /// Whether an array's elements are traced references.
    pub elems_traced: bool,
    /// A struct's traced reference fields.
    pub ref_offsets: Box<[u32]>,
}

// SAFETY: the raw pointers point into boxes this table owns.
unsafe impl Send for GcTypes {}

impl GcTypes {
    /// Number of types known (ids `0..len` have entries).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no type is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds the next type (id `len()`): its display and its layout (`None`
    /// for a function type).
    pub fn push(&mut self, display: Box<[u32]>, layout: Option<GcLayout>) {
        debug_assert_eq!(display.last().copied(), Some(self.entries.len() as u32));
        self.entries.push(VMGcTypeEntry {
            display: display.as_ptr(),
            depth: display.len().saturating_sub(1) as u32,
            _pad: 0,
        });
        self.displays.push(display);
        self.trace.push(match &layout {
            Some(GcLayout::Struct(s)) => TraceInfo {
                size: s.size,
                ref_offsets: s.gc_ref_offsets().collect(),
                ..TraceInfo::default()
            },
            Some(GcLayout::Array(a)) => TraceInfo {
                elem_size: a.elem_size(),
                elems_traced: a.elem == hoist_environ::GcFieldKind::GcRef,
                ..TraceInfo::default()
            },
            None => TraceInfo::default(),
        });
        self.layouts.push(layout);
    }

    /// How to walk objects of type `id` (a struct or array type).
    pub fn trace(&self, id: u32) -> Option<&TraceInfo> {
        self.trace.get(id as usize)
    }

    /// The table compiled code reads (valid until the next `push`).
    pub fn entries_ptr(&self) -> *const VMGcTypeEntry {
        self.entries.as_ptr()
    }

    /// The layout of struct or array type `id`.
    pub fn layout(&self, id: u32) -> Option<&GcLayout> {
        self.layouts.get(id as usize)?.as_ref()
    }

    /// Whether type `sub` is `sup` or a declared subtype of it.
    pub fn is_subtype(&self, sub: u32, sup: u32) -> bool {
        if sub == sup {
            return true;
        }
        let (Some(s), Some(t)) = (
            self.displays.get(sub as usize),
            self.displays.get(sup as usize),
        ) else {
            return false;
        };
        s.get(t.len() - 1) == Some(&sup)
    }
}
