/*
 * train.h — training over the IR: reverse-mode automatic differentiation of an ONNX student
 * graph, losses for distillation, optimizers, fake quantization (QAT) and the distillation
 * loop that `wafer distill` drives.
 *
 * The tape (train_model.c): a TrainModel wraps an IrGraph (borrowed, never rewritten) with one
 * float buffer per value (its data x and, when it depends on a parameter, its gradient dx),
 * sized for the largest batch seen. Forward runs the nodes in graph order, each op keeping what
 * its backward needs (BatchNorm's batch statistics, MaxPool's argmax, LayerNorm's row
 * statistics); backward runs them in reverse, every op ADDING its contribution into its inputs'
 * dx (a value read by several nodes sums their gradients). Parameters are the float32
 * initializers of the graph (except BatchNormalization's running mean and variance, which the
 * forward pass in training mode updates, Clip's bounds, Pow's exponent and Pad's value; a
 * Constant node's value is not an initializer and stays fixed, IrValue.from_constant_node):
 * their master copy is the IrValue's konst data, which is what onnx_save_weights() writes back.
 *
 * Ops (train_ops_*.c), each a forward and a backward with the ONNX spec's attributes:
 * Gemm, MatMul, Conv (2-D; group, strides, pads, dilations, auto_pad), Relu, LeakyRelu,
 * Clip, Sigmoid, Tanh, Add, Sub, Mul (numpy broadcasting), Flatten, Reshape, Identity, Dropout
 * (inference form), MaxPool, AveragePool, GlobalAveragePool, BatchNormalization (training mode
 * with running statistics), Softmax, LogSoftmax, LayerNormalization;
 * Neg, Abs, Reciprocal, Sqrt, Exp, Log, Erf, Gelu, Softplus, Softsign, HardSigmoid, HardSwish,
 * Elu, Selu, Celu, Div, Pow, PRelu, Sum, Mean, Max, Min (train_ops_math.c); ReduceMean,
 * ReduceSum, ReduceSumSquare, ReduceMax, ReduceMin (train_ops_reduce.c);
 * Transpose, Squeeze, Unsqueeze, Concat, Split, Expand, Tile (train_ops_tensor.c); Slice,
 * Gather, Where (train_ops_index.c); Pad, DepthToSpace, SpaceToDepth (train_ops_pad.c).
 * Anything else is refused by name when the model is built.
 *
 * Side nodes: a node none of whose inputs depends on a parameter (the Shape -> Gather ->
 * Unsqueeze -> Concat chain an exporter writes for x.view(x.size(0), -1), a Cast, a mask), and
 * a node whose outputs are not float (Shape, ArgMax, Equal), is computed by the runtime's
 * reference kernel (train_ops_side.c) and never differentiated, so any op wafer runs may appear
 * there. Its non-float results are side values (TrainTensor.side) that differentiable ops read
 * where the spec wants integers (TrainOp.side_inputs).
 *
 * Shapes: M, N, K as for GEMM; images N, C, H, W (N = batch). Gradients flow through float32
 * data only.
 */
#ifndef WAFER_TRAIN_H
#define WAFER_TRAIN_H

#include <stdint.h>

#include "../ir/ir.h"

/* One value's buffers during training. */
typedef struct TrainTensor {
    int rank;
    int64_t dims[RT_MAX_RANK];
    float *x;             /* [numel] data: owned (cap floats), or a parameter's weights */
    float *dx;            /* [numel] owned gradient, or NULL when nothing trainable feeds it */
    int64_t cap;          /* floats allocated in x (and dx); 0 when x is borrowed */
    int needs_grad;       /* 1: a parameter, or computed from one */
    int is_const;         /* 1: a graph constant (parameter or not) */
    RtDtype dtype;        /* RT_F32: the data is in x. Any other dtype is a side value (a shape,
                             indices, a mask): its data is in side and it is never differentiated */
    void *side;           /* [numel] side data: owned (side_cap bytes), or a constant's konst data */
    int64_t side_cap;     /* bytes allocated in side; 0 when borrowed */
} TrainTensor;

