/*
 * test_attention23.c — the opset-23 transformer ops (RMSNormalization, RotaryEmbedding,
 * Attention) against onnxruntime-node: each case is a one-node model at opset 23 (IR 11)
 * built with onnx_proto_build.h, run by onnxruntime and by `wafer run` on the same random
 * inputs (tests/ort_compare.h), every output compared. Together the cases cover every
 * attribute and every optional input and output of the three ops: 3-D and 4-D layouts, GQA
 * and MQA heads, bool and float masks with broadcasting, is_causal with and without a
 * key/value cache, present outputs, scale, softcap, the four qk_matmul_output modes,
 * softmax_precision, interleaved / partial rotary, position_ids. Each case runs twice in wafer:
 * with the optimized kernels (Attention's AVX-512 path where the CPU has it) and with
 * WAFER_RT_REF=1 (the reference kernels). Skips where onnxruntime-node is not installed.
 */
#include <stdlib.h>

#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(attention23, .fini = pb_release_all);

/* float32 everywhere. Attention: scores are dot products of <= 32 terms of values in [-1, 1)
 * and softmax sums of <= 300 terms, accumulated in a different order than onnxruntime's
 * (BLAS vs MLAS): a few ulps of values of magnitude ~1-10, so 1e-5 absolute plus 1e-4
 * relative. RMSNormalization / RotaryEmbedding: wafer rounds once from double, onnxruntime
 * computes in float: one or two ulps of values up to ~3. */
static const OrtcTol ATT_TOL = {1e-5, 1e-4, 0};
static const OrtcTol ELEM_TOL = {1e-6, 1e-5, 0};

typedef struct {
    const char *name;
    RtDtype dt;        /* RT_F32 random in [-1, 1); RT_BOOL a pattern; RT_I64 positions */
    int rank;
    int64_t dims[4];
    int64_t imax;      /* RT_I64: values in [0, imax) */
} TIn;

static uint32_t lcg = 12345u;
static float rnd(void) { return (float)((lcg = lcg * 1664525u + 1013904223u) >> 8) / (1 << 24) * 2 - 1; }

static void tin_fill(const TIn *d, OrtcInput *o) {
    o->name = d->name;
    memset(&o->t, 0, sizeof o->t);
    o->t.dtype = d->dt;
    o->t.rank = d->rank;
    memcpy(o->t.dims, d->dims, sizeof(int64_t) * (size_t)d->rank);
    int64_t n = rt_numel(&o->t);
    o->t.data = pb_zalloc((size_t)(n ? n : 1) * rt_dtype_size(d->dt));
    for (int64_t i = 0; i < n; i++) {
        if (d->dt == RT_F32) ((float *)o->t.data)[i] = rnd();
        else if (d->dt == RT_BOOL) ((uint8_t *)o->t.data)[i] = rnd() > -0.6f; /* ~80% attend */
        else ((int64_t *)o->t.data)[i] = (int64_t)((rnd() + 1) * 0.5f * (float)d->imax) % d->imax;
    }
}

/* Runs node (already holding its attributes) with the given graph inputs; outs are its
 * output names ("" skipped), all float32. */
static void run_case(const char *tag, Onnx__NodeProto *node, const TIn *ins, int n_in, const OrtcTol *tol) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_node(g, node);
    OrtcInput in[8];
    for (int i = 0; i < n_in; i++) {
        tin_fill(&ins[i], &in[i]);
        char dims[64] = "";
        size_t l = 0;
        for (int d = 0; d < ins[i].rank; d++) l += (size_t)snprintf(dims + l, sizeof dims - l, d ? ",%lld" : "%lld", (long long)ins[i].dims[d]);
        pb_add_input(g, pb_value(ins[i].name, ins[i].dt, dims));
    }
    for (size_t o = 0; o < node->n_output; o++)
        if (node->output[o][0]) pb_add_output(g, pb_value(node->output[o], RT_F32, NULL));
    size_t len;
    uint8_t *m = pb_model_pack(g, 11, 23, "test_attention23", &len);
    if (!ortc_compare(tag, m, len, in, n_in, tol)) cr_skip_test("onnxruntime-node is not installed");
    /* again through the reference kernels only (the default run takes x86/attention23_x86.c
     * where the CPU has AVX-512); not under ASan (WAFER_SANITIZED), to keep that run short */
    if (getenv("WAFER_SANITIZED")) return;
    setenv("WAFER_RT_REF", "1", 1);
    ortc_compare(tag, m, len, in, n_in, tol);
    unsetenv("WAFER_RT_REF");
}

