/*
 * fold_constants.c — evaluates at compile time what does not depend on the graph inputs.
 *
 * Requires: a verified graph; value shapes from ir_infer_shapes (for Shape/Size folding).
 * Provides: no node whose inputs are all constants remains (unless its kernel is missing or
 * fails, its result would be huge, see FOLD_MAX_ELEMS, or it is a random generator); Shape and Size of values whose
 * shape is fully known are constants; an If whose condition is constant is replaced by the
 * chosen branch's nodes. A quantized graph (g->keep_dequantize) keeps its DequantizeLinear of
 * constant codes: folding it would store the weights as float again.
 *
 * One walk in topological order: a node whose present inputs are all constants runs through
 * the reference kernel (rt_node_exec), and its outputs become constants in the graph arena at
 * once, so whole chains (Shape -> Gather -> Unsqueeze -> Concat -> Reshape's shape) fold in
 * the same walk. Folded nodes are marked deleted and the graph is compacted at the end.
 * Subgraphs are folded too.
 */
#include "pass_internal.h"

#include <stdlib.h>
#include <string.h>

#include "../runtime/rt_exec.h"

/* A folded result may exceed this many elements only if it is no more than FOLD_MAX_GROWTH
 * times the size of its inputs: ConstantOfShape/Expand/Tile/Range would otherwise turn a few
 * bytes of shape into megabytes of weights that the runtime computes cheaply. */
#define FOLD_MAX_ELEMS (1 << 20)
#define FOLD_MAX_GROWTH 2

static void outs_free(RtTensor *outs, int n) {
    for (int j = 0; j < n; j++) rt_tensor_free(rt_allocator_default(), &outs[j]);
}

/* Makes node k's outputs (computed by the kernel into outs) constants; deletes the node. */
static int outputs_to_constants(IrGraph *g, int k, RtTensor *outs, RtError *err) {
    RtNode *n = &g->nodes[k];
    for (int j = 0; j < n->n_out; j++) {
        int v = n->out[j];
        if (v < 0) continue;
        RtTensor *t = ir_tensor_new(g, outs[j].dtype, outs[j].rank, outs[j].dims);
        if (!t) return rt_error_set(err, "out of memory folding node '%s'", n->name);
        int64_t bytes = rt_nbytes(t);
        if (bytes > 0) memcpy(t->data, outs[j].data, (size_t)bytes);
        g->values[v].konst = t;
        ir_value_set_shape(&g->values[v], t->dtype, t->rank, t->dims);
    }
    pass_node_delete(g, k);
    return RT_OK;
}

/* Shape/Size of a value whose shape is fully known: an input tensor with dims and no data. */
static int shape_only_input(const IrGraph *g, const RtNode *n, RtTensor *x) {
    if ((n->op != RT_OP_SHAPE && n->op != RT_OP_SIZE) || n->n_in < 1 || n->in[0] < 0) return 0;
    const IrValue *v = &g->values[n->in[0]];
    if (v->rank < 0) return 0;
    for (int d = 0; d < v->rank; d++)
        if (v->dims[d].value < 0) return 0;
    memset(x, 0, sizeof *x);
    x->dtype = v->dtype == RT_UNDEFINED ? RT_F32 : v->dtype; /* Shape and Size read dims only */
    x->rank = v->rank;
    for (int d = 0; d < v->rank; d++) x->dims[d] = v->dims[d].value;
    return 1;
}

/* Runs node n on ins; outs hold data on RT_OK. Returns 1 folded-ready, 0 leave the node. */
static int node_evaluate(const RtNode *n, RtTensor **ins, RtTensor *outs, RtTensor **outp,
                         int64_t in_elems) {
    RtError e = {{0}};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &e, .shape_only = 1};
    for (int j = 0; j < n->n_out; j++) {
        memset(&outs[j], 0, sizeof outs[j]);
        outp[j] = &outs[j];
    }
    int st = rt_node_exec(&c, n, ins, outp); /* shapes first: is the result small enough? */
    if (st < 0 || st == RT_SHAPE_UNKNOWN) goto leave;
    int64_t out_elems = 0, missing = 0;
    for (int j = 0; j < n->n_out; j++) {
        int64_t ne = rt_numel(&outs[j]);
        if (ne < 0) goto leave;
        out_elems += ne;
        missing += outs[j].data == NULL && n->out[j] >= 0;
    }
    if (!missing) return 1; /* Shape and Size fill their data even in shape mode */
    if (out_elems > FOLD_MAX_ELEMS && out_elems > FOLD_MAX_GROWTH * in_elems) goto leave;
    outs_free(outs, n->n_out);
    for (int j = 0; j < n->n_out; j++) memset(&outs[j], 0, sizeof outs[j]);
    c.shape_only = 0;
    st = rt_node_exec(&c, n, ins, outp);
    if (st == RT_OK) return 1;
