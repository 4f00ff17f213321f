/*
 * test_half_models.c — float16 CNNs end to end against onnxruntime-node: the fixtures'
 * digits_cnn (Conv, BatchNormalization, Relu, MaxPool, Gemm) and mobilenet_v2 (depthwise and
 * 1x1 Conv, Clip, Add, GlobalAveragePool, Gemm) converted at test time to float16 as
 * onnxconverter-common's convert_float_to_float16(keep_io_types=False) does
 * (tests/onnx_half_convert.h), inputs rounded to float16. Both the .onnx (wafer run: the
 * optimized kernels, x86/half_x86.c) and a .wafer compiled from it (wafer quantize --weights
 * f32: fused, planned, node states kept) must give onnxruntime's float16 outputs. And the
 * float16 BatchNormalization fold (passes/fuse_batchnorm.c) makes onnxruntime's folded
 * weights: digits_cnn's three BNs fold away in wafer's pipeline (pass_simplify + pass_fuse),
 * and every folded Conv weight and bias equals, bit for bit, the initializer onnxruntime
 * runs (its optimized model, saved by `ort_eval.js optimize`). Skips where node or
 * onnxruntime-node is missing.
 */
#include <math.h>

#include "../onnx_half_convert.h"
#include "../ort_compare.h"
#include "../../frontend/onnx.h"
#include "../../io/npy.h"
#include "../../passes/passes.h"

/* Both round every op's output to float16 (2^-11 relative): wafer computes each op in
 * float32 and rounds once, onnxruntime's CPU provider the same through the Casts it inserts
 * (or its own float16 kernels); float32 sums in another order may round a value to the
 * neighbouring float16, and later layers carry that, so a logit moves by a few float16
 * steps of the terms it sums (hidden values of order 1) plus its own rounding: 0.5% of the
 * value plus 0.005 (digits' worst seen: 0.003, on a logit of 0.03 that cancels larger terms). */
static const OrtcTol HALF_MODEL_TOL = {0.005, 0.005, 0};

/* The first rows of a fixture input as float16. */
static RtTensor first_rows_f16(const char *path, int64_t rows) {
    RtTensor x;
    RtError err = {{0}};
    cr_assert_eq(npy_read(path, &x, &err), RT_OK, "%s", err.msg);
    cr_assert(x.dtype == RT_F32 && x.dims[0] >= rows);
    x.dims[0] = rows;
    int64_t n = rt_numel(&x);
    uint16_t *h = malloc((size_t)n * 2);
    rt_f32_to_f16_n(x.data, h, n);
    free(x.data);
    x.dtype = RT_F16;
    x.data = h;
    return x;
}

static void check_model(const char *tag, const char *model, const char *input, const char *data, int64_t rows,
                        const char *shape) {
    char dir[256], f16[400], wf[400], log[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, tag), 0);
    snprintf(f16, sizeof f16, "%s/model_f16.onnx", dir);
    snprintf(wf, sizeof wf, "%s/model_f16.wafer", dir);
    char err[512];
    cr_assert_eq(ohc_convert_file(model, f16, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, err, sizeof err), 0, "%s", err);
    OrtcInput in = {input, first_rows_f16(data, rows)};
    if (!ortc_compare_file(tag, f16, &in, 1, &HALF_MODEL_TOL)) {
        free(in.t.data);
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    /* the compiled .wafer against onnxruntime's outputs of the same input */
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " quantize '%s' -o '%s' --weights f32 --shape %s=%s", f16, wf, input,
                        shape),
                 0, "%s: quantize: %s", tag, log);
    char xin[400];
    snprintf(xin, sizeof xin, "%s/x.npy", dir);
    RtError e = {{0}};
    cr_assert_eq(npy_write(xin, &in.t, &e), RT_OK, "%s", e.msg);
    cr_assert_eq(tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run '%s' '%s=%s' --out %s/ort", f16, input, xin, dir),
                 0, "%s: onnxruntime: %s", tag, log);
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " run '%s' --input '%s=%s' --out %s/w", wf, input, xin, dir), 0,
                 "%s: wafer run: %s", tag, log);
    ortc__compare_one(tag, dir, "logits.npy", &HALF_MODEL_TOL);
    free(in.t.data);
    tu_tmpdir_remove(dir);
}

