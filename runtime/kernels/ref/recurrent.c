/*
 * recurrent.c — the ONNX recurrent ops RNN, GRU and LSTM (opsets 7-21), reference kernels.
 *
 * Shapes (layout 0; layout 1, opset 14, swaps the first two axes of X and Y and the first
 * two of initial_h / initial_c / Y_h / Y_c, i.e. batch first):
 *   X [S, N, I]   W [D, G*H, I]   R [D, G*H, H]   B [D, 2*G*H] (W biases then R biases)
 *   sequence_lens [N]   initial_h, initial_c [D, N, H]   P [D, 3*H] (LSTM peepholes i, o, f)
 *   Y [S, D, N, H]   Y_h, Y_c [D, N, H]
 * with S steps, N batch, I input size, H hidden size, D = 2 when direction is
 * "bidirectional" (direction 0 runs forward, 1 in reverse) else 1, and G gates per op:
 * RNN 1, GRU 3 (rows z, r, h of W/R/B), LSTM 4 (rows i, o, f, c).
 *
 * Algorithm: batch rows never interact, so each (direction d, batch row b) is run on its
 * own over its len = sequence_lens[b] steps (S when absent), t = 0..len-1 forward or
 * len-1..0 in reverse, from initial_h / initial_c (zeros when absent). Per step, every
 * gate's pre-activation is a dot product of a W row with X_t plus one of an R row with
 * H_{t-1} plus the biases (see Arithmetic below):
 *   RNN   H = f(Wi x + Ri H + Wbi + Rbi)
 *   GRU   z = f(Wz x + Rz H + Wbz + Rbz),  r = f(Wr x + Rr H + Wbr + Rbr)
 *         h = g(Wh x + Rh (r . H) + Rbh + Wbh)           linear_before_reset = 0
 *         h = g(Wh x + r . (Rh H + Rbh) + Wbh)           linear_before_reset != 0
 *         H = (1 - z) . h + z . H
 *   LSTM  i = f(Wi x + Ri H + Pi . C + Wbi + Rbi),  f = f(... Pf . C ...) (1 - i when
 *         input_forget != 0: coupled gates),  c = g(Wc x + Rc H + Wbc + Rbc)
 *         C = f . C + i . c,  o = f(Wo x + Ro H + Po . C + Wbo + Rbo),  H = o . h(C)
 * Y[t] gets H; steps at or past a row's length stay zero in Y, and Y_h / Y_c hold the state
 * after the row's last valid step (the initial state when its length is 0).
 *
 * Activations: the `activations` list names f (RNN), f g (GRU) or f g h (LSTM) per
 * direction, forward's first (case-insensitive, as onnxruntime reads them); a bidirectional
 * node given only one direction's list uses it for both, and a one-direction node given two
 * lists uses the first (onnxruntime does too: exporters write RNN's "Tanh, Tanh" default). activation_alpha / activation_beta
 * are consumed in list order by the functions that take them (LeakyRelu, ThresholdedRelu and
 * Elu an alpha; Affine, ScaledTanh and HardSigmoid an alpha and a beta); a function whose
 * values are not given uses its ONNX operator's defaults. `clip` bounds every activation's
 * input to [-clip, clip] (h(C)'s input too; the cell state kept for the next step is not
 * clipped).
 *
 * Arithmetic: float32 (the common case) uses X, W and R as they are: a row's W x_t for all
 * its steps is one rt_sgemm ([len, I] x [I, G*H]) before the steps, and R H_{t-1} one GEMV
 * per step, in float as onnxruntime computes them; biases, gates, activations and the state
 * are double. Other dtypes (float16, float64) read every input into double and compute all
 * of it in double. Outputs are written in X's dtype. Outputs the node leaves unused are
 * shaped, not computed.
 */
#include "../kernel.h"
#include "../gemm.h"

#include <limits.h>
#include <math.h>
#include <string.h>

typedef enum { REC_RNN, REC_GRU, REC_LSTM } RecKind;

/* ---- activation functions ---- */

typedef enum {
    ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_AFFINE, ACT_LEAKY_RELU, ACT_THRESHOLDED_RELU,
    ACT_SCALED_TANH, ACT_HARD_SIGMOID, ACT_ELU, ACT_SOFTSIGN, ACT_SOFTPLUS
} ActKind;

