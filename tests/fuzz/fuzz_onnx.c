/*
 * fuzz_onnx.c — libFuzzer target for the ONNX loader (frontend/): each input is a whole
 * ModelProto handed to onnx_load_memory with no folder (external data refused), once with
 * unknown ops refused and once allowed (wafer inspect's mode, which keeps more of a graph).
 * A loaded graph must pass ir_verify (the loader's contract), then is freed. A refusal is
 * fine; a crash, a sanitizer report or a leak is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../frontend/onnx.h"

static void load_once(const uint8_t *data, size_t size, int allow_unknown) {
    RtError err;
    memset(&err, 0, sizeof err);
    OnnxLoadOptions o = {.allow_unknown_ops = allow_unknown};
    IrGraph *g = onnx_load_memory(data, size, NULL, "fuzz.onnx", &o, &err);
    if (!g) return;
    if (ir_verify(g, &err) != RT_OK) {
        fprintf(stderr, "onnx_load_memory returned a graph that fails ir_verify: %s\n", err.msg);
        abort();
    }
    ir_graph_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load_once(data, size, 0);
    load_once(data, size, 1);
    return 0;
}
