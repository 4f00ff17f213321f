/*
 * emit_control.c — If and Scan in emitted C: their subgraphs flattened into one graph, the
 * If's condition read at run time, the Scan's body run in a C loop.
 *
 * The rest of emit-c (shapes from the runtime's planner, the arena plan, one kernel call per
 * node) works on one flat graph with static shapes. So before anything else an If or Scan
 * node is replaced, in a copy of the graph (ec_control_flatten), by a group of nodes. For an
 * If:
 *
 *   start         Reshape(cond, []) -> cond_s    the 1-element condition as a scalar
 *   [start+1, then_end)                          then_branch's nodes
 *   [then_end, else_end)                         else_branch's nodes
 *   [else_end, end)                              one Where(cond_s, T_i, E_i) -> Y_i per output
 *
 * The branches' inputs are the If's captures in[1..] (frontend/onnx_subgraph.c), so branch
 * input i is the parent's value in[1+i]; branch values get fresh names; a nested If or Scan
 * is flattened the same way inside its branch. For the planner the group is a plain sequence
 * (every branch node's shape is static, the Where gives Y_i the branches' common shape), and
 * the arena plan made for "then, then else, then merge" holds for the code that runs only one
 * branch: skipping nodes never makes a buffer live longer, and the two branches' buffers share
 * space as any two values whose live ranges do not meet. Emitted (ec_nodes_emit) as
 *     if (cond_s[0]) { then nodes } else { else nodes }
 *     memcpy(Y_i, cond_s[0] ? T_i : E_i, bytes)          (a copy, not a select per element:
 *                                                        the branch not taken left its
 *                                                        T_i / E_i unwritten)
 * Both branches must give output i one dtype and shape (ec_control_check), else the If is
 * refused by name.
 *
 * A Scan (opset 9+: states[N], scan inputs[M], captures; body (states, slices, captures) ->
 * (states, scan outputs[K])) becomes
 *
 *   [start, body_start)   S_i = Where(true, init_i, init_i)  the state buffers (a copy: the
 *                                                            initial states may be inputs)
 *                         slice_j = Gather(X_j, 0)           one step of scan input j
 *   [body_start, body_end) the body's nodes
 *   [body_end, end)       final_i = Where(true, S_i, S_out_i), Y_k = Expand(Unsqueeze(out_k),
 *                         [T, 1, ...]): nodes that give the planner the outputs' shapes
 *
 * emitted as: copy init into S; for t in 0..T-1 { slice_j = step t of X_j (T-1-t when
 * reversed); body; step t of Y_k = out_k; S_i = S_out_i }; final_i = S_i. The plan is made
 * for one pass through the body, so what the loop keeps across passes is given longer live
 * ranges (scan_live, read by ec_plan): the state buffers, the scan inputs and all values the
 * body reads from outside until the body's last node, the stacked outputs from the start.
 * T is the scan inputs' static length along axis 0. Refused by name: Scan opset 8 (batched,
 * sequence_lens), axes other than 0, a body exchanging states (state output i is state input
 * j: updated in place they would be overwritten before read), and Loop (a trip count and a
 * condition known at run time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"

typedef struct {
    IrGraph *dst;   /* borrowed: the flat graph being built */
    EcFlat *f;      /* borrowed: its group table */
    RtError *err;   /* borrowed */
} Flattener;

static const IrGraph *attr_graph(const RtNode *n, const char *name) {
    for (int a = 0; a < n->n_attr; a++)
        if (n->attrs[a].type == RT_ATTR_GRAPH && strcmp(n->attrs[a].name, name) == 0) return n->attrs[a].g;
    return NULL;
}

/* 1 when g or a graph nested in it has an If or a Scan; refuses (<0) a Loop anywhere. */
static int scan_control(const IrGraph *g, RtError *err) {
    int any_if = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        for (int a = 0; a < n->n_attr; a++) {
            if (n->attrs[a].type != RT_ATTR_GRAPH) continue;
            if (n->op != RT_OP_IF && n->op != RT_OP_SCAN)
                return rt_error_set(err, "node '%s' (%s): emit-c cannot emit Loop (a body run a number of "
                                    "times known at run time); compile the model to a .wafer file with 'wafer "
                                    "quantize' and run it with the runtime instead",
                                    n->name ? n->name : "", rt_op_name(n->op));
            any_if = 1;
            int r = n->attrs[a].g ? scan_control(n->attrs[a].g, err) : RT_OK;
            if (r < 0) return r;
        }
    }
    return any_if;
}

/* A value of the flat graph standing for src's value sv (type, shape and constant data
 * borrowed from src, which outlives the flat graph), named name or a fresh variant of it;
 * unique: name is known to be new (the top graph's values, copied first). */
