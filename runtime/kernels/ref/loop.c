/*
 * loop.c — reference kernels for the looping control-flow ops: Loop (opset 1-21, tensors
 * only) and Scan (opset 8's batched form and opset 9-21's axes/directions form).
 *
 * Both run their body subgraph once per iteration through c->run_subgraph. The body's inputs
 * are its declared inputs, then the outer-scope captures the frontend made explicit
 * (frontend/onnx_subgraph.c); RtGraph.n_declared says where the captures start.
 *
 * Loop (node inputs M, cond, v_initial[N], captures[C]; outputs v_final[N], scan[K]):
 *     keep = cond present ? cond : true
 *     for (i = 0; (M absent || i < M) && keep; i++) {
 *         (c, v, s) = body(i, keep, v, captures)
 *         if (cond present) keep = c        -- absent cond: the body's cond is ignored (spec)
 *         append s[k] to scan output k       -- stacked along a new axis 0
 *     }
 *   Scan outputs grow by doubling through c->alloc and fail cleanly when it refuses; every
 *   iteration must give the same dtype and shape. A loop with neither M nor a condition
 *   that turns false runs forever: that is the model's own (there is no timeout), but an M
 *   from the model is always honored. Zero iterations give the initial values and scan
 *   outputs of shape [0, <per-iteration shape>], found by running the body's kernels in
 *   shape mode on the inputs' shapes; [0] of float32 when that cannot tell.
 *
 * Scan (opset 9+: node inputs states[N], scan_inputs[M], captures[C]; outputs states[N],
 *   scan_outputs[K]; attributes num_scan_inputs = M, scan_input_axes / _directions [M],
 *   scan_output_axes / _directions [K], axes may be negative):
 *     T = scan input 0's length along its axis (every scan input must agree)
 *     for t in 0..T-1: slice j = scan_input[j] at index t (T-1-t when reversed) along its
 *       axis (that axis removed); (states, y) = body(states, slices, captures); y[k] goes to
 *       index t (T-1-t when reversed) along scan_output_axes[k] of output k.
 *   Opset 8 puts an optional sequence_lens input first and a batch axis 0 on every state and
 *   scan input (scan axis 1); each batch row runs the same algorithm on its own slice of the
 *   inputs. sequence_lens shorter than the scan axis is refused (unsupported).
 *
 * Shape mode (c->shape_only): the trip count and every shape depend on running the body, so
 * both kernels report RT_SHAPE_UNKNOWN; the planner then runs the graph on the dynamic
 * executor, as for Unique or NonZero, and ir/ir_shape.c infers Loop/Scan types itself. So
 * shape inference and constant folding never run a loop at compile time: a runaway loop
 * cannot hang the compiler.
 */
#include "../kernel.h"
#include "../../rt_exec.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LOOP_MAX_IO 64 /* inputs and outputs per Loop/Scan node, as the executor allows */

static const RtGraph *body_get(RtKernelCtx *c, const RtNode *n) {
    const RtAttr *a = rt_attr(n, "body");
    if (!a || a->type != RT_ATTR_GRAPH || !a->g) {
        rt_fail(c, "missing graph attribute 'body'");
        return NULL;
    }
    return (const RtGraph *)a->g;
}

/* Called after shape mode returned: running needs the executor's subgraph runner. */
static int runner_check(RtKernelCtx *c) {
    return c->run_subgraph ? RT_OK : rt_fail(c, "this executor cannot run subgraphs");
}

static void tensor_release(RtKernelCtx *c, RtTensor *t) {
    if (t->data) c->alloc->free(c->alloc->user, t->data);
    t->data = NULL;
}

static void tensors_release(RtKernelCtx *c, RtTensor *t, int n) {
    for (int i = 0; i < n; i++) tensor_release(c, &t[i]);
}

/* out = a copy of src (dtype, shape, data). */
static int out_copy(RtKernelCtx *c, RtTensor *out, const RtTensor *src) {
    RT_TRY(rt_out_alloc(c, out, src->dtype, src->rank, src->dims));
    int64_t bytes = rt_nbytes(src);
    if (bytes > 0) memcpy(out->data, src->data, (size_t)bytes);
    return RT_OK;
}

/* ---- zero iterations: per-iteration types of the body's outputs by a shape-mode walk ---- */

/* Fills types[i] (dtype, shape; no data) for body outputs first..first+count-1 from a run of
 * the body's kernels in shape mode on ins (shapes, data where known). A type it cannot find
 * is float32 of rank 0 with dtype RT_UNDEFINED left for the caller to replace. */
