/*
 * cmd_distill.c — `wafer distill`: knowledge distillation (and fine-tuning, and
 * quantization-aware training) of an ONNX student, from any model wafer runs as the teacher.
 *
 *   load student (ONNX, graph untouched) and teacher (.onnx or .wafer) -> read --input rows
 *   (each keeping its .npy dtype: float32 data, int64 token ids, masks), --labels, --val sets
 *   -> distill_run (train/distill.h), one progress line per epoch on
 *   stderr -> write:
 *     float:  OUT.onnx = the student file with its initializers replaced (onnx_save_weights)
 *     --qat:  the trained float student as ONNX (--onnx-out, or a temporary file), then the
 *             quantize pipeline of `wafer quantize` on it with the same conventions the fake
 *             quantization trained with (int8: int8 weights per channel + int8 activations
 *             calibrated on the --input rows, whole batches of a student's fixed batch;
 *             int4: RTN, symmetric, --group), -> OUT.wafer
 *
 * The teacher runs through the reference executor (ir_run) on each batch of rows (in chunks
 * of its fixed batch when it declares one, the last padded); its logits are cached for the
 * whole set when they fit (distill.h).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../format/wafer_file.h"
#include "../train/distill.h"
#include "cli_quantize.h"

static const char *const distill_usage =
    "usage: wafer distill --teacher T.onnx|T.wafer --student S.onnx --input NAME=X.npy ... -o OUT\n"
    "                     [--labels Y.npy] [options]\n"
    "\n"
    "Trains the student's initializers to match the teacher (knowledge distillation) and/or the\n"
    "labels, in C. OUT is the student ONNX file with the same graph and the trained weights;\n"
    "with --qat it is a quantized .wafer file.\n"
    "\n"
    "  --teacher MODEL         teacher (.onnx or .wafer); optional with --loss ce (then only\n"
    "                          its agreement with the student is reported)\n"
    "  --student S.onnx        student graph and starting weights\n"
    "  --input NAME=X.npy      training rows for student input NAME (repeat per input); the\n"
    "                          .npy keeps its dtype (float32 data, int64 token ids, bool masks)\n"
    "  --labels Y.npy          integer class labels, one per row\n"
    "  --loss L                ce | mse | kl | ce+mse | ce+kl (default: ce+kl with --labels, kl without)\n"
    "  --alpha A               weight of the label term (default 0.5 for ce+X, 1 for ce)\n"
    "  --beta B                weight of the teacher term (default 0.5 for ce+X, 1 alone)\n"
    "  --temperature T         softening of the KL term, scaled by T^2 (default 4)\n"
    "  --epochs N              passes over the data (default 60)\n"
    "  --batch N               rows per step (default 64; a student exported with a fixed\n"
    "                          batch B trains at B, each epoch leaving out its last rows % B)\n"
    "  --lr X                  learning rate (default 1e-3)\n"
    "  --lr-schedule S         constant (default) | cosine\n"
    "  --optimizer O           adam (default) | sgd\n"
    "  --momentum X            SGD momentum (default 0.9)\n"
    "  --weight-decay X        L2 weight decay (default 0)\n"
    "  --seed N                shuffling seed (default 0); the same seed gives the same file\n"
    "  --freeze NAME           keep float initializer NAME fixed (repeat per name): buffers an\n"
    "                          exported file cannot tell from weights (a causal mask, a fixed\n"
    "                          position table) or layers to keep. Never trained anyway: Constant\n"
    "                          nodes, BatchNorm running statistics, Clip bounds, Pow exponents\n"
    "                          and Pad values\n"
    "  --val NAME=X.npy        held-out rows (repeat per input); with --val-labels Y.npy the\n"
    "                          accuracy is printed after each epoch\n"
    "  --qat int8|int4         quantization-aware training, then OUT is a quantized .wafer\n"
    "  --group N               --qat int4: input elements per scale (default 0 = per channel)\n"
    "  --onnx-out FILE.onnx    --qat: also keep the trained float student\n"
    "  --threads T             OpenBLAS threads for the GEMMs (default 1: a student's products\n"
    "                          are small, and threads only add overhead on a busy machine)\n"
    "\n"
    "Progress (one line per epoch: loss, teacher agreement, accuracies) goes to stderr.\n"
    "Exit status 0 ok, 2 bad input (the message names the file, node and op).\n";

typedef struct {
    const char *teacher, *student, *labels, *out, *loss, *val_labels, *qat, *onnx_out, *optimizer, *schedule;
    CliInputs in, val;
    DistillOptions o;
    const char *frozen[64]; /* --freeze names */
    int n_frozen;
    int alpha_set, beta_set;
    int64_t threads;
} DistillArgs;

