/*
 * test_nbits_x86.c — the optimized LinearNBits and com.microsoft MatMulNBits kernels
 * (runtime/kernels/x86/nbits_x86.c, through rt_kernel_find_fast) against the reference.
 *
 * LinearNBits' reference is rt_nbits_linear_run with the reference implementation (one
 * weight at a time from rt_qblock_code, what rt_kernel_find(op) runs under WAFER_RT_REF=1);
 * MatMulNBits' is rt_kernel_find(RT_OP_MATMUL_NBITS). Shapes are odd on purpose: rows of X
 * 1, 2 (gemv), 5, 7, 13, 128 (panels; 128 also takes AMX where the CPU has it), K not a
 * multiple of 32 or of the group, N 1, 3, 17, 100; bits 2, 3, 4, 8; groups 32, 128, one
 * group, 48 and 100 (not whole blocks, not dividing K); act-order g_idx; bias; every
 * activation. Every case also runs on a 2-thread pool and must match the 1-thread result
 * bit for bit. Where the CPU has AMX, batches of 16+ rows run on it; the row-count and
 * model-shape cases run again with WAFER_RT_AMX=0 (dequantized into sgemm.h's GEMM), and X with
 * infinities and NaNs checks the exact bf16 split of X. On a CPU without AVX-512 the fast
 * kernel is the reference and the checks still hold.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/kernel.h"
#include "../../runtime/kernels/nbits.h"
#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

/* The optimized kernels sum X[m, k] * W[k, n] in another order than the reference (vector
 * lanes, FMA, per-group partial sums scaled once; AMX sums three exact bf16 parts of X), so
 * the results differ by rounding only: within this fraction of the largest magnitude of the
 * layer's pre-activation output (the bar for float paths). The activations are
 * 1-Lipschitz for the parameters used here (LeakyRelu alpha 0.1, HardSigmoid alpha 0.25),
 * so they do not widen the difference; Gelu's slope is at most 1.13, and the fast path's
 * vector Gelu is within a few float ulps of the reference's erff / tanhf formula. */
#define NBX_REL_TOL 1e-5

typedef struct {
    const char *name;
    RtAct act;
} Act;

static const Act acts[] = {
    {"", {RT_ACT_NONE, 0, 0}},
    {"Relu", {RT_ACT_RELU, 0, 0}},
    {"Clip", {RT_ACT_CLIP, -0.5f, 0.7f}},
    {"LeakyRelu", {RT_ACT_LEAKY_RELU, 0.1f, 0}},
    {"Sigmoid", {RT_ACT_SIGMOID, 0, 0}},
    {"HardSigmoid", {RT_ACT_HARD_SIGMOID, 0.25f, 0.45f}},
    {"Gelu", {RT_ACT_GELU, 0, 0}},
    {"GeluTanh", {RT_ACT_GELU_TANH, 0, 0}},
};
#define NACTS (int)(sizeof acts / sizeof acts[0])

/* Runs fn on a node of op with inputs in[n_in] (NULL = absent) and attrs; the output is
 * allocated by the kernel (freed by the caller). */
static int run_node(RtKernelFn fn, int op, RtTensor **in, int n_in, RtAttr *attrs, int n_attr, RtThreadPool *pool,
                    RtTensor *out, RtError *err) {
    int slots_in[8], slots_out[1] = {n_in};
    for (int i = 0; i < n_in; i++) slots_in[i] = in[i] ? i : -1;
    RtNode n = {op, "t", rt_op_name(op), "", 17, n_in, slots_in, 1, slots_out, n_attr, attrs};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = err, .pool = pool};
    RtTensor *outp[1] = {out};
    memset(out, 0, sizeof *out);
    err->msg[0] = '\0';
    return fn(&c, &n, in, outp);
}

