#!/bin/sh
# bench.sh — `make bench`: wafer against onnxruntime-node on the same models and the same
# batch-1 inputs, measured in the same run on this machine, printed as ratios.
#
# Usage: sh bench/bench.sh BUILD_DIR FIXTURES     (make bench passes build ../shared/fixtures)
#
# For each model the first sample of its fixture input is written as a batch-1 .npy (by
# ort_bench.js: wafer has no slicing command), then `wafer bench` and ort_bench.js run it with
# 1 and 2 threads (wafer: OpenBLAS threads; onnxruntime: intraOpNumThreads), with the same
# warmup and iteration counts. Ratio = wafer median / onnxruntime median (lower is better).
# onnxruntime-node is installed into bench/node_modules on first use (version pinned in
# bench/package.json; ONNXRUNTIME_NODE_INSTALL=skip keeps its installer from fetching GPU
# files). Takes well under a minute on 2 cores (the peer install adds a few seconds once).
set -u
B=${1:-build}
FX=${2:-../shared/fixtures}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$B/wafer

die() {
    echo "bench: $*" >&2
    exit 2
}

[ -x "$W" ] || die "$W not found (run make first)"
[ -d "$FX" ] || die "fixtures folder $FX not found"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "bench: installing Node.js (nodejs, npm) from Debian" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null ||
        die "Node.js is needed for the onnxruntime side (apt-get install nodejs npm)"
fi
if [ ! -d "$HERE/node_modules/onnxruntime-node" ]; then
    echo "bench: installing onnxruntime-node into bench/node_modules" >&2
    (cd "$HERE" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >"$TMP/npm.log" 2>&1) || {
        cat "$TMP/npm.log" >&2
        die "npm install of onnxruntime-node failed"
    }
fi

# "<key>":<number> from a one-line flat JSON file.
json_num() {
    sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p" "$1"
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
cores=$(nproc 2>/dev/null || grep -c ^processor /proc/cpuinfo)
ortv=$(node -p "require('$HERE/node_modules/onnxruntime-node/package.json').version" 2>/dev/null)
echo "machine: ${cpu:-unknown CPU}, $cores cores"
echo "wafer $("$W" --version | sed 's/^wafer //'), onnxruntime-node $ortv; batch 1; ratio = wafer / onnxruntime (median)"
echo

# name | model | input name | source .npy | extra slice args | iters | warmup
MODELS="digits_cnn|digits/digits_cnn.onnx|image|digits/test_img.npy||1000|50
kws_dscnn|kws/kws_dscnn.onnx|mfcc|kws/kws_in.npy||1000|50
mobilenet_v2|perf/mobilenet_v2.onnx|input|perf/mobilenet_v2_in.npy||50|5
tinylm|tinylm/tinylm.onnx|tokens|tinylm/tinylm_eval_tokens.npy|--cols 128|50|5"

printf '%-14s %7s %20s %20s %10s\n' model threads "wafer ms (med/p90)" "ort ms (med/p90)" wafer/ort
echo "$MODELS" | while IFS='|' read -r name model input src cols iters warmup; do
    x="$TMP/$name.npy"
    # shellcheck disable=SC2086  # $cols is empty or "--cols N"
    if ! node "$HERE/ort_bench.js" slice "$FX/$src" "$x" $cols 2>"$TMP/err"; then
        printf '%-14s slicing %s failed: %s\n' "$name" "$src" "$(cat "$TMP/err")"
        touch "$TMP/failed"
        continue
    fi
    for t in 1 2; do
        wj="$TMP/w.json"
        oj="$TMP/o.json"
        rm -f "$wj" "$oj"
        "$W" bench "$FX/$model" --input "$input=$x" --iters "$iters" --warmup "$warmup" --threads "$t" \
            --json "$wj" >/dev/null 2>"$TMP/werr"
        node "$HERE/ort_bench.js" run "$FX/$model" "$input=$x" --iters "$iters" --warmup "$warmup" \
            --threads "$t" >"$oj" 2>"$TMP/oerr"
        wm=$(json_num "$wj" median_ms 2>/dev/null)
        wp=$(json_num "$wj" p90_ms 2>/dev/null)
        om=$(json_num "$oj" median_ms 2>/dev/null)
        op=$(json_num "$oj" p90_ms 2>/dev/null)
        if [ -z "$wm" ]; then
            printf '%-14s %7s wafer failed: %s\n' "$name" "$t" "$(head -c 300 "$TMP/werr")"
            touch "$TMP/failed"
            continue
        fi
        if [ -z "$om" ]; then
            printf '%-14s %7s onnxruntime failed: %s\n' "$name" "$t" "$(head -c 300 "$TMP/oerr")"
            touch "$TMP/failed"
            continue
        fi
        awk -v n="$name" -v t="$t" -v wm="$wm" -v wp="$wp" -v om="$om" -v op="$op" 'BEGIN {
            printf "%-14s %7s %9.3f / %8.3f %9.3f / %8.3f %10.2f\n", n, t, wm, wp, om, op, (om > 0 ? wm / om : 0) }'
        if [ "$name" = tinylm ] && [ "$t" = 1 ]; then
            wl=$(json_num "$wj" load_ms)
            ol=$(json_num "$oj" session_ms)
            echo "$wl $ol" >"$TMP/tinylm_load"
        fi
    done
done

echo
if [ -f "$TMP/tinylm_load" ]; then
    read -r wl ol <"$TMP/tinylm_load"
    awk -v wl="$wl" -v ol="$ol" 'BEGIN {
        printf "load tinylm.onnx: wafer %.1f ms (parse, bind shapes, simplify, lower), onnxruntime %.1f ms (session creation); ratio %.2f\n", wl, ol, (ol > 0 ? wl / ol : 0) }'
fi
[ -f "$TMP/failed" ] && exit 1
exit 0
