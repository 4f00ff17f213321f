/*
 * test_linalg.c — Gemm, MatMul and Einsum kernels on small hand-computed cases, the
 * broadcast and flattened-batch MatMul paths against a naive loop, shape-only mode, and
 * the error messages for incompatible shapes.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/kernel.h"

/* Small integer-valued inputs: every product and sum below is exact in float32. */
#define EXACT 0.0
/* Random [-1,1) inputs with K <= 8: float32 rounding of a K-term dot product stays far
 * below 1e-5 (K * 2^-24 * K ~ 4e-6). */
#define DOT_TOL 1e-5

/* ---- helpers: build tensors and nodes, run one kernel ---- */
static RtError err;

static inline RtTensor mk(RtDtype dt, int rank, const int64_t *dims, void *data) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    t.data = data;
    return t;
}

static inline RtAttr a_int(const char *name, int64_t v) {
    RtAttr a;
    memset(&a, 0, sizeof a);
    a.name = name;
    a.type = RT_ATTR_INT;
    a.i = v;
    return a;
}

static inline RtAttr a_float(const char *name, float v) {
    RtAttr a;
    memset(&a, 0, sizeof a);
    a.name = name;
    a.type = RT_ATTR_FLOAT;
    a.f = v;
    return a;
}

static inline RtAttr a_ints(const char *name, int n, const int64_t *v) {
    RtAttr a;
    memset(&a, 0, sizeof a);
    a.name = name;
    a.type = RT_ATTR_INTS;
    a.n = n;
    a.ints = v;
    return a;
}

static inline RtAttr a_str(const char *name, const char *s) {
    RtAttr a;
    memset(&a, 0, sizeof a);
    a.name = name;
    a.type = RT_ATTR_STRING;
    a.s = s;
    return a;
}

/* Runs op on in[n_in] (NULL = absent) into out[n_out]; shape_only as the executor would. */
static int run_op(int op, int opset, RtAttr *attrs, int n_attr, RtTensor **in, int n_in, RtTensor *out,
                  int n_out, int shape_only) {
    int ins[16], outs[16];
    RtTensor *outp[16];
    for (int i = 0; i < n_in; i++) ins[i] = in[i] ? i : -1;
    for (int i = 0; i < n_out; i++) {
        outs[i] = 100 + i;
        memset(&out[i], 0, sizeof out[i]);
        outp[i] = &out[i];
    }
    RtNode n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.name = "test";
    n.op_type = rt_op_name(op);
    n.domain = "";
    n.opset = opset;
    n.n_in = n_in;
    n.in = ins;
    n.n_out = n_out;
    n.out = outs;
    n.n_attr = n_attr;
    n.attrs = attrs;
    err.msg[0] = '\0';
    RtKernelCtx c = {rt_allocator_default(), &err, shape_only, NULL, NULL};
    RtKernelFn fn = rt_kernel_find(op);
    cr_assert(fn != NULL, "no kernel for %s", rt_op_name(op));
    return fn(&c, &n, in, outp);
}

static inline void free_out(RtTensor *out, int n) {
    for (int i = 0; i < n; i++) {
        free(out[i].data);
        out[i].data = NULL;
    }
}

static inline void expect_shape(const RtTensor *t, int rank, const int64_t *dims) {
    cr_assert_eq(t->rank, rank, "rank %d, expected %d", t->rank, rank);
    for (int i = 0; i < rank; i++) cr_assert_eq(t->dims[i], dims[i], "dim %d is %lld, expected %lld", i,
                                                (long long)t->dims[i], (long long)dims[i]);
}

static inline void expect_f32(const RtTensor *t, const float *want, int n, double tol) {
    cr_assert_eq(t->dtype, RT_F32);
    cr_assert_eq(rt_numel(t), n);
    const float *y = t->data;
    for (int i = 0; i < n; i++)
        cr_assert(fabs((double)y[i] - want[i]) <= tol || (isinf(want[i]) && y[i] == want[i]),
                  "element %d: got %.9g, expected %.9g", i, y[i], want[i]);
}

static void fill_seq(float *p, int n, float scale, float shift) {
    for (int i = 0; i < n; i++) p[i] = (float)i * scale + shift;
}

