/*
 * test_nbits.c — LinearNBits (runtime/kernels/ref/nbits.c) and its AVX2 / AVX-512 variants
 * (nbits_avx2.c, nbits_avx512.c).
 *
 * The reference implementation is checked against the contract computed here in double
 * from the unpacked codes; each optimized implementation this CPU runs is checked against
 * the reference on odd sizes (K, N in 1, 3, 7, 17, 33, 127, 129, and 4096), every bit width,
 * G = 32, 128, 0 (and 16, 48, which are not whole blocks), with and without an act-order
 * g_idx, with bias and every activation, batch rows 1-4 (gemv), 5-9 (64-row tiles + sgemm)
 * and 64-70 (256-row tiles).
 * Tile dequantization must equal the reference bit for bit; so must any thread count. The
 * kernel itself: shapes, rank-3 X, WAFER_RT_REF=1, shape-only mode, K = 0, and the errors.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/nbits.h"
#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

/* Tolerances. Every implementation forms each weight as the same float (q - zero) * scale
 * (the dequant test checks it bit for bit) and differs only in how it rounds the sum
 * y = sum_k x_k w_k + b. Any evaluation order of such a sum of K + 1 terms, with or without
 * FMA, lands within gamma_{K+1} * sum|terms| of the exact value (Higham, Accuracy and
 * Stability of Numerical Algorithms, 2nd ed., sec. 3.1, gamma_n = n u / (1 - n u),
 * u = 2^-24); the AVX2 gemv multiplies each group's partial sum by the scale instead of each
 * weight, one more rounding per term: gamma_{K+2}. So an implementation is within
 * gamma_{K+2} * A of the exact sum (A = sum |x_k w_k| + |b|), and two of them within twice
 * that. (The AVX-512 batch-1 4-bit path, nbits_avx512_scaled.c, is the exception: it takes
 * the zero points off each row's sum instead of off each code, which bounds its error by
 * gamma_{K+4} * sum |x| s (q + z) instead, and test_nbits_scaled.c checks it against that
 * bound; on the layers here it stays within the bound below all the same.)
 * The activations then scale differences by at most max(1, |alpha|) (sigmoid 1/4,
 * HardSigmoid |alpha|, LeakyRelu max(1, |alpha|)), and expf and the division in sigmoid add
 * a few ulps of the output on each side: ACT_ULPS * eps * |y|. */
#define ACT_ULPS 8.0
/* The largest |d gelu / dx| (about 1.129, at x = sqrt 2; the tanh form's is as large within
 * 1e-3): how far an input error can move Gelu's output. */
#define GELU_SLOPE_MAX 1.13
static double gamma_n(int64_t n) {
    const double u = FLT_EPSILON / 2;
    return (double)n * u / (1.0 - (double)n * u);
}

static const int64_t sizes[] = {1, 3, 7, 17, 33, 127, 129};
#define NSIZES (sizeof sizes / sizeof sizes[0])
static const int all_bits[] = {2, 3, 4, 8};

typedef struct {
    const char *name;
    RtNbitsAct act;
} ActCase;

static const ActCase acts[] = {
    {"", {RT_NBITS_ACT_NONE, 0, 0}},
    {"Relu", {RT_NBITS_ACT_RELU, 0, 0}},
    {"Clip", {RT_NBITS_ACT_CLIP, -0.5f, 0.7f}},
    {"LeakyRelu", {RT_NBITS_ACT_LEAKY_RELU, 0.1f, 0}},
    {"Sigmoid", {RT_NBITS_ACT_SIGMOID, 0, 0}},
    {"HardSigmoid", {RT_NBITS_ACT_HARD_SIGMOID, 0.25f, 0.45f}},
    {"Gelu", {RT_ACT_GELU, 0, 0}},
};
#define NACTS (sizeof acts / sizeof acts[0])

static double act_apply(const RtNbitsAct *a, double v) {
    switch (a->kind) {
    case RT_NBITS_ACT_NONE: return v;
    case RT_NBITS_ACT_RELU: return v > 0 ? v : 0;
    case RT_NBITS_ACT_CLIP: return fmin(fmax(v, a->alpha), a->beta);
    case RT_NBITS_ACT_LEAKY_RELU: return v >= 0 ? v : a->alpha * v;
    case RT_NBITS_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case RT_NBITS_ACT_HARD_SIGMOID: return fmax(0.0, fmin(1.0, a->alpha * v + a->beta));
    case RT_ACT_GELU: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));  /* ONNX Gelu, approximate none */
    case RT_ACT_GELU_TANH: return 0.5 * v * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) * (v + 0.044715 * v * v * v)));
    }
    return v;
}

