/*
 * onnx_contrib_gqa.c — the decoder ops of onnxruntime-genai's model builder, com.microsoft
 * RotaryEmbedding and GroupQueryAttention, rewritten onto ONNX opset-23 RotaryEmbedding and
 * Attention (wafer's kernels ref/rotary.c, ref/attention.c; called through onnx_contrib.c's
 * table).
 *
 *   RotaryEmbedding(input [B, S, N*H] or [B, N, S, H], position_ids [B, S] or [1] (a start
 *                   offset: position p0 + s), cos_cache, sin_cache [P, R/2])
 *       = RotaryEmbedding-23(input, cos, sin, positions) with its interleaved, num_heads and
 *         rotary_embedding_dim (num_heads 0 on a 3-D input: head size 2 * cos_cache's width).
 *
 *   GroupQueryAttention(query [B, S, N*H] (or packed [B, S, (N + 2 Nkv) * H] without key and
 *                       value), key, value [B, S, Nkv*H], past_key, past_value [B, Nkv, P, H],
 *                       seqlens_k [B] int32, total_sequence_length int32, cos_cache?, sin_cache?)
 *       q, k, v = Split(query) when packed
 *       positions[b, s] = seqlens_k[b] + 1 - S + s   (the token's position; P + s when every
 *                                                    row is full, onnxruntime's rule)
 *       q, k = RotaryEmbedding-23(q / k, cos, sin, positions)          when do_rotary
 *       y, present_key, present_value = Attention-23(q, k, v, mask?, past_key, past_value)
 *             with q_num_heads N, kv_num_heads Nkv, is_causal (the diagonal shifted by P),
 *             scale, softcap (applied before the mask, as onnxruntime does)
 *       mask [S, T] (T = P + S) = (j - i > P - W) for local_window_size W >= 0: query i (at
 *             position P + i) sees the W keys P + i - W + 1 .. P + i, as onnxruntime's CPU
 *             sliding window does.
 * The rewrite assumes the cache is contiguous and full: every row's seqlens_k[b] is
 * P + S - 1 and total_sequence_length is P + S (the CPU form genai runs, past and present
 * separate buffers). A run where that does not hold (rows of different lengths, right-padded
 * prompts, a shared past/present buffer) fails at run time in the node
 * "<name>/seqlens_k_and_total_sequence_length_must_be_past_plus_new" (a Reshape to [1 + error]
 * whose [1] true output is the attention mask otherwise). position_ids, attention_bias,
 * head_sink, smooth_softmax and the qk output are refused by name at load.
 */
#include "onnx_contrib_internal.h"

#include <string.h>

/* A rank-0 int64 constant. */
static int gqa_i64(ContribLow *L, const char *what, int64_t v) {
    RtTensor *t = ir_tensor_new(L->g, RT_I64, 0, NULL);
    int c = t ? contrib_value(L, what) : -2;
    if (c < 0) return -2;
    *(int64_t *)t->data = v;
    L->g->values[c].konst = t;
    ir_value_set_shape(&L->g->values[c], RT_I64, 0, NULL);
    return c;
}

/* Shape(x)[axis] as a rank-0 int64 value; -1 on error. */
static int gqa_dim(ContribLow *L, const char *what, int x, int64_t axis) {
    int shp = contrib_value(L, what), d = contrib_value(L, what), ax = gqa_i64(L, what, axis);
    if (contrib_emit1(L, RT_OP_SHAPE, "Shape", x, shp) < 0 || contrib_emit2(L, RT_OP_GATHER, "Dim", shp, ax, d) < 0)
        return -1;
    return d;
}

/* Range(0, n, 1) int64 [n]; -1 on error. */
static int gqa_range(ContribLow *L, const char *what, int n) {
    int r = contrib_value(L, what);
    int in[3] = {gqa_i64(L, "zero", 0), n, gqa_i64(L, "one", 1)};
    return contrib_emit(L, RT_OP_RANGE, "Range", 3, in, 1, &r) < 0 ? -1 : r;
}

static int gqa_binary(ContribLow *L, int op, const char *what, int a, int b) {
    int y = contrib_value(L, what);
    return contrib_emit2(L, op, what, a, b, y) < 0 ? -1 : y;
}

