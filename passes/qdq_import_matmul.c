/*
 * qdq_import_matmul.c — the MatMul groups of the QDQ import, and Gemm's weight-only form
 * (qdq_import.h, table in qdq_import.c's header):
 *
 * 1. DQ(a) -> MatMul(., DQ(B)) [-> Relu | Clip] -> Q  ->  QLinearMatMul (a, as, az, B, bs, bz, ys, yz)
 *    A of any rank ([M, K], or batched [..., S, K] as transformers have it) through a
 *    per-tensor DQ; B a constant 2-D [K, N] uint8/int8 through a DQ per tensor or per column
 *    (axis 1 or -1: scale and zero point [N], what onnxruntime's quantize_static writes with
 *    per_channel=True). QLinearMatMul's spec takes a 1-D b_scale / b_zero_point of N
 *    elements as per column; the kernels (ref/quant.c, x86/qlinear_contrib_x86.c) and
 *    emit-c's k_seq_qmm read them so. A per-row DQ (axis 0) or a blocked one is not that:
 *    the group stays float (or takes route 2).
 *
 * 2. MatMul(A, DQ(B)) with B a constant [K, N] of 4-bit (int4/uint4, widened to bytes by the
 *    loader) or 8-bit codes, dequantized blocked along K (opset 21: axis 0 or -2, block_size
 *    bs, scale [ceil(K / bs), N] float32, zero point the codes' type or absent = 0), A float
 *    (weight-only; what onnxruntime's MatMul4BitsQuantizer writes with quant_format=QDQ and
 *    `wafer quantize --onnx-int4 dq`); also per column (axis 1 or -1, scale [N], as `wafer
 *    quantize --weights int8 --onnx` writes) or per tensor
 *    ->  com.microsoft MatMulNBits (A, B', scales', zero_points'?) with K, N, bits, block_size
 *    mb = the largest power of two dividing bs, at most 256 and the power of two >= K, at
 *    least 16 (onnxruntime's kernel takes blocks of 16..256; per column / per tensor: no
 *    divisibility), each scale row repeated over the mb-blocks it spans:
 *        B'  u8 [N, n_blocks, mb * bits / 8]  n_blocks = ceil(K / mb); column n of the codes,
 *                                            block by block, code j of a block at bit j * bits
 *                                            (low first), the last block padded with zeros
 *        scales'       f32 [N, n_blocks]     scale transposed, rows repeated per block
 *        zero_points'  u8 [N, ceil(n_blocks * bits / 8)]  packed the same way (omitted when
 *                                            every one is MatMulNBits' default 2^(bits-1))
 *    MatMulNBits' codes are unsigned, so signed codes and zero points move up by 2^(bits-1)
 *    together: q - zp is unchanged, and every weight (q - zp) * scale is the same float32
 *    as the DQ's (the product of an integer below 2^9 and a float32 is exact in double,
 *    then rounded once, as float32 multiplication rounds it). bits = 4 when every code and
 *    zero point fits in 4 bits after that move, else 8. The DQ's block_size must be a
 *    multiple of 16 (else some MatMulNBits block would straddle two scales); a K that is not
 *    a multiple of it leaves the last block partial in both forms (the DQ's scale has
 *    ceil(K / bs) rows, MatMulNBits pads the codes). The outputs then differ from DQ ->
 *    float MatMul only by the order of the float sums.
 *    Gemm(A, DQ(B), C?) with alpha = beta = 1 and transA = 0 is the same product plus C
 *    ([N] or [1, N], MatMulNBits' bias): B [K, N], or [N, K] with transB (the DQ's axes
 *    then follow that layout: blocked along axis 1, per output channel on axis 0).
 *    The DQ stays when another node reads its float weight; otherwise it and the codes go.
 *    A following Add of a float32 constant bias [N] (a Linear as exporters write it), the only
 *    reader of the MatMul's output, becomes MatMulNBits' bias input: it adds the bias to each
 *    finished sum, the Add's own float operation. A bias of another rank stays an Add (it
 *    could broadcast the output to another shape).
 *
 * Anything else (a computed B, a B of rank > 2, float16 scales, a block_size not a multiple
 * of 16, a blocked DQ along N, one scale per row of B) keeps the float form, which computes
 * what the file says. Measured on tinylm (bench/bench_qdq_import.sh, batch 1, 1 thread):
 * 4-bit g128 blocked DQ 3.2 ms/run imported against 5.5 float-DQ, constants 2.4 against
 * 13.3 MB; 8-bit g128 2.9 against 5.0 ms.
 */
