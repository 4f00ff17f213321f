/*
 * train_ops.h — what the training op files share (train_ops_*.c): access to a node's input
 * and output tensors, and each file's forward / backward / check functions for the op table
 * in train_ops.c.
 */
#ifndef WAFER_TRAIN_OPS_H
#define WAFER_TRAIN_OPS_H

#include "../runtime/kernels/kernel.h"
#include "train.h"

/* Input i of node k (NULL when absent). */
static inline TrainTensor *train_in(TrainModel *m, int k, int i) {
    const RtNode *n = &m->g->nodes[k];
    return (i < n->n_in && n->in[i] >= 0) ? &m->t[n->in[i]] : NULL;
}
static inline TrainTensor *train_out(TrainModel *m, int k, int o) {
    return &m->t[m->g->nodes[k].out[o]];
}
static inline const RtNode *train_node(const TrainModel *m, int k) { return &m->g->nodes[k]; }

/* Gradient buffer of input i when it needs one, else NULL. */
static inline float *train_in_grad(TrainModel *m, int k, int i) {
    TrainTensor *t = train_in(m, k, i);
    return (t && t->needs_grad) ? t->dx : NULL;
}

/* Numpy broadcasting of a and b into out dims; strides (0 on broadcast axes) in elements. */
int train_broadcast(const TrainTensor *a, const TrainTensor *b, int *rank, int64_t *dims, int64_t *sa, int64_t *sb);

#define TRAIN_OP_DECL(name)                                  \
    int train_##name##_fwd(TrainModel *m, int k, RtError *err); \
    int train_##name##_bwd(TrainModel *m, int k, RtError *err)

TRAIN_OP_DECL(gemm);
TRAIN_OP_DECL(matmul);
TRAIN_OP_DECL(conv);
TRAIN_OP_DECL(unary);
TRAIN_OP_DECL(binary);
TRAIN_OP_DECL(reshape);
TRAIN_OP_DECL(maxpool);
TRAIN_OP_DECL(avgpool);
TRAIN_OP_DECL(gap);
TRAIN_OP_DECL(batchnorm);
TRAIN_OP_DECL(softmax);
TRAIN_OP_DECL(layernorm);
TRAIN_OP_DECL(math_unary);    /* train_ops_math.c */
TRAIN_OP_DECL(math_binary);
TRAIN_OP_DECL(variadic);
TRAIN_OP_DECL(reduce);        /* train_ops_reduce.c */
int train_conv_check(TrainModel *m, int k, RtError *err);
int train_pool_check(TrainModel *m, int k, RtError *err);
int train_one_output_check(TrainModel *m, int k, RtError *err);
int train_math_unary_check(TrainModel *m, int k, RtError *err);
int train_math_binary_check(TrainModel *m, int k, RtError *err);
int train_variadic_check(TrainModel *m, int k, RtError *err);
TRAIN_OP_DECL(transpose);     /* train_ops_tensor.c */
TRAIN_OP_DECL(squeeze);       /* Squeeze and Unsqueeze */
TRAIN_OP_DECL(concat);
TRAIN_OP_DECL(split);
TRAIN_OP_DECL(expand);        /* Expand and Tile */
TRAIN_OP_DECL(slice);         /* train_ops_index.c */
TRAIN_OP_DECL(gather);
TRAIN_OP_DECL(where);
TRAIN_OP_DECL(pad);           /* train_ops_pad.c */
TRAIN_OP_DECL(block);         /* DepthToSpace and SpaceToDepth */
int train_tile_check(TrainModel *m, int k, RtError *err);
/* Strided views (train_ops_tensor.c): y[i] = x[off(i)] over the row-major walk of dims[r]
 * (r <= 2 * RT_MAX_RANK) with off = sum_k idx_k * st_k (strides may be 0 or negative), and
 * its backward dx[off(i)] += dy[i]. */
void train_strided_gather(float *y, const float *x, int r, const int64_t *dims, const int64_t *st);
void train_strided_scatter_add(float *dx, const float *dy, int r, const int64_t *dims, const int64_t *st);
/* Node k's integer list from input `input` (side data, any integer dtype) when present, else
 * attribute attr (NULL: none) into v[max]: the count, -2 when neither is there, -1 on error. */
int train_ints_read(TrainModel *m, int k, int input, const char *attr, int64_t *v, int max, RtError *err);
/* axis in [-rank, rank) -> [0, rank); -1 (with a message naming the node) when out of range. */
int train_axis_norm(TrainModel *m, int k, int64_t axis, int rank, RtError *err);

/* Conv / pool geometry of one spatial axis (ONNX: pads begin/end, auto_pad). */
typedef struct TrainWin {
    int64_t in, k, stride, dil, pad0, pad1, out;
} TrainWin;
/* Fills win[2] (H, W) from node k's attributes for input spatial dims (H, W) and kernel dims;
 * ceil_mode for pools. */
int train_window(TrainModel *m, int k, const int64_t *in_hw, const int64_t *k_hw, int ceil_mode, TrainWin *win,
                 RtError *err);

#endif
