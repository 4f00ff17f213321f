/* ---- Linear in float whose weights are dequantized one output column at a time ----
 * W [K, N] as int8 codes with DequantizeLinear scales (wk_dq, from k_conv_dqw_f32): column n
 * (K weights, W[k, n] = float(q - zp) * sc, element k * N + n) is dequantized into wcol
 * (arena scratch planned for this node), then y[r, n] = act(sum_k x[r, k] wcol[k] + b[n])
 * for every row: exactly wk_linear_f32's sums on the same float weights. */
static void wk_linear_dqw_f32(const float *x, const wk_dq *w, const float *b, float *y, int32_t R, int32_t K,
                              int32_t N, int act, float alpha, float beta, float *wcol) {
    int32_t r, n, k;
    for (n = 0; n < N; n++) {
        for (k = 0; k < K; k++) wcol[k] = wk_dqw(w, k * N + n);
        for (r = 0; r < R; r++) {
            float s = 0.0f;
            for (k = 0; k < K; k++) s += x[(size_t)r * K + k] * wcol[k];
            if (b) s += b[n];
            y[(size_t)r * N + n] = wk_act(act, s, alpha, beta);
        }
    }
}
