#!/bin/sh
# bench_mlsd.sh — M-LSD line segment detection (jp.keijiro.mlsd, tf2onnx opset 11: MobileNetV2
# encoder, a decoder of 3x3 convs on 40x40 and 80x80 planes, one with dilation 5; real
# third-party files, scripts/thirdparty_models.sh) against onnxruntime, batch 1, at 320x320.
# Its time is mostly the decoder's 3x3 convs (Winograd in bands, conv_winograd_x86.c), the
# Resizes and the encoder's depthwise and 1x1 convs.
#
# For tiny (and large, 1 thread): a float .wafer (--weights f32), timed with `wafer bench`,
# and the .onnx in onnxruntime (bench/ort_bench.js, all graph optimizations), on one line
# image (smooth shading, a bright rectangle, dark straight lines: what M-LSD looks for, as in
# tests/e2e/test_thirdparty_models.c). Each number is the lowest median of 3 alternating
# rounds (20 timed runs after 3 warmup; large: 5 after 1), so both sides share the same
# minutes of a shared machine. Ratio = wafer / onnxruntime; target: tiny at or below
# onnxruntime's time (1.0).
#
# Usage: sh bench/bench_mlsd.sh BUILD_DIR FIXTURES   (bench.sh's arguments; needs node and
# onnxruntime-node in bench/node_modules, which bench.sh installs). About a minute on 2 cores.
NAME=bench_mlsd
. "$(dirname "$0")/bench_common.sh"
bench_need_node
MD=$HERE/thirdparty/jp.keijiro.mlsd
[ -f "$MD/mlsd_320x320_tiny.onnx" ] && [ -f "$MD/mlsd_320x320_large.onnx" ] ||
    sh "$HERE/../scripts/thirdparty_models.sh" || die "M-LSD models missing"
IN='input_image_with_alpha:0'

cat >"$TMP/img.js" <<'JS'
// node img.js OUT.npy S: an NHWC RGBA line image [1, S, S, 4] in [-1, 1], alpha 1
'use strict';
const fs = require('fs');
const out = process.argv[2], s = Number(process.argv[3]);
const lines = [[0.1, 0.2, 0.9, 0.3], [0.2, 0.9, 0.8, 0.1], [0.5, 0.05, 0.5, 0.95], [0.05, 0.7, 0.95, 0.75]];
const data = new Float32Array(s * s * 4);
for (let y = 0; y < s; y++)
  for (let x = 0; x < s; x++) {
    const u = x / s, v = y / s;
    let g = 0.3 * u + 0.2 * v - 0.1;
    if (u > 0.6 && u < 0.85 && v > 0.45 && v < 0.65) g = 0.8;
    for (const [x0, y0, x1, y1] of lines) {
      const dx = x1 - x0, dy = y1 - y0;
      const t = Math.min(1, Math.max(0, ((u - x0) * dx + (v - y0) * dy) / (dx * dx + dy * dy)));
      if (Math.hypot(u - x0 - t * dx, v - y0 - t * dy) * s < 1.5) g = -0.9;
    }
    for (let c = 0; c < 4; c++) data[(y * s + x) * 4 + c] = c === 3 ? 1 : Math.min(1, g + 0.05 * c);
  }
let hdr = `{'descr': '<f4', 'fortran_order': False, 'shape': (1, ${s}, ${s}, 4), }`;
hdr += ' '.repeat(64 - ((10 + hdr.length + 1) % 64)) + '\n';
const head = Buffer.alloc(10);
head.write('\x93NUMPY', 0, 'latin1'); head[6] = 1; head[7] = 0; head.writeUInt16LE(hdr.length, 8);
fs.writeFileSync(out, Buffer.concat([head, Buffer.from(hdr, 'latin1'), Buffer.from(data.buffer)]));
JS
node "$TMP/img.js" "$TMP/img.npy" 320 || die "writing the input image failed"

# MODEL THREADS ITERS WARMUP -> median ms (wafer: a .wafer file; onnxruntime: the .onnx)
wafer_ms() {
    "$W" bench "$1" --input "$IN=$TMP/img.npy" --iters "$3" --warmup "$4" --threads "$2" 2>/dev/null |
        sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'
}
ort_ms() {
    node "$HERE/ort_bench.js" run "$1" "$IN=$TMP/img.npy" --iters "$3" --warmup "$4" --threads "$2" 2>/dev/null |
        sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p'
}

echo "M-LSD 320x320 (float32), batch 1, lowest median of 3 alternating rounds; ratio = wafer / onnxruntime"
printf '%-12s %3s %10s %10s %8s %8s\n' model thr "wafer ms" "ort ms" ratio target
for m in tiny:1:20:3:1.0 tiny:2:20:3:1.0 large:1:5:1:-; do
    IFS=: read -r size t iters warm target <<EOT
$m
EOT
    onnx=$MD/mlsd_320x320_$size.onnx
    wf=$TMP/$size.wafer
    [ -f "$wf" ] || "$W" quantize "$onnx" -o "$wf" --weights f32 >/dev/null 2>"$TMP/err" ||
        { cat "$TMP/err" >&2; die "quantize $size failed"; }
    w="" o=""
    for r in 1 2 3; do
        if [ $((r % 2)) = 1 ]; then
            v=$(wafer_ms "$wf" "$t" "$iters" "$warm") && [ -n "$v" ] || die "wafer bench $size failed"
            w=$(lowest "$w" "$v")
        fi
        v=$(ort_ms "$onnx" "$t" "$iters" "$warm") && [ -n "$v" ] || die "ort_bench.js failed on $size"
        o=$(lowest "$o" "$v")
        if [ $((r % 2)) = 0 ]; then
            v=$(wafer_ms "$wf" "$t" "$iters" "$warm") && [ -n "$v" ] || die "wafer bench $size failed"
            w=$(lowest "$w" "$v")
        fi
    done
    ratio=$(awk -v a="$w" -v b="$o" 'BEGIN { printf "%.2f", a / b }')
    verdict=""
    if [ "$target" != - ]; then
        verdict=$(awk -v r="$ratio" -v g="$target" 'BEGIN { print (r <= g) ? "ok" : "MISS" }')
        target="<= $target"
    fi
    printf '%-12s %3s %10.3f %10.3f %8s %8s  %s\n' "mlsd $size" "$t" "$w" "$o" "$ratio" "$target" "$verdict"
done
