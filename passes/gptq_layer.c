/*
 * gptq_layer.c — one layer's GPTQ and RTN on a [K][N] weight (the algorithm is in gptq.h's
 * header comment; this file follows the reference fasterquant() step by step, in double).
 *
 * Cost for K inputs, N outputs, lazy block B: the Cholesky factor of H^-1 ~ 2K^3/3 flops,
 * the in-block updates K * B * N, the between-block GEMMs ~ K^2 * N; memory: W in double
 * (8KN bytes), H and U (16K^2 bytes).
 */
#include "gptq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/quant.h"

/* Element count for malloc: at least 1, so that empty layers still get a valid pointer. */
static size_t nz(int64_t n) { return n > 0 ? (size_t)n : 1; }

void gptq_spec_default(GptqSpec *s) {
    memset(s, 0, sizeof *s);
    s->bits = 4;
    s->damp = GPTQ_DEFAULT_DAMP;
    s->block = GPTQ_DEFAULT_BLOCK;
}

int gptq_spec_check(const GptqSpec *s, RtError *err) {
    if (s->bits < 2 || s->bits > 8) return rt_error_set(err, "GPTQ: bits %d outside 2..8", s->bits);
    if (s->group < 0) return rt_error_set(err, "GPTQ: group %lld must be >= 0", (long long)s->group);
    if (!(s->damp >= 0) || !isfinite(s->damp)) return rt_error_set(err, "GPTQ: damp %g must be >= 0", s->damp);
    if (s->block < 1) return rt_error_set(err, "GPTQ: block %lld must be >= 1", (long long)s->block);
    return RT_OK;
}

void gptq_layer_free(GptqLayer *l) {
    free(l->q);
    free(l->scale);
    free(l->zero);
    free(l->g_idx);
    free(l->wq);
    memset(l, 0, sizeof *l);
}