static int value_copy_named(Flattener *fl, const IrValue *sv, const char *name, int unique) {
    const char *nm = unique || ir_value_find(fl->dst, name) < 0 ? name : ir_value_name_fresh(fl->dst, name, "v");
    int v = nm ? ir_value_add(fl->dst, nm) : -1;
    if (v < 0) return rt_error_set(fl->err, "out of memory");
    IrValue *d = &fl->dst->values[v];
    d->dtype = sv->dtype;
    d->rank = sv->rank;
    for (int i = 0; i < sv->rank && i < RT_MAX_RANK; i++) d->dims[i] = sv->dims[i];
    d->konst = sv->konst;
    d->from_constant_node = sv->from_constant_node;
    return v;
}

static int value_copy(Flattener *fl, const IrValue *sv, const char *name) { return value_copy_named(fl, sv, name, 0); }

/* Appends a node reading in[n_in] (flat indices) and writing out[n_out]; returns its index. */
static int node_add(Flattener *fl, int op, const char *name, int n_in, const int *in, int n_out, const int *out) {
    int k = ir_node_add(fl->dst, op, name ? name : "", n_in, in, n_out, out);
    return k < 0 ? rt_error_set(fl->err, "out of memory") : k;
}

static int graph_copy(Flattener *fl, const IrGraph *src, int *map, const char *prefix);

/* The group standing for If node n of src (map: src values -> flat values). */
static int if_flatten(Flattener *fl, const IrGraph *src, const RtNode *n, int *map) {
    const char *name = n->name ? n->name : "";
    const IrGraph *br[2] = {attr_graph(n, "then_branch"), attr_graph(n, "else_branch")};
    static const char *const which[2] = {"then_branch", "else_branch"};
    if (n->n_in < 1 || n->in[0] < 0) return rt_error_set(fl->err, "node '%s' (If): missing input 'cond'", name);
    for (int b = 0; b < 2; b++) {
        if (!br[b]) return rt_error_set(fl->err, "node '%s' (If): missing graph attribute '%s'", name, which[b]);
        if (br[b]->n_outputs != n->n_out)
            return rt_error_set(fl->err, "node '%s' (If): %s has %d outputs, the node %d", name, which[b],
                                br[b]->n_outputs, n->n_out);
        if (br[b]->n_inputs != n->n_in - 1)
            return rt_error_set(fl->err, "node '%s' (If): %s takes %d inputs, the node passes %d captures", name,
                                which[b], br[b]->n_inputs, n->n_in - 1);
    }
    EcIfGroup gr;
    memset(&gr, 0, sizeof gr);
    gr.name = name;
    /* cond as a scalar: Reshape to shape [] (a 1-element tensor of any rank; the alias costs
     * no copy), which also makes the planner check that cond has one element */
    char buf[512];
    int64_t zero = 0;
    RtTensor empty = {.dtype = RT_I64, .rank = 1, .dims = {0}, .data = &zero};
    snprintf(buf, sizeof buf, "%s/cond_shape", name);
    int shape = ir_value_find(fl->dst, buf) < 0 ? ir_const_add(fl->dst, buf, &empty) : -1;
    if (shape < 0) shape = ir_const_add(fl->dst, ir_value_name_fresh(fl->dst, buf, "v"), &empty);
    snprintf(buf, sizeof buf, "%s/cond", name);
    IrValue scalar = {.dtype = src->values[n->in[0]].dtype, .rank = 0, .producer = -1};
    int cond_s = shape >= 0 ? value_copy(fl, &scalar, buf) : rt_error_set(fl->err, "out of memory");
    if (cond_s < 0) return cond_s;
    int in[2] = {map[n->in[0]], shape};
    gr.start = node_add(fl, RT_OP_RESHAPE, buf, 2, in, 1, &cond_s);
    if (gr.start < 0) return gr.start;
    fl->dst->nodes[gr.start].opset = 14 > fl->dst->opset ? 14 : fl->dst->opset; /* shape as an input */
    gr.cond = cond_s;
    int *res[2] = {NULL, NULL}; /* flat values of each branch's outputs */
    int r = RT_OK;
    for (int b = 0; b < 2 && r >= 0; b++) {
        const IrGraph *bg = br[b];
        int *bmap = malloc(sizeof(int) * ((size_t)bg->n_values + 1));
        res[b] = malloc(sizeof(int) * ((size_t)n->n_out + 1));
        if (!bmap || !res[b]) {
            free(bmap);
            r = rt_error_set(fl->err, "out of memory");
            break;
        }
        for (int v = 0; v < bg->n_values; v++) bmap[v] = -1;
        for (int i = 0; i < bg->n_inputs; i++) bmap[bg->inputs[i]] = n->in[1 + i] >= 0 ? map[n->in[1 + i]] : -1;
        snprintf(buf, sizeof buf, "%s/%s", name, which[b]);
        r = graph_copy(fl, bg, bmap, buf);
        for (int i = 0; r >= 0 && i < n->n_out; i++) res[b][i] = bmap[bg->outputs[i]];
        free(bmap);
        if (b == 0) gr.then_end = fl->dst->n_nodes;
    }
    gr.else_end = fl->dst->n_nodes;
    for (int i = 0; r >= 0 && i < n->n_out; i++) {
        if (n->out[i] < 0) continue; /* an output nobody reads */
        if (res[0][i] < 0 || res[1][i] < 0) {
            r = rt_error_set(fl->err, "node '%s' (If): a branch returns a value it never defines (output %d)", name, i);
            break;
        }
        int win[3] = {cond_s, res[0][i], res[1][i]};
        int k = node_add(fl, RT_OP_WHERE, name, 3, win, 1, &map[n->out[i]]);
        if (k < 0) r = k;
        else {
            fl->dst->nodes[k].opset = 16 > fl->dst->opset ? 16 : fl->dst->opset;
            fl->dst->nodes[k].op_type = "If"; /* the planner's messages name the If */
        }
    }
    free(res[0]);
    free(res[1]);
    if (r < 0) return r;
    gr.end = fl->dst->n_nodes;
    if (fl->f->n_groups == fl->f->cap_groups) {
        int cap = fl->f->cap_groups ? 2 * fl->f->cap_groups : 8;
        EcIfGroup *p = realloc(fl->f->groups, sizeof *p * (size_t)cap);
        if (!p) return rt_error_set(fl->err, "out of memory");
        fl->f->groups = p;
        fl->f->cap_groups = cap;
    }
    fl->f->groups[fl->f->n_groups++] = gr;
    return RT_OK;
}

