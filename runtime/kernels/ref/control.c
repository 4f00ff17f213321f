/*
 * control.c — reference kernels for pass-through, constants and control flow: Identity,
 * Dropout (inference), Constant, If.
 *
 * Identity and Dropout copy their input (wafer runs inference, where Dropout is the
 * identity and its optional mask says every element was kept). Constant materializes one
 * of its value attributes. If runs one of its two branch subgraphs through
 * c->run_subgraph: input 0 is the condition, inputs 1.. are the outer-scope values the
 * frontend made explicit inputs of both branches (same order), and the branch's outputs
 * (allocated with c->alloc) become the node's outputs by moving the tensor structs.
 */
#include "../kernel.h"

#include <string.h>

static int check_dtype(RtKernelCtx *c, const RtTensor *t, const char *what) {
    if (rt_dtype_size(t->dtype) == 0)
        return rt_fail(c, "%s has dtype %s, which wafer does not support", what, rt_dtype_name(t->dtype));
    return RT_OK;
}

static void copy_data(RtTensor *dst, const RtTensor *src) {
    int64_t bytes = rt_nbytes(dst);
    if (bytes > 0) memcpy(dst->data, src->data, (size_t)bytes);
}

/* ---- Identity, Dropout ---- */

static int k_identity(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    (void)n;
    const RtTensor *x = in[0];
    RT_TRY(check_dtype(c, x, "input"));
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    copy_data(out[0], x);
    return RT_OK;
}

/* Dropout at inference: Y = X; mask (optional) all ones — bool from opset 10, the input's
 * dtype in opset 7-9. Opset 12 moved ratio to input 1 and added training_mode (input 2);
 * training with ratio > 0 draws random numbers, which wafer refuses to do. */
static int k_dropout(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *ratio_in = rt_in(n, in, 1), *train = rt_in(n, in, 2);
    RT_TRY(check_dtype(c, x, "input"));
    if (n->opset >= 12 && train && train->data && rt_numel(train) == 1 && rt_get_i64(train, 0) != 0) {
        double ratio = 0.5;
        if (ratio_in && ratio_in->data && rt_numel(ratio_in) == 1) ratio = rt_get_f64(ratio_in, 0);
        if (ratio > 0) {
            rt_fail(c, "training_mode is true with ratio %g: random dropout (training) is not supported; "
                       "wafer runs inference", ratio);
            return RT_ERR_UNSUPPORTED;
        }
    }
    rt_out_set_shape(out[0], x->dtype, x->rank, x->dims);
    if (n->n_out > 1) rt_out_set_shape(out[1], n->opset >= 10 ? RT_BOOL : x->dtype, x->rank, x->dims);
    for (int i = 0; i < n->n_out && i < 2; i++) RT_TRY(rt_out_alloc_data(c, out[i]));
    copy_data(out[0], x);
    if (n->n_out > 1) {
        int64_t total = rt_numel(out[1]);
        for (int64_t i = 0; i < total; i++) rt_set_f64(out[1], i, 1.0);
    }
    return RT_OK;
}

/* ---- Constant ---- */

/* Constant: exactly one of value (tensor), value_float, value_floats, value_int,
 * value_ints; sparse and string values are not supported. */
static int k_constant(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    (void)in;
    static const char *unsupported[] = {"sparse_value", "value_string", "value_strings"};
    for (int i = 0; i < 3; i++)
        if (rt_attr(n, unsupported[i])) {
            rt_fail(c, "attribute '%s' is not supported", unsupported[i]);
            return RT_ERR_UNSUPPORTED;
        }
    if (n->n_attr != 1) return rt_fail(c, "needs exactly one value attribute, has %d attributes", n->n_attr);
    const RtAttr *a = &n->attrs[0];
    if (strcmp(a->name, "value") == 0) {
        if (a->type != RT_ATTR_TENSOR || !a->t || !a->t->data) return rt_fail(c, "attribute 'value' has no tensor data");
        RT_TRY(check_dtype(c, a->t, "attribute 'value'"));
        RT_TRY(rt_out_alloc(c, out[0], a->t->dtype, a->t->rank, a->t->dims));
        copy_data(out[0], a->t);
    } else if (strcmp(a->name, "value_float") == 0 && a->type == RT_ATTR_FLOAT) {
        RT_TRY(rt_out_alloc(c, out[0], RT_F32, 0, NULL));
        *(float *)out[0]->data = a->f;
    } else if (strcmp(a->name, "value_int") == 0 && a->type == RT_ATTR_INT) {
        RT_TRY(rt_out_alloc(c, out[0], RT_I64, 0, NULL));
        *(int64_t *)out[0]->data = a->i;
    } else if (strcmp(a->name, "value_floats") == 0 && a->type == RT_ATTR_FLOATS) {
        int64_t len = a->n;
        RT_TRY(rt_out_alloc(c, out[0], RT_F32, 1, &len));
        if (len) memcpy(out[0]->data, a->floats, sizeof(float) * (size_t)len);
    } else if (strcmp(a->name, "value_ints") == 0 && a->type == RT_ATTR_INTS) {
        int64_t len = a->n;
        RT_TRY(rt_out_alloc(c, out[0], RT_I64, 1, &len));
        if (len) memcpy(out[0]->data, a->ints, sizeof(int64_t) * (size_t)len);
    } else {
        return rt_fail(c, "attribute '%s' is not a Constant value of the right type", a->name);
    }
    return RT_OK;
}

/* ---- If ---- */

/* In shape-only mode the branch runs only when every input is known (the subgraph
 * executor computes data); its outputs then carry data, which constant folding can use. */
static int k_if(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *cond = rt_in(n, in, 0);
    if (!cond) return rt_fail(c, "missing input 'cond'");
    if (rt_numel(cond) != 1) {
        char s[128];
        return rt_fail(c, "input 'cond' must have one element, has shape %s", rt_shape_str(cond->rank, cond->dims, s, sizeof s));
    }
    RT_NEED_DATA(c, cond);
    for (int i = 1; i < n->n_in; i++) {
        if (!in[i]) return rt_fail(c, "captured input %d is absent", i);
        if (c->shape_only) RT_NEED_DATA(c, in[i]);
    }
    const char *which = rt_get_i64(cond, 0) != 0 ? "then_branch" : "else_branch";
    const RtAttr *a = rt_attr(n, which);
    if (!a || a->type != RT_ATTR_GRAPH || !a->g) return rt_fail(c, "missing graph attribute '%s'", which);
    if (!c->run_subgraph) return rt_fail(c, "this executor cannot run subgraphs");
    if (n->n_out < 1) return rt_fail(c, "no outputs");
    RtTensor *res = rt_scratch(c, sizeof(RtTensor) * (size_t)n->n_out);
    if (!res) return RT_ERR_NOMEM;
    memset(res, 0, sizeof(RtTensor) * (size_t)n->n_out);
    int r = c->run_subgraph(c, (const RtGraph *)a->g, (RtTensor *const *)&in[1], n->n_in - 1, res, n->n_out);
    if (r >= 0)
        for (int i = 0; i < n->n_out; i++) *out[i] = res[i]; /* ownership moves to the caller */
    rt_scratch_free(c, res);
    return r;
}

const RtKernelEntry rt_kernels_control[] = {
    {RT_OP_IDENTITY, k_identity},
    {RT_OP_DROPOUT, k_dropout},
    {RT_OP_CONSTANT, k_constant},
    {RT_OP_IF, k_if},
    {-1, 0},
};
