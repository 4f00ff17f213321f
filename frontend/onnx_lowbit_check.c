/*
 * onnx_lowbit_check.c — before conversion, finds the nodes whose 4-bit or 2-bit integer type
 * (UINT4 / INT4 of opset 21, UINT2 / INT2 of opset 25) only their constant inputs say.
 *
 * Why: wafer holds such tensors widened to one byte (onnx_tensor_lowbit.c), which is exact
 * for what reads them (DequantizeLinear, Cast from them, the data-movement ops), but a
 * QuantizeLinear whose y_zero_point is a widened int4 constant would then saturate to the
 * int8 range. Such a node is recorded with the type, and its conversion adds the
 * output_dtype attribute ONNX allows beside a zero point of the same type (the runtime's
 * QuantizeLinear stores sub-byte outputs widened, saturated to their range). A CastLike whose
 * target_type is such a value is refused by name: Cast with `to` says the same.
 * Algorithm: per graph (subgraphs depth first, each seeing its ancestors' names) look up
 * where the QuantizeLinear zero points and CastLike targets come from: packed-type
 * initializers and Constants, Casts and QuantizeLinears to sub-byte types, values declared
 * so. Linear searches: a graph's QuantizeLinear and CastLike nodes are few.
 */
#include "onnx_tensor_lowbit.h"

#include <stdlib.h>
#include <string.h>

typedef struct LowbitScope {
    const Onnx__GraphProto *gp;        /* borrowed */
    const struct LowbitScope *parent;  /* enclosing graph's scope; NULL at the top */
} LowbitScope;

static int lowbit_attr_int(const Onnx__NodeProto *np, const char *name) {
    for (size_t a = 0; a < np->n_attribute; a++)
        if (np->attribute[a]->name && strcmp(np->attribute[a]->name, name) == 0) return (int)np->attribute[a]->i;
    return 0;
}

/* The sub-byte type a graph declares for `name` (an input, output or value_info of such an
 * elem_type), 0 when it declares another or none. */
static int lowbit_declared(const Onnx__GraphProto *gp, const char *name) {
    const Onnx__ValueInfoProto *const *lists[3] = {(const Onnx__ValueInfoProto *const *)gp->input,
                                                   (const Onnx__ValueInfoProto *const *)gp->output,
                                                   (const Onnx__ValueInfoProto *const *)gp->value_info};
    size_t counts[3] = {gp->n_input, gp->n_output, gp->n_value_info};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            const Onnx__ValueInfoProto *vi = lists[l][i];
            if (!vi->name || strcmp(vi->name, name) != 0) continue;
            const Onnx__TypeProto *tp = vi->type;
            int dt = tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type &&
                             tp->tensor_type->has_elem_type ? tp->tensor_type->elem_type : 0;
            return onnx_dtype_lowbit_bits(dt) ? dt : 0;
        }
    return 0;
}

/* The sub-byte type (21, 22, 25, 26) of `name` as visible in s, 0 when it has none: an
 * initializer or Constant of a packed type; the output of a Cast to one or of a
 * QuantizeLinear whose output_dtype or zero point is one; else what the graph declares (its
 * inputs, outputs, value_info: a Reshape of an int4 value is int4 only if declared so).
 * depth bounds the zero-point chain, which a crafted model could make circular. */
static int lowbit_type_of(const LowbitScope *s, const char *name, int depth) {
    if (depth > 8) return 0;
    for (; s; s = s->parent) {
        for (size_t i = 0; i < s->gp->n_initializer; i++) {
            const Onnx__TensorProto *t = s->gp->initializer[i];
            if (t->name && strcmp(t->name, name) == 0) return onnx_tensor_is_lowbit(t) ? t->data_type : 0;
        }
        for (size_t k = 0; k < s->gp->n_node; k++) {
            const Onnx__NodeProto *np = s->gp->node[k];
            if (!np->op_type || np->n_output < 1 || !np->output[0] || strcmp(np->output[0], name) != 0) continue;
            int dom = !np->domain || !np->domain[0] || strcmp(np->domain, "ai.onnx") == 0;
            if (dom && strcmp(np->op_type, "Constant") == 0) {
                for (size_t a = 0; a < np->n_attribute; a++)
                    if (np->attribute[a]->t && onnx_tensor_is_lowbit(np->attribute[a]->t))
                        return np->attribute[a]->t->data_type;
                return 0;
            }
            if (dom && strcmp(np->op_type, "Cast") == 0 && onnx_dtype_lowbit_bits(lowbit_attr_int(np, "to")))
                return lowbit_attr_int(np, "to");
            if (dom && strcmp(np->op_type, "QuantizeLinear") == 0) {
                int od = lowbit_attr_int(np, "output_dtype");
                if (od) return onnx_dtype_lowbit_bits(od) ? od : 0;
                return np->n_input > 2 && np->input[2] && np->input[2][0] ? lowbit_type_of(s, np->input[2], depth + 1) : 0;
            }
            return lowbit_declared(s->gp, name);
        }
        int dt = lowbit_declared(s->gp, name); /* a graph input, or an outer value re-declared */
        if (dt) return dt;
        for (size_t i = 0; i < s->gp->n_input; i++)
            if (s->gp->input[i]->name && strcmp(s->gp->input[i]->name, name) == 0) return 0;
    }
    return 0;
}