static int num_opt(const char *v, const char *name, double lo, double *x, RtError *err) {
    if (cli_parse_f64(v, name, "distill", x, err) != CLI_OK) return CLI_BAD_INPUT;
    if (!(*x >= lo) || !isfinite(*x)) return cli_usage_error(err, "distill", "%s must be >= %g, got %s", name, lo, v);
    return CLI_OK;
}

/* One option; 1 taken, 0 not an option, -1 error. */
static int arg_one(DistillArgs *a, int argc, char **argv, int *i, RtError *err) {
    const char *v = NULL;
    int r;
    int64_t n;
    double x;
#define OPT(name) ((r = cli_opt(argc, argv, i, name, &v, "distill", err)) != 0)
    if (OPT("--teacher")) a->teacher = v;
    else if (OPT("--student")) a->student = v;
    else if (OPT("--labels")) a->labels = v;
    else if (OPT("-o")) a->out = v;
    else if (OPT("--loss")) a->loss = v;
    else if (OPT("--val-labels")) a->val_labels = v;
    else if (OPT("--qat")) a->qat = v;
    else if (OPT("--onnx-out")) a->onnx_out = v;
    else if (OPT("--optimizer")) a->optimizer = v;
    else if (OPT("--lr-schedule")) a->schedule = v;
    else if (OPT("--input")) { if (r > 0 && cli_inputs_add(&a->in, v, "distill", err) != CLI_OK) return -1; }
    else if (OPT("--val")) { if (r > 0 && cli_inputs_add(&a->val, v, "distill", err) != CLI_OK) return -1; }
    else if (OPT("--alpha")) { if (r > 0 && num_opt(v, "--alpha", 0, &a->o.alpha, err)) return -1; a->alpha_set = 1; }
    else if (OPT("--beta")) { if (r > 0 && num_opt(v, "--beta", 0, &a->o.beta, err)) return -1; a->beta_set = 1; }
    else if (OPT("--temperature")) { if (r > 0 && num_opt(v, "--temperature", 1e-3, &a->o.temperature, err)) return -1; }
    else if (OPT("--lr")) { if (r > 0 && num_opt(v, "--lr", 0, &a->o.optim.lr, err)) return -1; }
    else if (OPT("--momentum")) { if (r > 0 && num_opt(v, "--momentum", 0, &a->o.optim.momentum, err)) return -1; }
    else if (OPT("--weight-decay")) { if (r > 0 && num_opt(v, "--weight-decay", 0, &a->o.optim.weight_decay, err)) return -1; }
    else if (OPT("--epochs")) {
        if (r > 0 && cli_parse_i64(v, 0, 1000000, "--epochs", "distill", &n, err) != CLI_OK) return -1;
        a->o.epochs = n;
    } else if (OPT("--batch")) {
        if (r > 0 && cli_parse_i64(v, 1, 1 << 20, "--batch", "distill", &n, err) != CLI_OK) return -1;
        a->o.batch = n;
    } else if (OPT("--group")) {
        if (r > 0 && cli_parse_i64(v, 0, 1 << 20, "--group", "distill", &n, err) != CLI_OK) return -1;
        a->o.qat_group = n;
    } else if (OPT("--threads")) {
        if (r > 0 && cli_parse_i64(v, 1, 1024, "--threads", "distill", &n, err) != CLI_OK) return -1;
        a->threads = n;
    } else if (OPT("--freeze")) {
        int cap = (int)(sizeof a->frozen / sizeof a->frozen[0]);
        if (r > 0 && a->n_frozen == cap) return cli_usage_error(err, "distill", "more than %d --freeze names", cap);
        if (r > 0) a->frozen[a->n_frozen++] = v;
    } else if (OPT("--seed")) {
        if (r > 0 && cli_parse_i64(v, 0, INT64_MAX, "--seed", "distill", &n, err) != CLI_OK) return -1;
        a->o.seed = (uint64_t)n;
    }
#undef OPT
    (void)x;
    return r;
}

