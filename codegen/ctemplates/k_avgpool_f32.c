/* ---- AveragePool in float: y = (sum of the window's taps in double) / count ----
 * x [N, C, H, W] -> y [N, C, OH, OW] (geometry in g, M = C; ph1, pw1 the trailing pads).
 * count = taps inside the input, or with count_include_pad the taps inside the padded
 * extent [-pad, size + trailing pad); the reference kernel's arithmetic (sum in double,
 * one division, rounded to float once). */
static void wk_avgpool_f32(const float *x, float *y, const wk_geom *g, int32_t ph1, int32_t pw1, int include_pad) {
    int32_t p, oh, ow, kh, kw;
    for (p = 0; p < g->N * g->C; p++) {
        const float *xp = x + (size_t)p * g->H * g->W;
        float *yp = y + (size_t)p * g->OH * g->OW;
        for (oh = 0; oh < g->OH; oh++)
            for (ow = 0; ow < g->OW; ow++) {
                double s = 0.0;
                const int32_t count = wk_pool_count(g, oh, ow, ph1, pw1, include_pad);
                for (kh = 0; kh < g->KH; kh++) {
                    int32_t ih = oh * g->SH - g->PH + kh * g->DH;
                    if (ih < 0 || ih >= g->H) continue;
                    for (kw = 0; kw < g->KW; kw++) {
                        int32_t iw = ow * g->SW - g->PW + kw * g->DW;
                        if (iw < 0 || iw >= g->W) continue;
                        s += xp[ih * g->W + iw];
                    }
                }
                yp[oh * g->OW + ow] = (float)(s / (double)count); /* an empty window: 0 / 0 = NaN */
            }
    }
}
