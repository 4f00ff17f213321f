/*
 * test_control.c — hand-computed cases for Identity, Dropout, Constant and If in
 * runtime/kernels/ref/control.c, called directly through rt_kernel_find().
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_exec.h"
#include "rt_test_util.h"

/* What rt_exec.c gives kernels: run a subgraph on borrowed inputs with the reference executor. */
static int sub_run(RtKernelCtx *c, const RtGraph *g, RtTensor *const *inputs, int n_in, RtTensor *outputs, int n_out) {
    RtTensor copy[8];
    cr_assert(n_in == g->n_inputs && n_out == g->n_outputs && n_in <= 8);
    for (int i = 0; i < n_in; i++) copy[i] = *inputs[i];
    return rt_graph_run(g, copy, outputs, c->alloc, c->err);
}

Test(identity, copies) {
    int64_t x[3] = {1, -2, 3}, xd[] = {3};
    RtTensor tx = rtt_tensor(RT_I64, 1, xd, x), out = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(RT_OP_IDENTITY, 16, in, 1, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, xd);
    cr_expect_neq(out.data, (void *)x);
    cr_expect_eq(memcmp(out.data, x, sizeof x), 0);
    free(out.data);
}

Test(dropout, inference_copies_and_mask_all_true) {
    float x[4] = {1, 2, 3, 4}, ratio = 0.5f;
    int64_t xd[] = {2, 2};
    uint8_t train = 0;
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), tr = rtt_tensor(RT_F32, 0, NULL, &ratio),
             tt = rtt_tensor(RT_BOOL, 0, NULL, &train), out[2] = {{0}};
    RtTensor *in[] = {&tx, &tr, &tt};
    cr_assert_eq(rtt_run(RT_OP_DROPOUT, 13, in, 3, out, 2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out[0].data, x, sizeof x), 0);
    cr_expect_eq(out[1].dtype, RT_BOOL);
    for (int i = 0; i < 4; i++) cr_expect_eq(((uint8_t *)out[1].data)[i], 1);
    free(out[0].data);
    free(out[1].data);
}

Test(dropout, opset7_mask_has_input_dtype) {
    double x[2] = {1, 2};
    int64_t xd[] = {2};
    RtTensor tx = rtt_tensor(RT_F64, 1, xd, x), out[2] = {{0}};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run(RT_OP_DROPOUT, 7, in, 1, out, 2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(out[1].dtype, RT_F64);
    cr_expect_eq(((double *)out[1].data)[1], 1.0);
    free(out[0].data);
    free(out[1].data);
}

Test(dropout, training_with_ratio_is_refused) {
    float x[2] = {1, 2};
    int64_t xd[] = {2};
    uint8_t train = 1;
    RtTensor tx = rtt_tensor(RT_F32, 1, xd, x), tt = rtt_tensor(RT_BOOL, 0, NULL, &train), out = {0};
    RtTensor *in[] = {&tx, NULL, &tt};
    cr_expect_eq(rtt_run1(RT_OP_DROPOUT, 13, in, 3, &out, NULL, 0, 0), RT_ERR_UNSUPPORTED);
    cr_expect_not_null(strstr(rtt_err.msg, "training_mode"), "%s", rtt_err.msg);
    cr_expect_null(out.data);
    /* ratio 0 in training is still the identity */
    float zero = 0;
    RtTensor tr = rtt_tensor(RT_F32, 0, NULL, &zero), out2 = {0};
    RtTensor *in2[] = {&tx, &tr, &tt};
    cr_assert_eq(rtt_run1(RT_OP_DROPOUT, 13, in2, 3, &out2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out2.data, x, sizeof x), 0);
    free(out2.data);
}

Test(constant, value_ints_value_float_and_tensor) {
    int64_t v[3] = {4, 5, 6};
    RtAttr a[] = {rtt_attr_ints("value_ints", v, 3)};
    RtTensor out = {0};
    cr_assert_eq(rtt_run1(RT_OP_CONSTANT, 13, NULL, 0, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(out.dtype, RT_I64);
    rtt_expect_dims(&out, 1, (int64_t[]){3});
    cr_expect_eq(memcmp(out.data, v, sizeof v), 0);
    free(out.data);

    RtAttr f = rtt_attr_float("value_float", 2.5f);
    RtTensor out2 = {0};
    cr_assert_eq(rtt_run1(RT_OP_CONSTANT, 13, NULL, 0, &out2, &f, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(out2.dtype, RT_F32);
    cr_expect_eq(out2.rank, 0);
    cr_expect_eq(*(float *)out2.data, 2.5f);
    free(out2.data);

    uint16_t h[2] = {0x3c00, 0xc000}; /* float16 1, -2 */
    RtTensor t = rtt_tensor(RT_F16, 2, (int64_t[]){1, 2}, h);
    RtAttr ta = rtt_attr_tensor("value", &t);
    RtTensor out3 = {0};
    cr_assert_eq(rtt_run1(RT_OP_CONSTANT, 13, NULL, 0, &out3, &ta, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(out3.dtype, RT_F16);
    rtt_expect_dims(&out3, 2, (int64_t[]){1, 2});
    cr_expect_eq(memcmp(out3.data, h, sizeof h), 0);
    free(out3.data);
}

/* then: y = Identity(x); else: y = Constant([7, 8, 9]). Slot 0 is the captured x. */
static int then_in[] = {0}, then_out[] = {1}, else_out[] = {1};
static int64_t else_vals[3] = {7, 8, 9};

Test(if_, runs_the_chosen_branch) {
    RtNode id = {RT_OP_IDENTITY, "id", "Identity", "", 16, 1, then_in, 1, then_out, 0, NULL};
    RtAttr cv = rtt_attr_ints("value_ints", else_vals, 3);
    RtNode cn = {RT_OP_CONSTANT, "c", "Constant", "", 16, 0, NULL, 1, else_out, 1, &cv};
    RtGraph tg = {2, NULL, NULL, 1, &id, 1, then_in, 1, then_out};
    RtGraph eg = {2, NULL, NULL, 1, &cn, 1, then_in, 1, else_out};
    RtAttr br[2] = {rtt_attr_graph("then_branch", &tg), rtt_attr_graph("else_branch", &eg)};
    int64_t x[3] = {1, 2, 3}, xd[] = {3};
    uint8_t cond = 1;
    RtTensor tc = rtt_tensor(RT_BOOL, 0, NULL, &cond), tx = rtt_tensor(RT_I64, 1, xd, x), out = {0};
    RtTensor *in[] = {&tc, &tx};
    cr_assert_eq(rtt_run_sub(sub_run, RT_OP_IF, 16, in, 2, &out, 1, br, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out.data, x, sizeof x), 0);
    free(out.data);
    cond = 0;
    RtTensor out2 = {0};
    cr_assert_eq(rtt_run_sub(sub_run, RT_OP_IF, 16, in, 2, &out2, 1, br, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out2.data, else_vals, sizeof else_vals), 0);
    free(out2.data);
    /* shape mode with an unknown condition cannot choose */
    tc.data = NULL;
    RtTensor out3 = {0};
    cr_expect_eq(rtt_run_sub(sub_run, RT_OP_IF, 16, in, 2, &out3, 1, br, 2, 1), RT_SHAPE_UNKNOWN);
}
