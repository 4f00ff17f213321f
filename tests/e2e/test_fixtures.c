/*
 * test_fixtures.c — the reference executor against onnxruntime's outputs on the real
 * fixture models (../shared/fixtures). Each test loads the ONNX file, runs it on the
 * fixture inputs and compares with the logits onnxruntime 1.30 wrote.
 *
 * Tolerances are relative to the output's largest magnitude (the definition):
 *  - 1e-4 for the digits models: a few float32 GEMMs of K <= 4096 whose accumulation order
 *    differs from onnxruntime's MLAS (worst case ~K * eps(f32) ~ 5e-4 relative per dot
 *    product, ~1e-6 in practice);
 *  - 1e-3 for kws_dscnn, mobilenet_v2 and tinylm: 20-50 layers deep, where reordered sums
 *    compound, plus transcendental functions (erf, exp) from different libms.
 */
#include <criterion/criterion.h>

#include "../../frontend/onnx.h"
#include "../../passes/passes.h"
#include "../test_util.h"

#define TOL_DIGITS 1e-4
#define TOL_DEEP 1e-3

static RtTensor load_npy(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, rel);
    RtTensor t;
    RtError err = {{0}};
    cr_assert_eq(npy_read(path, &t, &err), RT_OK, "%s", err.msg);
    return t;
}

static IrGraph *load_model(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, rel);
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    return g;
}

/* Rows [row0, row0+rows) of a tensor along axis 0, as a view (no copy). */
static RtTensor rows_view(const RtTensor *t, int64_t row0, int64_t rows) {
    RtTensor v = *t;
    int64_t row_elems = rt_numel(t) / t->dims[0];
    v.dims[0] = rows;
    v.data = (char *)t->data + (size_t)(row0 * row_elems) * rt_dtype_size(t->dtype);
    return v;
}

/* Runs g on x in batches of `batch` rows (x's row count must be a multiple) and compares the
 * concatenated first output with want. */
static void check_logits(IrGraph *g, const RtTensor *x, int64_t batch, const RtTensor *want, double tol) {
    int64_t n = x->dims[0];
    int64_t per_row = rt_numel(want) / want->dims[0];
    float *got = malloc(sizeof(float) * (size_t)rt_numel(want));
    cr_assert_not_null(got);
    for (int64_t r = 0; r < n; r += batch) {
        RtTensor in = rows_view(x, r, batch), out[4];
        RtError err = {{0}};
        cr_assert_eq(ir_run(g, &in, out, &err), RT_OK, "%s", err.msg);
        cr_assert_eq(out[0].dtype, RT_F32);
        cr_assert_eq(rt_numel(&out[0]), batch * per_row);
        memcpy(got + r * per_row, out[0].data, sizeof(float) * (size_t)(batch * per_row));
        for (int i = 0; i < g->n_outputs; i++) free(out[i].data);
    }
    double d = tu_max_rel_diff(got, want->data, (long)rt_numel(want));
    cr_expect_leq(d, tol, "max relative difference %g > %g", d, tol);
    free(got);
}

Test(fixtures, digits_mlp_logits) {
    IrGraph *g = load_model("digits/digits_mlp.onnx");
    RtTensor x = load_npy("digits/test_x.npy"), want = load_npy("digits/digits_mlp_test_logits.npy");
    check_logits(g, &x, x.dims[0], &want, TOL_DIGITS);
    free(x.data);
    free(want.data);
    ir_graph_free(g);
}

Test(fixtures, digits_cnn_logits) {
    IrGraph *g = load_model("digits/digits_cnn.onnx");
    RtTensor x = load_npy("digits/test_img.npy"), want = load_npy("digits/digits_cnn_test_logits.npy");
    check_logits(g, &x, x.dims[0], &want, TOL_DIGITS);
    free(x.data);
    free(want.data);
    ir_graph_free(g);
}

Test(fixtures, digits_cnn_dynamo_logits_fixed_batch_4) {
    IrGraph *g = load_model("digits/digits_cnn_dynamo.onnx");
    RtTensor x = load_npy("digits/test_img.npy"), want = load_npy("digits/digits_cnn_test_logits.npy");
    check_logits(g, &x, 4, &want, TOL_DIGITS);
    free(x.data);
    free(want.data);
    ir_graph_free(g);
}

Test(fixtures, kws_dscnn_logits) {
    IrGraph *g = load_model("kws/kws_dscnn.onnx");
    RtTensor x = load_npy("kws/kws_in.npy"), want = load_npy("kws/kws_out.npy");
    check_logits(g, &x, x.dims[0], &want, TOL_DEEP);
    free(x.data);
    free(want.data);
    ir_graph_free(g);
}

Test(fixtures, mobilenet_v2_logits, .timeout = 300) {
    IrGraph *g = load_model("perf/mobilenet_v2.onnx");
    RtTensor x = load_npy("perf/mobilenet_v2_in.npy"), want = load_npy("perf/mobilenet_v2_out.npy");
    check_logits(g, &x, x.dims[0], &want, TOL_DEEP);
    free(x.data);
    free(want.data);
    ir_graph_free(g);
}

/* tinylm's first four eval windows: tokens[:4, :128] -> logits [4,128,128]. */
Test(fixtures, tinylm_first4_logits, .timeout = 300) {
    IrGraph *g = load_model("tinylm/tinylm.onnx");
    RtTensor tok = load_npy("tinylm/tinylm_eval_tokens.npy"), want = load_npy("tinylm/tinylm_eval_logits_first4.npy");
    cr_assert_eq(tok.dtype, RT_I64);
    int64_t T = tok.dims[1] - 1;
    RtTensor x = {RT_I64, 2, {4, T}, malloc(sizeof(int64_t) * 4 * (size_t)T)};
    for (int64_t b = 0; b < 4; b++)
        memcpy((int64_t *)x.data + b * T, (int64_t *)tok.data + b * tok.dims[1], sizeof(int64_t) * (size_t)T);
    check_logits(g, &x, 4, &want, TOL_DEEP);
    free(x.data);
    free(tok.data);
    free(want.data);
    ir_graph_free(g);
}

/* The same models after pass_simplify give the same logits (folding must not change results). */
Test(fixtures, tinylm_simplified_same_logits, .timeout = 300) {
    IrGraph *g = load_model("tinylm/tinylm.onnx");
    RtError err = {{0}};
    cr_assert_eq(pass_simplify(g, &err), RT_OK, "%s", err.msg);
    RtTensor tok = load_npy("tinylm/tinylm_eval_tokens.npy"), want = load_npy("tinylm/tinylm_eval_logits_first4.npy");
    int64_t T = tok.dims[1] - 1;
    RtTensor x = {RT_I64, 2, {4, T}, malloc(sizeof(int64_t) * 4 * (size_t)T)};
    for (int64_t b = 0; b < 4; b++)
        memcpy((int64_t *)x.data + b * T, (int64_t *)tok.data + b * tok.dims[1], sizeof(int64_t) * (size_t)T);
    check_logits(g, &x, 4, &want, TOL_DEEP);
    free(x.data);
    free(tok.data);
    free(want.data);
    ir_graph_free(g);
}
