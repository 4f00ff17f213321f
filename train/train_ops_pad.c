/*
 * train_ops_pad.c — ops that rearrange the spatial layout: Pad (constant, reflect, edge and
 * wrap modes; negative pads crop), DepthToSpace (DCR and CRD), SpaceToDepth.
 *
 * Pad: along each axis an output coordinate o reads input coordinate o - pad_begin when that
 * lies in the (cropped) input; otherwise constant mode reads the pad value, and the other
 * modes fold it back into the cropped range [lo, hi) of m elements: reflect mirrors without
 * repeating the edge (period 2 (m - 1)), edge clamps, wrap takes it modulo m. The per-axis
 * maps (-1 = the pad value) are built each call into the node state; the forward pass reads
 * X through them and the backward pass adds dY back through them, so an input element that
 * several padded positions copy (the edge, a reflected row) gets the sum of their gradients.
 * Pads come from the `pads` attribute (before opset 11) or input 1 (from 11, with the optional
 * axes input 3 of opset 18); the pad value from the `value` attribute (before 11) or input 2.
 * The pad value input is float data like X: when it needs a gradient (a float initializer is a
 * parameter of the tape) it gets the sum of dY over the padded positions that read it.
 *
 * DepthToSpace / SpaceToDepth are strided views (train_strided_gather): DepthToSpace's output
 * [N, C/b^2, H b, W b] is viewed as [N, Co, H, b, W, b] and reads X[n, c, h, w] with
 * c = (bh b + bw) Co + co (DCR) or (co b + bh) b + bw (CRD); SpaceToDepth's output
 * [N, C b^2, H/b, W/b] is viewed as [N, b, b, C, H/b, W/b] and reads X[n, c, oh b + bh, ow b + bw].
 */
#include <string.h>

#include "../runtime/kernels/strided.h"
#include "train_ops.h"

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct {
    int rank, mode;
    int64_t dims[RT_MAX_RANK], xs[RT_MAX_RANK];
    int64_t *map[RT_MAX_RANK]; /* [dims[a]] per axis: input coordinate, or -1 for the pad value */
    float value;
} PadGeom;

static int64_t pmod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

/* pads begin[rank], end[rank] from the attribute or from inputs 1 (pads) and 3 (axes). */
static int pad_read(TrainModel *m, int k, int rank, int64_t *pb, int64_t *pe, RtError *err) {
    int64_t p[2 * RT_MAX_RANK], axes[RT_MAX_RANK];
    int np = train_ints_read(m, k, 1, "pads", p, 2 * RT_MAX_RANK, err);
    if (np == -1) return RT_ERR;
    if (np == -2) return train_node_fail(m, k, err, "missing 'pads' (an attribute before opset 11, an input from 11)");
    int na = train_ints_read(m, k, 3, NULL, axes, RT_MAX_RANK, err);
    if (na == -1) return RT_ERR;
    if (na == -2) {
        na = rank;
        for (int a = 0; a < rank; a++) axes[a] = a;
    }
    if (np != 2 * na)
        return train_node_fail(m, k, err, "'pads' has %d values; expected %d (2 x %s)", np, 2 * na,
                               na == rank ? "rank" : "axes");
    unsigned seen = 0;
    for (int a = 0; a < rank; a++) pb[a] = pe[a] = 0;
    for (int i = 0; i < na; i++) {
        int a = train_axis_norm(m, k, axes[i], rank, err);
        if (a < 0) return RT_ERR;
        if (seen >> a & 1) return train_node_fail(m, k, err, "axis %d repeats in 'axes'", a);
        seen |= 1u << a;
        pb[a] = p[i], pe[a] = p[na + i];
    }
    return RT_OK;
}