#include "qdq_import_internal.h"

#include <stdio.h>
#include <string.h>

#include "../runtime/kernels/quant.h"

/* Route 1: the QDQ group -> QLinearMatMul (B per tensor or per column). */
static int matmul_qlinear(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams a, y;
    int bq, bs, bz, act;
    int ad = qdq_act_dq(g, qz_in(n, 0), &a);
    int q = ad < 0 || n->n_in != 2 ? -1 : qdq_out_q(g, n->out[0], 1, &y, &act);
    if (q < 0) return 0;
    int r = qdq_weight_dq(g, n->in[1], 1, 1, &bq, &bs, &bz, err);
    if (r <= 0) return r;
    if (g->values[bq].konst->rank != 2) return 0;
    const RtNode *qn = &g->nodes[q], *dn = &g->nodes[ad];
    int in[8] = {a.x, dn->in[1], dn->in[2], bq, bs, bz, qn->in[1], qn->in[2]};
    RT_TRY(qdq_node_become(g, k, RT_OP_QLINEAR_MATMUL, 8, in, q, act, err));
    g->nodes[k].n_attr = 0;
    return 1;
}

/* A weight-only DQ as MatMulNBits reads it. */
typedef struct {
    const RtTensor *x;        /* borrowed: the codes [K, N] ([N, K] when tb), uint8 or int8 */
    int tb;                   /* x holds B transposed (Gemm's transB) */
    const RtTensor *s;        /* borrowed: scales [nsrc, N] ([N, nsrc] when tb) (blocked), [N]
                               * (per column of B) or one */
    const RtTensor *zp;       /* borrowed: zero points of x's type, s's shape, or NULL (0) */
    int per;                  /* how s is laid out: BLK_BLOCKED, BLK_COLUMN or BLK_TENSOR */
    int64_t K, N;             /* B's shape */
    int64_t src_block, nsrc;  /* BLK_BLOCKED: the DQ's block_size along K, ceil(K / it) */
    int64_t block, nb;        /* MatMulNBits' block_size (divides src_block), ceil(K / block) */
    int bits;                 /* 4 or 8 */
    int32_t off;              /* added to codes and zero points: 2^(bits-1) when signed */
} Blocked;

enum { BLK_BLOCKED, BLK_COLUMN, BLK_TENSOR };

/* Index into s and zp of MatMulNBits' block j, column n. */
static int64_t blk_at(const Blocked *b, int64_t j, int64_t n) {
    int64_t r = j * b->block / (b->src_block ? b->src_block : 1); /* the DQ's block */
    if (b->per != BLK_BLOCKED) return b->per == BLK_COLUMN ? n : 0;
    return b->tb ? n * b->nsrc + r : r * b->N + n;
}

/* B[k, n]'s code. */
static int32_t blk_code(const Blocked *b, int64_t k, int64_t n) {
    return rt_qget(b->x, b->tb ? n * b->K + k : k * b->N + n);
}

