/* ---- wafer kernel support: erf(x) in float ----
 * With libm, erff. Without (WK_NO_LIBM): |x| < 0.5 the Maclaurin series
 * 2/sqrt(pi) (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320 + x^13/9360) (relative
 * truncation error < 1e-8); above, Abramowitz & Stegun 7.1.26,
 * 1 - (a1 t + ... + a5 t^5) exp(-x^2), t = 1 / (1 + p|x|), absolute error <= 1.5e-7;
 * |x| >= 4 gives +-1. Odd: the sign is restored at the end. */
#if WK_NO_LIBM
static float wk_erff(float x) {
    float a = x < 0 ? -x : x, r;
    if (x != x) return x;
    if (a >= 4.0f) return x < 0 ? -1.0f : 1.0f;
    if (a < 0.5f) {
        float z = a * a;
        r = 1.0f / 9360.0f;
        r = r * z - 1.0f / 1320.0f;
        r = r * z + 1.0f / 216.0f;
        r = r * z - 1.0f / 42.0f;
        r = r * z + 1.0f / 10.0f;
        r = r * z - 1.0f / 3.0f;
        r = r * z + 1.0f;
        r = 1.12837916709551257f * a * r;
    } else {
        float t = 1.0f / (1.0f + 0.3275911f * a);
        r = 1.061405429f;
        r = r * t - 1.453152027f;
        r = r * t + 1.421413741f;
        r = r * t - 0.284496736f;
        r = r * t + 0.254829592f;
        r = 1.0f - r * t * wk_expf(-a * a);
    }
    return x < 0 ? -r : r;
}
#else
static float wk_erff(float x) { return erff(x); }
#endif
