/* ---- wafer kernel support: float -> integer quantization, as QuantizeLinear ----
 * q = clamp(round_half_even(x / scale) + zp, lo, hi), x / scale in float (as onnxruntime and
 * wafer's runtime). Rounding without libm: t = trunc(q); the fraction q - t is exact in
 * float; ties go to the even neighbour. q is first clamped to +-2^20, beyond which every
 * 8- or 16-bit result saturates. */
static int32_t wk_quant_f32(float x, float scale, int32_t zp, int32_t lo, int32_t hi) {
    float q = x / scale, f;
    int32_t t, v;
    if (q != q) q = 0.0f;
    if (q > 1048576.0f) q = 1048576.0f;
    if (q < -1048576.0f) q = -1048576.0f;
    t = (int32_t)q;
    f = q - (float)t;
    if (f > 0.5f || (f == 0.5f && (t & 1))) t++;
    else if (f < -0.5f || (f == -0.5f && (t & 1))) t--;
    v = t + zp;
    return v < lo ? lo : v > hi ? hi : v;
}