/* Checks the combination and fills the loss, optimizer and QAT fields of a->o. */
static int args_check(DistillArgs *a, RtError *err) {
    if (!a->student) return cli_usage_error(err, "distill", "missing --student S.onnx");
    if (!a->out) return cli_usage_error(err, "distill", "missing -o OUT");
    if (a->in.n == 0) return cli_usage_error(err, "distill", "missing --input NAME=X.npy");
    const char *loss = a->loss ? a->loss : a->labels ? "ce+kl" : "kl";
    int ce = strncmp(loss, "ce", 2) == 0;
    if (strcmp(loss, "ce") == 0) a->o.teacher_loss = DISTILL_TEACHER_NONE;
    else if (strcmp(loss, "mse") == 0 || strcmp(loss, "ce+mse") == 0) a->o.teacher_loss = DISTILL_TEACHER_MSE;
    else if (strcmp(loss, "kl") == 0 || strcmp(loss, "ce+kl") == 0) a->o.teacher_loss = DISTILL_TEACHER_KL;
    else return cli_usage_error(err, "distill", "--loss is ce, mse, kl, ce+mse or ce+kl, got '%s'", loss);
    int teacher_term = a->o.teacher_loss != DISTILL_TEACHER_NONE;
    if (!a->alpha_set) a->o.alpha = !ce ? 0 : teacher_term ? 0.5 : 1.0;
    if (!a->beta_set) a->o.beta = !teacher_term ? 0 : ce ? 0.5 : 1.0;
    if (!ce) a->o.alpha = 0;
    if (ce && !a->labels) return cli_usage_error(err, "distill", "--loss %s needs --labels Y.npy", loss);
    if (teacher_term && !a->teacher) return cli_usage_error(err, "distill", "--loss %s needs --teacher MODEL", loss);
    if (a->optimizer && strcmp(a->optimizer, "adam") != 0 && strcmp(a->optimizer, "sgd") != 0)
        return cli_usage_error(err, "distill", "--optimizer is adam or sgd, got '%s'", a->optimizer);
    a->o.optim.kind = a->optimizer && strcmp(a->optimizer, "sgd") == 0 ? TRAIN_OPT_SGD : TRAIN_OPT_ADAM;
    if (a->schedule && strcmp(a->schedule, "constant") != 0 && strcmp(a->schedule, "cosine") != 0)
        return cli_usage_error(err, "distill", "--lr-schedule is constant or cosine, got '%s'", a->schedule);
    a->o.lr_kind = a->schedule && strcmp(a->schedule, "cosine") == 0 ? TRAIN_LR_COSINE : TRAIN_LR_CONSTANT;
    if (a->qat && strcmp(a->qat, "int8") != 0 && strcmp(a->qat, "int4") != 0)
        return cli_usage_error(err, "distill", "--qat is int8 or int4, got '%s'", a->qat);
    a->o.qat = !a->qat ? TRAIN_QAT_NONE : strcmp(a->qat, "int8") == 0 ? TRAIN_QAT_INT8 : TRAIN_QAT_INT4;
    if (a->o.qat_group && a->o.qat != TRAIN_QAT_INT4)
        return cli_usage_error(err, "distill", "--group is for --qat int4");
    if (a->onnx_out && !a->qat) return cli_usage_error(err, "distill", "--onnx-out goes with --qat (without it -o is the ONNX file)");
    if ((a->val.n > 0) != (a->val_labels != NULL))
        return cli_usage_error(err, "distill", "--val and --val-labels go together");
    return CLI_OK;
}

