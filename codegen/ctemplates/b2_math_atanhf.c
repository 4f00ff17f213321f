/* ---- wafer kernel support: atanh(x) in float ----
 * With libm, atanhf. Without (WK_NO_LIBM): odd; |x| > 1 gives NaN, +-1 gives
 * +-inf; else log1p(2|x| / (1 - |x|)) / 2 with the argument in double, rounded once. */
#if WK_NO_LIBM
static float wk_atanhf(float x) {
    float a = x < 0 ? -x : x, r;
    if (x != x) return x;
    if (a > 1.0f) return (x - x) / (x - x); /* NaN */
    if (a == 1.0f) r = HUGE_VALF;
    else r = 0.5f * wk_log1pf((float)(2.0 * (double)a / (1.0 - (double)a)));
    return x < 0 ? -r : r;
}
#else
static float wk_atanhf(float x) { return atanhf(x); }
#endif
