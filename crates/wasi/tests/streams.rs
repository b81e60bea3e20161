//! Files that cannot seek, reached through a preopen: FIFOs and character
//! devices. They are read and written as streams (not at a position, which
//! a FIFO refuses with `ESPIPE`), and every call that needs a position
//! (`fd_seek`, `fd_tell`, `fd_pread`, `fd_pwrite`) is `ESPIPE`, as for a
//! pipe on Linux.

mod common;

use common::*;
use hoist_wasi::{Errno, WasiCtxBuilder};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

const NONBLOCK: u32 = 4;

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Opens the FIFO's write end from the host, retrying (non-blocking, so a
/// test whose guest never opens the read end fails instead of hanging).
fn open_writer(path: &Path) -> std::fs::File {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        {
            Ok(file) => return file,
            // ENXIO: no reader yet.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("opening the FIFO for writing: {e}"),
        }
    }
}

/// The calls that need a position all say ESPIPE on `fd`.
fn no_position(g: &mut Guest, fd: u32) {
    assert_eq!(g.seek(fd, 0, 0), Err(Errno::Spipe), "seek");
    assert_eq!(g.seek(fd, 0, 1), Err(Errno::Spipe), "seek cur");
    assert_eq!(g.tell(fd), Err(Errno::Spipe), "tell");
    assert_eq!(g.pread(fd, 1, 0), Err(Errno::Spipe), "pread");
    assert_eq!(g.pwrite(fd, b"x", 0), Err(Errno::Spipe), "pwrite");
    // And the rights say so.
    g.call("fd_fdstat_get", &[fd as u64, STAT as u64]).unwrap();
    assert_eq!(g.u64_at(STAT + 8) & (FD_SEEK | (1 << 5)), 0, "no seek/tell");
}

#[test]
fn fifo_read_from_a_writer_thread() {
    let dir = TempDir::new("fifo-read");
    let fifo = dir.0.join("p");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut w = open_writer(&fifo);
            w.write_all(b"hello ").unwrap();
            std::thread::sleep(Duration::from_millis(50));
            w.write_all(b"fifo").unwrap();
        })
    };
    let mut g = Guest::new(&dir.0, false);
    // A blocking open: it waits for the writer, as open(2) does.
    let fd = g.open(ROOT, 0, "p", 0, FD_READ, 0).unwrap();
    let mut got = Vec::new();
    loop {
        let chunk = g.read(fd, 100).unwrap();
        if chunk.is_empty() {
            break; // the writer closed its end
        }
        got.extend(chunk);
    }
    writer.join().unwrap();
    assert_eq!(got, b"hello fifo");
    g.call("fd_fdstat_get", &[fd as u64, STAT as u64]).unwrap();
    assert_eq!(g.get(STAT, 1)[0], 0, "a FIFO has no preview1 filetype");
    no_position(&mut g, fd);
}

#[test]
fn fifo_written_and_nonblocking() {
    let dir = TempDir::new("fifo-write");
    let fifo = dir.0.join("p");
    mkfifo(&fifo);
    let mut g = Guest::new(&dir.0, false);

    // The guest reads, non-blocking: no writer yet is end of input.
    let r = g.open(ROOT, 0, "p", 0, FD_READ, NONBLOCK).unwrap();
    let mut host_w = open_writer(&fifo);
    // A writer with nothing written: EAGAIN, not a wait.
    assert_eq!(g.read(r, 10), Err(Errno::Again));
    host_w.write_all(b"abc").unwrap();
    assert_eq!(g.read(r, 10).unwrap(), b"abc");
    no_position(&mut g, r);
    // Clearing NONBLOCK makes reads wait for data.
    g.call("fd_fdstat_set_flags", &[r as u64, 0]).unwrap();
    let late = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        host_w.write_all(b"later").unwrap();
    });
    assert_eq!(g.read(r, 10).unwrap(), b"later");
    late.join().unwrap();
    // The writer is gone: end of input.
    assert_eq!(g.read(r, 10).unwrap(), b"");

    // The guest writes; the host reads.
    let mut host_r = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let w = g.open(ROOT, 0, "p", 0, FD_WRITE, 0).unwrap();
    assert_eq!(g.write(w, b"to the ").unwrap(), 7);
    assert_eq!(g.write(w, b"host").unwrap(), 4);
    no_position(&mut g, w);
    g.close(w).unwrap();
    let mut got = String::new();
    host_r.read_to_string(&mut got).unwrap();
    assert_eq!(got, "to the host");
}

fn is_char_device(path: &str) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device())
}

#[test]
fn character_devices_stream() {
    if !["/dev/null", "/dev/zero", "/dev/urandom"]
        .iter()
        .all(|d| is_char_device(d))
    {
        eprintln!("skipped: no /dev/null, /dev/zero or /dev/urandom here");
        return;
    }
    // /dev, read-only: devices can be read, and never seeked.
    let mut builder = WasiCtxBuilder::new();
    builder.preopen_dir("/dev", "/dev", true).unwrap();
    let mut g = Guest::with(builder.build());
    let null = g.open(ROOT, 0, "null", 0, FD_READ, 0).unwrap();
    assert_eq!(g.read(null, 10).unwrap(), b"");
    let zero = g.open(ROOT, 0, "zero", 0, FD_READ, 0).unwrap();
    g.put(DATA, &[0xAA; 16]);
    assert_eq!(g.read(zero, 16).unwrap(), [0; 16]);
    let random = g.open(ROOT, 0, "urandom", 0, FD_READ, 0).unwrap();
    assert_eq!(g.read(random, 64).unwrap().len(), 64);
    for fd in [null, zero, random] {
        g.call("fd_fdstat_get", &[fd as u64, STAT as u64]).unwrap();
        assert_eq!(g.get(STAT, 1)[0], 2, "a character device");
        no_position(&mut g, fd);
        // Still readable after all that.
        assert!(g.read(fd, 8).is_ok());
    }

    // A writable preopen of a scratch directory cannot hold a device we
    // may make, so write to /dev/null through a writable /dev preopen
    // (nothing else is touched).
    let mut builder = WasiCtxBuilder::new();
    builder.preopen_dir("/dev", "/dev", false).unwrap();
    let mut g = Guest::with(builder.build());
    let null = g.open(ROOT, 0, "null", 0, FD_WRITE, 0).unwrap();
    assert_eq!(g.write(null, b"into the void").unwrap(), 13);
    no_position(&mut g, null);
}
