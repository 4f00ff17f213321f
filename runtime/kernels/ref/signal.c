/*
 * signal.c — the signal-processing ops: DFT, STFT, HannWindow, HammingWindow,
 * BlackmanWindow, MelWeightMatrix (ONNX opset 17; DFT also opset 20).
 *
 * Complex tensors are real tensors with a last axis of 2 (re, im); a real signal has a last
 * axis of 1. Everything is computed in double and written in the output's dtype.
 *
 * DFT: one transform per line along `axis` (attribute in opset 17, optional input in
 * opset 20, default 1 resp. -2; accepted range [-r, -2] u [0, r - 2], negative counting from
 * the back). The line is zero-padded or truncated to dft_length (input 1; default the axis
 * size) and transformed directly:
 *     X[k] = sum_n x[n] e^(-2 pi i k n / L)       inverse: x[n] = 1/L sum_k X[k] e^(+2 pi i k n / L)
 * by a mixed-radix FFT (decimation in time by each prime factor of L; a prime length is the
 * direct sum, O(L^2)) over a table of the L twiddles, each one rounded cos/sin (exponents
 * are reduced mod L, so no angle error accumulates). onesided = 1
 * keeps bins 0..floor(L/2) (a real input's spectrum is conjugate-symmetric); the spec says
 * a onesided output is not possible for complex input, so that case is refused.
 *
 * STFT: frames of frame_length samples every frame_step samples,
 * frames = floor((signal_length - frame_length) / frame_step) + 1, each multiplied by the
 * window (if given) and transformed like DFT; output [batch, frames, bins, 2], bins =
 * floor(frame_length / 2) + 1 when onesided (default 1) else frame_length. frame_length
 * defaults to the window's length; both given must agree.
 *
 * Windows: w[n] for n = 0..size-1 with N = size (periodic = 1, the default) or size - 1
 * (symmetric):
 *     Hann      0.5 - 0.5 cos(2 pi n / N)
 *     Hamming   25/46 - 21/46 cos(2 pi n / N)
 *     Blackman  0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)
 * A symmetric window of size 1 has N = 0; it is the single value 1 (numpy's hanning(1)),
 * where the formula would divide by zero.
 *
 * MelWeightMatrix: the spec's reference algorithm. num_mel_bins + 2 points equally spaced in
 * mel (mel = 2595 log10(1 + hz / 700)) from lower_edge_hertz, with step
 * (mel(upper) - mel(lower)) / (num_mel_bins + 2) (the spec divides by the number of points,
 * not the number of gaps: the top point is below upper_edge_hertz; the conformance data
 * agrees), mapped back to Hz and to the DFT bin floor((dft_length + 1) * hz / sample_rate).
 * Filter i is a triangle rising from bin p[i] to 1 at p[i + 1] and falling to 0 at p[i + 2];
 * output [floor(dft_length / 2) + 1, num_mel_bins].
 */
#include <math.h>
#include <string.h>

#include "../kernel.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* A scalar int input (rank 0 or one element) into *v. */
static int sig_scalar_int(RtKernelCtx *c, const RtTensor *t, const char *what, int64_t *v) {
    if (t->dtype != RT_I32 && t->dtype != RT_I64)
        return rt_fail(c, "input %s must be int32 or int64, got %s", what, rt_dtype_name(t->dtype));
    if (rt_numel(t) != 1 || t->rank > 1)
        return rt_fail(c, "input %s must be a scalar, got %lld values", what, (long long)rt_numel(t));
    *v = rt_get_i64(t, 0);
    return RT_OK;
}

static int sig_scalar_float(RtKernelCtx *c, const RtTensor *t, const char *what, double *v) {
    if (!rt_dtype_is_float(t->dtype) && t->dtype != RT_I32 && t->dtype != RT_I64)
        return rt_fail(c, "input %s must be a number, got %s", what, rt_dtype_name(t->dtype));
    if (rt_numel(t) != 1 || t->rank > 1)
        return rt_fail(c, "input %s must be a scalar, got %lld values", what, (long long)rt_numel(t));
    *v = rt_get_f64(t, 0);
    return RT_OK;
}

