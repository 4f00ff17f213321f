/*
 * bench_distill.c — distillation speed in-process, and the CNN student file for
 * bench_distill.sh.
 *
 *   bench_distill FIXTURES                  60 epochs of digits_student_init from digits_mlp
 *                                           (CE + T^2 KL, Adam 1e-3, batch 64, 1,197 rows),
 *                                           3 runs: seconds and samples/s of the median run
 *                                           against the limit of 5 s (MISS if over)
 *   bench_distill --cnn-student OUT.onnx [W] writes the width-W CNN student (default 8) of
 *                                           tests/train/cnn_student.h
 *
 * The teacher's logits are computed once (distill.h caches them) and count in the time, as
 * does the held-out evaluation after each epoch; loading files does not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../frontend/onnx.h"
#include "../io/npy.h"
#include "../tests/train/cnn_student.h"
#include "../train/distill.h"

/* OpenBLAS's thread control (its cblas.h folder is not on the include path); one thread, as
 * `wafer distill` runs by default. */
void openblas_set_num_threads(int num_threads);

#define LIMIT_S 5.0
#define RUNS 3

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int teacher_run(void *user, const RtTensor *in, int n_in, int64_t rows, int64_t classes, float *out,
                       RtError *err) {
    (void)n_in;
    RtTensor y;
    if (ir_run(user, in, &y, err) != RT_OK) return RT_ERR;
    memcpy(out, y.data, sizeof(float) * (size_t)(rows * classes));
    free(y.data);
    return RT_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int speed(const char *fx) {
    char p[4][512];
    const char *names[4] = {"digits_student_init.onnx", "digits_mlp.onnx", "train_x.npy", "train_y.npy"};
    for (int i = 0; i < 4; i++) snprintf(p[i], sizeof p[i], "%s/digits/%s", fx, names[i]);
    RtError err = {{0}};
    RtTensor x, y;
    IrGraph *teacher = onnx_load_file(p[1], NULL, &err);
    if (!teacher || npy_read(p[2], &x, &err) != RT_OK || npy_read(p[3], &y, &err) != RT_OK) {
        fprintf(stderr, "bench_distill: %s\n", err.msg);
        return 2;
    }
    double secs[RUNS], acc = 0;
    for (int r = 0; r < RUNS; r++) {
        IrGraph *s = onnx_load_file(p[0], NULL, &err);
        DistillOptions o;
        distill_options_default(&o);
        o.teacher = teacher_run, o.teacher_user = teacher;
        DistillData d = {&x, 1, y.data, NULL, NULL};
        DistillEpoch last;
        double t0 = now_s();
        int rc = s ? distill_run(s, &d, &o, &last, &err) : RT_ERR;
        secs[r] = now_s() - t0;
        acc = last.train_accuracy;
        ir_graph_free(s);
        if (rc != RT_OK) {
            fprintf(stderr, "bench_distill: %s\n", err.msg);
            return 2;
        }
    }
    qsort(secs, RUNS, sizeof secs[0], cmp_double);
    double med = secs[RUNS / 2], samples = 60.0 * (double)x.dims[0];
    printf("distill digits MLP 60 epochs x %lld rows (ce+kl, Adam, batch 64): %.3f s median of %d (min %.3f), "
           "%.0f samples/s, train accuracy %.4f; limit %.1f s: %s\n",
           (long long)x.dims[0], med, RUNS, secs[0], samples / med, acc, LIMIT_S, med < LIMIT_S ? "met" : "MISS");
    free(x.data);
    free(y.data);
    ir_graph_free(teacher);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "--cnn-student") == 0) {
        RtError err = {{0}};
        int w = argc > 3 ? atoi(argv[3]) : 8;
        if (w < 1 || w > 256 || cnn_student_write(argv[2], w, 1, &err) != RT_OK) {
            fprintf(stderr, "bench_distill: %s\n", err.msg[0] ? err.msg : "width must be 1..256");
            return 2;
        }
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: bench_distill FIXTURES | bench_distill --cnn-student OUT.onnx [WIDTH]\n");
        return 2;
    }
    openblas_set_num_threads(1);
    return speed(argv[1]);
}
