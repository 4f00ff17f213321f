/*
 * train_model.c — the tape: per-value buffers over a borrowed IrGraph, parameter discovery,
 * and the forward / backward drivers (see train.h).
 *
 * Algorithm: at init, every node is a side node (train_ops_side.c) or looked up in the training
 * op table (unknown ones refused by node name), parameters are the float32 initializers except
 * the fixed ones (is_fixed: BatchNormalization's running statistics, Clip's bounds, Pow's
 * exponent; and Constant nodes' values, which are not initializers), and a value needs a gradient when it is a parameter or a node computes it from
 * one (one pass in topological order). Forward copies the inputs into owned buffers and runs
 * each node's forward; backward zeroes the gradients of the values that need them, seeds the
 * outputs' gradients and runs each node's backward in reverse order (each adds into its
 * inputs' dx).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

int train_node_fail(const TrainModel *m, int k, RtError *err, const char *fmt, ...) {
    const RtNode *n = &m->g->nodes[k];
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rt_error_set(err, "node '%s' (%s): %s", n->name ? n->name : "", n->op_type ? n->op_type : rt_op_name(n->op),
                        msg);
}

int64_t train_tensor_numel(const TrainTensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->rank; d++) n *= t->dims[d];
    return n;
}

/* Grows value v's buffers to hold n floats (x, and dx when it needs a gradient). */
static int tensor_reserve(TrainTensor *t, int64_t n, RtError *err) {
    if (t->is_const) return RT_OK;
    if (n <= t->cap) return RT_OK;
    int64_t cap = n + n / 4 + 16;
    float *x = realloc(t->x, sizeof(float) * (size_t)cap);
    if (!x) return rt_error_set(err, "out of memory (%lld floats)", (long long)cap);
    t->x = x;
    if (t->needs_grad) {
        float *dx = realloc(t->dx, sizeof(float) * (size_t)cap);
        if (!dx) return rt_error_set(err, "out of memory (%lld floats)", (long long)cap);
        t->dx = dx;
    }
    t->cap = cap;
    return RT_OK;
}

int train_out_shape(TrainModel *m, int k, int o, int rank, const int64_t *dims, RtError *err) {
    const RtNode *n = &m->g->nodes[k];
    if (o >= n->n_out || n->out[o] < 0) return RT_OK;
    TrainTensor *t = &m->t[n->out[o]];
    int64_t numel = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0 || (dims[d] > 0 && numel > ((int64_t)1 << 40) / dims[d]))
            return train_node_fail(m, k, err, "output shape too large or negative");
        numel *= dims[d];
    }
    t->rank = rank;
    t->dtype = RT_F32;
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    if (tensor_reserve(t, numel, err) != RT_OK) return train_node_fail(m, k, err, "%s", err->msg);
    return RT_OK;
}

void *train_node_state(TrainModel *m, int k, size_t bytes, RtError *err) {
    if (bytes == 0) bytes = 1;
    if (m->state_bytes[k] < bytes) {
        free(m->state[k]);
        m->state[k] = calloc(1, bytes);
        m->state_bytes[k] = m->state[k] ? bytes : 0;
        if (!m->state[k]) {
            train_node_fail(m, k, err, "out of memory (%zu bytes of saved state)", bytes);
            return NULL;
        }
    }
    return m->state[k];
}

/* 1 when value v is not a weight: a running statistic (input 3 or 4) of a BatchNormalization,
 * a bound (input 1 or 2) of a Clip (ReLU6's 6 stays 6), the exponent of a Pow (the 2 of an
 * exported x.pow(2): moved off an integer, a negative base would give NaN), or a Pad's
 * constant_value (input 2: F.pad's value is an argument, not a weight). */
static int is_fixed(const IrGraph *g, int v) {
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        for (int i = 1; i < n->n_in; i++)
            if (n->in[i] == v && ((n->op == RT_OP_BATCH_NORMALIZATION && i >= 3) || n->op == RT_OP_CLIP ||
                                 (n->op == RT_OP_POW && i == 1) || (n->op == RT_OP_PAD && i == 2)))
                return 1;
    }
    return 0;
}

/* 1 when name is in list[n]. */
static int name_listed(const char *name, const char *const *list, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0) return 1;
    return 0;
}

/* Every name in frozen[n_frozen] must be a float32 initializer of g. */
static int frozen_check(const IrGraph *g, const char *const *frozen, int n_frozen, RtError *err) {
    for (int i = 0; i < n_frozen; i++) {
        int v = ir_value_find(g, frozen[i]);
        const IrValue *iv = v >= 0 ? &g->values[v] : NULL;
        if (!iv || !iv->konst || iv->from_constant_node || iv->konst->dtype != RT_F32)
            return rt_error_set(err, "'%s' is not a float32 initializer of the student (--freeze names one)",
                                frozen[i]);
    }
    return RT_OK;
}