/* A constant of the flat graph (name made fresh when taken). */
static int const_add(Flattener *fl, const char *name, const RtTensor *t) {
    int v = ir_value_find(fl->dst, name) < 0 ? ir_const_add(fl->dst, name, t) : -1;
    if (v < 0) {
        const char *nm = ir_value_name_fresh(fl->dst, name, "v");
        v = nm ? ir_const_add(fl->dst, nm, t) : -1;
    }
    return v < 0 ? rt_error_set(fl->err, "out of memory") : v;
}

/* A node standing only for the planner (the emitter writes its own copies there). */
static int plan_node(Flattener *fl, int op, const char *name, int opset, int n_in, const int *in, int out) {
    int k = node_add(fl, op, name, n_in, in, 1, &out);
    if (k >= 0) {
        fl->dst->nodes[k].opset = opset > fl->dst->opset ? opset : fl->dst->opset;
        fl->dst->nodes[k].op_type = "Scan"; /* the planner's messages name the Scan */
    }
    return k;
}

static int scan_refuse(Flattener *fl, const char *name, const char *what) {
    return rt_error_set(fl->err, "node '%s' (Scan): emit-c cannot emit %s", name, what);
}

/* Axes (is_dir 0): 1 when attribute `name` is absent or lists 0 for each of its count
 * entries. Directions (is_dir 1): 1 when absent (all forward) or each entry is 0 or 1, each
 * into rev[]. 0 otherwise (a non-zero axis, even -rank, is refused). */
static int attr_zero_or_dirs(const RtNode *n, const char *name, int count, int is_dir, int *rev) {
    const int64_t *v = NULL;
    int nv = rt_attr_ints(n, name, &v);
    if (nv < 0 && rt_attr(n, name)) return 0; /* not a list of ints */
    if (nv < 0) nv = 0;
    if (nv != 0 && nv != count) return 0;
    for (int i = 0; i < count; i++) {
        int64_t x = nv ? v[i] : 0;
        if (is_dir) {
            if (x != 0 && x != 1) return 0;
            rev[i] = (int)x;
        } else if (x != 0) return 0;
    }
    return 1;
}

