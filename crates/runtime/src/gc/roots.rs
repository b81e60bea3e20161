//! Roots on wasm stacks: the slots Cranelift's stack maps name.
//!
//! Compiled code declares every value of a traced reference type as
//! needing a stack map (see `hoist_cranelift`'s translator); Cranelift then
//! keeps each such value that is live across a call in a stack slot,
//! spilled before the call and reloaded after, and records the slots per
//! call site (`hoist_environ::StackMap`, keyed by the return address). A
//! collection rewrites those slots when objects move, and the frames load
//! the new values when the calls return.
//!
//! Frames are found by walking frame pointers (every frame of compiled
//! code has one, as for trap backtraces): a frame's first word is its
//! caller's frame pointer and the next the return address into the caller.
//! A walk starts at a wasm frame that called out (a GC builtin, or a host
//! function through its trampoline) and goes towards older frames while
//! the return address is in compiled code; the entry trampoline's caller
//! (`hoist_catch`) is not, which ends the activation.
//!
//! A store's wasm may be entered several times on one thread (wasm calls
//! the host, which calls wasm again). The host-call shim in `helpers.c`
//! records where each host call leaves wasm (the wasm-to-host trampoline's
//! frame), and each entry from the host (`crate::invoke_wasm`) saves that
//! record for the activation it interrupts, so a collection walks every
//! activation, innermost first.

use crate::code_registry;

/// Where the innermost activation's frames start, if any are live.
#[derive(Clone, Copy, Debug)]
pub enum Frames {
    /// A GC builtin called from wasm: the calling frame's frame pointer and
    /// the return address of the call.
    Wasm { fp: usize, pc: usize },
    /// Host code: the frames (if any) start at the store's recorded exit.
    Host,
}

/// Calls `visit` with every stack-map slot of the compiled frames from the
/// frame `fp` (which made the call returning to `pc`) to the end of its
/// activation.
///
/// # Safety
/// `fp` and `pc` must describe a live frame of compiled code on this
/// thread's stack whose frame-pointer chain leads (through compiled
/// frames only) to an entry trampoline.
pub unsafe fn trace_frames(mut fp: usize, mut pc: usize, visit: &mut dyn FnMut(&mut u64)) {
    const WORD: usize = std::mem::size_of::<usize>();
    loop {
        let Some((offset, tables)) = code_registry::lookup(pc) else {
            return;
        };
        if fp == 0 || !fp.is_multiple_of(WORD) {
            return;
        }
        if let Some(map) = tables.stack_map(offset) {
            let sp = fp - map.frame_size as usize;
            for slot in &map.slots {
                // SAFETY: Cranelift recorded a spilled reference at this
                // SP-relative offset of the live frame; the frame is
                // suspended in the call, so nothing else uses the slot.
                let slot = unsafe { &mut *((sp + *slot as usize) as *mut u64) };
                visit(slot);
            }
        }
        // SAFETY: `fp` is a live, aligned frame of compiled code: its
        // first two words are the caller's frame pointer and the return
        // address.
        let (next_fp, ret) = unsafe {
            let p = fp as *const usize;
            (p.read(), p.add(1).read())
        };
        if next_fp <= fp {
            return;
        }
        fp = next_fp;
        pc = ret;
    }
}