/* The spec's list; n_ab = how many of (alpha, beta) the function consumes; the defaults are
 * those of the ONNX operator of the same name. */
static const struct {
    const char *name;
    ActKind kind;
    int n_ab;
    double alpha, beta;
} act_table[] = {
    {"Relu", ACT_RELU, 0, 0, 0},
    {"Tanh", ACT_TANH, 0, 0, 0},
    {"Sigmoid", ACT_SIGMOID, 0, 0, 0},
    {"Affine", ACT_AFFINE, 2, 1.0, 0.0},
    {"LeakyRelu", ACT_LEAKY_RELU, 1, 0.01, 0},
    {"ThresholdedRelu", ACT_THRESHOLDED_RELU, 1, 1.0, 0},
    {"ScaledTanh", ACT_SCALED_TANH, 2, 1.0, 1.0},
    {"HardSigmoid", ACT_HARD_SIGMOID, 2, 0.2, 0.5},
    {"Elu", ACT_ELU, 1, 1.0, 0},
    {"Softsign", ACT_SOFTSIGN, 0, 0, 0},
    {"Softplus", ACT_SOFTPLUS, 0, 0, 0},
};

typedef struct {
    ActKind kind;
    double alpha, beta;
} RecAct;

static int recurrent_name_eq(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y) return 0;
    }
    return *a == *b;
}

static double recurrent_act_apply(const RecAct *a, double x) {
    switch (a->kind) {
    case ACT_RELU: return x > 0 ? x : 0;
    case ACT_TANH: return tanh(x);
    case ACT_SIGMOID: return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
    case ACT_AFFINE: return a->alpha * x + a->beta;
    case ACT_LEAKY_RELU: return x >= 0 ? x : a->alpha * x;
    case ACT_THRESHOLDED_RELU: return x >= a->alpha ? x : 0;
    case ACT_SCALED_TANH: return a->alpha * tanh(a->beta * x);
    case ACT_HARD_SIGMOID: {
        double v = a->alpha * x + a->beta;
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
    case ACT_ELU: return x >= 0 ? x : a->alpha * (exp(x) - 1.0);
    case ACT_SOFTSIGN: return x / (1.0 + fabs(x));
    case ACT_SOFTPLUS: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); /* no overflow */
    }
    return x;
}

/* ---- the parsed node ---- */

typedef struct {
    RecKind kind;
    int G, n_act;               /* gates per direction; activations per direction */
    int D, reverse_only, layout;
    int64_t S, N, I, H;
    int has_clip;
    double clip;
    int linear_before_reset, input_forget;
    RecAct act[2][3];           /* [direction][f, g, h] */
} Rec;

static const char *const rec_gate_rows[] = {"[i]", "[z, r, h]", "[i, o, f, c]"};

