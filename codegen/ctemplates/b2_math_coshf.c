/* ---- wafer kernel support: cosh(x) in float ----
 * With libm, coshf. Without (WK_NO_LIBM): even; |x| < 1 from e = expm1|x| as
 * 1 + e^2 / (2 (e + 1)); up to 88 (exp(|x|) + 1 / exp(|x|)) / 2; above, w^2 / 2 with
 * w = exp(|x| / 2) (exp overflows before cosh does). */
#if WK_NO_LIBM
static float wk_coshf(float x) {
    float a = x < 0 ? -x : x, e;
    if (x != x) return x;
    if (a < 1.0f) {
        e = wk_expm1f(a);
        return 1.0f + e * e / (2.0f * (e + 1.0f));
    }
    if (a < 88.0f) {
        e = wk_expf(a);
        return 0.5f * (e + 1.0f / e);
    }
    e = wk_expf(0.5f * a);
    return (0.5f * e) * e;
}
#else
static float wk_coshf(float x) { return coshf(x); }
#endif
