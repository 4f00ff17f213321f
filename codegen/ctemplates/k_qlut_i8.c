/* ---- QLut int8 ----
 * y[i] = table[(uint8) x[i]]: an element-wise function of one int8 input tabulated by the
 * quantizer (table[c] = Q(f(DQ(c)))), so no float here. x, y [n]; table [256]. */
static void wk_qlut_i8(const int8_t *x, const int8_t *table, int8_t *y, int32_t n) {
    int32_t i;
    for (i = 0; i < n; i++) y[i] = table[(uint8_t)x[i]];
}