leave:
    outs_free(outs, n->n_out);
    return 0;
}

/* Elements a node starts from: its constant inputs and tensor attributes (Constant). */
static int64_t node_input_elems(const RtNode *n, RtTensor *const *ins) {
    int64_t total = 0;
    for (int j = 0; j < n->n_in; j++)
        if (ins[j]) total += rt_numel(ins[j]);
    for (int a = 0; a < n->n_attr; a++)
        if (n->attrs[a].type == RT_ATTR_TENSOR && n->attrs[a].t) total += rt_numel(n->attrs[a].t);
    return total;
}

/* Folds node k with arrays ins[n_in], outs/outp[n_out]: 1 folded, 0 left, <0 error. */
static int node_fold_with(IrGraph *g, int k, RtTensor **ins, RtTensor *outs, RtTensor **outp,
                          RtError *err) {
    RtNode *n = &g->nodes[k];
    RtTensor shape_in;
    int all_const = 1;
    for (int j = 0; j < n->n_in; j++) {
        int v = n->in[j];
        ins[j] = v >= 0 ? g->values[v].konst : NULL;
        if (v >= 0 && !ins[j]) all_const = 0;
    }
    if (!all_const) {
        if (!shape_only_input(g, n, &shape_in)) return 0;
        ins[0] = &shape_in;
    }
    if (!node_evaluate(n, ins, outs, outp, node_input_elems(n, ins))) return 0;
    int r = outputs_to_constants(g, k, outs, err);
    outs_free(outs, n->n_out);
    return r == RT_OK ? 1 : r;
}

/* Folds node k if it can; returns 1 when folded, 0 when left, <0 on error. */
static int node_fold(IrGraph *g, int k, RtError *err) {
    RtNode *n = &g->nodes[k];
    if (n->op == IR_OP_DELETED || n->op == RT_OP_UNKNOWN || !rt_kernel_find(n->op)) return 0;
    if (n->op == RT_OP_DEQUANTIZE_LINEAR && g->keep_dequantize) return 0;
    /* a random generator has no inputs to depend on, yet must draw anew at run time */
    if (n->op == RT_OP_RANDOM_UNIFORM || n->op == RT_OP_RANDOM_NORMAL || n->op == RT_OP_RANDOM_UNIFORM_LIKE ||
        n->op == RT_OP_RANDOM_NORMAL_LIKE || n->op == RT_OP_BERNOULLI)
        return 0;
    if (n->op == RT_OP_IF) {
        const RtTensor *cond = n->n_in > 0 && n->in[0] >= 0 ? g->values[n->in[0]].konst : NULL;
        if (!cond || rt_numel(cond) != 1) return 0;
        RT_TRY(pass_if_inline(g, k, rt_get_i64(cond, 0) != 0, err));
        return 1;
    }
    size_t ni = (size_t)(n->n_in > 0 ? n->n_in : 1), no = (size_t)(n->n_out > 0 ? n->n_out : 1);
    RtTensor **ins = calloc(ni, sizeof *ins), **outp = calloc(no, sizeof *outp);
    RtTensor *outs = calloc(no, sizeof *outs);
    int r = (ins && outp && outs) ? node_fold_with(g, k, ins, outs, outp, err)
                                  : rt_error_set(err, "out of memory");
    free(ins);
    free(outp);
    free(outs);
    return r;
}

int pass_fold_constants_run(IrGraph *g, int *changed, RtError *err) {
    int folded = 0, r = RT_OK;
    for (int k = 0; r == RT_OK && k < g->n_nodes; k++) {
        int f = node_fold(g, k, err);
        if (f < 0) r = f;
        else folded += f;
    }
    if (r == RT_OK && folded) r = ir_graph_compact(g, err);
    *changed += folded;
    if (r != RT_OK) return r;
    return pass_subgraphs_apply(g, pass_fold_constants_run, changed, err);
}

int pass_fold_constants(IrGraph *g, RtError *err) {
    int changed = 0;
    return pass_fold_constants_run(g, &changed, err);
}
