//! The GC proposal's builtins (see `hoist_environ::foreach_builtin!`).
//!
//! Those that allocate may collect, so they must know where the calling
//! wasm frame is: compiled code calls a C shim (`helpers.c`) that reads
//! its caller's frame pointer and return address and passes them to the
//! `*_impl` function here. The others take compiled code's word that their
//! arguments are non-null objects of the right types (validation and the
//! inline null checks say so) and still check bounds against the objects'
//! headers.

use super::object::ObjectKind;
use super::{Frames, GcStore};
use crate::instance::Instance;
use crate::vmcontext::{VMStoreContext, ValRaw};
use hoist_environ::gc::{GC_ALIGN, MAX_OBJECT_SIZE};
use hoist_environ::{DataIndex, ElemIndex, GcFieldKind, GcLayout};

unsafe extern "C" {
    /// `helpers.c`: `gc_alloc` with the calling frame.
    #[link_name = "hoist_gc_alloc"]
    pub(crate) fn gc_alloc(vmctx: *mut u8, size: u64) -> u64;
    /// `helpers.c`: `array_new_data` with the calling frame.
    #[link_name = "hoist_array_new_data"]
    pub(crate) fn array_new_data(
        vmctx: *mut u8,
        header: u64,
        data: u64,
        offset: u64,
        len: u64,
    ) -> u64;
    /// `helpers.c`: `array_new_elem` with the calling frame.
    #[link_name = "hoist_array_new_elem"]
    pub(crate) fn array_new_elem(
        vmctx: *mut u8,
        header: u64,
        elem: u64,
        offset: u64,
        len: u64,
    ) -> u64;
}

/// The instance behind `vmctx`, its store context and GC state.
///
/// # Safety
/// `vmctx` must be a live instance's vmctx, as passed by compiled code.
unsafe fn parts<'a>(vmctx: *mut u8) -> (&'a mut Instance, &'a VMStoreContext, &'a mut GcStore) {
    // SAFETY: per the contract; the store context outlives its instances'
    // calls, and while a builtin runs nothing else uses the GC state.
    unsafe {
        let instance = Instance::from_vmctx(vmctx);
        let ctx = &*instance.store_context();
        let gc = &mut *ctx.gc.get();
        (instance, ctx, gc)
    }
}

/// `gc_alloc(size)`: the slow path of inline allocation.
///
/// # Safety
/// Called by `hoist_gc_alloc` for compiled code: `fp` and `pc` are the
/// calling wasm frame's.
#[unsafe(no_mangle)]
unsafe extern "C" fn hoist_gc_alloc_impl(vmctx: *mut u8, size: u64, fp: usize, pc: usize) -> u64 {
    // SAFETY: per the contract.
    let (_, ctx, gc) = unsafe { parts(vmctx) };
    if size > MAX_OBJECT_SIZE || !size.is_multiple_of(u64::from(GC_ALIGN)) {
        return 0;
    }
    // SAFETY: the frames are the live caller's; compiled code keeps its
    // references in stack-map slots across this call.
    match unsafe { gc.alloc(ctx, size as u32, Frames::Wasm { fp, pc }, &mut []) } {
        Ok(offset) => u64::from(offset),
        Err(_) => 0,
    }
}

/// Allocates array `header` of `len` elements for a builtin: its offset,
/// or `Err(0)` when the heap is full.
///
/// # Safety
/// As for [`GcStore::alloc`] with `Frames::Wasm { fp, pc }`.
unsafe fn alloc_array(
    ctx: &VMStoreContext,
    gc: &mut GcStore,
    header: u32,
    len: u32,
    fp: usize,
    pc: usize,
) -> Result<(u32, GcFieldKind), u64> {
    let ty = header & hoist_environ::gc::TYPE_ID_MASK;
    let Some(GcLayout::Array(layout)) = gc.types.layout(ty).cloned() else {
        return Err(0);
    };
    let size = layout.size(len).ok_or(0u64)?;
    // SAFETY: per the contract.
    let obj = unsafe { gc.alloc(ctx, size, Frames::Wasm { fp, pc }, &mut []) }.map_err(|_| 0u64)?;
    gc.init_object(obj, size, header, Some(len));
    Ok((obj, layout.elem))
}

/// `array_new_data(header, data, offset, len)`.
///
/// # Safety
/// As for [`hoist_gc_alloc_impl`].
#[unsafe(no_mangle)]
unsafe extern "C" fn hoist_array_new_data_impl(
    vmctx: *mut u8,
    header: u64,
    data: u64,
    offset: u64,
    len: u64,
    fp: usize,
    pc: usize,
) -> u64 {
    // SAFETY: per the contract.
    let (instance, ctx, gc) = unsafe { parts(vmctx) };
    let header = header as u32;
    let Some(GcLayout::Array(layout)) = gc.types.layout(header & hoist_environ::gc::TYPE_ID_MASK)
    else {
        return 0;
    };
    let elem = u64::from(layout.elem_size());
    let bytes = instance.data_bytes(DataIndex::from_u32(data as u32));
    let Some(range) = segment_range(offset, len.saturating_mul(elem), bytes.len()) else {
        return 1;
    };
    // SAFETY: per the contract.
    let (obj, _) = match unsafe { alloc_array(ctx, gc, header, len as u32, fp, pc) } {
        Ok(array) => array,
        Err(code) => return code,
    };
    // SAFETY: as above; the collection is over, look again.
    let (instance, _, gc) = unsafe { parts(vmctx) };
    let bytes = &instance.data_bytes(DataIndex::from_u32(data as u32))[range];
    if let Some(target) = gc.array_bytes_mut(obj, 0, len as u32) {
        target.copy_from_slice(bytes);
    }
    u64::from(obj)
}

