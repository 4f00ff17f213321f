#!/bin/sh
# make demo: wafer on the shipped example model (examples/digits: an MLP trained on UCI
# optdigits, exported by PyTorch, with its 600-image held-out split).
set -e
W=${1:-build/wafer}
M=examples/digits/digits_mlp.onnx
echo "== wafer inspect $M"
"$W" inspect "$M"
echo
echo "== wafer eval: top-1 accuracy on 600 held-out digits (onnxruntime gets 0.9800)"
"$W" eval "$M" --input x=examples/digits/test_x.npy --labels examples/digits/test_y.npy
echo
echo "== wafer bench: batch of 600"
"$W" bench "$M" --input x=examples/digits/test_x.npy --iters 20 --warmup 3
