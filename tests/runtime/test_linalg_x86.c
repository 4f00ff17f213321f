/*
 * test_linalg_x86.c — the optimized Linear, MatMul and Gemm (runtime/kernels/x86/linalg_x86.c,
 * reached through rt_kernel_find_fast as the executor does) against the reference kernels
 * (rt_kernel_find) on odd shapes: Linear with every activation, with and without bias, over
 * 1-D to 3-D X; MatMul with 1-D operands and broadcast batch dims; Gemm with every transpose,
 * alpha, beta and every shape of C. Each case runs on 1 and on 2 threads, which must agree
 * bit for bit; non-float32 and shape-only runs must come out as the reference's.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/kernel.h"
#include "../../runtime/rt_exec.h"
#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

/* The bar for float kernels that sum in another order than the reference: within
 * 1e-5 of the output's largest magnitude. */
#define LX_REL_TOL 1e-5

static RtError lx_err;

/* Runs op's fast (fast = 1) or reference kernel on in[n_in] into *y; with state != NULL as
 * the runtime runs it, keeping the node's state in *state (inputs 1 and 2 constants). */
static int lx_run_state(int fast, RtThreadPool *pool, int op, int opset, RtTensor **in, int n_in, RtTensor *y,
                        RtAttr *attrs, int n_attr, int shape_only, void **state) {
    int slots_in[4], slots_out[1] = {n_in};
    for (int i = 0; i < n_in; i++) slots_in[i] = in[i] ? i : -1;
    memset(y, 0, sizeof *y);
    RtTensor *outp[1] = {y};
    RtNode n = {op, "t", rt_op_name(op), "", opset, n_in, slots_in, 1, slots_out, n_attr, attrs};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &lx_err, .shape_only = shape_only, .pool = pool};
    if (state) {
        c.node_state = state;
        c.state_alloc = rt_allocator_default();
        c.const_inputs = 6u;
    }
    lx_err.msg[0] = '\0';
    RtKernelFn fn = fast ? rt_kernel_find_fast(op) : rt_kernel_find(op);
    cr_assert_not_null(fn);
    return fn(&c, &n, in, outp);
}

static int lx_run(int fast, RtThreadPool *pool, int op, int opset, RtTensor **in, int n_in, RtTensor *y,
                  RtAttr *attrs, int n_attr, int shape_only) {
    return lx_run_state(fast, pool, op, opset, in, n_in, y, attrs, n_attr, shape_only, NULL);
}

static RtTensor lx_tensor(RtDtype dt, int rank, const int64_t *dims, unsigned seed) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    int64_t n = rt_numel(&t);
    t.data = malloc(rt_dtype_size(dt) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        double v = (double)((seed >> 8) & 0xffff) / 32768.0 - 1.0; /* [-1, 1) */
        if (dt == RT_F32) ((float *)t.data)[i] = (float)v;
        else rt_set_f64(&t, i, floor(v * 8));
    }
    return t;
}

/* Fast on 1 thread, fast on 2, reference: same status and shape; floats within LX_REL_TOL of
 * the largest reference magnitude, the two fast runs bit-identical, other dtypes equal. */
