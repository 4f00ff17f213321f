/*
 * test_gptq.c — GPTQ's pieces: the reference grid, the dense linear algebra (Cholesky, inverse
 * of a triangle, upper Cholesky factor of an inverse), the Hessian accumulation (linear rows,
 * transposed rows, Conv patches checked against the Conv kernel), and the layer algorithm
 * against a straightforward column-by-column implementation in double written here (the spec:
 * explicit inverse with OBS downdates, no Cholesky, no lazy blocks) for per-channel, groups
 * (dividing K or not, starting inside or across lazy blocks), sym/asym, 2/3/4/8 bits,
 * act-order with g_idx, static groups and a dead input.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../calib/hessian.h"
#include "../../passes/gptq.h"
#include "../../runtime/kernels/quant.h"
#include "../ir/ir_test_util.h"

/* Dequantized weights are float32 values scale * (q - zero) of magnitude ~1. Implementation
 * and spec do the same arithmetic in double in a different order (blocked GEMMs, Cholesky
 * rows instead of explicit inverse downdates), so the weights they round differ by ~1e-12;
 * the float results agree exactly unless a value sits within that of a rounding boundary. A
 * wrong update (a missed row, a wrong group) moves values by a whole step (~0.1). */
#define GPTQ_SPEC_TOL 1e-5
/* Factorizations of well-conditioned (condition ~1e3) 200 x 200 matrices in double: residuals
 * ~n * eps * cond ~ 1e-10. */
#define LINALG_TOL 1e-9
/* S accumulated in double from float inputs in a different order than the check: ~1e-12
 * relative. */
#define HESS_TOL 1e-9

static RtError err;