/* The same with float16 tensors: float32 graph inputs are Cast to float16 "<name>_h" (which
 * node reads), node's outputs "<name>_h" are Cast back to float32 graph outputs "<name>"; so
 * both runtimes compute in float16 and the harness compares float32. */
static void run_case_f16(const char *tag, Onnx__NodeProto *node, const TIn *ins, int n_in, const OrtcTol *tol) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in[8];
    for (int i = 0; i < n_in; i++) {
        tin_fill(&ins[i], &in[i]);
        char dims[64] = "", h[64];
        size_t l = 0;
        for (int d = 0; d < ins[i].rank; d++) l += (size_t)snprintf(dims + l, sizeof dims - l, d ? ",%lld" : "%lld", (long long)ins[i].dims[d]);
        pb_add_input(g, pb_value(ins[i].name, ins[i].dt, dims));
        snprintf(h, sizeof h, "%s_h", ins[i].name);
        if (ins[i].dt == RT_F32) pb_attr_int(pb_add_node(g, pb_node("Cast", h, ins[i].name, h)), "to", RT_F16);
    }
    pb_add_node(g, node);
    for (size_t o = 0; o < node->n_output; o++) {
        size_t n = strlen(node->output[o]);
        if (n < 3) continue; /* "" = an unused output */
        char *name = pb_str(node->output[o]);
        name[n - 2] = '\0'; /* drop "_h" */
        pb_attr_int(pb_add_node(g, pb_node("Cast", name, node->output[o], name)), "to", RT_F32);
        pb_add_output(g, pb_value(name, RT_F32, NULL));
    }
    size_t len;
    uint8_t *m = pb_model_pack(g, 11, 23, "test_attention23", &len);
    if (!ortc_compare(tag, m, len, in, n_in, tol)) cr_skip_test("onnxruntime-node is not installed");
}

/* float16 results: both round each output once to float16 from (at least) float32 work, but
 * onnxruntime may keep float16 intermediates (scores, sums): a few float16 ulps (2^-11
 * relative) of values up to ~3, so 4e-3 absolute plus 4e-3 relative. */
static const OrtcTol F16_TOL = {4e-3, 4e-3, 0};

/* ---------- RMSNormalization ---------- */

Test(attention23, rms_norm_last_axis_defaults) {
    Onnx__NodeProto *n = pb_node("RMSNormalization", "rms", "x,s", "y");
    TIn in[] = {{"x", RT_F32, 3, {2, 3, 8}, 0}, {"s", RT_F32, 1, {8}, 0}};
    run_case("w_rms_default", n, in, 2, &ELEM_TOL);
}

Test(attention23, rms_norm_axis_epsilon_stash_broadcast_scale) {
    Onnx__NodeProto *n = pb_node("RMSNormalization", "rms", "x,s", "y");
    pb_attr_int(n, "axis", 1);
    pb_attr_float(n, "epsilon", 0.25f); /* large, so a misplaced epsilon shows */
    pb_attr_int(n, "stash_type", 1);
    TIn in[] = {{"x", RT_F32, 3, {2, 3, 5}, 0}, {"s", RT_F32, 2, {1, 5}, 0}};
    run_case("w_rms_axis", n, in, 2, &ELEM_TOL);
}

/* ---------- RotaryEmbedding ---------- */

Test(attention23, rotary_4d_halves_caches_per_batch) {
    Onnx__NodeProto *n = pb_node("RotaryEmbedding", "rope", "x,c,s", "y");
    TIn in[] = {{"x", RT_F32, 4, {2, 3, 5, 8}, 0}, {"c", RT_F32, 3, {2, 5, 4}, 0}, {"s", RT_F32, 3, {2, 5, 4}, 0}};
    run_case("w_rope4", n, in, 3, &ELEM_TOL);
}

