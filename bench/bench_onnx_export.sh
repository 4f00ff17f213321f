#!/bin/sh
# bench_onnx_export.sh — issue 9's interop numbers: `wafer quantize --onnx` models run by
# onnxruntime-node against wafer on the same quantization, and onnxruntime's own quantized
# models run by wafer against onnxruntime.
#
# Usage: sh bench/bench_onnx_export.sh BUILD_DIR FIXTURES   (bench.sh's arguments; it installs
# onnxruntime-node into bench/node_modules before calling this)
#
# Rows (wafer = the .wafer file through `wafer eval`; ort = the exported .onnx through
# tests/e2e/ort_eval.js, one intra-op thread, all graph optimizations):
#   digits_cnn static int8 (minmax)  as QDQ            test accuracy, target |ort - wafer| <= 1/600
#   tinylm 4-bit GPTQ g128 asym      as MatMulNBits    perplexity, target within 0.2%
#   tinylm 4-bit GPTQ act-order      as Gather + MatMulNBits    same
#   tinylm 4-bit RTN g128 asym       as blocked DequantizeLinear (opset 21)   same
#   import: mobilenet_v2_int8_qdq_ort.onnx (onnxruntime's quantization)   wafer vs ort logits
#   import: tinylm_int4_default_asym.onnx   wafer's perplexity, target 2.4600 +- 0.0005
# plus the sizes of the .onnx and .wafer files, and onnxruntime's batch-1 latency (1 thread,
# bench/ort_bench.js, the lowest median of 3 alternating runs of 30 iterations) on wafer's
# exports against onnxruntime's own quantizations of the same models (mobilenet_v2 int8 QDQ,
# tinylm 4-bit MatMulNBits): what a user of onnxruntime gets by quantizing with wafer.
# Takes about two minutes on 2 cores.
NAME=bench_onnx_export
. "$(dirname "$0")/bench_common.sh"
bench_need_fixtures
bench_need_node
ORT="node $HERE/../tests/e2e/ort_eval.js"
missed=""

json_num() {
    sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p" "$1"
}

# wafer's metric of MODEL (eval arguments after it) -> stdout
wafer_metric() {
    m=$1 key=$2
    shift 2
    "$W" eval "$m" "$@" --json "$TMP/w.json" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "wafer eval $m failed"; }
    json_num "$TMP/w.json" "$key"
}

ort_json() {
    $ORT "$@" >"$TMP/o.json" 2>"$TMP/err"
    rc=$?
    [ $rc -eq 3 ] && die "onnxruntime-node is not installed (bench.sh installs it)"
    [ $rc -eq 0 ] || { cat "$TMP/err" >&2; die "ort_eval.js $1 failed"; }
}

quantize() {
    "$W" quantize "$@" >"$TMP/q.log" 2>&1 || { cat "$TMP/q.log" >&2; die "wafer quantize failed"; }
}

size_kb() {
    echo $(($(wc -c <"$1") / 1024))
}

printf '%-44s %10s %10s %10s %8s\n' "exported by wafer quantize --onnx" wafer onnxruntime diff target

# digits_cnn int8 QDQ
quantize "$FX/digits/digits_cnn.onnx" -o "$TMP/cnn.wafer" --onnx "$TMP/cnn.onnx" --activations int8 \
    --calib "image=$FX/digits/calib_img.npy"
aw=$(wafer_metric "$TMP/cnn.wafer" accuracy --input "image=$FX/digits/test_img.npy" --labels "$FX/digits/test_y.npy")
ort_json classify "$TMP/cnn.onnx" "image=$FX/digits/test_img.npy" "$FX/digits/test_y.npy"
ao=$(json_num "$TMP/o.json" accuracy)
ok=$(awk -v a="$aw" -v b="$ao" 'BEGIN { d = a - b; if (d < 0) d = -d; print (d <= 1/600 + 1e-9) ? "ok" : "MISS" }')
[ "$ok" = ok ] || missed="$missed digits_cnn-int8"
printf '%-44s %10.4f %10.4f %10s %8s\n' "digits_cnn int8 QDQ, accuracy" "$aw" "$ao" \
    "$(awk -v a="$aw" -v b="$ao" 'BEGIN { printf "%+d", (b - a) * 600 + (b > a ? 0.5 : -0.5) }')" "$ok"
echo "  files: cnn.onnx $(size_kb "$TMP/cnn.onnx") KiB, cnn.wafer $(size_kb "$TMP/cnn.wafer") KiB"

