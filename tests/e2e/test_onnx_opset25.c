/*
 * test_onnx_opset25.c — models of default-domain opsets 24 and 25 (ONNX 1.19 / 1.20, IR
 * versions 12 / 13) run by wafer and by onnxruntime-node 1.30 (which runs opsets up to 26 and
 * IR up to 13), every output compared (tests/ort_compare.h): ops wafer already ran whose
 * newest version only widened types, and the ops opset 24 added. Skips where onnxruntime-node
 * is not installed.
 */
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(onnx_opset25, .fini = pb_release_all);

/* MatMul of K = 5 terms, then Softmax: both compute in float32 with their own summation
 * order, a few ulps of values of magnitude <= 4; TopK and shapes are exact. */
static const OrtcTol FLOAT_TOL = {1e-6, 1e-5, 0};

static uint32_t lcg = 7;
static float rnd(void) { return (float)((lcg = lcg * 1664525u + 1013904223u) >> 8) / (1 << 24) * 2 - 1; }

static Onnx__TensorProto *init_floats(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    float *v = pb_zalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = rnd();
    return pb_tensor_floats(pb_add_init(g, pb_tensor(name, 1, (size_t)rank, dims)), (size_t)n, v);
}

static Onnx__TensorProto *init_ints(Onnx__GraphProto *g, const char *name, size_t n, const int64_t *v) {
    int64_t d = (int64_t)n;
    return pb_tensor_raw(pb_add_init(g, pb_tensor(name, RT_I64, 1, &d)), v, sizeof(int64_t) * n);
}

/* Opset 24 at IR 12: MatMul, Add, Softmax, TopK (version 24: bfloat16 added), Reshape,
 * Transpose, Cast (24: float8e8m0 added) — versions that only widened types. */
Test(onnx_opset25, opset24_ir12_model_agrees_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t wd[2] = {5, 4}, bd[1] = {4}, k = 2, shape[3] = {3, 2, 2};
    init_floats(g, "W", 2, wd);
    init_floats(g, "b", 1, bd);
    init_ints(g, "k", 1, &k);
    init_ints(g, "shape", 3, shape);
    pb_add_node(g, pb_node("MatMul", "mm", "x,W", "xw"));
    pb_add_node(g, pb_node("Add", "add", "xw,b", "h"));
    pb_attr_int(pb_add_node(g, pb_node("Softmax", "sm", "h", "p")), "axis", -1);
    pb_attr_int(pb_add_node(g, pb_node("TopK", "top", "h,k", "tv,ti")), "axis", -1);
    pb_add_node(g, pb_node("Reshape", "rs", "p,shape", "r"));
    int64_t perm[3] = {2, 0, 1};
    pb_attr_ints(pb_add_node(g, pb_node("Transpose", "tr", "r", "t")), "perm", 3, perm);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "cast", "ti", "ci")), "to", RT_I32);
    pb_add_input(g, pb_value("x", 1, "3,5"));
    pb_add_output(g, pb_value("t", 1, "2,3,2"));
    pb_add_output(g, pb_value("tv", 1, "3,2"));
    pb_add_output(g, pb_value("ci", RT_I32, "3,2"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 12, 24, "test_onnx_opset25", &len);
    float x[15];
    for (int i = 0; i < 15; i++) x[i] = 2 * rnd();
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 2, .dims = {3, 5}, .data = x}};
    if (!ortc_compare("wafer_opset24", m, len, &in, 1, &FLOAT_TOL)) cr_skip_test("onnxruntime-node is not installed");
}

/* Opset 25 at IR 13: the ops whose version 25 added uint2/int2 — Unsqueeze, Pad, Flatten,
 * Squeeze, Identity, Shape, Size, DequantizeLinear (blocked int8) — on 8-bit and float data. */
Test(onnx_opset25, opset25_ir13_model_agrees_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t ax0 = 0, pads[4] = {0, 1, 0, 2}, qd[2] = {3, 4}, sd[2] = {3, 2};
    init_ints(g, "ax0", 1, &ax0);
    init_ints(g, "pads", 4, pads);
    int8_t q[12] = {-128, -7, 0, 5, 127, 3, -1, 9, 64, -64, 2, -3};
    pb_tensor_raw(pb_add_init(g, pb_tensor("q", RT_I8, 2, qd)), q, sizeof q);
    init_floats(g, "qs", 2, sd);
    pb_add_node(g, pb_node("Unsqueeze", "uq", "x,ax0", "xu"));
    pb_attr_str(pb_add_node(g, pb_node("Pad", "pad", "x,pads", "xp")), "mode", "reflect");
    pb_attr_int(pb_add_node(g, pb_node("Flatten", "fl", "xu", "xf")), "axis", 2);
    pb_add_node(g, pb_node("Squeeze", "sq", "xu,ax0", "xs"));
    pb_add_node(g, pb_node("Identity", "id", "xs", "xi"));
    pb_add_node(g, pb_node("Shape", "shp", "xp", "sh"));
    pb_add_node(g, pb_node("Size", "sz", "xf", "n"));
    Onnx__NodeProto *dq = pb_add_node(g, pb_node("DequantizeLinear", "dq", "q,qs", "w"));
    pb_attr_int(dq, "axis", 1);
    pb_attr_int(dq, "block_size", 2);
    pb_add_input(g, pb_value("x", 1, "3,4"));
    pb_add_output(g, pb_value("xp", 1, "3,7"));
    pb_add_output(g, pb_value("xf", 1, "3,4"));
    pb_add_output(g, pb_value("xi", 1, "3,4"));
    pb_add_output(g, pb_value("sh", RT_I64, "2"));
    pb_add_output(g, pb_value("n", RT_I64, ""));
    pb_add_output(g, pb_value("w", 1, "3,4"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 25, "test_onnx_opset25", &len);
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = rnd();
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 2, .dims = {3, 4}, .data = x}};
    if (!ortc_compare("wafer_opset25", m, len, &in, 1, &FLOAT_TOL)) cr_skip_test("onnxruntime-node is not installed");
}

