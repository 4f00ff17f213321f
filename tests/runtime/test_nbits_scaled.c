/*
 * test_nbits_scaled.c — the AVX-512 batch-1 4-bit GEMV that uses the codes as denormal
 * floats against a pre-scaled X (runtime/kernels/nbits_avx512_scaled.c): the cases it takes
 * and refuses (its header's contract), and its results against the contract computed in
 * double, W[k, n] = (q[n, k] - zero[n, g]) * scale[n, g], within the rounding bound of its
 * order of summation. Skipped where the CPU has no AVX-512.
 */
#include <criterion/criterion.h>
#include <immintrin.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/nbits.h"
#include "../../runtime/kernels/nbits_avx512_scaled.h"
#include "rt_test_util.h"

/* Tolerance. Every product q * x (times a power of two) is exact; the path then rounds the
 * two 4-term chains of each 128-column chunk, their sum, the scale times it, the chunk
 * accumulation and lane reduction, and, apart, the zero points' share sum_g s z sum x and the
 * final difference. Each term passes fewer than K + 4 roundings, so (Higham, Accuracy and
 * Stability of Numerical Algorithms, 2nd ed., sec. 3.1, gamma_n = n u / (1 - n u),
 * u = 2^-24) the result is within gamma_{K+4} * B of the exact value, where
 * B = sum_k |x_k| s (q_k + z): the zero point is taken off the group's sum instead of off
 * each code, so the bound is in |q| + |z|, not |q - z|. */
static double gamma_n(int64_t n) {
    const double u = FLT_EPSILON / 2;
    return (double)n * u / (1.0 - (double)n * u);
}

typedef struct {
    int64_t N, K, group, NG;
    uint8_t *codes, *packed, *zeros;
    float *scales;
    RtNbitsLinear L;
} Layer;

static void layer_make(Layer *l, int bits, int64_t N, int64_t K, int64_t group, uint32_t seed) {
    memset(l, 0, sizeof *l);
    l->N = N;
    l->K = K;
    l->group = group;
    l->NG = rt_nbits_groups(K, group);
    l->codes = malloc((size_t)(N * K));
    l->scales = malloc(sizeof(float) * (size_t)(N * l->NG));
    l->zeros = malloc((size_t)(N * l->NG));
    const size_t size = rt_qblock_packed_size(bits, N, K);
    l->packed = malloc(size);
    for (int64_t i = 0; i < N * K; i++) l->codes[i] = (uint8_t)(rtt_lcg(&seed) & ((1u << bits) - 1));
    for (int64_t i = 0; i < N * l->NG; i++) {
        l->scales[i] = rtt_uniform(&seed, 1.0f / 256, 1.0f / 8);
        /* zero points in the code range, and now and then one above it (allowed) */
        l->zeros[i] = i % 7 == 3 ? (uint8_t)((1 << bits) + 3) : (uint8_t)(rtt_lcg(&seed) & ((1u << bits) - 1));
    }
    cr_assert_eq(rt_qblock_pack(bits, N, K, l->codes, l->packed, size), 0);
    l->L = (RtNbitsLinear){bits, N, K, group, l->packed, l->scales, l->zeros, NULL, NULL, {RT_ACT_NONE, 0, 0}};
}

static void layer_free(Layer *l) {
    free(l->codes);
    free(l->packed);
    free(l->zeros);
    free(l->scales);
}

/* x padded with zeros to whole blocks, as the gemv contract wants it. */
static float *x_padded(int64_t K, uint32_t seed, float lo, float hi) {
    const int64_t kpad = rt_qblock_row_blocks(K) * RT_QBLOCK_K;
    float *x = calloc((size_t)kpad, sizeof(float));
    for (int64_t k = 0; k < K; k++) x[k] = rtt_uniform(&seed, lo, hi);
    return x;
}

/* Runs the path on all rows of l. Returns what it returns; y untouched when 0. */
static int run_scaled(const Layer *l, const float *x, float *y) {
    RtNbitsWeight w;
    int32_t *gi = NULL;
    RtError err = {{0}};
    cr_assert_eq(rt_nbits_weight_prepare(&l->L, &w, &gi, rt_allocator_default(), &err), RT_OK, "%s", err.msg);
    float *zbuf = malloc(sizeof(float) * (size_t)w.NG);
    const int took = rt_nbits_avx512_gemv1_scaled(&w, x, y, 0, l->N, zbuf);
    free(zbuf);
    free(gi);
    return took;
}