Test(attention23, rotary_3d_interleaved_partial_position_ids) {
    Onnx__NodeProto *n = pb_node("RotaryEmbedding", "rope", "x,c,s,p", "y");
    pb_attr_int(n, "interleaved", 1);
    pb_attr_int(n, "num_heads", 2);
    pb_attr_int(n, "rotary_embedding_dim", 6);
    TIn in[] = {{"x", RT_F32, 3, {2, 4, 20}, 0}, {"c", RT_F32, 2, {16, 3}, 0}, {"s", RT_F32, 2, {16, 3}, 0},
                {"p", RT_I64, 2, {2, 4}, 16}};
    run_case("w_rope3", n, in, 4, &ELEM_TOL);
}

Test(attention23, rotary_4d_halves_partial_position_ids) {
    Onnx__NodeProto *n = pb_node("RotaryEmbedding", "rope", "x,c,s,p", "y");
    pb_attr_int(n, "rotary_embedding_dim", 4);
    TIn in[] = {{"x", RT_F32, 4, {1, 2, 3, 8}, 0}, {"c", RT_F32, 2, {9, 2}, 0}, {"s", RT_F32, 2, {9, 2}, 0},
                {"p", RT_I64, 2, {1, 3}, 9}};
    run_case("w_rope4p", n, in, 4, &ELEM_TOL);
}

/* ---------- Attention ---------- */

Test(attention23, attention_4d_mha_defaults) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v", "y");
    TIn in[] = {{"q", RT_F32, 4, {2, 3, 4, 8}, 0}, {"k", RT_F32, 4, {2, 3, 6, 8}, 0}, {"v", RT_F32, 4, {2, 3, 6, 5}, 0}};
    run_case("w_att_mha", n, in, 3, &ATT_TOL);
}

Test(attention23, attention_3d_gqa_float_mask_broadcast_scale) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v,m", "y");
    pb_attr_int(n, "q_num_heads", 4);
    pb_attr_int(n, "kv_num_heads", 2);
    pb_attr_float(n, "scale", 0.3f);
    TIn in[] = {{"q", RT_F32, 3, {2, 5, 32}, 0}, {"k", RT_F32, 3, {2, 7, 16}, 0}, {"v", RT_F32, 3, {2, 7, 12}, 0},
                {"m", RT_F32, 2, {5, 7}, 0}};
    run_case("w_att_gqa3", n, in, 4, &ATT_TOL);
}

Test(attention23, attention_mqa_bool_mask_4d_broadcast_heads) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v,m", "y");
    TIn in[] = {{"q", RT_F32, 4, {2, 4, 3, 8}, 0}, {"k", RT_F32, 4, {2, 1, 6, 8}, 0}, {"v", RT_F32, 4, {2, 1, 6, 8}, 0},
                {"m", RT_BOOL, 4, {2, 1, 3, 6}, 0}};
    run_case("w_att_mqa", n, in, 4, &ATT_TOL);
}

/* qk_matmul_output at each of its four stages, with a float mask and a softcap both active,
 * so each stage differs from its neighbours; mode 3 also causal (0 above the diagonal). Mode 2
 * is not compared causal: there the spec (and wafer) has -inf above the diagonal, onnxruntime
 * 1.30 writes -FLT_MAX. */
static void qk_mode_case(int mode) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v,m", "y,,,qk");
    pb_attr_int(n, "qk_matmul_output_mode", mode);
    pb_attr_float(n, "softcap", 2.0f);
    if (mode == 3) pb_attr_int(n, "is_causal", 1);
    char tag[32];
    snprintf(tag, sizeof tag, "w_att_qk%d", mode);
    TIn in[] = {{"q", RT_F32, 4, {1, 2, 4, 8}, 0}, {"k", RT_F32, 4, {1, 2, 5, 8}, 0}, {"v", RT_F32, 4, {1, 2, 5, 8}, 0},
                {"m", RT_F32, 2, {4, 5}, 0}};
    run_case(tag, n, in, 4, &ATT_TOL);
}

Test(attention23, attention_qk_output_mode0_softcap) { qk_mode_case(0); }
Test(attention23, attention_qk_output_mode1_softcap) { qk_mode_case(1); }
Test(attention23, attention_qk_output_mode2_softcap) { qk_mode_case(2); }
Test(attention23, attention_qk_output_mode3_softcap) { qk_mode_case(3); }

