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
    const void *p = t == T_I8    ? (const void *)&i8
                    : t == T_U8  ? (const void *)&u8
                    : t == T_I16 ? (const void *)&i16
                                 : (const void *)&u16;
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

/* ---- table ops: QLinearLeakyRelu, QLinearSigmoid ---- */

/* Sigmoid: onnxruntime's table applies MLAS's logistic approximation (a rational polynomial,
 * within a few float32 ulps of 1 / (1 + exp(-x))), wafer expf: a table entry lying at a
 * rounding tie of the output grid may land one step apart. */
static const OrtcTol SIGMOID_TOL = {0, 0, 1};
/* LeakyRelu: the same float32 products on both sides: exact. */
static const OrtcTol EXACT_TOL = {0, 0, 0};

static void table_case(const char *tag, const char *op, int t, int with_zp, float alpha, const OrtcTol *tol) {
    Onnx__GraphProto *g = pb_graph("g");
    /* without x_zp: onnxruntime 1.30 reads input 4 unchecked, so y_zp stays */
    Onnx__NodeProto *n = ms_node(g, op, with_zp ? "X,x_s,x_z,y_s,y_z" : "X,x_s,,y_s,y_z", "Y");
    if (alpha != 0.0f) pb_attr_float(n, "alpha", alpha);
    init_scale(g, "x_s", 0.047f);
    init_scale(g, "y_s", strcmp(op, "QLinearSigmoid") == 0 ? 1.0f / 256 : 0.031f);
    if (with_zp) init_zp(g, "x_z", t, t == T_U8 ? 140 : 9);
    init_zp(g, "y_z", t, t == T_U8 ? 100 : -20);
    pb_add_input(g, pb_value("X", t, "4,64"));
    pb_add_output(g, pb_value("Y", t, "4,64"));
    int64_t d[2] = {4, 64};
    uint8_t *x = pb_zalloc(256); /* every code once */
    for (int i = 0; i < 256; i++) x[i] = (uint8_t)i;
    OrtcInput in = input_of("X", t, 2, d, x);
    COMPARE(tag, g, &in, 1, tol);
}

Test(qlinear_contrib, qlinear_leaky_relu) {
    table_case("qlrelu_u8", "QLinearLeakyRelu", T_U8, 1, 0.2f, &EXACT_TOL);
    table_case("qlrelu_s8_default_alpha", "QLinearLeakyRelu", T_I8, 1, 0.0f, &EXACT_TOL);
    table_case("qlrelu_u8_no_zp", "QLinearLeakyRelu", T_U8, 0, 0.1f, &EXACT_TOL);
}
Test(qlinear_contrib, qlinear_sigmoid) {
    table_case("qsig_u8", "QLinearSigmoid", T_U8, 1, 0.0f, &SIGMOID_TOL);
    table_case("qsig_s8", "QLinearSigmoid", T_I8, 1, 0.0f, &SIGMOID_TOL);
    table_case("qsig_s8_no_zp", "QLinearSigmoid", T_I8, 0, 0.0f, &SIGMOID_TOL);
}

/* ---- QLinearConcat ---- */

