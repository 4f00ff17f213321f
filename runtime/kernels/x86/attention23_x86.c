/*
 * attention23_x86.c — ONNX Attention (opset 23) on the AVX-512 attention kernel
 * (attention_x86.h), for the float32 forms exporters write most: any GQA/MQA grouping, 3-D or
 * 4-D, a bool or float mask, is_causal, past/present key and value. Softcap, the
 * qk_matmul_output output, softmax_precision = double, other dtypes and CPUs without
 * AVX-512 go to the reference kernel (ref/attention.c), whose checks and gathering of K and V
 * (rt_att23_begin_lazy, rt_att23_gather) this kernel shares.
 *
 * Mapping. The fused kernel computes O[b, h] = softmax(scale * Q[b, h] K[b, h]^T + mask[b, h])
 * V[b, h] through strides. Keys and values come from the present layout [B, Nkv, T, H]; a
 * group of G = Nq / Nkv query heads shares one key/value head, which strides cannot express
 * across groups, so the kernel runs once per key/value head g with H = G query heads starting
 * at head g*G and the key/value head stride 0. The bias (attn_mask as 0 / -inf or its float
 * values, -inf past a short mask's end, -inf above the causal diagonal shifted by the cache)
 * is built once as float32 [mB, mH, Sq, T], mB / mH 1 where the mask broadcasts; the fused
 * kernel then skips each row's -inf suffix (a causal prefill does half the work).
 * Decode steps (one query row per head): with head sizes multiples of 16 and at most 8 query
 * heads per key/value head, x86/attention_decode_x86.c, which reads each key and value once
 * and copies the cache into present on the way (rt_att23_begin_lazy: nothing gathered before);
 * otherwise the group's G heads become G rows of one head of the fused kernel
 * (at23_fold_heads), which then packs K^T and V once per key/value head, not once per query
 * head. Llama-3-8B's shape after 2047 cached: 16.0 ms before either, 1.5 ms now (a plain copy
 * of the two caches takes 1.2 ms).
 */
#include "attention_x86.h"

#include <math.h>
#include <string.h>

#include "../ref/attention.h"

/* 1 when the fused kernel computes this node exactly as the reference would. */
static int at23_eligible(const RtKernelCtx *c, const RtNode *n, RtTensor *const *in) {
    const RtTensor *q = rt_in(n, in, 0);
    if (c->ref_only || c->shape_only || !q || q->dtype != RT_F32 || !rt_attention_supported()) return 0;
    for (int i = 0; i < n->n_in && i < 6; i++)
        if (in[i] && !in[i]->data) return 0;
    if (n->n_out > 3 && (!n->out || n->out[3] >= 0)) return 0; /* qk_matmul_output wanted */
    if (rt_in(n, in, 6)) return 0; /* Attention-24's nonpad_kv_seqlen: the reference masks it */
    if (rt_attr_float(n, "softcap", 0.0f) != 0.0f) return 0;
    if (rt_attr_int(n, "softmax_precision", 0) == RT_F64) return 0;
    return 1;
}

/* The bias [mB, mH, Sq, T] (see the header) into *bias, its strides into ms[4]. */
static int at23_bias(RtKernelCtx *c, const RtAtt23 *a, float **bias, int64_t ms[4]) {
    const RtAttGeom *g = &a->g;
    const RtAttMask *am = &a->am;
    *bias = NULL;
    memset(ms, 0, sizeof(int64_t) * 4);
    if (!am->m && !g->causal) return RT_OK;
    int64_t mB = am->m && am->st[0] ? g->B : 1, mH = am->m && am->st[1] ? g->Nq : 1, rowlen = g->Sq * g->T;
    int64_t total = mB * mH * rowlen;
    float *bs = rt_scratch(c, sizeof(float) * (size_t)(total > 0 ? total : 1));
    if (!bs) return RT_ERR_NOMEM;
    for (int64_t b = 0; b < mB; b++)
        for (int64_t h = 0; h < mH; h++)
            for (int64_t i = 0; i < g->Sq; i++) {
                float *row = bs + ((b * mH + h) * g->Sq + i) * g->T;
                int64_t jn = am->m ? (g->T < am->len ? g->T : am->len) : g->T;
                if (!am->m) {
                    memset(row, 0, sizeof(float) * (size_t)g->T);
                } else {
                    int64_t mb = b * am->st[0] + h * am->st[1] + i * am->st[2], s3 = am->st[3];
                    if (am->m->dtype == RT_BOOL) {
                        const uint8_t *mk = (const uint8_t *)am->m->data + mb;
                        for (int64_t j = 0; j < jn; j++) row[j] = mk[j * s3] ? 0.0f : -INFINITY;
                    } else {
                        const float *mk = (const float *)am->m->data + mb;
                        for (int64_t j = 0; j < jn; j++) row[j] = mk[j * s3];
                    }
                    for (int64_t j = jn; j < g->T; j++) row[j] = -INFINITY;
                }
                if (g->causal)
                    for (int64_t j = i + g->P + 1; j < g->T; j++) row[j] = -INFINITY;
            }
    *bias = bs;
    ms[0] = mB > 1 ? mH * rowlen : 0, ms[1] = mH > 1 ? rowlen : 0, ms[2] = g->T, ms[3] = 1;
    return RT_OK;
}

