/*
 * cnn_student.h — test-only generator of a small CNN student for the digits task: the graph of
 * digits_cnn.onnx (Conv-BN-Relu, Conv-BN-Relu, MaxPool, Conv-BN-Relu, Flatten, Gemm, Relu,
 * Gemm; BatchNormalization kept as nodes) at reduced width w (channels w, 2w, 2w and a hidden
 * layer of 4w instead of 32, 64, 64 and 128), freshly initialized as PyTorch initializes its
 * layers: weights and biases uniform in +-1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)),
 * BatchNorm scale 1, bias 0, running mean 0, variance 1. Seeded, so the file is the same on
 * every run. Written through wafer's ONNX writer (frontend/onnx_write.c); input `image`
 * [n,1,8,8], output `logits` [n,10], opset 17.
 *
 * Used by tests/train/test_distill_cnn.c and by bench/bench_distill.c (which writes it for
 * bench_distill.sh's 60-epoch run).
 */
#ifndef WAFER_CNN_STUDENT_H
#define WAFER_CNN_STUDENT_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../ir/ir.h"

typedef struct {
    IrGraph *g;
    uint64_t seed;
} CnnGen;

static inline float cnn_uniform(CnnGen *c, float bound) {
    c->seed = c->seed * 6364136223846793005ull + 1442695040888963407ull;
    return bound * (2.0f * (float)(c->seed >> 40) / 16777216.0f - 1.0f);
}

/* A float32 constant; fill 0: U(+-bound), 1: all `bound`. */
static inline int cnn_const(CnnGen *c, const char *name, int rank, const int64_t *dims, int fill, float bound) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = RT_F32, t.rank = rank;
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    int64_t n = rt_numel(&t);
    float *v = malloc(sizeof(float) * (size_t)(n + 1));
    if (!v) return -1;
    for (int64_t i = 0; i < n; i++) v[i] = fill ? bound : cnn_uniform(c, bound);
    t.data = v;
    int id = ir_const_add(c->g, name, &t);
    free(v);
    return id;
}

static inline RtAttr *cnn_attrs(CnnGen *c, int k, int n) {
    RtAttr *a = ir_alloc(c->g, sizeof(RtAttr) * (size_t)n);
    c->g->nodes[k].attrs = a, c->g->nodes[k].n_attr = n;
    return a;
}

static inline RtAttr cnn_ints(CnnGen *c, const char *name, int n, const int64_t *v) {
    int64_t *p = ir_alloc(c->g, sizeof(int64_t) * (size_t)n);
    memcpy(p, v, sizeof(int64_t) * (size_t)n);
    return (RtAttr){.name = name, .type = RT_ATTR_INTS, .n = n, .ints = p};
}

/* One node with one new output value. */
static inline int cnn_node(CnnGen *c, int op, const char *name, int n_in, const int *in, const char *out, int *k) {
    int v = ir_value_add(c->g, out);
    *k = ir_node_add(c->g, op, name, n_in, in, 1, &v);
    return v;
}

/* Conv 3x3 pad 1 (cin -> cout) + BatchNormalization + Relu. */
static inline int cnn_block(CnnGen *c, int x, int cin, int cout, const char *p) {
    char n[8][64];
    const char *sfx[8] = {".weight", ".bias", "b.weight", "b.bias", "b.running_mean", "b.running_var", "/Conv", "/BN"};
    for (int i = 0; i < 8; i++) snprintf(n[i], sizeof n[i], "%s%s", p, sfx[i]);
    int64_t wd[4] = {cout, cin, 3, 3}, cd[1] = {cout};
    float bound = 1.0f / sqrtf((float)(cin * 9));
    int in[5] = {x, cnn_const(c, n[0], 4, wd, 0, bound), cnn_const(c, n[1], 1, cd, 0, bound)};
    int k;
    char out[96];
    snprintf(out, sizeof out, "%s_conv", p);
    int y = cnn_node(c, RT_OP_CONV, n[6], 3, in, out, &k);
    RtAttr *a = cnn_attrs(c, k, 4);
    int64_t k3[2] = {3, 3}, one[2] = {1, 1}, pads[4] = {1, 1, 1, 1};
    a[0] = cnn_ints(c, "kernel_shape", 2, k3), a[1] = cnn_ints(c, "pads", 4, pads), a[2] = cnn_ints(c, "strides", 2, one);
    a[3] = cnn_ints(c, "dilations", 2, one);
    int bn[5] = {y, cnn_const(c, n[2], 1, cd, 1, 1.0f), cnn_const(c, n[3], 1, cd, 1, 0.0f),
                 cnn_const(c, n[4], 1, cd, 1, 0.0f), cnn_const(c, n[5], 1, cd, 1, 1.0f)};
    snprintf(out, sizeof out, "%s_bn", p);
    int z = cnn_node(c, RT_OP_BATCH_NORMALIZATION, n[7], 5, bn, out, &k);
    a = cnn_attrs(c, k, 2);
    a[0] = (RtAttr){.name = "epsilon", .type = RT_ATTR_FLOAT, .f = 1e-5f};
    a[1] = (RtAttr){.name = "momentum", .type = RT_ATTR_FLOAT, .f = 0.9f};
    snprintf(out, sizeof out, "%s_relu", p);
    return cnn_node(c, RT_OP_RELU, out, 1, &z, out, &k);
}

