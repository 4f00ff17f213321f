/* ---- wafer kernel support: a bfloat16 bit pattern as float (exact: its top 16 bits) ---- */
static float wk_bf16_to_f32(uint16_t h) {
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}
