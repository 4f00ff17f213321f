/*
 * train_ops_math.c — element-wise math that exporters write around the layers: Neg, Abs,
 * Reciprocal, Sqrt, Exp, Log, Erf, Gelu, Softplus, Softsign, HardSigmoid, HardSwish, Elu, Selu,
 * Celu (unary); Div, Pow, PRelu (binary with broadcasting); Sum, Mean, Max, Min (variadic with
 * broadcasting).
 *
 * Forward formulas are the runtime's unary.c / binary.c ones in float. Backward, with y the
 * output (kept, so nothing is recomputed) and dy its gradient:
 *   Neg -1; Abs sign(x) (0 at x = 0, torch's choice); Reciprocal -y^2; Sqrt 1 / (2y) (+inf at
 *   x = 0, the right limit; 0 where dy = 0, never 0 * inf = NaN); Exp y; Log 1 / x;
 *   Erf 2/sqrt(pi) exp(-x^2); Gelu Phi(x) + x phi(x), or for approximate "tanh" with
 *   u = sqrt(2/pi) (x + 0.044715 x^3), t = tanh u: (1 + t) / 2 + x (1 - t^2) u' / 2;
 *   Softplus sigmoid(x); Softsign 1 / (1 + |x|)^2; HardSigmoid alpha inside 0 < alpha x + beta
 *   < 1; HardSwish 0 below -3, x / 3 + 1/2 up to 3, 1 above (torch's choice at the kinks);
 *   Elu 1 or alpha e^x; Selu gamma or gamma alpha e^x; Celu 1 or e^(x / alpha).
 *   Div: da = dy / b, db = -dy a / b^2. PRelu (slope broadcast to X, unidirectional):
 *   dX = dy or slope dy, dslope = x dy where x < 0.
 *   Pow y = a^e: da = e a^(e-1) dy (0 when e = 0: a constant; e a^(e-1) keeps 0^(e-1) finite
 *   for e >= 1 where y / a would be 0 / 0), de = y ln(a) dy for a > 0; at a = 0 the limit
 *   a^e ln a -> 0 (e > 0; PyTorch takes 0 at e = 0 too), and for a < 0, where a^e is real
 *   only at integer e and has no derivative in e, 0 instead of PyTorch's NaN (one NaN in a
 *   trained exponent would turn every output into NaN).
 * Broadcasting inputs (numpy) read through strides that are 0 on broadcast axes, so the
 * backward adds each output's term into the input element it came from: a broadcast input's
 * gradient is summed over the axes it was broadcast along (PRelu's per-channel slope too).
 * Variadic Sum / Mean give dy (dy / n) to every input; Max / Min give dy to the first input
 * holding the extreme (ties go to the lowest input index, like a sequence of binary Max ops
 * each keeping its first argument on ties).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "train_ops.h"

#define MATH_MAX_IN 64 /* the runtime's variadic kernels' limit */

/* n inputs broadcast together: out dims and each input's strides (0 on broadcast axes). */
typedef struct {
    int n, rank;
    int64_t dims[RT_MAX_RANK];                 /* output dims */
    int64_t total;                             /* output elements */
    int64_t st[MATH_MAX_IN][RT_MAX_RANK];      /* per input: stride of each output axis */
} MathBcast;

static int math_bcast(TrainModel *m, int k, MathBcast *b, RtError *err) {
    const RtNode *n = train_node(m, k);
    b->n = n->n_in;
    b->rank = 0;
    for (int j = 0; j < b->n; j++) {
        TrainTensor *t = train_in(m, k, j);
        if (!t) return train_node_fail(m, k, err, "input %d is missing", j);
        int r = t->rank > b->rank ? t->rank : b->rank;
        int64_t d[RT_MAX_RANK];
        for (int i = r - 1; i >= 0; i--) {
            int it = i - (r - t->rank), ib = i - (r - b->rank);
            int64_t dt = it >= 0 ? t->dims[it] : 1, db = ib >= 0 ? b->dims[ib] : 1;
            if (dt != db && dt != 1 && db != 1)
                return train_node_fail(m, k, err, "input %d does not broadcast with the inputs before it", j);
            d[i] = dt == 1 ? db : dt;
        }
        b->rank = r;
        memcpy(b->dims, d, sizeof(int64_t) * (size_t)r);
    }
    b->total = 1;
    for (int i = 0; i < b->rank; i++) b->total *= b->dims[i];
    for (int j = 0; j < b->n; j++) {
        TrainTensor *t = train_in(m, k, j);
        rt_broadcast_strides(t->rank, t->dims, b->rank, b->dims, b->st[j]);
    }
    return RT_OK;
}