/* Swish (opset 24) = x * sigmoid(alpha x), default alpha and alpha = 1.5, on an odd shape
 * with values in [-8, 8). Both evaluate exp in float32 (wafer's sigmoid picks the form that
 * cannot overflow): a few ulps. */
static const OrtcTol SWISH_TOL = {1e-6, 4e-6, 0};

Test(onnx_opset25, swish_agrees_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_node(g, pb_node("Swish", "s1", "x", "y1"));
    pb_attr_float(pb_add_node(g, pb_node("Swish", "s2", "x", "y2")), "alpha", 1.5f);
    pb_attr_float(pb_add_node(g, pb_node("Swish", "s3", "x", "y3")), "alpha", -0.25f);
    pb_add_input(g, pb_value("x", 1, "3,7,5"));
    pb_add_output(g, pb_value("y1", 1, "3,7,5"));
    pb_add_output(g, pb_value("y2", 1, "3,7,5"));
    pb_add_output(g, pb_value("y3", 1, "3,7,5"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 12, 24, "test_onnx_opset25", &len);
    float x[105];
    for (int i = 0; i < 105; i++) x[i] = 8 * rnd();
    x[0] = 0, x[1] = -0.0f, x[2] = 80, x[3] = -80; /* sigmoid saturating both ways */
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 3, .dims = {3, 7, 5}, .data = x}};
    if (!ortc_compare("wafer_swish", m, len, &in, 1, &SWISH_TOL)) cr_skip_test("onnxruntime-node is not installed");
}

/* Swish's value by hand: 2 * sigmoid(2) = 2 / (1 + e^-2) = 1.76159415..., and with alpha = -1
 * -1 * sigmoid(1) = -0.73105857...; float32 rounding of the exp and the division: 1e-6. */
