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

/* Flags for check_fixture. */
enum {
    FIX_SIMPLIFY = 1,      /* run pass_simplify before the model (folding must not change results) */
    FIX_TOKEN_WINDOWS = 2  /* the input is a token matrix whose rows are eval windows of T+1 tokens:
                            * the model reads the first T tokens of the first rows (as many rows as
                            * the reference has) */
};

/* Loads the model and the .npy input and reference (paths under FIXTURES), runs the model on
 * the input in batches of `batch` rows (0: all rows in one run) and compares its first output
 * with the reference within tol (relative to the reference's largest magnitude). */
static void check_fixture(const char *model, const char *input, const char *reference, int64_t batch, double tol,
                          int flags) {
    IrGraph *g = load_model(model);
    if (flags & FIX_SIMPLIFY) {
        RtError err = {{0}};
        cr_assert_eq(pass_simplify(g, &err), RT_OK, "%s", err.msg);
    }
    RtTensor x = tu_fixture_npy(input), want = tu_fixture_npy(reference);
    if (flags & FIX_TOKEN_WINDOWS) {
        RtTensor tok = x;
        cr_assert_eq(tok.dtype, RT_I64);
        int64_t rows = want.dims[0], T = tok.dims[1] - 1;
        cr_assert_leq(rows, tok.dims[0]);
        x = (RtTensor){RT_I64, 2, {rows, T}, malloc(sizeof(int64_t) * (size_t)(rows * T))};
        for (int64_t b = 0; b < rows; b++)
            memcpy((int64_t *)x.data + b * T, (int64_t *)tok.data + b * tok.dims[1], sizeof(int64_t) * (size_t)T);
        free(tok.data);
    }
    check_logits(g, &x, batch ? batch : x.dims[0], &want, tol);
    free(x.data);
    free(want.data);
    ir_graph_free(g);
}

Test(fixtures, digits_mlp_logits) {
    check_fixture("digits/digits_mlp.onnx", "digits/test_x.npy", "digits/digits_mlp_test_logits.npy", 0, TOL_DIGITS, 0);
}

Test(fixtures, digits_cnn_logits) {
    check_fixture("digits/digits_cnn.onnx", "digits/test_img.npy", "digits/digits_cnn_test_logits.npy", 0, TOL_DIGITS,
                  0);
}

Test(fixtures, digits_cnn_dynamo_logits_fixed_batch_4) {
    check_fixture("digits/digits_cnn_dynamo.onnx", "digits/test_img.npy", "digits/digits_cnn_test_logits.npy", 4,
                  TOL_DIGITS, 0);
}

Test(fixtures, kws_dscnn_logits) {
    check_fixture("kws/kws_dscnn.onnx", "kws/kws_in.npy", "kws/kws_out.npy", 0, TOL_DEEP, 0);
}

Test(fixtures, mobilenet_v2_logits, .timeout = 300) {
    check_fixture("perf/mobilenet_v2.onnx", "perf/mobilenet_v2_in.npy", "perf/mobilenet_v2_out.npy", 0, TOL_DEEP, 0);
}

/* tinylm's first four eval windows: tokens[:4, :128] -> logits [4,128,128]. */
Test(fixtures, tinylm_first4_logits, .timeout = 300) {
    check_fixture("tinylm/tinylm.onnx", "tinylm/tinylm_eval_tokens.npy", "tinylm/tinylm_eval_logits_first4.npy", 4,
                  TOL_DEEP, FIX_TOKEN_WINDOWS);
}

/* The same model after pass_simplify gives the same logits. */
Test(fixtures, tinylm_simplified_same_logits, .timeout = 300) {
    check_fixture("tinylm/tinylm.onnx", "tinylm/tinylm_eval_tokens.npy", "tinylm/tinylm_eval_logits_first4.npy", 4,
                  TOL_DEEP, FIX_TOKEN_WINDOWS | FIX_SIMPLIFY);
}
