#!/bin/sh
# bench_distill.sh — issue 7's numbers: `wafer distill` on the digits fixtures, as a user runs it.
#
# Usage: sh bench/bench_distill.sh BUILD_DIR FIXTURES     (e.g. build ../shared/fixtures)
#
#   1. digits_student_init.onnx from digits_mlp.onnx, 60 epochs, Adam 1e-3, batch 64, seed 0,
#      for each loss of the fixtures README's table: wall seconds of the whole command,
#      samples/s (60 x 1,197 / s), test accuracy (wafer eval) next to PyTorch's; targets
#      ce >= 0.968 and kl (no labels) >= 0.956. Then the same two losses over seeds 0-39
#      (mean, standard deviation, how many seeds reach the target, and how many runs end
#      with each count of correct test examples): the spread of a run is about one test
#      example (1/600), so one seed's row says little; the 40 say where the recipe lands.
#   2. 4-bit: QAT (--qat int4 --group 16) and the float student quantized afterwards (RTN and
#      GPTQ, int4 group 16): each within 1 point of the float accuracy. int8 QAT too.
#   3. A CNN student (bench_distill --cnn-student: digits_cnn's graph at width 8) distilled from
#      digits_cnn.onnx, 20 epochs ce+kl: test accuracy >= 0.98.
#   4. bench_distill FIXTURES: the in-process time of 60 epochs against the 5 s limit.
# Lines with MISS are targets missed in this run. Takes about 30 s.
set -u
B=${1:-build}
FX=${2:-../shared/fixtures}
W=$B/wafer
D=$FX/digits
[ -x "$W" ] || { echo "bench_distill: $W not found (run make first)" >&2; exit 2; }
[ -d "$D" ] || { echo "bench_distill: $D not found" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILED=0

now() { date +%s.%N; }
# acc MODEL INPUTNAME TESTFILE: test accuracy from wafer eval --json
acc() {
    "$W" eval "$1" --input "$2=$D/$3" --labels "$D/test_y.npy" --json "$TMP/e.json" >/dev/null 2>&1 &&
        sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p' "$TMP/e.json" | awk '{ printf "%.4f\n", $1 }'
}
# verdict VALUE OP TARGET -> met / MISS
verdict() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? v >= t : v <= t; print ok ? "met" : "MISS" }'; }

mlp_run() { # LOSS SEED OUT [extra args...]
    loss=$1 seed=$2 out=$3
    shift 3
    labels=""
    case $loss in ce*) labels="--labels $D/train_y.npy" ;; esac
    "$W" distill --teacher "$D/digits_mlp.onnx" --student "$D/digits_student_init.onnx" --input "x=$D/train_x.npy" \
        $labels --loss "$loss" --epochs 60 --lr 1e-3 --batch 64 --seed "$seed" -o "$out" "$@" >"$TMP/log" 2>&1
}

echo "distill: digits_student_init (2,410 params) from digits_mlp, 60 epochs, Adam 1e-3, batch 64, seed 0"
printf '%-8s %8s %10s %9s %9s %8s %s\n' loss seconds samples/s accuracy pytorch target ""
for spec in ce:0.9683:0.968 ce+mse:0.9333: ce+kl:0.9533: kl:0.9567:0.956; do
    loss=${spec%%:*} rest=${spec#*:} ref=${rest%%:*} target=${rest#*:}
    t0=$(now)
    if ! mlp_run "$loss" 0 "$TMP/$loss.onnx"; then
        echo "$loss: distill failed: $(tail -c 300 "$TMP/log")"
        FAILED=1
        continue
    fi
    t1=$(now)
    a=$(acc "$TMP/$loss.onnx" x test_x.npy)
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    sps=$(awk -v s="$s" 'BEGIN { printf "%.0f", 60 * 1197 / s }')
    v=""
    [ -n "$target" ] && v="$(verdict "$a" ">=" "$target") (>= $target)"
    printf '%-8s %8s %10s %9s %9s %s\n' "$loss" "$s" "$sps" "$a" "$ref" "$v"
done

for spec in ce:0.968 kl:0.956; do
    loss=${spec%%:*} target=${spec#*:}
    list=""
    for seed in $(seq 0 39); do
        mlp_run "$loss" "$seed" "$TMP/s.onnx" && list="$list $(acc "$TMP/s.onnx" x test_x.npy)"
    done
    [ -n "$list" ] || { echo "$loss: seed runs failed"; FAILED=1; continue; }
    echo "$list" | awk -v l="$loss" -v t="$target" '{ m = 0; q = 0; hit = 0
        for (i = 1; i <= NF; i++) { c = int($i * 600 + 0.5); m += c; q += c * c; n[c]++; if ($i >= t) hit++ }
        m /= NF; printf "%-8s seeds 0-%d: mean %.4f (%.2f of 600 correct, sd %.2f), %d of %d seeds >= %s; correct:runs", l, NF - 1, m / 600, m, sqrt(q / NF - m * m), hit, NF, t
        for (c = 560; c <= 600; c++) if (c in n) printf " %d:%d", c, n[c]; printf "\n" }'
done

echo
fa=$(acc "$TMP/ce.onnx" x test_x.npy)
echo "4-bit and int8 (float student = the ce run above: $fa)"
row() { # LABEL MODEL
    a=$(acc "$2" x test_x.npy)
    if [ -z "$a" ]; then echo "$1: failed"; FAILED=1; return; fi
    d=$(awk -v a="$a" -v f="$fa" 'BEGIN { printf "%+.4f", a - f }')
    printf '%-34s %8s  %s vs float  %s\n' "$1" "$a" "$d" "$(verdict "$d" ">=" -0.01) (within 1 point)"
}
mlp_run ce 0 "$TMP/qat4.wafer" --qat int4 --group 16 && row "QAT int4 group 16 (--qat)" "$TMP/qat4.wafer"
"$W" quantize "$TMP/ce.onnx" --weights int4 --group 16 -o "$TMP/rtn4.wafer" >/dev/null 2>&1 &&
    row "float -> RTN int4 group 16" "$TMP/rtn4.wafer"
"$W" quantize "$TMP/ce.onnx" --weights int4 --group 16 --method gptq --calib "x=$D/train_x.npy" \
    -o "$TMP/gptq4.wafer" >/dev/null 2>&1 && row "float -> GPTQ int4 group 16" "$TMP/gptq4.wafer"
mlp_run ce 0 "$TMP/qat8.wafer" --qat int8 && row "QAT int8 (weights + activations)" "$TMP/qat8.wafer"

echo
if "$B/bench_distill" --cnn-student "$TMP/cnn_init.onnx" 8; then
    t0=$(now)
    if "$W" distill --teacher "$D/digits_cnn.onnx" --student "$TMP/cnn_init.onnx" --input "image=$D/train_img.npy" \
        --labels "$D/train_y.npy" --loss ce+kl --epochs 20 -o "$TMP/cnn.onnx" >"$TMP/log" 2>&1; then
        t1=$(now)
        a=$(acc "$TMP/cnn.onnx" image test_img.npy)
        s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
        echo "CNN student (width 8, 12,282 params) from digits_cnn, 20 epochs ce+kl: accuracy $a, $s s;" \
            "$(verdict "$a" ">=" 0.98) (>= 0.98)"
    else
        echo "CNN distill failed: $(tail -c 300 "$TMP/log")"
        FAILED=1
    fi
else
    echo "bench_distill: $B/bench_distill not built (make bench builds it)"
    FAILED=1
fi

echo
"$B/bench_distill" "$FX" || FAILED=1
exit $FAILED
