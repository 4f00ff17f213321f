/* ---- MaxPool in float: y = max over each window, padding never wins ----
 * x [N, C, H, W] -> y [N, C, OH, OW] (geometry in g, M = C). NaN never replaces the first
 * tap in the window (comparisons with NaN are false), as wafer's reference kernel. */
static void wk_maxpool_f32(const float *x, float *y, const wk_geom *g) {
    int32_t p, oh, ow, kh, kw;
    for (p = 0; p < g->N * g->C; p++) {
        const float *xp = x + (size_t)p * g->H * g->W;
        float *yp = y + (size_t)p * g->OH * g->OW;
        for (oh = 0; oh < g->OH; oh++)
            for (ow = 0; ow < g->OW; ow++) {
                float best = 0.0f;
                int any = 0;
                for (kh = 0; kh < g->KH; kh++) {
                    int32_t ih = oh * g->SH - g->PH + kh * g->DH;
                    if (ih < 0 || ih >= g->H) continue;
                    for (kw = 0; kw < g->KW; kw++) {
                        int32_t iw = ow * g->SW - g->PW + kw * g->DW;
                        float v;
                        if (iw < 0 || iw >= g->W) continue;
                        v = xp[ih * g->W + iw];
                        if (v > best || !any) best = v, any = 1;
                    }
                }
                yp[oh * g->OW + ow] = best;
            }
    }
}
