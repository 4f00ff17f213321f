/*
 * train_ops_side.c — side nodes: the parts of a student graph that no parameter feeds (shape
 * arithmetic such as Shape -> Gather -> Unsqueeze -> Concat before a Reshape, Casts, masks) or
 * whose results are not float (Shape, ArgMax, Equal). They are computed by the runtime's
 * reference kernel for the op, the same code `wafer run` and the conformance tests check, on
 * the inputs' current data, and are never differentiated. Float results go to the value's x
 * (a later differentiable op reads them like any activation); other dtypes go to side.
 */
#include <stdlib.h>
#include <string.h>

#include "../runtime/rt_exec.h"
#include "train_ops.h"

void train_value_view(const TrainModel *m, int v, RtTensor *out) {
    const TrainTensor *t = &m->t[v];
    memset(out, 0, sizeof *out);
    out->dtype = t->dtype == RT_UNDEFINED ? RT_F32 : t->dtype;
    out->rank = t->rank;
    memcpy(out->dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    out->data = out->dtype == RT_F32 ? (void *)t->x : t->side;
}

/* Copies a non-float result into value v's side buffer (grown as needed). */
static int side_store(TrainModel *m, int k, int v, const RtTensor *r, RtError *err) {
    TrainTensor *t = &m->t[v];
    int64_t bytes = rt_nbytes(r);
    if (bytes > t->side_cap) {
        void *p = realloc(t->side_cap ? t->side : NULL, (size_t)bytes);
        if (!p) return train_node_fail(m, k, err, "out of memory (%lld bytes)", (long long)bytes);
        t->side = p, t->side_cap = bytes;
    }
    if (bytes) memcpy(t->side, r->data, (size_t)bytes);
    t->dtype = r->dtype, t->rank = r->rank;
    memcpy(t->dims, r->dims, sizeof(int64_t) * (size_t)r->rank);
    return RT_OK;
}

int train_side_fwd(TrainModel *m, int k, RtError *err) {
    const RtNode *n = train_node(m, k);
    RtTensor inv[64], outv[64], *in[64], *out[64];
    if (n->n_in > 64 || n->n_out > 64) return train_node_fail(m, k, err, "too many inputs or outputs");
    for (int i = 0; i < n->n_in; i++) {
        in[i] = NULL;
        if (n->in[i] < 0) continue;
        train_value_view(m, n->in[i], &inv[i]);
        in[i] = &inv[i];
    }
    memset(outv, 0, sizeof(RtTensor) * (size_t)n->n_out);
    for (int o = 0; o < n->n_out; o++) out[o] = &outv[o];
    const RtAllocator *a = rt_allocator_default();
    RtKernelCtx c = {.alloc = a, .err = err, .ref_only = 1, .run_subgraph = rt_exec_run_subgraph};
    int rc = rt_node_exec(&c, n, in, out);
    if (rc > 0) rc = train_node_fail(m, k, err, "produced no data");
    for (int o = 0; rc == RT_OK && o < n->n_out; o++) {
        int v = n->out[o];
        if (v < 0) continue;
        if (outv[o].dtype == RT_F32) {
            rc = train_out_shape(m, k, o, outv[o].rank, outv[o].dims, err);
            if (rc == RT_OK) memcpy(m->t[v].x, outv[o].data, (size_t)rt_nbytes(&outv[o]));
        } else {
            rc = side_store(m, k, v, &outv[o], err);
        }
    }
    for (int o = 0; o < n->n_out; o++) rt_tensor_free(a, &outv[o]);
    return rc;
}
