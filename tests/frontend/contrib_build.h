/*
 * contrib_build.h — what the suites for onnxruntime's contrib ops (test_onnx_contrib.c,
 * test_onnx_contrib_gqa.c) share on top of onnx_proto_build.h and ../ort_compare.h:
 *
 *   ms_node(g, op, name, ins, outs)        a com.microsoft node added to g
 *   values(n, seed, lo, hi)                n deterministic floats in [lo, hi) (an LCG; tracked)
 *   numel(rank, dims)                      the element count of a shape
 *   add_weight(g, name, rank, dims, seed)  a float32 initializer, values in [-1, 1)
 *   add_input(g, name, rank, dims, seed)   a float32 graph input and its fed value, in [-2, 2)
 *   contrib_expect_refused(tag, m, len, want1, want2)   `wafer run` of the packed model m exits
 *                                          2 with a message naming want1, want2 and the file
 */
#ifndef WAFER_CONTRIB_BUILD_H
#define WAFER_CONTRIB_BUILD_H

#include "../ort_compare.h"
#include "onnx_proto_build.h"

static inline Onnx__NodeProto *ms_node(Onnx__GraphProto *g, const char *op, const char *name, const char *ins,
                                       const char *outs) {
    Onnx__NodeProto *n = pb_add_node(g, pb_node(op, name, ins, outs));
    n->domain = pb_str("com.microsoft");
    return n;
}

static inline float *values(int64_t n, uint32_t seed, float lo, float hi) {
    float *x = pb_zalloc(sizeof(float) * (size_t)n);
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)((s = s * 1664525u + 1013904223u) >> 8) / (1 << 24);
    return x;
}

static inline int64_t numel(int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return n;
}

static inline void add_weight(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims, uint32_t seed) {
    pb_tensor_floats(pb_add_init(g, pb_tensor(name, 1, (size_t)rank, dims)), (size_t)numel(rank, dims),
                     values(numel(rank, dims), seed, -1, 1));
}

static inline OrtcInput add_input(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims,
                                  uint32_t seed) {
    pb_add_input(g, pb_value_typed(name, pb_type_dims(1, rank, dims)));
    OrtcInput in = {name, {.dtype = RT_F32, .rank = rank, .data = values(numel(rank, dims), seed, -2, 2)}};
    memcpy(in.t.dims, dims, sizeof(int64_t) * (size_t)rank);
    return in;
}

static inline void contrib_expect_refused(const char *tag, const uint8_t *m, size_t len, const char *want1,
                                          const char *want2) {
    char dir[256], path[300], log[4096];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, tag), 0);
    snprintf(path, sizeof path, "%s/bad.onnx", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    int rc = tu_run(log, sizeof log, WAFER_BIN " run '%s' --out %s/o", path, dir);
    cr_expect_eq(rc, 2, "%s: exit %d:\n%s", tag, rc, log);
    cr_expect(strstr(log, want1) && strstr(log, want2), "%s: message lacks '%s' / '%s':\n%s", tag, want1, want2, log);
    cr_expect(strstr(log, "bad.onnx"), "%s: message does not name the file:\n%s", tag, log);
    tu_tmpdir_remove(dir);
}

#endif