/* A trainable initializer. */
typedef struct TrainParam {
    int value;            /* value index in the graph */
    int64_t n;            /* elements */
    float *w;             /* [n] borrowed: the master weights (the IrValue's konst data) */
    float *fq;            /* [n] owned: fake-quantized weights the forward reads (QAT), or NULL */
    float *m, *v;         /* [n] owned: optimizer state (momentum / Adam moments) */
    int qat_node;         /* node whose weight this is when fake-quantized, else -1 */
    int qat_bn;           /* the BatchNormalization the quantizer will fold into qat_node, else -1 */
} TrainParam;

/* Fake quantization (train_fakequant.c). */
typedef enum { TRAIN_QAT_NONE = 0, TRAIN_QAT_INT8 = 8, TRAIN_QAT_INT4 = 4 } TrainQat;

typedef struct TrainModel TrainModel;
struct TrainModel {
    IrGraph *g;           /* borrowed: the student; its float initializers are trained in place */
    TrainTensor *t;       /* [g->n_values] owned */
    TrainParam *p;        /* [n_params] owned */
    int n_params;
    void **state;         /* [g->n_nodes] owned: each op's saved data for backward */
    size_t *state_bytes;  /* [g->n_nodes] size of each state block */
    char *node_grad;      /* [g->n_nodes] owned: 1 when the node's outputs need gradients */
    char *side_node;      /* [g->n_nodes] owned: 1 when the node is computed by the runtime's
                             reference kernel and never differentiated (train_ops_side.c) */
    int training;         /* 1: BatchNorm uses batch statistics and updates running ones */
    int64_t conv_col_floats; /* im2col buffer per Conv GEMM (floats): samples are batched into one
                                product up to it; 0 = 4M (16 MiB) */
    TrainQat qat;         /* fake quantization in the forward pass */
    int64_t qat_group;    /* int4: input elements per scale (0 = per output channel) */
    float *act_lo, *act_hi; /* [g->n_values] owned (int8 QAT): observed activation ranges */
    char *act_fq;         /* [g->n_values] owned (int8 QAT): 1 = fake-quantize this value */
};

/* Builds the tape over g: checks every node's op and attributes (errors name the node and
 * op), finds the parameters and which values need gradients. g must have shapes inferred
 * only for its constants; batch shapes are taken from the data at each forward. */
int train_model_init(TrainModel *m, IrGraph *g, RtError *err);
/* train_model_init keeping the float32 initializers named in frozen[n_frozen] fixed: buffers
 * an exported file cannot tell from weights (a causal mask, a fixed position table), or layers
 * the user keeps. A name that is not a float32 initializer of g is an error naming it. */
int train_model_init_frozen(TrainModel *m, IrGraph *g, const char *const *frozen, int n_frozen, RtError *err);
void train_model_free(TrainModel *m);
/* Forward on inputs[g->n_inputs] (float32, any batch): fills every value's x. */
int train_model_forward(TrainModel *m, const RtTensor *inputs, RtError *err);
/* Backward from gradients of the graph outputs: dout[i] is d loss / d output i (NULL when
 * output i takes no part), with the output's shape. Parameters' gradients are SET (not
 * accumulated over calls). */
int train_model_backward(TrainModel *m, const float *const *dout, RtError *err);
/* Value index -> its tensor. */
static inline TrainTensor *train_value(TrainModel *m, int v) { return &m->t[v]; }
/* A runtime tensor over value v's current data (x or side; borrowed, not copied). */
void train_value_view(const TrainModel *m, int v, RtTensor *out);
/* Numel of a tensor's current shape. */
int64_t train_tensor_numel(const TrainTensor *t);

/* ---- op functions (train_ops_*.c): forward and backward of node k ---- */
typedef int (*TrainOpFn)(TrainModel *m, int k, RtError *err);
typedef struct TrainOp {
    int op;               /* RtOp */
    TrainOpFn fwd, bwd;
    TrainOpFn check;      /* attribute checks at init (NULL = none) */
    uint32_t side_inputs; /* bit i: input i is side data (Reshape's shape, Gather's indices,
                             Slice's starts...): read with train_value_view, any dtype the spec
                             allows, never given a gradient */
} TrainOp;
const TrainOp *train_op_find(int op);
/* The differentiable ops' ONNX names, comma-separated (for messages). */
const char *train_op_names(void);
/* Side node k (m->side_node[k]): runs the runtime's reference kernel on the inputs' current
 * data and stores every output (float ones in x, others in side). */