static int args_parse(int argc, char **argv, DistillArgs *a, RtError *err) {
    for (int i = 1; i < argc; i++) {
        int r = arg_one(a, argc, argv, &i, err);
        if (r < 0) return CLI_BAD_INPUT;
        if (r == 0) return cli_usage_error(err, "distill", "unknown argument '%s'", argv[i]);
    }
    return args_check(a, err);
}

/* Labels as int64 (int32 / int64 / uint8 files accepted), one per row. */
static int labels_read(const char *path, int64_t rows, int64_t **y, RtError *err) {
    RtTensor t;
    if (npy_read(path, &t, err) != RT_OK) return CLI_BAD_INPUT;
    int64_t n = rt_numel(&t);
    int ok = t.rank == 1 && n == rows && (t.dtype == RT_I64 || t.dtype == RT_I32 || t.dtype == RT_U8);
    *y = ok ? malloc(sizeof(int64_t) * (size_t)(n + 1)) : NULL;
    if (!ok) {
        free(t.data);
        return rt_error_set(err, "%s: labels must be a 1-D integer array of %lld rows (one per input row)", path,
                            (long long)rows),
               CLI_BAD_INPUT;
    }
    for (int64_t i = 0; *y && i < n; i++)
        (*y)[i] = t.dtype == RT_I64 ? ((int64_t *)t.data)[i] : t.dtype == RT_I32 ? ((int32_t *)t.data)[i] : ((uint8_t *)t.data)[i];
    free(t.data);
    return *y ? CLI_OK : (rt_error_set(err, "out of memory"), CLI_BAD_INPUT);
}

/* ---- the teacher: a graph run batch by batch ---- */
typedef struct {
    const IrGraph *g;         /* borrowed */
    const char *path;
    int map[RT_MAX_RANK];     /* teacher input i <- student input map[i] */
    int64_t fixed;            /* the teacher's fixed batch (run in chunks of it), or 0 */
} Teacher;

static int teacher_bind(Teacher *t, const IrGraph *student, RtError *err) {
    const IrGraph *g = t->g;
    if (g->n_inputs > RT_MAX_RANK || g->n_outputs < 1)
        return rt_error_set(err, "%s: the teacher needs 1..%d inputs and an output", t->path, RT_MAX_RANK), CLI_BAD_INPUT;
    for (int i = 0; i < g->n_inputs; i++) {
        t->map[i] = -1;
        for (int j = 0; j < student->n_inputs; j++)
            if (strcmp(g->values[g->inputs[i]].name, student->values[student->inputs[j]].name) == 0) t->map[i] = j;
        if (t->map[i] < 0 && g->n_inputs == 1 && student->n_inputs == 1) t->map[i] = 0; /* one input each: by position */
        if (t->map[i] < 0)
            return rt_error_set(err, "%s: teacher input '%s' matches no student input", t->path,
                                g->values[g->inputs[i]].name),
                   CLI_BAD_INPUT;
    }
    return CLI_OK;
}

/* Logits of `rows` rows (each teacher input already a view of them) into out[rows * C]. */
static int teacher_chunk(Teacher *t, const RtTensor *in, int64_t rows, int64_t C, float *out, RtError *err) {
    RtTensor res[16];
    if (t->g->n_outputs > 16) return rt_error_set(err, "%s: too many outputs", t->path);
    if (ir_run(t->g, in, res, err) != RT_OK) return cli_error_name_file(err, t->path), RT_ERR;
    int64_t run = in[0].dims[0];
    int ok = res[0].dtype == RT_F32 && res[0].rank == 2 && res[0].dims[0] == run && res[0].dims[1] == C;
    if (ok) memcpy(out, res[0].data, sizeof(float) * (size_t)(rows * C));
    for (int o = 0; o < t->g->n_outputs; o++) free(res[o].data);
    if (!ok) return rt_error_set(err, "%s: the teacher's first output must be float32 [%lld, %lld] logits like the student's",
                                 t->path, (long long)run, (long long)C);
    return RT_OK;
}

