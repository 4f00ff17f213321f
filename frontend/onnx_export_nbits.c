/*
 * onnx_export_nbits.c — LinearNBits (wafer's packed 2/3/4/8-bit weights, runtime/kernels/
 * wafer_ops.h) -> one of two standard forms.
 *
 * com.microsoft.MatMulNBits (default), onnxruntime's ContribOperators.md layout:
 *   B           u8 [N, n_blocks, blob]   blob = block_size * bits / 8; block b of row n holds
 *                                        codes q[n, b*block .. +block) as a low-first bit
 *                                        stream (code j at bit j * bits), the last block padded
 *   scales      f32 [N, n_blocks]        wafer's scales, each repeated over its group's blocks
 *   zero_points u8 [N, ceil(n_blocks * bits / 8)]   each row a low-first bit stream of
 *                                        n_blocks codes (always written: exact for sym too)
 *   g_idx       i32 [K]                  act-order only: the group of column k
 *   bias        f32 [N]
 *   attributes K, N, bits, block_size: the largest of 16..256 (onnxruntime's kernel takes
 *   those powers of two only) dividing wafer's group G, a group spanning G / block_size
 *   blocks; one group per row (G = 0) takes min(256, the power of two >= K) with the last
 *   block zero-padded. The activation, if any, follows as its own node. A layer with
 *   accuracy_level 4 (int8 compute, quantize --compute int8) carries it over when its group
 *   is the block (A quantized per group in wafer, per block in onnxruntime); else refused.
 * Act-order (g_idx): GPTQ's groups are G columns each, only not contiguous. Sorting the
 *   columns by group (stably) makes them contiguous, so the layer is written as
 *   Gather(X, perm, axis -1) followed by the plain form on the permuted codes: exact, and it
 *   avoids g_idx, which onnxruntime 1.30's CPU kernel mis-reads (its reorder path indexes g_idx
 *   by the lane within 8 codes instead of the column, and ignores uint8 zero points: measured
 *   perplexity 5.66 instead of 2.43 on tinylm). Groups of other sizes keep the g_idx input,
 *   as the spec defines it.
 * 3-bit layers, and groups that are not a multiple of 16 (more than one per row), take the
 * second form: onnxruntime's MatMulNBits kernel takes 2, 4 and 8 bits
 * and blocks of 16..256 only.
 * Blocked DequantizeLinear (--onnx-int4 dq, opset 21): W[K, N] codes as UINT4 (3 and 4 bits),
 *   UINT2 (2 bits: the graph goes to opset 25, ONNX 1.20, onnxruntime 1.24 and later), or
 *   uint8 (8 bits), scales and zero points [ceil(K / G), N], DequantizeLinear(axis 0,
 *   block_size G), then MatMul (+ Add bias); act-order layers permuted as above (groups of
 *   unequal sizes have no blocked form).
 * Both compute W[k, n] = (q - zero) * scale exactly as LinearNBits does.
 */
#include "onnx_export_internal.h"

#include "../runtime/kernels/qblock.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t K, N, NG, G;         /* W is [K, N]; NG groups of G along K per output column */
    int bits;
    const RtTensor *wp, *scales, *zeros, *g_idx; /* source constants (g_idx may be NULL) */
    int64_t *perm;               /* [K] malloc'd or NULL: column k' of the export is column perm[k'] */
} NbLayer;

static int64_t nb_attr(const RtNode *n, const char *name, int64_t dflt) {
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0 && n->attrs[i].type == RT_ATTR_INT) return n->attrs[i].i;
    return dflt;
}

static int nb_in(const RtNode *n, int i) { return i < n->n_in ? n->in[i] : -1; }