static int body_types(RtKernelCtx *c, const RtGraph *b, RtTensor *const *ins, int first, int count,
                      RtTensor *types) {
    for (int i = 0; i < count; i++) memset(&types[i], 0, sizeof types[i]);
    size_t nv = (size_t)(b->n_values > 0 ? b->n_values : 1);
    RtTensor *val = rt_scratch(c, sizeof(RtTensor) * nv);
    char *owned = rt_scratch(c, nv);
    if (!val || !owned) {
        rt_scratch_free(c, val);
        rt_scratch_free(c, owned);
        return RT_ERR_NOMEM;
    }
    memset(val, 0, sizeof(RtTensor) * nv);
    memset(owned, 0, nv);
    for (int v = 0; v < b->n_values; v++)
        if (b->consts && b->consts[v]) val[v] = *b->consts[v];
    for (int i = 0; i < b->n_inputs; i++)
        if (ins[i]) val[b->inputs[i]] = *ins[i];
    RtError e = {{0}};
    RtKernelCtx sc = {.alloc = c->alloc, .err = &e, .shape_only = 1, .run_subgraph = c->run_subgraph,
                      .ref_only = 1};
    for (int k = 0; k < b->n_nodes; k++) {
        const RtNode *n = &b->nodes[k];
        RtTensor *in[LOOP_MAX_IO], *out[LOOP_MAX_IO], unused[LOOP_MAX_IO];
        if (n->n_in > LOOP_MAX_IO || n->n_out > LOOP_MAX_IO) break;
        int known = 1;
        for (int j = 0; j < n->n_in; j++) {
            in[j] = n->in[j] >= 0 ? &val[n->in[j]] : NULL;
            if (in[j] && in[j]->dtype == RT_UNDEFINED) known = 0;
        }
        if (!known) continue; /* its outputs stay undefined */
        for (int j = 0; j < n->n_out; j++) {
            memset(&unused[j], 0, sizeof unused[j]);
            out[j] = n->out[j] >= 0 ? &val[n->out[j]] : &unused[j];
        }
        int r = rt_node_exec(&sc, n, in, out);
        for (int j = 0; j < n->n_out; j++) {
            if (n->out[j] < 0) tensor_release(c, &unused[j]);
            else owned[n->out[j]] = out[j]->data != NULL;
            if (r < 0 || r == RT_SHAPE_UNKNOWN) { /* nothing known about this node's outputs */
                tensor_release(c, out[j]);
                memset(out[j], 0, sizeof *out[j]);
                if (n->out[j] >= 0) owned[n->out[j]] = 0;
            }
        }
    }
    for (int i = 0; i < count; i++) {
        types[i] = val[b->outputs[first + i]];
        types[i].data = NULL;
    }
    for (int v = 0; v < b->n_values; v++)
        if (owned[v]) tensor_release(c, &val[v]);
    rt_scratch_free(c, val);
    rt_scratch_free(c, owned);
    return RT_OK;
}

/* An empty output stacked along axis (length 0 there) from a per-iteration type. */
static int out_empty(RtKernelCtx *c, RtTensor *out, const RtTensor *type, int axis) {
    int64_t dims[RT_MAX_RANK];
    if (type->dtype == RT_UNDEFINED || type->rank + 1 > RT_MAX_RANK) { /* nothing known: [0] */
        int64_t zero = 0;
        return rt_out_alloc(c, out, RT_F32, 1, &zero);
    }
    if (axis < 0 || axis > type->rank) axis = 0;
    for (int d = 0, s = 0; d <= type->rank; d++) dims[d] = d == axis ? 0 : type->dims[s++];
    return rt_out_alloc(c, out, type->dtype, type->rank + 1, dims);
}

/* ---- Loop ---- */

/* A growing stack of per-iteration tensors (one Loop scan output). */
typedef struct {
    RtTensor first;     /* dtype and shape of iteration 0 (data NULL) */
    void *data;         /* c->alloc: count x step bytes, room for cap */
    int64_t step;       /* bytes per iteration */
    int64_t count, cap; /* iterations stored, room */
} LoopStack;

static int stack_push(RtKernelCtx *c, LoopStack *s, const RtTensor *t, int k, int64_t iter) {
    char a[128], b[128];
    if (s->count == 0) {
        s->first = *t;
        s->first.data = NULL;
        s->step = rt_nbytes(t);
        if (s->step < 0) return rt_fail(c, "scan output %d: size overflows", k);
        if (t->rank + 1 > RT_MAX_RANK) return rt_fail(c, "scan output %d: rank %d + 1 exceeds %d", k, t->rank, RT_MAX_RANK);
    } else if (t->dtype != s->first.dtype || !rt_shape_equal(t, &s->first)) {
        return rt_fail(c, "scan output %d: iteration %lld gives %s %s, iteration 0 gave %s %s (every iteration "
                       "must give the same shape)", k, (long long)iter, rt_dtype_name(t->dtype),
                       rt_shape_str(t->rank, t->dims, a, sizeof a), rt_dtype_name(s->first.dtype),
                       rt_shape_str(s->first.rank, s->first.dims, b, sizeof b));
    }
    if (s->count == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 16;
        if (s->step > 0 && cap > INT64_MAX / 2 / s->step)
            return rt_fail(c, "scan output %d: %lld iterations of %lld bytes overflow", k, (long long)cap,
                           (long long)s->step);
        size_t bytes = (size_t)(cap * s->step);
        void *p = c->alloc->alloc(c->alloc->user, bytes ? bytes : 1);
        if (!p) {
            rt_fail(c, "scan output %d: out of memory growing to %lld iterations (%zu bytes)", k, (long long)cap, bytes);
            return RT_ERR_NOMEM;
        }
        if (s->data && s->count * s->step > 0) memcpy(p, s->data, (size_t)(s->count * s->step));
        if (s->data) c->alloc->free(c->alloc->user, s->data);
        s->data = p;
        s->cap = cap;
    }
    if (s->step > 0) memcpy((char *)s->data + s->count * s->step, t->data, (size_t)s->step);
    s->count++;
    return RT_OK;
}

