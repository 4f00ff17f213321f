#!/bin/sh
# bench_deploy.sh — the deployment figures of issue 10 on the digits task, measured in one run:
#   1. `wafer sweep` of digits_cnn over bits {8,4,3,2} x method {rtn,gptq}: accuracy, weight
#      bytes, arena bytes, batch-1 latency, Pareto front (table, JSON and SVG in OUT).
#   2. `wafer cascade --sweep`: the int8 MLP (int8 weights and activations) in front of the
#      float CNN, the whole threshold curve with cost per correct inference at $1/hour and the
#      cheapest threshold within 0.3 accuracy points of the CNN alone.
#      The same with the 4-bit distilled student (wafer distill, 60 epochs) as the small model.
#   3. `wafer registry list` (the sweep's variants, the MLP from its eval report, the cascade)
#      and `wafer plan` on a small example price file and that registry.
# Latencies are the fastest of 5 passes (cascade) or the median of 50 runs (sweep): the machine
# is shared, so compare rows of one run, not runs.
#
# Usage: sh bench/bench_deploy.sh BUILD_DIR FIXTURES [OUT]   (OUT default: a temporary folder)
set -eu
B=${1:-build}
FX=${2:-../shared/fixtures}
W=$B/wafer
D=$FX/digits
OUT=${3:-$(mktemp -d /tmp/wafer_deploy_XXXXXX)}
mkdir -p "$OUT"

echo "== wafer sweep: digits_cnn, bits {8,4,3,2} x {rtn,gptq} (files in $OUT/sweep)"
"$W" sweep "$D/digits_cnn.onnx" --calib image="$D/calib_img.npy" --eval image="$D/test_img.npy" \
    --labels "$D/test_y.npy" --bits 8,4,3,2 --method rtn,gptq --iters 50 --out-dir "$OUT/sweep" \
    --json "$OUT/sweep.json" --svg "$OUT/sweep.svg" --registry "$OUT/registry.json" \
    --target cloud.cpu --price-per-hour 1 2>/dev/null

echo
echo "== wafer cascade --sweep: int8 digits_mlp -> float digits_cnn (\$1/hour)"
"$W" quantize "$D/digits_mlp.onnx" -o "$OUT/mlp_int8.wafer" --weights int8 --activations int8 \
    --calib x="$D/calib_x.npy" >/dev/null 2>&1
"$W" quantize "$D/digits_cnn.onnx" -o "$OUT/cnn_f32.wafer" --weights f32 >/dev/null 2>&1
# the MLP enters the registry through an eval report
"$W" eval "$OUT/mlp_int8.wafer" --input x="$D/test_x.npy" --labels "$D/test_y.npy" --json "$OUT/mlp_eval.json" >/dev/null
"$W" registry add "$OUT/registry.json" --name mlp-int8 --file "$OUT/mlp_int8.wafer" --bits 8 --method rtn \
    --target cloud.cpu --price-per-hour 1 --from-eval "$OUT/mlp_eval.json" >/dev/null
"$W" cascade --small "$OUT/mlp_int8.wafer" --large "$OUT/cnn_f32.wafer" --input x="$D/test_x.npy" \
    --input image="$D/test_img.npy" --labels "$D/test_y.npy" --sweep --max-drop 0.003 --repeat 5 \
    --price-per-hour 1 --registry "$OUT/registry.json" --small-name mlp-int8 --large-name f32 \
    --json "$OUT/cascade.json"

echo
echo "== wafer cascade --sweep: the 4-bit distilled student (64-32-10, from digits_mlp) -> float digits_cnn"
if "$W" distill --teacher "$D/digits_mlp.onnx" --student "$D/digits_student_init.onnx" --input x="$D/train_x.npy" \
        --labels "$D/train_y.npy" --epochs 60 -o "$OUT/student.onnx" >/dev/null 2>&1 &&
    "$W" quantize "$OUT/student.onnx" -o "$OUT/student_int4.wafer" --weights int4 --quantize-head >/dev/null 2>&1; then
    "$W" cascade --small "$OUT/student_int4.wafer" --large "$OUT/cnn_f32.wafer" --input x="$D/test_x.npy" \
        --input image="$D/test_img.npy" --labels "$D/test_y.npy" --sweep --max-drop 0.003 --repeat 5 \
        --price-per-hour 1
else
    echo "(wafer distill is not available in this build)"
fi

echo
echo "== wafer registry list"
"$W" registry list "$OUT/registry.json"
echo
echo "== wafer plan: 90 days of a cloud instance price with a 40% spike on the last day"
{
    echo "date,device,unit,price,available,lead_time_days"
    for day in $(seq 1 89); do
        printf '2026-%s,cloud.cpu,hour,1.00,yes,0\n' "$(date -u -d "2026-01-01 +$((day - 1)) days" +%m-%d)"
    done
    echo "2026-03-31,cloud.cpu,hour,1.41,yes,0"
    echo "2026-03-31,edge.board,unit,250,yes,45"
} >"$OUT/prices.csv"
"$W" plan --prices "$OUT/prices.csv" --registry "$OUT/registry.json" --traffic 3e9 \
    --min-accuracy 0.985 --max-latency-ms 1 --json "$OUT/plan.json"
echo
echo "outputs: $OUT"