static int recurrent_parse_acts(RtKernelCtx *c, const RtNode *n, Rec *r) {
    static const char *const defaults[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    const RtAttr *names = rt_attr(n, "activations");
    const RtAttr *al = rt_attr(n, "activation_alpha"), *be = rt_attr(n, "activation_beta");
    int n_names = names ? names->n : 0;
    if (names && names->type != RT_ATTR_STRINGS) return rt_fail(c, "attribute 'activations' must be a list of strings");
    if (al && al->type != RT_ATTR_FLOATS) return rt_fail(c, "attribute 'activation_alpha' must be a list of floats");
    if (be && be->type != RT_ATTR_FLOATS) return rt_fail(c, "attribute 'activation_beta' must be a list of floats");
    if (names && n_names != r->n_act && n_names != r->n_act * 2)
        return rt_fail(c, "attribute 'activations' has %d names, want %d per direction (%d or %d)", n_names,
                       r->n_act, r->n_act, 2 * r->n_act);
    int ia = 0, ib = 0, n_al = al ? al->n : 0, n_be = be ? be->n : 0;
    for (int d = 0; d < r->D; d++)
        for (int k = 0; k < r->n_act; k++) {
            const char *nm = names ? names->strings[(n_names == r->n_act ? 0 : d * r->n_act) + k]
                                   : defaults[r->kind][k];
            size_t e = 0, n_table = sizeof act_table / sizeof act_table[0];
            while (e < n_table && !recurrent_name_eq(nm, act_table[e].name)) e++;
            if (e == n_table)
                return rt_fail(c, "attribute 'activations': unknown activation '%s' (want Relu, Tanh, Sigmoid, Affine, "
                               "LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign or Softplus)", nm);
            RecAct *a = &r->act[d][k];
            a->kind = act_table[e].kind;
            a->alpha = act_table[e].alpha;
            a->beta = act_table[e].beta;
            /* a bidirectional node reusing one list consumes the values once per direction */
            if (act_table[e].n_ab >= 1 && ia < n_al) a->alpha = al->floats[ia++];
            if (act_table[e].n_ab >= 2 && ib < n_be) a->beta = be->floats[ib++];
        }
    return RT_OK;
}

/* Checks an input's shape equals want[rank]; the message names the input and both shapes. */
static int recurrent_check_shape(RtKernelCtx *c, const RtTensor *t, const char *what, int rank, const int64_t *want,
                                 const char *meaning) {
    int ok = t->rank == rank;
    for (int i = 0; ok && i < rank; i++) ok = t->dims[i] == want[i];
    if (ok) return RT_OK;
    char g[128], w[128];
    return rt_fail(c, "input '%s' has shape %s, want %s %s", what, rt_shape_str(t->rank, t->dims, g, sizeof g),
                   meaning, rt_shape_str(rank, want, w, sizeof w));
}

static int recurrent_check_float(RtKernelCtx *c, const RtTensor *t, RtDtype dt, const char *what) {
    if (t->dtype != dt)
        return rt_fail(c, "input '%s' has dtype %s, want %s (the dtype of X)", what, rt_dtype_name(t->dtype),
                       rt_dtype_name(dt));
    return RT_OK;
}

/* Reads the attributes and checks every input's dtype and shape. */
static int recurrent_parse(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, Rec *r) {
    static const int max_in[3] = {6, 6, 8};
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *rr = rt_in(n, in, 2);
    if (n->n_in > max_in[r->kind]) return rt_fail(c, "%d inputs, at most %d allowed", n->n_in, max_in[r->kind]);
    if (n->n_out > (r->kind == REC_LSTM ? 3 : 2))
        return rt_fail(c, "%d outputs, at most %d allowed", n->n_out, r->kind == REC_LSTM ? 3 : 2);
    if (!x || !w || !rr) return rt_fail(c, "inputs 'X', 'W' and 'R' are required");
    if (x->dtype != RT_F32 && x->dtype != RT_F64 && x->dtype != RT_F16)
        return rt_fail(c, "input 'X' has dtype %s, want float16, float32 or float64", rt_dtype_name(x->dtype));
    if (x->rank != 3) return rt_fail(c, "input 'X' must have rank 3, got rank %d", x->rank);

    r->layout = (int)rt_attr_int(n, "layout", 0);
    if (r->layout != 0 && r->layout != 1) return rt_fail(c, "attribute 'layout' must be 0 or 1, got %d", r->layout);
    r->S = x->dims[r->layout ? 1 : 0];
    r->N = x->dims[r->layout ? 0 : 1];
    r->I = x->dims[2];

    const char *dir = rt_attr_str(n, "direction", "forward");
    if (strcmp(dir, "forward") == 0) r->D = 1;
    else if (strcmp(dir, "reverse") == 0) r->D = 1, r->reverse_only = 1;
    else if (strcmp(dir, "bidirectional") == 0) r->D = 2;
    else return rt_fail(c, "attribute 'direction' is '%s', want forward, reverse or bidirectional", dir);

    int64_t G = r->G;
    if (w->rank != 3 || w->dims[1] % G != 0 || w->dims[1] == 0) {
        char s[128];
        return rt_fail(c, "input 'W' has shape %s, want [num_directions, %lld*hidden_size, input_size] (gates %s)",
                       rt_shape_str(w->rank, w->dims, s, sizeof s), (long long)G, rec_gate_rows[r->kind]);
    }
    r->H = w->dims[1] / G;
    const RtAttr *hs = rt_attr(n, "hidden_size");
    if (hs && hs->i != r->H)
        return rt_fail(c, "attribute 'hidden_size' is %lld but input 'W' has %lld rows = %lld gates x %lld",
                       (long long)hs->i, (long long)w->dims[1], (long long)G, (long long)r->H);
    const char *mean = "[num_directions, gates*hidden_size, input_size] =";
    int64_t want[3] = {r->D, G * r->H, r->I};
    RT_TRY(recurrent_check_shape(c, w, "W", 3, want, mean));
    RT_TRY(recurrent_check_float(c, w, x->dtype, "W"));
    want[2] = r->H;
    RT_TRY(recurrent_check_shape(c, rr, "R", 3, want, "[num_directions, gates*hidden_size, hidden_size] ="));
    RT_TRY(recurrent_check_float(c, rr, x->dtype, "R"));
    const RtTensor *b = rt_in(n, in, 3), *sl = rt_in(n, in, 4), *h0 = rt_in(n, in, 5);
    if (b) {
        want[1] = 2 * G * r->H;
        RT_TRY(recurrent_check_shape(c, b, "B", 2, want, "[num_directions, 2*gates*hidden_size] ="));
        RT_TRY(recurrent_check_float(c, b, x->dtype, "B"));
    }
    if (sl) {
        if (rt_dtype_is_float(sl->dtype) || sl->dtype == RT_BOOL || rt_dtype_size(sl->dtype) == 0)
            return rt_fail(c, "input 'sequence_lens' must be an integer tensor, got %s", rt_dtype_name(sl->dtype));
        RT_TRY(recurrent_check_shape(c, sl, "sequence_lens", 1, &r->N, "[batch_size] ="));
    }
    int64_t st[3] = {r->layout ? r->N : r->D, r->layout ? r->D : r->N, r->H};
    const char *st_mean = r->layout ? "[batch_size, num_directions, hidden_size] =" : "[num_directions, batch_size, hidden_size] =";
    if (h0) {
        RT_TRY(recurrent_check_shape(c, h0, "initial_h", 3, st, st_mean));
        RT_TRY(recurrent_check_float(c, h0, x->dtype, "initial_h"));
    }
    if (r->kind == REC_LSTM) {
        const RtTensor *c0 = rt_in(n, in, 6), *p = rt_in(n, in, 7);
        if (c0) {
            RT_TRY(recurrent_check_shape(c, c0, "initial_c", 3, st, st_mean));
            RT_TRY(recurrent_check_float(c, c0, x->dtype, "initial_c"));
        }
        if (p) {
            int64_t pw[2] = {r->D, 3 * r->H};
            RT_TRY(recurrent_check_shape(c, p, "P", 2, pw, "[num_directions, 3*hidden_size] ="));
            RT_TRY(recurrent_check_float(c, p, x->dtype, "P"));
        }
    }

    /* W, R and X hold real data, so their sizes are real; the state [D, N, H] is made here
     * (N from X, H from W), and an X with input_size 0 could claim any N: bound it before
     * its byte count is computed (16: double scratch with room to spare). */
    if (r->N > INT64_MAX / 16 / (r->D * r->H))
        return rt_fail(c, "batch_size %lld x hidden_size %lld is too large", (long long)r->N, (long long)r->H);

    const RtAttr *cl = rt_attr(n, "clip");
    if (cl) {
        if (cl->type != RT_ATTR_FLOAT || !(cl->f >= 0)) return rt_fail(c, "attribute 'clip' must be a float >= 0");
        r->has_clip = 1;
        r->clip = cl->f;
    }
    r->linear_before_reset = rt_attr_int(n, "linear_before_reset", 0) != 0;
    r->input_forget = rt_attr_int(n, "input_forget", 0) != 0;
    return recurrent_parse_acts(c, n, r);
}

/* ---- compute ---- */

/* Reads a whole float tensor into double scratch; an absent one becomes count zeros. */
static double *recurrent_load(RtKernelCtx *c, const RtTensor *t, int64_t count) {
    double *v = rt_scratch(c, sizeof(double) * (size_t)(count > 0 ? count : 1));
    if (!v) return NULL;
    if (!t) {
        for (int64_t i = 0; i < count; i++) v[i] = 0;
    } else if (t->dtype == RT_F32) {
        const float *f = t->data;
        for (int64_t i = 0; i < count; i++) v[i] = f[i];
    } else {
        for (int64_t i = 0; i < count; i++) v[i] = rt_get_f64(t, i);
    }
    return v;
}

static void recurrent_store(RtTensor *t, int64_t i, double v) {
    if (t->dtype == RT_F32) ((float *)t->data)[i] = (float)v;
    else rt_set_f64(t, i, v);
}

static double recurrent_act(const Rec *r, const RecAct *a, double x) {
    if (r->has_clip) x = x < -r->clip ? -r->clip : x > r->clip ? r->clip : x;
    return recurrent_act_apply(a, x);
}

/* Four running sums: one sum's add latency bounded the loop (a dot product is all the
 * kernel does); the fixed split keeps the result the same on every machine. */
static double recurrent_dot(const double *a, const double *b, int64_t n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += a[k] * b[k];
        s1 += a[k + 1] * b[k + 1];
        s2 += a[k + 2] * b[k + 2];
        s3 += a[k + 3] * b[k + 3];
    }
    for (; k < n; k++) s0 += a[k] * b[k];
    return (s0 + s1) + (s2 + s3);
}