static double act_lipschitz(const RtNbitsAct *a) {
    double l = fabs((double)a->alpha);
    if (a->kind == RT_ACT_GELU || a->kind == RT_ACT_GELU_TANH) return GELU_SLOPE_MAX;
    return a->kind == RT_NBITS_ACT_LEAKY_RELU || a->kind == RT_NBITS_ACT_HARD_SIGMOID ? fmax(1.0, l) : 1.0;
}

/* A random quantized layer, packed, with its unpacked codes kept for the checks. */
typedef struct {
    uint8_t *codes;   /* [N, K] */
    uint8_t *packed;  /* [rt_qblock_packed_size] */
    float *scales;    /* [N, NG] */
    uint8_t *zeros;   /* [N, NG] */
    int32_t *g_idx;   /* [K] or NULL */
    float *bias;      /* [N] or NULL */
    int64_t NG;
    RtNbitsLinear L;
} Layer;

static void layer_make(Layer *l, int bits, int64_t N, int64_t K, int64_t group, int act_order, int with_bias,
                       RtNbitsAct act, uint32_t seed) {
    memset(l, 0, sizeof *l);
    l->NG = rt_nbits_groups(K, group);
    l->codes = malloc((size_t)(N * K) + 1);
    l->scales = malloc(sizeof(float) * (size_t)(N * l->NG) + 1);
    l->zeros = malloc((size_t)(N * l->NG) + 1);
    size_t size = rt_qblock_packed_size(bits, N, K);
    l->packed = malloc(size + 1);
    for (int64_t i = 0; i < N * K; i++) l->codes[i] = (uint8_t)(rtt_lcg(&seed) & ((1u << bits) - 1));
    for (int64_t i = 0; i < N * l->NG; i++) {
        l->scales[i] = rtt_uniform(&seed, 1.0f / 256, 1.0f / 8);
        /* zero points within the code range, and now and then one outside it (allowed) */
        l->zeros[i] = i % 7 == 3 ? (uint8_t)(bits == 8 ? 255 : (1 << bits) + 3) : (uint8_t)(rtt_lcg(&seed) & ((1u << bits) - 1));
    }
    if (act_order) { /* as GPTQ's act-order: columns permuted, groups of G permuted columns */
        int64_t *perm = malloc(sizeof(int64_t) * (size_t)K);
        for (int64_t k = 0; k < K; k++) perm[k] = k;
        for (int64_t k = K - 1; k > 0; k--) {
            int64_t j = (int64_t)(rtt_lcg(&seed) % (uint32_t)(k + 1)), t = perm[k];
            perm[k] = perm[j];
            perm[j] = t;
        }
        l->g_idx = malloc(sizeof(int32_t) * (size_t)K);
        for (int64_t j = 0; j < K; j++) l->g_idx[perm[j]] = (int32_t)(group ? j / group : 0);
        free(perm);
    }
    if (with_bias) {
        l->bias = malloc(sizeof(float) * (size_t)N);
        for (int64_t n = 0; n < N; n++) l->bias[n] = rtt_uniform(&seed, -1, 1);
    }
    cr_assert_eq(rt_qblock_pack(bits, N, K, l->codes, l->packed, size), 0);
    l->L = (RtNbitsLinear){bits, N, K, group, l->packed, l->scales, l->zeros, l->g_idx, l->bias, act};
}

static void layer_free(Layer *l) {
    free(l->codes);
    free(l->packed);
    free(l->scales);
    free(l->zeros);
    free(l->g_idx);
    free(l->bias);
}

/* W[k, n] as the contract writes it, from the unpacked codes. */
static float layer_weight(const Layer *l, int64_t n, int64_t k) {
    const RtNbitsLinear *L = &l->L;
    int64_t g = l->g_idx ? l->g_idx[k] : L->group ? k / L->group : 0;
    return (float)((int)l->codes[n * L->K + k] - (int)l->zeros[n * l->NG + g]) * l->scales[n * l->NG + g];
}

