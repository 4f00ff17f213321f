/* ---- Softmax in float over contiguous rows: y = exp(x - max) / sum ----
 * x, y [rows, n]. The max is subtracted first (no overflow); the sum is kept in double and
 * its reciprocal rounded to float once, then every element scaled (the reference's order). */
static void wk_softmax_f32(const float *x, float *y, int32_t rows, int32_t n) {
    int32_t r, j;
    for (r = 0; r < rows; r++, x += n, y += n) {
        float m = n ? x[0] : 0.0f, inv;
        double s = 0.0;
        for (j = 1; j < n; j++)
            if (x[j] > m) m = x[j];
        for (j = 0; j < n; j++) {
            float e = wk_expf(x[j] - m);
            y[j] = e;
            s += e;
        }
        inv = (float)(1.0 / s);
        for (j = 0; j < n; j++) y[j] *= inv;
    }
}
