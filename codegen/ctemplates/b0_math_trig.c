/* ---- wafer kernel support: sin, cos, tan in float without libm ----
 * Only under WK_NO_LIBM (with libm, b1_math_sinf / cosf / tanf call sinf / cosf / tanf).
 * Reduction: |x| = q pi/2 + r, |r| <= pi/4 (a hair more), r in double.
 *   |x| < 1e6: k = round(|x| 2/pi) < 2^20; r = |x| - k P1 - k P2 - k P3 with pi/2 split
 *   into P1, P2 (33 bits each: k P1 and k P2 are exact) and P3 (Cody-Waite).
 *   larger: Payne-Hanek. |x| = M 2^E (M the 24-bit significand); of |x| (2/pi) =
 *   sum M c_j 2^(E - j) over the bits c_j of 2/pi, terms with j <= E - 2 are multiples of
 *   4 and drop out (q matters mod 4), and bits past j = E + 94 add under 2^-70. So the 96
 *   bits c_(E-1) .. c_(E+94) as an integer W give |x| 2/pi mod 4 = (M W mod 2^96) 2^-94:
 *   the top 2 bits are q, the next 62 the fraction (a float is never closer to a multiple
 *   of pi/2 than about 2^-30 relative, so 30 significant bits remain).
 * Kernels on [-pi/4, pi/4]: the Taylor series of sin to r^15 and cos to r^16 in double
 * (truncation < 3e-14). Results are rounded once to float: within an ulp of libm's. */
#if WK_NO_LIBM
static const uint32_t wk_2_over_pi[10] = { /* bits 1..320 of 2/pi, after a zero word */
    0x00000000u, 0xa2f9836eu, 0x4e441529u, 0xfc2757d1u, 0xf534ddc0u, 0xdb629599u, 0x3c439041u,
    0xfe5163abu, 0xdebbc561u, 0xb7246e3au};

/* 32 bits of 2/pi starting at bit offset o (of the table, so bit j of 2/pi is o = j + 31) */
static uint32_t wk_2pi_bits(int o) {
    int w = o >> 5, s = o & 31;
    return s ? (wk_2_over_pi[w] << s) | (wk_2_over_pi[w + 1] >> (32 - s)) : wk_2_over_pi[w];
}

static int wk_trig_reduce(float ax, double *r) {
    if (ax < 1e6f) {
        double k = (double)(int32_t)((double)ax * 0.63661977236758134 + 0.5);
        *r = (((double)ax - k * 0x1.921fb544p+0) - k * 0x1.0b4611a6p-34) - k * 0x1.3198a2e037073p-69;
        return (int)k & 3;
    } else {
        uint32_t b, M, w2, w1, w0;
        uint64_t p0, p1, p2, f;
        int E, o, q;
        memcpy(&b, &ax, sizeof b);
        M = (b & 0x007fffffu) | 0x00800000u;
        E = (int)(b >> 23) - 150;
        o = E - 1 + 31; /* table offset of bit c_(E-1); E >= -3 here */
        w2 = wk_2pi_bits(o);
        w1 = wk_2pi_bits(o + 32);
        w0 = wk_2pi_bits(o + 64);
        p0 = (uint64_t)M * w0;
        p1 = (uint64_t)M * w1 + (p0 >> 32);
        p2 = (uint64_t)M * w2 + (p1 >> 32);
        q = (int)((p2 >> 30) & 3);
        f = ((p2 & 0x3fffffffu) << 32) | (p1 & 0xffffffffu); /* fraction, 62 bits */
        if (f >> 61) { /* >= 1/2: the next quadrant, fraction - 1 */
            q = (q + 1) & 3;
            *r = -(double)(((uint64_t)1 << 62) - f) * 0x1p-62 * 1.5707963267948966;
        } else {
            *r = (double)f * 0x1p-62 * 1.5707963267948966;
        }
        return q;
    }
}

static double wk_sin_poly(double r) {
    double z = r * r, p = -1.0 / 1307674368000.0;
    p = p * z + 1.0 / 6227020800.0;
    p = p * z - 1.0 / 39916800.0;
    p = p * z + 1.0 / 362880.0;
    p = p * z - 1.0 / 5040.0;
    p = p * z + 1.0 / 120.0;
    p = p * z - 1.0 / 6.0;
    return r + r * z * p;
}

static double wk_cos_poly(double r) {
    double z = r * r, p = 1.0 / 20922789888000.0;
    p = p * z - 1.0 / 87178291200.0;
    p = p * z + 1.0 / 479001600.0;
    p = p * z - 1.0 / 3628800.0;
    p = p * z + 1.0 / 40320.0;
    p = p * z - 1.0 / 720.0;
    p = p * z + 1.0 / 24.0;
    p = p * z - 0.5;
    return 1.0 + z * p;
}
#endif