/* ---- deterministic random numbers ---- */
static uint64_t rng_state;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double nrand(void) {
    double u = urand(), v = urand();
    return sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* X [n][K]: correlated features (each a mix of a few sources) with varied scales. */
static float *make_inputs(int64_t n, int64_t K, uint64_t seed) {
    rng_state = seed;
    float *x = malloc(sizeof(float) * (size_t)(n * K));
    double *mix = malloc(sizeof(double) * (size_t)(K * 4));
    for (int64_t i = 0; i < K * 4; i++) mix[i] = nrand();
    for (int64_t r = 0; r < n; r++) {
        double z[4] = {nrand(), nrand(), nrand(), nrand()};
        for (int64_t k = 0; k < K; k++) {
            double v = 0.3 * nrand();
            for (int j = 0; j < 4; j++) v += mix[k * 4 + j] * z[j];
            x[r * K + k] = (float)(v * (1 + (double)(k % 5)));
        }
    }
    free(mix);
    return x;
}

static float *make_weights(int64_t K, int64_t N, uint64_t seed) {
    rng_state = seed;
    float *w = malloc(sizeof(float) * (size_t)(K * N));
    for (int64_t i = 0; i < K * N; i++) w[i] = (float)(0.1 * nrand());
    return w;
}

/* S = X^T X by the definition. */
static double *naive_S(const float *x, int64_t n, int64_t K) {
    double *S = calloc((size_t)(K * K), sizeof(double));
    for (int64_t r = 0; r < n; r++)
        for (int64_t i = 0; i < K; i++)
            for (int64_t j = 0; j < K; j++) S[i * K + j] += (double)x[r * K + i] * x[r * K + j];
    return S;
}

/* ---- the spec ---- */
/* Gauss-Jordan inverse of A[n][n] with partial pivoting (A destroyed). */
static void gj_inverse(double *A, int64_t n, double *X) {
    for (int64_t i = 0; i < n * n; i++) X[i] = 0;
    for (int64_t i = 0; i < n; i++) X[i * n + i] = 1;
    for (int64_t c = 0; c < n; c++) {
        int64_t p = c;
        for (int64_t r = c + 1; r < n; r++)
            if (fabs(A[r * n + c]) > fabs(A[p * n + c])) p = r;
        for (int64_t j = 0; j < n; j++) {
            double t = A[c * n + j];
            A[c * n + j] = A[p * n + j], A[p * n + j] = t;
            t = X[c * n + j];
            X[c * n + j] = X[p * n + j], X[p * n + j] = t;
        }
        double d = A[c * n + c];
        for (int64_t j = 0; j < n; j++) A[c * n + j] /= d, X[c * n + j] /= d;
        for (int64_t r = 0; r < n; r++) {
            if (r == c) continue;
            double f = A[r * n + c];
            for (int64_t j = 0; j < n; j++) A[r * n + j] -= f * A[c * n + j], X[r * n + j] -= f * X[c * n + j];
        }
    }
}

/* GPTQ as the paper states it: rows in order (permuted by decreasing diag H with act-order),
 * each quantized, its error spread over the later rows with the current inverse Hessian, which
 * is then downdated to the remaining rows. Group parameters as the reference computes them:
 * per channel from the original weight; groups from the rows as they were at the last multiple
 * of `block` (the reference's lazy block start); static groups from the original rows. */
static void spec_gptq(const float *wt, int64_t K, int64_t N, const double *S, int64_t rows, const GptqSpec *s,
                      float *wq, int32_t *g_idx) {
    int maxq = (1 << s->bits) - 1;
    int64_t G = s->group, NG = G ? (K + G - 1) / G : 1;
    double *W = malloc(sizeof(double) * (size_t)(K * N)), *H = malloc(sizeof(double) * (size_t)(K * K));
    double *Hp = malloc(sizeof(double) * (size_t)(K * K)), *Hi = malloc(sizeof(double) * (size_t)(K * K));
    double *Wp = malloc(sizeof(double) * (size_t)(K * N)), *snap = malloc(sizeof(double) * (size_t)(K * N));
    float *scale = malloc(sizeof(float) * (size_t)(NG * N));
    uint8_t *zero = malloc((size_t)(NG * N));
    int64_t *perm = malloc(sizeof(int64_t) * (size_t)K);
    for (int64_t i = 0; i < K * N; i++) W[i] = wt[i];
    for (int64_t i = 0; i < K * K; i++) H[i] = 2 * S[i] / (double)rows;
    if (!G) gptq_grid(W, K, N, N, s->bits, s->sym, scale, zero);
    for (int64_t k = 0; k < K; k++)
        if (H[k * K + k] == 0) {
            H[k * K + k] = 1;
            for (int64_t n = 0; n < N; n++) W[k * N + n] = 0;
        }
    if (G && s->static_groups)
        for (int64_t g = 0; g < NG; g++)
            gptq_grid(W + g * G * N, K - g * G < G ? K - g * G : G, N, N, s->bits, s->sym, scale + g * N, zero + g * N);
    for (int64_t i = 0; i < K; i++) perm[i] = i;
    if (s->act_order) /* insertion sort: decreasing diag, ties by index */
        for (int64_t i = 1; i < K; i++)
            for (int64_t j = i; j > 0 && H[perm[j] * K + perm[j]] > H[perm[j - 1] * K + perm[j - 1]]; j--) {
                int64_t t = perm[j];
                perm[j] = perm[j - 1], perm[j - 1] = t;
            }
    for (int64_t i = 0; i < K; i++) {
        for (int64_t j = 0; j < K; j++) Hp[i * K + j] = H[perm[i] * K + perm[j]];
        for (int64_t n = 0; n < N; n++) Wp[i * N + n] = W[perm[i] * N + n];
    }
    double mean = 0;
    for (int64_t i = 0; i < K; i++) mean += Hp[i * K + i] / (double)K;
    for (int64_t i = 0; i < K; i++) Hp[i * K + i] += s->damp * mean;
    gj_inverse(Hp, K, Hi);
    for (int64_t i = 0; i < K; i++) {
        if (i % s->block == 0) memcpy(snap, Wp, sizeof(double) * (size_t)(K * N));
        int64_t g = 0;
        if (G && s->static_groups) g = perm[i] / G;
        else if (G) {
            g = i / G;
            if (i % G == 0)
                gptq_grid(snap + i * N, K - i < G ? K - i : G, N, N, s->bits, s->sym, scale + g * N, zero + g * N);
        }
        g_idx[perm[i]] = (int32_t)g;
        double d = Hi[i * K + i];
        for (int64_t n = 0; n < N; n++) {
            int32_t q = rt_quantize_f32((float)Wp[i * N + n], scale[g * N + n], zero[g * N + n], 0, maxq);
            float v = scale[g * N + n] * (float)(q - zero[g * N + n]);
            wq[perm[i] * N + n] = v;
            double e = (Wp[i * N + n] - v) / d;
            for (int64_t j = i + 1; j < K; j++) Wp[j * N + n] -= e * Hi[i * K + j];
        }
        for (int64_t a = i + 1; a < K; a++)
            for (int64_t b = i + 1; b < K; b++) Hi[a * K + b] -= Hi[a * K + i] * Hi[i * K + b] / d;
    }
    free(W), free(H), free(Hp), free(Hi), free(Wp), free(snap), free(scale), free(zero), free(perm);
}

/* Runs gptq_quantize and the spec on one random layer and compares them. */
static void check_against_spec(int64_t K, int64_t N, int64_t rows, GptqSpec s, int dead_col, uint64_t seed) {
    float *x = make_inputs(rows, K, seed);
    if (dead_col >= 0)
        for (int64_t r = 0; r < rows; r++) x[r * K + dead_col] = 0;
    float *w = make_weights(K, N, seed + 1);
    double *S = naive_S(x, rows, K);
    GptqLayer l;
    cr_assert_eq(gptq_quantize(w, K, N, S, rows, &s, &l, &err), RT_OK, "%s", err.msg);
    float *wq = malloc(sizeof(float) * (size_t)(K * N));
    int32_t *gi = malloc(sizeof(int32_t) * (size_t)K);
    spec_gptq(w, K, N, S, rows, &s, wq, gi);
    double worst = 0;
    for (int64_t i = 0; i < K * N; i++) worst = fmax(worst, fabs((double)l.wq[i] - wq[i]));
    cr_expect_leq(worst, GPTQ_SPEC_TOL, "K %lld N %lld bits %d group %lld act %d static %d block %lld: max diff %g",
                  (long long)K, (long long)N, s.bits, (long long)s.group, s.act_order, s.static_groups,
                  (long long)s.block, worst);
    for (int64_t k = 0; k < K; k++) cr_expect_eq(l.g_idx[k], gi[k], "g_idx[%lld]", (long long)k);
    /* codes, scales and zeros reproduce wq; codes within the grid */
    int maxq = (1 << s.bits) - 1;
    for (int64_t k = 0; k < K; k++)
        for (int64_t n = 0; n < N; n++) {
            int64_t g = l.g_idx[k];
            cr_assert(l.q[k * N + n] <= maxq);
            float v = l.scale[g * N + n] * (float)((int)l.q[k * N + n] - (int)l.zero[g * N + n]);
            cr_assert_eq(v, l.wq[k * N + n]);
        }
    if (dead_col >= 0) {
        cr_expect_eq(l.n_dead, 1);
        for (int64_t n = 0; n < N; n++) cr_expect_eq(l.wq[dead_col * N + n], 0.0f, "dead input row quantizes to 0");
    }
    /* GPTQ's output error beats round to nearest on the same grid */
    GptqLayer r;
    cr_assert_eq(gptq_rtn(w, K, N, &s, &r, &err), RT_OK, "%s", err.msg);
    double eg = gptq_output_error(w, l.wq, K, N, S), er = gptq_output_error(w, r.wq, K, N, S);
    if (dead_col < 0) cr_expect_lt(eg, er, "GPTQ error %g should be below RTN's %g", eg, er);
    gptq_layer_free(&r);
    gptq_layer_free(&l);
    free(x), free(w), free(S), free(wq), free(gi);
}

static GptqSpec spec_of(int bits, int sym, int64_t group, int act, int stat, int64_t block) {
    GptqSpec s;
    gptq_spec_default(&s);
    s.bits = bits, s.sym = sym, s.group = group, s.act_order = act, s.static_groups = stat, s.block = block;
    return s;
}

Test(gptq, per_channel_matches_spec) {
    check_against_spec(48, 12, 300, spec_of(4, 0, 0, 0, 0, 128), -1, 11);
    check_against_spec(48, 12, 300, spec_of(4, 1, 0, 0, 0, 16), -1, 12);
    check_against_spec(40, 7, 200, spec_of(8, 0, 0, 0, 0, 128), -1, 13);
    check_against_spec(40, 7, 200, spec_of(2, 0, 0, 0, 0, 8), -1, 14);
}

Test(gptq, groups_match_spec) {
    /* groups start at lazy block starts (G = block), inside blocks (G < block, the reference
     * reads block-start values), and span blocks (G > block) */
    check_against_spec(64, 10, 300, spec_of(4, 0, 16, 0, 0, 16), -1, 21);
    check_against_spec(48, 10, 300, spec_of(3, 0, 12, 0, 0, 32), -1, 22);
    check_against_spec(48, 10, 300, spec_of(4, 1, 16, 0, 0, 8), -1, 23);
    check_against_spec(48, 10, 300, spec_of(2, 0, 8, 0, 0, 128), -1, 24);
}

Test(gptq, group_not_dividing_K_is_handled) {
    /* K = 50, G = 16: groups of 16, 16, 16 and a last one of 2 rows */
    check_against_spec(50, 9, 300, spec_of(4, 0, 16, 0, 0, 128), -1, 31);
    check_against_spec(50, 9, 300, spec_of(3, 1, 20, 0, 0, 16), -1, 32);
    GptqSpec s = spec_of(4, 0, 16, 0, 0, 128);
    float *w = make_weights(50, 3, 33);
    GptqLayer r;
    cr_assert_eq(gptq_rtn(w, 50, 3, &s, &r, &err), RT_OK);
    cr_expect_eq(r.NG, 4);
    cr_expect_eq(r.g_idx[49], 3);
    gptq_layer_free(&r);
    free(w);
}

Test(gptq, act_order_matches_spec_and_g_idx) {
    check_against_spec(48, 10, 300, spec_of(4, 0, 0, 1, 0, 128), -1, 41);
    check_against_spec(48, 10, 300, spec_of(4, 0, 16, 1, 0, 128), -1, 42);
    check_against_spec(50, 10, 300, spec_of(3, 1, 12, 1, 0, 16), -1, 43);
    /* g_idx follows the permuted order: the rows with the largest diag(H) form group 0 */
    int64_t K = 32, N = 4, rows = 200, G = 8;
    float *x = make_inputs(rows, K, 44), *w = make_weights(K, N, 45);
    double *S = naive_S(x, rows, K);
    GptqSpec s = spec_of(4, 0, G, 1, 0, 128);
    GptqLayer l;
    cr_assert_eq(gptq_quantize(w, K, N, S, rows, &s, &l, &err), RT_OK, "%s", err.msg);
    int count[4] = {0};
    for (int64_t k = 0; k < K; k++) {
        cr_assert(l.g_idx[k] >= 0 && l.g_idx[k] < 4);
        count[l.g_idx[k]]++;
        for (int64_t j = 0; j < K; j++)
            if (S[k * K + k] > S[j * K + j]) cr_expect_leq(l.g_idx[k], l.g_idx[j]);
    }
    for (int g = 0; g < 4; g++) cr_expect_eq(count[g], G);
    gptq_layer_free(&l);
    free(x), free(w), free(S);
}

Test(gptq, static_groups_match_spec) {
    check_against_spec(48, 10, 300, spec_of(4, 0, 16, 0, 1, 128), -1, 51);
    check_against_spec(48, 10, 300, spec_of(4, 0, 16, 1, 1, 16), -1, 52);
    check_against_spec(50, 10, 300, spec_of(3, 1, 12, 1, 1, 8), -1, 53);
}

Test(gptq, dead_input_column) {
    check_against_spec(32, 8, 200, spec_of(4, 0, 0, 0, 0, 128), 5, 61);
    check_against_spec(32, 8, 200, spec_of(4, 0, 8, 1, 0, 128), 17, 62);
}

Test(gptq, refuses_bad_specs) {
    float w[4] = {0};
    double S[4] = {1, 0, 0, 1};
    GptqLayer l;
    GptqSpec s = spec_of(9, 0, 0, 0, 0, 128);
    cr_expect_neq(gptq_quantize(w, 2, 2, S, 10, &s, &l, &err), RT_OK);
    s = spec_of(4, 0, 0, 0, 0, 128);
    memset(&err, 0, sizeof err);
    cr_expect_neq(gptq_quantize(w, 2, 2, S, 0, &s, &l, &err), RT_OK, "no calibration rows");
    cr_expect(strstr(err.msg, "calibration") != NULL, "%s", err.msg);
    s.damp = -1;
    cr_expect_neq(gptq_quantize(w, 2, 2, S, 10, &s, &l, &err), RT_OK);
}

/* ---- the grid ---- */
Test(gptq, grid_matches_reference_quantizer) {
    /* one channel per column: [-1, 2] asym 4-bit: scale 3/15, zero round(1 / 0.2) = 5;
     * sym: amax 2, xmin = -2, scale 4/15, zero 8; [0.5, 2]: asym zero 0, and sym keeps
     * xmin = 0 (the reference's quirk): scale 2/15; all zero: [-1, 1] */
    double w[2 * 4] = {-1, 0.5, 0, 0, 2, 2, 0, 0};
    float sc[4];
    uint8_t z[4];
    gptq_grid(w, 2, 4, 4, 4, 0, sc, z);
    cr_expect_float_eq(sc[0], 3.0f / 15, 1e-7);
    cr_expect_eq(z[0], 5);
    cr_expect_float_eq(sc[1], 2.0f / 15, 1e-7);
    cr_expect_eq(z[1], 0);
    cr_expect_float_eq(sc[2], 2.0f / 15, 1e-7);
    cr_expect_eq(z[2], 7); /* 1 / float(2/15) = 7.4999995 in float32, as torch computes it */
    gptq_grid(w, 2, 4, 4, 4, 1, sc, z);
    cr_expect_float_eq(sc[0], 4.0f / 15, 1e-7);
    cr_expect_eq(z[0], 8);
    cr_expect_float_eq(sc[1], 2.0f / 15, 1e-7);
    cr_expect_eq(z[1], 8);
    gptq_grid(w, 2, 4, 4, 3, 0, sc, z);
    cr_expect_float_eq(sc[0], 3.0f / 7, 1e-7);
    cr_expect_eq(z[0], 2); /* round(7 / 3) */
}

/* The clipping search tries the unshrunk range first, so per channel its objective
 * sum |w_hat - w|^2.4 is never above min-max's; with an outlier in a group it shrinks. */
static double clip_objective(const float *w, const GptqLayer *l, int64_t K, int64_t N, int64_t n) {
    double e = 0;
    for (int64_t k = 0; k < K; k++) e += pow(fabs((double)l->wq[k * N + n] - w[k * N + n]), 2.4);
    return e;
}

Test(gptq, clip_search_never_worse_than_min_max) {
    int64_t K = 32, N = 6;
    float *w = make_weights(K, N, 151);
    w[3 * N + 2] = 2.0f; /* outliers in channels 2 and 5 */
    w[7 * N + 5] = -1.5f;
    for (int sym = 0; sym < 2; sym++) {
        GptqSpec s = spec_of(3, sym, 0, 0, 0, 128);
        GptqLayer plain, clip;
        cr_assert_eq(gptq_rtn(w, K, N, &s, &plain, &err), RT_OK);
        s.clip_search = 1;
        cr_assert_eq(gptq_rtn(w, K, N, &s, &clip, &err), RT_OK);
        int shrunk = 0;
        for (int64_t n = 0; n < N; n++) {
            double a = clip_objective(w, &plain, K, N, n), b = clip_objective(w, &clip, K, N, n);
            cr_expect_leq(b, a * (1 + 1e-12), "sym %d channel %lld: %g > %g", sym, (long long)n, b, a);
            shrunk += clip.scale[n] < plain.scale[n];
        }
        cr_expect_gt(shrunk, 0, "sym %d: some channel's range shrinks", sym);
        gptq_layer_free(&plain), gptq_layer_free(&clip);
    }
    /* with GPTQ the search still runs per group, and the layer still beats RTN's output error */
    float *x = make_inputs(300, 48, 153), *w2 = make_weights(48, 10, 154);
    double *S = naive_S(x, 300, 48);
    GptqSpec s = spec_of(3, 0, 16, 1, 0, 128);
    s.clip_search = 1;
    GptqLayer g, r;
    cr_assert_eq(gptq_quantize(w2, 48, 10, S, 300, &s, &g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(gptq_rtn(w2, 48, 10, &s, &r, &err), RT_OK);
    cr_expect_lt(gptq_output_error(w2, g.wq, 48, 10, S), gptq_output_error(w2, r.wq, 48, 10, S));
    gptq_layer_free(&g), gptq_layer_free(&r);
    free(w), free(x), free(w2), free(S);
}

/* ---- linear algebra ---- */
static double *make_spd(int64_t n, uint64_t seed) {
    rng_state = seed;
    double *B = malloc(sizeof(double) * (size_t)(n * n)), *A = calloc((size_t)(n * n), sizeof(double));
    for (int64_t i = 0; i < n * n; i++) B[i] = nrand();
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t k = 0; k < n; k++) s += B[i * n + k] * B[j * n + k];
            A[i * n + j] = s / (double)n + (i == j ? 0.5 : 0);
        }
    free(B);
    return A;
}

Test(gptq, cholesky_and_inverses) {
    int64_t sizes[] = {1, 3, 17, 95, 96, 97, 200};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        int64_t n = sizes[t];
        double *A = make_spd(n, 70 + t), *L = malloc(sizeof(double) * (size_t)(n * n));
        memcpy(L, A, sizeof(double) * (size_t)(n * n));
        cr_assert_eq(gptq_cholesky(L, n, n), 0);
        double worst = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j <= i; j++) {
                double s = 0;
                for (int64_t k = 0; k <= j; k++) s += L[i * n + k] * L[j * n + k];
                worst = fmax(worst, fabs(s - A[i * n + j]));
            }
        cr_expect_leq(worst, LINALG_TOL, "n %lld: |L L^T - A| = %g", (long long)n, worst);
        /* L^-1: L X = I on the lower triangle */
        double *X = malloc(sizeof(double) * (size_t)(n * n));
        memcpy(X, L, sizeof(double) * (size_t)(n * n));
        gptq_tril_inverse(X, n, n);
        worst = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j <= i; j++) {
                double s = 0;
                for (int64_t k = j; k <= i; k++) s += L[i * n + k] * X[k * n + j];
                worst = fmax(worst, fabs(s - (i == j)));
            }
        cr_expect_leq(worst, LINALG_TOL, "n %lld: |L L^-1 - I| = %g", (long long)n, worst);
        /* U upper with U^T U = A^-1: U^T U A = I */
        double *U = malloc(sizeof(double) * (size_t)(n * n)), *M = calloc((size_t)(n * n), sizeof(double));
        cr_assert_eq(gptq_inverse_cholesky_upper(A, n, U), 0);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < i; j++) cr_assert_eq(U[i * n + j], 0.0);
        for (int64_t i = 0; i < n; i++) {
            cr_expect_gt(U[i * n + i], 0.0);
            for (int64_t j = 0; j < n; j++) {
                double s = 0;
                for (int64_t k = 0; k < n; k++) s += U[k * n + i] * U[k * n + j];
                M[i * n + j] = s;
            }
        }
        worst = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = 0;
                for (int64_t k = 0; k < n; k++) s += M[i * n + k] * A[k * n + j];
                worst = fmax(worst, fabs(s - (i == j)));
            }
        cr_expect_leq(worst, LINALG_TOL, "n %lld: |U^T U A - I| = %g", (long long)n, worst);
        free(A), free(L), free(X), free(U), free(M);
    }
}

