/*
 * test_memory.c — the memory point: calibrating digits_cnn on 20,000 inputs uses no
 * more peak memory than on 200, within 10%.
 *
 * Both calibration files are built from digits/train_img.npy (1,197 images) repeated, in a
 * temporary folder, before anything is measured. Each calibration then runs in its own
 * forked child (a fresh ru_maxrss high-water mark that starts from the same parent state),
 * which loads the model, calibrates every node output with the percentile method (two passes:
 * min/max, then histograms) and sends getrusage's peak RSS back through a pipe.
 * Skipped under the sanitizers: ASan's quarantine keeps freed blocks on purpose, so the peak
 * grows with the number of batches there by design.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../calib/calib.h"
#include "../../frontend/onnx.h"
#include "../../io/npy.h"

#define MODEL FIXTURES "/digits/digits_cnn.onnx"
#define TRAIN FIXTURES "/digits/train_img.npy"
#define ROWS_SMALL 200
#define ROWS_LARGE 20000
#define MAX_GROWTH 1.10  /* the bound: peak(20,000) <= 1.10 x peak(200) */

static char dir[64];

/* Writes `rows` images: train_img's rows repeated, streamed (no buffer of the whole file). */
static void write_repeated(const char *path, const RtTensor *src, int64_t rows) {
    /* A version 1.0 header for the final shape, padded so the data starts at a multiple of 64. */
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld, %lld, %lld), }",
                     (long long)rows, (long long)src->dims[1], (long long)src->dims[2], (long long)src->dims[3]);
    int pad = (64 - (10 + n + 1) % 64) % 64;
    unsigned hlen = (unsigned)(n + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    fwrite(pre, 1, 10, f);
    fwrite(dict, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    size_t row_bytes = (size_t)(rt_nbytes(src) / src->dims[0]);
    for (int64_t r = 0; r < rows; r++)
        cr_assert_eq(fwrite((const char *)src->data + (size_t)(r % src->dims[0]) * row_bytes, 1, row_bytes, f),
                     row_bytes);
    cr_assert_eq(fclose(f), 0);
}

/* Child: calibrate every node output on path; returns peak RSS in KiB, or -1. */
static long child_calibrate(const char *path) {
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(MODEL, NULL, &err);
    if (!g) return -1;
    const char *names[1] = {g->values[g->inputs[0]].name}, *paths[1] = {path};
    CalibDataset *d = calib_dataset_open(1, names, paths, &err);
    int *vals = malloc(sizeof(int) * (size_t)(g->n_nodes + 1));
    CalibRange *r = malloc(sizeof(CalibRange) * (size_t)(g->n_nodes + 1));
    int n = 0;
    for (int k = 0; k < g->n_nodes && vals; k++) vals[n++] = g->nodes[k].out[0];
    CalibOptions o;
    calib_options_default(&o);
    o.method = CALIB_PERCENTILE;
    int rc = d && vals && r ? calib_collect(g, d, vals, n, &o, r, &err) : RT_ERR;
    if (rc != RT_OK) fprintf(stderr, "calibration on %s failed: %s\n", path, err.msg);
    calib_dataset_free(d);
    free(vals);
    free(r);
    ir_graph_free(g);
    if (rc != RT_OK) return -1;
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* Forks, calibrates in the child, returns its peak RSS in KiB. */
static long peak_rss_kib(const char *path) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        long kib = child_calibrate(path);
        ssize_t w = write(fds[1], &kib, sizeof kib);
        _exit(w == (ssize_t)sizeof kib && kib > 0 ? 0 : 1);
    }
    close(fds[1]);
    long kib = -1;
    ssize_t got = read(fds[0], &kib, sizeof kib);
    close(fds[0]);
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && got == (ssize_t)sizeof kib,
              "calibration child for %s failed", path);
    return kib;
}

Test(memory, peak_rss_independent_of_dataset_size, .timeout = 600) {
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("peak RSS is not meaningful under AddressSanitizer (its quarantine keeps freed memory)");
#endif
    if (getenv("WAFER_SANITIZED")) cr_skip_test("sanitizer build");
    snprintf(dir, sizeof dir, "/tmp/wafer_calib_mem_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char small[128], large[128];
    snprintf(small, sizeof small, "%s/calib_200.npy", dir);
    snprintf(large, sizeof large, "%s/calib_20000.npy", dir);
    RtTensor train;
    RtError err = {{0}};
    cr_assert_eq(npy_read(TRAIN, &train, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(train.rank, 4);
    write_repeated(small, &train, ROWS_SMALL);
    write_repeated(large, &train, ROWS_LARGE);
    free(train.data);

    long p_small = peak_rss_kib(small), p_large = peak_rss_kib(large);
    cr_log_info("calibration peak RSS: %ld KiB on %d rows, %ld KiB on %d rows (ratio %.3f)", p_small,
                ROWS_SMALL, p_large, ROWS_LARGE, (double)p_large / (double)p_small);
    printf("calibration peak RSS: %ld KiB on %d rows, %ld KiB on %d rows (ratio %.3f)\n", p_small,
           ROWS_SMALL, p_large, ROWS_LARGE, (double)p_large / (double)p_small);
    cr_expect_leq((double)p_large, MAX_GROWTH * (double)p_small,
                  "peak RSS grew from %ld KiB (%d rows) to %ld KiB (%d rows)", p_small, ROWS_SMALL, p_large,
                  ROWS_LARGE);
    unlink(small);
    unlink(large);
    rmdir(dir);
}