/* One query row per head (a decode step): the group's G heads become G rows of one head, so
 * the kernel packs the shared K^T and V once per key/value head rather than once per query
 * head (G times the same 2 x T x 128 floats at Llama's shape). Row r is head h0 + r: its Q and
 * O rows lie Hk / Hv apart in both layouts ([B, Nq, 1, H] and [B, 1, Nq*H]), its mask row
 * where head h0 + r's is (ms[1] apart, or the one shared row). Each row's values are those of
 * the unfolded call: rows never mix (a block only skips columns that are exact zeros). */
static void at23_fold_heads(RtAttention *at, int64_t Hk, int64_t Hv, int64_t G) {
    at->Tq = G, at->H = 1;
    at->qs[2] = Hk, at->qs[1] = 0;
    at->os[2] = Hv, at->os[1] = 0;
    at->ks[1] = at->vs[1] = 0;
    at->ms[2] = at->ms[1], at->ms[1] = 0;
}

/* 1 when a decode step runs on rt_attention_decode: one query row per head, at most 8 query
 * heads per key/value head, head sizes multiples of 16, and Y apart from Q (the plan may place
 * an output over a dead input; the kernel writes Y while other units still read Q). */
static int at23_decode_ok(const RtAttGeom *g, const RtTensor *q, const RtTensor *y) {
    if (g->Sq != 1 || g->Nq / g->Nkv > 8 || g->Hk % 16 || g->Hv % 16) return 0;
    const char *q0 = q->data, *q1 = q0 + rt_nbytes(q), *y0 = y->data, *y1 = y0 + rt_nbytes(y);
    return y1 <= q0 || q1 <= y0;
}

/* The decode step through rt_attention_decode, which copies the cache and the new rows into
 * the present layout (a->kc / a->vc) as it reads them: rows (b, h) of Q and Y lie at (b*Nq + h) * H
 * in both layouts ([B, Nq, 1, H] and [B, 1, Nq*H]); K and V in present layout [B, Nkv, T, H];
 * the bias [mB, mH, 1, T] by its strides ms. */
static int at23_decode(RtKernelCtx *c, const RtAtt23 *a, const float *q, float *y, const float *bias,
                       const int64_t ms[4]) {
    const RtAttGeom *g = &a->g;
    RtAttDecode d;
    memset(&d, 0, sizeof d);
    d.B = g->B, d.Nkv = g->Nkv, d.G = g->Nq / g->Nkv, d.T = g->T, d.dh = g->Hk, d.dv = g->Hv;
    d.q = q, d.qs[0] = g->Nq * g->Hk, d.qs[1] = g->Hk;
    d.o = y, d.os[0] = g->Nq * g->Hv, d.os[1] = g->Hv;
    d.k = a->kc, d.ks[0] = g->Nkv * g->T * g->Hk, d.ks[1] = g->T * g->Hk, d.ks[2] = g->Hk;
    d.v = a->vc, d.vs[0] = g->Nkv * g->T * g->Hv, d.vs[1] = g->T * g->Hv, d.vs[2] = g->Hv;
    d.mask = bias, d.ms[0] = ms[0], d.ms[1] = ms[1];
    d.scale = g->scale;
    d.P = g->P;
    if (g->P > 0) { /* float32 (the node's dtype), [B, Nkv, P, H] */
        d.kpast = a->past_k->data, d.kps[0] = g->Nkv * g->P * g->Hk, d.kps[1] = g->P * g->Hk;
        d.vpast = a->past_v->data, d.vps[0] = g->Nkv * g->P * g->Hv, d.vps[1] = g->P * g->Hv;
    }
    d.knew = a->k->data, d.vnew = a->v->data; /* [B, Nkv, Skv, H] or [B, Skv, Nkv*H] */
    if (g->rank3) {
        int64_t ks[3] = {g->Skv * g->Nkv * g->Hk, g->Hk, g->Nkv * g->Hk};
        int64_t vs[3] = {g->Skv * g->Nkv * g->Hv, g->Hv, g->Nkv * g->Hv};
        memcpy(d.kns, ks, sizeof ks), memcpy(d.vns, vs, sizeof vs);
    } else {
        int64_t ks[3] = {g->Nkv * g->Skv * g->Hk, g->Skv * g->Hk, g->Hk};
        int64_t vs[3] = {g->Nkv * g->Skv * g->Hv, g->Skv * g->Hv, g->Hv};
        memcpy(d.kns, ks, sizeof ks), memcpy(d.vns, vs, sizeof vs);
    }
    return rt_attention_decode(c, &d);
}

