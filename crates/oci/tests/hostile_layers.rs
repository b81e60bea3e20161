//! Layers written to escape: the unpacker must refuse them or keep them
//! inside the root, and never create, change or remove anything outside.
//! Each test unpacks into a root beside a sentinel file and checks
//! afterwards that nothing outside the root changed.

use hoist_oci::unpack::Unpacker;
use hoist_oci::Limits;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tar::EntryType;

/// One tar entry, written with raw header fields (the tar crate's builder
/// refuses `..`, which is the point here).
struct E<'a> {
    name: &'a str,
    kind: EntryType,
    data: &'a [u8],
    link: &'a str,
    mode: u32,
    size: Option<u64>,
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> E<'a> {
    E {
        name,
        kind: EntryType::Regular,
        data,
        link: "",
        mode: 0o644,
        size: None,
    }
}

fn dir(name: &str) -> E<'_> {
    E {
        name,
        kind: EntryType::Directory,
        data: b"",
        link: "",
        mode: 0o755,
        size: None,
    }
}

fn symlink<'a>(name: &'a str, target: &'a str) -> E<'a> {
    E {
        name,
        kind: EntryType::Symlink,
        data: b"",
        link: target,
        mode: 0o777,
        size: None,
    }
}

fn hardlink<'a>(name: &'a str, target: &'a str) -> E<'a> {
    E {
        kind: EntryType::Link,
        ..symlink(name, target)
    }
}

fn tar(entries: &[E<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut header = tar::Header::new_old();
        let old = header.as_old_mut();
        old.name[..e.name.len()].copy_from_slice(e.name.as_bytes());
        old.linkname[..e.link.len()].copy_from_slice(e.link.as_bytes());
        header.set_entry_type(e.kind);
        header.set_mode(e.mode);
        header.set_size(e.size.unwrap_or(e.data.len() as u64));
        header.set_mtime(0);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// `<tmp>/l1/l2/root`, with the sentinel `<tmp>/l1/l2/outside.txt`: every
/// escape tried here (at most three levels up) lands inside `<tmp>`.
struct Sandbox {
    top: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let top = tempfile::tempdir().unwrap();
        let sandbox = Sandbox { top };
        fs::create_dir_all(sandbox.root()).unwrap();
        fs::write(sandbox.base().join("outside.txt"), "original").unwrap();
        sandbox
    }

    fn base(&self) -> PathBuf {
        self.top.path().join("l1/l2")
    }

    fn root(&self) -> PathBuf {
        self.base().join("root")
    }

    fn unpack(&self, layers: &[Vec<u8>], limits: &Limits) -> anyhow::Result<()> {
        let mut unpacker = Unpacker::new(&self.root(), limits)?;
        for layer in layers {
            unpacker.apply_layer(&layer[..])?;
        }
        Ok(())
    }

    /// Outside the root, everything is as it was.
    #[track_caller]
    fn check_outside(&self) {
        let mut found = Vec::new();
        let mut todo = vec![self.top.path().to_path_buf()];
        while let Some(dir) = todo.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path == self.root() {
                    continue;
                }
                found.push(path.strip_prefix(self.top.path()).unwrap().to_path_buf());
                if fs::symlink_metadata(&path).unwrap().is_dir() {
                    todo.push(path);
                }
            }
        }
        found.sort();
        let expected: Vec<PathBuf> = ["l1", "l1/l2", "l1/l2/outside.txt"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(found, expected);
        assert_eq!(
            fs::read_to_string(self.base().join("outside.txt")).unwrap(),
            "original"
        );
    }
}

fn refused(result: anyhow::Result<()>, what: &str) -> String {
    let err = format!("{:#}", result.expect_err("the layer must be refused"));
    assert!(err.contains(what), "`{err}` does not mention `{what}`");
    err
}

#[test]
fn dot_dot_names_are_refused() {
    let s = Sandbox::new();
    let err = refused(
        s.unpack(
            &[tar(&[file("../outside.txt", b"pwned")])],
            &Limits::default(),
        ),
        "..",
    );
    assert!(err.contains("outside its root"), "{err}");
    s.check_outside();
    let s = Sandbox::new();
    refused(
        s.unpack(
            &[tar(&[file("a/../../escape.txt", b"x")])],
            &Limits::default(),
        ),
        "..",
    );
    s.check_outside();
}

