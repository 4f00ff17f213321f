/* ---- wafer kernel support: a float rounded to the nearest float16 (ties to even) ----
 * NaN -> the quiet NaN 0x7e00, from 65520 up -> infinity, below 2^-14 -> subnormals (the
 * runtime's rt_f32_to_f16); integer arithmetic only. */
static uint16_t wk_f32_to_f16(float f) {
    uint32_t x, sign, ex, m, h, rem, mid;
    int32_t e;
    memcpy(&x, &f, 4);
    sign = (x >> 16) & 0x8000u, ex = (x >> 23) & 0xffu, m = x & 0x7fffffu;
    if (ex == 0xffu) return (uint16_t)(sign | 0x7c00u | (m ? 0x200u : 0u)); /* inf, NaN */
    e = (int32_t)ex - 112;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u); /* too large: infinity */
    if (e <= 0) {                                   /* subnormal or zero */
        int32_t shift = 14 - e;
        if (e < -10) return (uint16_t)sign;
        m |= 0x800000u;
        h = m >> shift, rem = m & ((1u << shift) - 1u), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    h = sign | ((uint32_t)e << 10) | (m >> 13), rem = m & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* a carry into the exponent is right */
    return (uint16_t)h;
}
