/*
 * emit_ops_tensor.h — what the tensor family's files of emit-c share (private to codegen/):
 * small helpers (element types, constant integer lists, strides) and the emitters the table
 * in emit_ops_tensor.c lists, one file per kind of op:
 *   emit_ops_tensor.c          strided views (Slice, Expand, Tile, DepthToSpace,
 *                              SpaceToDepth), Split, Pad, CenterCropPad; the table and
 *                              the arena scratch
 *   emit_ops_tensor_layers.c   Gemm, ConvTranspose, Det, LRN, MaxUnpool
 *   emit_ops_tensor_resize.c   Resize, Upsample, GridSample, RoiAlign
 *   emit_ops_tensor_index.c    gathers and scatters, TopK, Trilu, EyeLike, ConstantOfShape,
 *                              Range, OneHot, ReverseSequence, Compress
 */
#ifndef WAFER_EMIT_OPS_TENSOR_H
#define WAFER_EMIT_OPS_TENSOR_H

#include "emit_ops_common.h"

/* The element type of t, or a failure naming what. */
static inline int ctype_of(EcCtx *c, int k, const RtTensor *t, const char *what, const char **ct) {
    *ct = t ? ec_ctype(t->dtype) : NULL;
    if (!t) return ec_fail(c, k, RT_ERR, "input %s is required", what);
    if (!*ct)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s has dtype %s, which emit-c has no C type for", what,
                       rt_dtype_name(t->dtype));
    return RT_OK;
}

/* Reads a 1-D integer list: the constant input j, else attribute name (when attr_ok).
 * Returns the count, -2 when absent, -1 after ec_fail. */
static inline int ints_read(EcCtx *c, int k, const RtNode *n, int j, const char *name, int attr_ok, int64_t *v,
                            int max) {
    if (j >= 0 && j < n->n_in && n->in[j] >= 0) {
        const RtTensor *t = kin(c, n, j);
        if (!t) {
            ec_fail(c, k, RT_ERR_UNSUPPORTED,
                    "input '%s' must be a constant for emit-c (give it with --freeze-input NAME=FILE.npy)", name);
            return -1;
        }
        if (t->dtype != RT_I64 && t->dtype != RT_I32) {
            ec_fail(c, k, RT_ERR, "input '%s' must be int32 or int64", name);
            return -1;
        }
        int64_t cnt = rt_numel(t);
        if (cnt > max) {
            ec_fail(c, k, RT_ERR, "input '%s' has %lld values, more than %d", name, (long long)cnt, max);
            return -1;
        }
        for (int64_t i = 0; i < cnt; i++) v[i] = rt_get_i64(t, i);
        return (int)cnt;
    }
    if (!attr_ok) return -2;
    const int64_t *a;
    int cnt = rt_attr_ints(n, name, &a);
    if (cnt < 0) return -2;
    if (cnt > max) {
        ec_fail(c, k, RT_ERR, "attribute '%s' has %d values, more than %d", name, cnt, max);
        return -1;
    }
    for (int i = 0; i < cnt; i++) v[i] = a[i];
    return cnt;
}

static inline void strides_of(int rank, const int64_t *dims, int64_t *st) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) st[i] = s, s *= dims[i];
}

static inline int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The unsigned C type of an element size (integers wrap in it before the final cast). */
static inline const char *utype_of(size_t size) {
    return size == 8 ? "uint64_t" : size == 4 ? "uint32_t" : size == 2 ? "uint16_t" : "uint8_t";
}

static inline int str_pick(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

/* The emitters (EcEmitFn), by file. */
int ect_slice(EcCtx *c, int k, const RtNode *n);
int ect_expand(EcCtx *c, int k, const RtNode *n);
int ect_tile(EcCtx *c, int k, const RtNode *n);
int ect_depth_space(EcCtx *c, int k, const RtNode *n);
int ect_split(EcCtx *c, int k, const RtNode *n);
int ect_pad(EcCtx *c, int k, const RtNode *n);
int ect_center_crop_pad(EcCtx *c, int k, const RtNode *n);

int ect_gemm(EcCtx *c, int k, const RtNode *n);
int ect_conv_transpose(EcCtx *c, int k, const RtNode *n);
int ect_det(EcCtx *c, int k, const RtNode *n);
int ect_lrn(EcCtx *c, int k, const RtNode *n);
int ect_max_unpool(EcCtx *c, int k, const RtNode *n);

int ect_resize(EcCtx *c, int k, const RtNode *n);
int ect_grid_sample(EcCtx *c, int k, const RtNode *n);
int ect_roi_align(EcCtx *c, int k, const RtNode *n);

int ect_elements(EcCtx *c, int k, const RtNode *n);
int ect_nd(EcCtx *c, int k, const RtNode *n);
int ect_trilu(EcCtx *c, int k, const RtNode *n);
int ect_eye_like(EcCtx *c, int k, const RtNode *n);
int ect_constant_of_shape(EcCtx *c, int k, const RtNode *n);
int ect_range(EcCtx *c, int k, const RtNode *n);
int ect_one_hot(EcCtx *c, int k, const RtNode *n);
int ect_reverse_sequence(EcCtx *c, int k, const RtNode *n);
int ect_compress(EcCtx *c, int k, const RtNode *n);
int ect_topk(EcCtx *c, int k, const RtNode *n);

/* For the arena scratch (ec_scratch_tensor): TopK's axis view and k (-1 when the node does
 * not fit), GridSample's taps per point (-1 for an unknown mode). */
int ect_topk_geom(const EcCtx *c, const RtNode *n, int64_t *outer, int64_t *len, int64_t *inner, int64_t *kk);
int64_t ect_gs_corners(const RtNode *n, int rank, int *mode);

#endif
