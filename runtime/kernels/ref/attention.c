/*
 * attention.c — Attention (opsets 23 and 24): scaled dot-product attention with multi-head,
 * grouped-query (GQA) and multi-query heads, masks, causal masking, a key/value cache and
 * softcapping. Reference kernel, float32 arithmetic (float16 / bfloat16 tensors are widened).
 *
 * Shapes (4-D inputs; 3-D ones are [B, S, N*H] and need q_num_heads / kv_num_heads):
 *   Q [B, Nq, Sq, Hk]   K [B, Nkv, Skv, Hk]   V [B, Nkv, Skv, Hv]   Nq % Nkv == 0
 *   past_key [B, Nkv, P, Hk], past_value [B, Nkv, P, Hv] (both or neither), T = P + Skv
 *   Y [B, Nq, Sq, Hv] (3-D input: [B, Sq, Nq*Hv]); present_key / present_value = past ++ new
 *   along the sequence axis, [B, Nkv, T, H]; qk_matmul_output [B, Nq, Sq, T]
 * Query head h reads key/value head h / (Nq / Nkv). For each batch and query head:
 *   S    = scale * Q_h K_h^T                 scale default 1/sqrt(Hk)      (mode 0 output)
 *   S    = softcap * tanh(S / softcap)       when softcap > 0              (mode 1 output)
 *   S   += bias                              attn_mask, is_causal, below   (mode 2 output)
 *   Pr   = softmax(S) over the T keys                                      (mode 3 output)
 *   Y_h  = Pr V_h
 * bias: a bool attn_mask adds 0 where true and -inf where false; a float one (Q's dtype) is
 * added as is; the mask broadcasts (numpy) to [B, Nq, Sq, T] (a last dim shorter than T, which
 * Attention-24 pads with -inf, is refused at 23, as onnxruntime does). Attention-24's
 * nonpad_kv_seqlen [B] (int64) adds -inf at keys j >= nonpad_kv_seqlen[b]. is_causal = 1 also adds
 * -inf where key j > query i + P (the causal diagonal shifted by the cache length; with
 * nonpad_kv_seqlen and no past_key, by nonpad_kv_seqlen[b] - Sq: the external cache's length).
 * The softcap comes before the bias, so masked scores stay -inf (a capped -inf would leak
 * probability); the spec's reference and onnxruntime order it so, and the qk_matmul_output
 * modes name the stages in this order. A query row whose every score is -inf (no key left by
 * the masks) has probabilities 0, so its Y row is 0 (the softmax would give 0/0 = NaN): ONNX's
 * errata to Attention-23 (onnx/onnx#8068, no opset bump), as PyTorch's
 * scaled_dot_product_attention and onnxruntime 1.30 (its mode-3 output is 0 there too).
 *
 * Algorithm: K and V are first gathered into present-layout buffers [B, Nkv, T, H] (the
 * present outputs themselves when requested in float32). Then per (b, h) the queries go in
 * blocks of rows (as many as fit ATT_SCORES floats of scores): one GEMM (runtime/kernels/gemm.h)
 * gives the block's scores [rows, Tb], the mask/softcap/softmax pass runs over those rows, a
 * second GEMM multiplies them with V_h straight into Y (row stride Hv or Nq*Hv). Scratch is one
 * block, so long sequences never materialize [Sq, T] per head. With is_causal (and no
 * qk_matmul_output wanted) a block stops at its last row's diagonal, Tb = min(T, P + i0 + rows):
 * the keys after it are masked for every row of the block, so a prefill does about half the
 * work.
 */
#include "attention.h"

#include "../gemm.h"

#include <math.h>
#include <string.h>

#define ATT_SCORES 65536 /* floats of one scores block (256 KB: L2), ATT_MIN_ROWS..ATT_MAX_ROWS rows */
#define ATT_MIN_ROWS 16
#define ATT_MAX_ROWS 256

typedef RtAttGeom AttGeom;
typedef RtAttMask AttMask;

