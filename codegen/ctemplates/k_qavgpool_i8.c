/* ---- QAveragePool int8 ----
 * s = sum over the window's taps inside the input of (x - x_zp) (padding is the real 0,
 * i.e. x_zp); count as AveragePool's (taps inside the input, or with count_include_pad
 * inside the padded extent); avg = s / count rounded half away from zero (0 for an empty
 * window); y = clamp(apply(avg, x_scale / y_scale) + y_zp, lo, hi). */
static void wk_qavgpool_i8(const int8_t *x, int32_t xz, int32_t mult, int32_t shift, int32_t yz, int32_t lo,
                           int32_t hi, int8_t *y, const wk_geom *g, int32_t ph1, int32_t pw1, int include_pad) {
    int32_t p, oh, ow, kh, kw;
    for (p = 0; p < g->N * g->C; p++) {
        const int8_t *xp = x + (size_t)p * g->H * g->W;
        int8_t *yp = y + (size_t)p * g->OH * g->OW;
        for (oh = 0; oh < g->OH; oh++)
            for (ow = 0; ow < g->OW; ow++) {
                const int32_t count = wk_pool_count(g, oh, ow, ph1, pw1, include_pad);
                int32_t s = 0, avg;
                for (kh = 0; kh < g->KH; kh++) {
                    int32_t ih = oh * g->SH - g->PH + kh * g->DH;
                    if (ih < 0 || ih >= g->H) continue;
                    for (kw = 0; kw < g->KW; kw++) {
                        int32_t iw = ow * g->SW - g->PW + kw * g->DW;
                        if (iw < 0 || iw >= g->W) continue;
                        s += (int32_t)xp[ih * g->W + iw] - xz;
                    }
                }
                avg = count > 0 ? (s >= 0 ? (s + count / 2) / count : -((-s + count / 2) / count)) : 0;
                yp[oh * g->OW + ow] = (int8_t)wk_requant_out(avg, mult, shift, yz, lo, hi);
            }
    }
}