Test(gptq, cholesky_reports_indefinite) {
    double A[9] = {4, 2, 0, 2, 1, 0, 0, 0, 1}; /* second leading minor is 0 */
    cr_expect_eq(gptq_cholesky(A, 3, 3), 2);
}

Test(gptq, dgemm_transposes) {
    double A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 2, 1, 0, 3}, C[4] = {1, 1, 1, 1};
    /* A [2x3] times B^T, B's rows (1,0,2) and (1,0,3): [[1+6, 1+9], [4+12, 4+18]] */
    gptq_dgemm(0, 1, 2, 2, 3, 1.0, A, 3, B, 3, 0.0, C, 2);
    cr_expect_eq(C[0], 7);
    cr_expect_eq(C[1], 10);
    cr_expect_eq(C[2], 16);
    cr_expect_eq(C[3], 22);
    /* A^T [3x2] * C [2x2], accumulate with beta 1 into D */
    double D[6] = {1, 1, 1, 1, 1, 1};
    gptq_dgemm(1, 0, 3, 2, 2, 1.0, A, 3, C, 2, 1.0, D, 2);
    cr_expect_eq(D[0], 1 + 1 * 7 + 4 * 16);
    cr_expect_eq(D[5], 1 + 3 * 10 + 6 * 22);
}