static const char *lowbit_type_name(int dt) {
    return dt == 21 ? "uint4" : dt == 22 ? "int4" : dt == 25 ? "uint2" : "int2";
}

static int lowbit_record(OnnxCtx *ctx, const Onnx__NodeProto *np, int dt) {
    int n = ctx->n_lowbit_q;
    const Onnx__NodeProto **q = realloc(ctx->lowbit_q, sizeof *q * (size_t)(n + 1));
    if (q) ctx->lowbit_q = q;
    int *t = q ? realloc(ctx->lowbit_q_type, sizeof *t * (size_t)(n + 1)) : NULL;
    if (!t) return onnx_fail(ctx, "out of memory");
    ctx->lowbit_q_type = t;
    ctx->lowbit_q[n] = np;
    t[n] = dt;
    ctx->n_lowbit_q = n + 1;
    return RT_OK;
}

static int lowbit_check_node(OnnxCtx *ctx, const Onnx__NodeProto *np, const LowbitScope *s) {
    int dom = !np->domain || !np->domain[0] || strcmp(np->domain, "ai.onnx") == 0;
    if (!dom || !np->op_type) return RT_OK;
    if (strcmp(np->op_type, "CastLike") == 0 && np->n_input > 1 && np->input[1] && np->input[1][0]) {
        int dt = lowbit_type_of(s, np->input[1], 0);
        if (!dt) return RT_OK;
        return onnx_fail(ctx, "node '%s' (CastLike): a %s target_type is not supported (use Cast with to = %d)",
                         np->name ? np->name : "", lowbit_type_name(dt), dt);
    }
    if (strcmp(np->op_type, "QuantizeLinear") != 0) return RT_OK;
    for (size_t a = 0; a < np->n_attribute; a++)
        if (np->attribute[a]->name && strcmp(np->attribute[a]->name, "output_dtype") == 0 &&
            np->attribute[a]->i != 0)
            return RT_OK; /* the attribute says the type; the kernel checks the zero point against it */
    int dt = np->n_input > 2 && np->input[2] && np->input[2][0] ? lowbit_type_of(s, np->input[2], 0) : 0;
    return dt ? lowbit_record(ctx, np, dt) : RT_OK;
}

static int lowbit_check_graph(OnnxCtx *ctx, const Onnx__GraphProto *gp, const LowbitScope *parent) {
    LowbitScope s = {gp, parent};
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        ONNX_TRY(lowbit_check_node(ctx, np, &s));
        for (size_t a = 0; a < np->n_attribute; a++) {
            const Onnx__AttributeProto *ap = np->attribute[a];
            if (ap->g) ONNX_TRY(lowbit_check_graph(ctx, ap->g, &s));
            for (size_t j = 0; j < ap->n_graphs; j++) ONNX_TRY(lowbit_check_graph(ctx, ap->graphs[j], &s));
        }
    }
    return RT_OK;
}

int onnx_lowbit_check(OnnxCtx *ctx, const Onnx__GraphProto *gp) { return lowbit_check_graph(ctx, gp, NULL); }

int onnx_lowbit_q_type(const OnnxCtx *ctx, const Onnx__NodeProto *np) {
    for (int i = 0; i < ctx->n_lowbit_q; i++)
        if (ctx->lowbit_q[i] == np) return ctx->lowbit_q_type[i];
    return 0;
}

void onnx_lowbit_release(OnnxCtx *ctx) {
    free(ctx->lowbit_q);
    free(ctx->lowbit_q_type);
    ctx->lowbit_q = NULL;
    ctx->lowbit_q_type = NULL;
    ctx->n_lowbit_q = 0;
}