/* Largest finite |v| of n floats (at least FLT_MIN, so an all-zero output still has a scale). */
static double max_abs(const float *v, int64_t n) {
    double m = 1.17549435e-38;
    for (int64_t i = 0; i < n; i++) m = isfinite(v[i]) && fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* got within NBX_REL_TOL * scale of want; returns the mismatches (at most 5 reported). */
static int expect_near(const char *what, const float *got, const float *want, int64_t n, double scale) {
    int bad = 0;
    for (int64_t i = 0; i < n && bad < 5; i++) {
        int ok = isnan(want[i])   ? isnan(got[i])
                 : isinf(want[i]) ? got[i] == want[i]
                                  : fabs((double)got[i] - (double)want[i]) <= NBX_REL_TOL * scale;
        cr_expect(ok, "%s: element %lld got %.9g, want %.9g (scale %.3g)", what, (long long)i, got[i], want[i], scale);
        bad += !ok;
    }
    return bad;
}

/* ---- LinearNBits ---- */

typedef struct {
    int bits;
    int64_t M, N, K, group;
    int gidx, bias, act;
    uint8_t *packed, *zeros;
    float *scales, *b, *x;
    int32_t *g_idx;
    int64_t NG;
    RtTensor tx, tw, ts, tz, tg, tb;
    RtTensor *in[6];
    RtAttr attrs[5];
    int n_attr;
} Lin;

static void lin_make(Lin *l, int bits, int64_t M, int64_t N, int64_t K, int64_t group, int gidx, int bias, int act,
                     uint32_t seed) {
    memset(l, 0, sizeof *l);
    l->bits = bits, l->M = M, l->N = N, l->K = K, l->group = group, l->gidx = gidx, l->bias = bias, l->act = act;
    l->NG = rt_nbits_groups(K, group);
    uint8_t *codes = malloc((size_t)(N * K) + 1);
    for (int64_t i = 0; i < N * K; i++) codes[i] = (uint8_t)(rtt_lcg(&seed) & ((1u << bits) - 1));
    size_t size = rt_qblock_packed_size(bits, N, K);
    l->packed = malloc(size + 1);
    cr_assert_eq(rt_qblock_pack(bits, N, K, codes, l->packed, size), 0);
    free(codes);
    l->scales = malloc(sizeof(float) * (size_t)(N * l->NG) + 4);
    l->zeros = malloc((size_t)(N * l->NG) + 1);
    for (int64_t i = 0; i < N * l->NG; i++) {
        l->scales[i] = rtt_uniform(&seed, 1.0f / 256, 1.0f / 8);
        /* zero points in the code range, now and then past it (allowed, up to 255) */
        l->zeros[i] = i % 7 == 3 ? (uint8_t)(bits == 8 ? 255 : (1 << bits) + 3) : (uint8_t)(rtt_lcg(&seed) & ((1u << bits) - 1));
    }
    if (gidx) { /* act-order: groups of G permuted columns */
        l->g_idx = malloc(sizeof(int32_t) * (size_t)K + 4);
        int64_t *perm = malloc(sizeof(int64_t) * (size_t)K + 8);
        for (int64_t k = 0; k < K; k++) perm[k] = k;
        for (int64_t k = K - 1; k > 0; k--) {
            int64_t j = (int64_t)(rtt_lcg(&seed) % (uint32_t)(k + 1)), t = perm[k];
            perm[k] = perm[j], perm[j] = t;
        }
        for (int64_t j = 0; j < K; j++) l->g_idx[perm[j]] = (int32_t)(group ? j / group : 0);
        free(perm);
    }
    l->b = malloc(sizeof(float) * (size_t)N + 4);
    for (int64_t n = 0; n < N; n++) l->b[n] = rtt_uniform(&seed, -1, 1);
    l->x = malloc(sizeof(float) * (size_t)(M * K) + 4);
    for (int64_t i = 0; i < M * K; i++) l->x[i] = rtt_uniform(&seed, -1, 1);
    int64_t xd[2] = {M, K}, wd[1] = {(int64_t)size}, sd[2] = {N, l->NG}, gd[1] = {K}, bd[1] = {N};
    l->tx = (RtTensor){0}, l->tx.dtype = RT_F32, l->tx.rank = 2, l->tx.dims[0] = xd[0], l->tx.dims[1] = xd[1];
    l->tx.data = l->x;
    l->tw = (RtTensor){0}, l->tw.dtype = RT_U8, l->tw.rank = 1, l->tw.dims[0] = wd[0], l->tw.data = l->packed;
    l->ts = (RtTensor){0}, l->ts.dtype = RT_F32, l->ts.rank = 2, l->ts.dims[0] = sd[0], l->ts.dims[1] = sd[1];
    l->ts.data = l->scales;
    l->tz = l->ts, l->tz.dtype = RT_U8, l->tz.data = l->zeros;
    l->tg = (RtTensor){0}, l->tg.dtype = RT_I32, l->tg.rank = 1, l->tg.dims[0] = gd[0], l->tg.data = l->g_idx;
    l->tb = (RtTensor){0}, l->tb.dtype = RT_F32, l->tb.rank = 1, l->tb.dims[0] = bd[0], l->tb.data = l->b;
    l->in[0] = &l->tx, l->in[1] = &l->tw, l->in[2] = &l->ts, l->in[3] = &l->tz;
    l->in[4] = gidx ? &l->tg : NULL;
    l->in[5] = bias ? &l->tb : NULL;
    l->attrs[l->n_attr++] = (RtAttr){.name = "bits", .type = RT_ATTR_INT, .i = bits};
    l->attrs[l->n_attr++] = (RtAttr){.name = "group", .type = RT_ATTR_INT, .i = group};
    const Act *a = &acts[act];
    if (a->act.kind != RT_ACT_NONE)
        l->attrs[l->n_attr++] = (RtAttr){.name = "activation", .type = RT_ATTR_STRING, .s = a->name};
    if (a->act.kind == RT_ACT_CLIP || a->act.kind == RT_ACT_LEAKY_RELU || a->act.kind == RT_ACT_HARD_SIGMOID)
        l->attrs[l->n_attr++] = (RtAttr){.name = "alpha", .type = RT_ATTR_FLOAT, .f = a->act.alpha};
    if (a->act.kind == RT_ACT_CLIP || a->act.kind == RT_ACT_HARD_SIGMOID)
        l->attrs[l->n_attr++] = (RtAttr){.name = "beta", .type = RT_ATTR_FLOAT, .f = a->act.beta};
}

static void lin_free(Lin *l) {
    free(l->packed), free(l->zeros), free(l->scales), free(l->b), free(l->x), free(l->g_idx);
}

/* The reference output, with the activation or without it (the tolerance's scale). */
static float *lin_ref(const Lin *l, int with_act) {
    RtNbitsLinear L = {l->bits, l->N, l->K, l->group, l->packed, l->scales, l->zeros, l->gidx ? l->g_idx : NULL,
                       l->bias ? l->b : NULL, with_act ? acts[l->act].act : acts[0].act};
    float *y = malloc(sizeof(float) * (size_t)(l->M * l->N) + 4);
    RtError err = {{0}};
    cr_assert_eq(rt_nbits_linear_run(&rt_nbits_impl_ref, &L, l->x, l->M, y, NULL, NULL, &err), RT_OK, "%s", err.msg);
    return y;
}

/* One case: the fast kernel on 1 thread against the reference, on 2 threads against 1. */
static int lin_check(Lin *l, RtThreadPool *pool2) {
    char what[200];
    snprintf(what, sizeof what, "LinearNBits %d-bit M=%lld N=%lld K=%lld G=%lld%s%s act='%s'", l->bits,
             (long long)l->M, (long long)l->N, (long long)l->K, (long long)l->group, l->gidx ? " g_idx" : "",
             l->bias ? " bias" : "", acts[l->act].name);
    float *want = lin_ref(l, 1), *pre = lin_ref(l, 0);
    RtTensor y1, y2;
    RtError err = {{0}};
    RtKernelFn fast = rt_kernel_find_fast(RT_OP_LINEAR_NBITS);
    cr_assert_eq(run_node(fast, RT_OP_LINEAR_NBITS, l->in, 6, l->attrs, l->n_attr, NULL, &y1, &err), RT_OK, "%s: %s",
                 what, err.msg);
    cr_assert_eq(run_node(fast, RT_OP_LINEAR_NBITS, l->in, 6, l->attrs, l->n_attr, pool2, &y2, &err), RT_OK, "%s: %s",
                 what, err.msg);
    cr_assert(y1.rank == 2 && y1.dims[0] == l->M && y1.dims[1] == l->N, "%s: output shape", what);
    int bad = expect_near(what, y1.data, want, l->M * l->N, max_abs(pre, l->M * l->N));
    int same = memcmp(y1.data, y2.data, sizeof(float) * (size_t)(l->M * l->N)) == 0;
    cr_expect(same, "%s: 2 threads differ from 1", what);
    free(y1.data), free(y2.data), free(want), free(pre);
    return bad + !same;
}

static const int64_t Ms[] = {1, 2, 5, 7, 13, 128};
static const int64_t Ns[] = {1, 3, 17, 100};
static const int64_t Ks[] = {32, 100, 300, 520};
static const int bitss[] = {2, 3, 4, 8};
static const int64_t groups[] = {32, 128, 0, 48, 100};

/* Every bit width x group x g_idx, each with a few shapes cycling through the lists. */
Test(nbits_x86, linear_formats_and_odd_shapes) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    int cfg = 0, bad = 0;
    for (int bi = 0; bi < 4; bi++)
        for (int gi = 0; gi < 5; gi++)
            for (int ao = 0; ao < 2; ao++)
                for (int s = 0; s < 3; s++, cfg++) {
                    Lin l;
                    int64_t M = Ms[(cfg * 5 + s) % 6], N = Ns[(cfg + s) % 4], K = Ks[(cfg / 4 + s) % 4];
                    if (groups[gi] > K) K += groups[gi]; /* at least two groups when G is set */
                    lin_make(&l, bitss[bi], M, N, K, groups[gi], ao, cfg % 2, cfg % NACTS, 1000u + (uint32_t)cfg);
                    bad += lin_check(&l, pool);
                    lin_free(&l);
                }
    cr_expect_eq(bad, 0);
    rt_pool_free(pool);
}

