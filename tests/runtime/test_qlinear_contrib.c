/*
 * test_qlinear_contrib.c — onnxruntime's quantized com.microsoft ops (runtime/kernels/ref/
 * qlinear_contrib*.c and their int8 fast paths) against onnxruntime itself: each case is a
 * one-node model built with onnx_proto_build.h (importing com.microsoft), run by
 * onnxruntime-node and by `wafer run` on the same inputs (tests/ort_compare.h), covering
 * int8 and uint8, per-tensor and per-channel parameters, every attribute and optional input.
 * Bad nodes (a zero point whose dtype is not its tensor's, a missing scale) must fail with
 * exit status 2 and a message naming the node and the op.
 * Cases skip with a message where onnxruntime-node is not installed.
 */
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

#include <unistd.h>

TestSuite(qlinear_contrib, .fini = pb_release_all);

enum { T_F32 = 1, T_U8 = 2, T_I8 = 3, T_U16 = 4, T_I16 = 5, T_I32 = 6, T_BOOL = 9 };

/* Requantized integer outputs: onnxruntime's x86 kernels and wafer's fast int8 kernels
 * (fixed-point multipliers, integer averages) may resolve a value lying within float
 * rounding of a .5 tie differently: one step at most. */
static const OrtcTol REQUANT_TOL = {0, 0, 1};
/* Float outputs of integer sums times a float32 scale: the same int32 sum, one float32
 * product (or two, alpha * scales): a few ulps. */
static const OrtcTol FLOAT_OUT_TOL = {1e-6, 1e-5, 0};

/* ---- model building ---- */

static Onnx__NodeProto *ms_node(Onnx__GraphProto *g, const char *op, const char *ins, const char *outs) {
    Onnx__NodeProto *n = pb_add_node(g, pb_node(op, "qnode", ins, outs));
    n->domain = pb_str("com.microsoft");
    return n;
}

static size_t dtype_bytes(int t) {
    return t == T_F32 || t == T_I32 ? 4 : t == T_U16 || t == T_I16 ? 2 : 1;
}

/* An initializer of dtype t, shape dims[rank] ("" rank 0 = scalar), raw bytes from data. */
static void init_raw(Onnx__GraphProto *g, const char *name, int t, int rank, const int64_t *dims, const void *data) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    pb_tensor_raw(pb_add_init(g, pb_tensor(name, t, (size_t)rank, dims)), data, (size_t)n * dtype_bytes(t));
}

static void init_scale(Onnx__GraphProto *g, const char *name, float v) { init_raw(g, name, T_F32, 0, NULL, &v); }

static void init_zp(Onnx__GraphProto *g, const char *name, int t, int v) {
    int8_t i8 = (int8_t)v;
    uint8_t u8 = (uint8_t)v;
    int16_t i16 = (int16_t)v;
    uint16_t u16 = (uint16_t)v;
    const void *p = t == T_I8 ? (const void *)&i8 : t == T_U8 ? (const void *)&u8 : t == T_I16 ? (const void *)&i16 : (const void *)&u16;
    init_raw(g, name, t, 0, NULL, p);
}

/* Deterministic bytes: values of dtype t spread over its whole range. */
static void *fill_q(int t, int64_t n, uint32_t seed) {
    size_t b = dtype_bytes(t);
    uint8_t *p = pb_zalloc((size_t)n * b);
    for (int64_t i = 0; i < n * (int64_t)b; i++) p[i] = (uint8_t)((seed = seed * 1664525u + 1013904223u) >> 24);
    return p;
}

static float *fill_f(int64_t n, float lo, float hi, uint32_t seed) {
    float *p = pb_zalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        p[i] = lo + (hi - lo) * (float)((seed = seed * 1664525u + 1013904223u) >> 8) / (float)(1 << 24);
    return p;
}

static RtDtype rt_of(int t) {
    return t == T_U8 ? RT_U8 : t == T_I8 ? RT_I8 : t == T_F32 ? RT_F32 : t == T_I32 ? RT_I32 : t == T_BOOL ? RT_BOOL
         : t == T_I16 ? RT_I16 : RT_U16;
}

static OrtcInput input_of(const char *name, int t, int rank, const int64_t *dims, void *data) {
    OrtcInput in = {name, {.dtype = rt_of(t), .rank = rank, .data = data}};
    memcpy(in.t.dims, dims, sizeof(int64_t) * (size_t)rank);
    return in;
}

