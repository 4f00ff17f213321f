/*
 * test_onnx_contrib_gqa.c — onnxruntime-genai's decoder ops (frontend/onnx_contrib_gqa.c):
 * com.microsoft RotaryEmbedding and GroupQueryAttention, each form built as a small model and
 * run by onnxruntime-node and by `wafer run` (tests/ort_compare.h), every output compared:
 *  - RotaryEmbedding: halves and interleaved pairs, position_ids [B, S] and [1] (a start
 *    offset), a partial rotary_embedding_dim with num_heads, the 4-D [B, N, S, H] input;
 *  - GroupQueryAttention: prefill without a cache, decode with a past of P tokens and one new
 *    token, packed QKV, do_rotary with cos/sin caches (positions from seqlens_k), a
 *    local_window_size, softcap, an explicit scale; present_key / present_value compared too;
 *  - a decoder layer in the genai form: SimplifiedLayerNormalization, MatMulNBits Q/K/V,
 *    GroupQueryAttention with rotary and a cache, MatMulNBits O, the residual Add;
 *  - bad nodes (seqlens_k missing, num_heads not a multiple of kv_num_heads, smooth_softmax)
 *    refused with exit status 2 naming the file, node and op; runs whose seqlens_k differ per
 *    row or whose total_sequence_length is not P + S fail with exit 2 naming the check.
 */
#include "contrib_build.h"

#include <unistd.h>

TestSuite(onnx_contrib_gqa, .fini = pb_release_all);

/* Rotation: one product pair per element, onnxruntime in float, wafer in double: a few ulps
 * of values of magnitude <= ~3. */
static const OrtcTol ROPE_TOL = {1e-5, 1e-5, 0};
/* Attention: dot products of <= 16 terms, a softmax over <= 12 keys (exp differs by ulps
 * between MLAS and libm) and a weighted sum; values of magnitude <= ~4: 1e-4 absolute covers
 * the summation-order and exp differences with room to spare. */
static const OrtcTol ATTN_TOL = {2e-5, 1e-4, 0};
/* The decoder layer: 4-bit weights dequantized the same way, then sums of 32 products before
 * and after attention; the two accumulation orders differ by ~32 * 2^-24 * sum |terms|. */
static const OrtcTol LAYER_TOL = {1e-4, 1e-4, 0};

#define OPSET 21

/* ---------- model building ---------- */

/* An int graph input (ONNX type elem: 6 int32, 7 int64) holding v[numel]. */
static OrtcInput add_int_input(Onnx__GraphProto *g, const char *name, int elem, int rank, const int64_t *dims,
                               const int64_t *v) {
    pb_add_input(g, pb_value_typed(name, pb_type_dims(elem, rank, dims)));
    int64_t n = numel(rank, dims);
    OrtcInput in = {name, {.dtype = elem == 6 ? RT_I32 : RT_I64, .rank = rank}};
    if (elem == 6) {
        int32_t *d = pb_zalloc(sizeof(int32_t) * (size_t)n);
        for (int64_t i = 0; i < n; i++) d[i] = (int32_t)v[i];
        in.t.data = d;
    } else {
        int64_t *d = pb_zalloc(sizeof(int64_t) * (size_t)n);
        memcpy(d, v, sizeof(int64_t) * (size_t)n);
        in.t.data = d;
    }
    if (rank) memcpy(in.t.dims, dims, sizeof(int64_t) * (size_t)rank);
    return in;
}

/* cos_cache / sin_cache [P, half] as initializers: the real tables cos(p * theta_k),
 * sin(p * theta_k), theta_k = 10000^(-2k / (2 half)), what genai's builder stores. */
static void add_caches(Onnx__GraphProto *g, const char *cname, const char *sname, int64_t P, int64_t half) {
    int64_t d[2] = {P, half};
    float *c = pb_zalloc(sizeof(float) * (size_t)(P * half)), *s = pb_zalloc(sizeof(float) * (size_t)(P * half));
    for (int64_t p = 0; p < P; p++)
        for (int64_t k = 0; k < half; k++) {
            double th = p * pow(10000.0, -(double)k / (double)half);
            c[p * half + k] = (float)cos(th);
            s[p * half + k] = (float)sin(th);
        }
    pb_tensor_floats(pb_add_init(g, pb_tensor(cname, 1, 2, d)), (size_t)(P * half), c);
    pb_tensor_floats(pb_add_init(g, pb_tensor(sname, 1, 2, d)), (size_t)(P * half), s);
}

