/* ---- QLinear int8: y[r, n] = clamp(apply(acc, M_n) + y_zp, lo, hi) ----
 * x [R, K], w [N, K] (output-channel major), acc = b[n] + sum_k (x - x_zp)(w - w_zp[n])
 * wrapping modulo 2^32; M_n as mult[n], shift[n]. */
static void wk_qlinear_i8(const int8_t *x, int32_t xz, const int8_t *w, const int32_t *wz, const int32_t *b,
                          const int32_t *mult, const int32_t *shift, int32_t yz, int32_t lo, int32_t hi, int8_t *y,
                          int32_t R, int32_t K, int32_t N) {
    int32_t r, n, k;
    for (r = 0; r < R; r++)
        for (n = 0; n < N; n++) {
            const int8_t *xr = x + (size_t)r * K, *wn = w + (size_t)n * K;
            uint32_t acc = b ? (uint32_t)b[n] : 0u;
            for (k = 0; k < K; k++) acc += (uint32_t)(((int32_t)xr[k] - xz) * ((int32_t)wn[k] - wz[n]));
            y[(size_t)r * N + n] = (int8_t)wk_requant_out((int32_t)acc, mult[n], shift[n], yz, lo, hi);
        }
}
