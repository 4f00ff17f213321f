/*
 * onnx_graph.c — GraphProto -> IrGraph: values, constants, nodes, inputs and outputs.
 *
 * Order of work, which is also the order names become visible:
 *   1. initializers become constant values;
 *   2. graph inputs that are not initializers become the graph's inputs (an input that is
 *      also an initializer is a constant with a default, and wafer treats it as constant);
 *   3. nodes in file order (ONNX requires topological order): inputs are resolved by name
 *      (in this graph, or captured from an enclosing one, see onnx_subgraph.c), attributes
 *      and subgraphs converted, then the outputs defined. Constant nodes become constants;
 *   4. graph outputs are resolved; declared types (outputs, value_info) are recorded on the
 *      values nodes produce.
 * Each value name is defined once; a name read before any definition is an error naming
 * the node and the input.
 */
#include "onnx_internal.h"
#include "onnx_tensor_lowbit.h"

#include "../runtime/rt_arity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *graph_arena_alloc(void *user, size_t bytes) { return ir_alloc(user, bytes); }

/* 1 when the name is defined in this scope or one around it (no capture made). */
static int graph_name_defined(const OnnxScope *s, const char *name) {
    for (; s; s = s->parent)
        if (onnx_names_get(&s->names, name) >= 0) return 1;
    return 0;
}

/* Adds a value named `name` and registers it; `what` names it for errors. */
static int graph_value_define(OnnxCtx *ctx, OnnxScope *s, const char *name, const char *what) {
    if (graph_name_defined(s, name))
        return onnx_fail(ctx, "%s: value '%s' is defined twice", what, name), -1;
    int v = ir_value_add(s->g, name);
    if (v < 0 || onnx_names_put(&s->names, s->g->values[v].name, v) != 0)
        return onnx_fail(ctx, "%s: out of memory", what), -1;
    return v;
}

/* Records a declared type (elem_type and shape) on value v. Non-tensor types are left unknown. */
static int graph_type_apply(OnnxCtx *ctx, IrGraph *g, int v, const Onnx__TypeProto *tp) {
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) return RT_OK;
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    IrValue *val = &g->values[v];
    /* Codes wafer names (complex 14/15 and the 8-bit floats are not): others stay unknown; the
     * sub-byte integers are int8 / uint8, as wafer holds them. */
    if (tt->has_elem_type && tt->elem_type > 0 && tt->elem_type < RT_DTYPE_END && tt->elem_type != 14 &&
        tt->elem_type != 15)
        val->dtype = (RtDtype)tt->elem_type;
    if (tt->has_elem_type && onnx_dtype_lowbit_bits(tt->elem_type)) { /* held widened, one per byte */
        val->dtype = tt->elem_type == ONNX_DTYPE_INT4 || tt->elem_type == ONNX_DTYPE_INT2 ? RT_I8 : RT_U8;
        val->lowbit = tt->elem_type;
    }
    if (!tt->shape) return RT_OK;
    if (tt->shape->n_dim > RT_MAX_RANK)
        return onnx_fail(ctx, "value '%s': rank %zu exceeds the maximum %d", val->name,
                         tt->shape->n_dim, RT_MAX_RANK);
    val->rank = (int)tt->shape->n_dim;
    for (int d = 0; d < val->rank; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        val->dims[d].value = -1;
        val->dims[d].sym = NULL;
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dim->dim_value >= 0) {
            val->dims[d].value = dim->dim_value;
        } else if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                   dim->dim_param && dim->dim_param[0]) {
            val->dims[d].sym = ir_strdup(g, dim->dim_param);
            if (!val->dims[d].sym) return onnx_fail(ctx, "value '%s': out of memory", val->name);
        }
    }
    return RT_OK;
}

static int graph_initializers_convert(OnnxCtx *ctx, const Onnx__GraphProto *gp, OnnxScope *s) {
    char what[300];
    OnnxAlloc al = {graph_arena_alloc, s->g};
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        snprintf(what, sizeof what, "initializer '%s'", tp->name ? tp->name : "");
        if (!tp->name || !tp->name[0]) return onnx_fail(ctx, "initializer %zu has no name", i);
        RtTensor *t = ir_alloc(s->g, sizeof *t);
        if (!t) return onnx_fail(ctx, "%s: out of memory", what);
        ONNX_TRY(onnx_tensor_convert(ctx, tp, what, &al, t));
        int v = graph_value_define(ctx, s, tp->name, what);
        if (v < 0) return RT_ERR;
        s->g->values[v].konst = t;
        ir_value_set_shape(&s->g->values[v], t->dtype, t->rank, t->dims);
    }
    if (gp->n_sparse_initializer)
        return onnx_fail(ctx, "graph '%s': sparse initializers are not supported", s->g->name);
    return RT_OK;
}

