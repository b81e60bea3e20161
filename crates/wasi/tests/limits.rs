//! Sizes a guest passes (iovec counts, path lengths, buffer lengths,
//! subscription counts) never become host allocations of that size: each is
//! refused with the errno Linux gives, or the work is done in place or in
//! bounded chunks. A counting allocator records the largest single
//! allocation made on the test's thread during a call (host functions run
//! on the caller's thread), so a test sees what the host asked for, not
//! just the errno.

mod common;

use common::*;
use hoist_wasi::{Errno, IOV_MAX};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

struct Counting;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: allocations also happen while thread-locals are torn down.
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every method forwards to the system allocator with the caller's
// arguments; it only records sizes on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What a call may allocate at once: far below any guest-chosen size here.
const SMALL: usize = 64 << 10;

/// Runs `f`; returns its result, the largest allocation it made on this
/// thread and how long it took.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    LARGEST.with(|l| l.set(0));
    let start = Instant::now();
    let result = f();
    let elapsed = start.elapsed();
    (result, LARGEST.with(Cell::get), elapsed)
}

/// Asserts that `f` returns `expected` quickly without a big allocation.
fn bounded(what: &str, expected: R<()>, f: impl FnOnce() -> R<()>) {
    let (result, largest, elapsed) = measure(f);
    assert!(largest < SMALL, "{what}: allocated {largest} bytes at once");
    assert_eq!(result, expected, "{what}");
    assert!(elapsed < Duration::from_secs(5), "{what}: took {elapsed:?}");
}

/// Grows the guest's memory to `pages` 64 KiB pages (zero, so untouched
/// pages cost the host nothing).
fn grow_to(g: &mut Guest, pages: u64) {
    let now = (g.mem().len() / 65536) as u64;
    g.memory.grow(&mut g.store, pages - now).unwrap();
}

fn native_errno(result: libc::c_int) -> Option<Errno> {
    (result < 0).then(|| Errno::from(std::io::Error::last_os_error()))
}

/// Builds the arguments of an iovec call from (fd, iovs, iovs_len, out).
type IovArgs = fn(u64, u64, u64, u64) -> Vec<u64>;

#[test]
fn iovec_counts_above_iov_max_are_einval() {
    let dir = TempDir::new("iovmax");
    let mut g = Guest::new(&dir.0, false);
    let fd = g.open(ROOT, 0, "f", O_CREAT, RW | FD_SEEK, 0).unwrap() as u64;
    let out = OUT as u64;
    let calls: [(&str, IovArgs); 4] = [
        ("fd_read", |fd, iovs, n, out| vec![fd, iovs, n, out]),
        ("fd_write", |fd, iovs, n, out| vec![fd, iovs, n, out]),
        ("fd_pread", |fd, iovs, n, out| vec![fd, iovs, n, 0, out]),
        ("fd_pwrite", |fd, iovs, n, out| vec![fd, iovs, n, 0, out]),
    ];

    // Linux itself: one buffer more than IOV_MAX is EINVAL.
    let byte = 0u8;
    let iov = libc::iovec {
        iov_base: &byte as *const u8 as *mut libc::c_void,
        iov_len: 0,
    };
    let many = vec![iov; IOV_MAX as usize + 1];
    // SAFETY: `many` is that many valid iovecs; fd 1 is open.
    let native = unsafe { libc::writev(1, many.as_ptr(), many.len() as libc::c_int) };
    assert_eq!(native_errno(native as libc::c_int), Some(Errno::Inval));

    // A count whose table is mostly not in memory: EINVAL, not EFAULT.
    for (name, args) in calls {
        bounded(name, Err(Errno::Inval), || {
            g.call(name, &args(fd, 0, 500_000_000, out))
        });
        bounded(name, Err(Errno::Inval), || {
            g.call(name, &args(fd, 0, u32::MAX as u64, out))
        });
    }

    // A table that is all there (256 MiB of empty iovecs) is refused
    // before the host copies any of it.
    grow_to(&mut g, 4096);
    let table = 64 << 10;
    for (name, args) in calls {
        bounded(name, Err(Errno::Inval), || {
            g.call(name, &args(fd, table, (256 << 20) / 8 - 8192, out))
        });
        bounded(name, Err(Errno::Inval), || {
            g.call(name, &args(fd, table, IOV_MAX as u64 + 1, out))
        });
    }

    // IOV_MAX buffers of one byte each are fine.
    let data = DATA;
    for i in 0..IOV_MAX {
        let mut entry = [0u8; 8];
        entry[..4].copy_from_slice(&(data + i).to_le_bytes());
        entry[4..].copy_from_slice(&1u32.to_le_bytes());
        g.put(table as u32 + i * 8, &entry);
    }
    g.put(data, &[b'x'; IOV_MAX as usize]);
    g.call("fd_write", &[fd, table, IOV_MAX as u64, out])
        .unwrap();
    assert_eq!(g.u32_at(OUT), IOV_MAX);
    g.call("fd_pread", &[fd, table, IOV_MAX as u64, 0, out])
        .unwrap();
    assert_eq!(g.u32_at(OUT), IOV_MAX);
    assert_eq!(
        std::fs::read(dir.0.join("f")).unwrap(),
        vec![b'x'; IOV_MAX as usize]
    );
}