static uint8_t *pack(Onnx__GraphProto *g, size_t *len) {
    return pb_model_pack_domain(g, 8, 17, "com.microsoft", 1, "test", len);
}

/* Runs a one-model comparison, skipping when onnxruntime is missing. */
#define COMPARE(tag, g, ins, n_in, tol)                                                    \
    do {                                                                                   \
        size_t len_;                                                                       \
        uint8_t *m_ = pack(g, &len_);                                                      \
        if (!ortc_compare(tag, m_, len_, ins, n_in, tol)) cr_skip_test("onnxruntime-node is not installed"); \
    } while (0)

/* ---- QGemm ---- */

typedef struct {
    int ta, tb;          /* transA, transB */
    float alpha;         /* 1 = attribute absent */
    int at, bt;          /* A's and B's dtypes */
    int per_col;         /* b_scale / b_zp of size N */
    int c_rank;          /* -1 no C; 0 scalar; 1 [N]; 2 [M, N]; 3 [M, 1]; 4 [1, N] */
    int y_mode;          /* 0 y_scale + y_zp (quantized); 1 neither (float); 2 y_scale only (float) */
} QgemmCase;

static void qgemm_case(const char *tag, QgemmCase k) {
    const int64_t M = 5, K = 19, N = 7;
    Onnx__GraphProto *g = pb_graph("g");
    char ins[160] = "A,a_s,a_z,B,b_s,b_z";
    if (k.c_rank >= 0 || k.y_mode != 1) strcat(ins, k.c_rank >= 0 ? ",C" : ",");
    if (k.y_mode == 0) strcat(ins, ",y_s,y_z");
    if (k.y_mode == 2) strcat(ins, ",y_s");
    Onnx__NodeProto *n = ms_node(g, "QGemm", ins, "Y");
    if (k.ta) pb_attr_int(n, "transA", 1);
    if (k.tb) pb_attr_int(n, "transB", 1);
    if (k.alpha != 1.0f) pb_attr_float(n, "alpha", k.alpha);
    int64_t ad[2] = {k.ta ? K : M, k.ta ? M : K}, bd[2] = {k.tb ? N : K, k.tb ? K : N}, nd[1] = {N};
    init_scale(g, "a_s", 0.05f);
    init_zp(g, "a_z", k.at, k.at == T_U8 ? 131 : -3);
    init_raw(g, "B", k.bt, 2, bd, fill_q(k.bt, K * N, 11));
    if (k.per_col) {
        float *bs = fill_f(N, 0.01f, 0.03f, 5);
        uint8_t *bz = fill_q(k.bt, N, 9);
        for (int i = 0; i < N; i++) bz[i] = (uint8_t)(k.bt == T_U8 ? 120 + i : (uint8_t)(int8_t)(i - 3));
        init_raw(g, "b_s", T_F32, 1, nd, bs);
        init_raw(g, "b_z", k.bt, 1, nd, bz);
    } else {
        init_scale(g, "b_s", 0.02f);
        init_zp(g, "b_z", k.bt, k.bt == T_U8 ? 128 : 2);
    }
    if (k.c_rank >= 0) {
        int64_t cd[2] = {k.c_rank == 4 ? 1 : k.c_rank == 1 ? N : M, k.c_rank == 3 ? 1 : N};
        int cr = k.c_rank == 0 ? 0 : k.c_rank == 1 ? 1 : 2;
        int64_t cn = cr == 0 ? 1 : cr == 1 ? N : cd[0] * cd[1];
        int32_t *c = pb_zalloc(sizeof(int32_t) * (size_t)cn);
        for (int64_t i = 0; i < cn; i++) c[i] = (int32_t)(i * 977 % 4001) - 2000;
        init_raw(g, "C", T_I32, cr, cd, c);
    }
    int yt = k.at;
    if (k.y_mode != 1) init_scale(g, "y_s", 0.35f);
    if (k.y_mode == 0) init_zp(g, "y_z", yt, yt == T_U8 ? 125 : -5);
    pb_add_input(g, pb_value("A", k.at, k.ta ? "19,5" : "5,19"));
    pb_add_output(g, pb_value("Y", k.y_mode == 0 ? yt : T_F32, "5,7"));
    OrtcInput in = input_of("A", k.at, 2, ad, fill_q(k.at, M * K, 3));
    COMPARE(tag, g, &in, 1, k.y_mode == 0 ? &REQUANT_TOL : &FLOAT_OUT_TOL);
}

