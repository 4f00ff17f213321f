/*
 * bitwise.c — BitwiseAnd, BitwiseOr, BitwiseXor (opset 18, numpy broadcasting) and
 * BitwiseNot (opset 18) on the integer types int8..int64 and uint8..uint64.
 *
 * The spec applies the operation to the two's-complement bits of each element, so the
 * signedness does not matter: an element is read as its raw little-endian bytes into a
 * uint64, combined, and its low bytes written back. Both inputs must have the same dtype
 * (the spec's single type T). Broadcasting walks the output in row-major order with one
 * counter per axis and the inputs' broadcast strides (0 on a broadcast axis).
 */
#include <string.h>

#include "../kernel.h"

enum { BW_AND, BW_OR, BW_XOR, BW_NOT };

static int bw_int_dtype(RtDtype t) {
    return t == RT_I8 || t == RT_U8 || t == RT_I16 || t == RT_U16 || t == RT_I32 || t == RT_U32 || t == RT_I64 ||
           t == RT_U64;
}

static uint64_t bw_get(const uint8_t *p, size_t es) {
    uint64_t v = 0;
    memcpy(&v, p, es); /* little-endian hosts (as every .wafer/.npy reader here assumes) */
    return v;
}

static int bw_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int op) {
    const RtTensor *a = rt_in(n, in, 0), *b = op == BW_NOT ? a : rt_in(n, in, 1);
    if (!a || !b) return rt_fail(c, "inputs are required");
    if (!bw_int_dtype(a->dtype)) {
        rt_fail(c, "input X has dtype %s; bitwise ops take int8..int64 and uint8..uint64", rt_dtype_name(a->dtype));
        return a->dtype == RT_BOOL || rt_dtype_is_float(a->dtype) ? RT_ERR : RT_ERR_UNSUPPORTED;
    }
    if (b->dtype != a->dtype)
        return rt_fail(c, "inputs A (%s) and B (%s) must have the same dtype", rt_dtype_name(a->dtype),
                       rt_dtype_name(b->dtype));
    int rank;
    int64_t dims[RT_MAX_RANK], sa[RT_MAX_RANK], sb[RT_MAX_RANK];
    RT_TRY(rt_broadcast_shape(c, a->rank, a->dims, b->rank, b->dims, &rank, dims));
    RT_TRY(rt_out_alloc(c, out[0], a->dtype, rank, dims));
    rt_broadcast_strides(a->rank, a->dims, rank, dims, sa);
    rt_broadcast_strides(b->rank, b->dims, rank, dims, sb);
    size_t es = rt_dtype_size(a->dtype);
    const uint8_t *pa = a->data, *pb = b->data;
    uint8_t *py = out[0]->data;
    int64_t total = rt_shape_numel(rank, dims), idx[RT_MAX_RANK] = {0}, oa = 0, ob = 0;
    for (int64_t i = 0; i < total; i++) {
        uint64_t x = bw_get(pa + (size_t)oa * es, es), y = bw_get(pb + (size_t)ob * es, es), z;
        switch (op) {
        case BW_AND: z = x & y; break;
        case BW_OR: z = x | y; break;
        case BW_XOR: z = x ^ y; break;
        default: z = ~x; break;
        }
        memcpy(py + (size_t)i * es, &z, es);
        /* next output index: bump the last axis, carry into the ones before */
        for (int d = rank - 1; d >= 0; d--) {
            oa += sa[d];
            ob += sb[d];
            if (++idx[d] < dims[d]) break;
            oa -= sa[d] * dims[d];
            ob -= sb[d] * dims[d];
            idx[d] = 0;
        }
    }
    return RT_OK;
}

static int k_bitwise_and(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return bw_run(c, n, in, out, BW_AND);
}
static int k_bitwise_or(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return bw_run(c, n, in, out, BW_OR);
}
static int k_bitwise_xor(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return bw_run(c, n, in, out, BW_XOR);
}
static int k_bitwise_not(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return bw_run(c, n, in, out, BW_NOT);
}

const RtKernelEntry rt_kernels_bitwise[] = {
    {RT_OP_BITWISE_AND, k_bitwise_and},
    {RT_OP_BITWISE_OR, k_bitwise_or},
    {RT_OP_BITWISE_XOR, k_bitwise_xor},
    {RT_OP_BITWISE_NOT, k_bitwise_not},
    {-1, 0},
};
