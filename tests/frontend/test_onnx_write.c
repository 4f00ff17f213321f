/*
 * test_onnx_write.c — the ONNX writer (onnx_write.c) and the export lowering
 * (onnx_export*.c), on graphs built by hand and on the fixture models.
 *
 *  - round trip: fixture models loaded, written, loaded again give bit-identical outputs,
 *    and the bytes are the same on every write (determinism);
 *  - wafer's own ops are refused by the writer, naming the node;
 *  - LinearNBits -> MatMulNBits: B, zero points and attributes against the layout of
 *    onnxruntime's ContribOperators.md written out by hand (4-bit nibbles, a 3-bit stream
 *    straddling bytes), and the lowered graph's output against X @ W^T + b computed here in
 *    double from the codes;
 *  - LinearNBits -> blocked DequantizeLinear: the transposed codes, scales, zero points and
 *    the attributes, and the 4-bit initializers' size on the wire;
 *  - QLinear -> QDQ: the lowered graph's int8 output equals wafer's fixed-point kernel's
 *    within one quantum, the bias scale is xs * ws, a fused Relu becomes a Relu node;
 *  - Gelu at opset 17 becomes the Erf formula, checked against erf() here.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../runtime/kernels/qblock.h"
#include "../test_util.h"

/* float32 results of the same float operations in a different order (MatMulNBits's tiles vs
 * a double sum over K = 40): a few ulps of the largest term, far below 1e-5 relative. */
#define NBITS_REL_TOL 1e-5
/* Erf formula vs erf() in double: float32 rounding of 4 operations, ~1e-7 relative. */
#define GELU_ABS_TOL 1e-6

static int input_add(IrGraph *g, const char *name, RtDtype dt, int rank, const int64_t *dims) {
    int v = ir_value_add(g, name);
    ir_value_set_shape(&g->values[v], dt, rank, dims);
    g->inputs = realloc(g->inputs, sizeof(int) * (size_t)(g->n_inputs + 1));
    g->inputs[g->n_inputs++] = v;
    return v;
}

static int value_add(IrGraph *g, const char *name, RtDtype dt, int rank, const int64_t *dims) {
    int v = ir_value_add(g, name);
    if (dt != RT_UNDEFINED) ir_value_set_shape(&g->values[v], dt, rank, dims);
    return v;
}

static void output_add(IrGraph *g, int v) {
    g->outputs = realloc(g->outputs, sizeof(int) * (size_t)(g->n_outputs + 1));
    g->outputs[g->n_outputs++] = v;
}

static int konst(IrGraph *g, const char *name, RtDtype dt, int rank, const int64_t *dims, const void *data) {
    RtTensor t = {dt, rank, {0}, (void *)data};
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    return ir_const_add(g, name, &t);
}

static void attr_int(IrGraph *g, int k, const char *name, int64_t v) {
    RtNode *n = &g->nodes[k];
    RtAttr *a = ir_alloc(g, sizeof *a * (size_t)(n->n_attr + 1));
    if (n->n_attr) memcpy(a, n->attrs, sizeof *a * (size_t)n->n_attr);
    a[n->n_attr].name = ir_strdup(g, name);
    a[n->n_attr].type = RT_ATTR_INT;
    a[n->n_attr].i = v;
    n->attrs = a;
    n->n_attr++;
}

static IrGraph *graph_new(int opset) {
    IrGraph *g = ir_graph_new();
    g->opset = opset;
    g->ir_version = 8;
    g->name = ir_strdup(g, "t");
    g->path = ir_strdup(g, "test");
    return g;
}

static const RtNode *node_find(const IrGraph *g, const char *op_type, int nth) {
    for (int k = 0; k < g->n_nodes; k++)
        if (strcmp(g->nodes[k].op_type, op_type) == 0 && nth-- == 0) return &g->nodes[k];
    return NULL;
}

static int64_t node_attr(const RtNode *n, const char *name) {
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return n->attrs[i].i;
    return -999;
}

/* ---- round trip and determinism on real models ---- */

