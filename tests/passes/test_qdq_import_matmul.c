/*
 * test_qdq_import_matmul.c — passes/qdq_import_matmul.c: the MatMul groups of the QDQ import.
 *
 * Each hand-built model is checked twice: the op histogram after the pass (the group became
 * QLinearMatMul / MatMulNBits, or, for a refusal, stayed float), and its outputs.
 * QLinearMatMul: `wafer run` (which applies the pass on load; fast and reference kernels)
 * against onnxruntime-node on the same QDQ file (tests/ort_compare.h): per-column int8 B
 * (axis 1) with uint8 activations; per-column uint8 B with zero points (axis -1) and batched
 * int8 activations [2, 3, K] (the transformer shape); a per-row DQ (axis 0) stays float
 * (checked against the QDQ graph's float semantics computed here: onnxruntime 1.30 fails on
 * that file). MatMulNBits, from blocked weight-only DQs (opset 21): `wafer run` against the
 * spec's float32 weights summed in float64 here, and against onnxruntime within the error of
 * its int8 activations (its default accuracy level), and the imported graph written back as
 * ONNX run by onnxruntime's own MatMulNBits: int4 with zero points and a partial last block,
 * K below one block, uint4 without zero points on a batched A, int4 without (the default
 * zero point), 8-bit uint8 and int8 codes, block_size 512 (split into MatMulNBits' 256),
 * 2^20 (one scale row) and 48 (blocks of 16), a bias Add merged, a bias [1, N] kept;
 * weight-only per column (int8; uint8 with K = 300 over two blocks) and per tensor; refusals:
 * per row, blocked along N (axis 1), block_size 24, a non-constant B. Gemm's weight-only
 * form (transB with int8 per output channel and a bias, blocked with C [1, N], transB
 * blocked without C; alpha 0.5 stays float), also against onnxruntime. The .wafer route keeps
 * MatMulNBits (bytes of the .onnx run). Then emit-c on a file with both new groups
 * (the emitted C calls both kernels and gives wafer run's outputs), and tinylm's RTN 4-bit
 * layers exported as blocked DQ by `wafer quantize --onnx-int4 dq` and imported back: 24
 * MatMulNBits, the float-DQ path's logits and perplexity (also through wafer eval, and
 * through onnxruntime's own MatMulNBits on the imported graph written back as ONNX).
 */
#include <criterion/criterion.h>

#include "../../frontend/onnx.h"
#include "../../io/npy.h"
#include "../../passes/passes.h"
#include "../../passes/qdq_import.h"
#include "../../runtime/rt_exec.h"
#include "../frontend/onnx_proto_build.h"
#include "qdq_build.h"
#include "../ort_compare.h"

TestSuite(qdq_import_matmul, .fini = pb_release_all);

enum { E_F32 = 1, E_U8 = 2, E_I8 = 3, E_U4 = 21, E_I4 = 22 };

/* QLinearMatMul against onnxruntime: the same integer products; the requantization of a sum
 * that lies at a rounding tie may go either way (onnxruntime fuses the group into its own
 * integer kernel or runs DQ -> float MatMul -> Q, whose float sum can land on either side),
 * one output step, plus float rounding of the final DequantizeLinear. */
static OrtcTol one_step(float s) { return (OrtcTol){1.001 * s, 0, 0}; }

/* MatMulNBits against DQ -> float MatMul: the same float32 weights (q - zp) * s and the same
 * float32 products, summed in another order (blocks, vector lanes, FMA). Each way rounds the
 * K products (2^-24 relative each) and sums them (recursive summation: at most (K - 1) 2^-24
 * of sum |terms|, whatever the order; FMA only removes roundings), so each output lies within
 * K 2^-24 sum_k |a_k w_k| of the exact sum (the reference here sums in float64), and two
 * ways within twice that: the bound below, for K terms. A wrong code, scale or zero point
 * moves an output by a whole weight step times |a|, far more. */
#define SUM_ORDER_REL(K) (2.0 * (double)(K) * 0x1p-24)

/* onnxruntime 1.30 itself fuses DQ(blocked 4-bit) -> MatMul into its MatMulNBits with the
 * session's default accuracy level 4: A is quantized to int8 per block (scale max|a| / 127)
 * before the products, so its output is not the float one (measured 0.4% apart). Each a_k
 * then moves by at most half a step, max|a| / 254 with |a| < 2, and an output by at most
 * that times sum_k |w_k|: the bound each case computes for onnxruntime. */
#define ORT_ACC4_A_ERR (2.0 / 254)

static uint32_t lcg(uint32_t *s) { return *s = *s * 1103515245u + 12345u, *s >> 16; }

/* A weight `name` [K, N] of type t (int8 codes in [-100, 100], uint8 in [20, 230]) through a
 * DQ to name_dq: axis 2 = per tensor; otherwise one scale and zero point per index of `axis`
 * (0, 1 or -1), scales 0.01 + 0.002 i, zero points 0 for int8, 120 + 3 i for uint8. */
typedef struct {
    const uint8_t *w;     /* codes [K, N] as bytes of type t */
    const float *scale;   /* [c] */
    const uint8_t *z;     /* [c] as bytes of type t */
} Weight2d;

static Weight2d weight_2d(Onnx__GraphProto *g, const char *name, int t, int64_t K, int64_t N, int axis) {
    int64_t dims[2] = {K, N};
    uint8_t *w = pb_zalloc((size_t)(K * N));
    uint32_t s = 12345;
    for (int64_t i = 0; i < K * N; i++)
        w[i] = t == E_I8 ? (uint8_t)(int8_t)((int)(lcg(&s) % 201) - 100) : (uint8_t)(20 + lcg(&s) % 211);
    char q[64], sc[64], zp[64], dq[64], ins[200];
    snprintf(q, sizeof q, "%s_q", name);
    snprintf(sc, sizeof sc, "%s_s", name);
    snprintf(zp, sizeof zp, "%s_z", name);
    snprintf(dq, sizeof dq, "%s_dq", name);
    init_raw(g, q, t, 2, dims, w, (size_t)(K * N));
    int64_t c = axis == 2 ? 1 : dims[axis < 0 ? axis + 2 : axis];
    float *scale = pb_zalloc(sizeof(float) * (size_t)c);
    uint8_t *z = pb_zalloc((size_t)c);
    for (int64_t i = 0; i < c; i++) {
        scale[i] = 0.01f + 0.002f * (float)i;
        z[i] = t == E_I8 ? 0 : (uint8_t)(120 + 3 * i);
    }
    init_f(g, sc, axis == 2 ? 0 : 1, &c, (size_t)c, scale);
    init_raw(g, zp, t, axis == 2 ? 0 : 1, &c, z, (size_t)c);
    snprintf(ins, sizeof ins, "%s,%s,%s", q, sc, zp);
    Onnx__NodeProto *d = pb_add_node(g, pb_node("DequantizeLinear", dq, ins, dq));
    if (axis != 2) pb_attr_int(d, "axis", axis);
    return (Weight2d){w, scale, z};
}

