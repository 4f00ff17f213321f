/*
 * onnx_contrib_attention.c — onnxruntime's transformer encoder ops, com.microsoft Attention,
 * MultiHeadAttention and EmbedLayerNormalization, as its optimizers write them (BERT-like
 * models), rewritten into standard ops (called through onnx_contrib.c's table):
 *
 *   Attention(input [B, S, Hin], weights [Hin, Dq + Dk + Dv], bias?, mask_index?, past?,
 *             attention_bias?)       q, k, v = Split(input @ weights + bias)
 *   MultiHeadAttention(query [B, S, D], key [B, L, D], value [B, L, Dv], bias [D + D + Dv]?,
 *             key_padding_mask?, attention_bias?)    q, k, v = query + bq, key + bk, value + bv
 * then, with N = num_heads and head sizes h = Dq / N, hv = Dv / N:
 *   Q = Transpose(Reshape(q, [0, 0, N, -1]), [0, 2, 1, 3])        [B, N, S, h]
 *   K = Transpose(Reshape(k, [0, 0, N, -1]), [0, 2, 3, 1])        [B, N, h, L]
 *   V = Transpose(Reshape(v, [0, 0, N, -1]), [0, 2, 1, 3])        [B, N, L, hv]
 *   P = Softmax(MatMul(Q, K) * scale + mask + attention_bias, axis -1)
 *   y = Reshape(Transpose(MatMul(P, V), [0, 2, 1, 3]), [0, 0, -1])    [B, S, Dv]
 * scale is 1/sqrt(h) unless given. A raw 0/1 mask ([B, L] or [B, S, L], int32) adds
 * mask_filter_value (default -10000) where it is 0: Where(mask > 0, 0, filter), shaped
 * [B, 1, 1, L] or [B, 1, S, L]; a 1-D mask of [B] lengths (right padding, what
 * EmbedLayerNormalization's mask_index gives) adds it where the key position
 * Range(0, L) >= the length; unidirectional adds it above the diagonal (a constant [S, S],
 * so S must be known). The forms not rewritten are refused naming the input or attribute:
 * the [2B] / [3B + 2] and 4-D mask forms, past / present state, rotary embedding, packed QKV
 * or KV (MultiHeadAttention's key absent or not 3-D), the qk output.
 *
 *   EmbedLayerNormalization(input_ids, segment_ids?, word_embedding, position_embedding,
 *             segment_embedding?, gamma, beta, mask?, position_ids?)
 *       sum = Gather(word, ids) + positions (+ Gather(segment, segment_ids))   (output 2)
 *       positions = Gather(position_embedding, position_ids), or its first S rows
 *                   (Slice to Shape(ids)[1]) without position_ids
 *       output = LayerNorm(sum, gamma, beta) over the last axis, epsilon 1e-12 by default
 *       mask_index = ReduceSum(mask, axis 1) [B] int32: the count of 1s, which is the
 *                    length of a right-padded 0/1 mask (output 1)
 */
#include "onnx_contrib_internal.h"

#include <math.h>
#include <string.h>

/* The shared core: inputs already projected (and biased). */
typedef struct {
    int q, k, v;          /* values [B, S, Dq], [B, L, Dq], [B, L, Dv] */
    int64_t heads;        /* N */
    float scale;          /* applied to Q K^T */
    float filter;         /* mask_filter_value */
    int mask, mask_rank;  /* mask value and its rank (1: [B] lengths; 2, 3: raw 0/1), or -1 */
    int keys;             /* the value whose dim 1 is the key length L (for 1-D masks) */
    int attn_bias;        /* attention_bias value [B or 1, N or 1, S, L], or -1 */
    int64_t causal_s;     /* > 0: unidirectional over S = L = causal_s */
    int y;                /* the node's output [B, S, Dv] */
} AttnCore;

/* Reshape(x, shape) -> new value; -2 or -1 on error (error set for -1). */
static int attn_reshape(ContribLow *L, const char *what, int x, int n, const int64_t *shape, int y) {
    int s = contrib_ints(L, what, n, shape);
    if (y < 0) y = contrib_value(L, what);
    return contrib_emit2(L, RT_OP_RESHAPE, "Reshape", x, s, y) < 0 ? -1 : y;
}

