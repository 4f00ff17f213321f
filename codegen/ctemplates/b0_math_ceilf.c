/* ---- wafer kernel support: ceil(v): the smallest integer >= v, in float ----
 * With libm, ceilf. Without (WK_NO_LIBM): |v| >= 2^23, infinities and
 * NaN are integers already and come back unchanged; below, t = trunc(v) by an in-range
 * integer cast, the fraction v - t is exact, and t moves by one as the op says. A zero
 * result keeps v's sign, as libm's does. */
#if WK_NO_LIBM
static float wk_ceilf(float v) {
    float t;
    int32_t i;
    if (!(v > -8388608.0f && v < 8388608.0f) || v == 0) return v;
    i = (int32_t)v;
    t = (float)i;
    if (t < v) t += 1.0f;
    return t == 0 ? (v < 0 ? -0.0f : 0.0f) : t;
}
#else
static float wk_ceilf(float v) { return ceilf(v); }
#endif
