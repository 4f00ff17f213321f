/*
 * onnx_subgraph.c — GRAPH attributes (If's then_branch / else_branch) and outer-scope
 * captures.
 *
 * THE CONVENTION (the If kernel in runtime/kernels/ref/control.c and every pass rely on it):
 *   In ONNX a subgraph may read any value of an enclosing graph by name ("outer-scope
 *   capture"). wafer makes every capture explicit, so a subgraph is a closed graph that
 *   runs on its own inputs:
 *     1. while a branch is built, a name it reads that an enclosing graph defines becomes a
 *        local value of the branch, recorded as one of its captures (first-use order);
 *     2. the union of the captured names of all of the node's subgraphs is taken (the first
 *        subgraph's captures, then the names only later ones capture);
 *     3. each subgraph's inputs become: its own declared inputs (none for If), then the
 *        union's names in that order (a branch that does not read a name gets an unused
 *        input for it);
 *     4. the node's inputs become: its own inputs, then the enclosing graph's values for the
 *        union's names in the same order.
 *   So for If: in[0] is cond and in[1..n_in-1] are the captures; both branches take exactly
 *   in[1..] as their inputs, and the kernel runs the chosen branch with
 *   c->run_subgraph(c, branch, &in[1], n_in - 1, ...).
 *   Nested subgraphs work the same way one level at a time: a name captured two levels up
 *   is captured by the middle graph too, and passed down.
 *   A subgraph records how many of its inputs it declares itself (IrGraph.n_declared, kept by
 *   the lowering into RtGraph.n_declared and by the .wafer file): inputs [0, n_declared) are
 *   its declared inputs, the rest captures. The node's input and output counts alone do not
 *   say where the captures start, so Loop and Scan kernels read it:
 *     Loop: node inputs (M, cond, v_initial[N], captures[C]); body inputs (iteration_num,
 *       cond, v[N], captures[C]) with n_declared = 2 + N; body outputs (cond, v[N],
 *       scan[K]); node outputs (v_final[N], scan_outputs[K]). So N = n_declared - 2,
 *       C = n_in - n_declared, K = body outputs - 1 - N.
 *     Scan: node inputs (states[N], scan_inputs[M], captures[C]) (opset 8: sequence_lens
 *       first); body inputs (states[N], slices[M], captures[C]) with n_declared = N + M;
 *       body outputs (states[N], scan_outputs[K]); node outputs the same.
 *   Loop and Scan bodies may carry tensors only: a sequence, optional or map typed body input
 *   or output is refused at load, naming the node.
 */
#include "onnx_internal.h"

#include <stdlib.h>
#include <string.h>

int onnx_scope_resolve(OnnxCtx *ctx, OnnxScope *s, const char *name) {
    int v = onnx_names_get(&s->names, name);
    if (v >= 0 || !s->parent) return v;
    int outer = onnx_scope_resolve(ctx, s->parent, name);
    if (outer < 0) return -1;
    if (s->n_captures == s->cap_captures) {
        int cap = s->cap_captures ? 2 * s->cap_captures : 8;
        int *p = realloc(s->captures, sizeof(int) * (size_t)cap);
        if (!p) return onnx_fail(ctx, "out of memory"), -1;
        s->captures = p;
        s->cap_captures = cap;
    }
    v = ir_value_add(s->g, name);
    if (v < 0 || onnx_names_put(&s->names, s->g->values[v].name, v) != 0)
        return onnx_fail(ctx, "out of memory"), -1;
    /* The outer value's type, so shape inference inside the branch starts informed. */
    const IrValue *ov = &s->parent->g->values[outer];
    IrValue *lv = &s->g->values[v];
    lv->dtype = ov->dtype;
    lv->rank = ov->rank;
    for (int d = 0; d < ov->rank && d < RT_MAX_RANK; d++) {
        lv->dims[d].value = ov->dims[d].value;
        lv->dims[d].sym = ov->dims[d].sym ? ir_strdup(s->g, ov->dims[d].sym) : NULL;
    }
    s->captures[s->n_captures++] = v;
    return v;
}

