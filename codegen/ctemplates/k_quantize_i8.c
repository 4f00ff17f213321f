/* ---- QuantizeLinear float -> int8: y = clamp(round_half_even(x / s) + zp, qmin, qmax) ----
 * x / s in float (as onnxruntime and wafer's runtime). x is viewed as [outer, D, inner]
 * around the quantization axis; element (o, a, i) takes scale and zero point
 * o * so + (a / block) * sa + i * si (all strides 0 per tensor). zp NULL = 0. [qmin, qmax]
 * is the int8 range, or a sub-byte type's held in int8_t (int4 -8..7, ...). The rounding is
 * b0_quant's. */
static void wk_quantize_i8(const float *x, const float *sc, const int8_t *zp, int8_t *y, int32_t outer,
                           int32_t D, int32_t inner, int32_t block, int32_t so, int32_t sa, int32_t si,
                           int32_t qmin, int32_t qmax) {
    int32_t o, a, i;
    for (o = 0; o < outer; o++)
        for (a = 0; a < D; a++) {
            int32_t sb = o * so + (a / block) * sa;
            size_t e0 = ((size_t)o * D + a) * inner;
            for (i = 0; i < inner; i++) {
                int32_t s = sb + i * si;
                y[e0 + i] = (int8_t)wk_quant_f32(x[e0 + i], sc[s], zp ? zp[s] : 0, qmin, qmax);
            }
        }
}