static int attn_transpose(ContribLow *L, const char *what, int x, const int64_t *perm) {
    int y = contrib_value(L, what);
    int k = contrib_emit1(L, RT_OP_TRANSPOSE, "Transpose", x, y);
    if (k < 0 || contrib_set_ints(L, k, "perm", 4, perm) != RT_OK) return -1;
    return y;
}

/* x [B, S, N*h] -> heads [B, N, S, h] (perm 0 2 1 3) or [B, N, h, S] (perm 0 2 3 1). */
static int attn_heads(ContribLow *L, const char *what, int x, int64_t n, const int64_t *perm) {
    const int64_t shape[4] = {0, 0, n, -1};
    int r = attn_reshape(L, what, x, 4, shape, -1);
    return r < 0 ? -1 : attn_transpose(L, what, r, perm);
}

/* Unsqueeze(x, [axis]): the axes as an input from opset 13, an attribute before. */
static int attn_unsqueeze(ContribLow *L, int x, int64_t axis) {
    int y = contrib_value(L, "mask_4d"), k;
    if (L->g->opset >= 13) {
        int a = contrib_ints(L, "mask_axes", 1, &axis);
        k = contrib_emit2(L, RT_OP_UNSQUEEZE, "Unsqueeze", x, a, y);
    } else {
        k = contrib_emit1(L, RT_OP_UNSQUEEZE, "Unsqueeze", x, y);
        if (k >= 0 && contrib_set_ints(L, k, "axes", 1, &axis) != RT_OK) return -1;
    }
    return k < 0 ? -1 : y;
}

/* A scalar constant of dtype dt holding v (int types only). */
static int attn_int_scalar(ContribLow *L, const char *what, RtDtype dt, int64_t v) {
    RtTensor *t = ir_tensor_new(L->g, dt, 0, NULL);
    int c = t ? contrib_value(L, what) : -2;
    if (c < 0) return -2;
    switch (dt) {
    case RT_I64: *(int64_t *)t->data = v; break;
    case RT_I32: *(int32_t *)t->data = (int32_t)v; break;
    default: memset(t->data, 0, rt_dtype_size(dt)); break; /* 0 only, in another int type */
    }
    L->g->values[c].konst = t;
    ir_value_set_shape(&L->g->values[c], dt, 0, NULL);
    return c;
}

/* keep [B, L] bool: a raw mask > 0; for [B] lengths, Range(0, L) < lengths[:, None] with
 * L = Shape(keys)[1]. -1 on error. */
static int attn_mask_keep(ContribLow *L, const AttnCore *a) {
    int keep = contrib_value(L, "mask_keep");
    if (a->mask_rank != 1) {
        RtDtype mdt = L->g->values[a->mask].dtype;
        int zero = attn_int_scalar(L, "mask_zero", mdt == RT_UNDEFINED ? RT_I32 : mdt, 0);
        return contrib_emit2(L, RT_OP_GREATER, "MaskGreater", a->mask, zero, keep) < 0 ? -1 : keep;
    }
    int shp = contrib_value(L, "keys_shape"), len = contrib_value(L, "key_len"), pos = contrib_value(L, "key_pos");
    int l64 = contrib_value(L, "lengths64"), col = contrib_value(L, "lengths_col");
    int i1 = attn_int_scalar(L, "dim1", RT_I64, 1), c0 = attn_int_scalar(L, "range_start", RT_I64, 0);
    int c1 = attn_int_scalar(L, "range_step", RT_I64, 1);
    static const int64_t col_shape[2] = {-1, 1};
    int cs = contrib_ints(L, "lengths_col_shape", 2, col_shape), kc;
    int rin[3] = {c0, len, c1};
    if (contrib_emit1(L, RT_OP_SHAPE, "KeysShape", a->keys, shp) < 0 ||
        contrib_emit2(L, RT_OP_GATHER, "KeyLength", shp, i1, len) < 0 ||
        contrib_emit(L, RT_OP_RANGE, "KeyPositions", 3, rin, 1, &pos) < 0 ||
        (kc = contrib_emit1(L, RT_OP_CAST, "LengthsInt64", a->mask, l64)) < 0 ||
        contrib_set_int(L, kc, "to", RT_I64) != RT_OK ||
        contrib_emit2(L, RT_OP_RESHAPE, "LengthsColumn", l64, cs, col) < 0 ||
        contrib_emit2(L, RT_OP_LESS, "MaskLess", pos, col, keep) < 0)
        return -1;
    return keep;
}