/* Advances the output index idx by one and every input's offset off[j] with it. */
static inline void math_bcast_next(const MathBcast *b, int64_t *idx, int64_t *off) {
    for (int d = b->rank - 1; d >= 0; d--) {
        for (int j = 0; j < b->n; j++) off[j] += b->st[j][d];
        if (++idx[d] < b->dims[d]) return;
        for (int j = 0; j < b->n; j++) off[j] -= b->st[j][d] * b->dims[d];
        idx[d] = 0;
    }
}

/* Loops over output elements i with input offsets o0 (input 0) and o1 (input 1). */
#define MATH_LOOP2(b, body)                                                   \
    do {                                                                      \
        int64_t idx_[RT_MAX_RANK] = {0}, off_[MATH_MAX_IN] = {0};             \
        for (int64_t i = 0; i < (b)->total; i++) {                            \
            int64_t o0 = off_[0], o1 = off_[1];                               \
            body;                                                             \
            math_bcast_next((b), idx_, off_);                                 \
        }                                                                     \
    } while (0)

/* ---- unary ---- */
typedef struct {
    float alpha, beta, gamma; /* Elu / Celu / HardSigmoid / Selu parameters (spec defaults) */
    int gelu_tanh;            /* Gelu approximate "tanh" */
} MathParams;

static void math_params(const RtNode *n, MathParams *p) {
    p->alpha = rt_attr_float(n, "alpha", 1.0f);
    p->beta = 0, p->gamma = 0, p->gelu_tanh = 0;
    switch (n->op) {
    case RT_OP_SELU:
        p->alpha = rt_attr_float(n, "alpha", 1.67326319217681884765625f);
        p->gamma = rt_attr_float(n, "gamma", 1.05070102214813232421875f);
        break;
    case RT_OP_HARD_SIGMOID:
        p->alpha = rt_attr_float(n, "alpha", 0.2f);
        p->beta = rt_attr_float(n, "beta", 0.5f);
        break;
    case RT_OP_GELU: p->gelu_tanh = strcmp(rt_attr_str(n, "approximate", "none"), "tanh") == 0; break;
    default: break;
    }
}

int train_math_unary_check(TrainModel *m, int k, RtError *err) {
    const RtNode *n = train_node(m, k);
    if (n->op == RT_OP_GELU) {
        const char *a = rt_attr_str(n, "approximate", "none");
        if (strcmp(a, "none") != 0 && strcmp(a, "tanh") != 0)
            return train_node_fail(m, k, err, "attribute 'approximate' is \"%s\"; expected \"none\" or \"tanh\"", a);
    }
    if (n->op == RT_OP_CELU && rt_attr_float(n, "alpha", 1.0f) == 0.0f)
        return train_node_fail(m, k, err, "attribute 'alpha' is 0 (Celu divides by it)");
    return RT_OK;
}

#define SQRT_2_PI 0.79788456080286535588     /* sqrt(2/pi): Gelu's tanh form */
#define SQRT1_2 0.70710678118654752440       /* 1/sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143267794  /* 1/sqrt(2 pi): the normal density's constant */
#define TWO_SQRT_PI 1.12837916709551257390   /* 2/sqrt(pi): erf's derivative's constant */

static float math_unary_one(int op, const MathParams *p, float v) {
    switch (op) {
    case RT_OP_NEG: return -v;
    case RT_OP_ABS: return fabsf(v);
    case RT_OP_RECIPROCAL: return 1.0f / v;
    case RT_OP_SQRT: return sqrtf(v);
    case RT_OP_EXP: return expf(v);
    case RT_OP_LOG: return logf(v);
    case RT_OP_ERF: return erff(v);
    case RT_OP_GELU:
        if (p->gelu_tanh) return 0.5f * v * (1.0f + tanhf((float)SQRT_2_PI * (v + 0.044715f * v * v * v)));
        return 0.5f * v * (1.0f + erff(v * (float)SQRT1_2));
    case RT_OP_SOFTPLUS: return v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v));
    case RT_OP_SOFTSIGN: return v / (1.0f + fabsf(v));
    case RT_OP_HARD_SIGMOID: {
        float h = p->alpha * v + p->beta;
        return h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h;
    }
    case RT_OP_HARD_SWISH: {
        float h = v / 6.0f + 0.5f;
        return v * (h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h);
    }
    case RT_OP_ELU: return v < 0 ? p->alpha * expm1f(v) : v;
    case RT_OP_SELU: return p->gamma * (v > 0 ? v : p->alpha * expm1f(v));
    default: /* Celu */ return v > 0 ? v : p->alpha * expm1f(v / p->alpha);
    }
}