/* The contract in double: pre-activation sums, and A = sum |x w| + |b| per output. */
static void layer_expect(const Layer *l, const float *x, int64_t rows, double *pre, double *absum) {
    const int64_t N = l->L.N, K = l->L.K;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t n = 0; n < N; n++) {
            double s = l->bias ? l->bias[n] : 0, a = l->bias ? fabs(l->bias[n]) : 0;
            for (int64_t k = 0; k < K; k++) {
                double t = (double)x[r * K + k] * layer_weight(l, n, k);
                s += t;
                a += fabs(t);
            }
            pre[r * N + n] = s;
            absum[r * N + n] = a;
        }
}

static float *random_x(int64_t rows, int64_t K, uint32_t seed) {
    float *x = malloc(sizeof(float) * (size_t)(rows * K) + 4);
    for (int64_t i = 0; i < rows * K; i++) x[i] = rtt_uniform(&seed, -1, 1);
    return x;
}

static float *run(const RtNbitsImpl *impl, const Layer *l, const float *x, int64_t rows, RtThreadPool *pool) {
    float *y = malloc(sizeof(float) * (size_t)(rows * l->L.N) + 4);
    RtError err = {{0}};
    int st = rt_nbits_linear_run(impl, &l->L, x, rows, y, pool, NULL, &err);
    cr_assert_eq(st, RT_OK, "%s: %s", impl->name, err.msg);
    return y;
}

/* got within `sides` * gamma_{K+2} * A * Lipschitz + ACT_ULPS eps |want| of want. */
static int expect_close(const char *what, const float *got, const float *want, const double *absum, int64_t n,
                        int64_t K, const RtNbitsAct *act, double sides) {
    int bad = 0;
    for (int64_t i = 0; i < n && bad < 5; i++) {
        double tol = sides * gamma_n(K + 2) * absum[i] * act_lipschitz(act) + ACT_ULPS * FLT_EPSILON * fabs(want[i]);
        int ok = fabs((double)got[i] - (double)want[i]) <= tol;
        cr_expect(ok, "%s: element %lld got %.9g, want %.9g (tol %.3g)", what, (long long)i, got[i], want[i], tol);
        bad += !ok;
    }
    return bad;
}

static const RtNbitsImpl *const optimized[] = {&rt_nbits_impl_avx2, &rt_nbits_impl_avx512};

/* Runs one layer configuration: the reference against the double contract, every optimized
 * implementation this CPU has against the reference. Returns mismatching checks. */
static int check_config(int bits, int64_t N, int64_t K, int64_t group, int act_order, int64_t rows, int cfg) {
    const ActCase *ac = &acts[(cfg / 2) % NACTS];
    Layer l;
    layer_make(&l, bits, N, K, group, act_order, cfg % 2, ac->act, 1000u + (uint32_t)cfg);
    float *x = random_x(rows, K, 77u + (uint32_t)cfg);
    double *pre = malloc(sizeof(double) * (size_t)(rows * N)), *absum = malloc(sizeof(double) * (size_t)(rows * N));
    float *want = malloc(sizeof(float) * (size_t)(rows * N));
    layer_expect(&l, x, rows, pre, absum);
    for (int64_t i = 0; i < rows * N; i++) want[i] = (float)act_apply(&ac->act, pre[i]);
    char what[160];
    snprintf(what, sizeof what, "ref %d-bit N=%lld K=%lld G=%lld%s rows=%lld act='%s'%s", bits, (long long)N,
             (long long)K, (long long)group, act_order ? " g_idx" : "", (long long)rows, ac->name,
             cfg % 2 ? " bias" : "");
    float *yref = run(&rt_nbits_impl_ref, &l, x, rows, NULL);
    int bad = expect_close(what, yref, want, absum, rows * N, K, &ac->act, 1.0);
    for (size_t i = 0; i < sizeof optimized / sizeof optimized[0]; i++) {
        if (!optimized[i]->supported()) continue;
        float *y = run(optimized[i], &l, x, rows, NULL);
        snprintf(what, sizeof what, "%s %d-bit N=%lld K=%lld G=%lld%s rows=%lld act='%s'%s", optimized[i]->name, bits,
                 (long long)N, (long long)K, (long long)group, act_order ? " g_idx" : "", (long long)rows, ac->name,
                 cfg % 2 ? " bias" : "");
        bad += expect_close(what, y, yref, absum, rows * N, K, &ac->act, 2.0);
        free(y);
    }
    free(yref);
    free(want);
    free(pre);
    free(absum);
    free(x);
    layer_free(&l);
    return bad;
}

