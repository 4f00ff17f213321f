/*
 * test_emit_swish.c — emit-c's Swish (opset 24, x * sigmoid(alpha x)): float32 and float64,
 * default and explicit alpha, and float32 under --no-libm, each emitted, compiled (gcc and
 * clang -pedantic -Werror, gcc under UBSan), run by tests/codegen/emitc_harness.c and compared
 * element by element with the runtime's reference kernel on the same graph (whose Swish is
 * itself checked against onnxruntime in tests/e2e/test_onnx_opset25.c).
 */
#include "emitc_oneop.h"

/* The emitted expression is the reference row's (the same sigmoid form and arithmetic in the
 * same precision): the last bit may differ only where wk_sigmoidf's exp and libm's round
 * differently, a few float ulps. --no-libm: the own exp of b0_exp, within 2e-6 relative
 * (test_emit_nolibm.c's bound for the sigmoid family). */
#define SWISH_REL_TOL 1e-6
#define SWISH_NOLIBM_REL_TOL 2e-6

static void swish_run(OneOp *m, const char *what, int no_libm, double tol) {
    int extra = !op_sanitized();
    OneOpCheck k = {.cflags = "-O1", .also_clang = extra, .ubsan = extra, .no_libm = no_libm,
                    .tol = tol, .tol_f64 = tol, .per_element = 1};
    op_check_opts(m, what, &k);
}

Test(emit_swish, float32_and_float64_alphas) {
    OneOp *m = op_new_with(24242424, OP_FILL_ANY);
    int64_t d[2] = {3, 17};
    int xf = op_input(m, "xf", RT_F32, 2, d), xd = op_input(m, "xd", RT_F64, 2, d);
    RtAttr a15 = {.name = "alpha", .type = RT_ATTR_FLOAT, .f = 1.5f};
    RtAttr am = {.name = "alpha", .type = RT_ATTR_FLOAT, .f = -0.75f};
    op_node(m, RT_OP_SWISH, 1, &xf);
    op_node_attrs(m, RT_OP_SWISH, 1, &xf, &a15, 1);
    op_node_attrs(m, RT_OP_SWISH, 1, &xf, &am, 1);
    op_node(m, RT_OP_SWISH, 1, &xd);
    op_node_attrs(m, RT_OP_SWISH, 1, &xd, &am, 1);
    swish_run(m, "Swish float32/float64", 0, SWISH_REL_TOL);
}

Test(emit_swish, float32_without_libm) {
    OneOp *m = op_new_with(24242425, OP_FILL_ANY);
    int64_t d[1] = {41};
    int xf = op_input(m, "xf", RT_F32, 1, d);
    RtAttr a = {.name = "alpha", .type = RT_ATTR_FLOAT, .f = 2.0f};
    op_node(m, RT_OP_SWISH, 1, &xf);
    op_node_attrs(m, RT_OP_SWISH, 1, &xf, &a, 1);
    swish_run(m, "Swish float32 --no-libm", 1, SWISH_NOLIBM_REL_TOL);
}