/* Every row count through the panels and their tails, 4-bit g128 as GPTQ writes it. */
Test(nbits_x86, linear_row_counts) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    int bad = 0;
    for (int64_t M = 1; M <= 40; M += (M < 16 ? 1 : 5)) {
        Lin l;
        lin_make(&l, 4, M, 70, 300, 128, 0, 1, (int)M % NACTS, 77u + (uint32_t)M);
        bad += lin_check(&l, pool);
        lin_free(&l);
    }
    cr_expect_eq(bad, 0);
    rt_pool_free(pool);
}

/* The tinylm shapes, a K past several panel slices, and more rows than one pass of the
 * tiles; layers of several chunks of dequantized columns (N 520 and 600 with K = 1024:
 * whole 256-deep K blocks, filled in place; N 2000 with K = 600: 200-deep blocks, not on
 * 32-column bounds, staged and copied). */
Test(nbits_x86, linear_model_shapes) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    const int64_t shapes[][3] = {{128, 256, 256}, {128, 1024, 256}, {128, 256, 1024}, {33, 130, 1100},
                                 {1, 256, 1024},  {7, 520, 1024}, /* 7 rows of a big layer: the tiles */
                                 {600, 40, 100},                   /* past one pass of 512 rows */
                                 {9, 2000, 600}};
    int bad = 0;
    for (int i = 0; i < 8; i++) {
        Lin l;
        lin_make(&l, 4, shapes[i][0], shapes[i][1], shapes[i][2], 128, 0, 1, 0, 5u + (uint32_t)i);
        bad += lin_check(&l, pool);
        lin_free(&l);
    }
    cr_expect_eq(bad, 0);
    rt_pool_free(pool);
}

