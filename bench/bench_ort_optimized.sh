#!/bin/sh
# bench_ort_optimized.sh — models as onnxruntime optimizes them (its extended level, saved with
# optimizedModelFilePath: com.microsoft FusedConv / FusedMatMul / BiasGelu ...) against the
# originals, both in wafer: the contrib ops are rewritten into standard ones as the model loads
# (frontend/onnx_contrib.c), so both forms should run equally fast.
#
# Usage: sh bench/bench_ort_optimized.sh BUILD_DIR FIXTURES   (bench.sh's arguments; it
# installs onnxruntime-node into bench/node_modules before calling this)
#
# Method: batch 1 (mobilenet_v2: the first row of perf/mobilenet_v2_in.npy; tinylm: the first
# eval window, 128 tokens), 1 thread. Two ways per model: the ONNX file itself (`wafer bench
# MODEL.onnx`: simplified, run by the executor) and compiled (`wafer quantize --weights f32`:
# simplified and fused, e.g. Conv + Clip -> wafer FusedConv, then `wafer bench` of the
# .wafer file). Each number is the lowest median of 3 alternating runs (30 timed runs after 5
# warmup), so both forms are measured in the same minutes of a shared machine; the ratio is
# optimized / original. Takes about a minute on 2 cores.
NAME=bench_ort_optimized
. "$(dirname "$0")/bench_common.sh"
bench_need_fixtures
bench_need_node
ORTE="node $HERE/../tests/e2e/ort_eval.js"
BENCH="node $HERE/ort_bench.js"

$BENCH slice "$FX/perf/mobilenet_v2_in.npy" "$TMP/mbv2_x1.npy" >/dev/null || die "slice failed"
$BENCH slice "$FX/tinylm/tinylm_eval_tokens.npy" "$TMP/tinylm_x1.npy" --cols 128 >/dev/null || die "slice failed"

wafer_ms() { # MODEL INPUT -> median ms
    "$W" bench "$1" --input "$2" --iters 30 --warmup 5 --threads 1 2>/dev/null |
        sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'
}

printf '%-40s %12s %12s %8s\n' "batch 1, 1 thread, median ms" "original" "ort-optim." "ratio"
for m in perf/mobilenet_v2:input:mbv2_x1 tinylm/tinylm:tokens:tinylm_x1; do
    rel=${m%%:*} rest=${m#*:}
    name=${rest%%:*} x=${rest#*:}
    base=$(basename "$rel")
    orig=$FX/$rel.onnx opt=$TMP/${base}_opt.onnx
    $ORTE optimize "$orig" "$opt" >/dev/null 2>"$TMP/err"
    rc=$?
    [ $rc -eq 3 ] && die "onnxruntime-node is not installed (bench.sh installs it)"
    [ $rc -eq 0 ] || { cat "$TMP/err" >&2; die "ort_eval.js optimize failed on $orig"; }
    for f in orig opt; do
        eval "src=\$$f"
        "$W" quantize "$src" -o "$TMP/${base}_$f.wafer" --weights f32 >/dev/null 2>"$TMP/err" ||
            { cat "$TMP/err" >&2; die "wafer quantize --weights f32 failed on $src"; }
    done
    oo="" po="" ow="" pw=""
    for _ in 1 2 3; do
        v=$(wafer_ms "$orig" "$name=$TMP/$x.npy") && [ -n "$v" ] || die "wafer bench failed on $orig"
        oo=$(lowest "$oo" "$v")
        v=$(wafer_ms "$opt" "$name=$TMP/$x.npy") && [ -n "$v" ] || die "wafer bench failed on $opt"
        po=$(lowest "$po" "$v")
        v=$(wafer_ms "$TMP/${base}_orig.wafer" "$name=$TMP/$x.npy") && [ -n "$v" ] || die "wafer bench failed"
        ow=$(lowest "$ow" "$v")
        v=$(wafer_ms "$TMP/${base}_opt.wafer" "$name=$TMP/$x.npy") && [ -n "$v" ] || die "wafer bench failed"
        pw=$(lowest "$pw" "$v")
    done
    printf '%-40s %12.3f %12.3f %8.2f\n' "$base .onnx" "$oo" "$po" "$(awk -v a="$po" -v b="$oo" 'BEGIN { print a / b }')"
    printf '%-40s %12.3f %12.3f %8.2f\n' "$base compiled (.wafer, fused)" "$ow" "$pw" \
        "$(awk -v a="$pw" -v b="$ow" 'BEGIN { print a / b }')"
done
