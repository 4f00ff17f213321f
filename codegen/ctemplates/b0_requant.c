/* ---- wafer kernel support: fixed-point requantization (gemmlowp / TFLite) ----
 * A real multiplier M = mult * 2^(shift - 31), |mult| in [2^30, 2^31), made by the compiler.
 *   SRDHM(a, b) = (a*b + (a*b >= 0 ? 2^30 : 1 - 2^30)) / 2^31, truncated
 *   RDBPOT(x, e) = x / 2^e rounded to nearest, ties away from zero
 * apply(acc) = RDBPOT(SRDHM(acc, mult), -shift) for shift <= 0; for shift > 0 the product is
 * formed in 64 bits and saturated to int32 (the same integers as wafer's runtime).
 * Divisions by 2^k truncate toward zero and are written as shifts of the magnitude, so no
 * 64-bit division helper (__aeabi_ldivmod) is needed on 32-bit targets. */
static int64_t wk_div_pow2(int64_t x, int k) { /* x / 2^k truncated toward zero */
    return x >= 0 ? x >> k : -((-x) >> k);
}

static int32_t wk_srdhm(int32_t a, int32_t b) {
    int64_t ab, nudge;
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    ab = (int64_t)a * b;
    nudge = ab >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30);
    return (int32_t)wk_div_pow2(ab + nudge, 31);
}

static int32_t wk_rdbpot(int32_t x, int e) {
    int64_t mask = ((int64_t)1 << e) - 1;
    int64_t rem = (int64_t)x & mask;
    int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (int32_t)(((int64_t)x >> e) + (rem > threshold ? 1 : 0));
}

static int32_t wk_sat32(int64_t v) {
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

static int32_t wk_requant_apply(int32_t acc, int32_t mult, int32_t shift) {
    int64_t p, half, nudge;
    int s;
    if (shift <= 0) return wk_rdbpot(wk_srdhm(acc, mult), -shift);
    p = (int64_t)acc * mult;
    s = shift;
    if (s >= 31) {
        int k = s - 31;
        int64_t lim = (int64_t)INT32_MAX >> k;
        if (p > lim) return INT32_MAX;
        if (p < -lim - 1) return INT32_MIN;
        return wk_sat32(p * ((int64_t)1 << k));
    }
    half = (int64_t)1 << (30 - s);
    nudge = p >= 0 ? half : 1 - half;
    return wk_sat32(wk_div_pow2(p + nudge, 31 - s));
}

/* clamp(apply(acc) + zp, lo, hi) */
static int32_t wk_requant_out(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
    int64_t v = (int64_t)wk_requant_apply(acc, mult, shift) + zp;
    return v < lo ? lo : v > hi ? hi : (int32_t)v;
}
