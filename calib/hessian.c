/*
 * hessian.c — S = X^T X accumulated over calibration inputs (see hessian.h).
 *
 * Rows go through a chunk buffer of CALIB_HESSIAN_CHUNK rows in double; each full chunk is
 * added with S += B^T B on the lower triangle (BLAS dsyrk when built with WAFER_HAVE_BLAS,
 * which the Makefile sets for this file; else the loop below). Conv patches are gathered with
 * the geometry of the ONNX Conv spec, normalized to 3 spatial axes:
 *   effective kernel e = (k - 1) * d + 1; explicit pads, or auto_pad SAME_* with
 *   out = ceil(in / s), total = max(0, (out - 1) * s + e - in), SAME_UPPER p0 = total / 2,
 *   SAME_LOWER p0 = total - total / 2; VALID / NOTSET out = floor((in + p0 + p1 - e) / s) + 1.
 *   Patch of output position o and group g: x[n, g*Cg + c, o*s - p0 + t*d] (0 outside).
 */
#include "hessian.h"

#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/kernel.h"

#ifdef WAFER_HAVE_BLAS
#include <cblas.h>
#endif

int calib_hessian_init(CalibHessian *h, int64_t K, int groups, RtError *err) {
    memset(h, 0, sizeof *h);
    if (K <= 0 || groups <= 0) return rt_error_set(err, "Hessian of %lld features x %d groups", (long long)K, groups);
    h->K = K;
    h->groups = groups;
    h->S = calloc((size_t)groups * (size_t)K * (size_t)K, sizeof(double));
    h->buf = malloc(sizeof(double) * CALIB_HESSIAN_CHUNK * (size_t)K);
    if (!h->S || !h->buf) {
        calib_hessian_free(h);
        return rt_error_set(err, "out of memory for a %lld x %lld Hessian", (long long)K, (long long)K);
    }
    return RT_OK;
}

void calib_hessian_free(CalibHessian *h) {
    free(h->S);
    free(h->buf);
    memset(h, 0, sizeof *h);
}

/* S_g += B^T B for B = buf[rows][K] (lower triangle). */
static void chunk_flush(CalibHessian *h, int g, int64_t rows) {
    int64_t K = h->K;
    double *S = h->S + (size_t)g * (size_t)(K * K);
    if (rows <= 0) return;
#ifdef WAFER_HAVE_BLAS
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)K, (int)rows, 1.0, h->buf, (int)K, 1.0, S, (int)K);
#else
    for (int64_t r = 0; r < rows; r++) {
        const double *b = h->buf + r * K;
        for (int64_t i = 0; i < K; i++) {
            double bi = b[i];
            if (bi == 0) continue;
            double *si = S + i * K;
            for (int64_t j = 0; j <= i; j++) si[j] += bi * b[j];
        }
    }
#endif
}

void calib_hessian_add_rows(CalibHessian *h, int g, const float *x, int64_t rows, int64_t ld) {
    int64_t K = h->K;
    for (int64_t r0 = 0; r0 < rows; r0 += CALIB_HESSIAN_CHUNK) {
        int64_t n = rows - r0 < CALIB_HESSIAN_CHUNK ? rows - r0 : CALIB_HESSIAN_CHUNK;
        for (int64_t r = 0; r < n; r++) {
            const float *src = x + (r0 + r) * ld;
            double *dst = h->buf + r * K;
            for (int64_t k = 0; k < K; k++) dst[k] = src[k];
        }
        chunk_flush(h, g, n);
    }
    if (g == 0) h->rows += rows;
}

int calib_hessian_add_linear(CalibHessian *h, const RtTensor *x, int trans, RtError *err) {
    if (x->dtype != RT_F32 || !x->data || x->rank < 1)
        return rt_error_set(err, "Hessian input must be float32 data of rank >= 1");
    int64_t K = h->K;
    if (!trans) {
        if (x->dims[x->rank - 1] != K)
            return rt_error_set(err, "Hessian input has %lld features, expected %lld", (long long)x->dims[x->rank - 1],
                                (long long)K);
        calib_hessian_add_rows(h, 0, x->data, rt_numel(x) / K, K);
        return RT_OK;
    }
    if (x->rank != 2 || x->dims[0] != K)
        return rt_error_set(err, "transposed Hessian input must be [%lld, M]", (long long)K);
    int64_t M = x->dims[1];
    const float *a = x->data;
    for (int64_t r0 = 0; r0 < M; r0 += CALIB_HESSIAN_CHUNK) {
        int64_t n = M - r0 < CALIB_HESSIAN_CHUNK ? M - r0 : CALIB_HESSIAN_CHUNK;
        for (int64_t r = 0; r < n; r++)
            for (int64_t k = 0; k < K; k++) h->buf[r * K + k] = a[k * M + r0 + r];
        chunk_flush(h, 0, n);
    }
    h->rows += M;
    return RT_OK;
}

/* ---- Conv ---- */
typedef struct {
    int64_t in[3], out[3], k[3], s[3], d[3], p0[3]; /* normalized to 3 spatial axes */
    int64_t Cg, group;
} ConvGeom;

