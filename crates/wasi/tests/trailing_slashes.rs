//! Trailing slashes in every path call, against the host kernel: each
//! case runs once through WASI and once natively with the matching `*at`
//! call on an identical tree, and both must give the same errno (or
//! success, with the same result) and leave the same tree.
//!
//! Linux's rule: a trailing slash means the name must be a directory. On a
//! lookup it follows a final symlink and fails with `ENOTDIR` on anything
//! else; creating a non-directory with one is `ENOENT` (`EEXIST` if the
//! name exists), `open` with `O_CREAT` is `EISDIR`, `unlink` is `EISDIR`
//! or `ENOTDIR`, and `rename` of a non-directory with a slash on either
//! side is `ENOTDIR`.

mod common;

use common::*;
use hoist_wasi::Errno;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::Path;

/// The names every case starts from.
const NAMES: &[&str] = &["f", "d", "e", "lf", "ld", "ln", "nx"];

/// f: file; d: directory with a file; e: empty directory; lf, ld, ln:
/// symlinks to f, to d, to nothing; nx: nothing.
fn reset(root: &Path) {
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    std::fs::write(root.join("f"), "f").unwrap();
    std::fs::create_dir(root.join("d")).unwrap();
    std::fs::write(root.join("d/inner"), "inner").unwrap();
    std::fs::create_dir(root.join("e")).unwrap();
    std::os::unix::fs::symlink("f", root.join("lf")).unwrap();
    std::os::unix::fs::symlink("d", root.join("ld")).unwrap();
    std::os::unix::fs::symlink("nothing", root.join("ln")).unwrap();
}

/// A timestamp the tests set, so the snapshot can tell it apart.
const SET_TIME: i64 = 1_000_000_000;

/// The tree: kind and contents or target of each entry, and whether its
/// mtime is `SET_TIME`.
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let set = if meta.mtime() == SET_TIME {
                " (set)"
            } else {
                ""
            };
            let desc = if meta.file_type().is_symlink() {
                format!(
                    "link -> {}{set}",
                    std::fs::read_link(&path).unwrap().display()
                )
            } else if meta.is_dir() {
                stack.push(path.clone());
                format!("dir{set}")
            } else {
                format!("file {:?}{set}", std::fs::read_to_string(&path).unwrap())
            };
            out.insert(rel, desc);
        }
    }
    out
}

/// One path call, described once for both sides.
#[derive(Clone, Debug)]
enum Op {
    /// Path, Linux open flags.
    Open(String, i32),
    Mkdir(String),
    Unlink(String),
    Rmdir(String),
    Rename(String, String),
    Link(String, String),
    /// Target text, link path.
    Symlink(String, String),
    Readlink(String),
    /// Path, follow the last symlink.
    Stat(String, bool),
    SetTimes(String, bool),
}

/// What a call gave: an errno, or success with what it returned (a file
/// type for stat, the target for readlink).
type Outcome = Result<String, Errno>;

fn c(path: &str) -> CString {
    CString::new(path).unwrap()
}

fn check(r: libc::c_int) -> Result<libc::c_int, Errno> {
    if r < 0 {
        Err(Errno::from(std::io::Error::last_os_error()))
    } else {
        Ok(r)
    }
}

/// The WASI filetype of a `st_mode`.
fn filetype(mode: libc::mode_t) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => 3,
        libc::S_IFREG => 4,
        libc::S_IFLNK => 7,
        _ => 0,
    }
}

fn native(dir: &std::fs::File, op: &Op) -> Outcome {
    let d = dir.as_raw_fd();
    // SAFETY: every call below gets a valid directory fd, NUL-terminated paths
    // and properly sized out-buffers.
    unsafe {
        match op {
            Op::Open(p, flags) => {
                let fd = check(libc::openat(
                    d,
                    c(p).as_ptr(),
                    *flags | libc::O_CLOEXEC,
                    0o644,
                ))?;
                libc::close(fd);
            }
            Op::Mkdir(p) => {
                check(libc::mkdirat(d, c(p).as_ptr(), 0o755))?;
            }
            Op::Unlink(p) => {
                check(libc::unlinkat(d, c(p).as_ptr(), 0))?;
            }
            Op::Rmdir(p) => {
                check(libc::unlinkat(d, c(p).as_ptr(), libc::AT_REMOVEDIR))?;
            }
            Op::Rename(a, b) => {
                check(libc::renameat(d, c(a).as_ptr(), d, c(b).as_ptr()))?;
            }
            Op::Link(a, b) => {
                check(libc::linkat(d, c(a).as_ptr(), d, c(b).as_ptr(), 0))?;
            }
            Op::Symlink(t, b) => {
                check(libc::symlinkat(c(t).as_ptr(), d, c(b).as_ptr()))?;
            }
            Op::Readlink(p) => {
                let mut buf = [0u8; 100];
                let n = libc::readlinkat(d, c(p).as_ptr(), buf.as_mut_ptr().cast(), buf.len());
                let n = check(n as libc::c_int)?;
                return Ok(String::from_utf8_lossy(&buf[..n as usize]).into_owned());
            }
            Op::Stat(p, follow) => {
                let mut st: libc::stat = std::mem::zeroed();
                let flags = if *follow {
                    0
                } else {
                    libc::AT_SYMLINK_NOFOLLOW
                };
                check(libc::fstatat(d, c(p).as_ptr(), &mut st, flags))?;
                return Ok(format!("type {}", filetype(st.st_mode)));
            }
            Op::SetTimes(p, follow) => {
                let t = libc::timespec {
                    tv_sec: SET_TIME,
                    tv_nsec: 0,
                };
                let flags = if *follow {
                    0
                } else {
                    libc::AT_SYMLINK_NOFOLLOW
                };
                check(libc::utimensat(d, c(p).as_ptr(), [t, t].as_ptr(), flags))?;
            }
        }
    }
    Ok(String::new())
}

