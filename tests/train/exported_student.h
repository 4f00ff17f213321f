/*
 * exported_student.h — test-only generators of students in the form exporters write them, for
 * `wafer distill` end to end (tests/train/test_distill_exported.c):
 *
 * exported_cnn_write: the digits CNN student of cnn_student.h (same blocks, same seeded
 *   PyTorch-style initialization) as torch.onnx.export (TorchScript) writes a model whose
 *   forward flattens with `x.view(x.size(0), -1)` and whose batch axis is dynamic: instead of
 *   Flatten,
 *       /Shape      Shape(h)                               -> [4] int64
 *       /Constant   Constant(value = 0, a scalar)          -> the Gather index
 *       /Gather     Gather(shape, index, axis 0)           -> batch, a scalar
 *       /Unsqueeze  Unsqueeze(batch, axes = [0])           -> [1] (axes an initializer, opset 13+)
 *       /Constant_1 Constant(value = [-1])
 *       /Concat     Concat(batch, [-1], axis 0)            -> [batch, -1]
 *       /Reshape    Reshape(h, that, allowzero 0)
 *   with the exporter's value names (/Shape_output_0, ...). Input `image` [n,1,8,8] with n a
 *   named dynamic dim (or a declared fixed batch), output `logits` [n,10], opset 17 (or 11:
 *   Unsqueeze's axes an attribute, Reshape without allowzero), written through
 *   frontend/onnx_write.c.
 *
 * ids_model_write: a student or teacher whose input is int64 ids [n, K] in [0, V): features
 *   Cast(ids) and Cast(Equal(ids, 0)) (side nodes: no parameter feeds them) concatenated, then
 *   Gemm to C classes. Weights given (a teacher) or zero (a student to train).
 *
 * text_model_write: a small text classifier on int64 token ids [n, T] (vocabulary V):
 *       /embed/Gather  Gather(embed.weight [V, D], ids)        -> [n, T, D]
 *     unmasked: /ReduceMean (axes [1] an attribute, keepdims 0) -> [n, D]   (mean over positions)
 *     masked (a second input attention_mask [n, T] int64, 1 = token, 0 = padding): mean
 *       pooling as sentence-transformers writes it and the TorchScript exporter exports it,
 *       mask.unsqueeze(-1).expand(emb.size()).float(), (emb * m).sum(1) / m.sum(1).clamp(1e-9):
 *       Unsqueeze, Shape, Expand, Cast, Mul, ReduceSum (axes an input), ReduceSum, Clip, Div
 *     H > 0 (a teacher): /fc1/Gemm (D -> H), then GELU as exporters write it before opset 20,
 *       x * 0.5 * (1 + erf(x / sqrt 2)) with its scalars in Constant nodes, then /fc2/Gemm
 *     H = 0 (the student): /fc/Gemm (D -> C)
 *   -> logits [n, C]; opset 17. text_student_write gives the student PyTorch-like seeded
 *   weights (embedding U(+-1), Linear U(+-1/sqrt(D))).
 */
#ifndef WAFER_EXPORTED_STUDENT_H
#define WAFER_EXPORTED_STUDENT_H

#include "cnn_student.h"

/* A Constant node holding an int64 tensor of rank 0 (n = -1, one value) or rank 1 (n values),
 * as exporters emit for the small integers of shape arithmetic. Returns its output value. */
static inline int exported_constant_i64(CnnGen *c, const char *name, const char *out, int n, const int64_t *vals) {
    IrGraph *g = c->g;
    RtTensor *t = ir_alloc(g, sizeof *t);
    int64_t *d = ir_alloc(g, sizeof(int64_t) * (size_t)(n < 0 ? 1 : n));
    if (!t || !d) return -1;
    memset(t, 0, sizeof *t);
    memcpy(d, vals, sizeof(int64_t) * (size_t)(n < 0 ? 1 : n));
    t->dtype = RT_I64, t->rank = n < 0 ? 0 : 1, t->dims[0] = n < 0 ? 0 : n, t->data = d;
    int k, v = ir_value_add(g, out);
    k = ir_node_add(g, RT_OP_CONSTANT, name, 0, NULL, 1, &v);
    if (k < 0) return -1;
    RtAttr *a = cnn_attrs(c, k, 1);
    a[0] = (RtAttr){.name = "value", .type = RT_ATTR_TENSOR, .t = t};
    return v;
}