#[test]
fn absolute_names_land_in_the_root() {
    let s = Sandbox::new();
    s.unpack(
        &[tar(&[
            file("/abs/file.txt", b"in"),
            file("./rel.txt", b"r"),
        ])],
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(fs::read(s.root().join("abs/file.txt")).unwrap(), b"in");
    assert_eq!(fs::read(s.root().join("rel.txt")).unwrap(), b"r");
    s.check_outside();
}

#[test]
fn writes_through_symlinks_that_leave_the_root_are_refused() {
    for target in ["..", "../..", "a/../../..", "/..//../"] {
        let s = Sandbox::new();
        let result = s.unpack(
            &[tar(&[
                dir("a"),
                symlink("up", target),
                file("up/escape.txt", b"x"),
            ])],
            &Limits::default(),
        );
        if target.starts_with('/') {
            // Absolute: taken relative to the root, so it stays inside.
            result.unwrap();
            assert_eq!(fs::read(s.root().join("escape.txt")).unwrap(), b"x");
        } else {
            refused(result, "outside");
        }
        s.check_outside();
    }
    // Across layers, and through a directory entry.
    let s = Sandbox::new();
    let result = s.unpack(
        &[
            tar(&[dir("d"), symlink("d/up", "../..")]),
            tar(&[dir("d/up/escape"), file("d/up/escape/x", b"x")]),
        ],
        &Limits::default(),
    );
    refused(result, "outside");
    s.check_outside();
}

#[test]
fn absolute_symlinks_are_made_relative_to_the_root() {
    let s = Sandbox::new();
    s.unpack(
        &[tar(&[
            dir("usr/lib"),
            symlink("lib", "/usr/lib"),
            symlink("a/b/top", "/"),
            file("lib/libx.so", b"lib"),
            file("a/b/top/etc/greeting", b"hi"),
        ])],
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        fs::read_link(s.root().join("lib")).unwrap(),
        Path::new("usr/lib")
    );
    assert_eq!(
        fs::read_link(s.root().join("a/b/top")).unwrap(),
        Path::new("../..")
    );
    assert_eq!(fs::read(s.root().join("usr/lib/libx.so")).unwrap(), b"lib");
    assert_eq!(fs::read(s.root().join("etc/greeting")).unwrap(), b"hi");
    s.check_outside();
}

#[test]
fn a_file_replaces_a_symlink_instead_of_writing_through_it() {
    let s = Sandbox::new();
    s.unpack(
        &[
            tar(&[symlink("victim", "../outside.txt")]),
            tar(&[file("victim", b"new")]),
        ],
        &Limits::default(),
    )
    .unwrap();
    let victim = s.root().join("victim");
    assert!(fs::symlink_metadata(&victim).unwrap().is_file());
    assert_eq!(fs::read(&victim).unwrap(), b"new");
    s.check_outside();
    // In one layer too; and a directory entry over a symlink.
    let s = Sandbox::new();
    s.unpack(
        &[tar(&[
            symlink("victim", "../outside.txt"),
            file("victim", b"new"),
            symlink("d", ".."),
            dir("d"),
            file("d/inside", b"i"),
        ])],
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(fs::read(s.root().join("d/inside")).unwrap(), b"i");
    s.check_outside();
}

#[test]
fn hard_links_out_of_the_root_are_refused() {
    let s = Sandbox::new();
    refused(
        s.unpack(
            &[tar(&[hardlink("h", "../outside.txt")])],
            &Limits::default(),
        ),
        "..",
    );
    s.check_outside();
    let s = Sandbox::new();
    refused(
        s.unpack(
            &[tar(&[symlink("d", ".."), hardlink("h", "d/outside.txt")])],
            &Limits::default(),
        ),
        "outside",
    );
    s.check_outside();
    // Inside, a hard link is a hard link.
    let s = Sandbox::new();
    s.unpack(
        &[tar(&[file("a", b"data"), hardlink("b", "a")])],
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(fs::read(s.root().join("b")).unwrap(), b"data");
    s.check_outside();
}

#[test]
fn device_nodes_and_fifos_are_skipped() {
    let s = Sandbox::new();
    let node = |name, kind| E {
        kind,
        ..file(name, b"")
    };
    s.unpack(
        &[tar(&[
            node("dev/sda", EntryType::Block),
            node("dev/null", EntryType::Char),
            node("fifo", EntryType::Fifo),
            file("ok", b"ok"),
        ])],
        &Limits::default(),
    )
    .unwrap();
    assert!(!s.root().join("dev/sda").exists());
    assert!(!s.root().join("dev/null").exists());
    assert!(fs::symlink_metadata(s.root().join("fifo")).is_err());
    assert!(s.root().join("ok").exists());
    s.check_outside();
}

#[test]
fn sizes_beyond_the_limits_are_refused() {
    let limits = Limits {
        max_unpacked_bytes: 1000,
        ..Limits::default()
    };
    let s = Sandbox::new();
    let big = vec![7u8; 600];
    refused(
        s.unpack(&[tar(&[file("a", &big)]), tar(&[file("b", &big)])], &limits),
        "more than 1000 bytes",
    );
    s.check_outside();
    // A header that claims a terabyte, in a short archive.
    let s = Sandbox::new();
    let mut huge = file("huge", b"short");
    huge.size = Some(1 << 40);
    refused(s.unpack(&[tar(&[huge])], &limits), "more than 1000 bytes");
    let s = Sandbox::new();
    let mut huge = file("huge", b"short");
    huge.size = Some(1 << 40);
    assert!(s.unpack(&[tar(&[huge])], &Limits::default()).is_err());
    s.check_outside();
    // Entry count.
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let s = Sandbox::new();
    refused(
        s.unpack(
            &[tar(&[
                file("1", b""),
                file("2", b""),
                file("3", b""),
                file("4", b""),
            ])],
            &limits,
        ),
        "more than 3 entries",
    );
}

#[test]
fn whiteouts_remove_lower_layers_only() {
    let s = Sandbox::new();
    s.unpack(
        &[
            tar(&[
                file("a/x", b"x"),
                file("a/y", b"y"),
                file("a/sub/deep", b"d"),
                file("b", b"b"),
                file("c/d", b"d"),
                file("keep", b"k"),
            ]),
            tar(&[
                file("a/z", b"z"),
                file("a/sub/new", b"n"),
                file("a/.wh..wh..opq", b""),
                file(".wh.b", b""),
                file("c/.wh.d", b""),
                // The same layer's own file stays.
                file("mine", b"m"),
                file(".wh.mine", b""),
            ]),
        ],
        &Limits::default(),
    )
    .unwrap();
    let mut a: Vec<_> = fs::read_dir(s.root().join("a"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    a.sort();
    assert_eq!(a, ["sub", "z"]);
    assert!(!s.root().join("a/sub/deep").exists());
    assert!(s.root().join("a/sub/new").exists());
    assert!(!s.root().join("b").exists());
    assert!(s.root().join("c").is_dir());
    assert!(!s.root().join("c/d").exists());
    assert!(s.root().join("keep").exists());
    assert!(s.root().join("mine").exists());
    assert!(!s.root().join(".wh.b").exists());
    s.check_outside();
}

#[test]
fn whiteouts_outside_the_root_are_refused() {
    let s = Sandbox::new();
    refused(
        s.unpack(
            &[
                tar(&[symlink("up", "..")]),
                tar(&[file("up/.wh.outside.txt", b"")]),
            ],
            &Limits::default(),
        ),
        "outside",
    );
    s.check_outside();
    let s = Sandbox::new();
    refused(
        s.unpack(
            &[tar(&[file("../.wh.outside.txt", b"")])],
            &Limits::default(),
        ),
        "..",
    );
    s.check_outside();
    // An opaque whiteout in a symbolic link (to outside) clears nothing.
    let s = Sandbox::new();
    s.unpack(
        &[tar(&[symlink("up", ".."), file("up/.wh..wh..opq", b"")])],
        &Limits::default(),
    )
    .unwrap();
    s.check_outside();
}

#[test]
fn modes_keep_permission_bits_only() {
    let s = Sandbox::new();
    let mut suid = file("bin/tool", b"x");
    suid.mode = 0o4755;
    let mut locked = file("locked", b"x");
    locked.mode = 0o000;
    let mut locked_dir = dir("private");
    locked_dir.mode = 0o1000;
    s.unpack(
        &[tar(&[suid, locked, locked_dir, file("private/f", b"f")])],
        &Limits::default(),
    )
    .unwrap();
    let mode = |p: &str| fs::metadata(s.root().join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("bin/tool"), 0o755);
    assert_eq!(mode("locked"), 0o600);
    assert_eq!(mode("private"), 0o700);
    s.check_outside();
}

#[test]
fn damaged_layers_are_errors() {
    let s = Sandbox::new();
    let mut layer = tar(&[file("a", b"0123456789")]);
    layer[148] ^= 0x55; // the header checksum
    assert!(s.unpack(&[layer], &Limits::default()).is_err());
    let s = Sandbox::new();
    let layer = tar(&[file("a", &[1u8; 4000])]);
    assert!(s
        .unpack(&[layer[..2000].to_vec()], &Limits::default())
        .is_err());
    s.check_outside();
}