static int att_float_ok(RtDtype t) { return t == RT_F32 || t == RT_F16 || t == RT_BF16; }

static inline float att_ld(const RtTensor *t, int64_t i) {
    switch (t->dtype) {
    case RT_F32: return ((const float *)t->data)[i];
    case RT_F16: return rt_f16_to_f32(((const uint16_t *)t->data)[i]);
    case RT_BF16: return rt_bf16_to_f32(((const uint16_t *)t->data)[i]);
    default: return (float)rt_get_f64(t, i);
    }
}

static inline void att_st(RtTensor *t, int64_t i, float v) {
    switch (t->dtype) {
    case RT_F32: ((float *)t->data)[i] = v; break;
    case RT_F16: ((uint16_t *)t->data)[i] = rt_f32_to_f16(v); break;
    case RT_BF16: ((uint16_t *)t->data)[i] = rt_f32_to_bf16(v); break;
    default: rt_set_f64(t, i, v); break;
    }
}

static int att_out_wanted(const RtNode *n, int i) {
    return i < n->n_out && (i == 0 || !n->out || n->out[i] >= 0);
}

/* Heads and head sizes of one of Q, K, V from its shape (and the heads attribute for 3-D). */
static int att_heads(RtKernelCtx *c, const RtTensor *t, const char *what, int64_t attr_heads, const char *attr,
                     int64_t *N, int64_t *S, int64_t *H) {
    if (t->rank == 4) {
        if (attr_heads != 0 && attr_heads != t->dims[1])
            return rt_fail(c, "attribute '%s' = %lld but input '%s' has %lld heads", attr, (long long)attr_heads,
                           what, (long long)t->dims[1]);
        *N = t->dims[1], *S = t->dims[2], *H = t->dims[3];
        return RT_OK;
    }
    if (attr_heads <= 0) return rt_fail(c, "attribute '%s' (> 0) is required for 3-D inputs", attr);
    if (t->dims[2] % attr_heads != 0)
        return rt_fail(c, "input '%s' hidden size %lld is not a multiple of %s = %lld", what, (long long)t->dims[2],
                       attr, (long long)attr_heads);
    *N = attr_heads, *S = t->dims[1], *H = t->dims[2] / attr_heads;
    return RT_OK;
}

