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
 * target_type is such a constant is refused by name: Cast with `to` says the same.
 * Algorithm: per graph (subgraphs depth first, each seeing its ancestors' names) look up the
 * QuantizeLinear zero points and CastLike targets among the packed-type initializers and
 * Constant outputs. Linear searches: a graph's QuantizeLinear nodes are few.
 */
#include "onnx_tensor_lowbit.h"

#include <stdlib.h>
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
        int dt = lowbit_type_of(s, np->input[1]);
        if (!dt) return RT_OK;
        return onnx_fail(ctx, "node '%s' (CastLike): a %s target_type is not supported (use Cast with to = %d)",
                         np->name ? np->name : "", lowbit_type_name(dt), dt);
    }
    if (strcmp(np->op_type, "QuantizeLinear") != 0) return RT_OK;
    for (size_t a = 0; a < np->n_attribute; a++)
        if (np->attribute[a]->name && strcmp(np->attribute[a]->name, "output_dtype") == 0 &&
            np->attribute[a]->i != 0)
            return RT_OK; /* the attribute says the type; the kernel checks the zero point against it */
    int dt = np->n_input > 2 && np->input[2] && np->input[2][0] ? lowbit_type_of(s, np->input[2]) : 0;
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