static int graph_inputs_convert(OnnxCtx *ctx, const Onnx__GraphProto *gp, OnnxScope *s) {
    IrGraph *g = s->g;
    g->inputs = malloc(sizeof(int) * (gp->n_input + 1));
    if (!g->inputs) return onnx_fail(ctx, "out of memory");
    char what[300];
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *name = gp->input[i]->name ? gp->input[i]->name : "";
        snprintf(what, sizeof what, "graph input '%s'", name);
        int v = onnx_names_get(&s->names, name);
        if (v >= 0 && g->values[v].konst) continue; /* an initializer: a constant, not fed */
        if ((v = graph_value_define(ctx, s, name, what)) < 0) return RT_ERR;
        ONNX_TRY(graph_type_apply(ctx, g, v, gp->input[i]->type));
        g->inputs[g->n_inputs++] = v;
    }
    return RT_OK;
}

static int graph_constant_node(OnnxCtx *ctx, const Onnx__NodeProto *np, OnnxScope *s) {
    char nd[300];
    onnx_node_desc(np, nd, sizeof nd);
    if (np->n_output != 1 || np->n_input != 0)
        return onnx_fail(ctx, "%s: needs no inputs and one output", nd);
    RtTensor *t = NULL;
    ONNX_TRY(onnx_constant_convert(ctx, np, s->g, &t));
    int v = graph_value_define(ctx, s, np->output[0], nd);
    if (v < 0) return RT_ERR;
    s->g->values[v].konst = t;
    s->g->values[v].from_constant_node = 1;
    ir_value_set_shape(&s->g->values[v], t->dtype, t->rank, t->dims);
    return RT_OK;
}

/* Resolves the node's own inputs into in[] ("" -> -1, absent optional input). */
static int graph_node_inputs(OnnxCtx *ctx, const Onnx__NodeProto *np, OnnxScope *s, int *in) {
    char nd[300];
    for (size_t j = 0; j < np->n_input; j++) {
        const char *name = np->input[j];
        in[j] = -1;
        if (!name[0]) continue;
        in[j] = onnx_scope_resolve(ctx, s, name);
        if (in[j] < 0)
            return onnx_fail(ctx, "%s: input '%s' is not defined (no initializer, graph input or "
                             "earlier node output has that name)", onnx_node_desc(np, nd, sizeof nd), name);
    }
    return RT_OK;
}

static int graph_node_outputs(OnnxCtx *ctx, const Onnx__NodeProto *np, OnnxScope *s, int *out) {
    char nd[300];
    onnx_node_desc(np, nd, sizeof nd);
    for (size_t j = 0; j < np->n_output; j++) {
        out[j] = -1;
        if (np->output[j][0] && (out[j] = graph_value_define(ctx, s, np->output[j], nd)) < 0) return RT_ERR;
    }
    return RT_OK;
}

/* Op lookup and the unknown-op rule; *op and *opset out. */
static int graph_node_op(OnnxCtx *ctx, const Onnx__NodeProto *np, int *op, int *opset) {
    const char *domain = np->domain ? np->domain : "", *op_type = np->op_type ? np->op_type : "";
    *opset = onnx_domain_opset(ctx, domain);
    *op = rt_op_lookup(domain, op_type);
    if (*op == RT_OP_UNKNOWN && !ctx->allow_unknown_ops)
        return onnx_fail(ctx, "node '%s': op '%s' (domain '%s', opset %d) is not supported",
                         np->name ? np->name : "", op_type, domain, *opset);
    if (*op != RT_OP_UNKNOWN && *opset == 0)
        return onnx_fail(ctx, "node '%s' (%s): domain '%s' is not imported by the model",
                         np->name ? np->name : "", op_type, domain);
    return RT_OK;
}

static void graph_attrs_release(const Onnx__NodeProto *np, RtAttr *attrs) {
    for (size_t i = 0; i < np->n_attribute; i++)
        if (attrs[i].type == RT_ATTR_GRAPH) ir_graph_free((IrGraph *)attrs[i].g);
}

