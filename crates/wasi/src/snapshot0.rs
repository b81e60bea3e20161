//! `wasi_unstable` (WASI snapshot 0), which older toolchains still emit,
//! as an adapter over the preview1 functions.
//!
//! The two ABIs have the same functions (preview1 added `sock_accept`),
//! errno values, rights, flags, `dirent`, `fdstat`, `prestat` and `event`.
//! They differ in three places, converted here (see [`crate::abi::snapshot0`]):
//! - `whence`: snapshot 0 numbers `cur`, `end`, `set` as 0, 1, 2;
//! - `filestat`: `nlink` is a `u32`, so the struct is 56 bytes, not 64;
//! - `subscription`: a clock subscription starts with a `u64` `identifier`,
//!   so it is 56 bytes, not 48, and the clock fields sit 8 bytes later.
//!
//! Everything else goes straight to the preview1 implementation, with the
//! same context, so a module may import from both.

use crate::abi::{eventtype, filestat, snapshot0, whence};
use crate::funcs::{self, poll, Subscription, SubscriptionKind};
use crate::linker::{errno, I32Exit};
use crate::{Errno, GuestMemory, WasiCtx};
use anyhow::Result;
use hoist::{Caller, Linker, Store};

/// The module name of snapshot 0 imports.
pub const MODULE: &str = "wasi_unstable";

/// The preview1 `whence` for a snapshot 0 one; anything else stays
/// invalid (`EINVAL` from `fd_seek`).
fn preview1_whence(old: u32) -> u32 {
    match old {
        snapshot0::whence::CUR => whence::CUR,
        snapshot0::whence::END => whence::END,
        snapshot0::whence::SET => whence::SET,
        _ => u32::MAX,
    }
}

/// A preview1 `filestat` laid out for snapshot 0. A link count that does
/// not fit its `u32` is `EOVERFLOW`, as `stat` says for a field too small.
fn snapshot0_filestat(
    new: &[u8; filestat::SIZE],
) -> Result<[u8; snapshot0::filestat::SIZE], Errno> {
    use snapshot0::filestat as old;
    let u64_at = |at: usize| poll::le_u64(new, at);
    let mut out = [0u8; old::SIZE];
    let put = |out: &mut [u8], at: usize, v: u64| out[at..at + 8].copy_from_slice(&v.to_le_bytes());
    put(&mut out, old::DEV, u64_at(filestat::DEV));
    put(&mut out, old::INO, u64_at(filestat::INO));
    out[old::FILETYPE] = new[filestat::FILETYPE];
    let nlink = u32::try_from(u64_at(filestat::NLINK)).map_err(|_| Errno::Overflow)?;
    out[old::NLINK..old::NLINK + 4].copy_from_slice(&nlink.to_le_bytes());
    put(&mut out, old::FILESIZE, u64_at(filestat::FILESIZE));
    put(&mut out, old::ATIM, u64_at(filestat::ATIM));
    put(&mut out, old::MTIM, u64_at(filestat::MTIM));
    put(&mut out, old::CTIM, u64_at(filestat::CTIM));
    Ok(out)
}

/// Decodes one 56-byte snapshot 0 `subscription`. The clock's
/// `identifier` has no use here (events carry `userdata`); an unknown tag
/// is `EINVAL`, as in preview1.
fn decode_subscription(b: &[u8]) -> Result<Subscription, Errno> {
    use snapshot0::subscription::*;
    debug_assert_eq!(b.len(), SIZE as usize);
    let kind = match b[TAG] {
        eventtype::CLOCK => SubscriptionKind::Clock {
            id: poll::le_u32(b, CLOCK_ID),
            timeout: poll::le_u64(b, CLOCK_TIMEOUT),
            precision: poll::le_u64(b, CLOCK_PRECISION),
            flags: poll::le_u16(b, CLOCK_FLAGS),
        },
        eventtype::FD_READ => SubscriptionKind::FdRead(poll::le_u32(b, FD)),
        eventtype::FD_WRITE => SubscriptionKind::FdWrite(poll::le_u32(b, FD)),
        _ => return Err(Errno::Inval),
    };
    Ok(Subscription {
        userdata: poll::le_u64(b, USERDATA),
        kind,
    })
}