/* The mask as an additive [B, 1, 1, L] / [B, 1, S, L] term: 0 where kept, filter elsewhere. */
static int attn_mask_add(ContribLow *L, const AttnCore *a) {
    int keep = attn_mask_keep(L, a);
    if (keep < 0) return -1;
    int add = contrib_value(L, "mask_add");
    int c0 = contrib_scalar(L, "mask_off", 0.0), cf = contrib_scalar(L, "mask_filter", a->filter);
    int in[3] = {keep, c0, cf};
    if (contrib_emit(L, RT_OP_WHERE, "MaskWhere", 3, in, 1, &add) < 0) return -1;
    if (a->mask_rank == 3) return attn_unsqueeze(L, add, 1);
    static const int64_t shape[4] = {0, 1, 1, -1};
    return attn_reshape(L, "mask_4d", add, 4, shape, -1);
}

/* A constant [S, S]: filter above the diagonal (key after query), 0 elsewhere. */
static int attn_causal(ContribLow *L, int64_t S, float filter) {
    int64_t d[2] = {S, S};
    RtTensor *t = ir_tensor_new(L->g, L->dt, 2, d);
    int v = t ? contrib_value(L, "causal") : -2;
    if (v < 0) return contrib_oom(L), -1;
    for (int64_t i = 0; i < S * S; i++) {
        double x = (i % S) > (i / S) ? filter : 0.0;
        switch (L->dt) {
        case RT_F64: ((double *)t->data)[i] = x; break;
        case RT_F16: ((uint16_t *)t->data)[i] = rt_f32_to_f16((float)x); break;
        case RT_BF16: ((uint16_t *)t->data)[i] = rt_f32_to_bf16((float)x); break;
        default: ((float *)t->data)[i] = (float)x; break;
        }
    }
    L->g->values[v].konst = t;
    ir_value_set_shape(&L->g->values[v], t->dtype, 2, d);
    return v;
}

/* score = score + term -> a new value; -1 on error. */
static int attn_add(ContribLow *L, const char *suffix, const char *what, int score, int term) {
    int y = contrib_value(L, what);
    return contrib_emit2(L, RT_OP_ADD, suffix, score, term, y) < 0 ? -1 : y;
}

static int attn_core_emit(ContribLow *L, const AttnCore *a) {
    static const int64_t to_bnsh[4] = {0, 2, 1, 3}, to_bnhs[4] = {0, 2, 3, 1};
    int q = attn_heads(L, "q_heads", a->q, a->heads, to_bnsh);
    int k = q < 0 ? -1 : attn_heads(L, "k_heads", a->k, a->heads, to_bnhs);
    int v = k < 0 ? -1 : attn_heads(L, "v_heads", a->v, a->heads, to_bnsh);
    if (v < 0) return RT_ERR;
    int qk = contrib_value(L, "qk"), sc = contrib_value(L, "scores"), c = contrib_scalar(L, "scale", a->scale);
    if (contrib_emit2(L, RT_OP_MATMUL, "MatMulQK", q, k, qk) < 0 || contrib_emit2(L, RT_OP_MUL, "Scale", qk, c, sc) < 0)
        return RT_ERR;
    if (a->mask >= 0) {
        int m = attn_mask_add(L, a);
        if (m < 0 || (sc = attn_add(L, "AddMask", "masked", sc, m)) < 0) return RT_ERR;
    }
    if (a->causal_s > 0) {
        int m = attn_causal(L, a->causal_s, a->filter);
        if (m < 0 || (sc = attn_add(L, "AddCausal", "causal_masked", sc, m)) < 0) return RT_ERR;
    }
    if (a->attn_bias >= 0 && (sc = attn_add(L, "AddAttentionBias", "biased_scores", sc, a->attn_bias)) < 0)
        return RT_ERR;
    int p = contrib_value(L, "probs");
    int ks = contrib_emit1(L, RT_OP_SOFTMAX, "Softmax", sc, p);
    if (ks < 0 || contrib_set_int(L, ks, "axis", -1) != RT_OK) return RT_ERR;
    int o = contrib_value(L, "context");
    if (contrib_emit2(L, RT_OP_MATMUL, "MatMulPV", p, v, o) < 0) return RT_ERR;
    int t = attn_transpose(L, "context_bsnh", o, to_bnsh);
    static const int64_t merge[3] = {0, 0, -1};
    return t < 0 || attn_reshape(L, "context_shape", t, 3, merge, a->y) < 0 ? RT_ERR : RT_OK;
}

