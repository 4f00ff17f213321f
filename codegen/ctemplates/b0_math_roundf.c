/* ---- wafer kernel support: round(v) to the nearest integer, ties to even (ONNX Round), float ----
 * With libm, nearbyintf (half to even under the default rounding mode). Without
 * (WK_NO_LIBM): |v| >= 2^23, infinities and NaN are integers already and come back
 * unchanged; below, t = trunc(v) by an in-range integer cast, the fraction v - t is exact,
 * and t moves by one as the op says. A zero result keeps v's sign, as libm's does. */
#if WK_NO_LIBM
static float wk_roundf(float v) {
    float t;
    int32_t i;
    if (!(v > -8388608.0f && v < 8388608.0f) || v == 0) return v;
    i = (int32_t)v;
    t = (float)i;
    if (v - t > 0.5f || (v - t == 0.5f && (i & 1))) t += 1.0f;
    else if (v - t < -0.5f || (v - t == -0.5f && (i & 1))) t -= 1.0f;
    return t == 0 ? (v < 0 ? -0.0f : 0.0f) : t;
}
#else
static float wk_roundf(float v) { return nearbyintf(v); }
#endif
