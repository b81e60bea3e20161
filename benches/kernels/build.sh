#!/bin/sh
# Rebuilds the kernels (benches/kernels/*/benchmark.wasm) from their C sources, with zig's
# clang and WASI libc (`pip install ziglang==0.17.1` for the committed bytes; ZIG=... to use
# another zig). Each folder is laid out as a Sightglass program (benchmark.wasm, importing
# bench.start and bench.end; default.stdout.expected), so benches/sightglass.rs runs them:
#
#   cargo bench --bench sightglass -- --sightglass benches/kernels [--region] [--reference ...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ZIG=${ZIG:-python3 -m ziglang}
for dir in "$here"/*/; do
    name=$(basename "$dir")
    src=$dir$name.c
    [ -f "$src" ] || continue
    # -s: no debug info or names (bench.start and bench.end are declared as imports in the source).
    $ZIG cc -O2 -s -target wasm32-wasi "$src" -o "${dir}benchmark.wasm" -lm
    echo "built ${dir}benchmark.wasm"
done