static void lx_compare(const char *what, int op, int opset, RtTensor **in, int n_in, RtAttr *attrs, int n_attr) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    RtTensor want, got1, got2;
    int rw = lx_run(0, NULL, op, opset, in, n_in, &want, attrs, n_attr, 0);
    int r1 = lx_run(1, NULL, op, opset, in, n_in, &got1, attrs, n_attr, 0);
    int r2 = lx_run(1, pool, op, opset, in, n_in, &got2, attrs, n_attr, 0);
    cr_assert_eq(r1, rw, "%s: status %d, reference %d (%s)", what, r1, rw, lx_err.msg);
    cr_assert_eq(r2, rw, "%s: 2 threads: status %d, reference %d", what, r2, rw);
    if (rw == RT_OK) {
        cr_assert_eq(got1.rank, want.rank, "%s: rank %d, want %d", what, got1.rank, want.rank);
        for (int i = 0; i < want.rank; i++) cr_assert_eq(got1.dims[i], want.dims[i], "%s: dim %d", what, i);
        cr_assert_eq(got1.dtype, want.dtype);
        int64_t n = rt_numel(&want);
        size_t bytes = rt_dtype_size(want.dtype) * (size_t)n;
        cr_expect(memcmp(got1.data, got2.data, bytes) == 0, "%s: 1 and 2 threads differ", what);
        /* with the node's state kept (weights packed at the first run, read from the state at
         * the next ones): the same bits as without, on 1 and 2 threads */
        void *state = NULL;
        for (int run = 0; run < 3; run++) {
            RtTensor s;
            int rs = lx_run_state(1, run == 2 ? pool : NULL, op, opset, in, n_in, &s, attrs, n_attr, 0, &state);
            cr_expect_eq(rs, RT_OK, "%s: run %d with state: status %d", what, run, rs);
            if (rs == RT_OK)
                cr_expect(memcmp(s.data, got1.data, bytes) == 0, "%s: run %d with the node's state differs", what, run);
            free(s.data);
        }
        rt_node_state_free(&state, 1, rt_allocator_default());
        cr_expect_null(state);
        if (want.dtype == RT_F32) {
            const float *g = got1.data, *w = want.data;
            double mx = 0;
            for (int64_t i = 0; i < n; i++) mx = fmax(mx, fabs(w[i]));
            int bad = 0;
            for (int64_t i = 0; i < n && bad < 5; i++)
                if (!(fabs((double)g[i] - w[i]) <= LX_REL_TOL * mx + 1e-30)) {
                    cr_log_error("%s: element %lld: %.9g, want %.9g (max %.3g)", what, (long long)i, g[i], w[i], mx);
                    bad++;
                }
            cr_expect_eq(bad, 0, "%s: differs from the reference", what);
        } else {
            cr_expect(memcmp(got1.data, want.data, bytes) == 0, "%s: differs from the reference", what);
        }
    }
    free(want.data);
    free(got1.data);
    free(got2.data);
    rt_pool_free(pool);
}

static void lx_free(RtTensor *t, int n) {
    for (int i = 0; i < n; i++) free(t[i].data);
}

/* ---- Linear ---- */

Test(linalg_x86, linear_shapes_bias_activations) {
    static const int64_t ks[] = {1, 17, 100}, ns[] = {1, 3, 33, 100};
    static const int64_t xd[3][3] = {{0}, {3, 0}, {2, 5, 0}}; /* leading dims; K goes last */
    RtAttr acts[6][3] = {
        {rtt_attr_str("activation", "")},
        {rtt_attr_str("activation", "Relu")},
        {rtt_attr_str("activation", "Clip"), rtt_attr_float("alpha", -0.25f), rtt_attr_float("beta", 0.5f)},
        {rtt_attr_str("activation", "LeakyRelu"), rtt_attr_float("alpha", 0.1f)},
        {rtt_attr_str("activation", "Sigmoid")},
        {rtt_attr_str("activation", "HardSigmoid"), rtt_attr_float("alpha", 0.3f), rtt_attr_float("beta", 0.4f)},
    };
    static const int n_attrs[6] = {1, 1, 3, 2, 1, 3};
    int n = 0;
    for (int ik = 0; ik < 3; ik++)
        for (int in_ = 0; in_ < 4; in_++)
            for (int r = 1; r <= 3; r++) {
                int64_t dims[3];
                for (int i = 0; i < r - 1; i++) dims[i] = xd[r - 1][i];
                dims[r - 1] = ks[ik];
                int64_t wd[2] = {ks[ik], ns[in_]}, bd[1] = {ns[in_]};
                RtTensor t[3] = {lx_tensor(RT_F32, r, dims, 1u + (unsigned)n), lx_tensor(RT_F32, 2, wd, 7u + (unsigned)n),
                                 lx_tensor(RT_F32, 1, bd, 11u + (unsigned)n)};
                int bias = n % 2, act = n % 6;
                RtTensor *in[3] = {&t[0], &t[1], bias ? &t[2] : NULL};
                char what[128];
                snprintf(what, sizeof what, "Linear rank %d K=%lld N=%lld bias %d act %d", r, (long long)ks[ik],
                         (long long)ns[in_], bias, act);
                lx_compare(what, RT_OP_LINEAR, 1, in, 3, acts[act], n_attrs[act]);
                lx_free(t, 3);
                n++;
            }
}

/* ---- MatMul ---- */

typedef struct {
    int ra, rb;
    int64_t a[5], b[5];
} MmCase;