/* Rank-3 X, a planned output (the kernel must write where the executor put it), shape-only
 * mode, K = 0, and an out-of-range g_idx through the fast kernel. */
Test(nbits_x86, linear_kernel_contract) {
    RtKernelFn fast = rt_kernel_find_fast(RT_OP_LINEAR_NBITS);
    RtError err = {{0}};
    Lin l;
    lin_make(&l, 4, 24, 17, 100, 32, 1, 1, 3, 9u);
    float *want = lin_ref(&l, 1), *pre = lin_ref(&l, 0);
    l.tx.rank = 3, l.tx.dims[0] = 2, l.tx.dims[1] = 12, l.tx.dims[2] = 100;
    int slots_in[6] = {0, 1, 2, 3, 4, 5}, slots_out[1] = {6};
    RtNode n = {RT_OP_LINEAR_NBITS, "t", "LinearNBits", "", 17, 6, slots_in, 1, slots_out, l.n_attr, l.attrs};
    float *planned = malloc(sizeof(float) * 24 * 17);
    RtTensor out = {0};
    out.data = planned;
    RtTensor *outp[1] = {&out};
    int64_t pbytes = (int64_t)sizeof(float) * 24 * 17;
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &err, .planned_out = outp, .planned_bytes = &pbytes,
                     .n_planned = 1};
    cr_assert_eq(fast(&c, &n, l.in, outp), RT_OK, "%s", err.msg);
    cr_expect(out.data == planned, "the planned output was replaced");
    cr_expect(out.rank == 3 && out.dims[0] == 2 && out.dims[1] == 12 && out.dims[2] == 17);
    cr_expect_eq(expect_near("rank 3, planned", planned, want, 24 * 17, max_abs(pre, 24 * 17)), 0);

    RtKernelCtx cs = {.alloc = rt_allocator_default(), .err = &err, .shape_only = 1};
    RtTensor so = {0};
    RtTensor *sop[1] = {&so};
    cr_expect_eq(fast(&cs, &n, l.in, sop), RT_SHAPE_ONLY);
    cr_expect(so.rank == 3 && so.dims[2] == 17 && so.data == NULL);

    l.g_idx[50] = 7; /* groups 0..3 exist */
    RtTensor bad;
    cr_expect_neq(run_node(fast, RT_OP_LINEAR_NBITS, l.in, 6, l.attrs, l.n_attr, NULL, &bad, &err), RT_OK);
    cr_expect(strstr(err.msg, "g_idx[50]") != NULL, "%s", err.msg);
    free(bad.data);
    free(planned), free(want), free(pre);
    lin_free(&l);

    lin_make(&l, 4, 20, 3, 0, 0, 0, 1, 1, 3u); /* K = 0: act(bias) */
    RtTensor y;
    cr_assert_eq(run_node(fast, RT_OP_LINEAR_NBITS, l.in, 6, l.attrs, l.n_attr, NULL, &y, &err), RT_OK, "%s", err.msg);
    for (int i = 0; i < 20 * 3; i++) cr_expect_eq(((float *)y.data)[i], l.b[i % 3] > 0 ? l.b[i % 3] : 0.0f);
    free(y.data);
    lin_free(&l);
}

