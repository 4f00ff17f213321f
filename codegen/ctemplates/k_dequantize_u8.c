/* ---- DequantizeLinear uint8 -> float: y = float(x - zp) * s ----
 * Layout of the scales and zero points as wk_quantize_i8's; zp NULL = 0. */
static void wk_dequantize_u8(const uint8_t *x, const float *sc, const uint8_t *zp, float *y, int32_t outer,
                             int32_t D, int32_t inner, int32_t block, int32_t so, int32_t sa, int32_t si) {
    int32_t o, a, i;
    for (o = 0; o < outer; o++)
        for (a = 0; a < D; a++) {
            int32_t sb = o * so + (a / block) * sa;
            size_t e0 = ((size_t)o * D + a) * inner;
            for (i = 0; i < inner; i++) {
                int32_t s = sb + i * si;
                y[e0 + i] = (float)((int32_t)x[e0 + i] - (zp ? zp[s] : 0)) * sc[s];
            }
        }
}