/* dy/dx at input v with output y (double: the derivative's own rounding stays below float's). */
static double math_unary_slope(int op, const MathParams *p, double v, double y) {
    switch (op) {
    case RT_OP_NEG: return -1.0;
    case RT_OP_ABS: return v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0;
    case RT_OP_RECIPROCAL: return -y * y;
    case RT_OP_SQRT: return y > 0 ? 0.5 / y : INFINITY;
    case RT_OP_EXP: return y;
    case RT_OP_LOG: return 1.0 / v;
    case RT_OP_ERF: return TWO_SQRT_PI * exp(-v * v);
    case RT_OP_GELU: {
        if (!p->gelu_tanh) return 0.5 * (1.0 + erf(v * SQRT1_2)) + v * INV_SQRT_2PI * exp(-0.5 * v * v);
        double t = tanh(SQRT_2_PI * (v + 0.044715 * v * v * v));
        return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * SQRT_2_PI * (1.0 + 3.0 * 0.044715 * v * v);
    }
    case RT_OP_SOFTPLUS: return v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
    case RT_OP_SOFTSIGN: return 1.0 / ((1.0 + fabs(v)) * (1.0 + fabs(v)));
    case RT_OP_HARD_SIGMOID: {
        double h = (double)p->alpha * v + p->beta;
        return h > 0.0 && h < 1.0 ? p->alpha : 0.0;
    }
    case RT_OP_HARD_SWISH: return v < -3.0 ? 0.0 : v <= 3.0 ? v / 3.0 + 0.5 : 1.0;
    case RT_OP_ELU: return v < 0 ? p->alpha * exp(v) : 1.0;
    case RT_OP_SELU: return v > 0 ? p->gamma : (double)p->gamma * p->alpha * exp(v);
    default: /* Celu */ return v > 0 ? 1.0 : exp(v / p->alpha);
    }
}

int train_math_unary_fwd(TrainModel *m, int k, RtError *err) {
    TrainTensor *X = train_in(m, k, 0);
    if (!X) return train_node_fail(m, k, err, "input 'X' is missing");
    if (train_out_shape(m, k, 0, X->rank, X->dims, err) != RT_OK) return RT_ERR;
    const RtNode *n = train_node(m, k);
    MathParams p;
    math_params(n, &p);
    float *y = train_out(m, k, 0)->x;
    for (int64_t i = 0, N = train_tensor_numel(X); i < N; i++) y[i] = math_unary_one(n->op, &p, X->x[i]);
    return RT_OK;
}

int train_math_unary_bwd(TrainModel *m, int k, RtError *err) {
    (void)err;
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0), *Y = train_out(m, k, 0);
    float *dx = train_in_grad(m, k, 0);
    if (!dx) return RT_OK;
    MathParams p;
    math_params(n, &p);
    for (int64_t i = 0, N = train_tensor_numel(X); i < N; i++)
        if (Y->dx[i] != 0.0f) /* an infinite slope times a zero gradient is no contribution, not NaN */
            dx[i] += (float)(Y->dx[i] * math_unary_slope(n->op, &p, X->x[i], Y->x[i]));
    return RT_OK;
}

/* ---- Div, Pow, PRelu ---- */
int train_math_binary_check(TrainModel *m, int k, RtError *err) {
    if (rt_attr_int(train_node(m, k), "broadcast", 0) != 0)
        return train_node_fail(m, k, err, "attribute 'broadcast'=1 (opset < 7 broadcasting along 'axis') is not "
                                          "supported; opset >= 7 broadcasts numpy-style");
    return RT_OK;
}

static int math_binary_dims(TrainModel *m, int k, MathBcast *b, RtError *err) {
    if (train_node(m, k)->n_in != 2) return train_node_fail(m, k, err, "expects 2 inputs");
    if (math_bcast(m, k, b, err) != RT_OK) return RT_ERR;
    if (train_node(m, k)->op == RT_OP_PRELU) { /* unidirectional: the output is X's shape */
        TrainTensor *X = train_in(m, k, 0);
        if (b->rank != X->rank || b->total != train_tensor_numel(X))
            return train_node_fail(m, k, err, "slope does not broadcast to X's shape (unidirectional)");
    }
    return RT_OK;
}

int train_math_binary_fwd(TrainModel *m, int k, RtError *err) {
    MathBcast b;
    if (math_binary_dims(m, k, &b, err) != RT_OK || train_out_shape(m, k, 0, b.rank, b.dims, err) != RT_OK)
        return RT_ERR;
    const float *a = train_in(m, k, 0)->x, *c = train_in(m, k, 1)->x;
    float *y = train_out(m, k, 0)->x;
    switch (train_node(m, k)->op) {
    case RT_OP_DIV: MATH_LOOP2(&b, y[i] = a[o0] / c[o1]); break;
    case RT_OP_POW: MATH_LOOP2(&b, y[i] = powf(a[o0], c[o1])); break;
    default: MATH_LOOP2(&b, y[i] = a[o0] < 0 ? c[o1] * a[o0] : a[o0]); /* PRelu */
    }
    return RT_OK;
}