/* ---- Hessians ---- */
Test(gptq, hessian_linear_rows_and_transposed) {
    int64_t n = 600, K = 20; /* more rows than one chunk */
    float *x = make_inputs(n, K, 81);
    double *S = naive_S(x, n, K);
    CalibHessian h;
    cr_assert_eq(calib_hessian_init(&h, K, 1, &err), RT_OK);
    RtTensor t = {RT_F32, 3, {2, 300, K}, x};
    cr_assert_eq(calib_hessian_add_linear(&h, &t, 0, &err), RT_OK, "%s", err.msg);
    calib_hessian_finish(&h);
    cr_expect_eq(h.rows, n);
    for (int64_t i = 0; i < K * K; i++) cr_expect_leq(fabs(h.S[i] - S[i]), HESS_TOL * fabs(S[i]) + 1e-9);
    calib_hessian_free(&h);
    /* the same rows as the columns of x^T [K, n] (Gemm transA) */
    float *xt = malloc(sizeof(float) * (size_t)(n * K));
    for (int64_t r = 0; r < n; r++)
        for (int64_t k = 0; k < K; k++) xt[k * n + r] = x[r * K + k];
    cr_assert_eq(calib_hessian_init(&h, K, 1, &err), RT_OK);
    RtTensor tt = {RT_F32, 2, {K, n}, xt};
    cr_assert_eq(calib_hessian_add_linear(&h, &tt, 1, &err), RT_OK, "%s", err.msg);
    calib_hessian_finish(&h);
    for (int64_t i = 0; i < K * K; i++) cr_expect_leq(fabs(h.S[i] - S[i]), HESS_TOL * fabs(S[i]) + 1e-9);
    RtTensor bad = {RT_F32, 2, {n, K + 1}, x};
    cr_expect_neq(calib_hessian_add_linear(&h, &bad, 0, &err), RT_OK);
    calib_hessian_free(&h);
    free(x), free(xt), free(S);
}

/* ||conv(x, w)||^2 over every output of channel m equals w_m^T S_g w_m for the patches'
 * S of m's group: checks patch order, padding, strides, dilations and groups against the
 * runtime's Conv kernel. */