Test(onnx_opset25, swish_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_attr_float(pb_add_node(g, pb_node("Swish", "s", "x", "y")), "alpha", -1.0f);
    pb_add_node(g, pb_node("Swish", "s1", "x", "z"));
    pb_add_input(g, pb_value("x", 1, "2"));
    pb_add_output(g, pb_value("y", 1, "2"));
    pb_add_output(g, pb_value("z", 1, "2"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 12, 24, "test_onnx_opset25", &len);
    char dir[256], path[300], log[4096];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_swish_hand"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    float x[2] = {2, -1};
    RtTensor t = {.dtype = RT_F32, .rank = 1, .dims = {2}, .data = x};
    RtError err = {{0}};
    char xp[320];
    snprintf(xp, sizeof xp, "%s/x.npy", dir);
    cr_assert_eq(npy_write(xp, &t, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " run %s --input x=%s --out %s", path, xp, dir), 0, "%s", log);
    RtTensor y, z;
    snprintf(xp, sizeof xp, "%s/y.npy", dir);
    cr_assert_eq(npy_read(xp, &y, &err), RT_OK, "%s", err.msg);
    snprintf(xp, sizeof xp, "%s/z.npy", dir);
    cr_assert_eq(npy_read(xp, &z, &err), RT_OK, "%s", err.msg);
    /* alpha = -1: x * sigmoid(-x): 2 * sigmoid(-2) = 0.23840584..., -1 * sigmoid(1) = -0.73105857... */
    cr_expect_float_eq(((float *)y.data)[0], 0.2384058440442351, 1e-6);
    cr_expect_float_eq(((float *)y.data)[1], -0.7310585786300049, 1e-6);
    /* alpha = 1: 2 * sigmoid(2) = 1.76159415..., -1 * sigmoid(-1) = -0.26894142... */
    cr_expect_float_eq(((float *)z.data)[0], 1.7615941559557649, 1e-6);
    cr_expect_float_eq(((float *)z.data)[1], -0.2689414213699951, 1e-6);
    free(y.data);
    free(z.data);
    tu_tmpdir_remove(dir);
}

/* One TensorScatter model: past [dims], update (the same but S on `axis`), write_indices
 * (NULL: input absent), the attributes (axis 99 = absent: the default -2; mode NULL =
 * absent: "linear"), compared with onnxruntime. Data: past counts 0, 1, ...; update 1000 +. */
static int tscatter_case(const char *tag, int rank, const int64_t *dims, int axis, int64_t S, const int64_t *w,
                         int64_t axis_attr, const char *mode, RtDtype dt) {
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = pb_add_node(g, pb_node("TensorScatter", "ts", w ? "p,u,w" : "p,u", "y"));
    if (axis_attr != 99) pb_attr_int(n, "axis", axis_attr);
    if (mode) pb_attr_str(n, "mode", mode);
    int64_t ud[RT_MAX_RANK];
    char ps[64] = "", us[64] = "", wb[16];
    int64_t np = 1, nu = 1;
    for (int i = 0; i < rank; i++) {
        ud[i] = i == axis ? S : dims[i];
        np *= dims[i], nu *= ud[i];
        snprintf(ps + strlen(ps), sizeof ps - strlen(ps), "%s%lld", i ? "," : "", (long long)dims[i]);
        snprintf(us + strlen(us), sizeof us - strlen(us), "%s%lld", i ? "," : "", (long long)ud[i]);
    }
    pb_add_input(g, pb_value("p", dt, ps));
    pb_add_input(g, pb_value("u", dt, us));
    snprintf(wb, sizeof wb, "%lld", (long long)dims[0]);
    if (w) pb_add_input(g, pb_value("w", RT_I64, wb));
    pb_add_output(g, pb_value("y", dt, ps));
    size_t len;
    uint8_t *m = pb_model_pack(g, 12, 24, "test_onnx_opset25", &len);
    size_t es = rt_dtype_size(dt);
    uint8_t *pv = pb_zalloc(es * (size_t)np), *uv = pb_zalloc(es * (size_t)nu);
    for (int64_t i = 0; i < np; i++) {
        if (dt == RT_F32) ((float *)pv)[i] = (float)i;
        else ((int64_t *)pv)[i] = i;
    }
    for (int64_t i = 0; i < nu; i++) {
        if (dt == RT_F32) ((float *)uv)[i] = 1000.0f + (float)i;
        else ((int64_t *)uv)[i] = 1000 + i;
    }
    OrtcInput in[3] = {{"p", {.dtype = dt, .rank = rank, .data = pv}}, {"u", {.dtype = dt, .rank = rank, .data = uv}},
                       {"w", {.dtype = RT_I64, .rank = 1, .dims = {dims[0]}, .data = (void *)w}}};
    for (int i = 0; i < rank; i++) in[0].t.dims[i] = dims[i], in[1].t.dims[i] = ud[i];
    static const OrtcTol EXACT = {0, 0, 0}; /* elements are copied, never computed */
    return ortc_compare(tag, m, len, in, w ? 3 : 2, &EXACT);
}

/* Linear and circular modes, the default axis (-2), a negative and a positive explicit axis,
 * odd sizes, write_indices absent, a full-length update, int64 data. */
Test(onnx_opset25, tensor_scatter_agrees_with_onnxruntime) {
    int64_t d4[4] = {3, 2, 7, 5}, w3[3] = {0, 4, 2};
    if (!tscatter_case("wafer_ts_linear", 4, d4, 2, 3, w3, 99, NULL, RT_F32))
        cr_skip_test("onnxruntime-node is not installed");
    int64_t wc[3] = {5, 6, 13}; /* wraps: 5..7 -> 5, 6, 0; 6 -> 6, 0, 1; 13 -> 6, 0, 1 */
    tscatter_case("wafer_ts_circular", 4, d4, 2, 3, wc, -2, "circular", RT_F32);
    int64_t d3[3] = {2, 9, 3}, w2[2] = {8, 3};
    tscatter_case("wafer_ts_axis1_circ", 3, d3, 1, 4, w2, 1, "circular", RT_F32);
    tscatter_case("wafer_ts_no_indices", 3, d3, 1, 9, NULL, -2, "linear", RT_I64);
    int64_t d5[5] = {2, 3, 5, 2, 3}, w5[2] = {1, 3};
    tscatter_case("wafer_ts_axis_m3", 5, d5, 2, 2, w5, -3, "linear", RT_F32);
}

/* Refusals, each naming the node: a linear write past the cache's end, axis 0, a bad mode. */
Test(onnx_opset25, tensor_scatter_refusals) {
    struct {
        int64_t axis;
        const char *mode;
        int64_t w;
        const char *msg;
    } cases[3] = {{-2, "linear", 3, "exceeds max_sequence_length"},
                  {0, "linear", 0, "batch axis"},
                  {-2, "ring", 0, "expected \"linear\" or \"circular\""}};
    for (int k = 0; k < 3; k++) {
        Onnx__GraphProto *g = pb_graph("g");
        Onnx__NodeProto *n = pb_add_node(g, pb_node("TensorScatter", "ts_bad", "p,u,w", "y"));
        pb_attr_int(n, "axis", cases[k].axis);
        pb_attr_str(n, "mode", cases[k].mode);
        pb_add_input(g, pb_value("p", 1, "1,4,2"));
        pb_add_input(g, pb_value("u", 1, cases[k].axis == 0 ? "1,4,2" : "1,2,2"));
        pb_add_input(g, pb_value("w", RT_I64, "1"));
        pb_add_output(g, pb_value("y", 1, "1,4,2"));
        size_t len;
        uint8_t *m = pb_model_pack(g, 12, 24, "test_onnx_opset25", &len);
        char dir[256], path[300], log[8192], a[320], b[320], c[320];
        cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_ts_bad"), 0);
        snprintf(path, sizeof path, "%s/m.onnx", dir);
        FILE *f = fopen(path, "wb");
        cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
        float pv[8] = {0}, uv[8] = {0};
        int64_t wv = cases[k].w;
        RtTensor tp = {.dtype = RT_F32, .rank = 3, .dims = {1, 4, 2}, .data = pv};
        RtTensor tu = {.dtype = RT_F32, .rank = 3, .dims = {1, cases[k].axis == 0 ? 4 : 2, 2}, .data = uv};
        RtTensor tw = {.dtype = RT_I64, .rank = 1, .dims = {1}, .data = &wv};
        RtError err = {{0}};
        snprintf(a, sizeof a, "%s/p.npy", dir), snprintf(b, sizeof b, "%s/u.npy", dir), snprintf(c, sizeof c, "%s/w.npy", dir);
        cr_assert(npy_write(a, &tp, &err) == RT_OK && npy_write(b, &tu, &err) == RT_OK && npy_write(c, &tw, &err) == RT_OK);
        int rc = tu_run(log, sizeof log, WAFER_BIN " run %s --input p=%s --input u=%s --input w=%s --out %s/o", path, a,
                        b, c, dir);
        cr_expect_eq(rc, 2, "case %d: exit %d, want 2:\n%s", k, rc, log);
        cr_expect(strstr(log, "ts_bad") && strstr(log, cases[k].msg), "case %d: message lacks '%s':\n%s", k,
                  cases[k].msg, log);
        tu_tmpdir_remove(dir);
    }
}

/* Attention-24: nonpad_kv_seqlen masks each sample's padding keys; an attn_mask whose last dim
 * is shorter than the keys is padded with -inf. Scores of K = 8 products, softmax over 5-7
 * keys and a weighted sum of 5-7 values, in float32 both: a few ulps of values <= 8. */
static const OrtcTol ATT_TOL = {2e-6, 2e-5, 0};

static float *att_data(int64_t n) {
    float *v = pb_zalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = 2 * rnd();
    return v;
}

/* 4-D grouped-query heads (4 query heads over 2 key/value heads), 5 keys of which nonpad
 * [5, 2] are valid; and with is_causal, nonpad [5, 3]: no past_key, so the cache is external
 * and query i of sample b sits at nonpad[b] - 3 + i (the causal diagonal's offset). A sample
 * with fewer valid keys than queries would leave its first rows without a key (output 0:
 * tests/e2e/test_attention_masked_rows.c). */
Test(onnx_opset25, attention24_nonpad_kv_seqlen_agrees_with_onnxruntime) {
    for (int causal = 0; causal < 2; causal++) {
        Onnx__GraphProto *g = pb_graph("g");
        Onnx__NodeProto *n = pb_add_node(g, pb_node("Attention", "att", "q,k,v,,,,np", "y"));
        pb_attr_int(n, "is_causal", causal);
        pb_add_input(g, pb_value("q", 1, "2,4,3,8"));
        pb_add_input(g, pb_value("k", 1, "2,2,5,8"));
        pb_add_input(g, pb_value("v", 1, "2,2,5,6"));
        pb_add_input(g, pb_value("np", RT_I64, "2"));
        pb_add_output(g, pb_value("y", 1, "2,4,3,6"));
        size_t len;
        uint8_t *m = pb_model_pack(g, 12, 24, "test_onnx_opset25", &len);
        int64_t np[2] = {5, causal ? 3 : 2};
        OrtcInput in[4] = {{"q", {.dtype = RT_F32, .rank = 4, .dims = {2, 4, 3, 8}, .data = att_data(192)}},
                           {"k", {.dtype = RT_F32, .rank = 4, .dims = {2, 2, 5, 8}, .data = att_data(160)}},
                           {"v", {.dtype = RT_F32, .rank = 4, .dims = {2, 2, 5, 6}, .data = att_data(120)}},
                           {"np", {.dtype = RT_I64, .rank = 1, .dims = {2}, .data = np}}};
        if (!ortc_compare(causal ? "wafer_att24_np_causal" : "wafer_att24_np", m, len, in, 4, &ATT_TOL))
            cr_skip_test("onnxruntime-node is not installed");
    }
}

/* One 3-D Attention-24 model (q_num_heads 3, kv_num_heads 1, 7 keys) whose bool attn_mask has
 * mask_len columns, with nonpad_kv_seqlen when with_np. */
static uint8_t *att24_mask_model(int mask_len, int with_np, size_t *len) {
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = pb_add_node(g, pb_node("Attention", "att", with_np ? "q,k,v,mask,,,np" : "q,k,v,mask", "y"));
    pb_attr_int(n, "q_num_heads", 3);
    pb_attr_int(n, "kv_num_heads", 1);
    pb_add_input(g, pb_value("q", 1, "3,3,12"));
    pb_add_input(g, pb_value("k", 1, "3,7,4"));
    pb_add_input(g, pb_value("v", 1, "3,7,5"));
    pb_add_input(g, pb_value("mask", RT_BOOL, mask_len == 4 ? "3,4" : "3,7"));
    if (with_np) pb_add_input(g, pb_value("np", RT_I64, "3"));
    pb_add_output(g, pb_value("y", 1, "3,3,15"));
    return pb_model_pack(g, 12, 24, "test_onnx_opset25", len);
}

static void att24_write(const char *dir, const char *file, const uint8_t *m, size_t len) {
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0, "writing %s failed", path);
}

