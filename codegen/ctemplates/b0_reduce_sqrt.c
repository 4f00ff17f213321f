/* ---- wafer kernel support (reduce family): sqrt(v) in double ----
 * With libm, sqrt. Without (WK_NO_LIBM): v * (1 / sqrt v), the reciprocal root from a first
 * guess in the exponent bits (the 0x5fe6eb50c7b537a9 constant, < 3.5% off) and five Newton
 * steps y = y (1.5 - 0.5 v y^2) (below 1e-15 relative); subnormals are scaled by 2^54 first.
 * sqrt(+-0) = +-0, sqrt(+inf) = +inf, sqrt(v < 0) and sqrt(NaN) = NaN. */
#if WK_NO_LIBM
static double wk_reduce_sqrt(double v) {
    uint64_t bits;
    double y, scale = 1.0;
    int i;
    if (v != v || v < 0) return (v - v) / (v - v); /* NaN */
    if (v == 0 || v - v != 0) return v; /* +-0, +inf */
    if (v < 2.2250738585072014e-308) v *= 18014398509481984.0, scale = 1.0 / 134217728.0; /* 2^54, 2^-27 */
    memcpy(&bits, &v, sizeof bits);
    bits = 0x5fe6eb50c7b537a9u - (bits >> 1);
    memcpy(&y, &bits, sizeof y);
    for (i = 0; i < 5; i++) y = y * (1.5 - 0.5 * v * y * y);
    return v * y * scale;
}
#else
static double wk_reduce_sqrt(double v) { return sqrt(v); }
#endif