/* Everything one run needs. Generic path: weights of all directions, X and the initial
 * states in double. float32 path (xf != NULL): X, W and R are used as given, in float, by
 * rt_sgemm (the products then are float sums, as onnxruntime's are); x, w and r stay NULL. */
typedef struct {
    double *x, *w, *r, *b, *p, *h0, *c0;
    const float *xf, *wf, *rf;           /* float32 path: the inputs' own data */
    float *xw, *vf, *of;                 /* float32 path: [S, G*H] W x_t of one row, [H], [G*H] */
    double *h, *cst, *hn, *gates, *tmp, *rh;  /* per-row state and scratch, [H] or [G*H] */
} RecBufs;

/* Index of state element (d, b, 0) in initial_h / Y_h, by layout. */
static int64_t recurrent_state_at(const Rec *r, int d, int64_t b) {
    return (r->layout ? b * r->D + d : d * r->N + b) * r->H;
}

/* out[j] = R[d][row0 + j] . v for j < n_rows (rows of length H): one float GEMV on the
 * float32 path, double dot products otherwise. */
static void recurrent_matvec(const Rec *r, const RecBufs *k, int d, int64_t row0, int64_t n_rows, const double *v,
                             double *out) {
    const int64_t H = r->H, GH = r->G * H;
    if (k->rf) {
        for (int64_t j = 0; j < H; j++) k->vf[j] = (float)v[j];
        rt_sgemm(0, 1, 1, (int)n_rows, (int)H, 1.0f, k->vf, (int)H, k->rf + (d * GH + row0) * H, (int)H, 0.0f, k->of,
                 (int)n_rows);
        for (int64_t j = 0; j < n_rows; j++) out[j] = k->of[j];
    } else {
        const double *R = k->r + (d * GH + row0) * H;
        for (int64_t j = 0; j < n_rows; j++) out[j] = recurrent_dot(R + j * H, v, H);
    }
}

