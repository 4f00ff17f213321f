/* ---- LinearNBits: y[r, n] = act(sum_k x[r, k] W[k, n] + b[n]) with packed low-bit W ----
 * W[k, n] = (q[n, k] - zeros[n, g]) * scales[n, g], g = g_idx[k] (act-order) or k / G.
 * Codes q of row n: blocks of 32 columns, row_bytes per row; within a 2/4-bit block code j
 * sits in little-endian u32 word j % bits at bit bits * (j / bits); a 3-bit block is a
 * 2-bit block of the low bits plus one word of high bits; 8-bit blocks are plain bytes
 * (runtime/kernels/qblock.h). One float sum per output in k order, then bias, activation. */
static unsigned wk_qcode(int bits, const uint8_t *p, int j) {
    const uint8_t *w;
    unsigned v;
    if (bits == 8) return p[j];
    if (bits == 3) {
        w = p + 4 * (j % 2);
        v = (((unsigned long)w[0] | (unsigned long)w[1] << 8 | (unsigned long)w[2] << 16 |
              (unsigned long)w[3] << 24) >> (2 * (j / 2))) & 3u;
        return v | ((p[8 + j / 8] >> (j % 8)) & 1u) << 2;
    }
    w = p + 4 * (j % bits);
    v = (unsigned)(((unsigned long)w[0] | (unsigned long)w[1] << 8 | (unsigned long)w[2] << 16 |
                    (unsigned long)w[3] << 24) >> (bits * (j / bits)));
    return v & ((1u << bits) - 1u);
}

static void wk_linear_nbits(const float *x, float *y, int32_t R, int32_t K, int32_t N, const uint8_t *packed,
                            int32_t row_bytes, int bits, const float *scales, const uint8_t *zeros, int32_t NG,
                            int32_t G, const int32_t *g_idx, const float *b, int act, float alpha, float beta) {
    int32_t r, n, k;
    for (r = 0; r < R; r++)
        for (n = 0; n < N; n++) {
            const uint8_t *row = packed + (size_t)n * row_bytes;
            float s = 0.0f;
            for (k = 0; k < K; k++) {
                int32_t g = g_idx ? g_idx[k] : k / G;
                int q = (int)wk_qcode(bits, row + (size_t)(k / 32) * (size_t)(bits * 4), (int)(k % 32));
                float wk = (float)(q - (int)zeros[(size_t)n * NG + g]) * scales[(size_t)n * NG + g];
                s += x[(size_t)r * K + k] * wk;
            }
            if (b) s += b[n];
            y[(size_t)r * N + n] = wk_act(act, s, alpha, beta);
        }
}