/* Codes v[n] of 4-bit type t packed two per byte, the first in the low nibble (ONNX's INT4 /
 * UINT4 raw_data); 8-bit types one per byte. Returns the byte count. */
static size_t codes_pack(int t, const int *v, int64_t n, uint8_t *out) {
    if (t != E_U4 && t != E_I4) {
        for (int64_t i = 0; i < n; i++) out[i] = (uint8_t)v[i];
        return (size_t)n;
    }
    memset(out, 0, (size_t)(n + 1) / 2);
    for (int64_t i = 0; i < n; i++) out[i / 2] |= (uint8_t)((v[i] & 15) << (4 * (i % 2)));
    return (size_t)(n + 1) / 2;
}

/* A blocked weight as the spec reads it, kept for the float reference. */
typedef struct {
    int64_t K, N, bs, ax;  /* codes [K, N], block_size along axis ax (0 or 1) */
    int64_t sd[2];         /* scale shape: ceil(dim / bs) along ax */
    int *c, *z;            /* codes [K, N], zero points [sd] (zeros when absent) */
    float *s;              /* scales [sd] */
} BlockedW;

/* W[k, n] = (c - z) * s with the block of (k, n) along ax, float32 as DequantizeLinear. */
static float blocked_w(const BlockedW *b, int64_t k, int64_t n) {
    int64_t i = b->ax == 0 ? (k / b->bs) * b->N + n : k * b->sd[1] + n / b->bs;
    return (float)(b->c[k * b->N + n] - b->z[i]) * b->s[i];
}

/* A blocked weight-only DQ (opset 21) of `name` [K, N] codes of type t (int4, uint4, uint8,
 * int8), block_size bs along `axis` (0, 1 or -2), scales 0.02 + 0.001 j (j the scale's
 * index), zero points (when with_zp) spread over the type's range, to name_dq. */
static BlockedW weight_blocked(Onnx__GraphProto *g, const char *name, int t, int64_t K, int64_t N, int64_t bs,
                               int axis, int with_zp) {
    int lo = t == E_I4 ? -8 : t == E_I8 ? -128 : 0, hi = t == E_I4 ? 7 : t == E_U4 ? 15 : t == E_I8 ? 127 : 255;
    BlockedW b = {K, N, bs, axis < 0 ? axis + 2 : axis, {K, N}, NULL, NULL, NULL};
    b.sd[b.ax] = (b.sd[b.ax] + bs - 1) / bs;
    int64_t ns = b.sd[0] * b.sd[1];
    b.c = pb_zalloc(sizeof(int) * (size_t)(K * N)), b.z = pb_zalloc(sizeof(int) * (size_t)ns);
    uint32_t s = 777;
    for (int64_t i = 0; i < K * N; i++) b.c[i] = lo + (int)(lcg(&s) % (uint32_t)(hi - lo + 1));
    b.s = pb_zalloc(sizeof(float) * (size_t)ns);
    for (int64_t j = 0; j < ns; j++) {
        b.s[j] = 0.02f + 0.001f * (float)j;
        if (with_zp) b.z[j] = lo + (int)(lcg(&s) % (uint32_t)(hi - lo + 1));
    }
    uint8_t *buf = pb_zalloc((size_t)(K * N + ns));
    char q[64], sc[64], zp[64], dq[64], ins[200];
    snprintf(q, sizeof q, "%s_q", name);
    snprintf(sc, sizeof sc, "%s_s", name);
    snprintf(zp, sizeof zp, "%s_z", name);
    snprintf(dq, sizeof dq, "%s_dq", name);
    int64_t dims[2] = {K, N};
    init_raw(g, q, t, 2, dims, buf, codes_pack(t, b.c, K * N, buf));
    init_f(g, sc, 2, b.sd, (size_t)ns, b.s);
    if (with_zp) init_raw(g, zp, t, 2, b.sd, buf, codes_pack(t, b.z, ns, buf));
    snprintf(ins, sizeof ins, with_zp ? "%s,%s,%s" : "%s,%s", q, sc, zp);
    Onnx__NodeProto *d = pb_add_node(g, pb_node("DequantizeLinear", dq, ins, dq));
    pb_attr_int(d, "axis", axis);
    pb_attr_int(d, "block_size", bs);
    return b;
}

/* Input values in [lo, hi). */
static float *input_values(int64_t n, float lo, float hi, uint32_t seed) {
    float *v = pb_zalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = lo + (hi - lo) * (float)(seed >> 8) / 16777216.0f;
    }
    return v;
}

/* Loads the packed model, runs the pass and writes "Op:count," for every op, in order of
 * first appearance. */
static void expect_ops(const uint8_t *m, size_t len, const char *want, int want_groups) {
    RtError err = {{0}};
    IrGraph *g = onnx_load_memory(m, len, NULL, "qdq.onnx", NULL, &err);
    cr_assert(g, "load: %s", err.msg);
    int groups = -1;
    cr_assert_eq(pass_qdq_import(g, &groups, &err), RT_OK, "pass: %s", err.msg);
    const char *names[64];
    int counts[64], n = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        int j = 0;
        while (j < n && strcmp(names[j], g->nodes[k].op_type) != 0) j++;
        if (j == n && n < 64) names[n] = g->nodes[k].op_type, counts[n++] = 0;
        if (j < 64) counts[j]++;
    }
    char hist[1024];
    size_t used = 0;
    hist[0] = 0;
    for (int j = 0; j < n && used < sizeof hist; j++)
        used += (size_t)snprintf(hist + used, sizeof hist - used, "%s:%d,", names[j], counts[j]);
    ir_graph_free(g);
    cr_expect_str_eq(hist, want, "ops after the pass: %s, want %s", hist, want);
    cr_expect_eq(groups, want_groups, "groups rewritten: %d, want %d", groups, want_groups);
}

/* `wafer run` of the packed model on input x: its output y (float32, owned by the caller). */
static RtTensor wafer_run(const char *tag, const uint8_t *m, size_t len, const RtTensor *x) {
    static char log[65536];
    char dir[256], path[320];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, tag), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    snprintf(path, sizeof path, "%s/x.npy", dir);
    RtError err = {{0}};
    cr_assert_eq(npy_write(path, x, &err), RT_OK, "%s", err.msg);
    int rc = tu_run(log, sizeof log, WAFER_BIN " run %s/m.onnx --input x=%s --out %s", dir, path, dir);
    cr_assert_eq(rc, 0, "%s: wafer run (exit %d):\n%s", tag, rc, log);
    snprintf(path, sizeof path, "%s/y.npy", dir);
    RtTensor y;
    cr_assert_eq(npy_read(path, &y, &err), RT_OK, "%s", err.msg);
    tu_tmpdir_remove(dir);
    cr_assert_eq(y.dtype, RT_F32);
    return y;
}

/* The pass's histogram, then wafer run against onnxruntime on input x [x_dims] in [-2, 2),
 * with wafer's fast kernels and again with its reference kernels (WAFER_RT_REF=1). */
