/*
 * test_control.c — hand-computed cases for Identity, Dropout, Constant and If in
 * runtime/kernels/ref/control.c, called directly through rt_kernel_find().
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_exec.h"

static RtError err;

static RtTensor mk(RtDtype dt, int rank, const int64_t *dims, void *data) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    t.data = data;
    return t;
}

static RtAttr attr_ints(const char *name, const int64_t *v, int n) {
    RtAttr a;
    memset(&a, 0, sizeof a);
    a.name = name;
    a.type = RT_ATTR_INTS;
    a.ints = v;
    a.n = n;
    return a;
}

/* Runs op on inputs (NULL = absent) with attrs; outputs must be zeroed by the caller. */
/* What rt_exec.c gives kernels: run a subgraph on borrowed inputs with the reference executor. */
static int sub_run(RtKernelCtx *c, const RtGraph *g, RtTensor *const *inputs, int n_in, RtTensor *outputs, int n_out) {
    RtTensor copy[8];
    cr_assert(n_in == g->n_inputs && n_out == g->n_outputs && n_in <= 8);
    for (int i = 0; i < n_in; i++) copy[i] = *inputs[i];
    return rt_graph_run(g, copy, outputs, c->alloc, c->err);
}

static int run(int op, int opset, RtTensor **in, int n_in, RtTensor *out, int n_out, RtAttr *attrs, int n_attr,
               int shape_only) {
    int slots_in[16], slots_out[16];
    RtTensor *outp[16];
    for (int i = 0; i < n_in; i++) slots_in[i] = in[i] ? i : -1;
    for (int i = 0; i < n_out; i++) {
        slots_out[i] = n_in + i;
        outp[i] = &out[i];
    }
    RtNode n = {op, "t", rt_op_name(op), "", opset, n_in, slots_in, n_out, slots_out, n_attr, attrs};
    RtKernelCtx c = {rt_allocator_default(), &err, shape_only, sub_run, NULL};
    err.msg[0] = '\0';
    RtKernelFn fn = rt_kernel_find(op);
    cr_assert_not_null(fn, "no kernel for %s", rt_op_name(op));
    return fn(&c, &n, in, outp);
}

static void expect_dims(const RtTensor *t, int rank, const int64_t *dims) {
    cr_assert_eq(t->rank, rank, "rank %d, want %d", t->rank, rank);
    for (int i = 0; i < rank; i++) cr_expect_eq(t->dims[i], dims[i], "dim %d: %lld, want %lld", i, (long long)t->dims[i], (long long)dims[i]);
}

