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
# Then int8 rows: each model quantized (static int8) and timed against wafer's float run and,
# for mobilenet_v2, onnxruntime on its own int8 QDQ model.
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
        echo "$wm" >"$TMP/f32_${name}_$t" # the float median, for the int8 rows below
        awk -v n="$name" -v t="$t" -v wm="$wm" -v wp="$wp" -v om="$om" -v op="$op" 'BEGIN {
            printf "%-14s %7s %9.3f / %8.3f %9.3f / %8.3f %10.2f\n", n, t, wm, wp, om, op, (om > 0 ? wm / om : 0) }'
        if [ "$name" = tinylm ] && [ "$t" = 1 ]; then
            wl=$(json_num "$wj" load_ms)
            ol=$(json_num "$oj" session_ms)
            echo "$wl $ol" >"$TMP/tinylm_load"
        fi
    done
done

# int8 rows: `wafer quantize --activations int8` (min-max calibration on the fixture's own
# inputs), the .wafer timed on the same batch-1 input, against wafer's float path (the rows
# above) and, for mobilenet_v2, onnxruntime running its own static int8 QDQ model.
# name | model | input name | calibration .npy | peer int8 model (empty: none) | iters | warmup
INT8="digits_cnn|digits/digits_cnn.onnx|image|digits/calib_img.npy||1000|50
kws_dscnn|kws/kws_dscnn.onnx|mfcc|kws/kws_in.npy||1000|50
mobilenet_v2|perf/mobilenet_v2.onnx|input|perf/mobilenet_v2_in.npy|perf/mobilenet_v2_int8_qdq_ort.onnx|50|5"

echo
echo "int8 (static, per-channel weights, min-max calibration); ratios: lower is better"
printf '%-14s %7s %20s %10s %10s %16s %10s\n' model threads "int8 ms (med/p90)" "f32 ms" int8/f32 "ort int8 ms" int8/ort
echo "$INT8" | while IFS='|' read -r name model input calib peer iters warmup; do
    x="$TMP/$name.npy"
    q="$TMP/$name.wafer"
    [ -f "$x" ] || continue # slicing failed above (already reported)
    if ! "$W" quantize "$FX/$model" -o "$q" --activations int8 --calib "$input=$FX/$calib" >/dev/null 2>"$TMP/qerr"; then
        printf '%-14s quantize failed: %s\n' "$name" "$(head -c 300 "$TMP/qerr")"
        touch "$TMP/failed"
        continue
    fi
    for t in 1 2; do
        wj="$TMP/q.json"
        oj="$TMP/qo.json"
        rm -f "$wj" "$oj"
        "$W" bench "$q" --input "$input=$x" --iters "$iters" --warmup "$warmup" --threads "$t" \
            --json "$wj" >/dev/null 2>"$TMP/werr"
        qm=$(json_num "$wj" median_ms 2>/dev/null)
        qp=$(json_num "$wj" p90_ms 2>/dev/null)
        if [ -z "$qm" ]; then
            printf '%-14s %7s wafer int8 failed: %s\n' "$name" "$t" "$(head -c 300 "$TMP/werr")"
            touch "$TMP/failed"
            continue
        fi
        fm=$(cat "$TMP/f32_${name}_$t" 2>/dev/null)
        om=""
        if [ -n "$peer" ]; then
            node "$HERE/ort_bench.js" run "$FX/$peer" "$input=$x" --iters "$iters" --warmup "$warmup" \
                --threads "$t" >"$oj" 2>"$TMP/oerr"
            om=$(json_num "$oj" median_ms 2>/dev/null)
            if [ -z "$om" ]; then
                printf '%-14s %7s onnxruntime int8 failed: %s\n' "$name" "$t" "$(head -c 300 "$TMP/oerr")"
                touch "$TMP/failed"
            fi
        fi
        awk -v n="$name" -v t="$t" -v qm="$qm" -v qp="$qp" -v fm="${fm:-0}" -v om="${om:-0}" 'BEGIN {
            f = fm > 0 ? sprintf("%10.3f %10.2f", fm, qm / fm) : sprintf("%10s %10s", "-", "-")
            o = om > 0 ? sprintf("%16.3f %10.2f", om, qm / om) : sprintf("%16s %10s", "-", "-")
            printf "%-14s %7s %9.3f / %8.3f %s %s\n", n, t, qm, qp, f, o }'
    done
