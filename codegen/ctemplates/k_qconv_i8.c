/* ---- QConv int8: y = clamp(apply(acc, M_m) + y_zp, lo, hi) ----
 * acc = b[m] + sum over (channel, kh, kw) of (x - x_zp)(w - w_zp[m]), int32 wrapping modulo
 * 2^32 (summed as uint32, so the order of the sum cannot change the result), padding taps
 * contribute 0. M_m = x_scale w_scale[m] / y_scale as mult[m], shift[m] (b0_requant).
 * The sums of output channel m are grown tap by tap over whole rows of outputs in acc
 * (OH * OW uint32 of arena scratch planned for this node); taps of weight 0 are skipped. */
static void wk_qconv_i8(const int8_t *restrict x, int32_t xz, const int8_t *restrict w, const int32_t *wz,
                        const int32_t *b, const int32_t *mult, const int32_t *shift, int32_t yz, int32_t lo, int32_t hi,
                        int8_t *restrict y, const wk_geom *g, uint32_t *restrict acc) {
    const wk_geom G = *g; /* a local copy: stores to the outputs cannot alias it */
    const int32_t Cg = G.C / G.G, Mg = G.M / G.G, KK = G.KH * G.KW, P = G.OH * G.OW;
    int32_t n, m, oh, ow, c, kh, kw, olo, ohi, hlo, hhi, p;
    for (n = 0; n < G.N; n++)
        for (m = 0; m < G.M; m++) {
            const int8_t *wm = w + (size_t)m * Cg * KK;
            const int8_t *xg = x + ((size_t)n * G.C + (size_t)(m / Mg) * Cg) * G.H * G.W;
            int8_t *ym = y + ((size_t)n * G.M + m) * P;
            const uint32_t bias = b ? (uint32_t)b[m] : 0u;
            for (p = 0; p < P; p++) acc[p] = bias;
            for (c = 0; c < Cg; c++)
                for (kh = 0; kh < G.KH; kh++)
                    for (kw = 0; kw < G.KW; kw++) {
                        const int32_t wv = (int32_t)wm[(c * G.KH + kh) * G.KW + kw] - wz[m];
                        if (wv == 0) continue;
                        wk_tap_range(kw, G.SW, G.PW, G.DW, G.W, G.OW, &olo, &ohi);
                        wk_tap_range(kh, G.SH, G.PH, G.DH, G.H, G.OH, &hlo, &hhi);
                        if (G.SW == 1 && G.SH == 1 && olo == 0 && ohi == G.OW && G.W == G.OW) {
                            /* whole rows, consecutive in x and acc: one span */
                            const int32_t span = (hhi - hlo) * G.OW;
                            const int8_t *xs = xg + ((size_t)c * G.H + hlo - G.PH + kh * G.DH) * G.W; /* off = 0 */
                            uint32_t *as = acc + hlo * G.OW;
                            for (p = 0; p < span; p++) as[p] += (uint32_t)(((int32_t)xs[p] - xz) * wv);
                            continue;
                        }
                        for (oh = hlo; oh < hhi; oh++) {
                            /* indexed from the row's start: off = kw * DW - PW may be < 0 */
                            const int8_t *xr = xg + ((size_t)c * G.H + oh * G.SH - G.PH + kh * G.DH) * G.W;
                            const int32_t off = kw * G.DW - G.PW;
                            uint32_t *ar = acc + oh * G.OW;
                            if (G.SW == 1)
                                for (ow = olo; ow < ohi; ow++) ar[ow] += (uint32_t)(((int32_t)xr[ow + off] - xz) * wv);
                            else
                                for (ow = olo; ow < ohi; ow++)
                                    ar[ow] += (uint32_t)(((int32_t)xr[ow * G.SW + off] - xz) * wv);
                        }
                    }
            for (p = 0; p < P; p++) ym[p] = (int8_t)wk_requant_out((int32_t)acc[p], mult[m], shift[m], yz, lo, hi);
        }
}
