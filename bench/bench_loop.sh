#!/bin/sh
# bench_loop.sh — the cost of ONNX Loop in wafer's runtime against onnxruntime-node, on the
# same model and inputs, measured in the same run.
#
# Usage: sh bench/bench_loop.sh BUILD_DIR     (bench.sh's first argument; it installs
# onnxruntime-node into bench/node_modules before calling this)
#
# Model: the ONNX backend suite's Range expanded into a Loop
# (test_range_float_type_positive_delta_expanded, from libonnx-testdata), run with start 0,
# limit 10000, delta 1: 10000 iterations of a 3-node body (Identity, Add, Identity), each one
# a subgraph run, and a 10000-element stacked scan output. wafer runs the model compiled to a
# .wafer file (`wafer quantize`; the Loop runs on the dynamic executor), 1 thread, through
# `wafer bench`; onnxruntime runs the .onnx through bench/ort_bench.js, 1 intra-op thread.
# BENCH_ROUNDS (default 3) alternating rounds of 30 timed runs after 3 warmup; the row shows
# each side's lowest median, the ratio wafer / onnxruntime (lower is better) and wafer's time
# per iteration. Takes a few seconds.
NAME=bench_loop
. "$(dirname "$0")/bench_common.sh"
MODEL=/usr/share/libonnx-testdata/data/node/test_range_float_type_positive_delta_expanded/model.onnx
ROUNDS=${BENCH_ROUNDS:-3}
ITERS=10000
[ -r "$MODEL" ] || die "$MODEL not found (install libonnx-testdata)"

# A float32 scalar .npy (version 1.0: 10 bytes of magic, version and header length 118, then
# the 55-character header padded with spaces and a newline to 128 bytes); $2 = the 4 data
# bytes as printf octal escapes.
npy_scalar() {
    {
        printf '\223NUMPY\001\000\166\000'
        printf "{'descr': '<f4', 'fortran_order': False, 'shape': (), }%*s\n" 62 ''
        printf "$2"
    } >"$1"
}
npy_scalar "$TMP/start.npy" '\000\000\000\000'  # 0.0
npy_scalar "$TMP/limit.npy" '\000\100\034\106'  # 10000.0 = 0x461C4000
npy_scalar "$TMP/delta.npy" '\000\000\200\077'  # 1.0 = 0x3F800000
IN="start=$TMP/start.npy limit=$TMP/limit.npy delta=$TMP/delta.npy"

"$W" quantize "$MODEL" -o "$TMP/range.wafer" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "wafer quantize failed"; }
# the output must be the 10000-element range before anything is timed
"$W" run "$TMP/range.wafer" --input start="$TMP/start.npy" --input limit="$TMP/limit.npy" \
    --input delta="$TMP/delta.npy" --out "$TMP/out" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "wafer run failed"; }
[ "$(wc -c <"$TMP/out/output.npy")" -eq $((128 + 4 * ITERS)) ] || die "output is not $ITERS float32 values"

have_ort=1
command -v node >/dev/null 2>&1 && [ -d "$HERE/node_modules/onnxruntime-node" ] || have_ort=0

min() { # A B -> the smaller (B may be empty)
    if [ -z "$2" ]; then echo "$1"; else awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? a : b }'; fi
}

w_best="" o_best=""
r=0
while [ $r -lt "$ROUNDS" ]; do
    # shellcheck disable=SC2086
    "$W" bench "$TMP/range.wafer" $(for i in $IN; do printf -- '--input %s ' "$i"; done) --iters 30 --warmup 3 \
        --threads 1 --json "$TMP/w.json" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "wafer bench failed"; }
    w=$(sed -n 's/.*"median_ms":\([0-9.eE+-]*\).*/\1/p' "$TMP/w.json")
    w_best=$(min "$w" "$w_best")
    if [ $have_ort = 1 ]; then
        # shellcheck disable=SC2086
        o=$(node "$HERE/ort_bench.js" run "$MODEL" $IN --iters 30 --warmup 3 --threads 1 2>/dev/null |
            sed -n 's/.*"median_ms":\([0-9.eE+-]*\).*/\1/p')
        [ -n "$o" ] || die "ort_bench.js run failed"
        o_best=$(min "$o" "$o_best")
    fi
    r=$((r + 1))
done

printf '%-52s %10s %10s %8s %12s\n' "Loop: Range(0, 10000, 1) as a Loop, 1 thread" "wafer ms" "ort ms" "ratio" "us/iteration"
if [ $have_ort = 1 ]; then
    awk -v w="$w_best" -v o="$o_best" -v n=$ITERS 'BEGIN { printf "%-52s %10.3f %10.3f %8.2f %12.3f\n", "  median of 30 runs, lowest of the rounds", w, o, w / o, 1000 * w / n }'
else
    awk -v w="$w_best" -v n=$ITERS 'BEGIN { printf "%-52s %10.3f %10s %8s %12.3f\n", "  median of 30 runs (onnxruntime-node not installed)", w, "-", "-", 1000 * w / n }'
fi
