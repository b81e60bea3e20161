//! Randomness, scheduling, signals.

use crate::{Errno, GuestMemory, WasiCtx};
use cap_rand::RngCore;

pub fn random_get(
    _ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    buf: u32,
    len: u32,
) -> Result<(), Errno> {
    let bytes = memory.slice_mut(buf, len)?;
    // The thread RNG is a CSPRNG seeded from the OS.
    cap_rand::thread_rng(cap_rand::ambient_authority()).fill_bytes(bytes);
    Ok(())
}

pub fn sched_yield(_ctx: &mut WasiCtx, _memory: &mut GuestMemory) -> Result<(), Errno> {
    std::thread::yield_now();
    Ok(())
}

/// Preview1 has no signal delivery; raising one is not supported.
pub fn proc_raise(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _signal: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}
