/*
 * rotary.c — RotaryEmbedding (opset 23), reference kernel.
 *
 * X is [B, N, S, H] (4-D) or [B, S, N*H] (3-D, attribute num_heads gives N). The first
 * R = rotary_embedding_dim elements of every head vector (R = H when 0) are rotated in R/2
 * pairs; the rest are copied. Pair k of a vector at batch b, position s uses
 *     c = cos_cache[p, k], s_ = sin_cache[p, k]   with p = position_ids[b, s] (cos/sin [P, R/2])
 *     c = cos_cache[b, s, k], ...                 without position_ids (cos/sin [B, S, R/2])
 * and the pair (x1, x2) becomes (c*x1 - s_*x2, s_*x1 + c*x2). interleaved = 0 pairs element k
 * with element k + R/2 (the halves layout); interleaved = 1 pairs elements 2k and 2k+1.
 * Each output element is one product pair computed in double and rounded once to X's dtype.
 */
#include "../kernel.h"

static inline double rot_ld(const RtTensor *t, int64_t i) {
    return t->dtype == RT_F32 ? (double)((const float *)t->data)[i] : rt_get_f64(t, i);
}

static inline void rot_st(RtTensor *t, int64_t i, double v) {
    if (t->dtype == RT_F32) ((float *)t->data)[i] = (float)v;
    else rt_set_f64(t, i, v);
}

typedef struct {
    int64_t B, N, S, H, R;   /* batch, heads, sequence, head size, rotated size */
    int64_t sb, sn, ss;      /* element strides of batch, head and position in X */
} RotGeom;

static int rot_geom(RtKernelCtx *c, const RtNode *n, const RtTensor *x, RotGeom *g) {
    int64_t heads = rt_attr_int(n, "num_heads", 0);
    if (heads < 0) return rt_fail(c, "attribute 'num_heads' = %lld must not be negative", (long long)heads);
    if (x->rank == 4) {
        g->B = x->dims[0], g->N = x->dims[1], g->S = x->dims[2], g->H = x->dims[3];
        if (heads != 0 && heads != g->N)
            return rt_fail(c, "attribute 'num_heads' = %lld but the 4-D input has %lld heads", (long long)heads,
                           (long long)g->N);
        g->ss = g->H, g->sn = g->S * g->H, g->sb = g->N * g->S * g->H;
    } else if (x->rank == 3) {
        if (heads == 0) return rt_fail(c, "attribute 'num_heads' is required for a 3-D input");
        if (x->dims[2] % heads != 0)
            return rt_fail(c, "hidden size %lld is not a multiple of num_heads %lld", (long long)x->dims[2],
                           (long long)heads);
        g->B = x->dims[0], g->S = x->dims[1], g->N = heads, g->H = x->dims[2] / heads;
        g->sn = g->H, g->ss = x->dims[2], g->sb = g->S * x->dims[2];
    } else {
        return rt_fail(c, "input 'X' must be 3-D [batch, seq, hidden] or 4-D [batch, heads, seq, head], got rank %d",
                       x->rank);
    }
    int64_t R = rt_attr_int(n, "rotary_embedding_dim", 0);
    g->R = R == 0 ? g->H : R;
    if (R < 0 || g->R > g->H || g->R % 2 != 0)
        return rt_fail(c, "attribute 'rotary_embedding_dim' = %lld must be even and at most the head size %lld",
                       (long long)R, (long long)g->H);
    return RT_OK;
}

