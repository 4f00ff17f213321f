/*
 * test_distill_exported.c — `wafer distill` end to end on students as users bring them:
 *
 * - the digits CNN student as the TorchScript exporter writes x.view(x.size(0), -1) with a
 *   dynamic batch (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Constant nodes;
 *   exported_student.h), distilled from digits_cnn.onnx on train_img (labels + KL), reaches
 *   issue 7's bar for a CNN student on test_img (accuracy >= 0.98, through `wafer eval`);
 * - its written file keeps the exporter's graph and the dynamic batch axis, and runs in
 *   onnxruntime-node with the outputs of `wafer run` on the test set and on batches of other
 *   sizes than training's (7 rows, 1 row; skipped with a message without node or
 *   onnxruntime-node), at opset 17 and in opset 11's form;
 * - a student with an int64 input (token-id-like rows through Cast and an Equal mask) learns
 *   a teacher of the same form from int64 .npy rows, and a float file for it is refused by name;
 * - a student exported with a fixed batch (digits_cnn_dynamo.onnx, batch 4) trains at that
 *   batch, evaluates 7 held-out rows as `wafer eval` does, keeps its batch in the written file
 *   (equal to onnxruntime), and another --batch is refused naming the input; as a teacher it
 *   runs in chunks of 4 and gives digits_cnn's run; with --qat int8 it calibrates on whole
 *   batches of 4 and keeps the accuracy;
 * - a text-style student (int64 ids -> embedding Gather -> ReduceMean over positions -> Gemm)
 *   distills from a generated embedding + GELU (Erf, exporter form) teacher on synthetic ids,
 *   agreement on held-out ids judged against the teacher's logits computed here by hand.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test_util.h"
#include "exported_student.h"
#include "ort_check.h"

#define DIGITS FIXTURES "/digits"

/* onnxruntime and wafer compute the same float32 model with different summation orders and
 * GEMM kernels: logits of magnitude <= ~20 differ by a few ulps (~1e-6); the bound. */
#define ORT_TOL 1e-5
/* Issue 7 point 4: a distilled CNN student within ~1 point of the 0.9933 teacher. Width 8,
 * 20 epochs of ce+kl: 0.990-0.993 over shuffling seeds 0-2 (3 s). */
#define CNN_ACC_BAR 0.98
/* The int64-ids student: after 40 epochs of MSE on an exactly representable teacher, every
 * weight within this of the teacher's (Adam at lr 0.05 leaves a few 1e-3 of jitter). */
#define IDS_W_TOL 0.05f

/* The progress line prints 4 decimals. */
#define PRINT_TOL 5.01e-5
/* digits_cnn_dynamo (0.9933 float) after one epoch of int8 QAT at lr 1e-4 on 203 rows: 0.99 */
#define INT8_FIXED_ACC 0.98

static char dir[256], out[65536];