Test(nbits, odd_sizes_every_format) {
    static const int64_t groups[] = {32, 128, 0};
    static const int64_t rows_list[] = {1, 2, 3, 4, 5, 9};
    int cfg = 0, bad = 0;
    for (int bi = 0; bi < 4; bi++)
        for (int gi = 0; gi < 3; gi++)
            for (int ao = 0; ao < 2; ao++)
                for (size_t ki = 0; ki < NSIZES; ki++)
                    for (size_t ni = 0; ni < NSIZES && bad < 20; ni++, cfg++)
                        bad += check_config(all_bits[bi], sizes[ni], sizes[ki], groups[gi], ao,
                                            rows_list[cfg % 6], cfg);
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

/* Every batch size from 1 to 9 on one mid-size layer per format: gemv for 1-4 rows, tiles
 * above, each row count through its own code path. */
Test(nbits, every_row_count) {
    int bad = 0;
    for (int bi = 0; bi < 4; bi++)
        for (int64_t rows = 1; rows <= 9; rows++) bad += check_config(all_bits[bi], 33, 129, 32, (int)(rows % 2), rows, (int)rows * 7 + bi);
    cr_assert_eq(bad, 0);
}

/* From 64 rows of X on, the tiles have 256 output rows: more than one tile, a short last one. */
Test(nbits, big_batches) {
    int bad = 0;
    bad += check_config(4, 300, 129, 32, 1, 70, 1);
    bad += check_config(3, 257, 100, 0, 0, 64, 4);
    bad += check_config(8, 513, 33, 128, 0, 65, 9);
    cr_assert_eq(bad, 0);
}

/* Group sizes that are not whole 32-column blocks take the general (per-column) path. */
Test(nbits, groups_not_whole_blocks) {
    static const int64_t groups[] = {16, 48, 1, 100};
    int bad = 0, cfg = 0;
    for (int bi = 0; bi < 4; bi++)
        for (int gi = 0; gi < 4; gi++)
            for (size_t ki = 2; ki < NSIZES; ki += 2, cfg++)
                bad += check_config(all_bits[bi], 17, sizes[ki], groups[gi], 0, cfg % 2 ? 1 : 5, cfg);
    cr_assert_eq(bad, 0);
}

/* The real layer width: K = 4096 (128 blocks, 32 groups of 128, and > 32 groups at G 32). */
Test(nbits, k4096) {
    int bad = 0;
    bad += check_config(4, 17, 4096, 128, 0, 1, 0);
    bad += check_config(4, 17, 4096, 128, 1, 1, 3);
    bad += check_config(4, 9, 4096, 128, 1, 5, 5);
    bad += check_config(3, 7, 4096, 32, 1, 2, 8);
    bad += check_config(2, 7, 4096, 0, 0, 4, 11);
    bad += check_config(8, 7, 4096, 32, 0, 9, 1);
    bad += check_config(4, 4096, 33, 32, 0, 1, 2);
    cr_assert_eq(bad, 0);
}

/* Tile dequantization equals the reference's weights bit for bit (whole and partial tiles). */
Test(nbits, dequant_bit_exact) {
    static const int64_t groups[] = {32, 128, 0, 48};
    for (size_t i = 0; i < sizeof optimized / sizeof optimized[0]; i++) {
        const RtNbitsImpl *impl = optimized[i];
        if (!impl->supported()) {
            cr_log_warn("%s not supported on this CPU: not tested", impl->name);
            continue;
        }
        for (int bi = 0; bi < 4; bi++)
            for (int gi = 0; gi < 4; gi++)
                for (int ao = 0; ao < 2; ao++)
                    for (size_t ki = 0; ki < NSIZES; ki++) {
                        const int64_t N = 5, K = sizes[ki];
                        Layer l;
                        layer_make(&l, all_bits[bi], N, K, groups[gi], ao, 0, acts[0].act, (uint32_t)(ki * 31 + gi));
                        float *tile = malloc(sizeof(float) * (size_t)(N * K)), *want = malloc(sizeof(float) * (size_t)(N * K));
                        for (int64_t n = 0; n < N; n++)
                            for (int64_t k = 0; k < K; k++) want[n * K + k] = layer_weight(&l, n, k);
                        /* the weight view as rt_nbits_linear_run prepares it */
                        RtNbitsWeight w = {all_bits[bi], N, K, l.NG, 0, rt_qblock_row_blocks(K),
                                           rt_qblock_row_bytes(all_bits[bi], K), l.packed, l.scales, l.zeros, NULL};
                        int32_t *gidx = NULL;
                        const int64_t kpad = w.nb * 32, G = groups[gi];
                        if (!ao && (G == 0 || G >= K || G % 32 == 0)) {
                            w.G = G == 0 || G >= K ? kpad : G;
                        } else {
                            gidx = calloc((size_t)kpad, sizeof(int32_t));
                            for (int64_t k = 0; k < K; k++) gidx[k] = ao ? l.g_idx[k] : (int32_t)(k / G);
                            w.gi = gidx;
                            w.G = G ? G : kpad;
                        }
                        float *zbuf = malloc(sizeof(float) * (size_t)l.NG);
                        memset(tile, 0, sizeof(float) * (size_t)(N * K));
                        impl->dequant(&w, 0, N, 0, K, tile, K, zbuf);
                        cr_expect_eq(memcmp(tile, want, sizeof(float) * (size_t)(N * K)), 0,
                                     "%s %d-bit K=%lld G=%lld%s: whole tile differs", impl->name, all_bits[bi],
                                     (long long)K, (long long)G, ao ? " g_idx" : "");
                        if (K > 32) { /* rows 1..3, columns 32..K: a tile inside the matrix */
                            memset(tile, 0, sizeof(float) * (size_t)(N * K));
                            impl->dequant(&w, 1, 4, 32, K, tile, K, zbuf);
                            for (int64_t n = 1; n < 4; n++)
                                cr_expect_eq(memcmp(tile + (n - 1) * K, want + n * K + 32, sizeof(float) * (size_t)(K - 32)), 0,
                                             "%s %d-bit K=%lld G=%lld: partial tile row %lld", impl->name, all_bits[bi],
                                             (long long)K, (long long)G, (long long)n);
                        }
                        free(zbuf);
                        free(gidx);
                        free(tile);
                        free(want);
                        layer_free(&l);
                    }
    }
}

/* Results do not depend on the thread count (each output is one chunk's, same arithmetic). */
Test(nbits, threads_bit_identical) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    const RtNbitsImpl *impl = rt_nbits_impl_select();
    static const int64_t rows_list[] = {1, 3, 9};
    for (int ao = 0; ao < 2; ao++)
        for (int ri = 0; ri < 3; ri++) {
            Layer l;
            layer_make(&l, 4, 1029, 520, 128, ao, 1, acts[1].act, 5u + (uint32_t)ri);
            float *x = random_x(rows_list[ri], 520, 9);
            float *a = run(impl, &l, x, rows_list[ri], NULL), *b = run(impl, &l, x, rows_list[ri], pool);
            cr_expect_eq(memcmp(a, b, sizeof(float) * (size_t)(rows_list[ri] * 1029)), 0,
                         "%s rows=%lld%s: 1 and 2 threads differ", impl->name, (long long)rows_list[ri],
                         ao ? " g_idx" : "");
            free(a);
            free(b);
            free(x);
            layer_free(&l);
        }
    rt_pool_free(pool);
}

