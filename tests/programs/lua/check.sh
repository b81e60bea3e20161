#!/bin/sh
# Runs the Lua scripts in this directory with a Lua guest and compares their
# stdout with NAME.expected and their exit status with 0 (1 for error_exit).
#
#   tests/programs/lua/check.sh                       lua_eh.wasm under `wasmtime run`
#   tests/programs/lua/check.sh tests/programs/lua_eh_legacy.wasm
#   RUN="hoist run" tests/programs/lua/check.sh       another runtime
#
# The directory is preopened as /lua (`--dir HOST::GUEST`, which wasmtime
# and hoist both accept), so error messages read "/lua/NAME.lua:LINE: ...".
# Ends with "N passed, N failed"; exits 1 if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
wasm=${1:-$here/../lua_eh.wasm}
RUN=${RUN:-wasmtime run}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-lua-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
for script in "$here"/*.lua; do
    name=$(basename "$script" .lua)
    want_status=0
    [ "$name" = error_exit ] && want_status=1
    $RUN --dir "$here::/lua" "$wasm" "/lua/$name.lua" >"$tmp/out" 2>"$tmp/err"
    status=$?
    if [ "$status" -eq "$want_status" ] && cmp -s "$tmp/out" "$here/$name.expected"; then
        echo "ok $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name: exit status $status (expected $want_status)"
        diff "$here/$name.expected" "$tmp/out" | head -20
        head -5 "$tmp/err"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
