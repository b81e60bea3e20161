//! Stdio goes straight to the host's fds 0, 1 and 2: big writes arrive
//! whole (also when the host pipe is non-blocking), a closed pipe is
//! `EPIPE` rather than a crash, and reading stdin takes only what the
//! guest asked for.
//!
//! Each case runs in a child process (this binary again, filtered to one
//! test) because it points the process's own fd 0 or 1 at a pipe.

mod common;

use common::*;
use hoist_wasi::{Errno, WasiCtxBuilder};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Command;

const CHILD_ENV: &str = "HOIST_WASI_STDIO_CHILD";

/// Runs the test `name` alone in a child with `CHILD_ENV` set.
fn in_child(name: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "child ran no test:\n{stderr}"
    );
}

fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two fds.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe() just returned these fds; nothing else owns them.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Points host fd `target` at `fd` until the guard drops.
struct Redirect {
    target: i32,
    saved: i32,
}

impl Redirect {
    fn new(fd: &OwnedFd, target: i32) -> Redirect {
        use std::os::fd::AsRawFd;
        // SAFETY: plain fd juggling on fds we own.
        unsafe {
            let saved = libc::dup(target);
            assert!(saved >= 0);
            assert!(libc::dup2(fd.as_raw_fd(), target) >= 0);
            Redirect { target, saved }
        }
    }
}

impl Drop for Redirect {
    fn drop(&mut self) {
        // SAFETY: restores the fd we saved.
        unsafe {
            libc::dup2(self.saved, self.target);
            libc::close(self.saved);
        }
    }
}

fn set_nonblocking(fd: &OwnedFd) {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

/// One fd_write of 8 MiB to stdout arrives whole.
fn big_write(nonblocking: bool) {
    const SIZE: usize = 8 << 20;
    let mut g = Guest::with(WasiCtxBuilder::new().build());
    g.memory.grow(&mut g.store, 130).unwrap();
    let base = 65536u32;
    for (i, b) in g.mem()[base as usize..base as usize + SIZE]
        .iter_mut()
        .enumerate()
    {
        *b = (i % 251) as u8;
    }
    let (read_end, write_end) = pipe();
    if nonblocking {
        set_nonblocking(&write_end);
    }
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut file = std::fs::File::from(read_end);
        let mut all = Vec::new();
        file.read_to_end(&mut all).unwrap();
        all
    });
    let result = {
        let _redirect = Redirect::new(&write_end, 1);
        drop(write_end);
        g.iov(base, SIZE as u32);
        g.call("fd_write", &[1, IOVS as u64, 1, OUT as u64])
    };
    let written = g.u32_at(OUT);
    let got = reader.join().unwrap();
    assert_eq!(result, Ok(()));
    assert_eq!(written as usize, SIZE);
    assert_eq!(got.len(), SIZE);
    assert!(got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
}

#[test]
fn stdout_big_write() {
    if is_child() {
        big_write(false);
    } else {
        in_child("stdout_big_write");
    }
}

#[test]
fn stdout_big_write_nonblocking_pipe() {
    if is_child() {
        big_write(true);
    } else {
        in_child("stdout_big_write_nonblocking_pipe");
    }
}

#[test]
fn stdout_closed_pipe_is_epipe() {
    if !is_child() {
        return in_child("stdout_closed_pipe_is_epipe");
    }
    let mut g = Guest::with(WasiCtxBuilder::new().build());
    let (read_end, write_end) = pipe();
    drop(read_end);
    let (first, second) = {
        let _redirect = Redirect::new(&write_end, 1);
        (g.write(1, b"hello"), g.write(1, b"again"))
    };
    assert_eq!(first, Err(Errno::Pipe));
    assert_eq!(second, Err(Errno::Pipe));
    // stderr is a separate stream and still works.
    let (read_end, write_end) = pipe();
    {
        let _redirect = Redirect::new(&write_end, 2);
        assert_eq!(g.write(2, b"err"), Ok(3));
    }
    drop(write_end);
    let mut buf = [0u8; 8];
    use std::io::Read;
    let n = std::fs::File::from(read_end).read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"err");
}

