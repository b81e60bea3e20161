//! `hoist run --image`: OCI images of both kinds (a Wasm layer; a compat
//! image whose entrypoint is a file in the root file system), as an OCI
//! archive, an OCI layout directory and a `docker save` archive; the
//! image config's entrypoint, command, env; `--env`/`--dir` on top; and the
//! errors: no Wasm entrypoint, a damaged archive, a multi-platform index
//! without wasi/wasm, a layer that reaches outside its root. No containerd
//! is needed (tests/containerd/run.sh runs the same images under it).
//!
//! The images are built here, from tests/programs/container.wasm, the way
//! tests/containerd/mkimage.py builds them.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod support;

const GUEST: &str = "tests/programs/container.wasm";
const WASM_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";

fn guest() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(GUEST)).unwrap()
}

/// What goes into one test image.
#[derive(Clone)]
struct Spec {
    files: Vec<(String, Vec<u8>, u32)>,
    symlinks: Vec<(String, String)>,
    /// Raw tar entries with any name (for hostile layers).
    raw_entries: Vec<(String, Vec<u8>)>,
    wasm_layer: Option<Vec<u8>>,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    env: Vec<String>,
    platform: (&'static str, &'static str),
    compat: bool,
    extra_platforms: Vec<(&'static str, &'static str)>,
    gzip: bool,
}

/// The compat image: /app.wasm and /etc/greeting.txt in a tar layer, /up a
/// symlink to `../..`.
fn compat() -> Spec {
    Spec {
        files: vec![
            ("app.wasm".into(), guest(), 0o644),
            (
                "etc/greeting.txt".into(),
                b"hello from the image's root file system\n".to_vec(),
                0o644,
            ),
        ],
        symlinks: vec![("up".into(), "../..".into())],
        raw_entries: vec![],
        wasm_layer: None,
        entrypoint: vec!["/app.wasm".into()],
        cmd: vec!["show".into(), "from-cmd".into()],
        env: vec![
            "PATH=/usr/bin:/bin".into(),
            "GREETING=hello from the image config".into(),
        ],
        platform: ("wasip1", "wasm"),
        compat: true,
        extra_platforms: vec![],
        gzip: false,
    }
}

