/*
 * onnx_lowbit_check.c — refuses, before conversion, the QuantizeLinear nodes that would
 * produce 4-bit or 2-bit integers (UINT4 / INT4 of opset 21, UINT2 / INT2 of opset 25).
 *
 * Why: wafer holds such tensors widened to one byte (onnx_tensor_lowbit.c), which is exact
 * for what reads them (DequantizeLinear, Cast from them, the data-movement ops) but would make
 * a QuantizeLinear whose y_zero_point is a widened 2-bit constant saturate to the int8 range,
 * a silently wrong result. Such a node is refused by name instead: its output_dtype attribute,
 * or its y_zero_point naming an initializer or Constant of a packed type.
 * Algorithm: per graph (subgraphs depth first, each seeing its ancestors' names) collect the
 * names of packed-type initializers and Constant outputs, then check every QuantizeLinear of
 * the default domain against them. Linear searches: a graph's QuantizeLinear nodes are few.
 */
#include "onnx_tensor_lowbit.h"

#include <string.h>

typedef struct LowbitScope {
    const Onnx__GraphProto *gp;        /* borrowed */
    const struct LowbitScope *parent;  /* enclosing graph's scope; NULL at the top */
} LowbitScope;

/* The packed type (21, 22, 25, 26) of the initializer or Constant output `name` visible in s,
 * 0 when it is none of those. */
static int lowbit_type_of(const LowbitScope *s, const char *name) {
    for (; s; s = s->parent) {
        for (size_t i = 0; i < s->gp->n_initializer; i++) {
            const Onnx__TensorProto *t = s->gp->initializer[i];
            if (t->name && strcmp(t->name, name) == 0) return onnx_tensor_is_lowbit(t) ? t->data_type : 0;
        }
        for (size_t k = 0; k < s->gp->n_node; k++) {
            const Onnx__NodeProto *np = s->gp->node[k];
            if (!np->op_type || strcmp(np->op_type, "Constant") != 0 || np->n_output < 1 || !np->output[0] ||
                strcmp(np->output[0], name) != 0)
                continue;
            for (size_t a = 0; a < np->n_attribute; a++)
                if (np->attribute[a]->t && onnx_tensor_is_lowbit(np->attribute[a]->t))
                    return np->attribute[a]->t->data_type;
            return 0;
        }
    }
    return 0;
}

static const char *lowbit_type_name(int dt) {
    return dt == 21 ? "uint4" : dt == 22 ? "int4" : dt == 25 ? "uint2" : "int2";
}

static int lowbit_check_node(OnnxCtx *ctx, const Onnx__NodeProto *np, const LowbitScope *s) {
    int dom = !np->domain || !np->domain[0] || strcmp(np->domain, "ai.onnx") == 0;
    if (!dom || !np->op_type || strcmp(np->op_type, "QuantizeLinear") != 0) return RT_OK;
    int dt = 0;
    for (size_t a = 0; a < np->n_attribute; a++)
        if (np->attribute[a]->name && strcmp(np->attribute[a]->name, "output_dtype") == 0 &&
            onnx_dtype_lowbit_bits((int)np->attribute[a]->i))
            dt = (int)np->attribute[a]->i;
    if (!dt && np->n_input > 2 && np->input[2] && np->input[2][0]) dt = lowbit_type_of(s, np->input[2]);
    if (!dt) return RT_OK;
    return onnx_fail(ctx, "node '%s' (QuantizeLinear): quantizing to %s is not supported (wafer reads %s tensors "
                     "only as constants, e.g. DequantizeLinear inputs)", np->name ? np->name : "",
                     lowbit_type_name(dt), lowbit_type_name(dt));
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