/* d a^e / de per element (see the header for the a <= 0 cases). */
static inline double pow_d_exponent(double a, double y) { return a > 0 ? y * log(a) : 0.0; }
/* d a^e / da: e a^(e-1), 0 for e = 0. */
static inline double pow_d_base(double a, double e) { return e == 0 ? 0.0 : e * pow(a, e - 1.0); }

int train_math_binary_bwd(TrainModel *m, int k, RtError *err) {
    MathBcast b;
    if (math_binary_dims(m, k, &b, err) != RT_OK) return RT_ERR;
    const float *a = train_in(m, k, 0)->x, *c = train_in(m, k, 1)->x;
    const float *y = train_out(m, k, 0)->x, *dy = train_out(m, k, 0)->dx;
    float *da = train_in_grad(m, k, 0), *dc = train_in_grad(m, k, 1);
    switch (train_node(m, k)->op) {
    case RT_OP_DIV:
        if (da) MATH_LOOP2(&b, da[o0] += dy[i] / c[o1]);
        if (dc) MATH_LOOP2(&b, dc[o1] -= (float)((double)dy[i] * a[o0] / ((double)c[o1] * c[o1])));
        break;
    case RT_OP_POW:
        if (da) MATH_LOOP2(&b, if (dy[i] != 0.0f) da[o0] += (float)(dy[i] * pow_d_base(a[o0], c[o1])));
        if (dc) MATH_LOOP2(&b, if (dy[i] != 0.0f) dc[o1] += (float)(dy[i] * pow_d_exponent(a[o0], y[i])));
        break;
    default: /* PRelu */
        if (da) MATH_LOOP2(&b, da[o0] += a[o0] < 0 ? c[o1] * dy[i] : dy[i]);
        if (dc) MATH_LOOP2(&b, dc[o1] += a[o0] < 0 ? a[o0] * dy[i] : 0.0f);
    }
    return RT_OK;
}

/* ---- Sum, Mean, Max, Min (variadic) ---- */
int train_variadic_check(TrainModel *m, int k, RtError *err) {
    int n = train_node(m, k)->n_in;
    if (n < 1 || n > MATH_MAX_IN)
        return train_node_fail(m, k, err, "has %d inputs; 1 to %d are supported", n, MATH_MAX_IN);
    return RT_OK;
}

/* Runs the forward, and for Max / Min records in win[i] the input that gave output i. */
int train_variadic_fwd(TrainModel *m, int k, RtError *err) {
    MathBcast b;
    if (math_bcast(m, k, &b, err) != RT_OK || train_out_shape(m, k, 0, b.rank, b.dims, err) != RT_OK) return RT_ERR;
    int op = train_node(m, k)->op, is_ext = op == RT_OP_MAX || op == RT_OP_MIN;
    unsigned char *win = is_ext ? train_node_state(m, k, (size_t)b.total, err) : NULL;
    if (is_ext && !win) return RT_ERR;
    const float *x[MATH_MAX_IN];
    for (int j = 0; j < b.n; j++) x[j] = train_in(m, k, j)->x;
    float *y = train_out(m, k, 0)->x;
    int64_t idx[RT_MAX_RANK] = {0}, off[MATH_MAX_IN] = {0};
    for (int64_t i = 0; i < b.total; i++) {
        float v = x[0][off[0]];
        int w = 0;
        for (int j = 1; j < b.n; j++) {
            float u = x[j][off[j]];
            if (op == RT_OP_MAX ? u > v : op == RT_OP_MIN ? u < v : 0) v = u, w = j;
            else if (!is_ext) v += u;
        }
        y[i] = op == RT_OP_MEAN ? v / (float)b.n : v;
        if (win) win[i] = (unsigned char)w;
        math_bcast_next(&b, idx, off);
    }
    return RT_OK;
}

int train_variadic_bwd(TrainModel *m, int k, RtError *err) {
    MathBcast b;
    if (math_bcast(m, k, &b, err) != RT_OK) return RT_ERR;
    int op = train_node(m, k)->op, is_ext = op == RT_OP_MAX || op == RT_OP_MIN;
    const unsigned char *win = is_ext ? m->state[k] : NULL;
    const float *dy = train_out(m, k, 0)->dx;
    float *dx[MATH_MAX_IN], scale = op == RT_OP_MEAN ? 1.0f / (float)b.n : 1.0f;
    for (int j = 0; j < b.n; j++) dx[j] = train_in_grad(m, k, j);
    int64_t idx[RT_MAX_RANK] = {0}, off[MATH_MAX_IN] = {0};
    for (int64_t i = 0; i < b.total; i++) {
        for (int j = 0; j < b.n; j++)
            if (dx[j] && (!win || win[i] == j)) dx[j][off[j]] += dy[i] * scale;
        math_bcast_next(&b, idx, off);
    }
    return RT_OK;
}
