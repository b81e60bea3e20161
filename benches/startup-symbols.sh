#!/bin/sh
# Regenerates src/startup-symbols.txt: the functions of the hoist binary that
# run when it starts a hello world from an artifact and from its compile
# cache. build.rs has the linker put them first in .text, together (a
# linker script), so starting touches about a MiB of code instead of pages
# spread over 10 MB: fewer page faults, and less of the binary mapped.
#
#   sh benches/startup-symbols.sh
#
# Run it after changing what start-up runs, from the release profile as
# Cargo.toml sets it (whole-program LTO: its inlining decides which
# functions exist: the LTO build with the list of a build without LTO started
# a hello world in 1.78 ms, with its own list in 1.44). Names are written as patterns
# without the hashes legacy-mangled names end with (`17h<16 hex>E`, and the
# `.llvm.N` of a promoted local): those hashes differ between builds of the
# same source (`cargo build` and `cargo test --workspace` unify features
# differently), so exact names matched only the build that wrote the list.
# A pattern matches every instance of a generic function. std's names
# (v0-mangled, built once with the toolchain) are exact; after a toolchain
# update, rerun it. A pattern that matches nothing is skipped.
# Needs valgrind (callgrind) and python3.
set -eu
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "error: valgrind is not installed" >&2; exit 1; }
cargo build --release --bin hoist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache" XDG_STATE_HOME="$tmp/state"
cp target/release/hoist "$tmp/hoist"
cp tests/programs/hello.wasm "$tmp/hello.wasm"
# Valgrind's CPU has fewer features than the host (no AVX-512): an artifact
# for the baseline runs on it, and the cache is filled under valgrind.
"$tmp/hoist" compile --cpu baseline "$tmp/hello.wasm" -o "$tmp/hello.hwasm"
valgrind -q --tool=none "$tmp/hoist" run "$tmp/hello.wasm" >/dev/null
for run in "$tmp/hello.hwasm" "$tmp/hello.wasm"; do
    valgrind --tool=callgrind --demangle=no --callgrind-out-file="$tmp/$(basename "$run").cg" \
        "$tmp/hoist" run "$run" >"$tmp/out" 2>&1
    grep -q "hello, world" "$tmp/out" || { cat "$tmp/out" >&2; exit 1; }
done
python3 - "$tmp/hoist" "$tmp"/*.cg > src/startup-symbols.txt <<'EOF'
# Which functions ran in the binary, first appearance first: callgrind names
# each function once, `fn=(id) name`, and `cfn=(id) name` for callees, under
# `ob=`/`cob=` lines that name the object.
import re
import sys

binary, profiles = sys.argv[1], sys.argv[2:]
print("# Functions hoist runs to start a hello world, as section-name globs")
print("# (benches/startup-symbols.sh writes this file; build.rs has the linker")
print("# place them first in .text).")
seen = set()
for profile in profiles:
    objects, functions, current = {}, {}, None
    for line in open(profile, encoding="utf-8", errors="replace"):
        m = re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line.strip())
        if m:
            kind, ident, name = m.groups()
            if name:
                objects[ident] = name
            if kind == "ob":
                current = objects.get(ident)
            continue
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line.strip())
        if m:
            kind, ident, name = m.groups()
            if name:
                functions[ident] = name
            name = functions.get(ident)
            # Callgrind names code without a symbol by its address, and
            # the frame above main "(below main)": neither is a section.
            if kind == "fn" and current == binary and name and not name.startswith(("0x", "(")):
                pattern = re.sub(r"\.llvm\.\d+$", "", name)
                pattern = re.sub(r"17h[0-9a-f]{16}E$", "17h*E*", pattern)
                if pattern not in seen:
                    seen.add(pattern)
                    print(pattern)
EOF
echo "src/startup-symbols.txt: $(grep -vc '^#' src/startup-symbols.txt) patterns"