static void setup(void) { cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_distill_exported"), 0); }
static void teardown(void) { tu_tmpdir_remove(dir); }
TestSuite(distill_exported, .init = setup, .fini = teardown);

/* Writes the width-w exported CNN student (at opset, 0 = 17) and distills it from digits_cnn
 * into dir/cnn.onnx. */
static void cnn_distill(int w, int epochs, int batch, int opset) {
    char s[300], o[300];
    snprintf(s, sizeof s, "%s/cnn_init.onnx", dir);
    snprintf(o, sizeof o, "%s/cnn.onnx", dir);
    RtError err = {{0}};
    cr_assert_eq(exported_cnn_write(s, &(ExportedCnn){w, 1, 0, opset}, &err), RT_OK, "%s", err.msg);
    int rc = tu_run(out, sizeof out,
                    WAFER_BIN " distill --teacher " DIGITS "/digits_cnn.onnx --student %s --input image=" DIGITS
                              "/train_img.npy --labels " DIGITS "/train_y.npy --loss ce+kl --epochs %d --batch %d -o %s",
                    s, epochs, batch, o);
    cr_assert_eq(rc, 0, "%s", out);
}

static int op_count(const IrGraph *g, int op) {
    int c = 0;
    for (int k = 0; k < g->n_nodes; k++) c += g->nodes[k].op == op;
    return c;
}

/* The written student is still the exporter's graph with a dynamic batch axis. */
static void expect_exported_form(const char *path) {
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    const IrValue *in = &g->values[g->inputs[0]], *y = &g->values[g->outputs[0]];
    cr_assert(in->rank == 4 && in->dims[0].value < 0 && in->dims[0].sym && strcmp(in->dims[0].sym, "n") == 0,
              "the input's batch axis stays the dynamic 'n'");
    cr_assert(y->rank == 2 && y->dims[0].value < 0, "the output's batch axis stays dynamic");
    cr_assert_eq(op_count(g, RT_OP_SHAPE), 1);
    cr_assert_eq(op_count(g, RT_OP_RESHAPE), 1);
    cr_assert_eq(op_count(g, RT_OP_FLATTEN), 0);
    ir_graph_free(g);
}

Test(distill_exported, cnn_student_reaches_the_accuracy_bar) {
    if (getenv("WAFER_SANITIZED")) {
        cr_skip_test("20 epochs of the CNN under the sanitizers is slow; the plain pass covers it");
        return;
    }
    cnn_distill(8, 20, 64, 0);
    char json[300];
    snprintf(json, sizeof json, "%s/e.json", dir);
    int rc = tu_run(out, sizeof out, WAFER_BIN " eval %s/cnn.onnx --input image=" DIGITS "/test_img.npy --labels " DIGITS
                                    "/test_y.npy --json %s", dir, json);
    cr_assert_eq(rc, 0, "%s", out);
    double acc = tu_json_number(json, "accuracy");
    cr_assert_geq(acc, CNN_ACC_BAR, "test accuracy %.4f", acc);
}

/* ort_check_logits (ort_check.h) in this suite's folder within ORT_TOL. */
static int ort_compare_inputs(const char *model, const char *ort_inputs, const char *wafer_inputs, int64_t rows,
                              int64_t cols) {
    return ort_check_logits(dir, model, ort_inputs, wafer_inputs, rows, cols, ORT_TOL);
}

/* ort_compare_inputs for one input (NAME=FILE) of digits rows: output [rows, 10]. */
static int ort_compare(const char *model, const char *input, int64_t rows) {
    char w[600];
    snprintf(w, sizeof w, "--input %s", input);
    return ort_compare_inputs(model, input, w, rows, 10);
}

/* The first `rows` rows of the digits fixture `name` (e.g. "test_img") as
 * dir/<name><rows>.npy, into path. */
static const char *fixture_rows(const char *name, int64_t rows, char *path, size_t n) {
    char rel[64];
    snprintf(rel, sizeof rel, "digits/%s.npy", name);
    RtTensor t = tu_fixture_npy(rel);
    cr_assert(t.rank >= 1 && t.dims[0] >= rows);
    t.dims[0] = rows;
    snprintf(path, n, "%s/%s%lld.npy", dir, name, (long long)rows);
    RtError err = {{0}};
    cr_assert_eq(npy_write(path, &t, &err), RT_OK, "%s", err.msg);
    free(t.data);
    return path;
}

/* The first `rows` rows of test_img; returns "image=<that file>". */
static const char *test_rows(int64_t rows, char *spec, size_t n) {
    char p[300];
    fixture_rows("test_img", rows, p, sizeof p);
    snprintf(spec, n, "image=%s", p);
    return spec;
}

/* The distilled student at opset keeps its form and equals onnxruntime at 600, 7 and 1 rows. */
static void ort_any_batch(int opset) {
    cnn_distill(4, 2, 32, opset); /* a few steps change every weight; equality needs no accuracy */
    char o[300], spec[400];
    snprintf(o, sizeof o, "%s/cnn.onnx", dir);
    expect_exported_form(o);
    RtTensor full = tu_fixture_npy("digits/test_img.npy");
    int64_t n = full.dims[0];
    free(full.data);
    if (!ort_compare(o, "image=" DIGITS "/test_img.npy", n)) {
        cr_skip_test("node or onnxruntime-node (bench/node_modules, make bench installs it) is missing: skipped");
        return;
    }
    ort_compare(o, test_rows(7, spec, sizeof spec), 7);
    ort_compare(o, test_rows(1, spec, sizeof spec), 1);
}

Test(distill_exported, written_student_runs_in_onnxruntime_at_any_batch) { ort_any_batch(0); }

/* opset 11, the TorchScript exporter's default for years: Unsqueeze's axes an attribute */
Test(distill_exported, opset11_student_runs_in_onnxruntime_at_any_batch) {
    if (getenv("WAFER_SANITIZED")) {
        cr_skip_test("the opset-17 case covers this path under the sanitizers");
        return;
    }
    ort_any_batch(11);
}

/* ---- int64 inputs through the CLI ---- */
#define IDS_K 4
#define IDS_C 3
#define IDS_ROWS 300
static const float IDS_TW[IDS_C * 2 * IDS_K] = {1.13f, -0.87f, 0.41f, 0.07f,  1.91f,  -0.23f, 0.17f,  -1.03f,
                                                -0.11f, 0.97f, 0.09f, -0.53f, 0.29f,  1.47f,  -0.93f, 0.13f,
                                                -0.47f, 0.21f, 0.89f, 1.07f,  -0.31f, 0.37f,  1.83f,  0.03f};
static const float IDS_TB[IDS_C] = {0.25f, -0.5f, 0.125f};

/* Teacher logits computed by hand (not through any graph). */
static float ids_logit(const int64_t *x, int j) {
    float s = IDS_TB[j];
    for (int k = 0; k < IDS_K; k++)
        s += IDS_TW[j * 2 * IDS_K + k] * (float)x[k] + IDS_TW[j * 2 * IDS_K + IDS_K + k] * (float)(x[k] == 0);
    return s;
}

/* Writes the teacher, the zero student and the int64 rows (ids in [0, 4)) into dir. */
static void ids_files(int64_t *x) {
    char p[300];
    RtError err = {{0}};
    snprintf(p, sizeof p, "%s/ids_teacher.onnx", dir);
    cr_assert_eq(ids_model_write(p, IDS_K, IDS_C, IDS_TW, IDS_TB, &err), RT_OK, "%s", err.msg);
    snprintf(p, sizeof p, "%s/ids_student.onnx", dir);
    cr_assert_eq(ids_model_write(p, IDS_K, IDS_C, NULL, NULL, &err), RT_OK, "%s", err.msg);
    uint32_t s = 21;
    for (int i = 0; i < IDS_ROWS * IDS_K; i++) s = s * 1664525u + 1013904223u, x[i] = (s >> 16) % 4;
    RtTensor t = {RT_I64, 2, {IDS_ROWS, IDS_K}, x};
    snprintf(p, sizeof p, "%s/ids.npy", dir);
    cr_assert_eq(npy_write(p, &t, &err), RT_OK, "%s", err.msg);
}

static double loss_of_epoch(const char *text, int e) {
    char key[64];
    snprintf(key, sizeof key, "epoch %d/", e);
    const char *p = strstr(text, key);
    cr_assert_not_null(p, "no '%s' in: %s", key, text);
    p = strstr(p, "loss ");
    cr_assert_not_null(p);
    return strtod(p + 5, NULL);
}

Test(distill_exported, int64_input_student_learns_through_the_cli) {
    static int64_t x[IDS_ROWS * IDS_K];
    ids_files(x);
    int rc = tu_run(out, sizeof out,
                    WAFER_BIN " distill --teacher %s/ids_teacher.onnx --student %s/ids_student.onnx --input ids=%s/ids.npy "
                              "--loss mse --epochs 40 --batch 16 --lr 0.05 -o %s/ids_out.onnx",
                    dir, dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    double first = loss_of_epoch(out, 1), last = loss_of_epoch(out, 40);
    cr_assert_lt(last, 1e-2 * first, "loss %g after %g", last, first);
    /* the written weights are the teacher's */
    char p[300];
    snprintf(p, sizeof p, "%s/ids_out.onnx", dir);
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(p, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    const float *w = g->values[ir_value_find(g, "fc.weight")].konst->data;
    for (int i = 0; i < IDS_C * 2 * IDS_K; i++)
        cr_assert(fabsf(w[i] - IDS_TW[i]) < IDS_W_TOL, "fc.weight[%d] = %g, teacher %g", i, w[i], IDS_TW[i]);
    const float *b = g->values[ir_value_find(g, "fc.bias")].konst->data;
    for (int j = 0; j < IDS_C; j++)
        cr_assert(fabsf(b[j] - IDS_TB[j]) < IDS_W_TOL, "fc.bias[%d] = %g, teacher %g", j, b[j], IDS_TB[j]);
    ir_graph_free(g);
    /* and the file runs on int64 rows with the teacher's logits */
    rc = tu_run(out, sizeof out, WAFER_BIN " run %s --input ids=%s/ids.npy --out %s/r", p, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    snprintf(p, sizeof p, "%s/r/logits.npy", dir);
    RtTensor y;
    cr_assert_eq(npy_read(p, &y, &err), RT_OK, "%s", err.msg);
    cr_assert(y.rank == 2 && y.dims[0] == IDS_ROWS && y.dims[1] == IDS_C);
    float worst = 0;
    for (int r = 0; r < IDS_ROWS; r++)
        for (int j = 0; j < IDS_C; j++) {
            float d = fabsf(((float *)y.data)[r * IDS_C + j] - ids_logit(x + r * IDS_K, j));
            worst = d > worst ? d : worst;
        }
    /* each weight within IDS_W_TOL, features |id| <= 3 and masks <= 1, one bias */
    cr_assert_lt(worst, (3 * IDS_K + IDS_K + 1) * IDS_W_TOL, "largest |student - teacher| logit = %g", worst);
    free(y.data);
}

Test(distill_exported, float_rows_for_an_int64_input_are_refused_by_file) {
    static int64_t x[IDS_ROWS * IDS_K];
    ids_files(x);
    int rc = tu_run(out, sizeof out,
                    WAFER_BIN " distill --teacher %s/ids_teacher.onnx --student %s/ids_student.onnx --input ids=" DIGITS
                              "/train_x.npy --loss mse --epochs 1 -o %s/bad.onnx",
                    dir, dir, dir);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "train_x.npy") && strstr(out, "int64") && strstr(out, "float32"), "%s", out);
    char p[300];
    snprintf(p, sizeof p, "%s/bad.onnx", dir);
    cr_assert(access(p, F_OK) != 0, "no output file on bad input");
}

/* ---- a text-style student: int64 token ids -> embedding (Gather) -> mean -> Gemm ---- */
#define TX_V 40   /* vocabulary */
#define TX_T 8    /* positions */
#define TX_DT 16  /* teacher embedding width */
#define TX_H 24   /* teacher hidden width (GELU) */
#define TX_C 4    /* classes */
#define TX_DS 8   /* student embedding width */
#define TX_ROWS 1024
#define TX_VAL 512
/* The student's logits are linear in the bag of ids, the teacher's are not (GELU): held-out
 * agreement plateaus at 0.80-0.83 (30 to 100 epochs, lr 0.01-0.03, T 1 or 4); it starts near
 * 0.6 after one epoch (chance is 0.25). */
#define TX_AGREE_BAR 0.75
#define TX_AGREE_GAIN 0.10
/* the teacher graph in float32 against tx_logits in double: logits of magnitude <= ~5 */
#define TX_TEACHER_TOL 1e-4

typedef struct {
    float emb[TX_V * TX_DT], w1[TX_H * TX_DT], b1[TX_H], w2[TX_C * TX_H], b2[TX_C];
} TextTeacher;

typedef struct {
    int64_t x[TX_ROWS * TX_T], m[TX_ROWS * TX_T];  /* training ids and attention mask */
    int64_t vx[TX_VAL * TX_T], vm[TX_VAL * TX_T];  /* held-out */
    int64_t vy[TX_VAL];                            /* held-out labels: the teacher's argmax */
} TextData;

static float tx_uniform(uint32_t *s, float bound) {
    *s = *s * 1664525u + 1013904223u;
    return bound * ((float)(*s >> 8) / 8388608.0f - 1.0f);
}

/* The teacher's logits for one row, computed here in double (an independent reference for
 * the generated graph): mean of the embeddings of the positions the mask keeps (all when
 * mask is NULL), Gemm, GELU with erf, Gemm. */
static void tx_logits(const TextTeacher *t, const int64_t *ids, const int64_t *mask, double *z) {
    double m[TX_DT] = {0}, h[TX_H], n = 0;
    for (int p = 0; p < TX_T; p++) {
        if (mask && !mask[p]) continue;
        n += 1;
        for (int d = 0; d < TX_DT; d++) m[d] += t->emb[ids[p] * TX_DT + d];
    }
    for (int j = 0; j < TX_H; j++) {
        double s = t->b1[j];
        for (int d = 0; d < TX_DT; d++) s += t->w1[j * TX_DT + d] * m[d] / n;
        h[j] = s * 0.5 * (1 + erf(s / sqrt(2.0)));
    }
    for (int c = 0; c < TX_C; c++) {
        z[c] = t->b2[c];
        for (int j = 0; j < TX_H; j++) z[c] += t->w2[c * TX_H + j] * h[j];
    }
}

static int64_t tx_argmax(const double *z) {
    int64_t b = 0;
    for (int c = 1; c < TX_C; c++)
        if (z[c] > z[b]) b = c;
    return b;
}

/* Rows of ids in [1, V); masked: each row keeps a random length in [1, T], the rest padding
 * (id 0, mask 0). */
static void tx_rows(uint32_t *s, int masked, int64_t *x, int64_t *m, int rows) {
    for (int r = 0; r < rows; r++) {
        *s = *s * 1664525u + 1013904223u;
        int len = masked ? 1 + (int)((*s >> 12) % TX_T) : TX_T;
        for (int p = 0; p < TX_T; p++) {
            *s = *s * 1664525u + 1013904223u;
            x[r * TX_T + p] = p < len ? 1 + (*s >> 12) % (TX_V - 1) : 0;
            m[r * TX_T + p] = p < len;
        }
    }
}

static void tx_npy(const char *name, const int64_t *v, int rank, int64_t rows) {
    char p[300];
    RtError err = {{0}};
    RtTensor t = {RT_I64, rank, {rows, TX_T}, (void *)v};
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cr_assert_eq(npy_write(p, &t, &err), RT_OK, "%s", err.msg);
}

/* Writes text_teacher.onnx, text_student.onnx, the ids (and masks) and the held-out labels
 * (the teacher's argmax by tx_logits) into dir. */
static void tx_files(TextTeacher *t, TextData *d, int masked) {
    uint32_t s = 7;
    for (int i = 0; i < TX_V * TX_DT; i++) t->emb[i] = tx_uniform(&s, 2.0f);
    for (int i = 0; i < TX_H * TX_DT; i++) t->w1[i] = tx_uniform(&s, 1.0f);
    for (int i = 0; i < TX_H; i++) t->b1[i] = tx_uniform(&s, 0.5f);
    for (int i = 0; i < TX_C * TX_H; i++) t->w2[i] = tx_uniform(&s, 1.0f);
    for (int i = 0; i < TX_C; i++) t->b2[i] = tx_uniform(&s, 0.5f);
    char p[300];
    RtError err = {{0}};
    TextSpec ts = {TX_V, TX_T, TX_DT, TX_H, TX_C, masked, t->emb, t->w1, t->b1, t->w2, t->b2};
    snprintf(p, sizeof p, "%s/text_teacher.onnx", dir);
    cr_assert_eq(text_model_write(p, &ts, &err), RT_OK, "%s", err.msg);
    snprintf(p, sizeof p, "%s/text_student.onnx", dir);
    cr_assert_eq(text_student_write(p, TX_V, TX_T, TX_DS, TX_C, masked, 3, &err), RT_OK, "%s", err.msg);
    tx_rows(&s, masked, d->x, d->m, TX_ROWS);
    tx_rows(&s, masked, d->vx, d->vm, TX_VAL);
    for (int r = 0; r < TX_VAL; r++) {
        double z[TX_C];
        tx_logits(t, d->vx + r * TX_T, masked ? d->vm + r * TX_T : NULL, z);
        d->vy[r] = tx_argmax(z);
    }
    tx_npy("text_train.npy", d->x, 2, TX_ROWS);
    tx_npy("text_train_mask.npy", d->m, 2, TX_ROWS);
    tx_npy("text_val.npy", d->vx, 2, TX_VAL);
    tx_npy("text_val_mask.npy", d->vm, 2, TX_VAL);
    tx_npy("text_val_y.npy", d->vy, 1, TX_VAL);
}

static double val_accuracy_of_epoch(const char *text, int e) {
    char key[64];
    snprintf(key, sizeof key, "epoch %d/", e);
    const char *p = strstr(text, key);
    cr_assert_not_null(p, "no '%s' in: %s", key, text);
    p = strstr(p, "val accuracy ");
    cr_assert_not_null(p);
    return strtod(p + strlen("val accuracy "), NULL);
}

/* The generated teacher file computes tx_logits: `wafer run` on the held-out rows. */
static void tx_teacher_check(const TextTeacher *t, const TextData *d, int masked, const char *val_in) {
    int rc = tu_run(out, sizeof out, WAFER_BIN " run %s/text_teacher.onnx %s --out %s/tr", dir, val_in, dir);
    cr_assert_eq(rc, 0, "%s", out);
    char p[300];
    snprintf(p, sizeof p, "%s/tr/logits.npy", dir);
    RtTensor y;
    RtError err = {{0}};
    cr_assert_eq(npy_read(p, &y, &err), RT_OK, "%s", err.msg);
    cr_assert(y.rank == 2 && y.dims[0] == TX_VAL && y.dims[1] == TX_C);
    double worst = 0;
    for (int r = 0; r < TX_VAL; r++) {
        double z[TX_C];
        tx_logits(t, d->vx + r * TX_T, masked ? d->vm + r * TX_T : NULL, z);
        for (int c = 0; c < TX_C; c++) worst = fmax(worst, fabs(((float *)y.data)[r * TX_C + c] - z[c]));
    }
    cr_assert_leq(worst, TX_TEACHER_TOL, "largest |graph - reference| teacher logit = %g", worst);
    free(y.data);
}

/* Distills the text student (masked or not) from its teacher and checks what it learned. */
static void tx_distill(int masked) {
    static TextTeacher t;
    static TextData d;
    tx_files(&t, &d, masked);
    char tin[600], vin[600];
    snprintf(tin, sizeof tin, "--input input_ids=%s/text_train.npy", dir);
    snprintf(vin, sizeof vin, "--input input_ids=%s/text_val.npy", dir);
    if (masked) {
        size_t n = strlen(tin), k = strlen(vin);
        snprintf(tin + n, sizeof tin - n, " --input attention_mask=%s/text_train_mask.npy", dir);
        snprintf(vin + k, sizeof vin - k, " --input attention_mask=%s/text_val_mask.npy", dir);
    }
    tx_teacher_check(&t, &d, masked, vin);
    char vals[600]; /* --val takes the held-out files as --input does */
    snprintf(vals, sizeof vals, "--val input_ids=%s/text_val.npy", dir);
    if (masked) {
        size_t n = strlen(vals);
        snprintf(vals + n, sizeof vals - n, " --val attention_mask=%s/text_val_mask.npy", dir);
    }
    int rc = tu_run(out, sizeof out,
                    WAFER_BIN " distill --teacher %s/text_teacher.onnx --student %s/text_student.onnx %s %s"
                              " --val-labels %s/text_val_y.npy --loss kl --epochs 30 --lr 0.01 -o %s/text_out.onnx",
                    dir, dir, tin, vals, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    double first = val_accuracy_of_epoch(out, 1), last = val_accuracy_of_epoch(out, 30);
    cr_log_info("text student%s: held-out agreement with the teacher %.4f after 1 epoch, %.4f after 30",
                masked ? " (masked mean)" : "", first, last);
    cr_assert_geq(last, TX_AGREE_BAR, "%s", out);
    cr_assert_geq(last - first, TX_AGREE_GAIN, "%s", out);
    /* the written file holds the trained embedding: it evaluates as the last epoch did */
    char json[300];
    snprintf(json, sizeof json, "%s/te.json", dir);
    rc = tu_run(out, sizeof out, WAFER_BIN " eval %s/text_out.onnx %s --labels %s/text_val_y.npy --json %s", dir, vin,
                dir, json);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_float_eq(tu_json_number(json, "accuracy"), last, PRINT_TOL);
    /* and onnxruntime runs it, int64 ids (and bool-free int64 mask) fed as they are */
    char ortin[600], model[300];
    snprintf(ortin, sizeof ortin, "input_ids=%s/text_val.npy", dir);
    if (masked) {
        size_t n = strlen(ortin);
        snprintf(ortin + n, sizeof ortin - n, " attention_mask=%s/text_val_mask.npy", dir);
    }
    snprintf(model, sizeof model, "%s/text_out.onnx", dir);
    if (!ort_compare_inputs(model, ortin, vin, TX_VAL, TX_C))
        cr_log_warn("onnxruntime-node is not installed: the text student was not run in it");
}

Test(distill_exported, text_student_learns_an_embedding_teacher) { tx_distill(0); }

Test(distill_exported, masked_mean_text_student_with_two_int64_inputs) { tx_distill(1); }

/* ---- a fixed batch: the dynamo exporter's default (digits_cnn_dynamo.onnx: [4,1,8,8], its
 * Reshape to a constant [4, 1024]) ---- */

Test(distill_exported, fixed_batch_student_trains_at_its_batch) {
    char spec[400], y7[300], x203[300], y203[300], o[300], json[300];
    test_rows(7, spec, sizeof spec); /* 7 held-out rows: the last batch of 4 is padded */
    fixture_rows("test_y", 7, y7, sizeof y7);
    fixture_rows("train_img", 203, x203, sizeof x203); /* 50 batches of 4, 3 rows left out */
    fixture_rows("train_y", 203, y203, sizeof y203);
    snprintf(o, sizeof o, "%s/dyn.onnx", dir);
    int rc = tu_run(out, sizeof out,
                    WAFER_BIN " distill --teacher " DIGITS "/digits_cnn.onnx --student " DIGITS "/digits_cnn_dynamo.onnx"
                              " --input image=%s --labels %s --val %s --val-labels %s --epochs 1 --lr 1e-4 -o %s",
                    x203, y203, spec, y7, o);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "declared with a fixed batch of 4: training at that batch"), "told: %s", out);
    double seen = val_accuracy_of_epoch(out, 1);
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(o, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_assert_eq(g->values[g->inputs[0]].dims[0].value, 4, "the written file keeps its fixed batch");
    ir_graph_free(g);
    snprintf(json, sizeof json, "%s/d.json", dir);
    rc = tu_run(out, sizeof out, WAFER_BIN " eval %s --input %s --labels %s --json %s", o, spec, y7, json);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_float_eq(tu_json_number(json, "accuracy"), seen, PRINT_TOL, "7 rows counted, not the padding");
    ort_compare(o, test_rows(4, spec, sizeof spec), 4);
    /* another batch is refused, naming the input and the batch to use */
    rc = tu_run(out, sizeof out,
                WAFER_BIN " distill --teacher " DIGITS "/digits_cnn.onnx --student " DIGITS "/digits_cnn_dynamo.onnx"
                          " --input image=" DIGITS "/train_img.npy --labels " DIGITS "/train_y.npy --batch 64 -o %s/bad.onnx",
                dir);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "digits_cnn_dynamo.onnx") && strstr(out, "'image'") && strstr(out, "fixed batch of 4") &&
                  strstr(out, "--batch 4"),
              "%s", out);
}