/// `start..start+len` inside `size`, if it is.
fn segment_range(start: u64, len: u64, size: usize) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size as u64).then_some(start as usize..end as usize)
}

/// `array_new_elem(header, elem, offset, len)`.
///
/// # Safety
/// As for [`hoist_gc_alloc_impl`].
#[unsafe(no_mangle)]
unsafe extern "C" fn hoist_array_new_elem_impl(
    vmctx: *mut u8,
    header: u64,
    elem: u64,
    offset: u64,
    len: u64,
    fp: usize,
    pc: usize,
) -> u64 {
    // SAFETY: per the contract.
    let (instance, ctx, gc) = unsafe { parts(vmctx) };
    let segment = ElemIndex::from_u32(elem as u32);
    if segment_range(offset, len, instance.element_items(segment).len()).is_none() {
        return 1;
    }
    // SAFETY: per the contract. The segment's items are roots (the
    // instance's), so they are current after a collection.
    let (obj, kind) = match unsafe { alloc_array(ctx, gc, header as u32, len as u32, fp, pc) } {
        Ok(array) => array,
        Err(code) => return code,
    };
    // SAFETY: as above; the collection is over, look again.
    let (instance, _, gc) = unsafe { parts(vmctx) };
    let items = instance.element_items(segment);
    for i in 0..len as u32 {
        let item = items[offset as usize + i as usize];
        if let Some((at, _)) = gc.array_elem(obj, i) {
            gc.write(at, kind, ValRaw(item as u128));
        }
    }
    u64::from(obj)
}

/// `array_init_data(array, data, dst, src, len)`: 0, or 1 when the range
/// is outside the array, 2 outside the segment.
///
/// # Safety
/// `vmctx` must be a live instance's vmctx, as passed by compiled code.
pub(crate) unsafe extern "C" fn array_init_data(
    vmctx: *mut u8,
    array: u64,
    data: u64,
    dst: u64,
    src: u64,
    len: u64,
) -> u64 {
    // SAFETY: per the contract.
    let (instance, _, gc) = unsafe { parts(vmctx) };
    let Some((dst, len)) = array_range(gc, array, dst, len) else {
        return 1;
    };
    let Some((ty, _)) = gc.object_type(array as u32) else {
        return 1;
    };
    let elem = gc
        .types
        .layout(ty)
        .and_then(GcLayout::as_array)
        .map_or(1, |a| u64::from(a.elem_size()));
    let bytes = instance.data_bytes(DataIndex::from_u32(data as u32));
    let Some(range) = segment_range(src, u64::from(len) * elem, bytes.len()) else {
        return 2;
    };
    if let Some(target) = gc.array_bytes_mut(array as u32, dst, len) {
        target.copy_from_slice(&bytes[range]);
    }
    0
}

/// `[dst, dst + len)` of array `array`, if inside it.
fn array_range(gc: &GcStore, array: u64, dst: u64, len: u64) -> Option<(u32, u32)> {
    let alen = u64::from(gc.array_len(u32::try_from(array).ok()?)?);
    (dst.checked_add(len)? <= alen).then_some((dst as u32, len as u32))
}

/// `array_init_elem(array, elem, dst, src, len)`: as `array_init_data`.
///
/// # Safety
/// `vmctx` must be a live instance's vmctx, as passed by compiled code.
pub(crate) unsafe extern "C" fn array_init_elem(
    vmctx: *mut u8,
    array: u64,
    elem: u64,
    dst: u64,
    src: u64,
    len: u64,
) -> u64 {
    // SAFETY: per the contract.
    let (instance, _, gc) = unsafe { parts(vmctx) };
    let Some((dst, len)) = array_range(gc, array, dst, len) else {
        return 1;
    };
    let items = instance.element_items(ElemIndex::from_u32(elem as u32));
    let Some(range) = segment_range(src, u64::from(len), items.len()) else {
        return 2;
    };
    for (i, item) in items[range].iter().enumerate() {
        if let Some((at, kind)) = gc.array_elem(array as u32, dst + i as u32) {
            gc.write(at, kind, ValRaw(*item as u128));
        }
    }
    0
}

/// `array_copy(dst, dst_index, src, src_index, len)`: 0, or 1 when either
/// range is outside its array.
///
/// # Safety
/// `vmctx` must be a live instance's vmctx, as passed by compiled code.
pub(crate) unsafe extern "C" fn array_copy(
    vmctx: *mut u8,
    dst: u64,
    dst_index: u64,
    src: u64,
    src_index: u64,
    len: u64,
) -> u64 {
    // SAFETY: per the contract.
    let (_, _, gc) = unsafe { parts(vmctx) };
    let (Some((di, n)), Some((si, _))) = (
        array_range(gc, dst, dst_index, len),
        array_range(gc, src, src_index, len),
    ) else {
        return 1;
    };
    if n == 0 {
        return 0;
    }
    let (Some((_, ObjectKind::Array)), Some(heap)) = (gc.object_type(src as u32), gc.heap()) else {
        return 1;
    };
    let (Some((from, kind)), Some((to, _))) =
        (gc.array_elem(src as u32, si), gc.array_elem(dst as u32, di))
    else {
        return 1;
    };
    let bytes = n as usize * kind.size() as usize;
    // SAFETY: both ranges were checked against their arrays, which are in
    // the current space; `copy` allows overlap (the same array).
    unsafe { std::ptr::copy(heap.at(from), heap.at(to), bytes) };
    0
}
