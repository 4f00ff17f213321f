/*
 * test_distill_loop.c — distill_run (train/distill.c) on a small synthetic task: a linear
 * student (Gemm 4 -> 3) learns a linear teacher from its logits alone; the teacher's logits
 * cached or recomputed per batch (a data set too large to cache) give the same weights bit for
 * bit, with the teacher called once per batch of the set, or once per batch of every epoch;
 * the last, shorter batch is used; bad labels and an empty signal are refused by name. A
 * student whose input is int64 ids (Cast to float and an Equal(ids, 0) mask, run as side
 * nodes, feeding a Gemm) learns a teacher that gets the same int64 rows, and is evaluated on
 * int64 held-out rows.
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

/* ---- an int64 input: ids[rows, K] in [0, 4) -> [float(ids), float(ids == 0)] -> Gemm ---- */
#define IDS 4 /* id values 0..3 */
static int64_t IX[ROWS * K], VX[ROWS * K];
static int64_t VY[ROWS];
/* Teacher weights over the 2K features (ids, then the zero mask): exactly representable;
 * not round numbers, so that two classes' logits rarely tie on integer features. */
static const float TW2[C][2 * K] = {{1.13f, -0.87f, 0.41f, 0.07f, 1.91f, -0.23f, 0.17f, -1.03f},
                                    {-0.11f, 0.97f, 0.09f, -0.53f, 0.29f, 1.47f, -0.93f, 0.13f},
                                    {-0.47f, 0.21f, 0.89f, 1.07f, -0.31f, 0.37f, 1.83f, 0.03f}};

typedef struct {
    int calls;
    double first_loss;
} IdsRun;

/* Teacher on int64 rows (by hand, not through the graph): it must receive the ids as given. */
static void ids_logits(const int64_t *x, int64_t rows, float *out) {
    for (int64_t r = 0; r < rows; r++)
        for (int j = 0; j < C; j++) {
            float s = 0;
            for (int k = 0; k < K; k++)
                s += TW2[j][k] * (float)x[r * K + k] + TW2[j][K + k] * (float)(x[r * K + k] == 0);
            out[r * C + j] = s;
        }
}

static int ids_teacher(void *user, const RtTensor *in, int n_in, int64_t rows, int64_t classes, float *out,
                       RtError *e) {
    (void)e;
    cr_assert_eq(n_in, 1);
    cr_assert_eq(classes, C);
    cr_assert_eq(in[0].dtype, RT_I64, "the teacher gets the int64 rows");
    cr_assert(in[0].rank == 2 && in[0].dims[0] == rows && in[0].dims[1] == K);
    ((IdsRun *)user)->calls++;
    ids_logits(in[0].data, rows, out);
    return RT_OK;
}

static void ids_epoch(void *user, const DistillEpoch *e) {
    if (e->epoch == 1) ((IdsRun *)user)->first_loss = e->loss;
}

static IrGraph *ids_student(void) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {-1, K}, wd[2] = {C, 2 * K}, bd[1] = {C}, zero = 0, to = RT_F32, one = 1;
    float w[C * 2 * K] = {0}, b[C] = {0};
    int ids = tg_input(g, "ids", RT_I64, 2, xd, NULL);
    int f = tg_node(g, RT_OP_CAST, "cast_ids", 1, &ids, "ids_f");
    tg_attr_ints(g, "to", -1, &to);
    int eq_in[2] = {ids, tg_const_i64(g, "zero", -1, &zero)};
    int eq = tg_node(g, RT_OP_EQUAL, "is_zero", 2, eq_in, "mask");
    int mf = tg_node(g, RT_OP_CAST, "cast_mask", 1, &eq, "mask_f");
    tg_attr_ints(g, "to", -1, &to);
    int cat_in[2] = {f, mf};
    int h = tg_node(g, RT_OP_CONCAT, "features", 2, cat_in, "h");
    tg_attr_ints(g, "axis", -1, &one);
    int in[3] = {h, tg_const_f32(g, "W", 2, wd, w), tg_const_f32(g, "b", 1, bd, b)};
    tg_output(g, tg_node(g, RT_OP_GEMM, "fc", 3, in, "logits"));
    tg_attr_ints(g, "transB", -1, &one);
    return g;
}

static int64_t argmax(const float *z, int n) {
    int64_t b = 0;
    for (int c = 1; c < n; c++)
        if (z[c] > z[b]) b = c;
    return b;
}

static void ids_init(void) {
    uint32_t s = 9;
    for (int i = 0; i < ROWS * K; i++) {
        s = s * 1664525u + 1013904223u, IX[i] = (s >> 16) % IDS;
        s = s * 1664525u + 1013904223u, VX[i] = (s >> 16) % IDS;
    }
    float z[ROWS * C];
    ids_logits(VX, ROWS, z);
    for (int r = 0; r < ROWS; r++) VY[r] = argmax(z + r * C, C);
}

Test(distill_loop, int64_input_student_learns_through_side_nodes) {
    ids_init();
    IrGraph *g = ids_student();
    RtTensor x = {RT_I64, 2, {ROWS, K}, IX}, vx = {RT_I64, 2, {ROWS, K}, VX};
    DistillData d = {&x, 1, NULL, &vx, VY};
    IdsRun run = {0};
    DistillOptions o;
    distill_options_default(&o);
    o.teacher = ids_teacher, o.teacher_user = &run, o.teacher_loss = DISTILL_TEACHER_MSE, o.beta = 1.0;
    o.on_epoch = ids_epoch, o.user = &run;
    o.epochs = 60, o.batch = BATCH, o.seed = 3, o.optim.lr = 0.05;
    DistillEpoch last;
    cr_assert_eq(distill_run(g, &d, &o, &last, &err), RT_OK, "%s", err.msg);
    cr_assert_gt(run.calls, 0);
    /* From zero weights the first epoch's MSE is of the order of the logits' variance (~2);
     * a linear map the student represents exactly is learned to a small fraction of it. */
    cr_assert_lt(last.loss, 1e-2 * run.first_loss, "loss %g after %g", last.loss, run.first_loss);
    /* held-out int64 rows, labels = the teacher's argmax: near-exact agreement (ties aside) */
    cr_assert_geq(last.val_accuracy, 0.97, "val accuracy %g", last.val_accuracy);
    const float *w = g->values[ir_value_find(g, "W")].konst->data;
    for (int j = 0; j < C; j++)
        for (int k = 0; k < 2 * K; k++)
            cr_assert(fabsf(w[j * 2 * K + k] - TW2[j][k]) < 0.1f, "W[%d][%d] = %g", j, k, w[j * 2 * K + k]);
    ir_graph_free(g);
}

Test(distill_loop, held_out_rows_of_another_dtype_are_refused) {
    ids_init();
    IrGraph *g = ids_student();
    RtTensor x = {RT_I64, 2, {ROWS, K}, IX}, vx = {RT_F32, 2, {ROWS, K}, X};
    DistillData d = {&x, 1, NULL, &vx, VY};
    IdsRun run = {0};
    DistillOptions o;
    distill_options_default(&o);
    o.teacher = ids_teacher, o.teacher_user = &run, o.teacher_loss = DISTILL_TEACHER_MSE;
    cr_assert_neq(distill_run(g, &d, &o, NULL, &err), RT_OK);
    cr_assert(strstr(err.msg, "held-out input 'ids'") && strstr(err.msg, "int64"), "%s", err.msg);
    ir_graph_free(g);
}
