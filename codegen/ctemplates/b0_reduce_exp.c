/* ---- wafer kernel support (reduce family): exp(x) in double ----
 * With libm, exp. Without (WK_NO_LIBM): x = n ln2 + r, |r| <= ln2 / 2 (Cody-Waite: ln2 in a
 * high part exact for n up to 2^11 and a low part), exp(r) by Taylor to r^13 / 13!
 * (truncation < 5e-18 relative) in Horner form, scaled by 2^n built in the exponent bits
 * (two steps at the ends of the range). exp(NaN) = NaN, overflow +inf, underflow 0. */
#if WK_NO_LIBM
static double wk_reduce_exp(double x) {
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    double p, r, s1, s2 = 1.0;
    uint64_t b;
    int n, i;
    if (x != x) return x;
    if (x > 709.782712893384) { b = 0x7ff0000000000000u; memcpy(&p, &b, sizeof p); return p; }
    if (x < -745.2) return 0.0;
    p = x * 1.44269504088896338700;
    n = (int)(p < 0 ? p - 0.5 : p + 0.5);
    r = (x - (double)n * ln2_hi) - (double)n * ln2_lo;
    p = 1.0;
    for (i = 13; i >= 1; i--) p = 1.0 + p * r / (double)i;
    if (n < -1000) n += 512, b = (uint64_t)(1023 - 512) << 52, memcpy(&s2, &b, sizeof s2);
    if (n > 1023) n -= 1, s2 = 2.0;
    b = (uint64_t)(n + 1023) << 52;
    memcpy(&s1, &b, sizeof s1);
    return p * s1 * s2;
}
#else
static double wk_reduce_exp(double x) { return exp(x); }
#endif