static void compare(const char *tag, Onnx__GraphProto *g, const OrtcInput *in, int n_in, const OrtcTol *tol) {
    size_t len;
    uint8_t *m = pb_model_pack_domain(g, 10, OPSET, "com.microsoft", 1, "test", &len);
    if (!ortc_compare(tag, m, len, in, n_in, tol)) cr_skip_test("onnxruntime-node is not installed");
}

/* ---------- RotaryEmbedding ---------- */

Test(onnx_contrib_gqa, rotary_embedding_forms_match_onnxruntime) {
    static const int64_t x3[3] = {2, 3, 32}, x4[4] = {2, 4, 3, 8}, pd2[2] = {2, 3}, pd1[1] = {1};
    static const int64_t pos2[6] = {0, 1, 2, 5, 9, 3}, pos1[1] = {4};
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in[4] = {add_input(g, "x", 3, x3, 1), add_input(g, "x4", 4, x4, 2),
                       add_int_input(g, "pos", 7, 2, pd2, pos2), add_int_input(g, "pos1", 7, 1, pd1, pos1)};
    add_caches(g, "cos", "sin", 16, 4);  /* full rotation of head size 8 */
    add_caches(g, "cos2", "sin2", 16, 2); /* rotary_embedding_dim 4 of head size 8 */
    /* halves, positions [B, S]; num_heads 0 (head size from the cache) */
    ms_node(g, "RotaryEmbedding", "rope_halves", "x,pos,cos,sin", "y0");
    pb_attr_int(ms_node(g, "RotaryEmbedding", "rope_inter", "x,pos1,cos,sin", "y1"), "interleaved", 1);
    Onnx__NodeProto *n = ms_node(g, "RotaryEmbedding", "rope_partial", "x,pos,cos2,sin2", "y2");
    pb_attr_int(n, "num_heads", 4);
    pb_attr_int(n, "rotary_embedding_dim", 4);
    n = ms_node(g, "RotaryEmbedding", "rope_partial_inter", "x,pos1,cos2,sin2", "y3");
    pb_attr_int(n, "num_heads", 4);
    pb_attr_int(n, "rotary_embedding_dim", 4);
    pb_attr_int(n, "interleaved", 1);
    ms_node(g, "RotaryEmbedding", "rope_4d", "x4,pos,cos,sin", "y4");
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf(name, sizeof name, "y%d", i);
        pb_add_output(g, pb_value(name, 1, NULL));
    }
    compare("gqa_rope", g, in, 4, &ROPE_TOL);
}

/* ---------- GroupQueryAttention ---------- */

typedef struct {
    const char *tag;
    int64_t B, S, P, N, Nkv, H; /* batch, new tokens, past, heads, kv heads, head size */
    int packed, rotary, inter;
    int64_t window;             /* -1: none */
    float softcap, scale;       /* 0: none / default */
    int empty_past;             /* P = 0 with past_key / past_value given ([B, Nkv, 0, H], genai's first step) */
} GqaCase;

