/* ---- Softmax in float along one axis: y = exp(x - max) / sum ----
 * x, y [outer, n, inner]: each of the outer * inner rows of n elements is inner apart (1 for
 * the last axis). The max is subtracted first (no overflow); the sum is kept in double and its
 * reciprocal rounded to float once, then every element scaled (the reference's order). */
static void wk_softmax_f32(const float *x, float *y, int32_t outer, int32_t n, int32_t inner) {
    int32_t o, i, j;
    for (o = 0; o < outer; o++)
        for (i = 0; i < inner; i++) {
            const float *xr = x + (o * n) * inner + i;
            float *yr = y + (o * n) * inner + i;
            float m = n ? xr[0] : 0.0f, inv;
            double s = 0.0;
            for (j = 1; j < n; j++)
                if (xr[j * inner] > m) m = xr[j * inner];
            for (j = 0; j < n; j++) {
                float e = wk_expf(xr[j * inner] - m);
                yr[j * inner] = e;
                s += e;
            }
            inv = (float)(1.0 / s);
            for (j = 0; j < n; j++) yr[j * inner] *= inv;
        }
}