/* Fused Gelu == LinearNBits without activation, then the fast standalone Gelu kernel, bit for
 * bit (the epilogue runs that kernel's vector code), on 1 and 2 threads; `amx` 0 forces the
 * sgemm path. */
static void nbits_gelu_same_bits(int amx) {
    if (!amx) setenv("WAFER_RT_AMX", "0", 1);
    RtThreadPool *pool = rt_pool_new(2, NULL);
    /* and few rows, which go through the reference driver's gemv with the Gelu after it */
    const int64_t shapes[][3] = {{128, 1024, 256}, {17, 70, 300}, {33, 3, 100}, {1, 256, 1024}, {RT_NBITS_DIRECT_ROWS, 33, 64}};
    RtKernelFn fast = rt_kernel_find_fast(RT_OP_LINEAR_NBITS), gelu = rt_kernel_find_fast(RT_OP_GELU);
    for (int i = 0; i < 5; i++)
        for (int tf = 0; tf < 2; tf++) {
            Lin l, p;
            lin_make(&l, 4, shapes[i][0], shapes[i][1], shapes[i][2], 32, 0, 1, NACTS - 2 + tf, 41u + (uint32_t)i);
            lin_make(&p, 4, shapes[i][0], shapes[i][1], shapes[i][2], 32, 0, 1, 0, 41u + (uint32_t)i);
            RtTensor yf, yp, yg;
            RtError err = {{0}};
            RtAttr appr = {.name = "approximate", .type = RT_ATTR_STRING, .s = tf ? "tanh" : "none"};
            RtThreadPool *pl = i % 2 ? pool : NULL;
            cr_assert_eq(run_node(fast, RT_OP_LINEAR_NBITS, l.in, 6, l.attrs, l.n_attr, pl, &yf, &err), RT_OK, "%s", err.msg);
            cr_assert_eq(run_node(fast, RT_OP_LINEAR_NBITS, p.in, 6, p.attrs, p.n_attr, pl, &yp, &err), RT_OK, "%s", err.msg);
            RtTensor *gin[1] = {&yp};
            cr_assert_eq(run_node(gelu, RT_OP_GELU, gin, 1, &appr, 1, pl, &yg, &err), RT_OK, "%s", err.msg);
            cr_expect(memcmp(yf.data, yg.data, sizeof(float) * (size_t)(l.M * l.N)) == 0,
                      "M=%lld N=%lld K=%lld %s: fused differs from unfused", (long long)l.M, (long long)l.N,
                      (long long)l.K, acts[l.act].name);
            free(yf.data), free(yp.data), free(yg.data);
            lin_free(&l), lin_free(&p);
        }
    rt_pool_free(pool);
}