static int gqa_reshape(ContribLow *L, const char *what, int x, int n, const int64_t *shape) {
    return gqa_binary(L, RT_OP_RESHAPE, what, x, contrib_ints(L, what, n, shape));
}

/* x -> RotaryEmbedding-23(x, cos, sin, pos) into y (a new value when y < 0); -1 on error. */
static int gqa_rotary(ContribLow *L, const char *what, int x, int cos, int sin, int pos, int64_t heads, int64_t inter,
                      int64_t rdim, int y) {
    if (y < 0) y = contrib_value(L, what);
    int in[4] = {x, cos, sin, pos};
    int k = contrib_emit(L, RT_OP_ROTARY_EMBEDDING, what, 4, in, 1, &y);
    if (k < 0 || contrib_set_int(L, k, "interleaved", inter) != RT_OK) return -1;
    if (L->g->nodes[k].opset < 23) L->g->nodes[k].opset = 23; /* the op exists from opset 23 */
    if (heads > 0 && contrib_set_int(L, k, "num_heads", heads) != RT_OK) return -1;
    if (rdim > 0 && contrib_set_int(L, k, "rotary_embedding_dim", rdim) != RT_OK) return -1;
    return y;
}

static int gqa_opset_check(ContribLow *L) {
    if (L->g->opset < 13)
        return contrib_fail(L, "needs opset 13 or later (Split lengths, Range, Shape as inputs), the model has %d",
                            L->g->opset);
    return RT_OK;
}

/* ---------------------------------------------------------------- RotaryEmbedding */

/* 1-D position_ids [1] (a start p0) -> [B, S] int64 = p0 + Range(0, S), expanded over B. */
static int rope_positions(ContribLow *L, int x, int pos) {
    int p64 = contrib_value(L, "pos_i64");
    int k = contrib_emit1(L, RT_OP_CAST, "PosCast", pos, p64);
    if (k < 0 || contrib_set_int(L, k, "to", RT_I64) != RT_OK) return -1;
    if (L->g->values[pos].rank == 2) return p64;
    int S = gqa_dim(L, "seq_len", x, 1), B = S < 0 ? -1 : gqa_dim(L, "batch", x, 0);
    int r = B < 0 ? -1 : gqa_range(L, "steps", S);
    int p = r < 0 ? -1 : gqa_binary(L, RT_OP_ADD, "positions_1d", r, p64);
    if (p < 0) return -1;
    int shape = contrib_value(L, "pos_shape"), y = contrib_value(L, "positions");
    static const int64_t one[1] = {0};
    int a0 = contrib_ints(L, "axes0", 1, one), b1 = contrib_value(L, "batch_1d"), s1 = contrib_value(L, "seq_1d");
    int cin[2] = {b1, s1};
    if (contrib_emit2(L, RT_OP_UNSQUEEZE, "BatchUnsq", B, a0, b1) < 0 ||
        contrib_emit2(L, RT_OP_UNSQUEEZE, "SeqUnsq", S, a0, s1) < 0)
        return -1;
    int kc = contrib_emit(L, RT_OP_CONCAT, "PosShape", 2, cin, 1, &shape);
    if (kc < 0 || contrib_set_int(L, kc, "axis", 0) != RT_OK) return -1;
    return contrib_emit2(L, RT_OP_EXPAND, "PosExpand", p, shape, y) < 0 ? -1 : y;
}