/* Runs direction d over batch row b for len steps; writes Y (if y), Y_h, Y_c (if given). */
static void recurrent_run_row(const Rec *r, RecBufs *k, int d, int64_t b, int64_t len, RtTensor *y, RtTensor *yh,
                              RtTensor *yc) {
    const int64_t H = r->H, I = r->I, GH = r->G * H;
    const double *Wb = k->b + d * 2 * GH, *Rb = Wb + GH, *P = k->p + d * 3 * H;
    const RecAct *act = r->act[d];
    int reverse = r->reverse_only || d == 1;
    int64_t s0 = recurrent_state_at(r, d, b);
    double *h = k->h, *cs = k->cst, *hn = k->hn, *g = k->gates, *tmp = k->tmp, *rh = k->rh;
    for (int64_t j = 0; j < H; j++) h[j] = k->h0[s0 + j], cs[j] = k->c0[s0 + j];
    /* float32: W x_t for the row's len steps at once, xw[t] = X[t, b] . W[d]^T; row b's
     * steps are I apart in layout 1, N*I apart in layout 0 */
    if (k->xf && len > 0)
        rt_sgemm(0, 1, (int)len, (int)GH, (int)I, 1.0f, k->xf + (r->layout ? b * r->S * I : b * I),
                 (int)(r->layout ? I : r->N * I), k->wf + d * GH * I, (int)I, 0.0f, k->xw, (int)GH);

    /* GRU without linear_before_reset multiplies Rh by r . H, known only after r: its rows
     * are done apart */
    int64_t r_rows = (r->kind == REC_GRU && !r->linear_before_reset) ? 2 * H : GH;
    for (int64_t step = 0; step < len; step++) {
        int64_t t = reverse ? len - 1 - step : step;
        /* g = W x + Wb; rh = R H */
        if (k->xf) {
            const float *xw = k->xw + t * GH;
            for (int64_t j = 0; j < GH; j++) g[j] = (double)xw[j] + Wb[j];
        } else {
            const double *W = k->w + d * GH * I, *xt = k->x + (r->layout ? b * r->S + t : t * r->N + b) * I;
            for (int64_t j = 0; j < GH; j++) g[j] = recurrent_dot(W + j * I, xt, I) + Wb[j];
        }
        recurrent_matvec(r, k, d, 0, r_rows, h, rh);
        if (r->kind == REC_RNN) {
            for (int64_t j = 0; j < H; j++) hn[j] = recurrent_act(r, &act[0], g[j] + rh[j] + Rb[j]);
        } else if (r->kind == REC_GRU) {
            double *z = g, *rg = g + H, *hh = g + 2 * H;
            const double *Rbh = Rb + 2 * H;
            for (int64_t j = 0; j < 2 * H; j++) g[j] = recurrent_act(r, &act[0], g[j] + rh[j] + Rb[j]);
            if (r->linear_before_reset) {
                for (int64_t j = 0; j < H; j++) hh[j] += rg[j] * (rh[2 * H + j] + Rbh[j]);
            } else {
                for (int64_t j = 0; j < H; j++) tmp[j] = rg[j] * h[j];
                recurrent_matvec(r, k, d, 2 * H, H, tmp, rh + 2 * H);
                for (int64_t j = 0; j < H; j++) hh[j] += rh[2 * H + j] + Rbh[j];
            }
            for (int64_t j = 0; j < H; j++) {
                double cand = recurrent_act(r, &act[1], hh[j]);
                hn[j] = (1.0 - z[j]) * cand + z[j] * h[j];
            }
        } else {
            for (int64_t j = 0; j < GH; j++) g[j] += rh[j] + Rb[j];
            double *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
            const double *Pi = P, *Po = P + H, *Pf = P + 2 * H;
            for (int64_t j = 0; j < H; j++) {
                double i = recurrent_act(r, &act[0], gi[j] + Pi[j] * cs[j]);
                double f = r->input_forget ? 1.0 - i : recurrent_act(r, &act[0], gf[j] + Pf[j] * cs[j]);
                double cc = recurrent_act(r, &act[1], gc[j]);
                cs[j] = f * cs[j] + i * cc;
                double o = recurrent_act(r, &act[0], go[j] + Po[j] * cs[j]);
                hn[j] = o * recurrent_act(r, &act[2], cs[j]);
            }
        }
        memcpy(h, hn, sizeof(double) * (size_t)H);
        if (y) {
            int64_t yo = (r->layout ? (b * r->S + t) * r->D + d : (t * r->D + d) * r->N + b) * H;
            for (int64_t j = 0; j < H; j++) recurrent_store(y, yo + j, h[j]);
        }
    }
    for (int64_t j = 0; j < H; j++) {
        if (yh) recurrent_store(yh, s0 + j, h[j]);
        if (yc) recurrent_store(yc, s0 + j, cs[j]);
    }
}