Test(nbits_x86, linear_gelu_fused_same_bits) { nbits_gelu_same_bits(1); }
Test(nbits_x86, linear_gelu_fused_same_bits_without_amx) { nbits_gelu_same_bits(0); }

/* The same batches on the sgemm path where the CPU would take AMX (Criterion runs
 * each test in its own process, so the variable stays here). */
Test(nbits_x86, linear_without_amx) {
    setenv("WAFER_RT_AMX", "0", 1);
    RtThreadPool *pool = rt_pool_new(2, NULL);
    int bad = 0;
    for (int64_t M = 14; M <= 40; M += 13) {
        Lin l;
        lin_make(&l, 4, M, 70, 300, 128, 0, 1, (int)M % NACTS, 7u + (uint32_t)M);
        bad += lin_check(&l, pool);
        lin_free(&l);
    }
    Lin l;
    lin_make(&l, 3, 128, 256, 520, 32, 0, 1, 4, 8u);
    bad += lin_check(&l, pool);
    lin_free(&l);
    cr_expect_eq(bad, 0);
    rt_pool_free(pool);
}

/* Infinities and NaNs in X: they must come out where the reference has them (AMX keeps a
 * non-finite X in its high bf16 part). */
Test(nbits_x86, linear_non_finite_x) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    for (int amx = 0; amx < 2; amx++) {
        setenv("WAFER_RT_AMX", amx ? "1" : "0", 1);
        Lin l;
        lin_make(&l, 4, 40, 33, 96, 32, 0, 1, 0, 21u);
        l.x[3 * 96 + 5] = INFINITY;
        l.x[7 * 96 + 50] = -INFINITY;
        l.x[11 * 96 + 90] = NAN;
        l.x[20 * 96 + 0] = INFINITY;
        l.x[20 * 96 + 1] = -INFINITY; /* Inf - Inf: NaN */
        cr_expect_eq(lin_check(&l, pool), 0, "amx=%d", amx);
        lin_free(&l);
    }
    rt_pool_free(pool);
}

/* ---- MatMulNBits ---- */

typedef struct {
    int64_t M, N, K, block, n_blocks, blob, zp_row;
    int bits, zp_kind, gidx, bias; /* zp_kind: 0 absent, 1 packed uint8, 2 float */
    uint8_t *b, *zp8;
    float *scales, *zpf, *bv, *a;
    int32_t *g_idx;
    RtTensor ta, tb, ts, tz, tg, tbias;
    RtTensor *in[6];
    RtAttr attrs[4];
} MnbCase;

