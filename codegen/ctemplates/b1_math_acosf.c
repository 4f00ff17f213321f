/* ---- wafer kernel support: acos(x) in float ----
 * With libm, acosf. Without (WK_NO_LIBM): 2 atan(sqrt((1 - x) / (1 + x))) in double
 * (no cancellation near x = 1, where acos is small); |x| > 1 gives NaN, -1 gives pi. */
#if WK_NO_LIBM
static float wk_acosf(float x) {
    double d;
    if (!(x >= -1.0f && x <= 1.0f)) return (x - x) / (x - x); /* NaN */
    if (x == -1.0f) return 3.14159265358979324f;
    d = (1.0 - (double)x) / (1.0 + (double)x);
    return d == 0 ? 0.0f : (float)(2.0 * wk_atan_d(d * wk_rsqrt(d)));
}
#else
static float wk_acosf(float x) { return acosf(x); }
#endif