/* The grid's range of channel n: [xmin, xmax] as the header comment says. */
static void grid_range(const double *w, int64_t rows, int64_t n, int64_t ld, int sym, float *lo, float *hi) {
    float mn = 0, mx = 0; /* xmin = min(0, min w), xmax = max(0, max w) */
    for (int64_t r = 0; r < rows; r++) {
        float v = (float)w[r * ld + n];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    if (sym) {
        mx = fabsf(mn) > mx ? fabsf(mn) : mx;
        if (mn < 0) mn = -mx;
    }
    if (mn == 0 && mx == 0) mn = -1, mx = 1;
    *lo = mn, *hi = mx;
}

/* Scale and zero point of the range [lo, hi]. */
static void grid_params(float lo, float hi, int maxq, int sym, float *scale, uint8_t *zero) {
    float sc = (hi - lo) / (float)maxq;
    float z = sym ? (float)((maxq + 1) / 2) : rintf(-lo / sc);
    *scale = sc;
    *zero = (uint8_t)(z < 0 ? 0 : z > maxq ? maxq : z);
}

void gptq_grid(const double *w, int64_t rows, int64_t N, int64_t ld, int bits, int sym, float *scale,
               uint8_t *zero) {
    for (int64_t n = 0; n < N; n++) {
        float lo, hi;
        grid_range(w, rows, n, ld, sym, &lo, &hi);
        grid_params(lo, hi, (1 << bits) - 1, sym, &scale[n], &zero[n]);
    }
}

/* Clipping search (the reference Quantizer's mse option, weighted): per channel, shrink the
 * range to p * [xmin, xmax] for p = 1, 0.99, ..., 0.21 and keep the p minimizing
 * sum_r h[r] |w_hat - w|^2.4 over the group's rows (norm 2.4 and the 80 steps of quant.py;
 * h[r] = H[r,r], the weight the layer's output error gives row r, or 1 without a Hessian).
 * p = 1 is tried first, so the result is never worse than min-max on this objective. */
#define GPTQ_CLIP_NORM 2.4f
#define GPTQ_CLIP_STEPS 80

static void grid_clip(const double *w, int64_t rows, int64_t N, int64_t ld, int bits, int sym, const double *h,
                      float *scale, uint8_t *zero) {
    int maxq = (1 << bits) - 1;
    for (int64_t n = 0; n < N; n++) {
        float xmin, xmax;
        grid_range(w, rows, n, ld, sym, &xmin, &xmax);
        double best = INFINITY;
        for (int i = 0; i < GPTQ_CLIP_STEPS; i++) {
            float p = 1.0f - (float)i / 100.0f, sc;
            uint8_t z;
            grid_params(p * xmin, p * xmax, maxq, sym, &sc, &z);
            double e = 0;
            for (int64_t r = 0; r < rows && e < best; r++) {
                float v = (float)w[r * ld + n];
                int32_t c = rt_quantize_f32(v, sc, z, 0, maxq);
                e += (h ? h[r] : 1.0) * (double)powf(fabsf(sc * (float)(c - z) - v), GPTQ_CLIP_NORM);
            }
            if (e < best) best = e, scale[n] = sc, zero[n] = z;
        }
    }
}

/* The grid of one group as the spec asks: min-max, then the clipping search if enabled (h:
 * the rows' Hessian diagonal, or NULL). */
static void spec_grid(const double *w, int64_t rows, int64_t N, int64_t ld, const GptqSpec *s, const double *h,
                      float *scale, uint8_t *zero) {
    gptq_grid(w, rows, N, ld, s->bits, s->sym, scale, zero);
    if (s->clip_search) grid_clip(w, rows, N, ld, s->bits, s->sym, h, scale, zero);
}

/* Quantizes row w[N] with per-channel scale/zero: codes into q, dequantized into wq. */
static void row_quantize(const double *w, int64_t N, int maxq, const float *scale, const uint8_t *zero, uint8_t *q,
                         float *wq) {
    for (int64_t n = 0; n < N; n++) {
        int32_t c = rt_quantize_f32((float)w[n], scale[n], zero[n], 0, maxq);
        q[n] = (uint8_t)c;
        wq[n] = scale[n] * (float)(c - (int32_t)zero[n]);
    }
}

static int layer_alloc(GptqLayer *l, int64_t K, int64_t N, const GptqSpec *s, RtError *err) {
    memset(l, 0, sizeof *l);
    l->K = K, l->N = N, l->bits = s->bits;
    l->NG = s->group > 0 ? (K + s->group - 1) / s->group : 1;
    size_t kn = (size_t)K * (size_t)N, gn = (size_t)l->NG * (size_t)N;
    l->q = malloc(kn ? kn : 1);
    l->wq = malloc(sizeof(float) * (kn ? kn : 1));
    l->scale = malloc(sizeof(float) * (gn ? gn : 1));
    l->zero = malloc(gn ? gn : 1);
    l->g_idx = malloc(sizeof(int32_t) * (size_t)(K ? K : 1));
    if (!l->q || !l->wq || !l->scale || !l->zero || !l->g_idx) {
        gptq_layer_free(l);
        return rt_error_set(err, "out of memory for a %lld x %lld layer", (long long)K, (long long)N);
    }
    return RT_OK;
}

int gptq_rtn(const float *wt, int64_t K, int64_t N, const GptqSpec *s, GptqLayer *out, RtError *err) {
    RT_TRY(gptq_spec_check(s, err));
    RT_TRY(layer_alloc(out, K, N, s, err));
    int64_t G = s->group > 0 ? s->group : K;
    double *w = malloc(sizeof(double) * nz(G * N));
    if (!w) {
        gptq_layer_free(out);
        return rt_error_set(err, "out of memory");
    }
    int maxq = (1 << s->bits) - 1;
    for (int64_t g0 = 0, gi = 0; g0 < K; g0 += G, gi++) {
        int64_t rows = K - g0 < G ? K - g0 : G;
        for (int64_t i = 0; i < rows * N; i++) w[i] = wt[g0 * N + i];
        spec_grid(w, rows, N, N, s, NULL, out->scale + gi * N, out->zero + gi * N);
        for (int64_t r = 0; r < rows; r++) {
            row_quantize(w + r * N, N, maxq, out->scale + gi * N, out->zero + gi * N, out->q + (g0 + r) * N,
                         out->wq + (g0 + r) * N);
            out->g_idx[g0 + r] = (int32_t)gi;
        }
    }
    free(w);
    return RT_OK;
}

/* ---- GPTQ ---- */
typedef struct {
    int64_t K, N, G;          /* G = 0 per channel */
    double *W;                /* [K][N] owned: the weight, updated in place (permuted order) */
    double *H;                /* [K][K] owned: 2 S / n, then permuted and damped */
    double *U;                /* [K][K] owned: upper Cholesky factor of H^-1 */
    double *err;              /* [block][N] owned: scaled errors of the current block */
    double *grp;              /* [G][N] owned: a group's rows for its grid (G > 0) */
    double *snap;             /* [block][N] owned: the block's rows as the block started */
    uint8_t *qp;              /* [K][N] owned: codes in permuted order */
    float *wqp;               /* [K][N] owned: dequantized, permuted order */
    int64_t *perm;            /* [K] owned: original row at permuted position i */
    double *hd;               /* [K] owned: diag(H) of the rows, for the clipping search */
} GptqWork;

static void work_free(GptqWork *w) {
    free(w->W);
    free(w->H);
    free(w->U);
    free(w->err);
    free(w->grp);
    free(w->snap);
    free(w->qp);
    free(w->wqp);
    free(w->perm);
    free(w->hd);
}

static int work_alloc(GptqWork *w, int64_t K, int64_t N, const GptqSpec *s, RtError *err) {
    memset(w, 0, sizeof *w);
    w->K = K, w->N = N, w->G = s->group;
    size_t kn = nz(K * N), kk = nz(K * K);
    size_t bn = (size_t)((s->block < K ? s->block : K) * N), gn = (size_t)((s->group < K ? s->group : K) * N);
    w->W = malloc(sizeof(double) * kn);
    w->H = malloc(sizeof(double) * kk);
    w->U = malloc(sizeof(double) * kk);
    w->err = malloc(sizeof(double) * (bn ? bn : 1));
    w->snap = malloc(sizeof(double) * (bn ? bn : 1));
    w->grp = malloc(sizeof(double) * (gn ? gn : 1));
    w->qp = malloc(kn);
    w->wqp = malloc(sizeof(float) * kn);
    w->perm = malloc(sizeof(int64_t) * (size_t)(K ? K : 1));
    w->hd = malloc(sizeof(double) * (size_t)(K ? K : 1));
    if (!w->W || !w->H || !w->U || !w->err || !w->snap || !w->grp || !w->qp || !w->wqp || !w->perm || !w->hd) {
        work_free(w);
        return rt_error_set(err, "out of memory for GPTQ of a %lld x %lld layer", (long long)K, (long long)N);
    }
    return RT_OK;
}

/* Descending diag(H), ties by index (a stable order; the reference's argsort leaves ties open). */
typedef struct {
    double d;
    int64_t i;
} DiagKey;

static int diag_desc(const void *a, const void *b) {
    const DiagKey *x = a, *y = b;
    if (x->d != y->d) return x->d > y->d ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* act-order: perm by decreasing diag(H); W's rows and H's rows and columns permuted. */
static int work_permute(GptqWork *w, RtError *err) {
    int64_t K = w->K, N = w->N;
    DiagKey *key = malloc(sizeof(DiagKey) * (size_t)K);
    double *tmp = malloc(sizeof(double) * (size_t)(K * (K > N ? K : N)));
    if (!key || !tmp) {
        free(key);
        free(tmp);
        return rt_error_set(err, "out of memory");
    }
    for (int64_t i = 0; i < K; i++) key[i] = (DiagKey){w->H[i * K + i], i};
    qsort(key, (size_t)K, sizeof *key, diag_desc);
    for (int64_t i = 0; i < K; i++) w->perm[i] = key[i].i;
    for (int64_t i = 0; i < K; i++) memcpy(tmp + i * N, w->W + w->perm[i] * N, sizeof(double) * (size_t)N);
    memcpy(w->W, tmp, sizeof(double) * (size_t)(K * N));
    for (int64_t i = 0; i < K; i++)
        for (int64_t j = 0; j < K; j++) tmp[i * K + j] = w->H[w->perm[i] * K + w->perm[j]];
    memcpy(w->H, tmp, sizeof(double) * (size_t)(K * K));
    free(key);
    free(tmp);
    return RT_OK;
}

/* Grid of the group starting at permuted row i: rows [i, i + G) as they were when the lazy
 * block [i1, i2) started (snap for rows < i2, W for the rest, untouched since). */
static void group_params(GptqWork *w, const GptqSpec *s, int64_t i, int64_t i1, int64_t i2, float *scale,
                         uint8_t *zero) {
    int64_t N = w->N, end = i + w->G < w->K ? i + w->G : w->K;
    for (int64_t r = i; r < end; r++) {
        const double *src = r < i2 ? w->snap + (r - i1) * N : w->W + r * N;
        memcpy(w->grp + (r - i) * N, src, sizeof(double) * (size_t)N);
    }
    spec_grid(w->grp, end - i, N, N, s, w->hd + i, scale, zero);
}

/* The lazy-block loop over the permuted rows; out->scale/zero filled for non-static groups. */
static void work_run(GptqWork *w, const GptqSpec *s, GptqLayer *out) {
    int64_t K = w->K, N = w->N, G = w->G, B = s->block;
    int maxq = (1 << s->bits) - 1;
    for (int64_t i1 = 0; i1 < K; i1 += B) {
        int64_t i2 = i1 + B < K ? i1 + B : K;
        if (G > 0 && !s->static_groups) memcpy(w->snap, w->W + i1 * N, sizeof(double) * (size_t)((i2 - i1) * N));
        for (int64_t i = i1; i < i2; i++) {
            int64_t g = 0;
            if (G > 0 && s->static_groups) g = (s->act_order ? w->perm[i] : i) / G;
            else if (G > 0) {
                g = i / G;
                if (i % G == 0) group_params(w, s, i, i1, i2, out->scale + g * N, out->zero + g * N);
            }
            double *wi = w->W + i * N, *ei = w->err + (i - i1) * N;
            float *wqi = w->wqp + i * N;
            row_quantize(wi, N, maxq, out->scale + g * N, out->zero + g * N, w->qp + i * N, wqi);
            double d = w->U[i * K + i];
            for (int64_t n = 0; n < N; n++) {
                double e = (wi[n] - (double)wqi[n]) / d;
                ei[n] = e;
                out->loss += e * e / 2;
            }
            for (int64_t j = i + 1; j < i2; j++) {
                double u = w->U[i * K + j];
                double *wj = w->W + j * N;
                for (int64_t n = 0; n < N; n++) wj[n] -= u * ei[n];
            }
            out->g_idx[i] = (int32_t)g; /* permuted position for now; see gptq_quantize */
        }
        /* rows after the block: W[i2:] -= U[i1:i2, i2:]^T Err */
        gptq_dgemm(1, 0, K - i2, N, i2 - i1, -1.0, w->U + i1 * K + i2, K, w->err, N, 1.0, w->W + i2 * N, N);
    }
}

int gptq_quantize(const float *wt, int64_t K, int64_t N, const double *S, int64_t rows, const GptqSpec *s,
                  GptqLayer *out, RtError *err) {
    RT_TRY(gptq_spec_check(s, err));
    if (rows <= 0) return rt_error_set(err, "GPTQ: no calibration rows reached the layer");
    GptqWork w;
    RT_TRY(work_alloc(&w, K, N, s, err));
    if (layer_alloc(out, K, N, s, err) != RT_OK) {
        work_free(&w);
        return RT_ERR;
    }
    for (int64_t i = 0; i < K * N; i++) w.W[i] = wt[i];
    for (int64_t i = 0; i < K * K; i++) w.H[i] = 2.0 * S[i] / (double)rows;
    for (int64_t i = 0; i < K; i++) w.perm[i] = i;
    /* per channel: the grid of the weight as given (the reference finds it before zeroing
     * dead inputs) */
    for (int64_t k = 0; k < K; k++) w.hd[k] = w.H[k * K + k];
    if (s->group == 0) spec_grid(w.W, K, N, N, s, w.hd, out->scale, out->zero);
    for (int64_t k = 0; k < K; k++) {
        if (w.H[k * K + k] != 0) continue;
        w.H[k * K + k] = 1;
        memset(w.W + k * N, 0, sizeof(double) * (size_t)N);
        out->n_dead++;
    }
    if (s->group > 0 && s->static_groups)
        for (int64_t g0 = 0, gi = 0; g0 < K; g0 += s->group, gi++)
            spec_grid(w.W + g0 * N, K - g0 < s->group ? K - g0 : s->group, N, N, s, w.hd + g0, out->scale + gi * N,
                      out->zero + gi * N);
    int rc = s->act_order ? work_permute(&w, err) : RT_OK;
    double mean = 0;
    for (int64_t i = 0; i < K; i++) mean += w.H[i * K + i];
    mean /= (double)K;
    for (int64_t i = 0; i < K; i++) w.H[i * K + i] += s->damp * mean;
    for (int64_t i = 0; i < K; i++) w.hd[i] = w.H[i * K + i]; /* permuted order, for the groups' grids */
    if (rc == RT_OK && gptq_inverse_cholesky_upper(w.H, K, w.U) != 0)
        rc = rt_error_set(err, "GPTQ: the damped Hessian is not positive definite (try a larger --damp than %g)",
                          s->damp);
    if (rc == RT_OK) {
        work_run(&w, s, out);
        /* back to the original row order; g_idx from the permuted positions */
        int32_t *gp = malloc(sizeof(int32_t) * (size_t)K);
        if (!gp) rc = rt_error_set(err, "out of memory");
        for (int64_t i = 0; rc == RT_OK && i < K; i++) gp[i] = out->g_idx[i];
        for (int64_t i = 0; rc == RT_OK && i < K; i++) {
            int64_t k = w.perm[i];
            memcpy(out->q + k * N, w.qp + i * N, (size_t)N);
            memcpy(out->wq + k * N, w.wqp + i * N, sizeof(float) * (size_t)N);
            out->g_idx[k] = gp[i];
        }
        free(gp);
    }
    work_free(&w);
    if (rc != RT_OK) gptq_layer_free(out);
    return rc;
}

double gptq_output_error(const float *wt, const float *wq, int64_t K, int64_t N, const double *S) {
    /* D = W - Wq [K][N]; T = S D; error = sum D .* T */
    double *D = calloc(nz(K * N), sizeof(double)), *T = malloc(sizeof(double) * nz(K * N));
    if (!D || !T) {
        free(D);
        free(T);
        return -1;
    }
    for (int64_t i = 0; i < K * N; i++) D[i] = (double)wt[i] - (double)wq[i];
    gptq_dgemm(0, 0, K, N, K, 1.0, S, K, D, N, 0.0, T, N);
    double e = 0;
    for (int64_t i = 0; i < K * N; i++) e += D[i] * T[i];
    free(D);
    free(T);
    return e;
}