Test(attention23, attention_causal_gqa_with_past_and_present) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v,,pk,pv", "y,ok,ov");
    pb_attr_int(n, "is_causal", 1);
    TIn in[] = {{"q", RT_F32, 4, {2, 4, 3, 8}, 0},  {"k", RT_F32, 4, {2, 2, 3, 8}, 0},
                {"v", RT_F32, 4, {2, 2, 3, 6}, 0},  {"pk", RT_F32, 4, {2, 2, 5, 8}, 0},
                {"pv", RT_F32, 4, {2, 2, 5, 6}, 0}};
    run_case("w_att_cache", n, in, 5, &ATT_TOL);
}

Test(attention23, attention_3d_causal_past_mask_softmax_precision) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v,m,pk,pv", "y,ok,ov");
    pb_attr_int(n, "q_num_heads", 2);
    pb_attr_int(n, "kv_num_heads", 2);
    pb_attr_int(n, "softmax_precision", 1);
    TIn in[] = {{"q", RT_F32, 3, {1, 2, 16}, 0},  {"k", RT_F32, 3, {1, 2, 16}, 0}, {"v", RT_F32, 3, {1, 2, 16}, 0},
                {"m", RT_BOOL, 2, {2, 6}, 0},   {"pk", RT_F32, 4, {1, 2, 4, 8}, 0},
                {"pv", RT_F32, 4, {1, 2, 4, 8}, 0}};
    run_case("w_att_3dpast", n, in, 6, &ATT_TOL);
}

/* Decode steps (one query row per head) with grouped heads. Head sizes multiples of 16 and
 * groups of at most 8 query heads run on x86/attention_decode_x86.c (K and V read in place;
 * rows in groups of 4 and 64-float chunks of V: 6 heads per group = 4 + 2 rows, dv 48 = 3
 * vectors, T not a multiple of 16); other sizes fold each group's heads into the rows of one
 * head of the fused kernel (attention23_x86.c at23_fold_heads). Per-head float masks, a mask
 * shared by every head, causal, 3-D and 4-D, batches of 2. */
Test(attention23, attention_decode_gqa_per_head_float_mask_4d) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v,m,pk,pv", "y,ok,ov");
    TIn in[] = {{"q", RT_F32, 4, {2, 12, 1, 32}, 0},  {"k", RT_F32, 4, {2, 2, 1, 32}, 0},
                {"v", RT_F32, 4, {2, 2, 1, 48}, 0},   {"m", RT_F32, 4, {2, 12, 1, 38}, 0},
                {"pk", RT_F32, 4, {2, 2, 37, 32}, 0}, {"pv", RT_F32, 4, {2, 2, 37, 48}, 0}};
    run_case("w_att_dec4", n, in, 6, &ATT_TOL);
}

Test(attention23, attention_decode_gqa_3d_causal_shared_bool_mask) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v,m,pk,pv", "y,ok,ov");
    pb_attr_int(n, "q_num_heads", 8);
    pb_attr_int(n, "kv_num_heads", 2);
    pb_attr_int(n, "is_causal", 1);
    TIn in[] = {{"q", RT_F32, 3, {2, 1, 128}, 0},      {"k", RT_F32, 3, {2, 1, 32}, 0},
                {"v", RT_F32, 3, {2, 1, 160}, 0},      {"m", RT_BOOL, 2, {1, 130}, 0},
                {"pk", RT_F32, 4, {2, 2, 129, 16}, 0}, {"pv", RT_F32, 4, {2, 2, 129, 80}, 0}};
    run_case("w_att_dec3", n, in, 6, &ATT_TOL);
}

Test(attention23, attention_decode_mqa_long_cache_no_mask) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v,,pk,pv", "y,ok,ov");
    TIn in[] = {{"q", RT_F32, 4, {1, 5, 1, 64}, 0},    {"k", RT_F32, 4, {1, 1, 1, 64}, 0},
                {"v", RT_F32, 4, {1, 1, 1, 64}, 0},    {"pk", RT_F32, 4, {1, 1, 299, 64}, 0},
                {"pv", RT_F32, 4, {1, 1, 299, 64}, 0}};
    run_case("w_att_decmqa", n, in, 5, &ATT_TOL);
}

/* One query row per head over keys that come only as new rows (no cache, 5 of them), 4-D with
 * the present outputs and 3-D without them (the kernel's copy then goes to scratch). */
