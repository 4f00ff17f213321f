/*
 * ir_shape.c — dtype and shape inference over a whole graph, and binding input shapes.
 *
 * The kernels are the shape rules: each kernel computes its outputs' dtypes and shapes from
 * its inputs' before touching data, and stops there in shape mode (kernel.h). Inference walks
 * the nodes in order and calls each kernel through rt_node_exec in shape mode, with the
 * shapes found so far and data where it is known (constants, and small values computed on
 * the way). When every input of a node has known data, the node runs for real (if its
 * outputs are small, SHAPE_DATA_MAX) so Shape -> Gather -> Concat chains yield data that
 * later Reshape/Expand/Range kernels need to know their output shapes.
 *
 * Named dynamic dims: kernels only understand numbers. Every dynamic dim of the graph inputs
 * is bound to a number twice, in two runs A and B done in lockstep, a distinct prime per
 * symbol (and per unnamed unknown dim) in each run. After a node, an output dim equal in both
 * runs is that number; one equal to symbol s's value in both runs is s; anything else is
 * unknown. A kernel failure whose inputs differ between the runs is blamed on the binding
 * (e.g. Reshape of [batch,...] to a fixed size) and leaves the outputs unknown; a failure
 * with identical inputs in both runs is a real error in the model and is returned.
 *
 * If: the kernel runs the chosen branch when the condition and captures are known. Either
 * way both branches are inferred as graphs of their own (their inputs take the captured
 * values' types), and outputs still unknown take the type both branches agree on.
 *
 * Loop and Scan: the kernels report unknown shapes (a trip count is data); the body is
 * inferred as a graph of its own (iteration_num i64, cond bool, carried values and states
 * with their initial dtype and rank, since their shape may change between iterations, scan
 * slices with the scan axis removed, captures with their types), then the node's outputs:
 * carried values keep the dims the initial value and the body agree on, scan outputs stack
 * the body's per-iteration type (Loop: new axis 0 of unknown length; Scan: the scan length
 * at scan_output_axes).
 *
 * Results go into IrValue dtype/rank/dims, merged with what the value already declares
 * (value_info, graph outputs, an earlier inference): a known dim is never replaced by an
 * unknown one, an inferred symbol replaces a declared number (the number held only for the
 * exporter's example input), and two different numbers (or dtypes, or ranks) are an error
 * naming the value.
 */
#include "ir.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/rt_exec.h"

#define SHAPE_DATA_MAX 65536      /* elements: largest output computed for real during inference */
#define SHAPE_PRIME_A 10007       /* first binding of run A; primes rarely equal a model's own dims */
#define SHAPE_PRIME_B 30011       /* first binding of run B; above every run-A binding in practice */

/* One dynamic dim of the graph inputs and the numbers it stands for in runs A and B. */
typedef struct {
    const char *sym;   /* borrowed: the dim's name, NULL for an unnamed unknown dim */
    int64_t bound[2];  /* its value in run A and run B */
} ShapeSym;

typedef struct {
    IrGraph *g;              /* borrowed: the graph being inferred */
    const RtGraph *rg;       /* borrowed: lowered view (If attributes point at RtGraphs) */
    ShapeSym *syms;          /* [n_syms] owned (cap_syms allocated) */
    int n_syms, cap_syms;
    RtTensor *tab[2];        /* [n_values] owned per run: shape (and data if known) of each value */
    char *known[2];          /* [n_values] owned: 1 when the shape in tab is known */
    char *owned[2];          /* [n_values] owned: 1 when tab's data came from the default allocator */
    RtError *err;            /* borrowed */
} ShapeState;

/* ---------------------------------------------------------------- symbols */

static int is_prime(int64_t x) {
    if (x < 2) return 0;
    for (int64_t d = 2; d * d <= x; d++)
        if (x % d == 0) return 0;
    return 1;
}

static int64_t next_prime(int64_t x) {
    while (!is_prime(x)) x++;
    return x;
}