done

echo
if [ -f "$TMP/tinylm_load" ]; then
    read -r wl ol <"$TMP/tinylm_load"
    awk -v wl="$wl" -v ol="$ol" 'BEGIN {
        printf "load tinylm.onnx: wafer %.1f ms (parse, bind shapes, simplify, lower), onnxruntime %.1f ms (session creation); ratio %.2f\n", wl, ol, (ol > 0 ? wl / ol : 0) }'
fi

# 4-bit: tinylm with GPTQ 4-bit g128 asymmetric weights (LinearNBits; calibration on
# tinylm_calib_tokens.npy, head float) against wafer's float path (the rows above) and
# onnxruntime running its own MatMulNBits model (perf/tinylm_int4_default_asym.onnx: block 128,
# asymmetric, head float), same batch-1 input.
echo
echo "4-bit weights (GPTQ g128 asym, head float); ratios: lower is better"
printf '%-14s %7s %20s %10s %10s %16s %10s\n' model threads "int4 ms (med/p90)" "f32 ms" int4/f32 "ort int4 ms" int4/ort
x="$TMP/tinylm.npy"
q4="$TMP/tinylm_int4.wafer"
if [ -f "$x" ] && "$W" quantize "$FX/tinylm/tinylm.onnx" -o "$q4" --weights int4 --method gptq --group 128 --asym \
    --calib "tokens=$FX/tinylm/tinylm_calib_tokens.npy" >/dev/null 2>"$TMP/qerr"; then
    for t in 1 2; do
        wj="$TMP/q4.json"
        oj="$TMP/q4o.json"
        rm -f "$wj" "$oj"
        "$W" bench "$q4" --input "tokens=$x" --iters 50 --warmup 5 --threads "$t" --json "$wj" >/dev/null 2>"$TMP/werr"
        node "$HERE/ort_bench.js" run "$FX/perf/tinylm_int4_default_asym.onnx" "tokens=$x" --iters 50 --warmup 5 \
            --threads "$t" >"$oj" 2>"$TMP/oerr"
        qm=$(json_num "$wj" median_ms 2>/dev/null)
        qp=$(json_num "$wj" p90_ms 2>/dev/null)
        om=$(json_num "$oj" median_ms 2>/dev/null)
        fm=$(cat "$TMP/f32_tinylm_$t" 2>/dev/null)
        if [ -z "$qm" ] || [ -z "$om" ]; then
            printf '%-14s %7s failed: %s %s\n' tinylm "$t" "$(head -c 200 "$TMP/werr")" "$(head -c 200 "$TMP/oerr")"
            touch "$TMP/failed"
            continue
        fi
        awk -v t="$t" -v qm="$qm" -v qp="$qp" -v fm="${fm:-0}" -v om="$om" 'BEGIN {
            printf "%-14s %7s %9.3f / %8.3f %10.3f %10.2f %16.3f %10.2f\n", "tinylm", t, qm, qp, fm,
                (fm > 0 ? qm / fm : 0), om, (om > 0 ? qm / om : 0) }'
    done
else
    printf '%-14s quantize failed: %s\n' tinylm "$(head -c 300 "$TMP/qerr" 2>/dev/null)"
    touch "$TMP/failed"
fi


# Packed 4-bit GEMV (LinearNBits, 4096x4096 g128, batch 1) against the memory read
# bandwidth measured in the same run (bench/bench_nbits.c; make bench builds it).
echo
if [ -x "$B/bench_nbits" ]; then
    "$B/bench_nbits" || touch "$TMP/failed"
else
    echo "bench_nbits: $B/bench_nbits not built (make $B/bench_nbits)"
    touch "$TMP/failed"
fi
# GPTQ's time: one 4096x4096 layer with 4096 calibration rows (limit 30 s) and all of
# tinylm's 24 block linears (limit 10 s) (bench/bench_gptq.c; make bench builds it).
echo
if [ -x "$B/bench_gptq" ]; then
    "$B/bench_gptq" "$FX" || touch "$TMP/failed"
else
    echo "bench_gptq: $B/bench_gptq not built (make $B/bench_gptq)"
    touch "$TMP/failed"
fi
[ -f "$TMP/failed" ] && exit 1
exit 0