static void check_conv(int nsp, const int64_t *xdims, const int64_t *wdims, int64_t group, const char *auto_pad,
                       const int64_t *strides, const int64_t *dil, const int64_t *pads) {
    IrGraph *g = tg_graph(17);
    int rank = nsp + 2;
    int64_t xn = rt_shape_numel(rank, xdims), wn = rt_shape_numel(rank, wdims);
    float *xv = make_weights(xn, 1, 91), *wv = make_weights(wn, 1, 92);
    int x = tg_input(g, "x", RT_F32, rank, xdims, NULL);
    int w = tg_const_f32(g, "w", rank, wdims, wv);
    int in[2] = {x, w};
    int y = tg_node(g, RT_OP_CONV, "conv", 2, in, "y");
    tg_attr_ints(g, "group", -1, &group);
    if (strides) tg_attr_ints(g, "strides", nsp, strides);
    if (dil) tg_attr_ints(g, "dilations", nsp, dil);
    if (pads) tg_attr_ints(g, "pads", 2 * nsp, pads);
    if (auto_pad) {
        RtAttr *a = tg_attr_add(g, "auto_pad");
        a->type = RT_ATTR_STRING;
        a->s = ir_strdup(g, auto_pad);
    }
    tg_output(g, y);
    RtTensor xin = {RT_F32, rank, {0}, xv}, out;
    memcpy(xin.dims, xdims, sizeof(int64_t) * (size_t)rank);
    cr_assert_eq(ir_run(g, &xin, &out, &err), RT_OK, "%s", err.msg);
    int64_t M = wdims[0], Kg = wn / M;
    CalibHessian h;
    cr_assert_eq(calib_hessian_init(&h, Kg, (int)group, &err), RT_OK);
    cr_assert_eq(calib_hessian_add_conv(&h, &g->nodes[0], &xin, g->values[w].konst, &err), RT_OK, "%s", err.msg);
    calib_hessian_finish(&h);
    int64_t per = rt_numel(&out) / (out.dims[0] * M); /* outputs per image and channel */
    cr_expect_eq(h.rows, out.dims[0] * per);
    const float *yv = out.data;
    for (int64_t m = 0; m < M; m++) {
        double direct = 0, viaS = 0;
        for (int64_t b = 0; b < out.dims[0]; b++)
            for (int64_t p = 0; p < per; p++) {
                double v = yv[(b * M + m) * per + p];
                direct += v * v;
            }
        const double *S = h.S + (m / (M / group)) * Kg * Kg;
        for (int64_t i = 0; i < Kg; i++)
            for (int64_t j = 0; j < Kg; j++) viaS += (double)wv[m * Kg + i] * S[i * Kg + j] * wv[m * Kg + j];
        cr_expect_leq(fabs(direct - viaS), 1e-5 * direct + 1e-9, "channel %lld: %g vs %g", (long long)m, direct, viaS);
    }
    calib_hessian_free(&h);
    free(out.data), free(xv), free(wv);
    ir_graph_free(g);
}

Test(gptq, hessian_conv_patches) {
    int64_t x2[4] = {2, 4, 7, 6}, w2[4] = {6, 2, 3, 2}, s2[2] = {2, 1}, d2[2] = {1, 2}, p2[4] = {1, 0, 2, 1};
    check_conv(2, x2, w2, 2, NULL, s2, d2, p2);
    int64_t w2b[4] = {3, 4, 3, 3};
    check_conv(2, x2, w2b, 1, "SAME_UPPER", NULL, NULL, NULL);
    check_conv(2, x2, w2b, 1, "SAME_LOWER", s2, NULL, NULL);
    int64_t x1[3] = {3, 3, 11}, w1[3] = {5, 3, 4}, s1[1] = {3};
    check_conv(1, x1, w1, 1, "VALID", s1, NULL, NULL);
    int64_t wd[4] = {4, 1, 3, 3}; /* depthwise */
    check_conv(2, x2, wd, 4, NULL, NULL, NULL, p2);
}

Test(gptq, output_error_matches_direct) {
    int64_t n = 100, K = 16, N = 5;
    float *x = make_inputs(n, K, 101), *w = make_weights(K, N, 102);
    double *S = naive_S(x, n, K);
    GptqSpec s = spec_of(3, 0, 0, 0, 0, 128);
    GptqLayer l;
    cr_assert_eq(gptq_rtn(w, K, N, &s, &l, &err), RT_OK);
    double direct = 0;
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < N; c++) {
            double v = 0;
            for (int64_t k = 0; k < K; k++) v += (double)x[r * K + k] * ((double)w[k * N + c] - l.wq[k * N + c]);
            direct += v * v;
        }
    double e = gptq_output_error(w, l.wq, K, N, S);
    cr_expect_leq(fabs(e - direct), 1e-9 * direct, "%g vs %g", e, direct);
    gptq_layer_free(&l);
    free(x), free(w), free(S);
}

/* ---- the pass on small graphs ---- */
#include <unistd.h>

#include "../../io/npy.h"
#include "../../passes/passes.h"

/* Weights after the pass, folded back to float (each DequantizeLinear of constants folds),
 * must equal what gptq_quantize / gptq_rtn give for the inputs the test derives itself:
 * exactly, unless the runtime's float GEMM (another summation order than the test's) moved
 * some input by enough to flip a rounding, which at these sizes does not happen. */
#define PASS_TOL 1e-6

/* A calibration .npy of x [n][K] in a temporary file; returns the open dataset. */
static CalibDataset *dataset_of(const float *x, int64_t n, int64_t K, char *path, size_t len) {
    snprintf(path, len, "/tmp/wafer_gptq_%d_%lld.npy", (int)getpid(), (long long)K);
    RtTensor t = {RT_F32, 2, {n, K}, (void *)x};
    cr_assert_eq(npy_write(path, &t, &err), RT_OK, "%s", err.msg);
    const char *names[1] = {"x"}, *paths[1] = {path};
    CalibDataset *d = calib_dataset_open(1, names, paths, &err);
    cr_assert_not_null(d, "%s", err.msg);
    return d;
}

/* x[batch,16] -> Linear(W1, B1) -> Relu -> Linear(W2, B2) -> Linear(W3) (the head) -> y */
typedef struct {
    float *w1, *b1, *w2, *b2, *w3;
} Mlp;

static Mlp mlp_make(uint64_t seed) {
    Mlp m = {make_weights(16, 24, seed), make_weights(24, 1, seed + 1), make_weights(24, 12, seed + 2),
             make_weights(12, 1, seed + 3), make_weights(12, 4, seed + 4)};
    return m;
}

static void mlp_free(Mlp *m) { free(m->w1), free(m->b1), free(m->w2), free(m->b2), free(m->w3); }

static IrGraph *mlp_graph(const Mlp *m, const char *l1, const char *l2) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {-1, 16}, d1[2] = {16, 24}, d2[2] = {24, 12}, d3[2] = {12, 4}, n24 = 24, n12 = 12;
    const char *sym[2] = {"batch", NULL};
    int x = tg_input(g, "x", RT_F32, 2, xd, sym);
    int i1[3] = {x, tg_const_f32(g, "w1", 2, d1, m->w1), tg_const_f32(g, "b1", 1, &n24, m->b1)};
    int h1 = tg_node(g, RT_OP_LINEAR, l1, 3, i1, "h1");
    int r = tg_node(g, RT_OP_RELU, "relu", 1, &h1, "r");
    int i2[3] = {r, tg_const_f32(g, "w2", 2, d2, m->w2), tg_const_f32(g, "b2", 1, &n12, m->b2)};
    int h2 = tg_node(g, RT_OP_LINEAR, l2, 3, i2, "h2");
    int i3[2] = {h2, tg_const_f32(g, "w3", 2, d3, m->w3)};
    tg_output(g, tg_node(g, RT_OP_LINEAR, "head", 2, i3, "y"));
    cr_assert_eq(ir_infer_shapes(g, &err), RT_OK, "%s", err.msg);
    return g;
}

/* The float weight node `name` reads after folding the DequantizeLinear in front of it (which
 * a quantized graph otherwise keeps: keep_dequantize). */
static const float *folded_weight(IrGraph *g, const char *name) {
    g->keep_dequantize = 0;
    cr_assert_eq(pass_fold_constants(g, &err), RT_OK, "%s", err.msg);
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].name && !strcmp(g->nodes[k].name, name)) {
            const RtTensor *w = g->values[g->nodes[k].in[1]].konst;
            cr_assert(w && w->dtype == RT_F32);
            return w->data;
        }
    cr_assert_fail("no node %s", name);
    return NULL;
}

