/* ---- com.microsoft QLinearGlobalAveragePool (int8 / uint8), as the runtime's qlinear_contrib.c ----
 * y[b, ch] = clamp(round_half_even(float(sum_q x - zx * S) * (sx / (sy * S))) + zy), the sum
 * exact in 64 bits; x [N, C, S] or channels_last (cl) [N, S, C]. s 1 = int8. */
static void wk_qc_gap(const void *x, const float *sx, const void *zx, const float *sy, const void *zy, void *y,
                      int32_t N, int32_t C, int32_t S, int cl, int32_t s) {
    int32_t b, ch, q;
    const int32_t zxv = wk_seq_q8(zx, 0, s), zyv = wk_seq_q8(zy, 0, s);
    const float scale = sx[0] / (sy[0] * (float)S);
    for (b = 0; b < N; b++)
        for (ch = 0; ch < C; ch++) {
            int64_t sum = 0;
            int32_t v;
            for (q = 0; q < S; q++) sum += wk_seq_q8(x, wk_qc_at(b, ch, q, C, S, cl), s);
            v = S > 0 ? wk_quant_f32((float)(int32_t)(sum - (int64_t)zxv * S) * scale, 1.0f, zyv, s ? -128 : 0, s ? 127 : 255)
                      : zyv;
            ((unsigned char *)y)[(int64_t)b * C + ch] = (unsigned char)(v & 255);
        }
}