static int sig_float_input(RtKernelCtx *c, const RtTensor *t, const char *what) {
    if (!rt_dtype_is_float(t->dtype)) {
        rt_fail(c, "input %s has dtype %s; only float types are supported", what, rt_dtype_name(t->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    return RT_OK;
}

/* cos / sin of 2 pi j / L for j = 0..L-1 into tw[2j], tw[2j+1]. */
static void sig_twiddles(double *tw, int64_t L) {
    for (int64_t j = 0; j < L; j++) {
        double a = 2.0 * M_PI * (double)j / (double)L;
        tw[2 * j] = cos(a);
        tw[2 * j + 1] = sin(a);
    }
}

static int64_t sig_smallest_factor(int64_t n) {
    for (int64_t p = 2; p * p <= n; p++)
        if (n % p == 0) return p;
    return n;
}

/* y[0..n-1] = the n-point DFT of x[0], x[xs], ..., x[(n-1) xs] (complex interleaved; n
 * divides L, tw is the L-point twiddle table). Mixed-radix decimation in time: with p the
 * smallest prime factor of n and m = n / p, the p sub-sequences x[r + p j] are transformed
 * into Y_r = y[r m .. r m + m - 1], then X[k + q m] = sum_r W_n^(r (k + q m)) Y_r[k] for
 * q = 0..p-1, reading and writing the same p slots, through tmp (2p doubles). A prime n is
 * the direct O(n^2) sum (m = 1). Unscaled; sign -1 forward, +1 inverse. */
static void sig_fft_rec(const double *x, int64_t xs, double *y, int64_t n, int64_t L, const double *tw, double *tmp,
                        int inverse) {
    if (n == 1) {
        y[0] = x[0];
        y[1] = x[1];
        return;
    }
    int64_t p = sig_smallest_factor(n), m = n / p, step = L / n;
    for (int64_t r = 0; r < p; r++) sig_fft_rec(x + 2 * r * xs, xs * p, y + 2 * r * m, m, L, tw, tmp, inverse);
    for (int64_t k = 0; k < m; k++) {
        for (int64_t r = 0; r < p; r++) {
            tmp[2 * r] = y[2 * (r * m + k)];
            tmp[2 * r + 1] = y[2 * (r * m + k) + 1];
        }
        for (int64_t q = 0; q < p; q++) {
            int64_t idx = k + q * m, e = 0; /* e = r * idx mod n */
            double re = 0, im = 0;
            for (int64_t r = 0; r < p; r++) {
                double cr = tw[2 * e * step], ci = inverse ? tw[2 * e * step + 1] : -tw[2 * e * step + 1];
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

/* One DFT of x[0..L-1] (complex, interleaved) into y[0..L-1] of which bins 0..bins-1 are
 * kept; tmp holds 2L doubles. Inverse divides by L. */
static void sig_dft_line(const double *x, double *y, int64_t L, int64_t bins, const double *tw, double *tmp,
                         int inverse) {
    sig_fft_rec(x, 1, y, L, L, tw, tmp, inverse);
    if (inverse)
        for (int64_t k = 0; k < 2 * bins; k++) y[k] /= (double)L;
}

/* ================================================================ DFT */

static int k_dft(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *len_t = rt_in(n, in, 1);
    const RtTensor *axis_t = n->opset >= 20 ? rt_in(n, in, 2) : NULL;
    if (!x) return rt_fail(c, "input input is required");
    RT_TRY(sig_float_input(c, x, "input"));
    int r = x->rank;
    if (r < 2) return rt_fail(c, "input input must have rank >= 2 ([..., N, 1 or 2]), got rank %d", r);
    int64_t comp = x->dims[r - 1];
    if (comp != 1 && comp != 2)
        return rt_fail(c, "input input's last axis must be 1 (real) or 2 (complex), got %lld", (long long)comp);
    RT_NEED_DATA(c, len_t);
    RT_NEED_DATA(c, axis_t);
    int64_t axis = n->opset >= 20 ? -2 : 1;
    if (n->opset >= 20 && rt_attr(n, "axis"))
        return rt_fail(c, "attribute axis is not allowed in opset %d (axis is input 2)", n->opset);
    if (n->opset < 20) axis = rt_attr_int(n, "axis", 1);
    if (axis_t && rt_numel(axis_t) > 0) RT_TRY(sig_scalar_int(c, axis_t, "axis", &axis));
    if (axis < -r || axis > r - 2)
        return rt_fail(c, "axis %lld is out of range [%d, %d] for rank %d", (long long)axis, -r, r - 2, r);
    int a = (int)(axis < 0 ? axis + r : axis);
    if (a == r - 1) return rt_fail(c, "axis %lld is the complex axis", (long long)axis);
    int inverse = (int)rt_attr_int(n, "inverse", 0), onesided = (int)rt_attr_int(n, "onesided", 0);
    if ((inverse != 0 && inverse != 1) || (onesided != 0 && onesided != 1))
        return rt_fail(c, "attributes inverse and onesided must be 0 or 1, got %d and %d", inverse, onesided);
    if (onesided && comp == 2)
        return rt_fail(c, "onesided = 1 needs a real input (last axis 1); a complex input has no one-sided spectrum");
    if (onesided && inverse) {
        rt_fail(c, "onesided = 1 with inverse = 1 is not supported");
        return RT_ERR_UNSUPPORTED;
    }
    int64_t N = x->dims[a], L = N;
    if (len_t && rt_numel(len_t) > 0) {
        RT_TRY(sig_scalar_int(c, len_t, "dft_length", &L));
        if (L < 1) return rt_fail(c, "input dft_length must be >= 1, got %lld", (long long)L);
    }
    if (L < 1) return rt_fail(c, "axis %d of input input is empty and no dft_length is given", a);
    int64_t bins = onesided ? L / 2 + 1 : L;
    int64_t dims[RT_MAX_RANK];
    for (int i = 0; i < r; i++) dims[i] = x->dims[i];
    dims[a] = bins;
    dims[r - 1] = 2;
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, dims));

    int64_t outer = 1, inner = 1; /* lines: outer x inner, element stride `inner` along the axis */
    for (int i = 0; i < a; i++) outer *= x->dims[i];
    for (int i = a + 1; i < r - 1; i++) inner *= x->dims[i];
    double *buf = rt_scratch(c, sizeof(double) * (size_t)(8 * L));
    if (!buf) return RT_ERR_NOMEM;
    double *line = buf, *spec = buf + 2 * L, *tw = spec + 2 * L, *tmp = tw + 2 * L;
    sig_twiddles(tw, L);
    int64_t keep = N < L ? N : L;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            memset(line, 0, sizeof(double) * (size_t)(2 * L));
            for (int64_t s = 0; s < keep; s++) {
                int64_t e = ((o * N + s) * inner + i) * comp;
                line[2 * s] = rt_get_f64(x, e);
                if (comp == 2) line[2 * s + 1] = rt_get_f64(x, e + 1);
            }
            sig_dft_line(line, spec, L, bins, tw, tmp, inverse);
            for (int64_t k = 0; k < bins; k++) {
                int64_t e = ((o * bins + k) * inner + i) * 2;
                rt_set_f64(out[0], e, spec[2 * k]);
                rt_set_f64(out[0], e + 1, spec[2 * k + 1]);
            }
        }
    rt_scratch_free(c, buf);
    return RT_OK;
}

/* ================================================================ STFT */

static int k_stft(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *step_t = rt_in(n, in, 1), *win = rt_in(n, in, 2),
                   *len_t = rt_in(n, in, 3);
    if (!x) return rt_fail(c, "input signal is required");
    if (!step_t) return rt_fail(c, "input frame_step is required");
    RT_TRY(sig_float_input(c, x, "signal"));
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return rt_fail(c, "input signal must be [batch, signal_length, 1 or 2], got rank %d", x->rank);
    RT_NEED_DATA(c, step_t);
    RT_NEED_DATA(c, len_t);
    int64_t comp = x->dims[2], slen = x->dims[1], step = 0, flen = -1;
    RT_TRY(sig_scalar_int(c, step_t, "frame_step", &step));
    if (step < 1) return rt_fail(c, "input frame_step must be >= 1, got %lld", (long long)step);
    if (win) {
        RT_TRY(sig_float_input(c, win, "window"));
        if (win->rank != 1) return rt_fail(c, "input window must be 1-D, got rank %d", win->rank);
        flen = win->dims[0];
    }
    if (len_t && rt_numel(len_t) > 0) {
        int64_t fl = 0;
        RT_TRY(sig_scalar_int(c, len_t, "frame_length", &fl));
        if (flen >= 0 && fl != flen)
            return rt_fail(c, "input frame_length %lld differs from the window's length %lld", (long long)fl,
                           (long long)flen);
        flen = fl;
    }
    if (flen < 0) return rt_fail(c, "STFT needs input window or input frame_length");
    if (flen < 1 || flen > slen)
        return rt_fail(c, "frame length %lld must be in [1, signal_length %lld]", (long long)flen, (long long)slen);
    int onesided = (int)rt_attr_int(n, "onesided", 1);
    if (onesided != 0 && onesided != 1) return rt_fail(c, "attribute onesided must be 0 or 1, got %d", onesided);
    if (onesided && comp == 2)
        return rt_fail(c, "onesided = 1 needs a real signal (last axis 1); a complex signal has no one-sided spectrum");
    int64_t frames = (slen - flen) / step + 1, bins = onesided ? flen / 2 + 1 : flen;
    int64_t dims[4] = {x->dims[0], frames, bins, 2};
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, 4, dims));
    RT_NEED_DATA(c, win);

    double *buf = rt_scratch(c, sizeof(double) * (size_t)(8 * flen));
    if (!buf) return RT_ERR_NOMEM;
    double *line = buf, *tw = buf + 2 * flen, *spec = tw + 2 * flen, *tmp = spec + 2 * flen;
    sig_twiddles(tw, flen);
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t f = 0; f < frames; f++) {
            for (int64_t s = 0; s < flen; s++) {
                int64_t e = (b * slen + f * step + s) * comp;
                double w = win ? rt_get_f64(win, s) : 1.0;
                line[2 * s] = w * rt_get_f64(x, e);
                line[2 * s + 1] = comp == 2 ? w * rt_get_f64(x, e + 1) : 0.0;
            }
            sig_dft_line(line, spec, flen, bins, tw, tmp, 0);
            for (int64_t k = 0; k < 2 * bins; k++) rt_set_f64(out[0], (b * frames + f) * bins * 2 + k, spec[k]);
        }
    rt_scratch_free(c, buf);
    return RT_OK;
}

/* ================================================================ windows */

enum { WIN_HANN, WIN_HAMMING, WIN_BLACKMAN };

/* The output dtype from attribute output_datatype (default float). */
static int sig_out_dtype(RtKernelCtx *c, const RtNode *n, RtDtype *dt) {
    int64_t d = rt_attr_int(n, "output_datatype", RT_F32);
    if (d <= 0 || d >= RT_DTYPE_END || d == RT_STRING || rt_dtype_size((RtDtype)d) == 0) {
        rt_fail(c, "attribute output_datatype %lld is not a supported numeric type", (long long)d);
        return RT_ERR_UNSUPPORTED;
    }
    *dt = (RtDtype)d;
    return RT_OK;
}

static int sig_window(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int kind) {
    const RtTensor *size_t_ = rt_in(n, in, 0);
    if (!size_t_) return rt_fail(c, "input size is required");
    RtDtype dt;
    RT_TRY(sig_out_dtype(c, n, &dt));
    RT_NEED_DATA(c, size_t_);
    int64_t size;
    RT_TRY(sig_scalar_int(c, size_t_, "size", &size));
    if (size < 0) return rt_fail(c, "input size must be >= 0, got %lld", (long long)size);
    int periodic = (int)rt_attr_int(n, "periodic", 1);
    if (periodic != 0 && periodic != 1) return rt_fail(c, "attribute periodic must be 0 or 1, got %d", periodic);
    RT_TRY(rt_out_alloc(c, out[0], dt, 1, &size));
    double N = (double)(periodic ? size : size - 1);
    for (int64_t i = 0; i < size; i++) {
        double v = 1.0, t = N > 0 ? 2.0 * M_PI * (double)i / N : 0.0;
        if (N > 0) {
            if (kind == WIN_HANN) v = 0.5 - 0.5 * cos(t);
            else if (kind == WIN_HAMMING) v = 25.0 / 46.0 - 21.0 / 46.0 * cos(t);
            else v = 0.42 - 0.5 * cos(t) + 0.08 * cos(2.0 * t);
        }
        rt_set_f64(out[0], i, v);
    }
    return RT_OK;
}

static int k_hann(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return sig_window(c, n, in, out, WIN_HANN);
}
static int k_hamming(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return sig_window(c, n, in, out, WIN_HAMMING);
}
static int k_blackman(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return sig_window(c, n, in, out, WIN_BLACKMAN);
}

/* ================================================================ MelWeightMatrix */

static double hz_to_mel(double hz) { return 2595.0 * log10(1.0 + hz / 700.0); }
static double mel_to_hz(double mel) { return 700.0 * (pow(10.0, mel / 2595.0) - 1.0); }

static int k_mel_weight_matrix(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    static const char *names[5] = {"num_mel_bins", "dft_length", "sample_rate", "lower_edge_hertz",
                                   "upper_edge_hertz"};
    for (int i = 0; i < 5; i++)
        if (!rt_in(n, in, i)) return rt_fail(c, "input %s is required", names[i]);
    RtDtype dt;
    RT_TRY(sig_out_dtype(c, n, &dt));
    for (int i = 0; i < 5; i++) RT_NEED_DATA(c, in[i]);
    int64_t mels = 0, dlen = 0, rate = 0;
    double lo = 0, hi = 0;
    RT_TRY(sig_scalar_int(c, in[0], names[0], &mels));
    RT_TRY(sig_scalar_int(c, in[1], names[1], &dlen));
    RT_TRY(sig_scalar_int(c, in[2], names[2], &rate));
    RT_TRY(sig_scalar_float(c, in[3], names[3], &lo));
    RT_TRY(sig_scalar_float(c, in[4], names[4], &hi));
    if (mels < 1 || dlen < 1 || rate < 1)
        return rt_fail(c, "num_mel_bins, dft_length and sample_rate must be >= 1, got %lld, %lld, %lld",
                       (long long)mels, (long long)dlen, (long long)rate);
    if (!(lo >= 0.0 && lo < hi))
        return rt_fail(c, "need 0 <= lower_edge_hertz < upper_edge_hertz, got %g and %g", lo, hi);
    int64_t spec_bins = dlen / 2 + 1;
    int64_t dims[2] = {spec_bins, mels};
    RT_TRY(rt_out_alloc(c, out[0], dt, 2, dims));
    int64_t *pt = rt_scratch(c, sizeof(int64_t) * (size_t)(mels + 2));
    if (!pt) return RT_ERR_NOMEM;
    double mlo = hz_to_mel(lo), step = (hz_to_mel(hi) - mlo) / (double)(mels + 2);
    for (int64_t i = 0; i < mels + 2; i++) {
        double hz = mel_to_hz((double)i * step + mlo);
        pt[i] = (int64_t)floor((double)(dlen + 1) * hz / (double)rate);
    }
    /* bins past the spectrum (upper_edge_hertz above the Nyquist frequency) are left out */
    int64_t total = spec_bins * mels;
    for (int64_t e = 0; e < total; e++) rt_set_f64(out[0], e, 0.0);
    for (int64_t i = 0; i < mels; i++) {
        int64_t l = pt[i], m = pt[i + 1], h = pt[i + 2];
        /* the rising edge (l..m inclusive), then the falling edge (m..h-1) overwrites bin m */
        if (m == l) {
            if (m < spec_bins) rt_set_f64(out[0], m * mels + i, 1.0);
        } else {
            for (int64_t j = l; j <= m && j < spec_bins; j++)
                rt_set_f64(out[0], j * mels + i, (double)(j - l) / (double)(m - l));
        }
        for (int64_t j = m; j < h && j < spec_bins; j++)
            rt_set_f64(out[0], j * mels + i, (double)(h - j) / (double)(h - m));
    }
    rt_scratch_free(c, pt);
    return RT_OK;
}

const RtKernelEntry rt_kernels_signal[] = {
    {RT_OP_DFT, k_dft},
    {RT_OP_STFT, k_stft},
    {RT_OP_HANN_WINDOW, k_hann},
    {RT_OP_HAMMING_WINDOW, k_hamming},
    {RT_OP_BLACKMAN_WINDOW, k_blackman},
    {RT_OP_MEL_WEIGHT_MATRIX, k_mel_weight_matrix},
    {-1, 0},
};