/* Reads M and cond: *trip = -1 when M is absent (no limit), *has_cond, *keep. */
static int loop_limits(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int64_t *trip, int *has_cond,
                       int *keep) {
    const RtTensor *m = rt_in(n, in, 0), *cond = rt_in(n, in, 1);
    char s[128];
    *trip = -1;
    if (m) {
        if (rt_numel(m) != 1 || rt_dtype_is_float(m->dtype) || m->dtype == RT_BOOL)
            return rt_fail(c, "input 'M' must be one integer, is %s %s", rt_dtype_name(m->dtype),
                           rt_shape_str(m->rank, m->dims, s, sizeof s));
        *trip = rt_get_i64(m, 0);
        if (*trip < 0) *trip = 0; /* i < M never holds */
    }
    *has_cond = cond != NULL;
    *keep = 1;
    if (cond) {
        if (rt_numel(cond) != 1)
            return rt_fail(c, "input 'cond' must have one element, has shape %s", rt_shape_str(cond->rank, cond->dims, s, sizeof s));
        *keep = rt_get_i64(cond, 0) != 0;
    }
    return RT_OK;
}

/* State of one Loop run; everything in it is released by loop_state_free. */
typedef struct {
    int N, K, C, n_body_in;
    RtTensor *cur;       /* [N] carried values; cur_owned[j] 0 = borrowed node input */
    char *cur_owned;     /* [N] */
    RtTensor *res;       /* [1 + N + K] one iteration's body outputs */
    LoopStack *stacks;   /* [K] */
    RtTensor **body_in;  /* [n_body_in] */
} LoopState;

static void loop_state_free(RtKernelCtx *c, LoopState *s) {
    for (int j = 0; s->cur && s->cur_owned && j < s->N; j++)
        if (s->cur_owned[j]) tensor_release(c, &s->cur[j]);
    for (int k = 0; s->stacks && k < s->K; k++)
        if (s->stacks[k].data) c->alloc->free(c->alloc->user, s->stacks[k].data);
    if (s->res) tensors_release(c, s->res, 1 + s->N + s->K);
    rt_scratch_free(c, s->cur);
    rt_scratch_free(c, s->cur_owned);
    rt_scratch_free(c, s->res);
    rt_scratch_free(c, s->stacks);
    rt_scratch_free(c, s->body_in);
}

static int loop_state_init(RtKernelCtx *c, LoopState *s) {
    size_t N = (size_t)s->N + 1, K = (size_t)s->K + 1;
    s->cur = rt_scratch(c, sizeof(RtTensor) * N);
    s->cur_owned = rt_scratch(c, N);
    s->res = rt_scratch(c, sizeof(RtTensor) * (N + K));
    s->stacks = rt_scratch(c, sizeof(LoopStack) * K);
    s->body_in = rt_scratch(c, sizeof(RtTensor *) * ((size_t)s->n_body_in + 1));
    /* cleared before any failure return: loop_state_free reads them */
    if (s->cur_owned) memset(s->cur_owned, 0, N);
    if (s->res) memset(s->res, 0, sizeof(RtTensor) * (N + K));
    if (s->stacks) memset(s->stacks, 0, sizeof(LoopStack) * K);
    return s->cur && s->cur_owned && s->res && s->stacks && s->body_in ? RT_OK : RT_ERR_NOMEM;
}

/* One iteration i: runs the body, takes the carried values and the condition, stacks the
 * scan outputs. */
static int loop_step(RtKernelCtx *c, const RtGraph *b, LoopState *s, int64_t i, int has_cond, int *keep) {
    int64_t iter = i;
    uint8_t cond_in = (uint8_t)(*keep != 0);
    RtTensor it = {.dtype = RT_I64, .rank = 0, .data = &iter}, cd = {.dtype = RT_BOOL, .rank = 0, .data = &cond_in};
    s->body_in[0] = &it;
    s->body_in[1] = &cd;
    for (int j = 0; j < s->N; j++) s->body_in[2 + j] = &s->cur[j];
    int nr = 1 + s->N + s->K;
    memset(s->res, 0, sizeof(RtTensor) * (size_t)nr);
    int r = c->run_subgraph(c, b, s->body_in, s->n_body_in, s->res, nr);
    if (r < 0) return r;
    char sh[128];
    if (rt_numel(&s->res[0]) != 1)
        return rt_fail(c, "iteration %lld: the body's condition output must have one element, has shape %s",
                       (long long)i, rt_shape_str(s->res[0].rank, s->res[0].dims, sh, sizeof sh));
    if (has_cond) *keep = rt_get_i64(&s->res[0], 0) != 0;
    tensor_release(c, &s->res[0]);
    for (int j = 0; j < s->N; j++) {
        if (s->cur_owned[j]) tensor_release(c, &s->cur[j]);
        s->cur[j] = s->res[1 + j]; /* ownership moves to the loop */
        s->cur_owned[j] = 1;
        s->res[1 + j].data = NULL;
    }
    for (int k = 0; k < s->K; k++) {
        RT_TRY(stack_push(c, &s->stacks[k], &s->res[1 + s->N + k], k, i));
        tensor_release(c, &s->res[1 + s->N + k]);
    }
    return RT_OK;
}