Test(nbits, select) {
    unsetenv("WAFER_RT_REF");
    const RtNbitsImpl *best = rt_nbits_impl_avx512.supported() ? &rt_nbits_impl_avx512
                              : rt_nbits_impl_avx2.supported() ? &rt_nbits_impl_avx2
                                                               : &rt_nbits_impl_ref;
    cr_expect_eq(rt_nbits_impl_select(), best, "picked %s, want %s", rt_nbits_impl_select()->name, best->name);
    setenv("WAFER_RT_REF", "1", 1);
    cr_expect_eq(rt_nbits_impl_select(), &rt_nbits_impl_ref);
    setenv("WAFER_RT_REF", "0", 1);
    cr_expect_eq(rt_nbits_impl_select(), best);
    unsetenv("WAFER_RT_REF");
}

/* ---- the kernel through the op table ---- */

typedef struct {
    Layer l;
    int64_t xdims[3];
    float *x;
    RtTensor tx, tw, ts, tz, tg, tb;
    RtTensor *in[6];
    RtAttr attrs[6];
    int n_attr;
} KCase;

/* X [2, 3, K], inputs in the contract's order; g_idx and bias present when asked. */
static void kcase_make(KCase *k, int bits, int64_t N, int64_t K, int64_t group, int act_order, int with_bias) {
    memset(k, 0, sizeof *k);
    layer_make(&k->l, bits, N, K, group, act_order, with_bias, acts[0].act, 42);
    k->xdims[0] = 2;
    k->xdims[1] = 3;
    k->xdims[2] = K;
    k->x = random_x(6, K, 43);
    int64_t wdims[1] = {(int64_t)rt_qblock_packed_size(bits, N, K)}, sdims[2] = {N, k->l.NG}, gdims[1] = {K}, bdims[1] = {N};
    k->tx = rtt_tensor(RT_F32, 3, k->xdims, k->x);
    k->tw = rtt_tensor(RT_U8, 1, wdims, k->l.packed);
    k->ts = rtt_tensor(RT_F32, 2, sdims, k->l.scales);
    k->tz = rtt_tensor(RT_U8, 2, sdims, k->l.zeros);
    k->tg = rtt_tensor(RT_I32, 1, gdims, k->l.g_idx);
    k->tb = rtt_tensor(RT_F32, 1, bdims, k->l.bias);
    k->in[0] = &k->tx;
    k->in[1] = &k->tw;
    k->in[2] = &k->ts;
    k->in[3] = &k->tz;
    k->in[4] = act_order ? &k->tg : NULL;
    k->in[5] = with_bias ? &k->tb : NULL;
    k->attrs[k->n_attr++] = rtt_attr_int("bits", bits);
    k->attrs[k->n_attr++] = rtt_attr_int("group", group);
}