/* An int64 initializer of rank 1. */
static inline int exported_init_i64(CnnGen *c, const char *name, int n, const int64_t *vals) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = RT_I64, t.rank = 1, t.dims[0] = n, t.data = (void *)vals;
    return ir_const_add(c->g, name, &t);
}

/* x.view(x.size(0), -1) as the TorchScript exporter writes it. */
static inline int exported_view_flat(CnnGen *c, int h) {
    int k;
    int s = cnn_node(c, RT_OP_SHAPE, "/Shape", 1, &h, "/Shape_output_0", &k);
    int64_t zero = 0, minus1 = -1;
    int gi[2] = {s, exported_constant_i64(c, "/Constant", "/Constant_output_0", -1, &zero)};
    int b = cnn_node(c, RT_OP_GATHER, "/Gather", 2, gi, "/Gather_output_0", &k);
    RtAttr *a = cnn_attrs(c, k, 1);
    a[0] = (RtAttr){.name = "axis", .type = RT_ATTR_INT, .i = 0};
    int bu;
    if (c->g->opset >= 13) { /* Unsqueeze's axes an input from opset 13, an attribute before */
        int ui[2] = {b, exported_init_i64(c, "onnx::Unsqueeze_37", 1, &zero)};
        bu = cnn_node(c, RT_OP_UNSQUEEZE, "/Unsqueeze", 2, ui, "/Unsqueeze_output_0", &k);
    } else {
        bu = cnn_node(c, RT_OP_UNSQUEEZE, "/Unsqueeze", 1, &b, "/Unsqueeze_output_0", &k);
        a = cnn_attrs(c, k, 1);
        a[0] = cnn_ints(c, "axes", 1, &zero);
    }
    int ci[2] = {bu, exported_constant_i64(c, "/Constant_1", "/Constant_1_output_0", 1, &minus1)};
    int shape = cnn_node(c, RT_OP_CONCAT, "/Concat", 2, ci, "/Concat_output_0", &k);
    a = cnn_attrs(c, k, 1);
    a[0] = (RtAttr){.name = "axis", .type = RT_ATTR_INT, .i = 0};
    int ri[2] = {h, shape};
    int y = cnn_node(c, RT_OP_RESHAPE, "/Reshape", 2, ri, "/Reshape_output_0", &k);
    if (c->g->opset >= 14) { /* allowzero from opset 14 */
        a = cnn_attrs(c, k, 1);
        a[0] = (RtAttr){.name = "allowzero", .type = RT_ATTR_INT, .i = 0};
    }
    return y;
}

/* Declares graph output y as [n, classes] (n the batch symbol) and adds it. */
static inline void exported_output(IrGraph *g, int y, int64_t classes) {
    int64_t od[2] = {-1, classes};
    ir_value_set_shape(&g->values[y], RT_F32, 2, od);
    g->values[y].dims[0].sym = ir_strdup(g, "n");
    g->outputs = malloc(sizeof(int)), g->outputs[0] = y, g->n_outputs = 1;
}

/* The exported CNN student's form. */
typedef struct {
    int w;                    /* width: channels w, 2w, 2w, hidden 4w */
    uint64_t seed;            /* initialization */
    int64_t batch;            /* 0: the dynamic 'n'; else declared fixed at that (as an export
                                 without dynamic axes declares its example input's batch; the
                                 view chain still runs at any batch) */
    int opset;                /* 0: 17; 11 or 12: Unsqueeze's axes an attribute, no allowzero */
} ExportedCnn;

/* Builds the exported CNN student of form e and writes it to path. RT_OK or an error in err. */
static inline int exported_cnn_write(const char *path, const ExportedCnn *e, RtError *err) {
    CnnGen c = {ir_graph_new(), e->seed};
    if (!c.g) return rt_error_set(err, "out of memory");
    IrGraph *g = c.g;
    int w = e->w;
    int64_t batch = e->batch;
    g->opset = e->opset ? e->opset : 17, g->ir_version = g->opset >= 15 ? 8 : 6;
    int y = cnn_student_body(&c, w, batch, exported_view_flat);
    exported_output(g, y, 10);
    if (batch) g->values[y].dims[0].value = batch, g->values[y].dims[0].sym = NULL;
    int rc = ir_infer_shapes(g, err);
    if (rc == RT_OK) rc = onnx_write_file(g, NULL, path, err);
    ir_graph_free(g);
    return rc;
}

/* The int64-ids model: ids [n, K] -> [Cast(ids), Cast(ids == 0)] [n, 2K] -> Gemm (transB) with
 * W [C, 2K] and b [C] (NULL: zeros) -> logits [n, C]. */
