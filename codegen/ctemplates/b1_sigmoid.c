/* ---- wafer kernel support: sigmoid without overflow ----
 * v >= 0: 1 / (1 + exp(-v)); v < 0: e / (1 + e) with e = exp(v) in (0, 1). */
static float wk_sigmoidf(float v) {
    float e;
    if (v >= 0) return 1.0f / (1.0f + wk_expf(-v));
    e = wk_expf(v);
    return e / (1.0f + e);
}
