#!/usr/bin/env bash
# Start-up time of whole `ctr run --rm` invocations (create, start, wait,
# delete), under the hoist shim and, as the baseline, under runc.
#
#   tests/containerd/startup.sh [RUNS]     (default 10)
#
# For each row, RUNS runs and their median, min and max wall time:
# - hello-world Wasm-layer image, first run: the image is imported afresh
#   before each run (not timed), so the shim compiles the module and
#   containerd stores the artifact during the run;
# - the same image, later runs: the stored artifact is loaded;
# - hello-world compat image (/hello.wasm in a tar layer): compiled at every
#   start;
# - a native static hello (gcc -static) in a one-layer image, under runc
#   (io.containerd.runc.v2) and under the hoist shim (which runs a native
#   entrypoint as a plain Linux container).
# The guest is tests/programs/hello.wasm (prints `hello, world`);
# GUEST=FILE and GUEST_ARGS='ARG|ARG...' take another that prints the same
# (GUEST=tests/programs/lua_eh.wasm GUEST_ARGS='-e|print("hello, world")'
# for a 320 KB module).
#
# Needs what run.sh needs, gcc with a static libc (Debian: libc6-dev), and
# for the Wasm-layer rows a containerd that unpacks Wasm layers
# (CONTAINERD_BIN=DIR, see fetch-containerd.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/containerd/lib.sh
. tests/containerd/lib.sh
runs=${1:-10}
start_containerd
command -v gcc >/dev/null || fail "no gcc (for the native baseline)"
echo "containerd $server; $runs runs each; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

printf '#include <stdio.h>\nint main(void) { puts("hello, world"); return 0; }\n' >"$tmp/hello.c"
gcc -static -O2 -o "$tmp/hello" "$tmp/hello.c" || fail "gcc -static failed"
guest=${GUEST:-tests/programs/hello.wasm}
guest_args=()
[ -z "${GUEST_ARGS:-}" ] || IFS='|' read -ra guest_args <<<"$GUEST_ARGS"
cmd=()
for a in "${guest_args[@]}"; do cmd+=("--cmd=$a"); done
echo "guest $guest ($(stat -c %s "$guest") bytes) ${guest_args[*]}"
mk() { python3 tests/containerd/mkimage.py "$@" >/dev/null || fail "mkimage.py $*"; }
mk "$tmp/wasm.tar" docker.io/hoist/hello-wasm:bench --wasm-layer "$guest" \
    --entrypoint /hello.wasm "${cmd[@]}"
mk "$tmp/compat.tar" docker.io/hoist/hello-compat:bench --file "$guest:/hello.wasm" \
    --entrypoint /hello.wasm "${cmd[@]}" --compat
mk "$tmp/native.tar" docker.io/hoist/hello-native:bench --file "$tmp/hello:/hello:755" \
    --entrypoint /hello --platform linux/amd64

# timed CMD...: runs CMD once (stdout must be `hello, world`), prints ms.
timed() {
    local start end
    start=$(date +%s%N)
    out=$("$@" 2>"$tmp/stderr")
    local status=$?
    end=$(date +%s%N)
    if [ "$status" -ne 0 ] || [ "$out" != "hello, world" ]; then
        fail "$* gave status $status, stdout '$out', stderr: $(cat "$tmp/stderr")"
    fi
    echo $(((end - start) / 1000))
}
# row NAME MICROSECONDS...: median, min, max in ms.
row() {
    local name=$1
    shift
    printf '%s\n' "$@" | sort -n | awk -v name="$name" '
        { v[NR] = $1 }
        END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%-44s median %7.1f ms   min %7.1f   max %7.1f\n", name, m / 1000, v[1] / 1000, v[NR] / 1000
        }'
}
hoist_run() { ctr run --rm --runtime io.containerd.hoist.v1 "$1" "b$(date +%s%N)"; }
runc_run() { ctr run --rm "$1" "b$(date +%s%N)"; }
import() { ctr images import --all-platforms "$1" >/dev/null || fail "import $1"; }

if [ "$wasm_layers" = yes ]; then
    first=()
    : >"$tmp/containerd.log"
    for _ in $(seq "$runs"); do
        ctr images rm --sync docker.io/hoist/hello-wasm:bench >/dev/null 2>&1
        import "$tmp/wasm.tar"
        t=$(timed hoist_run docker.io/hoist/hello-wasm:bench) || exit 1
        first+=("$t")
    done
    compiled=$(grep -c "precompiling layers" "$tmp/containerd.log")
    [ "$compiled" -eq "$runs" ] || fail "the shim compiled $compiled times in $runs first runs"
    row "Wasm layer, first run (compiles)" "${first[@]}"
    later=()
    for _ in $(seq "$runs"); do
        t=$(timed hoist_run docker.io/hoist/hello-wasm:bench) || exit 1
        later+=("$t")
    done
    row "Wasm layer, later runs (precompiled)" "${later[@]}"
else
    echo "note: containerd $server cannot unpack Wasm layers: no Wasm-layer rows"
fi
import "$tmp/compat.tar"
compat=()
for _ in $(seq "$runs"); do
    t=$(timed hoist_run docker.io/hoist/hello-compat:bench) || exit 1
    compat+=("$t")
done
row "compat image (compiles every start)" "${compat[@]}"
import "$tmp/native.tar"
native=()
for _ in $(seq "$runs"); do
    t=$(timed runc_run docker.io/hoist/hello-native:bench) || exit 1
    native+=("$t")
done
row "native static hello, runc" "${native[@]}"
native_hoist=()
for _ in $(seq "$runs"); do
    t=$(timed hoist_run docker.io/hoist/hello-native:bench) || exit 1
    native_hoist+=("$t")
done
row "native static hello, hoist shim" "${native_hoist[@]}"
direct=()
for _ in $(seq "$runs"); do
    t=$(timed "$hoist" run --no-cache "$guest" "${guest_args[@]}") || exit 1
    direct+=("$t")
done
row "hoist run --no-cache (no container)" "${direct[@]}"