/* A teacher exported with a fixed batch runs in chunks of it, the last one padded. */
static int teacher_run(void *user, const RtTensor *inputs, int n_in, int64_t rows, int64_t C, float *out,
                       RtError *err) {
    Teacher *t = user;
    RtTensor x[RT_MAX_RANK], in[RT_MAX_RANK];
    void *pad[RT_MAX_RANK] = {0};
    (void)n_in;
    for (int i = 0; i < t->g->n_inputs; i++) x[i] = inputs[t->map[i]];
    int64_t step = t->fixed ? t->fixed : rows;
    int rc = RT_OK;
    for (int64_t s = 0; rc == RT_OK && s < rows; s += step) {
        int64_t n = rows - s < step ? rows - s : step;
        rc = distill_rows_view(x, t->g->n_inputs, s, n, t->fixed ? t->fixed : n, in, pad, err);
        if (rc == RT_OK) rc = teacher_chunk(t, in, n, C, out + s * C, err);
    }
    for (int i = 0; i < t->g->n_inputs; i++) free(pad[i]);
    return rc;
}

/* What is trained, before the first epoch: users see at once when a buffer is among it. */
static void start_print(void *user, const TrainModel *m) {
    (void)user;
    int64_t weights = 0;
    for (int i = 0; i < m->n_params; i++) weights += m->p[i].n;
    fprintf(stderr, "training %d initializers (%lld weights)", m->n_params, (long long)weights);
    for (int i = 0; i < m->n_params && i < 8; i++)
        fprintf(stderr, "%s%s", i ? ", " : ": ", m->g->values[m->p[i].value].name);
    fprintf(stderr, "%s\n", m->n_params > 8 ? ", ..." : "");
}

static void epoch_print(void *user, const DistillEpoch *e) {
    (void)user;
    fprintf(stderr, "epoch %lld/%lld: loss %.4f", (long long)e->epoch, (long long)e->epochs, e->loss);
    if (!isnan(e->agreement)) fprintf(stderr, ", teacher agreement %.4f", e->agreement);
    if (!isnan(e->train_accuracy)) fprintf(stderr, ", train accuracy %.4f", e->train_accuracy);
    if (!isnan(e->val_accuracy)) fprintf(stderr, ", val accuracy %.4f", e->val_accuracy);
    fprintf(stderr, ", lr %.3g (%.2f s)\n", e->lr, e->seconds);
}

/* Path of the file given for student input i (for messages). */
static const char *input_path(const IrGraph *g, const CliInputs *s, int i) {
    for (int k = 0; k < s->n; k++)
        if (strcmp(s->v[k].name, g->values[g->inputs[i]].name) == 0) return s->v[k].path;
    return "?";
}

/* The inputs in the student's order, rows on axis 0, each keeping its .npy dtype (float32
 * data, int64 token ids, bool masks: cli_inputs_match checks it against the student's declared
 * one) and shape. */
static int inputs_order(const IrGraph *g, CliInputs *s, RtTensor *x, RtError *err) {
    if (cli_inputs_read(s, err) != CLI_OK) return CLI_BAD_INPUT;
    if (cli_inputs_match(g, s, 1, x, err) != CLI_OK) return CLI_BAD_INPUT;
    for (int i = 0; i < g->n_inputs; i++) {
        if (x[i].rank < 1 || rt_dtype_size(x[i].dtype) == 0)
            return rt_error_set(err, "%s: input '%s' must be rows of numbers (rank >= 1), got %s of rank %d",
                                input_path(g, s, i), g->values[g->inputs[i]].name, rt_dtype_name(x[i].dtype),
                                x[i].rank),
                   CLI_BAD_INPUT;
        if (x[i].dims[0] != x[0].dims[0])
            return rt_error_set(err, "%s: %lld rows, but %s has %lld: every input needs one row per sample",
                                input_path(g, s, i), (long long)x[i].dims[0], input_path(g, s, 0),
                                (long long)x[0].dims[0]),
                   CLI_BAD_INPUT;
    }
    return CLI_OK;
}

