/* ---- Conv in float whose weights are dequantized one output channel at a time ----
 * For low-bit weights stored as int8 codes with DequantizeLinear scales: instead of a float
 * copy of all of W in the arena, the C/G * KH * KW weights of output channel m are
 * dequantized into wrow (arena scratch planned for this node) before its outputs are
 * computed: W[e] = float(q[e] - zp[s]) * sc[s] (the DequantizeLinear formula, so the same
 * float values), e the element's index in W [M, C/G, KH, KW] viewed as [outer, D, inner]
 * around the quantization axis, s = o * so + (a / block) * sa + i * si. Then exactly
 * wk_conv_f32's sums. */
static void wk_conv_dqw_f32(const float *x, const wk_dq *w, const float *b, float *y, const wk_geom *g, int act,
                            float alpha, float beta, float *wrow) {
    const int32_t Cg = g->C / g->G, Mg = g->M / g->G, KK = g->KH * g->KW;
    int32_t n, m, oh, ow, c, kh, kw, e;
    for (n = 0; n < g->N; n++)
        for (m = 0; m < g->M; m++) {
            const float *xg = x + ((size_t)n * g->C + (size_t)(m / Mg) * Cg) * g->H * g->W;
            float *ym = y + ((size_t)n * g->M + m) * g->OH * g->OW;
            for (e = 0; e < Cg * KK; e++) wrow[e] = wk_dqw(w, m * Cg * KK + e);
            for (oh = 0; oh < g->OH; oh++)
                for (ow = 0; ow < g->OW; ow++) {
                    float s = 0.0f;
                    for (c = 0; c < Cg; c++) {
                        const float *xc = xg + (size_t)c * g->H * g->W, *wc = wrow + c * KK;
                        for (kh = 0; kh < g->KH; kh++) {
                            int32_t ih = oh * g->SH - g->PH + kh * g->DH;
                            if (ih < 0 || ih >= g->H) continue;
                            for (kw = 0; kw < g->KW; kw++) {
                                int32_t iw = ow * g->SW - g->PW + kw * g->DW;
                                if (iw < 0 || iw >= g->W) continue;
                                s += xc[ih * g->W + iw] * wc[kh * g->KW + kw];
                            }
                        }
                    }
                    if (b) s += b[m];
                    ym[oh * g->OW + ow] = wk_act(act, s, alpha, beta);
                }
        }
}
