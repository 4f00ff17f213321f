/* ---- DynamicQuantizeLinear: float -> uint8 with the scale and zero point of x's range ----
 * As the runtime's quant.c (and onnxruntime): the range [lo, hi] of x widened to include 0
 * (NaNs are skipped); scale = (hi - lo) / 255 (1 when hi == lo); zero point =
 * round_half_even(clamp(-lo / scale, 0, 255)); y = clamp(round_half_even(x / scale) + zp,
 * 0, 255), the division in float (b0_quant). Any output may be NULL (unused). */
static void wk_seq_dql(const float *x, int32_t n, uint8_t *y, float *ys, uint8_t *yz) {
    float lo = 0.0f, hi = 0.0f, scale, z0;
    int32_t i, zp;
    for (i = 0; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    z0 = 0.0f - lo / scale;
    zp = wk_quant_f32(z0 < 0.0f ? 0.0f : z0 > 255.0f ? 255.0f : z0, 1.0f, 0, 0, 255);
    if (y)
        for (i = 0; i < n; i++) y[i] = (uint8_t)wk_quant_f32(x[i], scale, zp, 0, 255);
    if (ys) *ys = scale;
    if (yz) *yz = (uint8_t)zp;
}
