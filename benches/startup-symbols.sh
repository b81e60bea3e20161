#!/bin/sh
# Regenerates src/startup-symbols.txt: the functions of the hoist binary that
# run when it starts a hello world from an artifact and from its compile
# cache. build.rs has the linker put them first in .text, together (lld's
# --symbol-ordering-file), so starting touches a few hundred KiB of code
# instead of pages spread over 10 MB: fewer page faults, and less of the
# binary mapped (peak RSS 8.9 -> 7.1 MiB from a fresh copy of the binary).
#
#   sh benches/startup-symbols.sh
#
# Run it after changing what start-up runs, or after updating the toolchain
# or dependencies: symbol names carry hashes of both, and a name that no
# longer exists is skipped (what it named is then merely not grouped).
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
print("# Functions hoist runs to start a hello world (benches/startup-symbols.sh")
print("# writes this file; build.rs has the linker place them first in .text).")
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
            if kind == "fn" and current == binary and name and name not in seen:
                seen.add(name)
                print(name)
EOF
echo "src/startup-symbols.txt: $(grep -vc '^#' src/startup-symbols.txt) symbols"