static int conv_geom(const RtNode *n, const RtTensor *x, const RtTensor *w, ConvGeom *c, RtError *err) {
    int nsp = x->rank - 2;
    if (nsp < 1 || nsp > 3 || w->rank != x->rank)
        return rt_error_set(err, "Conv input of rank %d with weight of rank %d: 1 to 3 spatial axes supported",
                            x->rank, w->rank);
    const int64_t *st = NULL, *di = NULL, *pa = NULL;
    int nst = rt_attr_ints(n, "strides", &st), ndi = rt_attr_ints(n, "dilations", &di);
    int npa = rt_attr_ints(n, "pads", &pa);
    if ((nst >= 0 && nst != nsp) || (ndi >= 0 && ndi != nsp) || (npa >= 0 && npa != 2 * nsp))
        return rt_error_set(err, "Conv strides/dilations/pads do not match %d spatial axes", nsp);
    const char *ap = rt_attr_str(n, "auto_pad", "NOTSET");
    int same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER"), valid = !strcmp(ap, "VALID");
    c->group = rt_attr_int(n, "group", 1);
    c->Cg = w->dims[1];
    if (c->group < 1 || x->dims[1] != c->Cg * c->group)
        return rt_error_set(err, "Conv input has %lld channels, weight expects %lld x group %lld",
                            (long long)x->dims[1], (long long)c->Cg, (long long)c->group);
    for (int a = 0; a < 3; a++) {
        int i = a - (3 - nsp); /* spatial axis of the node, < 0 for the padding axes */
        c->in[a] = i < 0 ? 1 : x->dims[2 + i];
        c->k[a] = i < 0 ? 1 : w->dims[2 + i];
        c->s[a] = i < 0 || nst < 0 ? 1 : st[i];
        c->d[a] = i < 0 || ndi < 0 ? 1 : di[i];
        int64_t p0 = i < 0 || npa < 0 || valid ? 0 : pa[i], p1 = i < 0 || npa < 0 || valid ? 0 : pa[i + nsp];
        if (c->s[a] < 1 || c->d[a] < 1) return rt_error_set(err, "Conv strides and dilations must be >= 1");
        int64_t e = (c->k[a] - 1) * c->d[a] + 1;
        if (same && i >= 0) {
            c->out[a] = (c->in[a] + c->s[a] - 1) / c->s[a];
            int64_t total = (c->out[a] - 1) * c->s[a] + e - c->in[a];
            if (total < 0) total = 0;
            p0 = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
        } else {
            int64_t span = c->in[a] + p0 + p1 - e;
            c->out[a] = span < 0 ? 0 : span / c->s[a] + 1;
        }
        c->p0[a] = p0;
    }
    return RT_OK;
}

/* Writes the patch of image b, group g, output position (o0, o1, o2) into row[K]. */
static void conv_patch(const ConvGeom *c, const float *x, int64_t b, int64_t g, const int64_t *o, double *row) {
    int64_t plane = c->in[0] * c->in[1] * c->in[2];
    int64_t C = c->Cg * c->group;
    int64_t idx = 0;
    for (int64_t ch = 0; ch < c->Cg; ch++) {
        const float *xp = x + (b * C + g * c->Cg + ch) * plane;
        for (int64_t t0 = 0; t0 < c->k[0]; t0++) {
            int64_t i0 = o[0] * c->s[0] - c->p0[0] + t0 * c->d[0];
            for (int64_t t1 = 0; t1 < c->k[1]; t1++) {
                int64_t i1 = o[1] * c->s[1] - c->p0[1] + t1 * c->d[1];
                for (int64_t t2 = 0; t2 < c->k[2]; t2++) {
                    int64_t i2 = o[2] * c->s[2] - c->p0[2] + t2 * c->d[2];
                    int inside = i0 >= 0 && i0 < c->in[0] && i1 >= 0 && i1 < c->in[1] && i2 >= 0 && i2 < c->in[2];
                    row[idx++] = inside ? xp[(i0 * c->in[1] + i1) * c->in[2] + i2] : 0.0;
                }
            }
        }
    }
}

int calib_hessian_add_conv(CalibHessian *h, const RtNode *conv, const RtTensor *x, const RtTensor *w,
                           RtError *err) {
    if (x->dtype != RT_F32 || !x->data) return rt_error_set(err, "Conv Hessian input must be float32 data");
    ConvGeom c = {0};
    RT_TRY(conv_geom(conv, x, w, &c, err));
    if (c.Cg * c.k[0] * c.k[1] * c.k[2] != h->K || c.group != h->groups)
        return rt_error_set(err, "Conv Hessian expects %lld features x %d groups", (long long)h->K, h->groups);
    int64_t N = x->dims[0], positions = c.out[0] * c.out[1] * c.out[2];
    for (int64_t g = 0; g < c.group; g++) {
        int64_t filled = 0;
        for (int64_t b = 0; b < N; b++) {
            for (int64_t p = 0; p < positions; p++) {
                int64_t o[3] = {p / (c.out[1] * c.out[2]), (p / c.out[2]) % c.out[1], p % c.out[2]};
                conv_patch(&c, x->data, b, g, o, h->buf + filled * h->K);
                if (++filled == CALIB_HESSIAN_CHUNK) {
                    chunk_flush(h, (int)g, filled);
                    filled = 0;
                }
            }
        }
        chunk_flush(h, (int)g, filled);
    }
    h->rows += N * positions;
    return RT_OK;
}

void calib_hessian_finish(CalibHessian *h) {
    int64_t K = h->K;
    for (int g = 0; g < h->groups; g++) {
        double *S = h->S + (size_t)g * (size_t)(K * K);
        for (int64_t i = 0; i < K; i++)
            for (int64_t j = i + 1; j < K; j++) S[i * K + j] = S[j * K + i];
    }
}
