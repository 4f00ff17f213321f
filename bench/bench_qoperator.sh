#!/bin/sh
# bench_qoperator.sh — onnxruntime's int8 mobilenet_v2 as users ship it (its QDQ quantization
# saved after its graph optimizations: QOperator form, QLinearConv / QLinearAdd / com.microsoft
# QGemm and QLinearGlobalAveragePool; and the "all" level's NHWC form, com.microsoft
# QLinearConv with channels_last between Transposes) run by wafer, against the QDQ original in
# wafer and all of them in onnxruntime. wafer runs the QDQ original on its int8 kernels too:
# passes/qdq_import.c turns its DQ -> op -> Q groups into the same QOperator ops as it loads
# (every Conv, including the ones onnxruntime's optimizer leaves in float), so the "QDQ
# original" row is wafer's int8 path on the file as the quantizer wrote it.
#
# Usage: sh bench/bench_qoperator.sh BUILD_DIR FIXTURES   (bench.sh's arguments; it installs
# onnxruntime-node into bench/node_modules before calling this)
#
# Method: batch 1 (the first row of perf/mobilenet_v2_in.npy), for 1 and 2 threads; each
# number is the lowest median of 3 alternating runs (wafer bench / bench/ort_bench.js: 30
# timed runs after 5 warmup), so the four models are measured in the same minutes of a shared
# machine. Ratios are wafer / onnxruntime on the same file, and wafer's QOperator against
# wafer's QDQ. Also checks the QOperator logits against onnxruntime's (max |diff| relative
# to the largest logit) and the top-1 class. Takes about two minutes on 2 cores.
NAME=bench_qoperator
. "$(dirname "$0")/bench_common.sh"
bench_need_fixtures
bench_need_node
ORTE="node $HERE/../tests/e2e/ort_eval.js"
BENCH="node $HERE/ort_bench.js"

QDQ=$FX/perf/mobilenet_v2_int8_qdq_ort.onnx
QOP=$TMP/mobilenet_v2_int8_qop.onnx
$ORTE optimize "$QDQ" "$QOP" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 3 ] && die "onnxruntime-node is not installed (bench.sh installs it)"
[ $rc -eq 0 ] || { cat "$TMP/err" >&2; die "ort_eval.js optimize failed"; }
NHWC=$TMP/mobilenet_v2_int8_qop_nhwc.onnx
node -e "require(process.env.WAFER_ORT_MODULE || '$HERE/node_modules/onnxruntime-node').InferenceSession.create('$QDQ',
  {graphOptimizationLevel: 'all', optimizedModelFilePath: '$NHWC'}).catch(e => { console.error(e); process.exit(1); })" \
    >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "saving the 'all' optimization failed"; }
$BENCH slice "$FX/perf/mobilenet_v2_in.npy" "$TMP/x1.npy" || die "slice failed"

# accuracy: QOperator logits, wafer vs onnxruntime, on both fixture inputs
$ORTE run "$QOP" "input=$FX/perf/mobilenet_v2_in.npy" --out "$TMP/o" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "ort run failed"; }
"$W" run "$QOP" --input "input=$FX/perf/mobilenet_v2_in.npy" --out "$TMP/w" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "wafer run failed"; }
cmp=$($ORTE compare "$TMP/w/logits.npy" "$TMP/o/logits.npy" 2>/dev/null)
echo "QOperator mobilenet_v2, wafer vs onnxruntime logits: $cmp"
$ORTE run "$QDQ" "input=$FX/perf/mobilenet_v2_in.npy" --out "$TMP/od" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "ort run failed"; }
"$W" run "$QDQ" --input "input=$FX/perf/mobilenet_v2_in.npy" --out "$TMP/wd" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "wafer run failed"; }
cmp=$($ORTE compare "$TMP/wd/logits.npy" "$TMP/od/logits.npy" 2>/dev/null)
echo "QDQ original mobilenet_v2 (int8 groups imported), wafer vs onnxruntime logits: $cmp"

wafer_ms() { # MODEL THREADS -> median ms
    "$W" bench "$1" --input "input=$TMP/x1.npy" --iters 30 --warmup 5 --threads "$2" 2>/dev/null |
        sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'
}
ort_ms() { # MODEL THREADS -> median ms
    $BENCH run "$1" "input=$TMP/x1.npy" --iters 30 --warmup 5 --threads "$2" 2>/dev/null |
        sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p'
}

echo
printf '%-36s %8s %8s %8s %8s %10s %10s\n' "mobilenet_v2 int8, batch 1, median ms" "threads" "wafer" "ort" "w/ort" "" ""
for t in 1 2; do
    wq="" wd="" oq="" od="" wn="" on=""
    for _ in 1 2 3; do
        v=$(wafer_ms "$NHWC" $t) && [ -n "$v" ] || die "wafer bench failed"
        wn=$(lowest "$wn" "$v")
        v=$(ort_ms "$NHWC" $t) && [ -n "$v" ] || die "ort_bench.js failed"
        on=$(lowest "$on" "$v")
        v=$(wafer_ms "$QOP" $t) && [ -n "$v" ] || die "wafer bench failed"
        wq=$(lowest "$wq" "$v")
        v=$(wafer_ms "$QDQ" $t) && [ -n "$v" ] || die "wafer bench failed"
        wd=$(lowest "$wd" "$v")
        v=$(ort_ms "$QOP" $t) && [ -n "$v" ] || die "ort_bench.js failed"
        oq=$(lowest "$oq" "$v")
        v=$(ort_ms "$QDQ" $t) && [ -n "$v" ] || die "ort_bench.js failed"
        od=$(lowest "$od" "$v")
    done
    printf '%-36s %8s %8.3f %8.3f %8.2f\n' "QOperator (ort-optimized)" $t "$wq" "$oq" "$(awk -v a="$wq" -v b="$oq" 'BEGIN { print a / b }')"
    printf '%-36s %8s %8.3f %8.3f %8.2f\n' "QOperator NHWC (ort 'all' level)" $t "$wn" "$on" "$(awk -v a="$wn" -v b="$on" 'BEGIN { print a / b }')"
    printf '%-36s %8s %8.3f %8.3f %8.2f\n' "QDQ original" $t "$wd" "$od" "$(awk -v a="$wd" -v b="$od" 'BEGIN { print a / b }')"
    printf '%-36s %8s %8.2f\n' "wafer QOperator / wafer QDQ" $t "$(awk -v a="$wq" -v b="$wd" 'BEGIN { print a / b }')"
done