Test(distill_exported, fixed_batch_student_quantization_aware) {
    /* int8 QAT calibrates on the training rows in whole batches of 4: 200 of the 203 */
    char o[300], json[300], x203[300], y203[300];
    fixture_rows("train_img", 203, x203, sizeof x203);
    fixture_rows("train_y", 203, y203, sizeof y203);
    snprintf(o, sizeof o, "%s/dyn.wafer", dir);
    int rc = tu_run(out, sizeof out,
                    WAFER_BIN " distill --teacher " DIGITS "/digits_cnn.onnx --student " DIGITS "/digits_cnn_dynamo.onnx"
                              " --input image=%s --labels %s --epochs 1 --lr 1e-4 --qat int8 -o %s",
                    x203, y203, o);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "(200 rows)"), "%s", out);
    snprintf(json, sizeof json, "%s/q.json", dir);
    rc = tu_run(out, sizeof out, WAFER_BIN " eval %s --input image=" DIGITS "/test_img.npy --labels " DIGITS
                                "/test_y.npy --json %s", o, json);
    cr_assert_eq(rc, 0, "%s", out);
    double acc = tu_json_number(json, "accuracy");
    cr_assert_geq(acc, INT8_FIXED_ACC, "int8 accuracy %.4f", acc);
    /* no temporary calibration file is left beside the output */
    rc = tu_run(out, sizeof out, "ls %s", dir);
    cr_assert(!strstr(out, "calib-"), "%s", out);
}

