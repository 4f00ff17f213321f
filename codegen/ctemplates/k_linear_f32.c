/* ---- Linear in float: y[r, n] = act(sum_k x[r, k] w[k, n] + b[n]) ----
 * x [R, K], w [K, N] row-major, b [N] or NULL. One float sum per output in k order, then
 * the bias, then the activation (wafer's reference order). */
static void wk_linear_f32(const float *x, const float *w, const float *b, float *y, int32_t R, int32_t K,
                          int32_t N, int act, float alpha, float beta) {
    int32_t r, n, k;
    for (r = 0; r < R; r++)
        for (n = 0; n < N; n++) {
            float s = 0.0f;
            for (k = 0; k < K; k++) s += x[(size_t)r * K + k] * w[(size_t)k * N + n];
            if (b) s += b[n];
            y[(size_t)r * N + n] = wk_act(act, s, alpha, beta);
        }
}