/* An attn_mask [3, 4] shorter than the 7 keys (Attention-24 pads it with -inf; onnxruntime
 * 1.30 refuses it, so the reference is onnxruntime on the same model with the mask padded by
 * hand to [3, 7] with false), alone and with nonpad_kv_seqlen [6, 3, 7]. */
Test(onnx_opset25, attention24_short_mask_equals_padded_mask_in_onnxruntime) {
    static char log[65536];
    if (tu_run(log, sizeof log, "node --version") != 0) cr_skip_test("node is not installed");
    uint8_t m4[12] = {1, 0, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1}, m7[21] = {0};
    for (int i = 0; i < 3; i++) memcpy(m7 + 7 * i, m4 + 4 * i, 4);
    int64_t np[3] = {6, 3, 7};
    RtTensor t[5] = {{.dtype = RT_F32, .rank = 3, .dims = {3, 3, 12}, .data = att_data(108)},
                     {.dtype = RT_F32, .rank = 3, .dims = {3, 7, 4}, .data = att_data(84)},
                     {.dtype = RT_F32, .rank = 3, .dims = {3, 7, 5}, .data = att_data(105)},
                     {.dtype = RT_BOOL, .rank = 2, .dims = {3, 4}, .data = m4},
                     {.dtype = RT_I64, .rank = 1, .dims = {3}, .data = np}};
    RtTensor t7 = {.dtype = RT_BOOL, .rank = 2, .dims = {3, 7}, .data = m7};
    const char *names[5] = {"q", "k", "v", "mask", "np"};
    for (int with_np = 0; with_np < 2; with_np++) {
        char dir[256], ort_args[2048] = "", w_args[2048] = "";
        cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_att24_mask"), 0);
        size_t l4, l7;
        uint8_t *a = att24_mask_model(4, with_np, &l4), *b = att24_mask_model(7, with_np, &l7);
        att24_write(dir, "short.onnx", a, l4);
        att24_write(dir, "padded.onnx", b, l7);
        for (int i = 0; i < 4 + with_np; i++) {
            char f4[400], f7[400];
            RtError err = {{0}};
            snprintf(f4, sizeof f4, "%s/%s.npy", dir, names[i]);
            snprintf(f7, sizeof f7, "%s/%s7.npy", dir, names[i]);
            cr_assert_eq(npy_write(f4, &t[i], &err), RT_OK, "%s", err.msg);
            cr_assert_eq(npy_write(f7, i == 3 ? &t7 : &t[i], &err), RT_OK, "%s", err.msg);
            snprintf(ort_args + strlen(ort_args), sizeof ort_args - strlen(ort_args), " %s=%s", names[i], f7);
            snprintf(w_args + strlen(w_args), sizeof w_args - strlen(w_args), " --input %s=%s", names[i], f4);
        }
        int rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run %s/padded.onnx%s --out %s/ort", dir, ort_args, dir);
        if (rc == 3) cr_skip_test("onnxruntime-node is not installed");
        cr_assert_eq(rc, 0, "onnxruntime failed:\n%s", log);
        rc = tu_run(log, sizeof log, WAFER_BIN " run %s/short.onnx%s --out %s/w", dir, w_args, dir);
        cr_assert_eq(rc, 0, "wafer failed:\n%s", log);
        ortc__compare_one(with_np ? "att24_short_mask_np" : "att24_short_mask", dir, "y.npy", &ATT_TOL);
        tu_tmpdir_remove(dir);
    }
}