/* ---------------------------------------------------------------- shared checks */

static int attn_heads_attr(ContribLow *L, int64_t *n) {
    const RtAttr *a = contrib_attr(L, "num_heads");
    if (!a || a->type != RT_ATTR_INT || a->i <= 0)
        return contrib_fail(L, "attribute 'num_heads' (a positive int) is required");
    *n = a->i;
    return RT_OK;
}

/* 1 when dims d0 and d1 are the same known number or the same named dim. */
static int attn_dim_same(const IrDim *d0, const IrDim *d1) {
    if (d0->value >= 0 || d1->value >= 0) return d0->value == d1->value;
    return d0->sym && d1->sym && strcmp(d0->sym, d1->sym) == 0;
}

/* mask (input index mi) -> a->mask / mask_rank: raw 0/1 masks, and [B] lengths when its one
 * dim is visibly the batch of a->keys (not the [2B] or [3B + 2] forms). */
static int attn_mask_check(ContribLow *L, int mi, const char *name, AttnCore *a) {
    a->mask = contrib_in(L, mi);
    if (a->mask < 0) return RT_OK;
    int st = contrib_rank(L, a->mask, name, &a->mask_rank);
    if (st != RT_OK) return st;
    if (a->mask_rank < 1 || a->mask_rank > 3)
        return contrib_fail(L, "input '%s' of rank %d is not supported: a raw 0/1 mask [batch, total_sequence_length] "
                            "or [batch, sequence_length, total_sequence_length], or [batch] lengths, is",
                            name, a->mask_rank);
    const IrValue *mv = &L->g->values[a->mask], *kv = &L->g->values[a->keys];
    if (a->mask_rank == 1 && (kv->rank < 1 || !attn_dim_same(&mv->dims[0], &kv->dims[0])))
        return contrib_fail(L, "input '%s' is 1-D but not visibly [batch] (the [2 * batch] and [3 * batch + 2] "
                            "forms are not supported)", name);
    if (L->g->opset < 11) return contrib_fail(L, "input '%s' needs Greater, Where and Range (opset 11 or later)", name);
    return RT_OK;
}

/* unidirectional: the causal mask needs S, the query's dim 1, known. */
static int attn_causal_check(ContribLow *L, int x, AttnCore *a) {
    int64_t uni;
    ONNX_TRY(contrib_int(L, "unidirectional", 0, &uni));
    a->causal_s = 0;
    if (!uni) return RT_OK;
    const IrValue *xv = &L->g->values[x];
    if (xv->rank == 3 && xv->dims[1].value > 0) {
        a->causal_s = xv->dims[1].value;
        return RT_OK;
    }
    if (!L->final) return CONTRIB_PENDING;
    return contrib_fail(L, "unidirectional needs the sequence length (dim 1 of '%s') known", xv->name);
}

/* Inputs at or after `from` and outputs at or after `from_out` that the rewrite does not take. */
static int attn_unused_check(ContribLow *L, const int *refused_in, const char *const *in_names, int n_refused,
                             int from_out, const char *const *out_names) {
    for (int i = 0; i < n_refused; i++)
        if (contrib_in(L, refused_in[i]) >= 0)
            return contrib_fail(L, "input '%s' is not supported (no past state, cache or packed forms)", in_names[i]);
    for (int j = from_out; j < L->n.n_out; j++)
        if (L->n.out[j] >= 0)
            return contrib_fail(L, "output '%s' is not supported (no present state or qk output)",
                                out_names[j - from_out]);
    return RT_OK;
}

/* Split(x, [a, b, c]) along axis -1 into out[3]: the lengths as an input from opset 13. */
static int attn_split(ContribLow *L, const char *suffix, int x, const int64_t *sizes, int *out) {
    int k;
    if (L->g->opset >= 13) {
        int s = contrib_ints(L, "split", 3, sizes);
        k = contrib_emit(L, RT_OP_SPLIT, suffix, 2, (int[2]){x, s}, 3, out);
    } else {
        k = contrib_emit(L, RT_OP_SPLIT, suffix, 1, &x, 3, out);
        if (k >= 0 && contrib_set_ints(L, k, "split", 3, sizes) != RT_OK) return RT_ERR;
    }
    if (k < 0) return RT_ERR;
    return contrib_set_int(L, k, "axis", -1);
}

