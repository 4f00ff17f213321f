/* ---- wafer kernel support: cos(x): even, from the quadrant q: cos r, -sin r, -cos r, sin r ----
 * With libm, cosf. Without (WK_NO_LIBM): b0_math_trig's reduction and kernels. */
#if WK_NO_LIBM
static float wk_cosf(float x) {
    double r;
    int q;
    float ax = x < 0 ? -x : x;
    if (x != x || ax > 3.40282347e38f) return x - x;
    q = wk_trig_reduce(ax, &r);
    return (float)(q == 0 ? wk_cos_poly(r) : q == 1 ? -wk_sin_poly(r) : q == 2 ? -wk_cos_poly(r) : wk_sin_poly(r));
}
#else
static float wk_cosf(float x) { return cosf(x); }
#endif
