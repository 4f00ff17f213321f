/* ---- com.microsoft QGemm (int8 / uint8), as the runtime's qlinear_contrib.c ----
 * A [M, K] (ta: [K, M]), B [K, N] (tb: [N, K]); acc = C[m * csm + n * csn] + sum_k (A - za)(B -
 * zb[n]) in int32 wrapping modulo 2^32; s[n] = alpha * sa * sb[n] (/ sy when given), float32.
 * With zy (or sy) y = clamp(round_half_even(float(acc) * s[n]) + zy) of y's type (ys_s 1 =
 * int8), else y = float(acc) * s[n] (float32). nb: 1 (b's scale and zero point per tensor)
 * or N (per column). */
typedef struct {
    int32_t M, N, K, ta, tb, a_s, b_s, y_s, nb, csm, csn, has_c, q_out;
    float alpha;
} wk_qc_gemm_t;

static void wk_qc_gemm(const wk_qc_gemm_t *p, const void *a, const float *sa, const void *za, const void *b,
                       const float *sb, const void *zb, const int32_t *cb, const float *sy, const void *zy, void *y) {
    int32_t m, n, k;
    const int32_t zav = wk_seq_q8(za, 0, p->a_s), zyv = wk_seq_q8(zy, 0, p->y_s);
    for (m = 0; m < p->M; m++)
        for (n = 0; n < p->N; n++) {
            int32_t col = p->nb > 1 ? n : 0, zbv = wk_seq_q8(zb, col, p->b_s);
            uint32_t acc = p->has_c ? (uint32_t)cb[m * p->csm + n * p->csn] : 0u;
            float s = p->alpha * sa[0] * sb[col];
            for (k = 0; k < p->K; k++) {
                int32_t av = wk_seq_q8(a, p->ta ? k * p->M + m : m * p->K + k, p->a_s) - zav;
                int32_t bv = wk_seq_q8(b, p->tb ? n * p->K + k : k * p->N + n, p->b_s) - zbv;
                acc += (uint32_t)(av * bv);
            }
            if (sy) s /= sy[0];
            if (p->q_out) {
                int32_t v = wk_quant_f32((float)(int32_t)acc * s, 1.0f, zyv, p->y_s ? -128 : 0, p->y_s ? 127 : 255);
                ((unsigned char *)y)[m * p->N + n] = (unsigned char)(v & 255);
            } else {
                ((float *)y)[m * p->N + n] = (float)(int32_t)acc * s;
            }
        }
}