static void concat_case(const char *tag, int t, int axis) {
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = ms_node(g, "QLinearConcat", "y_s,y_z,A,a_s,a_z,B,b_s,b_z,C,c_s,c_z", "Y");
    pb_attr_int(n, "axis", axis);
    init_scale(g, "y_s", 0.05f);
    init_zp(g, "y_z", t, t == T_U8 ? 128 : 0);
    init_scale(g, "a_s", 0.05f); /* the output's parameters: copied */
    init_zp(g, "a_z", t, t == T_U8 ? 128 : 0);
    init_scale(g, "b_s", 0.13f);
    init_zp(g, "b_z", t, t == T_U8 ? 90 : -30);
    int64_t cd[3] = {2, 3, 4};
    init_raw(g, "C", t, 3, cd, fill_q(t, 24, 77)); /* a constant input */
    init_scale(g, "c_s", 0.021f);
    init_zp(g, "c_z", t, t == T_U8 ? 200 : 50);
    int ax = axis < 0 ? axis + 3 : axis;
    int64_t ad[3] = {2, 3, 4}, bd[3] = {2, 3, 4};
    ad[ax] = 2, bd[ax] = 5;
    char as[32], bs[32], ys[32];
    snprintf(as, sizeof as, "%lld,%lld,%lld", (long long)ad[0], (long long)ad[1], (long long)ad[2]);
    snprintf(bs, sizeof bs, "%lld,%lld,%lld", (long long)bd[0], (long long)bd[1], (long long)bd[2]);
    int64_t yd[3] = {2, 3, 4};
    yd[ax] = ad[ax] + bd[ax] + cd[ax];
    snprintf(ys, sizeof ys, "%lld,%lld,%lld", (long long)yd[0], (long long)yd[1], (long long)yd[2]);
    pb_add_input(g, pb_value("A", t, as));
    pb_add_input(g, pb_value("B", t, bs));
    pb_add_output(g, pb_value("Y", t, ys));
    OrtcInput in[2] = {input_of("A", t, 3, ad, fill_q(t, ad[0] * ad[1] * ad[2], 5)),
                       input_of("B", t, 3, bd, fill_q(t, bd[0] * bd[1] * bd[2], 6))};
    COMPARE(tag, g, in, 2, &EXACT_TOL);
}

Test(qlinear_contrib, qlinear_concat) {
    concat_case("qconcat_u8_ax1", T_U8, 1);
    concat_case("qconcat_s8_ax_neg1", T_I8, -1);
    concat_case("qconcat_u8_ax0", T_U8, 0);
}

/* ---- QLinearWhere ---- */

Test(qlinear_contrib, qlinear_where_broadcasts) {
    for (int k = 0; k < 2; k++) {
        int t = k ? T_I8 : T_U8;
        Onnx__GraphProto *g = pb_graph("g");
        ms_node(g, "QLinearWhere", "cond,X,x_s,x_z,Y,y_s,y_z,z_s,z_z", "Z");
        init_scale(g, "x_s", 0.07f);
        init_zp(g, "x_z", t, t == T_U8 ? 120 : 3);
        init_scale(g, "y_s", 0.02f);
        init_zp(g, "y_z", t, t == T_U8 ? 135 : -3);
        init_scale(g, "z_s", 0.05f);
        init_zp(g, "z_z", t, t == T_U8 ? 128 : 0);
        pb_add_input(g, pb_value("cond", T_BOOL, "3,1"));
        pb_add_input(g, pb_value("X", t, "1,4"));
        pb_add_input(g, pb_value("Y", t, "3,4"));
        pb_add_output(g, pb_value("Z", t, "3,4"));
        int64_t dc[2] = {3, 1}, dx[2] = {1, 4}, dy[2] = {3, 4};
        uint8_t *cv = pb_zalloc(3);
        cv[0] = 1, cv[2] = 1;
        OrtcInput in[3] = {input_of("cond", T_BOOL, 2, dc, cv), input_of("X", t, 2, dx, fill_q(t, 4, 8)),
                           input_of("Y", t, 2, dy, fill_q(t, 12, 9))};
        COMPARE(k ? "qwhere_s8" : "qwhere_u8", g, in, 3, &EXACT_TOL);
    }
}

/* ---- QLinearAveragePool ---- */

/* The same float32 sums in the same window order and one division: exact but for a sum
 * whose last bit lands an average on the other side of a rounding tie. */
static const OrtcTol POOL_TOL = {0, 0, 1};

typedef struct {
    int t, cl, rank;           /* dtype, channels_last, 3 or 4 */
    int k0, k1, s, p;          /* kernel, stride, pad (all sides) */
    int include, ceil;         /* count_include_pad, ceil_mode */
    const char *auto_pad;      /* NULL = attribute absent */
    int no_zp;                 /* both zero points absent (0) */
} PoolCase;

