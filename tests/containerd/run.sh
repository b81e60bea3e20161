#!/usr/bin/env bash
# Wasm containers under a real containerd with the hoist shim
# (io.containerd.hoist.v1), and the same images through `hoist run --image`.
#
#   tests/containerd/run.sh
#
# Starts a private containerd (root, state and socket under a temporary
# directory; stopped and removed at the end), builds two images from
# tests/programs/container.wasm with mkimage.py -- a compat image (the
# module is /app.wasm in a tar layer, annotated module.wasm.image/variant=
# compat) and a Wasm-layer image (the module is a layer of its own) --,
# imports them with ctr and runs them with `ctr run --rm --runtime
# io.containerd.hoist.v1`, checking stdout, exit statuses, args and env from
# the image config, a file of the image's root file system, writes outside
# the root refused, spec mounts (read-only and read-write) and `ctr task
# kill` of a running guest.
#
# Installs nothing. Needs: root; containerd and ctr (Debian's `containerd`;
# CONTAINERD_BIN=DIR takes both from DIR instead, e.g. trixie's 1.7 unpacked
# with dpkg -x); python3; target/release/hoist and
# target/release/containerd-shim-hoist-v1 (`cargo build --release
# --workspace`). containerd before 1.7 (1.6.25) cannot unpack Wasm layers
# (it has no stream processor for their media type): the Wasm-layer image
# then runs through `hoist run --image` only, and the script says so.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/containerd/lib.sh
. tests/containerd/lib.sh
start_containerd
echo "containerd $server ($containerd), shim $repo/target/release/containerd-shim-hoist-v1"

# The images.
printf "hello from the image's root file system\n" >"$tmp/greeting.txt"
cat >"$tmp/hello.wat" <<'EOF'
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from wat\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 15))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
EOF
"$hoist" compile tests/programs/container.wasm -o "$tmp/app.hwasm" || fail "hoist compile failed"
common=(--file "$tmp/greeting.txt:/etc/greeting.txt" --symlink /up=../..
    --entrypoint /app.wasm --cmd show --cmd from-cmd
    --env PATH=/usr/bin:/bin --env "GREETING=hello from the image config")
python3 tests/containerd/mkimage.py "$tmp/compat.tar" docker.io/hoist/compat:test "${common[@]}" \
    --file tests/programs/container.wasm:/app.wasm --file "$tmp/hello.wat:/hello.wat" \
    --file "$tmp/app.hwasm:/app.hwasm" --compat >/dev/null || fail "mkimage.py failed"
python3 tests/containerd/mkimage.py "$tmp/wasm.tar" docker.io/hoist/wasm:test "${common[@]}" \
    --wasm-layer tests/programs/container.wasm >/dev/null || fail "mkimage.py failed"

passed=0
failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "FAIL - $*"; failed=$((failed + 1)); }
# check NAME EXPECTED-STATUS EXPECTED-STDOUT-REGEX COMMAND...: runs it, with
# stdout in $out.
check() {
    local name=$1 want_status=$2 want=$3
    shift 3
    out=$("$@" 2>"$tmp/stderr")
    local status=$?
    if [ "$status" -eq "$want_status" ] && printf '%s\n' "$out" | grep -Eq -- "$want"; then
        ok "$name"
    else
        not_ok "$name: status $status (want $want_status), stdout:"
        printf '%s\n' "$out" | sed 's/^/    | /'
        sed 's/^/    stderr| /' "$tmp/stderr"
    fi
}
show="argc=3
argv[0]=/app.wasm
argv[1]=show
argv[2]=from-cmd
GREETING=hello from the image config
greeting.txt: hello from the image's root file system"
# check_show NAME COMMAND...: exit 0 and exactly $show on stdout.
check_show() {
    local name=$1
    shift
    out=$("$@" 2>"$tmp/stderr")
    local status=$?
    if [ "$status" -eq 0 ] && [ "$out" = "$show" ]; then
        ok "$name"
    else
        not_ok "$name: status $status, stdout:"
        printf '%s\n' "$out" | sed 's/^/    | /'
        sed 's/^/    stderr| /' "$tmp/stderr"
    fi
}

