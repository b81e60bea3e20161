//! Waiting for clocks and descriptors.
//!
//! `poll_oneoff` handles the three kinds of subscription Go, Zig, Rust's std
//! and Python rely on (../shared/research/users.md §7.6): clocks (relative
//! or absolute), `fd_read` and `fd_write`. Regular files and directories are
//! always ready; the standard streams and other non-regular files are
//! polled on their host fd with `poll(2)`, whose timeout is the earliest
//! clock deadline. With only clocks, the thread sleeps. Nothing busy-waits.
//!
//! Per-subscription problems (a bad fd, an unknown clock) become events
//! carrying an error, not a failure of the whole call.

use crate::funcs::clock;
use crate::funcs::fs_util::{put_u16, put_u64, rights};
use crate::table::{lock, Descriptor};
use crate::{Errno, GuestMemory, WasiCtx};
use std::os::fd::AsRawFd;
use std::time::Duration;

use crate::abi::{
    event, eventtype, subscription, EVENT_FD_READWRITE_HANGUP, SUBSCRIPTION_CLOCK_ABSTIME,
};

/// Size of a `subscription` in guest memory.
const SUBSCRIPTION_SIZE: u32 = subscription::SIZE;
/// Size of an `event` in guest memory.
const EVENT_SIZE: u32 = event::SIZE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SubscriptionKind {
    Clock {
        id: u32,
        timeout: u64,
        precision: u64,
        flags: u16,
    },
    FdRead(u32),
    FdWrite(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub userdata: u64,
    pub kind: SubscriptionKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Event {
    userdata: u64,
    error: Errno,
    ty: u8,
    nbytes: u64,
    flags: u16,
}

impl Event {
    fn new(sub: &Subscription, error: Errno) -> Event {
        let ty = match sub.kind {
            SubscriptionKind::Clock { .. } => eventtype::CLOCK,
            SubscriptionKind::FdRead(_) => eventtype::FD_READ,
            SubscriptionKind::FdWrite(_) => eventtype::FD_WRITE,
        };
        Event {
            userdata: sub.userdata,
            error,
            ty,
            nbytes: 0,
            flags: 0,
        }
    }

    fn ready(sub: &Subscription, nbytes: u64, flags: u16) -> Event {
        Event {
            nbytes,
            flags,
            ..Event::new(sub, Errno::Success)
        }
    }
}

pub(crate) fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}
pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
pub(crate) fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes one 48-byte `subscription`. An unknown tag is `EINVAL`.
fn decode_subscription(b: &[u8]) -> Result<Subscription, Errno> {
    debug_assert_eq!(b.len(), SUBSCRIPTION_SIZE as usize);
    use subscription::*;
    let userdata = le_u64(b, USERDATA);
    let kind = match b[TAG] {
        eventtype::CLOCK => SubscriptionKind::Clock {
            id: le_u32(b, CLOCK_ID),
            timeout: le_u64(b, CLOCK_TIMEOUT),
            precision: le_u64(b, CLOCK_PRECISION),
            flags: le_u16(b, CLOCK_FLAGS),
        },
        eventtype::FD_READ => SubscriptionKind::FdRead(le_u32(b, FD)),
        eventtype::FD_WRITE => SubscriptionKind::FdWrite(le_u32(b, FD)),
        _ => return Err(Errno::Inval),
    };
    Ok(Subscription { userdata, kind })
}

/// Encodes one 32-byte `event`; padding is zero.
fn encode_event(e: &Event) -> [u8; EVENT_SIZE as usize] {
    let mut b = [0u8; EVENT_SIZE as usize];
    put_u64(&mut b, event::USERDATA, e.userdata);
    put_u16(&mut b, event::ERROR, e.error as u16);
    b[event::TYPE] = e.ty;
    put_u64(&mut b, event::NBYTES, e.nbytes);
    put_u16(&mut b, event::FLAGS, e.flags);
    b
}

/// The clock deadlines are kept on: poll and sleep measure time like it.
const WAIT_CLOCK: u32 = 1; // monotonic

/// A clock subscription, as a deadline on the monotonic clock.
///
/// Every clock's timeout is converted once, when the call starts: the
/// CPU-time clocks barely advance while we sleep, so re-reading them would
/// keep us waiting far longer than asked.
struct ClockWait {
    sub: usize,
    deadline: u64,
}

impl ClockWait {
    /// Nanoseconds left before the deadline (0 once it passed).
    fn remaining(&self) -> u64 {
        clock::now(WAIT_CLOCK)
            .map(|now| self.deadline.saturating_sub(now))
            .unwrap_or(0)
    }
}

/// An fd subscription waiting on a host fd.
struct FdWait {
    sub: usize,
    read: bool,
}

/// Bytes readable from `fd` without blocking, if the host says so cheaply.
fn host_readable_bytes(fd: i32) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to the pointer we pass.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n as *mut libc::c_int) };
    if r == 0 && n > 0 {
        n as u64
    } else {
        0
    }
}