int contrib_lower_rotary_embedding(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, "interleaved,is_packed_batching,num_heads,rotary_embedding_dim,scale"));
    ONNX_TRY(gqa_opset_check(L));
    int64_t inter, packed, heads, rdim;
    float scale;
    ONNX_TRY(contrib_int(L, "interleaved", 0, &inter));
    ONNX_TRY(contrib_int(L, "is_packed_batching", 0, &packed));
    ONNX_TRY(contrib_int(L, "num_heads", 0, &heads));
    ONNX_TRY(contrib_int(L, "rotary_embedding_dim", 0, &rdim));
    ONNX_TRY(contrib_float(L, "scale", 1.0f, &scale));
    if (packed) return contrib_fail(L, "is_packed_batching = 1 is not supported");
    if (scale != 1.0f) return contrib_fail(L, "attribute 'scale' = %g is not supported (only 1)", (double)scale);
    if (inter != 0 && inter != 1) return contrib_fail(L, "attribute 'interleaved' must be 0 or 1");
    if (heads < 0 || rdim < 0) return contrib_fail(L, "num_heads and rotary_embedding_dim must not be negative");
    int x = L->n.in[0], pos = L->n.in[1], cos = L->n.in[2], sin = L->n.in[3], xr, pr, cr;
    int st = contrib_rank(L, x, "the input layout", &xr);
    if (st == RT_OK) st = contrib_rank(L, pos, "position_ids", &pr);
    if (st == RT_OK) st = contrib_rank(L, cos, "cos_cache", &cr);
    if (st != RT_OK) return st;
    if (xr != 3 && xr != 4) return contrib_fail(L, "input of rank %d: 3-D [B, S, hidden] or 4-D [B, N, S, H]", xr);
    if (pr != 1 && pr != 2) return contrib_fail(L, "position_ids of rank %d: [1] or [batch, seq] only", pr);
    if (cr != 2) return contrib_fail(L, "cos_cache of rank %d: [max_position, rotary_dim / 2] only", cr);
    const IrValue *xv = &L->g->values[x], *cv = &L->g->values[cos];
    if (xr == 3 && heads == 0) { /* head size = 2 * cos_cache's width (onnxruntime's rule) */
        if (rdim) return contrib_fail(L, "rotary_embedding_dim needs num_heads for a 3-D input");
        if (xv->dims[2].value <= 0 || cv->dims[1].value <= 0) {
            if (!L->final) return CONTRIB_PENDING;
            return contrib_fail(L, "num_heads = 0 needs the hidden size and cos_cache's width known");
        }
        if (xv->dims[2].value % (2 * cv->dims[1].value))
            return contrib_fail(L, "hidden size %lld is not a multiple of 2 * cos_cache width %lld",
                                (long long)xv->dims[2].value, (long long)cv->dims[1].value);
        heads = xv->dims[2].value / (2 * cv->dims[1].value);
    }
    if (xr == 3 && xv->dims[2].value > 0 && xv->dims[2].value % heads)
        return contrib_fail(L, "hidden size %lld is not a multiple of num_heads = %lld", (long long)xv->dims[2].value,
                            (long long)heads);
    ONNX_TRY(contrib_dtype(L));
    int p = rope_positions(L, x, pos);
    if (p < 0) return RT_ERR;
    /* 4-D is [B, N, S, H] as at opset 23 (num_heads from the shape) */
    return gqa_rotary(L, "Rotary", x, cos, sin, p, xr == 3 ? heads : 0, inter, rdim, L->n.out[0]) < 0 ? RT_ERR : RT_OK;
}

/* ---------------------------------------------------------------- GroupQueryAttention */

typedef struct {
    int64_t N, Nkv;      /* query heads, key/value heads */
    int64_t rot, inter;  /* do_rotary, rotary_interleaved */
    int64_t window;      /* local_window_size, -1: none */
    float scale, softcap; /* 0: the default 1/sqrt(H), none */
} GqaAttrs;