static void compare(const char *tag, Onnx__GraphProto *g, int rank, const int64_t *x_dims, int opset,
                    const char *want_ops, int want_groups, OrtcTol tol) {
    size_t len;
    uint8_t *m = pb_model_pack(g, opset >= 21 ? 10 : 8, opset, "test", &len);
    expect_ops(m, len, want_ops, want_groups);
    RtTensor x = {RT_F32, rank, {0}, NULL};
    int64_t n = 1;
    for (int i = 0; i < rank; i++) x.dims[i] = x_dims[i], n *= x_dims[i];
    x.data = input_values(n, -2, 2, 99);
    OrtcInput in = {"x", x};
    if (!ortc_compare(tag, m, len, &in, 1, &tol)) cr_skip_test("onnxruntime-node is not installed");
    /* the reference kernels too (ref/quant.c's QLinearMatMul; the default run takes the x86 one) */
    setenv("WAFER_RT_REF", "1", 1);
    ortc_compare(tag, m, len, &in, 1, &tol);
    unsetenv("WAFER_RT_REF");
}

/* x [M, K] -> DQ(Q(x)) -> MatMul(., DQ(B)) -> Q -> DQ -> y, B [K, N] from weight_2d. */
static Onnx__GraphProto *qdq_matmul(int act_t, int xz, int w_t, int64_t K, int64_t N, int axis, const char *x_shape,
                                    const char *y_shape, float ys) {
    Onnx__GraphProto *g = pb_graph("g");
    qparams(g, "x", 0.02f, act_t, xz);
    qparams(g, "y", ys, act_t, act_t == E_U8 ? 128 : -3);
    weight_2d(g, "w", w_t, K, N, axis);
    qdq(g, "x", "xd", "x");
    pb_add_node(g, pb_node("MatMul", "mm", "xd,w_dq", "o"));
    qdq(g, "o", "y", "y");
    pb_add_input(g, pb_value("x", E_F32, x_shape));
    pb_add_output(g, pb_value("y", E_F32, y_shape));
    return g;
}

#define QLMM_OPS "QuantizeLinear:1,QLinearMatMul:1,DequantizeLinear:1,"

/* onnxruntime's quantize_static(per_channel=True) form: int8 B per column (axis 1), uint8
 * activations. */
Test(qdq_import_matmul, per_column_int8_weight) {
    int64_t xd[2] = {3, 12};
    Onnx__GraphProto *g = qdq_matmul(E_U8, 120, E_I8, 12, 7, 1, "3,12", "3,7", 0.05f);
    compare("qdqmm_col_i8", g, 2, xd, 13, QLMM_OPS, 1, one_step(0.05f));
}

/* Per-column uint8 B with zero points (axis -1), int8 activations of a batched A [2, 3, K]. */
Test(qdq_import_matmul, per_column_uint8_weight_batched_activations) {
    int64_t xd[3] = {2, 3, 10};
    Onnx__GraphProto *g = qdq_matmul(E_I8, -5, E_U8, 10, 6, -1, "2,3,10", "2,3,6", 0.04f);
    compare("qdqmm_col_u8_3d", g, 3, xd, 13, QLMM_OPS, 1, one_step(0.04f));
}

/* QuantizeLinear to uint8 as the spec computes it: saturate(round_even(v / s) + z), the
 * division in float32. */
static int q_u8(double v, float s, int z) {
    double r = nearbyint((double)((float)v / s)) + z;
    return r < 0 ? 0 : r > 255 ? 255 : (int)r;
}

/* A DQ per row of B (axis 0, K scales) is not QLinearMatMul's per-column b_scale: stays float.
 * onnxruntime 1.30 cannot run this file (its QDQ fusion makes a QLinearMatMul with a per-row
 * b_zero_point, which its kernel then refuses), so wafer run is checked against the QDQ
 * graph's float semantics computed here: Q and DQ of x, W[k, n] = (w - z[k]) * s[k], the sum
 * in float64, Q and DQ of y; one output step (a sum at a rounding tie may round either way
 * after float32 summation). */
Test(qdq_import_matmul, per_row_weight_stays_float) {
    enum { M = 3, K = 8, N = 5 };
    const float xs = 0.02f, ys = 0.05f;
    const int xz = 100, yz = 128;
    Onnx__GraphProto *g = pb_graph("g");
    qparams(g, "x", xs, E_U8, xz);
    qparams(g, "y", ys, E_U8, yz);
    Weight2d w = weight_2d(g, "w", E_I8, K, N, 0);
    qdq(g, "x", "xd", "x");
    pb_add_node(g, pb_node("MatMul", "mm", "xd,w_dq", "o"));
    qdq(g, "o", "y", "y");
    pb_add_input(g, pb_value("x", E_F32, "3,8"));
    pb_add_output(g, pb_value("y", E_F32, "3,5"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 13, "test", &len);
    expect_ops(m, len, "DequantizeLinear:3,QuantizeLinear:2,MatMul:1,", 0);
    RtTensor x = {RT_F32, 2, {M, K}, input_values(M * K, -2, 2, 99)};
    RtTensor y = wafer_run("qdqmm_row", m, len, &x);
    const float *xv = x.data, *yv = y.data;
    for (int r = 0; r < M; r++)
        for (int n = 0; n < N; n++) {
            double o = 0;
            for (int k = 0; k < K; k++) {
                float xd = (float)(q_u8(xv[r * K + k], xs, xz) - xz) * xs;
                float wk = (float)((int8_t)w.w[k * N + n] - (int8_t)w.z[k]) * w.scale[k];
                o += (double)xd * wk;
            }
            double want = (double)((float)(q_u8(o, ys, yz) - yz) * ys);
            cr_expect(fabs(yv[r * N + n] - want) <= one_step(ys).atol, "y[%d, %d] = %g, the QDQ graph's %g", r, n,
                      yv[r * N + n], want);
        }
    free(y.data);
}

/* The imported graph written back as ONNX (`wafer quantize --weights f32 --onnx`: the
 * MatMulNBits node with wafer's packed codes, scales, zero points and bias) and run by
 * onnxruntime's own MatMulNBits kernel (no accuracy_level: float A) against wafer run on that
 * file: onnxruntime reads the packing as wafer does, up to the order of the float sums (atol). */
static void nbits_export_check(const char *tag, const uint8_t *m, size_t len, const OrtcInput *in, double atol) {
    static char log[65536];
    char dir[256], src[320], re[320];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, tag), 0);
    snprintf(src, sizeof src, "%s/m.onnx", dir);
    snprintf(re, sizeof re, "%s/re.onnx", dir);
    FILE *f = fopen(src, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    int rc = tu_run(log, sizeof log, WAFER_BIN " quantize %s --weights f32 --onnx %s", src, re);
    cr_assert_eq(rc, 0, "%s: wafer quantize --onnx:\n%s", tag, log);
    rc = tu_run(log, sizeof log, "grep -c MatMulNBits %s", re);
    cr_expect_eq(rc, 0, "%s: the exported file has no MatMulNBits", tag);
    OrtcTol tol = {atol, 0, 0};
    ortc_compare_file(tag, re, in, 1, &tol);
    tu_tmpdir_remove(dir);
}

