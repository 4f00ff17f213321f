/*
 * distill.c — the distillation loop (see distill.h).
 *
 * Per epoch: the row order is a Fisher-Yates shuffle from the seeded generator (the same seed
 * gives the same batches, hence the same weights bit for bit); each batch gathers its rows of
 * every input by bytes (float32 data, or int64 token ids and masks that the student's side
 * nodes read), and labels, and the teacher's logits (cached, or computed for the batch), runs
 * the student forward in training mode, adds alpha dCE + beta dD into the logits' gradient,
 * runs backward and one optimizer step. After the epoch the held-out set is evaluated in
 * evaluation mode and the report goes to on_epoch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "distill.h"

void distill_options_default(DistillOptions *o) {
    memset(o, 0, sizeof *o);
    o->teacher_loss = DISTILL_TEACHER_KL;
    o->alpha = 0.5, o->beta = 0.5, o->temperature = 4.0;
    o->epochs = 60, o->batch = 64;
    train_optim_default(&o->optim);
    o->lr_kind = TRAIN_LR_CONSTANT;
    o->teacher_cache_bytes = (int64_t)256 << 20;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int64_t argmax(const float *z, int64_t C) {
    int64_t b = 0;
    for (int64_t c = 1; c < C; c++)
        if (z[c] > z[b]) b = c;
    return b;
}

/* Bytes of one row (axis 0) of x: inputs are float32 data or integer ids / masks alike. */
static int64_t row_bytes(const RtTensor *x) {
    return x->dims[0] ? rt_numel(x) / x->dims[0] * (int64_t)rt_dtype_size(x->dtype) : 0;
}

/* Batch buffers: one gathered tensor per input. */
typedef struct {
    RtTensor *x;              /* [n_in] data owned */
    int n_in;
    int64_t *y;               /* [batch] owned labels */
    float *t;                 /* [batch * C] owned teacher logits */
    float *dz;                /* [batch * C] owned logits' gradient */
} Batch;

static void batch_free(Batch *b) {
    for (int i = 0; b->x && i < b->n_in; i++) free(b->x[i].data);
    free(b->x);
    free(b->y);
    free(b->t);
    free(b->dz);
    memset(b, 0, sizeof *b);
}

static int batch_alloc(Batch *b, const RtTensor *x, int n_in, int64_t rows, int64_t C, RtError *err) {
    memset(b, 0, sizeof *b);
    b->n_in = n_in;
    b->x = calloc((size_t)n_in, sizeof *b->x);
    b->y = malloc(sizeof(int64_t) * (size_t)rows);
    b->t = malloc(sizeof(float) * (size_t)(rows * C));
    b->dz = malloc(sizeof(float) * (size_t)(rows * C));
    int ok = b->x && b->y && b->t && b->dz;
    for (int i = 0; ok && i < n_in; i++) {
        b->x[i] = x[i];
        b->x[i].data = malloc((size_t)(rows * row_bytes(&x[i])) + 1);
        ok = b->x[i].data != NULL;
    }
    if (!ok) return batch_free(b), rt_error_set(err, "out of memory (a batch of %lld rows)", (long long)rows);
    return RT_OK;
}

/* Copies rows idx[0..n) of every input into the batch tensors (bytes: any dtype). */
static void batch_gather(Batch *b, const RtTensor *x, const int64_t *idx, int64_t n) {
    for (int i = 0; i < b->n_in; i++) {
        int64_t row = row_bytes(&x[i]);
        for (int64_t r = 0; r < n; r++)
            memcpy((char *)b->x[i].data + r * row, (const char *)x[i].data + idx[r] * row, (size_t)row);
        b->x[i].dims[0] = n;
    }
}

static int data_check(const IrGraph *g, const DistillData *d, int64_t *rows, RtError *err) {
    if (d->n_in != g->n_inputs)
        return rt_error_set(err, "the student has %d inputs, %d given", g->n_inputs, d->n_in);
    if (d->n_in > RT_MAX_RANK) return rt_error_set(err, "at most %d student inputs", RT_MAX_RANK);
    for (int i = 0; i < d->n_in; i++) {
        const char *name = g->values[g->inputs[i]].name;
        if (d->x[i].rank < 1 || d->x[i].dtype == RT_STRING || rt_dtype_size(d->x[i].dtype) == 0)
            return rt_error_set(err, "input '%s': rows of numbers expected (rank >= 1, %s given)", name,
                                rt_dtype_name(d->x[i].dtype));
        if (i && d->x[i].dims[0] != d->x[0].dims[0])
            return rt_error_set(err, "inputs have different row counts (%lld and %lld)", (long long)d->x[0].dims[0],
                                (long long)d->x[i].dims[0]);
        if (d->val_x && (d->val_x[i].dtype != d->x[i].dtype || d->val_x[i].rank != d->x[i].rank))
            return rt_error_set(err, "held-out input '%s' must have the training data's dtype (%s) and rank (%d)",
                                name, rt_dtype_name(d->x[i].dtype), d->x[i].rank);
        if (d->val_x && i && d->val_x[i].dims[0] != d->val_x[0].dims[0])
            return rt_error_set(err, "held-out inputs have different row counts (%lld and %lld)",
                                (long long)d->val_x[0].dims[0], (long long)d->val_x[i].dims[0]);
    }
    *rows = d->x[0].dims[0];
    return *rows > 0 ? RT_OK : rt_error_set(err, "no training rows");
}

