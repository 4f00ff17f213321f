#!/bin/sh
# bench_emitc.sh — flash and RAM of `wafer emit-c` output on a Cortex-M4, for the README.
#
# Usage: sh bench/bench_emitc.sh BUILD_DIR FIXTURES     (as bench.sh: build ../shared/fixtures)
#
# For kws_dscnn int8 and digits_cnn int8 (plus their float and 4-bit forms for comparison):
# `wafer quantize` to a .wafer, `wafer emit-c` on it (batch 1), arm-none-eabi-gcc
# -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -std=c99 -c on the model's .c
# alone, then arm-none-eabi-size. flash = text + data (weights are static const, so in text);
# RAM = arena (NAME_ARENA_BYTES, which the caller provides) + bss + data. The arena is shown
# beside its lower bound (the largest sum of bytes live at one node). Exits 2 when the tools
# or fixtures are missing; deterministic (sizes, not times).
NAME=bench_emitc
. "$(dirname "$0")/bench_common.sh"
bench_need_fixtures
command -v arm-none-eabi-gcc >/dev/null 2>&1 || die "arm-none-eabi-gcc not installed (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
command -v arm-none-eabi-size >/dev/null 2>&1 || die "arm-none-eabi-size not installed"
M4="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -std=c99 -Wall -Wextra -Werror -pedantic"

echo "emit-c on a Cortex-M4 (arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpversion) $M4)"
printf '%-22s %10s %8s %8s %10s %10s %10s %12s\n' model text data bss arena "arena LB" flash_B RAM_B

row() { # label onnx input_name calib quantize-options...
    label=$1 onnx=$2
    shift 2
    d=$TMP/$label
    mkdir -p "$d"
    "$W" quantize "$FX/$onnx" -o "$d/m.wafer" "$@" >/dev/null 2>"$d/log" || die "$label: quantize failed: $(cat "$d/log")"
    "$W" emit-c "$d/m.wafer" -o "$d" --prefix m >"$d/emit.txt" 2>"$d/log" || die "$label: emit-c failed: $(cat "$d/log")"
    arm-none-eabi-gcc $M4 -c "$d/m.c" -o "$d/m.o" 2>"$d/log" || die "$label: arm-none-eabi-gcc failed: $(cat "$d/log")"
    set -- $(arm-none-eabi-size "$d/m.o" | awk 'NR == 2 { print $1, $2, $3 }')
    text=$1 data=$2 bss=$3
    arena=$(sed -n 's/^#define m_ARENA_BYTES \([0-9]*\)$/\1/p' "$d/m.h")
    lb=$(sed -n 's/.*lower bound \([0-9]*\),.*/\1/p' "$d/emit.txt")
    printf '%-22s %10s %8s %8s %10s %10s %10s %12s\n' "$label" "$text" "$data" "$bss" "$arena" "$lb" \
        $((text + data)) $((arena + bss + data))
}

row "kws_dscnn int8" kws/kws_dscnn.onnx --weights int8 --activations int8 --calib "mfcc=$FX/kws/kws_in.npy"
row "digits_cnn int8" digits/digits_cnn.onnx --weights int8 --activations int8 --calib "image=$FX/digits/calib_img.npy"
row "kws_dscnn f32" kws/kws_dscnn.onnx --weights f32
row "digits_cnn f32" digits/digits_cnn.onnx --weights f32
row "digits_cnn 4-bit g32" digits/digits_cnn.onnx --weights int4 --group 32