/* x [..., K] float -> MatMul(x, blocked DQ(B)) -> y: the pass's histogram; wafer run against
 * the spec's float32 weights and a float64 sum computed here (SUM_ORDER_REL); and against
 * onnxruntime within ORT_ACC4_BOUND; when imported, nbits_export_check. */
static void blocked_case_bias(const char *tag, int t, int64_t K, int64_t N, int64_t bs, int axis, int with_zp,
                              int rank, const int64_t *x_dims, const char *want_ops, int want_groups, int bias_rank) {
    Onnx__GraphProto *g = pb_graph("g");
    BlockedW w = weight_blocked(g, "w", t, K, N, bs, axis, with_zp);
    float *bias = NULL;
    if (bias_rank) { /* y = Add(bias, MatMul(x, W)), bias [N] or [1, N] */
        int64_t bd[2] = {1, N};
        bias = input_values(N, -1, 1, 31);
        init_f(g, "bias", (size_t)bias_rank, bias_rank == 1 ? bd + 1 : bd, (size_t)N, bias);
        pb_add_node(g, pb_node("MatMul", "mm", "x,w_dq", "o"));
        pb_add_node(g, pb_node("Add", "add", "bias,o", "y"));
    } else {
        pb_add_node(g, pb_node("MatMul", "mm", "x,w_dq", "y"));
    }
    char xs[64] = "", ys[64] = "";
    size_t ux = 0, uy = 0;
    int64_t rows = 1;
    for (int i = 0; i < rank; i++) {
        int64_t d = i == rank - 1 ? N : x_dims[i];
        ux += (size_t)snprintf(xs + ux, sizeof xs - ux, "%s%lld", i ? "," : "", (long long)x_dims[i]);
        uy += (size_t)snprintf(ys + uy, sizeof ys - uy, "%s%lld", i ? "," : "", (long long)d);
        if (i < rank - 1) rows *= x_dims[i];
    }
    pb_add_input(g, pb_value("x", E_F32, xs));
    pb_add_output(g, pb_value("y", E_F32, ys));
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 21, "test", &len);
    expect_ops(m, len, want_ops, want_groups);
    RtTensor x = {RT_F32, rank, {0}, input_values(rows * K, -2, 2, 99)};
    for (int i = 0; i < rank; i++) x.dims[i] = x_dims[i];
    RtTensor y = wafer_run(tag, m, len, &x);
    cr_assert_eq(rt_numel(&y), rows * N, "%s: output size", tag);
    const float *xv = x.data, *yv = y.data;
    double worst = 0, ort_bound = 0, sabs_max = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t n = 0; n < N; n++) {
            double ref = bias ? bias[n] : 0, wabs = 0, sabs = bias ? fabs(bias[n]) : 0;
            for (int64_t k = 0; k < K; k++) {
                double wk = blocked_w(&w, k, n);
                ref += (double)xv[r * K + k] * wk;
                wabs += fabs(wk);
                sabs += fabs((double)xv[r * K + k] * wk);
            }
            double d = fabs(yv[r * N + n] - ref);
            worst = fmax(worst, d / sabs);
            sabs_max = fmax(sabs_max, sabs);
            ort_bound = fmax(ort_bound, ORT_ACC4_A_ERR * wabs + SUM_ORDER_REL(K) * sabs);
            cr_expect(d <= SUM_ORDER_REL(K) * sabs, "%s: y[%lld, %lld] = %.9g, spec %.9g (sum |a w| %.3g)", tag,
                      (long long)r, (long long)n, yv[r * N + n], ref, sabs);
        }
    cr_log_info("%s: max |wafer - float reference| / sum |a w| %.3g", tag, worst);
    free(y.data);
    OrtcInput in = {"x", x};
    OrtcTol tol = {ort_bound, 0, 0};
    if (!ortc_compare(tag, m, len, &in, 1, &tol)) cr_skip_test("onnxruntime-node is not installed");
    if (want_groups) nbits_export_check(tag, m, len, &in, SUM_ORDER_REL(K) * sabs_max);
}

static void blocked_case(const char *tag, int t, int64_t K, int64_t N, int64_t bs, int axis, int with_zp, int rank,
                         const int64_t *x_dims, const char *want_ops, int want_groups) {
    blocked_case_bias(tag, t, K, N, bs, axis, with_zp, rank, x_dims, want_ops, want_groups, 0);
}

#define NBITS_OPS "MatMulNBits:1,"
#define FLOAT_OPS "DequantizeLinear:1,MatMul:1,"

/* int4 codes and zero points, block 16 over K = 40 (the last block has 8 rows). */
Test(qdq_import_matmul, blocked_int4_partial_last_block) {
    int64_t xd[2] = {3, 40};
    blocked_case("qdqmm_int4", E_I4, 40, 6, 16, 0, 1, 2, xd, NBITS_OPS, 1);
}

/* uint4 without zero points (0, not MatMulNBits' default 8), block 32, batched A [2, 2, 64]. */
Test(qdq_import_matmul, blocked_uint4_no_zero_point_batched) {
    int64_t xd[3] = {2, 2, 64};
    blocked_case("qdqmm_uint4", E_U4, 64, 5, 32, 0, 0, 3, xd, NBITS_OPS, 1);
}

/* int4 without zero points (0, which is MatMulNBits' default 8 once the codes move up by 8:
 * the node gets no zero_points input), block 16, K = 16: one block. */
Test(qdq_import_matmul, blocked_int4_no_zero_point) {
    int64_t xd[2] = {4, 16};
    blocked_case("qdqmm_int4nz", E_I4, 16, 3, 16, 0, 0, 2, xd, NBITS_OPS, 1);
}

/* x float -> MatMul(x, DQ(B)) -> y with B [K, N] from weight_2d (per tensor, per column or
 * per row): the pass's histogram, and wafer run against W[k, n] = (w - z) * s summed in
 * float64 here (SUM_ORDER_REL). */
static void weight_only_case(const char *tag, int t, int64_t K, int64_t N, int axis, const char *want_ops,
                             int want_groups) {
    Onnx__GraphProto *g = pb_graph("g");
    Weight2d w = weight_2d(g, "w", t, K, N, axis);
    pb_add_node(g, pb_node("MatMul", "mm", "x,w_dq", "y"));
    char xs[32], ys[32];
    snprintf(xs, sizeof xs, "3,%lld", (long long)K);
    snprintf(ys, sizeof ys, "3,%lld", (long long)N);
    pb_add_input(g, pb_value("x", E_F32, xs));
    pb_add_output(g, pb_value("y", E_F32, ys));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 13, "test", &len);
    expect_ops(m, len, want_ops, want_groups);
    RtTensor x = {RT_F32, 2, {3, K}, input_values(3 * K, -2, 2, 21)};
    RtTensor y = wafer_run(tag, m, len, &x);
    const float *xv = x.data, *yv = y.data;
    double sabs_max = 0;
    for (int64_t r = 0; r < 3; r++)
        for (int64_t n = 0; n < N; n++) {
            double ref = 0, sabs = 0;
            for (int64_t k = 0; k < K; k++) {
                int64_t c = axis == 2 ? 0 : axis == 0 ? k : n;
                int32_t q = t == E_I8 ? (int8_t)w.w[k * N + n] : w.w[k * N + n];
                int32_t z = t == E_I8 ? (int8_t)w.z[c] : w.z[c];
                double wk = (float)(q - z) * w.scale[c];
                ref += (double)xv[r * K + k] * wk;
                sabs += fabs((double)xv[r * K + k] * wk);
            }
            sabs_max = fmax(sabs_max, sabs);
            cr_expect(fabs(yv[r * N + n] - ref) <= SUM_ORDER_REL(K) * sabs, "%s: y[%lld, %lld] = %.9g, spec %.9g", tag,
                      (long long)r, (long long)n, yv[r * N + n], ref);
        }
    free(y.data);
    OrtcInput in = {"x", x};
    if (want_groups) nbits_export_check(tag, m, len, &in, SUM_ORDER_REL(K) * sabs_max);
}