Test(linalg_x86, matmul_1d_and_broadcast_batches) {
    static const MmCase cases[] = {
        {2, 2, {17, 33}, {33, 3}},
        {2, 2, {1, 100}, {100, 129}},
        {1, 2, {33}, {33, 17}},
        {2, 1, {17, 33}, {33}},
        {1, 1, {100}, {100}},
        {3, 2, {3, 17, 33}, {33, 49}},           /* one GEMM over 3 * 17 rows */
        {3, 3, {3, 17, 33}, {3, 33, 49}},
        {2, 3, {17, 33}, {3, 33, 49}},           /* A broadcast over B's batch */
        {3, 3, {3, 17, 33}, {1, 33, 49}},        /* B's one matrix: one GEMM */
        {4, 3, {2, 1, 9, 5}, {3, 5, 17}},
        {4, 4, {1, 3, 9, 5}, {2, 1, 5, 17}},
        {4, 4, {1, 4, 128, 64}, {1, 4, 64, 128}}, /* tinylm's attention */
        {3, 1, {2, 9, 5}, {5}},
        {1, 3, {5}, {2, 5, 9}},
        {3, 3, {2, 0, 5}, {2, 5, 9}},            /* empty */
        {2, 2, {3, 0}, {0, 4}},                  /* K == 0: zeros */
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        const MmCase *c = &cases[i];
        RtTensor t[2] = {lx_tensor(RT_F32, c->ra, c->a, 3u + (unsigned)i), lx_tensor(RT_F32, c->rb, c->b, 5u + (unsigned)i)};
        RtTensor *in[2] = {&t[0], &t[1]};
        char what[64];
        snprintf(what, sizeof what, "MatMul case %d", i);
        lx_compare(what, RT_OP_MATMUL, 13, in, 2, NULL, 0);
        lx_free(t, 2);
    }
}

