/* ---- Conv over 3-D windows in float (FusedConv, Conv of x [N, C, D, H, W]) ----
 * y [N, M, OD, OH, OW] = act(conv(x, w) + b): w [M, C/G, KD, KH, KW], b [M] or NULL; the
 * window geometry is the N-D pools' (wk_pool3: sizes, kernel, strides, dilations, leading
 * pads per axis, from the runtime's own conv_geom). Each output is one float sum over
 * (channel, kd, kh, kw) in that order from 0, taps in the padding skipped, then the bias, then
 * the activation (the reference kernel's order). */
static void wk_conv3_f32(const float *x, const float *w, const float *b, float *y, const wk_pool3 *g, int32_t N,
                         int32_t C, int32_t M, int32_t G, int act, float alpha, float beta) {
    const int32_t Cg = C / G, Mg = M / G, K0 = g->k[0], K1 = g->k[1], K2 = g->k[2];
    const int32_t I1 = g->in[1], I2 = g->in[2];
    const int64_t pin = (int64_t)g->in[0] * I1 * I2, pout = (int64_t)g->out[0] * g->out[1] * g->out[2];
    int32_t n, m, c, o[3], t0, t1, t2, lo[3], hi[3], a;
    for (n = 0; n < N; n++)
        for (m = 0; m < M; m++) {
            const float *xg = x + ((int64_t)n * C + (int64_t)(m / Mg) * Cg) * pin;
            const float *wm = w + (int64_t)m * Cg * K0 * K1 * K2;
            float *ym = y + ((int64_t)n * M + m) * pout;
            for (o[0] = 0; o[0] < g->out[0]; o[0]++)
                for (o[1] = 0; o[1] < g->out[1]; o[1]++)
                    for (o[2] = 0; o[2] < g->out[2]; o[2]++) {
                        float acc = 0.0f;
                        for (a = 0; a < 3; a++)
                            wk_pool3_taps(o[a], g->s[a], g->p0[a], g->d[a], g->k[a], g->in[a], &lo[a], &hi[a]);
                        for (c = 0; c < Cg; c++)
                            for (t0 = lo[0]; t0 < hi[0]; t0++) {
                                const int32_t i0 = o[0] * g->s[0] - g->p0[0] + t0 * g->d[0];
                                for (t1 = lo[1]; t1 < hi[1]; t1++) {
                                    const int32_t i1 = o[1] * g->s[1] - g->p0[1] + t1 * g->d[1];
                                    const float *xr = xg + c * pin + ((int64_t)i0 * I1 + i1) * I2;
                                    const float *wr = wm + ((c * K0 + t0) * K1 + t1) * K2;
                                    for (t2 = lo[2]; t2 < hi[2]; t2++)
                                        acc += xr[o[2] * g->s[2] - g->p0[2] + t2 * g->d[2]] * wr[t2];
                                }
                            }
                        if (b) acc += b[m];
                        *ym++ = wk_act(act, acc, alpha, beta);
                    }
        }
}