#[test]
fn stdin_reads_only_what_is_asked() {
    if !is_child() {
        return in_child("stdin_reads_only_what_is_asked");
    }
    use std::io::Write;
    let mut g = Guest::with(WasiCtxBuilder::new().build());
    let (read_end, write_end) = pipe();
    let mut writer = std::fs::File::from(write_end);
    writer.write_all(b"hello world").unwrap();
    let _redirect = Redirect::new(&read_end, 0);
    drop(read_end);
    assert_eq!(g.read(0, 5).unwrap(), b"hello");
    // Nothing was read ahead: the rest is still in the host pipe.
    let mut rest = [0u8; 3];
    // SAFETY: reading into a local buffer from fd 0.
    let n = unsafe { libc::read(0, rest.as_mut_ptr().cast(), 3) };
    assert_eq!(&rest[..n as usize], b" wo");
    assert_eq!(g.read(0, 100).unwrap(), b"rld");
    drop(writer);
    // End of input is a zero-length read.
    assert_eq!(g.read(0, 100).unwrap(), b"");
    // stdin cannot be written, nor stdout read.
    assert_eq!(g.write(0, b"x"), Err(Errno::Badf));
    assert_eq!(g.read(1, 1), Err(Errno::Badf));
}

#[test]
fn stdio_fdstat() {
    let mut g = Guest::with(WasiCtxBuilder::new().build());
    for fd in 0..3u64 {
        g.call("fd_fdstat_get", &[fd, STAT as u64]).unwrap();
        // As Wasmtime 49 reports them, on a terminal or not: the stream's
        // direction only (so no seek or tell, and libc's isatty can say yes
        // on a terminal).
        let expected = if fd == 0 { FD_READ } else { FD_WRITE };
        assert_eq!(g.u64_at(STAT + 8), expected, "fd {fd} base rights");
        assert_eq!(g.u64_at(STAT + 16), expected, "fd {fd} inheriting rights");
        // They cannot be widened, only kept or dropped.
        assert_eq!(
            g.call("fd_fdstat_set_rights", &[fd, expected | FD_SEEK, 0]),
            Err(Errno::Notcapable)
        );
        assert_eq!(
            g.call("fd_prestat_get", &[fd, STAT as u64]),
            Err(Errno::Badf)
        );
    }
    assert_eq!(
        g.call("fd_prestat_get", &[3, STAT as u64]),
        Err(Errno::Badf)
    );
    assert_eq!(g.call("fd_fdstat_get", &[3, STAT as u64]), Err(Errno::Badf));
}

#[test]
fn nonblocking_stdin_is_emulated() {
    if !is_child() {
        return in_child("nonblocking_stdin_is_emulated");
    }
    use std::io::Write;
    let mut g = Guest::with(WasiCtxBuilder::new().build());
    let (read_end, write_end) = pipe();
    let mut writer = std::fs::File::from(write_end);
    let _redirect = Redirect::new(&read_end, 0);
    drop(read_end);
    const NONBLOCK: u64 = 1 << 2;
    g.call("fd_fdstat_set_flags", &[0, NONBLOCK]).unwrap();
    // fs_flags, at offset 2 of the fdstat.
    g.call("fd_fdstat_get", &[0, STAT as u64]).unwrap();
    assert_eq!(g.get(STAT + 2, 2), [NONBLOCK as u8, 0]);
    // Nothing to read and the writer still open: EAGAIN, not a wait.
    assert_eq!(g.read(0, 10), Err(Errno::Again));
    writer.write_all(b"ping").unwrap();
    assert_eq!(g.read(0, 10).unwrap(), b"ping");
    // The host's fd stays blocking: it is shared with hoist's parent.
    // SAFETY: F_GETFL only reads the fd's flags.
    let host = unsafe { libc::fcntl(0, libc::F_GETFL) };
    assert_eq!(host & libc::O_NONBLOCK, 0);
    // Blocking again: a read waits for the writer.
    g.call("fd_fdstat_set_flags", &[0, 0]).unwrap();
    drop(writer);
    assert_eq!(g.read(0, 10).unwrap(), b"");
}