fn wasi(g: &mut Guest, op: &Op) -> Outcome {
    match op {
        Op::Open(p, flags) => {
            let mut oflags = 0;
            for (linux, wasi) in [
                (libc::O_CREAT, O_CREAT),
                (libc::O_DIRECTORY, O_DIRECTORY),
                (libc::O_EXCL, O_EXCL),
                (libc::O_TRUNC, O_TRUNC),
            ] {
                if flags & linux != 0 {
                    oflags |= wasi;
                }
            }
            let rights = match flags & libc::O_ACCMODE {
                libc::O_RDONLY => FD_READ,
                libc::O_WRONLY => FD_WRITE,
                _ => RW,
            };
            let follow = if flags & libc::O_NOFOLLOW != 0 {
                0
            } else {
                FOLLOW
            };
            let fd = g.open(ROOT, follow, p, oflags, rights, 0)?;
            g.close(fd)?;
        }
        Op::Mkdir(p) => g.mkdir(p)?,
        Op::Unlink(p) => g.unlink(p)?,
        Op::Rmdir(p) => g.rmdir(p)?,
        Op::Rename(a, b) => g.rename(a, b)?,
        Op::Link(a, b) => g.link(a, b)?,
        Op::Symlink(t, b) => g.symlink(t, b)?,
        Op::Readlink(p) => {
            let bytes = g.readlink(p, 100)?;
            return Ok(String::from_utf8_lossy(&bytes).into_owned());
        }
        Op::Stat(p, follow) => {
            let (ty, _) = g.stat(if *follow { FOLLOW } else { 0 }, p)?;
            return Ok(format!("type {ty}"));
        }
        Op::SetTimes(p, follow) => {
            let ns = SET_TIME as u64 * 1_000_000_000;
            g.set_times(if *follow { FOLLOW } else { 0 }, p, ns, ns)?;
        }
    }
    Ok(String::new())
}

/// The names to try: each fixture name with one or two trailing slashes,
/// and a few without for contrast.
fn paths() -> Vec<String> {
    let mut out = Vec::new();
    for name in NAMES {
        out.push(format!("{name}/"));
    }
    out.extend(["f//", "d//", "d/inner/", "nx/y/", "f/y/", "ld/inner/"].map(String::from));
    out.extend(["f", "d", "lf", "ld", "nx"].map(String::from));
    out
}

fn all_ops() -> Vec<Op> {
    let paths = paths();
    let mut ops = Vec::new();
    for p in &paths {
        for flags in [
            libc::O_RDONLY,
            libc::O_RDONLY | libc::O_NOFOLLOW,
            libc::O_RDONLY | libc::O_DIRECTORY,
            libc::O_WRONLY,
            libc::O_RDWR | libc::O_CREAT,
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
            libc::O_RDWR | libc::O_TRUNC,
        ] {
            ops.push(Op::Open(p.clone(), flags));
        }
        ops.push(Op::Mkdir(p.clone()));
        ops.push(Op::Unlink(p.clone()));
        ops.push(Op::Rmdir(p.clone()));
        ops.push(Op::Readlink(p.clone()));
        for follow in [false, true] {
            ops.push(Op::Stat(p.clone(), follow));
            ops.push(Op::SetTimes(p.clone(), follow));
        }
        ops.push(Op::Symlink("f".into(), p.clone()));
        ops.push(Op::Symlink(p.clone(), "new".into()));
    }
    // Both sides of rename and link, slashes on either or both.
    let sources = [
        "f", "f/", "d", "d/", "e/", "lf", "lf/", "ld/", "ln/", "nx/", "d/inner/",
    ];
    let targets = [
        "new", "new/", "f", "f/", "e", "e/", "ld/", "nx", "nx/y/", "d/new/", "f/y/",
    ];
    for a in sources {
        for b in targets {
            ops.push(Op::Rename(a.into(), b.into()));
            ops.push(Op::Link(a.into(), b.into()));
        }
    }
    ops
}

#[test]
fn trailing_slashes_match_linux() {
    let host = TempDir::new("slash-native");
    let guest = TempDir::new("slash-wasi");
    let host_dir = std::fs::File::open(&host.0).unwrap();
    let mut g = Guest::new(&guest.0, false);
    let mut mismatches = Vec::new();
    let ops = all_ops();
    for op in &ops {
        reset(&host.0);
        reset(&guest.0);
        let expected = native(&host_dir, op);
        let got = wasi(&mut g, op);
        let (host_tree, guest_tree) = (snapshot(&host.0), snapshot(&guest.0));
        if got != expected {
            mismatches.push(format!("{op:?}: linux {expected:?}, wasi {got:?}"));
        } else if host_tree != guest_tree {
            mismatches.push(format!(
                "{op:?}: same result {got:?}, different trees\n  linux {host_tree:?}\n  wasi  {guest_tree:?}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ from Linux:\n{}",
        mismatches.len(),
        ops.len(),
        mismatches.join("\n")
    );
}