static inline int ids_model_write(const char *path, int64_t K, int64_t C, const float *W, const float *b,
                                  RtError *err) {
    CnnGen c = {ir_graph_new(), 0};
    if (!c.g) return rt_error_set(err, "out of memory");
    IrGraph *g = c.g;
    g->opset = 17, g->ir_version = 8;
    int ids = ir_value_add(g, "ids"), k;
    int64_t xd[2] = {-1, K}, wd[2] = {C, 2 * K}, bd[1] = {C}, zero = 0;
    ir_value_set_shape(&g->values[ids], RT_I64, 2, xd);
    g->values[ids].dims[0].sym = ir_strdup(g, "n");
    g->inputs = malloc(sizeof(int)), g->inputs[0] = ids, g->n_inputs = 1;
    int f = cnn_node(&c, RT_OP_CAST, "/Cast", 1, &ids, "/Cast_output_0", &k);
    RtAttr *a = cnn_attrs(&c, k, 1);
    a[0] = (RtAttr){.name = "to", .type = RT_ATTR_INT, .i = RT_F32};
    int ei[2] = {ids, exported_constant_i64(&c, "/Constant", "/Constant_output_0", -1, &zero)};
    int eq = cnn_node(&c, RT_OP_EQUAL, "/Equal", 2, ei, "/Equal_output_0", &k);
    int mf = cnn_node(&c, RT_OP_CAST, "/Cast_1", 1, &eq, "/Cast_1_output_0", &k);
    a = cnn_attrs(&c, k, 1);
    a[0] = (RtAttr){.name = "to", .type = RT_ATTR_INT, .i = RT_F32};
    int ci[2] = {f, mf};
    int h = cnn_node(&c, RT_OP_CONCAT, "/Concat", 2, ci, "/Concat_output_0", &k);
    a = cnn_attrs(&c, k, 1);
    a[0] = (RtAttr){.name = "axis", .type = RT_ATTR_INT, .i = 1};
    int wv = cnn_const(&c, "fc.weight", 2, wd, 1, 0.0f), bv = cnn_const(&c, "fc.bias", 1, bd, 1, 0.0f);
    if (wv < 0 || bv < 0) return ir_graph_free(g), rt_error_set(err, "out of memory");
    if (W) memcpy(g->values[wv].konst->data, W, sizeof(float) * (size_t)(C * 2 * K));
    if (b) memcpy(g->values[bv].konst->data, b, sizeof(float) * (size_t)C);
    int gi[3] = {h, wv, bv};
    int y = cnn_node(&c, RT_OP_GEMM, "/fc/Gemm", 3, gi, "logits", &k);
    a = cnn_attrs(&c, k, 1);
    a[0] = (RtAttr){.name = "transB", .type = RT_ATTR_INT, .i = 1};
    exported_output(g, y, C);
    int rc = ir_infer_shapes(g, err);
    if (rc == RT_OK) rc = onnx_write_file(g, NULL, path, err);
    ir_graph_free(g);
    return rc;
}

/* A Constant node holding a float32 scalar (an exporter's literal 0.5, 1.0, sqrt 2). */
static inline int exported_constant_f32(CnnGen *c, const char *name, const char *out, float val) {
    IrGraph *g = c->g;
    RtTensor *t = ir_alloc(g, sizeof *t);
    float *d = ir_alloc(g, sizeof(float));
    if (!t || !d) return -1;
    memset(t, 0, sizeof *t);
    *d = val;
    t->dtype = RT_F32, t->rank = 0, t->data = d;
    int v = ir_value_add(g, out);
    int k = ir_node_add(g, RT_OP_CONSTANT, name, 0, NULL, 1, &v);
    if (k < 0) return -1;
    RtAttr *a = cnn_attrs(c, k, 1);
    a[0] = (RtAttr){.name = "value", .type = RT_ATTR_TENSOR, .t = t};
    return v;
}

/* A float32 initializer with the given data (fill 1 with bound 0 first, then copied). */
static inline int exported_weights(CnnGen *c, const char *name, int rank, const int64_t *dims, const float *w) {
    int v = cnn_const(c, name, rank, dims, 1, 0.0f);
    if (v >= 0) memcpy(c->g->values[v].konst->data, w, sizeof(float) * (size_t)rt_numel(c->g->values[v].konst));
    return v;
}