# tinylm, three 4-bit forms
CAL="tokens=$FX/tinylm/tinylm_calib_tokens.npy"
EVT="$FX/tinylm/tinylm_eval_tokens.npy"
lm_row() {
    label=$1 tag=$2
    shift 2
    quantize "$FX/tinylm/tinylm.onnx" -o "$TMP/$tag.wafer" --onnx "$TMP/$tag.onnx" "$@"
    pw=$(wafer_metric "$TMP/$tag.wafer" perplexity --task lm --tokens "$EVT")
    ort_json lm "$TMP/$tag.onnx" "$EVT"
    po=$(json_num "$TMP/o.json" perplexity)
    rel=$(awk -v a="$pw" -v b="$po" 'BEGIN { printf "%+.3f%%", 100 * (b - a) / a }')
    ok=$(awk -v a="$pw" -v b="$po" 'BEGIN { d = (b - a) / a; if (d < 0) d = -d; print (d <= 0.002) ? "ok" : "MISS" }')
    [ "$ok" = ok ] || missed="$missed $tag"
    printf '%-44s %10.4f %10.4f %10s %8s\n' "$label" "$pw" "$po" "$rel" "$ok"
    echo "  files: $tag.onnx $(size_kb "$TMP/$tag.onnx") KiB, $tag.wafer $(size_kb "$TMP/$tag.wafer") KiB"
}
lm_row "tinylm GPTQ 4-bit g128 MatMulNBits, ppl" gptq4 --weights int4 --method gptq --group 128 --asym --calib "$CAL"
lm_row "tinylm GPTQ 4-bit act-order MatMulNBits, ppl" gptq4ao --weights int4 --method gptq --group 128 --asym \
    --act-order --calib "$CAL"
lm_row "tinylm RTN 4-bit g128 blocked DQ (opset 21)" rtn4dq --weights int4 --group 128 --asym --onnx-int4 dq

echo
printf '%-44s %10s %10s %10s %8s\n' "quantized by onnxruntime, run by wafer" wafer onnxruntime diff target
ort_json run "$FX/perf/mobilenet_v2_int8_qdq_ort.onnx" "input=$FX/perf/mobilenet_v2_in.npy" --out "$TMP/mo"
"$W" run "$FX/perf/mobilenet_v2_int8_qdq_ort.onnx" --input "input=$FX/perf/mobilenet_v2_in.npy" --out "$TMP/mw" \
    >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; die "wafer run mobilenet failed"; }
out=$(ls "$TMP/mo" | head -n 1)
$ORT compare "$TMP/mw/$out" "$TMP/mo/$out" >"$TMP/c.json"
rel=$(json_num "$TMP/c.json" max_rel_diff)
agree=$(json_num "$TMP/c.json" top1_agree)
rows=$(json_num "$TMP/c.json" rows)
ok=$(awk -v r="$rel" -v a="$agree" -v n="$rows" 'BEGIN { print (r <= 0.05 && a == n) ? "ok" : "MISS" }')
[ "$ok" = ok ] || missed="$missed mobilenet-qdq-import"
printf '%-44s %10s %10s %10s %8s\n' "mobilenet_v2 int8 QDQ: max|diff|/max|logit|" "top1 $agree/$rows" "" \
    "$(awk -v r="$rel" 'BEGIN { printf "%.4f", r }')" "$ok"
pw=$(wafer_metric "$FX/perf/tinylm_int4_default_asym.onnx" perplexity --task lm --tokens "$EVT")
ok=$(awk -v a="$pw" 'BEGIN { d = a - 2.4600; if (d < 0) d = -d; print (d <= 0.0005) ? "ok" : "MISS" }')
[ "$ok" = ok ] || missed="$missed tinylm-int4-import"
printf '%-44s %10.4f %10.4f %10s %8s\n' "tinylm_int4_default_asym (MatMulNBits), ppl" "$pw" 2.4600 \
    "$(awk -v a="$pw" 'BEGIN { printf "%+.4f", a - 2.4600 }')" "$ok"

# onnxruntime latency: wafer's export vs onnxruntime's own quantization
BENCH="node $HERE/ort_bench.js"
$BENCH slice "$FX/perf/mobilenet_v2_in.npy" "$TMP/mb1.npy" || die "slice failed"
$BENCH slice "$EVT" "$TMP/tk1.npy" --cols 128 || die "slice failed"
quantize "$FX/perf/mobilenet_v2.onnx" --onnx "$TMP/mb8.onnx" --activations int8 --calib "input=$FX/perf/mobilenet_v2_in.npy"
ort_ms() { # MODEL INPUT -> lowest median of 3 runs
    best=""
    for _ in 1 2 3; do
        m=$($BENCH run "$1" "$2" --iters 30 --warmup 5 --threads 1 2>/dev/null | sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p')
        [ -n "$m" ] || die "ort_bench.js run $1 failed"
        best=$(awk -v a="$best" -v b="$m" 'BEGIN { print (a == "" || b < a) ? b : a }')
    done
    echo "$best"
}
echo
printf '%-44s %10s %10s %10s\n' "onnxruntime, batch 1, 1 thread, median ms" "wafer's" "ort's own" "ratio"
a=$(ort_ms "$TMP/mb8.onnx" "input=$TMP/mb1.npy")
b=$(ort_ms "$FX/perf/mobilenet_v2_int8_qdq_ort.onnx" "input=$TMP/mb1.npy")
printf '%-44s %10.2f %10.2f %10.2f\n' "mobilenet_v2 int8 QDQ" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print a / b }')"
a=$(ort_ms "$TMP/gptq4.onnx" "tokens=$TMP/tk1.npy")
b=$(ort_ms "$FX/perf/tinylm_int4_default_asym.onnx" "tokens=$TMP/tk1.npy")
printf '%-44s %10.2f %10.2f %10.2f\n' "tinylm 4-bit g128 MatMulNBits (GPTQ / RTN)" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print a / b }')"

echo
if [ -n "$missed" ]; then
    echo "onnx export: missed:$missed"
else
    echo "onnx export: every target met"
fi
