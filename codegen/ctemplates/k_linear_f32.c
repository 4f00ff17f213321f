/* ---- Linear in float: y[r, n] = act(sum_k x[r, k] w[k, n] + b[n]) ----
 * x [R, K], w [K, N] row-major, b [N] or NULL. One float sum per output in k order starting
 * from 0, then the bias, then the activation (wafer's reference order). The sums grow in
 * y's row, one row of w at a time (contiguous reads of w). */
static void wk_linear_f32(const float *x, const float *w, const float *b, float *y, int32_t R, int32_t K,
                          int32_t N, int act, float alpha, float beta) {
    int32_t r, n, k;
    for (r = 0; r < R; r++) {
        float *yr = y + (size_t)r * N;
        for (n = 0; n < N; n++) yr[n] = 0.0f;
        for (k = 0; k < K; k++) {
            const float xv = x[(size_t)r * K + k], *wk = w + (size_t)k * N;
            for (n = 0; n < N; n++) yr[n] += xv * wk[n];
        }
        for (n = 0; n < N; n++) yr[n] = wk_act(act, b ? yr[n] + b[n] : yr[n], alpha, beta);
    }
}