static int gqa_attrs(ContribLow *L, GqaAttrs *a) {
    ONNX_TRY(contrib_attrs_check(L, "do_rotary,kv_num_heads,local_window_size,num_heads,rotary_interleaved,scale,"
                                    "smooth_softmax,softcap,qk_output"));
    int64_t smooth, qk;
    ONNX_TRY(contrib_int(L, "num_heads", 0, &a->N));
    ONNX_TRY(contrib_int(L, "kv_num_heads", 0, &a->Nkv));
    ONNX_TRY(contrib_int(L, "do_rotary", 0, &a->rot));
    ONNX_TRY(contrib_int(L, "rotary_interleaved", 0, &a->inter));
    ONNX_TRY(contrib_int(L, "local_window_size", -1, &a->window));
    ONNX_TRY(contrib_int(L, "smooth_softmax", 0, &smooth));
    ONNX_TRY(contrib_int(L, "qk_output", 0, &qk));
    ONNX_TRY(contrib_float(L, "scale", 0.0f, &a->scale));
    ONNX_TRY(contrib_float(L, "softcap", 0.0f, &a->softcap));
    if (a->N <= 0 || a->Nkv <= 0) return contrib_fail(L, "attributes 'num_heads' and 'kv_num_heads' must be > 0");
    if (a->N % a->Nkv)
        return contrib_fail(L, "num_heads = %lld is not a multiple of kv_num_heads = %lld", (long long)a->N,
                            (long long)a->Nkv);
    if (smooth) return contrib_fail(L, "smooth_softmax = 1 is not supported");
    if (qk) return contrib_fail(L, "qk_output = %lld is not supported", (long long)qk);
    if (a->window < -1) return contrib_fail(L, "local_window_size = %lld must be -1 or >= 0", (long long)a->window);
    if (a->scale < 0 || a->softcap < 0) return contrib_fail(L, "scale and softcap must not be negative");
    static const char *const names[3] = {"position_ids", "attention_bias", "head_sink"};
    for (int i = 9; i < 12; i++)
        if (contrib_in(L, i) >= 0) return contrib_fail(L, "input '%s' is not supported", names[i - 9]);
    if (L->n.n_out > 3 && L->n.out[3] >= 0) return contrib_fail(L, "output 'output_qk' is not supported");
    if ((contrib_in(L, 3) < 0) != (contrib_in(L, 4) < 0))
        return contrib_fail(L, "past_key and past_value must be given together");
    if ((contrib_in(L, 1) < 0) != (contrib_in(L, 2) < 0))
        return contrib_fail(L, "key and value must be given together (both absent: packed QKV)");
    if (a->rot && (contrib_in(L, 7) < 0 || contrib_in(L, 8) < 0))
        return contrib_fail(L, "do_rotary = 1 needs cos_cache and sin_cache");
    return RT_OK;
}

/* Packed query [B, S, (N + 2 Nkv) H] -> q, k, v; the width must be known. */
static int gqa_unpack(ContribLow *L, const GqaAttrs *a, int *qkv) {
    int x = L->n.in[0], r;
    ONNX_TRY(contrib_rank(L, x, "packed QKV", &r));
    const IrValue *xv = &L->g->values[x];
    if (r != 3) return contrib_fail(L, "packed query must be 3-D [batch, seq, (N + 2 * kv_N) * head], got rank %d", r);
    int64_t w = xv->dims[2].value, parts = a->N + 2 * a->Nkv;
    if (w <= 0) {
        if (!L->final) return CONTRIB_PENDING;
        return contrib_fail(L, "packed query needs its width (dim 2) known");
    }
    if (w % parts)
        return contrib_fail(L, "packed query width %lld is not a multiple of num_heads + 2 * kv_num_heads = %lld",
                            (long long)w, (long long)parts);
    int64_t H = w / parts, sizes[3] = {a->N * H, a->Nkv * H, a->Nkv * H};
    static const char *const what[3] = {"q", "k", "v"};
    for (int i = 0; i < 3; i++) qkv[i] = contrib_value(L, what[i]);
    int k = contrib_emit(L, RT_OP_SPLIT, "SplitQKV", 2, (int[2]){x, contrib_ints(L, "split", 3, sizes)}, 3, qkv);
    return k < 0 ? RT_ERR : contrib_set_int(L, k, "axis", -1);
}

/* The lengths the rewrite's extra nodes share, each made once (rank-0 int64 values but sk). */
typedef struct {
    int S, P, T;  /* new tokens Shape(query)[1], past Shape(past_key)[2] (0 without), T = P + S */
    int sk;       /* seqlens_k as int64 [B] */
    int one;      /* the constant 1 */
} GqaLens;

static int gqa_lens(ContribLow *L, GqaLens *n) {
    int pk = contrib_in(L, 3), k;
    n->one = gqa_i64(L, "one", 1);
    n->S = gqa_dim(L, "seq_len", L->n.in[0], 1);
    n->P = pk >= 0 ? gqa_dim(L, "past_len", pk, 2) : gqa_i64(L, "past_len", 0);
    n->T = n->S < 0 || n->P < 0 ? -1 : gqa_binary(L, RT_OP_ADD, "total_len", n->P, n->S);
    n->sk = contrib_value(L, "seqlens_i64");
    if (n->T < 0 || (k = contrib_emit1(L, RT_OP_CAST, "SeqlensCast", L->n.in[5], n->sk)) < 0) return RT_ERR;
    return contrib_set_int(L, k, "to", RT_I64);
}