/* Checks the caches' shapes ([P, R/2] with position_ids [B, S], else [B, S, R/2]). */
static int rot_caches_check(RtKernelCtx *c, const RotGeom *g, const RtTensor *cs, const RtTensor *sn,
                            const RtTensor *pos) {
    char s1[128];
    const RtTensor *t[2] = {cs, sn};
    const char *nm[2] = {"cos_cache", "sin_cache"};
    for (int i = 0; i < 2; i++) {
        int ok = pos ? t[i]->rank == 2 && t[i]->dims[1] == g->R / 2
                     : t[i]->rank == 3 && t[i]->dims[0] == g->B && t[i]->dims[1] == g->S && t[i]->dims[2] == g->R / 2;
        if (!ok)
            return rt_fail(c, "input '%s' is %s; expected %s with last dim rotary_embedding_dim/2 = %lld", nm[i],
                           rt_shape_str(t[i]->rank, t[i]->dims, s1, sizeof s1),
                           pos ? "[max_position + 1, R/2]" : "[batch, seq, R/2]", (long long)(g->R / 2));
    }
    if (cs->dims[0] != sn->dims[0]) return rt_fail(c, "inputs 'cos_cache' and 'sin_cache' differ in shape");
    if (pos && (pos->rank != 2 || pos->dims[0] != g->B || pos->dims[1] != g->S))
        return rt_fail(c, "input 'position_ids' is %s; expected [batch %lld, seq %lld]",
                       rt_shape_str(pos->rank, pos->dims, s1, sizeof s1), (long long)g->B, (long long)g->S);
    return RT_OK;
}

static int k_rotary(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *cs = rt_in(n, in, 1), *sn = rt_in(n, in, 2), *pos = rt_in(n, in, 3);
    if (!x || !cs || !sn) return rt_fail(c, "inputs 'X', 'cos_cache' and 'sin_cache' are required");
    if (n->opset > 0 && n->opset < 23)
        return rt_fail(c, "RotaryEmbedding exists from opset 23; this node is at opset %d", n->opset);
    if (!rt_dtype_is_float(x->dtype) || x->dtype == RT_F64)
        return rt_fail(c, "input 'X' is %s; supported: float32, float16, bfloat16", rt_dtype_name(x->dtype));
    if (cs->dtype != x->dtype || sn->dtype != x->dtype)
        return rt_fail(c, "cos_cache and sin_cache must have X's dtype %s", rt_dtype_name(x->dtype));
    if (pos && pos->dtype != RT_I64)
        return rt_fail(c, "input 'position_ids' is %s; expected int64", rt_dtype_name(pos->dtype));
    RotGeom g = {0, 0, 0, 0, 0, 0, 0, 0};
    RT_TRY(rot_geom(c, n, x, &g));
    RT_TRY(rot_caches_check(c, &g, cs, sn, pos));
    int inter = rt_attr_int(n, "interleaved", 0) != 0;
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    int64_t half = g.R / 2, P = cs->dims[0];
    for (int64_t b = 0; b < g.B; b++)
        for (int64_t s = 0; s < g.S; s++) {
            int64_t row = b * g.S + s; /* cache row without position_ids */
            if (pos) {
                row = ((const int64_t *)pos->data)[b * g.S + s];
                if (row < 0 || row >= P)
                    return rt_fail(c, "position_ids[%lld, %lld] = %lld is outside the caches' %lld positions",
                                   (long long)b, (long long)s, (long long)row, (long long)P);
            }
            for (int64_t h = 0; h < g.N; h++) {
                int64_t base = b * g.sb + h * g.sn + s * g.ss;
                for (int64_t k = 0; k < half; k++) {
                    double co = rot_ld(cs, row * half + k), si = rot_ld(sn, row * half + k);
                    int64_t i1 = base + (inter ? 2 * k : k), i2 = base + (inter ? 2 * k + 1 : k + half);
                    double x1 = rot_ld(x, i1), x2 = rot_ld(x, i2);
                    rot_st(out[0], i1, co * x1 - si * x2);
                    rot_st(out[0], i2, si * x1 + co * x2);
                }
                for (int64_t j = g.R; j < g.H; j++) rot_st(out[0], base + j, rot_ld(x, base + j));
            }
        }
    return RT_OK;
}

const RtKernelEntry rt_kernels_rotary[] = {
    {RT_OP_ROTARY_EMBEDDING, k_rotary},
    {-1, 0},
};