/* Outputs: the carried values, then each scan output stacked ([count, ...]). */
static int loop_outputs(RtKernelCtx *c, const RtGraph *b, LoopState *s, RtTensor *const *in,
                        RtTensor *const *out) {
    for (int j = 0; j < s->N; j++) RT_TRY(out_copy(c, out[j], &s->cur[j]));
    RtTensor *types = NULL;
    int64_t zero_iter = 0;
    uint8_t cond_in = 0;
    RtTensor it = {.dtype = RT_I64, .rank = 0, .data = &zero_iter}, cd = {.dtype = RT_BOOL, .rank = 0, .data = &cond_in};
    for (int k = 0; k < s->K; k++) {
        LoopStack *st = &s->stacks[k];
        RtTensor *o = out[s->N + k];
        if (st->count == 0) {
            if (!types) { /* zero iterations: the body's per-iteration types, once for all */
                types = rt_scratch(c, sizeof(RtTensor) * (size_t)s->K);
                if (!types) return RT_ERR_NOMEM;
                s->body_in[0] = &it;
                s->body_in[1] = &cd;
                for (int j = 0; j < s->N; j++) s->body_in[2 + j] = (RtTensor *)in[2 + j];
                int r = body_types(c, b, s->body_in, 1 + s->N, s->K, types);
                if (r != RT_OK) {
                    rt_scratch_free(c, types);
                    return r;
                }
            }
            int r = out_empty(c, o, &types[k], 0);
            if (r != RT_OK) {
                rt_scratch_free(c, types);
                return r;
            }
            continue;
        }
        int64_t dims[RT_MAX_RANK];
        dims[0] = st->count;
        for (int d = 0; d < st->first.rank; d++) dims[1 + d] = st->first.dims[d];
        RT_TRY(rt_out_alloc(c, o, st->first.dtype, st->first.rank + 1, dims));
        if (st->count * st->step > 0) memcpy(o->data, st->data, (size_t)(st->count * st->step));
    }
    rt_scratch_free(c, types);
    return RT_OK;
}

static int k_loop(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtGraph *b = body_get(c, n);
    if (!b) return RT_ERR;
    LoopState s = {0};
    s.N = b->n_declared - 2;
    s.n_body_in = n->n_in;
    s.C = n->n_in - b->n_declared;
    s.K = n->n_out - s.N;
    if (s.N < 0 || s.C < 0 || b->n_inputs != n->n_in || b->n_outputs != 1 + n->n_out || s.K < 0)
        return rt_fail(c, "the body declares %d inputs (%d in all, %d outputs) for a node with %d inputs and %d outputs "
                       "(expected 2 + N declared body inputs, node inputs 2 + N + captures, body outputs 1 + N + K, "
                       "node outputs N + K)", b->n_declared, b->n_inputs, b->n_outputs, n->n_in, n->n_out);
    for (int j = 2; j < n->n_in; j++)
        if (!in[j]) return rt_fail(c, "input %d (%s) is absent", j, j < b->n_declared ? "an initial value" : "a capture");
    if (c->shape_only) return RT_SHAPE_UNKNOWN;
    RT_TRY(runner_check(c));
    int64_t trip;
    int has_cond, keep;
    RT_TRY(loop_limits(c, n, in, &trip, &has_cond, &keep));
    int r = loop_state_init(c, &s);
    if (r == RT_OK) {
        for (int j = 0; j < s.N; j++) s.cur[j] = *in[2 + j];
        for (int j = 0; j < s.C; j++) s.body_in[b->n_declared + j] = in[b->n_declared + j];
    }
    for (int64_t i = 0; r == RT_OK && (trip < 0 || i < trip) && keep; i++) r = loop_step(c, b, &s, i, has_cond, &keep);
    if (r == RT_OK) r = loop_outputs(c, b, &s, in, out);
    loop_state_free(c, &s);
    return r;
}

/* ---- Scan ---- */

/* One scan input's walk: axis (normalized), direction, the slice it feeds the body. */
typedef struct {
    const RtTensor *x;  /* borrowed */
    int axis, reverse;
    int64_t outer, inner; /* elements before / after the axis (inner includes element size) */
    RtTensor slice;       /* data from c->alloc, outer * inner bytes */
} ScanIn;

/* One scan output: axis into the stacked output, direction. */
typedef struct {
    int axis, reverse;
    RtTensor *out;        /* borrowed: the tensor being filled */
} ScanOut;

