/*
 * emitc_util.h — what the emit-c suites share: making a .wafer with the CLI, emitting C from
 * it in-process (optionally with an int8 intermediate added as an extra graph output, so the
 * integer path is compared bit for bit), compiling the emitted C with a harness
 * (tests/codegen/emitc_harness.c) under a given compiler, and the runtime's reference run
 * of the same graph (reference kernels only: WAFER_RT_REF's semantics).
 */
#ifndef WAFER_TEST_EMITC_UTIL_H
#define WAFER_TEST_EMITC_UTIL_H

#include "../../codegen/emit_c.h"
#include "../../format/wafer_file.h"
#include "../../runtime/rt_exec.h"
#include "../test_util.h"

/* Float outputs of the emitted C against the runtime's reference kernels: both sum the same
 * products in float, in different orders (the runtime's GEMM blocks and vectorizes), so they
 * differ by rounding only: a few float ulps of the largest partial sums, far below 1e-5 of
 * the output's magnitude for these K <= 1024 sums (the bound). */
#define ECU_FLOAT_REL_TOL 1e-5

/* `wafer quantize FIXTURES/onnx_rel -o dir/name.wafer opts`; the path into wafer[n]. */
static inline void ecu_quantize(const char *dir, const char *onnx_rel, const char *name, const char *opts, char *wafer,
                                size_t n) {
    char out[4096];
    snprintf(wafer, n, "%s/%s.wafer", dir, name);
    int st = tu_run(out, sizeof out, "%s quantize %s/%s -o %s %s", WAFER_BIN, FIXTURES, onnx_rel, wafer, opts);
    cr_assert_eq(st, 0, "quantize %s %s failed: %s", onnx_rel, opts, out);
}

/* The value read by the graph's last DequantizeLinear of a computed int8 or uint8 tensor (the
 * integer result just before the float head), or -1. */
static inline int ecu_last_int8(const IrGraph *g) {
    int v = -1;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *nd = &g->nodes[k];
        if (nd->op != RT_OP_DEQUANTIZE_LINEAR || g->values[nd->in[0]].konst) continue;
        if (g->values[nd->in[0]].dtype == RT_I8 || g->values[nd->in[0]].dtype == RT_U8) v = nd->in[0];
    }
    return v;
}

/* The .wafer as a graph; with extra_int8, the last int8 activation added as an output. */
static inline IrGraph *ecu_graph(const char *wafer, int extra_int8) {
    RtError err = {{0}};
    IrGraph *g = wafer_file_read(wafer, &err);
    cr_assert(g, "%s", err.msg);
    if (extra_int8) {
        int v = ecu_last_int8(g);
        cr_assert(v >= 0, "%s has no int8 activation before a DequantizeLinear", wafer);
        int *o = realloc(g->outputs, sizeof(int) * (size_t)(g->n_outputs + 1));
        cr_assert(o);
        g->outputs = o;
        g->outputs[g->n_outputs++] = v;
    }
    return g;
}

/* Emits dir/model.c and dir/model.h (and with split, dir/model_weights.c) from the .wafer
 * with every dynamic dim bound to 1. */
static inline EmitCStats ecu_emit_split(const char *wafer, const char *dir, int extra_int8, int no_libm, int split) {
    IrGraph *g = ecu_graph(wafer, extra_int8);
    RtError err = {{0}};
    for (int i = 0; i < g->n_inputs; i++) {
        const IrValue *v = &g->values[g->inputs[i]];
        int64_t dims[RT_MAX_RANK];
        for (int d = 0; d < v->rank; d++) dims[d] = v->dims[d].value >= 0 ? v->dims[d].value : 1;
        cr_assert_eq(ir_bind_input(g, i, v->rank, dims, &err), RT_OK, "%s", err.msg);
    }
    EmitCOptions o = {"model", no_libm, "test", "test", "test", split};
    EmitCStats st;
    cr_assert_eq(emit_c_write(g, &o, dir, &st, &err), RT_OK, "%s", err.msg);
    ir_graph_free(g);
    return st;
}

static inline EmitCStats ecu_emit(const char *wafer, const char *dir, int extra_int8, int no_libm) {
    return ecu_emit_split(wafer, dir, extra_int8, no_libm, 0);
}

/* Compiles dir/model.c (and dir/model_weights.c when there is one) with the harness into dir/exe: `cc flags`; returns the exit status
 * and leaves the compiler's messages in log. */
static inline int ecu_compile(const char *cc, const char *flags, const char *dir, const char *exe, char *log, size_t n) {
    return tu_run(log, n,
                  "%s -std=c99 -Wall -Wextra -Werror -pedantic %s -I%s %s/model.c $(ls %s/model_weights.c 2>/dev/null) "
                  "tests/codegen/emitc_harness.c -o %s/%s -lm",
                  cc, flags, dir, dir, dir, dir, exe);
}

static inline void ecu_raw_write(const char *path, const void *data, size_t bytes) {
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, bytes, f), bytes);
    fclose(f);
}

/* Runs the graph of the .wafer (with the extra int8 output when asked) on x through the
 * runtime's reference kernels; outs[g->n_outputs] get malloc'd data. Returns n_outputs. */
static inline int ecu_reference(const char *wafer, int extra_int8, const RtTensor *x, RtTensor *outs) {
    IrGraph *g = ecu_graph(wafer, extra_int8);
    RtError err = {{0}};
    RtRunOptions o = {0};
    o.ref_only = 1;
    cr_assert_eq(ir_run_opts(g, x, outs, &o, &err), RT_OK, "%s", err.msg);
    int n = g->n_outputs;
    ir_graph_free(g);
    return n;
}

/* Argmax of each row of a float [rows, n] array. */
static inline void ecu_argmax(const float *x, long rows, long n, long *am) {
    for (long r = 0; r < rows; r++) {
        long best = 0;
        for (long j = 1; j < n; j++)
            if (x[r * n + j] > x[r * n + best]) best = j;
        am[r] = best;
    }
}

#endif
