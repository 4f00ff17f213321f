/* ---- wafer kernel support: sinh(x) in float ----
 * With libm, sinhf. Without (WK_NO_LIBM): odd; |x| < 1 from e = expm1|x| as
 * (e + e / (e + 1)) / 2 (no cancellation near 0); up to 88 (exp(|x|) - 1 / exp(|x|)) / 2;
 * above, where exp overflows before sinh does, w^2 / 2 with w = exp(|x| / 2). */
#if WK_NO_LIBM
static float wk_sinhf(float x) {
    float a = x < 0 ? -x : x, r, e;
    if (x != x) return x;
    if (a < 1.0f) {
        e = wk_expm1f(a);
        r = 0.5f * (e + e / (e + 1.0f));
    } else if (a < 88.0f) {
        e = wk_expf(a);
        r = 0.5f * (e - 1.0f / e);
    } else {
        e = wk_expf(0.5f * a);
        r = (0.5f * e) * e;
    }
    return x < 0 ? -r : r;
}
#else
static float wk_sinhf(float x) { return sinhf(x); }
#endif