Test(matmul, vec_times_matrix_drops_dim) {
    float a[3] = {1, 2, 3}, b[6] = {1, 2, 3, 4, 5, 6}; /* [3] x [3,2] -> [2] */
    int64_t da[1] = {3}, db[2] = {3, 2};
    RtTensor A = mk(RT_F32, 1, da, a), B = mk(RT_F32, 2, db, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(run_op(RT_OP_MATMUL, 13, NULL, 0, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    int64_t want_dims[1] = {2};
    expect_shape(&out[0], 1, want_dims);
    float want[2] = {1 + 6 + 15, 2 + 8 + 18};
    expect_f32(&out[0], want, 2, EXACT);
    free_out(out, 1);
}

Test(matmul, matrix_times_vec_drops_dim) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {1, 0, -1}; /* [2,3] x [3] -> [2] */
    int64_t da[2] = {2, 3}, db[1] = {3};
    RtTensor A = mk(RT_F32, 2, da, a), B = mk(RT_F32, 1, db, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(run_op(RT_OP_MATMUL, 13, NULL, 0, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    int64_t want_dims[1] = {2};
    expect_shape(&out[0], 1, want_dims);
    float want[2] = {-2, -2};
    expect_f32(&out[0], want, 2, EXACT);
    free_out(out, 1);
}

/* Naive numpy-semantics matmul of a [2,1,3,4] by b [5,4,2] into [2,5,3,2]. */
Test(matmul, batched_broadcast) {
    float a[2 * 1 * 3 * 4], b[5 * 4 * 2];
    fill_seq(a, 24, 0.25f, -3.0f);
    fill_seq(b, 40, -0.5f, 7.0f);
    int64_t da[4] = {2, 1, 3, 4}, db[3] = {5, 4, 2};
    RtTensor A = mk(RT_F32, 4, da, a), B = mk(RT_F32, 3, db, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(run_op(RT_OP_MATMUL, 13, NULL, 0, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    int64_t want_dims[4] = {2, 5, 3, 2};
    expect_shape(&out[0], 4, want_dims);
    float want[2 * 5 * 3 * 2];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 5; j++)
            for (int m = 0; m < 3; m++)
                for (int n = 0; n < 2; n++) {
                    double s = 0;
                    for (int k = 0; k < 4; k++) s += (double)a[i * 12 + m * 4 + k] * b[j * 8 + k * 2 + n];
                    want[((i * 5 + j) * 3 + m) * 2 + n] = (float)s;
                }
    expect_f32(&out[0], want, 60, EXACT); /* quarter-steps times half-steps: exact sums */
    free_out(out, 1);
}

/* [2,3,4] x [4,5]: the one-sgemm path over 6 rows. */
Test(matmul, batched_times_2d_weight) {
    float a[24], b[20];
    fill_seq(a, 24, 1.0f, -10.0f);
    fill_seq(b, 20, 1.0f, -5.0f);
    int64_t da[3] = {2, 3, 4}, db[2] = {4, 5};
    RtTensor A = mk(RT_F32, 3, da, a), B = mk(RT_F32, 2, db, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(run_op(RT_OP_MATMUL, 13, NULL, 0, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    int64_t want_dims[3] = {2, 3, 5};
    expect_shape(&out[0], 3, want_dims);
    float want[30];
    for (int r = 0; r < 6; r++)
        for (int n = 0; n < 5; n++) {
            float s = 0;
            for (int k = 0; k < 4; k++) s += a[r * 4 + k] * b[k * 5 + n];
            want[r * 5 + n] = s;
        }
    expect_f32(&out[0], want, 30, EXACT);
    free_out(out, 1);
}

Test(matmul, int64_and_float64) {
    int64_t a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, d[2] = {2, 2};
    RtTensor A = mk(RT_I64, 2, d, a), B = mk(RT_I64, 2, d, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(run_op(RT_OP_MATMUL, 13, NULL, 0, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    const int64_t *y = out[0].data;
    cr_assert(out[0].dtype == RT_I64 && y[0] == 19 && y[1] == 22 && y[2] == 43 && y[3] == 50);
    free_out(out, 1);
    double fa[4] = {1, 2, 3, 4}, fb[4] = {5, 6, 7, 8};
    RtTensor FA = mk(RT_F64, 2, d, fa), FB = mk(RT_F64, 2, d, fb);
    RtTensor *fin[2] = {&FA, &FB};
    cr_assert_eq(run_op(RT_OP_MATMUL, 13, NULL, 0, fin, 2, out, 1, 0), RT_OK, "%s", err.msg);
    const double *z = out[0].data;
    cr_assert(z[0] == 19 && z[1] == 22 && z[2] == 43 && z[3] == 50);
    free_out(out, 1);
}

Test(matmul, float16_through_float32) {
    uint16_t a[4], b[4];
    float fa[4] = {1, 2, 3, 4}, fb[4] = {5, 6, 7, 8};
    for (int i = 0; i < 4; i++) { a[i] = rt_f32_to_f16(fa[i]); b[i] = rt_f32_to_f16(fb[i]); }
    int64_t d[2] = {2, 2};
    RtTensor A = mk(RT_F16, 2, d, a), B = mk(RT_F16, 2, d, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(run_op(RT_OP_MATMUL, 13, NULL, 0, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    const uint16_t *y = out[0].data;
    cr_assert(out[0].dtype == RT_F16 && rt_f16_to_f32(y[0]) == 19 && rt_f16_to_f32(y[3]) == 50);
    free_out(out, 1);
}

Test(matmul, incompatible_shapes_name_both) {
    float a[6] = {0}, b[6] = {0};
    int64_t da[2] = {2, 3}, db[2] = {2, 3};
    RtTensor A = mk(RT_F32, 2, da, a), B = mk(RT_F32, 2, db, b), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(run_op(RT_OP_MATMUL, 13, NULL, 0, in, 2, out, 1, 0), RT_ERR);
    cr_assert(strstr(err.msg, "[2,3]") && strstr(err.msg, "B [2,3]") && strstr(err.msg, "A [2,3]"), "%s", err.msg);
    int64_t ba[3] = {2, 2, 3}, bb[3] = {3, 3, 1};
    RtTensor A3 = mk(RT_F32, 3, ba, NULL), B3 = mk(RT_F32, 3, bb, NULL);
    RtTensor *in3[2] = {&A3, &B3};
    cr_assert_eq(run_op(RT_OP_MATMUL, 13, NULL, 0, in3, 2, out, 1, 1), RT_ERR);
    cr_assert(strstr(err.msg, "[2,2,3]") && strstr(err.msg, "[3,3,1]"), "%s", err.msg);
}

Test(matmul, shape_only_mode) {
    int64_t da[4] = {7, 1, 3, 4}, db[3] = {5, 4, 2};
    RtTensor A = mk(RT_F32, 4, da, NULL), B = mk(RT_F32, 3, db, NULL), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(run_op(RT_OP_MATMUL, 13, NULL, 0, in, 2, out, 1, 1), RT_SHAPE_ONLY, "%s", err.msg);
    int64_t want_dims[4] = {7, 5, 3, 2};
    expect_shape(&out[0], 4, want_dims);
    cr_assert(out[0].data == NULL && out[0].dtype == RT_F32);
}

Test(gemm_op, trans_alpha_beta_broadcast_c) {
    float a[6] = {1, 2, 3, 4, 5, 6}; /* A^T: A is [3,2] so op(A) = [2,3] */
    float b[6] = {1, 0, 0, 1, 1, 1}; /* B^T: B is [2,3] so op(B) = [3,2] */
    float cv[2] = {10, 20};          /* C [2] broadcast over rows */
    int64_t da[2] = {3, 2}, db[2] = {2, 3}, dc[1] = {2};
    RtTensor A = mk(RT_F32, 2, da, a), B = mk(RT_F32, 2, db, b), C = mk(RT_F32, 1, dc, cv), out[1];
    RtTensor *in[3] = {&A, &B, &C};
    RtAttr at[4] = {a_int("transA", 1), a_int("transB", 1), a_float("alpha", 2.0f), a_float("beta", 0.5f)};
    cr_assert_eq(run_op(RT_OP_GEMM, 13, at, 4, in, 3, out, 1, 0), RT_OK, "%s", err.msg);
    /* op(A) = [[1,3,5],[2,4,6]], op(B) = [[1,1],[0,1],[0,1]] -> AB = [[1,9],[2,12]] */
    float want[4] = {2 * 1 + 5, 2 * 9 + 10, 2 * 2 + 5, 2 * 12 + 10};
    expect_f32(&out[0], want, 4, EXACT);
    free_out(out, 1);
}

Test(gemm_op, no_c_and_int32_and_float64) {
    int32_t a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, cc[1] = {100};
    int64_t d[2] = {2, 2}, dc[1] = {1};
    RtTensor A = mk(RT_I32, 2, d, a), B = mk(RT_I32, 2, d, b), C = mk(RT_I32, 1, dc, cc), out[1];
    RtTensor *in[3] = {&A, &B, &C};
    cr_assert_eq(run_op(RT_OP_GEMM, 13, NULL, 0, in, 3, out, 1, 0), RT_OK, "%s", err.msg);
    const int32_t *y = out[0].data;
    cr_assert(y[0] == 119 && y[1] == 122 && y[2] == 143 && y[3] == 150);
    free_out(out, 1);
    double fa[4] = {1, 2, 3, 4}, fb[4] = {5, 6, 7, 8};
    RtTensor FA = mk(RT_F64, 2, d, fa), FB = mk(RT_F64, 2, d, fb);
    RtTensor *fin[3] = {&FA, &FB, NULL};
    RtAttr at[1] = {a_int("transB", 1)};
    cr_assert_eq(run_op(RT_OP_GEMM, 13, at, 1, fin, 3, out, 1, 0), RT_OK, "%s", err.msg);
    const double *z = out[0].data; /* A B^T = [[17,23],[39,53]] */
    cr_assert(z[0] == 17 && z[1] == 23 && z[2] == 39 && z[3] == 53);
    free_out(out, 1);
}

Test(gemm_op, bad_c_and_k_mismatch) {
    int64_t da[2] = {2, 3}, db[2] = {4, 2}, dc[1] = {3};
    RtTensor A = mk(RT_F32, 2, da, NULL), B = mk(RT_F32, 2, db, NULL), out[1];
    RtTensor *in[2] = {&A, &B};
    cr_assert_eq(run_op(RT_OP_GEMM, 13, NULL, 0, in, 2, out, 1, 1), RT_ERR);
    cr_assert(strstr(err.msg, "[2,3]") && strstr(err.msg, "[4,2]"), "%s", err.msg);
    int64_t db2[2] = {3, 2};
    RtTensor B2 = mk(RT_F32, 2, db2, NULL), C = mk(RT_F32, 1, dc, NULL);
    RtTensor *in2[3] = {&A, &B2, &C};
    cr_assert_eq(run_op(RT_OP_GEMM, 13, NULL, 0, in2, 3, out, 1, 1), RT_ERR);
    cr_assert(strstr(err.msg, "'C' [3]"), "%s", err.msg);
}

static void einsum1(const char *eq, RtTensor **in, int n_in, int rank, const int64_t *dims, const float *want,
                    int n) {
    RtTensor out[1];
    RtAttr at[1] = {a_str("equation", eq)};
    cr_assert_eq(run_op(RT_OP_EINSUM, 12, at, 1, in, n_in, out, 1, 0), RT_OK, "%s: %s", eq, err.msg);
    expect_shape(&out[0], rank, dims);
    expect_f32(&out[0], want, n, DOT_TOL);
    free_out(out, 1);
}

Test(einsum, matmul_transpose_trace_diagonal) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, s[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t da[2] = {2, 3}, db[2] = {3, 2}, ds[2] = {3, 3};
    RtTensor A = mk(RT_F32, 2, da, a), B = mk(RT_F32, 2, db, b), S = mk(RT_F32, 2, ds, s);
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
    RtTensor A = mk(RT_F32, 3, da, a), B = mk(RT_F32, 3, db, b);
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
    RtTensor U = mk(RT_F32, 1, du, u), V = mk(RT_F32, 1, dv, v);
    RtTensor *uv[2] = {&U, &V};
    float outer[6] = {1, 10, 100, 2, 20, 200};
    einsum1("i,j->ij", uv, 2, 2, d23, outer, 6);
}

Test(einsum, int64_and_errors) {
    int64_t a[4] = {1, 2, 3, 4}, d[2] = {2, 2};
    RtTensor A = mk(RT_I64, 2, d, a), out[1];
    RtTensor *in[2] = {&A, &A};
    RtAttr at[1] = {a_str("equation", "ij,jk->ik")};
    cr_assert_eq(run_op(RT_OP_EINSUM, 12, at, 1, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    const int64_t *y = out[0].data;
    cr_assert(y[0] == 7 && y[1] == 10 && y[2] == 15 && y[3] == 22);
    free_out(out, 1);
    RtAttr bad[1] = {a_str("equation", "ijk,jk->ik")};
    cr_assert_eq(run_op(RT_OP_EINSUM, 12, bad, 1, in, 2, out, 1, 0), RT_ERR);
    cr_assert(strstr(err.msg, "ijk") && strstr(err.msg, "[2,2]"), "%s", err.msg);
    int64_t d3[2] = {2, 3};
    RtTensor B = mk(RT_I64, 2, d3, NULL);
    RtTensor *in2[2] = {&A, &B};
    RtAttr mism[1] = {a_str("equation", "ij,ij->ij")};
    cr_assert_eq(run_op(RT_OP_EINSUM, 12, mism, 1, in2, 2, out, 1, 1), RT_ERR);
    cr_assert(strstr(err.msg, "[2,3]"), "%s", err.msg);
}
