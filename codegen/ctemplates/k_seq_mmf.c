/* ---- onnxruntime's integer matmuls to float: MatMulIntegerToFloat and DynamicQuantizeMatMul
 * (after wk_seq_dql), as the runtime's qlinear_contrib_ops.c ----
 * A [batch, M, K] and B [K, N] or, with b_batch, [batch, K, N], int8 or uint8 (a_s, b_s):
 *   acc = sum_k (A - az)(B - bz[n])   int32, wrapping
 *   y = float(acc) * (as * bs[n]) (+ bias[n] when bias), float32, the scale product first.
 * bs / bz hold one value or one per column (bs_n / bz_n); az one value (NULL = 0). */
typedef struct {
    int32_t batch, M, N, K;
    int32_t a_s, b_s;         /* 1 = int8, 0 = uint8 */
    int32_t b_batch;          /* B has A's batch */
    int32_t bs_n, bz_n;       /* b_scale / b_zero_point per column */
} wk_seq_mmf_t;

static void wk_seq_mmf(const wk_seq_mmf_t *p, const void *a, const float *as, const void *az, const void *b,
                       const float *bs, const void *bz, const float *bias, float *y) {
    const int32_t M = p->M, N = p->N, K = p->K;
    const int32_t azv = wk_seq_q8(az, 0, p->a_s);
    int32_t bt, m, n, k;
    for (bt = 0; bt < p->batch; bt++)
        for (m = 0; m < M; m++)
            for (n = 0; n < N; n++) {
                const int32_t bzv = wk_seq_q8(bz, p->bz_n ? n : 0, p->b_s);
                const int32_t a0 = (bt * M + m) * K, b0 = (p->b_batch ? bt * K * N : 0) + n;
                const float s = as[0] * bs[p->bs_n ? n : 0];
                uint32_t acc = 0;
                float v;
                for (k = 0; k < K; k++)
                    acc += (uint32_t)((wk_seq_q8(a, a0 + k, p->a_s) - azv) * (wk_seq_q8(b, b0 + k * N, p->b_s) - bzv));
                v = (float)(int32_t)acc * s;
                y[((size_t)bt * M + m) * N + n] = bias ? v + bias[n] : v;
            }
}
