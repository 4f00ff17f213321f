/* ---- wafer kernel support: acosh(x) in float ----
 * With libm, acoshf. Without (WK_NO_LIBM): x < 1 gives NaN; x >= 2^28:
 * log x + ln 2; x >= 2: log(2x - 1 / (x + sqrt(x^2 - 1))); below: log1p(t + sqrt(2t + t^2)),
 * t = x - 1 (exact): arguments in double (b0_rsqrt's root) and rounded once. */
#if WK_NO_LIBM
static float wk_acoshf(float x) {
    double t, d;
    if (x != x) return x;
    if (x < 1.0f) return (x - x) / (x - x); /* NaN */
    if (x > 3.40282347e38f) return x;
    if (x >= 268435456.0f) return wk_logf(x) + 0.693147180559945309f;
    if (x >= 2.0f) {
        d = (double)x * (double)x - 1.0;
        return wk_logf((float)(2.0 * (double)x - 1.0 / ((double)x + d * wk_rsqrt(d))));
    }
    t = (double)x - 1.0;
    d = 2.0 * t + t * t;
    return d == 0 ? 0.0f : wk_log1pf((float)(t + d * wk_rsqrt(d)));
}
#else
static float wk_acoshf(float x) { return acoshf(x); }
#endif
