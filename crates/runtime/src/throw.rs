//! Throwing exceptions: finding the handler and resuming there.
//!
//! `throw`, `throw_ref` and `raise` are builtins written in C (`helpers.c`)
//! that capture the calling wasm frame (its frame pointer and the return
//! address into it) and call [`hoist_throw_dispatch`]. That walks the frame
//! pointer chain up to the innermost entry from the host (the
//! `hoist_catch` frame of [`crate::catch_traps`]): for each frame, the
//! return address names a call site; if Cranelift recorded handlers for it
//! (`try_call`), each handler's tag (an index into the frame's module,
//! resolved through the frame's vmctx, which Cranelift saved at a known
//! offset from SP) is compared with the exception's tag by identity, and a
//! catch-all matches anything. The first match gets control: SP and FP of
//! its frame restored, the exception handle in the first payload register.
//! Nothing between the throw and the handler is a Rust frame, so nothing
//! that needs unwinding is skipped.
//!
//! No handler up to the entry: the exception is uncaught. It unwinds to the
//! entry, which returns [`TrapReason::Exception`](crate::TrapReason) with
//! the handle and the backtrace from the throw.
//!
//! Exceptions cross host functions too: a host function that gets an
//! uncaught exception back from a call into wasm and returns it as its own
//! error ([`ThrownException`]) has it rethrown by its trampoline's `raise`
//! into the wasm frames that called it, where a handler may catch it.

use crate::exn::{ExnObject, MAX_PAYLOAD};
use crate::traphandlers::{record_exception, set_pending_host_error, take_pending_host_error};
use crate::vmcontext::{VMStoreContext, VMTagDefinition, ValRaw};
use crate::Instance;
use hoist_environ::{EntityRef, TagIndex};
use std::ffi::c_void;

/// `helpers.c`'s `struct hoist_resume`.
#[repr(C)]
pub(crate) struct Resume {
    pc: *const u8,
    sp: usize,
    fp: usize,
    exn: u64,
    jmp_buf: *mut c_void,
}

/// Marks a dispatch that rethrows a pending host error (`raise`).
const RAISE: u64 = u64::MAX;
/// Marks a dispatch of an existing exception (`throw_ref`).
const THROW_REF: u64 = u64::MAX - 1;

/// An exception that left wasm uncaught, as an error: a host function that
/// returns it from a call into wasm has it rethrown into its caller.
#[derive(Debug, Clone, Copy)]
pub struct ThrownException {
    /// The handle in its store's exception heap.
    pub exn: u64,
    /// The store it belongs to.
    pub store: *const VMStoreContext,
}

// SAFETY: the pointer only identifies a store; it is compared, never
// dereferenced by the error itself.
unsafe impl Send for ThrownException {}
// SAFETY: as for `Send`, with every use behind the same exclusive access.
unsafe impl Sync for ThrownException {}

impl std::fmt::Display for ThrownException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("uncaught wasm exception")
    }
}

impl std::error::Error for ThrownException {}

/// Called by `helpers.c` for `throw` (`tag` is the module-local tag index
/// and `payload` the values), `throw_ref` (`exn` the handle) and `raise`
/// (`tag` is [`RAISE`]). Fills `out` with the handler to resume at, or
/// with the recovery point to unwind to.
///
/// # Safety
/// Called only from those helpers, from compiled wasm code running under
/// `catch_traps` on this thread: `vmctx` is the calling instance's, `fp`
/// and `pc` the calling frame's, `sp` an address in the helper's frame
/// below every wasm frame, `payload` the tag's values for `throw`.
#[unsafe(no_mangle)]
unsafe extern "C" fn hoist_throw_dispatch(
    vmctx: *mut u8,
    tag: u64,
    payload: *const ValRaw,
    exn: u64,
    fp: usize,
    pc: usize,
    sp: usize,
    out: *mut Resume,
) {
    // SAFETY: `out` is the helper's local.
    let out = unsafe { &mut *out };
    let jmp_buf = crate::traphandlers::innermost_jmp_buf();
    if jmp_buf.is_null() {
        // Compiled code runs only under catch_traps; this is a bug.
        std::process::abort();
    }
    *out = Resume {
        pc: std::ptr::null(),
        sp: 0,
        fp: 0,
        exn: 0,
        jmp_buf,
    };
    // SAFETY: per the contract, `vmctx` is a live instance's.
    let instance = unsafe { Instance::from_vmctx(vmctx) };
    let store = instance.store_context();
    let exn = match tag {
        RAISE => match take_pending_host_error() {
            Some(error) => match error.downcast_ref::<ThrownException>() {
                Some(thrown) if std::ptr::eq(thrown.store, store) => thrown.exn,
                _ => {
                    // A plain host error: unwind to the entry with it.
                    set_pending_host_error(error);
                    crate::traphandlers::record_host_trap();
                    return;
                }
            },
            None => {
                crate::traphandlers::record_host_trap();
                return;
            }
        },
        THROW_REF => exn,
        tag => {
            // SAFETY: per the contract.
            match unsafe { new_exception(instance, store, tag as u32, payload, sp, jmp_buf) } {
                Some(exn) => exn,
                None => {
                    set_pending_host_error(Box::new(TooManyExceptions));
                    crate::traphandlers::record_host_trap();
                    return;
                }
            }
        }
    };
    // SAFETY: the store context outlives its instances' calls.
    let heap = unsafe { &*(*store).exn_heap.get() };
    let thrown_tag = heap.get(exn).map_or(std::ptr::null(), |o| o.tag);
    // SAFETY: per the contract, `fp`/`pc` start a frame chain of this
    // activation, below `jmp_buf`.
    match unsafe { find_handler(fp, pc, jmp_buf as usize, thrown_tag) } {
        Some((pc, sp, fp)) => {
            out.pc = pc;
            out.sp = sp;
            out.fp = fp;
            out.exn = exn;
        }
        // SAFETY: as above.
        None => unsafe { record_exception(exn, pc, fp, sp) },
    }
}

