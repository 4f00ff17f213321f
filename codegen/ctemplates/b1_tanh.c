/* ---- wafer kernel support: tanh(x) in float ----
 * With libm, tanhf. Without (WK_NO_LIBM): tanh|x| = m / (m + 2) with m = exp(2|x|) - 1,
 * where m comes from its Taylor polynomial to y^9 / 9! for y = 2|x| < 0.5 (no cancellation
 * for small x; truncation < 1e-9 relative) and from wk_expf(y) - 1 above; |x| > 9 gives
 * +-1 (tanh 9 rounds to 1 in float). The sign is restored at the end. */
#if WK_NO_LIBM
static float wk_tanhf(float x) {
    float a = x < 0 ? -x : x, y, m;
    if (x != x) return x;
    if (a > 9.0f) return x < 0 ? -1.0f : 1.0f;
    y = 2.0f * a;
    if (y < 0.5f) {
        m = 1.0f / 362880.0f;
        m = m * y + 1.0f / 40320.0f;
        m = m * y + 1.0f / 5040.0f;
        m = m * y + 1.0f / 720.0f;
        m = m * y + 1.0f / 120.0f;
        m = m * y + 1.0f / 24.0f;
        m = m * y + 1.0f / 6.0f;
        m = m * y + 0.5f;
        m = m * y * y + y;
    } else {
        m = wk_expf(y) - 1.0f;
    }
    m = m / (m + 2.0f);
    return x < 0 ? -m : m;
}
#else
static float wk_tanhf(float x) { return tanhf(x); }
#endif
