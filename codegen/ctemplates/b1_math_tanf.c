/* ---- wafer kernel support: tan(x): odd, sin r / cos r, or -cos r / sin r in odd quadrants ----
 * With libm, tanf. Without (WK_NO_LIBM): b0_math_trig's reduction and kernels. */
#if WK_NO_LIBM
static float wk_tanf(float x) {
    double r, s, c;
    int q;
    float ax = x < 0 ? -x : x, y;
    if (x != x || ax > 3.40282347e38f) return x - x;
    if (ax < 2.44140625e-4f) return x; /* |x| < 2^-12: x is the rounded result, +-0 kept */
    q = wk_trig_reduce(ax, &r);
    s = wk_sin_poly(r);
    c = wk_cos_poly(r);
    y = (float)((q & 1) ? -c / s : s / c);
    return x < 0 ? -y : y;
}
#else
static float wk_tanf(float x) { return tanf(x); }
#endif
