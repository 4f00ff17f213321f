#!/bin/sh
# run.sh — make fuzz's driver: seeds each target's corpus, then runs each libFuzzer target
# for a bounded time. Fails (exit 1) on any crash, sanitizer report, leak, timeout or
# out-of-memory; the input that caused it is saved as <fz>/crashes/<target>-<kind>-<sha1>.
#
#   sh tests/fuzz/run.sh FZ SECONDS FIXTURES WAFER_BIN [TARGETS]
#
# TARGETS (default "onnx npy wafer external") picks which ones run (make fuzz FUZZ_ONLY=...).
#
# Seeds: onnx — the fixture models (digits, kws) and the ONNX node-test models (small, one
# op each: they reach every op's attribute path); npy — a few fixture arrays; wafer — files
# written by `wafer quantize` from the digits MLP and the kws model (int8 and f32 weights) and
# from small node-test models (static shapes: with a memory plan);
# external — hand-written location/offset/length triples, valid and hostile. The corpus
# folders are kept between runs (a later run starts from what the last one found).
set -e
FZ=$1
SECONDS_EACH=${2:-20}
FIX=$3
WAFER=$4
TARGETS=${5:-onnx npy wafer external}
C=$FZ/corpus
mkdir -p "$C/onnx" "$C/npy" "$C/wafer" "$C/external" "$FZ/crashes" "$FZ/logs"

# ---- seeds (copied once; what the fuzzer added is kept) ----
seed() { [ -f "$1" ] && [ ! -f "$2" ] && cp "$1" "$2"; return 0; }
for f in "$FIX"/digits/digits_mlp.onnx "$FIX"/digits/digits_cnn.onnx \
         "$FIX"/digits/digits_student_init.onnx "$FIX"/kws/kws_dscnn.onnx; do
    seed "$f" "$C/onnx/fixture_$(basename "$f")"
done
NODE=/usr/share/libonnx-testdata/data/node
if [ -d "$NODE" ] && [ ! -f "$C/onnx/.node_seeded" ]; then
    for d in "$NODE"/test_*; do
        seed "$d/model.onnx" "$C/onnx/node_$(basename "$d").onnx"
    done
    touch "$C/onnx/.node_seeded"
fi
for f in "$FIX"/kws/kws_in.npy "$FIX"/kws/kws_out.npy "$FIX"/digits/test_y.npy \
         "$FIX"/digits/digits_mlp_test_logits.npy "$FIX"/tinylm/tinylm_eval_tokens.npy; do
    seed "$f" "$C/npy/fixture_$(basename "$f")"
done
# The .wafer seeds carry the format version in their name, so a format change writes fresh
# seeds beside what the corpus kept (files of an older version only reach the version check).
wafer_seed() {   # NAME MODEL [options]: a .wafer seed written by wafer quantize
    out=$C/wafer/v2_$1.wafer
    model=$2
    shift 2
    [ -f "$out" ] || "$WAFER" quantize "$model" -o "$out" "$@" >/dev/null ||
        echo "fuzz: warning: could not write the seed $out" >&2
}
wafer_seed digits_mlp_int8 "$FIX/digits/digits_mlp.onnx"
wafer_seed digits_mlp_f32 "$FIX/digits/digits_mlp.onnx" --weights f32
wafer_seed kws_int8 "$FIX/kws/kws_dscnn.onnx"
# small ones (under 1.1 KB: many more executions per second), one with an If's subgraphs;
# their inputs have static shapes, so these files carry a PLAN section
for t in test_relu test_conv_with_strides_padding test_if test_matmul_2d; do
    [ -f "$NODE/$t/model.onnx" ] && wafer_seed "node_$t" "$NODE/$t/model.onnx" --weights f32
done
printf 'weights.bin\n8\n24' > "$C/external/ok_offset"
printf 'sub/w.bin' > "$C/external/ok_whole"
printf 'weights.bin\n16\n24' > "$C/external/past_end"
printf 'weights.bin\n9223372036854775800\n24' > "$C/external/huge_offset"
printf '../secret.bin' > "$C/external/dotdot"
printf 'sub/../../secret.bin' > "$C/external/inner_dotdot"
printf '/etc/hostname' > "$C/external/absolute"
printf 'weights.bin\n-1\n24' > "$C/external/negative"
printf 'link.bin' > "$C/external/symlink_final"
printf 'up/secret.bin' > "$C/external/symlink_parent"
printf 'hard.bin' > "$C/external/hardlink"
printf './sub//w.bin' > "$C/external/ok_dots"

# ---- runs ----
status=0
for t in $TARGETS; do
    bin=$FZ/fuzz_$t
    log=$FZ/logs/fuzz_$t.log
    echo "fuzz: $t for ${SECONDS_EACH}s" >&2
    # -timeout: one input taking 25 s is a hang; -rss_limit_mb: the loaders must refuse
    # before they balloon (libFuzzer reports an out-of-memory as a failure).
    if "$bin" "$C/$t" -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$FZ/crashes/$t-" > "$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz: $t ok: $runs executions, 0 crashes" >&2
    else
        status=1
        echo "fuzz: $t FAILED (see $log):" >&2
        grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -8 >&2
    fi
done
exit $status
