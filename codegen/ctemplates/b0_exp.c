/* ---- wafer kernel support: exp(x) in float ----
 * With libm, expf. Without (WK_NO_LIBM): x = n ln2 + r with |r| <= ln2 / 2 (Cody-Waite:
 * ln2 split in a high part exact in float and a low part), exp(r) by its Taylor polynomial
 * to r^8 / 8! (truncation error < 2e-9 relative for |r| <= 0.347), then scaled by 2^n built
 * in the exponent bits (two steps below 2^-126, so subnormal results come out right).
 * Overflow gives +inf, underflow 0, NaN stays NaN. Measured error: a few float ulps. */
#if WK_NO_LIBM
static float wk_pow2i(int n) { /* 2^n for n in [-126, 127] */
    uint32_t bits = (uint32_t)(n + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float wk_expf(float x) {
    const float ln2_hi = 0.693145751953125f, ln2_lo = 1.42860682030941723212e-6f;
    const float log2e = 1.44269504088896341f;
    float r, p, y;
    int n;
    if (x != x) return x;
    if (x > 88.7228394f) { uint32_t inf = 0x7f800000u; memcpy(&y, &inf, sizeof y); return y; }
    if (x < -103.972084f) return 0.0f;
    p = x * log2e;
    n = (int)(p < 0 ? p - 0.5f : p + 0.5f);
    r = (x - (float)n * ln2_hi) - (float)n * ln2_lo;
    p = 1.0f / 40320.0f;
    p = p * r + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    y = p * r + 1.0f;
    if (n < -126) return y * wk_pow2i(n + 64) * wk_pow2i(-64);
    if (n > 127) return y * wk_pow2i(n - 1) * 2.0f;
    return y * wk_pow2i(n);
}
#else
static float wk_expf(float x) { return expf(x); }
#endif