/* Checks y against the contract in double within gamma_{K+4} * B; returns the mismatches. */
static int check_rows(const Layer *l, const float *x, const float *y, const char *what) {
    int bad = 0;
    for (int64_t n = 0; n < l->N && bad < 5; n++) {
        double want = 0, B = 0;
        for (int64_t k = 0; k < l->K; k++) {
            const int64_t g = l->group ? k / l->group : 0;
            const double q = l->codes[n * l->K + k], z = l->zeros[n * l->NG + g], s = l->scales[n * l->NG + g];
            want += (double)x[k] * (q - z) * s;
            B += fabs((double)x[k]) * s * (q + z);
        }
        const double tol = gamma_n(l->K + 4) * B;
        const int ok = fabs((double)y[n] - want) <= tol;
        cr_expect(ok, "%s: row %lld got %.9g, want %.9g (tol %.3g)", what, (long long)n, y[n], want, tol);
        bad += !ok;
    }
    return bad;
}

static int avx512_here(void) {
    if (rt_nbits_impl_avx512.supported()) return 1;
    cr_log_warn("no AVX-512 on this CPU: the scaled path is not tested");
    return 0;
}

/* Whole chunks of 128 columns with 0, 1 and 3 blocks past them, X on the stack and (K past
 * 4096) on the heap, one output row, a pair and a pair plus one, groups of 32, 64, 128,
 * 256 and one group a row where that is whole chunks. */
Test(nbits_scaled, takes_whole_chunks_and_matches_the_contract) {
    if (!avx512_here()) return;
    static const int64_t Ks[] = {128, 160, 224, 1024, 4096, 4192};
    static const int64_t Ns[] = {1, 2, 5};
    static const int64_t groups[] = {32, 64, 128, 256, 0};
    int bad = 0, cfg = 0;
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
        for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++, cfg++) {
            const int64_t K = Ks[ki], G = groups[gi], N = Ns[cfg % 3];
            const int64_t nb = rt_qblock_row_blocks(K);
            /* rt_nbits_weight_prepare's group: G, or all blocks when G is 0 or >= K */
            const int64_t bpg = G == 0 || G >= K ? nb : G / RT_QBLOCK_K;
            const int whole = bpg == 1 || bpg == 2 || bpg % 4 == 0;
            Layer l;
            layer_make(&l, 4, N, K, G, 100u + (uint32_t)cfg);
            float *x = x_padded(K, 7u + (uint32_t)cfg, -1, 1), *y = malloc(sizeof(float) * (size_t)N);
            char what[96];
            snprintf(what, sizeof what, "N=%lld K=%lld G=%lld", (long long)N, (long long)K, (long long)G);
            const int took = run_scaled(&l, x, y);
            cr_expect_eq(took, whole, "%s: took %d, want %d", what, took, whole);
            if (took) bad += check_rows(&l, x, y, what);
            free(x);
            free(y);
            layer_free(&l);
        }
    cr_assert_eq(bad, 0);
}

/* X the scaled products cannot carry exactly: refused, y untouched. At the limits: taken. */
Test(nbits_scaled, refuses_x_out_of_range) {
    if (!avx512_here()) return;
    const int64_t N = 3, K = 256;
    Layer l;
    layer_make(&l, 4, N, K, 128, 5u);
    struct {
        const char *name;
        float big;    /* put at column 17 */
        float scale;  /* the other columns: uniform(-scale, scale) */
        int took;
    } cases[] = {
        {"2^40", 1099511627776.0f, 1, 0},
        {"just under 2^40", 1099511562240.0f, 1, 1}, /* 2^40 - 2^16: the largest float below */
        {"+Inf", INFINITY, 1, 0},
        {"-Inf", -INFINITY, 1, 0},
        {"NaN", NAN, 1, 0},
        {"all below 2^-32", 1e-10f, 1e-10f, 0},     /* 2^-32 = 2.33e-10 */
        {"2^-32 the largest", 2.3283064365386963e-10f, 1e-10f, 1},
        {"all zero", 0, 0, 1},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float *x = x_padded(K, 9u + (uint32_t)i, -cases[i].scale, cases[i].scale);
        x[17] = cases[i].big;
        float y[3] = {-7, -7, -7};
        const int took = run_scaled(&l, x, y);
        cr_expect_eq(took, cases[i].took, "%s: took %d, want %d", cases[i].name, took, cases[i].took);
        if (took)
            bad += check_rows(&l, x, y, cases[i].name);
        else
            cr_expect(y[0] == -7 && y[1] == -7 && y[2] == -7, "%s: y written though refused", cases[i].name);
        free(x);
    }
    layer_free(&l);
    cr_assert_eq(bad, 0);
}

