/* ---- wafer kernel support: 1 / sqrt(v) in double ----
 * With libm, 1.0 / sqrt(v). Without (WK_NO_LIBM): a first guess from the exponent bits (the
 * 0x5fe6eb50c7b537a9 constant, relative error < 3.5%), then five Newton steps
 * y = y (1.5 - 0.5 v y^2), each squaring the error: below 1e-15 relative after the fourth.
 * v <= 0 or NaN give what 1/sqrt gives there only for v = +0 (inf) and NaN; the kernels
 * call it with v = variance + epsilon > 0. */
#if WK_NO_LIBM
static double wk_rsqrt(double v) {
    uint64_t bits;
    double y;
    int i;
    if (v != v || v < 0) return v - v; /* NaN */
    if (v == 0) { uint64_t inf = 0x7ff0000000000000u; memcpy(&y, &inf, sizeof y); return y; }
    memcpy(&bits, &v, sizeof bits);
    bits = 0x5fe6eb50c7b537a9u - (bits >> 1);
    memcpy(&y, &bits, sizeof y);
    for (i = 0; i < 5; i++) y = y * (1.5 - 0.5 * v * y * y);
    return y;
}
#else
static double wk_rsqrt(double v) { return 1.0 / sqrt(v); }
#endif