int64_t distill_fixed_batch(const IrGraph *g) {
    int64_t b = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        const IrValue *v = &g->values[g->inputs[i]];
        if (v->konst) continue; /* an initializer listed as an input is not data */
        if (v->rank < 1 || v->dims[0].value <= 0 || (b && v->dims[0].value != b)) return 0;
        b = v->dims[0].value;
    }
    return b;
}

int distill_rows_view(const RtTensor *x, int n_in, int64_t s, int64_t n, int64_t run, RtTensor *v, void **pad,
                     RtError *err) {
    for (int i = 0; i < n_in; i++) {
        int64_t rb = row_bytes(&x[i]);
        v[i] = x[i];
        v[i].dims[0] = run;
        v[i].data = (char *)x[i].data + s * rb;
        if (run == n) continue;
        if (!pad[i] && !(pad[i] = malloc((size_t)(run * rb) + 1))) return rt_error_set(err, "out of memory");
        memcpy(pad[i], v[i].data, (size_t)(n * rb));
        for (int64_t r = n; r < run; r++) memcpy((char *)pad[i] + r * rb, (char *)pad[i] + (n - 1) * rb, (size_t)rb);
        v[i].data = pad[i];
    }
    return RT_OK;
}

int distill_accuracy(TrainModel *m, const RtTensor *x, int n_in, const int64_t *y, int64_t batch, double *acc,
                     RtError *err) {
    if (n_in > RT_MAX_RANK) return rt_error_set(err, "too many inputs");
    int64_t rows = x[0].dims[0], right = 0, fixed = distill_fixed_batch(m->g);
    if (fixed) batch = fixed; /* the graph runs at that batch only: the last one is padded */
    int training = m->training;
    m->training = 0;
    RtTensor v[RT_MAX_RANK];
    void *pad[RT_MAX_RANK] = {0};
    int rc = RT_OK;
    for (int64_t s = 0; s < rows && rc == RT_OK; s += batch) {
        int64_t n = rows - s < batch ? rows - s : batch;
        rc = distill_rows_view(x, n_in, s, n, fixed ? fixed : n, v, pad, err);
        if (rc == RT_OK) rc = train_model_forward(m, v, err);
        TrainTensor *z = &m->t[m->g->outputs[0]];
        int64_t C = z->rank == 2 ? z->dims[1] : 0;
        if (rc == RT_OK && C == 0) rc = rt_error_set(err, "the output must be [rows, classes]");
        for (int64_t r = 0; rc == RT_OK && r < n; r++) right += argmax(z->x + r * C, C) == y[s + r];
    }
    for (int i = 0; i < n_in; i++) free(pad[i]);
    m->training = training;
    *acc = (double)right / (double)(rows ? rows : 1);
    return rc;
}

/* Number of classes: the student's output width, from a forward pass on `probe` rows. */
static int classes_probe(TrainModel *m, const DistillData *d, int64_t probe, int64_t *C, RtError *err) {
    RtTensor v[RT_MAX_RANK];
    for (int i = 0; i < d->n_in; i++) v[i] = d->x[i], v[i].dims[0] = probe;
    int training = m->training;
    m->training = 0;
    int rc = train_model_forward(m, v, err);
    m->training = training;
    if (rc != RT_OK) return RT_ERR;
    TrainTensor *z = &m->t[m->g->outputs[0]];
    if (z->rank != 2 || z->dims[0] != probe)
        return rt_error_set(err, "the student's output '%s' must be [rows, classes] logits",
                            m->g->values[m->g->outputs[0]].name);
    *C = z->dims[1];
    return RT_OK;
}