run() { ctr run --rm --runtime io.containerd.hoist.v1 "$@"; }
n=0
id() { n=$((n + 1)); echo "c$n"; }

ctr_images=(docker.io/hoist/compat:test)
if ctr images import --all-platforms "$tmp/compat.tar" >/dev/null 2>"$tmp/stderr"; then
    ok "ctr image import compat.tar"
else
    not_ok "ctr image import compat.tar: $(cat "$tmp/stderr")"
fi
if [ "$wasm_layers" = yes ]; then
    if ctr images import --all-platforms "$tmp/wasm.tar" >/dev/null 2>"$tmp/stderr"; then
        ok "ctr image import wasm.tar"
        ctr_images+=(docker.io/hoist/wasm:test)
    else
        not_ok "ctr image import wasm.tar: $(cat "$tmp/stderr")"
    fi
else
    echo "note: containerd $server cannot unpack Wasm layers (1.7.7 or 1.6.25 can); the Wasm-layer image runs through hoist run --image only"
fi

mkdir -p "$tmp/data"
for image in "${ctr_images[@]}"; do
    kind=${image#docker.io/hoist/}
    kind=${kind%:test}
    check_show "$kind: ctr run prints args, env and /etc/greeting.txt from the image" run "$image" "$(id)"
    check "$kind: the guest's exit status is the container's" 7 '' run "$image" "$(id)" /app.wasm exit 7
    check "$kind: ctr run --env adds to the image's env" 0 '^EXTRA=from ctr$' \
        run --env "EXTRA=from ctr" "$image" "$(id)"
    check "$kind: writes outside the root are refused" 0 'escape: all refused$' \
        run "$image" "$(id)" /app.wasm escape
    rm -f "$tmp/data/"*
    check "$kind: a read-only mount refuses writes" 3 '^/data/out.txt: refused' \
        run --mount "type=bind,src=$tmp/data,dst=/data,options=rbind:ro" "$image" "$(id)" /app.wasm write /data/out.txt
    if [ -e "$tmp/data/out.txt" ]; then not_ok "$kind: the read-only mount was written"; fi
    check "$kind: a read-write mount takes writes" 0 '^wrote /data/out.txt$' \
        run --mount "type=bind,src=$tmp/data,dst=/data,options=rbind:rw" "$image" "$(id)" /app.wasm write /data/out.txt
    if [ "$(cat "$tmp/data/out.txt" 2>/dev/null)" = x ]; then ok "$kind: the write reached the host"; else not_ok "$kind: the write did not reach the host"; fi

    # ctr task kill (SIGTERM) ends a guest that runs forever: exit 143.
    c=$(id)
    : >"$tmp/sleep.out"
    run "$image" "$c" /app.wasm sleep >"$tmp/sleep.out" 2>&1 &
    runner=$!
    for _ in $(seq 100); do grep -q sleeping "$tmp/sleep.out" && break; sleep 0.1; done
    if grep -q sleeping "$tmp/sleep.out"; then
        started=$(date +%s%N)
        ctr tasks kill "$c"
        for _ in $(seq 100); do kill -0 "$runner" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$runner" 2>/dev/null; then
            not_ok "$kind: ctr task kill did not end the guest within 10 s"
            ctr tasks kill -s SIGKILL "$c"
            wait "$runner"
        else
            wait "$runner"
            status=$?
            ms=$((($(date +%s%N) - started) / 1000000))
            if [ "$status" -eq 143 ]; then
                ok "$kind: ctr task kill ended the running guest (status 143, ${ms} ms)"
            else
                not_ok "$kind: ctr task kill: status $status, want 143"
            fi
        fi
    else
        not_ok "$kind: the sleeping guest did not start: $(cat "$tmp/sleep.out")"
        kill "$runner" 2>/dev/null
    fi
done

# Compat only: text and precompiled entrypoints.
check "compat: a .wat entrypoint runs" 0 '^hello from wat$' run docker.io/hoist/compat:test "$(id)" /hello.wat
check "compat: a .hwasm entrypoint runs" 5 '' run docker.io/hoist/compat:test "$(id)" /app.hwasm exit 5

if [ "$wasm_layers" = yes ] && [[ " ${ctr_images[*]} " == *" docker.io/hoist/wasm:test "* ]]; then
    # The first run stored the compiled module beside the Wasm layer.
    layer=sha256:$(sha256sum tests/programs/container.wasm | cut -d' ' -f1)
    label=$(ctr content ls 2>/dev/null | grep "^$layer" | grep -o 'runwasi.io/precompiled/hoist/[0-9]*=sha256:[0-9a-f]*' | head -n 1)
    if [ -n "$label" ]; then
        ok "wasm: containerd stores hoist's compiled module (${label:0:60}...)"
    else
        not_ok "wasm: no precompiled label on the Wasm layer in the content store"
    fi
    : >"$tmp/containerd.log"
    check_show "wasm: a later run starts from the stored module" run docker.io/hoist/wasm:test "$(id)"
    if grep -q "has pre-compiled content" "$tmp/containerd.log" &&
        ! grep -q "recompiling" "$tmp/containerd.log"; then
        ok "wasm: the later run loaded the stored module"
    else
        not_ok "wasm: the later run did not load the stored module"
    fi
    # A stored artifact of another hoist build never runs: the label now
    # points at a blob (as compiler.rs stores them: magic, length, module,
    # artifact) whose artifact says it is from another build and was
    # compiled from another module (hello.wasm: `hello, world`). The shim
    # must compile container.wasm again and run that.
    if [ -n "$label" ]; then
        HOIST_BUILD_ID_OVERRIDE_FOR_TESTS=another-build "$hoist" compile tests/programs/hello.wasm -o "$tmp/foreign.hwasm"
        python3 - tests/programs/container.wasm "$tmp/foreign.hwasm" "$tmp/foreign.blob" <<'PY'
import struct, sys
wasm = open(sys.argv[1], "rb").read()
artifact = open(sys.argv[2], "rb").read()
open(sys.argv[3], "wb").write(b"hoistpc\x01" + struct.pack("<Q", len(wasm)) + wasm + artifact)
PY
        blob=sha256:$(sha256sum "$tmp/foreign.blob" | cut -d' ' -f1)
        # Label first, then ingest: `ctr content ingest` holds no lease, so
        # a blob nothing refers to yet can be collected by containerd's GC
        # (scheduled by the previous run's cleanup) before it is labelled.
        ctr content label "$layer" "${label%%=*}=$blob" "containerd.io/gc.ref.content.precompile.0=$blob" >/dev/null
        ctr content ingest --expected-digest "$blob" --expected-size "$(stat -c %s "$tmp/foreign.blob")" \
            "foreign-$$" <"$tmp/foreign.blob"
        : >"$tmp/containerd.log"
        check_show "wasm: a stored artifact of another hoist build is recompiled, never run" \
            run docker.io/hoist/wasm:test "$(id)"
        if grep -q "recompiling the module, the stored artifact cannot run: the artifact was compiled by another build of hoist" "$tmp/containerd.log"; then
            ok "wasm: the shim said why it recompiled"
        else
            not_ok "wasm: no word of the recompile in containerd's log"
        fi
    fi
fi

# The same images through hoist run --image, no containerd.
for kind in compat wasm; do
    check_show "$kind: hoist run --image prints the same" "$hoist" run --image "$tmp/$kind.tar"
    check "$kind: hoist run --image exit status" 7 '' "$hoist" run --image "$tmp/$kind.tar" exit 7
    check "$kind: hoist run --image refuses writes outside the root" 0 'escape: all refused$' \
        "$hoist" run --image "$tmp/$kind.tar" escape
done

echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
    echo "--- containerd log (last 40 lines):"
    tail -n 40 "$tmp/containerd.log"
    exit 1
fi
