/* ---- wafer kernel support: a float rounded to the nearest bfloat16 (ties to even) ----
 * NaN keeps its top bits with the quiet bit set (the runtime's rt_f32_to_bf16). */
static uint16_t wk_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* x[n] rounded in place to the nearest float16 (bf = 0) or bfloat16 (bf = 1) number. */