static void pool_case(const char *tag, PoolCase k) {
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = ms_node(g, "QLinearAveragePool", k.no_zp ? "X,x_s,,y_s" : "X,x_s,x_z,y_s,y_z", "Y");
    int nsp = k.rank - 2;
    int64_t ks[2] = {k.k0, k.k1}, st[2] = {k.s, k.s}, pads[4] = {k.p, k.p, k.p, k.p};
    if (nsp == 1) ks[0] = k.k1;
    pb_attr_ints(n, "kernel_shape", (size_t)nsp, ks);
    pb_attr_ints(n, "strides", (size_t)nsp, st);
    if (k.auto_pad) pb_attr_str(n, "auto_pad", k.auto_pad);
    else if (k.p) pb_attr_ints(n, "pads", (size_t)(2 * nsp), pads);
    if (k.include) pb_attr_int(n, "count_include_pad", 1);
    if (k.ceil) pb_attr_int(n, "ceil_mode", 1);
    if (k.cl) pb_attr_int(n, "channels_last", 1);
    init_scale(g, "x_s", 0.043f);
    if (!k.no_zp) init_zp(g, "x_z", k.t, k.t == T_U8 ? 124 : -6);
    init_scale(g, "y_s", 0.019f);
    if (!k.no_zp) init_zp(g, "y_z", k.t, k.t == T_U8 ? 133 : 5);
    int64_t C = 3, H = 9, W = 8, xd[4];
    if (nsp == 2) {
        int64_t a[4] = {2, C, H, W}, b[4] = {2, H, W, C};
        memcpy(xd, k.cl ? b : a, sizeof a);
    } else {
        int64_t a[3] = {2, C, W}, b[3] = {2, W, C};
        memcpy(xd, k.cl ? b : a, sizeof a);
    }
    char xs[48];
    snprintf(xs, sizeof xs, nsp == 2 ? "%lld,%lld,%lld,%lld" : "%lld,%lld,%lld", (long long)xd[0], (long long)xd[1],
             (long long)xd[2], (long long)xd[3]);
    pb_add_input(g, pb_value("X", k.t, xs));
    pb_add_output(g, pb_value_typed("Y", pb_type_dims(k.t, -1, NULL)));
    int64_t numel = 1;
    for (int i = 0; i < k.rank; i++) numel *= xd[i];
    OrtcInput in = input_of("X", k.t, k.rank, xd, fill_q(k.t, numel, 31));
    COMPARE(tag, g, &in, 1, &POOL_TOL);
}

Test(qlinear_contrib, qlinear_average_pool_nchw) {
    pool_case("qap_u8_3x3", (PoolCase){T_U8, 0, 4, 3, 3, 1, 0, 0, 0, NULL});
    pool_case("qap_s8_pad_excl", (PoolCase){T_I8, 0, 4, 3, 2, 2, 1, 0, 0, NULL});
    pool_case("qap_u8_pad_incl", (PoolCase){T_U8, 0, 4, 3, 3, 2, 1, 1, 0, NULL});
    pool_case("qap_u8_ceil", (PoolCase){T_U8, 0, 4, 2, 2, 2, 0, 0, 1, NULL});
    pool_case("qap_s8_same_upper", (PoolCase){T_I8, 0, 4, 3, 3, 2, 0, 0, 0, "SAME_UPPER"});
    pool_case("qap_u8_1d", (PoolCase){T_U8, 0, 3, 1, 3, 2, 1, 0, 0, NULL});
}
Test(qlinear_contrib, qlinear_average_pool_channels_last) {
    pool_case("qap_u8_cl", (PoolCase){T_U8, 1, 4, 3, 3, 2, 1, 0, 0, NULL});
    pool_case("qap_s8_cl_incl", (PoolCase){T_I8, 1, 4, 2, 3, 1, 1, 1, 0, NULL});
    pool_case("qap_u8_cl_1d", (PoolCase){T_U8, 1, 3, 1, 2, 1, 0, 0, 0, NULL});
}

