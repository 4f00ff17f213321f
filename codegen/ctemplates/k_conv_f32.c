/* ---- Conv in float (FusedConv, Conv): y = act(conv(x, w) + b) ----
 * x [N, C, H, W], w [M, C/G, KH, KW], b [M] or NULL, y [N, M, OH, OW]. Each output is one
 * float sum over (channel, kh, kw) in that order, taps in the padding skipped, then the bias,
 * then the activation (the order of wafer's reference kernel: product, bias, activation). */
static void wk_conv_f32(const float *x, const float *w, const float *b, float *y, const wk_geom *g,
                        int act, float alpha, float beta) {
    const int32_t Cg = g->C / g->G, Mg = g->M / g->G, KK = g->KH * g->KW;
    int32_t n, m, oh, ow, c, kh, kw;
    for (n = 0; n < g->N; n++)
        for (m = 0; m < g->M; m++) {
            const float *wm = w + (size_t)m * Cg * KK;
            const float *xg = x + ((size_t)n * g->C + (size_t)(m / Mg) * Cg) * g->H * g->W;
            float *ym = y + ((size_t)n * g->M + m) * g->OH * g->OW;
            for (oh = 0; oh < g->OH; oh++)
                for (ow = 0; ow < g->OW; ow++) {
                    float s = 0.0f;
                    for (c = 0; c < Cg; c++) {
                        const float *xc = xg + (size_t)c * g->H * g->W, *wc = wm + c * KK;
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
