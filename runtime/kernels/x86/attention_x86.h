/*
 * attention_x86.h — scaled, masked attention as one AVX-512 kernel (x86/attention_x86.c), run
 * for a fused chain MatMul(Q, K^T) -> Mul/Div by a scalar -> Add(mask) -> Softmax(last) ->
 * MatMul(P, V) (rt_fuse_attention.c):
 *     O[b, h] = softmax(scale(Q[b, h] K[b, h]^T) + mask[b, h]) V[b, h]
 * with ONNX Softmax's max subtraction, each operand read through strides (heads straight
 * out of a [B, T, H*dh] projection, or broadcast with stride 0), so no Transpose runs.
 */
#ifndef WAFER_RT_X86_ATTENTION_H
#define WAFER_RT_X86_ATTENTION_H

#include <stdint.h>

#include "../kernel.h"

enum { RT_ATTN_SCALE_NONE = 0, RT_ATTN_SCALE_MUL = 1, RT_ATTN_SCALE_DIV = 2 };

/* Element (b, h, i, j) of an operand is at data + b * s[0] + h * s[1] + i * s[2] + j * s[3]
 * (strides in elements, >= 0; 0 on a broadcast axis). */
typedef struct {
    int64_t B, H, Tq, Tk, dh, dv; /* Q [B,H,Tq,dh], K [B,H,Tk,dh], V [B,H,Tk,dv], O [B,H,Tq,dv]; all >= 1 */
    const float *q;               /* borrowed */
    int64_t qs[4];
    const float *k;               /* borrowed; K itself (row j = key j), not K^T */
    int64_t ks[4];
    const float *v;               /* borrowed */
    int64_t vs[4];
    float *o;                     /* borrowed; may overlap q, k, v or mask (the kernel then
                                     computes into scratch and copies) */
    int64_t os[4];
    int scale_op;                 /* RT_ATTN_SCALE_*: scores dot * scale, dot / scale, or dot */
    float scale;
    const float *mask;            /* borrowed [.., Tq, Tk] broadcast by ms (ms[3] 0 or 1); NULL = none */
    int64_t ms[4];
    /* Optional, from a constant mask: rows[b * rs[0] + h * rs[1] + i] = row (b, h, i)'s split
     * (rt_attention_row_info). NULL = each row split per run. */
    const struct RtAttnRow *rows; /* borrowed */
    int64_t rs[2];
    /* A row whose every score is -inf (every key masked): 0 gives NaN there, as Softmax does
     * (the fused MatMul-Softmax-MatMul graphs); 1 gives an output row of 0, as ONNX Attention
     * does since its errata (onnx/onnx#8068; PyTorch's scaled_dot_product_attention too). */
    int zero_empty_rows;
} RtAttention;

/* A mask row split into columns [0, end) and a suffix [end, Tk) whose entries all lie at least
 * gap below the row's largest entry (+inf when the suffix is empty or all -inf, -inf when no
 * suffix may ever be skipped: a NaN or +inf in the row). Where every score is at most B in
 * magnitude and gap > 2 B + 200 (with rounding slack), each suffix entry's exp(x - max) is
 * exactly 0 (x - max < -104) and the kernel skips the suffix: a causal mask of -inf, or of
 * -1e9 as tinylm's exporter wrote it. A row all -inf: end 0 (the kernel gives NaN, as Softmax, or 0: zero_empty_rows). */
typedef struct RtAttnRow {
    int32_t end;
    int32_t zero;  /* 1: entries [0, end) are all +-0 (the kernel then adds nothing there) */
    double gap;
} RtAttnRow;

/* 1 when this CPU runs the kernel (AVX-512 F, VL, DQ, BW). */
int rt_attention_supported(void);

/* The split of mask row row[j * stride], j < Tk (RtAttnRow). */
void rt_attention_row_info(const float *row, int64_t stride, int64_t Tk, RtAttnRow *ri);

/* Computes O (scratch from c->alloc, threads from c->pool; every output element is computed
 * by the same instructions whatever the thread count). RT_OK, RT_ERR_NOMEM (message set) or
 * RT_ERR_UNSUPPORTED when the CPU lacks AVX-512. */
int rt_attention_run(RtKernelCtx *c, const RtAttention *a);

/* One decode step of grouped attention (x86/attention_decode_x86.c): per batch b < B and
 * key/value head g < Nkv, query heads h = g*G + r (r < G <= 8), one query row each:
 *     O[b, h] = softmax(scale * q[b, h] K[b, g]^T + mask[b, h]) V[b, g]
 * q row (b, h) at q + b*qs[0] + h*qs[1] (dh floats), O row likewise (dv floats), mask row at
 * mask + b*ms[0] + h*ms[1] (T floats, 0 strides broadcast; mask NULL = none); key j of (b, g)
 * at k + b*ks[0] + g*ks[1] + j*ks[2] (dh contiguous floats), values likewise. dh, dv multiples
 * of 16. O must not overlap q, the mask, K or V. */
typedef struct {
    int64_t B, Nkv, G, T, dh, dv;
    const float *q;      /* borrowed */
    int64_t qs[2];
    const float *k, *v;  /* borrowed */
    int64_t ks[3], vs[3];
    float *o;            /* borrowed */
    int64_t os[2];
    const float *mask;   /* borrowed, or NULL */
    int64_t ms[2];
    float scale;         /* scores = dot * scale (then + mask) */
    /* Optional copy-in (knew NULL = K and V already hold every row): the kernel writes key and
     * value rows j < T of (b, g) to k / v itself, from the cache for j < P (row j of (b, g) at
     * kpast + b*kps[0] + g*kps[1] + j*dh, vpast likewise with dv) and from the new rows for
     * j >= P (row j - P at knew + b*kns[0] + g*kns[1] + (j - P)*kns[2], vnew likewise), as it
     * reads them: the copy streams under the scores' arithmetic. */
    int64_t P;
    const float *kpast, *vpast, *knew, *vnew; /* borrowed (kpast, vpast NULL when P = 0) */
    int64_t kps[2], vps[2], kns[3], vns[3];
} RtAttDecode;

/* RT_OK, RT_ERR_NOMEM, or RT_ERR_UNSUPPORTED (no AVX-512, or a case outside the above). */
int rt_attention_decode(RtKernelCtx *c, const RtAttDecode *d);

#endif
