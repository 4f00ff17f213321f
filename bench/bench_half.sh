#!/bin/sh
# bench_half.sh — float16 models at float32 speed: the fixtures' mobilenet_v2 and digits_cnn
# converted to float16 as onnxconverter-common's convert_float_to_float16(keep_io_types=False)
# does (build/bench_half_convert, tests/onnx_half_convert.h), inputs rounded to float16.
# Each compiled for batch 1 (`wafer quantize --weights f32 --shape`: the float16 weights
# kept, fused and planned), timed with `wafer bench`, against onnxruntime-node on the float16
# .onnx (bench/ort_bench.js, all graph optimizations; its CPU provider runs most float16 ops
# through inserted Casts) and against wafer's own float32 .wafer of the same model.
# Targets: wafer float16 within 1.3x of wafer float32, and no slower than onnxruntime's
# float16.
#
# Usage: sh bench/bench_half.sh BUILD_DIR FIXTURES   (bench.sh's arguments; needs node and
# onnxruntime-node in bench/node_modules, which bench.sh installs, and BUILD_DIR/
# bench_half_convert, which make bench builds)
#
# Method: 1 thread; each number is the lowest median of 3 alternating rounds (iterations as
# bench.sh's float rows), so the three share the same minutes of a shared machine.
NAME=bench_half
. "$(dirname "$0")/bench_common.sh"
bench_need_fixtures
bench_need_node
CONV=$B/bench_half_convert
[ -x "$CONV" ] || die "$CONV not found (make bench builds it)"

verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r > 0 && r <= t) ? "ok" : "MISS" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "float16 models (batch 1, 1 thread, median ms; .wafer compiled for batch 1)"
printf '%-14s %10s %10s %10s %9s %9s  %s\n' model "wafer f16" "wafer f32" "ort f16" "f16/f32" "f16/ort" "targets <= 1.3, <= 1.0"
# name | model | input | source .npy | batch-1 shape | iters | warmup
echo "mobilenet_v2|perf/mobilenet_v2.onnx|input|perf/mobilenet_v2_in.npy|1,3,224,224|50|5
digits_cnn|digits/digits_cnn.onnx|image|digits/test_img.npy|1,1,8,8|1000|50" |
while IFS='|' read -r name model input src shape iters warmup; do
    x32=$TMP/${name}_x32.npy x16=$TMP/${name}_x16.npy m16=$TMP/${name}_f16.onnx
    node "$HERE/ort_bench.js" slice "$FX/$src" "$x32" || die "slicing $src failed"
    "$CONV" --npy "$x32" "$x16" || die "converting $src failed"
    "$CONV" "$FX/$model" "$m16" || die "converting $model failed"
    "$W" quantize "$m16" -o "$TMP/$name.f16.wafer" --weights f32 --shape "$input=$shape" >/dev/null 2>"$TMP/err" ||
        die "compiling $name float16: $(cat "$TMP/err")"
    "$W" quantize "$FX/$model" -o "$TMP/$name.f32.wafer" --weights f32 --shape "$input=$shape" >/dev/null 2>"$TMP/err" ||
        die "compiling $name: $(cat "$TMP/err")"
    h="" f="" o=""
    for _ in 1 2 3; do
        v=$("$W" bench "$TMP/$name.f16.wafer" --input "$input=$x16" --iters "$iters" --warmup "$warmup" --threads 1 \
            2>/dev/null | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p') && [ -n "$v" ] || die "wafer bench $name f16 failed"
        h=$(lowest "$h" "$v")
        v=$("$W" bench "$TMP/$name.f32.wafer" --input "$input=$x32" --iters "$iters" --warmup "$warmup" --threads 1 \
            2>/dev/null | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p') && [ -n "$v" ] || die "wafer bench $name f32 failed"
        f=$(lowest "$f" "$v")
        v=$(node "$HERE/ort_bench.js" run "$m16" "$input=$x16" --iters "$iters" --warmup "$warmup" --threads 1 2>/dev/null |
            sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p') && [ -n "$v" ] || die "ort_bench.js failed on $name f16"
        o=$(lowest "$o" "$v")
    done
    rf=$(ratio "$h" "$f") ro=$(ratio "$h" "$o")
    printf '%-14s %10.3f %10.3f %10.3f %9s %9s  %s %s\n' "$name" "$h" "$f" "$o" "$rf" "$ro" "$(verdict "$rf" 1.3)" \
        "$(verdict "$ro" 1.0)"
done
