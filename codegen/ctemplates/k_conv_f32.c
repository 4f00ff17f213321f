/* ---- Conv in float (FusedConv, Conv): y = act(conv(x, w) + b) ----
 * x [N, C, H, W], w [M, C/G, KH, KW], b [M] or NULL, y [N, M, OH, OW]: one plane per image
 * and output channel (wk_conv_plane_f32 gives the order of the sums). */
static void wk_conv_f32(const float *restrict x, const float *restrict w, const float *restrict b,
                        float *restrict y, const wk_geom *g, int act, float alpha, float beta) {
    const int32_t Cg = g->C / g->G, Mg = g->M / g->G, KK = g->KH * g->KW, P = g->OH * g->OW;
    int32_t n, m;
    for (n = 0; n < g->N; n++)
        for (m = 0; m < g->M; m++)
            wk_conv_plane_f32(x + ((size_t)n * g->C + (size_t)(m / Mg) * Cg) * g->H * g->W, w + (size_t)m * Cg * KK,
                              b ? b + m : NULL, y + ((size_t)n * g->M + m) * P, g, act, alpha, beta);
}