/* Weight-only int8 per column (axis 1, as `wafer quantize --weights int8 --onnx` writes its
 * layers): MatMulNBits with 8 bits, blocks of 64 (the power of two >= K = 40), each column's
 * scale and zero point in its one block. */
Test(qdq_import_matmul, weight_only_per_column_int8) {
    weight_only_case("qdqmm_wo_col", E_I8, 40, 6, 1, NBITS_OPS, 1);
}

/* uint8 per column with zero points (axis -1) and K = 300 > 256: blocks of 256, the last
 * partial, each column's scale repeated over its 2 blocks. */
Test(qdq_import_matmul, weight_only_per_column_uint8_two_blocks) {
    weight_only_case("qdqmm_wo_col2", E_U8, 300, 5, -1, NBITS_OPS, 1);
}

/* One scale for the whole weight, K = 10 (one block of 16). */
Test(qdq_import_matmul, weight_only_per_tensor) {
    weight_only_case("qdqmm_wo_tensor", E_I8, 10, 4, 2, NBITS_OPS, 1);
}

/* Weight-only per row (axis 0): the scale changes inside any block along K; stays float. */
Test(qdq_import_matmul, weight_only_per_row_stays_float) {
    weight_only_case("qdqmm_wo_row", E_I8, 24, 4, 0, FLOAT_OPS, 0);
}

/* x [3, K] float -> Gemm(x, DQ(B), C?) -> y with B blocked along K (weight_blocked; stored
 * [N, K] with transB) or, blocked = 0, int8 per output channel (weight_2d, axis 0 of [N, K]
 * with transB, as `wafer quantize --weights int8 --onnx` writes a Gemm); C [N] or [1, N]
 * (bias_rank); alpha: the histogram, wafer run against Y = x B + C in float64 here. */
static void gemm_case(const char *tag, int tb, int blocked, int64_t K, int64_t N, int bias_rank, float alpha,
                      const char *want_ops, int want_groups) {
    Onnx__GraphProto *g = pb_graph("g");
    BlockedW w = {0, 0, 0, 0, {0, 0}, NULL, NULL, NULL};
    Weight2d w2 = {NULL, NULL, NULL};
    if (blocked) w = weight_blocked(g, "w", E_U4, tb ? N : K, tb ? K : N, 16, tb ? 1 : 0, 1);
    else w2 = weight_2d(g, "w", E_I8, tb ? N : K, tb ? K : N, tb ? 0 : 1);
    int64_t bd[2] = {1, N};
    float *bias = bias_rank ? input_values(N, -1, 1, 17) : NULL;
    if (bias) init_f(g, "c", (size_t)bias_rank, bias_rank == 1 ? bd + 1 : bd, (size_t)N, bias);
    Onnx__NodeProto *n = pb_add_node(g, pb_node("Gemm", "gemm", bias ? "x,w_dq,c" : "x,w_dq", "y"));
    if (tb) pb_attr_int(n, "transB", 1);
    if (alpha != 1.0f) pb_attr_float(n, "alpha", alpha);
    char xs[32], ys[32];
    snprintf(xs, sizeof xs, "3,%lld", (long long)K);
    snprintf(ys, sizeof ys, "3,%lld", (long long)N);
    pb_add_input(g, pb_value("x", E_F32, xs));
    pb_add_output(g, pb_value("y", E_F32, ys));
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 21, "test", &len);
    expect_ops(m, len, want_ops, want_groups);
    RtTensor x = {RT_F32, 2, {3, K}, input_values(3 * K, -2, 2, 23)};
    RtTensor y = wafer_run(tag, m, len, &x);
    const float *xv = x.data, *yv = y.data;
    double sabs_max = 0;
    for (int64_t r = 0; r < 3; r++)
        for (int64_t j = 0; j < N; j++) {
            double ref = 0, sabs = 0;
            for (int64_t k = 0; k < K; k++) {
                double wk;
                if (blocked) {
                    wk = tb ? blocked_w(&w, j, k) : blocked_w(&w, k, j);
                } else {
                    int64_t e = tb ? j * K + k : k * N + j, c = j;
                    wk = (float)((int8_t)w2.w[e] - (int8_t)w2.z[c]) * w2.scale[c];
                }
                ref += (double)xv[r * K + k] * wk;
                sabs += fabs((double)xv[r * K + k] * wk);
            }
            ref = alpha * ref + (bias ? bias[j] : 0);
            sabs = alpha * sabs + (bias ? fabs(bias[j]) : 0);
            sabs_max = fmax(sabs_max, sabs);
            cr_expect(fabs(yv[r * N + j] - ref) <= SUM_ORDER_REL(K + 2) * sabs, "%s: y[%lld, %lld] = %.9g, spec %.9g",
                      tag, (long long)r, (long long)j, yv[r * N + j], ref);
        }
    free(y.data);
    /* onnxruntime runs this Gemm in float (no Q on A: none of its QDQ fusions applies) */
    OrtcInput in = {"x", x};
    OrtcTol tol = {SUM_ORDER_REL(K + 2) * sabs_max, 0, 0};
    if (!ortc_compare(tag, m, len, &in, 1, &tol)) cr_skip_test("onnxruntime-node is not installed");
    if (want_groups) nbits_export_check(tag, m, len, &in, tol.atol);
}

/* Gemm(x, DQ(W [N, K] int8 per output channel), C [N]), transB = 1: wafer's own int8
 * weight-only export of a Linear; MatMulNBits with the bias. */
Test(qdq_import_matmul, gemm_trans_b_per_channel_with_bias) {
    gemm_case("qdqmm_gemm_tb", 1, 0, 40, 6, 1, 1.0f, NBITS_OPS, 1);
}

/* transB = 0, B [K, N] blocked along K (axis 0), C [1, N]. */
Test(qdq_import_matmul, gemm_blocked_bias_1xn) {
    gemm_case("qdqmm_gemm_blk", 0, 1, 40, 5, 2, 1.0f, NBITS_OPS, 1);
}

