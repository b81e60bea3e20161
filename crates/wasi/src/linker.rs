//! Defining the `wasi_snapshot_preview1` imports in a linker.

use crate::{funcs, Errno, GuestMemory, WasiCtx};
use anyhow::Result;
use hoist::{Caller, Linker, Store};

/// The module name of WASI preview1 imports.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The guest called `proc_exit(code)`. Returned as the error of the call
/// that ran the guest; the CLI exits with `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl std::fmt::Display for I32Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exited with status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

/// The errno a WASI call returns to the guest.
pub(crate) fn errno(result: Result<(), Errno>) -> i32 {
    match result {
        Ok(()) => Errno::Success as i32,
        Err(errno) => errno as i32,
    }
}

/// Defines one typed host function per WASI call: the wasm arguments
/// arrive as the closure's (u32 for `i32`, u64 for `i64`), the caller's
/// `memory` is found in constant time, and the errno goes back as the
/// `i32` result. Nothing is allocated per call.
macro_rules! define_all {
    ($linker:ident, $store:ident, $get:ident; $( $name:ident ( $($arg:ident : $ty:ident),* ); )*) => {$(
        $linker.func_wrap(
            $store,
            MODULE,
            stringify!($name),
            move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> i32 {
                let (memory, data) = caller.memory();
                errno(funcs::$name($get(data), &mut GuestMemory::new(memory), $($arg),*))
            },
        )?;
    )*};
}

/// Defines every `wasi_snapshot_preview1` function in `linker`, each
/// reaching its [`WasiCtx`] through `get` on the store's data.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    store: &mut Store<T>,
    get: fn(&mut T) -> &mut WasiCtx,
) -> Result<()> {
    define_all! { linker, store, get;
        args_get(argv: u32, argv_buf: u32);
        args_sizes_get(argc: u32, argv_buf_size: u32);
        environ_get(environ: u32, environ_buf: u32);
        environ_sizes_get(count: u32, buf_size: u32);
        clock_res_get(id: u32, out: u32);
        clock_time_get(id: u32, precision: u64, out: u32);
        fd_advise(fd: u32, offset: u64, len: u64, advice: u32);
        fd_allocate(fd: u32, offset: u64, len: u64);
        fd_close(fd: u32);
        fd_datasync(fd: u32);
        fd_fdstat_get(fd: u32, out: u32);
        fd_fdstat_set_flags(fd: u32, flags: u32);
        fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64);
        fd_filestat_get(fd: u32, out: u32);
        fd_filestat_set_size(fd: u32, size: u64);
        fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, fst_flags: u32);
        fd_pread(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nread: u32);
        fd_prestat_get(fd: u32, out: u32);
        fd_prestat_dir_name(fd: u32, path: u32, path_len: u32);
        fd_pwrite(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nwritten: u32);
        fd_read(fd: u32, iovs: u32, iovs_len: u32, nread: u32);
        fd_readdir(fd: u32, buf: u32, buf_len: u32, cookie: u64, bufused: u32);
        fd_renumber(fd: u32, to: u32);
        fd_seek(fd: u32, offset: u64, whence: u32, newoffset: u32);
        fd_sync(fd: u32);
        fd_tell(fd: u32, out: u32);
        fd_write(fd: u32, iovs: u32, iovs_len: u32, nwritten: u32);
        path_create_directory(fd: u32, path: u32, path_len: u32);
        path_filestat_get(fd: u32, flags: u32, path: u32, path_len: u32, out: u32);
        path_filestat_set_times(fd: u32, flags: u32, path: u32, path_len: u32, atim: u64, mtim: u64, fst_flags: u32);
        path_link(old_fd: u32, old_flags: u32, old_path: u32, old_path_len: u32, new_fd: u32, new_path: u32, new_path_len: u32);
        path_open(fd: u32, dirflags: u32, path: u32, path_len: u32, oflags: u32, rights_base: u64, rights_inheriting: u64, fdflags: u32, opened_fd: u32);
        path_readlink(fd: u32, path: u32, path_len: u32, buf: u32, buf_len: u32, bufused: u32);
        path_remove_directory(fd: u32, path: u32, path_len: u32);
        path_rename(fd: u32, old_path: u32, old_path_len: u32, new_fd: u32, new_path: u32, new_path_len: u32);
        path_symlink(old_path: u32, old_path_len: u32, fd: u32, new_path: u32, new_path_len: u32);
        path_unlink_file(fd: u32, path: u32, path_len: u32);
        poll_oneoff(subscriptions: u32, events: u32, nsubscriptions: u32, nevents: u32);
        proc_raise(signal: u32);
        sched_yield();
        random_get(buf: u32, len: u32);
        sock_accept(fd: u32, flags: u32, fd_out: u32);
        sock_recv(fd: u32, ri_data: u32, ri_data_len: u32, ri_flags: u32, ro_datalen: u32, ro_flags: u32);
        sock_send(fd: u32, si_data: u32, si_data_len: u32, si_flags: u32, so_datalen: u32);
        sock_shutdown(fd: u32, how: u32);
    }
    linker.func_wrap(
        store,
        MODULE,
        "proc_exit",
        |_: Caller<'_, T>, code: i32| -> Result<()> { Err(anyhow::Error::new(I32Exit(code))) },
    )?;
    Ok(())
}