/* positions [B, S] int64 = seqlens_k[:, None] + 1 - S + Range(0, S). */
static int gqa_positions(ContribLow *L, const GqaLens *n) {
    static const int64_t col[2] = {-1, 1};
    int c = gqa_reshape(L, "seqlens_col", n->sk, 2, col);
    int t = c < 0 ? -1 : gqa_binary(L, RT_OP_ADD, "row_len", c, n->one);
    int base = t < 0 ? -1 : gqa_binary(L, RT_OP_SUB, "row_past", t, n->S);
    int r = base < 0 ? -1 : gqa_range(L, "steps", n->S);
    return r < 0 ? -1 : gqa_binary(L, RT_OP_ADD, "positions", base, r);
}

/* The sliding window [S, T] bool: (j - i) > P - W. */
static int gqa_window(ContribLow *L, const GqaLens *n, int64_t W) {
    int jj = gqa_range(L, "key_index", n->T), ii = jj < 0 ? -1 : gqa_range(L, "query_index", n->S);
    static const int64_t col[2] = {-1, 1};
    int ic = ii < 0 ? -1 : gqa_reshape(L, "query_col", ii, 2, col);
    int d = ic < 0 ? -1 : gqa_binary(L, RT_OP_SUB, "lag", jj, ic);
    int lo = d < 0 ? -1 : gqa_binary(L, RT_OP_SUB, "window_start", n->P, gqa_i64(L, "window", W));
    return lo < 0 ? -1 : gqa_binary(L, RT_OP_GREATER, "window_mask", d, lo);
}

/* The rewrite's assumption checked at run time: d = max_b |seqlens_k[b] + 1 - T| +
 * |total_sequence_length - T| must be 0. A constant true [1] is reshaped to [1 + d], which
 * fails (naming the node "<name>/seqlens_k_and_total_sequence_length_must_be_past_plus_new")
 * when it is not; the [1] mask it gives otherwise keeps every score. -1 on error. */
static int gqa_length_check(ContribLow *L, const GqaLens *n) {
    int tl = contrib_value(L, "total_i64"), k = contrib_emit1(L, RT_OP_CAST, "TotalCast", L->n.in[6], tl);
    if (k < 0 || contrib_set_int(L, k, "to", RT_I64) != RT_OK) return -1;
    int rl = gqa_binary(L, RT_OP_ADD, "row_len", n->sk, n->one);
    int e1 = rl < 0 ? -1 : gqa_binary(L, RT_OP_SUB, "row_len_error", rl, n->T);
    int a1 = contrib_value(L, "row_len_abs"), m1 = contrib_value(L, "row_len_max"), a2 = contrib_value(L, "total_abs");
    int e2 = e1 < 0 ? -1 : gqa_binary(L, RT_OP_SUB, "total_error", tl, n->T);
    if (e2 < 0 || contrib_emit1(L, RT_OP_ABS, "RowLenAbs", e1, a1) < 0 ||
        contrib_emit1(L, RT_OP_ABS, "TotalAbs", e2, a2) < 0)
        return -1;
    int km = contrib_emit1(L, RT_OP_REDUCE_MAX, "RowLenMax", a1, m1);
    if (km < 0 || contrib_set_int(L, km, "keepdims", 0) != RT_OK) return -1;
    int d = gqa_binary(L, RT_OP_ADD, "len_error", m1, a2);
    int c = d < 0 ? -1 : gqa_binary(L, RT_OP_ADD, "check_len", d, n->one);
    static const int64_t one[1] = {1};
    int shape = c < 0 ? -1 : gqa_reshape(L, "check_shape", c, 1, one);
    if (shape < 0) return -1;
    int64_t d1[1] = {1};
    RtTensor *t = ir_tensor_new(L->g, RT_BOOL, 1, d1);
    int yes = t ? contrib_value(L, "keep_all") : -2;
    if (yes < 0) return contrib_oom(L), -1;
    *(uint8_t *)t->data = 1;
    L->g->values[yes].konst = t;
    ir_value_set_shape(&L->g->values[yes], RT_BOOL, 1, d1);
    int y = contrib_value(L, "length_checked");
    return contrib_emit2(L, RT_OP_RESHAPE, "seqlens_k_and_total_sequence_length_must_be_past_plus_new", yes, shape,
                         y) < 0 ? -1 : y;
}