/* Gemm (transB) with given weights W [out, in] and bias b [out]. */
static inline int exported_gemm(CnnGen *c, int x, int64_t in, int64_t out, const float *W, const float *b,
                                const char *p, const char *out_name) {
    char w[64], bn[64], nm[64];
    snprintf(w, sizeof w, "%s.weight", p), snprintf(bn, sizeof bn, "%s.bias", p), snprintf(nm, sizeof nm, "/%s/Gemm", p);
    int64_t wd[2] = {out, in}, bd[1] = {out};
    int ins[3] = {x, exported_weights(c, w, 2, wd, W), exported_weights(c, bn, 1, bd, b)};
    int k;
    int y = cnn_node(c, RT_OP_GEMM, nm, 3, ins, out_name, &k);
    RtAttr *a = cnn_attrs(c, k, 1);
    a[0] = (RtAttr){.name = "transB", .type = RT_ATTR_INT, .i = 1};
    return y;
}

/* GELU as the exporters write it before opset 20: x * 0.5 * (1 + erf(x / sqrt 2)) -> in the
 * order Div, Erf, Add, Mul, Mul, each scalar a Constant node. */
static inline int exported_gelu(CnnGen *c, int x) {
    int k;
    int di[2] = {x, exported_constant_f32(c, "/act/Constant", "/act/Constant_output_0", 1.4142135f)};
    int d = cnn_node(c, RT_OP_DIV, "/act/Div", 2, di, "/act/Div_output_0", &k);
    int e = cnn_node(c, RT_OP_ERF, "/act/Erf", 1, &d, "/act/Erf_output_0", &k);
    int ai[2] = {e, exported_constant_f32(c, "/act/Constant_1", "/act/Constant_1_output_0", 1.0f)};
    int a = cnn_node(c, RT_OP_ADD, "/act/Add", 2, ai, "/act/Add_output_0", &k);
    int mi[2] = {x, a};
    int m = cnn_node(c, RT_OP_MUL, "/act/Mul", 2, mi, "/act/Mul_output_0", &k);
    int hi[2] = {m, exported_constant_f32(c, "/act/Constant_2", "/act/Constant_2_output_0", 0.5f)};
    return cnn_node(c, RT_OP_MUL, "/act/Mul_1", 2, hi, "/act/Mul_1_output_0", &k);
}

/* A text classifier's form and weights (see the header). */
typedef struct {
    int64_t V, T, D, H, C;    /* vocabulary, positions, embedding width, hidden width (0: none), classes */
    int masked;               /* 1: a second input attention_mask and masked mean pooling */
    const float *emb;         /* [V, D] */
    const float *w1, *b1;     /* H > 0: [H, D], [H]; H = 0: [C, D], [C] */
    const float *w2, *b2;     /* H > 0: [C, H], [C] */
} TextSpec;

/* Mean of emb [n, T, D] over the positions where mask [n, T] is 1 (the exporter's form). */
static inline int exported_masked_mean(CnnGen *c, int emb, int mask) {
    int k;
    int64_t last = -1, one = 1;
    int ui[2] = {mask, exported_init_i64(c, "onnx::Unsqueeze_60", 1, &last)};
    int mu = cnn_node(c, RT_OP_UNSQUEEZE, "/Unsqueeze", 2, ui, "/Unsqueeze_output_0", &k);
    int sh = cnn_node(c, RT_OP_SHAPE, "/Shape", 1, &emb, "/Shape_output_0", &k);
    int ei[2] = {mu, sh};
    int me = cnn_node(c, RT_OP_EXPAND, "/Expand", 2, ei, "/Expand_output_0", &k);
    int mf = cnn_node(c, RT_OP_CAST, "/Cast", 1, &me, "/Cast_output_0", &k);
    RtAttr *a = cnn_attrs(c, k, 1);
    a[0] = (RtAttr){.name = "to", .type = RT_ATTR_INT, .i = RT_F32};
    int mi[2] = {emb, mf};
    int prod = cnn_node(c, RT_OP_MUL, "/Mul", 2, mi, "/Mul_output_0", &k);
    int axes = exported_init_i64(c, "onnx::ReduceSum_61", 1, &one);
    int si[2] = {prod, axes};
    int sum = cnn_node(c, RT_OP_REDUCE_SUM, "/ReduceSum", 2, si, "/ReduceSum_output_0", &k);
    a = cnn_attrs(c, k, 1);
    a[0] = (RtAttr){.name = "keepdims", .type = RT_ATTR_INT, .i = 0};
    int ci[2] = {mf, axes};
    int cnt = cnn_node(c, RT_OP_REDUCE_SUM, "/ReduceSum_1", 2, ci, "/ReduceSum_1_output_0", &k);
    a = cnn_attrs(c, k, 1);
    a[0] = (RtAttr){.name = "keepdims", .type = RT_ATTR_INT, .i = 0};
    int li[2] = {cnt, exported_constant_f32(c, "/Constant", "/Constant_output_0", 1e-9f)};
    int cl = cnn_node(c, RT_OP_CLIP, "/Clip", 2, li, "/Clip_output_0", &k);
    int di[2] = {sum, cl};
    return cnn_node(c, RT_OP_DIV, "/Div", 2, di, "/Div_output_0", &k);
}

