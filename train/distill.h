/*
 * distill.h — the distillation / fine-tuning loop over a student IrGraph (trained in place):
 * seeded mini-batches, the teacher's logits per batch, the weighted loss, backward, optimizer
 * step, and a report per epoch (loss, agreement with the teacher, held-out accuracy).
 *
 * Loss = alpha CE(student, labels) + beta D(student, teacher), D = MSE on logits or
 * T^2 KL(softmax(t / T) || softmax(z / T)) (train_loss_*). Either term may be absent: no labels
 * (distilling from unlabeled logs) or no teacher (plain fine-tuning, e.g. QAT with labels).
 *
 * The teacher is a callback that computes logits for given rows (the CLI runs any model wafer
 * runs), so the loop does not care what it is. Its outputs for the whole training set are
 * computed once, batch by batch, and kept when they fit in teacher_cache_bytes (1,197 x 10
 * floats for digits); otherwise they are recomputed for each mini-batch of each epoch, so
 * memory never holds more than a batch of them.
 *
 * A student whose inputs all declare the same fixed batch B (an exporter run without a dynamic
 * batch axis: the dynamo exporter's default, with its Reshape to [B, -1] a constant) trains in
 * batches of exactly B: each epoch leaves out its last rows % B rows (PyTorch's drop_last; the
 * shuffle leaves out others each epoch), and evaluation pads its last batch with copies of a
 * row whose outputs are not counted. Exporters also declare the batch of their example input
 * for graphs that run at any batch: another batch asked for explicitly is taken when the
 * student computes at it (a probe forward), and refused with the probe's error otherwise.
 */
#ifndef WAFER_DISTILL_H
#define WAFER_DISTILL_H

#include "train.h"

typedef enum {
    DISTILL_TEACHER_NONE = 0, /* labels only */
    DISTILL_TEACHER_MSE = 1,
    DISTILL_TEACHER_KL = 2
} DistillTeacherLoss;

/* Teacher logits for rows (inputs[n_in], each with `rows` rows on axis 0) into
 * out[rows * classes] (classes = the student's output width; a teacher giving another shape
 * is an error). */
typedef int (*DistillTeacherFn)(void *user, const RtTensor *inputs, int n_in, int64_t rows, int64_t classes,
                                float *out, RtError *err);

typedef struct DistillEpoch {
    int64_t epoch, epochs;    /* 1-based epoch number, and the total */
    double loss;              /* mean training loss over the epoch's batches (weighted by rows) */
    double agreement;         /* fraction of training rows whose student argmax = teacher argmax
                                 (NaN without a teacher) */
    double train_accuracy;    /* fraction of training rows classified right (NaN without labels) */
    double val_accuracy;      /* on the held-out set after the epoch (NaN without one) */
    double lr;                /* learning rate used in the epoch */
    double seconds;           /* wall time since the start of training */
} DistillEpoch;

typedef struct DistillOptions {
    DistillTeacherLoss teacher_loss;
    double alpha, beta;       /* weights of the label term and the teacher term */
    double temperature;       /* KL's T (> 0) */
    int64_t epochs, batch;    /* batch: rows per step; the last batch of an epoch may be short.
                                 0: the student's fixed batch if it declares one, else 64; another
                                 than a fixed one only if the graph runs at it */
    uint64_t seed;            /* shuffling */
    TrainOptim optim;         /* kind, lr, momentum, weight decay */
    TrainLrKind lr_kind;
    TrainQat qat;             /* fake quantization (TRAIN_QAT_NONE = float training) */
    int64_t qat_group;        /* int4 group (0 = per output channel) */
    int64_t teacher_cache_bytes; /* keep the teacher's outputs when they fit (0 = never) */
    DistillTeacherFn teacher; /* NULL = no teacher */
    void *teacher_user;
    const char *const *frozen; /* [n_frozen] borrowed: initializers kept fixed (train_model_init_frozen) */
    int n_frozen;
    void (*on_start)(void *user, const TrainModel *m); /* before the first epoch; may be NULL */
    void (*on_epoch)(void *user, const DistillEpoch *e); /* may be NULL */
    void *user;
} DistillOptions;

void distill_options_default(DistillOptions *o);

typedef struct DistillData {
    const RtTensor *x;        /* [n_in] borrowed: the student's inputs in its order, rows on axis 0; any
                                 numeric dtype (float32 data, int64 ids, bool masks), the teacher
                                 getting the same tensors */
    int n_in;
    const int64_t *y;         /* [rows] borrowed class labels, or NULL */
    const RtTensor *val_x;    /* [n_in] borrowed held-out inputs (x's dtypes and ranks), or NULL */
    const int64_t *val_y;     /* [val rows] borrowed */
} DistillData;

/* Trains student (its float initializers change in place; the graph does not). Errors name the
 * node, or the data problem (rows that differ between inputs, a label out of range). The
 * last epoch's report is copied to *last (may be NULL). */
int distill_run(IrGraph *student, const DistillData *d, const DistillOptions *o, DistillEpoch *last, RtError *err);

/* Top-1 accuracy of g (evaluation mode: BatchNorm on running statistics) on x[n_in] with
 * labels y, in batches of `batch` rows (of the student's fixed batch when it declares one). */
int distill_accuracy(TrainModel *m, const RtTensor *x, int n_in, const int64_t *y, int64_t batch, double *acc,
                     RtError *err);
/* The batch every input of g declares as its dim 0 when they all declare the same number
 * (the graph runs at that batch only), else 0 (a dynamic batch). */
int64_t distill_fixed_batch(const IrGraph *g);
/* Views v[n_in] of rows [s, s + n) of every input x[i], `run` rows each: when run > n (a
 * graph with a fixed batch of run rows), the rows are copied into pad[i] (allocated on first
 * use with room for run rows; the caller frees it) and the last one repeated. */
int distill_rows_view(const RtTensor *x, int n_in, int64_t s, int64_t n, int64_t run, RtTensor *v, void **pad,
                      RtError *err);

#endif
