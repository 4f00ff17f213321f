/*
 * test_attention_masked_rows.c — Attention (opsets 23, 24) on query rows whose every key is
 * masked, against onnxruntime-node. ONNX's errata to Attention (onnx/onnx#8068, in place, no
 * opset bump) makes such a row's output 0 (PyTorch's scaled_dot_product_attention does the
 * same), where a plain softmax of nothing but -inf gives 0/0 = NaN; onnxruntime 1.30 follows
 * the errata, and so must every wafer path: the reference kernel (qk_matmul_output wanted,
 * nonpad_kv_seqlen), the fused AVX-512 kernel (float32, bool mask) and the decode kernel (one
 * query row per head, head size a multiple of 16).
 */
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(attention_masked_rows, .fini = pb_release_all);

/* Scores of at most 32 products, a softmax over at most 9 keys and a weighted sum of as many
 * values, float32 on both sides in different orders: a few ulps of values below 32. */
static const OrtcTol ATT_TOL = {4e-6, 2e-5, 0};

static uint32_t lcg = 11;
static float *data(int64_t n) {
    float *v = pb_zalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = (float)((lcg = lcg * 1664525u + 1013904223u) >> 8) / (1 << 24) * 4 - 2;
    return v;
}

/* Attention-23, 4-D: Q [2, 4, 3, H], K/V [2, 2, 5, H] (grouped-query heads), a bool mask
 * [3, 5] whose row 1 is all false; with_qk also asks for qk_matmul_output after the softmax
 * (mode 3), which sends the node to the reference kernel. */