Test(linalg_x86, matmul_other_dtypes_and_errors_as_the_reference) {
    int64_t ad[2] = {3, 5}, bd[2] = {5, 4}, bad[2] = {6, 4};
    RtTensor t[3] = {lx_tensor(RT_I32, 2, ad, 1), lx_tensor(RT_I32, 2, bd, 2), lx_tensor(RT_F32, 2, bad, 3)};
    RtTensor *in[2] = {&t[0], &t[1]};
    lx_compare("MatMul int32", RT_OP_MATMUL, 13, in, 2, NULL, 0);
    RtTensor f[1] = {lx_tensor(RT_F32, 2, ad, 4)};
    RtTensor *in2[2] = {&f[0], &t[2]};
    lx_compare("MatMul K mismatch", RT_OP_MATMUL, 13, in2, 2, NULL, 0);
    RtTensor y;
    cr_expect_eq(lx_run(1, NULL, RT_OP_MATMUL, 13, in2, 2, &y, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(lx_err.msg, "incompatible") != NULL, "message: %s", lx_err.msg);
    lx_free(t, 3);
    lx_free(f, 1);
}

Test(linalg_x86, shape_only_runs_give_the_shapes) {
    int64_t ad[3] = {2, 7, 5}, bd[2] = {5, 9};
    RtTensor t[2] = {lx_tensor(RT_F32, 3, ad, 1), lx_tensor(RT_F32, 2, bd, 2)};
    RtTensor *in[2] = {&t[0], &t[1]}, y;
    cr_expect_eq(lx_run(1, NULL, RT_OP_MATMUL, 13, in, 2, &y, NULL, 0, 1), RT_SHAPE_ONLY);
    int64_t want[3] = {2, 7, 9};
    rtt_expect_dims(&y, 3, want);
    lx_free(t, 2);
}

/* ---- Gemm ---- */

Test(linalg_x86, gemm_transposes_alpha_beta_and_c_shapes) {
    static const int64_t sz[][3] = {{1, 1, 1}, {3, 17, 5}, {17, 3, 33}, {33, 100, 17}, {1, 129, 40}, {100, 1, 9}};
    /* C shapes: rank then dims, with M / N filled in (-1 = M, -2 = N) */
    static const int crank[] = {-1, 0, 1, 1, 2, 2, 2, 2};
    static const int64_t cdim[][2] = {{0}, {0}, {1}, {-2}, {1, -2}, {-1, 1}, {-1, -2}, {1, 1}};
    int n = 0;
    for (int s = 0; s < (int)(sizeof sz / sizeof sz[0]); s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int ci = 0; ci < 8; ci++) {
                    int64_t M = sz[s][0], N = sz[s][1], K = sz[s][2];
                    int64_t ad[2] = {ta ? K : M, ta ? M : K}, bd[2] = {tb ? N : K, tb ? K : N}, cd[2];
                    for (int i = 0; i < 2; i++) cd[i] = cdim[ci][i] == -1 ? M : cdim[ci][i] == -2 ? N : cdim[ci][i];
                    RtTensor t[3] = {lx_tensor(RT_F32, 2, ad, 1u + (unsigned)n), lx_tensor(RT_F32, 2, bd, 2u + (unsigned)n),
                                     lx_tensor(RT_F32, crank[ci] < 0 ? 0 : crank[ci], cd, 3u + (unsigned)n)};
                    RtTensor *in[3] = {&t[0], &t[1], crank[ci] < 0 ? NULL : &t[2]};
                    float alpha = n % 3 == 0 ? 1.0f : 0.5f, beta = n % 4 == 0 ? 1.0f : n % 4 == 1 ? 0.0f : -2.0f;
                    RtAttr at[4] = {rtt_attr_int("transA", ta), rtt_attr_int("transB", tb),
                                    rtt_attr_float("alpha", alpha), rtt_attr_float("beta", beta)};
                    char what[128];
                    snprintf(what, sizeof what, "Gemm M=%lld N=%lld K=%lld ta=%d tb=%d C%d alpha %g beta %g",
                             (long long)M, (long long)N, (long long)K, ta, tb, ci, alpha, beta);
                    lx_compare(what, RT_OP_GEMM, 13, in, 3, at, 4);
                    lx_free(t, 3);
                    n++;
                }
}

Test(linalg_x86, gemm_bad_c_as_the_reference) {
    int64_t ad[2] = {3, 5}, bd[2] = {5, 4}, cd[2] = {2, 4};
    RtTensor t[3] = {lx_tensor(RT_F32, 2, ad, 1), lx_tensor(RT_F32, 2, bd, 2), lx_tensor(RT_F32, 2, cd, 3)};
    RtTensor *in[3] = {&t[0], &t[1], &t[2]};
    lx_compare("Gemm C [2,4] for [3,4]", RT_OP_GEMM, 13, in, 3, NULL, 0);
    lx_free(t, 3);
}

/* ---- the node's state ---- */

/* Linear and Gemm keep W packed in the node's state from the first run: the state is
 * created only for constant weights with more than one row, and a state whose header
 * does not match the node's shapes (here: another Linear's) is never used nor replaced. */
Test(linalg_x86, node_state_created_for_constant_weights_and_checked) {
    int64_t xd[2] = {20, 33}, wd[2] = {33, 50}, wd2[2] = {33, 49}, x1[2] = {1, 33};
    RtTensor t[4] = {lx_tensor(RT_F32, 2, xd, 1), lx_tensor(RT_F32, 2, wd, 2), lx_tensor(RT_F32, 2, wd2, 3),
                     lx_tensor(RT_F32, 2, x1, 4)};
    RtTensor *in[2] = {&t[0], &t[1]}, *in2[2] = {&t[0], &t[2]}, *in1[2] = {&t[3], &t[1]};
    RtTensor y, want;
    void *state = NULL;
    cr_assert_eq(lx_run_state(1, NULL, RT_OP_LINEAR, 1, in1, 2, &y, NULL, 0, 0, &state), RT_OK);
    cr_expect_null(state, "one row: no state (a GEMV reads W in place)");
    free(y.data);
    cr_assert_eq(lx_run_state(1, NULL, RT_OP_LINEAR, 1, in, 2, &y, NULL, 0, 0, &state), RT_OK);
    cr_expect_not_null(state, "20 rows of constant W: packed into the state");
    free(y.data);
    void *first = state;
    /* the other Linear's W [33, 49] with this state: computed without it, state kept */
    cr_assert_eq(lx_run_state(1, NULL, RT_OP_LINEAR, 1, in2, 2, &y, NULL, 0, 0, &state), RT_OK);
    cr_assert_eq(lx_run(0, NULL, RT_OP_LINEAR, 1, in2, 2, &want, NULL, 0, 0), RT_OK);
    cr_expect_eq(state, first);
    double mx = 0, err = 0;
    for (int64_t i = 0; i < 20 * 49; i++) {
        mx = fmax(mx, fabs(((float *)want.data)[i]));
        err = fmax(err, fabs(((float *)y.data)[i] - ((float *)want.data)[i]));
    }
    cr_expect(err <= LX_REL_TOL * mx, "mismatched state used? error %g of %g", err, mx);
    free(y.data);
    free(want.data);
    rt_node_state_free(&state, 1, rt_allocator_default());
    /* weights not marked constant: no state */
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &lx_err, .node_state = &state,
                     .state_alloc = rt_allocator_default(), .const_inputs = 0};
    int slots_in[2] = {0, 1}, slots_out[1] = {2};
    RtNode n = {RT_OP_LINEAR, "t", "Linear", "", 1, 2, slots_in, 1, slots_out, 0, NULL};
    RtTensor *outp[1] = {&y};
    memset(&y, 0, sizeof y);
    cr_assert_eq(rt_kernel_find_fast(RT_OP_LINEAR)(&c, &n, in, outp), RT_OK);
    cr_expect_null(state, "W not constant: nothing cached");
    free(y.data);
    lx_free(t, 4);
}