/* ---------------------------------------------------------------- Attention */

int contrib_lower_attention(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, "num_heads,unidirectional,qkv_hidden_sizes,scale,mask_filter_value,do_rotary,"
                                    "past_present_share_buffer,rotary_embedding_dim"));
    static const int refused[2] = {4, 6};
    static const char *const refused_names[2] = {"past", "past_sequence_length"};
    static const char *const out_names[1] = {"present"};
    ONNX_TRY(attn_unused_check(L, refused, refused_names, 2, 1, out_names));
    int64_t rot, share;
    ONNX_TRY(contrib_int(L, "do_rotary", 0, &rot));
    ONNX_TRY(contrib_int(L, "past_present_share_buffer", 0, &share));
    if (rot) return contrib_fail(L, "do_rotary = 1 (rotary embedding inside Attention) is not supported");
    if (share) return contrib_fail(L, "past_present_share_buffer = 1 is not supported (no past state)");
    AttnCore a;
    memset(&a, 0, sizeof a);
    a.y = L->n.out[0];
    a.attn_bias = contrib_in(L, 5);
    ONNX_TRY(attn_heads_attr(L, &a.heads));
    ONNX_TRY(contrib_float(L, "mask_filter_value", -10000.0f, &a.filter));
    /* the Q / K / V widths: qkv_hidden_sizes, else a third each of the weights' columns */
    int64_t sizes[3];
    const RtAttr *qs = contrib_attr(L, "qkv_hidden_sizes");
    int w = L->n.in[1], st;
    if (qs) {
        if (qs->type != RT_ATTR_INTS || qs->n != 3 || qs->ints[0] != qs->ints[1] || qs->ints[0] <= 0 ||
            qs->ints[2] <= 0)
            return contrib_fail(L, "attribute 'qkv_hidden_sizes' must be 3 positive ints, Q's equal to K's");
        memcpy(sizes, qs->ints, sizeof sizes);
    } else {
        const IrValue *wv = &L->g->values[w];
        if (wv->rank != 2 || wv->dims[1].value <= 0) {
            if (!L->final) return CONTRIB_PENDING;
            return contrib_fail(L, "the width of input 'weights' is not known (give qkv_hidden_sizes)");
        }
        if (wv->dims[1].value % 3) return contrib_fail(L, "input 'weights' has %lld columns, not 3 equal parts",
                                                       (long long)wv->dims[1].value);
        sizes[0] = sizes[1] = sizes[2] = wv->dims[1].value / 3;
    }
    if (sizes[0] % a.heads || sizes[2] % a.heads)
        return contrib_fail(L, "hidden sizes %lld / %lld do not divide into %lld heads", (long long)sizes[0],
                            (long long)sizes[2], (long long)a.heads);
    ONNX_TRY(contrib_float(L, "scale", (float)(1.0 / sqrt((double)(sizes[0] / a.heads))), &a.scale));
    a.keys = L->n.in[0];
    if ((st = attn_mask_check(L, 3, "mask_index", &a)) != RT_OK) return st;
    if ((st = attn_causal_check(L, L->n.in[0], &a)) != RT_OK) return st;
    if ((st = contrib_dtype(L)) != RT_OK) return st;
    /* qkv = input @ weights (+ bias), split along the last axis */
    int qkv = contrib_value(L, "qkv");
    if (contrib_emit2(L, RT_OP_MATMUL, NULL, L->n.in[0], w, qkv) < 0) return RT_ERR;
    if (contrib_in(L, 2) >= 0) {
        int b = contrib_value(L, "qkv_bias");
        if (contrib_emit2(L, RT_OP_ADD, "AddBias", qkv, L->n.in[2], b) < 0) return RT_ERR;
        qkv = b;
    }
    int parts[3] = {contrib_value(L, "q"), contrib_value(L, "k"), contrib_value(L, "v")};
    ONNX_TRY(attn_split(L, "Split", qkv, sizes, parts));
    a.q = parts[0];
    a.k = parts[1];
    a.v = parts[2];
    return attn_core_emit(L, &a);
}