/* ---- MatMulIntegerToFloat, DynamicQuantizeMatMul ---- */

static void mmitf_case(const char *tag, int at, int bt, int per_col, int with_azp, int with_bias, int batched_b) {
    const int64_t K = 13, N = 6;
    Onnx__GraphProto *g = pb_graph("g");
    char ins[64];
    snprintf(ins, sizeof ins, "A,B,a_s,b_s,%s,b_z%s", with_azp ? "a_z" : "", with_bias ? ",bias" : "");
    ms_node(g, "MatMulIntegerToFloat", ins, "Y");
    int64_t bd2[2] = {K, N}, bd3[3] = {2, K, N}, nd[1] = {N};
    init_raw(g, "B", bt, batched_b ? 3 : 2, batched_b ? bd3 : bd2, fill_q(bt, (batched_b ? 2 : 1) * K * N, 17));
    init_scale(g, "a_s", 0.013f);
    if (with_azp) init_zp(g, "a_z", at, at == T_U8 ? 127 : 1);
    if (per_col) {
        init_raw(g, "b_s", T_F32, 1, nd, fill_f(N, 0.01f, 0.04f, 4));
        uint8_t *bz = pb_zalloc((size_t)N);
        for (int i = 0; i < N; i++) bz[i] = (uint8_t)(bt == T_U8 ? 125 + i : i - 2);
        init_raw(g, "b_z", bt, 1, nd, bz);
    } else {
        init_scale(g, "b_s", 0.021f);
        init_zp(g, "b_z", bt, bt == T_U8 ? 128 : -1);
    }
    if (with_bias) init_raw(g, "bias", T_F32, 1, nd, fill_f(N, -1, 1, 12));
    pb_add_input(g, pb_value("A", at, "2,3,13"));
    pb_add_output(g, pb_value("Y", T_F32, "2,3,6"));
    int64_t ad[3] = {2, 3, K};
    OrtcInput in = input_of("A", at, 3, ad, fill_q(at, 2 * 3 * K, 23));
    COMPARE(tag, g, &in, 1, &FLOAT_OUT_TOL);
}

Test(qlinear_contrib, matmul_integer_to_float) {
    mmitf_case("mmitf_u8s8_percol_bias", T_U8, T_I8, 1, 1, 1, 0);
    mmitf_case("mmitf_u8u8_no_azp", T_U8, T_U8, 0, 0, 0, 0);
    /* batched B: onnxruntime takes per-tensor b parameters only there */
    mmitf_case("mmitf_s8s8_batched_b", T_I8, T_I8, 0, 1, 1, 1);
}

Test(qlinear_contrib, dynamic_quantize_matmul) {
    for (int k = 0; k < 2; k++) {
        const int64_t K = 11, N = 5;
        Onnx__GraphProto *g = pb_graph("g");
        ms_node(g, "DynamicQuantizeMatMul", k ? "A,B,b_s,b_z,bias" : "A,B,b_s", "Y");
        int64_t bd[2] = {K, N}, nd[1] = {N};
        init_raw(g, "B", T_I8, 2, bd, fill_q(T_I8, K * N, 3));
        if (k) {
            init_raw(g, "b_s", T_F32, 1, nd, fill_f(N, 0.01f, 0.03f, 8));
            uint8_t *bz = pb_zalloc((size_t)N); /* symmetric weights: onnxruntime's x86 path wants zeros */
            init_raw(g, "b_z", T_I8, 1, nd, bz);
            init_raw(g, "bias", T_F32, 1, nd, fill_f(N, -0.5f, 0.5f, 2));
        } else {
            init_scale(g, "b_s", 0.02f);
        }
        pb_add_input(g, pb_value("A", T_F32, "4,11"));
        pb_add_output(g, pb_value("Y", T_F32, "4,5"));
        int64_t ad[2] = {4, K};
        OrtcInput in = input_of("A", T_F32, 2, ad, fill_f(4 * K, -2.0f, 3.0f, 41 + k));
        /* A's codes come from the same dynamic quantization (range, scale, rounding): the same
         * int32 sums, then float32 products */
        COMPARE(k ? "dqmm_percol_bias" : "dqmm", g, &in, 1, &FLOAT_OUT_TOL);
    }
}

