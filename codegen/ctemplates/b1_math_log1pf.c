/* ---- wafer kernel support: log(1 + x) in float, accurate for small x ----
 * With libm, log1pf. Without (WK_NO_LIBM): log(u) x / (u - 1) with u = 1 + x rounded
 * (Kahan's trick: the rounding of u cancels out), and x itself when u rounds to 1. Needs
 * b0_math_logf without libm. */
#if WK_NO_LIBM
static float wk_log1pf(float x) {
    float u = 1.0f + x;
    if (u == 1.0f) return x;
    if (u - 1.0f == x) return wk_logf(u);
    return (float)((double)wk_logf(u) * ((double)x / (double)(u - 1.0f)));
}
#else
static float wk_log1pf(float x) { return log1pf(x); }
#endif
