/*
 * onnx_tensor_int4.c — UINT4 / INT4 TensorProtos (opset 21's 4-bit quantized weights, e.g.
 * blocked DequantizeLinear inputs) -> RT_U8 / RT_I8 tensors, one element per byte, so the
 * runtime's integer kernels read them like any 8-bit tensor.
 *
 * ONNX packs two 4-bit elements per byte, element 2i in the low nibble and 2i+1 in the high
 * one (an odd count leaves the last high nibble 0), in raw_data, in external data, or in
 * int32_data (one packed byte per entry). INT4 nibbles are two's complement: -8..7.
 * Algorithm: check that the packed source holds ceil(numel / 2) bytes, put the packed bytes at
 * the start of the numel-byte result and widen them in place from the last element down (the
 * byte element i reads, i / 2, is never one already written).
 */
#include "onnx_tensor_int4.h"

#include <string.h>

int onnx_tensor_is_int4(const Onnx__TensorProto *tp) {
    return tp->has_data_type && (tp->data_type == ONNX_DTYPE_UINT4 || tp->data_type == ONNX_DTYPE_INT4);
}

/* An OnnxAlloc handing out one buffer allocated beforehand (for onnx_external_read). */
static void *int4_given(void *user, size_t bytes) {
    (void)bytes;
    return user;
}

static void int4_widen(uint8_t *p, int64_t n, int is_signed) {
    for (int64_t i = n - 1; i >= 0; i--) {
        unsigned v = (p[i / 2] >> (4 * (i % 2))) & 15u;
        p[i] = (uint8_t)(is_signed && v >= 8 ? v - 16 : v);
    }
}

int onnx_tensor_int4_convert(OnnxCtx *ctx, const Onnx__TensorProto *tp, const char *what, const OnnxAlloc *a,
                             RtTensor *t) {
    memset(t, 0, sizeof *t);
    if (tp->n_dims > RT_MAX_RANK)
        return onnx_fail(ctx, "%s: rank %zu exceeds the maximum %d", what, tp->n_dims, RT_MAX_RANK);
    if (tp->segment) return onnx_fail(ctx, "%s: segmented tensors are not supported", what);
    t->dtype = tp->data_type == ONNX_DTYPE_INT4 ? RT_I8 : RT_U8;
    t->rank = (int)tp->n_dims;
    for (int i = 0; i < t->rank; i++) {
        if (tp->dims[i] < 0) return onnx_fail(ctx, "%s: negative dim %lld", what, (long long)tp->dims[i]);
        t->dims[i] = tp->dims[i];
    }
    int64_t n = rt_nbytes(t);
    if (n < 0 || (uint64_t)n > (uint64_t)SIZE_MAX / 2) return onnx_fail(ctx, "%s: shape is too large", what);
    size_t packed = (size_t)(n + 1) / 2;
    const char *type = tp->data_type == ONNX_DTYPE_INT4 ? "int4" : "uint4";
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
        OnnxAlloc into = {int4_given, p};
        void *dst = NULL;
        ONNX_TRY(onnx_external_read(ctx, tp, what, &into, packed, &dst));
    } else if (tp->has_raw_data) {
        if (packed) memcpy(p, tp->raw_data.data, packed);
    } else {
        for (size_t i = 0; i < packed; i++) p[i] = (uint8_t)tp->int32_data[i];
    }
    int4_widen(p, n, tp->data_type == ONNX_DTYPE_INT4);
    return RT_OK;
}