/* The smallest width in {4, 8} holding every code and zero point once shifted by off. */
static int blocked_bits(Blocked *b) {
    int sgn = b->x->dtype == RT_I8;
    for (int bits = 4; bits <= 8; bits += 4) {
        int32_t off = sgn ? 1 << (bits - 1) : 0, hi = (1 << bits) - 1;
        int fits = 1;
        for (int64_t i = 0; fits && i < b->K * b->N; i++) { /* every code, in any order */
            int32_t v = rt_qget(b->x, i) + off;
            fits = v >= 0 && v <= hi;
        }
        for (int64_t i = 0; fits && b->zp && i < rt_numel(b->zp); i++) {
            int32_t v = rt_qget(b->zp, i) + off;
            fits = v >= 0 && v <= hi;
        }
        if (fits) {
            b->bits = bits;
            b->off = off;
            return 1;
        }
    }
    return 0;
}

/* v a DequantizeLinear of a constant B [K, N] (tb: B^T [N, K], Gemm's transB) of uint8/int8
 * codes (int4/uint4 widened) that MatMulNBits can hold: blocked along K (block_size a
 * multiple of 16, scale [ceil(K / bs), N], transposed with B), one scale per column of B
 * (scale [N] on B's N axis) or one in all. MatMulNBits' blocks are the largest power of two
 * dividing bs, at most 256 and the power of two >= K, at least 16 (onnxruntime's kernel
 * takes 16..256): each scale row repeated over the blocks it spans (a block_size far beyond
 * K is one scale row, never a huge block). Fills b. */
static int blocked_dq(const IrGraph *g, int v, int tb, Blocked *b) {
    int d = v < 0 ? -1 : g->values[v].producer;
    QzParams p;
    if (d < 0 || !qz_params(g, &g->nodes[d], RT_OP_DEQUANTIZE_LINEAR, &p) || p.block < 0) return 0;
    int c = qdq_konst_of(g, p.x);
    if (c < 0) return 0;
    const RtTensor *x = g->values[c].konst, *s = p.scale;
    if (!qdq_is_q8(x->dtype) || x->rank != 2 || s->dtype != RT_F32) return 0;
    memset(b, 0, sizeof *b);
    int kax = tb ? 1 : 0; /* x's K axis; 1 - kax is N */
    b->x = x, b->tb = tb, b->s = s, b->zp = p.zp, b->K = x->dims[kax], b->N = x->dims[1 - kax];
    if (b->K <= 0 || b->N <= 0 || (p.zp && (p.zp->dtype != x->dtype || !rt_shape_equal(p.zp, s)))) return 0;
    int64_t ns = rt_numel(s), ax = p.axis < 0 ? p.axis + 2 : p.axis;
    if (p.block > 0) { /* blocked along K */
        b->per = BLK_BLOCKED, b->src_block = p.block, b->nsrc = (b->K + p.block - 1) / p.block;
        if (ax != kax || p.block % 16 != 0 || s->rank != 2) return 0;
        if (s->dims[kax] != b->nsrc || s->dims[1 - kax] != b->N) return 0;
    } else if (ns == 1 && s->rank <= 1) {
        b->per = BLK_TENSOR;
    } else if (s->rank == 1 && ax == 1 - kax && ns == b->N) {
        b->per = BLK_COLUMN;
    } else {
        return 0; /* per index of K: the scale changes inside any block along K */
    }
    for (b->block = 16; b->block < b->K && b->block < 256 && (!b->src_block || b->src_block % (2 * b->block) == 0);)
        b->block *= 2;
    b->nb = (b->K + b->block - 1) / b->block;
    return blocked_bits(b);
}

/* Code v (< 2^bits) at bit pos of a zeroed low-first bit stream (bits 4 or 8: no straddling). */
static void bits_put(uint8_t *p, int64_t pos, int32_t v) { p[pos >> 3] |= (uint8_t)(v << (pos & 7)); }

/* The MatMulNBits constants of b: packed codes, transposed scales, packed zero points (-1
 * when all are the default). Returns RT_OK or an error. */
