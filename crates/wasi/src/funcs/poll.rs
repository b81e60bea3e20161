//! Waiting for clocks and descriptors.

use crate::{Errno, GuestMemory, WasiCtx};

pub fn poll_oneoff(
    _ctx: &mut WasiCtx,
    _memory: &mut GuestMemory,
    _subscriptions: u32,
    _events: u32,
    _nsubscriptions: u32,
    _nevents: u32,
) -> Result<(), Errno> {
    Err(Errno::Nosys)
}