/* Products big enough for the GEMM to split them over 2 threads (sgemm_avx512.c's
 * SG_PAR_MIN): Linear with an activation, Gemm with transposes, MatMul with one B. */
Test(linalg_x86, big_shapes_split_over_threads) {
    int64_t xd[3] = {2, 150, 300}, wd[2] = {300, 100}, bd[1] = {100};
    RtTensor t[3] = {lx_tensor(RT_F32, 3, xd, 1), lx_tensor(RT_F32, 2, wd, 2), lx_tensor(RT_F32, 1, bd, 3)};
    RtTensor *in[3] = {&t[0], &t[1], &t[2]};
    RtAttr relu[1] = {rtt_attr_str("activation", "Relu")};
    lx_compare("Linear 300x300x100 Relu", RT_OP_LINEAR, 1, in, 3, relu, 1);
    lx_compare("MatMul 300x300x100", RT_OP_MATMUL, 13, in, 2, NULL, 0);
    int64_t ad[2] = {310, 200}, gbd[2] = {120, 310}, cd[1] = {120};
    RtTensor g[3] = {lx_tensor(RT_F32, 2, ad, 4), lx_tensor(RT_F32, 2, gbd, 5), lx_tensor(RT_F32, 1, cd, 6)};
    RtTensor *gin[3] = {&g[0], &g[1], &g[2]};
    RtAttr tr[2] = {rtt_attr_int("transA", 1), rtt_attr_int("transB", 1)};
    lx_compare("Gemm transA transB 200x120x310", RT_OP_GEMM, 13, gin, 3, tr, 2);
    lx_free(t, 3);
    lx_free(g, 3);
}

/* ---- Linear with a fused Gelu ---- */

/* Fused: Linear(activation Gelu / GeluTanh) through the fast kernels; unfused: Linear without
 * activation, then the fast standalone Gelu kernel (approximate "none" / "tanh"). The epilogue
 * runs the x86 Gelu kernel's own vector code, so the two are the same bits. */
static void lx_gelu_check(const char *what, RtTensor **in, int tanh_form, RtThreadPool *pool) {
    RtAttr fused[1] = {rtt_attr_str("activation", tanh_form ? "GeluTanh" : "Gelu")};
    RtAttr plain[1] = {rtt_attr_str("activation", "")};
    RtAttr appr[1] = {rtt_attr_str("approximate", tanh_form ? "tanh" : "none")};
    RtTensor yf, yl, yg;
    cr_assert_eq(lx_run(1, pool, RT_OP_LINEAR, 1, in, 3, &yf, fused, 1, 0), RT_OK, "%s: %s", what, lx_err.msg);
    cr_assert_eq(lx_run(1, pool, RT_OP_LINEAR, 1, in, 3, &yl, plain, 1, 0), RT_OK, "%s: %s", what, lx_err.msg);
    RtTensor *gin[1] = {&yl};
    cr_assert_eq(lx_run(1, pool, RT_OP_GELU, 20, gin, 1, &yg, appr, 1, 0), RT_OK, "%s: %s", what, lx_err.msg);
    cr_expect(memcmp(yf.data, yg.data, sizeof(float) * (size_t)rt_numel(&yf)) == 0,
              "%s: fused Gelu differs from Linear then Gelu", what);
    free(yf.data);
    free(yl.data);
    free(yg.data);
}