/* ---------------------------------------------------------------- MultiHeadAttention */

int contrib_lower_multi_head_attention(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, "num_heads,mask_filter_value,scale,unidirectional"));
    static const int refused[4] = {6, 7, 8, 9};
    static const char *const refused_names[4] = {"past_key", "past_value", "past_sequence_length", "cache_indirection"};
    static const char *const out_names[3] = {"present_key", "present_value", "qk"};
    ONNX_TRY(attn_unused_check(L, refused, refused_names, 4, 1, out_names));
    AttnCore a;
    memset(&a, 0, sizeof a);
    a.y = L->n.out[0];
    a.attn_bias = contrib_in(L, 5);
    ONNX_TRY(attn_heads_attr(L, &a.heads));
    ONNX_TRY(contrib_float(L, "mask_filter_value", -10000.0f, &a.filter));
    int q = L->n.in[0], k = contrib_in(L, 1), v = contrib_in(L, 2), st, rq, rk, rv;
    if (k < 0 || v < 0)
        return contrib_fail(L, "packed QKV / KV (input 'key' or 'value' absent) is not supported: give query, key "
                            "and value as [batch, length, hidden]");
    if ((st = contrib_rank(L, q, "query", &rq)) != RT_OK || (st = contrib_rank(L, k, "key", &rk)) != RT_OK ||
        (st = contrib_rank(L, v, "value", &rv)) != RT_OK)
        return st;
    if (rq != 3 || rk != 3 || rv != 3)
        return contrib_fail(L, "query, key and value must be 3-D [batch, length, hidden] (got ranks %d, %d, %d: packed "
                            "or per-head forms are not supported)", rq, rk, rv);
    /* the head size for the default scale: the query's hidden size over the heads */
    const IrValue *qv = &L->g->values[q];
    float scale_def = 0;
    if (!contrib_attr(L, "scale")) {
        if (qv->dims[2].value <= 0) {
            if (!L->final) return CONTRIB_PENDING;
            return contrib_fail(L, "the hidden size of 'query' is not known (give attribute 'scale')");
        }
        if (qv->dims[2].value % a.heads)
            return contrib_fail(L, "hidden size %lld does not divide into %lld heads", (long long)qv->dims[2].value,
                                (long long)a.heads);
        scale_def = (float)(1.0 / sqrt((double)(qv->dims[2].value / a.heads)));
    }
    ONNX_TRY(contrib_float(L, "scale", scale_def, &a.scale));
    a.keys = k;
    if ((st = attn_mask_check(L, 4, "key_padding_mask", &a)) != RT_OK) return st;
    if ((st = attn_causal_check(L, q, &a)) != RT_OK) return st;
    if ((st = contrib_dtype(L)) != RT_OK) return st;
    int b = contrib_in(L, 3);
    if (b >= 0) { /* bias [D + D + Dv]: its parts added to query, key, value */
        const IrValue *kv = &L->g->values[k], *vv = &L->g->values[v];
        if (qv->dims[2].value <= 0 || kv->dims[2].value <= 0 || vv->dims[2].value <= 0)
            return contrib_fail(L, "input 'bias' needs the hidden sizes of query, key and value known");
        int64_t sizes[3] = {qv->dims[2].value, kv->dims[2].value, vv->dims[2].value};
        int parts[3] = {contrib_value(L, "bias_q"), contrib_value(L, "bias_k"), contrib_value(L, "bias_v")};
        ONNX_TRY(attn_split(L, "SplitBias", b, sizes, parts));
        static const char *const sfx[3] = {"AddBiasQ", "AddBiasK", "AddBiasV"};
        int *dst[3] = {&q, &k, &v};
        for (int i = 0; i < 3; i++) {
            int y = contrib_value(L, sfx[i]);
            if (contrib_emit2(L, RT_OP_ADD, sfx[i], *dst[i], parts[i], y) < 0) return RT_ERR;
            *dst[i] = y;
        }
    }
    a.q = q;
    a.k = k;
    a.v = v;
    return attn_core_emit(L, &a);
}

/* ---------------------------------------------------------------- EmbedLayerNormalization */

