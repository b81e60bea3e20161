//! Randomness, scheduling, signals.

use crate::{Errno, GuestMemory, WasiCtx};

pub fn random_get(
    _ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    buf: u32,
    len: u32,
) -> Result<(), Errno> {
    let mut bytes = memory.slice_mut(buf, len)?;
    // The kernel's CSPRNG through getrandom(2): no descriptor to open, so
    // it works however many the guest holds.
    while !bytes.is_empty() {
        match rustix::rand::getrandom(&mut *bytes, rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => bytes = &mut bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(Errno::from(err)),
        }
    }
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
