/*
 * emit_ops_seq.c — emit-c's emitters for recurrent layers (LSTM, GRU, RNN) and integer
 * matmul/conv. (Table ec_ops_seq, searched by ec_node_emit after emit_ops.c's.)
 *
 * Recurrent ops: the node's attributes are read here, at emit time, with the runtime's rules
 * (runtime/kernels/ref/recurrent.c: direction, layout, hidden_size, clip, input_forget,
 * linear_before_reset, activations per direction with their alpha / beta consumed in list
 * order) into one `static const wk_seq_rec n<k>_rec`; the kernel (template k_seq_rec_f32)
 * takes every input as a pointer, so W, R, B, sequence_lens, initial_h, initial_c and P may be
 * constants or graph inputs alike, and absent optional inputs or outputs are NULL. The
 * per-step state and gates (4*H + 2*G*H floats) are arena scratch (ec_scratch_seq).
 */
#include "emit_ops_common.h"

/* ---------------------------------------------------------------- recurrent layers */

/* The recurrent ops' activation list (numbered as template b2_seq_act) with the ONNX
 * operators' defaults for the alpha / beta they consume. */
static const struct {
    const char *name;
    int n_ab;
    float alpha, beta;
} seq_acts[] = {
    {"Relu", 0, 0, 0},          {"Tanh", 0, 0, 0},      {"Sigmoid", 0, 0, 0},     {"Affine", 2, 1.0f, 0.0f},
    {"LeakyRelu", 1, 0.01f, 0}, {"ThresholdedRelu", 1, 1.0f, 0}, {"ScaledTanh", 2, 1.0f, 1.0f},
    {"HardSigmoid", 2, 0.2f, 0.5f}, {"Elu", 1, 1.0f, 0}, {"Softsign", 0, 0, 0}, {"Softplus", 0, 0, 0},
};

static int seq_name_eq(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y) return 0;
    }
    return *a == *b;
}

typedef struct {
    int kind, G, n_act;             /* 0 RNN, 1 GRU, 2 LSTM; gates; activations per direction */
    int64_t S, N, I, H, D;
    int reverse_only, layout;
    int act[2][3];
    float alpha[2][3], beta[2][3];
} SeqRec;

/* G and kind of a recurrent op, or 0. */
static int seq_rec_gates(int op, int *kind) {
    *kind = op == RT_OP_RNN ? 0 : op == RT_OP_GRU ? 1 : 2;
    return op == RT_OP_RNN ? 1 : op == RT_OP_GRU ? 3 : op == RT_OP_LSTM ? 4 : 0;
}

