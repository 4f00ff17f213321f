/*
 * ort18.h — small builders shared by the opset 18-21 suites (test_opset18_21.c and the new
 * ops' suites): random graph inputs, int64/float initializers, untyped-shape outputs, and
 * "pack at opset v and compare with onnxruntime, skip when it is absent".
 *
 *   o18_in_f32(g, ins, &n, "x", "2,3,5", lo, hi)   graph input x of float32 [2,3,5], values
 *                                                  uniform in [lo, hi) from a fixed LCG, added
 *                                                  to ins[n++]
 *   o18_in_typed(g, ins, &n, "x", dtype, "2,3", data)   a graph input of any dtype, caller's data
 *   o18_init_i64(g, "axes", "1", vals) / o18_init_f32(g, "s", "2", vals)   initializers
 *   o18_out(g, "y", dtype)                          graph output, shape left undeclared
 *   o18_check(tag, g, opset, ins, n, &tol)          packs (IR 10) and compares every output
 *   o18_wafer_refuses(tag, g, opset, ins, n, what)  `wafer run` exits 2 naming `what` (env
 *                                                  O18_SHOW=FILE appends each message to FILE)
 *   o18_wafer_run(tag, g, opset, ins, n, "y", &y)  `wafer run` alone; y = output "y" (caller frees
 *                                                  y.data): for values checked by hand
 *   o18_ai / o18_af / o18_as / o18_aints(node, name, value)   an attribute; return the node
 *   o18_node(g, op, ins, outs)                     a node named after its outputs, added to g
 */
#ifndef WAFER_TEST_ORT18_H
#define WAFER_TEST_ORT18_H

#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

static inline Onnx__NodeProto *o18_ai(Onnx__NodeProto *nd, const char *name, int64_t v) {
    pb_attr_int(nd, name, v);
    return nd;
}
static inline Onnx__NodeProto *o18_af(Onnx__NodeProto *nd, const char *name, float v) {
    pb_attr_float(nd, name, v);
    return nd;
}
static inline Onnx__NodeProto *o18_as(Onnx__NodeProto *nd, const char *name, const char *v) {
    pb_attr_str(nd, name, v);
    return nd;
}
static inline Onnx__NodeProto *o18_aints(Onnx__NodeProto *nd, const char *name, size_t k, const int64_t *v) {
    pb_attr_ints(nd, name, k, v);
    return nd;
}
static inline Onnx__NodeProto *o18_node(Onnx__GraphProto *g, const char *op, const char *ins, const char *outs) {
    return pb_add_node(g, pb_node(op, outs, ins, outs)); /* named after its outputs: unique */
}

static uint32_t o18_seed = 12345u;

static inline float o18_rand(float lo, float hi) {
    o18_seed = o18_seed * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(o18_seed >> 8) / (float)(1 << 24);
}

/* dims "2,3,5" ("" = scalar) into d; returns the rank */
static inline int o18_dims(const char *s, int64_t *d) {
    size_t n = 0;
    char **p = pb_split(s, &n);
    for (size_t i = 0; i < n; i++) d[i] = atoll(p[i]);
    return (int)n;
}

static inline void o18_in_typed(Onnx__GraphProto *g, OrtcInput *ins, int *n, const char *name, int dtype,
                                const char *dims, void *data) {
    pb_add_input(g, pb_value(name, dtype, dims));
    OrtcInput *in = &ins[(*n)++];
    memset(in, 0, sizeof *in);
    in->name = name;
    in->t.dtype = (RtDtype)dtype;
    in->t.rank = o18_dims(dims, in->t.dims);
    in->t.data = data;
}

static inline float *o18_in_f32(Onnx__GraphProto *g, OrtcInput *ins, int *n, const char *name, const char *dims,
                                float lo, float hi) {
    int64_t d[RT_MAX_RANK];
    int r = o18_dims(dims, d);
    int64_t k = rt_shape_numel(r, d);
    float *v = pb_zalloc(sizeof(float) * (size_t)(k ? k : 1));
    for (int64_t i = 0; i < k; i++) v[i] = o18_rand(lo, hi);
    o18_in_typed(g, ins, n, name, RT_F32, dims, v);
    return v;
}

