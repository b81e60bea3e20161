//! Memory images: a defined memory's active data segments merged at
//! compile time into page-aligned blocks (split at long runs of zero
//! pages, which are not stored), so instantiation writes each in one step
//! (a copy, or a read from a big artifact's file straight into the memory)
//! instead of segment by segment (see ../shared/research/engine-design.md
//! §2.8).

use crate::{ConstExpr, ConstOp, DataKind, ElementKind, MemoryIndex, Module};

/// Image pages are this size (and so aligned to it in artifacts).
pub const IMAGE_PAGE_SIZE: u64 = 4096;

/// The initial contents of part of one memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryImage {
    pub memory: MemoryIndex,
    /// Byte offset in the linear memory; a multiple of [`IMAGE_PAGE_SIZE`].
    pub offset: u64,
    /// A multiple of [`IMAGE_PAGE_SIZE`] long.
    pub bytes: Vec<u8>,
}

/// Images for the defined memories whose active segments allow them (one,
/// or several where long runs of zero pages split it, in ascending order
/// of offset): every segment at a constant offset and inside the memory's
/// initial size (else
/// instantiation must run the segments one by one and trap where the spec
/// says), none after a segment of any memory that may trap (the spec
/// leaves those unwritten, and a failed instantiation's functions may
/// still be reached through an imported table), and an image not much
/// larger than the data it holds.
pub fn memory_images(module: &Module) -> Vec<MemoryImage> {
    let mut images = Vec::new();
    let first_trap = first_segment_that_may_trap(module);
    for (memory, ty) in module.memories.iter().skip(module.num_imported_memories) {
        let initial = ty.initial_bytes();
        let mut segments = Vec::new();
        let mut usable = !ty.memory64;
        for (position, segment) in module.data.values().enumerate() {
            let DataKind::Active {
                memory: target,
                offset,
            } = &segment.kind
            else {
                continue;
            };
            if *target != memory {
                continue;
            }
            if position > first_trap {
                usable = false;
                break;
            }
            let Some(offset) = offset.as_i32() else {
                usable = false;
                break;
            };
            let start = u64::from(offset as u32);
            if start + segment.bytes.len() as u64 > initial {
                usable = false;
                break;
            }
            segments.push((start, &segment.bytes));
        }
        segments.retain(|(_, bytes)| !bytes.is_empty());
        if !usable || segments.is_empty() {
            continue;
        }
        let low =
            segments.iter().map(|(s, _)| *s).min().unwrap_or(0) / IMAGE_PAGE_SIZE * IMAGE_PAGE_SIZE;
        let high = segments
            .iter()
            .map(|(s, b)| s + b.len() as u64)
            .max()
            .unwrap_or(0);
        let high = high.next_multiple_of(IMAGE_PAGE_SIZE);
        // The whole image must fit: with small pages (custom-page-sizes)
        // the memory may end inside an image page.
        if high > initial {
            continue;
        }
        let data_len: u64 = segments.iter().map(|(_, b)| b.len() as u64).sum();
        // A sparse image would cost more file than it saves copying.
        if high - low > 2 * data_len + 16 * IMAGE_PAGE_SIZE {
            continue;
        }
        let mut bytes = vec![0; (high - low) as usize];
        for (start, data) in segments {
            let at = (start - low) as usize;
            bytes[at..at + data.len()].copy_from_slice(data);
        }
        images.extend(split_at_zeros(&bytes).map(|run| MemoryImage {
            memory,
            offset: low + run.start as u64,
            bytes: bytes[run].to_vec(),
        }));
    }
    images
}

/// Runs of at least this many zero pages split an image: a fresh memory
/// is zeros already, so they are neither stored, read nor checked
/// (CPython's 10 MB image has 599 zero pages, in runs up to hundreds of
/// pages long). Shorter runs stay: each image costs a read and a check of
/// its own.
const ZERO_RUN_PAGES: usize = 4;

/// The byte ranges of `bytes` (whole pages) that are not inside a run of
/// [`ZERO_RUN_PAGES`] or more zero pages, in order; none when it is all
/// zeros.
fn split_at_zeros(bytes: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let page = IMAGE_PAGE_SIZE as usize;
    let pages = bytes.len() / page;
    let zero = move |i: usize| bytes[i * page..(i + 1) * page].iter().all(|&b| b == 0);
    let mut at = 0;
    std::iter::from_fn(move || {
        // Skip zero pages at the start of what is left.
        while at < pages && zero(at) {
            at += 1;
        }
        if at == pages {
            return None;
        }
        let start = at;
        // Up to the next long enough run of zero pages, or the end.
        let mut zeros = 0;
        while at < pages && zeros < ZERO_RUN_PAGES {
            zeros = if zero(at) { zeros + 1 } else { 0 };
            at += 1;
        }
        // Zero pages at the end stay out, whether a run or the image's end.
        Some(start * page..(at - zeros) * page)
    })
}

