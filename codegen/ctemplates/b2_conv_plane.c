/* ---- one output plane of a float Conv (FusedConv, Conv) ----
 * ym [OH, OW] = act(conv(xg, wm) + bias) for one image and one output channel: xg [C/G, H, W]
 * is the image's input channels of the channel's group, wm [C/G, KH, KW] the channel's
 * weights, bm its bias (NULL: none). Each output is one float sum over (channel, kh, kw) in
 * that order starting from 0, taps in the padding skipped, then the bias, then the activation
 * (wafer's reference order: product, bias, activation). The sums are kept in ym and grown tap
 * by tap over a whole row of outputs (contiguous for stride 1): the same additions in the same
 * order for every output, with no bounds test per tap. */
static void wk_conv_plane_f32(const float *restrict xg, const float *restrict wm, const float *bm,
                              float *restrict ym, const wk_geom *g, int act, float alpha, float beta) {
    const wk_geom G = *g; /* a local copy: stores to the outputs cannot alias it */
    const int32_t Cg = G.C / G.G, P = G.OH * G.OW;
    int32_t oh, ow, c, kh, kw, lo, hi, hlo, hhi, p;
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
    for (p = 0; p < P; p++) ym[p] = wk_act(act, bm ? ym[p] + *bm : ym[p], alpha, beta);
}