/* The group standing for Scan node n (opset 9+) of src. */
static int scan_flatten(Flattener *fl, const IrGraph *src, const RtNode *n, int *map) {
    const char *name = n->name ? n->name : "";
    const IrGraph *body = attr_graph(n, "body");
    if (n->opset < 9) return scan_refuse(fl, name, "Scan opset 8 (batched, with sequence_lens); opset 9 and later only");
    if (!body) return rt_error_set(fl->err, "node '%s' (Scan): missing graph attribute 'body'", name);
    int M = (int)rt_attr_int(n, "num_scan_inputs", 0), N = body->n_declared - M;
    int K = body->n_outputs - N, C = n->n_in - N - M;
    if (M < 1 || N < 0 || K < 0 || C < 0 || n->n_out != N + K || body->n_inputs != N + M + C)
        return rt_error_set(fl->err, "node '%s' (Scan): %d inputs, %d outputs and num_scan_inputs %d do not fit the "
                            "body's %d declared inputs and %d outputs", name, n->n_in, n->n_out, M, body->n_declared,
                            body->n_outputs);
    EcScanGroup gr;
    memset(&gr, 0, sizeof gr);
    gr.name = name, gr.N = N, gr.M = M, gr.K = K;
    gr.v = calloc((size_t)(6 * N + 3 * M + 3 * K) + 1, sizeof(int));
    if (!gr.v) return rt_error_set(fl->err, "out of memory");
    int *init = gr.v, *S = init + N, *X = S + N, *slice = X + M, *S_out = slice + M, *out = S_out + N;
    int *fin = out + K, *Y = fin + N, *in_rev = Y + K, *out_rev = in_rev + M;
    int r = RT_OK;
    if (!attr_zero_or_dirs(n, "scan_input_axes", M, 0, NULL) || !attr_zero_or_dirs(n, "scan_output_axes", K, 0, NULL))
        r = scan_refuse(fl, name, "scan_input_axes / scan_output_axes other than 0");
    else if (!attr_zero_or_dirs(n, "scan_input_directions", M, 1, in_rev) ||
             !attr_zero_or_dirs(n, "scan_output_directions", K, 1, out_rev))
        r = rt_error_set(fl->err, "node '%s' (Scan): a direction is neither 0 nor 1", name);
    for (int j = 0; r >= 0 && j < N + M; j++)
        if (n->in[j] < 0) r = rt_error_set(fl->err, "node '%s' (Scan): input %d is absent", name, j);
    /* T: every scan input's length along axis 0, static */
    gr.T = -1;
    for (int j = 0; r >= 0 && j < M; j++) {
        const IrValue *xv = &src->values[n->in[N + j]];
        int64_t t = xv->rank >= 1 ? xv->dims[0].value : -1;
        if (t < 0) r = scan_refuse(fl, name, "a scan input of unknown length (bind the inputs with --shape)");
        else if (gr.T >= 0 && t != gr.T) r = rt_error_set(fl->err, "node '%s' (Scan): scan inputs of lengths %lld and %lld", name, (long long)gr.T, (long long)t);
        else gr.T = t;
    }
    int *bmap = r >= 0 ? malloc(sizeof(int) * ((size_t)body->n_values + 1)) : NULL;
    if (r >= 0 && !bmap) r = rt_error_set(fl->err, "out of memory");
    char buf[512], pre[512];
    snprintf(pre, sizeof pre, "%s/body", name);
    if (r >= 0) {
        for (int v = 0; v < body->n_values; v++) bmap[v] = -1;
        for (int i = 0; i < C; i++)
            bmap[body->inputs[N + M + i]] = n->in[N + M + i] >= 0 ? map[n->in[N + M + i]] : -1;
        /* the state buffers and slices: values of their own, made by prologue nodes */
        for (int i = 0; i < N + M && r >= 0; i++) {
            const IrValue *bv = &body->values[body->inputs[i]];
            snprintf(buf, sizeof buf, "%s/%s", pre, bv->name ? bv->name : "");
            IrValue fresh = {.dtype = bv->dtype, .rank = -1, .producer = -1};
            r = bmap[body->inputs[i]] = value_copy(fl, &fresh, buf);
        }
    }
    int yes = -1, zero = -1;
    if (r >= 0) {
        unsigned char t1 = 1;
        int64_t z = 0;
        RtTensor tt = {.dtype = RT_BOOL, .rank = 0, .data = &t1}, tz = {.dtype = RT_I64, .rank = 0, .data = &z};
        snprintf(buf, sizeof buf, "%s/true", name);
        r = yes = const_add(fl, buf, &tt);
        snprintf(buf, sizeof buf, "%s/zero", name);
        if (r >= 0) r = zero = const_add(fl, buf, &tz);
    }
    gr.start = fl->dst->n_nodes;
    for (int i = 0; r >= 0 && i < N; i++) { /* S_i: Where(true, init_i, init_i), a copy of init_i */
        init[i] = map[n->in[i]], S[i] = bmap[body->inputs[i]];
        int in[3] = {yes, init[i], init[i]};
        r = plan_node(fl, RT_OP_WHERE, name, 16, 3, in, S[i]);
    }
    for (int j = 0; r >= 0 && j < M; j++) { /* slice_j: Gather(X_j, 0) on axis 0, one step's shape */
        X[j] = map[n->in[N + j]], slice[j] = bmap[body->inputs[N + j]];
        int in[2] = {X[j], zero};
        r = plan_node(fl, RT_OP_GATHER, name, 13, 2, in, slice[j]);
    }
    gr.body_start = fl->dst->n_nodes;
    if (r >= 0) r = graph_copy(fl, body, bmap, pre);
    gr.body_end = fl->dst->n_nodes;
    for (int i = 0; r >= 0 && i < N + K; i++) {
        (i < N ? S_out : out - N)[i] = bmap[body->outputs[i]];
        if (bmap[body->outputs[i]] < 0) r = rt_error_set(fl->err, "node '%s' (Scan): the body returns a value it never defines", name);
    }
    for (int i = 0; r >= 0 && i < N; i++) { /* final_i: Where(true, S_i, S_out_i): S_i after the loop */
        fin[i] = n->out[i] >= 0 ? map[n->out[i]] : -1;
        int in[3] = {yes, S[i], S_out[i]};
        if (fin[i] >= 0) r = plan_node(fl, RT_OP_WHERE, name, 16, 3, in, fin[i]);
    }
    for (int k = 0; r >= 0 && k < K; k++) { /* Y_k: Expand(Unsqueeze(out_k, [0]), [T, 1, ...]) */
        Y[k] = n->out[N + k] >= 0 ? map[n->out[N + k]] : -1;
        if (Y[k] < 0) continue;
        int rank = body->values[body->outputs[N + k]].rank;
        if (rank < 0 || rank + 1 > RT_MAX_RANK) {
            r = scan_refuse(fl, name, "a scan output of unknown rank");
            break;
        }
        int64_t axes0 = 0, shp[RT_MAX_RANK];
        for (int d = 0; d <= rank; d++) shp[d] = d ? 1 : gr.T;
        RtTensor ta = {.dtype = RT_I64, .rank = 1, .dims = {1}, .data = &axes0};
        RtTensor ts = {.dtype = RT_I64, .rank = 1, .dims = {rank + 1}, .data = shp};
        snprintf(buf, sizeof buf, "%s/out%d_axes", name, k);
        int ax = const_add(fl, buf, &ta);
        snprintf(buf, sizeof buf, "%s/out%d_shape", name, k);
        int sh = ax >= 0 ? const_add(fl, buf, &ts) : ax;
        snprintf(buf, sizeof buf, "%s/out%d_step", name, k);
        IrValue fresh = {.dtype = body->values[body->outputs[N + k]].dtype, .rank = -1, .producer = -1};
        int u = sh >= 0 ? value_copy(fl, &fresh, buf) : sh;
        int in1[2] = {out[k], ax}, in2[2] = {u, sh};
        r = u < 0 ? u : plan_node(fl, RT_OP_UNSQUEEZE, name, 13, 2, in1, u);
        if (r >= 0) r = plan_node(fl, RT_OP_EXPAND, name, 13, 2, in2, Y[k]);
    }
    free(bmap);
    gr.end = fl->dst->n_nodes;
    if (r >= 0 && fl->f->n_scans == fl->f->cap_scans) {
        int cap = fl->f->cap_scans ? 2 * fl->f->cap_scans : 4;
        EcScanGroup *p = realloc(fl->f->scans, sizeof *p * (size_t)cap);
        if (!p) r = rt_error_set(fl->err, "out of memory");
        else fl->f->scans = p, fl->f->cap_scans = cap;
    }
    if (r < 0) {
        free(gr.v);
        return r;
    }
    fl->f->scans[fl->f->n_scans++] = gr;
    return RT_OK;
}

