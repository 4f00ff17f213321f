/* ---- com.microsoft QLinearAveragePool (int8 / uint8), as the runtime's qlinear_contrib_ops.c ----
 * g: the window geometry (no dilations); x [N, C, spatial] or channels_last (cl). The window's
 * taps inside the input dequantized (sx * (x - zx)) and summed in float32, divided by the tap
 * count (include_pad: the kernel size), y = clamp(round_half_even(avg / sy + zy)). s 1 = int8. */
static void wk_qc_avgpool(const void *x, const float *sx, const void *zx, const float *sy, const void *zy, void *y,
                          const wk_pool3 *g, int32_t N, int32_t C, int cl, int include_pad, int32_t s) {
    int32_t b, ch, o0, o1, o2, t0, t1, t2, r[3][2];
    const int32_t zxv = wk_seq_q8(zx, 0, s), zyv = wk_seq_q8(zy, 0, s);
    const int64_t pin = (int64_t)g->in[0] * g->in[1] * g->in[2], pout = (int64_t)g->out[0] * g->out[1] * g->out[2];
    const int64_t ksz = (int64_t)g->k[0] * g->k[1] * g->k[2];
    for (b = 0; b < N; b++)
        for (ch = 0; ch < C; ch++)
            for (o0 = 0; o0 < g->out[0]; o0++)
                for (o1 = 0; o1 < g->out[1]; o1++)
                    for (o2 = 0; o2 < g->out[2]; o2++) {
                        float sum = 0.0f, avg;
                        int64_t taps, cnt;
                        int32_t v, p = (o0 * g->out[1] + o1) * g->out[2] + o2;
                        wk_pool3_taps(o0, g->s[0], g->p0[0], 1, g->k[0], g->in[0], &r[0][0], &r[0][1]);
                        wk_pool3_taps(o1, g->s[1], g->p0[1], 1, g->k[1], g->in[1], &r[1][0], &r[1][1]);
                        wk_pool3_taps(o2, g->s[2], g->p0[2], 1, g->k[2], g->in[2], &r[2][0], &r[2][1]);
                        taps = (int64_t)(r[0][1] > r[0][0] ? r[0][1] - r[0][0] : 0) *
                               (r[1][1] > r[1][0] ? r[1][1] - r[1][0] : 0) * (r[2][1] > r[2][0] ? r[2][1] - r[2][0] : 0);
                        for (t0 = r[0][0]; t0 < r[0][1]; t0++)
                            for (t1 = r[1][0]; t1 < r[1][1]; t1++)
                                for (t2 = r[2][0]; t2 < r[2][1]; t2++) {
                                    int32_t q = ((o0 * g->s[0] - g->p0[0] + t0) * g->in[1] + (o1 * g->s[1] - g->p0[1] + t1)) *
                                                    g->in[2] + (o2 * g->s[2] - g->p0[2] + t2);
                                    sum += sx[0] * (float)(wk_seq_q8(x, wk_qc_at(b, ch, q, C, pin, cl), s) - zxv);
                                }
                        cnt = include_pad ? ksz : taps;
                        avg = cnt > 0 ? sum / (float)cnt : 0.0f;
                        v = wk_quant_f32(avg / sy[0] + (float)zyv, 1.0f, 0, s ? -128 : 0, s ? 127 : 255);
                        ((unsigned char *)y)[wk_qc_at(b, ch, p, C, pout, cl)] = (unsigned char)(v & 255);
                    }
}