/* Slot of symbol `sym` (a new one for every unnamed dim); -1 out of memory. */
static int sym_slot(ShapeState *s, const char *sym) {
    if (sym)
        for (int i = 0; i < s->n_syms; i++)
            if (s->syms[i].sym && strcmp(s->syms[i].sym, sym) == 0) return i;
    if (s->n_syms == s->cap_syms) {
        int ncap = s->cap_syms ? s->cap_syms * 2 : 16;
        ShapeSym *p = realloc(s->syms, sizeof *p * (size_t)ncap);
        if (!p) return -1;
        s->syms = p;
        s->cap_syms = ncap;
    }
    ShapeSym *y = &s->syms[s->n_syms];
    y->sym = sym;
    y->bound[0] = next_prime(s->n_syms ? s->syms[s->n_syms - 1].bound[0] + 1 : SHAPE_PRIME_A);
    y->bound[1] = next_prime(s->n_syms ? s->syms[s->n_syms - 1].bound[1] + 1 : SHAPE_PRIME_B);
    return s->n_syms++;
}

/* ---------------------------------------------------------------- tables */

static void state_free(ShapeState *s) {
    for (int r = 0; r < 2; r++) {
        if (s->tab[r] && s->owned[r])
            for (int v = 0; v < s->g->n_values; v++)
                if (s->owned[r][v]) rt_tensor_free(rt_allocator_default(), &s->tab[r][v]);
        free(s->tab[r]);
        free(s->known[r]);
        free(s->owned[r]);
    }
    free(s->syms);
}

/* Graph inputs get their dims with every dynamic dim bound; constants get their data. */
static int state_init(ShapeState *s) {
    IrGraph *g = s->g;
    size_t nv = (size_t)(g->n_values ? g->n_values : 1);
    for (int r = 0; r < 2; r++) {
        s->tab[r] = calloc(nv, sizeof(RtTensor));
        s->known[r] = calloc(nv, 1);
        s->owned[r] = calloc(nv, 1);
        if (!s->tab[r] || !s->known[r] || !s->owned[r]) return rt_error_set(s->err, "out of memory");
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const IrValue *iv = &g->values[g->inputs[i]];
        if (iv->konst || iv->rank < 0 || iv->dtype == RT_UNDEFINED) continue;
        for (int d = 0; d < iv->rank; d++) {
            int slot = -1;
            if (iv->dims[d].value < 0 && (slot = sym_slot(s, iv->dims[d].sym)) < 0)
                return rt_error_set(s->err, "out of memory");
            for (int r = 0; r < 2; r++)
                s->tab[r][g->inputs[i]].dims[d] = slot < 0 ? iv->dims[d].value : s->syms[slot].bound[r];
        }
        for (int r = 0; r < 2; r++) {
            s->tab[r][g->inputs[i]].dtype = iv->dtype;
            s->tab[r][g->inputs[i]].rank = iv->rank;
            s->known[r][g->inputs[i]] = 1;
        }
    }
    for (int v = 0; v < g->n_values; v++) {
        if (!g->values[v].konst) continue;
        for (int r = 0; r < 2; r++) {
            s->tab[r][v] = *g->values[v].konst;
            s->known[r][v] = 1;
        }
    }
    return RT_OK;
}

/* ---------------------------------------------------------------- formatting */

static const char *type_str(RtDtype dt, int rank, const IrDim *dims, char *buf, size_t n) {
    size_t used = (size_t)snprintf(buf, n, "%s", dt == RT_UNDEFINED ? "?" : rt_dtype_name(dt));
    if (used >= n) return buf;
    if (rank < 0) {
        snprintf(buf + used, n - used, "[...]");
        return buf;
    }
    used += (size_t)snprintf(buf + used, n - used, "[");
    for (int i = 0; i < rank && used < n; i++) {
        const char *sep = i ? "," : "";
        if (dims[i].value >= 0)
            used += (size_t)snprintf(buf + used, n - used, "%s%" PRId64, sep, dims[i].value);
        else
            used += (size_t)snprintf(buf + used, n - used, "%s%s", sep, dims[i].sym ? dims[i].sym : "?");
    }
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}

/* ---------------------------------------------------------------- merging */

/* The dim that numbers a (run A) and b (run B) stand for. */
static IrDim dim_from_runs(const ShapeState *s, int64_t a, int64_t b) {
    IrDim d = {-1, NULL};
    if (a == b) {
        d.value = a;
        return d;
    }
    for (int i = 0; i < s->n_syms; i++)
        if (s->syms[i].bound[0] == a && s->syms[i].bound[1] == b) {
            d.sym = s->syms[i].sym;
            break;
        }
    return d;
}