typedef struct {
    const RtGraph *b;
    int N, M, K, C;
    int64_t T;            /* iterations */
    const int64_t *in_axes, *in_dirs, *out_axes, *out_dirs; /* attribute lists or NULL */
    int n_in_axes, n_in_dirs, n_out_axes, n_out_dirs;
} ScanSpec;

static int64_t attr_at(const int64_t *v, int n, int i, int64_t def) { return (v && i < n) ? v[i] : def; }

/* Fills si[M] for scan inputs xs[M]; sets sp->T. */
static int scan_inputs_prepare(RtKernelCtx *c, ScanSpec *sp, const RtTensor *const *xs, ScanIn *si) {
    for (int j = 0; j < sp->M; j++) {
        ScanIn *s = &si[j];
        s->x = xs[j];
        if (!s->x) return rt_fail(c, "scan input %d is absent", j);
        if (s->x->rank < 1) return rt_fail(c, "scan input %d is a scalar; it needs an axis to scan", j);
        int64_t ax = attr_at(sp->in_axes, sp->n_in_axes, j, 0);
        char what[48];
        snprintf(what, sizeof what, "scan_input_axes[%d]", j);
        if ((s->axis = rt_axis(c, ax, s->x->rank, what)) < 0) return RT_ERR;
        s->reverse = attr_at(sp->in_dirs, sp->n_in_dirs, j, 0) != 0;
        int64_t len = s->x->dims[s->axis];
        if (j == 0) sp->T = len;
        else if (len != sp->T)
            return rt_fail(c, "scan input %d has length %lld along its axis, scan input 0 has %lld", j, (long long)len,
                           (long long)sp->T);
        s->outer = rt_shape_numel(s->axis, s->x->dims);
        s->inner = (int64_t)rt_dtype_size(s->x->dtype);
        if (s->inner == 0) return rt_fail(c, "scan input %d has dtype %s, which wafer does not support", j, rt_dtype_name(s->x->dtype));
        for (int d = s->axis + 1; d < s->x->rank; d++) s->inner *= s->x->dims[d];
        s->slice.dtype = s->x->dtype;
        s->slice.rank = s->x->rank - 1;
        for (int d = 0, o = 0; d < s->x->rank; d++)
            if (d != s->axis) s->slice.dims[o++] = s->x->dims[d];
        s->slice.data = NULL;
    }
    return RT_OK;
}

static void scan_slice_take(ScanIn *s, int64_t t) {
    int64_t idx = s->reverse ? s->x->dims[s->axis] - 1 - t : t, len = s->x->dims[s->axis];
    for (int64_t o = 0; o < s->outer; o++)
        memcpy((char *)s->slice.data + o * s->inner, (const char *)s->x->data + (o * len + idx) * s->inner,
               (size_t)s->inner);
}

/* Scan output k after iteration t: allocates it at t == 0, checks the shape, stores y. */
static int scan_output_put(RtKernelCtx *c, const ScanSpec *sp, ScanOut *so, int k, const RtTensor *y, int64_t t) {
    char a[128], b2[128];
    RtTensor *o = so->out;
    if (t == 0) {
        if (y->rank + 1 > RT_MAX_RANK) return rt_fail(c, "scan output %d: rank %d + 1 exceeds %d", k, y->rank, RT_MAX_RANK);
        int64_t ax = attr_at(sp->out_axes, sp->n_out_axes, k, 0);
        char what[48];
        snprintf(what, sizeof what, "scan_output_axes[%d]", k);
        if ((so->axis = rt_axis(c, ax, y->rank + 1, what)) < 0) return RT_ERR;
        so->reverse = attr_at(sp->out_dirs, sp->n_out_dirs, k, 0) != 0;
        int64_t dims[RT_MAX_RANK];
        for (int d = 0, s = 0; d <= y->rank; d++) dims[d] = d == so->axis ? sp->T : y->dims[s++];
        RT_TRY(rt_out_alloc(c, o, y->dtype, y->rank + 1, dims));
    }
    int same = y->dtype == o->dtype && y->rank + 1 == o->rank;
    for (int d = 0, s = 0; same && d < o->rank; d++)
        if (d != so->axis) same = o->dims[d] == y->dims[s++];
    if (!same)
        return rt_fail(c, "scan output %d: iteration %lld gives %s %s, which does not stack into %s %s", k, (long long)t,
                       rt_dtype_name(y->dtype), rt_shape_str(y->rank, y->dims, a, sizeof a), rt_dtype_name(o->dtype),
                       rt_shape_str(o->rank, o->dims, b2, sizeof b2));
    int64_t outer = rt_shape_numel(so->axis, o->dims), inner = (int64_t)rt_dtype_size(o->dtype);
    for (int d = so->axis + 1; d < o->rank; d++) inner *= o->dims[d];
    int64_t idx = so->reverse ? sp->T - 1 - t : t;
    for (int64_t q = 0; q < outer; q++)
        memcpy((char *)o->data + (q * sp->T + idx) * inner, (const char *)y->data + q * inner, (size_t)inner);
    return RT_OK;
}