/* The first S rows of the position table, S = Shape(ids)[1]: Slice(table, [0], [S], [0]). */
static int embed_positions_sliced(ContribLow *L, int ids, int table) {
    static const int64_t zero = 0, one = 1;
    int shp = contrib_value(L, "ids_shape"), s = contrib_value(L, "seq_len"), p = contrib_value(L, "positions");
    int i1 = contrib_ints(L, "dim1", 1, &one), st = contrib_ints(L, "pos_start", 1, &zero);
    int ax = contrib_ints(L, "pos_axes", 1, &zero);
    int in[4] = {table, st, s, ax};
    if (contrib_emit1(L, RT_OP_SHAPE, "IdsShape", ids, shp) < 0 ||
        contrib_emit2(L, RT_OP_GATHER, "SeqLen", shp, i1, s) < 0 || /* [1]: ids [1] keep the axis */
        contrib_emit(L, RT_OP_SLICE, "Positions", 4, in, 1, &p) < 0)
        return -1;
    return p;
}

int contrib_lower_embed_layer_norm(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, "epsilon,mask_index_type"));
    float eps;
    int64_t mit;
    ONNX_TRY(contrib_float(L, "epsilon", 1e-12f, &eps));
    ONNX_TRY(contrib_int(L, "mask_index_type", 1, &mit));
    if (mit != 0 && mit != 1) return contrib_fail(L, "mask_index_type %lld is not supported (0 or 1)", (long long)mit);
    int ids = L->n.in[0], seg = contrib_in(L, 1), word = L->n.in[2], pos_table = L->n.in[3];
    int seg_table = contrib_in(L, 4), gamma = L->n.in[5], beta = L->n.in[6], mask = contrib_in(L, 7);
    int pos_ids = contrib_in(L, 8), mask_index = contrib_out(L, 1), sum_out = contrib_out(L, 2), st;
    if ((seg >= 0) != (seg_table >= 0))
        return contrib_fail(L, "inputs 'segment_ids' and 'segment_embedding' must be given together");
    if (mask_index >= 0 && mask < 0) return contrib_fail(L, "output 'mask_index' needs input 'mask'");
    if (pos_ids < 0 && L->g->opset < 10)
        return contrib_fail(L, "positions without 'position_ids' need Slice's inputs (opset 10 or later)");
    if ((st = contrib_dtype(L)) != RT_OK) return st;
    int w = contrib_value(L, "word"), sum = contrib_value(L, "embed_sum");
    if (contrib_emit2(L, RT_OP_GATHER, "GatherWord", word, ids, w) < 0) return RT_ERR;
    int p = contrib_value(L, "positions");
    if (pos_ids >= 0) {
        if (contrib_emit2(L, RT_OP_GATHER, "GatherPosition", pos_table, pos_ids, p) < 0) return RT_ERR;
    } else if ((p = embed_positions_sliced(L, ids, pos_table)) < 0) {
        return RT_ERR;
    }
    int s1 = seg >= 0 ? sum : sum_out >= 0 ? sum_out : sum;
    if (contrib_emit2(L, RT_OP_ADD, "AddPosition", w, p, s1) < 0) return RT_ERR;
    if (seg >= 0) {
        int sg = contrib_value(L, "segment"), s2 = sum_out >= 0 ? sum_out : contrib_value(L, "embed_sum_seg");
        if (contrib_emit2(L, RT_OP_GATHER, "GatherSegment", seg_table, seg, sg) < 0 ||
            contrib_emit2(L, RT_OP_ADD, "AddSegment", s1, sg, s2) < 0)
            return RT_ERR;
        s1 = s2;
    }
    ONNX_TRY(contrib_layer_norm_emit(L, s1, gamma, beta, eps, L->n.out[0], -1, -1));
    if (mask_index < 0) return RT_OK;
    static const int64_t axis1 = 1;
    int k;
    if (L->g->opset >= 13) {
        int ax = contrib_ints(L, "mask_axes", 1, &axis1);
        k = contrib_emit2(L, RT_OP_REDUCE_SUM, "MaskIndex", mask, ax, mask_index);
    } else {
        k = contrib_emit1(L, RT_OP_REDUCE_SUM, "MaskIndex", mask, mask_index);
        if (k >= 0 && contrib_set_ints(L, k, "axes", 1, &axis1) != RT_OK) return RT_ERR;
    }
    return k < 0 ? RT_ERR : contrib_set_int(L, k, "keepdims", 0);
}