static int blocked_pack(IrGraph *g, const char *base, const Blocked *b, int *bv, int *sv, int *zv, RtError *err) {
    int64_t blob = b->block * b->bits / 8, zrow = (b->nb * b->bits + 7) / 8;
    int64_t bd[3] = {b->N, b->nb, blob}, sd[2] = {b->N, b->nb}, zd[2] = {b->N, zrow};
    RtTensor *tb = ir_tensor_new(g, RT_U8, 3, bd), *ts = ir_tensor_new(g, RT_F32, 2, sd);
    RtTensor *tz = ir_tensor_new(g, RT_U8, 2, zd);
    if (!tb || !ts || !tz) return rt_error_set(err, "out of memory");
    memset(tb->data, 0, (size_t)rt_nbytes(tb));
    memset(tz->data, 0, (size_t)rt_nbytes(tz));
    uint8_t *pb = tb->data, *pz = tz->data;
    float *ps = ts->data;
    int32_t dflt = 1 << (b->bits - 1);
    int zp_needed = 0;
    for (int64_t n = 0; n < b->N; n++) {
        uint8_t *row = pb + n * b->nb * blob;
        for (int64_t k = 0; k < b->K; k++)
            bits_put(row + (k / b->block) * blob, (k % b->block) * b->bits, blk_code(b, k, n) + b->off);
        for (int64_t j = 0; j < b->nb; j++) {
            int32_t z = rt_qget(b->zp, blk_at(b, j, n)) + b->off; /* absent: 0 */
            ps[n * b->nb + j] = ((const float *)b->s->data)[blk_at(b, j, n)];
            bits_put(pz + n * zrow, j * b->bits, z);
            zp_needed |= z != dflt;
        }
    }
    char name[256];
    snprintf(name, sizeof name, "%s_nbits", base);
    if ((*bv = qz_const_new(g, name, tb, err)) < 0) return RT_ERR;
    snprintf(name, sizeof name, "%s_nbits_scales", base);
    if ((*sv = qz_const_new(g, name, ts, err)) < 0) return RT_ERR;
    *zv = -1;
    snprintf(name, sizeof name, "%s_nbits_zero_points", base);
    if (zp_needed && (*zv = qz_const_new(g, name, tz, err)) < 0) return RT_ERR;
    return RT_OK;
}

/* The bias of MatMulNBits node k: the Add that alone reads its output y [..., N], with a
 * float32 constant [N] as its other operand, merged in (input 5), its output now node k's.
 * MatMulNBits adds the bias to each finished sum, as the Add did: the same float operation. */
static void nbits_bias_merge(IrGraph *g, int k, int64_t N) {
    int y = g->nodes[k].out[0], r = -1;
    if (ir_value_is_output(g, y) || qz_readers(g, y, &r) != 1 || g->nodes[r].op != RT_OP_ADD) return;
    const RtNode *a = &g->nodes[r];
    if (a->n_in != 2 || a->n_out < 1 || a->out[0] < 0 || (a->in[0] == y) == (a->in[1] == y)) return;
    int c = qdq_konst_of(g, a->in[a->in[0] == y ? 1 : 0]);
    if (c < 0) return;
    const RtTensor *b = g->values[c].konst;
    if (b->dtype != RT_F32 || b->rank != 1 || b->dims[0] != N) return;
    RtNode *m = &g->nodes[k];
    for (int i = m->n_in; i < 5; i++) m->in[i] = -1; /* zero_points, g_idx absent */
    m->in[5] = c;
    m->n_in = 6;
    m->out[0] = a->out[0];
    g->values[m->out[0]].producer = k;
    pass_node_delete(g, r);
}

