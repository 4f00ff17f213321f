/*
 * quantize_perchan.c — one int8 scale per channel for a conv output that only a table reads.
 *
 * A conv's int8 output has one scale per tensor, because QConv requantizes every output
 * channel to one y_scale. When its channels span very different ranges (PaddleOCR PP-OCRv4
 * det's p2o.Conv.2: 2.6 .. 173, step 1.15, 18 of 32 channels under 16 codes) and its only
 * reader is an element-wise table (QLut, then a depthwise conv that never mixes channels),
 * the small channels lose nearly everything. Here each channel c gets its own scale
 * s_c = y_scale / g_c (g_c >= 1, one zero point for all), i.e. the conv's output is
 * quantized per channel on axis 1 — standard ONNX (per-axis QuantizeLinear /
 * DequantizeLinear, opset 13). The int8 kernels stay what they are:
 *   - QConv: requantizing channel c to s_c is requantizing to y_scale with the weight scale
 *     w_scale_c * g_c (the same int8 weight codes and int32 bias codes; quantize_rewrite.c
 *     folds it), so QConv keeps one y_scale and a per-channel w_scale, as it already takes;
 *   - QLut: channel c's code q means (q - zp) s_c, so it reads its own table
 *     (table [C, 256], runtime/kernels/ref/qlut.c).
 * g_c stretches channel c's observed extremes [min_c, max_c] (calib_collect_channels, one
 * more pass over the calibration set) into the tensor's range [lo, hi] of the calibrated
 * y_scale and zp: g_c = min(hi / max_c, lo / min_c), at least 1 (the widest channel keeps
 * y_scale; nothing is squeezed) and at most QZ_PERCHAN_MAX_GAIN; and capped so that QConv's
 * requantization multiplier x_scale * w_scale_c * g_c / y_scale stays at most
 * QZ_PERCHAN_MAX_MULT (the vector kernels' fast path wants multipliers below 1), with
 * w_scale_c estimated as max |W_c| / 127 (symmetric per-channel int8 weights).
 */
#include "quantize_internal.h"

#include <math.h>
#include <stdlib.h>

/* A channel 128 times narrower than the tensor already gets 2 codes; more is noise. */
#define QZ_PERCHAN_MAX_GAIN 128.0
/* Half of 1: room for the weight scales quantize_weights.c raises for the bias limit. */
#define QZ_PERCHAN_MAX_MULT 0.5

int qz_perchan_gains(const RtTensor *w, float x_scale, float y_scale, int8_t y_zp, const float *cmin,
                     const float *cmax, float *scales) {
    int64_t M = w->dims[0], per = rt_numel(w) / (M > 0 ? M : 1);
    double lo = (-128.0 - y_zp) * y_scale, hi = (127.0 - y_zp) * y_scale;
    int gained = 0;
    for (int64_t c = 0; c < M; c++) {
        double gain = QZ_PERCHAN_MAX_GAIN;
        if (cmax[c] > 0) gain = fmin(gain, hi / cmax[c]);
        if (cmin[c] < 0) gain = fmin(gain, lo / cmin[c]);
        double wmax = 0;
        const float *wc = (const float *)w->data + c * per;
        for (int64_t i = 0; i < per; i++) wmax = fmax(wmax, fabs(wc[i]));
        double mult = (double)x_scale * (wmax / 127.0) / y_scale; /* at g = 1 */
        if (mult > 0) gain = fmin(gain, QZ_PERCHAN_MAX_MULT / mult);
        if (!(gain > 1)) gain = 1; /* also NaN */
        scales[c] = (float)(y_scale / gain);
        gained |= gain > 1;
    }
    return gained;
}
