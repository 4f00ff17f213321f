/* ---- wafer kernel support: the FFT of DFT and STFT, as the runtime's signal.c ----
 * In wk_seq_real (b0_seq_real_*: float, or double for float64 models).
 * y[0..n-1] = the n-point DFT of x[0], x[xs], ... (complex interleaved; n divides L):
 * X[k] = sum_n x[n] e^(-+2 pi i k n / L) (+ when inv, unscaled). Mixed-radix decimation in
 * time: with p the smallest prime factor of n and m = n / p, the p sub-sequences x[r + p j]
 * are transformed into Y_r = y[r m ..], then X[k + q m] = sum_r W_n^(r (k + q m)) Y_r[k];
 * a prime n is the direct O(n^2) sum. tw[2 j], tw[2 j + 1] = cos, sin of 2 pi j / L (made at
 * emit time: no libm here). Recursion depth: the number of prime factors of L; tmp holds
 * 2 L reals. */
static void wk_seq_fft(const wk_seq_real *x, int32_t xs, wk_seq_real *y, int32_t n, int32_t L, const wk_seq_real *tw,
                       wk_seq_real *tmp, int32_t inv) {
    int32_t p = n, m, step = L / n, r, k, q, f;
    if (n == 1) {
        y[0] = x[0];
        y[1] = x[1];
        return;
    }
    for (f = 2; f * f <= n; f++)
        if (n % f == 0) {
            p = f;
            break;
        }
    m = n / p;
    for (r = 0; r < p; r++) wk_seq_fft(x + 2 * (size_t)r * xs, xs * p, y + 2 * (size_t)r * m, m, L, tw, tmp, inv);
    for (k = 0; k < m; k++) {
        for (r = 0; r < p; r++) {
            tmp[2 * r] = y[2 * (r * m + k)];
            tmp[2 * r + 1] = y[2 * (r * m + k) + 1];
        }
        for (q = 0; q < p; q++) {
            int32_t idx = k + q * m, e = 0; /* e = r * idx mod n */
            wk_seq_real re = 0, im = 0;
            for (r = 0; r < p; r++) {
                wk_seq_real cr = tw[2 * (size_t)e * step],
                            ci = inv ? tw[2 * (size_t)e * step + 1] : -tw[2 * (size_t)e * step + 1];
                re += tmp[2 * r] * cr - tmp[2 * r + 1] * ci;
                im += tmp[2 * r] * ci + tmp[2 * r + 1] * cr;
                e += idx;
                if (e >= n) e %= n;
            }
            y[2 * idx] = re;
            y[2 * idx + 1] = im;
        }
    }
}