/* transB = 1, B^T [N, K] blocked along K (axis 1 of B^T), no C. */
Test(qdq_import_matmul, gemm_trans_b_blocked_no_bias) {
    gemm_case("qdqmm_gemm_tbblk", 1, 1, 48, 7, 0, 1.0f, NBITS_OPS, 1);
}

/* alpha 0.5 scales the products: not MatMulNBits' computation; stays float. */
Test(qdq_import_matmul, gemm_alpha_stays_float) {
    gemm_case("qdqmm_gemm_alpha", 1, 0, 16, 4, 1, 0.5f, "DequantizeLinear:1,Gemm:1,", 0);
}

/* K = 20 below one block of 32: a single partial block (12 padding codes in MatMulNBits). */
Test(qdq_import_matmul, blocked_k_below_block_size) {
    int64_t xd[2] = {3, 20};
    blocked_case("qdqmm_kbs", E_U4, 20, 3, 32, 0, 1, 2, xd, NBITS_OPS, 1);
}

/* block_size 512 over K = 600 (2 scale rows): MatMulNBits blocks of 256 (onnxruntime's
 * largest), 3 of them, the first two on scale row 0, the last on row 1. */
Test(qdq_import_matmul, blocked_512_split_into_blocks_of_256) {
    int64_t xd[2] = {2, 600};
    blocked_case("qdqmm_bs512", E_U4, 600, 3, 512, 0, 1, 2, xd, NBITS_OPS, 1);
}

/* block_size 2^20 over K = 40: one scale row, written as one MatMulNBits block of 64 (not a
 * block of 2^20 codes per column). */
Test(qdq_import_matmul, blocked_huge_block_size) {
    int64_t xd[2] = {2, 40};
    blocked_case("qdqmm_bshuge", E_I4, 40, 3, 1 << 20, 0, 1, 2, xd, NBITS_OPS, 1);
}

/* 8-bit uint8 codes blocked by 16 (axis -2, K = 80): MatMulNBits with bits 8. */
Test(qdq_import_matmul, blocked_uint8_codes) {
    int64_t xd[2] = {5, 80};
    blocked_case("qdqmm_u8blk", E_U8, 80, 9, 16, -2, 1, 2, xd, NBITS_OPS, 1);
}

/* 8-bit int8 codes (the full range: 8 bits after the move by 128), block 32. */
Test(qdq_import_matmul, blocked_int8_codes) {
    int64_t xd[2] = {2, 64};
    blocked_case("qdqmm_i8blk", E_I8, 64, 4, 32, 0, 1, 2, xd, NBITS_OPS, 1);
}

/* MatMul + Add(bias [N]), as exporters write a Linear: the bias joins MatMulNBits (input 5;
 * int4 without zero points: inputs 3 and 4 absent before it),
 * which adds it to each finished sum as the Add did. */
Test(qdq_import_matmul, blocked_with_bias_merged) {
    int64_t xd[3] = {2, 3, 32};
    blocked_case_bias("qdqmm_bias", E_I4, 32, 7, 16, 0, 0, 3, xd, NBITS_OPS, 1, 1);
}

/* A bias [1, N] could broadcast the output to another rank: the Add stays after MatMulNBits. */
Test(qdq_import_matmul, blocked_bias_of_rank_2_stays_an_add) {
    int64_t xd[2] = {3, 32};
    blocked_case_bias("qdqmm_bias2", E_U4, 32, 7, 16, 0, 1, 2, xd, "MatMulNBits:1,Add:1,", 1, 2);
}

/* Blocked along N (axis 1): MatMulNBits blocks along K only; stays float. */
Test(qdq_import_matmul, blocked_along_n_stays_float) {
    int64_t xd[2] = {3, 16};
    blocked_case("qdqmm_axis1", E_I4, 16, 32, 16, 1, 1, 2, xd, FLOAT_OPS, 0);
}

/* block_size 48 over K = 100 (scale rows of 48, 48, 4): MatMulNBits blocks of 16 (the
 * largest power of two dividing 48), each scale row over 3 of them. */
Test(qdq_import_matmul, blocked_48_as_blocks_of_16) {
    int64_t xd[2] = {2, 100};
    blocked_case("qdqmm_bs48", E_U4, 100, 5, 48, 0, 1, 2, xd, NBITS_OPS, 1);
}

/* block_size 24 is not a multiple of 16 (MatMulNBits' smallest block would straddle two
 * scales): stays float. */
Test(qdq_import_matmul, block_size_not_multiple_of_16_stays_float) {
    int64_t xd[2] = {2, 48};
    blocked_case("qdqmm_bs24", E_U4, 48, 4, 24, 0, 1, 2, xd, FLOAT_OPS, 0);
}

/* B's codes are a graph input, not a constant: nothing to pack ahead; stays float. */
Test(qdq_import_matmul, computed_weight_stays_float) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t sd[2] = {1, 3};
    float s[3] = {0.1f, 0.2f, 0.3f};
    init_f(g, "w_s", 2, sd, 3, s);
    Onnx__NodeProto *d = pb_add_node(g, pb_node("DequantizeLinear", "w_dq", "w,w_s", "w_dq"));
    pb_attr_int(d, "axis", 0);
    pb_attr_int(d, "block_size", 16);
    pb_add_node(g, pb_node("MatMul", "mm", "x,w_dq", "y"));
    pb_add_input(g, pb_value("x", E_F32, "2,16"));
    pb_add_input(g, pb_value("w", E_U8, "16,3"));
    pb_add_output(g, pb_value("y", E_F32, "2,3"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 21, "test", &len);
    expect_ops(m, len, FLOAT_OPS, 0);
    int64_t xd[2] = {2, 16}, wd[2] = {16, 3};
    uint8_t *w = pb_zalloc(48);
    for (int i = 0; i < 48; i++) w[i] = (uint8_t)(i * 37 % 16);
    OrtcInput in[2] = {{"x", {RT_F32, 2, {xd[0], xd[1]}, input_values(32, -2, 2, 5)}},
                       {"w", {RT_U8, 2, {wd[0], wd[1]}, w}}};
    /* both sum the same float32 products in their own orders: sum |a w| <= 16 * 2 * 15 * 0.3
     * = 144, and two orders of 16 terms differ by at most 2 * 15 * 2^-24 * 144 = 2.6e-4 */
    OrtcTol tol = {3e-4, 0, 0};
    if (!ortc_compare("qdqmm_computed", m, len, in, 2, &tol)) cr_skip_test("onnxruntime-node is not installed");
}

/* ---------------------------------------------------------------- emit-c */

/* emit-c imports QDQ files too (cli_model_load, unless --keep-qdq): a model with both new
 * groups, x -> Q/DQ -> MatMul(per-column int8 B) -> Q/DQ -> MatMul(blocked int4 B) ->
 * MatMul(blocked 8-bit uint8 B) -> y, emitted, compiled with the codegen harness and run,
 * against `wafer run` of the same file. The integer part is the same computation (integer
 * sums, float32 requantization); the MatMulNBits sums run in another order (bound below). */