static void gqa_case(const GqaCase *c) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in[7];
    int n_in = 0;
    int64_t qd[3] = {c->B, c->S, (c->N + (c->packed ? 2 * c->Nkv : 0)) * c->H};
    int64_t kd[3] = {c->B, c->S, c->Nkv * c->H}, pd[4] = {c->B, c->Nkv, c->P, c->H}, bd[1] = {c->B};
    int64_t sk[8], total = c->P + c->S;
    for (int64_t b = 0; b < c->B; b++) sk[b] = total - 1;
    in[n_in++] = add_input(g, "q", 3, qd, 11);
    if (!c->packed) {
        in[n_in++] = add_input(g, "k", 3, kd, 12);
        in[n_in++] = add_input(g, "v", 3, kd, 13);
    }
    int with_past = c->P > 0 || c->empty_past;
    if (with_past) {
        in[n_in++] = add_input(g, "pk", 4, pd, 14);
        in[n_in++] = add_input(g, "pv", 4, pd, 15);
    }
    in[n_in++] = add_int_input(g, "seqlens_k", 6, 1, bd, sk);
    in[n_in++] = add_int_input(g, "total_len", 6, 0, NULL, &total);
    if (c->rotary) add_caches(g, "cos", "sin", 32, c->H / 2);
    char ins[200];
    snprintf(ins, sizeof ins, "q,%s,%s,seqlens_k,total_len%s", c->packed ? "," : "k,v", with_past ? "pk,pv" : ",",
             c->rotary ? ",cos,sin" : "");
    Onnx__NodeProto *n = ms_node(g, "GroupQueryAttention", c->tag, ins, "y,present_k,present_v");
    pb_attr_int(n, "num_heads", c->N);
    pb_attr_int(n, "kv_num_heads", c->Nkv);
    if (c->rotary) pb_attr_int(n, "do_rotary", 1);
    if (c->inter) pb_attr_int(n, "rotary_interleaved", 1);
    if (c->window >= 0) pb_attr_int(n, "local_window_size", c->window);
    if (c->softcap > 0) pb_attr_float(n, "softcap", c->softcap);
    if (c->scale > 0) pb_attr_float(n, "scale", c->scale);
    pb_add_output(g, pb_value("y", 1, NULL));
    pb_add_output(g, pb_value("present_k", 1, NULL));
    pb_add_output(g, pb_value("present_v", 1, NULL));
    compare(c->tag, g, in, n_in, &ATTN_TOL);
}

Test(onnx_contrib_gqa, prefill_without_a_cache_matches_onnxruntime) {
    gqa_case(&(GqaCase){"gqa_prefill", 2, 5, 0, 4, 2, 8, 0, 0, 0, -1, 0, 0});
    gqa_case(&(GqaCase){"gqa_prefill_empty_past", 2, 5, 0, 4, 2, 8, 0, 0, 0, -1, 0, 0, 1});
}

Test(onnx_contrib_gqa, decode_with_a_cache_matches_onnxruntime) {
    gqa_case(&(GqaCase){"gqa_decode", 2, 1, 6, 4, 2, 8, 0, 0, 0, -1, 0, 0});
    gqa_case(&(GqaCase){"gqa_decode_mqa", 1, 1, 9, 6, 1, 8, 0, 0, 0, -1, 0, 0.3f}); /* one kv head, a scale */
    gqa_case(&(GqaCase){"gqa_chunk", 1, 3, 4, 4, 2, 8, 0, 0, 0, -1, 0, 0});          /* 3 new tokens after 4 */
}

Test(onnx_contrib_gqa, packed_qkv_matches_onnxruntime) {
    gqa_case(&(GqaCase){"gqa_packed_prefill", 2, 4, 0, 4, 2, 8, 1, 0, 0, -1, 0, 0});
    gqa_case(&(GqaCase){"gqa_packed_decode", 2, 1, 5, 4, 1, 8, 1, 0, 0, -1, 0, 0});
}

Test(onnx_contrib_gqa, do_rotary_with_caches_matches_onnxruntime) {
    gqa_case(&(GqaCase){"gqa_rot_prefill", 2, 4, 0, 4, 2, 16, 0, 1, 0, -1, 0, 0});
    gqa_case(&(GqaCase){"gqa_rot_decode", 2, 1, 7, 4, 2, 16, 0, 1, 0, -1, 0, 0});
    gqa_case(&(GqaCase){"gqa_rot_inter_packed", 1, 1, 3, 4, 2, 16, 1, 1, 1, -1, 0, 0});
}

Test(onnx_contrib_gqa, local_window_and_softcap_match_onnxruntime) {
    gqa_case(&(GqaCase){"gqa_window_prefill", 1, 7, 0, 2, 1, 8, 0, 0, 0, 2, 0, 0});
    gqa_case(&(GqaCase){"gqa_window_decode", 2, 1, 8, 2, 2, 8, 0, 0, 0, 3, 0, 0});
    gqa_case(&(GqaCase){"gqa_softcap", 1, 3, 2, 4, 2, 8, 0, 0, 0, -1, 1.5f, 0});
}

/* ---------- a decoder layer in onnxruntime-genai's form ---------- */

/* A 4-bit MatMulNBits weight [K -> N], block 16, symmetric (no zero points): random packed
 * nibbles and scales in [0.02, 0.1). */