/* Output i is computed unless the node marks it absent (slot -1). */
static int recurrent_out_wanted(const RtNode *n, int i) {
    return i < n->n_out && (!n->out || n->out[i] >= 0);
}

static int recurrent_kernel(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, RecKind kind) {
    static const int gates[3] = {1, 3, 4}, n_acts[3] = {1, 2, 3};
    Rec r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.G = gates[kind];
    r.n_act = n_acts[kind];
    RT_TRY(recurrent_parse(c, n, in, &r));
    const RtTensor *x = in[0], *sl = rt_in(n, in, 4);

    /* lengths are data: checked whenever known, before anything is allocated */
    if (sl && sl->data)
        for (int64_t b = 0; b < r.N; b++) {
            int64_t v = rt_get_i64(sl, b);
            if (v < 0 || v > r.S)
                return rt_fail(c, "input 'sequence_lens' element %lld is %lld, want 0..seq_length (%lld)", (long long)b,
                               (long long)v, (long long)r.S);
        }

    int64_t ydims[4] = {r.S, r.D, r.N, r.H}, sdims[3] = {r.D, r.N, r.H};
    if (r.layout) ydims[0] = r.N, ydims[1] = r.S, ydims[2] = r.D, sdims[0] = r.N, sdims[1] = r.D;
    for (int i = 0; i < n->n_out; i++) rt_out_set_shape(out[i], x->dtype, i == 0 ? 4 : 3, i == 0 ? ydims : sdims);
    for (int i = 0; i < n->n_out; i++)
        if (recurrent_out_wanted(n, i)) RT_TRY(rt_out_alloc_data(c, out[i]));

    RtTensor *y = recurrent_out_wanted(n, 0) ? out[0] : NULL;
    RtTensor *yh = recurrent_out_wanted(n, 1) ? out[1] : NULL;
    RtTensor *yc = recurrent_out_wanted(n, 2) ? out[2] : NULL;
    if (y) {  /* steps past a row's length stay zero */
        int64_t ny = rt_numel(y);
        for (int64_t i = 0; i < ny; i++) recurrent_store(y, i, 0.0);
    }

    const int64_t H = r.H, GH = r.G * H, n_state = r.D * r.N * H;
    RecBufs k;
    memset(&k, 0, sizeof k);
    int st = RT_ERR_NOMEM;
    /* float32 through rt_sgemm when every size fits its int arguments */
    int use_f32 = x->dtype == RT_F32 && r.I >= 1 && r.S * r.N <= INT_MAX && r.N * r.I <= INT_MAX && GH <= INT_MAX &&
                  r.S * r.I <= INT_MAX && r.I <= INT_MAX;
    if (use_f32) {
        k.xf = x->data;
        k.wf = in[1]->data;
        k.rf = in[2]->data;
        if (!(k.xw = rt_scratch(c, sizeof(float) * (size_t)(r.S * GH + H + GH)))) goto done;
        k.vf = k.xw + r.S * GH;
        k.of = k.vf + H;
    } else {
        if (!(k.x = recurrent_load(c, x, rt_numel(x)))) goto done;
        if (!(k.w = recurrent_load(c, in[1], r.D * GH * r.I))) goto done;
        if (!(k.r = recurrent_load(c, in[2], r.D * GH * H))) goto done;
    }
    if (!(k.b = recurrent_load(c, rt_in(n, in, 3), r.D * 2 * GH))) goto done;
    if (!(k.h0 = recurrent_load(c, rt_in(n, in, 5), n_state))) goto done;
    if (!(k.c0 = recurrent_load(c, kind == REC_LSTM ? rt_in(n, in, 6) : NULL, n_state))) goto done;
    if (!(k.p = recurrent_load(c, kind == REC_LSTM ? rt_in(n, in, 7) : NULL, r.D * 3 * H))) goto done;
    if (!(k.h = rt_scratch(c, sizeof(double) * (size_t)(4 * H + 2 * GH)))) goto done;
    k.cst = k.h + H;
    k.hn = k.cst + H;
    k.tmp = k.hn + H;
    k.gates = k.tmp + H;
    k.rh = k.gates + GH;
    for (int d = 0; d < r.D; d++)
        for (int64_t b = 0; b < r.N; b++)
            recurrent_run_row(&r, &k, d, b, sl ? rt_get_i64(sl, b) : r.S, y, yh, yc);
    st = RT_OK;
done:
    rt_scratch_free(c, k.x);
    rt_scratch_free(c, k.w);
    rt_scratch_free(c, k.r);
    rt_scratch_free(c, k.b);
    rt_scratch_free(c, k.h0);
    rt_scratch_free(c, k.c0);
    rt_scratch_free(c, k.p);
    rt_scratch_free(c, k.h);
    rt_scratch_free(c, k.xw);
    return st;
}

static int k_rnn(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return recurrent_kernel(c, n, in, out, REC_RNN);
}

static int k_gru(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return recurrent_kernel(c, n, in, out, REC_GRU);
}

static int k_lstm(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return recurrent_kernel(c, n, in, out, REC_LSTM);
}

const RtKernelEntry rt_kernels_recurrent[] = {
    {RT_OP_RNN, k_rnn},
    {RT_OP_GRU, k_gru},
    {RT_OP_LSTM, k_lstm},
    {-1, 0},
};