Test(qlinear_contrib, qgemm_u8s8_per_tensor_bias_n) {
    qgemm_case("qgemm_u8s8", (QgemmCase){0, 0, 1.0f, T_U8, T_I8, 0, 1, 0});
}
Test(qlinear_contrib, qgemm_u8u8_per_column_transB_alpha) {
    qgemm_case("qgemm_u8u8", (QgemmCase){0, 1, 0.75f, T_U8, T_U8, 1, 1, 0});
}
Test(qlinear_contrib, qgemm_s8s8_transA_bias_mn) {
    qgemm_case("qgemm_s8s8", (QgemmCase){1, 0, 1.0f, T_I8, T_I8, 0, 2, 0});
}
Test(qlinear_contrib, qgemm_s8s8_per_column_both_transposed_bias_m1) {
    qgemm_case("qgemm_s8s8_t", (QgemmCase){1, 1, 1.0f, T_I8, T_I8, 1, 3, 0});
}
Test(qlinear_contrib, qgemm_scalar_bias_and_1n_bias) {
    qgemm_case("qgemm_c0", (QgemmCase){0, 1, 1.0f, T_U8, T_I8, 1, 0, 0});
    qgemm_case("qgemm_c1n", (QgemmCase){0, 0, 1.5f, T_I8, T_I8, 0, 4, 0});
}
Test(qlinear_contrib, qgemm_no_bias) {
    qgemm_case("qgemm_nob", (QgemmCase){0, 1, 1.0f, T_U8, T_I8, 1, -1, 0});
}
Test(qlinear_contrib, qgemm_float_output) {
    qgemm_case("qgemm_f", (QgemmCase){0, 0, 1.0f, T_U8, T_I8, 1, 1, 1});
    qgemm_case("qgemm_fa", (QgemmCase){1, 1, 0.5f, T_I8, T_I8, 0, -1, 1});
}
Test(qlinear_contrib, qgemm_float_output_divided_by_y_scale) {
    qgemm_case("qgemm_fy", (QgemmCase){0, 1, 2.0f, T_U8, T_I8, 1, 1, 2});
}

/* ---- QLinearGlobalAveragePool ---- */

static void qgap_case(const char *tag, int t, int channels_last, int rank) {
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = ms_node(g, "QLinearGlobalAveragePool", "X,x_s,x_z,y_s,y_z", "Y");
    if (channels_last >= 0) pb_attr_int(n, "channels_last", channels_last);
    int cl = channels_last > 0;
    int64_t d4[4] = {2, 6, 5, 7}, d4c[4] = {2, 5, 7, 6}, d3[3] = {2, 6, 9}, d3c[3] = {2, 9, 6};
    const int64_t *xd = rank == 4 ? (cl ? d4c : d4) : (cl ? d3c : d3);
    int64_t yd[4];
    for (int i = 0; i < rank; i++) yd[i] = (cl ? (i == 0 || i == rank - 1) : i < 2) ? xd[i] : 1;
    char xs[64], ys[64];
    snprintf(xs, sizeof xs, rank == 4 ? "%lld,%lld,%lld,%lld" : "%lld,%lld,%lld", (long long)xd[0], (long long)xd[1],
             (long long)xd[2], (long long)(rank == 4 ? xd[3] : 0));
    snprintf(ys, sizeof ys, rank == 4 ? "%lld,%lld,%lld,%lld" : "%lld,%lld,%lld", (long long)yd[0], (long long)yd[1],
             (long long)yd[2], (long long)(rank == 4 ? yd[3] : 0));
    init_scale(g, "x_s", 0.037f);
    init_zp(g, "x_z", t, t == T_U8 ? 118 : -7);
    init_scale(g, "y_s", 0.011f);
    init_zp(g, "y_z", t, t == T_U8 ? 130 : 4);
    pb_add_input(g, pb_value("X", t, xs));
    pb_add_output(g, pb_value("Y", t, ys));
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) numel *= xd[i];
    OrtcInput in = input_of("X", t, rank, xd, fill_q(t, numel, 21));
    COMPARE(tag, g, &in, 1, &REQUANT_TOL);
}