static int declared_conflict(ShapeState *s, const RtNode *n, const IrValue *iv, RtDtype dt,
                             int rank, const IrDim *dims) {
    char want[256], got[256];
    return rt_error_set(s->err, "node '%s' (%s): output '%s' is declared %s but infers %s",
                        n->name, rt_op_name(n->op), iv->name,
                        type_str(iv->dtype, iv->rank, iv->dims, want, sizeof want),
                        type_str(dt, rank, dims, got, sizeof got));
}

/* Merges the inferred type of value v (from both runs) into what it declares. */
static int value_merge(ShapeState *s, const RtNode *n, int v) {
    IrValue *iv = &s->g->values[v];
    const RtTensor *a = &s->tab[0][v], *b = &s->tab[1][v];
    RtDtype dt = a->dtype == b->dtype ? a->dtype : RT_UNDEFINED;
    int rank = a->rank == b->rank ? a->rank : -1;
    IrDim dims[RT_MAX_RANK];
    for (int i = 0; i < rank; i++) dims[i] = dim_from_runs(s, a->dims[i], b->dims[i]);
    if (dt != RT_UNDEFINED && iv->dtype != RT_UNDEFINED && dt != iv->dtype)
        return declared_conflict(s, n, iv, dt, rank, dims);
    if (rank >= 0 && iv->rank >= 0 && rank != iv->rank)
        return declared_conflict(s, n, iv, dt, rank, dims);
    for (int i = 0; rank >= 0 && i < iv->rank; i++)
        if (dims[i].value >= 0 && iv->dims[i].value >= 0 && dims[i].value != iv->dims[i].value)
            return declared_conflict(s, n, iv, dt, rank, dims);
    if (dt != RT_UNDEFINED) iv->dtype = dt;
    if (rank < 0) return RT_OK;
    if (iv->rank < 0) {
        iv->rank = rank;
        for (int i = 0; i < rank; i++) iv->dims[i] = dims[i];
        return RT_OK;
    }
    /* Same rank: an inferred number or symbol wins (a symbol is tied to the graph inputs: a
     * number declared for it, e.g. an exporter's example batch, must not be folded into the
     * graph as if it held for every batch); a dim inference could not find keeps what the
     * model declares. */
    for (int i = 0; i < rank; i++)
        if (dims[i].value >= 0 || dims[i].sym) iv->dims[i] = dims[i];
    return RT_OK;
}

/* ---------------------------------------------------------------- running nodes */

/* Subgraphs (If branches) run through the reference executor when a node runs for real. */
static int run_subgraph(RtKernelCtx *c, const RtGraph *g, RtTensor *const *inputs, int n_in,
                        RtTensor *outputs, int n_out) {
    if (n_in != g->n_inputs || n_out != g->n_outputs)
        return rt_fail(c, "subgraph expects %d inputs and %d outputs, got %d and %d", g->n_inputs,
                       g->n_outputs, n_in, n_out);
    RtTensor *copy = malloc(sizeof(RtTensor) * (size_t)(n_in ? n_in : 1));
    if (!copy) return rt_fail(c, "out of memory");
    for (int i = 0; i < n_in; i++) copy[i] = *inputs[i];
    int r = rt_graph_run(g, copy, outputs, c->alloc, c->err);
    free(copy);
    return r;
}

static void outs_clear(RtTensor *outs, int n_out) {
    for (int j = 0; j < n_out; j++) {
        rt_tensor_free(rt_allocator_default(), &outs[j]);
        memset(&outs[j], 0, sizeof outs[j]);
    }
}

/* Runs node n of run r into outs[n_out]: shape mode, then for real when every input's data is
 * known and the outputs are small. Returns the kernel's status. */
