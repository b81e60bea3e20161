//! Clocks.

use crate::abi::clockid;
use crate::{Errno, GuestMemory, WasiCtx};

/// The host clock behind a WASI clock id.
pub(crate) fn host_clock(id: u32) -> Result<libc::clockid_t, Errno> {
    Ok(match id {
        clockid::REALTIME => libc::CLOCK_REALTIME,
        clockid::MONOTONIC => libc::CLOCK_MONOTONIC,
        clockid::PROCESS_CPUTIME_ID => libc::CLOCK_PROCESS_CPUTIME_ID,
        clockid::THREAD_CPUTIME_ID => libc::CLOCK_THREAD_CPUTIME_ID,
        _ => return Err(Errno::Inval),
    })
}

fn nanos(ts: libc::timespec) -> u64 {
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// The current time of a WASI clock, in nanoseconds.
pub(crate) fn now(id: u32) -> Result<u64, Errno> {
    let clock = host_clock(id)?;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Err(Errno::from(std::io::Error::last_os_error()));
    }
    Ok(nanos(ts))
}

pub fn clock_res_get(
    _ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    id: u32,
    out: u32,
) -> Result<(), Errno> {
    let clock = host_clock(id)?;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    if unsafe { libc::clock_getres(clock, &mut ts) } != 0 {
        return Err(Errno::from(std::io::Error::last_os_error()));
    }
    memory.write_u64(out, nanos(ts).max(1))
}

pub fn clock_time_get(
    _ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    id: u32,
    _precision: u64,
    out: u32,
) -> Result<(), Errno> {
    memory.write_u64(out, now(id)?)
}