Test(qdq_import_matmul, emit_c_uses_the_imported_kernels, .timeout = 120) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("compiles C: slow under the sanitizers");
    enum { M = 2, K = 12, H = 32, N = 5 };
    Onnx__GraphProto *g = pb_graph("g");
    qparams(g, "x", 0.02f, E_U8, 120);
    qparams(g, "h", 0.05f, E_U8, 128);
    weight_2d(g, "w", E_I8, K, H, 1);
    BlockedW v = weight_blocked(g, "v", E_I4, H, H, 16, 0, 1);
    BlockedW u = weight_blocked(g, "u", E_U8, H, N, 16, 0, 1);
    qdq(g, "x", "xd", "x");
    pb_add_node(g, pb_node("MatMul", "mm1", "xd,w_dq", "o"));
    qdq(g, "o", "hd", "h");
    pb_add_node(g, pb_node("MatMul", "mm2", "hd,v_dq", "z"));
    pb_add_node(g, pb_node("MatMul", "mm3", "z,u_dq", "y"));
    pb_add_input(g, pb_value("x", E_F32, "2,12"));
    pb_add_output(g, pb_value("y", E_F32, "2,5"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 21, "test", &len);
    expect_ops(m, len, "QuantizeLinear:1,QLinearMatMul:1,DequantizeLinear:1,MatMulNBits:2,", 3);

    static char log[65536];
    char dir[256], path[320];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "qdqmm_emitc"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    int rc = tu_run(log, sizeof log, WAFER_BIN " emit-c %s -o %s/c --prefix model", path, dir);
    cr_assert_eq(rc, 0, "emit-c (exit %d):\n%s", rc, log);
    rc = tu_run(log, sizeof log, "grep -c '^    wk_seq_qmm(&\\|^    wk_matmul_nbits(' %s/c/model.c", dir);
    cr_expect(rc == 0 && atoi(log) == 3, "the emitted C does not call the QLinearMatMul and MatMulNBits kernels:\n%s",
              log);
    rc = tu_run(log, sizeof log,
                "cc -std=c99 -O1 -Wall -Wextra -Werror -pedantic -I%s/c %s/c/model.c tests/codegen/emitc_harness.c "
                "-o %s/h -lm",
                dir, dir, dir);
    cr_assert_eq(rc, 0, "the emitted C does not compile:\n%s", log);
    RtTensor x = {RT_F32, 2, {M, K}, input_values(M * K, -2, 2, 7)};
    snprintf(path, sizeof path, "%s/x.bin", dir);
    f = fopen(path, "wb");
    cr_assert(f && fwrite(x.data, sizeof(float), M * K, f) == M * K && fclose(f) == 0);
    rc = tu_run(log, sizeof log, "%s/h %s/x.bin %s/y.bin", dir, dir, dir);
    cr_assert_eq(rc, 0, "the emitted model failed:\n%s", log);
    float yc[M * N];
    snprintf(path, sizeof path, "%s/y.bin", dir);
    f = fopen(path, "rb");
    cr_assert(f && fread(yc, sizeof(float), M * N, f) == M * N);
    fclose(f);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *mf = fopen(path, "rb");
    cr_assert(mf);
    fclose(mf);
    tu_tmpdir_remove(dir);
    RtTensor y = wafer_run("qdqmm_emitc_run", m, len, &x);
    /* |h| <= 128 * 0.05 (uint8 codes around 128), so |z| <= 6.4 * V1 with V1 = max_n sum_k |v_kn|,
     * and its sums' order moves z by SUM_ORDER_REL(H) of that; y = z @ U then moves by that
     * times U1 = max_n sum_j |u_jn|, plus its own sums' order: 2 SUM_ORDER_REL(H) 6.4 V1 U1. */
    double v1 = 0, u1 = 0;
    for (int n = 0; n < H; n++) {
        double sv = 0, su = 0;
        for (int k = 0; k < H; k++) sv += fabs(blocked_w(&v, k, n)), su += n < N ? fabs(blocked_w(&u, k, n)) : 0;
        v1 = fmax(v1, sv), u1 = fmax(u1, su);
    }
    double tol = 2 * SUM_ORDER_REL(H) * 6.4 * v1 * u1;
    for (int i = 0; i < M * N; i++)
        cr_expect(fabs(yc[i] - ((const float *)y.data)[i]) <= tol, "y[%d]: emitted C %.9g, wafer run %.9g", i, yc[i],
                  ((const float *)y.data)[i]);
    free(y.data);
}

/* ---------------------------------------------------------------- tinylm, end to end */

#define TINY FIXTURES "/tinylm/"

/* tinylm's logits, the same file run with the pass and without (DQ folded to float weights,
 * float MatMul): the same float32 weights in both, only each layer's sums in another order
 * (~1e-7 relative per sum), carried through 4 blocks of LayerNorm, attention and GELU.
 * Measured max |diff| / max |logit|: see the log; 1e-4 leaves a wide margin, while a wrong
 * layer moves the logits by their own size. Perplexity agrees to better than 1e-5, bound
 * 1e-4 (tests/e2e/test_onnx_export.c's PPL_SELF_REL_TOL for the same weights run two ways). */
#define TINYLM_LOGIT_REL_TOL 1e-4
#define TINYLM_PPL_REL_TOL 1e-4

/* logits [n, T, V] of the model at path, with or without the import; *nbits gets the
 * MatMulNBits count after it. */
static RtTensor tinylm_logits(const char *path, int import, const RtTensor *tokens, int *nbits) {
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert(g, "%s", err.msg);
    if (import) cr_assert_eq(pass_qdq_import(g, NULL, &err), RT_OK, "%s", err.msg);
    *nbits = 0;
    for (int k = 0; k < g->n_nodes; k++) *nbits += g->nodes[k].op == RT_OP_MATMUL_NBITS;
    cr_assert_eq(ir_bind_input(g, 0, tokens->rank, tokens->dims, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_simplify(g, &err), RT_OK, "%s", err.msg);
    IrLowered *l = ir_lower(g, &err);
    cr_assert(l, "%s", err.msg);
    RtTensor y;
    memset(&y, 0, sizeof y);
    cr_assert_eq(rt_graph_run(ir_lowered_graph(l), tokens, &y, NULL, &err), RT_OK, "%s", err.msg);
    ir_lowered_free(l);
    ir_graph_free(g);
    return y;
}

/* Perplexity of logits [n, T, V] on targets tokens[:, 1:] of the i64 [n, T + 1] windows. */
static double perplexity(const RtTensor *y, const int64_t *tok) {
    int64_t n = y->dims[0], T = y->dims[1], V = y->dims[2];
    double nll = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < T; t++) {
            const float *z = (const float *)y->data + (i * T + t) * V;
            double mx = z[0], s = 0;
            for (int64_t v = 1; v < V; v++) mx = fmax(mx, z[v]);
            for (int64_t v = 0; v < V; v++) s += exp(z[v] - mx);
            nll += mx + log(s) - z[tok[i * (T + 1) + t + 1]];
        }
    return exp(nll / (double)(n * T));
}

/* `wafer quantize --onnx-int4 dq` writes tinylm's 24 RTN 4-bit layers as blocked
 * DequantizeLinear -> MatMul (opset 21, UINT4, block 128); imported back, each becomes
 * MatMulNBits and the model gives the float-DQ path's logits and perplexity. */