Test(qlinear_contrib, qlinear_global_average_pool_nchw) {
    qgap_case("qgap_u8", T_U8, -1, 4);
    qgap_case("qgap_s8", T_I8, 0, 4);
    qgap_case("qgap_u8_1d", T_U8, 0, 3);
}
Test(qlinear_contrib, qlinear_global_average_pool_channels_last) {
    qgap_case("qgap_u8_cl", T_U8, 1, 4);
    qgap_case("qgap_s8_cl", T_I8, 1, 3);
}

/* ---- bad nodes ---- */

/* `wafer run` on the packed model: exit 2 and a message naming the node and the op. */
static void expect_refused(Onnx__GraphProto *g, const char *op, const char *what, OrtcInput *in) {
    char dir[256], path[300], inp[300], log[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "qlc_bad"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    snprintf(inp, sizeof inp, "%s/x.npy", dir);
    size_t len;
    uint8_t *m = pack(g, &len);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    RtError err = {{0}};
    cr_assert_eq(npy_write(inp, &in->t, &err), RT_OK, "%s", err.msg);
    int rc = tu_run(log, sizeof log, WAFER_BIN " run %s --input %s=%s --out %s/o", path, in->name, inp, dir);
    cr_expect_eq(rc, 2, "%s: exit %d, expected 2:\n%s", what, rc, log);
    cr_expect(strstr(log, "qnode") && strstr(log, op), "%s: message names neither node nor op:\n%s", what, log);
    char o[320];
    snprintf(o, sizeof o, "%s/o/Y.npy", dir);
    cr_expect(access(o, F_OK) != 0, "%s: an output was written", what);
    tu_tmpdir_remove(dir);
}

Test(qlinear_contrib, zero_point_of_another_dtype_is_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    ms_node(g, "QLinearGlobalAveragePool", "X,x_s,x_z,y_s,y_z", "Y");
    init_scale(g, "x_s", 0.1f);
    init_zp(g, "x_z", T_I8, 3); /* X is uint8 */
    init_scale(g, "y_s", 0.1f);
    init_zp(g, "y_z", T_U8, 3);
    pb_add_input(g, pb_value("X", T_U8, "1,2,3,3"));
    pb_add_output(g, pb_value("Y", T_U8, "1,2,1,1"));
    int64_t d[4] = {1, 2, 3, 3};
    OrtcInput in = input_of("X", T_U8, 4, d, fill_q(T_U8, 18, 1));
    expect_refused(g, "QLinearGlobalAveragePool", "x_zero_point int8 for a uint8 X", &in);

    g = pb_graph("g");
    ms_node(g, "QGemm", "A,a_s,a_z,B,b_s,b_z", "Y");
    int64_t bd[2] = {3, 2};
    init_scale(g, "a_s", 0.1f);
    init_zp(g, "a_z", T_U8, 3);
    init_raw(g, "B", T_I8, 2, bd, fill_q(T_I8, 6, 2));
    init_scale(g, "b_s", 0.1f);
    init_zp(g, "b_z", T_U8, 0); /* B is int8 */
    pb_add_input(g, pb_value("A", T_U8, "2,3"));
    pb_add_output(g, pb_value("Y", T_F32, "2,2"));
    int64_t ad[2] = {2, 3};
    in = input_of("A", T_U8, 2, ad, fill_q(T_U8, 6, 4));
    expect_refused(g, "QGemm", "b_zero_point uint8 for an int8 B", &in);
}

Test(qlinear_contrib, missing_scale_is_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    ms_node(g, "QGemm", "A,,a_z,B,b_s,b_z", "Y");
    int64_t bd[2] = {3, 2};
    init_zp(g, "a_z", T_U8, 3);
    init_raw(g, "B", T_I8, 2, bd, fill_q(T_I8, 6, 2));
    init_scale(g, "b_s", 0.1f);
    init_zp(g, "b_z", T_I8, 0);
    pb_add_input(g, pb_value("A", T_U8, "2,3"));
    pb_add_output(g, pb_value("Y", T_F32, "2,2"));
    int64_t ad[2] = {2, 3};
    OrtcInput in = input_of("A", T_U8, 2, ad, fill_q(T_U8, 6, 4));
    expect_refused(g, "QGemm", "QGemm without a_scale", &in);
}
