/*
 * train_check.h — the gradient-check harness the train/ op suites share: small graphs whose
 * tensors are graph constants (so each one is a parameter with a gradient to check), built
 * with tests/ir/ir_test_util.h.
 *
 *   tc_cst(g, name, rank, dims, seed, lo, hi)  a float constant filled U(lo, hi) from a seed
 *   tc_attr_float / tc_attr_int / tc_attr_str  an attribute on the last node added
 *   tc_check_graph(g, inputs, eval, fwd_tol)   forward (evaluation mode) vs ir_run on the same
 *       inputs (the runtime's kernels, an independent implementation), every output within
 *       fwd_tol relative; then every parameter's gradient (training mode unless eval) vs
 *       central finite differences of L = sum over outputs of out * R (R fixed random
 *       weights) taken through the forward pass. Frees g.
 */
#ifndef WAFER_TRAIN_CHECK_H
#define WAFER_TRAIN_CHECK_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../train/train.h"
#include "../ir/ir_test_util.h"

/* Central differences with step 1e-3 on float32 forward passes: the float rounding of L
 * (sums of <= a few hundred terms of size ~1, ~1e-6 relative) divided by 2e-3 gives ~1e-3
 * absolute noise, and the curvature term is O(eps^2) (inputs keep away from kinks and ties by
 * more than eps). A wrong gradient (a missing term, a transposed index) is off by O(0.1-1). */
#define FD_EPS 1e-3f
#define FD_ATOL 4e-3
#define FD_RTOL 2e-2

static RtError err;

static inline void tc_fill(float *v, int64_t n, uint32_t seed, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = lo + (hi - lo) * (float)((seed >> 8) & 0xffffff) / 16777216.0f;
    }
}

static inline int tc_cst(IrGraph *g, const char *name, int rank, const int64_t *dims, uint32_t seed, float lo,
                         float hi) {
    int64_t n = rt_shape_numel(rank, dims);
    float *v = malloc(sizeof(float) * (size_t)(n + 1));
    tc_fill(v, n, seed, lo, hi);
    int id = tg_const_f32(g, name, rank, dims, v);
    free(v);
    return id;
}

static inline void tc_attr_float(IrGraph *g, const char *name, float f) {
    RtAttr *a = tg_attr_add(g, name);
    a->type = RT_ATTR_FLOAT;
    a->f = f;
}
static inline void tc_attr_int(IrGraph *g, const char *name, int64_t v) { tg_attr_ints(g, name, -1, &v); }
static inline void tc_attr_str(IrGraph *g, const char *name, const char *s) {
    RtAttr *a = tg_attr_add(g, name);
    a->type = RT_ATTR_STRING;
    a->s = ir_strdup(g, s);
}

/* L = sum over outputs o of out_o * R[o] after a forward pass on inputs. */
static inline double tc_loss(TrainModel *m, const RtTensor *inputs, float *const *R) {
    cr_assert_eq(train_model_forward(m, inputs, &err), RT_OK, "%s", err.msg);
    double L = 0;
    for (int o = 0; o < m->g->n_outputs; o++) {
        TrainTensor *y = &m->t[m->g->outputs[o]];
        for (int64_t i = 0; i < train_tensor_numel(y); i++) L += (double)y->x[i] * R[o][i];
    }
    return L;
}

static inline void tc_check_graph(IrGraph *g, const RtTensor *inputs, int eval, double fwd_tol) {
    TrainModel m;
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    m.training = 0;
    cr_assert_eq(train_model_forward(&m, inputs, &err), RT_OK, "%s", err.msg);
    RtTensor ref[8];
    cr_assert(g->n_outputs <= 8);
    memset(ref, 0, sizeof ref);
    cr_assert_eq(ir_run(g, inputs, ref, &err), RT_OK, "%s", err.msg);
    float *R[8];
    for (int o = 0; o < g->n_outputs; o++) {
        TrainTensor *y = &m.t[g->outputs[o]];
        int64_t n = train_tensor_numel(y);
        cr_assert_eq(rt_numel(&ref[o]), n, "output %d: size %lld vs the runtime's %lld", o, (long long)n,
                     (long long)rt_numel(&ref[o]));
        cr_assert_eq(ref[o].rank, y->rank, "output %d rank", o);
        for (int d = 0; d < y->rank; d++) cr_assert_eq(ref[o].dims[d], y->dims[d], "output %d dim %d", o, d);
        for (int64_t i = 0; i < n; i++) {
            float r = ((float *)ref[o].data)[i];
            cr_assert(fabsf(y->x[i] - r) <= fwd_tol * (1 + fabsf(r)), "output %d forward [%lld]: %g vs runtime %g", o,
                      (long long)i, y->x[i], r);
        }
        free(ref[o].data);
        R[o] = malloc(sizeof(float) * (size_t)(n + 1));
        tc_fill(R[o], n, 99 + (uint32_t)o, -1, 1);
    }
    m.training = !eval;
    tc_loss(&m, inputs, R);
    cr_assert_eq(train_model_backward(&m, (const float *const *)R, &err), RT_OK, "%s", err.msg);
    cr_assert(m.n_params > 0);
    for (int p = 0; p < m.n_params; p++) {
        TrainParam *pp = &m.p[p];
        float *an = malloc(sizeof(float) * (size_t)pp->n);
        memcpy(an, m.t[pp->value].dx, sizeof(float) * (size_t)pp->n);
        for (int64_t j = 0; j < pp->n; j++) {
            float w0 = pp->w[j];
            pp->w[j] = w0 + FD_EPS;
            double lp = tc_loss(&m, inputs, R);
            pp->w[j] = w0 - FD_EPS;
            double lm = tc_loss(&m, inputs, R);
            pp->w[j] = w0;
            double fd = (lp - lm) / (2.0 * FD_EPS);
            cr_assert(fabs(fd - an[j]) <= FD_ATOL + FD_RTOL * fabs(fd), "%s[%lld]: backward %g, finite differences %g",
                      g->values[pp->value].name, (long long)j, an[j], fd);
        }
        free(an);
    }
    for (int o = 0; o < g->n_outputs; o++) free(R[o]);
    train_model_free(&m);
    ir_graph_free(g);
}

#endif
