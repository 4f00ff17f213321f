/*
 * onnx_tensor_lowbit.c — packed sub-byte integer TensorProtos -> RT_U8 / RT_I8 tensors, one
 * element per byte, so the runtime's integer kernels read them like any 8-bit tensor:
 * UINT4 / INT4 (opset 21's 4-bit quantized weights, e.g. blocked DequantizeLinear inputs) and
 * UINT2 / INT2 (opset 25's 2-bit ones).
 *
 * ONNX packs 8 / bits elements per byte, element i in bits [bits * (i mod k), ...) of byte
 * i / k (k = 8 / bits: the first element in the low bits; unused high bits of the last byte
 * are 0), in raw_data, in external data, or in int32_data (one packed byte per entry). Signed
 * types are two's complement: INT4 -8..7, INT2 -2..1.
 * Algorithm: check that the packed source holds ceil(numel / k) bytes, put the packed bytes at
 * the start of the numel-byte result and widen them in place from the last element down (the
 * byte element i reads, i / k, is never one already written: i / k <= i).
 */
#include "onnx_tensor_lowbit.h"

#include <string.h>

int onnx_dtype_lowbit_bits(int dt) {
    switch (dt) {
    case ONNX_DTYPE_UINT4: case ONNX_DTYPE_INT4: return 4;
    case ONNX_DTYPE_UINT2: case ONNX_DTYPE_INT2: return 2;
    default: return 0;
    }
}

int onnx_tensor_is_lowbit(const Onnx__TensorProto *tp) {
    return tp->has_data_type && onnx_dtype_lowbit_bits(tp->data_type) != 0;
}

/* An OnnxAlloc handing out one buffer allocated beforehand (for onnx_external_read). */
static void *lowbit_given(void *user, size_t bytes) {
    (void)bytes;
    return user;
}

static void lowbit_widen(uint8_t *p, int64_t n, int bits, int is_signed) {
    int k = 8 / bits;
    unsigned mask = (1u << bits) - 1u, half = 1u << (bits - 1);
    for (int64_t i = n - 1; i >= 0; i--) {
        unsigned v = (p[i / k] >> (bits * (i % k))) & mask;
        p[i] = (uint8_t)(is_signed && v >= half ? (int)v - (int)(2 * half) : (int)v);
    }
}

static const char *lowbit_name(int dt) {
    switch (dt) {
    case ONNX_DTYPE_UINT4: return "uint4";
    case ONNX_DTYPE_INT4: return "int4";
    case ONNX_DTYPE_UINT2: return "uint2";
    default: return "int2";
    }
}

int onnx_tensor_lowbit_convert(OnnxCtx *ctx, const Onnx__TensorProto *tp, const char *what, const OnnxAlloc *a,
                               RtTensor *t) {
    memset(t, 0, sizeof *t);
    if (tp->n_dims > RT_MAX_RANK)
        return onnx_fail(ctx, "%s: rank %zu exceeds the maximum %d", what, tp->n_dims, RT_MAX_RANK);
    if (tp->segment) return onnx_fail(ctx, "%s: segmented tensors are not supported", what);
    int bits = onnx_dtype_lowbit_bits(tp->data_type), k = 8 / bits;
    int is_signed = tp->data_type == ONNX_DTYPE_INT4 || tp->data_type == ONNX_DTYPE_INT2;
    t->dtype = is_signed ? RT_I8 : RT_U8;
    t->rank = (int)tp->n_dims;
    for (int i = 0; i < t->rank; i++) {
        if (tp->dims[i] < 0) return onnx_fail(ctx, "%s: negative dim %lld", what, (long long)tp->dims[i]);
        t->dims[i] = tp->dims[i];
    }
    int64_t n = rt_nbytes(t);
    if (n < 0 || (uint64_t)n > (uint64_t)SIZE_MAX / 2) return onnx_fail(ctx, "%s: shape is too large", what);
    size_t packed = (size_t)(n + k - 1) / (size_t)k;
    const char *type = lowbit_name(tp->data_type);
    int external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (!external && tp->has_raw_data && tp->raw_data.len != packed)
        return onnx_fail(ctx, "%s: raw data holds %zu bytes, but %lld %s elements need %zu", what, tp->raw_data.len,
                         (long long)n, type, packed);
    if (!external && !tp->has_raw_data && tp->n_int32_data != packed)
        return onnx_fail(ctx, "%s: holds %zu packed entries, but %lld %s elements need %zu", what, tp->n_int32_data,
                         (long long)n, type, packed);
    uint8_t *p = a->alloc(a->user, (size_t)(n > 0 ? n : 1));
    if (!p) return onnx_fail(ctx, "%s: out of memory (%lld bytes)", what, (long long)n);
    t->data = p;
    if (external) {
        OnnxAlloc into = {lowbit_given, p};
        void *dst = NULL;
        ONNX_TRY(onnx_external_read(ctx, tp, what, &into, packed, &dst));
    } else if (tp->has_raw_data) {
        if (packed) memcpy(p, tp->raw_data.data, packed);
    } else {
        for (size_t i = 0; i < packed; i++) p[i] = (uint8_t)tp->int32_data[i];
    }
    lowbit_widen(p, n, bits, is_signed);
    return RT_OK;
}