static int node_run(ShapeState *s, const RtNode *n, int r, RtTensor **ins, RtTensor *outs,
                    RtTensor **outp, RtError *e) {
    int all_known = 1;
    for (int j = 0; j < n->n_in; j++) {
        ins[j] = n->in[j] >= 0 ? &s->tab[r][n->in[j]] : NULL;
        if (ins[j] && !ins[j]->data) all_known = 0;
    }
    for (int j = 0; j < n->n_out; j++) outp[j] = &outs[j];
    outs_clear(outs, n->n_out);
    /* run_subgraph even in shape mode: If runs its branch when all its inputs are known. */
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = e, .shape_only = 1, .run_subgraph = run_subgraph};
    int st = rt_node_exec(&c, n, ins, outp);
    if (st < 0 || st == RT_SHAPE_UNKNOWN || !all_known) return st;
    int64_t total = 0, missing = 0;
    for (int j = 0; j < n->n_out; j++) {
        int64_t ne = rt_numel(&outs[j]);
        total += ne < 0 ? SHAPE_DATA_MAX + 1 : ne;
        missing += outs[j].data == NULL;
    }
    if (!missing || total > SHAPE_DATA_MAX) return st;
    outs_clear(outs, n->n_out);
    c.shape_only = 0;
    return rt_node_exec(&c, n, ins, outp);
}

static int tensor_same(const RtTensor *a, const RtTensor *b) {
    if (!a || !b) return a == b;
    if (a->dtype != b->dtype || !rt_shape_equal(a, b) || (a->data == NULL) != (b->data == NULL))
        return 0;
    int64_t bytes = rt_nbytes(a);
    return !a->data || bytes <= 0 || memcmp(a->data, b->data, (size_t)bytes) == 0;
}

/* Marks node n's outputs unknown in both runs. */
static void node_unknown(ShapeState *s, const RtNode *n) {
    for (int j = 0; j < n->n_out; j++) {
        int v = n->out[j];
        if (v < 0) continue;
        for (int r = 0; r < 2; r++) {
            if (s->owned[r][v]) rt_tensor_free(rt_allocator_default(), &s->tab[r][v]);
            memset(&s->tab[r][v], 0, sizeof(RtTensor));
            s->known[r][v] = s->owned[r][v] = 0;
        }
    }
}

/* Infers node k in both runs and records its outputs. */
static int node_infer(ShapeState *s, int k, RtTensor **ins, RtTensor *outs[2], RtTensor **outp) {
    const RtNode *n = &s->rg->nodes[k];
    node_unknown(s, n);
    if (n->op == RT_OP_UNKNOWN || !rt_kernel_find(n->op)) return RT_OK;
    for (int j = 0; j < n->n_in; j++)
        if (n->in[j] >= 0 && (!s->known[0][n->in[j]] || !s->known[1][n->in[j]])) return RT_OK;
    RtError e[2] = {{{0}}, {{0}}};
    int st[2];
    for (int r = 0; r < 2; r++) st[r] = node_run(s, n, r, ins, outs[r], outp, &e[r]);
    int ok = st[0] >= 0 && st[1] >= 0 && st[0] != RT_SHAPE_UNKNOWN && st[1] != RT_SHAPE_UNKNOWN;
    if (!ok) {
        int r = st[0] < 0 ? 0 : 1;
        int same = 1;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && !tensor_same(&s->tab[0][n->in[j]], &s->tab[1][n->in[j]])) same = 0;
        for (int q = 0; q < 2; q++) outs_clear(outs[q], n->n_out);
        if (st[r] < 0 && st[r] != RT_ERR_UNSUPPORTED && same) {
            rt_error_set(s->err, "%s", e[r].msg);
            return st[r];
        }
        return RT_OK;
    }
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < n->n_out; j++) {
            int v = n->out[j];
            if (v < 0) {
                rt_tensor_free(rt_allocator_default(), &outs[r][j]);
                continue;
            }
            s->tab[r][v] = outs[r][j];
            s->known[r][v] = 1;
            s->owned[r][v] = outs[r][j].data != NULL;
            memset(&outs[r][j], 0, sizeof outs[r][j]);
        }
    for (int j = 0; j < n->n_out; j++)
        if (n->out[j] >= 0) RT_TRY(value_merge(s, n, n->out[j]));
    return RT_OK;
}

/* ---------------------------------------------------------------- If */

static IrGraph *if_branch(const RtNode *n, const char *name) {
    for (int a = 0; a < n->n_attr; a++)
        if (n->attrs[a].type == RT_ATTR_GRAPH && strcmp(n->attrs[a].name, name) == 0)
            return (IrGraph *)n->attrs[a].g;
    return NULL;
}

