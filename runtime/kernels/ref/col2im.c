/*
 * col2im.c — Col2Im (opset 18): the inverse of im2col, summing sliding blocks back into an
 * image; any number of spatial axes.
 *
 * input [N, C * K, L], image_shape [S] (the image's spatial sizes I), block_shape [S] (the
 * block sizes k), K = prod k; attributes dilations [S] (default 1), pads [2S] (begins then
 * ends, default 0), strides [S] (default 1). Per axis the number of block positions is
 *     b = floor((I + p_begin + p_end - ((k - 1) * d + 1)) / s) + 1
 * and L must equal prod b. Row c * K + kk of the input (kk = the row-major index of the
 * offset inside the block) at column l (the row-major index of the block position) is added
 * to output [n, c, pos] with pos = blockpos * s - p_begin + offset * d on every axis; terms
 * whose pos falls in the padding are dropped. Output [N, C, I...], accumulated in double.
 */
#include <stdint.h>
#include <string.h>

#include "../kernel.h"

static int col2im_ints(RtKernelCtx *c, const RtNode *n, const char *name, int want, int64_t def, int64_t *v) {
    const int64_t *a;
    int k = rt_attr_ints(n, name, &a);
    for (int i = 0; i < want; i++) v[i] = k < 0 ? def : a[i];
    if (k >= 0 && k != want) return rt_fail(c, "attribute %s has %d values, want %d", name, k, want);
    return RT_OK;
}

static int k_col2im(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *ims = rt_in(n, in, 1), *bls = rt_in(n, in, 2);
    if (!x || !ims || !bls) return rt_fail(c, "inputs input, image_shape and block_shape are required");
    if (x->rank != 3) return rt_fail(c, "input must be [N, C * prod(block_shape), L], got rank %d", x->rank);
    if (rt_dtype_size(x->dtype) == 0 || x->dtype == RT_STRING) {
        rt_fail(c, "input has dtype %s, which wafer does not support", rt_dtype_name(x->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    if (ims->rank != 1 || bls->rank != 1 || ims->dims[0] != bls->dims[0] || ims->dims[0] < 1)
        return rt_fail(c, "image_shape and block_shape must be 1-D of the same length >= 1");
    int S = (int)ims->dims[0];
    if (S + 2 > RT_MAX_RANK) return rt_fail(c, "%d spatial axes: at most %d supported", S, RT_MAX_RANK - 2);
    RT_NEED_DATA(c, ims);
    RT_NEED_DATA(c, bls);
    int64_t I[RT_MAX_RANK], k[RT_MAX_RANK], d[RT_MAX_RANK], s[RT_MAX_RANK], p[2 * RT_MAX_RANK], b[RT_MAX_RANK];
    RT_TRY(col2im_ints(c, n, "dilations", S, 1, d));
    RT_TRY(col2im_ints(c, n, "strides", S, 1, s));
    RT_TRY(col2im_ints(c, n, "pads", 2 * S, 0, p));
    int64_t K = 1, L = 1;
    for (int a = 0; a < S; a++) {
        I[a] = rt_get_i64(ims, a);
        k[a] = rt_get_i64(bls, a);
        /* bounded so that the sizes and products below cannot overflow (values come from files) */
        if (I[a] < 0 || k[a] < 1 || d[a] < 1 || s[a] < 1 || p[a] < 0 || p[S + a] < 0 || I[a] > INT32_MAX ||
            k[a] > INT32_MAX || d[a] > INT32_MAX || s[a] > INT32_MAX || p[a] > INT32_MAX || p[S + a] > INT32_MAX)
            return rt_fail(c, "axis %d: image %lld, block %lld, dilation %lld, stride %lld, pads %lld/%lld out of range", a,
                           (long long)I[a], (long long)k[a], (long long)d[a], (long long)s[a], (long long)p[a],
                           (long long)p[S + a]);
        int64_t span = I[a] + p[a] + p[S + a] - ((k[a] - 1) * d[a] + 1);
        if (span < 0) return rt_fail(c, "axis %d: block (%lld dilated) larger than the padded image", a, (long long)k[a]);
        b[a] = span / s[a] + 1;
        if (k[a] > INT64_MAX / K || b[a] > INT64_MAX / L)
            return rt_fail(c, "prod(block_shape) or the number of blocks overflows");
        K *= k[a];
        L *= b[a];
    }
    if (x->dims[1] % K != 0)
        return rt_fail(c, "input's dimension 1 (%lld) is not a multiple of prod(block_shape) = %lld",
                       (long long)x->dims[1], (long long)K);
    if (x->dims[2] != L)
        return rt_fail(c, "input has %lld blocks (dimension 2) but image, block, pads, strides and dilations give %lld",
                       (long long)x->dims[2], (long long)L);
    int64_t dims[RT_MAX_RANK], C = x->dims[1] / K;
    dims[0] = x->dims[0];
    dims[1] = C;
    for (int a = 0; a < S; a++) dims[2 + a] = I[a];
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, S + 2, dims));
    int64_t P = rt_shape_numel(S, I);
    double *acc = rt_scratch(c, sizeof(double) * (size_t)(P ? P : 1));
    if (!acc) return RT_ERR_NOMEM;
    for (int64_t nc = 0; nc < x->dims[0] * C; nc++) {
        memset(acc, 0, sizeof(double) * (size_t)P);
        for (int64_t kk = 0; kk < K; kk++) {
            int64_t off[RT_MAX_RANK], r = kk;
            for (int a = S - 1; a >= 0; a--) off[a] = r % k[a], r /= k[a];
            int64_t row = (nc * K + kk) * L; /* (n, c * K + kk) row of x: n * C * K + c * K + kk */
            for (int64_t l = 0; l < L; l++) {
                int64_t q = l, pos = 0, ok = 1, bp[RT_MAX_RANK];
                for (int a = S - 1; a >= 0; a--) bp[a] = q % b[a], q /= b[a];
                for (int a = 0; a < S && ok; a++) {
                    int64_t j = bp[a] * s[a] - p[a] + off[a] * d[a];
                    ok = j >= 0 && j < I[a];
                    pos = pos * I[a] + j;
                }
                if (ok) acc[pos] += rt_get_f64(x, row + l);
            }
        }
        for (int64_t i = 0; i < P; i++) rt_set_f64(out[0], nc * P + i, acc[i]);
    }
    rt_scratch_free(c, acc);
    return RT_OK;
}

const RtKernelEntry rt_kernels_col2im[] = {
    {RT_OP_COL2IM, k_col2im},
    {-1, 0},
};
