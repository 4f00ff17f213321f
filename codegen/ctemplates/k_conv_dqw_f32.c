/* ---- Conv in float whose weights are dequantized one output channel at a time ----
 * For low-bit weights stored as int8 codes with DequantizeLinear scales (b0_dq): instead of a
 * float copy of all of W in the arena, the C/G * KH * KW weights of output channel m are
 * dequantized into w (arena scratch planned for this node) before its outputs are computed:
 * the same float values as DequantizeLinear's, then exactly wk_conv_f32's sums. */
static void wk_conv_dqw_f32(const float *restrict x, const wk_dq *wq, const float *restrict b,
                            float *restrict y, const wk_geom *g, int act, float alpha, float beta,
                            float *restrict w) {
    const wk_geom G = *g; /* a local copy: stores to the outputs cannot alias it */
    const int32_t Cg = G.C / G.G, Mg = G.M / G.G, KK = G.KH * G.KW, P = G.OH * G.OW;
    int32_t n, m, oh, ow, c, kh, kw, lo, hi, hlo, hhi, p, e;
    for (n = 0; n < G.N; n++)
        for (m = 0; m < G.M; m++) {
            const float *wm = w; /* channel m's weights, dequantized into the scratch row */
            const float *xg = x + ((size_t)n * G.C + (size_t)(m / Mg) * Cg) * G.H * G.W;
            float *ym = y + ((size_t)n * G.M + m) * P;
            for (e = 0; e < Cg * KK; e++) w[e] = wk_dqw(wq, m * Cg * KK + e);
            for (p = 0; p < P; p++) ym[p] = 0.0f;
            for (c = 0; c < Cg; c++)
                for (kh = 0; kh < G.KH; kh++)
                    for (kw = 0; kw < G.KW; kw++) {
                        const float wv = wm[(c * G.KH + kh) * G.KW + kw];
                        wk_tap_range(kw, G.SW, G.PW, G.DW, G.W, G.OW, &lo, &hi);
                        wk_tap_range(kh, G.SH, G.PH, G.DH, G.H, G.OH, &hlo, &hhi);
                        if (G.SW == 1 && G.SH == 1 && lo == 0 && hi == G.OW && G.W == G.OW) {
                            /* whole rows, consecutive in x and y: one span */
                            const int32_t span = (hhi - hlo) * G.OW;
                            const float *xs = xg + ((size_t)c * G.H + hlo - G.PH + kh * G.DH) * G.W; /* off = 0 */
                            float *ys = ym + hlo * G.OW;
                            for (p = 0; p < span; p++) ys[p] += xs[p] * wv;
                            continue;
                        }
                        for (oh = hlo; oh < hhi; oh++) {
                            /* xr[ow * SW + off] for ow in [lo, hi): off = kw * DW - PW may be < 0, so the
                             * row is indexed from its start (no pointer before the array) */
                            const float *xr = xg + ((size_t)c * G.H + oh * G.SH - G.PH + kh * G.DH) * G.W;
                            const int32_t off = kw * G.DW - G.PW;
                            float *yr = ym + oh * G.OW;
                            if (G.SW == 1)
                                for (ow = lo; ow < hi; ow++) yr[ow] += xr[ow + off] * wv;
                            else
                                for (ow = lo; ow < hi; ow++) yr[ow] += xr[ow * G.SW + off] * wv;
                        }
                    }
            for (p = 0; p < P; p++) ym[p] = wk_act(act, b ? ym[p] + b[m] : ym[p], alpha, beta);
        }
}
