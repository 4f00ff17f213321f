#!/bin/sh
# bench_qdq_import.sh — what passes/qdq_import.c's blocked-DQ -> MatMulNBits import buys on a
# real model: tinylm's RTN 4-bit layers written as blocked DequantizeLinear -> MatMul
# (`wafer quantize --onnx-int4 dq`, opset 21, UINT4, block 128), then run
#   1. by bench_qdq_import (built by make bench): the same file in one process, float-DQ path
#      (DQ folded to float weights at load) against imported (MatMulNBits on the packed codes),
#      alternating rounds, batch 1 (1 x 128 tokens), 1 thread: ms/run, constants held, and
#      the outputs' difference (summation order only); then the same for tinylm's int8
#      weight-only export (DequantizeLinear per column -> MatMul, imported as 8-bit
#      MatMulNBits) and its static int8 QDQ export (the weights' DQs the same way; int8
#      activations stay Q/DQ: the outputs move by requantization ties, see the report line);
#   2. by `wafer bench` (which imports on load): the DQ file against the float tinylm.onnx and
#      wafer's own .wafer of the same quantization (LinearNBits), median ms and peak RSS; then
#      onnxruntime on the same DQ file, same input, 1 thread: wafer / ort.
# Usage: sh bench/bench_qdq_import.sh BUILD_DIR FIXTURES (bench.sh's arguments). A few seconds.
NAME=bench_qdq_import
. "$(dirname "$0")/bench_common.sh"
bench_need_fixtures
bench_need_node
[ -x "$B/bench_qdq_import" ] || die "$B/bench_qdq_import not found (make bench builds it)"
export OPENBLAS_NUM_THREADS=1

dq="$TMP/rtn4dq.onnx"
"$W" quantize "$FX/tinylm/tinylm.onnx" -o "$TMP/rtn4.wafer" --onnx "$dq" --weights int4 --group 128 --asym \
    --onnx-int4 dq --shape tokens=1,128 >/dev/null 2>"$TMP/err" || die "quantize failed: $(head -c 300 "$TMP/err")"
x="$TMP/tok.npy"
node "$HERE/ort_bench.js" slice "$FX/tinylm/tinylm_eval_tokens.npy" "$x" --cols 128 2>"$TMP/err" ||
    die "slicing the tokens failed: $(cat "$TMP/err")"

echo "tinylm RTN 4-bit g128 as blocked DequantizeLinear -> MatMul, batch 1 (1 x 128 tokens), 1 thread"
"$B/bench_qdq_import" "$dq" "tokens=$x" --iters 30 --rounds 3 || die "bench_qdq_import failed"
w8="$TMP/w8.onnx"
"$W" quantize "$FX/tinylm/tinylm.onnx" -o "$TMP/w8.wafer" --onnx "$w8" --weights int8 --shape tokens=1,128 \
    >/dev/null 2>"$TMP/err" || die "quantize --weights int8 failed: $(head -c 300 "$TMP/err")"
echo
echo "tinylm int8 weight-only per column (wafer quantize --weights int8 --onnx): DequantizeLinear(axis 1) -> MatMul"
"$B/bench_qdq_import" "$w8" "tokens=$x" --iters 30 --rounds 3 || die "bench_qdq_import failed"
a8="$TMP/a8.onnx"
echo
echo "tinylm static int8 QDQ (wafer quantize --activations int8 --onnx): DQ(x) -> MatMul(DQ(W) per column) -> Add(bias)"
echo "-> Q: no Q right after the MatMul, so not QLinearMatMul; the weight DQ becomes 8-bit MatMulNBits (A = DQ(x))"
if "$W" quantize "$FX/tinylm/tinylm.onnx" -o "$TMP/a8.wafer" --onnx "$a8" --activations int8 \
    --calib "tokens=$FX/tinylm/tinylm_calib_tokens.npy" >/dev/null 2>"$TMP/err"; then
    "$B/bench_qdq_import" "$a8" "tokens=$x" --iters 30 --rounds 3 || die "bench_qdq_import failed"
else # the int8 export is another part's: report and go on
    echo "  skipped: wafer quantize --activations int8 --onnx failed: $(tail -n 1 "$TMP/err" | head -c 300)"
fi

echo
printf '%-44s %10s %12s\n' "wafer bench (50 runs after 5)" "median ms" "peak RSS MB"
for m in "$dq|blocked-DQ .onnx (imported: MatMulNBits)" "$FX/tinylm/tinylm.onnx|float tinylm.onnx" \
    "$TMP/rtn4.wafer|wafer's .wafer of the same RTN (LinearNBits)"; do
    f=${m%%|*} label=${m#*|}
    "$W" bench "$f" --input "tokens=$x" --iters 50 --warmup 5 --json "$TMP/b.json" >/dev/null 2>"$TMP/err" ||
        die "wafer bench $f failed: $(head -c 300 "$TMP/err")"
    med=$(sed -n 's/.*"median_ms":\([-0-9.eE+]*\).*/\1/p' "$TMP/b.json")
    rss=$(sed -n 's/.*"peak_rss_bytes":\([0-9]*\).*/\1/p' "$TMP/b.json")
    awk -v l="$label" -v m="$med" -v r="$rss" 'BEGIN { printf "%-44s %10.3f %12.1f\n", l, m, r / 1e6 }'
    [ "$f" = "$dq" ] && wdq=$med
done

# The peer on the same blocked-DQ file, same input and counts, 1 thread: onnxruntime fuses the
# DQ -> MatMul groups into its own MatMulNBits (A quantized to int8 at its default accuracy
# level 4, so its kernel does less float work than the float-A MatMulNBits wafer imports).
odq=$(node "$HERE/ort_bench.js" run "$dq" "tokens=$x" --iters 50 --warmup 5 --threads 1 2>/dev/null |
    sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p')
[ -n "$odq" ] || die "ort_bench.js failed on the blocked-DQ file"
awk -v w="$wdq" -v o="$odq" 'BEGIN { printf "blocked-DQ .onnx, 1 thread: wafer %.3f ms, onnxruntime %.3f ms, wafer / ort %.2f\n", w, o, w / o }'
