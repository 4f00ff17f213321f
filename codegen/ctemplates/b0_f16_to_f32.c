/* ---- wafer kernel support: a float16 bit pattern as float (exact) ----
 * emit-c computes float16 / bfloat16 models in float32 as the runtime does (see
 * codegen/emit_half.c); these conversions are the runtime's rt_f16_to_f32 etc. in integer
 * arithmetic only (no libm, no conversions between float sizes). */
static float wk_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (uint32_t)(h >> 10) & 0x1fu, m = h & 0x3ffu, x;
    float f;
    if (e == 31u) {
        x = sign | 0x7f800000u | (m << 13);
    } else if (e != 0u) {
        x = sign | ((e + 112u) << 23) | (m << 13);
    } else if (m == 0u) {
        x = sign;
    } else { /* subnormal m * 2^-24: shift m to 1.f, one exponent step per shift */
        e = 113u;
        while (!(m & 0x400u)) m <<= 1, e--;
        x = sign | (e << 23) | ((m & 0x3ffu) << 13);
    }
    memcpy(&f, &x, 4);
    return f;
}