/* Gemm (transB) in -> out with PyTorch's Linear init. */
static inline int cnn_linear(CnnGen *c, int x, int64_t in, int64_t out, const char *p, const char *out_name) {
    char w[64], b[64], nm[64];
    snprintf(w, sizeof w, "%s.weight", p), snprintf(b, sizeof b, "%s.bias", p), snprintf(nm, sizeof nm, "/%s/Gemm", p);
    int64_t wd[2] = {out, in}, bd[1] = {out};
    float bound = 1.0f / sqrtf((float)in);
    int ins[3] = {x, cnn_const(c, w, 2, wd, 0, bound), cnn_const(c, b, 1, bd, 0, bound)};
    int k;
    int y = cnn_node(c, RT_OP_GEMM, nm, 3, ins, out_name, &k);
    RtAttr *a = cnn_attrs(c, k, 1);
    a[0] = (RtAttr){.name = "transB", .type = RT_ATTR_INT, .i = 1};
    return y;
}

/* digits_cnn's Flatten(axis 1) of h: the head's input [n, C*H*W]. */
static inline int cnn_flatten(CnnGen *c, int h) {
    int k;
    int f = cnn_node(c, RT_OP_FLATTEN, "/Flatten", 1, &h, "flat", &k);
    RtAttr *a = cnn_attrs(c, k, 1);
    a[0] = (RtAttr){.name = "axis", .type = RT_ATTR_INT, .i = 1};
    return f;
}

/* The width-w student's nodes into c->g: input `image` [batch, 1, 8, 8] (batch 0: the dynamic
 * 'n'), the three conv blocks and the pool, flatten(c, h) to [n, 32w], then fc1, Relu, fc2.
 * Returns the logits value (not yet a graph output). */
static inline int cnn_student_body(CnnGen *c, int w, int64_t batch, int (*flatten)(CnnGen *, int)) {
    IrGraph *g = c->g;
    int x = ir_value_add(g, "image"), k;
    int64_t xd[4] = {batch ? batch : -1, 1, 8, 8};
    ir_value_set_shape(&g->values[x], RT_F32, 4, xd);
    g->values[x].dims[0].sym = batch ? NULL : ir_strdup(g, "n");
    g->inputs = malloc(sizeof(int)), g->inputs[0] = x, g->n_inputs = 1;
    int h = cnn_block(c, x, 1, w, "c1");
    h = cnn_block(c, h, w, 2 * w, "c2");
    int mp = cnn_node(c, RT_OP_MAX_POOL, "/MaxPool", 1, &h, "pool", &k);
    RtAttr *a = cnn_attrs(c, k, 2);
    int64_t two[2] = {2, 2};
    a[0] = cnn_ints(c, "kernel_shape", 2, two), a[1] = cnn_ints(c, "strides", 2, two);
    h = cnn_block(c, mp, 2 * w, 2 * w, "c3");
    int f = flatten(c, h);
    int h1 = cnn_linear(c, f, 2 * w * 16, 4 * w, "fc1", "fc1_out");
    int r = cnn_node(c, RT_OP_RELU, "/Relu_fc1", 1, &h1, "fc1_relu", &k);
    return cnn_linear(c, r, 4 * w, 10, "fc2", "logits");
}

/* Builds the width-w student and writes it to path. RT_OK or an error in err. */
static inline int cnn_student_write(const char *path, int w, uint64_t seed, RtError *err) {
    CnnGen c = {ir_graph_new(), seed};
    if (!c.g) return rt_error_set(err, "out of memory");
    IrGraph *g = c.g;
    g->opset = 17, g->ir_version = 8;
    int y = cnn_student_body(&c, w, 0, cnn_flatten);
    g->outputs = malloc(sizeof(int)), g->outputs[0] = y, g->n_outputs = 1;
    int rc = ir_infer_shapes(g, err);
    if (rc == RT_OK) rc = onnx_write_file(g, NULL, path, err);
    ir_graph_free(g);
    return rc;
}

#endif