Test(identity, copies) {
    int64_t x[3] = {1, -2, 3}, xd[] = {3};
    RtTensor tx = mk(RT_I64, 1, xd, x), out = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(run(RT_OP_IDENTITY, 16, in, 1, &out, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    expect_dims(&out, 1, xd);
    cr_expect_neq(out.data, (void *)x);
    cr_expect_eq(memcmp(out.data, x, sizeof x), 0);
    free(out.data);
}

Test(dropout, inference_copies_and_mask_all_true) {
    float x[4] = {1, 2, 3, 4}, ratio = 0.5f;
    int64_t xd[] = {2, 2};
    uint8_t train = 0;
    RtTensor tx = mk(RT_F32, 2, xd, x), tr = mk(RT_F32, 0, NULL, &ratio), tt = mk(RT_BOOL, 0, NULL, &train),
             out[2] = {{0}};
    RtTensor *in[] = {&tx, &tr, &tt};
    cr_assert_eq(run(RT_OP_DROPOUT, 13, in, 3, out, 2, NULL, 0, 0), RT_OK, "%s", err.msg);
    cr_expect_eq(memcmp(out[0].data, x, sizeof x), 0);
    cr_expect_eq(out[1].dtype, RT_BOOL);
    for (int i = 0; i < 4; i++) cr_expect_eq(((uint8_t *)out[1].data)[i], 1);
    free(out[0].data);
    free(out[1].data);
}

Test(dropout, opset7_mask_has_input_dtype) {
    double x[2] = {1, 2};
    int64_t xd[] = {2};
    RtTensor tx = mk(RT_F64, 1, xd, x), out[2] = {{0}};
    RtTensor *in[] = {&tx};
    cr_assert_eq(run(RT_OP_DROPOUT, 7, in, 1, out, 2, NULL, 0, 0), RT_OK, "%s", err.msg);
    cr_expect_eq(out[1].dtype, RT_F64);
    cr_expect_eq(((double *)out[1].data)[1], 1.0);
    free(out[0].data);
    free(out[1].data);
}

Test(dropout, training_with_ratio_is_refused) {
    float x[2] = {1, 2};
    int64_t xd[] = {2};
    uint8_t train = 1;
    RtTensor tx = mk(RT_F32, 1, xd, x), tt = mk(RT_BOOL, 0, NULL, &train), out = {0};
    RtTensor *in[] = {&tx, NULL, &tt};
    cr_expect_eq(run(RT_OP_DROPOUT, 13, in, 3, &out, 1, NULL, 0, 0), RT_ERR_UNSUPPORTED);
    cr_expect_not_null(strstr(err.msg, "training_mode"), "%s", err.msg);
    cr_expect_null(out.data);
    /* ratio 0 in training is still the identity */
    float zero = 0;
    RtTensor tr = mk(RT_F32, 0, NULL, &zero), out2 = {0};
    RtTensor *in2[] = {&tx, &tr, &tt};
    cr_assert_eq(run(RT_OP_DROPOUT, 13, in2, 3, &out2, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    cr_expect_eq(memcmp(out2.data, x, sizeof x), 0);
    free(out2.data);
}

Test(constant, value_ints_value_float_and_tensor) {
    int64_t v[3] = {4, 5, 6};
    RtAttr a[] = {attr_ints("value_ints", v, 3)};
    RtTensor out = {0};
    cr_assert_eq(run(RT_OP_CONSTANT, 13, NULL, 0, &out, 1, a, 1, 0), RT_OK, "%s", err.msg);
    cr_expect_eq(out.dtype, RT_I64);
    expect_dims(&out, 1, (int64_t[]){3});
    cr_expect_eq(memcmp(out.data, v, sizeof v), 0);
    free(out.data);

    RtAttr f;
    memset(&f, 0, sizeof f);
    f.name = "value_float";
    f.type = RT_ATTR_FLOAT;
    f.f = 2.5f;
    RtTensor out2 = {0};
    cr_assert_eq(run(RT_OP_CONSTANT, 13, NULL, 0, &out2, 1, &f, 1, 0), RT_OK, "%s", err.msg);
    cr_expect_eq(out2.dtype, RT_F32);
    cr_expect_eq(out2.rank, 0);
    cr_expect_eq(*(float *)out2.data, 2.5f);
    free(out2.data);

    uint16_t h[2] = {0x3c00, 0xc000}; /* float16 1, -2 */
    RtTensor t = mk(RT_F16, 2, (int64_t[]){1, 2}, h);
    RtAttr ta;
    memset(&ta, 0, sizeof ta);
    ta.name = "value";
    ta.type = RT_ATTR_TENSOR;
    ta.t = &t;
    RtTensor out3 = {0};
    cr_assert_eq(run(RT_OP_CONSTANT, 13, NULL, 0, &out3, 1, &ta, 1, 0), RT_OK, "%s", err.msg);
    cr_expect_eq(out3.dtype, RT_F16);
    expect_dims(&out3, 2, (int64_t[]){1, 2});
    cr_expect_eq(memcmp(out3.data, h, sizeof h), 0);
    free(out3.data);
}

/* then: y = Identity(x); else: y = Constant([7, 8, 9]). Slot 0 is the captured x. */
static int then_in[] = {0}, then_out[] = {1}, else_out[] = {1};
static int64_t else_vals[3] = {7, 8, 9};

Test(if_, runs_the_chosen_branch) {
    RtNode id = {RT_OP_IDENTITY, "id", "Identity", "", 16, 1, then_in, 1, then_out, 0, NULL};
    RtAttr cv = attr_ints("value_ints", else_vals, 3);
    RtNode cn = {RT_OP_CONSTANT, "c", "Constant", "", 16, 0, NULL, 1, else_out, 1, &cv};
    RtGraph tg = {2, NULL, NULL, 1, &id, 1, then_in, 1, then_out};
    RtGraph eg = {2, NULL, NULL, 1, &cn, 1, then_in, 1, else_out};
    RtAttr br[2];
    memset(br, 0, sizeof br);
    br[0].name = "then_branch";
    br[0].type = RT_ATTR_GRAPH;
    br[0].g = &tg;
    br[1].name = "else_branch";
    br[1].type = RT_ATTR_GRAPH;
    br[1].g = &eg;
    int64_t x[3] = {1, 2, 3}, xd[] = {3};
    uint8_t cond = 1;
    RtTensor tc = mk(RT_BOOL, 0, NULL, &cond), tx = mk(RT_I64, 1, xd, x), out = {0};
    RtTensor *in[] = {&tc, &tx};
    cr_assert_eq(run(RT_OP_IF, 16, in, 2, &out, 1, br, 2, 0), RT_OK, "%s", err.msg);
    cr_expect_eq(memcmp(out.data, x, sizeof x), 0);
    free(out.data);
    cond = 0;
    RtTensor out2 = {0};
    cr_assert_eq(run(RT_OP_IF, 16, in, 2, &out2, 1, br, 2, 0), RT_OK, "%s", err.msg);
    cr_expect_eq(memcmp(out2.data, else_vals, sizeof else_vals), 0);
    free(out2.data);
    /* shape mode with an unknown condition cannot choose */
    tc.data = NULL;
    RtTensor out3 = {0};
    cr_expect_eq(run(RT_OP_IF, 16, in, 2, &out3, 1, br, 2, 1), RT_SHAPE_UNKNOWN);
}