/* Runs the scan: states[N], xs[M], caps[C] in; out_states[N] (copies) and outs[K] filled. */
static int scan_run(RtKernelCtx *c, ScanSpec *sp, const RtTensor *const *states, const RtTensor *const *xs,
                    RtTensor *const *caps, RtTensor *const *out_states, RtTensor *const *outs) {
    int N = sp->N, M = sp->M, K = sp->K, nb = N + M + sp->C;
    ScanIn *si = rt_scratch(c, sizeof(ScanIn) * (size_t)(M + 1));
    ScanOut *so = rt_scratch(c, sizeof(ScanOut) * (size_t)(K + 1));
    RtTensor *cur = rt_scratch(c, sizeof(RtTensor) * (size_t)(N + 1)), *res = rt_scratch(c, sizeof(RtTensor) * (size_t)(N + K + 1));
    RtTensor **body_in = rt_scratch(c, sizeof(RtTensor *) * (size_t)(nb + 1));
    int r = (si && so && cur && res && body_in) ? RT_OK : RT_ERR_NOMEM, owned = 0;
    if (si) memset(si, 0, sizeof(ScanIn) * (size_t)(M + 1)); /* the cleanup below reads these */
    if (res) memset(res, 0, sizeof(RtTensor) * (size_t)(N + K + 1));
    if (r == RT_OK) {
        for (int j = 0; j < N; j++) cur[j] = *states[j];
        for (int k = 0; k < K; k++) so[k] = (ScanOut){.out = outs[k]};
        r = scan_inputs_prepare(c, sp, xs, si);
    }
    for (int j = 0; r == RT_OK && j < M; j++) {
        si[j].slice.data = rt_scratch(c, (size_t)(si[j].outer * si[j].inner));
        if (!si[j].slice.data) r = RT_ERR_NOMEM;
    }
    if (r == RT_OK) {
        for (int j = 0; j < N; j++) body_in[j] = &cur[j];
        for (int j = 0; j < M; j++) body_in[N + j] = &si[j].slice;
        for (int j = 0; j < sp->C; j++) body_in[N + M + j] = caps[j];
    }
    for (int64_t t = 0; r == RT_OK && t < sp->T; t++) {
        for (int j = 0; j < M; j++) scan_slice_take(&si[j], t);
        memset(res, 0, sizeof(RtTensor) * (size_t)(N + K));
        r = c->run_subgraph(c, sp->b, body_in, nb, res, N + K);
        if (r < 0) break;
        if (owned) tensors_release(c, cur, N);
        for (int j = 0; j < N; j++) cur[j] = res[j], res[j].data = NULL; /* ownership moves */
        owned = 1;
        for (int k = 0; r == RT_OK && k < K; k++) r = scan_output_put(c, sp, &so[k], k, &res[N + k], t);
        tensors_release(c, res + N, K);
    }
    for (int j = 0; r == RT_OK && j < N; j++) r = out_copy(c, out_states[j], &cur[j]);
    if (r == RT_OK && sp->T == 0 && K > 0) { /* no iteration: empty outputs typed by a shape walk */
        RtTensor *types = rt_scratch(c, sizeof(RtTensor) * (size_t)K);
        void **keep = rt_scratch(c, sizeof(void *) * (size_t)(M + 1));
        for (int j = 0; keep && j < M; j++) keep[j] = si[j].slice.data, si[j].slice.data = NULL; /* no data */
        r = types && keep ? body_types(c, sp->b, body_in, N, K, types) : RT_ERR_NOMEM;
        for (int j = 0; keep && j < M; j++) si[j].slice.data = keep[j];
        rt_scratch_free(c, keep);
        for (int k = 0; r == RT_OK && k < K; k++) {
            int64_t ax = attr_at(sp->out_axes, sp->n_out_axes, k, 0);
            int rank = types[k].dtype == RT_UNDEFINED ? 0 : types[k].rank;
            r = out_empty(c, outs[k], &types[k], (int)(ax < 0 ? ax + rank + 1 : ax));
        }
        rt_scratch_free(c, types);
    }
    if (owned && cur) tensors_release(c, cur, N);
    if (res) tensors_release(c, res, N + K);
    for (int j = 0; si && j < M; j++) rt_scratch_free(c, si[j].slice.data);
    rt_scratch_free(c, si);
    rt_scratch_free(c, so);
    rt_scratch_free(c, cur);
    rt_scratch_free(c, res);
    rt_scratch_free(c, body_in);
    return r;
}

