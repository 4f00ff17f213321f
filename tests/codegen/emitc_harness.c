/*
 * emitc_harness.c — a host program around C emitted by `wafer emit-c --prefix model` (not a
 * Criterion suite: the codegen tests compile it with the emitted model.c, under gcc, clang
 * and the ARM cross compilers).
 *
 *   harness IN_0.bin ... IN_{I-1}.bin OUT_0.bin ... OUT_{O-1}.bin
 *
 * Inputs are raw little-endian bytes in the model's dtypes. With one input, its file may
 * hold k samples back to back (k * model_INPUT_0_BYTES bytes): the model runs k times and
 * every output file gets the k results back to back. With several inputs, k = 1.
 * Exit status 0 ok, 1 on a size mismatch or a nonzero model_run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define HARNESS_MAX_IO 8

/* Byte sizes of the inputs and outputs (a trailing 0 so that a model without inputs still
 * gives a valid initializer). */
static const long in_bytes[HARNESS_MAX_IO + 1] = {
#if model_NUM_INPUTS > 0
    model_INPUT_0_BYTES,
#endif
#if model_NUM_INPUTS > 1
    model_INPUT_1_BYTES,
#endif
#if model_NUM_INPUTS > 2
    model_INPUT_2_BYTES,
#endif
#if model_NUM_INPUTS > 3
    model_INPUT_3_BYTES,
#endif
#if model_NUM_INPUTS > 4
    model_INPUT_4_BYTES,
#endif
#if model_NUM_INPUTS > 5
    model_INPUT_5_BYTES,
#endif
#if model_NUM_INPUTS > 6
    model_INPUT_6_BYTES,
#endif
#if model_NUM_INPUTS > 7
    model_INPUT_7_BYTES,
#endif
    0,
};

static const long out_bytes[HARNESS_MAX_IO + 1] = {
#if model_NUM_OUTPUTS > 0
    model_OUTPUT_0_BYTES,
#endif
#if model_NUM_OUTPUTS > 1
    model_OUTPUT_1_BYTES,
#endif
#if model_NUM_OUTPUTS > 2
    model_OUTPUT_2_BYTES,
#endif
#if model_NUM_OUTPUTS > 3
    model_OUTPUT_3_BYTES,
#endif
#if model_NUM_OUTPUTS > 4
    model_OUTPUT_4_BYTES,
#endif
#if model_NUM_OUTPUTS > 5
    model_OUTPUT_5_BYTES,
#endif
#if model_NUM_OUTPUTS > 6
    model_OUTPUT_6_BYTES,
#endif
#if model_NUM_OUTPUTS > 7
    model_OUTPUT_7_BYTES,
#endif
    0,
};

/* The arena, aligned for every type the kernels read. */
static union {
    double d;
    long long l;
    void *p;
    unsigned char b[model_ARENA_BYTES + 16];
} arena;

static unsigned char *file_read(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)*n + 1);
    if (buf && fread(buf, 1, (size_t)*n, f) != (size_t)*n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    unsigned char *in[HARNESS_MAX_IO], *out[HARNESS_MAX_IO];
    const void *ins[HARNESS_MAX_IO];
    void *outs[HARNESS_MAX_IO];
    long k = 1, n = 0, s;
    int i;
    if (model_NUM_INPUTS > HARNESS_MAX_IO || model_NUM_OUTPUTS > HARNESS_MAX_IO ||
        argc != 1 + model_NUM_INPUTS + model_NUM_OUTPUTS) {
        fprintf(stderr, "usage: harness IN_0.bin ... OUT_0.bin ... (%d inputs, %d outputs)\n", model_NUM_INPUTS,
                model_NUM_OUTPUTS);
        return 1;
    }
    for (i = 0; i < model_NUM_INPUTS; i++) {
        in[i] = file_read(argv[1 + i], &n);
        if (in[i] && in_bytes[i] == 0 && n == 0) continue; /* an empty tensor: one sample */
        if (!in[i] || n == 0 || in_bytes[i] == 0 || n % in_bytes[i] != 0 || (model_NUM_INPUTS > 1 && n != in_bytes[i])) {
            fprintf(stderr, "%s: %ld bytes, expected a multiple of %ld\n", argv[1 + i], n, in_bytes[i]);
            return 1;
        }
        k = n / in_bytes[i];
    }
    for (i = 0; i < model_NUM_OUTPUTS; i++) out[i] = malloc((size_t)(k * out_bytes[i]) + 1);
    for (s = 0; s < k; s++) {
        for (i = 0; i < model_NUM_INPUTS; i++) ins[i] = in[i] + s * in_bytes[i];
        for (i = 0; i < model_NUM_OUTPUTS; i++) outs[i] = out[i] + s * out_bytes[i];
        if (model_run(ins, outs, arena.b) != 0) {
            fprintf(stderr, "model_run failed on sample %ld\n", s);
            return 1;
        }
    }
    for (i = 0; i < model_NUM_OUTPUTS; i++) {
        FILE *f = fopen(argv[1 + model_NUM_INPUTS + i], "wb");
        if (!f || fwrite(out[i], 1, (size_t)(k * out_bytes[i]), f) != (size_t)(k * out_bytes[i])) return 1;
        fclose(f);
        free(out[i]);
    }
    for (i = 0; i < model_NUM_INPUTS; i++) free(in[i]);
    return 0;
}