static int att_attrs(RtKernelCtx *c, const RtNode *n, AttGeom *g) {
    g->causal = (int)rt_attr_int(n, "is_causal", 0);
    if (g->causal != 0 && g->causal != 1) return rt_fail(c, "attribute 'is_causal' must be 0 or 1");
    int64_t mode = rt_attr_int(n, "qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3) return rt_fail(c, "attribute 'qk_matmul_output_mode' = %lld must be 0 to 3", (long long)mode);
    g->mode = att_out_wanted(n, 3) ? (int)mode : -1;
    g->softcap = rt_attr_float(n, "softcap", 0.0f);
    if (!(g->softcap >= 0)) return rt_fail(c, "attribute 'softcap' must be >= 0");
    int64_t sp = rt_attr_int(n, "softmax_precision", 0);
    if (sp != 0 && sp != RT_F32 && sp != RT_F16 && sp != RT_BF16 && sp != RT_F64)
        return rt_fail(c, "attribute 'softmax_precision' = %lld is not float, float16, bfloat16 or double",
                       (long long)sp);
    g->soft_f64 = sp == RT_F64; /* float16 / bfloat16 softmax runs in float32: at least as precise */
    return RT_OK;
}

/* Every shape rule of the spec; fills g. */
static int att_geom(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, AttGeom *g) {
    const RtTensor *q = in[0], *k = in[1], *v = in[2], *pk = rt_in(n, in, 4), *pv = rt_in(n, in, 5);
    char s1[128], s2[128];
    if (q->rank != k->rank || q->rank != v->rank || (q->rank != 3 && q->rank != 4))
        return rt_fail(c, "Q, K and V must all be 3-D or all 4-D, got ranks %d, %d, %d", q->rank, k->rank, v->rank);
    int64_t qh = rt_attr_int(n, "q_num_heads", 0), kvh = rt_attr_int(n, "kv_num_heads", 0), Nk, Nv, Sv, Hq;
    RT_TRY(att_heads(c, q, "Q", qh, "q_num_heads", &g->Nq, &g->Sq, &Hq));
    RT_TRY(att_heads(c, k, "K", kvh, "kv_num_heads", &Nk, &g->Skv, &g->Hk));
    RT_TRY(att_heads(c, v, "V", kvh, "kv_num_heads", &Nv, &Sv, &g->Hv));
    g->rank3 = q->rank == 3;
    g->B = q->dims[0];
    if (k->dims[0] != g->B || v->dims[0] != g->B) return rt_fail(c, "Q, K and V differ in batch size");
    if (Nk != Nv) return rt_fail(c, "K has %lld heads, V %lld", (long long)Nk, (long long)Nv);
    if (Nk == 0 || g->Nq % Nk != 0)
        return rt_fail(c, "query heads %lld are not a multiple of key/value heads %lld", (long long)g->Nq, (long long)Nk);
    g->Nkv = Nk;
    if (Hq != g->Hk) return rt_fail(c, "Q head size %lld differs from K's %lld", (long long)Hq, (long long)g->Hk);
    if (Sv != g->Skv) return rt_fail(c, "K has %lld positions, V %lld", (long long)g->Skv, (long long)Sv);
    if ((pk == NULL) != (pv == NULL)) return rt_fail(c, "past_key and past_value must be given together");
    g->P = 0;
    if (pk) {
        int okk = pk->rank == 4 && pk->dims[0] == g->B && pk->dims[1] == Nk && pk->dims[3] == g->Hk;
        int okv = pv->rank == 4 && pv->dims[0] == g->B && pv->dims[1] == Nk && pv->dims[3] == g->Hv &&
                  okk && pv->dims[2] == pk->dims[2];
        if (!okk || !okv)
            return rt_fail(c, "past_key %s / past_value %s must be [batch, kv_heads, past, head_size] alike",
                           rt_shape_str(pk->rank, pk->dims, s1, sizeof s1), rt_shape_str(pv->rank, pv->dims, s2, sizeof s2));
        if (pk->dtype != k->dtype || pv->dtype != v->dtype)
            return rt_fail(c, "past_key / past_value must have K's / V's dtype");
        g->P = pk->dims[2];
    }
    g->T = g->P + g->Skv;
    const RtAttr *sa = rt_attr(n, "scale");
    g->scale = sa && sa->type == RT_ATTR_FLOAT ? sa->f : (g->Hk > 0 ? 1.0f / sqrtf((float)g->Hk) : 1.0f);
    return RT_OK;
}

/* Checks nonpad_kv_seqlen (Attention-24: int64 [B], each in [0, T]) into am->nonpad. Without
 * past_key the cache is external (updated by TensorScatter): query i of sample b then sits at
 * position nonpad[b] - Sq + i, where is_causal's diagonal goes (the spec's reference). */
static int att_nonpad_plan(RtKernelCtx *c, const RtTensor *np, const AttGeom *g, int has_past, AttMask *am) {
    if (!np) return RT_OK;
    am->nonpad_causal = !has_past;
    if (np->dtype != RT_I64 || np->rank != 1 || np->dims[0] != g->B)
        return rt_fail(c, "nonpad_kv_seqlen must be int64 [batch] = [%lld]", (long long)g->B);
    const int64_t *v = np->data;
    if (!v) return RT_OK; /* shape mode: the outputs' shapes do not depend on it */
    for (int64_t b = 0; b < g->B; b++)
        if (v[b] < 0 || v[b] > g->T)
            return rt_fail(c, "nonpad_kv_seqlen[%lld] = %lld is outside [0, total_sequence_length %lld]", (long long)b,
                           (long long)v[b], (long long)g->T);
    am->nonpad = v;
    return RT_OK;
}

/* Checks attn_mask (bool, or Q's float type) against [B, Nq, Sq, T] and plans its strides; from
 * opset 24 its last dim may be shorter than T (the keys past it are masked). */
static int att_mask_plan(RtKernelCtx *c, const RtTensor *m, const AttGeom *g, RtDtype qt, int opset, AttMask *am) {
    char s1[128];
    memset(am, 0, sizeof *am);
    am->m = m;
    if (!m) return RT_OK;
    if (m->dtype != RT_BOOL && m->dtype != qt)
        return rt_fail(c, "attn_mask is %s; expected bool or Q's dtype %s", rt_dtype_name(m->dtype), rt_dtype_name(qt));
    const int64_t full[4] = {g->B, g->Nq, g->Sq, g->T};
    if (m->rank < 1 || m->rank > 4)
        return rt_fail(c, "attn_mask %s must have rank 1 to 4", rt_shape_str(m->rank, m->dims, s1, sizeof s1));
    int64_t stride = 1;
    for (int i = 3, j = m->rank - 1; i >= 0; i--, j--) {
        int64_t d = j >= 0 ? m->dims[j] : 1;
        int ok = d == 1 || d == full[i] || (i == 3 && opset >= 24 && d < full[i]); /* 24: padded with -inf */
        if (!ok)
            return rt_fail(c, "attn_mask %s does not broadcast to [batch, q_heads, q_seq, total_seq] = [%lld, %lld, %lld, %lld]",
                           rt_shape_str(m->rank, m->dims, s1, sizeof s1), (long long)g->B, (long long)g->Nq,
                           (long long)g->Sq, (long long)g->T);
        am->st[i] = d == 1 ? 0 : stride;
        if (i == 3) am->len = d == 1 ? g->T : d;
        stride *= d;
    }
    return RT_OK;
}

/* Gathers head (b, h) of K (or V) after its past into dst [B, Nkv, T, H] float32. A float32
 * past head is one contiguous [P, H] run copied whole (a decode step after a long cache is
 * mostly this copy: 2 x 8 MiB at Llama-3-8B's 8 heads x 128 over 2047 positions); other dtypes
 * widen. */
static void att_gather_head(const RtTensor *past, const RtTensor *x, const AttGeom *g, int64_t H, float *dst,
                            int64_t b, int64_t h) {
    float *d = dst + ((b * g->Nkv + h) * g->T) * H;
    const int64_t p0 = (b * g->Nkv + h) * g->P * H;
    if (g->P > 0 && past->dtype == RT_F32)
        memcpy(d, (const float *)past->data + p0, sizeof(float) * (size_t)(g->P * H));
    else
        for (int64_t i = 0; i < g->P * H; i++) d[i] = att_ld(past, p0 + i);
    d += g->P * H;
    for (int64_t s = 0; s < g->Skv; s++) {
        int64_t src = g->rank3 ? (b * g->Skv + s) * (g->Nkv * H) + h * H : ((b * g->Nkv + h) * g->Skv + s) * H;
        if (x->dtype == RT_F32) memcpy(d + s * H, (const float *)x->data + src, sizeof(float) * (size_t)H);
        else for (int64_t e = 0; e < H; e++) d[s * H + e] = att_ld(x, src + e);
    }
}

static void att23_gather_head(const RtAtt23 *a, int which, int64_t b, int64_t h) {
    if (which == 0) att_gather_head(a->past_k, a->k, &a->g, a->g.Hk, a->kc, b, h);
    else att_gather_head(a->past_v, a->v, &a->g, a->g.Hv, a->vc, b, h);
}

void rt_att23_gather(const RtAtt23 *a) {
    for (int which = 0; which < 2; which++)
        for (int64_t b = 0; b < a->g.B; b++)
            for (int64_t h = 0; h < a->g.Nkv; h++) att23_gather_head(a, which, b, h);
}

/* Scores rows [i0, i0 + m) of (b, h) in S[m, T] (the block's first T keys: g->T unless
 * causal trimming) -> probabilities, in place; the qk output (mode >= 0: T == g->T) taken at
 * its stage. */
static void att_rows(const AttGeom *g, const AttMask *am, int64_t b, int64_t h, int64_t i0, int64_t m, int64_t T,
                     float *S, RtTensor *qk) {
    for (int64_t r = 0; r < m; r++) {
        float *row = S + r * T;
        int64_t i = i0 + r, qk_base = ((b * g->Nq + h) * g->Sq + i) * T;
        if (g->mode == 0)
            for (int64_t j = 0; j < T; j++) att_st(qk, qk_base + j, row[j]);
        if (g->softcap > 0)
            for (int64_t j = 0; j < T; j++) row[j] = g->softcap * tanhf(row[j] / g->softcap);
        if (g->mode == 1)
            for (int64_t j = 0; j < T; j++) att_st(qk, qk_base + j, row[j]);
        if (am->m) {
            int64_t mb = b * am->st[0] + h * am->st[1] + i * am->st[2];
            int64_t jn = T < am->len ? T : am->len, s3 = am->st[3];
            if (am->m->dtype == RT_BOOL) {
                const uint8_t *mk = (const uint8_t *)am->m->data + mb;
                for (int64_t j = 0; j < jn; j++)
                    if (!mk[j * s3]) row[j] = -INFINITY;
            } else if (am->m->dtype == RT_F32) {
                const float *mk = (const float *)am->m->data + mb;
                for (int64_t j = 0; j < jn; j++) row[j] += mk[j * s3];
            } else {
                for (int64_t j = 0; j < jn; j++) row[j] += att_ld(am->m, mb + j * s3);
            }
            for (int64_t j = jn; j < T; j++) row[j] = -INFINITY;
        }
        if (am->nonpad) /* Attention-24: the sample's padding keys, masked with attn_mask's bias */
            for (int64_t j = am->nonpad[b]; j < T; j++) row[j] = -INFINITY;
        if (g->causal) {
            int64_t off = am->nonpad && am->nonpad_causal ? am->nonpad[b] - g->Sq : g->P;
            for (int64_t j = i + off + 1 < 0 ? 0 : i + off + 1; j < T; j++) row[j] = -INFINITY;
        }
        if (g->mode == 2)
            for (int64_t j = 0; j < T; j++) att_st(qk, qk_base + j, row[j]);
        float mx = -INFINITY;
        for (int64_t j = 0; j < T; j++) mx = row[j] > mx ? row[j] : mx;
        if (mx == -INFINITY && rt_att_row_all_masked(row, T)) {
            memset(row, 0, sizeof(float) * (size_t)T);
        } else if (g->soft_f64) {
            double sum = 0;
            for (int64_t j = 0; j < T; j++) sum += exp((double)row[j] - mx);
            for (int64_t j = 0; j < T; j++) row[j] = (float)(exp((double)row[j] - mx) / sum);
        } else {
            float sum = 0;
            for (int64_t j = 0; j < T; j++) sum += (row[j] = expf(row[j] - mx));
            float inv = 1.0f / sum;
            for (int64_t j = 0; j < T; j++) row[j] *= inv;
        }
        if (g->mode == 3)
            for (int64_t j = 0; j < T; j++) att_st(qk, qk_base + j, row[j]);
    }
}

/* Sets every wanted output's shape; then allocates them (RT_SHAPE_ONLY in shape mode). */
static int att_outputs(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, const AttGeom *g, RtTensor *const *out) {
    int64_t y[4] = {g->B, g->Nq, g->Sq, g->Hv}, y3[3] = {g->B, g->Sq, g->Nq * g->Hv};
    int64_t pk[4] = {g->B, g->Nkv, g->T, g->Hk}, pv[4] = {g->B, g->Nkv, g->T, g->Hv};
    int64_t qk[4] = {g->B, g->Nq, g->Sq, g->T};
    if (g->rank3) rt_out_set_shape(out[0], in[0]->dtype, 3, y3);
    else rt_out_set_shape(out[0], in[0]->dtype, 4, y);
    if (att_out_wanted(n, 1)) rt_out_set_shape(out[1], in[1]->dtype, 4, pk);
    if (att_out_wanted(n, 2)) rt_out_set_shape(out[2], in[2]->dtype, 4, pv);
    if (att_out_wanted(n, 3)) rt_out_set_shape(out[3], in[0]->dtype, 4, qk);
    for (int i = 0; i < 4; i++)
        if (att_out_wanted(n, i)) RT_TRY(rt_out_alloc_data(c, out[i]));
    return RT_OK;
}

/* Widened float32 copy of t (or t's own data when float32); *own set when allocated. */
static const float *att_f32(RtKernelCtx *c, const RtTensor *t, float **own) {
    *own = NULL;
    if (t->dtype == RT_F32) return (const float *)t->data;
    int64_t nel = rt_numel(t);
    *own = rt_scratch(c, sizeof(float) * (size_t)(nel ? nel : 1));
    if (*own)
        for (int64_t i = 0; i < nel; i++) (*own)[i] = att_ld(t, i);
    return *own;
}

int rt_att23_begin(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, RtAtt23 *a) {
    RT_TRY(rt_att23_begin_lazy(c, n, in, out, a));
    rt_att23_gather(a);
    return RT_OK;
}

int rt_att23_begin_lazy(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, RtAtt23 *a) {
    memset(a, 0, sizeof *a);
    const RtTensor *q = rt_in(n, in, 0), *k = rt_in(n, in, 1), *v = rt_in(n, in, 2);
    if (!q || !k || !v) return rt_fail(c, "inputs 'Q', 'K' and 'V' are required");
    if (n->opset > 0 && n->opset < 23) return rt_fail(c, "Attention exists from opset 23; this node is at opset %d", n->opset);
    if (!att_float_ok(q->dtype) || k->dtype != q->dtype || v->dtype != q->dtype)
        return rt_fail(c, "Q, K, V must share one dtype of float32, float16, bfloat16; got %s, %s, %s",
                       rt_dtype_name(q->dtype), rt_dtype_name(k->dtype), rt_dtype_name(v->dtype));
    AttGeom *g = &a->g;
    RT_TRY(att_attrs(c, n, g));
    RT_TRY(att_geom(c, n, in, g));
    RT_TRY(att_mask_plan(c, rt_in(n, in, 3), g, q->dtype, n->opset, &a->am));
    RT_TRY(att_nonpad_plan(c, rt_in(n, in, 6), g, rt_in(n, in, 4) != NULL, &a->am));
    RT_TRY(att_outputs(c, n, in, g, out));
    a->own_k = !(att_out_wanted(n, 1) && k->dtype == RT_F32), a->own_v = !(att_out_wanted(n, 2) && v->dtype == RT_F32);
    size_t nk = (size_t)(g->B * g->Nkv * g->T * g->Hk), nv = (size_t)(g->B * g->Nkv * g->T * g->Hv);
    a->kc = a->own_k ? rt_scratch(c, sizeof(float) * (nk ? nk : 1)) : (float *)out[1]->data;
    a->vc = a->own_v ? rt_scratch(c, sizeof(float) * (nv ? nv : 1)) : (float *)out[2]->data;
    if (!a->kc || !a->vc) {
        rt_att23_end(c, n, out, a, 0);
        return RT_ERR_NOMEM;
    }
    a->k = k, a->v = v, a->past_k = rt_in(n, in, 4), a->past_v = rt_in(n, in, 5);
    return RT_OK;
}

void rt_att23_end(RtKernelCtx *c, const RtNode *n, RtTensor *const *out, RtAtt23 *a, int ok) {
    const AttGeom *g = &a->g;
    size_t nk = (size_t)(g->B * g->Nkv * g->T * g->Hk), nv = (size_t)(g->B * g->Nkv * g->T * g->Hv);
    if (ok && a->own_k && att_out_wanted(n, 1))
        for (size_t i = 0; i < nk; i++) att_st(out[1], (int64_t)i, a->kc[i]);
    if (ok && a->own_v && att_out_wanted(n, 2))
        for (size_t i = 0; i < nv; i++) att_st(out[2], (int64_t)i, a->vc[i]);
    if (a->own_k) rt_scratch_free(c, a->kc);
    if (a->own_v) rt_scratch_free(c, a->vc);
    a->kc = a->vc = NULL;
}

static int k_attention(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtAtt23 a;
    RT_TRY(rt_att23_begin(c, n, in, out, &a));
    const AttGeom g = a.g;
    const float *kc = a.kc, *vc = a.vc;
    int64_t rows = ATT_SCORES / (g.T ? g.T : 1);
    rows = rows < ATT_MIN_ROWS ? ATT_MIN_ROWS : rows > ATT_MAX_ROWS ? ATT_MAX_ROWS : rows;
    float *S = rt_scratch(c, sizeof(float) * (size_t)(rows * (g.T ? g.T : 1)));
    float *qown = NULL, *yown = NULL;
    const float *qf = S ? att_f32(c, in[0], &qown) : NULL;
    int64_t ny = rt_numel(out[0]);
    float *yf = out[0]->dtype == RT_F32 ? (float *)out[0]->data : (yown = rt_scratch(c, sizeof(float) * (size_t)(ny ? ny : 1)));
    int r = (S && qf && yf) ? RT_OK : RT_ERR_NOMEM;
    if (r == RT_OK) {
        int64_t ldq = g.rank3 ? g.Nq * g.Hk : g.Hk, ldy = g.rank3 ? g.Nq * g.Hv : g.Hv, grp = g.Nq / g.Nkv;
        for (int64_t b = 0; b < g.B; b++)
            for (int64_t h = 0; h < g.Nq; h++) {
                int64_t kvh = h / grp;
                const float *Kh = kc + (b * g.Nkv + kvh) * g.T * g.Hk, *Vh = vc + (b * g.Nkv + kvh) * g.T * g.Hv;
                const float *Qh = qf + (g.rank3 ? b * g.Sq * ldq + h * g.Hk : (b * g.Nq + h) * g.Sq * g.Hk);
                float *Yh = yf + (g.rank3 ? b * g.Sq * ldy + h * g.Hv : (b * g.Nq + h) * g.Sq * g.Hv);
                for (int64_t i0 = 0; i0 < g.Sq; i0 += rows) {
                    int m = (int)(g.Sq - i0 < rows ? g.Sq - i0 : rows);
                    int64_t Tb = g.causal && g.mode < 0 && !a.am.nonpad && g.P + i0 + m < g.T ? g.P + i0 + m : g.T;
                    if (g.T == 0) { /* no keys: softmax of nothing; the output is an empty sum */
                        for (int rr = 0; rr < m; rr++) memset(Yh + (i0 + rr) * ldy, 0, sizeof(float) * (size_t)g.Hv);
                        continue;
                    }
                    rt_sgemm(0, 1, m, (int)Tb, (int)g.Hk, g.scale, Qh + i0 * ldq, (int)ldq, Kh, (int)g.Hk, 0.0f, S,
                             (int)Tb);
                    att_rows(&g, &a.am, b, h, i0, m, Tb, S, g.mode >= 0 ? out[3] : NULL);
                    rt_sgemm(0, 0, m, (int)g.Hv, (int)Tb, 1.0f, S, (int)Tb, Vh, (int)g.Hv, 0.0f, Yh + i0 * ldy,
                             (int)ldy);
                }
            }
        if (yown)
            for (int64_t i = 0; i < ny; i++) att_st(out[0], i, yown[i]);
    }
    rt_scratch_free(c, S);
    rt_scratch_free(c, qown);
    rt_scratch_free(c, yown);
    rt_att23_end(c, n, out, &a, r == RT_OK);
    return r;
}

const RtKernelEntry rt_kernels_attention[] = {
    {RT_OP_ATTENTION, k_attention},
    {-1, 0},
};
