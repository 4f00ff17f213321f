/* ---- STFT in float (ONNX opset 17), as the runtime's signal.c ----
 * x [batch, slen, comp] (comp 1 real, 2 complex) -> y [batch, frames, bins, 2]: frame f is
 * the flen samples from f * step, times the window (win NULL = 1), transformed by wk_seq_fft
 * (b0_seq_fft); bins = flen, or flen / 2 + 1 one-sided. scratch: 6 flen floats. */
static void wk_seq_stft(const float *x, const float *win, float *y, int32_t batch, int32_t slen, int32_t comp,
                        int32_t step, int32_t flen, int32_t frames, int32_t bins, const float *tw, float *scratch) {
    float *line = scratch, *spec = scratch + 2 * (size_t)flen, *tmp = spec + 2 * (size_t)flen;
    int32_t b, f, s, k;
    for (b = 0; b < batch; b++)
        for (f = 0; f < frames; f++) {
            for (s = 0; s < flen; s++) {
                size_t e = ((size_t)b * slen + (size_t)f * step + s) * comp;
                float w = win ? win[s] : 1.0f;
                line[2 * s] = w * x[e];
                line[2 * s + 1] = comp == 2 ? w * x[e + 1] : 0.0f;
            }
            wk_seq_fft(line, 1, spec, flen, flen, tw, tmp, 0);
            for (k = 0; k < bins; k++) {
                size_t e = (((size_t)b * frames + f) * bins + k) * 2;
                y[e] = spec[2 * k];
                y[e + 1] = spec[2 * k + 1];
            }
        }
}
