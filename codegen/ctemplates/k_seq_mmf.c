/* ---- onnxruntime's integer matmuls to float or requantized: MatMulIntegerToFloat,
 * DynamicQuantizeMatMul (after wk_seq_dql) and QGemm, as the runtime's qlinear_contrib*.c ----
 * A [batch, M, K] (QGemm transA: [K, M]) and B [K, N] or, with b_batch, [batch, K, N]
 * (transB: [N, K]), int8 or uint8 (a_s, b_s):
 *   acc = C[m, n] + sum_k (A - az)(B - bz[n])   int32, wrapping (C: QGemm's int32 bias,
 *         element m * c_sm + n * c_sn; NULL = 0)
 *   s[n] = alpha * as * bs[n] (/ ys when ys), float32 in that order
 *   y = clamp(round_half_even(float(acc) * s[n]) + yz) in int8 / uint8 when yz (y_s), else
 *       float(acc) * s[n] (+ bias[n] when bias) in float32.
 * bs / bz hold one value or one per column (bs_n / bz_n); az one value. */
typedef struct {
    int32_t batch, M, N, K;
    int32_t a_s, b_s, y_s;    /* 1 = int8, 0 = uint8 */
    int32_t ta, tb, b_batch;  /* transposed A / B; B has A's batch */
    int32_t bs_n, bz_n;       /* b_scale / b_zero_point per column */
    int32_t c_sm, c_sn;       /* C's strides over [M, N] */
    float alpha;
} wk_seq_qgemm_t;

static void wk_seq_qgemm(const wk_seq_qgemm_t *p, const void *a, const float *as, const void *az, const void *b,
                         const float *bs, const void *bz, const int32_t *c, const float *ys, const void *yz,
                         const float *bias, void *y) {
    const int32_t M = p->M, N = p->N, K = p->K;
    const int32_t azv = wk_seq_q8(az, 0, p->a_s), yzv = wk_seq_q8(yz, 0, p->y_s);
    int32_t bt, m, n, k;
    for (bt = 0; bt < p->batch; bt++)
        for (m = 0; m < M; m++)
            for (n = 0; n < N; n++) {
                const int32_t bzv = wk_seq_q8(bz, p->bz_n ? n : 0, p->b_s);
                const int32_t b0 = p->b_batch ? bt * K * N : 0;
                size_t e = ((size_t)bt * M + m) * N + n;
                uint32_t acc = c ? (uint32_t)c[m * p->c_sm + n * p->c_sn] : 0u;
                float s = p->alpha * as[0] * bs[p->bs_n ? n : 0];
                if (ys) s /= ys[0];
                for (k = 0; k < K; k++) {
                    int32_t av = wk_seq_q8(a, p->ta ? k * M + m : (bt * M + m) * K + k, p->a_s);
                    int32_t bv = wk_seq_q8(b, p->tb ? n * K + k : b0 + k * N + n, p->b_s);
                    acc += (uint32_t)((av - azv) * (bv - bzv));
                }
                if (yz) {
                    int32_t v = wk_quant_f32((float)(int32_t)acc * s, 1.0f, yzv, p->y_s ? -128 : 0, p->y_s ? 127 : 255);
                    ((unsigned char *)y)[e] = (unsigned char)(v & 255);
                } else {
                    float v = (float)(int32_t)acc * s;
                    ((float *)y)[e] = bias ? v + bias[n] : v;
                }
            }
}