static int params_find(TrainModel *m, const char *const *frozen, int n_frozen, RtError *err) {
    IrGraph *g = m->g;
    m->p = calloc((size_t)g->n_values + 1, sizeof *m->p);
    if (!m->p) return rt_error_set(err, "out of memory");
    for (int v = 0; v < g->n_values; v++) {
        RtTensor *c = g->values[v].konst;
        TrainTensor *t = &m->t[v];
        if (!c) continue;
        t->is_const = 1;
        t->rank = c->rank;
        t->dtype = c->dtype;
        memcpy(t->dims, c->dims, sizeof t->dims);
        if (c->dtype != RT_F32) {
            t->side = c->data; /* borrowed (side_cap 0) */
            continue;
        }
        t->x = c->data;
        if (is_fixed(g, v) || g->values[v].from_constant_node || ir_value_uses(g, v) == 0 ||
            name_listed(g->values[v].name, frozen, n_frozen))
            continue;
        TrainParam *p = &m->p[m->n_params++];
        p->value = v, p->n = rt_numel(c), p->w = c->data, p->qat_node = -1, p->qat_bn = -1;
        p->m = calloc((size_t)p->n + 1, sizeof(float));
        p->v = calloc((size_t)p->n + 1, sizeof(float));
        t->dx = calloc((size_t)p->n + 1, sizeof(float));
        if (!p->m || !p->v || !t->dx) return rt_error_set(err, "out of memory");
        t->needs_grad = 1;
    }
    return RT_OK;
}

/* 1 when op's outputs never carry a gradient whatever its inputs (sizes, indices, booleans). */
static int op_not_differentiable(int op) {
    switch (op) {
    case RT_OP_SHAPE: case RT_OP_SIZE: case RT_OP_ARG_MAX: case RT_OP_ARG_MIN: case RT_OP_EQUAL:
    case RT_OP_LESS: case RT_OP_LESS_OR_EQUAL: case RT_OP_GREATER: case RT_OP_GREATER_OR_EQUAL:
    case RT_OP_NOT: case RT_OP_AND: case RT_OP_OR: case RT_OP_XOR: case RT_OP_IS_NAN: case RT_OP_IS_INF:
    case RT_OP_CONSTANT_OF_SHAPE: case RT_OP_RANGE: case RT_OP_EYE_LIKE:
        return 1;
    default:
        return 0;
    }
}

/* 1 when node n holds a graph (If): training runs flat graphs only. */
static int has_subgraph(const RtNode *n) {
    for (int a = 0; a < n->n_attr; a++)
        if (n->attrs[a].type == RT_ATTR_GRAPH) return 1;
    return 0;
}

/* Classifies every node in graph order: a side node (train_ops_side.c) when no input it
 * differentiates needs a gradient or its outputs are never differentiable; otherwise it must
 * be in the training op table, and its non-side inputs float32. */
static int nodes_check(TrainModel *m, RtError *err) {
    IrGraph *g = m->g;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        const TrainOp *op = train_op_find(n->op);
        if (has_subgraph(n)) return train_node_fail(m, k, err, "training does not support subgraphs (control flow)");
        int grad_in = 0;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0 && m->t[n->in[i]].needs_grad && !(op && (op->side_inputs >> i & 1))) grad_in = 1;
        if (!grad_in || op_not_differentiable(n->op)) {
            m->side_node[k] = 1;
            continue;
        }
        if (!op)
            return train_node_fail(m, k, err, "training does not differentiate this op (supported: %s)",
                                   train_op_names());
        if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
            return train_node_fail(m, k, err, "domain '%s' is not trainable", n->domain);
        for (int i = 0; i < n->n_in; i++) {
            int v = n->in[i];
            if (v < 0 || (op->side_inputs >> i & 1)) continue;
            RtDtype dt = g->values[v].konst ? g->values[v].konst->dtype : g->values[v].dtype;
            if (dt != RT_F32 && dt != RT_UNDEFINED)
                return train_node_fail(m, k, err, "input %d ('%s') is %s; training runs on float32", i,
                                       g->values[v].name, rt_dtype_name(dt));
        }
        m->node_grad[k] = 1;
        for (int o = 0; o < n->n_out; o++)
            if (n->out[o] >= 0) m->t[n->out[o]].needs_grad = 1;
        if (op->check && op->check(m, k, err) != RT_OK) return RT_ERR;
    }
    return RT_OK;
}

int train_model_init(TrainModel *m, IrGraph *g, RtError *err) { return train_model_init_frozen(m, g, NULL, 0, err); }