static void kcase_free(KCase *k) {
    free(k->x);
    layer_free(&k->l);
}

Test(nbits_kernel, rank3_with_g_idx_bias_and_activation) {
    KCase k;
    kcase_make(&k, 3, 19, 70, 32, 1, 1);
    k.attrs[k.n_attr++] = rtt_attr_str("activation", "LeakyRelu");
    k.attrs[k.n_attr++] = rtt_attr_float("alpha", 0.2f);
    k.l.L.act = (RtNbitsAct){RT_NBITS_ACT_LEAKY_RELU, 0.2f, 0};
    RtTensor out;
    cr_assert_eq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr, 0), RT_OK, "%s", rtt_err.msg);
    int64_t want_dims[3] = {2, 3, 19};
    rtt_expect_dims(&out, 3, want_dims);
    double pre[6 * 19], absum[6 * 19];
    float want[6 * 19];
    layer_expect(&k.l, k.x, 6, pre, absum);
    for (int i = 0; i < 6 * 19; i++) want[i] = (float)act_apply(&k.l.L.act, pre[i]);
    cr_expect_eq(expect_close("kernel", out.data, want, absum, 6 * 19, 70, &k.l.L.act, 1.0), 0);
    rtt_free_outputs(&out, 1);
    kcase_free(&k);
}

Test(nbits_kernel, env_selects_reference) {
    KCase k;
    kcase_make(&k, 4, 37, 129, 0, 0, 1);
    RtTensor out;
    setenv("WAFER_RT_REF", "1", 1);
    cr_assert_eq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr, 0), RT_OK, "%s", rtt_err.msg);
    unsetenv("WAFER_RT_REF");
    float *ref = run(&rt_nbits_impl_ref, &k.l, k.x, 6, NULL);
    cr_expect_eq(memcmp(out.data, ref, sizeof(float) * 6 * 37), 0, "WAFER_RT_REF=1 did not run the reference");
    free(ref);
    rtt_free_outputs(&out, 1);
    kcase_free(&k);
}

