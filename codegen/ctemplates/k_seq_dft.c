/* ---- DFT in float (ONNX opsets 17 and 20), as the runtime's signal.c ----
 * x viewed as [outer, N, inner, comp] around the axis (comp 1 real, 2 complex), y as
 * [outer, bins, inner, 2]. Each line is zero-padded or truncated to L points and
 * transformed: X[k] = sum_n x[n] e^(-+2 pi i k n / L) (+ and a 1/L scale when inverse),
 * bins = L (or L / 2 + 1 one-sided). Mixed-radix decimation in time: with p the smallest
 * prime factor of n and m = n / p, the p sub-sequences x[r + p j] are transformed into
 * Y_r = y[r m ..], then X[k + q m] = sum_r W_n^(r (k + q m)) Y_r[k]; a prime n is the
 * direct O(n^2) sum. tw[2 j], tw[2 j + 1] = cos, sin of 2 pi j / L (made at emit time: no
 * libm here). Recursion depth: the number of prime factors of L. scratch: 6 L floats. */
static void wk_seq_fft(const float *x, int32_t xs, float *y, int32_t n, int32_t L, const float *tw, float *tmp,
                       int32_t inv) {
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
            float re = 0.0f, im = 0.0f;
            for (r = 0; r < p; r++) {
                float cr = tw[2 * (size_t)e * step], ci = inv ? tw[2 * (size_t)e * step + 1] : -tw[2 * (size_t)e * step + 1];
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

static void wk_seq_dft(const float *x, float *y, int32_t outer, int32_t inner, int32_t N, int32_t L, int32_t bins,
                       int32_t comp, int32_t inv, const float *tw, float *scratch) {
    float *line = scratch, *spec = scratch + 2 * (size_t)L, *tmp = spec + 2 * (size_t)L;
    int32_t o, i, s, k, keep = N < L ? N : L;
    for (o = 0; o < outer; o++)
        for (i = 0; i < inner; i++) {
            memset(line, 0, sizeof(float) * 2 * (size_t)L);
            for (s = 0; s < keep; s++) {
                size_t e = (((size_t)o * N + s) * inner + i) * comp;
                line[2 * s] = x[e];
                if (comp == 2) line[2 * s + 1] = x[e + 1];
            }
            wk_seq_fft(line, 1, spec, L, L, tw, tmp, inv);
            for (k = 0; k < bins; k++) {
                size_t e = (((size_t)o * bins + k) * inner + i) * 2;
                y[e] = inv ? spec[2 * k] / (float)L : spec[2 * k];
                y[e + 1] = inv ? spec[2 * k + 1] / (float)L : spec[2 * k + 1];
            }
        }
}