/* ---- 2-bit integers (opset 25, IR 13): UINT2 = 25, INT2 = 26, four per byte, low bits first ---- */

/* Packs codes (each already in the type's range) four per byte, the first in the low bits. */
static uint8_t *pack2(const int *codes, int n, size_t *bytes) {
    *bytes = (size_t)(n + 3) / 4;
    uint8_t *p = pb_zalloc(*bytes);
    for (int i = 0; i < n; i++) p[i / 4] |= (uint8_t)((codes[i] & 3) << (2 * (i % 4)));
    return p;
}

static Onnx__TensorProto *init_int2(Onnx__GraphProto *g, const char *name, int dt, int rank, const int64_t *dims,
                                    const int *codes, int as_int32_data) {
    int n = 1;
    for (int i = 0; i < rank; i++) n *= (int)dims[i];
    size_t bytes;
    uint8_t *p = pack2(codes, n, &bytes);
    Onnx__TensorProto *t = pb_add_init(g, pb_tensor(name, dt, (size_t)rank, dims));
    if (!as_int32_data) return pb_tensor_raw(t, p, bytes);
    t->int32_data = pb_zalloc(sizeof(int32_t) * bytes); /* the other form ONNX allows: a packed byte per entry */
    for (size_t i = 0; i < bytes; i++) t->int32_data[i] = p[i];
    t->n_int32_data = bytes;
    return t;
}