static void mnb_make(MnbCase *m, int bits, int64_t M, int64_t N, int64_t K, int64_t block, int zp_kind, int gidx, int bias,
                     uint32_t seed) {
    memset(m, 0, sizeof *m);
    m->bits = bits, m->M = M, m->N = N, m->K = K, m->block = block, m->zp_kind = zp_kind, m->gidx = gidx, m->bias = bias;
    m->n_blocks = (K + block - 1) / block;
    m->blob = block * bits / 8;
    m->zp_row = (m->n_blocks * bits + 7) / 8;
    const int64_t nb = m->n_blocks;
    m->b = malloc((size_t)(N * nb * m->blob) + 1);
    for (int64_t i = 0; i < N * nb * m->blob; i++) m->b[i] = (uint8_t)rtt_lcg(&seed);
    m->scales = malloc(sizeof(float) * (size_t)(N * nb) + 4);
    for (int64_t i = 0; i < N * nb; i++) m->scales[i] = rtt_uniform(&seed, 1.0f / 256, 1.0f / 8);
    m->zp8 = malloc((size_t)(N * m->zp_row) + 1);
    for (int64_t i = 0; i < N * m->zp_row; i++) m->zp8[i] = (uint8_t)rtt_lcg(&seed);
    m->zpf = malloc(sizeof(float) * (size_t)(N * nb) + 4);
    for (int64_t i = 0; i < N * nb; i++) m->zpf[i] = rtt_uniform(&seed, 0, (float)(1 << bits));
    m->g_idx = malloc(sizeof(int32_t) * (size_t)K + 4);
    for (int64_t k = 0; k < K; k++) m->g_idx[k] = (int32_t)(rtt_lcg(&seed) % (uint32_t)nb);
    m->bv = malloc(sizeof(float) * (size_t)N + 4);
    for (int64_t n = 0; n < N; n++) m->bv[n] = rtt_uniform(&seed, -1, 1);
    m->a = malloc(sizeof(float) * (size_t)(M * K) + 4);
    for (int64_t i = 0; i < M * K; i++) m->a[i] = rtt_uniform(&seed, -1, 1);
    m->ta = (RtTensor){0}, m->ta.dtype = RT_F32, m->ta.rank = 2, m->ta.dims[0] = M, m->ta.dims[1] = K, m->ta.data = m->a;
    m->tb = (RtTensor){0}, m->tb.dtype = RT_U8, m->tb.rank = 3, m->tb.dims[0] = N, m->tb.dims[1] = nb;
    m->tb.dims[2] = m->blob, m->tb.data = m->b;
    m->ts = (RtTensor){0}, m->ts.dtype = RT_F32, m->ts.rank = 2, m->ts.dims[0] = N, m->ts.dims[1] = nb;
    m->ts.data = m->scales;
    m->tz = (RtTensor){0}, m->tz.rank = 2, m->tz.dims[0] = N;
    if (zp_kind == 1) m->tz.dtype = RT_U8, m->tz.dims[1] = m->zp_row, m->tz.data = m->zp8;
    else m->tz.dtype = RT_F32, m->tz.dims[1] = nb, m->tz.data = m->zpf;
    m->tg = (RtTensor){0}, m->tg.dtype = RT_I32, m->tg.rank = 1, m->tg.dims[0] = K, m->tg.data = m->g_idx;
    m->tbias = (RtTensor){0}, m->tbias.dtype = RT_F32, m->tbias.rank = 1, m->tbias.dims[0] = N, m->tbias.data = m->bv;
    m->in[0] = &m->ta, m->in[1] = &m->tb, m->in[2] = &m->ts;
    m->in[3] = zp_kind ? &m->tz : NULL;
    m->in[4] = gidx ? &m->tg : NULL;
    m->in[5] = bias ? &m->tbias : NULL;
    m->attrs[0] = (RtAttr){.name = "K", .type = RT_ATTR_INT, .i = K};
    m->attrs[1] = (RtAttr){.name = "N", .type = RT_ATTR_INT, .i = N};
    m->attrs[2] = (RtAttr){.name = "bits", .type = RT_ATTR_INT, .i = bits};
    m->attrs[3] = (RtAttr){.name = "block_size", .type = RT_ATTR_INT, .i = block};
}

static void mnb_free(MnbCase *m) {
    free(m->b), free(m->zp8), free(m->scales), free(m->zpf), free(m->bv), free(m->a), free(m->g_idx);
}