/* relu(x W + b) for rows of x */
static float *linear_relu(const float *x, int64_t n, int64_t K, const float *w, const float *b, int64_t N) {
    float *y = malloc(sizeof(float) * (size_t)(n * N));
    for (int64_t r = 0; r < n; r++)
        for (int64_t c = 0; c < N; c++) {
            float s = b[c];
            for (int64_t k = 0; k < K; k++) s += x[r * K + k] * w[k * N + c];
            y[r * N + c] = s > 0 ? s : 0;
        }
    return y;
}

static void expect_close(const float *a, const float *b, int64_t n, const char *what) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    cr_expect_leq(worst, PASS_TOL, "%s: max difference %g", what, worst);
}

/* Runs the pass on the MLP and checks both quantized weights against GPTQ on inputs computed
 * here: layer 2's from layer 1 quantized (layer schedule, or a block boundary between them),
 * or from layer 1 still float (block schedule with both in one scope). */
static void check_mlp(GptqSequential seq, const char *l1, const char *l2, int l2_sees_float_l1, GptqSpec spec) {
    int64_t n = 300;
    Mlp m = mlp_make(111);
    float *x = make_inputs(n, 16, 112);
    char path[256];
    CalibDataset *d = dataset_of(x, n, 16, path, sizeof path);
    IrGraph *g = mlp_graph(&m, l1, l2);
    GptqPassOptions o;
    gptq_pass_options_default(&o);
    o.spec = spec, o.sequential = seq, o.data = d, o.batch = 64, o.measure = 1;
    GptqReport rep;
    cr_assert_eq(pass_quantize_gptq(g, &o, &rep, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(rep.n_layers, 2, "the head stays float");
    cr_expect_eq(tg_count_op(g, RT_OP_DEQUANTIZE_LINEAR), 2);
    for (int i = 0; i < rep.n_layers; i++) cr_expect_lt(rep.layers[i].err_gptq, rep.layers[i].err_rtn);
    double *S1 = naive_S(x, n, 16);
    GptqLayer q1, q2;
    cr_assert_eq(gptq_quantize(m.w1, 16, 24, S1, n, &spec, &q1, &err), RT_OK);
    float *r = linear_relu(x, n, 16, l2_sees_float_l1 ? m.w1 : q1.wq, m.b1, 24);
    double *S2 = naive_S(r, n, 24);
    cr_assert_eq(gptq_quantize(m.w2, 24, 12, S2, n, &spec, &q2, &err), RT_OK);
    cr_expect_leq(fabs(rep.layers[1].err_gptq - gptq_output_error(m.w2, q2.wq, 24, 12, S2)),
                  1e-6 * rep.layers[1].err_gptq, "reported error of layer 2");
    expect_close(folded_weight(g, l1), q1.wq, 16 * 24, "layer 1");
    expect_close(folded_weight(g, l2), q2.wq, 24 * 12, "layer 2");
    expect_close(folded_weight(g, "head"), m.w3, 12 * 4, "head untouched");
    gptq_layer_free(&q1), gptq_layer_free(&q2);
    gptq_report_free(&rep);
    calib_dataset_free(d);
    ir_graph_free(g);
    unlink(path);
    free(x), free(S1), free(S2), free(r);
    mlp_free(&m);
}

Test(gptq_pass, layer_schedule_feeds_quantized_inputs) {
    check_mlp(GPTQ_SEQ_LAYER, "l1", "l2", 0, spec_of(4, 0, 8, 0, 0, 128));
    check_mlp(GPTQ_SEQ_LAYER, "l1", "l2", 0, spec_of(3, 1, 0, 0, 0, 128));
}

Test(gptq_pass, act_order_emits_exact_per_element_scales) {
    check_mlp(GPTQ_SEQ_LAYER, "l1", "l2", 0, spec_of(4, 0, 8, 1, 0, 128));
    check_mlp(GPTQ_SEQ_LAYER, "l1", "l2", 0, spec_of(2, 0, 5, 1, 1, 128)); /* static groups, 5 not dividing 16 */
}

Test(gptq_pass, block_schedule) {
    /* one module scope: layer 2 is calibrated with layer 1 still float */
    check_mlp(GPTQ_SEQ_BLOCK, "/blk.0/l1/MatMul", "/blk.0/l2/MatMul", 1, spec_of(4, 0, 8, 0, 0, 128));
    /* two scopes */
    check_mlp(GPTQ_SEQ_BLOCK, "/blk.0/l1/MatMul", "/blk.1/l2/MatMul", 0, spec_of(4, 0, 8, 0, 0, 128));
    /* no scopes: the Relu output alone is live between the layers, a block boundary */
    check_mlp(GPTQ_SEQ_BLOCK, "l1", "l2", 0, spec_of(4, 0, 8, 0, 0, 128));
}

Test(gptq_pass, rtn_needs_no_data_and_exclude_works) {
    Mlp m = mlp_make(121);
    IrGraph *g = mlp_graph(&m, "l1", "l2");
    GptqPassOptions o;
    gptq_pass_options_default(&o);
    o.method = GPTQ_METHOD_RTN;
    o.spec = spec_of(4, 1, 8, 0, 0, 128);
    const char *ex[1] = {"l2"};
    o.exclude = ex, o.n_exclude = 1;
    cr_assert_eq(pass_quantize_gptq(g, &o, NULL, &err), RT_OK, "%s", err.msg);
    GptqLayer q;
    cr_assert_eq(gptq_rtn(m.w1, 16, 24, &o.spec, &q, &err), RT_OK);
    expect_close(folded_weight(g, "l1"), q.wq, 16 * 24, "layer 1");
    expect_close(folded_weight(g, "l2"), m.w2, 24 * 12, "excluded layer untouched");
    gptq_layer_free(&q);
    ir_graph_free(g);
    /* GPTQ without data, and a name that is no node, are refused */
    g = mlp_graph(&m, "l1", "l2");
    o.method = GPTQ_METHOD_GPTQ;
    o.n_exclude = 0;
    memset(&err, 0, sizeof err);
    cr_expect_neq(pass_quantize_gptq(g, &o, NULL, &err), RT_OK);
    cr_expect(strstr(err.msg, "calibration") != NULL, "%s", err.msg);
    o.method = GPTQ_METHOD_RTN;
    const char *bad[1] = {"nope"};
    o.exclude = bad, o.n_exclude = 1;
    memset(&err, 0, sizeof err);
    cr_expect_neq(pass_quantize_gptq(g, &o, NULL, &err), RT_OK);
    cr_expect(strstr(err.msg, "nope") != NULL, "%s", err.msg);
    ir_graph_free(g);
    mlp_free(&m);
}

/* Gemm with transB (weight [N, K]) and a grouped Conv: layouts, per-group Hessians, emission. */
Test(gptq_pass, gemm_trans_b_and_grouped_conv) {
    int64_t n = 40;
    float *x = make_weights(n * 4 * 6 * 6, 1, 131); /* images [n, 4, 6, 6] */
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {-1, 4, 6, 6}, wd[4] = {6, 2, 3, 3}, gd[2] = {5, 6 * 4 * 4}, two = 2, one = 1;
    const char *sym[4] = {"batch", NULL, NULL, NULL};
    float *wc = make_weights(6 * 2 * 9, 1, 132), *wg = make_weights(5 * 96, 1, 133);
    int xi = tg_input(g, "x", RT_F32, 4, xd, sym);
    int ci[2] = {xi, tg_const_f32(g, "wc", 4, wd, wc)};
    int c = tg_node(g, RT_OP_CONV, "conv", 2, ci, "c");
    tg_attr_ints(g, "group", -1, &two);
    int64_t shape[2] = {-1, 96};
    int sh = tg_const_i64(g, "shape", 2, shape);
    int ri[2] = {c, sh};
    int flat = tg_node(g, RT_OP_RESHAPE, "flat", 2, ri, "flat");
    int gi[2] = {flat, tg_const_f32(g, "wg", 2, gd, wg)};
    int gm = tg_node(g, RT_OP_GEMM, "gemm", 2, gi, "gm");
    tg_attr_ints(g, "transB", -1, &one);
    int hi[2] = {gm, tg_const_f32(g, "wh", 2, (int64_t[]){5, 3}, wg)};
    tg_output(g, tg_node(g, RT_OP_MATMUL, "head", 2, hi, "y"));
    cr_assert_eq(ir_infer_shapes(g, &err), RT_OK, "%s", err.msg);
    char path[256];
    snprintf(path, sizeof path, "/tmp/wafer_gptq_conv_%d.npy", (int)getpid());
    RtTensor xt = {RT_F32, 4, {n, 4, 6, 6}, x};
    cr_assert_eq(npy_write(path, &xt, &err), RT_OK);
    const char *names[1] = {"x"}, *paths[1] = {path};
    CalibDataset *d = calib_dataset_open(1, names, paths, &err);
    cr_assert_not_null(d, "%s", err.msg);
    GptqPassOptions o;
    gptq_pass_options_default(&o);
    o.spec = spec_of(4, 0, 9, 0, 0, 128), o.data = d, o.batch = 16;
    cr_assert_eq(pass_quantize_gptq(g, &o, NULL, &err), RT_OK, "%s", err.msg);
    /* the grouped conv's codes are stored [6, 18] and reshaped: the graph's Reshape and that one */
    cr_expect_eq(tg_count_op(g, RT_OP_RESHAPE), 2);
    /* the blocked DequantizeLinear in front of the Gemm: axis 1 (K), block 9, scale [5, 11] */
    int found = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *nd = &g->nodes[k];
        if (nd->op != RT_OP_DEQUANTIZE_LINEAR || strstr(nd->name, "gemm") != nd->name) continue;
        const RtTensor *sc = g->values[nd->in[1]].konst;
        cr_expect_eq(rt_attr_int(nd, "axis", -1), 1);
        cr_expect_eq(rt_attr_int(nd, "block_size", -1), 9);
        cr_expect(sc->rank == 2 && sc->dims[0] == 5 && sc->dims[1] == 11);
        found = 1;
    }
    cr_expect(found, "a DequantizeLinear feeds the Gemm");
    /* expected: per conv group, GPTQ on its [18][3] weight with the patches' Hessian */
    CalibHessian h;
    cr_assert_eq(calib_hessian_init(&h, 18, 2, &err), RT_OK);
    IrGraph *ref = tg_graph(17); /* a Conv node with the same attributes, for the geometry */
    int rx = tg_input(ref, "x", RT_F32, 4, xd, sym);
    int rci[2] = {rx, tg_const_f32(ref, "wc", 4, wd, wc)};
    tg_node(ref, RT_OP_CONV, "conv", 2, rci, "c");
    tg_attr_ints(ref, "group", -1, &two);
    cr_assert_eq(calib_hessian_add_conv(&h, &ref->nodes[0], &xt, ref->values[rci[1]].konst, &err), RT_OK);
    calib_hessian_finish(&h);
    float want[6 * 18], wt[18 * 3];
    for (int grp = 0; grp < 2; grp++) {
        for (int k = 0; k < 18; k++)
            for (int m = 0; m < 3; m++) wt[k * 3 + m] = wc[(grp * 3 + m) * 18 + k];
        GptqLayer q;
        cr_assert_eq(gptq_quantize(wt, 18, 3, h.S + grp * 18 * 18, h.rows, &o.spec, &q, &err), RT_OK);
        for (int k = 0; k < 18; k++)
            for (int m = 0; m < 3; m++) want[(grp * 3 + m) * 18 + k] = q.wq[k * 3 + m];
        gptq_layer_free(&q);
    }
    expect_close(folded_weight(g, "conv"), want, 6 * 18, "grouped conv");
    /* the Gemm (weight [5][96], transB) sees the quantized conv's output: run the conv alone
     * with the expected quantized weights to get its inputs */
    memcpy(ref->values[rci[1]].konst->data, want, sizeof want);
    tg_output(ref, ref->nodes[0].out[0]);
    RtTensor cy;
    cr_assert_eq(ir_run(ref, &xt, &cy, &err), RT_OK, "%s", err.msg);
    double *S = naive_S(cy.data, n, 96);
    float wgt[96 * 5], wgw[5 * 96];
    for (int k = 0; k < 96; k++)
        for (int m = 0; m < 5; m++) wgt[k * 5 + m] = wg[m * 96 + k];
    GptqLayer q;
    cr_assert_eq(gptq_quantize(wgt, 96, 5, S, n, &o.spec, &q, &err), RT_OK);
    for (int k = 0; k < 96; k++)
        for (int m = 0; m < 5; m++) wgw[m * 96 + k] = q.wq[k * 5 + m];
    expect_close(folded_weight(g, "gemm"), wgw, 5 * 96, "gemm (transB)");
    gptq_layer_free(&q);
    free(S), free(cy.data);
    calib_hessian_free(&h);
    calib_dataset_free(d);
    ir_graph_free(g);
    ir_graph_free(ref);
    unlink(path);
    free(x), free(wc), free(wg);
}

/* Conv codes stored 2-D: a Conv weight [M, C, kh, kw] quantized with groups of G over the
 * flattened K = C * kh * kw (GPTQ's rows) is emitted as DequantizeLinear(codes int8 [M, K],
 * scale / zero point [M, ceil(K / G)], axis 1, block_size G) -> Reshape(int64 [M, C, kh, kw])
 * -> Conv. Checked three ways: the layout; the weight recomputed here from the stored
 * constants with ONNX's blocked formula (q[m, k] - zp[m, k / G]) * scale[m, k / G] equals
 * gptq_rtn's dequantized weight exactly (same float products); and the folded graph gives the
 * same. Per channel (G = 0) and a 1x1 kernel keep the 4-D form (no Reshape). */
static void check_conv_codes(const int64_t *wd, int64_t G, int want_flat) {
    int64_t M = wd[0], K = wd[1] * wd[2] * wd[3], NG = G ? (K + G - 1) / G : 1;
    float *w = make_weights(M * K, 1, 151 + G);
    IrGraph *g = tg_graph(21);
    int64_t xd[4] = {-1, wd[1], 5, 5};
    const char *sym[4] = {"batch", NULL, NULL, NULL};
    int ci[2] = {tg_input(g, "x", RT_F32, 4, xd, sym), tg_const_f32(g, "w", 4, wd, w)};
    tg_output(g, tg_node(g, RT_OP_CONV, "conv", 2, ci, "y"));
    cr_assert_eq(ir_infer_shapes(g, &err), RT_OK, "%s", err.msg);
    GptqPassOptions o;
    gptq_pass_options_default(&o);
    o.method = GPTQ_METHOD_RTN, o.quantize_head = 1, o.spec = spec_of(4, 0, G, 0, 0, 128);
    cr_assert_eq(pass_quantize_gptq(g, &o, NULL, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ir_verify(g, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(tg_count_op(g, RT_OP_RESHAPE), want_flat);
    /* expected: RTN on GPTQ's view wt[K][M] */
    float *wt = malloc(sizeof(float) * (size_t)(K * M)), *want = malloc(sizeof(float) * (size_t)(K * M));
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++) wt[k * M + m] = w[m * K + k];
    GptqLayer q;
    cr_assert_eq(gptq_rtn(wt, K, M, &o.spec, &q, &err), RT_OK, "%s", err.msg);
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++) want[m * K + k] = q.wq[k * M + m];
    int kd = -1;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == RT_OP_DEQUANTIZE_LINEAR) kd = k;
    cr_assert_geq(kd, 0);
    const RtNode *dq = &g->nodes[kd];
    const RtTensor *codes = g->values[dq->in[0]].konst, *sc = g->values[dq->in[1]].konst;
    const RtTensor *zp = g->values[dq->in[2]].konst;
    if (want_flat) {
        cr_expect(codes->rank == 2 && codes->dims[0] == M && codes->dims[1] == K, "codes [%lld, %lld]", (long long)M,
                  (long long)K);
        cr_expect(sc->rank == 2 && sc->dims[0] == M && sc->dims[1] == NG && rt_shape_equal(sc, zp), "scale [M, NG]");
        cr_expect_eq(rt_attr_int(dq, "axis", -1), 1);
        cr_expect_eq(rt_attr_int(dq, "block_size", -1), G);
        const RtNode *rs = &g->nodes[kd + 1], *cv = &g->nodes[kd + 2];
        cr_assert_eq(rs->op, RT_OP_RESHAPE);
        cr_expect_eq(rs->in[0], dq->out[0]);
        const RtTensor *shp = g->values[rs->in[1]].konst;
        cr_assert(shp && shp->dtype == RT_I64 && rt_numel(shp) == 4);
        for (int d = 0; d < 4; d++) cr_expect_eq(((const int64_t *)shp->data)[d], wd[d]);
        cr_expect_eq(cv->in[1], rs->out[0], "the Conv reads the Reshape");
        const int8_t *qc = codes->data, *z = zp->data;
        const float *sv = sc->data;
        for (int64_t m = 0; m < M; m++)
            for (int64_t k = 0; k < K; k++) {
                int64_t s = m * NG + k / G;
                float v = (float)((int)qc[m * K + k] - z[s]) * sv[s];
                cr_expect_eq(v, want[m * K + k], "w[%lld, %lld]: %g vs %g", (long long)m, (long long)k, v,
                             want[m * K + k]);
            }
    } else {
        cr_expect_eq(codes->rank, 4);
        cr_expect_eq(rt_numel(sc), G ? M * NG : M, "one scale per group");
    }
    expect_close(folded_weight(g, "conv"), want, M * K, "conv weight");
    gptq_layer_free(&q);
    ir_graph_free(g);
    free(w), free(wt), free(want);
}

Test(gptq_pass, conv_groups_store_codes_2d) {
    int64_t w3[4] = {4, 2, 3, 3}, w1[4] = {4, 6, 1, 1};
    check_conv_codes(w3, 4, 1);  /* K = 18: groups split kernel taps and span channels, last of 2 */
    check_conv_codes(w3, 9, 1);  /* a group per input channel */
    check_conv_codes(w3, 32, 1); /* one group wider than K */
    check_conv_codes(w3, 0, 0);  /* per channel: scale [M] on axis 0 */
    check_conv_codes(w1, 4, 0);  /* 1x1: blocks of the channel axis, scale [M, 2, 1, 1] */
}

/* LinearNBits emission computes what the DequantizeLinear form computes: the same weights,
 * summed by another GEMM (packed tiles), so outputs agree to float rounding of 16-24 term
 * sums (~1e-6 of the output scale). */
#define NBITS_TOL 1e-5

static float *mlp_run(IrGraph *g, const float *x, int64_t n) {
    RtTensor in = {RT_F32, 2, {n, 16}, (void *)x}, out;
    cr_assert_eq(ir_run(g, &in, &out, &err), RT_OK, "%s", err.msg);
    return out.data;
}

static void check_nbits(GptqSpec spec, int expect_g_idx) {
    int64_t n = 200;
    Mlp m = mlp_make(141);
    float *x = make_inputs(n, 16, 142);
    char path[256];
    CalibDataset *d = dataset_of(x, n, 16, path, sizeof path);
    float *y[2];
    for (int e = 0; e < 2; e++) {
        IrGraph *g = mlp_graph(&m, "l1", "l2");
        GptqPassOptions o;
        gptq_pass_options_default(&o);
        o.spec = spec, o.data = d, o.emit = e ? GPTQ_EMIT_NBITS : GPTQ_EMIT_DQ;
        cr_assert_eq(pass_quantize_gptq(g, &o, NULL, &err), RT_OK, "%s", err.msg);
        if (e) {
            cr_expect_eq(tg_count_op(g, RT_OP_LINEAR_NBITS), 2);
            cr_expect_eq(tg_count_op(g, RT_OP_DEQUANTIZE_LINEAR), 0);
            for (int k = 0; k < g->n_nodes; k++)
                if (g->nodes[k].op == RT_OP_LINEAR_NBITS) {
                    cr_expect_eq(g->nodes[k].n_in, 6, "X, Wp, scales, zeros, g_idx slot, bias");
                    cr_expect_eq(g->nodes[k].in[4] >= 0, expect_g_idx);
                    cr_expect_eq(rt_attr_int(&g->nodes[k], "bits", 0), spec.bits);
                }
        }
        y[e] = mlp_run(g, x, n);
        ir_graph_free(g);
    }
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < n * 4; i++) {
        worst = fmax(worst, fabs((double)y[0][i] - y[1][i]));
        scale = fmax(scale, fabs((double)y[0][i]));
    }
    cr_expect_leq(worst, NBITS_TOL * scale, "LinearNBits vs DequantizeLinear: %g of %g", worst, scale);
    free(y[0]), free(y[1]);
    calib_dataset_free(d);
    unlink(path);
    free(x);
    mlp_free(&m);
}

Test(gptq_pass, linear_nbits_matches_dequantize_linear) {
    check_nbits(spec_of(4, 0, 8, 0, 0, 128), 0);
    check_nbits(spec_of(3, 1, 0, 0, 0, 128), 0);
    check_nbits(spec_of(2, 0, 5, 1, 0, 128), 1);  /* act-order: g_idx */
    check_nbits(spec_of(8, 0, 16, 1, 1, 128), 0); /* static groups keep k / G */
}