void onnx_scope_free(OnnxScope *s) {
    onnx_names_free(&s->names);
    free(s->captures);
    s->captures = NULL;
    s->n_captures = s->cap_captures = 0;
}

/* Builds one subgraph into *inner. */
static int subgraph_build(OnnxCtx *ctx, const Onnx__GraphProto *gp, OnnxScope *outer,
                          OnnxScope *inner) {
    IrGraph *sg = ir_graph_new();
    if (!sg) return onnx_fail(ctx, "out of memory");
    memset(inner, 0, sizeof *inner);
    inner->g = sg;
    inner->parent = outer;
    sg->parent = outer->g;
    sg->opset = outer->g->opset;
    sg->ir_version = outer->g->ir_version;
    sg->path = ir_strdup(sg, outer->g->path);
    sg->producer_name = ir_strdup(sg, outer->g->producer_name);
    if (!sg->path || !sg->producer_name) return onnx_fail(ctx, "out of memory");
    ONNX_TRY(onnx_graph_convert(ctx, gp, inner));
    if ((size_t)sg->n_inputs != gp->n_input)
        return onnx_fail(ctx, "subgraph '%s': %zu declared inputs but %d are fed (an input is also an "
                         "initializer), which a subgraph may not do", sg->name, gp->n_input, sg->n_inputs);
    sg->n_declared = sg->n_inputs; /* captures are appended after these (step 3) */
    return RT_OK;
}

/* A type a Loop/Scan body may carry: a tensor, or not stated. */
static const char *subgraph_type_refused(const Onnx__TypeProto *tp) {
    if (!tp) return NULL;
    switch (tp->value_case) {
    case ONNX__TYPE_PROTO__VALUE__NOT_SET:
    case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE: return NULL;
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: return "a sequence";
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: return "an optional";
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: return "a map";
    default: return "a non-tensor";
    }
}

/* Loop and Scan: the body carries tensors only, and its declared inputs and outputs match
 * the node's (counts as in the convention above). */
static int subgraph_loop_check(OnnxCtx *ctx, const Onnx__NodeProto *np, const Onnx__GraphProto *gp) {
    const char *op = np->op_type ? np->op_type : "", *domain = np->domain ? np->domain : "";
    int loop = strcmp(op, "Loop") == 0;
    if ((domain[0] && strcmp(domain, "ai.onnx") != 0) || (!loop && strcmp(op, "Scan") != 0)) return RT_OK;
    char nd[300];
    onnx_node_desc(np, nd, sizeof nd);
    for (int io = 0; io < 2; io++) {
        size_t n = io ? gp->n_output : gp->n_input;
        for (size_t i = 0; i < n; i++) {
            const Onnx__ValueInfoProto *vi = io ? gp->output[i] : gp->input[i];
            const char *kind = subgraph_type_refused(vi->type);
            if (kind)
                return onnx_fail(ctx, "%s: body %s '%s' is %s value; wafer's %s carries tensors only", nd,
                                 io ? "output" : "input", vi->name ? vi->name : "", kind, op);
        }
    }
    if (!loop) return RT_OK; /* Scan's counts depend on num_scan_inputs: its kernel checks them */
    if (gp->n_input < 2 || gp->n_output < 1 || np->n_input < 2 || np->n_input != gp->n_input ||
        gp->n_output + 1 < gp->n_input || np->n_output + 1 != gp->n_output)
        return onnx_fail(ctx, "%s: the body has %zu inputs and %zu outputs, the node %zu inputs and %zu outputs "
                         "(expected body inputs (iteration_num, cond, N carried) for node inputs (M, cond, N "
                         "initial values), body outputs (cond, N carried, K scan) for N + K node outputs)",
                         nd, gp->n_input, gp->n_output, np->n_input, np->n_output);
    return RT_OK;
}