Test(attention23, attention_decode_no_cache_several_new_keys) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v", "y,ok,ov");
    TIn in[] = {{"q", RT_F32, 4, {2, 4, 1, 16}, 0}, {"k", RT_F32, 4, {2, 2, 5, 16}, 0},
                {"v", RT_F32, 4, {2, 2, 5, 32}, 0}};
    run_case("w_att_dec_new4", n, in, 3, &ATT_TOL);
    Onnx__NodeProto *n3 = pb_node("Attention", "att", "q,k,v", "y");
    pb_attr_int(n3, "q_num_heads", 6);
    pb_attr_int(n3, "kv_num_heads", 3);
    TIn in3[] = {{"q", RT_F32, 3, {1, 1, 96}, 0}, {"k", RT_F32, 3, {1, 5, 48}, 0}, {"v", RT_F32, 3, {1, 5, 96}, 0}};
    run_case("w_att_dec_new3", n3, in3, 3, &ATT_TOL);
}

/* The decode kernel splits its (batch, key/value head) units over threads; every unit is
 * computed by the same instructions whatever the split: `wafer run --threads 2` must write the
 * bytes of the 1-thread run (which the cases above compare with onnxruntime). */
Test(attention23, attention_decode_two_threads_bit_identical) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_node(g, pb_node("Attention", "att", "q,k,v,,pk,pv", "y,ok,ov"));
    TIn ins[] = {{"q", RT_F32, 4, {1, 8, 1, 64}, 0},    {"k", RT_F32, 4, {1, 4, 1, 64}, 0},
                 {"v", RT_F32, 4, {1, 4, 1, 64}, 0},    {"pk", RT_F32, 4, {1, 4, 300, 64}, 0},
                 {"pv", RT_F32, 4, {1, 4, 300, 64}, 0}};
    char dir[256], log[4096], args[2048] = "", path[300];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "att_dec_thr"), 0);
    size_t l = 0;
    for (int i = 0; i < 5; i++) {
        OrtcInput in;
        tin_fill(&ins[i], &in);
        char dims[64] = "", f[300];
        size_t dl = 0;
        for (int d = 0; d < 4; d++)
            dl += (size_t)snprintf(dims + dl, sizeof dims - dl, d ? ",%lld" : "%lld", (long long)ins[i].dims[d]);
        pb_add_input(g, pb_value(ins[i].name, RT_F32, dims));
        snprintf(f, sizeof f, "%s/%s.npy", dir, ins[i].name);
        RtError err = {{0}};
        cr_assert_eq(npy_write(f, &in.t, &err), RT_OK, "%s", err.msg);
        l += (size_t)snprintf(args + l, sizeof args - l, " --input %s=%s", ins[i].name, f);
    }
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    size_t len;
    uint8_t *m = pb_model_pack(g, 11, 23, "test_attention23", &len);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp && fwrite(m, 1, len, fp) == len && fclose(fp) == 0);
    for (int t = 1; t <= 2; t++)
        cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " run %s%s --threads %d --out %s/t%d", path, args, t, dir, t), 0,
                     "%s", log);
    char f1[300], f2[300];
    snprintf(f1, sizeof f1, "%s/t1/y.npy", dir), snprintf(f2, sizeof f2, "%s/t2/y.npy", dir);
    size_t n1 = 0, n2 = 0;
    unsigned char *a = tu_file_read(f1, &n1), *b = tu_file_read(f2, &n2);
    cr_assert(a && b && n1 == n2 && n1 > 8 * 64 * 4, "outputs missing");
    cr_expect(memcmp(a, b, n1) == 0, "2 threads wrote other values than 1 thread");
    free(a), free(b);
    tu_tmpdir_remove(dir);
}

/* Head sizes 20 / 12 and 17 / 9 (not multiples of 16), and a group of 12 query heads: the
 * folded path. */