static int k_attention23_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(RT_OP_ATTENTION);
    if (!at23_eligible(c, n, in)) return ref(c, n, in, out);
    RtAtt23 a;
    RT_TRY(rt_att23_begin_lazy(c, n, in, out, &a)); /* K and V gathered below */
    const RtAttGeom *g = &a.g;
    if (g->B < 1 || g->Nq < 1 || g->Sq < 1 || g->T < 1 || g->Hk < 1 || g->Hv < 1) {
        rt_att23_end(c, n, out, &a, 0); /* empty shapes: the reference handles them */
        return ref(c, n, in, out);
    }
    float *bias = NULL;
    int64_t ms[4];
    int r = at23_bias(c, &a, &bias, ms);
    int64_t G = g->Nq / g->Nkv;
    if (r == RT_OK && at23_decode_ok(g, in[0], out[0])) {
        r = at23_decode(c, &a, in[0]->data, out[0]->data, bias, ms);
        rt_scratch_free(c, bias);
        rt_att23_end(c, n, out, &a, r == RT_OK);
        return r;
    }
    rt_att23_gather(&a);
    for (int64_t kv = 0; r == RT_OK && kv < g->Nkv; kv++) {
        RtAttention at;
        memset(&at, 0, sizeof at);
        at.B = g->B, at.H = G, at.Tq = g->Sq, at.Tk = g->T, at.dh = g->Hk, at.dv = g->Hv;
        int64_t h0 = kv * G;
        if (g->rank3) { /* Q [B, Sq, Nq*Hk], Y [B, Sq, Nq*Hv] */
            int64_t qs[4] = {g->Sq * g->Nq * g->Hk, g->Hk, g->Nq * g->Hk, 1};
            int64_t os[4] = {g->Sq * g->Nq * g->Hv, g->Hv, g->Nq * g->Hv, 1};
            memcpy(at.qs, qs, sizeof qs), memcpy(at.os, os, sizeof os);
            at.q = (const float *)in[0]->data + h0 * g->Hk;
            at.o = (float *)out[0]->data + h0 * g->Hv;
        } else {
            int64_t qs[4] = {g->Nq * g->Sq * g->Hk, g->Sq * g->Hk, g->Hk, 1};
            int64_t os[4] = {g->Nq * g->Sq * g->Hv, g->Sq * g->Hv, g->Hv, 1};
            memcpy(at.qs, qs, sizeof qs), memcpy(at.os, os, sizeof os);
            at.q = (const float *)in[0]->data + h0 * g->Sq * g->Hk;
            at.o = (float *)out[0]->data + h0 * g->Sq * g->Hv;
        }
        int64_t ks[4] = {g->Nkv * g->T * g->Hk, 0, g->Hk, 1}, vs[4] = {g->Nkv * g->T * g->Hv, 0, g->Hv, 1};
        memcpy(at.ks, ks, sizeof ks), memcpy(at.vs, vs, sizeof vs);
        at.k = a.kc + kv * g->T * g->Hk;
        at.v = a.vc + kv * g->T * g->Hv;
        at.scale_op = RT_ATTN_SCALE_MUL, at.scale = g->scale;
        at.zero_empty_rows = 1; /* Attention: a row with no key gives 0 (ref/attention.c) */
        if (bias) {
            memcpy(at.ms, ms, sizeof at.ms);
            at.mask = bias + (ms[1] ? h0 * ms[1] : 0);
        }
        if (g->Sq == 1 && G > 1) at23_fold_heads(&at, g->Hk, g->Hv, G);
        r = rt_attention_run(c, &at);
    }
    rt_scratch_free(c, bias);
    rt_att23_end(c, n, out, &a, r == RT_OK);
    return r;
}

const RtKernelEntry rt_kernels_x86_attention23[] = {
    {RT_OP_ATTENTION, k_attention23_x86},
    {-1, 0},
};