/* A branch's inputs are the If's captured inputs in[1..] (frontend/onnx_subgraph.c): they
 * take the parent's current types (symbols copied into the branch's arena), then the branch
 * is inferred on its own. */
static int branch_infer(ShapeState *s, const RtNode *n, IrGraph *b, const char *which) {
    for (int i = 0; i < b->n_inputs && 1 + i < n->n_in; i++) {
        if (n->in[1 + i] < 0) continue;
        const IrValue *pv = &s->g->values[n->in[1 + i]];
        IrValue *bv = &b->values[b->inputs[i]];
        if (pv->dtype == RT_UNDEFINED && pv->rank < 0) continue;
        bv->dtype = pv->dtype;
        bv->rank = pv->rank;
        for (int d = 0; d < pv->rank; d++) {
            bv->dims[d].value = pv->dims[d].value;
            bv->dims[d].sym = pv->dims[d].sym ? ir_strdup(b, pv->dims[d].sym) : NULL;
        }
    }
    RtError e = {{0}};
    if (ir_infer_shapes(b, &e) == RT_OK) return RT_OK;
    return rt_error_set(s->err, "node '%s' (If), subgraph '%s': %s", n->name, which, e.msg);
}

/* Output v of the If takes the type both branches agree on (tv, ev): equal numbers stay,
 * the same symbol stays, anything else becomes a fresh unknown dim. */
static int if_output_merge(ShapeState *s, const RtNode *n, int v, const IrValue *tv, const IrValue *ev) {
    if (tv->dtype != ev->dtype || tv->dtype == RT_UNDEFINED || tv->rank != ev->rank || tv->rank < 0)
        return RT_OK;
    for (int d = 0; d < tv->rank; d++) {
        const IrDim *a = &tv->dims[d], *b = &ev->dims[d];
        int slot = -1;
        if (a->value < 0 || a->value != b->value) {
            int same_sym = a->value < 0 && b->value < 0 && a->sym && b->sym && strcmp(a->sym, b->sym) == 0;
            const char *sym = same_sym ? ir_strdup(s->g, a->sym) : NULL;
            if ((same_sym && !sym) || (slot = sym_slot(s, sym)) < 0)
                return rt_error_set(s->err, "out of memory");
        }
        for (int r = 0; r < 2; r++) s->tab[r][v].dims[d] = slot < 0 ? a->value : s->syms[slot].bound[r];
    }
    for (int r = 0; r < 2; r++) {
        s->tab[r][v].dtype = tv->dtype;
        s->tab[r][v].rank = tv->rank;
        s->tab[r][v].data = NULL;
        s->known[r][v] = 1;
    }
    return value_merge(s, n, v);
}

/* After the If kernel (which runs the chosen branch when the condition is known): infers both
 * branches, and when the outputs are still unknown, takes what the branches agree on. */
static int if_infer(ShapeState *s, int k) {
    const RtNode *n = &s->g->nodes[k];
    IrGraph *then = if_branch(n, "then_branch"), *els = if_branch(n, "else_branch");
    if (then) RT_TRY(branch_infer(s, n, then, "then_branch"));
    if (els) RT_TRY(branch_infer(s, n, els, "else_branch"));
    if (!then || !els || then->n_outputs != n->n_out || els->n_outputs != n->n_out) return RT_OK;
    for (int j = 0; j < n->n_out; j++) {
        int v = n->out[j];
        if (v < 0 || s->known[0][v]) continue;
        RT_TRY(if_output_merge(s, n, v, &then->values[then->outputs[j]], &els->values[els->outputs[j]]));
    }
    return RT_OK;
}

/* ---------------------------------------------------------------- Loop, Scan */

/* Body input i takes type pv, with axes drop0 and drop1 (>= 0) removed (a scan slice loses its
 * scan axis; opset 8 also the batch axis); with dims_too 0 only dtype and rank (a carried
 * value may change shape between iterations). A type the body declares itself is kept. */