Test(attention23, attention_decode_odd_head_sizes_folded) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v,m,pk,pv", "y,ok,ov");
    TIn in[] = {{"q", RT_F32, 4, {2, 6, 1, 20}, 0},   {"k", RT_F32, 4, {2, 2, 1, 20}, 0},
                {"v", RT_F32, 4, {2, 2, 1, 12}, 0},   {"m", RT_F32, 4, {2, 6, 1, 38}, 0},
                {"pk", RT_F32, 4, {2, 2, 37, 20}, 0}, {"pv", RT_F32, 4, {2, 2, 37, 12}, 0}};
    run_case("w_att_dec_odd4", n, in, 6, &ATT_TOL);
    Onnx__NodeProto *n3 = pb_node("Attention", "att", "q,k,v,m,pk,pv", "y,ok,ov");
    pb_attr_int(n3, "q_num_heads", 8);
    pb_attr_int(n3, "kv_num_heads", 2);
    pb_attr_int(n3, "is_causal", 1);
    TIn in3[] = {{"q", RT_F32, 3, {1, 1, 136}, 0},      {"k", RT_F32, 3, {1, 1, 34}, 0},
                 {"v", RT_F32, 3, {1, 1, 18}, 0},       {"m", RT_BOOL, 2, {1, 130}, 0},
                 {"pk", RT_F32, 4, {1, 2, 129, 17}, 0}, {"pv", RT_F32, 4, {1, 2, 129, 9}, 0}};
    run_case("w_att_dec_odd3", n3, in3, 6, &ATT_TOL);
    Onnx__NodeProto *nb = pb_node("Attention", "att", "q,k,v,,pk,pv", "y,ok,ov");
    TIn inb[] = {{"q", RT_F32, 4, {1, 12, 1, 16}, 0},  {"k", RT_F32, 4, {1, 1, 1, 16}, 0},
                 {"v", RT_F32, 4, {1, 1, 1, 16}, 0},   {"pk", RT_F32, 4, {1, 1, 40, 16}, 0},
                 {"pv", RT_F32, 4, {1, 1, 40, 16}, 0}};
    run_case("w_att_dec_g12", nb, inb, 5, &ATT_TOL);
}

/* 300 queries and keys: two scores blocks (65536 / 300 = 218 rows, then 82), each causal
 * block cut at its last row's diagonal. */
Test(attention23, attention_causal_long_sequence_blocks) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v", "y");
    pb_attr_int(n, "is_causal", 1);
    TIn in[] = {{"q", RT_F32, 4, {1, 2, 300, 16}, 0}, {"k", RT_F32, 4, {1, 2, 300, 16}, 0},
                {"v", RT_F32, 4, {1, 2, 300, 16}, 0}};
    run_case("w_att_long", n, in, 3, &ATT_TOL);
}

/* ---------- float16 ---------- */

Test(attention23, float16_rms_norm_rotary_attention) {
    Onnx__NodeProto *n = pb_node("RMSNormalization", "rms", "x_h,s_h", "y_h");
    TIn in[] = {{"x", RT_F32, 3, {2, 3, 8}, 0}, {"s", RT_F32, 1, {8}, 0}};
    run_case_f16("w_rms16", n, in, 2, &F16_TOL);
    n = pb_node("RotaryEmbedding", "rope", "x_h,c_h,s_h,p", "y_h");
    pb_attr_int(n, "interleaved", 1);
    TIn in2[] = {{"x", RT_F32, 4, {1, 2, 3, 8}, 0}, {"c", RT_F32, 2, {9, 4}, 0}, {"s", RT_F32, 2, {9, 4}, 0},
                 {"p", RT_I64, 2, {1, 3}, 9}};
    run_case_f16("w_rope16", n, in2, 4, &F16_TOL);
    n = pb_node("Attention", "att", "q_h,k_h,v_h,m", "y_h");
    TIn in3[] = {{"q", RT_F32, 4, {1, 4, 5, 8}, 0}, {"k", RT_F32, 4, {1, 2, 6, 8}, 0}, {"v", RT_F32, 4, {1, 2, 6, 8}, 0},
                 {"m", RT_BOOL, 2, {5, 6}, 0}};
    run_case_f16("w_att16", n, in3, 4, &F16_TOL);
}

/* softmax_precision = double: the softmax's exp and sum in double. */
Test(attention23, attention_double_softmax) {
    Onnx__NodeProto *n = pb_node("Attention", "att", "q,k,v,m", "y");
    pb_attr_int(n, "softmax_precision", 11);
    TIn in[] = {{"q", RT_F32, 4, {2, 2, 3, 8}, 0}, {"k", RT_F32, 4, {2, 2, 7, 8}, 0}, {"v", RT_F32, 4, {2, 2, 7, 8}, 0},
                {"m", RT_F32, 4, {2, 1, 3, 7}, 0}};
    run_case("w_att_f64", n, in, 4, &ATT_TOL);
}

