/*
 * ort_compare.h — one model run by onnxruntime-node and by `wafer run` on the same inputs,
 * every output compared: the outside-world check for ops the ONNX conformance data (ONNX
 * 1.12) does not cover (opsets 18-23, onnxruntime's com.microsoft contrib ops).
 *
 *   ortc_compare(tag, model, len, inputs, n_inputs, &tol)
 *       writes the packed model (e.g. from tests/frontend/onnx_proto_build.h) and the inputs
 *       (.npy) into a fresh /tmp/<tag>_XXXXXX folder, runs it through tests/e2e/ort_eval.js
 *       run and through WAFER_BIN run, and checks every output onnxruntime wrote has wafer's
 *       twin with the same dtype, the same shape and every element within tol. Returns 1 when
 *       compared, 0 when node or onnxruntime-node is missing (the caller skips with a
 *       message); failures are Criterion expectations naming tag, output and element.
 *   ortc_compare_file(tag, path, inputs, n_inputs, &tol)   the same for a model file
 *
 * Tolerances (OrtcTol): a float element passes when |wafer - ort| <= atol + rtol * |ort|
 * (NaN equals NaN, an infinity equals itself); an integer or bool element when
 * |wafer - ort| <= int_diff (0: exact; 1 where the spec leaves the rounding of a
 * requantization to the implementation). Callers name their tolerances with the reason.
 *
 * Tests run from the repository root (the Makefile's test runner does), where
 * tests/e2e/ort_eval.js is.
 */
#ifndef WAFER_ORT_COMPARE_H
#define WAFER_ORT_COMPARE_H

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "test_util.h"

typedef struct {
    const char *name; /* the graph input's name */
    RtTensor t;       /* its value (borrowed) */
} OrtcInput;

typedef struct {
    double atol, rtol; /* float outputs */
    int64_t int_diff;  /* integer and bool outputs */
} OrtcTol;

/* Element i of t as a double (every dtype npy_read gives). */
static inline double ortc__elem(const RtTensor *t, int64_t i) {
    switch (t->dtype) {
    case RT_F32: return ((const float *)t->data)[i];
    case RT_F16: return rt_f16_to_f32(((const uint16_t *)t->data)[i]);
    case RT_F64: return ((const double *)t->data)[i];
    case RT_I8: return ((const int8_t *)t->data)[i];
    case RT_U8: return ((const uint8_t *)t->data)[i];
    case RT_BOOL: return ((const uint8_t *)t->data)[i];
    case RT_I16: return ((const int16_t *)t->data)[i];
    case RT_U16: return ((const uint16_t *)t->data)[i];
    case RT_I32: return ((const int32_t *)t->data)[i];
    case RT_I64: return (double)((const int64_t *)t->data)[i];
    default: cr_assert_fail("ort_compare: dtype %d not compared", (int)t->dtype); return 0;
    }
}