int train_model_init_frozen(TrainModel *m, IrGraph *g, const char *const *frozen, int n_frozen, RtError *err) {
    memset(m, 0, sizeof *m);
    if (frozen_check(g, frozen, n_frozen, err) != RT_OK) return RT_ERR;
    m->g = g;
    m->training = 1;
    m->t = calloc((size_t)g->n_values + 1, sizeof *m->t);
    m->state = calloc((size_t)g->n_nodes + 1, sizeof *m->state);
    m->state_bytes = calloc((size_t)g->n_nodes + 1, sizeof *m->state_bytes);
    m->node_grad = calloc((size_t)g->n_nodes + 1, 1);
    m->side_node = calloc((size_t)g->n_nodes + 1, 1);
    if (!m->t || !m->state || !m->state_bytes || !m->node_grad || !m->side_node) {
        train_model_free(m);
        return rt_error_set(err, "out of memory");
    }
    int rc = params_find(m, frozen, n_frozen, err);
    if (rc == RT_OK) rc = nodes_check(m, err);
    if (rc != RT_OK) train_model_free(m);
    return rc;
}

void train_model_free(TrainModel *m) {
    if (m->t)
        for (int v = 0; v < m->g->n_values; v++) {
            if (!m->t[v].is_const) free(m->t[v].x);
            if (m->t[v].side_cap) free(m->t[v].side);
            free(m->t[v].dx);
        }
    for (int i = 0; i < m->n_params; i++) {
        free(m->p[i].fq);
        free(m->p[i].m);
        free(m->p[i].v);
    }
    if (m->state)
        for (int k = 0; k < m->g->n_nodes; k++) free(m->state[k]);
    free(m->t);
    free(m->p);
    free(m->state);
    free(m->state_bytes);
    free(m->node_grad);
    free(m->side_node);
    free(m->act_lo);
    free(m->act_hi);
    free(m->act_fq);
    memset(m, 0, sizeof *m);
}

/* A differentiated node's data inputs must hold float32 now (a side node may have produced
 * another type where the graph's dtype was unknown at init). */
static int inputs_float_check(TrainModel *m, int k, RtError *err) {
    const RtNode *n = &m->g->nodes[k];
    uint32_t side = train_op_find(n->op)->side_inputs;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && !(side >> i & 1) && m->t[n->in[i]].dtype != RT_F32)
            return train_node_fail(m, k, err, "input %d ('%s') is %s; training runs on float32", i,
                                   m->g->values[n->in[i]].name, rt_dtype_name(m->t[n->in[i]].dtype));
    return RT_OK;
}

int train_model_forward(TrainModel *m, const RtTensor *inputs, RtError *err) {
    IrGraph *g = m->g;
    for (int i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        TrainTensor *t = &m->t[v];
        if (t->is_const) continue; /* an initializer listed as an input keeps its data */
        if (inputs[i].dtype != RT_F32) { /* token ids, masks: side data for the nodes reading them */
            int64_t bytes = rt_nbytes(&inputs[i]);
            if (bytes > t->side_cap) {
                void *p = realloc(t->side, (size_t)bytes);
                if (!p) return rt_error_set(err, "out of memory (%lld bytes)", (long long)bytes);
                t->side = p, t->side_cap = bytes;
            }
            memcpy(t->side, inputs[i].data, (size_t)bytes);
            t->dtype = inputs[i].dtype, t->rank = inputs[i].rank;
            memcpy(t->dims, inputs[i].dims, sizeof t->dims);
            continue;
        }
        t->dtype = RT_F32;
        int64_t n = rt_numel(&inputs[i]);
        if (tensor_reserve(t, n, err) != RT_OK) return RT_ERR;
        t->rank = inputs[i].rank;
        memcpy(t->dims, inputs[i].dims, sizeof t->dims);
        memcpy(t->x, inputs[i].data, sizeof(float) * (size_t)n);
        if (m->act_fq) train_qat_act_forward(m, v);
    }
    if (m->qat && train_qat_refresh(m, err) != RT_OK) return RT_ERR;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (m->side_node[k]) {
            if (train_side_fwd(m, k, err) != RT_OK) return RT_ERR;
            continue;
        }
        if (inputs_float_check(m, k, err) != RT_OK || train_op_find(n->op)->fwd(m, k, err) != RT_OK) return RT_ERR;
        if (m->act_fq)
            for (int o = 0; o < n->n_out; o++)
                if (n->out[o] >= 0) train_qat_act_forward(m, n->out[o]);
    }
    return RT_OK;
}

int train_model_backward(TrainModel *m, const float *const *dout, RtError *err) {
    IrGraph *g = m->g;
    for (int v = 0; v < g->n_values; v++) {
        TrainTensor *t = &m->t[v];
        if (t->needs_grad && t->dx) memset(t->dx, 0, sizeof(float) * (size_t)train_tensor_numel(t));
    }
    for (int i = 0; i < g->n_outputs; i++) {
        TrainTensor *t = &m->t[g->outputs[i]];
        if (!dout[i] || !t->needs_grad) continue;
        int64_t n = train_tensor_numel(t);
        for (int64_t j = 0; j < n; j++) t->dx[j] += dout[i][j];
    }
    for (int k = g->n_nodes - 1; k >= 0; k--)
        if (m->node_grad[k] && train_op_find(g->nodes[k].op)->bwd(m, k, err) != RT_OK) return RT_ERR;
    return RT_OK;
}