static void add_nbits(Onnx__GraphProto *g, const char *name, const char *x, const char *y, int64_t K, int64_t N,
                      uint32_t seed) {
    char bn[64], sn[64], ins[200];
    snprintf(bn, sizeof bn, "%s_B", name);
    snprintf(sn, sizeof sn, "%s_scales", name);
    int64_t bd[3] = {N, K / 16, 8}, sd[1] = {N * (K / 16)};
    uint8_t *bytes = pb_zalloc((size_t)(N * K / 2));
    uint32_t s = seed;
    for (int64_t i = 0; i < N * K / 2; i++) bytes[i] = (uint8_t)((s = s * 1664525u + 1013904223u) >> 24);
    pb_tensor_raw(pb_add_init(g, pb_tensor(bn, 2, 3, bd)), bytes, (size_t)(N * K / 2));
    pb_tensor_floats(pb_add_init(g, pb_tensor(sn, 1, 1, sd)), (size_t)sd[0], values(sd[0], seed + 1, 0.02f, 0.1f));
    snprintf(ins, sizeof ins, "%s,%s,%s", x, bn, sn);
    Onnx__NodeProto *n = ms_node(g, "MatMulNBits", name, ins, y);
    pb_attr_int(n, "K", K);
    pb_attr_int(n, "N", N);
    pb_attr_int(n, "bits", 4);
    pb_attr_int(n, "block_size", 16);
}

/* hidden 32, 4 query heads and 2 kv heads of size 16, S new tokens after a past of P. */
static void decoder_layer_case(const char *tag, int64_t S, int64_t P) {
    static const int64_t wd[1] = {32};
    int64_t xd[3] = {1, S, 32}, pd[4] = {1, 2, P, 16}, bd[1] = {1}, sk = P + S - 1, total = P + S;
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in[6];
    int n_in = 0;
    in[n_in++] = add_input(g, "x", 3, xd, 21);
    if (P > 0) {
        in[n_in++] = add_input(g, "past_k", 4, pd, 22);
        in[n_in++] = add_input(g, "past_v", 4, pd, 23);
    }
    in[n_in++] = add_int_input(g, "seqlens_k", 6, 1, bd, &sk);
    in[n_in++] = add_int_input(g, "total_len", 6, 0, NULL, &total);
    pb_tensor_floats(pb_add_init(g, pb_tensor("ln_w", 1, 1, wd)), 32, values(32, 24, 0.5f, 1.5f));
    add_caches(g, "cos", "sin", 64, 8);
    Onnx__NodeProto *n = pb_add_node(g, pb_node("SimplifiedLayerNormalization", "ln", "x,ln_w", "xn"));
    pb_attr_float(n, "epsilon", 1e-5f);
    pb_attr_int(n, "axis", -1);
    add_nbits(g, "q_proj", "xn", "q", 32, 64, 31);
    add_nbits(g, "k_proj", "xn", "k", 32, 32, 32);
    add_nbits(g, "v_proj", "xn", "v", 32, 32, 33);
    n = ms_node(g, "GroupQueryAttention", "attn", P > 0 ? "q,k,v,past_k,past_v,seqlens_k,total_len,cos,sin"
                                                        : "q,k,v,,,seqlens_k,total_len,cos,sin",
                "attn_out,present_k,present_v");
    pb_attr_int(n, "num_heads", 4);
    pb_attr_int(n, "kv_num_heads", 2);
    pb_attr_int(n, "do_rotary", 1);
    add_nbits(g, "o_proj", "attn_out", "o", 64, 32, 34);
    pb_add_node(g, pb_node("Add", "residual", "x,o", "y"));
    pb_add_output(g, pb_value("y", 1, NULL));
    pb_add_output(g, pb_value("present_k", 1, NULL));
    pb_add_output(g, pb_value("present_v", 1, NULL));
    compare(tag, g, in, n_in, &LAYER_TOL);
}

Test(onnx_contrib_gqa, genai_decoder_layer_matches_onnxruntime) {
    decoder_layer_case("gqa_layer_prefill", 5, 0);
    decoder_layer_case("gqa_layer_decode", 1, 7);
}

/* ---------- bad nodes: exit 2 naming the file, node and op ---------- */

static void expect_refused(const char *tag, Onnx__GraphProto *g, const char *want1, const char *want2) {
    size_t len;
    uint8_t *m = pb_model_pack_domain(g, 10, OPSET, "com.microsoft", 1, "test", &len);
    contrib_expect_refused(tag, m, len, want1, want2);
}