static int pad_geom(TrainModel *m, int k, PadGeom *pg, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    const char *ms = rt_attr_str(n, "mode", "constant");
    pg->mode = !strcmp(ms, "constant") ? PAD_CONSTANT : !strcmp(ms, "reflect") ? PAD_REFLECT
             : !strcmp(ms, "edge") ? PAD_EDGE : !strcmp(ms, "wrap") ? PAD_WRAP : -1;
    if (pg->mode < 0) return train_node_fail(m, k, err, "mode '%s' is not constant, reflect, edge or wrap", ms);
    int r = pg->rank = X->rank;
    int64_t pb[RT_MAX_RANK], pe[RT_MAX_RANK], total = 0;
    if (pad_read(m, k, r, pb, pe, err) != RT_OK) return RT_ERR;
    pg->value = rt_attr_float(n, "value", 0.0f);
    if (n->n_in > 2 && n->in[2] >= 0) {
        RtTensor v;
        train_value_view(m, n->in[2], &v);
        if (v.dtype != RT_F32) return train_node_fail(m, k, err, "'constant_value' is %s, not float", rt_dtype_name(v.dtype));
        pg->value = rt_numel(&v) && v.data ? ((const float *)v.data)[0] : 0.0f;
    }
    for (int a = 0; a < r; a++) {
        pg->dims[a] = X->dims[a] + pb[a] + pe[a];
        if (pg->dims[a] < 0) return train_node_fail(m, k, err, "axis %d would have a negative size", a);
        total += pg->dims[a];
    }
    rt_strides_contiguous(r, X->dims, pg->xs);
    int64_t *maps = train_node_state(m, k, sizeof(int64_t) * (size_t)(total + 1), err);
    if (!maps) return RT_ERR;
    for (int a = 0; a < r; a++) {
        pg->map[a] = maps;
        maps += pg->dims[a];
        int64_t lo = pb[a] < 0 ? -pb[a] : 0, hi = X->dims[a] - (pe[a] < 0 ? -pe[a] : 0), len = hi - lo;
        for (int64_t o = 0; o < pg->dims[a]; o++) {
            int64_t src = o - pb[a], j = src - lo;
            if (src >= lo && src < hi) pg->map[a][o] = src;
            else if (pg->mode == PAD_CONSTANT) pg->map[a][o] = -1;
            else if (len <= 0) return train_node_fail(m, k, err, "axis %d has no elements to pad from in '%s' mode", a, ms);
            else {
                if (pg->mode == PAD_EDGE) j = j < 0 ? 0 : len - 1;
                else if (pg->mode == PAD_WRAP) j = pmod(j, len);
                else if (len == 1) j = 0;
                else {
                    j = pmod(j, 2 * (len - 1));
                    if (j >= len) j = 2 * (len - 1) - j;
                }
                pg->map[a][o] = lo + j;
            }
        }
    }
    return RT_OK;
}

/* body runs for each output position i with `off` X's offset, or -1 for the pad value. */
#define PAD_LOOP(pg, body)                                                               \
    do {                                                                                 \
        int64_t total_ = rt_shape_numel((pg).rank, (pg).dims), idx_[RT_MAX_RANK] = {0};  \
        for (int64_t i = 0; i < total_; i++) {                                           \
            int64_t off = 0;                                                             \
            for (int a_ = 0; a_ < (pg).rank && off >= 0; a_++) {                         \
                int64_t s_ = (pg).map[a_][idx_[a_]];                                     \
                off = s_ < 0 ? -1 : off + s_ * (pg).xs[a_];                              \
            }                                                                            \
            body;                                                                        \
            for (int a_ = (pg).rank - 1; a_ >= 0 && ++idx_[a_] == (pg).dims[a_]; a_--) idx_[a_] = 0; \
        }                                                                                \
    } while (0)

int train_pad_fwd(TrainModel *m, int k, RtError *err) {
    PadGeom pg;
    if (pad_geom(m, k, &pg, err) != RT_OK || train_out_shape(m, k, 0, pg.rank, pg.dims, err) != RT_OK) return RT_ERR;
    const float *x = train_in(m, k, 0)->x;
    float *y = train_out(m, k, 0)->x;
    PAD_LOOP(pg, y[i] = off < 0 ? pg.value : x[off]);
    return RT_OK;
}

