/* ---- wafer kernel support: sqrt(x) in float ----
 * With libm, sqrtf. Without (WK_NO_LIBM): x * (1 / sqrt(x)) in double from b0_rsqrt
 * (relative error near 1e-16, so the float rounding is the correctly rounded one but for
 * rare near-ties); +-0, +inf and NaN come back unchanged, x < 0 gives NaN. */
#if WK_NO_LIBM
static float wk_sqrtf(float x) {
    if (x != x || x == 0 || x > 3.40282347e38f) return x;
    if (x < 0) return (x - x) / (x - x);
    return (float)((double)x * wk_rsqrt((double)x));
}
#else
static float wk_sqrtf(float x) { return sqrtf(x); }
#endif
