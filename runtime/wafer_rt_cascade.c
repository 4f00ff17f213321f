/*
 * wafer_rt_cascade.c — a two-model cascade on top of the public API: the small model answers
 * every row; rows whose confidence is below the threshold are answered by the large model.
 *
 *   1. small runs once on the n rows; its first output [n, C] is copied to result->logits.
 *   2. per row: conf = max softmax probability (or top-1 minus top-2 probability); the row
 *      escalates when conf < threshold, unless the price signal is above the cap.
 *   3. each escalated row runs through large as a batch of 1: the input tensors are views of
 *      row r of the caller's inputs (data + r * row bytes), so nothing is copied; large's
 *      logits [1, C] overwrite row r of result->logits.
 * The softmax is max-shifted and summed in double. No allocation: the models' arenas and the
 * caller's buffers hold everything.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wafer_rt.h"

#define CASCADE_MAX_INPUTS 16

static WaferRtStatus cascade_fail(WaferRtError *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return WAFER_RT_ERR_INVALID;
}

static size_t dtype_bytes(int dtype) {
    switch (dtype) {
    case WAFER_RT_U8: case WAFER_RT_I8: case WAFER_RT_BOOL: return 1;
    case WAFER_RT_F16: return 2;
    case WAFER_RT_F32: case WAFER_RT_I32: return 4;
    case WAFER_RT_I64: case WAFER_RT_F64: return 8;
    default: return 0;
    }
}

float wafer_rt_confidence(const float *logits, int64_t classes, int kind) {
    if (classes < 1) return 0.0f;
    int64_t top = 0;
    for (int64_t c = 1; c < classes; c++)
        if (logits[c] > logits[top]) top = c;
    double m = logits[top], sum = 0, second = 0;
    for (int64_t c = 0; c < classes; c++) {
        double e = exp((double)logits[c] - m);
        sum += e;
        if (c != top && e > second) second = e;
    }
    double p1 = 1.0 / sum; /* exp(0) / sum */
    if (p1 != p1) return 0.0f; /* NaN logits: never confident */
    return (float)(kind == WAFER_RT_CONF_MARGIN ? p1 - second / sum : p1);
}

/* Every input is [n, ...] with the same n; the bytes of one row go to row_bytes[i]. */
static WaferRtStatus check_inputs(const char *which, const WaferRtTensor *in, int n_in, int64_t n,
                                  size_t *row_bytes, WaferRtError *err) {
    if (n_in < 1 || n_in > CASCADE_MAX_INPUTS)
        return cascade_fail(err, "wafer_rt_cascade: the %s model's inputs: %d given (1 to %d)", which, n_in, CASCADE_MAX_INPUTS);
    for (int i = 0; i < n_in; i++) {
        size_t b = dtype_bytes(in[i].dtype);
        if (in[i].rank < 1 || in[i].rank > WAFER_RT_MAX_RANK || in[i].dims[0] != n || !b || !in[i].data)
            return cascade_fail(err, "wafer_rt_cascade: the %s model's input %d must be [%lld, ...] of a known type with data",
                                which, i, (long long)n);
        for (int d = 1; d < in[i].rank; d++) b *= (size_t)in[i].dims[d];
        row_bytes[i] = b;
    }
    return WAFER_RT_OK;
}

/* The first output as float [rows, C]; C = its last dimension. */
static WaferRtStatus check_logits(const char *which, const WaferRtTensor *y, int64_t rows, int64_t *classes,
                                  WaferRtError *err) {
    int64_t numel = 1;
    for (int d = 0; d < y->rank; d++) numel *= y->dims[d];
    int64_t C = y->rank >= 1 ? y->dims[y->rank - 1] : 0;
    if (y->dtype != WAFER_RT_F32 || y->rank < 2 || C < 1 || numel != rows * C)
        return cascade_fail(err, "wafer_rt_cascade: the %s model's first output must be float [%lld, classes] logits",
                            which, (long long)rows);
    *classes = C;
    return WAFER_RT_OK;
}

WaferRtStatus wafer_rt_cascade(WaferRtModel *small, const WaferRtTensor *small_inputs, int n_small_inputs,
                               WaferRtModel *large, const WaferRtTensor *large_inputs, int n_large_inputs,
                               const WaferRtCascadeOptions *opts, WaferRtCascadeResult *result,
                               WaferRtError *err) {
    size_t small_rb[CASCADE_MAX_INPUTS], large_rb[CASCADE_MAX_INPUTS];
    if (!small || !large || !opts || !result || !result->logits || !small_inputs || !large_inputs)
        return cascade_fail(err, "wafer_rt_cascade: a model, the inputs, the options and result->logits are required");
    if (opts->confidence != WAFER_RT_CONF_MAX_PROB && opts->confidence != WAFER_RT_CONF_MARGIN)
        return cascade_fail(err, "wafer_rt_cascade: unknown confidence kind %d", opts->confidence);
    int64_t n = n_small_inputs > 0 && small_inputs[0].rank > 0 ? small_inputs[0].dims[0] : 0;
    WaferRtStatus st = check_inputs("small", small_inputs, n_small_inputs, n, small_rb, err);
    if (st == WAFER_RT_OK) st = check_inputs("large", large_inputs, n_large_inputs, n, large_rb, err);
    if (st != WAFER_RT_OK) return st;
    result->n_escalated = 0;
    if (n == 0) return WAFER_RT_OK;
    WaferRtTensor y;
    st = wafer_rt_run(small, small_inputs, n_small_inputs, &y, 1, err);
    int64_t C = 0;
    if (st == WAFER_RT_OK) st = check_logits("small", &y, n, &C, err);
    if (st != WAFER_RT_OK) return st;
    memcpy(result->logits, y.data, (size_t)(n * C) * sizeof(float));
    int small_only = opts->price_signal >= 0 && opts->price_signal > opts->price_cap;
    for (int64_t r = 0; r < n; r++) {
        float conf = wafer_rt_confidence(result->logits + r * C, C, opts->confidence);
        int esc = !small_only && conf < opts->threshold;
        if (result->confidence) result->confidence[r] = conf;
        if (result->escalated) result->escalated[r] = (unsigned char)esc;
        if (!esc) continue;
        WaferRtTensor row[CASCADE_MAX_INPUTS];
        for (int i = 0; i < n_large_inputs; i++) {
            row[i] = large_inputs[i];
            row[i].dims[0] = 1;
            row[i].data = (char *)large_inputs[i].data + (size_t)r * large_rb[i];
        }
        int64_t Cl = 0;
        st = wafer_rt_run(large, row, n_large_inputs, &y, 1, err);
        if (st != WAFER_RT_OK && err) {
            char why[sizeof err->msg];
            memcpy(why, err->msg, sizeof why);
            why[sizeof why - 1] = '\0';
            cascade_fail(err, "wafer_rt_cascade: the large model runs each escalated row as a batch of 1: %s", why);
        }
        if (st == WAFER_RT_OK) st = check_logits("large", &y, 1, &Cl, err);
        if (st == WAFER_RT_OK && Cl != C)
            st = cascade_fail(err, "wafer_rt_cascade: the small model has %lld classes, the large one %lld", (long long)C,
                              (long long)Cl);
        if (st != WAFER_RT_OK) return st;
        memcpy(result->logits + r * C, y.data, (size_t)C * sizeof(float));
        result->n_escalated++;
    }
    return WAFER_RT_OK;
}