/* DequantizeLinear of int2 and uint2 constants per tensor, per axis and blocked (odd element
 * counts, so the last byte is partly used; one weight in the int32_data form), against
 * onnxruntime; y = (q - zero_point) * scale is exact in float32 for these codes and scales
 * within 1 ulp of the scale, so the comparison allows 1 ulp. */
Test(onnx_opset25, int2_dequantize_agrees_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d7[1] = {7}, d35[2] = {3, 5}, d3[1] = {3}, d32[2] = {3, 2};
    int ci[7] = {-2, -1, 0, 1, 1, -2, 0}, cu[15], cb[15];
    for (int i = 0; i < 15; i++) cu[i] = i % 4, cb[i] = (i * 7) % 4 - 2;
    init_int2(g, "qi", 26, 1, d7, ci, 0);
    init_int2(g, "qu", 25, 2, d35, cu, 1);
    init_int2(g, "qb", 26, 2, d35, cb, 0);
    int zi[1] = {-1}, zu[3] = {0, 3, 1}, zb[6] = {1, -2, 0, -1, 1, 0};
    init_int2(g, "zi", 26, 0, NULL, zi, 0);
    init_int2(g, "zu", 25, 1, d3, zu, 0);
    init_int2(g, "zb", 26, 2, d32, zb, 0);
    float si = 0.5f;
    pb_tensor_floats(pb_add_init(g, pb_tensor("si", 1, 0, NULL)), 1, &si);
    init_floats(g, "su", 1, d3);
    init_floats(g, "sb", 2, d32);
    pb_add_node(g, pb_node("DequantizeLinear", "dqi", "qi,si,zi", "yi"));
    pb_attr_int(pb_add_node(g, pb_node("DequantizeLinear", "dqu", "qu,su,zu", "yu")), "axis", 0);
    Onnx__NodeProto *b = pb_add_node(g, pb_node("DequantizeLinear", "dqb", "qb,sb,zb", "yb"));
    pb_attr_int(b, "axis", -1);
    pb_attr_int(b, "block_size", 3); /* 5 columns in blocks of 3: the second block is short */
    pb_add_output(g, pb_value("yi", 1, "7"));
    pb_add_output(g, pb_value("yu", 1, "3,5"));
    pb_add_output(g, pb_value("yb", 1, "3,5"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 25, "test_onnx_opset25", &len);
    static const OrtcTol ULP = {0, 1.2e-7, 0};
    if (!ortc_compare("wafer_int2_dq", m, len, NULL, 0, &ULP)) cr_skip_test("onnxruntime-node is not installed");
}

/* The same int2 codes through Identity, Reshape, Transpose, Squeeze (the data-movement ops whose
 * version 25 added 2-bit types) into DequantizeLinear, and a Cast of int2 to float: values by
 * hand ((q - z) * s with z = 1, s = 0.25; Cast is the code itself). */
Test(onnx_opset25, int2_through_data_movement_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[3] = {1, 2, 3}, shape[2] = {3, 2}, ax0 = 0;
    int codes[6] = {-2, -1, 0, 1, -1, 1}, z[1] = {1};
    init_int2(g, "q", 26, 3, d, codes, 0);
    init_int2(g, "z", 26, 0, NULL, z, 0);
    init_ints(g, "shape", 2, shape);
    init_ints(g, "ax0", 1, &ax0);
    float s = 0.25f;
    pb_tensor_floats(pb_add_init(g, pb_tensor("s", 1, 0, NULL)), 1, &s);
    pb_add_node(g, pb_node("Identity", "id", "q", "q1"));
    pb_add_node(g, pb_node("Squeeze", "sq", "q1,ax0", "q2"));           /* [2, 3] */
    pb_add_node(g, pb_node("Transpose", "tr", "q2", "q3"));             /* [3, 2] */
    pb_add_node(g, pb_node("Reshape", "rs", "q3,shape", "q4"));
    pb_add_node(g, pb_node("DequantizeLinear", "dq", "q4,s,z", "y"));
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c", "q", "cf")), "to", 1);
    pb_add_output(g, pb_value("y", 1, "3,2"));
    pb_add_output(g, pb_value("cf", 1, "1,2,3"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 25, "test_onnx_opset25", &len);
    char dir[256], path[300], log[8192], f[320];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_int2_hand"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp && fwrite(m, 1, len, fp) == len && fclose(fp) == 0);
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " run %s --out %s", path, dir), 0, "%s", log);
    RtTensor y, cf;
    RtError err = {{0}};
    snprintf(f, sizeof f, "%s/y.npy", dir);
    cr_assert_eq(npy_read(f, &y, &err), RT_OK, "%s", err.msg);
    snprintf(f, sizeof f, "%s/cf.npy", dir);
    cr_assert_eq(npy_read(f, &cf, &err), RT_OK, "%s", err.msg);
    /* q2 = [[-2,-1,0],[1,-1,1]]; transposed [[-2,1],[-1,-1],[0,1]]; (q - 1) / 4 */
    const float want[6] = {-0.75f, 0.0f, -0.5f, -0.5f, -0.25f, 0.0f};
    for (int i = 0; i < 6; i++) {
        cr_expect_eq(((float *)y.data)[i], want[i], "y[%d] = %g, want %g", i, ((float *)y.data)[i], want[i]);
        cr_expect_eq(((float *)cf.data)[i], (float)codes[i], "cf[%d]", i);
    }
    free(y.data);
    free(cf.data);
    tu_tmpdir_remove(dir);
}

