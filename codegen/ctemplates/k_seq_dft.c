/* ---- DFT (ONNX opsets 17 and 20) in wk_seq_real (b0_seq_real_*), as the runtime's signal.c ----
 * x viewed as [outer, N, inner, comp] around the axis (comp 1 real, 2 complex), y as
 * [outer, bins, inner, 2]. Each line is zero-padded or truncated to L points and
 * transformed by wk_seq_fft (b1_seq_fft), scaled by 1/L when inverse; bins = L, or L / 2 + 1
 * one-sided. scratch: 6 L reals. */
static void wk_seq_dft(const wk_seq_real *x, wk_seq_real *y, int32_t outer, int32_t inner, int32_t N, int32_t L,
                       int32_t bins, int32_t comp, int32_t inv, const wk_seq_real *tw, wk_seq_real *scratch) {
    wk_seq_real *line = scratch, *spec = scratch + 2 * (size_t)L, *tmp = spec + 2 * (size_t)L;
    int32_t o, i, s, k, keep = N < L ? N : L;
    for (o = 0; o < outer; o++)
        for (i = 0; i < inner; i++) {
            memset(line, 0, sizeof(wk_seq_real) * 2 * (size_t)L);
            for (s = 0; s < keep; s++) {
                size_t e = (((size_t)o * N + s) * inner + i) * comp;
                line[2 * s] = x[e];
                if (comp == 2) line[2 * s + 1] = x[e + 1];
            }
            wk_seq_fft(line, 1, spec, L, L, tw, tmp, inv);
            for (k = 0; k < bins; k++) {
                size_t e = (((size_t)o * bins + k) * inner + i) * 2;
                y[e] = inv ? spec[2 * k] / (wk_seq_real)L : spec[2 * k];
                y[e + 1] = inv ? spec[2 * k + 1] / (wk_seq_real)L : spec[2 * k + 1];
            }
        }
}
