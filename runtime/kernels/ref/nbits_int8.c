/*
 * nbits_int8.c — the readable spec of MatMulNBits' int8 compute (accuracy_level 4; formula in
 * ../nbits_int8.h): A quantized per row and block to int8 as onnxruntime's MLAS does it
 * (QuantizeARow for CompInt8: max |a| / 127, round half to even), then per output and block
 * one exact integer dot product of the codes with the quantized A, the zero point taken out
 * through the block's sum of quantized A, and one float product of the two scales.
 */
#include <math.h>
#include <string.h>

#include "../nbits_int8.h"

int rt_q4q8_applies(const RtNode *n, RtTensor *const *in) {
    const RtTensor *A = rt_in(n, in, 0), *S = rt_in(n, in, 2), *Z = rt_in(n, in, 3), *G = rt_in(n, in, 4);
    const int64_t block = rt_attr_int(n, "block_size", 0);
    return rt_attr_int(n, "accuracy_level", 0) == 4 && rt_attr_int(n, "bits", 4) == 4 && A && A->dtype == RT_F32 &&
           S && S->dtype == RT_F32 && block > 0 && block % 32 == 0 && (!Z || Z->dtype == RT_U8) && !G;
}

void rt_q4q8_weight(const RtNode *n, RtTensor *const *in, RtQ4Weight *w) {
    const RtTensor *Z = rt_in(n, in, 3);
    memset(w, 0, sizeof *w);
    w->K = rt_attr_int(n, "K", 0);
    w->N = rt_attr_int(n, "N", 0);
    w->block = rt_attr_int(n, "block_size", 32);
    w->n_blocks = (w->K + w->block - 1) / w->block;
    w->row_bytes = w->n_blocks * w->block / 2;
    w->zp_row = (w->n_blocks + 1) / 2;
    w->b = in[1]->data;
    w->scales = in[2]->data;
    w->zp = Z ? Z->data : NULL;
    w->inputs = Z ? 0xEu : 0x6u; /* B, scales (, zero points) */
}

int rt_q4q8_applies_linear(const RtNode *n, RtTensor *const *in) {
    const RtTensor *X = rt_in(n, in, 0), *G = rt_in(n, in, 4);
    const int64_t group = rt_attr_int(n, "group", 0);
    return rt_attr_int(n, "accuracy_level", 0) == 4 && rt_attr_int(n, "bits", 0) == 4 && X && X->dtype == RT_F32 &&
           group > 0 && group % 32 == 0 && !G;
}

void rt_q4q8_linear_weight(const RtNode *n, RtTensor *const *in, RtQ4Weight *w) {
    const RtTensor *X = in[0];
    memset(w, 0, sizeof *w);
    w->K = X->rank ? X->dims[X->rank - 1] : 0;
    w->N = in[2]->dims[0];
    w->block = rt_attr_int(n, "group", 32);
    w->n_blocks = (w->K + w->block - 1) / w->block;
    w->row_bytes = (w->K + 31) / 32 * 16; /* qblock.h: rows padded to 32 codes */
    w->b = in[1]->data;
    w->scales = in[2]->data;
    w->qblock_order = 1;
    w->zp_bytes = in[3]->data;
    w->inputs = 0xEu; /* codes, scales, zeros */
}

/* One block of n floats (n <= block) into q[block] (zero past n); returns sa, sets *sum. */
static float q8_block(const float *a, int64_t n, int64_t block, int8_t *q, int32_t *sum) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++) amax = fmaxf(amax, fabsf(a[i])); /* fmaxf skips a NaN */
    const float sa = amax / 127.0f, inv = amax != 0.0f ? 127.0f / amax : 0.0f;
    int32_t s = 0;
    for (int64_t i = 0; i < n; i++) {
        const float r = nearbyintf(a[i] * inv); /* the default rounding: half to even */
        const int v = r >= 127.0f ? 127 : r <= -127.0f ? -127 : r == r ? (int)r : 0;
        q[i] = (int8_t)v;
        s += v;
    }
    memset(q + n, 0, (size_t)(block - n));
    *sum = s;
    return sa;
}

void rt_q8_quantize_rows(const float *a, int64_t M, int64_t K, int64_t block, int8_t *q, float *sa, int32_t *sum) {
    const int64_t nb = (K + block - 1) / block;
    for (int64_t m = 0; m < M; m++)
        for (int64_t b = 0; b < nb; b++) {
            const int64_t k0 = b * block, n = K - k0 < block ? K - k0 : block;
            sa[m * nb + b] = q8_block(a + m * K + k0, n, block, q + m * nb * block + k0, &sum[m * nb + b]);
        }
}


void rt_q4q8_gemm_ref(const RtQ4Weight *w, const int8_t *q, const float *sa, const int32_t *sum, int64_t M,
                      const float *bias, float *y) {
    const int64_t nb = w->n_blocks, Kp = nb * w->block;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < w->N; n++) {
            const int8_t *qa = q + m * Kp;
            float acc = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                int32_t dot = 0;
                for (int64_t k = b * w->block; k < (b + 1) * w->block; k++)
                    dot += (int32_t)rt_q4_code(w, n, k) * qa[k];
                dot -= rt_q4_zero(w, n, b) * sum[m * nb + b];
                acc += (sa[m * nb + b] * w->scales[n * nb + b]) * (float)dot;
            }
            y[m * w->N + n] = bias ? acc + bias[n] : acc;
        }
}

int rt_q4q8_run_ref(RtKernelCtx *c, const RtQ4Weight *w, const float *a, int64_t M, const float *bias, float *y) {
    const int64_t nb = w->n_blocks, Kp = nb * w->block;
    int8_t *q = rt_scratch(c, (size_t)(M * Kp + 1));
    float *sa = rt_scratch(c, sizeof(float) * (size_t)(M * nb + 1));
    int32_t *sum = rt_scratch(c, sizeof(int32_t) * (size_t)(M * nb + 1));
    int r = q && sa && sum ? RT_OK : RT_ERR_NOMEM;
    if (r == RT_OK) {
        rt_q8_quantize_rows(a, M, w->K, w->block, q, sa, sum);
        rt_q4q8_gemm_ref(w, q, sa, sum, M, bias, y);
    }
    if (q) rt_scratch_free(c, q);
    if (sa) rt_scratch_free(c, sa);
    if (sum) rt_scratch_free(c, sum);
    return r;
}