int contrib_lower_group_query_attention(ContribLow *L) {
    GqaAttrs a;
    ONNX_TRY(gqa_attrs(L, &a));
    ONNX_TRY(gqa_opset_check(L));
    int qkv[3] = {L->n.in[0], contrib_in(L, 1), contrib_in(L, 2)}, qr, st;
    ONNX_TRY(contrib_rank(L, qkv[0], "the query layout", &qr));
    if (qr != 3) return contrib_fail(L, "query must be 3-D [batch, seq, hidden], got rank %d", qr);
    int64_t qw = L->g->values[qkv[0]].dims[2].value;
    if (qkv[1] >= 0 && qw > 0 && qw % a.N)
        return contrib_fail(L, "query hidden size %lld is not a multiple of num_heads = %lld", (long long)qw,
                            (long long)a.N);
    int64_t rdim = 0;
    if (a.rot) { /* the rotated width is twice cos_cache's: pass it on when known */
        int cr;
        ONNX_TRY(contrib_rank(L, L->n.in[7], "cos_cache", &cr));
        if (cr != 2) return contrib_fail(L, "cos_cache of rank %d: [max_position, rotary_dim / 2] only", cr);
        int64_t cw = L->g->values[L->n.in[7]].dims[1].value;
        if (cw <= 0) {
            if (!L->final) return CONTRIB_PENDING;
            return contrib_fail(L, "do_rotary needs cos_cache's width (dim 1) known");
        }
        rdim = 2 * cw;
    }
    ONNX_TRY(contrib_dtype(L));
    if (qkv[1] < 0 && (st = gqa_unpack(L, &a, qkv)) != RT_OK) return st;
    GqaLens lens;
    ONNX_TRY(gqa_lens(L, &lens));
    if (a.rot) {
        int p = gqa_positions(L, &lens);
        int cos = L->n.in[7], sin = L->n.in[8];
        qkv[0] = p < 0 ? -1 : gqa_rotary(L, "RotaryQ", qkv[0], cos, sin, p, a.N, a.inter, rdim, -1);
        qkv[1] = qkv[0] < 0 ? -1 : gqa_rotary(L, "RotaryK", qkv[1], cos, sin, p, a.Nkv, a.inter, rdim, -1);
        if (qkv[1] < 0) return RT_ERR;
    }
    int mask = gqa_length_check(L, &lens), win;
    if (mask < 0) return RT_ERR;
    if (a.window >= 0 && ((win = gqa_window(L, &lens, a.window)) < 0 ||
                          (mask = gqa_binary(L, RT_OP_AND, "mask", win, mask)) < 0))
        return RT_ERR;
    int in[6] = {qkv[0], qkv[1], qkv[2], mask, contrib_in(L, 3), contrib_in(L, 4)};
    int out[3] = {L->n.out[0], contrib_out(L, 1), contrib_out(L, 2)};
    int n_in = in[4] >= 0 ? 6 : 4, n_out = out[2] >= 0 ? 3 : out[1] >= 0 ? 2 : 1;
    int k = contrib_emit(L, RT_OP_ATTENTION, "Attention", n_in, in, n_out, out);
    if (k < 0 || contrib_set_int(L, k, "q_num_heads", a.N) != RT_OK ||
        contrib_set_int(L, k, "kv_num_heads", a.Nkv) != RT_OK || contrib_set_int(L, k, "is_causal", 1) != RT_OK)
        return RT_ERR;
    if (L->g->nodes[k].opset < 23) L->g->nodes[k].opset = 23; /* the op exists from opset 23 */
    if (a.scale > 0 && contrib_set_float(L, k, "scale", a.scale) != RT_OK) return RT_ERR;
    if (a.softcap > 0 && contrib_set_float(L, k, "softcap", a.softcap) != RT_OK) return RT_ERR;
    return RT_OK;
}
