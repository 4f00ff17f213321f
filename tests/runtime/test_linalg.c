/*
 * test_linalg.c — Gemm, MatMul and Einsum kernels on small hand-computed cases, the
 * broadcast and flattened-batch MatMul paths against a naive loop, shape-only mode, and
 * the error messages for incompatible shapes.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* Small integer-valued inputs: every product and sum below is exact in float32. */
#define EXACT 0.0
/* Random [-1,1) inputs with K <= 8: float32 rounding of a K-term dot product stays far
 * below 1e-5 (K * 2^-24 * K ~ 4e-6). */
#define DOT_TOL 1e-5

static void fill_seq(float *p, int n, float scale, float shift) {
    for (int i = 0; i < n; i++) p[i] = (float)i * scale + shift;
}

Test(matmul, vec_times_matrix_drops_dim) {
    float a[3] = {1, 2, 3}, b[6] = {1, 2, 3, 4, 5, 6}; /* [3] x [3,2] -> [2] */
    int64_t da[1] = {3}, db[2] = {3, 2};
    RtTensor A = rtt_tensor(RT_F32, 1, da, a), B = rtt_tensor(RT_F32, 2, db, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL, 13, in, 2, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    int64_t want_dims[1] = {2};
    rtt_expect_dims(&out[0], 1, want_dims);
    float want[2] = {1 + 6 + 15, 2 + 8 + 18};
    rtt_expect_f32(&out[0], want, 2, EXACT, 0);
    rtt_free_outputs(out, 1);
}

Test(matmul, matrix_times_vec_drops_dim) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {1, 0, -1}; /* [2,3] x [3] -> [2] */
    int64_t da[2] = {2, 3}, db[1] = {3};
    RtTensor A = rtt_tensor(RT_F32, 2, da, a), B = rtt_tensor(RT_F32, 1, db, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL, 13, in, 2, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    int64_t want_dims[1] = {2};
    rtt_expect_dims(&out[0], 1, want_dims);
    float want[2] = {-2, -2};
    rtt_expect_f32(&out[0], want, 2, EXACT, 0);
    rtt_free_outputs(out, 1);
}

/* Naive numpy-semantics matmul of a [2,1,3,4] by b [5,4,2] into [2,5,3,2]. */
Test(matmul, batched_broadcast) {
    float a[2 * 1 * 3 * 4], b[5 * 4 * 2];
    fill_seq(a, 24, 0.25f, -3.0f);
    fill_seq(b, 40, -0.5f, 7.0f);
    int64_t da[4] = {2, 1, 3, 4}, db[3] = {5, 4, 2};
    RtTensor A = rtt_tensor(RT_F32, 4, da, a), B = rtt_tensor(RT_F32, 3, db, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL, 13, in, 2, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    int64_t want_dims[4] = {2, 5, 3, 2};
    rtt_expect_dims(&out[0], 4, want_dims);
    float want[2 * 5 * 3 * 2];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 5; j++)
            for (int m = 0; m < 3; m++)
                for (int n = 0; n < 2; n++) {
                    double s = 0;
                    for (int k = 0; k < 4; k++) s += (double)a[i * 12 + m * 4 + k] * b[j * 8 + k * 2 + n];
                    want[((i * 5 + j) * 3 + m) * 2 + n] = (float)s;
                }
    rtt_expect_f32(&out[0], want, 60, EXACT, 0); /* quarter-steps times half-steps: exact sums */
    rtt_free_outputs(out, 1);
}

/* [2,3,4] x [4,5]: the one-sgemm path over 6 rows. */
Test(matmul, batched_times_2d_weight) {
    float a[24], b[20];
    fill_seq(a, 24, 1.0f, -10.0f);
    fill_seq(b, 20, 1.0f, -5.0f);
    int64_t da[3] = {2, 3, 4}, db[2] = {4, 5};
    RtTensor A = rtt_tensor(RT_F32, 3, da, a), B = rtt_tensor(RT_F32, 2, db, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL, 13, in, 2, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    int64_t want_dims[3] = {2, 3, 5};
    rtt_expect_dims(&out[0], 3, want_dims);
    float want[30];
    for (int r = 0; r < 6; r++)
        for (int n = 0; n < 5; n++) {
            float s = 0;
            for (int k = 0; k < 4; k++) s += a[r * 4 + k] * b[k * 5 + n];
            want[r * 5 + n] = s;
        }
    rtt_expect_f32(&out[0], want, 30, EXACT, 0);
    rtt_free_outputs(out, 1);
}

Test(matmul, int64_and_float64) {
    int64_t a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, d[2] = {2, 2};
    RtTensor A = rtt_tensor(RT_I64, 2, d, a), B = rtt_tensor(RT_I64, 2, d, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL, 13, in, 2, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    const int64_t *y = out[0].data;
    cr_assert(out[0].dtype == RT_I64 && y[0] == 19 && y[1] == 22 && y[2] == 43 && y[3] == 50);
    rtt_free_outputs(out, 1);
    double fa[4] = {1, 2, 3, 4}, fb[4] = {5, 6, 7, 8};
    RtTensor FA = rtt_tensor(RT_F64, 2, d, fa), FB = rtt_tensor(RT_F64, 2, d, fb);
    RtTensor *fin[2] = {&FA, &FB};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL, 13, fin, 2, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    const double *z = out[0].data;
    cr_assert(z[0] == 19 && z[1] == 22 && z[2] == 43 && z[3] == 50);
    rtt_free_outputs(out, 1);
}

Test(matmul, float16_through_float32) {
    uint16_t a[4], b[4];
    float fa[4] = {1, 2, 3, 4}, fb[4] = {5, 6, 7, 8};
    for (int i = 0; i < 4; i++) { a[i] = rt_f32_to_f16(fa[i]); b[i] = rt_f32_to_f16(fb[i]); }
    int64_t d[2] = {2, 2};
    RtTensor A = rtt_tensor(RT_F16, 2, d, a), B = rtt_tensor(RT_F16, 2, d, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL, 13, in, 2, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    const uint16_t *y = out[0].data;
    cr_assert(out[0].dtype == RT_F16 && rt_f16_to_f32(y[0]) == 19 && rt_f16_to_f32(y[3]) == 50);
    rtt_free_outputs(out, 1);
}

Test(matmul, incompatible_shapes_name_both) {
    float a[6] = {0}, b[6] = {0};
    int64_t da[2] = {2, 3}, db[2] = {2, 3};
    RtTensor A = rtt_tensor(RT_F32, 2, da, a), B = rtt_tensor(RT_F32, 2, db, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL, 13, in, 2, out, NULL, 0, 0), RT_ERR);
    cr_assert(strstr(rtt_err.msg, "[2,3]") && strstr(rtt_err.msg, "B [2,3]") && strstr(rtt_err.msg, "A [2,3]"), "%s",
              rtt_err.msg);
    int64_t ba[3] = {2, 2, 3}, bb[3] = {3, 3, 1};
    RtTensor A3 = rtt_tensor(RT_F32, 3, ba, NULL), B3 = rtt_tensor(RT_F32, 3, bb, NULL);
    RtTensor *in3[2] = {&A3, &B3};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL, 13, in3, 2, out, NULL, 0, 1), RT_ERR);
    cr_assert(strstr(rtt_err.msg, "[2,2,3]") && strstr(rtt_err.msg, "[3,3,1]"), "%s", rtt_err.msg);
}

Test(matmul, shape_only_mode) {
    int64_t da[4] = {7, 1, 3, 4}, db[3] = {5, 4, 2};
    RtTensor A = rtt_tensor(RT_F32, 4, da, NULL), B = rtt_tensor(RT_F32, 3, db, NULL), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL, 13, in, 2, out, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    int64_t want_dims[4] = {7, 5, 3, 2};
    rtt_expect_dims(&out[0], 4, want_dims);
    cr_assert(out[0].data == NULL && out[0].dtype == RT_F32);
}

Test(gemm_op, trans_alpha_beta_broadcast_c) {
    float a[6] = {1, 2, 3, 4, 5, 6}; /* A^T: A is [3,2] so op(A) = [2,3] */
    float b[6] = {1, 0, 0, 1, 1, 1}; /* B^T: B is [2,3] so op(B) = [3,2] */
    float cv[2] = {10, 20};          /* C [2] broadcast over rows */
    int64_t da[2] = {3, 2}, db[2] = {2, 3}, dc[1] = {2};
    RtTensor A = rtt_tensor(RT_F32, 2, da, a), B = rtt_tensor(RT_F32, 2, db, b), C = rtt_tensor(RT_F32, 1, dc, cv),
             out[1];
    RtTensor *in[3] = {&A, &B, &C};
    RtAttr at[4] = {rtt_attr_int("transA", 1), rtt_attr_int("transB", 1), rtt_attr_float("alpha", 2.0f),
                    rtt_attr_float("beta", 0.5f)};
    cr_assert_eq(rtt_run1(RT_OP_GEMM, 13, in, 3, out, at, 4, 0), RT_OK, "%s", rtt_err.msg);
    /* op(A) = [[1,3,5],[2,4,6]], op(B) = [[1,1],[0,1],[0,1]] -> AB = [[1,9],[2,12]] */
    float want[4] = {2 * 1 + 5, 2 * 9 + 10, 2 * 2 + 5, 2 * 12 + 10};
    rtt_expect_f32(&out[0], want, 4, EXACT, 0);
    rtt_free_outputs(out, 1);
}

Test(gemm_op, no_c_and_int32_and_float64) {
    int32_t a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, cc[1] = {100};
    int64_t d[2] = {2, 2}, dc[1] = {1};
    RtTensor A = rtt_tensor(RT_I32, 2, d, a), B = rtt_tensor(RT_I32, 2, d, b), C = rtt_tensor(RT_I32, 1, dc, cc),
             out[1];
    RtTensor *in[3] = {&A, &B, &C};
    cr_assert_eq(rtt_run1(RT_OP_GEMM, 13, in, 3, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    const int32_t *y = out[0].data;
    cr_assert(y[0] == 119 && y[1] == 122 && y[2] == 143 && y[3] == 150);
    rtt_free_outputs(out, 1);
    double fa[4] = {1, 2, 3, 4}, fb[4] = {5, 6, 7, 8};
    RtTensor FA = rtt_tensor(RT_F64, 2, d, fa), FB = rtt_tensor(RT_F64, 2, d, fb);
    RtTensor *fin[3] = {&FA, &FB, NULL};
    RtAttr at[1] = {rtt_attr_int("transB", 1)};
    cr_assert_eq(rtt_run1(RT_OP_GEMM, 13, fin, 3, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    const double *z = out[0].data; /* A B^T = [[17,23],[39,53]] */
    cr_assert(z[0] == 17 && z[1] == 23 && z[2] == 39 && z[3] == 53);
    rtt_free_outputs(out, 1);
}

Test(gemm_op, bad_c_and_k_mismatch) {
    int64_t da[2] = {2, 3}, db[2] = {4, 2}, dc[1] = {3};
    RtTensor A = rtt_tensor(RT_F32, 2, da, NULL), B = rtt_tensor(RT_F32, 2, db, NULL), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(rtt_run1(RT_OP_GEMM, 13, in, 2, out, NULL, 0, 1), RT_ERR);
    cr_assert(strstr(rtt_err.msg, "[2,3]") && strstr(rtt_err.msg, "[4,2]"), "%s", rtt_err.msg);
    int64_t db2[2] = {3, 2};
    RtTensor B2 = rtt_tensor(RT_F32, 2, db2, NULL), C = rtt_tensor(RT_F32, 1, dc, NULL);
    RtTensor *in2[3] = {&A, &B2, &C};
    cr_assert_eq(rtt_run1(RT_OP_GEMM, 13, in2, 3, out, NULL, 0, 1), RT_ERR);
    cr_assert(strstr(rtt_err.msg, "'C' [3]"), "%s", rtt_err.msg);
}

static void einsum1(const char *eq, RtTensor **in, int n_in, int rank, const int64_t *dims, const float *want,
                    int n) {
    RtTensor out[1];
    RtAttr at[1] = {rtt_attr_str("equation", eq)};
    cr_assert_eq(rtt_run1(RT_OP_EINSUM, 12, in, n_in, out, at, 1, 0), RT_OK, "%s: %s", eq, rtt_err.msg);
    rtt_expect_dims(&out[0], rank, dims);
    rtt_expect_f32(&out[0], want, n, DOT_TOL, 0);
    rtt_free_outputs(out, 1);
}

Test(einsum, matmul_transpose_trace_diagonal) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, s[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t da[2] = {2, 3}, db[2] = {3, 2}, ds[2] = {3, 3};
    RtTensor A = rtt_tensor(RT_F32, 2, da, a), B = rtt_tensor(RT_F32, 2, db, b), S = rtt_tensor(RT_F32, 2, ds, s);
    RtTensor *ab[2] = {&A, &B}, *aa[1] = {&A}, *ss[1] = {&S};
    int64_t d22[2] = {2, 2}, d32[2] = {3, 2}, d3[1] = {3};
    float mm[4] = {4, 5, 10, 11};
    einsum1("ij,jk->ik", ab, 2, 2, d22, mm, 4);
    einsum1("ij,jk", ab, 2, 2, d22, mm, 4);          /* implicit output: i,k */
    float tr[6] = {1, 4, 2, 5, 3, 6};
    einsum1("ij->ji", aa, 1, 2, d32, tr, 6);
    einsum1("ba", aa, 1, 2, d32, tr, 6);            /* implicit: alphabetical a,b */
    float trace[1] = {15};
    einsum1("ii", ss, 1, 0, NULL, trace, 1);
    float diag[3] = {1, 5, 9};
    einsum1("ii->i", ss, 1, 1, d3, diag, 3);
    float total[1] = {21};
    einsum1("ij->", aa, 1, 0, NULL, total, 1);
}

Test(einsum, ellipsis_batch_matmul_and_outer) {
    float a[2 * 2 * 3], b[2 * 3 * 1];
    fill_seq(a, 12, 1.0f, 0.0f);
    fill_seq(b, 6, 1.0f, 1.0f);
    int64_t da[3] = {2, 2, 3}, db[3] = {2, 3, 1};
    RtTensor A = rtt_tensor(RT_F32, 3, da, a), B = rtt_tensor(RT_F32, 3, db, b);
    RtTensor *ab[2] = {&A, &B};
    int64_t dw[3] = {2, 2, 1};
    float want[4];
    for (int bt = 0; bt < 2; bt++)
        for (int i = 0; i < 2; i++) {
            float s = 0;
            for (int k = 0; k < 3; k++) s += a[bt * 6 + i * 3 + k] * b[bt * 3 + k];
            want[bt * 2 + i] = s;
        }
    einsum1("...ij,...jk->...ik", ab, 2, 3, dw, want, 4);
    einsum1("bij,bjk->bik", ab, 2, 3, dw, want, 4);
    float u[2] = {1, 2}, v[3] = {1, 10, 100};
    int64_t du[1] = {2}, dv[1] = {3}, d23[2] = {2, 3};
    RtTensor U = rtt_tensor(RT_F32, 1, du, u), V = rtt_tensor(RT_F32, 1, dv, v);
    RtTensor *uv[2] = {&U, &V};
    float outer[6] = {1, 10, 100, 2, 20, 200};
    einsum1("i,j->ij", uv, 2, 2, d23, outer, 6);
}

Test(einsum, int64_and_errors) {
    int64_t a[4] = {1, 2, 3, 4}, d[2] = {2, 2};
    RtTensor A = rtt_tensor(RT_I64, 2, d, a), out[1];
    RtTensor *in[2] = {&A, &A};
    RtAttr at[1] = {rtt_attr_str("equation", "ij,jk->ik")};
    cr_assert_eq(rtt_run1(RT_OP_EINSUM, 12, in, 2, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    const int64_t *y = out[0].data;
    cr_assert(y[0] == 7 && y[1] == 10 && y[2] == 15 && y[3] == 22);
    rtt_free_outputs(out, 1);
    RtAttr bad[1] = {rtt_attr_str("equation", "ijk,jk->ik")};
    cr_assert_eq(rtt_run1(RT_OP_EINSUM, 12, in, 2, out, bad, 1, 0), RT_ERR);
    cr_assert(strstr(rtt_err.msg, "ijk") && strstr(rtt_err.msg, "[2,2]"), "%s", rtt_err.msg);
    int64_t d3[2] = {2, 3};
    RtTensor B = rtt_tensor(RT_I64, 2, d3, NULL);
    RtTensor *in2[2] = {&A, &B};
    RtAttr mism[1] = {rtt_attr_str("equation", "ij,ij->ij")};
    cr_assert_eq(rtt_run1(RT_OP_EINSUM, 12, in2, 2, out, mism, 1, 1), RT_ERR);
    cr_assert(strstr(rtt_err.msg, "[2,3]"), "%s", rtt_err.msg);
}