static int nb_layer(ExCtx *x, const RtNode *n, NbLayer *L) {
    memset(L, 0, sizeof *L);
    const IrValue *X = &x->src->values[n->in[0]];
    L->bits = (int)nb_attr(n, "bits", 4);
    L->wp = ex_src_const(x, n, nb_in(n, 1), "the packed weight");
    L->scales = ex_src_const(x, n, nb_in(n, 2), "the scales");
    L->zeros = ex_src_const(x, n, nb_in(n, 3), "the zero points");
    if (!L->wp || !L->scales || !L->zeros) return RT_ERR;
    if (nb_in(n, 4) >= 0 && !(L->g_idx = ex_src_const(x, n, nb_in(n, 4), "g_idx"))) return RT_ERR;
    L->K = X->rank > 0 ? X->dims[X->rank - 1].value : -1;
    if (L->K <= 0 && L->g_idx) L->K = rt_numel(L->g_idx);
    if (L->K <= 0) return ex_fail(x, n, "the input's last dim (K) is not known");
    if (L->scales->rank != 2 || L->scales->dtype != RT_F32 || L->zeros->dtype != RT_U8 ||
        !rt_shape_equal(L->scales, L->zeros))
        return ex_fail(x, n, "scales f32 [N, NG] and zero points u8 [N, NG] expected");
    L->N = L->scales->dims[0];
    L->NG = L->scales->dims[1];
    L->G = nb_attr(n, "group", 0) > 0 ? nb_attr(n, "group", 0) : L->K;
    if (!rt_qblock_bits_ok(L->bits) || (size_t)rt_nbytes(L->wp) < rt_qblock_packed_size(L->bits, L->N, L->K))
        return ex_fail(x, n, "bits %d with %lld packed bytes do not fit N %lld x K %lld", L->bits,
                       (long long)rt_nbytes(L->wp), (long long)L->N, (long long)L->K);
    if (L->NG != (L->K + L->G - 1) / L->G)
        return ex_fail(x, n, "%lld groups per row, group %lld over K %lld", (long long)L->NG, (long long)L->G,
                       (long long)L->K);
    if (L->g_idx && (L->g_idx->dtype != RT_I32 || rt_numel(L->g_idx) != L->K))
        return ex_fail(x, n, "g_idx must be int32 [K]");
    return RT_OK;
}

/* Row n's K codes, one per byte (in the export's column order); tmp has K bytes. */
static void nb_row_codes(const NbLayer *L, int64_t n, uint8_t *codes, uint8_t *tmp) {
    const uint8_t *row = (const uint8_t *)L->wp->data + (size_t)n * rt_qblock_row_bytes(L->bits, L->K);
    rt_qblock_unpack_row(L->bits, L->K, row, L->perm ? tmp : codes);
    if (L->perm)
        for (int64_t k = 0; k < L->K; k++) codes[k] = tmp[L->perm[k]];
}

/* Act-order: perm = columns sorted stably by group (counting sort). When every group then
 * covers G consecutive columns (the last K - (NG-1) G), the layer needs no g_idx: L->perm is
 * set and L->g_idx cleared. Otherwise g_idx stays. */
static int nb_act_order(ExCtx *x, const RtNode *n, NbLayer *L) {
    const int32_t *gi = L->g_idx->data;
    int64_t *start = calloc((size_t)L->NG + 1, sizeof *start);
    L->perm = malloc(sizeof(int64_t) * (size_t)L->K);
    if (!start || !L->perm) return free(start), ex_fail(x, n, "out of memory");
    for (int64_t k = 0; k < L->K; k++) {
        if (gi[k] < 0 || gi[k] >= L->NG) return free(start), ex_fail(x, n, "g_idx[%lld] = %d is out of range", (long long)k, gi[k]);
        start[gi[k] + 1]++;
    }
    int equal = 1;
    for (int64_t g = 0; g < L->NG; g++) {
        int64_t want = g + 1 < L->NG ? L->G : L->K - (L->NG - 1) * L->G;
        equal &= start[g + 1] == want;
        start[g + 1] += start[g];
    }
    for (int64_t k = 0; k < L->K; k++) L->perm[start[gi[k]]++] = k;
    free(start);
    if (!equal) {
        free(L->perm);
        L->perm = NULL;
        return RT_OK;
    }
    L->g_idx = NULL;
    return RT_OK;
}

/* The layer's input as the export reads it: X, or Gather(X, perm, axis -1). */
static int nb_input(ExCtx *x, const RtNode *n, const NbLayer *L) {
    int X = ex_val(x, n->in[0]);
    if (!L->perm || X < 0) return X;
    RtTensor t = {RT_I64, 1, {L->K}, L->perm};
    int in[2] = {X, ex_const(x, x->src->values[n->in[1]].name, "_perm", &t)};
    int out = ex_fresh(x, x->g->values[X].name, "_act_order");
    int k = ex_node(x, RT_OP_GATHER, n->name, 2, in, 1, &out);
    if (k < 0 || ex_attr_int(x, k, "axis", -1) != RT_OK) return -1;
    return out;
}

/* Sets `bits` bits of value v at bit position pos of a low-first stream. */
static void nb_put(uint8_t *p, int64_t pos, unsigned v, int bits) {
    for (int b = 0; b < bits; b++, pos++)
        if ((v >> b) & 1u) p[pos >> 3] |= (uint8_t)(1u << (pos & 7));
}

/* MatMulNBits' block B (onnxruntime takes 16, 32, 64, 128, 256) for groups of G: one group
 * per row takes min(256, the power of two >= K) (every block carries the row's one scale);
 * otherwise the largest of those dividing G, each group then G / B blocks repeating its scale
 * and zero point. With g_idx (groups of unequal sizes) B must be G itself. */