/* The teacher's logits for every training row, in batches (NULL when they do not fit). */
static int teacher_cache(const DistillData *d, const DistillOptions *o, Batch *b, int64_t rows, int64_t C,
                         float **cache, RtError *err) {
    *cache = NULL;
    if (!o->teacher || rows * C * (int64_t)sizeof(float) > o->teacher_cache_bytes) return RT_OK;
    float *t = malloc(sizeof(float) * (size_t)(rows * C));
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)o->batch);
    if (!t || !idx) return free(t), free(idx), rt_error_set(err, "out of memory (teacher outputs)");
    for (int64_t s = 0; s < rows; s += o->batch) {
        int64_t n = rows - s < o->batch ? rows - s : o->batch;
        for (int64_t r = 0; r < n; r++) idx[r] = s + r;
        batch_gather(b, d->x, idx, n);
        if (o->teacher(o->teacher_user, b->x, b->n_in, n, C, t + s * C, err) != RT_OK) return free(t), free(idx), RT_ERR;
    }
    free(idx);
    *cache = t;
    return RT_OK;
}

typedef struct {
    double loss, agree, right;
} EpochSums;

/* One mini-batch: forward, loss and its gradient, backward, step. */
static int batch_step(TrainModel *m, const DistillData *d, DistillOptions *o, Batch *b, const int64_t *idx,
                      int64_t n, int64_t C, const float *cache, double lr, EpochSums *s, RtError *err) {
    batch_gather(b, d->x, idx, n);
    if (o->teacher && cache)
        for (int64_t r = 0; r < n; r++) memcpy(b->t + r * C, cache + idx[r] * C, sizeof(float) * (size_t)C);
    else if (o->teacher && o->teacher(o->teacher_user, b->x, b->n_in, n, C, b->t, err) != RT_OK)
        return RT_ERR;
    if (train_model_forward(m, b->x, err) != RT_OK) return RT_ERR;
    TrainTensor *zt = &m->t[m->g->outputs[0]];
    if (zt->rank != 2 || zt->dims[0] != n || zt->dims[1] != C)
        return rt_error_set(err, "the student's output must be [rows, %lld] logits", (long long)C);
    const float *z = zt->x;
    memset(b->dz, 0, sizeof(float) * (size_t)(n * C));
    double loss = 0;
    if (d->y) {
        for (int64_t r = 0; r < n; r++) {
            b->y[r] = d->y[idx[r]];
            s->right += argmax(z + r * C, C) == b->y[r];
        }
        if (o->alpha != 0) loss += o->alpha * train_loss_ce(z, b->y, n, C, o->alpha, b->dz);
    }
    if (o->teacher) {
        for (int64_t r = 0; r < n; r++) s->agree += argmax(z + r * C, C) == argmax(b->t + r * C, C);
        if (o->teacher_loss == DISTILL_TEACHER_MSE) loss += o->beta * train_loss_mse(z, b->t, n, C, o->beta, b->dz);
        else if (o->teacher_loss == DISTILL_TEACHER_KL)
            loss += o->beta * train_loss_kl(z, b->t, n, C, o->temperature, o->beta, b->dz);
    }
    if (!isfinite(loss)) return rt_error_set(err, "the loss is not finite (%g): try a smaller --lr", loss);
    s->loss += loss * (double)n;
    int n_out = m->g->n_outputs;
    const float *dout[16] = {b->dz};
    if (n_out > 16) return rt_error_set(err, "at most 16 outputs");
    if (train_model_backward(m, dout, err) != RT_OK) return RT_ERR;
    return train_optim_step(&o->optim, m, lr, err);
}

/* The batch: the caller's, or (0) the student's fixed batch or 64. *fixed = the batch the
 * student is held to (its declared one, when the caller asked for no other), else 0. */
static int batch_resolve(const IrGraph *g, int64_t rows, DistillOptions *o, int64_t *fixed, RtError *err) {
    int64_t declared = distill_fixed_batch(g);
    if (o->batch == 0) o->batch = declared ? declared : 64;
    *fixed = declared == o->batch ? declared : 0;
    if (*fixed && rows < *fixed)
        return rt_error_set(err, "%lld training rows, fewer than the student's fixed batch of %lld (input '%s')",
                            (long long)rows, (long long)*fixed, g->values[g->inputs[0]].name);
    return RT_OK;
}

/* The probe of the output width on one row, or on the fixed batch; a student that declares a
 * fixed batch B but is trained at another batch N (an exporter declaring the batch of its
 * example input for a graph that runs at any batch) is probed at N, and refused if it cannot. */