static void body_input_type(IrGraph *b, int i, const IrValue *pv, int drop0, int drop1, int dims_too) {
    IrValue *bv = &b->values[b->inputs[i]];
    if (pv->dtype == RT_UNDEFINED || pv->rank < 0) return;
    if (bv->dtype == RT_UNDEFINED) bv->dtype = pv->dtype;
    if (bv->rank >= 0) return;
    bv->rank = pv->rank - (drop0 >= 0) - (drop1 >= 0);
    if (bv->rank < 0) {
        bv->rank = -1;
        return;
    }
    for (int d = 0, o = 0; d < pv->rank; d++) {
        if (d == drop0 || d == drop1) continue;
        bv->dims[o].value = dims_too ? pv->dims[d].value : -1;
        bv->dims[o].sym = dims_too && pv->dims[d].sym ? ir_strdup(b, pv->dims[d].sym) : NULL;
        o++;
    }
}

static int body_infer(ShapeState *s, const RtNode *n, IrGraph *b) {
    RtError e = {{0}};
    if (ir_infer_shapes(b, &e) == RT_OK) return RT_OK;
    return rt_error_set(s->err, "node '%s' (%s), subgraph 'body': %s", n->name, rt_op_name(n->op), e.msg);
}

/* Output v of a Loop/Scan node gets type t (dims copied; unknown dims stay unknown) unless
 * the node's run already gave it one. */
static int loop_output_set(ShapeState *s, const RtNode *n, int v, const IrValue *t) {
    if (v < 0 || s->known[0][v] || t->dtype == RT_UNDEFINED || t->rank < 0) return RT_OK;
    return if_output_merge(s, n, v, t, t);
}

/* Loop: body inputs (iteration_num i64 [], cond bool [], carried (dtype and rank of the
 * initial values), captures (their types)); outputs: a carried value keeps the dims on which
 * the initial value and the body's output agree, a scan output is [unknown, body output]. */
static int loop_infer(ShapeState *s, int k) {
    const RtNode *n = &s->g->nodes[k];
    IrGraph *b = (IrGraph *)if_branch(n, "body");
    if (!b || b->n_declared < 2 || b->n_inputs != n->n_in || b->n_outputs != n->n_out + 1) return RT_OK;
    int N = b->n_declared - 2;
    IrValue it = {.dtype = RT_I64, .rank = 0}, cd = {.dtype = RT_BOOL, .rank = 0};
    body_input_type(b, 0, &it, -1, -1, 1);
    body_input_type(b, 1, &cd, -1, -1, 1);
    for (int i = 2; i < n->n_in; i++)
        if (n->in[i] >= 0) body_input_type(b, i, &s->g->values[n->in[i]], -1, -1, i >= b->n_declared);
    RT_TRY(body_infer(s, n, b));
    for (int j = 0; j < n->n_out; j++) {
        const IrValue *bo = &b->values[b->outputs[1 + j]];
        IrValue t = *bo;
        if (j < N) { /* carried: dims both the initial value and the body's output have */
            const IrValue *iv = n->in[2 + j] >= 0 ? &s->g->values[n->in[2 + j]] : NULL;
            if (!iv || iv->rank != bo->rank) continue;
            if (t.dtype == RT_UNDEFINED) t.dtype = iv->dtype;
            for (int d = 0; d < t.rank; d++) {
                int same = iv->dims[d].value >= 0 ? iv->dims[d].value == bo->dims[d].value
                                                  : iv->dims[d].sym && bo->dims[d].sym && strcmp(iv->dims[d].sym, bo->dims[d].sym) == 0;
                if (!same) t.dims[d] = (IrDim){-1, NULL};
            }
        } else { /* scan output: stacked along a new axis 0 of unknown length */
            if (bo->rank < 0 || bo->rank + 1 > RT_MAX_RANK) continue;
            t.rank = bo->rank + 1;
            t.dims[0] = (IrDim){-1, NULL};
            for (int d = 0; d < bo->rank; d++) t.dims[1 + d] = bo->dims[d];
        }
        RT_TRY(loop_output_set(s, n, n->out[j], &t));
    }
    return RT_OK;
}

static int64_t attr_list_at(const RtNode *n, const char *name, int i, int64_t def) {
    for (int a = 0; a < n->n_attr; a++)
        if (n->attrs[a].type == RT_ATTR_INTS && strcmp(n->attrs[a].name, name) == 0)
            return i < n->attrs[a].n ? n->attrs[a].ints[i] : def;
    return def;
}