static int nb_block_size(ExCtx *x, const RtNode *n, const NbLayer *L, int64_t *block) {
    int64_t G = L->G;
    if (L->g_idx) {
        if (G >= 16 && G <= 256 && (G & (G - 1)) == 0) return *block = G, RT_OK;
    } else if (L->NG == 1) {
        for (*block = 16; *block < L->K && *block < 256; *block *= 2) {}
        return RT_OK;
    } else {
        for (*block = 256; *block >= 16; *block /= 2)
            if (G % *block == 0) return RT_OK;
    }
    return ex_fail(x, n, "group %lld is not a multiple of 16 (or, with act-order groups of unequal sizes, not 16..256 "
                   "and a power of two), which MatMulNBits needs: use --onnx-int4 dq, or quantize with such a --group",
                   (long long)G);
}

/* The MatMulNBits form (see the header). */
static int nb_matmul_nbits(ExCtx *x, const RtNode *n, const NbLayer *L, int y) {
    int64_t block = 0;
    if (nb_block_size(x, n, L, &block) != RT_OK) return RT_ERR;
    int64_t nb = (L->K + block - 1) / block, blob = block * L->bits / 8, zrow = (nb * L->bits + 7) / 8;
    const char *base = x->src->values[n->in[1]].name;
    RtTensor *B = ir_tensor_new(x->g, RT_U8, 3, (int64_t[]){L->N, nb, blob});
    RtTensor *Z = ir_tensor_new(x->g, RT_U8, 2, (int64_t[]){L->N, zrow});
    RtTensor *S = ir_tensor_new(x->g, RT_F32, 2, (int64_t[]){L->N, nb});
    uint8_t *codes = malloc(2 * (size_t)L->K + 1);
    if (!B || !Z || !S || !codes) return free(codes), ex_fail(x, n, "out of memory");
    memset(B->data, 0, (size_t)rt_nbytes(B));
    memset(Z->data, 0, (size_t)rt_nbytes(Z));
    for (int64_t r = 0; r < L->N; r++) {
        uint8_t *brow = (uint8_t *)B->data + r * nb * blob, *zr = (uint8_t *)Z->data + r * zrow;
        nb_row_codes(L, r, codes, codes + L->K);
        for (int64_t k = 0; k < L->K; k++) nb_put(brow + (k / block) * blob, (k % block) * L->bits, codes[k], L->bits);
        for (int64_t b = 0; b < nb; b++) { /* block b lies in group b B / G (g_idx: B = G, b itself) */
            int64_t g = b * block / L->G < L->NG ? b * block / L->G : L->NG - 1;
            nb_put(zr, b * L->bits, ((const uint8_t *)L->zeros->data)[r * L->NG + g], L->bits);
            ((float *)S->data)[r * nb + b] = ((const float *)L->scales->data)[r * L->NG + g];
        }
    }
    free(codes);
    int in[6] = {nb_input(x, n, L), ex_const(x, base, "_nbits", B), ex_const(x, base, "_nbits_scales", S),
                 ex_const(x, base, "_nbits_zp", Z), L->g_idx ? ex_val(x, nb_in(n, 4)) : -1, ex_val(x, nb_in(n, 5))};
    int n_in = in[5] >= 0 ? 6 : in[4] >= 0 ? 5 : 4;
    int k = ex_node(x, RT_OP_MATMUL_NBITS, n->name, n_in, in, 1, &y);
    if (k < 0) return RT_ERR;
    if (ex_attr_int(x, k, "K", L->K) != RT_OK || ex_attr_int(x, k, "N", L->N) != RT_OK ||
        ex_attr_int(x, k, "bits", L->bits) != RT_OK || ex_attr_int(x, k, "block_size", block) != RT_OK)
        return RT_ERR;
    /* int8 compute (--compute int8): A is quantized per group in wafer, per block in
     * onnxruntime, the same thing only when the block is the group */
    const int64_t level = nb_attr(n, "accuracy_level", 0);
    if (level && block != L->G)
        return ex_fail(x, n, "accuracy_level %lld with group %lld: MatMulNBits' blocks of %lld would quantize A per "
                       "block, wafer per group", (long long)level, (long long)L->G, (long long)block);
    if (level && ex_attr_int(x, k, "accuracy_level", level) != RT_OK) return RT_ERR;
    return RT_OK;
}