/* Copies src's values not in map yet (prefixed names, except at the top level) and its
 * nodes into the flat graph, each If as a group. */
static int graph_copy(Flattener *fl, const IrGraph *src, int *map, const char *prefix) {
    char buf[768];
    for (int v = 0; v < src->n_values; v++) {
        if (map[v] >= 0) continue;
        if (prefix) snprintf(buf, sizeof buf, "%s/%s", prefix, src->values[v].name ? src->values[v].name : "");
        /* the top graph's names are unique and copied before anything else is added */
        map[v] = value_copy_named(fl, &src->values[v], prefix ? buf : src->values[v].name, prefix == NULL);
        if (map[v] < 0) return map[v];
    }
    int *in = malloc(sizeof(int) * (RT_NODE_MAX_IN + RT_NODE_MAX_OUT));
    if (!in) return rt_error_set(fl->err, "out of memory");
    int *out = in + RT_NODE_MAX_IN, r = RT_OK;
    for (int k = 0; k < src->n_nodes && r >= 0; k++) {
        const RtNode *n = &src->nodes[k];
        if (n->op == RT_OP_IF || n->op == RT_OP_SCAN) {
            r = n->op == RT_OP_IF ? if_flatten(fl, src, n, map) : scan_flatten(fl, src, n, map);
            continue;
        }
        if (n->n_in > RT_NODE_MAX_IN || n->n_out > RT_NODE_MAX_OUT) {
            r = rt_error_set(fl->err, "node '%s' (%s): too many inputs or outputs", n->name, n->op_type);
            break;
        }
        for (int j = 0; j < n->n_in; j++) in[j] = n->in[j] >= 0 ? map[n->in[j]] : -1;
        for (int j = 0; j < n->n_out; j++) out[j] = n->out[j] >= 0 ? map[n->out[j]] : -1;
        int q = node_add(fl, n->op, n->name, n->n_in, in, n->n_out, out);
        if (q < 0) {
            r = q;
            break;
        }
        RtNode *d = &fl->dst->nodes[q];
        d->op_type = n->op_type, d->domain = n->domain, d->opset = n->opset;
        d->n_attr = n->n_attr, d->attrs = n->attrs; /* borrowed: no graph attribute (If, Scan are not copied) */
    }
    free(in);
    return r;
}