/* Scan: body inputs (states: dtype and rank; slices: the scan input without its axis, and
 * opset 8's batch axis; captures); outputs: states as carried in Loop, scan outputs with the
 * scan length inserted at scan_output_axes (opset 8: [batch, length, ...]). */
static int scan_infer(ShapeState *s, int k) {
    const RtNode *n = &s->g->nodes[k];
    IrGraph *b = (IrGraph *)if_branch(n, "body");
    int first = n->opset < 9, M = 0;
    for (int a = 0; a < n->n_attr; a++)
        if (strcmp(n->attrs[a].name, "num_scan_inputs") == 0) M = (int)n->attrs[a].i;
    if (!b || M < 1 || M > b->n_declared || b->n_inputs != n->n_in - first || b->n_outputs != n->n_out) return RT_OK;
    int N = b->n_declared - M;
    const IrValue *x0 = n->in[first + N] >= 0 ? &s->g->values[n->in[first + N]] : NULL;
    IrDim len = {-1, NULL}, batch = {-1, NULL};
    for (int i = 0; i < b->n_inputs; i++) {
        int v = n->in[first + i];
        if (v < 0) continue;
        const IrValue *pv = &s->g->values[v];
        if (i < N) body_input_type(b, i, pv, first ? 0 : -1, -1, 0);
        else if (i < N + M) {
            int64_t ax = first ? 1 : attr_list_at(n, "scan_input_axes", i - N, 0);
            if (pv->rank < 0) continue;
            if (ax < 0) ax += pv->rank;
            if (ax < 0 || ax >= pv->rank) continue;
            body_input_type(b, i, pv, (int)ax, first ? 0 : -1, 1);
            if (pv == x0) len = pv->dims[ax], batch = first ? pv->dims[0] : batch;
        } else {
            body_input_type(b, i, pv, -1, -1, 1);
        }
    }
    RT_TRY(body_infer(s, n, b));
    for (int j = 0; j < n->n_out; j++) {
        const IrValue *bo = &b->values[b->outputs[j]];
        if (bo->rank < 0 || bo->rank + 1 + first > RT_MAX_RANK) continue;
        IrValue t = *bo;
        int64_t ax = j < N ? -1 : attr_list_at(n, "scan_output_axes", j - N, 0);
        if (ax < 0 && j >= N) ax += bo->rank + 1;
        if (j >= N && (ax < 0 || ax > bo->rank)) continue;
        if (j < N) { /* a state: as the body returns it, dims possibly changing: rank only */
            for (int d = 0; d < t.rank; d++) t.dims[d] = (IrDim){-1, NULL};
        } else {
            for (int d = 0, o = 0; d <= bo->rank; d++) t.dims[d] = d == ax ? len : bo->dims[o++];
            t.rank = bo->rank + 1;
        }
        if (first) { /* the batch axis in front */
            for (int d = t.rank; d > 0; d--) t.dims[d] = t.dims[d - 1];
            t.dims[0] = batch;
            t.rank++;
        }
        RT_TRY(loop_output_set(s, n, n->out[j], &t));
    }
    return RT_OK;
}

static int max_arity(const IrGraph *g) {
    int m = 1;
    for (int k = 0; k < g->n_nodes; k++) {
        if (g->nodes[k].n_in > m) m = g->nodes[k].n_in;
        if (g->nodes[k].n_out > m) m = g->nodes[k].n_out;
    }
    return m;
}

int ir_infer_shapes(IrGraph *g, RtError *err) {
    ShapeState s;
    memset(&s, 0, sizeof s);
    s.g = g;
    s.err = err;
    IrLowered *l = ir_lower(g, err);
    if (!l) return RT_ERR;
    s.rg = ir_lowered_graph(l);
    int m = max_arity(g);
    RtTensor **ins = calloc((size_t)m, sizeof *ins), **outp = calloc((size_t)m, sizeof *outp);
    RtTensor *outs[2] = {calloc((size_t)m, sizeof(RtTensor)), calloc((size_t)m, sizeof(RtTensor))};
    int r = (ins && outp && outs[0] && outs[1]) ? state_init(&s) : rt_error_set(err, "out of memory");
    for (int k = 0; r == RT_OK && k < g->n_nodes; k++)
        if (g->nodes[k].op != IR_OP_DELETED) {
            r = node_infer(&s, k, ins, outs, outp);
            if (r == RT_OK && g->nodes[k].op == RT_OP_IF) r = if_infer(&s, k);
            if (r == RT_OK && g->nodes[k].op == RT_OP_LOOP) r = loop_infer(&s, k);
            if (r == RT_OK && g->nodes[k].op == RT_OP_SCAN) r = scan_infer(&s, k);
        }
    state_free(&s);
    free(ins);
    free(outp);
    free(outs[0]);
    free(outs[1]);
    ir_lowered_free(l);
    return r;
}