static Onnx__GraphProto *bad_gqa(const char *name, const char *ins, int64_t heads, int64_t kv_heads) {
    static const int64_t qd[3] = {1, 2, 48}, kd[3] = {1, 2, 16}, bd[1] = {1};
    static const int64_t sk = 1, total = 2;
    Onnx__GraphProto *g = pb_graph("g");
    add_input(g, "q", 3, qd, 1);
    add_input(g, "k", 3, kd, 2);
    add_input(g, "v", 3, kd, 3);
    add_int_input(g, "seqlens_k", 6, 1, bd, &sk);
    add_int_input(g, "total_len", 6, 0, NULL, &total);
    Onnx__NodeProto *n = ms_node(g, "GroupQueryAttention", name, ins, "y");
    pb_attr_int(n, "num_heads", heads);
    pb_attr_int(n, "kv_num_heads", kv_heads);
    pb_add_output(g, pb_value("y", 1, NULL));
    return g;
}

Test(onnx_contrib_gqa, bad_nodes_fail_with_exit_2_naming_node_and_op) {
    expect_refused("gqa_no_seqlens", bad_gqa("gqa_no_seqlens", "q,k,v,,,,total_len", 6, 2), "gqa_no_seqlens",
                   "com.microsoft.GroupQueryAttention");
    expect_refused("gqa_heads", bad_gqa("gqa_heads", "q,k,v,,,seqlens_k,total_len", 6, 4), "gqa_heads",
                   "not a multiple of kv_num_heads");
    Onnx__GraphProto *g = bad_gqa("gqa_smooth", "q,k,v,,,seqlens_k,total_len", 6, 2);
    pb_attr_int(g->node[0], "smooth_softmax", 1);
    expect_refused("gqa_smooth", g, "gqa_smooth", "smooth_softmax");
    static const int64_t xd[3] = {1, 2, 16}, pd[1] = {1}, p0 = 0;
    g = pb_graph("g");
    add_input(g, "x", 3, xd, 1);
    add_int_input(g, "pos", 7, 1, pd, &p0);
    add_caches(g, "cos", "sin", 8, 4);
    pb_attr_int(ms_node(g, "RotaryEmbedding", "rope_packed", "x,pos,cos,sin", "y"), "is_packed_batching", 1);
    pb_add_output(g, pb_value("y", 1, NULL));
    expect_refused("gqa_rope_packed", g, "rope_packed", "com.microsoft.RotaryEmbedding");
}

/* A run whose lengths break the rewrite's assumption (seqlens_k differing per row, or
 * total_sequence_length not P + S) fails with exit 2 naming the check node, no output. */
static void expect_run_refused(const char *tag, const int64_t *seqlens, int64_t total) {
    static const int64_t qd[3] = {2, 1, 32}, kd[3] = {2, 1, 16}, pd[4] = {2, 2, 6, 8}, bd[1] = {2};
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in[7] = {add_input(g, "q", 3, qd, 1), add_input(g, "k", 3, kd, 2), add_input(g, "v", 3, kd, 3),
                       add_input(g, "pk", 4, pd, 4), add_input(g, "pv", 4, pd, 5),
                       add_int_input(g, "seqlens_k", 6, 1, bd, seqlens),
                       add_int_input(g, "total_len", 6, 0, NULL, &total)};
    Onnx__NodeProto *n = ms_node(g, "GroupQueryAttention", "gqa_ragged", "q,k,v,pk,pv,seqlens_k,total_len", "y");
    pb_attr_int(n, "num_heads", 4);
    pb_attr_int(n, "kv_num_heads", 2);
    pb_add_output(g, pb_value("y", 1, NULL));
    char dir[256], path[300], log[4096], args[2048] = "";
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, tag), 0);
    size_t len, used = 0;
    uint8_t *m = pb_model_pack_domain(g, 10, OPSET, "com.microsoft", 1, "test", &len);
    snprintf(path, sizeof path, "%s/ragged.onnx", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    for (int i = 0; i < 7; i++) {
        char npy[300];
        RtError err = {{0}};
        snprintf(npy, sizeof npy, "%s/%s.npy", dir, in[i].name);
        cr_assert_eq(npy_write(npy, &in[i].t, &err), RT_OK, "%s", err.msg);
        used += (size_t)snprintf(args + used, sizeof args - used, " --input %s=%s", in[i].name, npy);
    }
    int rc = tu_run(log, sizeof log, WAFER_BIN " run '%s'%s --out %s/o", path, args, dir);
    cr_expect_eq(rc, 2, "%s: exit %d:\n%s", tag, rc, log);
    cr_expect(strstr(log, "gqa_ragged/seqlens_k_and_total_sequence_length_must_be_past_plus_new"),
              "%s: message does not name the check:\n%s", tag, log);
    snprintf(path, sizeof path, "%s/o/y.npy", dir);
    cr_expect(access(path, F_OK) != 0, "%s: an output was written", tag);
    tu_tmpdir_remove(dir);
}

