#!/bin/sh
# Rebuilds the test guests tests/programs/*.wasm from src/*.c.
#
# Needs clang and wasm-ld with a wasm32-wasi target and the wasi-libc
# sysroot (Debian: clang lld wasi-libc libclang-rt-dev-wasm32). The flags are
# fixed so rebuilding with the same toolchain gives the same bytes. Debug
# info is dropped (-g0, --strip-debug) but the name section is kept, so trap
# backtraces show function names.
#
#   tests/programs/build.sh            build every program
#   tests/programs/build.sh hello ...  build only those
#   CC=/opt/wasi-sdk/bin/clang SYSROOT=/opt/wasi-sdk/share/wasi-sysroot tests/programs/build.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-clang}
TARGET=${TARGET:-wasm32-wasi}
# Debian's clang finds wasi-libc in /usr/include/wasm32-wasi and
# /usr/lib/wasm32-wasi by itself; elsewhere give the wasi-sdk sysroot.
SYSROOT=${SYSROOT:-}

CFLAGS="--target=$TARGET ${SYSROOT:+--sysroot=$SYSROOT} -O2 -g0 -std=c11 -D_GNU_SOURCE -Wall -Wextra"
# Keep the name section (no --strip-all); no build ids or paths embedded.
LDFLAGS="-Wl,--strip-debug"

if [ $# -eq 0 ]; then
    set -- $(cd "$here/src" && ls *.c | sed 's/\.c$//')
fi

for name in "$@"; do
    # Relative source path, so no absolute path can end up in the output.
    (cd "$here/src" && $CC $CFLAGS $LDFLAGS -o "../$name.wasm" "$name.c")
    chmod 644 "$here/$name.wasm"
    echo "built tests/programs/$name.wasm"
done