int train_pad_bwd(TrainModel *m, int k, RtError *err) {
    PadGeom pg;
    float *dx = train_in_grad(m, k, 0), *dv = train_in_grad(m, k, 2);
    if (pad_geom(m, k, &pg, err) != RT_OK) return RT_ERR;
    const float *dy = train_out(m, k, 0)->dx;
    double sum = 0; /* d loss / d pad value */
    if (dx) PAD_LOOP(pg, if (off >= 0) dx[off] += dy[i]);
    if (dv && train_tensor_numel(train_in(m, k, 2)) > 0) {
        PAD_LOOP(pg, if (off < 0) sum += dy[i]);
        dv[0] += (float)sum;
    }
    return RT_OK;
}

/* ---- DepthToSpace, SpaceToDepth ---- */

/* Y's dims[4] and the 6-D view of X that is Y. */
static int block_view(TrainModel *m, int k, int64_t *ydims, int64_t *vd, int64_t *vs, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    if (X->rank != 4) return train_node_fail(m, k, err, "input has rank %d; expected 4 (N, C, H, W)", X->rank);
    if (!rt_attr(n, "blocksize")) return train_node_fail(m, k, err, "missing attribute 'blocksize'");
    int64_t b = rt_attr_int(n, "blocksize", 0), N = X->dims[0], C = X->dims[1], H = X->dims[2], W = X->dims[3];
    if (b < 1) return train_node_fail(m, k, err, "blocksize %lld must be >= 1", (long long)b);
    if (n->op == RT_OP_DEPTH_TO_SPACE) {
        const char *mode = rt_attr_str(n, "mode", "DCR");
        int crd = !strcmp(mode, "CRD");
        if (!crd && strcmp(mode, "DCR")) return train_node_fail(m, k, err, "mode '%s' is not DCR or CRD", mode);
        if (C % (b * b)) return train_node_fail(m, k, err, "channels %lld are not divisible by blocksize^2", (long long)C);
        int64_t Co = C / (b * b), HW = H * W;
        int64_t d[6] = {N, Co, H, b, W, b};
        int64_t s[6] = {C * HW, crd ? b * b * HW : HW, W, crd ? b * HW : b * Co * HW, 1, crd ? HW : Co * HW};
        memcpy(vd, d, sizeof d), memcpy(vs, s, sizeof s);
        ydims[0] = N, ydims[1] = Co, ydims[2] = H * b, ydims[3] = W * b;
        return RT_OK;
    }
    if (H % b || W % b)
        return train_node_fail(m, k, err, "height %lld and width %lld must be divisible by blocksize %lld", (long long)H,
                               (long long)W, (long long)b);
    int64_t d[6] = {N, b, b, C, H / b, W / b}, s[6] = {C * H * W, W, 1, H * W, b * W, b};
    memcpy(vd, d, sizeof d), memcpy(vs, s, sizeof s);
    ydims[0] = N, ydims[1] = C * b * b, ydims[2] = H / b, ydims[3] = W / b;
    return RT_OK;
}

int train_block_fwd(TrainModel *m, int k, RtError *err) {
    int64_t yd[4], vd[6], vs[6];
    if (block_view(m, k, yd, vd, vs, err) != RT_OK || train_out_shape(m, k, 0, 4, yd, err) != RT_OK) return RT_ERR;
    train_strided_gather(train_out(m, k, 0)->x, train_in(m, k, 0)->x, 6, vd, vs);
    return RT_OK;
}

int train_block_bwd(TrainModel *m, int k, RtError *err) {
    int64_t yd[4], vd[6], vs[6];
    float *dx = train_in_grad(m, k, 0);
    if (!dx) return RT_OK;
    if (block_view(m, k, yd, vd, vs, err) != RT_OK) return RT_ERR;
    train_strided_scatter_add(dx, train_out(m, k, 0)->dx, 6, vd, vs);
    return RT_OK;
}
