#!/usr/bin/env bash
# Start-up of a hello-world guest, whole process: hoist from an artifact and
# from its compile cache, a reference runtime (wasmtime's command line) from
# its precompiled .cwasm and its cache, and /bin/true, in one hyperfine run;
# then the peak resident set of each.
#
#   benches/startup.sh [RUNS]          (default 300)
#
# HOIST (default target/release/hoist) and REFERENCE (default `wasmtime` on
# PATH, with a Python wrapper replaced by its binary, see reference.sh; empty
# for none) pick the binaries. Needs hyperfine and GNU time.
# Caches live in a temporary directory, so the user's are not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
hoist=${HOIST:-target/release/hoist}
reference=${REFERENCE-wasmtime}
guest=tests/programs/hello.wasm
[ -x "$hoist" ] || { echo "error: $hoist is not built (cargo build --release)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "error: hyperfine is not installed" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache" XDG_STATE_HOME="$tmp/state"
cp "$guest" "$tmp/hello.wasm"
# Both runtimes run from a fresh copy, as an installed binary is: a binary
# the linker has just written sits in the page cache in small pieces, and
# mapping it then takes a few tenths of a millisecond more per run.
cp "$hoist" "$tmp/hoist" && hoist="$tmp/hoist"
# shellcheck source=benches/reference.sh
. benches/reference.sh
if [ -n "$reference" ] && ref_path=$(reference_binary "$reference"); then
    cp "$ref_path" "$tmp/reference" && reference="$tmp/reference"
fi
"$hoist" compile "$tmp/hello.wasm" -o "$tmp/hello.hwasm"
"$hoist" run "$tmp/hello.wasm" >/dev/null # fills the cache

commands=(-n "hoist, artifact" "$hoist run $tmp/hello.hwasm"
    -n "hoist, cached .wasm" "$hoist run $tmp/hello.wasm")
if [ -n "$reference" ] && command -v "$reference" >/dev/null; then
    "$reference" compile "$tmp/hello.wasm" -o "$tmp/hello.cwasm"
    "$reference" run "$tmp/hello.wasm" >/dev/null
    commands+=(-n "reference, .cwasm" "$reference run --allow-precompiled $tmp/hello.cwasm"
        -n "reference, cached .wasm" "$reference run $tmp/hello.wasm")
fi
commands+=(-n "/bin/true" "/bin/true")

# hyperfine's outlier warnings go to a file; its errors are shown.
if ! hyperfine -N --warmup 20 --runs "$runs" --export-markdown "$tmp/table.md" \
    --export-json "$tmp/times.json" "${commands[@]}" >/dev/null 2>"$tmp/hyperfine.err"; then
    cat "$tmp/hyperfine.err" >&2
    exit 1
fi
cat "$tmp/table.md"
echo
# The markdown table has means; a host's hiccups pull those up, so medians too.
echo "medians:"
python3 -c 'import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("  %s: %.3f ms" % (r["command"], r["median"] * 1000))' "$tmp/times.json"
echo
echo "peak resident set:"
"/usr/bin/time" -f "  hoist, artifact: %M KiB" "$hoist" run "$tmp/hello.hwasm" >/dev/null
if [ -n "$reference" ] && command -v "$reference" >/dev/null; then
    "/usr/bin/time" -f "  reference, .cwasm: %M KiB" "$reference" run --allow-precompiled "$tmp/hello.cwasm" >/dev/null
fi
