/* ---- wafer kernel support: asinh(x) in float ----
 * With libm, asinhf. Without (WK_NO_LIBM): odd; |x| >= 2^28: log|x| + ln 2;
 * else log1p(|x| + x^2 / (1 + sqrt(1 + x^2))), the argument in double (b0_rsqrt's root)
 * and rounded once. */
#if WK_NO_LIBM
static float wk_asinhf(float x) {
    float a = x < 0 ? -x : x, r;
    double d, t;
    if (x != x || a > 3.40282347e38f) return x;
    if (a >= 268435456.0f) {
        r = wk_logf(a) + 0.693147180559945309f;
    } else {
        d = (double)a * (double)a;
        t = 1.0 + d;
        r = wk_log1pf((float)((double)a + d / (1.0 + t * wk_rsqrt(t))));
    }
    return x < 0 ? -r : r;
}
#else
static float wk_asinhf(float x) { return asinhf(x); }
#endif