/* The `activations` list: f (RNN), f g (GRU), f g h (LSTM) per direction, as recurrent.c. */
static int seq_rec_acts(EcCtx *c, int k, const RtNode *n, SeqRec *r) {
    static const char *const defaults[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    const RtAttr *names = rt_attr(n, "activations"), *al = rt_attr(n, "activation_alpha");
    const RtAttr *be = rt_attr(n, "activation_beta");
    int n_names = names ? names->n : 0, ia = 0, ib = 0, n_al = al ? al->n : 0, n_be = be ? be->n : 0;
    if ((names && names->type != RT_ATTR_STRINGS) || (al && al->type != RT_ATTR_FLOATS) ||
        (be && be->type != RT_ATTR_FLOATS))
        return ec_fail(c, k, RT_ERR, "attributes activations / activation_alpha / activation_beta have the wrong type");
    if (names && n_names != r->n_act && n_names != 2 * r->n_act)
        return ec_fail(c, k, RT_ERR, "attribute 'activations' has %d names, want %d per direction", n_names, r->n_act);
    for (int d = 0; d < r->D; d++)
        for (int j = 0; j < r->n_act; j++) {
            const char *nm = names ? names->strings[(n_names == r->n_act ? 0 : d * r->n_act) + j] : defaults[r->kind][j];
            size_t e = 0, ne = sizeof seq_acts / sizeof seq_acts[0];
            while (e < ne && !seq_name_eq(nm, seq_acts[e].name)) e++;
            if (e == ne) return ec_fail(c, k, RT_ERR, "attribute 'activations': unknown activation '%s'", nm);
            r->act[d][j] = (int)e;
            r->alpha[d][j] = seq_acts[e].alpha;
            r->beta[d][j] = seq_acts[e].beta;
            if (seq_acts[e].n_ab >= 1 && ia < n_al) r->alpha[d][j] = al->floats[ia++];
            if (seq_acts[e].n_ab >= 2 && ib < n_be) r->beta[d][j] = be->floats[ib++];
        }
    return RT_OK;
}

/* Input j absent, or of dtype float32 and shape want[rank]. */
static int seq_rec_input(EcCtx *c, int k, const RtNode *n, int j, const char *what, int rank, const int64_t *want) {
    const RtTensor *t = vin(c, n, j);
    if (!t) return RT_OK;
    RT_TRY(need_dtype(c, k, t, RT_F32, what));
    int ok = t->rank == rank;
    for (int i = 0; ok && i < rank; i++) ok = t->dims[i] == want[i];
    char g[128], w[128];
    if (!ok)
        return ec_fail(c, k, RT_ERR, "input '%s' has shape %s, want %s", what, rt_shape_str(t->rank, t->dims, g, sizeof g),
                       rt_shape_str(rank, want, w, sizeof w));
    return RT_OK;
}

/* Reads and checks the node (shapes as recurrent.c checks them) into r. */
static int seq_rec_parse(EcCtx *c, int k, const RtNode *n, SeqRec *r) {
    const RtTensor *x = vin(c, n, 0), *w = vin(c, n, 1), *rr = vin(c, n, 2);
    memset(r, 0, sizeof *r);
    r->G = seq_rec_gates(n->op, &r->kind);
    r->n_act = r->kind + 1;
    if (!x || !w || !rr) return ec_fail(c, k, RT_ERR, "inputs 'X', 'W' and 'R' are required");
    if (x->dtype != RT_F32)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input 'X' has dtype %s; emit-c's recurrent kernel takes float32",
                       rt_dtype_name(x->dtype));
    if (x->rank != 3 || w->rank != 3 || w->dims[1] % r->G != 0)
        return ec_fail(c, k, RT_ERR, "X must be [seq, batch, input] and W [directions, %d*hidden, input]", r->G);
    r->layout = (int)rt_attr_int(n, "layout", 0);
    if (r->layout != 0 && r->layout != 1) return ec_fail(c, k, RT_ERR, "attribute 'layout' must be 0 or 1");
    r->S = x->dims[r->layout ? 1 : 0], r->N = x->dims[r->layout ? 0 : 1], r->I = x->dims[2];
    const char *dir = rt_attr_str(n, "direction", "forward");
    if (strcmp(dir, "forward") == 0) r->D = 1;
    else if (strcmp(dir, "reverse") == 0) r->D = 1, r->reverse_only = 1;
    else if (strcmp(dir, "bidirectional") == 0) r->D = 2;
    else return ec_fail(c, k, RT_ERR, "attribute 'direction' is '%s', want forward, reverse or bidirectional", dir);
    r->H = w->dims[1] / r->G;
    const RtAttr *hs = rt_attr(n, "hidden_size");
    if (hs && hs->i != r->H)
        return ec_fail(c, k, RT_ERR, "attribute 'hidden_size' is %lld but W has %lld rows", (long long)hs->i,
                       (long long)w->dims[1]);
    int64_t GH = r->G * r->H, want[3] = {r->D, GH, r->I};
    RT_TRY(seq_rec_input(c, k, n, 1, "W", 3, want));
    want[2] = r->H;
    RT_TRY(seq_rec_input(c, k, n, 2, "R", 3, want));
    want[1] = 2 * GH;
    RT_TRY(seq_rec_input(c, k, n, 3, "B", 2, want));
    int64_t st[3] = {r->layout ? r->N : r->D, r->layout ? r->D : r->N, r->H}, pw[2] = {r->D, 3 * r->H};
    RT_TRY(seq_rec_input(c, k, n, 5, "initial_h", 3, st));
    if (r->kind == 2) {
        RT_TRY(seq_rec_input(c, k, n, 6, "initial_c", 3, st));
        RT_TRY(seq_rec_input(c, k, n, 7, "P", 2, pw));
    }
    const RtTensor *sl = vin(c, n, 4), *slk = kin(c, n, 4);
    if (sl && ((sl->dtype != RT_I32 && sl->dtype != RT_I64) || sl->rank != 1 || sl->dims[0] != r->N))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "sequence_lens must be int32 or int64 [%lld]", (long long)r->N);
    for (int64_t b = 0; slk && b < r->N; b++) { /* a constant's lengths are checked here, an input's by the kernel */
        int64_t v = rt_qget(slk, b);
        if (v < 0 || v > r->S)
            return ec_fail(c, k, RT_ERR, "sequence_lens element %lld is %lld, want 0..%lld", (long long)b, (long long)v,
                           (long long)r->S);
    }
    int64_t lim = INT32_MAX / 8;
    if (r->S * r->N * r->D * r->H > lim || GH * (r->I > r->H ? r->I : r->H) * r->D > lim)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "sizes overflow emit-c's int32 indexing");
    return seq_rec_acts(c, k, n, r);
}