static void mask_row_case(int64_t H, int with_qk) {
    char dims_q[32], dims_kv[32], dims_y[32];
    snprintf(dims_q, sizeof dims_q, "2,4,3,%lld", (long long)H);
    snprintf(dims_kv, sizeof dims_kv, "2,2,5,%lld", (long long)H);
    snprintf(dims_y, sizeof dims_y, "2,4,3,%lld", (long long)H);
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = pb_add_node(g, pb_node("Attention", "att", "q,k,v,mask", with_qk ? "y,,,qk" : "y"));
    if (with_qk) pb_attr_int(n, "qk_matmul_output_mode", 3);
    pb_add_input(g, pb_value("q", 1, dims_q));
    pb_add_input(g, pb_value("k", 1, dims_kv));
    pb_add_input(g, pb_value("v", 1, dims_kv));
    pb_add_input(g, pb_value("mask", RT_BOOL, "3,5"));
    pb_add_output(g, pb_value("y", 1, dims_y));
    if (with_qk) pb_add_output(g, pb_value("qk", 1, "2,4,3,5"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 23, "test_attention_masked_rows", &len);
    static uint8_t mask[15] = {1, 0, 1, 1, 0, /* row 1: no key */ 0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
    OrtcInput in[4] = {{"q", {.dtype = RT_F32, .rank = 4, .dims = {2, 4, 3, H}, .data = data(24 * H)}},
                       {"k", {.dtype = RT_F32, .rank = 4, .dims = {2, 2, 5, H}, .data = data(20 * H)}},
                       {"v", {.dtype = RT_F32, .rank = 4, .dims = {2, 2, 5, H}, .data = data(20 * H)}},
                       {"mask", {.dtype = RT_BOOL, .rank = 2, .dims = {3, 5}, .data = mask}}};
    if (!ortc_compare(with_qk ? "wafer_att_masked_row_qk" : "wafer_att_masked_row", m, len, in, 4, &ATT_TOL))
        cr_skip_test("onnxruntime-node is not installed");
}

Test(attention_masked_rows, bool_mask_row_fused_kernel) { mask_row_case(16, 0); }
Test(attention_masked_rows, bool_mask_row_odd_head_size) { mask_row_case(5, 0); }
Test(attention_masked_rows, bool_mask_row_with_qk_output) { mask_row_case(8, 1); }

/* Decode: one query row per head, a cache of 8 keys plus the new one, head size 32; the mask
 * [2, 1, 1, 9] shuts out every key of sample 1. */
Test(attention_masked_rows, decode_row) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_node(g, pb_node("Attention", "att", "q,k,v,mask,pk,pv", "y,present_k,present_v"));
    pb_add_input(g, pb_value("q", 1, "2,4,1,32"));
    pb_add_input(g, pb_value("k", 1, "2,2,1,32"));
    pb_add_input(g, pb_value("v", 1, "2,2,1,32"));
    pb_add_input(g, pb_value("mask", RT_BOOL, "2,1,1,9"));
    pb_add_input(g, pb_value("pk", 1, "2,2,8,32"));
    pb_add_input(g, pb_value("pv", 1, "2,2,8,32"));
    pb_add_output(g, pb_value("y", 1, "2,4,1,32"));
    pb_add_output(g, pb_value("present_k", 1, "2,2,9,32"));
    pb_add_output(g, pb_value("present_v", 1, "2,2,9,32"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 23, "test_attention_masked_rows", &len);
    static uint8_t mask[18] = {1, 1, 0, 1, 1, 1, 0, 1, 1, /* sample 1: no key */ 0};
    OrtcInput in[6] = {{"q", {.dtype = RT_F32, .rank = 4, .dims = {2, 4, 1, 32}, .data = data(256)}},
                       {"k", {.dtype = RT_F32, .rank = 4, .dims = {2, 2, 1, 32}, .data = data(128)}},
                       {"v", {.dtype = RT_F32, .rank = 4, .dims = {2, 2, 1, 32}, .data = data(128)}},
                       {"mask", {.dtype = RT_BOOL, .rank = 4, .dims = {2, 1, 1, 9}, .data = mask}},
                       {"pk", {.dtype = RT_F32, .rank = 4, .dims = {2, 2, 8, 32}, .data = data(1024)}},
                       {"pv", {.dtype = RT_F32, .rank = 4, .dims = {2, 2, 8, 32}, .data = data(1024)}}};
    if (!ortc_compare("wafer_att_masked_decode", m, len, in, 6, &ATT_TOL))
        cr_skip_test("onnxruntime-node is not installed");
}

/* Attention-24, is_causal with nonpad_kv_seqlen and no past_key (an external cache): query i
 * of sample b sits at nonpad[b] - Sq + i, so with nonpad [5, 1] and Sq = 3 the first two
 * queries of sample 1 precede every valid key. */
Test(attention_masked_rows, nonpad_causal_rows_before_the_first_key) {
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = pb_add_node(g, pb_node("Attention", "att", "q,k,v,,,,np", "y"));
    pb_attr_int(n, "is_causal", 1);
    pb_add_input(g, pb_value("q", 1, "2,4,3,8"));
    pb_add_input(g, pb_value("k", 1, "2,2,5,8"));
    pb_add_input(g, pb_value("v", 1, "2,2,5,6"));
    pb_add_input(g, pb_value("np", RT_I64, "2"));
    pb_add_output(g, pb_value("y", 1, "2,4,3,6"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 12, 24, "test_attention_masked_rows", &len);
    static int64_t np[2] = {5, 1};
    OrtcInput in[4] = {{"q", {.dtype = RT_F32, .rank = 4, .dims = {2, 4, 3, 8}, .data = data(192)}},
                       {"k", {.dtype = RT_F32, .rank = 4, .dims = {2, 2, 5, 8}, .data = data(160)}},
                       {"v", {.dtype = RT_F32, .rank = 4, .dims = {2, 2, 5, 6}, .data = data(120)}},
                       {"np", {.dtype = RT_I64, .rank = 1, .dims = {2}, .data = np}}};
    if (!ortc_compare("wafer_att_masked_nonpad", m, len, in, 4, &ATT_TOL))
        cr_skip_test("onnxruntime-node is not installed");
}
