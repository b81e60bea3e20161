# Shared by run.sh and startup.sh: a private containerd with the hoist shim.
# Source it from the repository's top, then call start_containerd. It sets
# repo, hoist, containerd, ctr_bin, tmp (a temporary directory, removed at
# exit), ns (a containerd namespace of our own), sock, server (containerd's
# version) and wasm_layers (yes if this containerd unpacks Wasm layers), and
# stops everything at exit. `ctr` is bound to the private daemon, each call
# limited to 120 s. CONTAINERD_BIN=DIR takes containerd and ctr from DIR.

repo=$(pwd)
tmp=
ctd_pid=

fail() {
    echo "error: $*" >&2
    exit 1
}

ctr() { timeout 120 "$ctr_bin" --address "$sock" -n "$ns" "$@"; }

start_containerd() {
    [ "$(id -u)" -eq 0 ] || fail "run as root: containerd and the shim need it"
    local bin=${CONTAINERD_BIN:-}
    containerd=$(command -v "${bin:+$bin/}containerd") ||
        fail "no containerd (apt-get install containerd, or CONTAINERD_BIN=DIR)"
    ctr_bin=$(command -v "${bin:+$bin/}ctr") || fail "no ctr (it comes with Debian's containerd)"
    command -v python3 >/dev/null || fail "no python3 (it builds the images)"
    local b
    for b in hoist containerd-shim-hoist-v1; do
        [ -x "target/release/$b" ] || fail "target/release/$b is missing: cargo build --release --workspace"
    done
    hoist=$repo/target/release/hoist

    tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-containerd.XXXXXX") || fail "mktemp failed"
    ns=hoist-test-$$
    sock=$tmp/containerd.sock
    # hoist's compile cache and key stay in here too.
    export XDG_CACHE_HOME=$tmp/xdg-cache XDG_STATE_HOME=$tmp/xdg-state
    trap stop_containerd EXIT
    trap 'exit 1' INT TERM
    printf '%s\n' 'version = 2' "root = \"$tmp/root\"" "state = \"$tmp/state\"" \
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]' \
        '[grpc]' "  address = \"$sock\"" '[ttrpc]' "  address = \"$sock.ttrpc\"" \
        >"$tmp/config.toml"
    # containerd finds the shims on its PATH: ours, and runc's beside it.
    # The log is appended to, so it can be emptied to look at one run's.
    PATH="$repo/target/release:$(dirname "$containerd"):$PATH" "$containerd" --config "$tmp/config.toml" \
        >>"$tmp/containerd.log" 2>&1 &
    ctd_pid=$!
    local i
    for i in $(seq 100); do
        ctr version >/dev/null 2>&1 && break
        kill -0 "$ctd_pid" 2>/dev/null || {
            cat "$tmp/containerd.log" >&2
            fail "containerd did not start"
        }
        sleep 0.2
    done
    server=$(ctr version 2>/dev/null | awk '/^Server:/{s=1} s && /Version:/{print $2; exit}')
    [ -n "$server" ] || fail "containerd does not answer on $sock"
    # Wasm layers unpack from containerd 1.7.7 / 1.6.25 on (containerd PR 9142).
    local version major minor patch
    version=${server%%[~+-]*}
    IFS=. read -r major minor patch <<<"$version"
    major=${major:-0} minor=${minor:-0} patch=${patch:-0}
    wasm_layers=no
    if [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && { [ "$minor" -ge 7 ] ||
        { [ "$minor" -eq 6 ] && [ "$patch" -ge 25 ]; }; }; }; then
        wasm_layers=yes
    fi
}

stop_containerd() {
    [ -n "$tmp" ] || return 0
    if [ -n "$ctd_pid" ]; then
        local t c
        for t in $(ctr tasks ls -q 2>/dev/null); do
            ctr tasks kill -s SIGKILL "$t" >/dev/null 2>&1
        done
        sleep 0.5
        for c in $(ctr containers ls -q 2>/dev/null); do
            ctr tasks rm -f "$c" >/dev/null 2>&1
            ctr containers rm "$c" >/dev/null 2>&1
        done
        kill "$ctd_pid" 2>/dev/null
        wait "$ctd_pid" 2>/dev/null
    fi
    # What containerd and the shims keep outside the private root: their
    # state for this namespace, and empty cgroups.
    rm -rf "/run/containerd/hoist/$ns" "/run/containerd/runc/$ns"
    # Directories containerd makes as needed, if nothing else uses them.
    rmdir /run/containerd/hoist /run/containerd/runc /run/containerd/fifo /run/containerd/s \
        /run/containerd 2>/dev/null
    local d
    for d in /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/"$ns"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    umount -R "$tmp/root" 2>/dev/null
    rm -rf "$tmp"
    return 0
}