/* The blocked DequantizeLinear form (see the header). */
static int nb_dq_matmul(ExCtx *x, const RtNode *n, const NbLayer *L, int y) {
    if (L->g_idx)
        return ex_fail(x, n, "act-order groups of unequal sizes have no blocked DequantizeLinear form; use the "
                       "MatMulNBits export (--onnx-int4 nbits)");
    const char *base = x->src->values[n->in[1]].name;
    RtTensor *W = ir_tensor_new(x->g, RT_U8, 2, (int64_t[]){L->K, L->N});
    RtTensor *S = ir_tensor_new(x->g, RT_F32, 2, (int64_t[]){L->NG, L->N});
    RtTensor *Z = ir_tensor_new(x->g, RT_U8, 2, (int64_t[]){L->NG, L->N});
    uint8_t *codes = malloc(2 * (size_t)L->K + 1);
    if (!W || !S || !Z || !codes) return free(codes), ex_fail(x, n, "out of memory");
    for (int64_t r = 0; r < L->N; r++) {
        nb_row_codes(L, r, codes, codes + L->K);
        for (int64_t k = 0; k < L->K; k++) ((uint8_t *)W->data)[k * L->N + r] = codes[k];
        for (int64_t g = 0; g < L->NG; g++) {
            ((float *)S->data)[g * L->N + r] = ((const float *)L->scales->data)[r * L->NG + g];
            ((uint8_t *)Z->data)[g * L->N + r] = ((const uint8_t *)L->zeros->data)[r * L->NG + g];
        }
    }
    free(codes);
    int dq_in[3] = {ex_const(x, base, "_codes", W), ex_const(x, base, "_scales_kn", S), ex_const(x, base, "_zp_kn", Z)};
    if (dq_in[0] < 0 || dq_in[1] < 0 || dq_in[2] < 0) return RT_ERR;
    if (L->bits == 2 && x->g->opset >= 25) { /* UINT2 codes and zero points (the target opset is raised to 25) */
        if (ex_packed2_add(x, dq_in[0]) != RT_OK || ex_packed2_add(x, dq_in[2]) != RT_OK) return RT_ERR;
    } else if (L->bits <= 4 && (ex_packed4_add(x, dq_in[0]) != RT_OK || ex_packed4_add(x, dq_in[2]) != RT_OK)) {
        return RT_ERR;
    }
    int wf = ex_fresh(x, base, "_dq");
    int k = ex_node(x, RT_OP_DEQUANTIZE_LINEAR, n->name, 3, dq_in, 1, &wf);
    if (k < 0 || ex_attr_int(x, k, "axis", 0) != RT_OK || ex_attr_int(x, k, "block_size", L->G) != RT_OK)
        return RT_ERR;
    int bias = ex_val(x, nb_in(n, 5));
    int mm = bias >= 0 ? ex_fresh(x, x->g->values[y].name, "_mm") : y;
    int in[2] = {nb_input(x, n, L), wf};
    if (ex_node(x, RT_OP_MATMUL, n->name, 2, in, 1, &mm) < 0) return RT_ERR;
    in[0] = mm, in[1] = bias;
    return bias >= 0 && ex_node(x, RT_OP_ADD, n->name, 2, in, 1, &y) < 0 ? RT_ERR : RT_OK;
}

int ex_nbits_uses_dq(const ExCtx *x, const RtNode *n) {
    if (x->o->int4 == ONNX_INT4_DQ || nb_attr(n, "bits", 4) == 3) return 1;
    const IrValue *X = &x->src->values[n->in[0]];
    int64_t G = nb_attr(n, "group", 0), K = X->rank > 0 ? X->dims[X->rank - 1].value : -1;
    /* groups no MatMulNBits block divides, more than one per row */
    return G > 0 && G % 16 != 0 && K > G;
}

int ex_lower_nbits(ExCtx *x, const RtNode *n) {
    NbLayer L;
    if (nb_layer(x, n, &L) != RT_OK || (L.g_idx && nb_act_order(x, n, &L) != RT_OK)) return free(L.perm), RT_ERR;
    int has_act = 0;
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, "activation") == 0 && n->attrs[i].s && n->attrs[i].s[0]) has_act = 1;
    int out = ex_val(x, n->out[0]);
    int y = has_act ? ex_fresh(x, x->src->values[n->out[0]].name, "_pre") : out;
    if (y < 0 || out < 0) return free(L.perm), RT_ERR;
    int r = ex_nbits_uses_dq(x, n) ? nb_dq_matmul(x, n, &L, y) : nb_matmul_nbits(x, n, &L, y);
    free(L.perm);
    if (r != RT_OK) return r;
    return has_act && ex_activation(x, n, y, out) < 0 ? RT_ERR : RT_OK;
}