static int probe_classes(TrainModel *m, const DistillData *d, const DistillOptions *o, int64_t rows, int64_t fixed,
                         int64_t *C, RtError *err) {
    int64_t declared = distill_fixed_batch(m->g);
    if (!declared || fixed) return classes_probe(m, d, fixed ? fixed : 1, C, err);
    int64_t n = o->batch < rows ? o->batch : rows;
    if (classes_probe(m, d, n, C, err) == RT_OK) return RT_OK;
    char why[sizeof err->msg / 2];
    snprintf(why, sizeof why, "%s", err->msg);
    err->msg[0] = '\0'; /* rt_error_set keeps the first message: this one replaces it */
    return rt_error_set(err,
                        "input '%s' is declared with a fixed batch of %lld and the student does not run at a batch of "
                        "%lld (%s): train it with a batch of %lld (wafer distill --batch %lld; each epoch leaves out "
                        "its last rows %% %lld rows), or export it with a dynamic batch axis",
                        m->g->values[m->g->inputs[0]].name, (long long)declared, (long long)n, why,
                        (long long)declared, (long long)declared, (long long)declared);
}

static int options_check(const DistillData *d, const DistillOptions *o, RtError *err) {
    if (o->epochs < 0 || o->batch < 0) return rt_error_set(err, "epochs and batch must be >= 0");
    if (!o->teacher && !d->y) return rt_error_set(err, "nothing to learn from: no teacher and no labels");
    if (o->teacher && o->teacher_loss == DISTILL_TEACHER_KL && !(o->temperature > 0))
        return rt_error_set(err, "temperature must be > 0");
    return RT_OK;
}

int distill_run(IrGraph *student, const DistillData *d, const DistillOptions *o0, DistillEpoch *last, RtError *err) {
    DistillOptions o = *o0;
    int64_t rows = 0, C = 0;
    TrainModel m;
    int64_t fixed = 0;
    if (options_check(d, &o, err) != RT_OK || data_check(student, d, &rows, err) != RT_OK ||
        batch_resolve(student, rows, &o, &fixed, err) != RT_OK)
        return RT_ERR;
    /* a fixed batch drops each epoch's last partial batch: `used` rows are trained on */
    int64_t used = fixed ? rows / fixed * fixed : rows;
    if (train_model_init_frozen(&m, student, o.frozen, o.n_frozen, err) != RT_OK) return RT_ERR;
    Batch b = {0};
    float *cache = NULL;
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)rows);
    int rc = idx ? RT_OK : rt_error_set(err, "out of memory");
    if (rc == RT_OK && o.qat) rc = train_qat_enable(&m, o.qat, o.qat_group, err);
    if (rc == RT_OK) rc = probe_classes(&m, d, &o, rows, fixed, &C, err);
    for (int64_t r = 0; rc == RT_OK && d->y && r < rows; r++)
        if (d->y[r] < 0 || d->y[r] >= C)
            rc = rt_error_set(err, "label %lld of row %lld is outside [0, %lld)", (long long)d->y[r], (long long)r,
                              (long long)C);
    if (rc == RT_OK) rc = batch_alloc(&b, d->x, d->n_in, o.batch, C, err);
    if (rc == RT_OK) rc = teacher_cache(d, &o, &b, rows, C, &cache, err);
    for (int64_t r = 0; r < rows && idx; r++) idx[r] = r;
    if (rc == RT_OK && o.on_start) o.on_start(o.user, &m);
    uint64_t rng = o.seed;
    double t0 = now_s();
    DistillEpoch e = {0};
    for (int64_t ep = 0; rc == RT_OK && ep < o.epochs; ep++) {
        EpochSums s = {0};
        double lr = train_lr_at(o.lr_kind, o.optim.lr, ep, o.epochs);
        train_rng_shuffle(&rng, idx, rows);
        for (int64_t st = 0; rc == RT_OK && st < used; st += o.batch) {
            int64_t n = used - st < o.batch ? used - st : o.batch;
            rc = batch_step(&m, d, &o, &b, idx + st, n, C, cache, lr, &s, err);
        }
        e = (DistillEpoch){ep + 1, o.epochs, s.loss / (double)used, o.teacher ? s.agree / (double)used : NAN,
                           d->y ? s.right / (double)used : NAN, NAN, lr, 0};
        if (rc == RT_OK && d->val_x) rc = distill_accuracy(&m, d->val_x, d->n_in, d->val_y, 256, &e.val_accuracy, err);
        e.seconds = now_s() - t0;
        if (rc == RT_OK && o.on_epoch) o.on_epoch(o.user, &e);
    }
    if (last) *last = e;
    free(cache);
    free(idx);
    batch_free(&b);
    train_model_free(&m);
    return rc;
}