static int e_rec(EcCtx *c, int k, const RtNode *n) {
    SeqRec r;
    RT_TRY(seq_rec_parse(c, k, n, &r));
    const RtAttr *cl = rt_attr(n, "clip");
    if (cl && (cl->type != RT_ATTR_FLOAT || !(cl->f >= 0))) return ec_fail(c, k, RT_ERR, "attribute 'clip' must be a float >= 0");
    char clip[48], a[48];
    ec_float_lit(clip, sizeof clip, cl ? cl->f : -1.0f);
    text_buf_printf(&c->decl, "static const wk_seq_rec n%d_rec = {%d, %d, %lld, %lld, %lld, %lld, %lld, %d, %d, %d, %d, %s, {", k,
                    r.kind, r.G, (long long)r.S, (long long)r.N, (long long)r.I, (long long)r.H, (long long)r.D,
                    r.reverse_only, r.layout, rt_attr_int(n, "linear_before_reset", 0) != 0,
                    rt_attr_int(n, "input_forget", 0) != 0, clip);
    for (int d = 0; d < 2; d++)
        text_buf_printf(&c->decl, "%s{%d, %d, %d}", d ? ", " : "", r.act[d][0], r.act[d][1], r.act[d][2]);
    for (int ab = 0; ab < 2; ab++) {
        text_buf_printf(&c->decl, "}, {");
        for (int d = 0; d < 2; d++) {
            text_buf_printf(&c->decl, "%s{", d ? ", " : "");
            for (int j = 0; j < 3; j++) {
                ec_float_lit(a, sizeof a, ab ? r.beta[d][j] : r.alpha[d][j]);
                text_buf_printf(&c->decl, "%s%s", j ? ", " : "", a);
            }
            text_buf_printf(&c->decl, "}");
        }
    }
    text_buf_printf(&c->decl, "}};\n");
    ec_tpl_use(c, "b0_exp");
    ec_tpl_use(c, "b1_sigmoid");
    ec_tpl_use(c, "b1_tanh");
    ec_tpl_use(c, "b2_seq_act");
    ec_tpl_use(c, "k_seq_rec_f32");
    const RtTensor *sl = vin(c, n, 4);
    char pb[8][96], y[3][96];
    const char *p[8];
    for (int j = 0; j < 8; j++) p[j] = r.kind == 2 || j < 6 ? P(c, n, j, pb[j]) : "NULL";
    for (int i = 0; i < 3; i++) {
        if (i < n->n_out && n->out[i] >= 0) ec_ptr(c, n->out[i], 0, y[i], sizeof y[i]);
        else snprintf(y[i], sizeof y[i], "NULL");
    }
    text_buf_printf(&c->body,
                    "    if (wk_seq_rec_f32(&n%d_rec, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, (float *)(A + %lld)))\n"
                    "        return 1; /* a sequence length out of range */\n",
                    k, p[0], p[1], p[2], p[3], sl && sl->dtype == RT_I32 ? p[4] : "NULL",
                    sl && sl->dtype == RT_I64 ? p[4] : "NULL", p[5], p[6], p[7], y[0], y[1], y[2],
                    (long long)c->scratch_off[k]);
    return RT_OK;
}

/* ---------------------------------------------------------------- scratch and table */

int64_t ec_scratch_seq(const EcCtx *c, int k, const RtNode *n) {
    (void)k;
    int kind, G = seq_rec_gates(n->op, &kind);
    if (G && n->n_in > 1 && n->in[1] >= 0 && c->val[n->in[1]].rank == 3) {
        int64_t H = c->val[n->in[1]].dims[1] / G;
        return (int64_t)sizeof(float) * (4 * H + 2 * G * H);
    }
    return 0;
}

const EcOpEntry ec_ops_seq[] = {
    {RT_OP_RNN, e_rec},
    {RT_OP_GRU, e_rec},
    {RT_OP_LSTM, e_rec},
    {0, NULL},
};