Test(half_models, digits_cnn_float16_matches_onnxruntime) {
    check_model("wafer_half_cnn", FIXTURES "/digits/digits_cnn.onnx", "image", FIXTURES "/digits/test_img.npy", 32,
                "32,1,8,8");
}

Test(half_models, mobilenet_v2_float16_matches_onnxruntime) {
    check_model("wafer_half_mbv2", FIXTURES "/perf/mobilenet_v2.onnx", "input", FIXTURES "/perf/mobilenet_v2_in.npy", 2,
                "2,3,224,224");
}

/* The constant node n of g reads at input j, through the Casts onnxruntime puts between its
 * float16 initializers and the float32 Conv it runs them with; NULL when there is none. */
static const RtTensor *weight_through_casts(const IrGraph *g, const RtNode *n, int j) {
    int v = j < n->n_in ? n->in[j] : -1;
    while (v >= 0 && !g->values[v].konst) {
        int p = g->values[v].producer;
        if (p < 0 || g->nodes[p].op != RT_OP_CAST) return NULL;
        v = g->nodes[p].in[0];
    }
    return v >= 0 ? g->values[v].konst : NULL;
}

/* wafer's Conv (or FusedConv) named `name` in g, or NULL. */
static const RtNode *conv_named(const IrGraph *g, const char *name) {
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if ((n->op == RT_OP_CONV || n->op == RT_OP_FUSED_CONV) && strcmp(n->name, name) == 0) return n;
    }
    return NULL;
}

static int count_op(const IrGraph *g, int op) {
    int c = 0;
    for (int k = 0; k < g->n_nodes; k++) c += g->nodes[k].op == op;
    return c;
}

Test(half_models, digits_cnn_float16_batchnorm_folds_as_onnxruntime) {
    char dir[256], f16[400], opt[400], log[8192], err[512];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_half_bn"), 0);
    snprintf(f16, sizeof f16, "%s/model_f16.onnx", dir);
    snprintf(opt, sizeof opt, "%s/ort_opt.onnx", dir);
    cr_assert_eq(ohc_convert_file(FIXTURES "/digits/digits_cnn.onnx", f16, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, err,
                                  sizeof err),
                 0, "%s", err);
    int rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js optimize '%s' '%s'", f16, opt);
    if (rc == 3 || tu_run(log, sizeof log, "node --version") != 0) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_assert_eq(rc, 0, "onnxruntime could not optimize: %s", log);
    RtError e = {{0}};
    IrGraph *g = onnx_load_file(f16, NULL, &e), *ort = g ? onnx_load_file(opt, NULL, &e) : NULL;
    cr_assert(g && ort, "%s", e.msg);
    cr_assert_eq(count_op(g, RT_OP_BATCH_NORMALIZATION), 3);
    cr_assert_eq(count_op(ort, RT_OP_BATCH_NORMALIZATION), 0, "onnxruntime folds the float16 BNs");
    cr_assert_eq(pass_simplify(g, &e), RT_OK, "%s", e.msg);
    cr_assert_eq(pass_fuse(g, &e), RT_OK, "%s", e.msg);
    cr_expect_eq(count_op(g, RT_OP_BATCH_NORMALIZATION), 0, "wafer folds them too");
    int convs = 0;
    for (int k = 0; k < ort->n_nodes; k++) {
        const RtNode *on = &ort->nodes[k];
        if (on->op != RT_OP_CONV) continue;
        const RtNode *wn = conv_named(g, on->name);
        cr_assert_not_null(wn, "wafer has no Conv '%s'", on->name);
        for (int j = 1; j < 3; j++) {
            const RtTensor *ow = weight_through_casts(ort, on, j), *ww = weight_through_casts(g, wn, j);
            cr_assert(ow && ww && ow->dtype == RT_F16 && ww->dtype == RT_F16, "%s input %d: float16 constants", on->name, j);
            cr_assert(rt_shape_equal(ow, ww), "%s input %d: shapes differ", on->name, j);
            int64_t n = rt_numel(ow), differ = 0;
            for (int64_t i = 0; i < n; i++) differ += ((const uint16_t *)ow->data)[i] != ((const uint16_t *)ww->data)[i];
            cr_expect_eq(differ, 0, "%s input %d: %lld of %lld float16 values differ from onnxruntime's", on->name, j,
                         (long long)differ, (long long)n);
        }
        convs++;
    }
    cr_expect_eq(convs, 3);
    ir_graph_free(g);
    ir_graph_free(ort);
    tu_tmpdir_remove(dir);
}
