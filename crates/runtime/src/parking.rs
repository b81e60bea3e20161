//! The wait queue behind `memory.atomic.wait32/64` and
//! `memory.atomic.notify` on shared memories (the threads proposal).
//!
//! Waiters park on the native address they wait at, so every instance that
//! maps the same shared memory, on any thread, meets the same queue. The
//! value is compared under the queue's lock, and `notify` takes the same
//! lock, so a notify that follows a write cannot slip between a waiter's
//! check and its sleep. Waiters are woken in the order they came.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct Waiter {
    address: usize,
    woken: AtomicBool,
    wake: Condvar,
}

/// Queues by address hash; a queue holds the waiters of several addresses.
const QUEUES: usize = 64;

static QUEUE: [Mutex<Vec<Arc<Waiter>>>; QUEUES] = [const { Mutex::new(Vec::new()) }; QUEUES];

fn queue(address: usize) -> MutexGuard<'static, Vec<Arc<Waiter>>> {
    // Atomics are at least 4-byte aligned; mix the higher bits in.
    let index = (address >> 2 ^ address >> 8) % QUEUES;
    QUEUE[index].lock().unwrap_or_else(|e| e.into_inner())
}

/// The proposal's results of a wait.
pub const WAIT_WOKEN: u64 = 0;
pub const WAIT_NOT_EQUAL: u64 = 1;
pub const WAIT_TIMED_OUT: u64 = 2;

/// Waits at `address` while `equal()` holds (checked once, under the
/// queue's lock), until notified or `timeout_ns` (negative: no timeout)
/// passes.
fn wait(address: usize, equal: impl FnOnce() -> bool, timeout_ns: i64) -> u64 {
    let mut waiters = queue(address);
    if !equal() {
        return WAIT_NOT_EQUAL;
    }
    let deadline = u64::try_from(timeout_ns)
        .ok()
        .and_then(|ns| Instant::now().checked_add(Duration::from_nanos(ns)));
    let me = Arc::new(Waiter {
        address,
        woken: AtomicBool::new(false),
        wake: Condvar::new(),
    });
    waiters.push(Arc::clone(&me));
    loop {
        if me.woken.load(Ordering::Acquire) {
            return WAIT_WOKEN;
        }
        waiters = match deadline {
            // No timeout, or one too far away to represent.
            None => me.wake.wait(waiters).unwrap_or_else(|e| e.into_inner()),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    waiters.retain(|w| !Arc::ptr_eq(w, &me));
                    return WAIT_TIMED_OUT;
                }
                me.wake
                    .wait_timeout(waiters, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
    }
}

/// `memory.atomic.wait32` at `address`.
///
/// # Safety
/// `address` must be a 4-byte aligned address inside a live shared memory.
pub unsafe fn wait32(address: usize, expected: u32, timeout_ns: i64) -> u64 {
    // SAFETY: per the contract; the memory is shared, so the access is
    // atomic like every other thread's.
    let cell = unsafe { AtomicU32::from_ptr(address as *mut u32) };
    wait(
        address,
        || cell.load(Ordering::SeqCst) == expected,
        timeout_ns,
    )
}

/// `memory.atomic.wait64` at `address`.
///
/// # Safety
/// `address` must be an 8-byte aligned address inside a live shared memory.
pub unsafe fn wait64(address: usize, expected: u64, timeout_ns: i64) -> u64 {
    // SAFETY: as in `wait32`.
    let cell = unsafe { AtomicU64::from_ptr(address as *mut u64) };
    wait(
        address,
        || cell.load(Ordering::SeqCst) == expected,
        timeout_ns,
    )
}

/// `memory.atomic.notify`: wakes up to `count` waiters at `address`, the
/// longest-waiting first; how many woke.
pub fn notify(address: usize, count: u32) -> u64 {
    let mut waiters = queue(address);
    let mut woken = 0u32;
    waiters.retain(|waiter| {
        if woken < count && waiter.address == address {
            woken += 1;
            waiter.woken.store(true, Ordering::Release);
            waiter.wake.notify_one();
            false
        } else {
            true
        }
    });
    u64::from(woken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_checks_the_value_and_times_out() {
        let cell = Box::new(AtomicU32::new(5));
        let address = &*cell as *const AtomicU32 as usize;
        // SAFETY: `cell` is a live, aligned u32 used atomically.
        unsafe {
            assert_eq!(wait32(address, 4, -1), WAIT_NOT_EQUAL);
            assert_eq!(wait32(address, 5, 1_000_000), WAIT_TIMED_OUT);
            assert_eq!(wait32(address, 5, 0), WAIT_TIMED_OUT);
        }
        assert_eq!(notify(address, 10), 0);
    }

    #[test]
    fn notify_wakes_waiters_in_order() {
        let cell: &'static AtomicU32 = Box::leak(Box::new(AtomicU32::new(0)));
        let address = cell as *const AtomicU32 as usize;
        let threads: Vec<_> = (0..3)
            .map(|_| {
                // SAFETY: as above; the cell is leaked, so it lives on.
                std::thread::spawn(move || unsafe { wait32(address, 0, -1) })
            })
            .collect();
        // Wait until all three are queued.
        while queue(address)
            .iter()
            .filter(|w| w.address == address)
            .count()
            < 3
        {
            std::thread::yield_now();
        }
        assert_eq!(notify(address, 2), 2);
        assert_eq!(notify(address, 2), 1);
        for thread in threads {
            assert_eq!(thread.join().unwrap(), WAIT_WOKEN);
        }
    }
}
