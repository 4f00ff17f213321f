#!/bin/sh
# bench.sh — `make bench`: wafer's companion runtime against onnxruntime-node on the same
# models and the same batch-1 inputs, measured in the same run on this machine, as ratios.
#
# Usage: sh bench/bench.sh BUILD_DIR FIXTURES     (make bench passes build ../shared/fixtures)
#
# For each model the first sample of its fixture input is written as a batch-1 .npy (by
# ort_bench.js: wafer has no slicing command); the model is compiled to a .wafer file for
# batch 1 (`wafer quantize --shape`: float, int8 or 4-bit), and `wafer bench` on that file (the
# runtime: mapped weights, planned arena, optimized kernels) and ort_bench.js on the ONNX model
# run it with 1 and 2 threads (wafer: its pool; onnxruntime: intraOpNumThreads), with the same
# warmup and iteration counts, in BENCH_ROUNDS (default 3) alternating rounds. Ratio = wafer
# median / onnxruntime median (lower is better), the median over the rounds of each round's
# ratio; each row shows the issue's target and whether this run met it (the machine is shared
# and noisy: a miss by a few percent is worth a second run before concluding).
# onnxruntime-node is installed into bench/node_modules on first use (scripts/ort_install.sh;
# version pinned in bench/package.json; ONNXRUNTIME_NODE_INSTALL=skip keeps its installer from
# fetching GPU files). Takes a few minutes on 2 cores (the peer install adds a few seconds once).
# Then: int8 (against onnxruntime's own int8 QDQ mobilenet_v2, and its float kws_dscnn),
# 4-bit tinylm (against onnxruntime's MatMulNBits model), load time, the peak RSS of `wafer run`
# on the 4-bit tinylm against its budget, and the micro-benchmarks (bench/bench_*.c: GEMV
# against the measured memory bandwidth, int8 GEMM against the measured VNNI peak, float GEMM
# against OpenBLAS, GPTQ's time), and the other issues' scripts (bench/bench_emitc.sh,
# bench_onnx_export.sh, bench_distill.sh, bench_deploy.sh, bench_loop.sh; models as onnxruntime
# optimizes and quantizes them: bench_ort_optimized.sh, bench_qoperator.sh; opset-23 Attention:
# bench_attention23.sh; onnxruntime-genai's GroupQueryAttention: bench_gqa.sh; blocked-DQ files
# imported as MatMulNBits: bench_qdq_import.sh; int8 MobileNetV3 blocks: bench_mbv3_int8.sh;
# float16 models: bench_half.sh; ConvTranspose: bench_convt.sh; M-LSD tiny and large against
# onnxruntime: bench_mlsd.sh).
# Ends with the list of targets missed in this run.
set -u
B=${1:-build}
FX=${2:-../shared/fixtures}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$B/wafer

die() {
    echo "bench: $*" >&2
    exit 2
}

[ -x "$W" ] || die "$W not found (run make first)"
[ -d "$FX" ] || die "fixtures folder $FX not found"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

sh "$HERE/../scripts/ort_install.sh" || die "onnxruntime-node is needed for the peer side"

# "<key>":<number> from a one-line flat JSON file.
json_num() {
    sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p" "$1"
}