/* ---- com.microsoft QuantizeLinear / DequantizeLinear ---- */

Test(qlinear_contrib, ms_quantize_dequantize_linear_int8_int16_per_axis) {
    const int ts[3] = {T_I8, T_I16, T_U16};
    for (int k = 0; k < 3; k++) {
        int t = ts[k];
        Onnx__GraphProto *g = pb_graph("g");
        Onnx__NodeProto *q = ms_node(g, "QuantizeLinear", "X,s,z", "Q");
        Onnx__NodeProto *d = pb_add_node(g, pb_node("DequantizeLinear", "dq", "Q,s,z", "Y"));
        d->domain = pb_str("com.microsoft");
        int64_t cd[1] = {3};
        if (k != 1) {
            pb_attr_int(q, "axis", 1);
            pb_attr_int(d, "axis", 1);
            init_raw(g, "s", T_F32, 1, cd, fill_f(3, 0.001f, 0.05f, 6 + k));
            int16_t zi[3] = {-3, 0, 4};
            uint16_t zu[3] = {30000, 32768, 1000};
            int8_t z8[3] = {-3, 0, 4};
            init_raw(g, "z", t, 1, cd, t == T_I8 ? (const void *)z8 : t == T_I16 ? (const void *)zi : (const void *)zu);
        } else {
            init_scale(g, "s", 0.0007f);
            init_zp(g, "z", t, -100);
        }
        pb_add_input(g, pb_value("X", T_F32, "2,3,5"));
        pb_add_output(g, pb_value("Q", t, "2,3,5"));
        pb_add_output(g, pb_value("Y", T_F32, "2,3,5"));
        int64_t xd[3] = {2, 3, 5};
        OrtcInput in = input_of("X", T_F32, 3, xd, fill_f(30, -40.0f, 40.0f, 3 + k));
        /* the ONNX ops' arithmetic on both sides: float32 division, ties to even, saturation */
        static const OrtcTol QDQ_TOL = {0, 0, 0};
        COMPARE(k == 0 ? "msqdq_s8_axis" : k == 1 ? "msqdq_s16" : "msqdq_u16_axis", g, &in, 1, &QDQ_TOL);
    }
}

/* ---- QLinearSoftmax ---- */

/* onnxruntime's algorithm step by step (table of exp in double, float32 sum and division);
 * its ln(FLT_MAX / D) may come from the float or the double log, moving the table's
 * values by an ulp, which moves an output sitting at a rounding tie by one step. */
static const OrtcTol SOFTMAX_Q_TOL = {0, 0, 1};

static void softmax_case(const char *tag, int t, int opset, int axis, int with_xzp) {
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = ms_node(g, "QLinearSoftmax", with_xzp ? "X,x_s,x_z,y_s,y_z" : "X,x_s,,y_s,y_z", "Y");
    pb_attr_int(n, "opset", opset);
    if (axis != 99) pb_attr_int(n, "axis", axis);
    init_scale(g, "x_s", 0.083f);
    if (with_xzp) init_zp(g, "x_z", t, t == T_U8 ? 128 : 0);
    init_scale(g, "y_s", 1.0f / 256);
    init_zp(g, "y_z", t, t == T_U8 ? 0 : -128);
    pb_add_input(g, pb_value("X", t, "2,3,5"));
    pb_add_output(g, pb_value("Y", t, "2,3,5"));
    int64_t d[3] = {2, 3, 5};
    OrtcInput in = input_of("X", t, 3, d, fill_q(t, 30, 61));
    COMPARE(tag, g, &in, 1, &SOFTMAX_Q_TOL);
}