/* What wafer cannot hold is refused by name, exit 2: a CastLike whose target_type is an int2
 * constant (held widened, it would name int8), a float8e8m0 (IR 12) initializer. QuantizeLinear
 * to and Cast to 2-bit types run (tests/e2e/test_onnx_lowbit.c). */
Test(onnx_opset25, int2_castlike_and_float8e8m0_refused_by_name) {
    const char *want[2] = {"node 'c' (CastLike): a uint2 target_type is not supported",
                           "data type 24 (float8e8m0) is not supported"};
    for (int k = 0; k < 2; k++) {
        Onnx__GraphProto *g = pb_graph("g");
        float one = 1;
        pb_tensor_floats(pb_add_init(g, pb_tensor("x", 1, 0, NULL)), 1, &one);
        if (k == 0) {
            int z[1] = {2};
            init_int2(g, "z", 25, 0, NULL, z, 0);
            pb_add_node(g, pb_node("CastLike", "c", "x,z", "y"));
        }
        if (k == 1) {
            uint8_t e = 127;
            pb_tensor_raw(pb_add_init(g, pb_tensor("e8", 24, 0, NULL)), &e, 1);
            pb_add_node(g, pb_node("Identity", "i", "e8", "y"));
        }
        pb_add_output(g, pb_value("y", k == 0 ? 25 : 24, ""));
        size_t len;
        uint8_t *m = pb_model_pack(g, 13, 25, "test_onnx_opset25", &len);
        char dir[256], path[300], log[8192];
        cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_int2_bad"), 0);
        snprintf(path, sizeof path, "%s/m.onnx", dir);
        FILE *fp = fopen(path, "wb");
        cr_assert(fp && fwrite(m, 1, len, fp) == len && fclose(fp) == 0);
        int rc = tu_run(log, sizeof log, WAFER_BIN " run %s --out %s/o", path, dir);
        cr_expect_eq(rc, 2, "case %d: exit %d, want 2:\n%s", k, rc, log);
        cr_expect(strstr(log, want[k]) != NULL, "case %d: message lacks '%s':\n%s", k, want[k], log);
        tu_tmpdir_remove(dir);
    }
}

/* TopK-24 takes bfloat16: float -> bfloat16 (values exact in 8 bits) -> TopK(k = 2) -> float,
 * by hand: [3, -1, 7.5, 2, 0.25] -> values [7.5, 3], indices [2, 0]. */
Test(onnx_opset25, topk24_bfloat16_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t k = 2;
    init_ints(g, "k", 1, &k);
    float xv[5] = {3, -1, 7.5f, 2, 0.25f};
    int64_t d5 = 5;
    pb_tensor_floats(pb_add_init(g, pb_tensor("x", 1, 1, &d5)), 5, xv);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c1", "x", "xb")), "to", RT_BF16);
    pb_add_node(g, pb_node("TopK", "top", "xb,k", "vb,i"));
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c2", "vb", "v")), "to", 1);
    pb_add_output(g, pb_value("v", 1, "2"));
    pb_add_output(g, pb_value("i", RT_I64, "2"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 12, 24, "test_onnx_opset25", &len);
    char dir[256], path[300], log[8192], f[320];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_topk_bf16"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp && fwrite(m, 1, len, fp) == len && fclose(fp) == 0);
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " run %s --out %s", path, dir), 0, "%s", log);
    RtTensor v, i;
    RtError err = {{0}};
    snprintf(f, sizeof f, "%s/v.npy", dir);
    cr_assert_eq(npy_read(f, &v, &err), RT_OK, "%s", err.msg);
    snprintf(f, sizeof f, "%s/i.npy", dir);
    cr_assert_eq(npy_read(f, &i, &err), RT_OK, "%s", err.msg);
    cr_expect(((float *)v.data)[0] == 7.5f && ((float *)v.data)[1] == 3.0f, "values %g %g", ((float *)v.data)[0],
              ((float *)v.data)[1]);
    cr_expect(((int64_t *)i.data)[0] == 2 && ((int64_t *)i.data)[1] == 0, "indices %lld %lld",
              (long long)((int64_t *)i.data)[0], (long long)((int64_t *)i.data)[1]);
    free(v.data);
    free(i.data);
    tu_tmpdir_remove(dir);
}