static int scan_spec_init(RtKernelCtx *c, const RtNode *n, const RtGraph *b, int first, ScanSpec *sp) {
    memset(sp, 0, sizeof *sp);
    sp->b = b;
    sp->n_in_axes = sp->n_out_axes = sp->n_out_dirs = -1; /* absent: every axis 0, forward */
    const RtAttr *nsi = rt_attr(n, "num_scan_inputs");
    if (!nsi || nsi->type != RT_ATTR_INT) return rt_fail(c, "missing int attribute 'num_scan_inputs'");
    if (nsi->i < 1 || nsi->i > b->n_declared)
        return rt_fail(c, "num_scan_inputs is %lld; the body declares %d inputs", (long long)nsi->i, b->n_declared);
    sp->M = (int)nsi->i;
    sp->N = b->n_declared - sp->M;
    sp->C = b->n_inputs - b->n_declared;
    sp->K = b->n_outputs - sp->N;
    if (b->n_inputs != n->n_in - first || sp->K < 0 || n->n_out != b->n_outputs)
        return rt_fail(c, "the body has %d inputs (%d declared) and %d outputs for a node with %d inputs and %d outputs "
                       "(expected node inputs %sN states + M scan inputs + captures, node outputs as the body's)",
                       b->n_inputs, b->n_declared, b->n_outputs, n->n_in, n->n_out, first ? "sequence_lens + " : "");
    static const char *const v9[] = {"scan_input_axes", "scan_input_directions", "scan_output_axes",
                                     "scan_output_directions"};
    for (int i = 0; i < 4; i++) /* each opset knows only its own attributes */
        if (rt_attr(n, n->opset >= 9 ? "directions" : v9[i]))
            return rt_fail(c, "attribute '%s' does not exist in Scan opset %d", n->opset >= 9 ? "directions" : v9[i],
                           n->opset);
    const char *axes_name = n->opset >= 9 ? "scan_input_directions" : "directions";
    sp->n_in_dirs = rt_attr_ints(n, axes_name, &sp->in_dirs);
    if (n->opset >= 9) {
        sp->n_in_axes = rt_attr_ints(n, "scan_input_axes", &sp->in_axes);
        sp->n_out_axes = rt_attr_ints(n, "scan_output_axes", &sp->out_axes);
        sp->n_out_dirs = rt_attr_ints(n, "scan_output_directions", &sp->out_dirs);
    }
    struct { int n, want; const char *name; } lists[4] = {{sp->n_in_dirs, sp->M, axes_name},
        {sp->n_in_axes, sp->M, "scan_input_axes"}, {sp->n_out_axes, sp->K, "scan_output_axes"},
        {sp->n_out_dirs, sp->K, "scan_output_directions"}};
    for (int i = 0; i < 4; i++)
        if (lists[i].n >= 0 && lists[i].n != lists[i].want)
            return rt_fail(c, "attribute '%s' has %d values, expected %d", lists[i].name, lists[i].n, lists[i].want);
    return RT_OK;
}

/* Opset 9+: inputs states[N], scan inputs[M], captures. */
static int scan9(RtKernelCtx *c, const RtNode *n, ScanSpec *sp, RtTensor *const *in, RtTensor *const *out) {
    (void)n;
    for (int j = 0; j < sp->N; j++)
        if (!in[j]) return rt_fail(c, "initial state %d is absent", j);
    return scan_run(c, sp, (const RtTensor *const *)in, (const RtTensor *const *)&in[sp->N], &in[sp->N + sp->M],
                    out, &out[sp->N]);
}

/* A view of row b of a batched tensor (axis 0 removed). */
static RtTensor batch_row(const RtTensor *x, int64_t b) {
    RtTensor v = *x;
    v.rank = x->rank - 1;
    for (int d = 0; d < v.rank; d++) v.dims[d] = x->dims[d + 1];
    v.data = (char *)x->data + b * rt_nbytes(&v);
    return v;
}

/* Opset 8 with batch 0: nothing runs; the outputs are [0, <state>] and [0, T, <output>]
 * typed by a shape walk of the body on one row's shapes. */
static int scan8_empty(RtKernelCtx *c, const ScanSpec *sp, RtTensor *const *in, RtTensor *const *out) {
    int N = sp->N, M = sp->M, K = sp->K, nb = N + M + sp->C, r = RT_OK;
    RtTensor *rows = rt_scratch(c, sizeof(RtTensor) * (size_t)(nb + N + K + 1));
    RtTensor **ptr = rt_scratch(c, sizeof(RtTensor *) * (size_t)(nb + 1));
    if (!rows || !ptr) r = RT_ERR_NOMEM;
    for (int j = 0; r == RT_OK && j < nb; j++) {
        const RtTensor *x = in[1 + j];
        rows[j] = *x;
        rows[j].data = NULL;
        int drop = j < N ? 1 : j < N + M ? 2 : 0; /* batch axis; and the scan axis */
        rows[j].rank = x->rank - drop;
        for (int d = 0; d < rows[j].rank; d++) rows[j].dims[d] = x->dims[d + drop];
        ptr[j] = &rows[j];
    }
    RtTensor *types = rows ? rows + nb : NULL;
    if (r == RT_OK) r = body_types(c, sp->b, ptr, 0, N + K, types);
    int64_t T = in[1 + N]->dims[1];
    for (int j = 0; r == RT_OK && j < N + K; j++) {
        int64_t dims[RT_MAX_RANK];
        int lead = j < N ? 1 : 2, rank = types[j].rank + lead;
        if (types[j].dtype == RT_UNDEFINED || rank > RT_MAX_RANK) { /* nothing known: [0] */
            int64_t zero = 0;
            r = rt_out_alloc(c, out[j], RT_F32, 1, &zero);
            continue;
        }
        dims[0] = 0;
        dims[1] = T;
        for (int d = 0; d < types[j].rank; d++) dims[lead + d] = types[j].dims[d];
        r = rt_out_alloc(c, out[j], types[j].dtype, rank, dims);
    }
    rt_scratch_free(c, rows);
    rt_scratch_free(c, ptr);
    return r;
}