Test(nbits_kernel, shape_only_and_empty) {
    KCase k;
    kcase_make(&k, 2, 5, 40, 32, 0, 0);
    RtTensor out;
    cr_expect_eq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr, 1), RT_SHAPE_ONLY);
    int64_t want_dims[3] = {2, 3, 5};
    rtt_expect_dims(&out, 3, want_dims);
    kcase_free(&k);

    /* K = 0: an empty sum, Y = act(B) */
    kcase_make(&k, 4, 3, 0, 0, 0, 1);
    k.attrs[k.n_attr++] = rtt_attr_str("activation", "Relu");
    cr_assert_eq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr, 0), RT_OK, "%s", rtt_err.msg);
    const float *y = out.data;
    for (int r = 0; r < 6; r++)
        for (int n = 0; n < 3; n++) cr_expect_eq(y[r * 3 + n], k.l.bias[n] > 0 ? k.l.bias[n] : 0.0f);
    rtt_free_outputs(&out, 1);
    kcase_free(&k);
}

/* Each case breaks one thing about a valid node and expects a message naming it. */
Test(nbits_kernel, errors) {
    KCase k;
    RtTensor out, bad;
    kcase_make(&k, 4, 6, 64, 32, 1, 1);
    int64_t d2[2] = {6, 3}, d1[1] = {10};
    int32_t gbad[64];

    k.attrs[0] = rtt_attr_int("bits", 5);
    cr_expect_neq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr, 0), RT_OK);
    cr_expect(strstr(rtt_err.msg, "bits") != NULL, "%s", rtt_err.msg);
    k.attrs[0] = rtt_attr_int("bits", 4);

    cr_expect_neq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs + 1, k.n_attr - 1, 0), RT_OK);
    cr_expect(strstr(rtt_err.msg, "'bits' is required") != NULL, "%s", rtt_err.msg);

    bad = rtt_tensor(RT_F32, 2, d2, k.l.scales); /* 3 groups, want 2 */
    k.in[2] = &bad;
    cr_expect_neq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr, 0), RT_OK);
    cr_expect(strstr(rtt_err.msg, "groups") != NULL, "%s", rtt_err.msg);
    k.in[2] = &k.ts;

    bad = rtt_tensor(RT_U8, 1, d1, k.l.packed); /* too few bytes */
    k.in[1] = &bad;
    cr_expect_neq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr, 0), RT_OK);
    cr_expect(strstr(rtt_err.msg, "Wp") != NULL, "%s", rtt_err.msg);
    k.in[1] = &k.tw;

    memcpy(gbad, k.l.g_idx, sizeof gbad);
    gbad[17] = 2; /* only groups 0 and 1 exist */
    bad = k.tg;
    bad.data = gbad;
    k.in[4] = &bad;
    cr_expect_neq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr, 0), RT_OK);
    cr_expect(strstr(rtt_err.msg, "g_idx[17]") != NULL, "%s", rtt_err.msg);
    rtt_free_outputs(&out, 1);
    bad.dtype = RT_I64;
    cr_expect_neq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr, 0), RT_OK);
    cr_expect(strstr(rtt_err.msg, "g_idx must be int32") != NULL, "%s", rtt_err.msg);
    k.in[4] = &k.tg;

    bad = rtt_tensor(RT_F32, 1, d1, k.l.bias);
    k.in[5] = &bad;
    cr_expect_neq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr, 0), RT_OK);
    cr_expect(strstr(rtt_err.msg, "bias") != NULL, "%s", rtt_err.msg);
    k.in[5] = &k.tb;

    k.attrs[k.n_attr] = rtt_attr_str("activation", "Tanh");
    cr_expect_neq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr + 1, 0), RT_OK);
    cr_expect(strstr(rtt_err.msg, "Tanh") != NULL, "%s", rtt_err.msg);
    k.attrs[k.n_attr] = rtt_attr_str("activation", "Relu");
    k.attrs[k.n_attr + 1] = rtt_attr_float("alpha", 1.0f);
    cr_expect_neq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr + 2, 0), RT_OK);
    cr_expect(strstr(rtt_err.msg, "alpha") != NULL, "%s", rtt_err.msg);

    k.attrs[1] = rtt_attr_int("group", -32);
    cr_expect_neq(rtt_run1(RT_OP_LINEAR_NBITS, 1, k.in, 6, &out, k.attrs, k.n_attr, 0), RT_OK);
    cr_expect(strstr(rtt_err.msg, "group") != NULL, "%s", rtt_err.msg);
    kcase_free(&k);
}