/* M, N, K over the odd sizes (M = 1 is the GEMV, N = 1, 3 the narrow tails, 17/33/129 every
 * tile edge); X scaled by 4 so the outputs reach past Gelu's +-4 sqrt 2 clamp and both of
 * its polynomials: against the reference (its erff / tanhf formula) within LX_REL_TOL,
 * 1 and 2 threads bit-identical, and fused == unfused. */
Test(linalg_x86, linear_gelu_odd_sizes) {
    static const int64_t sz[] = {1, 3, 17, 33, 129};
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    int n = 0;
    for (int im = 0; im < 5; im++)
        for (int in_ = 0; in_ < 5; in_++)
            for (int ik = 0; ik < 5; ik++, n++) {
                int64_t xd[2] = {sz[im], sz[ik]}, wd[2] = {sz[ik], sz[in_]}, bd[1] = {sz[in_]};
                RtTensor t[3] = {lx_tensor(RT_F32, 2, xd, 1u + (unsigned)n), lx_tensor(RT_F32, 2, wd, 7u + (unsigned)n),
                                 lx_tensor(RT_F32, 1, bd, 11u + (unsigned)n)};
                for (int64_t i = 0; i < rt_numel(&t[0]); i++) ((float *)t[0].data)[i] *= 4.0f;
                RtTensor *in[3] = {&t[0], &t[1], n % 2 ? &t[2] : NULL};
                for (int tf = 0; tf < 2; tf++) {
                    RtAttr act[1] = {rtt_attr_str("activation", tf ? "GeluTanh" : "Gelu")};
                    char what[128];
                    snprintf(what, sizeof what, "Linear %s M=%lld N=%lld K=%lld bias %d", tf ? "GeluTanh" : "Gelu",
                             (long long)sz[im], (long long)sz[in_], (long long)sz[ik], n % 2);
                    if (n % 3 == 0 || tf == 0) lx_compare(what, RT_OP_LINEAR, 1, in, 3, act, 1);
                    lx_gelu_check(what, in, tf, n % 2 ? pool : NULL);
                }
                lx_free(t, 3);
            }
    rt_pool_free(pool);
}

/* A product the GEMM splits over 2 threads (tinylm's fc1 shape, 128 x 256 -> 1024), Gelu in
 * the epilogue of every part. */
Test(linalg_x86, linear_gelu_split_over_threads) {
    int64_t xd[2] = {128, 256}, wd[2] = {256, 1024}, bd[1] = {1024};
    RtTensor t[3] = {lx_tensor(RT_F32, 2, xd, 21), lx_tensor(RT_F32, 2, wd, 22), lx_tensor(RT_F32, 1, bd, 23)};
    RtTensor *in[3] = {&t[0], &t[1], &t[2]};
    RtAttr act[1] = {rtt_attr_str("activation", "Gelu")};
    lx_compare("Linear 128x256x1024 Gelu", RT_OP_LINEAR, 1, in, 3, act, 1);
    RtThreadPool *pool = rt_pool_new(2, NULL);
    lx_gelu_check("Linear 128x256x1024 Gelu, 2 threads", in, 0, pool);
    lx_gelu_check("Linear 128x256x1024 GeluTanh, 2 threads", in, 1, pool);
    rt_pool_free(pool);
    lx_free(t, 3);
}

/* Gelu is fused into Linear only: FusedConv refuses it, the fast kernel as the reference
 * (status and no output), instead of running a conv path that has no Gelu. */
Test(linalg_x86, fused_conv_refuses_gelu) {
    int64_t xd[4] = {1, 2, 5, 5}, wd[4] = {3, 2, 3, 3};
    RtTensor t[2] = {lx_tensor(RT_F32, 4, xd, 31), lx_tensor(RT_F32, 4, wd, 32)};
    RtTensor *in[2] = {&t[0], &t[1]};
    RtAttr act[1] = {rtt_attr_str("activation", "Gelu")};
    for (int fast = 0; fast < 2; fast++) {
        RtTensor y;
        int r = lx_run(fast, NULL, RT_OP_FUSED_CONV, 1, in, 2, &y, act, 1, 0);
        cr_expect_eq(r, RT_ERR_UNSUPPORTED, "fast %d: status %d", fast, r);
        cr_expect(strstr(lx_err.msg, "Linear") != NULL, "fast %d: message '%s'", fast, lx_err.msg);
        free(y.data);
    }
    lx_free(t, 2);
}