/// The store has more live exception objects than it may keep.
#[derive(Debug)]
struct TooManyExceptions;

impl std::fmt::Display for TooManyExceptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the guest keeps more than {} exceptions alive",
            crate::exn::MAX_OBJECTS
        )
    }
}

impl std::error::Error for TooManyExceptions {}

/// Makes the exception object for `throw`, collecting first when due.
///
/// # Safety
/// As for [`hoist_throw_dispatch`]; `[sp, limit)` is this thread's live
/// stack holding every wasm frame of the store's one activation.
unsafe fn new_exception(
    instance: &Instance,
    store: *mut VMStoreContext,
    tag: u32,
    payload: *const ValRaw,
    sp: usize,
    limit: *mut c_void,
) -> Option<u64> {
    let tag = TagIndex::from_u32(tag);
    let module = instance.module();
    let params = &module.tag_sig(tag).params;
    let count = params.len().min(MAX_PAYLOAD);
    let gc_refs: Box<[u16]> = (0..count)
        .filter(|i| module.is_gc_ref(params[*i]))
        .map(|i| i as u16)
        .collect();
    // SAFETY: compiled code passes the tag's values, one slot each.
    let payload: Box<[ValRaw]> = unsafe { std::slice::from_raw_parts(payload, count) }.into();
    let tag: *const VMTagDefinition = instance.tag_ptr(tag);
    // SAFETY: the store context outlives its instances' calls; nothing else
    // uses the heap during this builtin.
    let store = unsafe { &*store };
    // SAFETY: as above; the heap is in the live store context.
    let heap = unsafe { &mut *store.exn_heap.get() };
    if heap.wants_collection() && store.entry_depth.get() == 1 {
        let roots = store.gc_roots.get();
        heap.collect(|mark| {
            // SAFETY: per the contract, `[sp, limit)` is readable stack.
            unsafe { scan_words(sp, limit as usize, mark) };
            for value in payload.iter() {
                mark(value.0 as u64);
            }
            if let Some((f, data)) = roots {
                // SAFETY: the store installed this function for itself.
                unsafe { f(data, mark) };
            }
            // Exception handles kept in GC objects' fields.
            // SAFETY: the GC state is the store's; no collection runs.
            unsafe { (*store.gc.get()).for_each_word(store, mark) };
        });
    }
    heap.alloc(ExnObject {
        tag,
        payload,
        gc_refs,
    })
}

/// Calls `mark` with every aligned word in `[start, end)`.
///
/// # Safety
/// The range must be readable.
unsafe fn scan_words(start: usize, end: usize, mark: &mut dyn FnMut(u64)) {
    let mut at = start.next_multiple_of(8);
    while at + 8 <= end {
        // SAFETY: aligned and inside the range.
        mark(unsafe { (at as *const u64).read() });
        at += 8;
    }
}

/// Walks the frame chain from the frame `fp` (which called out with return
/// address `pc`) towards `limit` and returns the first handler of a call
/// site in compiled code that catches `tag`: its pc, sp and fp.
///
/// # Safety
/// `fp` must start a chain of frames below `limit` on this thread's stack.
unsafe fn find_handler(
    mut fp: usize,
    mut pc: usize,
    limit: usize,
    tag: *const VMTagDefinition,
) -> Option<(*const u8, usize, usize)> {
    const WORD: usize = std::mem::size_of::<usize>();
    loop {
        if fp == 0 || !fp.is_multiple_of(WORD) || fp.checked_add(2 * WORD)? > limit {
            return None;
        }
        if let Some((offset, tables)) = crate::code_registry::lookup(pc) {
            if let Some(site) = tables.call_site(offset) {
                let sp = fp.checked_sub(site.frame_offset as usize)?;
                // SAFETY: Cranelift saved the frame's vmctx at this offset
                // from the frame's SP at the call, inside the live frame.
                let frame_vmctx =
                    unsafe { *((sp + site.vmctx_sp_offset as usize) as *const *mut u8) };
                for (handler_tag, handler) in &site.handlers {
                    let catches = match handler_tag {
                        None => true,
                        Some(t) => {
                            // SAFETY: a frame's vmctx is its live instance's.
                            let frame = unsafe { Instance::from_vmctx(frame_vmctx) };
                            std::ptr::eq(frame.tag_ptr(TagIndex::new(*t as usize)), tag)
                        }
                    };
                    if catches {
                        let start = pc - offset as usize;
                        return Some(((start + *handler as usize) as *const u8, sp, fp));
                    }
                }
            }
        }
        // SAFETY: `fp` is an aligned frame inside the live stack (checked
        // above): the caller's FP and the return address are its first two
        // words.
        let (next_fp, ret) = unsafe {
            let p = fp as *const usize;
            (p.read(), p.add(1).read())
        };
        if next_fp <= fp {
            return None;
        }
        fp = next_fp;
        pc = ret;
    }
}