# verdict RATIO TARGET: "ok" when ratio <= target, else "MISS" (and the miss is recorded)
verdict() {
    if awk -v r="$1" -v t="$2" 'BEGIN { exit !(r > 0 && r <= t) }'; then
        echo ok
    else
        echo MISS
        echo "$3: $1 (target <= $2)" >>"$TMP/misses"
    fi
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
cores=$(nproc 2>/dev/null || grep -c ^processor /proc/cpuinfo)
ortv=$(node -p "require('$HERE/node_modules/onnxruntime-node/package.json').version" 2>/dev/null)
echo "machine: ${cpu:-unknown CPU}, $cores cores"
echo "wafer $("$W" --version | sed 's/^wafer //'), onnxruntime-node $ortv; batch 1; ratio = wafer / onnxruntime (median)"
echo

# bench_pair LABEL WAFER_FILE ORT_MODEL INPUT X ITERS WARMUP TARGET: one row per thread count.
# Each thread count runs ROUNDS rounds, each round timing wafer and onnxruntime back to back
# (the order alternating between rounds), and the row shows the median of the rounds' wafer
# medians, of their onnxruntime medians, and of the rounds' ratios: a burst of load from
# another tenant of the machine lands in one round's pair, not in one side of every row.
ROUNDS=${BENCH_ROUNDS:-3}
bench_pair() {
    label=$1 wf=$2 om_model=$3 input=$4 x=$5 iters=$6 warmup=$7 target=$8
    for t in 1 2; do
        wj="$TMP/w.json"
        oj="$TMP/o.json"
        : >"$TMP/rounds"
        r=0
        while [ "$r" -lt "$ROUNDS" ]; do
            rm -f "$wj" "$oj"
            for side in w o; do
                [ $((r % 2)) = 1 ] && side=$([ "$side" = w ] && echo o || echo w)
                if [ "$side" = w ]; then
                    "$W" bench "$wf" --input "$input=$x" --iters "$iters" --warmup "$warmup" --threads "$t" \
                        --json "$wj" >/dev/null 2>"$TMP/werr"
                else
                    node "$HERE/ort_bench.js" run "$om_model" "$input=$x" --iters "$iters" --warmup "$warmup" \
                        --threads "$t" >"$oj" 2>"$TMP/oerr"
                fi
            done
            wm=$(json_num "$wj" median_ms 2>/dev/null)
            om=$(json_num "$oj" median_ms 2>/dev/null)
            [ -n "$wm" ] && [ -n "$om" ] || break
            echo "$wm $om" >>"$TMP/rounds"
            [ "$t" = 1 ] && [ "$r" = 0 ] && cp "$wj" "$TMP/last_w1.json" && cp "$oj" "$TMP/last_o1.json"
            r=$((r + 1))
        done
        if [ "$r" -lt "$ROUNDS" ]; then
            printf '%-22s %3s failed: %s %s\n' "$label" "$t" "$(head -c 300 "$TMP/werr")" "$(head -c 300 "$TMP/oerr")"
            touch "$TMP/failed"
            continue
        fi
        # medians over the rounds: wafer ms, onnxruntime ms, ratio
        set -- $(awk '{ w[NR] = $1; o[NR] = $2; q[NR] = ($2 > 0 ? $1 / $2 : 0) }
            function med(a, n,   i, j, v) {
                for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            END { printf "%s %s %.2f\n", med(w, NR), med(o, NR), med(q, NR) }' "$TMP/rounds")
        wm=$1 om=$2 ratio=$3
        v=$(verdict "$ratio" "$target" "$label, $t thread(s)")
        awk -v n="$label" -v t="$t" -v wm="$wm" -v om="$om" -v r="$ratio" -v g="$target" -v v="$v" 'BEGIN {
            printf "%-34s %3s %10.3f %10.3f %8s %8s  %s\n", n, t, wm, om, r, "<= " g, v }'
    done
}

header() {
    echo "$1"
    printf '%-34s %3s %10s %10s %8s %8s  %s\n' model thr "wafer ms" "ort ms" ratio target ""
}

# name | model | input name | source .npy | slice args | batch-1 shape | iters | warmup | target
MODELS="digits_cnn|digits/digits_cnn.onnx|image|digits/test_img.npy||1,1,8,8|1000|50|0.8
kws_dscnn|kws/kws_dscnn.onnx|mfcc|kws/kws_in.npy||1,1,49,10|1000|50|0.8
mobilenet_v2|perf/mobilenet_v2.onnx|input|perf/mobilenet_v2_in.npy||1,3,224,224|50|5|1.0
tinylm|tinylm/tinylm.onnx|tokens|tinylm/tinylm_eval_tokens.npy|--cols 128|1,128|50|5|0.8"

header "float32 (.wafer compiled for batch 1, against onnxruntime on the ONNX model)"
echo "$MODELS" | while IFS='|' read -r name model input src cols shape iters warmup target; do
    x="$TMP/$name.npy"
    # shellcheck disable=SC2086  # $cols is empty or "--cols N"
    if ! node "$HERE/ort_bench.js" slice "$FX/$src" "$x" $cols 2>"$TMP/err"; then
        printf '%-22s slicing %s failed: %s\n' "$name" "$src" "$(cat "$TMP/err")"
        touch "$TMP/failed"
        continue
    fi
    wf="$TMP/$name.f32.wafer"
    if ! "$W" quantize "$FX/$model" -o "$wf" --weights f32 --shape "$input=$shape" >/dev/null 2>"$TMP/qerr"; then
        printf '%-22s compile failed: %s\n' "$name" "$(head -c 300 "$TMP/qerr")"
        touch "$TMP/failed"
        continue
    fi
    bench_pair "$name" "$wf" "$FX/$model" "$input" "$x" "$iters" "$warmup" "$target"
    [ "$name" = tinylm ] && cp "$TMP/last_w1.json" "$TMP/tinylm_w.json" && cp "$TMP/last_o1.json" "$TMP/tinylm_o.json"
done

echo
if [ -f "$TMP/tinylm_w.json" ]; then
    wl=$(json_num "$TMP/tinylm_w.json" load_ms)
    ol=$(json_num "$TMP/tinylm_o.json" session_ms)
    awk -v wl="$wl" -v ol="$ol" 'BEGIN {
        printf "load tinylm: wafer %.2f ms (open the .wafer: map, check, plan), onnxruntime %.1f ms (session creation); ratio %.3f\n", wl, ol, (ol > 0 ? wl / ol : 0) }'
fi

# int8: static int8, per-channel weights, min-max calibration on the fixture's own inputs.
# name | model | input | calibration .npy | peer model (onnxruntime) | peer kind | shape | iters | warmup | target
INT8="kws_dscnn|kws/kws_dscnn.onnx|mfcc|kws/kws_in.npy|kws/kws_dscnn.onnx|float|1,1,49,10|1000|50|0.8
mobilenet_v2|perf/mobilenet_v2.onnx|input|perf/mobilenet_v2_in.npy|perf/mobilenet_v2_int8_qdq_ort.onnx|int8 QDQ|1,3,224,224|50|5|0.8"
echo
header "int8 (wafer static int8 against onnxruntime: its QDQ int8 mobilenet_v2, its float kws_dscnn)"
echo "$INT8" | while IFS='|' read -r name model input calib peer kind shape iters warmup target; do
    x="$TMP/$name.npy"
    q="$TMP/$name.int8.wafer"
    [ -f "$x" ] || continue # slicing failed above (already reported)
    if ! "$W" quantize "$FX/$model" -o "$q" --activations int8 --calib "$input=$FX/$calib" --shape "$input=$shape" \
        >/dev/null 2>"$TMP/qerr"; then
        printf '%-22s quantize failed: %s\n' "$name" "$(head -c 300 "$TMP/qerr")"
        touch "$TMP/failed"
        continue
    fi
    bench_pair "$name int8 / ort $kind" "$q" "$FX/$peer" "$input" "$x" "$iters" "$warmup" "$target"
done

# 4-bit: tinylm with GPTQ 4-bit g128 asymmetric weights (LinearNBits; calibration on
# tinylm_calib_tokens.npy, head float) against onnxruntime's own MatMulNBits model
# (perf/tinylm_int4_default_asym.onnx: block 128, asymmetric, head float), same input.
echo
header "4-bit weights (GPTQ g128 asym, head float; onnxruntime: its MatMulNBits model)"
x="$TMP/tinylm.npy"
q4="$TMP/tinylm_int4.wafer"
if [ -f "$x" ] && "$W" quantize "$FX/tinylm/tinylm.onnx" -o "$q4" --weights int4 --method gptq --group 128 --asym \
    --calib "tokens=$FX/tinylm/tinylm_calib_tokens.npy" --shape tokens=1,128 >/dev/null 2>"$TMP/qerr"; then
    bench_pair "tinylm int4" "$q4" "$FX/perf/tinylm_int4_default_asym.onnx" tokens "$x" 50 5 0.8
    # onnxruntime's model again with accuracy_level 4 on its 24 MatMulNBits (int8 compute of A;
    # onnx_accuracy_level.js writes the copy), the same file run by both: wafer's VNNI kernels
    # against MLAS's CompInt8 ones.
    l4="$TMP/tinylm_int4_level4.onnx"
    if node "$HERE/onnx_accuracy_level.js" "$FX/perf/tinylm_int4_default_asym.onnx" 4 "$l4" >/dev/null 2>"$TMP/lerr"; then
        bench_pair "tinylm int4 accuracy_level 4" "$l4" "$l4" tokens "$x" 50 5 0.8
        # wafer's own GPTQ layers as above with int8 compute (--compute int8) against it
        q48="$TMP/tinylm_int4_int8c.wafer"
        if "$W" quantize "$FX/tinylm/tinylm.onnx" -o "$q48" --weights int4 --method gptq --group 128 --asym \
            --calib "tokens=$FX/tinylm/tinylm_calib_tokens.npy" --shape tokens=1,128 --compute int8 >/dev/null 2>"$TMP/qerr"; then
            bench_pair "tinylm int4 --compute int8" "$q48" "$l4" tokens "$x" 50 5 0.8
        else
            printf '%-22s quantize --compute int8 failed: %s\n' tinylm "$(head -c 300 "$TMP/qerr")"
            touch "$TMP/failed"
        fi
    else
        printf '%-22s accuracy_level copy failed: %s\n' tinylm "$(head -c 300 "$TMP/lerr")"
        touch "$TMP/failed"
    fi
    # Peak RSS of `wafer run` on it against 1.3 x (packed weights + planned arena + 8 MiB).
    echo
    "$W" bench "$q4" --input "tokens=$x" --iters 1 --warmup 0 --json "$TMP/rss.json" >/dev/null 2>&1
    wb=$(json_num "$TMP/rss.json" weight_bytes)
    ab=$(json_num "$TMP/rss.json" arena_bytes)
    rss=$("$B/bench_rss" "$W" run "$q4" --input "tokens=$x" --out "$TMP/run_out" 2>/dev/null | sed -n 's/^peak_rss_bytes //p')
    if [ -n "$rss" ] && [ -n "$wb" ] && [ -n "$ab" ]; then
        ratio=$(awk -v r="$rss" -v w="$wb" -v a="$ab" 'BEGIN { printf "%.2f", r / (w + a + 8388608) }')
        v=$(verdict "$ratio" 1.3 "wafer run tinylm int4 peak RSS / (weights + arena + 8 MiB)")
        awk -v r="$rss" -v w="$wb" -v a="$ab" -v q="$ratio" -v v="$v" 'BEGIN {
            printf "wafer run tinylm int4: peak RSS %.1f MiB; weights %.2f MiB + arena %.2f MiB + 8 MiB = %.2f MiB; ratio %s (target <= 1.3) %s\n",
                r / 1048576, w / 1048576, a / 1048576, (w + a + 8388608) / 1048576, q, v }'
    else
        echo "peak RSS measurement failed"
        touch "$TMP/failed"
    fi