/* Calibration rows for a student with a fixed batch B: the quantizer runs whole batches, so
 * each --input whose rows are not a multiple of B is written trimmed to the largest multiple
 * into a temporary file tmp[i] (the empty string when the file is used as it is). */
static int qat_calib_trim(DistillArgs *a, const IrGraph *student, char (*tmp)[4096], RtError *err) {
    int64_t fixed = distill_fixed_batch(student);
    for (int i = 0; i < a->in.n; i++) {
        RtTensor t = a->in.v[i].t;
        tmp[i][0] = '\0';
        if (!fixed || t.dims[0] % fixed == 0) continue;
        t.dims[0] -= t.dims[0] % fixed;
        snprintf(tmp[i], 4096, "%s.calib-XXXXXX", a->out);
        int fd = mkstemp(tmp[i]);
        if (fd < 0) {
            rt_error_set(err, "%s: cannot create a temporary file: %s", tmp[i], strerror(errno));
            tmp[i][0] = '\0';
            return CLI_BAD_INPUT;
        }
        close(fd);
        if (npy_write(tmp[i], &t, err) != RT_OK) return cli_error_name_file(err, tmp[i]), CLI_BAD_INPUT;
    }
    return CLI_OK;
}

/* --qat: the trained float ONNX through the quantize pipeline into OUT.wafer. */
static int qat_write(DistillArgs *a, const IrGraph *student, FILE *out, RtError *err) {
    char tmp[4096], calib[RT_MAX_RANK][4096];
    const char *onnx = a->onnx_out;
    if (!onnx) {
        snprintf(tmp, sizeof tmp, "%s.float-XXXXXX", a->out);
        int fd = mkstemp(tmp);
        if (fd < 0) return rt_error_set(err, "%s: cannot create a temporary file: %s", tmp, strerror(errno)), CLI_BAD_INPUT;
        close(fd);
        onnx = tmp;
    }
    int status = onnx_save_weights(a->student, student, onnx, NULL, err) == RT_OK ? CLI_OK : CLI_BAD_INPUT;
    CliQuant q;
    cli_quant_init(&q);
    q.model = onnx, q.out = a->out;
    q.weights = a->qat;
    q.q.group = a->o.qat_group;
    for (int i = 0; i < a->in.n; i++) calib[i][0] = '\0';
    if (a->o.qat == TRAIN_QAT_INT8) {
        q.activations = "int8";
        if (status == CLI_OK) status = qat_calib_trim(a, student, calib, err);
        for (int i = 0; status == CLI_OK && i < a->in.n; i++) {
            const char *path = calib[i][0] ? calib[i] : a->in.v[i].path;
            char spec[4096];
            snprintf(spec, sizeof spec, "%s=%s", a->in.v[i].name, path);
            /* cli_inputs_add copies the name and borrows the path from spec: point the path
             * back at argv's (or calib's), which outlives q */
            if (cli_inputs_add(&q.calib, spec, "distill", err) != CLI_OK) status = CLI_BAD_INPUT;
            else q.calib.v[q.calib.n - 1].path = path;
        }
    }
    IrGraph *g = NULL;
    if (status == CLI_OK && cli_quant_check(&q, "distill", err) == CLI_OK) g = cli_quant_build(&q, out, err);
    if (status == CLI_OK && !g) status = CLI_BAD_INPUT;
    if (g) {
        char opts[2048], hash[17] = "";
        cli_quant_options_line(&q, opts, sizeof opts);
        char line[2200];
        snprintf(line, sizeof line, "distill qat %s", opts);
        WaferMeta meta = {hash, WAFER_VERSION, line};
        if (wafer_file_hash(onnx, hash, err) != RT_OK || wafer_file_write(g, &meta, a->out, err) != RT_OK) {
            cli_error_name_file(err, a->out);
            status = CLI_BAD_INPUT;
        }
    }
    ir_graph_free(g);
    cli_quant_free(&q);
    if (!a->onnx_out) unlink(tmp);
    for (int i = 0; i < a->in.n; i++)
        if (calib[i][0]) unlink(calib[i]);
    return status;
}

