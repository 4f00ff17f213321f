/*
 * emit_control.c — If in emitted C: the branches flattened into one graph, the condition
 * read at run time.
 *
 * The rest of emit-c (shapes from the runtime's planner, the arena plan, one kernel call per
 * node) works on one flat graph with static shapes. So before anything else an If node is
 * replaced, in a copy of the graph (ec_control_flatten), by a group of nodes:
 *
 *   start         Reshape(cond, []) -> cond_s    the 1-element condition as a scalar
 *   [start+1, then_end)                          then_branch's nodes
 *   [then_end, else_end)                         else_branch's nodes
 *   [else_end, end)                              one Where(cond_s, T_i, E_i) -> Y_i per output
 *
 * The branches' inputs are the If's captures in[1..] (frontend/onnx_subgraph.c), so branch
 * input i is the parent's value in[1+i]; branch values get fresh names; a nested If is
 * flattened the same way inside its branch. For the planner the group is a plain sequence
 * (every branch node's shape is static, the Where gives Y_i the branches' common shape), and
 * the arena plan made for "then, then else, then merge" holds for the code that runs only one
 * branch: skipping nodes never makes a buffer live longer, and the two branches' buffers share
 * space as any two values whose live ranges do not meet.
 *
 * Emission (ec_nodes_emit) writes the group as
 *     if (cond_s[0]) { then nodes } else { else nodes }
 *     memcpy(Y_i, cond_s[0] ? T_i : E_i, bytes)          (the Where nodes: a copy, not a select
 *                                                        per element: the branch not taken left
 *                                                        its T_i / E_i unwritten)
 * Both branches must give output i one dtype and shape (ec_control_check), else the If is
 * refused by name. Loop and Scan (a body run a data-dependent number of times) are refused by
 * name, as is an If whose branch output count is not the node's.
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

/* 1 when g or a graph nested in it has an If; refuses (<0) a Loop or Scan anywhere. */
static int scan_control(const IrGraph *g, RtError *err) {
    int any_if = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        for (int a = 0; a < n->n_attr; a++) {
            if (n->attrs[a].type != RT_ATTR_GRAPH) continue;
            if (n->op != RT_OP_IF)
                return rt_error_set(err, "node '%s' (%s): emit-c cannot emit Loop or Scan (a body run a number of "
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
 * borrowed from src, which outlives the flat graph), named name or a fresh variant of it. */
static int value_copy(Flattener *fl, const IrValue *sv, const char *name) {
    const char *nm = ir_value_find(fl->dst, name) < 0 ? name : ir_value_name_fresh(fl->dst, name, "v");
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

/* Copies src's values not in map yet (prefixed names, except at the top level) and its
 * nodes into the flat graph, each If as a group. */
static int graph_copy(Flattener *fl, const IrGraph *src, int *map, const char *prefix) {
    char buf[768];
    for (int v = 0; v < src->n_values; v++) {
        if (map[v] >= 0) continue;
        if (prefix) snprintf(buf, sizeof buf, "%s/%s", prefix, src->values[v].name ? src->values[v].name : "");
        map[v] = value_copy(fl, &src->values[v], prefix ? buf : src->values[v].name);
        if (map[v] < 0) return map[v];
    }
    int *in = malloc(sizeof(int) * (RT_NODE_MAX_IN + RT_NODE_MAX_OUT));
    if (!in) return rt_error_set(fl->err, "out of memory");
    int *out = in + RT_NODE_MAX_IN, r = RT_OK;
    for (int k = 0; k < src->n_nodes && r >= 0; k++) {
        const RtNode *n = &src->nodes[k];
        if (n->op == RT_OP_IF) {
            r = if_flatten(fl, src, n, map);
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
        d->n_attr = n->n_attr, d->attrs = n->attrs; /* borrowed: no graph attribute (If is not copied) */
    }
    free(in);
    return r;
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
    if (r < 0) ec_control_free(f);
    return r < 0 ? r : RT_OK;
}

void ec_control_free(EcFlat *f) {
    ir_graph_free(f->g);
    free(f->groups);
    memset(f, 0, sizeof *f);
}

int ec_control_check(const EcCtx *c, const EcFlat *f) {
    char s1[256], s2[256];
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

/* The group starting at node k, or NULL. */
static const EcIfGroup *group_at(const EcCtx *c, int k) {
    for (int i = 0; c->flat && i < c->flat->n_groups; i++)
        if (c->flat->groups[i].start == k) return &c->flat->groups[i];
    return NULL;
}

/* name as C comment text: printable ASCII, no comment end */
static void comment_name(TextBuf *b, const char *s) {
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int bad = ch < 32 || ch > 126 || (ch == '*' && s[1] == '/') || ch == '?' || ch == '\\';
        text_buf_printf(b, "%c", bad ? '_' : (char)ch);
    }
}

int ec_nodes_emit(EcCtx *c, int lo, int hi) {
    char pc[96], pt[96], pe[96], py[96];
    for (int k = lo; k < hi; k++) {
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
        RT_TRY(ec_nodes_emit(c, gr->start + 1, gr->then_end));
        text_buf_printf(&c->body, "    } else {\n");
        RT_TRY(ec_nodes_emit(c, gr->then_end, gr->else_end));
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