/* The fast kernel on 1 thread against the reference kernel, on 2 threads against 1. */
static int mnb_check(MnbCase *m, RtThreadPool *pool2) {
    char what[200];
    snprintf(what, sizeof what, "MatMulNBits %d-bit M=%lld N=%lld K=%lld block=%lld zp=%s%s%s", m->bits,
             (long long)m->M, (long long)m->N, (long long)m->K, (long long)m->block,
             m->zp_kind == 0 ? "none" : m->zp_kind == 1 ? "u8" : "float", m->gidx ? " g_idx" : "", m->bias ? " bias" : "");
    RtTensor want, y1, y2;
    RtError err = {{0}};
    cr_assert_eq(run_node(rt_kernel_find(RT_OP_MATMUL_NBITS), RT_OP_MATMUL_NBITS, m->in, 6, m->attrs, 4, NULL, &want, &err),
                 RT_OK, "%s: %s", what, err.msg);
    RtKernelFn fast = rt_kernel_find_fast(RT_OP_MATMUL_NBITS);
    cr_assert_eq(run_node(fast, RT_OP_MATMUL_NBITS, m->in, 6, m->attrs, 4, NULL, &y1, &err), RT_OK, "%s: %s", what, err.msg);
    cr_assert_eq(run_node(fast, RT_OP_MATMUL_NBITS, m->in, 6, m->attrs, 4, pool2, &y2, &err), RT_OK, "%s: %s", what,
                 err.msg);
    cr_assert(y1.rank == 2 && y1.dims[0] == m->M && y1.dims[1] == m->N, "%s: output shape", what);
    const int64_t n = m->M * m->N;
    int bad = expect_near(what, y1.data, want.data, n, max_abs(want.data, n));
    int same = memcmp(y1.data, y2.data, sizeof(float) * (size_t)n) == 0;
    cr_expect(same, "%s: 2 threads differ from 1", what);
    free(want.data), free(y1.data), free(y2.data);
    return bad + !same;
}

static const int64_t mnb_Ms[] = {1, 2, 3, 5, 17, 64};
static const int64_t mnb_blocks[] = {16, 32, 64, 128};

/* Every bit width x block size x zero-point kind, with and without g_idx, shapes cycling. */
Test(nbits_x86, matmul_nbits_formats_and_odd_shapes) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    int cfg = 0, bad = 0;
    for (int bits = 2; bits <= 8; bits++)
        for (int bi = 0; bi < 4; bi++)
            for (int zk = 0; zk < 3; zk++)
                for (int gi = 0; gi < 2; gi++, cfg++) {
                    MnbCase m;
                    const int64_t M = mnb_Ms[cfg % 6], N = Ns[(cfg / 6 + bits) % 4];
                    const int64_t K = Ks[(cfg / 3) % 4] + (cfg % 2 ? 5 : 0); /* K not a multiple of the block */
                    mnb_make(&m, bits, M, N, K, mnb_blocks[bi], zk, gi, cfg % 3 != 0, 300u + (uint32_t)cfg);
                    bad += mnb_check(&m, pool);
                    mnb_free(&m);
                }
    cr_expect_eq(bad, 0);
    rt_pool_free(pool);
}

/* onnxruntime's int4 tinylm layers (block 128, packed zero points) at batch 1 and 128, and
 * the gemv's row counts; then again on the sgemm path (no AMX). */
Test(nbits_x86, matmul_nbits_model_shapes) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    const int64_t shapes[][3] = {{128, 256, 256}, {128, 1024, 256}, {128, 256, 1024}, {1, 256, 1024}, {2, 100, 300},
                                 {3, 17, 96},     {4, 33, 160},    {16, 64, 64},    {5, 600, 1024},
                                 {530, 33, 160},  {9, 2000, 600}};
    int bad = 0;
    for (int amx = 1; amx >= 0; amx--) {
        setenv("WAFER_RT_AMX", amx ? "1" : "0", 1);
        for (int i = 0; i < 11; i++) {
            MnbCase m;
            mnb_make(&m, 4, shapes[i][0], shapes[i][1], shapes[i][2], i == 7 ? 32 : 128, 1, 0, 1, 40u + (uint32_t)i);
            bad += mnb_check(&m, pool);
            mnb_free(&m);
        }
    }
    cr_expect_eq(bad, 0);
    rt_pool_free(pool);
}