/* ---- wafer's 2-bit weights exported as blocked DequantizeLinear of UINT2 (opset 25) ---- */

/* The .onnx runs the same codes, scales and zero points as the .wafer: wafer's perplexity on
 * both agrees to float summation order (1e-4 relative); onnxruntime's MatMul sums in its own
 * order over K = 256..1024: 1e-3 relative (measured 7e-5; test_onnx_export.c allows 2e-3). */
#define INT2_PPL_SELF_REL_TOL 1e-4
#define INT2_PPL_ORT_REL_TOL 1e-3

static double int2_metric(const char *model, const char *tokens) {
    char log[8192], json[300];
    snprintf(json, sizeof json, "%s.json", model);
    int rc = tu_run(log, sizeof log, WAFER_BIN " eval %s --task lm --tokens %s --json %s", model, tokens, json);
    cr_assert_eq(rc, 0, "eval %s: exit %d\n%s", model, rc, log);
    return tu_json_number(json, "perplexity");
}

Test(onnx_opset25, tinylm_int2_exported_as_uint2_blocked_dq, .timeout = 300) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("slow under the sanitizers");
    const char *T = FIXTURES "/tinylm/";
    char dir[256], w[300], o[300], tokens[300], json[320], log[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_int2_export"), 0);
    snprintf(w, sizeof w, "%s/r2.wafer", dir);
    snprintf(o, sizeof o, "%s/r2dq.onnx", dir);
    snprintf(tokens, sizeof tokens, "%stinylm_eval_tokens.npy", T);
    int rc = tu_run(log, sizeof log,
                    WAFER_BIN " quantize %stinylm.onnx -o %s --onnx %s --weights int2 --group 128 --asym --onnx-int4 dq",
                    T, w, o);
    cr_assert_eq(rc, 0, "quantize: exit %d\n%s", rc, log);
    /* the file: opset 25, IR 13, every DequantizeLinear's codes and zero points UINT2 */
    size_t len = 0;
    unsigned char *bytes = tu_file_read(o, &len);
    cr_assert_not_null(bytes);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, bytes);
    free(bytes);
    cr_assert_not_null(mp);
    cr_expect_eq(mp->ir_version, 13);
    cr_expect(mp->n_opset_import >= 1 && mp->opset_import[0]->version == 25, "opset %lld",
              mp->n_opset_import ? (long long)mp->opset_import[0]->version : -1LL);
    int n_u2 = 0, n_dq = 0;
    for (size_t i = 0; i < mp->graph->n_initializer; i++) n_u2 += mp->graph->initializer[i]->data_type == 25;
    for (size_t i = 0; i < mp->graph->n_node; i++) n_dq += strcmp(mp->graph->node[i]->op_type, "DequantizeLinear") == 0;
    cr_expect_eq(n_dq, 24, "tinylm's 24 quantized layers");
    cr_expect_eq(n_u2, 2 * n_dq, "codes and zero points of each DequantizeLinear are UINT2");
    onnx__model_proto__free_unpacked(mp, NULL);
    double ppl_w = int2_metric(w, tokens), ppl_self = int2_metric(o, tokens);
    cr_expect(fabs(ppl_self - ppl_w) <= INT2_PPL_SELF_REL_TOL * ppl_w, "wafer on the .onnx %.5f vs .wafer %.5f", ppl_self,
              ppl_w);
    snprintf(json, sizeof json, "%s/ort.json", dir);
    rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js lm %s %s > %s", o, tokens, json);
    if (rc == 3) cr_skip_test("onnxruntime-node is not installed");
    cr_assert_eq(rc, 0, "onnxruntime: exit %d\n%s", rc, log);
    double ppl_ort = tu_json_number(json, "perplexity");
    cr_log_info("tinylm RTN int2 g128 as UINT2 blocked DQ: wafer %.5f, onnxruntime %.5f", ppl_w, ppl_ort);
    cr_expect(fabs(ppl_ort - ppl_w) <= INT2_PPL_ORT_REL_TOL * ppl_w, "onnxruntime %.5f vs wafer %.5f", ppl_ort, ppl_w);
    tu_tmpdir_remove(dir);
}