/// The Wasm-layer image: the module as a layer of its own, beside a tar
/// layer with /etc/greeting.txt.
fn wasm_layer() -> Spec {
    let mut spec = compat();
    spec.files.remove(0);
    spec.wasm_layer = Some(guest());
    spec.compat = false;
    spec
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn layer_tar(spec: &Spec) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    let mut parents = |builder: &mut tar::Builder<Vec<u8>>, path: &str| {
        let mut at = String::new();
        for part in path.split('/').collect::<Vec<_>>().split_last().unwrap().1 {
            at = if at.is_empty() {
                part.to_string()
            } else {
                format!("{at}/{part}")
            };
            if dirs.insert(at.clone()) {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, &at, &[][..]).unwrap();
            }
        }
    };
    for (path, data, mode) in &spec.files {
        parents(&mut builder, path);
        let mut header = tar::Header::new_gnu();
        header.set_mode(*mode);
        header.set_size(data.len() as u64);
        builder.append_data(&mut header, path, &data[..]).unwrap();
    }
    for (path, target) in &spec.symlinks {
        parents(&mut builder, path);
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_mode(0o777);
        header.set_size(0);
        builder.append_link(&mut header, path, target).unwrap();
    }
    let mut out = builder.into_inner().unwrap();
    if !spec.raw_entries.is_empty() {
        // Before the end-of-archive blocks: entries the builder would refuse.
        out.truncate(out.len() - 1024);
        for (name, data) in &spec.raw_entries {
            let mut header = tar::Header::new_old();
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_mode(0o644);
            header.set_size(data.len() as u64);
            header.set_cksum();
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The files of an OCI image layout for `spec`, by name.
fn oci_files(spec: &Spec) -> Vec<(String, Vec<u8>)> {
    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut blob = |bytes: Vec<u8>| -> Value {
        let digest = sha256(&bytes);
        let size = bytes.len();
        blobs.push((format!("blobs/sha256/{digest}"), bytes));
        json!({"digest": format!("sha256:{digest}"), "size": size})
    };
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    if !spec.files.is_empty() || !spec.symlinks.is_empty() || !spec.raw_entries.is_empty() {
        let tar = layer_tar(spec);
        diff_ids.push(format!("sha256:{}", sha256(&tar)));
        let (bytes, media) = if spec.gzip {
            (gzip(&tar), "application/vnd.oci.image.layer.v1.tar+gzip")
        } else {
            (tar, "application/vnd.oci.image.layer.v1.tar")
        };
        let mut d = blob(bytes);
        d["mediaType"] = json!(media);
        layers.push(d);
    }
    if let Some(wasm) = &spec.wasm_layer {
        let mut d = blob(wasm.clone());
        d["mediaType"] = json!(WASM_LAYER);
        layers.push(d);
    }
    let mut manifests = Vec::new();
    let mut platforms = vec![(spec.platform, true)];
    platforms.extend(spec.extra_platforms.iter().map(|p| (*p, false)));
    for ((os, arch), main) in platforms {
        let compat = main && spec.compat;
        let mut config = json!({
            "architecture": arch, "os": os,
            "rootfs": {"type": "layers", "diff_ids": if main { diff_ids.clone() } else { vec![] }},
            "config": {},
        });
        if main {
            config["config"] = json!({
                "Entrypoint": spec.entrypoint, "Cmd": spec.cmd, "Env": spec.env, "WorkingDir": "/",
            });
            if compat {
                config["config"]["Labels"] = json!({"module.wasm.image/variant": "compat"});
            }
        }
        let mut config_d = blob(serde_json::to_vec(&config).unwrap());
        config_d["mediaType"] = json!("application/vnd.oci.image.config.v1+json");
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config_d,
            "layers": if main { layers.clone() } else { vec![] },
        });
        if compat {
            manifest["annotations"] = json!({"module.wasm.image/variant": "compat"});
        }
        let mut d = blob(serde_json::to_vec(&manifest).unwrap());
        d["mediaType"] = json!("application/vnd.oci.image.manifest.v1+json");
        d["platform"] = json!({"architecture": arch, "os": os});
        manifests.push(d);
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    let mut files = vec![
        (
            "oci-layout".to_string(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        (
            "index.json".to_string(),
            serde_json::to_vec(&index).unwrap(),
        ),
    ];
    files.extend(blobs);
    files
}

/// A `docker save` archive's files (tar layers only).
fn docker_files(spec: &Spec) -> Vec<(String, Vec<u8>)> {
    let tar = layer_tar(spec);
    let diff_id = sha256(&tar);
    let (os, arch) = spec.platform;
    let config = serde_json::to_vec(&json!({
        "architecture": arch, "os": os,
        "config": {"Entrypoint": spec.entrypoint, "Cmd": spec.cmd, "Env": spec.env},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
        "container_config": {"Hostname": ""}, "docker_version": "24.0.7",
    }))
    .unwrap();
    let config_name = format!("{}.json", sha256(&config));
    let layer_name = format!("{diff_id}/layer.tar");
    let manifest =
        json!([{"Config": config_name, "RepoTags": ["hoist/test:latest"], "Layers": [layer_name]}]);
    vec![
        (
            "manifest.json".to_string(),
            serde_json::to_vec(&manifest).unwrap(),
        ),
        (config_name, config),
        (layer_name, tar),
    ]
}

fn archive(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        builder.append_data(&mut header, name, &data[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A test's own directory (its TMPDIR too, to see that hoist cleans up).
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn oci(&self, spec: &Spec) -> PathBuf {
        self.write("image.tar", &archive(&oci_files(spec)))
    }

    fn run(&self, image: &Path, args: &[&str]) -> Run {
        self.run_with(image, &[], args)
    }

    fn run_with(&self, image: &Path, options: &[&str], args: &[&str]) -> Run {
        let mut cmd = support::hoist();
        cmd.env("TMPDIR", self.path("tmp"))
            .arg("run")
            .args(options)
            .arg("--image")
            .arg(image)
            .args(args);
        let run = run(cmd);
        // The temporary root file system is gone.
        let left: Vec<_> = std::fs::read_dir(self.path("tmp")).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
        run
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(mut cmd: Command) -> Run {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    #[track_caller]
    fn code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "--- stdout:\n{}--- stderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    #[track_caller]
    fn error(&self, text: &str) {
        self.code(1);
        assert!(
            self.stderr.starts_with("error: ") && self.stderr.contains(text),
            "stderr does not say `{text}`:\n{}",
            self.stderr
        );
    }
}

const SHOW: &str = "argc=3
argv[0]=/app.wasm
argv[1]=show
argv[2]=from-cmd
GREETING=hello from the image config
greeting.txt: hello from the image's root file system
";

#[test]
fn compat_image_runs_its_config() {
    let s = Scratch::new();
    let image = s.oci(&compat());
    assert_eq!(s.run(&image, &[]).code(0).stdout, SHOW);
    // ARGS replace the command; the exit status is the guest's.
    let run = s.run(&image, &["exit", "7"]);
    run.code(7);
    // --env on top of the image's, --argv0 over the entrypoint.
    let run = s.run_with(
        &image,
        &[
            "--env",
            "EXTRA=from the command line",
            "--env",
            "GREETING=replaced",
            "--argv0",
            "app",
        ],
        &["show"],
    );
    assert_eq!(
        run.code(0).stdout,
        "argc=2\nargv[0]=app\nargv[1]=show\nGREETING=replaced\nEXTRA=from the command line\n\
         greeting.txt: hello from the image's root file system\n"
    );
}

#[test]
fn wasm_layer_image_runs_its_config() {
    let s = Scratch::new();
    let image = s.oci(&wasm_layer());
    assert_eq!(s.run(&image, &[]).code(0).stdout, SHOW);
    s.run(&image, &["exit", "42"]).code(42);
    // The entrypoint only names the module: any name will do.
    let mut spec = wasm_layer();
    spec.entrypoint = vec!["anything.wasm".into()];
    let image = s.oci(&spec);
    assert!(s
        .run(&image, &["show"])
        .code(0)
        .stdout
        .contains("argv[0]=anything.wasm\n"));
}

#[test]
fn writes_stay_inside_the_root() {
    for spec in [compat(), wasm_layer()] {
        let s = Scratch::new();
        let image = s.oci(&spec);
        let run = s.run(&image, &["escape"]);
        assert!(
            run.code(0).stdout.ends_with("escape: all refused\n"),
            "{}",
            run.stdout
        );
        assert!(!run.stdout.contains("ESCAPED"));
        assert!(!s.path("escape.txt").exists() && !s.path("tmp/escape.txt").exists());
    }
}

#[test]
fn dirs_apply_on_top() {
    let s = Scratch::new();
    let image = s.oci(&compat());
    std::fs::create_dir(s.path("data")).unwrap();
    let data = format!("/data:{}", s.path("data").display());
    let run = s.run_with(&image, &["--dir", &data], &["write", "/data/out.txt"]);
    assert_eq!(run.code(0).stdout, "wrote /data/out.txt\n");
    assert_eq!(std::fs::read(s.path("data/out.txt")).unwrap(), b"x\n");
    let ro = format!("{data}:ro");
    let run = s.run_with(&image, &["--dir", &ro], &["write", "/data/ro.txt"]);
    assert!(
        run.code(3).stdout.starts_with("/data/ro.txt: refused"),
        "{}",
        run.stdout
    );
    assert!(!s.path("data/ro.txt").exists());
}

#[test]
fn layout_directories_docker_archives_and_gzip() {
    let s = Scratch::new();
    // An OCI layout directory.
    let dir = s.path("layout");
    for (name, data) in oci_files(&compat()) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    assert_eq!(s.run(&dir, &[]).code(0).stdout, SHOW);
    // A layout directory whose index is a FIFO: refused, without blocking.
    // (A symlink is followed: the directory is the user's.)
    let index = dir.join("index.json");
    let saved = std::fs::read(&index).unwrap();
    std::fs::remove_file(&index).unwrap();
    let status = Command::new("mkfifo").arg(&index).status().unwrap();
    assert!(status.success());
    s.run(&dir, &[]).error("index.json");
    std::fs::remove_file(&index).unwrap();
    let outside = s.write("outside.json", &saved);
    std::os::unix::fs::symlink(&outside, &index).unwrap();
    assert_eq!(s.run(&dir, &[]).code(0).stdout, SHOW);
    // `docker save`.
    let image = s.write("docker.tar", &archive(&docker_files(&compat())));
    assert_eq!(s.run(&image, &[]).code(0).stdout, SHOW);
    // Gzip layers, and a gzipped archive.
    let mut spec = wasm_layer();
    spec.gzip = true;
    let image = s.oci(&spec);
    assert_eq!(s.run(&image, &[]).code(0).stdout, SHOW);
    let image = s.write("image.tar.gz", &gzip(&archive(&oci_files(&spec))));
    assert_eq!(s.run(&image, &[]).code(0).stdout, SHOW);
}

#[test]
fn the_wasi_wasm_image_of_an_index_is_chosen() {
    let s = Scratch::new();
    let mut spec = compat();
    spec.extra_platforms = vec![("linux", "amd64"), ("linux", "arm64")];
    let image = s.oci(&spec);
    assert_eq!(s.run(&image, &[]).code(0).stdout, SHOW);
    // Without one: an error naming what the index has.
    let mut spec = compat();
    spec.platform = ("linux", "riscv64");
    spec.extra_platforms = vec![("linux", "amd64"), ("linux", "arm64")];
    let image = s.oci(&spec);
    s.run(&image, &[]).error(
        "the image index has no wasi/wasm image (it has linux/riscv64, linux/amd64, linux/arm64)",
    );
}

#[test]
fn text_and_precompiled_entrypoints() {
    let s = Scratch::new();
    let mut spec = compat();
    // No Entrypoint: ARGS replace the whole command, module included.
    spec.entrypoint = vec![];
    spec.cmd = vec!["/app.wasm".into(), "show".into()];
    spec.files.push((
        "hello.wat".into(),
        br#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "hello from wat\n")
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 15))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#
            .to_vec(),
        0o644,
    ));
    // An artifact this user's hoist compiled (and sealed) runs; one it did
    // not needs --allow-precompiled, as for `hoist run`.
    let artifact = s.path("app.hwasm");
    let compile = run({
        let mut cmd = support::hoist();
        cmd.args(["compile", GUEST, "-o"]).arg(&artifact);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
        cmd
    });
    compile.code(0);
    spec.files
        .push(("app.hwasm".into(), std::fs::read(&artifact).unwrap(), 0o644));
    let image = s.oci(&spec);
    assert_eq!(
        s.run(&image, &["/hello.wat"]).code(0).stdout,
        "hello from wat\n"
    );
    assert_eq!(
        s.run(&image, &["/app.hwasm", "exit", "5"]).code(5).stdout,
        ""
    );
    let mut unsealed = std::fs::read(&artifact).unwrap();
    unsealed.truncate(unsealed.len() - 40); // the seal
    spec.files.push(("other.hwasm".into(), unsealed, 0o644));
    let image = s.oci(&spec);
    s.run(&image, &["/other.hwasm"])
        .error("was not compiled by this user's hoist");
    s.run_with(
        &image,
        &["--allow-precompiled"],
        &["/other.hwasm", "exit", "6"],
    )
    .code(6);
}

#[test]
fn images_without_a_wasm_entrypoint_are_refused() {
    let s = Scratch::new();
    // A native program.
    let mut spec = compat();
    spec.platform = ("linux", "amd64");
    spec.files[0] = (
        "hello".into(),
        b"\x7fELF\x02\x01\x01\0native".to_vec(),
        0o755,
    );
    spec.entrypoint = vec!["/hello".into()];
    let image = s.oci(&spec);
    s.run(&image, &[])
        .error("the image's entrypoint `/hello` is a native executable (ELF), not WebAssembly");
    // A script found on PATH.
    spec.files[0] = ("bin/run.sh".into(), b"#!/bin/sh\necho hi\n".to_vec(), 0o755);
    spec.entrypoint = vec!["run.sh".into()];
    let image = s.oci(&spec);
    s.run(&image, &[]).error("`/bin/run.sh` is a script");
    // No entrypoint or command at all.
    let mut spec = compat();
    spec.entrypoint = vec![];
    spec.cmd = vec![];
    let image = s.oci(&spec);
    s.run(&image, &[])
        .error("the image names no entrypoint: its config has neither Entrypoint nor Cmd");
    // An entrypoint that is not there.
    let mut spec = compat();
    spec.entrypoint = vec!["/missing.wasm".into()];
    let image = s.oci(&spec);
    s.run(&image, &[]).error("`/missing.wasm` is not a file");
    // An entrypoint that is a symbolic link out of the root: not followed.
    std::fs::write(s.path("outside.wasm"), guest()).unwrap();
    let mut spec = compat();
    let up = "../".repeat(20) + s.path("outside.wasm").to_str().unwrap();
    spec.symlinks.push(("evil.wasm".into(), up));
    spec.entrypoint = vec!["/evil.wasm".into()];
    let image = s.oci(&spec);
    s.run(&image, &[]).error("`/evil.wasm` is not a file");
}

#[test]
fn damaged_archives_are_refused() {
    let s = Scratch::new();
    let good = archive(&oci_files(&compat()));
    // Cut short.
    let image = s.write("short.tar", &good[..good.len() / 2]);
    let run = s.run(&image, &[]);
    run.code(1);
    assert!(
        run.stderr.starts_with("error: cannot run the image"),
        "{}",
        run.stderr
    );
    // One byte of the module changed: its blob's digest no longer holds.
    let module = guest();
    let at = good
        .windows(module.len())
        .position(|w| w == module)
        .unwrap()
        + module.len() / 2;
    let mut bad = good.clone();
    bad[at] ^= 1;
    let image = s.write("flipped.tar", &bad);
    s.run(&image, &[]).error("is damaged: its sha256 is");
    // Not an archive at all.
    let image = s.write("text.tar", b"this is not an image\n");
    s.run(&image, &[])
        .error("is not an image archive, or it is damaged");
    // An archive, but no image in it.
    let image = s.write("other.tar", &archive(&[("README".into(), b"hi".to_vec())]));
    s.run(&image, &[])
        .error("neither `index.json` nor `manifest.json`");
    // A layer that reaches outside its root.
    let mut spec = compat();
    spec.raw_entries = vec![("../../escape.txt".into(), b"x".to_vec())];
    let image = s.oci(&spec);
    s.run(&image, &[]).error("reaches outside its root");
    assert!(!s.path("escape.txt").exists());
}