static void round_trip(const char *rel, const char *input_rel, int64_t rows) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, rel);
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    uint8_t *a, *b;
    size_t na, nb;
    cr_assert_eq(onnx_write_memory(g, NULL, &a, &na, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(onnx_write_memory(g, NULL, &b, &nb, &err), RT_OK, "%s", err.msg);
    cr_expect(na == nb && memcmp(a, b, na) == 0, "%s: two writes differ", rel);
    IrGraph *h = onnx_load_memory(a, na, NULL, "written", NULL, &err);
    cr_assert_not_null(h, "%s: %s", rel, err.msg);
    cr_expect_eq(h->n_nodes, g->n_nodes);
    cr_expect_eq(h->opset, g->opset);
    cr_expect_str_eq(h->producer_name, "wafer");
    RtTensor x = tu_fixture_npy(input_rel);
    x.dims[0] = rows; /* the first rows only */
    RtTensor y1[4], y2[4];
    cr_assert_eq(ir_run(g, &x, y1, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ir_run(h, &x, y2, &err), RT_OK, "%s", err.msg);
    cr_assert(rt_shape_equal(&y1[0], &y2[0]));
    cr_expect_eq(memcmp(y1[0].data, y2[0].data, (size_t)rt_nbytes(&y1[0])), 0, "%s: outputs differ", rel);
    free(y1[0].data);
    free(y2[0].data);
    free(x.data);
    free(a);
    free(b);
    ir_graph_free(g);
    ir_graph_free(h);
}

Test(onnx_write, round_trip_digits_cnn) { round_trip("digits/digits_cnn.onnx", "digits/test_img.npy", 16); }
Test(onnx_write, round_trip_tinylm) { round_trip("tinylm/tinylm.onnx", "tinylm/tinylm_calib_tokens.npy", 1); }
Test(onnx_write, round_trip_kws) { round_trip("kws/kws_dscnn.onnx", "kws/kws_in.npy", 2); }

Test(onnx_write, refuses_wafer_ops) {
    IrGraph *g = graph_new(17);
    int64_t xd[2] = {2, 4}, wd[2] = {4, 3}, yd[2] = {2, 3};
    float w[12] = {0};
    int in[2] = {input_add(g, "x", RT_F32, 2, xd), konst(g, "w", RT_F32, 2, wd, w)};
    int y = value_add(g, "y", RT_F32, 2, yd);
    ir_node_add(g, RT_OP_LINEAR, "fc", 2, in, 1, &y);
    output_add(g, y);
    uint8_t *data;
    size_t n;
    RtError err = {{0}};
    cr_expect_neq(onnx_write_memory(g, NULL, &data, &n, &err), RT_OK);
    cr_expect(strstr(err.msg, "'fc'") && strstr(err.msg, "Linear"), "%s", err.msg);
    /* lowered, it is a Gemm and writes */
    OnnxExport ex;
    err.msg[0] = '\0';
    cr_assert_eq(onnx_export_lower(g, NULL, &ex, &err), RT_OK, "%s", err.msg);
    cr_expect_not_null(node_find(ex.g, "Gemm", 0));
    cr_assert_eq(onnx_write_memory(ex.g, NULL, &data, &n, &err), RT_OK, "%s", err.msg);
    free(data);
    onnx_export_free(&ex);
    ir_graph_free(g);
}

/* ---- LinearNBits ---- */

enum { NB_M = 2, NB_K = 40, NB_N = 3, NB_G = 16, NB_NG = 3 };

typedef struct {
    uint8_t codes[NB_N][NB_K];
    float scales[NB_N][NB_NG];
    uint8_t zeros[NB_N][NB_NG];
    float bias[NB_N];
    float x[NB_M][NB_K];
} NbData;

static void nb_data(NbData *d, int bits) {
    unsigned top = (1u << bits) - 1;
    for (int n = 0; n < NB_N; n++) {
        for (int k = 0; k < NB_K; k++) d->codes[n][k] = (uint8_t)((7 * n + 5 * k + k * k) % (top + 1));
        for (int g = 0; g < NB_NG; g++) {
            d->scales[n][g] = 0.01f * (float)(1 + n + 2 * g);
            d->zeros[n][g] = (uint8_t)((n + 3 * g) % (top + 1));
        }
        d->bias[n] = 0.5f * (float)n - 0.25f;
    }
    for (int m = 0; m < NB_M; m++)
        for (int k = 0; k < NB_K; k++) d->x[m][k] = (float)((m + 1) * (k % 7) - 3) * 0.125f;
}

static IrGraph *nb_graph_gidx(const NbData *d, int bits, const int32_t *g_idx) {
    IrGraph *g = graph_new(17);
    int64_t xd[2] = {NB_M, NB_K}, sd[2] = {NB_N, NB_NG}, bd[1] = {NB_N}, yd[2] = {NB_M, NB_N};
    size_t bytes = rt_qblock_packed_size(bits, NB_N, NB_K);
    uint8_t *wp = calloc(bytes, 1);
    cr_assert_eq(rt_qblock_pack(bits, NB_N, NB_K, &d->codes[0][0], wp, bytes), 0);
    int64_t wd[1] = {(int64_t)bytes};
    int in[6] = {input_add(g, "x", RT_F32, 2, xd), konst(g, "wp", RT_U8, 1, wd, wp),
                 konst(g, "scales", RT_F32, 2, sd, d->scales), konst(g, "zeros", RT_U8, 2, sd, d->zeros),
                 g_idx ? konst(g, "g_idx", RT_I32, 1, (int64_t[]){NB_K}, g_idx) : -1,
                 konst(g, "bias", RT_F32, 1, bd, d->bias)};
    free(wp);
    int y = value_add(g, "y", RT_F32, 2, yd);
    int k = ir_node_add(g, RT_OP_LINEAR_NBITS, "fc", 6, in, 1, &y);
    attr_int(g, k, "bits", bits);
    attr_int(g, k, "group", NB_G);
    output_add(g, y);
    return g;
}

static IrGraph *nb_graph(const NbData *d, int bits) { return nb_graph_gidx(d, bits, NULL); }

/* Y = X @ W^T + b with W[n, k] = (q - z[g(k)]) * s[g(k)], g(k) = g_idx[k] or k / G, in double. */
static void nb_reference(const NbData *d, const int32_t *g_idx, double y[NB_M][NB_N]) {
    for (int m = 0; m < NB_M; m++)
        for (int n = 0; n < NB_N; n++) {
            double acc = d->bias[n];
            for (int k = 0; k < NB_K; k++) {
                int g = g_idx ? g_idx[k] : k / NB_G;
                acc += (double)d->x[m][k] * ((double)d->codes[n][k] - d->zeros[n][g]) * d->scales[n][g];
            }
            y[m][n] = acc;
        }
}

static void nb_expect_reference(const IrGraph *g, NbData *d, const int32_t *g_idx) {
    RtTensor x = {RT_F32, 2, {NB_M, NB_K}, d->x}, y;
    RtError err = {{0}};
    cr_assert_eq(ir_run(g, &x, &y, &err), RT_OK, "%s", err.msg);
    double want[NB_M][NB_N];
    nb_reference(d, g_idx, want);
    for (int m = 0; m < NB_M; m++)
        for (int n = 0; n < NB_N; n++)
            cr_expect(fabs(((float *)y.data)[m * NB_N + n] - want[m][n]) <= NBITS_REL_TOL * (1 + fabs(want[m][n])),
                      "y[%d][%d] = %f, want %f", m, n, ((float *)y.data)[m * NB_N + n], want[m][n]);
    free(y.data);
}

static const RtTensor *input_const(const IrGraph *g, const RtNode *n, int i) {
    cr_assert(i < n->n_in && n->in[i] >= 0 && g->values[n->in[i]].konst, "input %d is not a constant", i);
    return g->values[n->in[i]].konst;
}

static void nbits_case(int bits) {
    NbData d;
    nb_data(&d, bits);
    IrGraph *g = nb_graph(&d, bits);
    OnnxExport ex;
    RtError err = {{0}};
    cr_assert_eq(onnx_export_lower(g, NULL, &ex, &err), RT_OK, "%s", err.msg);
    const RtNode *mn = node_find(ex.g, "MatMulNBits", 0);
    cr_assert_not_null(mn);
    cr_expect_str_eq(mn->domain, "com.microsoft");
    cr_expect_eq(node_attr(mn, "K"), NB_K);
    cr_expect_eq(node_attr(mn, "N"), NB_N);
    cr_expect_eq(node_attr(mn, "bits"), bits);
    cr_expect_eq(node_attr(mn, "block_size"), NB_G);
    /* B: [N, n_blocks = ceil(40/16) = 3, blob = 16 * bits / 8] */
    const RtTensor *B = input_const(ex.g, mn, 1), *Z = input_const(ex.g, mn, 3);
    int64_t blob = NB_G * bits / 8;
    cr_assert_eq(B->rank, 3);
    cr_expect(B->dims[0] == NB_N && B->dims[1] == NB_NG && B->dims[2] == blob);
    const uint8_t *b = B->data;
    for (int n = 0; n < NB_N; n++)
        for (int blk = 0; blk < NB_NG; blk++)
            for (int j = 0; j < blob; j++) {
                unsigned want = 0;
                if (bits == 4) { /* two codes per byte, the first in the low nibble */
                    int k0 = blk * NB_G + 2 * j, k1 = k0 + 1;
                    want = (k0 < NB_K ? d.codes[n][k0] : 0) | (k1 < NB_K ? d.codes[n][k1] : 0) << 4;
                } else { /* bit i of byte j is bit (8j + i) % bits of code (8j + i) / bits */
                    for (int i = 0; i < 8; i++) {
                        int c = (8 * j + i) / bits, k = blk * NB_G + c;
                        if (k < NB_K) want |= ((d.codes[n][k] >> ((8 * j + i) % bits)) & 1u) << i;
                    }
                }
                cr_expect_eq(b[(n * NB_NG + blk) * blob + j], want, "B[%d][%d][%d]", n, blk, j);
            }
    /* zero points: [N, ceil(3 * bits / 8)], the same low-first packing per row */
    int64_t zrow = (NB_NG * bits + 7) / 8;
    cr_expect(Z->rank == 2 && Z->dims[0] == NB_N && Z->dims[1] == zrow);
    for (int n = 0; n < NB_N; n++) {
        unsigned row = 0;
        for (int j = 0; j < zrow; j++) row |= (unsigned)((const uint8_t *)Z->data)[n * zrow + j] << (8 * j);
        for (int gi = 0; gi < NB_NG; gi++)
            cr_expect_eq((row >> (gi * bits)) & ((1u << bits) - 1), d.zeros[n][gi], "zero point [%d][%d]", n, gi);
    }
    /* the lowered graph computes X @ W^T + b */
    nb_expect_reference(ex.g, &d, NULL);
    uint8_t *bytes;
    size_t len;
    cr_assert_eq(onnx_write_memory(ex.g, NULL, &bytes, &len, &err), RT_OK, "%s", err.msg);
    free(bytes);
    onnx_export_free(&ex);
    ir_graph_free(g);
}

Test(onnx_write, linear_nbits_4bit_to_matmul_nbits) { nbits_case(4); }
Test(onnx_write, linear_nbits_2bit_to_matmul_nbits) { nbits_case(2); }

/* 3-bit layers take the blocked DequantizeLinear form (onnxruntime has no 3-bit MatMulNBits). */
Test(onnx_write, linear_nbits_3bit_to_blocked_dq) {
    NbData d;
    nb_data(&d, 3);
    IrGraph *g = nb_graph(&d, 3);
    OnnxExport ex;
    RtError err = {{0}};
    cr_assert_eq(onnx_export_lower(g, NULL, &ex, &err), RT_OK, "%s", err.msg);
    cr_expect_null(node_find(ex.g, "MatMulNBits", 0));
    cr_expect_eq(ex.g->opset, 21);
    const RtNode *dq = node_find(ex.g, "DequantizeLinear", 0);
    cr_assert_not_null(dq);
    cr_expect_eq(node_attr(dq, "block_size"), NB_G);
    onnx_export_free(&ex);
    ir_graph_free(g);
}

/* Act-order: groups of G columns scattered over K become contiguous after a Gather that
 * permutes X's columns; no g_idx input remains, and the result is X @ W^T + b with g_idx. */
Test(onnx_write, linear_nbits_act_order_permutes_columns) {
    NbData d;
    nb_data(&d, 4);
    int32_t g_idx[NB_K];
    int count[NB_NG] = {0};
    for (int k = 0; k < NB_K; k++) { /* a scattered assignment with 16, 16 and 8 columns */
        int g = (k * 7) % NB_NG;
        while (count[g] == (g < 2 ? NB_G : NB_K - 2 * NB_G)) g = (g + 1) % NB_NG;
        g_idx[k] = g;
        count[g]++;
    }
    IrGraph *g = nb_graph_gidx(&d, 4, g_idx);
    OnnxExport ex;
    RtError err = {{0}};
    cr_assert_eq(onnx_export_lower(g, NULL, &ex, &err), RT_OK, "%s", err.msg);
    const RtNode *mn = node_find(ex.g, "MatMulNBits", 0), *ga = node_find(ex.g, "Gather", 0);
    cr_assert_not_null(mn);
    cr_assert_not_null(ga);
    cr_expect(mn->n_in < 5 || mn->in[4] < 0, "no g_idx input");
    cr_expect_eq(mn->in[0], ga->out[0]);
    nb_expect_reference(ex.g, &d, g_idx);
    onnx_export_free(&ex);
    ir_graph_free(g);
}

Test(onnx_write, linear_nbits_to_blocked_dq) {
    NbData d;
    nb_data(&d, 4);
    IrGraph *g = nb_graph(&d, 4);
    OnnxExport ex;
    OnnxExportOptions o = {ONNX_INT4_DQ, NULL};
    RtError err = {{0}};
    cr_assert_eq(onnx_export_lower(g, &o, &ex, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(ex.g->opset, 21);
    const RtNode *dq = node_find(ex.g, "DequantizeLinear", 0);
    cr_assert_not_null(dq);
    cr_expect_eq(node_attr(dq, "axis"), 0);
    cr_expect_eq(node_attr(dq, "block_size"), NB_G);
    const RtTensor *W = input_const(ex.g, dq, 0), *S = input_const(ex.g, dq, 1), *Z = input_const(ex.g, dq, 2);
    cr_assert(W->dims[0] == NB_K && W->dims[1] == NB_N && S->dims[0] == NB_NG && S->dims[1] == NB_N);
    for (int k = 0; k < NB_K; k++)
        for (int n = 0; n < NB_N; n++) cr_expect_eq(((uint8_t *)W->data)[k * NB_N + n], d.codes[n][k]);
    for (int gi = 0; gi < NB_NG; gi++)
        for (int n = 0; n < NB_N; n++) {
            cr_expect_eq(((float *)S->data)[gi * NB_N + n], d.scales[n][gi]);
            cr_expect_eq(((uint8_t *)Z->data)[gi * NB_N + n], d.zeros[n][gi]);
        }
    cr_expect_eq(ex.n_packed4, 2, "codes and zero points are written as UINT4");
    cr_expect_not_null(node_find(ex.g, "MatMul", 0));
    cr_expect_not_null(node_find(ex.g, "Add", 0));
    /* on the wire: UINT4 (21), ceil(40 * 3 / 2) = 60 bytes of codes */
    uint8_t *bytes;
    size_t len;
    OnnxWriteOptions w = {NULL, ex.packed4, ex.n_packed4};
    cr_assert_eq(onnx_write_memory(ex.g, &w, &bytes, &len, &err), RT_OK, "%s", err.msg);
    uint8_t packed[60];
    for (int i = 0; i < 60; i++)
        packed[i] = (uint8_t)(((uint8_t *)W->data)[2 * i] | ((uint8_t *)W->data)[2 * i + 1] << 4);
    int found = 0;
    for (size_t i = 0; i + 60 <= len && !found; i++) found = memcmp(bytes + i, packed, 60) == 0;
    cr_expect(found, "the packed 4-bit codes are not in the file");
    free(bytes);
    onnx_export_free(&ex);
    ir_graph_free(g);
}

/* ---- QLinear -> QDQ ---- */

enum { QL_M = 4, QL_K = 8, QL_N = 3 };

static IrGraph *ql_graph(int relu) {
    IrGraph *g = graph_new(17);
    static const float xs = 0.05f, ys = 0.1f, ws[QL_N] = {0.02f, 0.03f, 0.015f};
    static const int8_t xz = 3, yz = -5, wz[QL_N] = {0, 0, 0};
    static int8_t w[QL_N][QL_K];
    static int32_t bias[QL_N] = {100, -250, 37};
    for (int n = 0; n < QL_N; n++)
        for (int k = 0; k < QL_K; k++) w[n][k] = (int8_t)((n * 37 + k * 23) % 200 - 100);
    int64_t xd[2] = {QL_M, QL_K}, wd[2] = {QL_N, QL_K}, nd[1] = {QL_N}, yd[2] = {QL_M, QL_N};
    int x = input_add(g, "x", RT_F32, 2, xd);
    int xsv = konst(g, "xs", RT_F32, 0, NULL, &xs), xzv = konst(g, "xz", RT_I8, 0, NULL, &xz);
    int xq = value_add(g, "xq", RT_I8, 2, xd);
    int qin[3] = {x, xsv, xzv};
    ir_node_add(g, RT_OP_QUANTIZE_LINEAR, "q", 3, qin, 1, &xq);
    int ysv = konst(g, "ys", RT_F32, 0, NULL, &ys), yzv = konst(g, "yz", RT_I8, 0, NULL, &yz);
    int in[9] = {xq, xsv, xzv, konst(g, "w", RT_I8, 2, wd, w), konst(g, "ws", RT_F32, 1, nd, ws),
                 konst(g, "wz", RT_I8, 1, nd, wz), ysv, yzv, konst(g, "b", RT_I32, 1, nd, bias)};
    int yq = value_add(g, "yq", RT_I8, 2, yd);
    int k = ir_node_add(g, RT_OP_QLINEAR, "fc", 9, in, 1, &yq);
    if (relu) attr_int(g, k, "qmin", yz);
    output_add(g, yq);
    return g;
}

static void ql_case(int relu) {
    IrGraph *g = ql_graph(relu);
    OnnxExport ex;
    RtError err = {{0}};
    cr_assert_eq(onnx_export_lower(g, NULL, &ex, &err), RT_OK, "%s", err.msg);
    for (int k = 0; k < ex.g->n_nodes; k++) cr_expect_str_eq(ex.g->nodes[k].domain, "", "%s", ex.g->nodes[k].op_type);
    const RtNode *gemm = node_find(ex.g, "Gemm", 0);
    cr_assert_not_null(gemm);
    cr_expect_eq(node_attr(gemm, "transB"), 1);
    cr_expect_eq(node_find(ex.g, "Relu", 0) != NULL, relu);
    /* weight DQ per output channel, bias DQ with scale xs * ws */
    const RtNode *wdq = &ex.g->nodes[ex.g->values[gemm->in[1]].producer];
    const RtNode *bdq = &ex.g->nodes[ex.g->values[gemm->in[2]].producer];
    cr_expect_eq(node_attr(wdq, "axis"), 0);
    const float *bs = input_const(ex.g, bdq, 1)->data;
    cr_expect(bs[0] == 0.05f * 0.02f && bs[1] == 0.05f * 0.03f && bs[2] == 0.05f * 0.015f);
    float x[QL_M][QL_K];
    for (int m = 0; m < QL_M; m++)
        for (int k = 0; k < QL_K; k++) x[m][k] = (float)((m * 5 + k * 3) % 11 - 5) * 0.6f;
    RtTensor xt = {RT_F32, 2, {QL_M, QL_K}, x}, ya, yb;
    cr_assert_eq(ir_run(g, &xt, &ya, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ir_run(ex.g, &xt, &yb, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(yb.dtype, RT_I8);
    int exact = 0;
    for (int i = 0; i < QL_M * QL_N; i++) {
        int a = ((int8_t *)ya.data)[i], b = ((int8_t *)yb.data)[i];
        cr_expect(abs(a - b) <= 1, "element %d: wafer %d, QDQ %d", i, a, b);
        exact += a == b;
        if (relu) cr_expect_geq(b, -5);
    }
    cr_expect_geq(exact, QL_M * QL_N - 1, "only rounding ties may differ");
    free(ya.data);
    free(yb.data);
    onnx_export_free(&ex);
    ir_graph_free(g);
}

Test(onnx_write, qlinear_to_qdq_gemm) { ql_case(0); }
Test(onnx_write, qlinear_relu_to_qdq_gemm_relu) { ql_case(1); }

/* ---- Gelu below opset 20 ---- */

Test(onnx_write, gelu_expands_to_erf_below_opset_20) {
    IrGraph *g = graph_new(17);
    int64_t d[1] = {9};
    int x = input_add(g, "x", RT_F32, 1, d), y = value_add(g, "y", RT_F32, 1, d);
    ir_node_add(g, RT_OP_GELU, "gelu", 1, &x, 1, &y);
    output_add(g, y);
    OnnxExport ex;
    RtError err = {{0}};
    cr_assert_eq(onnx_export_lower(g, NULL, &ex, &err), RT_OK, "%s", err.msg);
    cr_expect_null(node_find(ex.g, "Gelu", 0));
    cr_expect_not_null(node_find(ex.g, "Erf", 0));
    float xv[9] = {-4, -2, -1, -0.5f, 0, 0.5f, 1, 2, 4};
    RtTensor xt = {RT_F32, 1, {9}, xv}, yt;
    cr_assert_eq(ir_run(ex.g, &xt, &yt, &err), RT_OK, "%s", err.msg);
    for (int i = 0; i < 9; i++) {
        double want = 0.5 * xv[i] * (1 + erf(xv[i] / sqrt(2.0)));
        cr_expect(fabs(((float *)yt.data)[i] - want) <= GELU_ABS_TOL, "gelu(%g) = %g, want %g", xv[i],
                  ((float *)yt.data)[i], want);
    }
    free(yt.data);
    onnx_export_free(&ex);
    ir_graph_free(g);
}

/* int8 activations between a QuantizeLinear and the DequantizeLinear reading them (through
 * element-moving ops) are written as uint8 with zero point + 128: the values are unchanged. */
Test(onnx_write, int8_activation_chain_becomes_uint8) {
    IrGraph *g = graph_new(17);
    int64_t xd[4] = {2, 1, 2, 4}, fd[2] = {2, 8};
    static const float s = 0.1f;
    static const int8_t z = -20;
    int x = input_add(g, "x", RT_F32, 4, xd);
    int sv = konst(g, "s", RT_F32, 0, NULL, &s), zv = konst(g, "z", RT_I8, 0, NULL, &z);
    int q = value_add(g, "q", RT_I8, 4, xd), f = value_add(g, "f", RT_I8, 2, fd), y = value_add(g, "y", RT_F32, 2, fd);
    int in[3] = {x, sv, zv};
    ir_node_add(g, RT_OP_QUANTIZE_LINEAR, "q", 3, in, 1, &q);
    ir_node_add(g, RT_OP_FLATTEN, "flat", 1, &q, 1, &f);
    int din[3] = {f, sv, zv};
    ir_node_add(g, RT_OP_DEQUANTIZE_LINEAR, "dq", 3, din, 1, &y);
    output_add(g, y);
    OnnxExport ex;
    RtError err = {{0}};
    cr_assert_eq(onnx_export_lower(g, NULL, &ex, &err), RT_OK, "%s", err.msg);
    const RtNode *qn = node_find(ex.g, "QuantizeLinear", 0), *dn = node_find(ex.g, "DequantizeLinear", 0);
    cr_assert(qn && dn);
    const RtTensor *zq = input_const(ex.g, qn, 2), *zd = input_const(ex.g, dn, 2);
    cr_expect(zq->dtype == RT_U8 && ((uint8_t *)zq->data)[0] == 108, "Q zero point -20 -> 108 uint8");
    cr_expect(zd->dtype == RT_U8 && ((uint8_t *)zd->data)[0] == 108, "DQ zero point -20 -> 108 uint8");
    cr_expect_eq(ex.g->values[qn->out[0]].dtype, RT_U8);
    float xv[16];
    for (int i = 0; i < 16; i++) xv[i] = (float)(i * 7 % 23 - 11) * 1.3f; /* some saturate at both ends */
    RtTensor xt = {RT_F32, 4, {2, 1, 2, 4}, xv}, ya, yb;
    cr_assert_eq(ir_run(g, &xt, &ya, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ir_run(ex.g, &xt, &yb, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(memcmp(ya.data, yb.data, sizeof(float) * 16), 0, "the same values");
    free(ya.data);
    free(yb.data);
    onnx_export_free(&ex);
    ir_graph_free(g);
}

/* Raising the opset (blocked DequantizeLinear needs 21) rewrites what changed on the way:
 * ReduceMean's axes attribute becomes an input (opset 18), Split gets num_outputs (18). The
 * outputs stay the same. */
Test(onnx_write, opset_raise_rewrites_reduce_and_split) {
    NbData d;
    nb_data(&d, 4);
    IrGraph *g = nb_graph(&d, 4); /* x [2, 40] -> LinearNBits -> y, opset 17 */
    int x = g->inputs[0];
    int64_t rd[2] = {NB_M, 1}, sd[2] = {NB_M, NB_K / 2};
    int r = value_add(g, "r", RT_F32, 2, rd), a = value_add(g, "a", RT_F32, 2, sd), b = value_add(g, "b", RT_F32, 2, sd);
    int k = ir_node_add(g, RT_OP_REDUCE_MEAN, "mean", 1, &x, 1, &r);
    RtAttr *at = ir_alloc(g, sizeof *at);
    static const int64_t axes[1] = {1};
    at->name = "axes", at->type = RT_ATTR_INTS, at->n = 1, at->ints = axes;
    g->nodes[k].attrs = at, g->nodes[k].n_attr = 1;
    int outs[2] = {a, b};
    k = ir_node_add(g, RT_OP_SPLIT, "split", 1, &x, 2, outs);
    attr_int(g, k, "axis", 1);
    output_add(g, r);
    output_add(g, a);
    output_add(g, b);
    OnnxExport ex;
    OnnxExportOptions o = {ONNX_INT4_DQ, NULL};
    RtError err = {{0}};
    cr_assert_eq(onnx_export_lower(g, &o, &ex, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(ex.g->opset, 21);
    const RtNode *mean = node_find(ex.g, "ReduceMean", 0), *split = node_find(ex.g, "Split", 0);
    cr_assert(mean && split);
    cr_expect(mean->n_in == 2 && ex.g->values[mean->in[1]].konst, "axes as an input");
    cr_expect_eq(node_attr(mean, "axes"), -999, "no axes attribute left");
    cr_expect_eq(node_attr(split, "num_outputs"), 2);
    RtTensor xt = {RT_F32, 2, {NB_M, NB_K}, d.x}, ya[4], yb[4];
    cr_assert_eq(ir_run(g, &xt, ya, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ir_run(ex.g, &xt, yb, &err), RT_OK, "%s", err.msg);
    for (int i = 1; i < 4; i++) {
        cr_expect(rt_shape_equal(&ya[i], &yb[i]), "output %d shape", i);
        cr_expect_eq(memcmp(ya[i].data, yb[i].data, (size_t)rt_nbytes(&ya[i])), 0, "output %d values", i);
    }
    for (int i = 0; i < 4; i++) free(ya[i].data), free(yb[i].data);
    onnx_export_free(&ex);
    ir_graph_free(g);
}

/* Groups MatMulNBits cannot take as its block (48 = 3 x 16; one group over K = 300) are written
 * with blocks of 16 / 256 repeating the group's scale and zero point: same products. Groups
 * no block divides (12) take the blocked DequantizeLinear form (want_block -1). */
static void nbits_regroup_case(int64_t K, int64_t G, int64_t want_block) {
    enum { M = 3, N = 2 };
    int64_t NG = G ? (K + G - 1) / G : 1;
    uint8_t *codes = malloc((size_t)(N * K)), zeros[N * 8];
    float scales[N * 8], bias[N] = {0.25f, -1}, *x = malloc(sizeof(float) * (size_t)(M * K));
    for (int64_t i = 0; i < N * K; i++) codes[i] = (uint8_t)((i * 7 + i / 5) % 16);
    for (int64_t i = 0; i < N * NG; i++) scales[i] = 0.01f * (float)(i + 1), zeros[i] = (uint8_t)(i % 16);
    for (int64_t i = 0; i < M * K; i++) x[i] = (float)(i % 13 - 6) * 0.1f;
    IrGraph *g = graph_new(17);
    size_t bytes = rt_qblock_packed_size(4, N, K);
    uint8_t *wp = calloc(bytes, 1);
    cr_assert_eq(rt_qblock_pack(4, N, K, codes, wp, bytes), 0);
    int64_t xd[2] = {M, K}, sd[2] = {N, NG}, bd[1] = {N}, wd[1] = {(int64_t)bytes}, yd[2] = {M, N};
    int in[6] = {input_add(g, "x", RT_F32, 2, xd), konst(g, "wp", RT_U8, 1, wd, wp), konst(g, "s", RT_F32, 2, sd, scales),
                 konst(g, "z", RT_U8, 2, sd, zeros), -1, konst(g, "b", RT_F32, 1, bd, bias)};
    int y = value_add(g, "y", RT_F32, 2, yd);
    int k = ir_node_add(g, RT_OP_LINEAR_NBITS, "fc", 6, in, 1, &y);
    attr_int(g, k, "bits", 4);
    attr_int(g, k, "group", G);
    output_add(g, y);
    OnnxExport ex;
    RtError err = {{0}};
    cr_assert_eq(onnx_export_lower(g, NULL, &ex, &err), RT_OK, "%s", err.msg);
    if (want_block > 0) {
        const RtNode *mn = node_find(ex.g, "MatMulNBits", 0);
        cr_assert_not_null(mn);
        cr_expect_eq(node_attr(mn, "block_size"), want_block);
    } else { /* no MatMulNBits block fits: blocked DequantizeLinear of block G */
        const RtNode *dq = node_find(ex.g, "DequantizeLinear", 0);
        cr_assert_not_null(dq);
        cr_expect_null(node_find(ex.g, "MatMulNBits", 0));
        cr_expect_eq(node_attr(dq, "block_size"), G);
        cr_expect_eq(ex.g->opset, 21);
    }
    RtTensor xt = {RT_F32, 2, {M, K}, x}, yt;
    cr_assert_eq(ir_run(ex.g, &xt, &yt, &err), RT_OK, "%s", err.msg);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double acc = bias[n];
            for (int64_t kk = 0; kk < K; kk++) {
                int64_t gi = G ? kk / G : 0;
                acc += (double)x[m * K + kk] * ((double)codes[n * K + kk] - zeros[n * NG + gi]) * scales[n * NG + gi];
            }
            float got = ((float *)yt.data)[m * N + n];
            /* K up to 300: ten times the bound derived for K = 40 */
            cr_expect(fabs(got - acc) <= NBITS_REL_TOL * (1 + fabs(acc)) * 10, "y[%d][%d] = %f, want %f", m, n, got, acc);
        }
    free(yt.data);
    free(codes), free(x), free(wp);
    onnx_export_free(&ex);
    ir_graph_free(g);
}

Test(onnx_write, linear_nbits_group_48_as_blocks_of_16) { nbits_regroup_case(96, 48, 16); }
Test(onnx_write, linear_nbits_one_group_over_300_as_blocks_of_256) { nbits_regroup_case(300, 0, 256); }
Test(onnx_write, linear_nbits_group_12_as_blocked_dq) { nbits_regroup_case(96, 12, -1); }

/* ---- the other int8 ops: lowered QDQ graph vs wafer's int8 kernels, within one quantum ---- */

enum { QO_ADD, QO_MUL, QO_GAP, QO_AVG, QO_CONCAT };

/* x0, x1 float [1, 2, 3, 4] -> QuantizeLinear (int8, own scales) -> the op -> int8 output. */
static IrGraph *qop_graph(int which) {
    IrGraph *g = graph_new(17);
    static const float s0 = 0.05f, s1 = 0.08f, sy = 0.1f;
    static const int8_t z0 = 3, z1 = -7, zy = -2;
    int64_t xd[4] = {1, 2, 3, 4};
    int x0 = input_add(g, "x0", RT_F32, 4, xd), x1 = input_add(g, "x1", RT_F32, 4, xd);
    int S0 = konst(g, "s0", RT_F32, 0, NULL, &s0), Z0 = konst(g, "z0", RT_I8, 0, NULL, &z0);
    int S1 = konst(g, "s1", RT_F32, 0, NULL, &s1), Z1 = konst(g, "z1", RT_I8, 0, NULL, &z1);
    int SY = konst(g, "sy", RT_F32, 0, NULL, &sy), ZY = konst(g, "zy", RT_I8, 0, NULL, &zy);
    int q0 = value_add(g, "q0", RT_I8, 4, xd), q1 = value_add(g, "q1", RT_I8, 4, xd), y = value_add(g, "y", RT_UNDEFINED, 0, NULL);
    int a[3] = {x0, S0, Z0}, b[3] = {x1, S1, Z1};
    ir_node_add(g, RT_OP_QUANTIZE_LINEAR, "qa", 3, a, 1, &q0);
    ir_node_add(g, RT_OP_QUANTIZE_LINEAR, "qb", 3, b, 1, &q1);
    int bin[8] = {q0, S0, Z0, q1, S1, Z1, SY, ZY}, un[5] = {q0, S0, Z0, SY, ZY}, cat[8] = {SY, ZY, q0, S0, Z0, q1, S1, Z1};
    int k;
    switch (which) {
    case QO_ADD: case QO_MUL:
        k = ir_node_add(g, which == QO_ADD ? RT_OP_QADD : RT_OP_QMUL, "op", 8, bin, 1, &y);
        if (which == QO_ADD) attr_int(g, k, "qmin", zy); /* a fused Relu */
        break;
    case QO_GAP: ir_node_add(g, RT_OP_QGLOBAL_AVERAGE_POOL, "op", 5, un, 1, &y); break;
    case QO_AVG: {
        k = ir_node_add(g, RT_OP_QAVERAGE_POOL, "op", 5, un, 1, &y);
        static const int64_t ks[2] = {2, 2};
        RtNode *n = &g->nodes[k];
        RtAttr *at = ir_alloc(g, sizeof *at);
        at->name = "kernel_shape", at->type = RT_ATTR_INTS, at->n = 2, at->ints = ks;
        n->attrs = at, n->n_attr = 1;
        break;
    }
    default:
        k = ir_node_add(g, RT_OP_QCONCAT, "op", 8, cat, 1, &y);
        attr_int(g, k, "axis", 1);
    }
    g->values[y].dtype = RT_I8;
    output_add(g, y);
    return g;
}

static void qop_case(int which, const char *float_op) {
    IrGraph *g = qop_graph(which);
    OnnxExport ex;
    RtError err = {{0}};
    cr_assert_eq(onnx_export_lower(g, NULL, &ex, &err), RT_OK, "%s", err.msg);
    cr_expect_not_null(node_find(ex.g, float_op, 0), "%s in the export", float_op);
    for (int k = 0; k < ex.g->n_nodes; k++) cr_expect_str_eq(ex.g->nodes[k].domain, "");
    if (which == QO_ADD) cr_expect_not_null(node_find(ex.g, "Relu", 0), "qmin = y zero point is a Relu");
    float x0[24], x1[24];
    for (int i = 0; i < 24; i++) x0[i] = (float)(i % 7 - 3) * 0.9f, x1[i] = (float)((i * 5) % 11 - 5) * 0.7f;
    RtTensor in[2] = {{RT_F32, 4, {1, 2, 3, 4}, x0}, {RT_F32, 4, {1, 2, 3, 4}, x1}}, ya, yb;
    cr_assert_eq(ir_run(g, in, &ya, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ir_run(ex.g, in, &yb, &err), RT_OK, "%s", err.msg);
    cr_assert(rt_shape_equal(&ya, &yb));
    int64_t n = rt_numel(&ya), exact = 0;
    for (int64_t i = 0; i < n; i++) {
        int a = ((int8_t *)ya.data)[i], b = ((int8_t *)yb.data)[i];
        cr_expect(abs(a - b) <= 1, "%s element %lld: wafer %d, QDQ %d", float_op, (long long)i, a, b);
        exact += a == b;
    }
    /* Elements may differ by one where a rounding tie falls differently: wafer's kernels round
     * in fixed point (and AveragePool rounds the window mean s / 4 first, ties away from zero),
     * the QDQ graph once in float, ties to even. For the 2x2 average (sum / 4 then a scale ratio
     * of 1/2) a tie at either rounding hits 1 in 4 sums each, so up to about 3/8 of the elements;
     * for the other ops ties are rare (at most 1 in 8 here). A wrong scale, zero point or axis
     * moves almost every element by more than one. */
    int64_t min_exact = which == QO_AVG ? n / 2 : n - n / 8 - 1;
    cr_expect_geq(exact, min_exact, "%s: only rounding ties may differ (%lld of %lld equal)", float_op,
                  (long long)exact, (long long)n);
    free(ya.data);
    free(yb.data);
    onnx_export_free(&ex);
    ir_graph_free(g);
}

Test(onnx_write, qadd_relu_to_qdq_add) { qop_case(QO_ADD, "Add"); }
Test(onnx_write, qmul_to_qdq_mul) { qop_case(QO_MUL, "Mul"); }
Test(onnx_write, qglobal_average_pool_to_qdq) { qop_case(QO_GAP, "GlobalAveragePool"); }
Test(onnx_write, qaverage_pool_to_qdq) { qop_case(QO_AVG, "AveragePool"); }
Test(onnx_write, qconcat_to_qdq_concat) { qop_case(QO_CONCAT, "Concat"); }

/* 4-bit initializers on the wire (UINT4 / INT4, two per byte) load back as the same one-byte
 * codes, INT4 sign-extended: the blocked-DequantizeLinear export round-trips through wafer. */
Test(onnx_write, int4_initializers_round_trip) {
    IrGraph *g = graph_new(21);
    g->ir_version = 10;
    int64_t d[2] = {3, 5}; /* 15 elements: an odd count leaves a half byte */
    int8_t qi[15];
    uint8_t qu[15];
    for (int i = 0; i < 15; i++) qi[i] = (int8_t)(i - 8), qu[i] = (uint8_t)(15 - i);
    static const float s = 0.5f;
    int S = konst(g, "s", RT_F32, 0, NULL, &s);
    int vi = konst(g, "qi", RT_I8, 2, d, qi), vu = konst(g, "qu", RT_U8, 2, d, qu);
    int yi = value_add(g, "yi", RT_F32, 2, d), yu = value_add(g, "yu", RT_F32, 2, d);
    int a[2] = {vi, S}, b[2] = {vu, S};
    ir_node_add(g, RT_OP_DEQUANTIZE_LINEAR, "dqi", 2, a, 1, &yi);
    ir_node_add(g, RT_OP_DEQUANTIZE_LINEAR, "dqu", 2, b, 1, &yu);
    output_add(g, yi);
    output_add(g, yu);
    int packed[2] = {vi, vu};
    OnnxWriteOptions o = {NULL, packed, 2};
    uint8_t *bytes;
    size_t len;
    RtError err = {{0}};
    cr_assert_eq(onnx_write_memory(g, &o, &bytes, &len, &err), RT_OK, "%s", err.msg);
    IrGraph *h = onnx_load_memory(bytes, len, NULL, "int4.onnx", NULL, &err);
    cr_assert_not_null(h, "%s", err.msg);
    int li = ir_value_find(h, "qi"), lu = ir_value_find(h, "qu");
    cr_assert(li >= 0 && lu >= 0 && h->values[li].konst && h->values[lu].konst);
    cr_expect_eq(h->values[li].konst->dtype, RT_I8);
    cr_expect_eq(h->values[lu].konst->dtype, RT_U8);
    cr_expect_eq(memcmp(h->values[li].konst->data, qi, 15), 0, "int4 values -8..6 come back");
    cr_expect_eq(memcmp(h->values[lu].konst->data, qu, 15), 0, "uint4 values 15..1 come back");
    RtTensor y[2];
    cr_assert_eq(ir_run(h, NULL, y, &err), RT_OK, "%s", err.msg);
    for (int i = 0; i < 15; i++) {
        cr_expect_eq(((float *)y[0].data)[i], 0.5f * (float)(i - 8));
        cr_expect_eq(((float *)y[1].data)[i], 0.5f * (float)(15 - i));
    }
    free(y[0].data), free(y[1].data);
    free(bytes);
    ir_graph_free(h);
    ir_graph_free(g);
}
