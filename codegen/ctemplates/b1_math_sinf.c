/* ---- wafer kernel support: sin(x): odd, from the quadrant q: sin r, cos r, -sin r, -cos r ----
 * With libm, sinf. Without (WK_NO_LIBM): b0_math_trig's reduction and kernels. */
#if WK_NO_LIBM
static float wk_sinf(float x) {
    double r;
    int q;
    float ax = x < 0 ? -x : x, y;
    if (x != x || ax > 3.40282347e38f) return x - x; /* NaN, +-inf -> NaN */
    if (ax < 2.44140625e-4f) return x; /* |x| < 2^-12: x is the rounded result, +-0 kept */
    q = wk_trig_reduce(ax, &r);
    y = (float)(q == 0 ? wk_sin_poly(r) : q == 1 ? wk_cos_poly(r) : q == 2 ? -wk_sin_poly(r) : -wk_cos_poly(r));
    return x < 0 ? -y : y;
}
#else
static float wk_sinf(float x) { return sinf(x); }
#endif
