/* ---- QConv int8: y = clamp(apply(acc, M_m) + y_zp, lo, hi) ----
 * acc = b[m] + sum over (channel, kh, kw) of (x - x_zp)(w - w_zp[m]), int32 wrapping modulo
 * 2^32 (summed as uint32, so the order of the sum cannot change the result), padding taps
 * contribute 0. M_m = x_scale w_scale[m] / y_scale as mult[m], shift[m] (base_requant). */
static void wk_qconv_i8(const int8_t *x, int32_t xz, const int8_t *w, const int32_t *wz, const int32_t *b,
                        const int32_t *mult, const int32_t *shift, int32_t yz, int32_t lo, int32_t hi, int8_t *y,
                        const wk_geom *g) {
    const int32_t Cg = g->C / g->G, Mg = g->M / g->G, KK = g->KH * g->KW;
    int32_t n, m, oh, ow, c, kh, kw;
    for (n = 0; n < g->N; n++)
        for (m = 0; m < g->M; m++) {
            const int8_t *wm = w + (size_t)m * Cg * KK;
            const int8_t *xg = x + ((size_t)n * g->C + (size_t)(m / Mg) * Cg) * g->H * g->W;
            int8_t *ym = y + ((size_t)n * g->M + m) * g->OH * g->OW;
            const int32_t wzm = wz[m];
            for (oh = 0; oh < g->OH; oh++)
                for (ow = 0; ow < g->OW; ow++) {
                    uint32_t acc = b ? (uint32_t)b[m] : 0u;
                    for (c = 0; c < Cg; c++) {
                        const int8_t *xc = xg + (size_t)c * g->H * g->W, *wc = wm + c * KK;
                        for (kh = 0; kh < g->KH; kh++) {
                            int32_t ih = oh * g->SH - g->PH + kh * g->DH;
                            if (ih < 0 || ih >= g->H) continue;
                            for (kw = 0; kw < g->KW; kw++) {
                                int32_t iw = ow * g->SW - g->PW + kw * g->DW;
                                if (iw < 0 || iw >= g->W) continue;
                                acc += (uint32_t)(((int32_t)xc[ih * g->W + iw] - xz) *
                                                  ((int32_t)wc[kh * g->KW + kw] - wzm));
                            }
                        }
                    }
                    ym[oh * g->OW + ow] = (int8_t)wk_requant_out((int32_t)acc, mult[m], shift[m], yz, lo, hi);
                }
        }
}
