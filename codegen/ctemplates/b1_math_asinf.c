/* ---- wafer kernel support: asin(x) in float ----
 * With libm, asinf. Without (WK_NO_LIBM): atan(x / sqrt(1 - x^2)) in double
 * ((1 - x)(1 + x) is exact for a float x; the root is d rsqrt(d), b0_rsqrt); |x| > 1
 * gives NaN, +-1 gives +-pi/2 (x / 0 = +-inf). */
#if WK_NO_LIBM
static float wk_asinf(float x) {
    double d;
    if (!(x >= -1.0f && x <= 1.0f)) return (x - x) / (x - x); /* NaN */
    d = (1.0 - (double)x) * (1.0 + (double)x);
    if (d == 0) return x < 0 ? -1.57079632679489662f : 1.57079632679489662f;
    return (float)wk_atan_d((double)x / (d * wk_rsqrt(d)));
}
#else
static float wk_asinf(float x) { return asinf(x); }
#endif