/* Collects the union of captured names, in order, as value names of the inner graphs. */
static int subgraph_union(OnnxScope *inner, int n_inner, const char ***names, int *n_names) {
    int total = 0;
    for (int j = 0; j < n_inner; j++) total += inner[j].n_captures;
    *names = malloc(sizeof(char *) * (size_t)(total + 1));
    if (!*names) return -1;
    *n_names = 0;
    for (int j = 0; j < n_inner; j++)
        for (int c = 0; c < inner[j].n_captures; c++) {
            const char *nm = inner[j].g->values[inner[j].captures[c]].name;
            int seen = 0;
            for (int u = 0; u < *n_names && !seen; u++) seen = strcmp((*names)[u], nm) == 0;
            if (!seen) (*names)[(*n_names)++] = nm;
        }
    return 0;
}

/* Appends the union's names to a subgraph's inputs (step 3 of the convention). */
static int subgraph_inputs_set(OnnxCtx *ctx, const Onnx__NodeProto *np, OnnxScope *inner,
                               const char **names, int n_names) {
    IrGraph *sg = inner->g;
    int *in = realloc(sg->inputs, sizeof(int) * (size_t)(sg->n_inputs + n_names + 1));
    if (!in) return onnx_fail(ctx, "out of memory");
    sg->inputs = in;
    char nd[300];
    for (int u = 0; u < n_names; u++) {
        int v = onnx_names_get(&inner->names, names[u]);
        int captured = 0;
        for (int c = 0; c < inner->n_captures && !captured; c++) captured = inner->captures[c] == v;
        if (v >= 0 && !captured)
            return onnx_fail(ctx, "%s: subgraph '%s' defines '%s', which is also a value of an "
                             "enclosing graph", onnx_node_desc(np, nd, sizeof nd), sg->name, names[u]);
        if (v < 0) { /* this branch does not read it: an unused input */
            v = ir_value_add(sg, names[u]);
            if (v < 0) return onnx_fail(ctx, "out of memory");
        }
        in[sg->n_inputs++] = v;
    }
    return RT_OK;
}

int onnx_subgraphs_convert(OnnxCtx *ctx, const Onnx__NodeProto *np, OnnxScope *outer,
                           RtAttr *attrs, int **extra, int *n_extra) {
    *extra = NULL;
    *n_extra = 0;
    int n_inner = 0;
    for (size_t i = 0; i < np->n_attribute; i++) n_inner += attrs[i].type == RT_ATTR_GRAPH;
    OnnxScope *inner = calloc((size_t)n_inner + 1, sizeof *inner);
    if (!inner) return onnx_fail(ctx, "out of memory");
    int r = RT_OK, j = 0;
    for (size_t i = 0; i < np->n_attribute && r == RT_OK; i++) {
        if (attrs[i].type != RT_ATTR_GRAPH) continue;
        r = subgraph_loop_check(ctx, np, np->attribute[i]->g);
        if (r == RT_OK) r = subgraph_build(ctx, np->attribute[i]->g, outer, &inner[j]);
        attrs[i].g = inner[j++].g;
    }
    const char **names = NULL;
    int n_names = 0;
    if (r == RT_OK && subgraph_union(inner, n_inner, &names, &n_names) != 0) r = onnx_fail(ctx, "out of memory");
    for (j = 0; j < n_inner && r == RT_OK; j++) r = subgraph_inputs_set(ctx, np, &inner[j], names, n_names);
    if (r == RT_OK && !(*extra = malloc(sizeof(int) * (size_t)(n_names + 1)))) r = onnx_fail(ctx, "out of memory");
    for (int u = 0; u < n_names && r == RT_OK; u++) {
        int v = onnx_scope_resolve(ctx, outer, names[u]); /* defined: the branch found it there */
        if (v < 0) r = onnx_fail(ctx, "internal error: capture '%s' vanished", names[u]);
        else (*extra)[(*n_extra)++] = v;
    }
    free(names);
    for (j = 0; j < n_inner; j++) onnx_scope_free(&inner[j]);
    free(inner);
    if (r != RT_OK) {
        for (size_t i = 0; i < np->n_attribute; i++)
            if (attrs[i].type == RT_ATTR_GRAPH) {
                ir_graph_free((IrGraph *)attrs[i].g);
                attrs[i].g = NULL;
            }
        free(*extra);
        *extra = NULL;
        *n_extra = 0;
    }
    return r;
}