static int graph_node_convert(OnnxCtx *ctx, const Onnx__NodeProto *np, OnnxScope *s) {
    IrGraph *g = s->g;
    int op, opset;
    ONNX_TRY(graph_node_op(ctx, np, &op, &opset));
    if (op == RT_OP_CONSTANT) return graph_constant_node(ctx, np, s);
    RtAttr *attrs = ir_alloc(g, sizeof(RtAttr) * (np->n_attribute + 1));
    int *in = malloc(sizeof(int) * (np->n_input + 1)), *out = malloc(sizeof(int) * (np->n_output + 1));
    int *extra = NULL, n_extra = 0, has_graphs = 0, r = RT_OK;
    if (!attrs || !in || !out) r = onnx_fail(ctx, "out of memory");
    if (r == RT_OK) r = graph_node_inputs(ctx, np, s, in);
    if (r == RT_OK) r = onnx_attrs_convert(ctx, np, op, g, attrs);
    for (size_t i = 0; r == RT_OK && i < np->n_attribute; i++) has_graphs |= attrs[i].type == RT_ATTR_GRAPH;
    if (r == RT_OK && has_graphs) r = onnx_subgraphs_convert(ctx, np, s, attrs, &extra, &n_extra);
    int *all_in = NULL;
    if (r == RT_OK && !(all_in = malloc(sizeof(int) * (np->n_input + (size_t)n_extra + 1))))
        r = onnx_fail(ctx, "out of memory");
    if (r == RT_OK) {
        memcpy(all_in, in, sizeof(int) * np->n_input);
        if (n_extra) memcpy(all_in + np->n_input, extra, sizeof(int) * (size_t)n_extra);
        r = graph_node_outputs(ctx, np, s, out);
    }
    int k = -1;
    if (r == RT_OK && (k = ir_node_add(g, op, np->name, (int)np->n_input + n_extra, all_in,
                                       (int)np->n_output, out)) < 0)
        r = onnx_fail(ctx, "out of memory");
    if (r == RT_OK) {
        RtNode *n = &g->nodes[k];
        n->attrs = attrs;
        n->n_attr = (int)np->n_attribute;
        n->opset = opset;
        int low = op == RT_OP_QUANTIZE_LINEAR ? onnx_lowbit_q_type(ctx, np) : 0;
        if (low) /* a sub-byte y_zero_point's type, which its widened constant no longer says */
            attrs[n->n_attr++] = (RtAttr){.name = "output_dtype", .type = RT_ATTR_INT, .i = low};
        /* counts and required inputs per the op's spec at this opset (runtime/rt_arity.c):
         * kernels, shape inference included, read required inputs unchecked */
        RtError ae = {{0}};
        if (rt_node_arity_check(n, opset, &ae) != RT_OK) r = onnx_fail(ctx, "%s", ae.msg);
        if (r == RT_OK && op == RT_OP_UNKNOWN) {
            n->op_type = ir_strdup(g, np->op_type);
            n->domain = ir_strdup(g, np->domain);
            if (!n->op_type || !n->domain) r = onnx_fail(ctx, "out of memory");
        }
    } else if (attrs && has_graphs) {
        graph_attrs_release(np, attrs); /* the node never made it into the graph */
    }
    free(in);
    free(out);
    free(extra);
    free(all_in);
    return r;
}

/* Graph outputs, then declared types on produced values. */
static int graph_outputs_convert(OnnxCtx *ctx, const Onnx__GraphProto *gp, OnnxScope *s) {
    IrGraph *g = s->g;
    g->outputs = malloc(sizeof(int) * (gp->n_output + 1));
    if (!g->outputs) return onnx_fail(ctx, "out of memory");
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name ? gp->output[i]->name : "";
        int v = onnx_scope_resolve(ctx, s, name);
        if (v < 0)
            return onnx_fail(ctx, "graph '%s': output '%s' is not produced by any node, input or "
                             "initializer", g->name, name);
        g->outputs[g->n_outputs++] = v;
        if (g->values[v].producer >= 0) ONNX_TRY(graph_type_apply(ctx, g, v, gp->output[i]->type));
    }
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        int v = vi->name ? onnx_names_get(&s->names, vi->name) : -1;
        if (v >= 0 && g->values[v].producer >= 0) ONNX_TRY(graph_type_apply(ctx, g, v, vi->type));
    }
    return RT_OK;
}

int onnx_graph_convert(OnnxCtx *ctx, const Onnx__GraphProto *gp, OnnxScope *s) {
    s->g->name = ir_strdup(s->g, gp->name);
    if (!s->g->name) return onnx_fail(ctx, "out of memory");
    ONNX_TRY(graph_initializers_convert(ctx, gp, s));
    ONNX_TRY(graph_inputs_convert(ctx, gp, s));
    for (size_t k = 0; k < gp->n_node; k++) ONNX_TRY(graph_node_convert(ctx, gp->node[k], s));
    return graph_outputs_convert(ctx, gp, s);
}