/// Turns the host's `revents` for one subscription into an event.
fn fd_event(sub: &Subscription, wait: &FdWait, fd: i32, revents: libc::c_short) -> Option<Event> {
    if revents == 0 {
        return None;
    }
    if revents & libc::POLLNVAL != 0 {
        return Some(Event::new(sub, Errno::Badf));
    }
    let hangup = revents & libc::POLLHUP != 0;
    let flags = if hangup { EVENT_FD_READWRITE_HANGUP } else { 0 };
    if wait.read {
        if revents & (libc::POLLIN | libc::POLLHUP) != 0 {
            return Some(Event::ready(sub, host_readable_bytes(fd), flags));
        }
    } else if revents & libc::POLLOUT != 0 || hangup {
        return Some(Event::ready(sub, 0, flags));
    }
    if revents & libc::POLLERR != 0 {
        // An error is pending: the next read or write reports it.
        return Some(Event::ready(sub, 0, flags));
    }
    None
}

/// The poll timeout in milliseconds for `nanos`, rounded up so we never
/// wake before a deadline (and so never spin on it).
fn poll_timeout_ms(nanos: Option<u64>) -> libc::c_int {
    match nanos {
        None => -1,
        Some(ns) => {
            let ms = ns.div_ceil(1_000_000);
            ms.min(libc::c_int::MAX as u64) as libc::c_int
        }
    }
}

/// The most subscriptions one `poll_oneoff` accepts: far more than any
/// real program waits on at once.
const MAX_SUBSCRIPTIONS: u32 = 1 << 16;

pub fn poll_oneoff(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    subscriptions: u32,
    events: u32,
    nsubscriptions: u32,
    nevents: u32,
) -> Result<(), Errno> {
    let layout = (SUBSCRIPTION_SIZE, decode_subscription as _);
    poll_oneoff_as(
        ctx,
        memory,
        subscriptions,
        events,
        nsubscriptions,
        nevents,
        layout,
    )
}

/// How subscriptions are laid out: their size and their decoder (preview1
/// and snapshot 0 differ; events are the same).
pub(crate) type SubscriptionLayout = (u32, fn(&[u8]) -> Result<Subscription, Errno>);

