/* ---- GlobalAveragePool in float: y[p] = (sum of plane p in double) / count, rounded to float ----
 * x [planes, count] -> y [planes] (planes = N * C), the reference kernel's arithmetic. */
static void wk_gap_f32(const float *x, float *y, int32_t planes, int32_t count) {
    int32_t p, i;
    for (p = 0; p < planes; p++) {
        double s = 0.0;
        for (i = 0; i < count; i++) s += x[(size_t)p * count + i];
        y[p] = (float)(s / (double)count);
    }
}