/* A thread with MXCSR's denormals-are-zero bit set (what -ffast-math's start-up code does)
 * reads the codes, denormal floats, as 0: refused there, y untouched; taken again once the
 * bit is cleared. */
Test(nbits_scaled, refuses_under_denormals_are_zero) {
    if (!avx512_here()) return;
    const int64_t N = 2, K = 256;
    Layer l;
    layer_make(&l, 4, N, K, 128, 8u);
    float *x = x_padded(K, 12u, -1, 1), y[2] = {-7, -7};
    const unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x0040u);
    const int took_daz = run_scaled(&l, x, y);
    _mm_setcsr(csr);
    cr_expect_eq(took_daz, 0, "taken with DAZ set");
    cr_expect(y[0] == -7 && y[1] == -7, "y written though refused");
    cr_expect_eq(run_scaled(&l, x, y), 1, "refused with DAZ clear");
    cr_expect_eq(check_rows(&l, x, y, "DAZ clear"), 0);
    free(x);
    layer_free(&l);
}

/* Other formats are refused: 2, 3 and 8-bit codes, act-order, groups of 3 blocks, K < 128. */
Test(nbits_scaled, refuses_other_formats) {
    if (!avx512_here()) return;
    struct {
        const char *name;
        int bits;
        int64_t K, group;
        int act_order;
    } cases[] = {
        {"2-bit", 2, 256, 128, 0}, {"3-bit", 3, 256, 128, 0}, {"8-bit", 8, 256, 128, 0},
        {"act-order", 4, 256, 128, 1}, {"G = 96", 4, 384, 96, 0}, {"K = 96", 4, 96, 32, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Layer l;
        layer_make(&l, cases[i].bits, 2, cases[i].K, cases[i].group, 3u + (uint32_t)i);
        int32_t *g_idx = NULL;
        if (cases[i].act_order) { /* groups by a permutation of the columns */
            g_idx = malloc(sizeof(int32_t) * (size_t)cases[i].K);
            for (int64_t k = 0; k < cases[i].K; k++) g_idx[k] = (int32_t)((k * 37 % cases[i].K) / cases[i].group);
            l.L.g_idx = g_idx;
        }
        float *x = x_padded(cases[i].K, 4u, -1, 1), y[2] = {-7, -7};
        cr_expect_eq(run_scaled(&l, x, y), 0, "%s taken", cases[i].name);
        cr_expect(y[0] == -7 && y[1] == -7, "%s: y written though refused", cases[i].name);
        free(x);
        free(g_idx);
        layer_free(&l);
    }
}

/* Through LinearNBits' driver on two threads' worth of rows: a refused X (one Inf) takes the
 * exact paths and gives what the reference gives (Inf, or NaN where a weight is 0). */
Test(nbits_scaled, refused_x_falls_back_to_the_exact_paths) {
    if (!avx512_here()) return;
    const int64_t N = 9, K = 512;
    Layer l;
    layer_make(&l, 4, N, K, 128, 11u);
    float *x = x_padded(K, 12u, -1, 1), y[9], yref[9];
    x[300] = INFINITY;
    RtError err = {{0}};
    cr_assert_eq(rt_nbits_linear_run(&rt_nbits_impl_avx512, &l.L, x, 1, y, NULL, NULL, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(rt_nbits_linear_run(&rt_nbits_impl_ref, &l.L, x, 1, yref, NULL, NULL, &err), RT_OK, "%s", err.msg);
    for (int64_t n = 0; n < N; n++)
        cr_expect(isnan(yref[n]) ? isnan(y[n]) : y[n] == yref[n], "row %lld: got %g, reference %g", (long long)n, y[n],
                  yref[n]);
    free(x);
    layer_free(&l);
}