static void live_extend(EcFlat *f, int v, int first, int last) {
    if (v < 0) return;
    if (first >= 0 && (f->live_first[v] < 0 || first < f->live_first[v])) f->live_first[v] = first;
    if (last > f->live_last[v]) f->live_last[v] = last;
}

/* What each Scan's loop keeps across iterations (EcFlat.live_first / live_last): the state
 * buffers, the scan inputs and every value its body reads from outside the body until the
 * last body node (the next iteration reads them again), the body's outputs until then too
 * (copied after it), and the stacked scan outputs from the loop's start (written by every
 * iteration). */
static int scan_live(EcFlat *f, RtError *err) {
    const IrGraph *g = f->g;
    f->live_first = malloc(sizeof(int) * ((size_t)g->n_values + 1));
    f->live_last = malloc(sizeof(int) * ((size_t)g->n_values + 1));
    if (!f->live_first || !f->live_last) return rt_error_set(err, "out of memory");
    for (int v = 0; v < g->n_values; v++) f->live_first[v] = f->live_last[v] = -1;
    for (int i = 0; i < f->n_scans; i++) {
        const EcScanGroup *s = &f->scans[i];
        int N = s->N, M = s->M, K = s->K, last = s->body_end - 1;
        const int *S = s->v + N, *X = S + N, *S_out = X + 2 * M, *out = S_out + N, *Y = out + K + N;
        for (int j = 0; j < N; j++) live_extend(f, S[j], -1, last), live_extend(f, S_out[j], -1, last);
        for (int j = 0; j < M; j++) live_extend(f, X[j], -1, last);
        for (int k = 0; k < K; k++) live_extend(f, out[k], -1, last), live_extend(f, Y[k], s->start, -1);
        for (int k = s->body_start; k < s->body_end; k++)
            for (int j = 0; j < g->nodes[k].n_in; j++) {
                int v = g->nodes[k].in[j];
                if (v >= 0 && g->values[v].producer < s->body_start) live_extend(f, v, -1, last);
            }
    }
    return RT_OK;
}

int ec_control_flatten(const IrGraph *g, EcFlat *f, RtError *err) {
    memset(f, 0, sizeof *f);
    int any = scan_control(g, err);
    if (any <= 0) return any;
    IrGraph *d = ir_graph_new();
    int *map = malloc(sizeof(int) * ((size_t)g->n_values + 1));
    if (!d || !map) {
        ir_graph_free(d);
        free(map);
        return rt_error_set(err, "out of memory");
    }
    f->g = d;
    d->name = g->name, d->opset = g->opset, d->source_opset = g->source_opset, d->ir_version = g->ir_version;
    d->producer_name = g->producer_name, d->path = g->path, d->keep_dequantize = g->keep_dequantize;
    Flattener fl = {d, f, err};
    for (int v = 0; v < g->n_values; v++) map[v] = -1;
    int r = graph_copy(&fl, g, map, NULL);
    d->inputs = malloc(sizeof(int) * ((size_t)g->n_inputs + 1));
    d->outputs = malloc(sizeof(int) * ((size_t)g->n_outputs + 1));
    if (r >= 0 && (!d->inputs || !d->outputs)) r = rt_error_set(err, "out of memory");
    for (int i = 0; r >= 0 && i < g->n_inputs; i++) d->inputs[i] = map[g->inputs[i]];
    for (int i = 0; r >= 0 && i < g->n_outputs; i++) d->outputs[i] = map[g->outputs[i]];
    d->n_inputs = g->n_inputs, d->n_outputs = g->n_outputs;
    free(map);
    if (r >= 0 && f->n_scans) r = scan_live(f, err);
    if (r < 0) ec_control_free(f);
    return r < 0 ? r : RT_OK;
}

void ec_control_free(EcFlat *f) {
    ir_graph_free(f->g);
    free(f->groups);
    for (int i = 0; i < f->n_scans; i++) free(f->scans[i].v);
    free(f->scans);
    free(f->live_first);
    free(f->live_last);
    memset(f, 0, sizeof *f);
}

static int same_type(const RtTensor *a, const RtTensor *b) {
    int same = a->dtype == b->dtype && a->rank == b->rank;
    for (int d = 0; same && d < a->rank; d++) same = a->dims[d] == b->dims[d];
    return same;
}

static int root_value(const EcCtx *c, int v) {
    while (v >= 0 && c->loc[v].alias >= 0) v = c->loc[v].alias;
    return v;
}

/* After ec_plan (aliases known): a state output that is another state's buffer would be
 * overwritten by that state's update before it is read. */
