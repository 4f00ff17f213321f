/*
 * test_emit_freeze.c — `wafer emit-c --freeze-input NAME=FILE.npy`: an input that sets a shape
 * (here Reshape's target shape and Unsqueeze's axes, graph inputs as the ONNX test suite and some
 * exporters write them) becomes a constant, the shape chain folds and the C has static shapes.
 * Without it emit-c refuses, naming the node and the option; a bad freeze (no such input, wrong
 * dtype, shape against the declared one) is a clear error with exit status 2 and no files.
 * The emitted program's output is checked against values computed by hand from the input.
 */
#include <sys/stat.h>

#include "../../io/npy.h"
#include "../frontend/onnx_proto_build.h"
#include "emitc_util.h"

TestSuite(emit_freeze, .fini = pb_release_all);

#define X_ELEMS 6

/* y = Neg(Unsqueeze(Reshape(x [2, 3], shape), axes)): shape and axes are int64 graph inputs. */
static void model_write(const char *path) {
    Onnx__GraphProto *g = pb_graph("freeze");
    pb_add_node(g, pb_node("Reshape", "reshape", "x,shape", "r"));
    pb_add_node(g, pb_node("Unsqueeze", "unsqueeze", "r,axes", "u"));
    pb_add_node(g, pb_node("Neg", "neg", "u", "y"));
    pb_add_input(g, pb_value("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2,3"));
    pb_add_input(g, pb_value("shape", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "2"));
    pb_add_input(g, pb_value("axes", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "1"));
    pb_add_output(g, pb_value("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, NULL));
    size_t len = 0;
    uint8_t *bytes = pb_model_pack(g, 8, 13, "test", &len);
    ecu_raw_write(path, bytes, len);
}

/* An int64 .npy of n values v (rank 1), or of shape [1, n] with rank 2. */
static void i64_npy(const char *path, int n, const int64_t *v, int rank) {
    RtTensor t = {.dtype = RT_I64, .rank = rank, .dims = {rank == 1 ? n : 1, n}, .data = (void *)v};
    RtError err = {{0}};
    cr_assert_eq(npy_write(path, &t, &err), RT_OK, "%s", err.msg);
}

static void f32_npy(const char *path) {
    float v[2] = {3, 2};
    RtTensor t = {.dtype = RT_F32, .rank = 1, .dims = {2}, .data = v};
    RtError err = {{0}};
    cr_assert_eq(npy_write(path, &t, &err), RT_OK, "%s", err.msg);
}

static void dir_new(char *dir, size_t n) {
    snprintf(dir, n, "/tmp/wafer_freeze_XXXXXX");
    cr_assert(mkdtemp(dir));
}

Test(emit_freeze, shape_inputs_frozen_emit_static_c) {
    char dir[64], out[8192], log[8192], path[256];
    dir_new(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    model_write(path);
    char shape[256], axes[256];
    const int64_t shape_v[2] = {3, 2}, axes_v[1] = {0};
    snprintf(shape, sizeof shape, "%s/shape.npy", dir);
    snprintf(axes, sizeof axes, "%s/axes.npy", dir);
    i64_npy(shape, 2, shape_v, 1);
    i64_npy(axes, 1, axes_v, 1);
    /* without the values, the refusal names the node and the option */
    int st = tu_run(out, sizeof out, "%s emit-c %s -o %s/c0 --weights f32", WAFER_BIN, path, dir);
    cr_assert_eq(st, 2, "%s", out);
    cr_assert(strstr(out, "(Reshape)") && strstr(out, "--freeze-input"), "%s", out);
    st = tu_run(out, sizeof out, "%s emit-c %s -o %s --weights f32 --freeze-input shape=%s --freeze-input axes=%s",
                WAFER_BIN, path, dir, shape, axes);
    cr_assert_eq(st, 0, "%s", out);
    st = ecu_compile("cc", "-O0", dir, "exe", log, sizeof log);
    cr_assert_eq(st, 0, "%s", log);
    float x[X_ELEMS] = {1, 2, 3, 4, 5, 6}, y[X_ELEMS + 1] = {0};
    char xin[256], yout[256];
    snprintf(xin, sizeof xin, "%s/x.bin", dir);
    snprintf(yout, sizeof yout, "%s/y.bin", dir);
    ecu_raw_write(xin, x, sizeof x);
    /* one input left: the program takes x only */
    st = tu_run(out, sizeof out, "%s/exe %s %s", dir, xin, yout);
    cr_assert_eq(st, 0, "%s", out);
    FILE *f = fopen(yout, "rb");
    cr_assert(f);
    cr_assert_eq(fread(y, sizeof(float), X_ELEMS + 1, f), (size_t)X_ELEMS, "the output is [1, 3, 2]: 6 floats");
    fclose(f);
    /* reshape and unsqueeze keep the row-major order; Neg flips the signs */
    for (int i = 0; i < X_ELEMS; i++) cr_expect_eq(y[i], -x[i], "y[%d] = %g, want %g", i, y[i], -x[i]);
    /* the header declares one input and the frozen shape */
    char h[256];
    snprintf(h, sizeof h, "%s/model.h", dir);
    st = tu_run(out, sizeof out, "grep -c 'model_NUM_INPUTS 1' %s", h);
    cr_expect_eq(st, 0, "model.h does not declare one input: %s", out);
    tu_run(out, sizeof out, "rm -rf %s", dir);
}

Test(emit_freeze, bad_freezes_are_clear_errors) {
    char dir[64], out[8192], path[256], good[256], bad[256];
    dir_new(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    model_write(path);
    const int64_t shape_v[2] = {3, 2}, axes_v[1] = {0};
    char axes[256];
    snprintf(good, sizeof good, "%s/good.npy", dir);
    snprintf(axes, sizeof axes, "%s/axes.npy", dir);
    i64_npy(good, 2, shape_v, 1);
    i64_npy(axes, 1, axes_v, 1);
    struct {
        const char *what, *expect;
        void (*make)(const char *);
    } cases[] = {
        {"nosuch", "no input 'nosuch'", NULL},
        {"shape", "is int64", f32_npy},   /* float values for an int64 input */
        {"shape", "expected shape", NULL}, /* [1, 2] for a declared [2] */
        {"shape", "missing.npy", NULL},   /* no file */
    };
    for (int c = 0; c < 4; c++) {
        snprintf(bad, sizeof bad, "%s/bad%d.npy", dir, c);
        if (cases[c].make) cases[c].make(bad);
        else if (c == 2) i64_npy(bad, 2, shape_v, 2);
        else if (c == 3) snprintf(bad, sizeof bad, "%s/missing.npy", dir);
        else snprintf(bad, sizeof bad, "%s", good);
        char odir[128];
        snprintf(odir, sizeof odir, "%s/out%d", dir, c);
        int st = tu_run(out, sizeof out, "%s emit-c %s -o %s --weights f32 --freeze-input %s=%s --freeze-input axes=%s",
                        WAFER_BIN, path, odir, cases[c].what, bad, axes);
        cr_expect_eq(st, 2, "case %d: exit %d: %s", c, st, out);
        cr_expect(strstr(out, cases[c].expect) != NULL, "case %d: expected '%s' in: %s", c, cases[c].expect, out);
        char model_c[160];
        snprintf(model_c, sizeof model_c, "%s/model.c", odir);
        struct stat sb;
        cr_expect_neq(stat(model_c, &sb), 0, "case %d: %s was written", c, model_c);
    }
    int st = tu_run(out, sizeof out, "%s emit-c %s -o %s/o --freeze-input shape", WAFER_BIN, path, dir);
    cr_expect_eq(st, 2, "%s", out);
    cr_expect(strstr(out, "NAME=FILE.npy") != NULL, "%s", out);
    tu_run(out, sizeof out, "rm -rf %s", dir);
}