/* ---------- a decoder block ---------- */

static Onnx__TensorProto *rand_init(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    float *v = pb_zalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = rnd() * 0.5f;
    return pb_tensor_floats(pb_add_init(g, pb_tensor(name, RT_F32, (size_t)rank, dims)), (size_t)n, v);
}

/* RMSNormalization -> Q/K/V projections -> RotaryEmbedding on Q and K (3-D, position_ids) ->
 * causal GQA Attention (3-D, 4 query over 2 key/value heads) -> output projection ->
 * residual, as an opset-23 exporter writes a decoder layer: the whole graph against
 * onnxruntime, then `wafer quantize --weights int8` of it runs too. */
Test(attention23, decoder_block_against_onnxruntime_and_quantized) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("x", RT_F32, "1,6,32"));
    pb_add_input(g, pb_value("pos", RT_I64, "1,6"));
    rand_init(g, "ln", 1, (int64_t[]){32});
    rand_init(g, "wq", 2, (int64_t[]){32, 32});
    rand_init(g, "wk", 2, (int64_t[]){32, 16});
    rand_init(g, "wv", 2, (int64_t[]){32, 16});
    rand_init(g, "wo", 2, (int64_t[]){32, 32});
    rand_init(g, "cos", 2, (int64_t[]){16, 4});
    rand_init(g, "sin", 2, (int64_t[]){16, 4});
    pb_add_node(g, pb_node("RMSNormalization", "norm", "x,ln", "h"));
    pb_add_node(g, pb_node("MatMul", "pq", "h,wq", "q"));
    pb_add_node(g, pb_node("MatMul", "pk", "h,wk", "k"));
    pb_add_node(g, pb_node("MatMul", "pv", "h,wv", "v"));
    pb_attr_int(pb_add_node(g, pb_node("RotaryEmbedding", "rq", "q,cos,sin,pos", "qr")), "num_heads", 4);
    pb_attr_int(pb_add_node(g, pb_node("RotaryEmbedding", "rk", "k,cos,sin,pos", "kr")), "num_heads", 2);
    Onnx__NodeProto *a = pb_add_node(g, pb_node("Attention", "att", "qr,kr,v", "a"));
    pb_attr_int(a, "q_num_heads", 4);
    pb_attr_int(a, "kv_num_heads", 2);
    pb_attr_int(a, "is_causal", 1);
    pb_add_node(g, pb_node("MatMul", "po", "a,wo", "o"));
    pb_add_node(g, pb_node("Add", "res", "o,x", "y"));
    pb_add_output(g, pb_value("y", RT_F32, "1,6,32"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 11, 23, "test_attention23", &len);
    OrtcInput in[2];
    TIn d[2] = {{"x", RT_F32, 3, {1, 6, 32}, 0}, {"pos", RT_I64, 2, {1, 6}, 16}};
    tin_fill(&d[0], &in[0]);
    tin_fill(&d[1], &in[1]);
    if (!ortc_compare("w_block", m, len, in, 2, &ATT_TOL)) cr_skip_test("onnxruntime-node is not installed");
    char dir[256], log[8192], path[300];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "w_blockq"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    RtError err = {{0}};
    char xp[320], pp[320];
    snprintf(xp, sizeof xp, "%s/x.npy", dir);
    snprintf(pp, sizeof pp, "%s/pos.npy", dir);
    cr_assert_eq(npy_write(xp, &in[0].t, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(npy_write(pp, &in[1].t, &err), RT_OK, "%s", err.msg);
    int rc = tu_run(log, sizeof log, WAFER_BIN " quantize %s -o %s/q.wafer --weights int8 --quantize-head", path, dir);
    cr_expect_eq(rc, 0, "quantize: %s", log);
    cr_expect(strstr(log, "4 weights quantized"), "quantize: %s", log); /* q, k, v, o projections */
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s/q.wafer --input x=%s --input pos=%s --out %s/o", dir, xp, pp, dir);
    cr_expect_eq(rc, 0, "run: %s", log);
    tu_tmpdir_remove(dir);
}
