/*
 * test_reduce.c — ReduceX, ArgMax/ArgMin, CumSum and TopK kernels on small hand-computed
 * cases: axes as attribute and as input, keepdims, noop_with_empty_axes, empty reductions,
 * integer exactness, shape-only mode and errors.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/kernel.h"

/* Small inputs; results are short sums of values exact in binary, or single library calls
 * (log, sqrt, exp) rounded once to float32: within 1e-6 of the double-precision answer. */
#define TOL 1e-6

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

/* x[2,3,2] = 0..11 */
static float x12[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const int64_t d232[3] = {2, 3, 2};

Test(reduce, mean_axes_attribute_keepdims) {
    RtTensor X = mk(RT_F32, 3, d232, x12), out[1];
    RtTensor *in[1] = {&X};
    int64_t axes[1] = {1};
    RtAttr at[1] = {a_ints("axes", 1, axes)};
    cr_assert_eq(run_op(RT_OP_REDUCE_MEAN, 13, at, 1, in, 1, out, 1, 0), RT_OK, "%s", err.msg);
    int64_t want_dims[3] = {2, 1, 2};
    expect_shape(&out[0], 3, want_dims);
    float want[4] = {2, 3, 8, 9};
    expect_f32(&out[0], want, 4, TOL);
    free_out(out, 1);
}

Test(reduce, mean_axes_input_opset18_no_keepdims_negative) {
    int64_t axes[2] = {-1, 0}, dax[1] = {2};
    RtTensor X = mk(RT_F32, 3, d232, x12), A = mk(RT_I64, 1, dax, axes), out[1];
    RtTensor *in[2] = {&X, &A};
    RtAttr at[1] = {a_int("keepdims", 0)};
    cr_assert_eq(run_op(RT_OP_REDUCE_MEAN, 18, at, 1, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    int64_t want_dims[1] = {3};
    expect_shape(&out[0], 1, want_dims);
    /* mean over axes 0 and 2 of each middle index j: {0,1,6,7}, {2,3,8,9}, {4,5,10,11} */
    float want[3] = {3.5f, 5.5f, 7.5f};
    expect_f32(&out[0], want, 3, TOL);
    free_out(out, 1);
}

Test(reduce, axes_input_unknown_in_shape_mode) {
    int64_t dax[1] = {1};
    RtTensor X = mk(RT_F32, 3, d232, NULL), A = mk(RT_I64, 1, dax, NULL), out[1];
    RtTensor *in[2] = {&X, &A};
    cr_assert_eq(run_op(RT_OP_REDUCE_SUM, 13, NULL, 0, in, 2, out, 1, 1), RT_SHAPE_UNKNOWN);
    int64_t axes[1] = {2};
    A.data = axes;
    cr_assert_eq(run_op(RT_OP_REDUCE_SUM, 13, NULL, 0, in, 2, out, 1, 1), RT_SHAPE_ONLY, "%s", err.msg);
    int64_t want_dims[3] = {2, 3, 1};
    expect_shape(&out[0], 3, want_dims);
}

Test(reduce, empty_axes_all_or_noop) {
    int64_t dax[1] = {0};
    RtTensor X = mk(RT_F32, 3, d232, x12), A = mk(RT_I64, 1, dax, (int64_t[1]){0}), out[1];
    RtTensor *in[2] = {&X, &A};
    cr_assert_eq(run_op(RT_OP_REDUCE_SUM, 13, NULL, 0, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    int64_t ones[3] = {1, 1, 1};
    expect_shape(&out[0], 3, ones);
    float all[1] = {66};
    expect_f32(&out[0], all, 1, TOL);
    free_out(out, 1);
    RtAttr at[1] = {a_int("noop_with_empty_axes", 1)};
    cr_assert_eq(run_op(RT_OP_REDUCE_SUM, 13, at, 1, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    expect_shape(&out[0], 3, d232);
    expect_f32(&out[0], x12, 12, 0.0);
    free_out(out, 1);
    /* no-op SumSquare still squares each element (a reduction over no axes) */
    cr_assert_eq(run_op(RT_OP_REDUCE_SUM_SQUARE, 18, at, 1, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    cr_assert_float_eq(((float *)out[0].data)[3], 9.0f, 0.0f);
    free_out(out, 1);
}

Test(reduce, every_kind_over_last_axis) {
    float v[6] = {1, -2, 3, 0.5f, 4, -1};
    int64_t d[2] = {2, 3}, axes[1] = {1};
    RtTensor X = mk(RT_F32, 2, d, v), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[2] = {a_ints("axes", 1, axes), a_int("keepdims", 0)};
    struct { int op; float w0, w1; } cases[] = {
        {RT_OP_REDUCE_SUM, 2, 3.5f},
        {RT_OP_REDUCE_MEAN, 2.0f / 3, 3.5f / 3},
        {RT_OP_REDUCE_MAX, 3, 4},
        {RT_OP_REDUCE_MIN, -2, -1},
        {RT_OP_REDUCE_PROD, -6, -2},
        {RT_OP_REDUCE_L1, 6, 5.5f},
        {RT_OP_REDUCE_L2, (float)sqrt(14.0), (float)sqrt(17.25)},
        {RT_OP_REDUCE_SUM_SQUARE, 14, 17.25f},
        {RT_OP_REDUCE_LOG_SUM, (float)log(2.0), (float)log(3.5)},
        {RT_OP_REDUCE_LOG_SUM_EXP, (float)log(exp(1.0) + exp(-2.0) + exp(3.0)),
         (float)log(exp(0.5) + exp(4.0) + exp(-1.0))},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(run_op(cases[i].op, 13, at, 2, in, 1, out, 1, 0), RT_OK, "%s", err.msg);
        float want[2] = {cases[i].w0, cases[i].w1};
        expect_f32(&out[0], want, 2, TOL);
        free_out(out, 1);
    }
}

Test(reduce, empty_set_gives_identity) {
    int64_t d[2] = {0, 3}, axes[1] = {0};
    float dummy[1] = {0};
    RtTensor X = mk(RT_F32, 2, d, dummy), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[2] = {a_ints("axes", 1, axes), a_int("keepdims", 0)};
    struct { int op; float w; } cases[] = {
        {RT_OP_REDUCE_SUM, 0}, {RT_OP_REDUCE_PROD, 1}, {RT_OP_REDUCE_MAX, -INFINITY},
        {RT_OP_REDUCE_MIN, INFINITY}, {RT_OP_REDUCE_LOG_SUM_EXP, -INFINITY}, {RT_OP_REDUCE_L2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(run_op(cases[i].op, 13, at, 2, in, 1, out, 1, 0), RT_OK, "%s", err.msg);
        float want[3] = {cases[i].w, cases[i].w, cases[i].w};
        expect_f32(&out[0], want, 3, 0.0);
        free_out(out, 1);
    }
    int32_t idummy[1] = {0};
    RtTensor XI = mk(RT_I32, 2, d, idummy);
    RtTensor *ini[1] = {&XI};
    cr_assert_eq(run_op(RT_OP_REDUCE_MAX, 13, at, 2, ini, 1, out, 1, 0), RT_OK, "%s", err.msg);
    cr_assert_eq(((int32_t *)out[0].data)[1], INT32_MIN);
    free_out(out, 1);
}

Test(reduce, int64_sum_is_exact_and_uint8_max) {
    int64_t v[3] = {(int64_t)1 << 60, 1, 3}, d[1] = {3};
    RtTensor X = mk(RT_I64, 1, d, v), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[1] = {a_int("keepdims", 0)};
    cr_assert_eq(run_op(RT_OP_REDUCE_SUM, 13, at, 1, in, 1, out, 1, 0), RT_OK, "%s", err.msg);
    cr_assert_eq(out[0].rank, 0);
    cr_assert_eq(((int64_t *)out[0].data)[0], ((int64_t)1 << 60) + 4);
    free_out(out, 1);
    cr_assert_eq(run_op(RT_OP_REDUCE_MEAN, 13, at, 1, in, 1, out, 1, 0), RT_OK, "%s", err.msg);
    cr_assert_eq(((int64_t *)out[0].data)[0], (((int64_t)1 << 60) + 4) / 3);
    free_out(out, 1);
    uint8_t u[4] = {3, 250, 7, 128};
    int64_t du[1] = {4};
    RtTensor U = mk(RT_U8, 1, du, u);
    RtTensor *inu[1] = {&U};
    cr_assert_eq(run_op(RT_OP_REDUCE_MAX, 13, at, 1, inu, 1, out, 1, 0), RT_OK, "%s", err.msg);
    cr_assert_eq(((uint8_t *)out[0].data)[0], 250);
    free_out(out, 1);
}

Test(reduce, bad_axes_errors) {
    int64_t axes[1] = {3};
    RtTensor X = mk(RT_F32, 3, d232, NULL), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[1] = {a_ints("axes", 1, axes)};
    cr_assert_eq(run_op(RT_OP_REDUCE_MEAN, 13, at, 1, in, 1, out, 1, 1), RT_ERR);
    cr_assert(strstr(err.msg, "axes") && strstr(err.msg, "3"), "%s", err.msg);
    int64_t dup[2] = {1, -2};
    RtAttr at2[1] = {a_ints("axes", 2, dup)};
    cr_assert_eq(run_op(RT_OP_REDUCE_MEAN, 13, at2, 1, in, 1, out, 1, 1), RT_ERR);
    cr_assert(strstr(err.msg, "twice"), "%s", err.msg);
}

Test(argmax, select_last_index_and_keepdims) {
    float v[6] = {1, 3, 3, 2, 2, 0}; /* [2,3] */
    int64_t d[2] = {2, 3};
    RtTensor X = mk(RT_F32, 2, d, v), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[2] = {a_int("axis", -1), a_int("select_last_index", 0)};
    cr_assert_eq(run_op(RT_OP_ARG_MAX, 13, at, 2, in, 1, out, 1, 0), RT_OK, "%s", err.msg);
    int64_t kd[2] = {2, 1};
    expect_shape(&out[0], 2, kd);
    cr_assert(out[0].dtype == RT_I64 && ((int64_t *)out[0].data)[0] == 1 && ((int64_t *)out[0].data)[1] == 0);
    free_out(out, 1);
    at[1] = a_int("select_last_index", 1);
    cr_assert_eq(run_op(RT_OP_ARG_MAX, 13, at, 2, in, 1, out, 1, 0), RT_OK, "%s", err.msg);
    cr_assert(((int64_t *)out[0].data)[0] == 2 && ((int64_t *)out[0].data)[1] == 1);
    free_out(out, 1);
    RtAttr at2[2] = {a_int("axis", 0), a_int("keepdims", 0)};
    cr_assert_eq(run_op(RT_OP_ARG_MIN, 13, at2, 2, in, 1, out, 1, 0), RT_OK, "%s", err.msg);
    int64_t d3[1] = {3};
    expect_shape(&out[0], 1, d3);
    const int64_t *y = out[0].data;
    cr_assert(y[0] == 0 && y[1] == 1 && y[2] == 1);
    free_out(out, 1);
}

Test(cumsum, exclusive_reverse_axis) {
    float v[6] = {1, 2, 3, 4, 5, 6}; /* [2,3] */
    int64_t d[2] = {2, 3}, ax[1] = {1};
    RtTensor X = mk(RT_F32, 2, d, v), A = mk(RT_I64, 0, NULL, ax), out[1];
    RtTensor *in[2] = {&X, &A};
    cr_assert_eq(run_op(RT_OP_CUMSUM, 14, NULL, 0, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    float w0[6] = {1, 3, 6, 4, 9, 15};
    expect_f32(&out[0], w0, 6, 0.0);
    free_out(out, 1);
    RtAttr at[2] = {a_int("exclusive", 1), a_int("reverse", 1)};
    cr_assert_eq(run_op(RT_OP_CUMSUM, 14, at, 2, in, 2, out, 1, 0), RT_OK, "%s", err.msg);
    float w1[6] = {5, 3, 0, 11, 6, 0};
    expect_f32(&out[0], w1, 6, 0.0);
    free_out(out, 1);
    int32_t iv[6] = {1, 2, 3, 4, 5, 6};
    int64_t ax0[1] = {-2};
    RtTensor XI = mk(RT_I32, 2, d, iv), A0 = mk(RT_I64, 1, (int64_t[1]){1}, ax0);
    RtTensor *ini[2] = {&XI, &A0};
    cr_assert_eq(run_op(RT_OP_CUMSUM, 14, NULL, 0, ini, 2, out, 1, 0), RT_OK, "%s", err.msg);
    const int32_t *y = out[0].data;
    cr_assert(y[0] == 1 && y[2] == 3 && y[3] == 5 && y[5] == 9);
    free_out(out, 1);
}

Test(topk, ties_lower_index_first_and_smallest) {
    float v[8] = {3, 1, 3, 2, 5, 5, 0, 5}; /* [2,4] */
    int64_t d[2] = {2, 4}, k[1] = {2}, dk[1] = {1};
    RtTensor X = mk(RT_F32, 2, d, v), K = mk(RT_I64, 1, dk, k), out[2];
    RtTensor *in[2] = {&X, &K};
    cr_assert_eq(run_op(RT_OP_TOPK, 11, NULL, 0, in, 2, out, 2, 0), RT_OK, "%s", err.msg);
    int64_t od[2] = {2, 2};
    expect_shape(&out[0], 2, od);
    expect_shape(&out[1], 2, od);
    float wv[4] = {3, 3, 5, 5};
    expect_f32(&out[0], wv, 4, 0.0);
    const int64_t *wi = out[1].data;
    cr_assert(wi[0] == 0 && wi[1] == 2 && wi[2] == 0 && wi[3] == 1, "%lld %lld %lld %lld", (long long)wi[0],
              (long long)wi[1], (long long)wi[2], (long long)wi[3]);
    free_out(out, 2);
    RtAttr at[2] = {a_int("largest", 0), a_int("axis", 0)};
    k[0] = 1;
    cr_assert_eq(run_op(RT_OP_TOPK, 11, at, 2, in, 2, out, 2, 0), RT_OK, "%s", err.msg);
    float ws[4] = {3, 1, 0, 2};
    expect_f32(&out[0], ws, 4, 0.0);
    const int64_t *si = out[1].data;
    cr_assert(si[0] == 0 && si[1] == 0 && si[2] == 1 && si[3] == 0);
    free_out(out, 2);
    k[0] = 5;
    cr_assert_eq(run_op(RT_OP_TOPK, 11, NULL, 0, in, 2, out, 2, 0), RT_ERR);
    cr_assert(strstr(err.msg, "K = 5") && strstr(err.msg, "[2,4]"), "%s", err.msg);
}

Test(topk, k_attribute_before_opset_10) {
    int64_t v[5] = {4, -1, 9, 9, 2}, d[1] = {5};
    RtTensor X = mk(RT_I64, 1, d, v), out[2];
    RtTensor *in[1] = {&X};
    RtAttr at[1] = {a_int("k", 3)};
    cr_assert_eq(run_op(RT_OP_TOPK, 1, at, 1, in, 1, out, 2, 0), RT_OK, "%s", err.msg);
    const int64_t *y = out[0].data, *ix = out[1].data;
    cr_assert(y[0] == 9 && y[1] == 9 && y[2] == 4 && ix[0] == 2 && ix[1] == 3 && ix[2] == 0);
    free_out(out, 2);
}