/* An int64 [n, T] graph input with a dynamic batch n. */
static inline int exported_ids_input(IrGraph *g, const char *name, int64_t T) {
    int v = ir_value_add(g, name);
    int64_t xd[2] = {-1, T};
    ir_value_set_shape(&g->values[v], RT_I64, 2, xd);
    g->values[v].dims[0].sym = ir_strdup(g, "n");
    int *in = realloc(g->inputs, sizeof(int) * (size_t)(g->n_inputs + 1));
    if (!in) return -1;
    g->inputs = in, g->inputs[g->n_inputs++] = v;
    return v;
}

/* Writes the text classifier of spec s to path. */
static inline int text_model_write(const char *path, const TextSpec *s, RtError *err) {
    CnnGen c = {ir_graph_new(), 0};
    if (!c.g) return rt_error_set(err, "out of memory");
    IrGraph *g = c.g;
    g->opset = 17, g->ir_version = 8;
    int k, ids = exported_ids_input(g, "input_ids", s->T);
    int mask = s->masked ? exported_ids_input(g, "attention_mask", s->T) : -1;
    int64_t ed[2] = {s->V, s->D}, one = 1;
    int gi[2] = {exported_weights(&c, "embed.weight", 2, ed, s->emb), ids};
    int e = cnn_node(&c, RT_OP_GATHER, "/embed/Gather", 2, gi, "/embed/Gather_output_0", &k);
    int m;
    if (s->masked) {
        m = exported_masked_mean(&c, e, mask);
    } else {
        m = cnn_node(&c, RT_OP_REDUCE_MEAN, "/ReduceMean", 1, &e, "/ReduceMean_output_0", &k);
        RtAttr *a = cnn_attrs(&c, k, 2);
        a[0] = cnn_ints(&c, "axes", 1, &one);
        a[1] = (RtAttr){.name = "keepdims", .type = RT_ATTR_INT, .i = 0};
    }
    int y;
    if (s->H > 0) {
        int h = exported_gemm(&c, m, s->D, s->H, s->w1, s->b1, "fc1", "/fc1/Gemm_output_0");
        y = exported_gemm(&c, exported_gelu(&c, h), s->H, s->C, s->w2, s->b2, "fc2", "logits");
    } else {
        y = exported_gemm(&c, m, s->D, s->C, s->w1, s->b1, "fc", "logits");
    }
    exported_output(g, y, s->C);
    int rc = ir_infer_shapes(g, err);
    if (rc == RT_OK) rc = onnx_write_file(g, NULL, path, err);
    ir_graph_free(g);
    return rc;
}

/* The student form (H = 0) with seeded PyTorch-like initial weights. */
static inline int text_student_write(const char *path, int64_t V, int64_t T, int64_t D, int64_t C, int masked,
                                     uint64_t seed, RtError *err) {
    CnnGen r = {NULL, seed};
    float *emb = malloc(sizeof(float) * (size_t)(V * D)), *w = malloc(sizeof(float) * (size_t)(C * D));
    float *b = malloc(sizeof(float) * (size_t)C);
    int rc = emb && w && b ? RT_OK : rt_error_set(err, "out of memory");
    float bound = 1.0f / sqrtf((float)D);
    for (int64_t i = 0; rc == RT_OK && i < V * D; i++) emb[i] = cnn_uniform(&r, 1.0f);
    for (int64_t i = 0; rc == RT_OK && i < C * D; i++) w[i] = cnn_uniform(&r, bound);
    for (int64_t i = 0; rc == RT_OK && i < C; i++) b[i] = cnn_uniform(&r, bound);
    TextSpec s = {V, T, D, 0, C, masked, emb, w, b, NULL, NULL};
    if (rc == RT_OK) rc = text_model_write(path, &s, err);
    free(emb), free(w), free(b);
    return rc;
}

#endif