/* Compares dir/ort/<file> (onnxruntime) with dir/w/<file> (wafer). */
static inline void ortc__compare_one(const char *tag, const char *dir, const char *file, const OrtcTol *tol) {
    char po[700], pw[700];
    snprintf(po, sizeof po, "%s/ort/%s", dir, file);
    snprintf(pw, sizeof pw, "%s/w/%s", dir, file);
    RtTensor o, w;
    RtError err = {{0}};
    cr_assert_eq(npy_read(po, &o, &err), RT_OK, "%s: %s", tag, err.msg);
    if (npy_read(pw, &w, &err) != RT_OK) {
        free(o.data);
        cr_assert_fail("%s: onnxruntime wrote output %s, wafer did not: %s", tag, file, err.msg);
    }
    cr_expect_eq(w.dtype, o.dtype, "%s: output %s has dtype %d in wafer, %d in onnxruntime", tag, file, (int)w.dtype,
                 (int)o.dtype);
    int same_shape = w.rank == o.rank;
    for (int d = 0; same_shape && d < o.rank; d++) same_shape = w.dims[d] == o.dims[d];
    cr_expect(same_shape, "%s: output %s has rank %d [%lld, ...] in wafer, rank %d [%lld, ...] in onnxruntime", tag,
              file, w.rank, (long long)(w.rank ? w.dims[0] : 0), o.rank, (long long)(o.rank ? o.dims[0] : 0));
    if (w.dtype == o.dtype && same_shape) {
        int is_float = o.dtype == RT_F32 || o.dtype == RT_F64 || o.dtype == RT_F16;
        int64_t bad = 0, first = -1;
        for (int64_t i = 0; i < rt_numel(&o); i++) {
            double a = ortc__elem(&w, i), b = ortc__elem(&o, i);
            int ok;
            if (is_float)
                ok = (isnan(a) && isnan(b)) || a == b || fabs(a - b) <= tol->atol + tol->rtol * fabs(b);
            else
                ok = fabs(a - b) <= (double)tol->int_diff;
            if (!ok && bad++ == 0) first = i;
        }
        cr_expect_eq(bad, 0, "%s: output %s: %lld of %lld elements differ; first at %lld: wafer %.9g, onnxruntime %.9g",
                     tag, file, (long long)bad, (long long)rt_numel(&o), (long long)first,
                     first >= 0 ? ortc__elem(&w, first) : 0.0, first >= 0 ? ortc__elem(&o, first) : 0.0);
    }
    free(o.data);
    free(w.data);
}

static inline int ortc_compare_file(const char *tag, const char *path, const OrtcInput *in, int n_in,
                                    const OrtcTol *tol) {
    static char log[65536];
    if (tu_run(log, sizeof log, "node --version") != 0) return 0;
    char dir[256];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, tag), 0, "%s: no temporary folder", tag);
    char ort_args[2048] = "", w_args[2048] = "";
    size_t lo = 0, lw = 0;
    for (int i = 0; i < n_in; i++) {
        char f[400];
        snprintf(f, sizeof f, "%s/in%d.npy", dir, i);
        RtError err = {{0}};
        cr_assert_eq(npy_write(f, &in[i].t, &err), RT_OK, "%s: %s", tag, err.msg);
        lo += (size_t)snprintf(ort_args + lo, sizeof ort_args - lo, " '%s=%s'", in[i].name, f);
        lw += (size_t)snprintf(w_args + lw, sizeof w_args - lw, " --input '%s=%s'", in[i].name, f);
        cr_assert(lo < sizeof ort_args && lw < sizeof w_args, "%s: too many inputs", tag);
    }
    int rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run '%s'%s --out %s/ort", path, ort_args, dir);
    if (rc == 3) {
        tu_tmpdir_remove(dir);
        return 0;
    }
    cr_assert_eq(rc, 0, "%s: onnxruntime failed on %s:\n%s", tag, path, log);
    rc = tu_run(log, sizeof log, WAFER_BIN " run '%s'%s --out %s/w", path, w_args, dir);
    cr_assert_eq(rc, 0, "%s: wafer run failed (exit %d) on %s:\n%s", tag, rc, path, log);
    char od[300];
    snprintf(od, sizeof od, "%s/ort", dir);
    DIR *d = opendir(od);
    cr_assert(d, "%s: onnxruntime wrote no outputs", tag);
    int n_out = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".npy") != 0) continue;
        ortc__compare_one(tag, dir, e->d_name, tol);
        n_out++;
    }
    closedir(d);
    cr_expect_gt(n_out, 0, "%s: onnxruntime wrote no outputs", tag);
    tu_tmpdir_remove(dir);
    return 1;
}

static inline int ortc_compare(const char *tag, const uint8_t *model, size_t len, const OrtcInput *in, int n_in,
                               const OrtcTol *tol) {
    char dir[256], path[300];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, tag), 0, "%s: no temporary folder", tag);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(model, 1, len, f) == len && fclose(f) == 0, "%s: writing %s failed", tag, path);
    int r = ortc_compare_file(tag, path, in, n_in, tol);
    tu_tmpdir_remove(dir);
    return r;
}

#endif /* WAFER_ORT_COMPARE_H */
