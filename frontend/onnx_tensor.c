/*
 * onnx_tensor.c — TensorProto -> RtTensor, and reading serialized TensorProto files.
 *
 * A TensorProto holds its elements in exactly one place: raw_data (little-endian bytes),
 * external data (a file next to the model, onnx_external.c), or a typed repeated field.
 * The typed field depends on the dtype, per the ONNX spec:
 *   float                                   -> float_data
 *   int32, int16, int8, uint16, uint8, bool -> int32_data (one value per entry)
 *   float16, bfloat16                       -> int32_data (the 16 bits, zero-extended)
 *   int64 -> int64_data;  double -> double_data;  uint32, uint64 -> uint64_data
 * UINT4 / INT4 / UINT2 / INT2 are widened to one byte per element (onnx_tensor_lowbit.c).
 * Float16 stays RT_F16 (bits copied, never converted). The element count must match the
 * dims whatever the source: files can lie, and a short buffer would be read past its end.
 */
#include "onnx_internal.h"
#include "onnx_prescan.h"
#include "onnx_tensor_lowbit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int onnx_fail(OnnxCtx *ctx, const char *fmt, ...) {
    if (ctx->err && ctx->err->msg[0]) return RT_ERR; /* the first error wins */
    char msg[sizeof ctx->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rt_error_set(ctx->err, "%s: %s", ctx->path, msg);
}

/* 1 for the dtypes wafer holds in tensors; strings, complex and 8/4-bit floats are not. */
static int tensor_dtype_supported(int dt) {
    switch (dt) {
    case RT_F32: case RT_U8: case RT_I8: case RT_U16: case RT_I16: case RT_I32: case RT_I64:
    case RT_BOOL: case RT_F16: case RT_F64: case RT_U32: case RT_U64: case RT_BF16:
        return 1;
    default:
        return 0;
    }
}

/* The ONNX name of a TensorProto type wafer does not hold (IR 13 and earlier), for messages. */
static const char *tensor_unheld_name(int dt) {
    switch (dt) {
    case 0: return "undefined";
    case 14: return "complex64";
    case 15: return "complex128";
    case 17: return "float8e4m3fn";
    case 18: return "float8e4m3fnuz";
    case 19: return "float8e5m2";
    case 20: return "float8e5m2fnuz";
    case 23: return "float4e2m1";
    case 24: return "float8e8m0";
    default: return "unknown";
    }
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* raw_data is little-endian; on a big-endian host each element is reversed in place. */
static void tensor_swap_to_host(void *data, size_t elem, int64_t n) {
    if (host_is_little_endian() || elem == 1) return;
    unsigned char *p = data;
    for (int64_t i = 0; i < n; i++, p += elem)
        for (size_t a = 0, b = elem - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* Copies the typed field that carries dt into dst (numel elements, checked by the caller). */
static void tensor_copy_typed(const Onnx__TensorProto *tp, RtDtype dt, void *dst, int64_t n) {
    if (n == 0) return; /* the field may then be a NULL pointer, which memcpy must not see */
    switch (dt) {
    case RT_F32: memcpy(dst, tp->float_data, sizeof(float) * (size_t)n); break;
    case RT_I64: memcpy(dst, tp->int64_data, sizeof(int64_t) * (size_t)n); break;
    case RT_F64: memcpy(dst, tp->double_data, sizeof(double) * (size_t)n); break;
    case RT_U64: memcpy(dst, tp->uint64_data, sizeof(uint64_t) * (size_t)n); break;
    case RT_I32: memcpy(dst, tp->int32_data, sizeof(int32_t) * (size_t)n); break;
    case RT_U32:
        for (int64_t i = 0; i < n; i++) ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i];
        break;
    case RT_I16: case RT_U16: case RT_F16: case RT_BF16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = (uint16_t)tp->int32_data[i];
        break;
    case RT_I8: case RT_U8:
        for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)tp->int32_data[i];
        break;
    case RT_BOOL:
        for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = tp->int32_data[i] != 0;
        break;
    default: break;
    }
}

/* Number of entries in the typed field that carries dt. */
static size_t tensor_typed_count(const Onnx__TensorProto *tp, RtDtype dt) {
    switch (dt) {
    case RT_F32: return tp->n_float_data;
    case RT_I64: return tp->n_int64_data;
    case RT_F64: return tp->n_double_data;
    case RT_U32: case RT_U64: return tp->n_uint64_data;
    default: return tp->n_int32_data;
    }
}

static int tensor_shape_convert(OnnxCtx *ctx, const Onnx__TensorProto *tp, const char *what,
                                RtTensor *t) {
    int dt = tp->has_data_type ? tp->data_type : 0;
    if (dt == RT_STRING)
        return onnx_fail(ctx, "%s: string tensors are not supported", what);
    if (!tensor_dtype_supported(dt))
        return onnx_fail(ctx, "%s: data type %d (%s) is not supported", what, dt, tensor_unheld_name(dt));
    if (tp->n_dims > RT_MAX_RANK)
        return onnx_fail(ctx, "%s: rank %zu exceeds the maximum %d", what, tp->n_dims, RT_MAX_RANK);
    if (tp->segment) return onnx_fail(ctx, "%s: segmented tensors are not supported", what);
    memset(t, 0, sizeof *t);
    t->dtype = (RtDtype)dt;
    t->rank = (int)tp->n_dims;
    for (int i = 0; i < t->rank; i++) {
        if (tp->dims[i] < 0) return onnx_fail(ctx, "%s: negative dim %lld", what, (long long)tp->dims[i]);
        t->dims[i] = tp->dims[i];
    }
    if (rt_nbytes(t) < 0 || (uint64_t)rt_nbytes(t) > (uint64_t)SIZE_MAX / 2)
        return onnx_fail(ctx, "%s: shape is too large", what);
    return RT_OK;
}

int onnx_tensor_convert(OnnxCtx *ctx, const Onnx__TensorProto *tp, const char *what,
                        const OnnxAlloc *a, RtTensor *t) {
    if (onnx_tensor_is_lowbit(tp)) return onnx_tensor_lowbit_convert(ctx, tp, what, a, t); /* widened to 8 bits */
    ONNX_TRY(tensor_shape_convert(ctx, tp, what, t));
    int64_t n = rt_numel(t);
    size_t bytes = (size_t)rt_nbytes(t), elem = rt_dtype_size(t->dtype);
    char shape[64];
    rt_shape_str(t->rank, t->dims, shape, sizeof shape);
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        ONNX_TRY(onnx_external_read(ctx, tp, what, a, bytes, &t->data));
        tensor_swap_to_host(t->data, elem, n);
        return RT_OK;
    }
    /* The sizes are checked before allocating: a lying shape must not allocate terabytes. */
    int raw = tp->has_raw_data;
    size_t count = raw ? 0 : tensor_typed_count(tp, t->dtype);
    if (raw && tp->raw_data.len != bytes)
        return onnx_fail(ctx, "%s: raw data holds %zu bytes, but shape %s of %s needs %zu", what,
                         tp->raw_data.len, shape, rt_dtype_name(t->dtype), bytes);
    if (!raw && (int64_t)count != n)
        return onnx_fail(ctx, "%s: holds %zu elements, but shape %s needs %lld", what, count, shape,
                         (long long)n);
    t->data = a->alloc(a->user, bytes ? bytes : 1);
    if (!t->data) return onnx_fail(ctx, "%s: out of memory (%zu bytes)", what, bytes);
    if (raw) {
        if (bytes) memcpy(t->data, tp->raw_data.data, bytes);
        tensor_swap_to_host(t->data, elem, n);
    } else {
        tensor_copy_typed(tp, t->dtype, t->data, n);
    }
    return RT_OK;
}