else
    printf '%-22s quantize failed: %s\n' tinylm "$(head -c 300 "$TMP/qerr" 2>/dev/null)"
    touch "$TMP/failed"
fi

# Micro-benchmarks, each measuring its own peer in the same run.
for mb in nbits nbits_int8 qgemm sgemm; do
    echo
    if [ -x "$B/bench_$mb" ]; then
        "$B/bench_$mb" >"$TMP/mb.txt" 2>&1 || touch "$TMP/failed"
        cat "$TMP/mb.txt"
        grep -iE 'MISS|NOT met' "$TMP/mb.txt" | sed "s/^/bench_$mb: /" >>"$TMP/misses"
    else
        echo "bench_$mb: $B/bench_$mb not built (make bench builds it)"
        touch "$TMP/failed"
    fi
done
# GPTQ's time: one 4096x4096 layer with 4096 calibration rows (limit 30 s) and all of
# tinylm's 24 block linears (limit 10 s).
echo
if [ -x "$B/bench_gptq" ]; then
    "$B/bench_gptq" "$FX" || touch "$TMP/failed"
else
    echo "bench_gptq: $B/bench_gptq not built (make bench builds it)"
    touch "$TMP/failed"
fi

# The other issues' figures, each script measuring its own peer or target: emit-c's Cortex-M4
# flash/RAM sizes, ONNX export checked by onnxruntime, distillation speed and accuracy, the
# bit-width sweep / cascade / plan of the deployment commands, Loop against onnxruntime,
# onnxruntime-optimized float models against their originals, onnxruntime's QOperator int8
# mobilenet_v2, opset-23 Attention and com.microsoft GroupQueryAttention against onnxruntime,
# other tools' weight-only DequantizeLinear -> MatMul files imported as MatMulNBits, int8 all
# the way through PaddleOCR's MobileNetV3 blocks (table activations) against float; float16
# models against their float32 twins and onnxruntime's float16; float32 ConvTranspose (decoder
# layers, PaddleOCR v4 det) against onnxruntime; M-LSD (3x3 convs on large planes) against
# onnxruntime.
for part in emitc onnx_export distill deploy loop ort_optimized qoperator attention23 gqa qdq_import mbv3_int8 half convt mlsd; do
    echo
    if [ -f "$HERE/bench_$part.sh" ]; then
        sh "$HERE/bench_$part.sh" "$B" "$FX" >"$TMP/part.txt" 2>&1 || {
            echo "bench_$part.sh failed" >>"$TMP/part.txt"
            touch "$TMP/failed"
        }
        cat "$TMP/part.txt"
        grep 'MISS' "$TMP/part.txt" | sed "s/^/bench_$part: /" >>"$TMP/misses"
    fi
done

echo
if [ -s "$TMP/misses" ]; then
    echo "targets missed in this run:"
    sed 's/^/  /' "$TMP/misses"
else
    echo "every target met in this run"
fi
[ -f "$TMP/failed" ] && exit 1
exit 0
