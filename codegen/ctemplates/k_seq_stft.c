/* ---- STFT (ONNX opset 17) in wk_seq_real (b0_seq_real_*), as the runtime's signal.c ----
 * x [batch, slen, comp] (comp 1 real, 2 complex) -> y [batch, frames, bins, 2]: frame f is
 * the flen samples from f * step, times the window (win NULL = 1), transformed by wk_seq_fft
 * (b1_seq_fft); bins = flen, or flen / 2 + 1 one-sided. scratch: 6 flen reals. */
static void wk_seq_stft(const wk_seq_real *x, const wk_seq_real *win, wk_seq_real *y, int32_t batch, int32_t slen,
                        int32_t comp, int32_t step, int32_t flen, int32_t frames, int32_t bins, const wk_seq_real *tw,
                        wk_seq_real *scratch) {
    wk_seq_real *line = scratch, *spec = scratch + 2 * (size_t)flen, *tmp = spec + 2 * (size_t)flen;
    int32_t b, f, s, k;
    for (b = 0; b < batch; b++)
        for (f = 0; f < frames; f++) {
            for (s = 0; s < flen; s++) {
                size_t e = ((size_t)b * slen + (size_t)f * step + s) * comp;
                wk_seq_real w = win ? win[s] : 1;
                line[2 * s] = w * x[e];
                line[2 * s + 1] = comp == 2 ? w * x[e + 1] : 0;
            }
            wk_seq_fft(line, 1, spec, flen, flen, tw, tmp, 0);
            for (k = 0; k < bins; k++) {
                size_t e = (((size_t)b * frames + f) * bins + k) * 2;
                y[e] = spec[2 * k];
                y[e + 1] = spec[2 * k + 1];
            }
        }
}