static int distill_main(DistillArgs *a, FILE *out, RtError *err) {
    IrGraph *s = NULL, *t = NULL;
    int64_t *y = NULL, *vy = NULL;
    RtTensor x[RT_MAX_RANK], vx[RT_MAX_RANK];
    int status = CLI_OK;
    OnnxLoadOptions lo = {0};
    if (wafer_file_is(a->student))
        return rt_error_set(err, "%s: the student must be an ONNX file (its initializers are trained)", a->student),
               CLI_BAD_INPUT;
    s = onnx_load_file(a->student, &lo, err);
    if (!s) return cli_error_name_file(err, a->student), CLI_BAD_INPUT;
    if (s->n_inputs > RT_MAX_RANK) status = (rt_error_set(err, "%s: too many inputs", a->student), CLI_BAD_INPUT);
    if (status == CLI_OK) status = inputs_order(s, &a->in, x, err);
    if (status == CLI_OK && a->labels) status = labels_read(a->labels, x[0].dims[0], &y, err);
    if (status == CLI_OK && a->val.n) status = inputs_order(s, &a->val, vx, err);
    if (status == CLI_OK && a->val.n) status = labels_read(a->val_labels, vx[0].dims[0], &vy, err);
    Teacher te = {0};
    if (status == CLI_OK && a->teacher) {
        t = cli_model_load(a->teacher, 0, err);
        te.g = t, te.path = a->teacher;
        status = t ? teacher_bind(&te, s, err) : CLI_BAD_INPUT;
        if (status == CLI_OK) te.fixed = distill_fixed_batch(t);
    }
    int64_t declared = distill_fixed_batch(s);
    if (status == CLI_OK && declared && a->o.batch == 0)
        fprintf(stderr, "%s: input '%s' is declared with a fixed batch of %lld: training at that batch (--batch N "
                        "trains at another if the graph runs at it)\n",
                a->student, s->values[s->inputs[0]].name, (long long)declared);
    if (status == CLI_OK) {
        DistillData d = {x, s->n_inputs, y, a->val.n ? vx : NULL, vy};
        a->o.teacher = t ? teacher_run : NULL, a->o.teacher_user = &te;
        a->o.on_epoch = epoch_print;
        a->o.on_start = start_print;
        a->o.frozen = a->frozen, a->o.n_frozen = a->n_frozen;
        DistillEpoch last;
        if (distill_run(s, &d, &a->o, &last, err) != RT_OK)
            status = (cli_error_name_file(err, a->student), CLI_BAD_INPUT);
    }
    if (status == CLI_OK && !a->qat) {
        int n = 0;
        if (onnx_save_weights(a->student, s, a->out, &n, err) != RT_OK) status = CLI_BAD_INPUT;
        else fprintf(out, "%s: %d trained initializers written (graph of %s unchanged)\n", a->out, n, a->student);
    } else if (status == CLI_OK) {
        status = qat_write(a, s, out, err);
    }
    free(y);
    free(vy);
    ir_graph_free(t);
    ir_graph_free(s);
    return status;
}

int cmd_distill(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(distill_usage, out);
        return CLI_OK;
    }
    DistillArgs a;
    memset(&a, 0, sizeof a);
    a.threads = 1;
    distill_options_default(&a.o);
    a.o.batch = 0; /* unless --batch: 64, or the student's fixed batch */
    int status = args_parse(argc, argv, &a, err);
    struct RtThreadPool *pool = NULL;
    if (status == CLI_OK) status = cli_threads_start(a.threads, "distill", &pool, err);
    if (status == CLI_OK) status = distill_main(&a, out, err);
    cli_threads_stop(pool);
    cli_inputs_free(&a.in);
    cli_inputs_free(&a.val);
    return status;
}