/* Node k becomes MatMulNBits(a, packed b [, zero points]) with a bias c (value, or -1). */
static int nbits_become(IrGraph *g, int k, int a, int wv, const Blocked *b, int c, RtError *err) {
    int bv = -1, sv = -1, zv = -1;
    const RtNode *d = &g->nodes[g->values[wv].producer];
    RT_TRY(blocked_pack(g, g->values[d->in[0]].name, b, &bv, &sv, &zv, err));
    int *in = ir_alloc(g, sizeof(int) * 6);
    if (!in) return rt_error_set(err, "out of memory");
    RtNode *m = &g->nodes[k];
    in[0] = a, in[1] = bv, in[2] = sv, in[3] = zv, in[4] = -1, in[5] = c;
    m->in = in;
    m->n_in = c >= 0 ? 6 : zv >= 0 ? 4 : 3;
    m->op = RT_OP_MATMUL_NBITS;
    m->op_type = rt_op_name(RT_OP_MATMUL_NBITS);
    m->domain = rt_op_domain(RT_OP_MATMUL_NBITS);
    m->opset = 1;
    m->n_attr = 0;
    RT_TRY(qz_attr_set_int(g, k, "K", b->K, err));
    RT_TRY(qz_attr_set_int(g, k, "N", b->N, err));
    RT_TRY(qz_attr_set_int(g, k, "bits", b->bits, err));
    return qz_attr_set_int(g, k, "block_size", b->block, err);
}

/* Route 2: MatMul(A, blocked DQ(B)) [-> Add(bias [N])] -> MatMulNBits. */
static int matmul_nbits(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    Blocked b;
    if (n->n_in != 2 || n->in[0] < 0 || n->n_out < 1 || !blocked_dq(g, n->in[1], 0, &b)) return 0;
    RtDtype at = g->values[n->in[0]].dtype;
    if (at != RT_UNDEFINED && at != RT_F32) return 0; /* the DQ gives float32: a valid A is too */
    RT_TRY(nbits_become(g, k, n->in[0], n->in[1], &b, -1, err));
    nbits_bias_merge(g, k, b.N);
    return 1;
}

/* The weight-only form of Gemm: Gemm(A, DQ(B), C?) with alpha = beta = 1, transA = 0 (A 2-D
 * [M, K]), B [K, N] or, transB = 1, [N, K] (the DQ's axes follow B's layout), C absent or a
 * float32 constant [N] or [1, N] -> MatMulNBits(A, ..., bias C): Y = A B + C, each output
 * the finished sum plus C[n] as Gemm computes it (alpha and beta 1 multiply nothing). */
int qdq_gemm_import_nbits(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    Blocked b;
    int tb = rt_attr_int(n, "transB", 0) != 0;
    if (n->n_in < 2 || n->n_in > 3 || n->in[0] < 0 || n->n_out < 1 || rt_attr_int(n, "transA", 0) ||
        rt_attr_float(n, "alpha", 1.0f) != 1.0f || rt_attr_float(n, "beta", 1.0f) != 1.0f ||
        !blocked_dq(g, n->in[1], tb, &b))
        return 0;
    RtDtype at = g->values[n->in[0]].dtype;
    if (at != RT_UNDEFINED && at != RT_F32) return 0;
    int c = qz_in(n, 2) >= 0 ? qdq_konst_of(g, n->in[2]) : -1;
    if (qz_in(n, 2) >= 0) {
        const RtTensor *t = c >= 0 ? g->values[c].konst : NULL;
        if (!t || t->dtype != RT_F32 || t->dims[t->rank > 0 ? t->rank - 1 : 0] != b.N || rt_numel(t) != b.N ||
            t->rank < 1 || t->rank > 2)
            return 0;
        if (t->rank == 2) { /* [1, N]: the same values as [N] */
            RtTensor *v = ir_tensor_new(g, RT_F32, 1, &b.N);
            if (!v) return rt_error_set(err, "out of memory"), -1;
            memcpy(v->data, t->data, sizeof(float) * (size_t)b.N);
            char name[256];
            snprintf(name, sizeof name, "%s_n", g->values[c].name);
            if ((c = qz_const_new(g, name, v, err)) < 0) return -1;
        }
    }
    RT_TRY(nbits_become(g, k, g->nodes[k].in[0], g->nodes[k].in[1], &b, c, err));
    return 1;
}

int qdq_matmul_import(IrGraph *g, int k, RtError *err) {
    int r = matmul_qlinear(g, k, err);
    return r != 0 ? r : matmul_nbits(g, k, err);
}