static inline void o18_init_raw(Onnx__GraphProto *g, const char *name, int dtype, const char *dims, const void *v,
                                size_t esize) {
    int64_t d[RT_MAX_RANK];
    int r = o18_dims(dims, d);
    pb_tensor_raw(pb_add_init(g, pb_tensor(name, dtype, (size_t)r, d)), v, esize * (size_t)rt_shape_numel(r, d));
}

static inline void o18_init_i64(Onnx__GraphProto *g, const char *name, const char *dims, const int64_t *v) {
    o18_init_raw(g, name, RT_I64, dims, v, 8);
}

static inline void o18_init_f32(Onnx__GraphProto *g, const char *name, const char *dims, const float *v) {
    o18_init_raw(g, name, RT_F32, dims, v, 4);
}

static inline void o18_out(Onnx__GraphProto *g, const char *name, int dtype) {
    pb_add_output(g, pb_value(name, dtype, NULL));
}

static inline void o18_check(const char *tag, Onnx__GraphProto *g, int opset, const OrtcInput *ins, int n,
                             const OrtcTol *tol) {
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, opset, "test", &len);
    if (!ortc_compare(tag, m, len, ins, n, tol)) cr_skip_test("onnxruntime-node is not installed");
}

/* Writes the model and inputs into a fresh folder and runs `wafer run` on them; returns the
 * exit status, the output in log. dir gets the folder (the caller removes it). */
static inline int o18__wafer(const char *tag, Onnx__GraphProto *g, int opset, const OrtcInput *ins, int n, char *dir,
                             size_t dir_cap, char *log, size_t log_cap) {
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, opset, "test", &len);
    char path[300], args[2048] = "";
    cr_assert_eq(tu_tmpdir_make(dir, dir_cap, tag), 0);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    size_t l = 0;
    for (int i = 0; i < n; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s/in%d.npy", dir, i);
        RtError err = {{0}};
        cr_assert_eq(npy_write(p, &ins[i].t, &err), RT_OK, "%s", err.msg);
        l += (size_t)snprintf(args + l, sizeof args - l, " --input '%s=%s'", ins[i].name, p);
    }
    return tu_run(log, log_cap, WAFER_BIN " run '%s'%s --out %s/w", path, args, dir);
}

static inline void o18_wafer_run(const char *tag, Onnx__GraphProto *g, int opset, const OrtcInput *ins, int n,
                                 const char *out, RtTensor *y) {
    static char log[65536];
    char dir[256], yp[400];
    int rc = o18__wafer(tag, g, opset, ins, n, dir, sizeof dir, log, sizeof log);
    cr_assert_eq(rc, 0, "%s: wafer run exited %d:\n%s", tag, rc, log);
    snprintf(yp, sizeof yp, "%s/w/%s.npy", dir, out);
    RtError err = {{0}};
    cr_assert_eq(npy_read(yp, y, &err), RT_OK, "%s: %s", tag, err.msg);
    tu_tmpdir_remove(dir);
}

/* wafer run on the model must exit 2 with `what` in its message (a refusal by name). */
static inline void o18_wafer_refuses(const char *tag, Onnx__GraphProto *g, int opset, const OrtcInput *ins, int n,
                                     const char *what) {
    static char log[65536];
    char dir[256];
    int rc = o18__wafer(tag, g, opset, ins, n, dir, sizeof dir, log, sizeof log);
    cr_expect_eq(rc, 2, "%s: wafer run exited %d, want 2 (refused):\n%s", tag, rc, log);
    cr_expect(strstr(log, what) != NULL, "%s: message does not name '%s':\n%s", tag, what, log);
    const char *show = getenv("O18_SHOW"); /* a file to append the refusals' messages to */
    FILE *sf = show ? fopen(show, "a") : NULL;
    if (sf) {
        fprintf(sf, "%s: %s\n", tag, log);
        fclose(sf);
    }
    tu_tmpdir_remove(dir);
}

#endif