/* Opset 8: inputs sequence_lens (optional), states[N] [B, ...], scan inputs[M] [B, T, ...],
 * captures; every batch row scans on its own (scan axis 1 = axis 0 of a row). */
static int scan8(RtKernelCtx *c, const RtNode *n, ScanSpec *sp, RtTensor *const *in, RtTensor *const *out) {
    int N = sp->N, M = sp->M, K = sp->K;
    const RtTensor *lens = in[0];
    for (int j = 1; j < 1 + N + M; j++)
        if (!in[j] || in[j]->rank < 1 + (j > N)) return rt_fail(c, "input %d is absent or lacks the batch%s axis", j, j > N ? " and scan" : "");
    int64_t B = in[1]->dims[0];
    for (int j = 2; j < 1 + N + M; j++)
        if (in[j]->dims[0] != B) return rt_fail(c, "input %d has batch %lld, input 1 has %lld", j, (long long)in[j]->dims[0], (long long)B);
    if (B == 0) return scan8_empty(c, sp, in, out);
    for (int64_t bi = 0; lens && bi < rt_numel(lens); bi++)
        if (M > 0 && rt_get_i64(lens, bi) != in[1 + N]->dims[1]) {
            rt_fail(c, "sequence_lens[%lld] = %lld is shorter than the scan axis (%lld): variable lengths are not supported",
                    (long long)bi, (long long)rt_get_i64(lens, bi), (long long)in[1 + N]->dims[1]);
            return RT_ERR_UNSUPPORTED;
        }
    RtTensor *rows = rt_scratch(c, sizeof(RtTensor) * (size_t)(2 * (N + M + N + K) + 1));
    RtTensor **ptr = rt_scratch(c, sizeof(RtTensor *) * (size_t)(2 * (N + M + N + K) + 1));
    if (!rows || !ptr) {
        rt_scratch_free(c, rows);
        rt_scratch_free(c, ptr);
        return RT_ERR_NOMEM;
    }
    RtTensor *ins = rows, *res = rows + N + M; /* res: row results, N states then K outputs */
    for (int j = 0; j < N + K; j++) ptr[N + M + j] = &res[j];
    int r = RT_OK;
    for (int64_t bi = 0; r == RT_OK && bi < B; bi++) {
        for (int j = 0; j < N + M; j++) ins[j] = batch_row(in[1 + j], bi), ptr[j] = &ins[j];
        memset(res, 0, sizeof(RtTensor) * (size_t)(N + K));
        r = scan_run(c, sp, (const RtTensor *const *)ptr, (const RtTensor *const *)&ptr[N], &in[1 + N + M],
                     &ptr[N + M], &ptr[N + M + N]);
        for (int j = 0; r == RT_OK && j < N + K; j++) { /* row bi of output j */
            if (bi == 0) {
                int64_t dims[RT_MAX_RANK];
                if (res[j].rank + 1 > RT_MAX_RANK) r = rt_fail(c, "output %d: rank too large", j);
                dims[0] = B;
                for (int d = 0; r == RT_OK && d < res[j].rank; d++) dims[1 + d] = res[j].dims[d];
                if (r == RT_OK) r = rt_out_alloc(c, out[j], res[j].dtype, res[j].rank + 1, dims);
            }
            RtTensor row = r == RT_OK ? batch_row(out[j], bi) : res[j];
            if (r == RT_OK && (row.dtype != res[j].dtype || !rt_shape_equal(&row, &res[j])))
                r = rt_fail(c, "output %d: batch row %lld has a different shape from row 0", j, (long long)bi);
            if (r == RT_OK && rt_nbytes(&row) > 0) memcpy(row.data, res[j].data, (size_t)rt_nbytes(&row));
        }
        tensors_release(c, res, N + K);
    }
    rt_scratch_free(c, rows);
    rt_scratch_free(c, ptr);
    (void)n;
    return r;
}

static int k_scan(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtGraph *b = body_get(c, n);
    if (!b) return RT_ERR;
    int first = n->opset < 9; /* opset 8: sequence_lens */
    ScanSpec sp;
    RT_TRY(scan_spec_init(c, n, b, first, &sp));
    for (int j = first + b->n_declared; j < n->n_in; j++)
        if (!in[j]) return rt_fail(c, "captured input %d is absent", j);
    if (c->shape_only) return RT_SHAPE_UNKNOWN;
    RT_TRY(runner_check(c));
    return first ? scan8(c, n, &sp, in, out) : scan9(c, n, &sp, in, out);
}

const RtKernelEntry rt_kernels_loop[] = {
    {RT_OP_LOOP, k_loop},
    {RT_OP_SCAN, k_scan},
    {-1, 0},
};