/// `poll_oneoff` with subscriptions in `layout`.
pub(crate) fn poll_oneoff_as(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    subscriptions: u32,
    events: u32,
    nsubscriptions: u32,
    nevents: u32,
    (subscription_size, decode): SubscriptionLayout,
) -> Result<(), Errno> {
    // The host keeps a few words per subscription; without a cap a guest
    // could make it allocate about twice its own memory in one call.
    if nsubscriptions > MAX_SUBSCRIPTIONS {
        return Err(Errno::Inval);
    }
    if nsubscriptions == 0 {
        return Err(Errno::Inval);
    }
    let in_len = nsubscriptions
        .checked_mul(subscription_size)
        .ok_or(Errno::Fault)?;
    let out_len = nsubscriptions.checked_mul(EVENT_SIZE).ok_or(Errno::Fault)?;
    // Check the whole output array up front: no partial results.
    memory.slice(events, out_len)?;
    memory.slice(nevents, 4)?;
    let subs = memory
        .slice(subscriptions, in_len)?
        .chunks_exact(subscription_size as usize)
        .map(decode)
        .collect::<Result<Vec<_>, Errno>>()?;

    let mut ready: Vec<Event> = Vec::new();
    let mut clocks: Vec<ClockWait> = Vec::new();
    let mut fd_waits: Vec<FdWait> = Vec::new();
    let mut pollfds: Vec<libc::pollfd> = Vec::new();

    for (i, sub) in subs.iter().enumerate() {
        match sub.kind {
            SubscriptionKind::Clock {
                id,
                timeout,
                precision: _,
                flags,
            } => match clock::now(id).and_then(|now| Ok((now, clock::now(WAIT_CLOCK)?))) {
                Ok((now, wait_now)) => {
                    let remaining = if flags & SUBSCRIPTION_CLOCK_ABSTIME != 0 {
                        timeout.saturating_sub(now)
                    } else {
                        timeout
                    };
                    clocks.push(ClockWait {
                        sub: i,
                        deadline: wait_now.saturating_add(remaining),
                    });
                }
                Err(errno) => ready.push(Event::new(sub, errno)),
            },
            SubscriptionKind::FdRead(fd) | SubscriptionKind::FdWrite(fd) => {
                let read = matches!(sub.kind, SubscriptionKind::FdRead(_));
                let entry = match ctx.table.get(fd) {
                    Err(errno) => {
                        ready.push(Event::new(sub, errno));
                        continue;
                    }
                    Ok(entry) => entry,
                };
                let mut guard = lock(&entry);
                // Polling needs its own right and the one to read or write.
                let io = if read {
                    rights::FD_READ
                } else {
                    rights::FD_WRITE
                };
                if let Err(errno) = guard
                    .require(rights::POLL_FD_READWRITE)
                    .and_then(|()| guard.require(io))
                {
                    ready.push(Event::new(sub, errno));
                    continue;
                }
                let host_fd = match &mut *guard {
                    Descriptor::Dir(_) => {
                        ready.push(Event::ready(sub, 0, 0));
                        continue;
                    }
                    Descriptor::Stdio(stdio, _, _) => stdio.host_fd(),
                    Descriptor::Socket(socket) => socket.fd.as_raw_fd(),
                    Descriptor::File(file) => match file.file.metadata() {
                        Ok(meta) if meta.is_file() => {
                            let nbytes = if read {
                                meta.len().saturating_sub(file.position)
                            } else {
                                0
                            };
                            ready.push(Event::ready(sub, nbytes, 0));
                            continue;
                        }
                        // Pipes, character devices, sockets: ask the host.
                        Ok(_) => file.file.as_raw_fd(),
                        Err(err) => {
                            ready.push(Event::new(sub, Errno::from(err)));
                            continue;
                        }
                    },
                };
                fd_waits.push(FdWait { sub: i, read });
                pollfds.push(libc::pollfd {
                    fd: host_fd,
                    events: if read { libc::POLLIN } else { libc::POLLOUT },
                    revents: 0,
                });
            }
        }
    }

    loop {
        // Wait for the earliest deadline, or not at all if something is
        // already known to be ready.
        let wait_ns = if !ready.is_empty() {
            Some(0)
        } else {
            clocks.iter().map(ClockWait::remaining).min()
        };
        if pollfds.is_empty() {
            match wait_ns {
                Some(0) => {}
                Some(ns) => std::thread::sleep(Duration::from_nanos(ns)),
                // Unreachable: nsubscriptions > 0, and every subscription
                // is a clock, an fd to poll or already an event.
                None => return Err(Errno::Inval),
            }
        } else {
            for p in &mut pollfds {
                p.revents = 0;
            }
            // SAFETY: `pollfds` is a valid array of that many pollfd.
            let n = unsafe {
                libc::poll(
                    pollfds.as_mut_ptr(),
                    pollfds.len() as libc::nfds_t,
                    poll_timeout_ms(wait_ns),
                )
            };
            if n < 0 {
                let err = std::io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(Errno::from(err));
            }
            for (wait, p) in fd_waits.iter().zip(&pollfds) {
                if let Some(event) = fd_event(&subs[wait.sub], wait, p.fd, p.revents) {
                    ready.push(event);
                }
            }
        }
        for c in &clocks {
            if c.remaining() == 0 {
                ready.push(Event::ready(&subs[c.sub], 0, 0));
            }
        }
        if !ready.is_empty() {
            break;
        }
    }

    for (i, event) in ready.iter().enumerate() {
        memory.write(events + i as u32 * EVENT_SIZE, &encode_event(event))?;
    }
    memory.write_u32(nevents, ready.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Access, Descriptor, OpenFile, WasiCtx};

    fn clock_sub(userdata: u64, id: u32, timeout: u64, flags: u16) -> [u8; 48] {
        let mut b = [0u8; 48];
        b[0..8].copy_from_slice(&userdata.to_le_bytes());
        b[8] = eventtype::CLOCK;
        b[16..20].copy_from_slice(&id.to_le_bytes());
        b[24..32].copy_from_slice(&timeout.to_le_bytes());
        b[32..40].copy_from_slice(&1000u64.to_le_bytes());
        b[40..42].copy_from_slice(&flags.to_le_bytes());
        b
    }

    fn fd_sub(userdata: u64, tag: u8, fd: u32) -> [u8; 48] {
        let mut b = [0xAAu8; 48];
        b[0..8].copy_from_slice(&userdata.to_le_bytes());
        b[8] = tag;
        b[16..20].copy_from_slice(&fd.to_le_bytes());
        b
    }

    #[test]
    fn decodes_subscriptions() {
        assert_eq!(
            decode_subscription(&clock_sub(7, 1, 5_000, 1)),
            Ok(Subscription {
                userdata: 7,
                kind: SubscriptionKind::Clock {
                    id: 1,
                    timeout: 5_000,
                    precision: 1000,
                    flags: 1
                }
            })
        );
        assert_eq!(
            decode_subscription(&fd_sub(9, eventtype::FD_READ, 0)).map(|s| s.kind),
            Ok(SubscriptionKind::FdRead(0))
        );
        assert_eq!(
            decode_subscription(&fd_sub(9, eventtype::FD_WRITE, 4)).map(|s| s.kind),
            Ok(SubscriptionKind::FdWrite(4))
        );
        assert_eq!(decode_subscription(&fd_sub(9, 3, 4)), Err(Errno::Inval));
    }

    #[test]
    fn encodes_events() {
        let b = encode_event(&Event {
            userdata: 0x0102030405060708,
            error: Errno::Badf,
            ty: eventtype::FD_READ,
            nbytes: 0x1122,
            flags: EVENT_FD_READWRITE_HANGUP,
        });
        assert_eq!(&b[0..8], &0x0102030405060708u64.to_le_bytes());
        assert_eq!(&b[8..10], &8u16.to_le_bytes());
        assert_eq!(b[10], 1);
        assert_eq!(&b[11..16], &[0; 5]);
        assert_eq!(&b[16..24], &0x1122u64.to_le_bytes());
        assert_eq!(&b[24..26], &1u16.to_le_bytes());
        assert_eq!(&b[26..32], &[0; 6]);
    }

    #[test]
    fn timeout_rounds_up() {
        assert_eq!(poll_timeout_ms(None), -1);
        assert_eq!(poll_timeout_ms(Some(0)), 0);
        assert_eq!(poll_timeout_ms(Some(1)), 1);
        assert_eq!(poll_timeout_ms(Some(1_000_000)), 1);
        assert_eq!(poll_timeout_ms(Some(1_000_001)), 2);
        assert_eq!(poll_timeout_ms(Some(u64::MAX)), libc::c_int::MAX);
    }

    /// Runs `poll_oneoff` on `subs` laid out at 0; events go at 1024.
    fn run(ctx: &mut WasiCtx, subs: &[[u8; 48]]) -> Result<Vec<Event>, Errno> {
        let mut bytes = vec![0u8; 4096];
        for (i, s) in subs.iter().enumerate() {
            bytes[i * 48..i * 48 + 48].copy_from_slice(s);
        }
        let mut memory = GuestMemory::new(&mut bytes);
        poll_oneoff(ctx, &mut memory, 0, 1024, subs.len() as u32, 4000)?;
        let n = memory.read_u32(4000)?;
        (0..n)
            .map(|i| {
                let b = memory.slice(1024 + i * 32, 32)?;
                let error = le_u16(b, 8);
                Ok(Event {
                    userdata: le_u64(b, 0),
                    // Tests only produce these.
                    error: match error {
                        0 => Errno::Success,
                        8 => Errno::Badf,
                        28 => Errno::Inval,
                        _ => Errno::Io,
                    },
                    ty: b[10],
                    nbytes: le_u64(b, 16),
                    flags: le_u16(b, 24),
                })
            })
            .collect()
    }

    #[test]
    fn no_subscriptions_is_einval() {
        let mut ctx = WasiCtx::builder().build();
        assert_eq!(run(&mut ctx, &[]), Err(Errno::Inval));
    }

    #[test]
    fn relative_clock_sleeps() {
        let mut ctx = WasiCtx::builder().build();
        let start = std::time::Instant::now();
        let events = run(&mut ctx, &[clock_sub(5, 1, 20_000_000, 0)]).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].userdata, 5);
        assert_eq!(events[0].ty, eventtype::CLOCK);
        assert_eq!(events[0].error, Errno::Success);
    }

    #[test]
    fn earliest_clock_wins_and_past_absolute_fires() {
        let mut ctx = WasiCtx::builder().build();
        let start = std::time::Instant::now();
        let now = clock::now(1).unwrap();
        let events = run(
            &mut ctx,
            &[
                clock_sub(1, 1, 10_000_000_000, 0),
                clock_sub(2, 1, now + 10_000_000, SUBSCRIPTION_CLOCK_ABSTIME),
            ],
        )
        .unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].userdata, 2);

        // An absolute deadline in the past is due at once.
        let events = run(&mut ctx, &[clock_sub(3, 0, 1, SUBSCRIPTION_CLOCK_ABSTIME)]).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].userdata, 3);
    }

    #[test]
    fn bad_fd_and_bad_clock_are_events() {
        let mut ctx = WasiCtx::builder().build();
        let start = std::time::Instant::now();
        let events = run(
            &mut ctx,
            &[
                fd_sub(1, eventtype::FD_READ, 99),
                clock_sub(2, 42, 0, 0),
                clock_sub(3, 1, 10_000_000_000, 0),
            ],
        )
        .unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].userdata, events[0].error), (1, Errno::Badf));
        assert_eq!(events[0].ty, eventtype::FD_READ);
        assert_eq!((events[1].userdata, events[1].error), (2, Errno::Inval));
        assert_eq!(events[1].ty, eventtype::CLOCK);
    }

    #[test]
    fn files_and_dirs_are_ready() {
        let dir = std::env::temp_dir().join(format!("hoist-poll-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("f"), b"0123456789").unwrap();
        let mut builder = WasiCtx::builder();
        builder.preopen_dir(&dir, "/d", false).unwrap();
        let mut ctx = builder.build();
        let file = match &mut *lock(&ctx.table.get(3).unwrap()) {
            Descriptor::Dir(d) => d.dir.open("f").unwrap(),
            _ => unreachable!(),
        };
        let fd = ctx
            .table
            .push(Descriptor::File(OpenFile {
                position: 4,
                ..OpenFile::new(file, Access::ReadWrite, true, false)
            }))
            .unwrap();
        let events = run(
            &mut ctx,
            &[
                fd_sub(1, eventtype::FD_READ, fd),
                fd_sub(2, eventtype::FD_WRITE, fd),
                fd_sub(3, eventtype::FD_READ, 3),
                clock_sub(4, 1, 10_000_000_000, 0),
            ],
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!((events[0].userdata, events[0].nbytes), (1, 6));
        assert_eq!(events[0].ty, eventtype::FD_READ);
        assert_eq!((events[1].userdata, events[1].ty), (2, eventtype::FD_WRITE));
        assert_eq!((events[2].userdata, events[2].error), (3, Errno::Success));
    }

    #[test]
    fn pipe_readiness_and_hangup() {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for two fds.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let [r, w] = fds;
        let sub = Subscription {
            userdata: 1,
            kind: SubscriptionKind::FdRead(0),
        };
        let wait = FdWait { sub: 0, read: true };
        let mut p = libc::pollfd {
            fd: r,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut p, 1, 0) }, 0);
        assert_eq!(fd_event(&sub, &wait, r, p.revents), None);
        // SAFETY: writes 3 bytes from a valid buffer.
        assert_eq!(unsafe { libc::write(w, b"abc".as_ptr().cast(), 3) }, 3);
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut p, 1, 0) }, 1);
        let event = fd_event(&sub, &wait, r, p.revents).unwrap();
        assert_eq!((event.nbytes, event.flags), (3, 0));
        // SAFETY: closing the fd we opened.
        unsafe { libc::close(w) };
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut p, 1, 0) }, 1);
        let event = fd_event(&sub, &wait, r, p.revents).unwrap();
        assert_eq!(event.flags, EVENT_FD_READWRITE_HANGUP);
        // SAFETY: closing the fd we opened.
        unsafe { libc::close(r) };
    }
}