/// The path arguments of every path call, with `bad` in slot `which` and
/// a harmless short name in the other.
fn path_calls(g: &mut Guest, bad: (u64, u64)) -> Vec<(&'static str, Vec<u64>)> {
    let (p, l) = bad;
    let (q, m) = g.path(PATH2, "x");
    let root = ROOT as u64;
    let out = OUT as u64;
    let stat = STAT as u64;
    vec![
        ("path_create_directory", vec![root, p, l]),
        ("path_filestat_get", vec![root, 0, p, l, stat]),
        ("path_filestat_set_times", vec![root, 0, p, l, 0, 0, 2 | 8]),
        ("path_open", vec![root, 0, p, l, 0, FD_READ, 0, 0, out]),
        ("path_open creat", vec![root, 0, p, l, 1, RW, 0, 0, out]),
        ("path_readlink", vec![root, p, l, DATA as u64, 100, out]),
        ("path_remove_directory", vec![root, p, l]),
        ("path_unlink_file", vec![root, p, l]),
        ("path_link old", vec![root, 0, p, l, root, q, m]),
        ("path_link new", vec![root, 0, q, m, root, p, l]),
        ("path_rename old", vec![root, p, l, root, q, m]),
        ("path_rename new", vec![root, q, m, root, p, l]),
        ("path_symlink target", vec![p, l, root, q, m]),
        ("path_symlink link", vec![q, m, root, p, l]),
    ]
}

fn call_named(g: &mut Guest, name: &str, args: &[u64]) -> R<()> {
    g.call(name.split(' ').next().unwrap(), args)
}

#[test]
fn paths_of_path_max_or_more_are_enametoolong() {
    let dir = TempDir::new("pathmax");
    std::fs::write(dir.0.join("x"), "x").unwrap();
    let mut g = Guest::new(&dir.0, false);

    // 3.75 GiB, nearly none of it in memory: refused before it is read.
    for (name, args) in path_calls(&mut g, (0, 0xF000_0000)) {
        bounded(name, Err(Errno::Nametoolong), || {
            call_named(&mut g, name, &args)
        });
    }

    // At the limit, as Linux counts it: PATH_MAX includes the NUL, so 4095
    // bytes are looked up and 4096 are refused.
    let long_ok = format!("{}y", "./".repeat(2047));
    let too_long = format!("{}yy", "./".repeat(2047));
    assert_eq!((long_ok.len(), too_long.len()), (4095, 4096));
    let native = |path: &str| {
        use std::os::fd::AsRawFd;
        let d = std::fs::File::open(&dir.0).unwrap();
        let c = std::ffi::CString::new(path).unwrap();
        // SAFETY: a valid directory fd and NUL-terminated path.
        let fd = unsafe { libc::openat(d.as_raw_fd(), c.as_ptr(), libc::O_RDONLY) };
        native_errno(fd)
    };
    assert_eq!(native(&long_ok), Some(Errno::Noent));
    assert_eq!(native(&too_long), Some(Errno::Nametoolong));
    let at = 16 << 10;
    let ok = g.path(at, &long_ok);
    assert_eq!(
        g.call(
            "path_filestat_get",
            &[ROOT as u64, 0, ok.0, ok.1, STAT as u64]
        ),
        Err(Errno::Noent)
    );
    let bad = g.path(at, &too_long);
    for (name, args) in path_calls(&mut g, bad) {
        bounded(name, Err(Errno::Nametoolong), || {
            call_named(&mut g, name, &args)
        });
    }
    // Nothing was created or changed by any of them.
    let names: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["x"]);
}

#[test]
fn poll_random_and_readlink_work_in_place() {
    let dir = TempDir::new("inplace");
    std::os::unix::fs::symlink("target", dir.0.join("l")).unwrap();
    let mut g = Guest::new(&dir.0, false);
    // More subscriptions than the host takes: EINVAL before anything is
    // decoded, whatever memory holds.
    bounded("poll_oneoff", Err(Errno::Inval), || {
        g.call("poll_oneoff", &[0, 0, 0xFFFF_FFFF, OUT as u64])
    });
    bounded("poll_oneoff", Err(Errno::Inval), || {
        g.call("poll_oneoff", &[0, 0, 100_000_000, OUT as u64])
    });
    // random_get fills guest memory directly.
    bounded("random_get", Err(Errno::Fault), || {
        g.call("random_get", &[0, 0xF000_0000])
    });
    grow_to(&mut g, 1024);
    bounded("random_get", Ok(()), || {
        g.call("random_get", &[0, 64 << 20])
    });
    assert!(g.get(1 << 20, 4096).iter().any(|b| *b != 0));
    // readlink copies the target only, whatever buffer length is given.
    let (p, l) = g.path(PATH1, "l");
    bounded("path_readlink", Ok(()), || {
        g.call(
            "path_readlink",
            &[ROOT as u64, p, l, DATA as u64, 0xFFFF_0000, OUT as u64],
        )
    });
    assert_eq!(g.u32_at(OUT), 6);
    assert_eq!(g.get(DATA, 6), b"target");
}

#[test]
fn readdir_reads_in_bounded_batches() {
    let dir = TempDir::new("readdir-big");
    let long = "n".repeat(200);
    for i in 0..2000 {
        std::fs::write(dir.0.join(format!("{long}{i:04}")), "").unwrap();
    }
    let mut g = Guest::new(&dir.0, false);
    grow_to(&mut g, 64);
    // One call with a buffer that holds the whole listing (about 450 KB):
    // entries go to guest memory as they are read, one batch at a time.
    let (buf, len) = (64 << 10, 1 << 20);
    bounded("fd_readdir", Ok(()), || {
        g.call("fd_readdir", &[ROOT as u64, buf, len, 0, OUT as u64])
    });
    let used = g.u32_at(OUT) as usize;
    assert_eq!(used, 2002 * 24 + 2000 * 204 + 1 + 2, "every entry, whole");
    // A buffer far bigger than memory is EFAULT before anything is read.
    bounded("fd_readdir", Err(Errno::Fault), || {
        g.call(
            "fd_readdir",
            &[ROOT as u64, buf, 0xF000_0000, 0, OUT as u64],
        )
    });
}
