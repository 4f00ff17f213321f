/* ---- LayerNormalization in float over the last len values of each row ----
 * x, y [rows, len]; scale [len], bias [len] or NULL. Mean and population variance in
 * double, inv = 1 / sqrt(var + eps), y = (x - mean) inv scale + bias rounded to float once
 * (the reference kernel's arithmetic). mean_out, inv_out [rows] (the optional outputs Mean
 * and InvStdDev) or NULL. */
static void wk_layernorm_f32(const float *x, const float *scale, const float *bias, float *y, float *mean_out,
                             float *inv_out, int32_t rows, int32_t len, double eps) {
    int32_t r, j;
    for (r = 0; r < rows; r++, x += len, y += len) {
        double mean = 0.0, var = 0.0, inv;
        for (j = 0; j < len; j++) mean += x[j];
        mean /= (double)len;
        for (j = 0; j < len; j++) {
            double d = x[j] - mean;
            var += d * d;
        }
        var /= (double)len;
        inv = wk_rsqrt(var + eps);
        for (j = 0; j < len; j++) y[j] = (float)((x[j] - mean) * inv * scale[j] + (bias ? (double)bias[j] : 0.0));
        if (mean_out) mean_out[r] = (float)mean;
        if (inv_out) inv_out[r] = (float)inv;
    }
}
