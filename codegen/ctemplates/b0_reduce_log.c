/* ---- wafer kernel support (reduce family): log(x) in double ----
 * With libm, log. Without (WK_NO_LIBM): x = 2^e m with m in [sqrt(1/2), sqrt(2))
 * (subnormals scaled by 2^54 first); log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172,
 * by its odd series to s^23 (truncation < 1e-18); log x = e ln2 + log m.
 * log(0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, log(NaN) = NaN. */
#if WK_NO_LIBM
static double wk_reduce_log(double x) {
    uint64_t b;
    double m, s, s2, t, sum = 0.0;
    int e = 0, i;
    if (x != x || x < 0) return (x - x) / (x - x); /* NaN */
    if (x == 0) { b = 0xfff0000000000000u; memcpy(&m, &b, sizeof m); return m; }
    if (x - x != 0) return x; /* +inf */
    if (x < 2.2250738585072014e-308) x *= 18014398509481984.0, e = -54; /* 2^54 */
    memcpy(&b, &x, sizeof b);
    e += (int)((b >> 52) & 0x7ff) - 1023;
    b = (b & 0x000fffffffffffffu) | 0x3ff0000000000000u; /* m in [1, 2) */
    memcpy(&m, &b, sizeof m);
    if (m > 1.4142135623730951) m *= 0.5, e++;
    s = (m - 1.0) / (m + 1.0);
    s2 = s * s;
    t = s;
    for (i = 1; i <= 23; i += 2) {
        sum += t / (double)i;
        t *= s2;
    }
    return (double)e * 6.93147180559945286227e-01 + 2.0 * sum;
}
#else
static double wk_reduce_log(double x) { return log(x); }
#endif