static void *tensor_malloc(void *user, size_t bytes) {
    (void)user;
    return malloc(bytes);
}

unsigned char *onnx_file_read(const char *path, size_t *len, RtError *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        rt_error_set(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        rt_error_set(err, "%s: cannot read: not a regular file", path);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size + 1);
    size_t n = buf ? fread(buf, 1, size, f) : 0;
    fclose(f);
    if (!buf || n != size) {
        free(buf);
        rt_error_set(err, buf ? "%s: read error" : "%s: out of memory", path);
        return NULL;
    }
    *len = n;
    return buf;
}

int onnx_tensor_read_pb(const char *path, RtTensor *out, char *name, size_t name_len, RtError *err) {
    memset(out, 0, sizeof *out);
    size_t len = 0;
    unsigned char *buf = onnx_file_read(path, &len, err);
    if (!buf) return RT_ERR;
    char why[200];
    Onnx__TensorProto *tp = (Onnx__TensorProto *)onnx_proto_unpack(
        &onnx__tensor_proto__descriptor, buf, len, 0, NULL, why, sizeof why);
    free(buf);
    if (!tp) return rt_error_set(err, "%s: not a valid serialized TensorProto: %s", path, why);
    /* External data in a .pb would be relative to its folder; the test data never has it. */
    OnnxCtx ctx = {.path = path, .base_dir = NULL, .err = err};
    char what[300];
    snprintf(what, sizeof what, "tensor '%s'", tp->name ? tp->name : "");
    OnnxAlloc a = {tensor_malloc, NULL};
    int r = onnx_tensor_convert(&ctx, tp, what, &a, out);
    if (r == RT_OK && name && name_len) snprintf(name, name_len, "%s", tp->name ? tp->name : "");
    if (r != RT_OK) {
        free(out->data);
        out->data = NULL;
    }
    onnx_proto_free(&tp->base);
    return r;
}
