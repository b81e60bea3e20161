#!/usr/bin/env bash
# Fetches Debian trixie's containerd (1.7, which unpacks Wasm layers;
# bookworm's 1.6.20 does not) without touching the system's apt setup or
# installing anything: a private apt configuration against the machine's own
# Debian mirror, `apt-get download`, `dpkg -x` into DIR.
#
#   tests/containerd/fetch-containerd.sh DIR
#
# On success prints the directory holding `containerd` and `ctr` (for
# CONTAINERD_BIN) and exits 0; otherwise says why on stderr and exits 1.
# The binaries need glibc 2.34 (bookworm has 2.36) and runc from the system.
set -euo pipefail
dir=${1:?usage: fetch-containerd.sh DIR}
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"

# The mirror the machine already uses (deb822 sources or sources.list).
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
echo "deb $mirror trixie main" >"$dir/sources.list"
opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o Debug::NoLocking=1)
if ! apt-get "${opts[@]}" update -qq >"$dir/apt.log" 2>&1; then
    echo "fetch-containerd: apt-get update for trixie failed (see $dir/apt.log)" >&2
    exit 1
fi
if ! (cd "$dir" && apt-get "${opts[@]}" download containerd >>"$dir/apt.log" 2>&1); then
    echo "fetch-containerd: apt-get download containerd failed (see $dir/apt.log)" >&2
    exit 1
fi
deb=$(ls "$dir"/containerd_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "fetch-containerd: no .deb downloaded" >&2; exit 1; }
dpkg -x "$deb" "$dir/x"
for b in containerd ctr; do
    if ! "$dir/x/usr/bin/$b" --version >/dev/null 2>&1; then
        echo "fetch-containerd: $dir/x/usr/bin/$b does not run here" >&2
        exit 1
    fi
done
echo "$dir/x/usr/bin"