pub fn fd_seek(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    offset: u64,
    whence: u32,
    newoffset: u32,
) -> Result<(), Errno> {
    funcs::fd_seek(ctx, memory, fd, offset, preview1_whence(whence), newoffset)
}

pub fn fd_filestat_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    out: u32,
) -> Result<(), Errno> {
    let stat = snapshot0_filestat(&funcs::fd_filestat(ctx, fd)?)?;
    memory.write(out, &stat)
}

pub fn path_filestat_get(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    out: u32,
) -> Result<(), Errno> {
    let stat = funcs::path_filestat(ctx, memory, fd, flags, path, path_len)?;
    memory.write(out, &snapshot0_filestat(&stat)?)
}

pub fn poll_oneoff(
    ctx: &mut WasiCtx,
    memory: &mut GuestMemory,
    subscriptions: u32,
    events: u32,
    nsubscriptions: u32,
    nevents: u32,
) -> Result<(), Errno> {
    let layout = (snapshot0::subscription::SIZE, decode_subscription as _);
    poll::poll_oneoff_as(
        ctx,
        memory,
        subscriptions,
        events,
        nsubscriptions,
        nevents,
        layout,
    )
}

/// Defines every `wasi_unstable` function in `linker`, each reaching its
/// [`WasiCtx`] through `get` on the store's data: the converted ones from
/// this module, the rest straight from preview1.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    store: &mut Store<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> Result<()> {
    macro_rules! define_all {
        ($( $path:ident :: $name:ident ( $($arg:ident : $ty:ident),* ); )*) => {$(
            linker.func_wrap(
                store,
                MODULE,
                stringify!($name),
                move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> i32 {
                    let (memory, data) = caller.memory();
                    errno($path::$name(get(data), &mut GuestMemory::new(memory), $($arg),*))
                },
            )?;
        )*};
    }
    // Different in snapshot 0.
    mod converted {
        pub use super::{fd_filestat_get, fd_seek, path_filestat_get, poll_oneoff};
    }
    define_all! {
        converted::fd_seek(fd: u32, offset: u64, whence: u32, newoffset: u32);
        converted::fd_filestat_get(fd: u32, out: u32);
        converted::path_filestat_get(fd: u32, flags: u32, path: u32, path_len: u32, out: u32);
        converted::poll_oneoff(subscriptions: u32, events: u32, nsubscriptions: u32, nevents: u32);
        funcs::args_get(argv: u32, argv_buf: u32);
        funcs::args_sizes_get(argc: u32, argv_buf_size: u32);
        funcs::environ_get(environ: u32, environ_buf: u32);
        funcs::environ_sizes_get(count: u32, buf_size: u32);
        funcs::clock_res_get(id: u32, out: u32);
        funcs::clock_time_get(id: u32, precision: u64, out: u32);
        funcs::fd_advise(fd: u32, offset: u64, len: u64, advice: u32);
        funcs::fd_allocate(fd: u32, offset: u64, len: u64);
        funcs::fd_close(fd: u32);
        funcs::fd_datasync(fd: u32);
        funcs::fd_fdstat_get(fd: u32, out: u32);
        funcs::fd_fdstat_set_flags(fd: u32, flags: u32);
        funcs::fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64);
        funcs::fd_filestat_set_size(fd: u32, size: u64);
        funcs::fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, fst_flags: u32);
        funcs::fd_pread(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nread: u32);
        funcs::fd_prestat_get(fd: u32, out: u32);
        funcs::fd_prestat_dir_name(fd: u32, path: u32, path_len: u32);
        funcs::fd_pwrite(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nwritten: u32);
        funcs::fd_read(fd: u32, iovs: u32, iovs_len: u32, nread: u32);
        funcs::fd_readdir(fd: u32, buf: u32, buf_len: u32, cookie: u64, bufused: u32);
        funcs::fd_renumber(fd: u32, to: u32);
        funcs::fd_sync(fd: u32);
        funcs::fd_tell(fd: u32, out: u32);
        funcs::fd_write(fd: u32, iovs: u32, iovs_len: u32, nwritten: u32);
        funcs::path_create_directory(fd: u32, path: u32, path_len: u32);
        funcs::path_filestat_set_times(fd: u32, flags: u32, path: u32, path_len: u32, atim: u64, mtim: u64, fst_flags: u32);
        funcs::path_link(old_fd: u32, old_flags: u32, old_path: u32, old_path_len: u32, new_fd: u32, new_path: u32, new_path_len: u32);
        funcs::path_open(fd: u32, dirflags: u32, path: u32, path_len: u32, oflags: u32, rights_base: u64, rights_inheriting: u64, fdflags: u32, opened_fd: u32);
        funcs::path_readlink(fd: u32, path: u32, path_len: u32, buf: u32, buf_len: u32, bufused: u32);
        funcs::path_remove_directory(fd: u32, path: u32, path_len: u32);
        funcs::path_rename(fd: u32, old_path: u32, old_path_len: u32, new_fd: u32, new_path: u32, new_path_len: u32);
        funcs::path_symlink(old_path: u32, old_path_len: u32, fd: u32, new_path: u32, new_path_len: u32);
        funcs::path_unlink_file(fd: u32, path: u32, path_len: u32);
        funcs::proc_raise(signal: u32);
        funcs::sched_yield();
        funcs::random_get(buf: u32, len: u32);
        funcs::sock_recv(fd: u32, ri_data: u32, ri_data_len: u32, ri_flags: u32, ro_datalen: u32, ro_flags: u32);
        funcs::sock_send(fd: u32, si_data: u32, si_data_len: u32, si_flags: u32, so_datalen: u32);
        funcs::sock_shutdown(fd: u32, how: u32);
    }
    linker.func_wrap(
        store,
        MODULE,
        "proc_exit",
        |_: Caller<'_, T>, code: i32| -> Result<()> { Err(anyhow::Error::new(I32Exit(code))) },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whence_is_renumbered() {
        assert_eq!(preview1_whence(0), whence::CUR);
        assert_eq!(preview1_whence(1), whence::END);
        assert_eq!(preview1_whence(2), whence::SET);
        assert_eq!(preview1_whence(3), u32::MAX);
    }

    #[test]
    fn filestat_has_a_u32_nlink() {
        let mut new = [0u8; filestat::SIZE];
        for (at, v) in [
            (filestat::DEV, 1u64),
            (filestat::INO, 2),
            (filestat::NLINK, 3),
            (filestat::FILESIZE, 4),
            (filestat::ATIM, 5),
            (filestat::MTIM, 6),
            (filestat::CTIM, 7),
        ] {
            new[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        new[filestat::FILETYPE] = 4;
        let old = snapshot0_filestat(&new).unwrap();
        let mut expected = Vec::new();
        expected.extend_from_slice(&1u64.to_le_bytes());
        expected.extend_from_slice(&2u64.to_le_bytes());
        expected.extend_from_slice(&[4, 0, 0, 0]);
        expected.extend_from_slice(&3u32.to_le_bytes());
        for v in 4u64..=7 {
            expected.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(old.to_vec(), expected);

        new[filestat::NLINK..filestat::NLINK + 8].copy_from_slice(&(1u64 << 32).to_le_bytes());
        assert_eq!(snapshot0_filestat(&new), Err(Errno::Overflow));
    }

    #[test]
    fn clock_subscriptions_have_an_identifier() {
        let mut b = [0u8; 56];
        b[0..8].copy_from_slice(&7u64.to_le_bytes());
        b[8] = eventtype::CLOCK;
        b[16..24].copy_from_slice(&0xdeadu64.to_le_bytes());
        b[24..28].copy_from_slice(&1u32.to_le_bytes());
        b[32..40].copy_from_slice(&5000u64.to_le_bytes());
        b[40..48].copy_from_slice(&10u64.to_le_bytes());
        b[48..50].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(
            decode_subscription(&b),
            Ok(Subscription {
                userdata: 7,
                kind: SubscriptionKind::Clock {
                    id: 1,
                    timeout: 5000,
                    precision: 10,
                    flags: 1
                }
            })
        );
        b[8] = eventtype::FD_WRITE;
        assert_eq!(
            decode_subscription(&b).map(|s| s.kind),
            Ok(SubscriptionKind::FdWrite(0xdead))
        );
        b[8] = 3;
        assert_eq!(decode_subscription(&b), Err(Errno::Inval));
    }
}
