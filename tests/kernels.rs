//! The kernels in benches/kernels (see its README) under hoist: each prints
//! its expected output, JIT-compiled and from an artifact, and nothing on
//! stderr. The benchmark measures their speed; this keeps them right.

mod artifacts;

use artifacts::*;

#[test]
fn kernels_print_their_expected_output() {
    let dir = scratch("kernels");
    let bench = bench_module(&dir);
    let preload = format!("bench={}", bench.display());
    let kernels = root().join("benches/kernels");
    let mut ran = 0;
    for entry in std::fs::read_dir(&kernels).unwrap() {
        let folder = entry.unwrap().path();
        let module = folder.join("benchmark.wasm");
        if !module.is_file() {
            continue;
        }
        let out = assert_same(
            &module,
            &["--dir", ".", "--preload", &preload],
            &[],
            &folder,
            &dir,
        );
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for (stream, actual) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let expected = std::fs::read(folder.join(format!("default.{stream}.expected")))
                .unwrap_or_else(|e| panic!("{name}: default.{stream}.expected: {e}"));
            assert!(
                *actual == expected,
                "{name}: {stream} differs from its expected output:\n{}",
                String::from_utf8_lossy(actual)
            );
        }
        ran += 1;
    }
    assert!(ran > 0, "no kernels found in {}", kernels.display());
}