Test(distill_exported, declared_batch_of_a_batch_agnostic_student_can_be_overridden) {
    /* an export without dynamic axes declares its example's batch of 1, though the view chain
     * runs at any batch: --batch 32 is taken (probed), the file keeps its declaration */
    char s[300], o[300];
    snprintf(s, sizeof s, "%s/one.onnx", dir);
    snprintf(o, sizeof o, "%s/one_out.onnx", dir);
    RtError err = {{0}};
    cr_assert_eq(exported_cnn_write(s, &(ExportedCnn){4, 1, 1, 0}, &err), RT_OK, "%s", err.msg);
    int rc = tu_run(out, sizeof out,
                    WAFER_BIN " distill --teacher " DIGITS "/digits_cnn.onnx --student %s --input image=" DIGITS
                              "/train_img.npy --labels " DIGITS "/train_y.npy --val image=" DIGITS "/test_img.npy"
                              " --val-labels " DIGITS "/test_y.npy --batch 32 --epochs 2 -o %s",
                    s, o);
    cr_assert_eq(rc, 0, "%s", out);
    IrGraph *g = onnx_load_file(o, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_assert_eq(g->values[g->inputs[0]].dims[0].value, 1);
    ir_graph_free(g);
    /* evaluation ran at the declared batch: wafer eval (batch 1, fixed by the model) agrees */
    char json[300];
    snprintf(json, sizeof json, "%s/o.json", dir);
    double seen = val_accuracy_of_epoch(out, 2);
    rc = tu_run(out, sizeof out, WAFER_BIN " eval %s --input image=" DIGITS "/test_img.npy --labels " DIGITS
                                "/test_y.npy --json %s", o, json);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_float_eq(tu_json_number(json, "accuracy"), seen, PRINT_TOL);
}

/* The last "loss X" of a distill run's progress. */
static double last_loss(const char *text) {
    const char *p = NULL, *q = text;
    while ((q = strstr(q, ": loss ")) != NULL) p = q++;
    cr_assert_not_null(p, "no loss in: %s", text);
    return strtod(p + strlen(": loss "), NULL);
}

Test(distill_exported, fixed_batch_teacher_runs_in_chunks) {
    /* digits_cnn_dynamo is digits_cnn with BatchNorm folded and a fixed batch of 4: as the
     * teacher (run in chunks of 4 of each batch of 64, the last batch's 11 rows padded to 12)
     * it gives the same run */
    char s[300], x203[300], y203[300];
    fixture_rows("train_img", 203, x203, sizeof x203);
    fixture_rows("train_y", 203, y203, sizeof y203);
    snprintf(s, sizeof s, "%s/cnn_init.onnx", dir);
    RtError err = {{0}};
    cr_assert_eq(exported_cnn_write(s, &(ExportedCnn){4, 1, 0, 0}, &err), RT_OK, "%s", err.msg);
    double loss[2];
    const char *teachers[2] = {DIGITS "/digits_cnn.onnx", DIGITS "/digits_cnn_dynamo.onnx"};
    for (int i = 0; i < 2; i++) {
        int rc = tu_run(out, sizeof out,
                        WAFER_BIN " distill --teacher %s --student %s --input image=%s --labels %s --epochs 2 -o %s/t%d.onnx",
                        teachers[i], s, x203, y203, dir, i);
        cr_assert_eq(rc, 0, "%s", out);
        loss[i] = last_loss(out);
    }
    /* the folded teacher's logits differ in the last bits; two epochs of Adam keep the loss to
     * the printed 4 decimals but for a rounding step */
    cr_assert_float_eq(loss[0], loss[1], 1.01e-4, "loss %g with digits_cnn, %g with its fixed-batch export", loss[0], loss[1]);
}