Test(onnx_contrib_gqa, lengths_the_rewrite_does_not_model_fail_at_run_time_naming_the_check) {
    static const int64_t ragged[2] = {6, 3}, full[2] = {6, 6};
    expect_run_refused("gqa_ragged_rows", ragged, 7);
    expect_run_refused("gqa_shared_buffer", full, 9);
}

/* The .wafer route: `wafer quantize --weights f32` of a GroupQueryAttention decode model keeps
 * the rewrite (Attention and RotaryEmbedding stamped opset 23 in an opset-21 model) and runs to
 * the same bytes as the .onnx, which the cases above hold to onnxruntime. */
Test(onnx_contrib_gqa, the_rewrite_survives_the_wafer_file) {
    static const int64_t qd[3] = {1, 1, 64}, kd[3] = {1, 1, 32}, pd[4] = {1, 2, 5, 16}, bd[1] = {1};
    static const int64_t sk = 5, total = 6;
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in[7] = {add_input(g, "q", 3, qd, 1), add_input(g, "k", 3, kd, 2), add_input(g, "v", 3, kd, 3),
                       add_input(g, "pk", 4, pd, 4), add_input(g, "pv", 4, pd, 5),
                       add_int_input(g, "seqlens_k", 6, 1, bd, &sk),
                       add_int_input(g, "total_len", 6, 0, NULL, &total)};
    add_caches(g, "cos", "sin", 16, 8);
    Onnx__NodeProto *n = ms_node(g, "GroupQueryAttention", "gqa_file", "q,k,v,pk,pv,seqlens_k,total_len,cos,sin", "y");
    pb_attr_int(n, "num_heads", 4);
    pb_attr_int(n, "kv_num_heads", 2);
    pb_attr_int(n, "do_rotary", 1);
    pb_add_output(g, pb_value("y", 1, NULL));
    char dir[256], path[300], log[4096], args[2048] = "";
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "gqa_file"), 0);
    size_t len, used = 0;
    uint8_t *m = pb_model_pack_domain(g, 10, OPSET, "com.microsoft", 1, "test", &len);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    for (int i = 0; i < 7; i++) {
        char npy[300];
        RtError err = {{0}};
        snprintf(npy, sizeof npy, "%s/%s.npy", dir, in[i].name);
        cr_assert_eq(npy_write(npy, &in[i].t, &err), RT_OK, "%s", err.msg);
        used += (size_t)snprintf(args + used, sizeof args - used, " --input %s=%s", in[i].name, npy);
    }
    int rc = tu_run(log, sizeof log, WAFER_BIN " quantize %s/m.onnx -o %s/m.wafer --weights f32", dir, dir);
    cr_assert_eq(rc, 0, "quantize: exit %d:\n%s", rc, log);
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s/m.onnx%s --out %s/a", dir, args, dir);
    cr_assert_eq(rc, 0, "run .onnx: exit %d:\n%s", rc, log);
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s/m.wafer%s --out %s/b", dir, args, dir);
    cr_assert_eq(rc, 0, "run .wafer: exit %d:\n%s", rc, log);
    size_t na = 0, nb = 0;
    char pa[300], pbp[300];
    snprintf(pa, sizeof pa, "%s/a/y.npy", dir);
    snprintf(pbp, sizeof pbp, "%s/b/y.npy", dir);
    unsigned char *a = tu_file_read(pa, &na), *b = tu_file_read(pbp, &nb);
    cr_assert(a && b, "outputs missing");
    cr_expect(na == nb && memcmp(a, b, na) == 0, "the .wafer output differs from the .onnx one");
    free(a);
    free(b);
    tu_tmpdir_remove(dir);
}
