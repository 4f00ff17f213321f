/* ---- int8 requantization of a run of values (QConcat's inputs) ----
 * y[i] = clamp(apply(x[i] - x_zp, x_scale / y_scale) + y_zp, lo, hi) for i < n. */
static void wk_qrequant_i8(const int8_t *x, int32_t n, int32_t xz, int32_t mult, int32_t shift, int32_t yz, int32_t lo,
                           int32_t hi, int8_t *y) {
    int32_t i;
    for (i = 0; i < n; i++) y[i] = (int8_t)wk_requant_out((int32_t)x[i] - xz, mult, shift, yz, lo, hi);
}