Test(qlinear_contrib, qlinear_softmax_opset13) {
    softmax_case("qsm_u8_last", T_U8, 13, 99, 1);
    softmax_case("qsm_s8_axis1", T_I8, 13, 1, 1);
    softmax_case("qsm_u8_axis0_no_xzp", T_U8, 13, 0, 0);
}
Test(qlinear_contrib, qlinear_softmax_opset12_flattens) {
    softmax_case("qsm12_u8_default", T_U8, 12, 99, 1); /* axis -1, the schema's default */
    softmax_case("qsm12_u8_axis1", T_U8, 12, 1, 1);   /* over [3, 5] flattened */
    softmax_case("qsm12_s8_axis2", T_I8, 12, 2, 1);
}

/* ---- QLinearReduceMean (onnxruntime's CPU provider has no kernel: hand-computed) ---- */

/* `wafer run` on a one-node model; returns the output read back (caller frees .data). */
static RtTensor run_wafer(Onnx__GraphProto *g, OrtcInput *in, int n_in) {
    char dir[256], path[300], args[1200] = "", log[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "qlc_hand"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    size_t len, at = 0;
    uint8_t *m = pack(g, &len);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    RtError err = {{0}};
    for (int i = 0; i < n_in; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/in%d.npy", dir, i);
        cr_assert_eq(npy_write(p, &in[i].t, &err), RT_OK, "%s", err.msg);
        at += (size_t)snprintf(args + at, sizeof args - at, " --input %s=%s", in[i].name, p);
    }
    int rc = tu_run(log, sizeof log, WAFER_BIN " run %s%s --out %s/o", path, args, dir);
    cr_assert_eq(rc, 0, "wafer run: exit %d\n%s", rc, log);
    char o[320];
    snprintf(o, sizeof o, "%s/o/Y.npy", dir);
    RtTensor y;
    cr_assert_eq(npy_read(o, &y, &err), RT_OK, "%s", err.msg);
    tu_tmpdir_remove(dir);
    return y;
}

static Onnx__GraphProto *reduce_mean_model(int64_t n_axes, const int64_t *axes, int keepdims, const char *ydims) {
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = ms_node(g, "QLinearReduceMean", "X,x_s,x_z,y_s,y_z", "Y");
    pb_attr_ints(n, "axes", (size_t)n_axes, axes);
    pb_attr_int(n, "keepdims", keepdims);
    init_scale(g, "x_s", 0.1f);
    init_zp(g, "x_z", T_U8, 10);
    init_scale(g, "y_s", 0.05f);
    init_zp(g, "y_z", T_U8, 3);
    pb_add_input(g, pb_value("X", T_U8, "2,3"));
    pb_add_output(g, pb_value("Y", T_U8, ydims));
    return g;
}

Test(qlinear_contrib, qlinear_reduce_mean_by_hand) {
    int64_t d[2] = {2, 3};
    uint8_t *x = pb_zalloc(6);
    const uint8_t xv[6] = {10, 20, 31, 0, 255, 7};
    memcpy(x, xv, 6);
    OrtcInput in = input_of("X", T_U8, 2, d, x);
    /* rows minus zp 10: (0 + 10 + 21) / 3 * 0.1 / 0.05 = 20.67 -> 21 + 3;
     * (-10 + 245 - 3) / 3 * 0.1 / 0.05 = 154.67 -> 155 + 3 */
    int64_t ax1[1] = {1};
    RtTensor y = run_wafer(reduce_mean_model(1, ax1, 1, "2,1"), &in, 1);
    cr_expect(y.dtype == RT_U8 && y.rank == 2 && y.dims[0] == 2 && y.dims[1] == 1);
    cr_expect(((uint8_t *)y.data)[0] == 24 && ((uint8_t *)y.data)[1] == 158, "got %d %d", ((uint8_t *)y.data)[0],
              ((uint8_t *)y.data)[1]);
    free(y.data);
    /* both axes, keepdims 0: (31 + 232) / 6 * 2 = 87.67 -> 88 + 3 = 91, a scalar */
    int64_t ax01[2] = {0, -1};
    y = run_wafer(reduce_mean_model(2, ax01, 0, ""), &in, 1);
    cr_expect(y.rank == 0 && ((uint8_t *)y.data)[0] == 91, "rank %d value %d", y.rank, ((uint8_t *)y.data)[0]);
    free(y.data);
    /* axis 0, keepdims 0: columns (0 - 10) / 2 * 2 = -10 -> -7 -> clamped 0;
     * (10 + 245) / 2 * 2 = 255 -> 258 -> 255; (21 - 3) / 2 * 2 = 18 -> 21 */
    int64_t ax0[1] = {0};
    y = run_wafer(reduce_mean_model(1, ax0, 0, "3"), &in, 1);
    const uint8_t want[3] = {0, 255, 21};
    cr_expect(y.rank == 1 && y.dims[0] == 3 && memcmp(y.data, want, 3) == 0, "got %d %d %d", ((uint8_t *)y.data)[0],
              ((uint8_t *)y.data)[1], ((uint8_t *)y.data)[2]);
    free(y.data);
}

/* ---- com.microsoft QLinearConv (channels_last) ---- */

/* wafer's fast convolution requantizes with a fixed-point multiplier (QConv's), onnxruntime in
 * float32: a value within float rounding of a .5 tie may land one step apart. */
static const OrtcTol CONV_TOL = {0, 0, 1};

static void ms_conv_case(const char *tag, int t, int cl, int group, int k, int stride, int pad, int with_bias) {
    const int64_t C = 6, M = group == 6 ? 6 : 5, H = 7, W = 9;
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n =
        ms_node(g, "QLinearConv", with_bias ? "X,x_s,x_z,W,w_s,w_z,y_s,y_z,B" : "X,x_s,x_z,W,w_s,w_z,y_s,y_z", "Y");
    int64_t ks[2] = {k, k}, st[2] = {stride, stride}, pads[4] = {pad, pad, pad, pad};
    pb_attr_ints(n, "kernel_shape", 2, ks);
    pb_attr_ints(n, "strides", 2, st);
    pb_attr_ints(n, "pads", 4, pads);
    if (group > 1) pb_attr_int(n, "group", group);
    pb_attr_int(n, "channels_last", cl);
    int64_t wd[4] = {M, C / group, k, k}, md[1] = {M};
    init_scale(g, "x_s", 0.02f);
    init_zp(g, "x_z", t, t == T_U8 ? 128 : 0);
    init_raw(g, "W", T_I8, 4, wd, fill_q(T_I8, M * (C / group) * k * k, 13));
    init_raw(g, "w_s", T_F32, 1, md, fill_f(M, 0.002f, 0.006f, 3));
    init_raw(g, "w_z", T_I8, 1, md, pb_zalloc((size_t)M));
    init_scale(g, "y_s", 0.03f);
    init_zp(g, "y_z", t, t == T_U8 ? 120 : -3);
    if (with_bias) {
        int32_t *b = pb_zalloc(sizeof(int32_t) * (size_t)M);
        for (int i = 0; i < M; i++) b[i] = i * 301 - 700;
        init_raw(g, "B", T_I32, 1, md, b);
    }
    int64_t xd[4] = {2, cl ? H : C, cl ? W : H, cl ? C : W};
    char xs[48];
    snprintf(xs, sizeof xs, "%lld,%lld,%lld,%lld", (long long)xd[0], (long long)xd[1], (long long)xd[2],
             (long long)xd[3]);
    pb_add_input(g, pb_value("X", t, xs));
    pb_add_output(g, pb_value_typed("Y", pb_type_dims(t, -1, NULL)));
    OrtcInput in = input_of("X", t, 4, xd, fill_q(t, 2 * C * H * W, 29));
    COMPARE(tag, g, &in, 1, &CONV_TOL);
}

Test(qlinear_contrib, ms_qlinear_conv_channels_last) {
    ms_conv_case("msconv_u8_cl_3x3_s2", T_U8, 1, 1, 3, 2, 1, 1);
    ms_conv_case("msconv_u8_cl_dw", T_U8, 1, 6, 3, 1, 1, 1);
    ms_conv_case("msconv_u8_cl_1x1", T_U8, 1, 1, 1, 1, 0, 0);
    ms_conv_case("msconv_s8_cl_3x3", T_I8, 1, 1, 3, 1, 1, 1);
    ms_conv_case("msconv_u8_nchw", T_U8, 0, 1, 3, 1, 1, 1);
}

Test(qlinear_contrib, broken_concat_and_where_are_refused) {
    /* QLinearConcat with a (x, x_scale) pair missing its zero point: not whole triples */
    Onnx__GraphProto *g = pb_graph("g");
    ms_node(g, "QLinearConcat", "y_s,y_z,X,x_s,x_z,X,x_s", "Y");
    init_scale(g, "y_s", 0.1f);
    init_zp(g, "y_z", T_U8, 3);
    init_scale(g, "x_s", 0.1f);
    init_zp(g, "x_z", T_U8, 3);
    pb_add_input(g, pb_value("X", T_U8, "2,3"));
    pb_add_output(g, pb_value("Y", T_U8, "4,3"));
    int64_t d[2] = {2, 3};
    OrtcInput in = input_of("X", T_U8, 2, d, fill_q(T_U8, 6, 1));
    expect_refused(g, "QLinearConcat", "QLinearConcat with 7 inputs", &in);
    /* QLinearWhere whose z_zero_point is int8 for uint8 X and Y */
    g = pb_graph("g");
    ms_node(g, "QLinearWhere", "c,X,x_s,x_z,X,x_s,x_z,x_s,z_z", "Y");
    uint8_t cv[3] = {1, 0, 1};
    int64_t cd[1] = {3};
    init_raw(g, "c", T_BOOL, 1, cd, cv);
    init_scale(g, "x_s", 0.1f);
    init_zp(g, "x_z", T_U8, 3);
    init_zp(g, "z_z", T_I8, 3);
    pb_add_input(g, pb_value("X", T_U8, "2,3"));
    pb_add_output(g, pb_value("Y", T_U8, "2,3"));
    expect_refused(g, "QLinearWhere", "QLinearWhere with an int8 z_zero_point", &in);
}

/* QLinearAveragePool without zero points (0): onnxruntime 1.30's type inference refuses the
 * node, so by hand: the 2x2 window of 10 20 30 50 at scale 0.1 averages 2.75, / 0.05 = 55. */
Test(qlinear_contrib, qlinear_average_pool_without_zero_points_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = ms_node(g, "QLinearAveragePool", "X,x_s,,y_s", "Y");
    int64_t ks[2] = {2, 2};
    pb_attr_ints(n, "kernel_shape", 2, ks);
    init_scale(g, "x_s", 0.1f);
    init_scale(g, "y_s", 0.05f);
    pb_add_input(g, pb_value("X", T_U8, "1,1,2,2"));
    pb_add_output(g, pb_value("Y", T_U8, "1,1,1,1"));
    int64_t d[4] = {1, 1, 2, 2};
    uint8_t *x = pb_zalloc(4);
    x[0] = 10, x[1] = 20, x[2] = 30, x[3] = 50;
    OrtcInput in = input_of("X", T_U8, 4, d, x);
    RtTensor y = run_wafer(g, &in, 1);
    cr_expect(y.dtype == RT_U8 && rt_numel(&y) == 1 && ((uint8_t *)y.data)[0] == 55, "got %d", ((uint8_t *)y.data)[0]);
    free(y.data);
}