/* ---------------------------------------------------------------- binding */

/* Replaces symbol `sym` by `value` in every value of g. */
static void sym_substitute(IrGraph *g, const char *sym, int64_t value) {
    for (int v = 0; v < g->n_values; v++)
        for (int d = 0; d < g->values[v].rank; d++) {
            IrDim *dim = &g->values[v].dims[d];
            if (dim->value < 0 && dim->sym && strcmp(dim->sym, sym) == 0) {
                dim->value = value;
                dim->sym = NULL;
            }
        }
}

int ir_bind_input(IrGraph *g, int input, int rank, const int64_t *dims, RtError *err) {
    if (input < 0 || input >= g->n_inputs)
        return rt_error_set(err, "graph has %d inputs; cannot bind input %d", g->n_inputs, input);
    IrValue *iv = &g->values[g->inputs[input]];
    char want[256], got[256];
    if (rank < 0 || rank > RT_MAX_RANK)
        return rt_error_set(err, "input '%s': cannot bind to rank %d", iv->name, rank);
    int bad = iv->rank >= 0 && iv->rank != rank;
    for (int d = 0; !bad && d < rank; d++) {
        bad = dims[d] < 0 || (iv->rank >= 0 && iv->dims[d].value >= 0 && iv->dims[d].value != dims[d]);
        for (int e = 0; !bad && e < d && iv->rank >= 0; e++) /* one symbol, one size */
            bad = iv->dims[d].sym && iv->dims[e].sym && iv->dims[d].value < 0 &&
                  iv->dims[e].value < 0 && strcmp(iv->dims[d].sym, iv->dims[e].sym) == 0 &&
                  dims[d] != dims[e];
    }
    if (bad) {
        snprintf(got, sizeof got, "[");
        for (int d = 0; d < rank; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), d ? ",%" PRId64 : "%" PRId64, dims[d]);
        snprintf(got + strlen(got), sizeof got - strlen(got), "]");
        return rt_error_set(err, "input '%s': expected shape %s, got %s", iv->name,
                            type_str(iv->dtype, iv->rank, iv->dims, want, sizeof want), got);
    }
    if (iv->rank >= 0)
        for (int d = 0; d < rank; d++)
            if (iv->dims[d].value < 0 && iv->dims[d].sym) sym_substitute(g, iv->dims[d].sym, dims[d]);
    iv->rank = rank;
    for (int d = 0; d < rank; d++) {
        iv->dims[d].value = dims[d];
        iv->dims[d].sym = NULL;
    }
    return RT_OK;
}

int ir_input_freeze(IrGraph *g, int input, const RtTensor *t, RtError *err) {
    if (input < 0 || input >= g->n_inputs)
        return rt_error_set(err, "graph has %d inputs; cannot freeze input %d", g->n_inputs, input);
    int v = g->inputs[input];
    IrValue *iv = &g->values[v];
    if (iv->dtype != RT_UNDEFINED && iv->dtype != t->dtype)
        return rt_error_set(err, "input '%s' is %s; the value given is %s", iv->name, rt_dtype_name(iv->dtype),
                            rt_dtype_name(t->dtype));
    RT_TRY(ir_bind_input(g, input, t->rank, t->dims, err));
    RtTensor *c = ir_tensor_new(g, t->dtype, t->rank, t->dims);
    if (!c) return rt_error_set(err, "out of memory");
    int64_t bytes = rt_nbytes(t);
    if (bytes > 0) memcpy(c->data, t->data, (size_t)bytes);
    iv->konst = c;
    ir_value_set_shape(iv, t->dtype, t->rank, t->dims);
    for (int i = input; i + 1 < g->n_inputs; i++) g->inputs[i] = g->inputs[i + 1];
    g->n_inputs--;
    return RT_OK;
}
