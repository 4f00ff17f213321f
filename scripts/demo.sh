#!/bin/sh
# make demo: the main job on the shipped example model (examples/digits: an MLP trained on UCI
# optdigits and exported by PyTorch, its first 128 training rows for calibration, and the
# 600-image held-out split): inspect it, quantize it to int8, and gate the int8 model's
# accuracy against the float one the way a build pipeline would.
set -e
W=${1:-build/wafer}
D=examples/digits
OUT=${TMPDIR:-/tmp}/wafer-demo
mkdir -p "$OUT"
echo "== wafer inspect $D/digits_mlp.onnx"
"$W" inspect "$D/digits_mlp.onnx"
echo
echo "== wafer quantize: int8 weights and activations, min-max calibration on 128 rows"
"$W" quantize "$D/digits_mlp.onnx" -o "$OUT/digits_mlp_int8.wafer" --activations int8 \
    --calib x="$D/calib_x.npy" --report "$OUT/report.json"
echo
echo "== wafer eval: int8 against float on 600 held-out digits, fail if accuracy drops > 0.005"
"$W" eval "$OUT/digits_mlp_int8.wafer" --input x="$D/test_x.npy" --labels "$D/test_y.npy" \
    --baseline "$D/digits_mlp.onnx" --max-drop 0.005
echo
echo "== wafer bench: float and int8, batch of 600"
"$W" bench "$D/digits_mlp.onnx" --input x="$D/test_x.npy" --iters 20 --warmup 3
"$W" bench "$OUT/digits_mlp_int8.wafer" --input x="$D/test_x.npy" --iters 20 --warmup 3
echo
echo "files: $OUT/digits_mlp_int8.wafer, $OUT/report.json"