int train_side_fwd(TrainModel *m, int k, RtError *err);
/* Gives node k's output `o` the shape dims[rank], growing its buffers. */
int train_out_shape(TrainModel *m, int k, int o, int rank, const int64_t *dims, RtError *err);
/* Node state: a zeroed block of `bytes` kept across calls (grown when bytes grows). */
void *train_node_state(TrainModel *m, int k, size_t bytes, RtError *err);
/* "node 'name' (Op)" prefix for messages. */
int train_node_fail(const TrainModel *m, int k, RtError *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* ---- losses (train_loss.c) on logits z[B, C] ----
 * Each returns the batch's loss and ADDS w * d loss / d z into dz (dz may be NULL). */
/* Cross-entropy on labels y[B] (class indices): mean over the batch of -log softmax(z)[y]. */
double train_loss_ce(const float *z, const int64_t *y, int64_t B, int64_t C, double w, float *dz);
/* MSE against teacher logits t: mean over all B*C elements of (z - t)^2. */
double train_loss_mse(const float *z, const float *t, int64_t B, int64_t C, double w, float *dz);
/* Hinton's KL: T^2 * mean over the batch of KL(softmax(t/T) || softmax(z/T)). */
double train_loss_kl(const float *z, const float *t, int64_t B, int64_t C, double T, double w, float *dz);

/* ---- optimizers (train_optim.c) ---- */
typedef enum { TRAIN_OPT_SGD = 0, TRAIN_OPT_ADAM = 1 } TrainOptKind;
typedef enum { TRAIN_LR_CONSTANT = 0, TRAIN_LR_COSINE = 1 } TrainLrKind;

typedef struct TrainOptim {
    TrainOptKind kind;
    double lr;            /* base learning rate */
    double momentum;      /* SGD (PyTorch's form: v = mu v + g; w -= lr v) */
    double beta1, beta2, eps; /* Adam (PyTorch's defaults 0.9, 0.999, 1e-8) */
    double weight_decay;  /* L2: g += wd * w before the update (PyTorch's SGD and Adam) */
    int64_t steps;        /* updates made so far (Adam's bias correction) */
} TrainOptim;

void train_optim_default(TrainOptim *o);
/* One update of every parameter with learning rate lr from its gradient. */
int train_optim_step(TrainOptim *o, TrainModel *m, double lr, RtError *err);
/* Learning rate of epoch e (0-based) of E: constant, or cosine annealing to 0
 * lr * (1 + cos(pi e / E)) / 2 (PyTorch's CosineAnnealingLR stepped per epoch). */
double train_lr_at(TrainLrKind k, double lr, int64_t e, int64_t E);

/* ---- seeded generator (train_rng.c): splitmix64, so a seed gives the same run anywhere ---- */
uint64_t train_rng_next(uint64_t *s);
/* Fisher-Yates shuffle of idx[n] from the generator. */
void train_rng_shuffle(uint64_t *s, int64_t *idx, int64_t n);

/* ---- fake quantization (train_fakequant.c) ----
 * Mirrors `wafer quantize`: the weight of every Gemm / MatMul / Conv except the head (the
 * quantizer's rule, quant_head_mark) is replaced in the forward pass by its quantize-dequantize
 * image with the quantizer's own code: int8 = quant_weight_compute per output channel,
 * symmetric [-127, 127] (pass_quantize_int8); int4 = gptq_rtn's grid, symmetric, group G
 * (pass_quantize_gptq's RTN). Backward is the straight-through estimator: the gradient with
 * respect to the fake-quantized weight goes to the float weight unchanged. For int8 the input
 * and the output (after a Relu / Clip the fusion folds in) of each quantized node, the values
 * the static int8 graph holds as int8, are fake-quantized as well, on the quantizer's asymmetric
 * int8 grid (scale (hi - lo) / 255, zero point round(-128 - lo / scale)) over the range seen
 * so far in training (running min / max, 0 included), the range the quantizer's min-max
 * calibration would find on the training inputs. */
int train_qat_enable(TrainModel *m, TrainQat q, int64_t group, RtError *err);
/* Recomputes every fake-quantized weight from the master weights (before each forward). */
int train_qat_refresh(TrainModel *m, RtError *err);
/* Fake-quantizes value v in place when int8 QAT marks it. In training the range first takes
 * in the batch (so nothing is clipped and the straight-through gradient is the identity); in
 * evaluation the range is fixed and values outside it clip. */
void train_qat_act_forward(TrainModel *m, int v);

#endif