static int scan_alias_check(const EcCtx *c, const EcScanGroup *s) {
    const int *S = s->v + s->N, *S_out = S + s->N + 2 * s->M;
    for (int i = 0; i < s->N; i++)
        for (int j = 0; j < s->N; j++)
            if (i != j && root_value(c, S_out[i]) == root_value(c, S[j]))
                return rt_error_set(c->err, "node '%s' (Scan): state output %d is state input %d itself; emit-c "
                                    "updates the states in place and does not emit that exchange", s->name, i, j);
    return RT_OK;
}

static int scan_check(const EcCtx *c, const EcScanGroup *s) {
    char s1[256], s2[256];
    const int *S = s->v + s->N, *S_out = S + s->N + 2 * s->M;
    for (int i = 0; i < s->N; i++) {
        const RtTensor *a = &c->val[S[i]], *b = &c->val[S_out[i]];
        if (!same_type(a, b))
            return rt_error_set(c->err, "node '%s' (Scan): state %d enters the body as %s %s and leaves it as %s %s; "
                                "emit-c needs one static dtype and shape", s->name, i, rt_dtype_name(a->dtype),
                                rt_shape_str(a->rank, a->dims, s1, sizeof s1), rt_dtype_name(b->dtype),
                                rt_shape_str(b->rank, b->dims, s2, sizeof s2));
    }
    return RT_OK;
}

int ec_control_check(const EcCtx *c, const EcFlat *f) {
    char s1[256], s2[256];
    for (int i = 0; i < f->n_scans; i++) RT_TRY(scan_check(c, &f->scans[i]));
    for (int i = 0; i < f->n_groups; i++) {
        const EcIfGroup *gr = &f->groups[i];
        for (int k = gr->else_end; k < gr->end; k++) {
            const RtNode *n = &c->g->nodes[k];
            const RtTensor *t = &c->val[n->in[1]], *e = &c->val[n->in[2]];
            int same = t->dtype == e->dtype && t->rank == e->rank;
            for (int d = 0; same && d < t->rank; d++) same = t->dims[d] == e->dims[d];
            if (!same)
                return rt_error_set(c->err, "node '%s' (If): output %d is %s %s in then_branch and %s %s in "
                                    "else_branch; emit-c needs one static dtype and shape for both",
                                    gr->name, k - gr->else_end, rt_dtype_name(t->dtype),
                                    rt_shape_str(t->rank, t->dims, s1, sizeof s1), rt_dtype_name(e->dtype),
                                    rt_shape_str(e->rank, e->dims, s2, sizeof s2));
        }
    }
    return RT_OK;
}

/* name as C comment text: printable ASCII, no comment end */
static void comment_name(TextBuf *b, const char *s) {
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int bad = ch < 32 || ch > 126 || (ch == '*' && s[1] == '/') || ch == '?' || ch == '\\';
        text_buf_printf(b, "%c", bad ? '_' : (char)ch);
    }
}

/* ec_nodes_emit(lo, hi) with every line indented `extra` more spaces (the nodes of a branch
 * or a loop body, inside its braces). */
static int nested_emit(EcCtx *c, int lo, int hi, int extra) {
    TextBuf outer = c->body;
    memset(&c->body, 0, sizeof c->body);
    int r = ec_nodes_emit(c, lo, hi);
    TextBuf inner = c->body;
    c->body = outer;
    for (const char *line = inner.s; line && *line;) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        text_buf_printf(&c->body, "%*s%.*s\n", len ? extra : 0, "", len, line);
        line += len + (nl != NULL);
    }
    if (inner.oom) c->body.oom = 1;
    text_buf_free(&inner);
    return r;
}

static const EcScanGroup *scan_at(const EcCtx *c, int k) {
    for (int i = 0; c->flat && i < c->flat->n_scans; i++)
        if (c->flat->scans[i].start == k) return &c->flat->scans[i];
    return NULL;
}

/* A Scan group: prologue copies, `for` over the T steps (slice in, body, outputs out, states
 * updated), final states out. */
