/* ---- onnxruntime's MatMulNBits in float: Y[M, N] = A[M, K] @ W^T + bias ----
 * W[n, k] = (q[n, k] - zp[n, g(k)]) * scales[n * n_blocks + g(k)], g(k) = g_idx[k] or
 * k / block. B [N, n_blocks, blob]: each block's codes low-first, code j at bit j * bits of
 * its blob (a code may straddle two bytes). Zero points: u8 packed the same way per row
 * (zp_row bytes a row), or float [N, n_blocks], or absent = 2^(bits-1). Row n of W is
 * decoded into row[K] (arena scratch) once, then dotted with every row of A (the
 * runtime's dequantization arithmetic: double, rounded to float once). */
typedef struct {
    const uint8_t *b;        /* [N, n_blocks, blob] */
    const float *scales;     /* [N * n_blocks] */
    const uint8_t *zp_u8;    /* packed zero points or NULL */
    const float *zp_f32;     /* float zero points or NULL */
    const int32_t *g_idx;    /* [K] or NULL */
    const float *bias;       /* [N] or NULL */
    int32_t K, N, bits, block, n_blocks, blob, zp_row;
} wk_mnb;

static int32_t wk_mnb_code(const uint8_t *p, int32_t pos, int32_t bits) {
    uint32_t v = (uint32_t)p[pos >> 3] >> (pos & 7);
    if ((pos & 7) + bits > 8) v |= (uint32_t)p[(pos >> 3) + 1] << (8 - (pos & 7));
    return (int32_t)(v & ((1u << bits) - 1u));
}

static void wk_matmul_nbits(const float *a, float *y, int32_t M, const wk_mnb *w, float *row) {
    int32_t n, k, m;
    for (n = 0; n < w->N; n++) {
        const uint8_t *brow = w->b + (size_t)n * w->n_blocks * w->blob;
        for (k = 0; k < w->K; k++) {
            int32_t g = w->g_idx ? w->g_idx[k] : k / w->block;
            int32_t q = wk_mnb_code(brow + (size_t)(k / w->block) * w->blob, (k % w->block) * w->bits, w->bits);
            double zp = w->zp_u8 ? (double)wk_mnb_code(w->zp_u8 + (size_t)n * w->zp_row, g * w->bits, w->bits)
                        : w->zp_f32 ? (double)w->zp_f32[n * w->n_blocks + g]
                                    : (double)(1 << (w->bits - 1));
            row[k] = (float)(((double)q - zp) * (double)w->scales[n * w->n_blocks + g]);
        }
        for (m = 0; m < M; m++) {
            const float *am = a + (size_t)m * w->K;
            float s = 0.0f;
            for (k = 0; k < w->K; k++) s += am[k] * row[k];
            y[(size_t)m * w->N + n] = w->bias ? s + w->bias[n] : s;
        }
    }
}
