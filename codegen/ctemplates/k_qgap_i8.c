/* ---- QGlobalAveragePool int8 ----
 * avg = sum over the plane of (x - x_zp) / count, rounded half away from zero;
 * y = clamp(apply(avg, x_scale / y_scale) + y_zp, lo, hi). x [planes, count] -> y [planes].
 * The compiler checked that 255 * count fits in int32. */
static void wk_qgap_i8(const int8_t *x, int32_t xz, int32_t mult, int32_t shift, int32_t yz, int32_t lo,
                       int32_t hi, int8_t *y, int32_t planes, int32_t count) {
    int32_t p, i;
    for (p = 0; p < planes; p++) {
        int32_t s = 0, avg;
        for (i = 0; i < count; i++) s += (int32_t)x[(size_t)p * count + i] - xz;
        avg = s >= 0 ? (s + count / 2) / count : -((-s + count / 2) / count);
        y[p] = (int8_t)wk_requant_out(avg, mult, shift, yz, lo, hi);
    }
}