static int scan_emit(EcCtx *c, const EcScanGroup *s) {
    char pa[96], pb[96];
    int N = s->N, M = s->M, K = s->K;
    const int *init = s->v, *S = init + N, *X = S + N, *slice = X + M, *S_out = slice + M, *out = S_out + N;
    const int *fin = out + K, *Y = fin + N, *in_rev = Y + K, *out_rev = in_rev + M;
    RT_TRY(scan_alias_check(c, s));
    TextBuf *b = &c->body;
    text_buf_printf(b, "    /* Scan '");
    comment_name(b, s->name);
    text_buf_printf(b, "': %lld steps */\n    {\n        int32_t t%d;\n", (long long)s->T, s->start);
    for (int i = 0; i < N; i++)
        if (root_value(c, init[i]) != root_value(c, S[i]))
            text_buf_printf(b, "        memcpy(%s, %s, %lld);\n", ec_ptr(c, S[i], 0, pa, sizeof pa),
                            ec_ptr(c, init[i], 1, pb, sizeof pb), (long long)rt_nbytes(&c->val[S[i]]));
    text_buf_printf(b, "        for (t%d = 0; t%d < %lld; t%d++) {\n", s->start, s->start, (long long)s->T, s->start);
    for (int j = 0; j < M; j++) {
        long long sb = (long long)rt_nbytes(&c->val[slice[j]]);
        ec_ptr(c, X[j], 1, pb, sizeof pb);
        text_buf_printf(b, "            memcpy(%s, (const unsigned char *)%s + (size_t)", ec_ptr(c, slice[j], 0, pa, sizeof pa),
                        pb);
        if (in_rev[j]) text_buf_printf(b, "(%lld - 1 - t%d)", (long long)s->T, s->start);
        else text_buf_printf(b, "t%d", s->start);
        text_buf_printf(b, " * %lld, %lld);\n", sb, sb);
    }
    RT_TRY(nested_emit(c, s->body_start, s->body_end, 8));
    for (int k = 0; k < K; k++) {
        if (Y[k] < 0) continue;
        long long ob = (long long)rt_nbytes(&c->val[out[k]]);
        ec_ptr(c, out[k], 1, pb, sizeof pb);
        text_buf_printf(b, "            memcpy((unsigned char *)%s + (size_t)", ec_ptr(c, Y[k], 0, pa, sizeof pa));
        if (out_rev[k]) text_buf_printf(b, "(%lld - 1 - t%d)", (long long)s->T, s->start);
        else text_buf_printf(b, "t%d", s->start);
        text_buf_printf(b, " * %lld, %s, %lld);\n", ob, pb, ob);
    }
    for (int i = 0; i < N; i++)
        if (root_value(c, S_out[i]) != root_value(c, S[i]))
            text_buf_printf(b, "            memcpy(%s, %s, %lld);\n", ec_ptr(c, S[i], 0, pa, sizeof pa),
                            ec_ptr(c, S_out[i], 1, pb, sizeof pb), (long long)rt_nbytes(&c->val[S[i]]));
    text_buf_printf(b, "        }\n");
    for (int i = 0; i < N; i++) {
        if (fin[i] < 0) continue;
        text_buf_printf(b, "        memcpy(%s, %s, %lld);\n", ec_ptr(c, fin[i], 0, pa, sizeof pa),
                        ec_ptr(c, S[i], 1, pb, sizeof pb), (long long)rt_nbytes(&c->val[fin[i]]));
    }
    text_buf_printf(b, "    }\n");
    for (int k = s->body_end; k < s->end; k++) ec_half_round_emit(c, k);
    return RT_OK;
}

/* The group starting at node k, or NULL. */
static const EcIfGroup *group_at(const EcCtx *c, int k) {
    for (int i = 0; c->flat && i < c->flat->n_groups; i++)
        if (c->flat->groups[i].start == k) return &c->flat->groups[i];
    return NULL;
}

int ec_nodes_emit(EcCtx *c, int lo, int hi) {
    char pc[96], pt[96], pe[96], py[96];
    for (int k = lo; k < hi; k++) {
        const EcScanGroup *sg = scan_at(c, k);
        if (sg) {
            RT_TRY(scan_emit(c, sg));
            k = sg->end - 1;
            continue;
        }
        const EcIfGroup *gr = group_at(c, k);
        if (!gr) {
            RT_TRY(ec_node_emit(c, k));
            ec_half_round_emit(c, k);
            continue;
        }
        RT_TRY(ec_node_emit(c, gr->start)); /* the Reshape of cond: an alias, no code */
        ec_ptr(c, gr->cond, 1, pc, sizeof pc);
        text_buf_printf(&c->body, "    /* If '");
        comment_name(&c->body, gr->name);
        text_buf_printf(&c->body, "': one branch runs */\n    if (%s[0]) {\n", pc);
        RT_TRY(nested_emit(c, gr->start + 1, gr->then_end, 4));
        text_buf_printf(&c->body, "    } else {\n");
        RT_TRY(nested_emit(c, gr->then_end, gr->else_end, 4));
        text_buf_printf(&c->body, "    }\n");
        for (int m = gr->else_end; m < gr->end; m++) {
            const RtNode *n = &c->g->nodes[m];
            text_buf_printf(&c->body, "    /* node %d: If output %d */\n", m, m - gr->else_end);
            text_buf_printf(&c->body, "    memcpy(%s, %s[0] ? (const void *)%s : (const void *)%s, %lld);\n",
                            ec_ptr(c, n->out[0], 0, py, sizeof py), pc, ec_ptr(c, n->in[1], 1, pt, sizeof pt),
                            ec_ptr(c, n->in[2], 1, pe, sizeof pe), (long long)rt_nbytes(&c->val[n->out[0]]));
            ec_half_round_emit(c, m);
        }
        k = gr->end - 1;
    }
    return RT_OK;
}
