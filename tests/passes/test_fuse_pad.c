/*
 * test_fuse_pad.c — passes/fuse_pad.c: a zero constant Pad of the spatial axes before a Conv
 * (tf2onnx's ZeroPadding2D + "valid" conv) becomes the conv's own pads, added to the pads it
 * had, and the graph computes the same bits as before (ir_run before and after; ONNX Conv
 * pads with zeros, which is what the Pad wrote); a Pad with another mode or value, a crop
 * (negative pads), pads on the batch axis, a Pad output read elsewhere, or a conv with
 * auto_pad stays as it is. M-LSD tiny end to end: tests/e2e/test_thirdparty_models.c.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pass_equiv.h"
#include "../../passes/passes.h"
#include "../../runtime/kernels/kernel.h"
#include "../ir/ir_test_util.h"

static RtError err;

enum {
    P_VALUE = 1,    /* constant_value 0.5 */
    P_REFLECT = 2,  /* mode reflect */
    P_CROP = 4,     /* a negative pad */
    P_BATCH = 8,    /* a pad on the batch axis */
    P_ESCAPE = 16,  /* the Pad's output is a graph output too */
    P_AUTOPAD = 32, /* the conv has auto_pad SAME_UPPER */
    P_ZERO = 64,    /* constant_value given as 0 */
};

/* x[2, 3, 9, 8] -> Pad(pads begins (0, 0, 1, 2), ends (0, 0, 2, 1)) -> Conv(w[4, 3, 3, 3], b,
 * strides 2, pads (1, 0, 0, 1)) -> y, opset 17. */
static IrGraph *pad_conv(int flags) {
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {2, 3, 9, 8}, wd[4] = {4, 3, 3, 3}, bd[1] = {4};
    int x = tg_input(g, "x", RT_F32, 4, xd, NULL);
    static int64_t pads[8] = {0, 0, 1, 2, 0, 0, 2, 1};
    pads[0] = (flags & P_BATCH) ? 1 : 0;
    pads[7] = (flags & P_CROP) ? -1 : 1;
    static float w[4 * 3 * 9], b[4];
    for (int i = 0; i < 4 * 3 * 9; i++) w[i] = (float)((i * 37) % 17) / 8.0f - 1.0f;
    for (int i = 0; i < 4; i++) b[i] = 0.25f * (float)i;
    static const float half = 0.5f, zero = 0.0f;
    int pin[3] = {x, tg_const_i64(g, "pads", 8, pads), -1};
    int n_pin = 2;
    if (flags & (P_VALUE | P_ZERO)) pin[n_pin++] = tg_const_f32(g, "value", 0, NULL, (flags & P_VALUE) ? &half : &zero);
    int p = tg_node(g, RT_OP_PAD, "pad", n_pin, pin, "p");
    if (flags & P_REFLECT) {
        RtAttr *m = tg_attr_add(g, "mode");
        m->type = RT_ATTR_STRING;
        m->s = "reflect";
    }
    int cin[3] = {p, tg_const_f32(g, "w", 4, wd, w), tg_const_f32(g, "b", 1, bd, b)};
    int y = tg_node(g, RT_OP_CONV, "conv", 3, cin, "y");
    const int64_t strides[2] = {2, 2}, cpads[4] = {1, 0, 0, 1};
    tg_attr_ints(g, "strides", 2, strides);
    if (flags & P_AUTOPAD) {
        RtAttr *a = tg_attr_add(g, "auto_pad");
        a->type = RT_ATTR_STRING;
        a->s = "SAME_UPPER";
    } else {
        tg_attr_ints(g, "pads", 4, cpads);
    }
    tg_output(g, y);
    if (flags & P_ESCAPE) tg_output(g, p);
    return g;
}

/* Runs g before and after pass_fuse_pad (after pass_simplify) on x in [-2, 2]: the same
 * outputs to the bit (tolerance 0: zero padding either way, the same products and sums). */
static void expect_same_after(IrGraph *g) {
    memset(&err, 0, sizeof err);
    cr_assert_eq(pass_simplify(g, &err), RT_OK, "%s", err.msg);
    static float xs[2 * 3 * 9 * 8];
    for (int i = 0; i < 2 * 3 * 9 * 8; i++) xs[i] = (float)((i * 29) % 41) / 10.0f - 2.0f;
    RtTensor in = {RT_F32, 4, {2, 3, 9, 8}, xs};
    expect_pass_keeps_outputs(g, &in, pass_fuse_pad, 0.0);
}

Test(fuse_pad, zero_pad_becomes_the_conv_pads) {
    const int variants[] = {0, P_ZERO};
    for (int v = 0; v < 2; v++) {
        IrGraph *g = pad_conv(variants[v]);
        expect_same_after(g);
        cr_assert_eq(tg_count_op(g, RT_OP_PAD), 0, "variant %d: the Pad is still there", variants[v]);
        cr_assert_eq(tg_count_op(g, RT_OP_CONV), 1);
        const RtNode *c = NULL;
        for (int k = 0; k < g->n_nodes; k++)
            if (g->nodes[k].op == RT_OP_CONV) c = &g->nodes[k];
        cr_assert_not_null(c);
        cr_expect_eq(c->in[0], g->inputs[0], "the conv reads x");
        const RtAttr *a = rt_attr(c, "pads");
        cr_assert(a && a->type == RT_ATTR_INTS && a->n == 4);
        /* conv (1, 0, 0, 1) + Pad's spatial begins (1, 2) and ends (2, 1) */
        const int64_t want[4] = {2, 2, 2, 2};
        for (int i = 0; i < 4; i++) cr_expect_eq(a->ints[i], want[i], "pads[%d] = %lld", i, (long long)a->ints[i]);
        ir_graph_free(g);
    }
}

Test(fuse_pad, other_pads_stay) {
    const int variants[] = {P_VALUE, P_REFLECT, P_CROP, P_BATCH, P_ESCAPE, P_AUTOPAD};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        IrGraph *g = pad_conv(variants[v]);
        expect_same_after(g);
        cr_expect_eq(tg_count_op(g, RT_OP_PAD), 1, "variant %d: the Pad was fused", variants[v]);
        ir_graph_free(g);
    }
}
