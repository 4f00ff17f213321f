/* ---- Conv in float whose weights are dequantized one output channel at a time ----
 * For low-bit weights stored as int8 codes with DequantizeLinear scales (b0_dq): instead of a
 * float copy of all of W in the arena, the C/G * KH * KW weights of output channel m are
 * dequantized into w (arena scratch planned for this node) before its outputs are computed:
 * the same float values as DequantizeLinear's, then exactly wk_conv_f32's sums. */
static void wk_conv_dqw_f32(const float *restrict x, const wk_dq *wq, const float *restrict b,
                            float *restrict y, const wk_geom *g, int act, float alpha, float beta,
                            float *restrict w) {
    const int32_t Cg = g->C / g->G, Mg = g->M / g->G, KK = g->KH * g->KW, P = g->OH * g->OW;
    int32_t n, m, e;
    for (n = 0; n < g->N; n++)
        for (m = 0; m < g->M; m++) {
            for (e = 0; e < Cg * KK; e++) w[e] = wk_dqw(wq, m * Cg * KK + e);
            wk_conv_plane_f32(x + ((size_t)n * g->C + (size_t)(m / Mg) * Cg) * g->H * g->W, w, b ? b + m : NULL,
                              y + ((size_t)n * g->M + m) * P, g, act, alpha, beta);
        }
}
