/* ---- wafer kernel support: exp(x) - 1 in float, accurate near 0 ----
 * With libm, expm1f. Without (WK_NO_LIBM): |x| < 0.5 by its Taylor polynomial to x^9 / 9!
 * (truncation below 1e-9 relative), elsewhere wk_expf(x) - 1, where the subtraction loses
 * nothing that matters (|result| > 0.39). Needs b0_exp. */
#if WK_NO_LIBM
static float wk_expm1f(float x) {
    float p;
    if (!(x > -0.5f && x < 0.5f)) return wk_expf(x) - 1.0f;
    p = 1.0f / 362880.0f;
    p = p * x + 1.0f / 40320.0f;
    p = p * x + 1.0f / 5040.0f;
    p = p * x + 1.0f / 720.0f;
    p = p * x + 1.0f / 120.0f;
    p = p * x + 1.0f / 24.0f;
    p = p * x + 1.0f / 6.0f;
    p = p * x + 0.5f;
    return (p * x) * x + x;
}
#else
static float wk_expm1f(float x) { return expm1f(x); }
#endif
