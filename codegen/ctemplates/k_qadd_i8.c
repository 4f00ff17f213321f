/* ---- QAdd int8 (TFLite's quantized Add), same-shape operands ----
 * a' = apply((a - a_zp) 2^20, ra), b' = apply((b - b_zp) 2^20, rb) bring both to a common
 * scale with 20 spare bits; y = clamp(apply(a' + b', ry) + y_zp, lo, hi). */
static void wk_qadd_i8(const int8_t *a, int32_t za, int32_t ram, int32_t ras, const int8_t *b, int32_t zb,
                       int32_t rbm, int32_t rbs, int32_t rym, int32_t rys, int32_t zy, int32_t lo, int32_t hi,
                       int8_t *y, int32_t count) {
    int32_t i;
    for (i = 0; i < count; i++) {
        int32_t sa = wk_requant_apply(((int32_t)a[i] - za) * (1 << 20), ram, ras);
        int32_t sb = wk_requant_apply(((int32_t)b[i] - zb) * (1 << 20), rbm, rbs);
        y[i] = (int8_t)wk_requant_out(sa + sb, rym, rys, zy, lo, hi);
    }
}
