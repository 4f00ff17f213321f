/* ---- wafer kernel support: pow(x, y) in float ----
 * With libm, powf. Without (WK_NO_LIBM): C99's special cases first (y = 0 or x = 1 give 1
 * unless the other is a signaling NaN, zeros, infinities, a negative x with an integer y
 * takes the sign of odd y's, with a non-integer y gives NaN), then exp(y log|x|) in double:
 * log by m in [sqrt(1/2), sqrt(2)), s = (m - 1) / (m + 1), 2 (s + s^3/3 + ... + s^23/23)
 * (truncation < 1e-20) plus e ln 2; exp by t = n ln 2 + r (ln 2 in a 40-bit head, exact
 * times n, and a tail), |r| <= 0.35, Taylor to r^14 (< 1e-17), times 2^n from the exponent
 * bits. The product's error, about |y log x| 2^-53, stays far below a float ulp, so the one
 * rounding to float decides: within an ulp of powf. Results beyond float's range round to
 * inf or 0. */
#if WK_NO_LIBM
static double wk_pow_logd(double x) { /* x > 0, normal */
    uint64_t b;
    double m, s, z, p;
    int e, i;
    memcpy(&b, &x, sizeof b);
    e = (int)((b >> 52) & 0x7ff) - 1023;
    b = (b & 0x000fffffffffffffu) | 0x3ff0000000000000u;
    memcpy(&m, &b, sizeof m);
    if (m > 1.4142135623730951) m *= 0.5, e++;
    s = (m - 1.0) / (m + 1.0);
    z = s * s;
    p = 0.0;
    for (i = 23; i >= 3; i -= 2) p = (p + 1.0 / (double)i) * z;
    return (double)e * 0.69314718055994531 + 2.0 * (s + s * p);
}

static double wk_pow_expd(double t) { /* -110 < t < 90 */
    double k = t * 1.4426950408889634, r, p;
    int n = (int)(k < 0 ? k - 0.5 : k + 0.5), i;
    uint64_t b;
    r = (t - (double)n * 0x1.62e42fefa2p-1) - (double)n * 0x1.9ef35793c7673p-41;
    p = 1.0;
    for (i = 14; i >= 1; i--) p = 1.0 + p * r / (double)i;
    b = (uint64_t)(n + 1023) << 52;
    memcpy(&k, &b, sizeof k);
    return p * k;
}

static int wk_pow_snan(float v) { /* a signaling NaN: pow(sNaN, 0) is NaN (IEEE 754, libm) */
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return (b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) && !(b & 0x00400000u);
}

static float wk_powf(float x, float y) {
    float ax = x < 0 ? -x : x, ay = y < 0 ? -y : y;
    int yint = ay >= 16777216.0f || (ay < 16777216.0f && (float)(int32_t)y == y);
    int yodd = ay < 16777216.0f && yint && ((int32_t)y & 1);
    double t;
    if (wk_pow_snan(x) || wk_pow_snan(y)) return x + y;
    if (y == 0 || x == 1.0f) return 1.0f;
    if (x != x || y != y) return x + y;
    if (ay > 3.40282347e38f) { /* y = +-inf */
        if (ax == 1.0f) return 1.0f;
        return (ax < 1.0f) == (y < 0) ? HUGE_VALF : 0.0f;
    }
    if (x == 0) {
        if (y < 0) return yodd ? 1.0f / x : HUGE_VALF;
        return yodd ? x : 0.0f;
    }
    if (ax > 3.40282347e38f) { /* x = +-inf */
        float r = y < 0 ? 0.0f : HUGE_VALF;
        return x < 0 && yodd ? -r : r;
    }
    if (x < 0 && !yint) return (x - x) / (x - x); /* NaN */
    t = (double)y * wk_pow_logd((double)ax);
    if (t >= 90.0) t = HUGE_VAL;
    else if (t <= -110.0) t = 0.0;
    else t = wk_pow_expd(t);
    return x < 0 && yodd ? -(float)t : (float)t;
}
#else
static float wk_powf(float x, float y) { return powf(x, y); }
#endif
