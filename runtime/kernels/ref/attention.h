/*
 * attention.h — what the reference Attention kernel (ref/attention.c) shares with the
 * optimized one (x86/attention23_x86.c): the node's checked geometry and mask plan, and the
 * keys and values gathered after their cache in present layout, so both kernels read a node
 * the same way and only the scores-softmax-values part differs.
 */
#ifndef WAFER_RT_REF_ATTENTION_H
#define WAFER_RT_REF_ATTENTION_H

#include <math.h>

#include "../kernel.h"

/* 1 when scores row[0, n) are all -inf (n >= 1): no key left to the query, whose output row
 * Attention defines as 0 (ONNX's errata to Attention-23; the softmax would give 0/0). */
static inline int rt_att_row_all_masked(const float *row, int64_t n) {
    int64_t j = 0;
    while (j < n && row[j] == -INFINITY) j++;
    return n > 0 && j == n;
}

/* Q [B, Nq, Sq, Hk], K [B, Nkv, Skv, Hk], V [B, Nkv, Skv, Hv], cache P positions, T = P + Skv
 * (3-D inputs: [B, S, N*H], rank3 = 1). */
typedef struct {
    int64_t B, Nq, Nkv, Sq, Skv, P, T, Hk, Hv;
    int rank3;                     /* 1: Q, K, V, Y are [B, S, N*H] */
    float scale, softcap;          /* scale: the attribute or 1/sqrt(Hk); softcap 0 = none */
    int causal, mode;              /* mode: qk_matmul_output_mode, -1 when that output is unused */
    int soft_f64;                  /* softmax_precision = double */
} RtAttGeom;

/* The mask's element strides against [B, Nq, Sq, T] (0 on broadcast axes) and its last dim. */
typedef struct {
    const RtTensor *m;             /* borrowed; NULL = no attn_mask */
    int64_t st[4], len;            /* len: the mask's own last dim (keys beyond it are masked) */
    const int64_t *nonpad;         /* [B] borrowed: Attention-24's nonpad_kv_seqlen, keys j >= nonpad[b]
                                      masked; NULL = input absent */
    int nonpad_causal;             /* 1 (nonpad, no past_key): is_causal's diagonal is offset by
                                      nonpad[b] - Sq per sample (the spec's external-cache case) */
} RtAttMask;

typedef struct {
    RtAttGeom g;
    RtAttMask am;
    float *kc, *vc;                /* [B, Nkv, T, Hk] / [B, Nkv, T, Hv] float32: past ++ new; the
                                      present outputs' own data (float32, wanted) or scratch */
    int own_k, own_v;              /* 1: kc / vc are scratch (copied to present outputs at the end) */
    const RtTensor *k, *v, *past_k, *past_v; /* borrowed: the node's inputs (past NULL = none) */
} RtAtt23;

/* Checks the node (every shape rule, attribute, dtype), sets every wanted output's shape and
 * allocates it, and gathers K and V. RT_OK, RT_SHAPE_ONLY (shape mode: nothing to free) or an
 * error (message set, nothing to free). */
int rt_att23_begin(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, RtAtt23 *a);
/* rt_att23_begin without the gathering: kc / vc are allocated but hold nothing until
 * rt_att23_gather fills them, or the kernel writes them itself (x86/attention_decode_x86.c
 * copies the cache as it reads it) from the inputs kept in k, v, past_k, past_v. */
int rt_att23_begin_lazy(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, RtAtt23 *a);
void rt_att23_gather(const RtAtt23 *a);
/* Writes the present outputs still in scratch (ok = 1) and frees the scratch. */
void rt_att23_end(RtKernelCtx *c, const RtNode *n, RtTensor *const *out, RtAtt23 *a, int ok);

#endif
