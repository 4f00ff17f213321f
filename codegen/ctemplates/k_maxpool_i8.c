/* ---- MaxPool in int8: y = max over each window, padding never wins ----
 * x [N, C, H, W] -> y [N, C, OH, OW] (geometry in g, M = C). Integer compare; the first
 * tap of a window starts the search. */
static void wk_maxpool_i8(const int8_t *x, int8_t *y, const wk_geom *g) {
    int32_t p, oh, ow, kh, kw;
    for (p = 0; p < g->N * g->C; p++) {
        const int8_t *xp = x + (size_t)p * g->H * g->W;
        int8_t *yp = y + (size_t)p * g->OH * g->OW;
        for (oh = 0; oh < g->OH; oh++)
            for (ow = 0; ow < g->OW; ow++) {
                int32_t best = -128; /* an empty window gives -128, as the reference */
                int any = 0;
                for (kh = 0; kh < g->KH; kh++) {
                    int32_t ih = oh * g->SH - g->PH + kh * g->DH;
                    if (ih < 0 || ih >= g->H) continue;
                    for (kw = 0; kw < g->KW; kw++) {
                        int32_t iw = ow * g->SW - g->PW + kw * g->DW;
                        int32_t v;
                        if (iw < 0 || iw >= g->W) continue;
                        v = xp[ih * g->W + iw];
                        if (v > best || !any) best = v, any = 1;
                    }
                }
                yp[oh * g->OW + ow] = (int8_t)best;
            }
    }
}