/// Whether instantiation may trap before it reaches the data segments: an
/// active element segment whose offset is not a constant `i32` (or on a
/// 64-bit table) or that ends past its table's declared minimum (an
/// imported table is at least that big), or a global, table or element
/// initializer that allocates (a GC object: memory may run out). A failed
/// instance's functions, still reached through an imported table, may
/// then `memory.init` from active data segments that were never applied
/// nor dropped: an artifact must keep their bytes.
pub fn may_trap_before_data(module: &Module) -> bool {
    let allocates = |expr: &ConstExpr| {
        expr.ops().iter().any(|op| {
            matches!(
                op,
                ConstOp::StructNew(_)
                    | ConstOp::StructNewDefault(_)
                    | ConstOp::ArrayNew(_)
                    | ConstOp::ArrayNewDefault(_)
                    | ConstOp::ArrayNewFixed(..)
            )
        })
    };
    let element_may_trap = module.elements.values().any(|segment| {
        segment.items.iter().any(allocates)
            || match &segment.kind {
                ElementKind::Active { table, offset } => {
                    let ty = &module.tables[*table];
                    match offset.as_i32() {
                        Some(offset) if !ty.table64 => {
                            u64::from(offset as u32) + segment.items.len() as u64 > ty.minimum
                        }
                        _ => true,
                    }
                }
                _ => false,
            }
    });
    element_may_trap
        || module.global_inits.values().any(allocates)
        || module.table_inits.values().flatten().any(allocates)
}

/// The position of the first active segment, in module order, that may
/// trap at instantiation: its offset is not a constant `i32`, or it ends
/// past its memory's declared initial size (an imported memory is at least
/// that big). `usize::MAX` if none may.
fn first_segment_that_may_trap(module: &Module) -> usize {
    module
        .data
        .values()
        .position(|segment| {
            let DataKind::Active { memory, offset } = &segment.kind else {
                return false;
            };
            let ty = &module.memories[*memory];
            match offset.as_i32() {
                Some(offset) if !ty.memory64 => {
                    u64::from(offset as u32) + segment.bytes.len() as u64 > ty.initial_bytes()
                }
                _ => true,
            }
        })
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    fn module_with(segments: &[(ConstExpr, &[u8])], pages: u64) -> Module {
        let mut module = Module::default();
        let memory = module.memories.push(MemoryType {
            minimum: pages,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: 16,
        });
        for (offset, bytes) in segments {
            module.data.push(DataSegment {
                kind: DataKind::Active {
                    memory,
                    offset: offset.clone(),
                },
                bytes: bytes.to_vec().into(),
            });
        }
        module
    }

    #[test]
    fn merges_segments_in_order_into_pages() {
        let module = module_with(
            &[
                (ConstExpr::op(ConstOp::I32Const(5000)), b"abc"),
                (ConstExpr::op(ConstOp::I32Const(5001)), b"XY"),
            ],
            1,
        );
        let images = memory_images(&module);
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].offset, 4096);
        assert_eq!(images[0].bytes.len(), 4096);
        assert_eq!(&images[0].bytes[904..907], b"aXY");
    }

    #[test]
    fn no_image_when_a_segment_could_trap_or_moves() {
        let at = ConstExpr::op(ConstOp::I32Const(65535));
        assert!(memory_images(&module_with(&[(at, b"ab")], 1)).is_empty());
        let global = ConstExpr::op(ConstOp::GlobalGet(GlobalIndex::from_u32(0)));
        assert!(memory_images(&module_with(&[(global, b"ab")], 1)).is_empty());
    }

    /// Long runs of zero pages split an image; short ones stay in it, and
    /// zeros alone make none.
    #[test]
    fn long_runs_of_zero_pages_split_an_image() {
        let page = IMAGE_PAGE_SIZE as i32;
        let at = |p: i32| ConstExpr::op(ConstOp::I32Const(p * page + 8));
        // Pages 0, 10 and 13: a run of 9 zero pages, then one of 2.
        let module = module_with(&[(at(0), b"a"), (at(10), b"b"), (at(13), b"c")], 1);
        let images = memory_images(&module);
        let shape: Vec<_> = images
            .iter()
            .map(|i| {
                (
                    i.offset / IMAGE_PAGE_SIZE,
                    i.bytes.len() as u64 / IMAGE_PAGE_SIZE,
                )
            })
            .collect();
        assert_eq!(shape, [(0, 1), (10, 4)]);
        assert_eq!(images[0].bytes[8], b'a');
        assert_eq!(images[1].bytes[8], b'b');
        assert_eq!(images[1].bytes[3 * page as usize + 8], b'c');
        assert!(memory_images(&module_with(&[(at(2), &[0; 9000])], 1)).is_empty());
    }

    /// Memory 0's segments are imaged only if they all come before memory
    /// 1's segment that traps: the spec writes none after it.
    #[test]
    fn no_image_holds_a_segment_after_one_that_may_trap() {
        let with_order = |a_first: bool| {
            let mut module = module_with(&[], 1);
            let b = module.memories.push(MemoryType {
                minimum: 1,
                maximum: None,
                memory64: false,
                shared: false,
                page_size_log2: 16,
            });
            let a_segment = DataSegment {
                kind: DataKind::Active {
                    memory: MemoryIndex::from_u32(0),
                    offset: ConstExpr::op(ConstOp::I32Const(0)),
                },
                bytes: b"a".to_vec().into(),
            };
            let b_traps = DataSegment {
                kind: DataKind::Active {
                    memory: b,
                    offset: ConstExpr::op(ConstOp::I32Const(65536)),
                },
                bytes: b"b".to_vec().into(),
            };
            let (first, second) = match a_first {
                true => (a_segment, b_traps),
                false => (b_traps, a_segment),
            };
            module.data.push(first);
            module.data.push(second);
            memory_images(&module)
        };
        let images = with_order(true);
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].memory, MemoryIndex::from_u32(0));
        assert!(with_order(false).is_empty());
    }
}
