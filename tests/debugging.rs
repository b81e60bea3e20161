//! Debugging and profiling from the command line: source lines in trap
//! backtraces (`-D debug-info`), Wasm core dumps (`-D coredump`), and the
//! perf map and jitdump files that let `perf` name wasm functions.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod support;
use support::program_path as program;
use support::walk;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hoist-debug-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hoist(args: &[&str], dir: &Path) -> (Output, u32) {
    let child = support::hoist()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    (child.wait_with_output().unwrap(), pid)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A C guest built with -g traps in `divide` (trap_debug.c line 6): each
/// frame gets its file:line:column, from the module's DWARF.
#[test]
fn debug_info_gives_source_lines() {
    let dir = temp_dir("lines");
    let module = program("trap_debug");
    let (out, _) = hoist(&["run", "-D", "debug-info", module.to_str().unwrap()], &dir);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(134), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "error: wasm trap: integer divide by zero",
        "{text}"
    );
    let at = |frame: &str| {
        let i = lines
            .iter()
            .position(|l| l.ends_with(frame))
            .unwrap_or_else(|| panic!("{text}"));
        lines[i + 1].trim().to_string()
    };
    assert_eq!(at("!divide"), "at ./trap_debug.c:6:14", "{text}");
    assert_eq!(at("!average"), "at ./trap_debug.c:10:12", "{text}");
    assert_eq!(at("!main"), "at ./trap_debug.c:15:20", "{text}");

    // The same with wasmtime's environment variable, and from the cache.
    let run = support::hoist()
        .env("WASMTIME_BACKTRACE_DETAILS", "1")
        .args(["run", module.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        stderr(&run).contains("at ./trap_debug.c:6:14"),
        "{}",
        stderr(&run)
    );
    // Without either, no source lines.
    let (out, _) = hoist(&["run", module.to_str().unwrap()], &dir);
    assert!(!stderr(&out).contains("trap_debug.c"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The core dump is a wasm module with the tool-conventions sections:
/// one module, one instance, the trap's frames innermost first, and the
/// instance's memory and globals as they were at the trap.
#[test]
fn core_dump_on_trap() {
    let dir = temp_dir("coredump");
    let module = program("trap");
    let (out, _) = hoist(
        &[
            "run",
            "-D",
            "coredump=trap.coredump",
            module.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("core dumped to trap.coredump"),
        "{}",
        stderr(&out)
    );
    let dump = std::fs::read(dir.join("trap.coredump")).unwrap();
    wasmparser::Validator::new()
        .validate_all(&dump)
        .expect("a valid module");

    let mut sections = std::collections::BTreeMap::new();
    let mut memory_pages = Vec::new();
    let mut globals = 0;
    let mut data = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&dump) {
        match payload.unwrap() {
            wasmparser::Payload::CustomSection(reader) => {
                sections.insert(reader.name().to_string(), reader.data().to_vec());
            }
            wasmparser::Payload::MemorySection(reader) => {
                memory_pages.extend(reader.into_iter().map(|m| m.unwrap().initial));
            }
            wasmparser::Payload::GlobalSection(reader) => globals = reader.count(),
            wasmparser::Payload::DataSection(reader) => {
                for segment in reader {
                    data.extend_from_slice(segment.unwrap().data);
                }
            }
            _ => {}
        }
    }
    let names: Vec<&str> = sections.keys().map(String::as_str).collect();
    assert_eq!(names, ["core", "coreinstances", "coremodules", "corestack"]);
    let core =
        wasmparser::CoreDumpSection::new(wasmparser::BinaryReader::new(&sections["core"], 0))
            .unwrap();
    assert!(core.name.ends_with("trap.wasm"), "{}", core.name);
    let modules = wasmparser::CoreDumpModulesSection::new(wasmparser::BinaryReader::new(
        &sections["coremodules"],
        0,
    ))
    .unwrap();
    assert_eq!(modules.modules.len(), 1);
    let instances = wasmparser::CoreDumpInstancesSection::new(wasmparser::BinaryReader::new(
        &sections["coreinstances"],
        0,
    ))
    .unwrap();
    assert_eq!(instances.instances.len(), 1);
    assert_eq!(instances.instances[0].memories, [0]);
    assert_eq!(instances.instances[0].globals.len() as u32, globals);
    let stack = wasmparser::CoreDumpStackSection::new(wasmparser::BinaryReader::new(
        &sections["corestack"],
        0,
    ))
    .unwrap();
    assert_eq!(stack.name, "main");
    // The backtrace's frames, in its order: hoist_test_trap_here first.
    let text = stderr(&out);
    let backtrace: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" - "))
        .map(|l| l.rsplit('!').next().unwrap())
        .collect();
    assert_eq!(stack.frames.len(), backtrace.len(), "{}", stderr(&out));
    assert_eq!(backtrace[0], "hoist_test_trap_here");
    let names = function_names(&std::fs::read(&module).unwrap());
    for (frame, name) in stack.frames.iter().zip(&backtrace) {
        assert_eq!(frame.instanceidx, 0);
        assert_eq!(names.get(&frame.funcidx).map(String::as_str), Some(*name));
        assert!(frame.codeoffset > 0, "a known offset inside the function");
    }
    // The memory, with what the guest printed in it.
    assert_eq!(memory_pages.len(), 1);
    assert!(memory_pages[0] >= 1);
    assert!(data.windows(13).any(|w| w == b"about to trap"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An artifact stores its module as a skeleton (no function bodies): what
/// debugging reads from the module must not change. The same source lines
/// in backtraces, and core dump frames with the same code offsets, from
/// the artifact as from the `.wasm`.
#[test]
fn an_artifact_keeps_source_lines_and_core_dump_offsets() {
    let dir = temp_dir("artifact");
    let module = program("trap_debug");
    let artifact = dir.join("trap_debug.hwasm");
    let (out, _) = hoist(
        &[
            "compile",
            module.to_str().unwrap(),
            "-o",
            artifact.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let run = |path: &Path, dump: &str| {
        let coredump = format!("coredump={dump}");
        let (out, _) = hoist(
            &[
                "run",
                "-D",
                "debug-info",
                "-D",
                &coredump,
                path.to_str().unwrap(),
            ],
            &dir,
        );
        assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
        let bytes = std::fs::read(dir.join(dump)).unwrap();
        let stack = wasmparser::Parser::new(0)
            .parse_all(&bytes)
            .find_map(|p| match p.unwrap() {
                wasmparser::Payload::CustomSection(r) if r.name() == "corestack" => {
                    Some(r.data().to_vec())
                }
                _ => None,
            })
            .unwrap();
        let stack = wasmparser::CoreDumpStackSection::new(wasmparser::BinaryReader::new(&stack, 0))
            .unwrap();
        let frames: Vec<(u32, u32)> = stack
            .frames
            .iter()
            .map(|f| (f.funcidx, f.codeoffset))
            .collect();
        // The backtrace less the lines that name the file.
        let text = stderr(&out);
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.contains("core dumped to") && !l.contains("trap_debug.hwasm"))
            .map(|l| l.replace("trap_debug.wasm", ""))
            .collect();
        (frames, lines, text)
    };
    let (wasm_frames, wasm_lines, wasm_text) = run(&module, "wasm.coredump");
    let (artifact_frames, artifact_lines, artifact_text) = run(&artifact, "artifact.coredump");
    assert!(
        artifact_text.contains("at ./trap_debug.c:6:14"),
        "{artifact_text}"
    );
    assert!(wasm_frames.len() >= 3, "{wasm_text}");
    assert!(
        wasm_frames.iter().all(|(_, offset)| *offset > 0),
        "{wasm_frames:?}"
    );
    assert_eq!(artifact_frames, wasm_frames);
    assert_eq!(
        artifact_lines
            .iter()
            .filter(|l| l.contains(" at "))
            .collect::<Vec<_>>(),
        wasm_lines
            .iter()
            .filter(|l| l.contains(" at "))
            .collect::<Vec<_>>(),
        "{wasm_text}\n---\n{artifact_text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn function_names(wasm: &[u8]) -> std::collections::HashMap<u32, String> {
    let mut names = std::collections::HashMap::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::CustomSection(reader) = payload.unwrap() {
            if let wasmparser::KnownCustom::Name(reader) = reader.as_known() {
                for name in reader {
                    if let wasmparser::Name::Function(map) = name.unwrap() {
                        for naming in map {
                            let naming = naming.unwrap();
                            names.insert(naming.index, naming.name.to_string());
                        }
                    }
                }
            }
        }
    }
    names
}

/// A compute-bound guest: fib(n) by recursion, named `fibdemo!fib`.
const FIB: &str = r#"(module $fibdemo
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#;

/// The perf map names each function of the module at its code address.
#[test]
fn perfmap_names_wasm_functions() {
    let dir = temp_dir("perfmap");
    std::fs::write(dir.join("fib.wat"), FIB).unwrap();
    let (out, pid) = hoist(
        &[
            "run",
            "--profile",
            "perfmap",
            "--invoke",
            "fib",
            "fib.wat",
            "20",
        ],
        &dir,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "6765\n",
        "{}",
        stderr(&out)
    );
    let map_path = format!("/tmp/perf-{pid}.map");
    let map = std::fs::read_to_string(&map_path).unwrap();
    let _ = std::fs::remove_file(&map_path);
    let line = map
        .lines()
        .find(|l| l.ends_with(" fibdemo!fib"))
        .unwrap_or_else(|| panic!("{map}"));
    let mut fields = line.split(' ');
    let start = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
    let size = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
    assert!(start > 0 && size > 0 && size < 4096, "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The jitdump file: perf's header, then a code-load record per function
/// with its name and a copy of its code.
#[test]
fn jitdump_records_wasm_functions() {
    let dir = temp_dir("jitdump");
    std::fs::write(dir.join("fib.wat"), FIB).unwrap();
    let (out, pid) = hoist(
        &[
            "run",
            "--profile",
            "jitdump",
            "--invoke",
            "fib",
            "fib.wat",
            "20",
        ],
        &dir,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "6765\n",
        "{}",
        stderr(&out)
    );
    let dump = std::fs::read(dir.join(format!("jit-{pid}.dump"))).unwrap();
    let u32_at = |at: usize| u32::from_ne_bytes(dump[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_ne_bytes(dump[at..at + 8].try_into().unwrap());
    assert_eq!(u32_at(0), 0x4A69_5444, "magic");
    assert_eq!(u32_at(4), 1, "version");
    assert_eq!(u32_at(8), 40, "header size");
    assert_eq!(u32_at(20), pid);
    let mut at = 40;
    let mut loads = Vec::new();
    while at < dump.len() {
        let (id, size) = (u32_at(at), u32_at(at + 4) as usize);
        if id == 0 {
            let code_size = u64_at(at + 16 + 24) as usize;
            let name_start = at + 16 + 40;
            let name_end = name_start + dump[name_start..].iter().position(|b| *b == 0).unwrap();
            let name = String::from_utf8_lossy(&dump[name_start..name_end]).into_owned();
            assert_eq!(size, 16 + 40 + name.len() + 1 + code_size, "{name}");
            loads.push(name);
        }
        at += size;
    }
    assert_eq!(at, dump.len());
    assert_eq!(loads, ["fibdemo!fib"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `perf record -k mono` over a run with `--profile jitdump`, then `perf
/// inject --jit` and `perf report`: the hot wasm function shows by name.
/// Skipped (with a note) where perf is missing or cannot sample.
#[test]
fn perf_report_shows_wasm_function_names() {
    let perf_works = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock", "-o", "/dev/null", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !perf_works {
        eprintln!("skipped: `perf record` does not work here");
        return;
    }
    let dir = temp_dir("perf");
    std::fs::write(dir.join("fib.wat"), FIB).unwrap();
    for strategy in ["jitdump", "perfmap"] {
        let status = Command::new("perf")
            .args([
                "record",
                "-q",
                "-k",
                "mono",
                "-e",
                "cpu-clock",
                "-o",
                "perf.data",
            ])
            .arg(support::hoist_binary())
            .args([
                "run",
                "--no-cache",
                "--profile",
                strategy,
                "--invoke",
                "fib",
                "fib.wat",
                "32",
            ])
            .envs([
                ("XDG_CACHE_HOME", support::private_home().join("cache")),
                ("XDG_STATE_HOME", support::private_home().join("state")),
            ])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let data = if strategy == "jitdump" {
            let status = Command::new("perf")
                .args(["inject", "--jit", "-i", "perf.data", "-o", "perf.jit.data"])
                .current_dir(&dir)
                .status()
                .unwrap();
            assert!(status.success());
            "perf.jit.data"
        } else {
            "perf.data"
        };
        let report = Command::new("perf")
            .args(["report", "--stdio", "-i", data])
            .current_dir(&dir)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&report.stdout);
        let line = report
            .lines()
            .find(|l| l.contains("fibdemo!fib"))
            .unwrap_or_else(|| panic!("{strategy}: no fibdemo!fib in\n{report}"));
        eprintln!("{strategy}: {line}");
    }
    // perf map files stay for `perf report`; this test's are done.
    for entry in std::fs::read_dir("/tmp").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("perf-") && name.ends_with(".map") {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if text.contains("fibdemo!fib") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Test program `name` with a custom section `section` of `len` bytes
/// appended.
fn padded(name: &str, section: &str, len: u32) -> Vec<u8> {
    let mut wasm = std::fs::read(program(name)).unwrap();
    let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
    let leb = |mut n: usize, out: &mut Vec<u8>| loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    };
    let mut payload = Vec::new();
    leb(section.len(), &mut payload);
    payload.extend_from_slice(section.as_bytes());
    payload.extend_from_slice(&data);
    wasm.push(0);
    leb(payload.len(), &mut wasm);
    wasm.extend_from_slice(&payload);
    wasm
}

/// A big compile cache entry is loaded with its address map left unread
/// (outside the seal, with its own digest): a trap reads and checks it,
/// and a changed record takes the wasm offsets away, with a warning that
/// says why, nothing else.
#[test]
fn a_big_cache_entrys_address_map_is_read_for_a_backtrace_and_checked() {
    let dir = temp_dir("lazy-addrmap");
    // Thousands of calls (an address map of whole pages more than the
    // entry's last 64 KiB, which are read first) and a custom section that
    // the entry's skeleton keeps (a 2 MiB entry).
    let calls = "(call $store (i32.const 7))\n".repeat(40_000);
    let mut wasm = wat::parse_str(format!(
        r#"(module
             (memory 1)
             (func $store (param i32) (i32.store (i32.const 0) (local.get 0)))
             (func $work {calls})
             (func $boom (call $work) unreachable)
             (func (export "_start") (call $boom)))"#
    ))
    .unwrap();
    let padding = (0..2u32 << 20).map(|i| (i % 253) as u8).collect::<Vec<_>>();
    wasm_encoder::Section::append_to(
        &wasm_encoder::CustomSection {
            name: "hoist_padding".into(),
            data: padding.as_slice().into(),
        },
        &mut wasm,
    );
    std::fs::write(dir.join("big.wasm"), &wasm).unwrap();
    let cache = dir.join("cache");
    let run = || {
        let out = support::hoist()
            .env("XDG_CACHE_HOME", &cache)
            .args(["run", "big.wasm"])
            .current_dir(&dir)
            .output()
            .unwrap();
        (out.status.code(), stderr(&out))
    };
    let (code, first) = run();
    assert_eq!(code, Some(134), "{first}");
    let entries: Vec<PathBuf> = walk(&cache)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "hwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = std::fs::read(&entries[0]).unwrap();
    let image = &entry[..entry.len() - hoist_artifact::SEAL_LEN];
    let map = hoist_artifact::read(image)
        .unwrap()
        .address_map
        .expect("a .hoist.addrmap section");
    let unread = hoist_artifact::lazy_range(image).expect("pages loading leaves unread");
    assert_eq!(unread.start, map.range.start);
    assert!(entry.len() >= 1 << 20, "{}", entry.len());
    // What loading leaves unread: the map's whole pages before the last
    // 64 KiB.
    let tail = (entry.len() - (64 << 10)) / 4096 * 4096;
    assert!(
        unread.end > unread.start + 4096 && tail > unread.start + 4096,
        "{unread:?}"
    );

    // From the entry: the same frames, offsets and all.
    let (code, cached) = run();
    assert_eq!(code, Some(134), "{cached}");
    assert_eq!(cached, first);
    assert!(
        cached.contains("0: 0x") && !cached.contains("<unknown>"),
        "{cached}"
    );
    assert!(!cached.contains("warning"), "{cached}");

    // A record changed in the entry: the seal still holds, the map's
    // digest does not.
    let mut changed = entry.clone();
    changed[map.range.start + 5] ^= 0x55;
    std::fs::write(&entries[0], &changed).unwrap();
    let (code, text) = run();
    assert_eq!(code, Some(134), "{text}");
    assert!(
        text.contains("error: wasm trap: wasm `unreachable`"),
        "{text}"
    );
    assert!(text.contains("0: <unknown> - <module>!boom"), "{text}");
    assert!(
        text.contains("warning: `big.wasm`: its address map changed since it was loaded"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A big artifact's DWARF and address map are left unread when it loads; a
/// backtrace reads the address map from the file then (and, with `-D
/// debug-info`, the DWARF), and checks each against its digest in the
/// artifact's header. Either changed on disk is left out with a warning
/// (the DWARF: no source lines; the address map: the frames have no wasm
/// offsets); the run is otherwise the same. The bytes around them, which
/// the seal covers, cannot be changed at all.
#[test]
fn a_big_artifacts_dwarf_is_read_for_a_backtrace_and_checked() {
    let dir = temp_dir("lazy-dwarf");
    // trap_debug with 3 MiB more of DWARF-named padding, so that the
    // artifact is big enough to be read with its DWARF left out.
    let wasm = padded("trap_debug", ".debug_hoist_padding", 3 << 20);
    std::fs::write(dir.join("big.wasm"), &wasm).unwrap();
    let (out, _) = hoist(&["compile", "big.wasm", "-o", "big.hwasm"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let artifact = dir.join("big.hwasm");
    let bytes = std::fs::read(&artifact).unwrap();
    let part = hoist_artifact::debug_part(&bytes).expect("a .hoist.debug section");
    let artifact_parts = hoist_artifact::read(&bytes).unwrap();
    let map = artifact_parts
        .address_map
        .clone()
        .expect("a .hoist.addrmap section");
    let unread = hoist_artifact::lazy_range(&bytes).expect("pages loading leaves unread");
    // From the memory images if any (page-aligned, first), through the
    // address map (page-aligned, before the DWARF), into the DWARF.
    let first = match artifact_parts.images.is_empty() {
        true => map.range.start,
        false => artifact_parts.data_offset,
    };
    assert_eq!(unread.start, first);
    assert!(map.range.end <= part.range.start && unread.end <= part.range.end);
    assert!(unread.len() >= 3 << 20, "{unread:?}");

    let backtrace = |extra: &[&str]| {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.push("big.hwasm");
        let (out, _) = hoist(&args, &dir);
        (out.status.code(), stderr(&out))
    };
    let (code, text) = backtrace(&["-D", "debug-info"]);
    assert_eq!(code, Some(134), "{text}");
    assert!(text.contains("at ./trap_debug.c:6:14"), "{text}");
    assert!(!text.contains("warning"), "{text}");
    let (code, text) = backtrace(&[]);
    assert_eq!(code, Some(134), "{text}");
    assert!(
        text.contains("0: 0x") && !text.contains("<unknown>"),
        "{text}"
    );

    // A record of the address map changed in the file: the same trap,
    // frames without wasm offsets (nor source lines).
    let mut changed = bytes.clone();
    changed[map.range.start + 5] ^= 0x55;
    std::fs::write(&artifact, &changed).unwrap();
    for extra in [&[][..], &["-D", "debug-info"][..]] {
        let (code, text) = backtrace(extra);
        assert_eq!(code, Some(134), "{text}");
        assert!(
            text.contains("error: wasm trap: integer divide by zero"),
            "{text}"
        );
        assert!(text.contains("0: <unknown> - "), "{text}");
        assert!(!text.contains("trap_debug.c"), "{text}");
        assert!(
            text.contains("warning: `big.hwasm`: its address map changed since it was loaded"),
            "{text}"
        );
    }

    // A byte of the DWARF changed in the file: the run is the same, the
    // source lines are gone, and the warning says why.
    let mut changed = bytes.clone();
    let middle = unread.start + unread.len() / 2;
    changed[middle] ^= 0x55;
    std::fs::write(&artifact, &changed).unwrap();
    let (code, text) = backtrace(&["-D", "debug-info"]);
    assert_eq!(code, Some(134), "{text}");
    assert!(
        text.contains("error: wasm trap: integer divide by zero"),
        "{text}"
    );
    assert!(!text.contains("trap_debug.c"), "{text}");
    assert!(text.contains("its debug info changed"), "{text}");
    let (code, text) = backtrace(&[]);
    assert_eq!(code, Some(134), "{text}");
    assert!(!text.contains("warning"), "{text}");

    // A byte of the same section outside the pages left unread, and the
    // section's place in the section headers, are covered by the seal.
    assert!(unread.end < part.range.end, "{unread:?} {:?}", part.range);
    let mut edge = bytes.clone();
    edge[unread.end] ^= 0x55;
    let mut moved = bytes.clone();
    let at = bytes.len() - 4096;
    let tail = &bytes[at..];
    let offset = (unread.start as u64 - 4096).to_le_bytes();
    let from = (part.range.start as u64).to_le_bytes();
    let i = tail
        .windows(8)
        .position(|w| w == from)
        .expect("the section's offset");
    moved[at + i..at + i + 8].copy_from_slice(&offset);
    for (what, image) in [("edge", edge), ("moved", moved)] {
        std::fs::write(&artifact, &image).unwrap();
        let (code, text) = backtrace(&[]);
        assert_eq!(code, Some(1), "{what}: {text}");
        assert!(text.contains("no valid seal"), "{what}: {text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
