/*
 * test_distill_loop.c — distill_run (train/distill.c) on a small synthetic task: a linear
 * student (Gemm 4 -> 3) learns a linear teacher from its logits alone; the teacher's logits
 * cached or recomputed per batch (a data set too large to cache) give the same weights bit for
 * bit, with the teacher called once per batch of the set, or once per batch of every epoch;
 * the last, shorter batch is used; bad labels and an empty signal are refused by name.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../train/distill.h"
#include "../ir/ir_test_util.h"

#define ROWS 203 /* not a multiple of the batch: the last batch is shorter */
#define BATCH 16
#define K 4
#define C 3

static RtError err;
static float X[ROWS * K];
static const float TW[C][K] = {{1, -2, 0.5f, 0}, {0, 1, 1, -1}, {-1, 0, 2, 1}};

typedef struct {
    int calls;
    int64_t rows;
} Counter;

/* The teacher: logits = TW x (the student can represent it exactly). */
static int teacher(void *user, const RtTensor *in, int n_in, int64_t rows, int64_t classes, float *out,
                   RtError *e) {
    (void)e;
    cr_assert_eq(n_in, 1);
    cr_assert_eq(classes, C);
    Counter *c = user;
    c->calls++, c->rows += rows;
    const float *x = in[0].data;
    for (int64_t r = 0; r < rows; r++)
        for (int j = 0; j < C; j++) {
            float s = 0;
            for (int k = 0; k < K; k++) s += TW[j][k] * x[r * K + k];
            out[r * C + j] = s;
        }
    return RT_OK;
}

static IrGraph *student(void) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {-1, K}, wd[2] = {C, K}, bd[1] = {C};
    float w[C * K] = {0}, b[C] = {0};
    int in[3] = {tg_input(g, "x", RT_F32, 2, xd, NULL), tg_const_f32(g, "W", 2, wd, w), tg_const_f32(g, "b", 1, bd, b)};
    tg_output(g, tg_node(g, RT_OP_GEMM, "fc", 3, in, "logits"));
    tg_attr_ints(g, "transB", -1, (int64_t[]){1});
    return g;
}

static void data_init(void) {
    uint32_t s = 5;
    for (int i = 0; i < ROWS * K; i++) {
        s = s * 1664525u + 1013904223u;
        X[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* Trains a fresh student; returns its weights (W then b, malloc'd). */
static float *train(int64_t cache_bytes, int epochs, DistillTeacherLoss loss, Counter *c, double *mse) {
    IrGraph *g = student();
    RtTensor x = {RT_F32, 2, {ROWS, K}, X};
    DistillData d = {&x, 1, NULL, NULL, NULL};
    DistillOptions o;
    distill_options_default(&o);
    o.teacher = teacher, o.teacher_user = c, o.teacher_loss = loss, o.beta = 1.0;
    o.epochs = epochs, o.batch = BATCH, o.seed = 11, o.teacher_cache_bytes = cache_bytes;
    o.optim.lr = 0.05;
    DistillEpoch last;
    cr_assert_eq(distill_run(g, &d, &o, &last, &err), RT_OK, "%s", err.msg);
    if (mse) *mse = last.loss;
    float *w = malloc(sizeof(float) * (C * K + C));
    memcpy(w, g->values[ir_value_find(g, "W")].konst->data, sizeof(float) * C * K);
    memcpy(w + C * K, g->values[ir_value_find(g, "b")].konst->data, sizeof(float) * C);
    ir_graph_free(g);
    return w;
}

Test(distill_loop, student_learns_the_teacher_from_logits) {
    data_init();
    Counter c = {0};
    double mse;
    float *w = train(1 << 20, 60, DISTILL_TEACHER_MSE, &c, &mse);
    /* Adam with lr 0.05 on an exactly representable linear map: weights within a few 1e-2 */
    for (int j = 0; j < C; j++)
        for (int k = 0; k < K; k++) cr_assert(fabsf(w[j * K + k] - TW[j][k]) < 0.05f, "W[%d][%d] = %g", j, k, w[j * K + k]);
    cr_assert_lt(mse, 1e-3);
    free(w);
}

Test(distill_loop, teacher_cached_or_per_batch_gives_the_same_weights) {
    data_init();
    Counter cached = {0}, streamed = {0};
    int batches = (ROWS + BATCH - 1) / BATCH, epochs = 4;
    float *a = train(1 << 20, epochs, DISTILL_TEACHER_KL, &cached, NULL);
    float *b = train(0, epochs, DISTILL_TEACHER_KL, &streamed, NULL);
    cr_assert_eq(cached.calls, batches, "cached: the set once, batch by batch");
    cr_assert_eq(cached.rows, ROWS);
    cr_assert_eq(streamed.calls, epochs * batches, "streamed: each batch of each epoch");
    cr_assert_eq(streamed.rows, (int64_t)epochs * ROWS, "every row, the short last batch included");
    cr_assert_eq(memcmp(a, b, sizeof(float) * (C * K + C)), 0, "bit for bit");
    free(a);
    free(b);
}

Test(distill_loop, refuses_bad_labels_and_no_signal) {
    data_init();
    IrGraph *g = student();
    RtTensor x = {RT_F32, 2, {ROWS, K}, X};
    int64_t *y = calloc(ROWS, sizeof *y);
    y[17] = 3; /* three classes: 3 is out of range */
    DistillData d = {&x, 1, y, NULL, NULL};
    DistillOptions o;
    distill_options_default(&o);
    o.teacher_loss = DISTILL_TEACHER_NONE, o.alpha = 1;
    cr_assert_neq(distill_run(g, &d, &o, NULL, &err), RT_OK);
    cr_assert(strstr(err.msg, "label 3 of row 17"), "%s", err.msg);
    d.y = NULL;
    err.msg[0] = '\0';
    cr_assert_neq(distill_run(g, &d, &o, NULL, &err), RT_OK);
    cr_assert(strstr(err.msg, "no teacher and no labels"), "%s", err.msg);
    free(y);
    ir_graph_free(g);
}
