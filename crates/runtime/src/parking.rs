//! The wait queue behind `memory.atomic.wait32/64` and
//! `memory.atomic.notify` on shared memories (the threads proposal).
//!
//! Waiters park on the native address they wait at, so every instance that
//! maps the same shared memory, on any thread, meets the same waiters.
//!
//! On Linux a 32-bit wait is a futex wait on the wasm address itself: the
//! kernel compares the value and sleeps atomically, and a notify is one
//! futex wake, as native threads do (a queue of our own costs several
//! system calls per handoff). 64-bit waits, which a futex cannot express,
//! and other systems use a queue: the value is compared under the queue's
//! lock, and `notify` takes the same lock, so a notify that follows a write
//! cannot slip between a waiter's check and its sleep. Waiters are woken in
//! the order they came. A notify wakes both kinds.

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
#[cfg(target_os = "linux")]
pub unsafe fn wait32(address: usize, expected: u32, timeout_ns: i64) -> u64 {
    let deadline = u64::try_from(timeout_ns)
        .ok()
        .and_then(|ns| Instant::now().checked_add(Duration::from_nanos(ns)));
    loop {
        let timeout = match deadline {
            None => None,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    // No time to sleep, but the value is still compared
                    // first: a zero timeout on a changed word is
                    // "not-equal", not "timed-out".
                    // SAFETY: as for the futex below; the memory is shared,
                    // so the load is atomic like every other thread's.
                    let cell = unsafe { AtomicU32::from_ptr(address as *mut u32) };
                    return if cell.load(Ordering::SeqCst) == expected {
                        WAIT_TIMED_OUT
                    } else {
                        WAIT_NOT_EQUAL
                    };
                }
                Some(libc::timespec {
                    tv_sec: left.as_secs() as libc::time_t,
                    tv_nsec: libc::c_long::from(left.subsec_nanos() as i32),
                })
            }
        };
        let timeout_ptr = timeout
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `address` is an aligned word of live shared memory (the
        // contract); FUTEX_WAIT only reads it, atomically, and sleeps.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_futex,
                address as *const u32,
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                timeout_ptr,
            )
        };
        if rc == 0 {
            return WAIT_WOKEN;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EAGAIN) => return WAIT_NOT_EQUAL,
            Some(libc::ETIMEDOUT) => return WAIT_TIMED_OUT,
            // A signal: wait again for what is left.
            _ => continue,
        }
    }
}

/// `memory.atomic.wait32` at `address`.
///
/// # Safety
/// `address` must be a 4-byte aligned address inside a live shared memory.
#[cfg(not(target_os = "linux"))]
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
    let futex_woken = futex_wake(address, count);
    let left = count.saturating_sub(u32::try_from(futex_woken).unwrap_or(u32::MAX));
    if left == 0 {
        return futex_woken;
    }
    futex_woken + queue_notify(address, left)
}

/// Wakes up to `count` futex waiters at `address` (32-bit waits on Linux).
#[cfg(target_os = "linux")]
fn futex_wake(address: usize, count: u32) -> u64 {
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    // SAFETY: FUTEX_WAKE never touches memory; it only wakes threads
    // sleeping on the address.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            address as *const u32,
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            count,
        )
    };
    u64::try_from(rc).unwrap_or(0)
}

#[cfg(not(target_os = "linux"))]
fn futex_wake(_address: usize, _count: u32) -> u64 {
    0
}

/// Wakes up to `count` queued waiters (64-bit waits, or every wait off
/// Linux) at `address`.
fn queue_notify(address: usize, count: u32) -> u64 {
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
            // A zero timeout still compares first (threads/atomic.wast).
            assert_eq!(wait32(address, 4, 0), WAIT_NOT_EQUAL);
            assert_eq!(wait32(address, 4, 1), WAIT_NOT_EQUAL);
            let wide = AtomicU64::new(7);
            let wide = &wide as *const AtomicU64 as usize;
            assert_eq!(wait64(wide, 6, 0), WAIT_NOT_EQUAL);
            assert_eq!(wait64(wide, 7, 0), WAIT_TIMED_OUT);
        }
        assert_eq!(notify(address, 10), 0);
    }

    #[test]
    fn notify_wakes_each_waiter_once() {
        let cell: &'static AtomicU32 = Box::leak(Box::new(AtomicU32::new(0)));
        let address = cell as *const AtomicU32 as usize;
        let threads: Vec<_> = (0..3)
            .map(|_| {
                // SAFETY: as above; the cell is leaked, so it lives on.
                std::thread::spawn(move || unsafe { wait32(address, 0, -1) })
            })
            .collect();
        // Wake them one at a time as they arrive: three wakes in all.
        let mut woken = 0;
        while woken < 3 {
            woken += notify(address, 1);
            std::thread::yield_now();
        }
        for thread in threads {
            assert_eq!(thread.join().unwrap(), WAIT_WOKEN);
        }
        assert_eq!(notify(address, 10), 0);
    }

    #[test]
    fn wide_waiters_queue_in_order() {
        let cell: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(7)));
        let address = cell as *const AtomicU64 as usize;
        // SAFETY: a live, aligned u64 used atomically.
        unsafe {
            assert_eq!(wait64(address, 8, -1), WAIT_NOT_EQUAL);
            assert_eq!(wait64(address, 7, 1_000_000), WAIT_TIMED_OUT);
        }
        let threads: Vec<_> = (0..3)
            // SAFETY: as above; the cell is leaked, so it lives on.
            .map(|_| std::thread::spawn(move || unsafe { wait64(address, 7, -1) }))
            .collect();
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
