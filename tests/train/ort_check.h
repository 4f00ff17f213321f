/*
 * ort_check.h — a distilled student's logits in onnxruntime-node against `wafer run`, for the
 * tests/train suites that check a written student ONNX file runs in any ONNX tool.
 *
 *   ort_check_logits(dir, model, ort_inputs, wafer_inputs, rows, cols, tol)
 *       runs model in onnxruntime-node (tests/train/ort_outputs.js, inputs "NAME=FILE ...")
 *       and in `wafer run` (inputs "--input NAME=FILE ..."), both writing into folder dir;
 *       output 0 must be [rows, cols] in both and agree within tol (absolute). Returns 1 when
 *       compared, 0 when node or onnxruntime-node is missing (the caller skips or notes it).
 */
#ifndef WAFER_ORT_CHECK_H
#define WAFER_ORT_CHECK_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../io/npy.h"
#include "../test_util.h"

static inline int ort_check_logits(const char *dir, const char *model, const char *ort_inputs,
                                   const char *wafer_inputs, int64_t rows, int64_t cols, double tol) {
    static char log[65536];
    if (tu_run(log, sizeof log, "node --version") != 0) return 0;
    int rc = tu_run(log, sizeof log, "node tests/train/ort_outputs.js %s %s %s/ort.npy", model, ort_inputs, dir);
    if (rc == 3) return 0;
    cr_assert_eq(rc, 0, "onnxruntime failed: %s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s %s --out %s/w", model, wafer_inputs, dir);
    cr_assert_eq(rc, 0, "%s", log);
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/ort.npy", dir);
    snprintf(b, sizeof b, "%s/w/logits.npy", dir);
    RtTensor ta, tb;
    RtError err = {{0}};
    cr_assert_eq(npy_read(a, &ta, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(npy_read(b, &tb, &err), RT_OK, "%s", err.msg);
    cr_assert(ta.rank == 2 && ta.dims[0] == rows && ta.dims[1] == cols, "onnxruntime gave [%lld, %lld]",
              (long long)ta.dims[0], (long long)ta.dims[1]);
    cr_assert(tb.rank == 2 && tb.dims[0] == rows && tb.dims[1] == cols, "wafer gave [%lld, %lld]",
              (long long)tb.dims[0], (long long)tb.dims[1]);
    double worst = 0;
    for (int64_t i = 0; i < rt_numel(&ta); i++) {
        double d = fabs((double)((float *)ta.data)[i] - ((float *)tb.data)[i]);
        worst = d > worst ? d : worst;
    }
    cr_assert_leq(worst, tol, "%lld rows: largest |onnxruntime - wafer| = %g", (long long)rows, worst);
    free(ta.data);
    free(tb.data);
    return 1;
}

#endif