Test(qdq_import_matmul, tinylm_rtn4_blocked_dq_round_trip, .timeout = 300) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("slow under the sanitizers");
    static char log[65536];
    char dir[256], onnx[320];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "qdqmm_tinylm"), 0);
    snprintf(onnx, sizeof onnx, "%s/rtn4dq.onnx", dir);
    int rc = tu_run(log, sizeof log,
                    WAFER_BIN " quantize " TINY "tinylm.onnx -o %s/rtn4.wafer --onnx %s --weights int4 --group 128 "
                              "--asym --onnx-int4 dq",
                    dir, onnx);
    cr_assert_eq(rc, 0, "quantize (exit %d):\n%s", rc, log);
    RtTensor all;
    RtError err = {{0}};
    cr_assert_eq(npy_read(TINY "tinylm_eval_tokens.npy", &all, &err), RT_OK, "%s", err.msg);
    int64_t n = all.dims[0], T = all.dims[1] - 1;
    RtTensor tok = {RT_I64, 2, {n, T}, malloc(sizeof(int64_t) * (size_t)(n * T))};
    for (int64_t i = 0; i < n; i++)
        memcpy((int64_t *)tok.data + i * T, (const int64_t *)all.data + i * (T + 1), sizeof(int64_t) * (size_t)T);
    int nb_imp = 0, nb_float = 0;
    RtTensor yi = tinylm_logits(onnx, 1, &tok, &nb_imp), yf = tinylm_logits(onnx, 0, &tok, &nb_float);
    cr_expect_eq(nb_imp, 24, "MatMulNBits after the import: %d, want tinylm's 24 quantized layers", nb_imp);
    cr_expect_eq(nb_float, 0);
    cr_assert_eq(rt_numel(&yi), rt_numel(&yf));
    double dmax = 0, amax = 0;
    for (int64_t i = 0; i < rt_numel(&yf); i++) {
        dmax = fmax(dmax, fabs((double)((float *)yi.data)[i] - ((float *)yf.data)[i]));
        amax = fmax(amax, fabs((double)((float *)yf.data)[i]));
    }
    double pi = perplexity(&yi, all.data), pf = perplexity(&yf, all.data);
    cr_log_info("tinylm RTN4 blocked DQ: logits max |diff| %.3g of max |logit| %.3g (%.2e); perplexity imported "
                "%.6f, float DQ %.6f",
                dmax, amax, dmax / amax, pi, pf);
    cr_expect(dmax <= TINYLM_LOGIT_REL_TOL * amax, "logits differ by %.3g (max |logit| %.3g)", dmax, amax);
    cr_expect(fabs(pi - pf) <= TINYLM_PPL_REL_TOL * pf, "perplexity %.6f imported, %.6f float DQ", pi, pf);
    /* the CLI imports it too: wafer eval's perplexity on the file is the imported one */
    char json[320];
    snprintf(json, sizeof json, "%s/e.json", dir);
    rc = tu_run(log, sizeof log, WAFER_BIN " eval %s --task lm --tokens " TINY "tinylm_eval_tokens.npy --json %s", onnx,
                json);
    cr_assert_eq(rc, 0, "eval (exit %d):\n%s", rc, log);
    double pc = tu_json_number(json, "perplexity");
    cr_expect(fabs(pc - pf) <= TINYLM_PPL_REL_TOL * pf, "wafer eval %.6f, float DQ %.6f", pc, pf);
    /* the imported graph exported (24 MatMulNBits with wafer's packing and merged biases) and
     * evaluated by onnxruntime's own MatMulNBits kernel (float A): the same perplexity */
    char re[320];
    snprintf(re, sizeof re, "%s/re.onnx", dir);
    rc = tu_run(log, sizeof log, WAFER_BIN " quantize %s --weights f32 --onnx %s", onnx, re);
    cr_assert_eq(rc, 0, "quantize --onnx (exit %d):\n%s", rc, log);
    rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js lm %s " TINY "tinylm_eval_tokens.npy > %s", re, json);
    if (rc != 3) {
        cr_assert_eq(rc, 0, "onnxruntime on the exported import (exit %d):\n%s", rc, log);
        double po = tu_json_number(json, "perplexity");
        cr_log_info("onnxruntime on the imported graph exported: perplexity %.6f", po);
        cr_expect(fabs(po - pf) <= TINYLM_PPL_REL_TOL * pf, "onnxruntime %.6f, float DQ %.6f", po, pf);
    }
    tu_tmpdir_remove(dir);
    free(all.data), free(tok.data), free(yi.data), free(yf.data);
}

/* The .wafer route: `wafer quantize --weights f32` of a blocked-DQ file keeps the imported
 * MatMulNBits (with its bias and without zero points: absent inputs 3 and 4), and the .wafer
 * file, run by the companion runtime, gives the .onnx run's bytes (the same kernel on the
 * same weights). */
Test(qdq_import_matmul, wafer_file_keeps_matmul_nbits) {
    Onnx__GraphProto *g = pb_graph("g");
    weight_blocked(g, "w", E_I4, 48, 6, 16, 0, 0);
    int64_t bd[1] = {6};
    init_f(g, "bias", 1, bd, 6, input_values(6, -1, 1, 3));
    pb_add_node(g, pb_node("MatMul", "mm", "x,w_dq", "o"));
    pb_add_node(g, pb_node("Add", "add", "o,bias", "y"));
    pb_add_input(g, pb_value("x", E_F32, "3,48"));
    pb_add_output(g, pb_value("y", E_F32, "3,6"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 21, "test", &len);
    static char log[65536];
    char dir[256], src[320];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "qdqmm_wafer"), 0);
    snprintf(src, sizeof src, "%s/m.onnx", dir);
    FILE *f = fopen(src, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    int rc = tu_run(log, sizeof log, WAFER_BIN " quantize %s -o %s/m.wafer --weights f32", src, dir);
    cr_assert_eq(rc, 0, "wafer quantize:\n%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " inspect %s/m.wafer", dir);
    cr_assert_eq(rc, 0, "wafer inspect:\n%s", log);
    cr_expect(strstr(log, "MatMulNBits") && !strstr(log, "DequantizeLinear") && !strstr(log, " Add "),
              "the .wafer file is not the imported graph:\n%s", log);
    RtTensor x = {RT_F32, 2, {3, 48}, input_values(144, -2, 2, 11)};
    char xp[320];
    snprintf(xp, sizeof xp, "%s/x.npy", dir);
    RtError err = {{0}};
    cr_assert_eq(npy_write(xp, &x, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " run %s/m.wafer --input x=%s --out %s/a", dir, xp, dir), 0, "%s",
                 log);
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " run %s --input x=%s --out %s/b", src, xp, dir), 0, "%s", log);
    cr_expect_eq(tu_run(log, sizeof log, "cmp %s/a/y.npy %s/b/y.npy", dir, dir), 0, ".wafer and .onnx differ");
    tu_tmpdir_remove(dir);
}
