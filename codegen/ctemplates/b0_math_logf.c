/* ---- wafer kernel support: log(x) in float ----
 * With libm, logf. Without (WK_NO_LIBM): x = 2^e m with m in [sqrt(1/2), sqrt(2)) from the
 * exponent bits (subnormals scaled by 2^23 first), then in double log m = 2 atanh(s) =
 * 2 (s + s^3/3 + ... + s^13/13), s = (m - 1) / (m + 1), |s| <= 0.172 (truncation below
 * 1e-12 relative), plus e ln 2. x < 0 and NaN give NaN, 0 gives -inf, +inf stays. */
#if WK_NO_LIBM
static float wk_logf(float x) {
    uint32_t bits;
    int e = 0;
    double m, s, z, p;
    if (x != x || x < 0) return (x - x) / (x - x);
    if (x == 0) return -HUGE_VALF;
    if (x > 3.40282347e38f) return x;
    if (x < 1.17549435e-38f) { x *= 8388608.0f; e = -23; }
    memcpy(&bits, &x, sizeof bits);
    e += (int)((bits >> 23) & 0xff) - 127;
    bits = (bits & 0x007fffffu) | 0x3f800000u;
    memcpy(&x, &bits, sizeof x);
    m = x;
    if (m > 1.4142135623730951) { m *= 0.5; e++; }
    s = (m - 1.0) / (m + 1.0);
    z = s * s;
    p = 1.0 / 13.0;
    p = p * z + 1.0 / 11.0;
    p = p * z + 1.0 / 9.0;
    p = p * z + 1.0 / 7.0;
    p = p * z + 1.0 / 5.0;
    p = p * z + 1.0 / 3.0;
    p = p * z + 1.0;
    return (float)((double)e * 0.69314718055994530942 + 2.0 * s * p);
}
#else
static float wk_logf(float x) { return logf(x); }
#endif
