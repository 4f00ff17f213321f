/*
 * emit_ops_seq.c — emit-c's emitters for recurrent layers (LSTM, GRU, RNN), integer matmul and
 * conv (MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv, DynamicQuantizeLinear, and
 * onnxruntime's MatMulIntegerToFloat, DynamicQuantizeMatMul and QLinearConv with
 * channels_last; its other quantized ops are emit_ops_qcontrib.c's), Einsum, DFT and STFT.
 * (Table ec_ops_seq, searched by ec_node_emit after emit_ops.c's.) Each mirrors the runtime's
 * reference kernel (runtime/kernels/ref: recurrent.c, quant.c, qlinear_contrib*.c, linalg.c,
 * signal.c): the same attribute rules and checks at emit time, the same arithmetic in C.
 *
 * Recurrent ops: the node's attributes (direction, layout, hidden_size, clip, input_forget,
 * linear_before_reset, activations per direction with their alpha / beta consumed in list
 * order) become one `static const wk_seq_rec n<k>_rec`; the kernel (template k_seq_rec, in
 * float or, for float64 models, double: b0_seq_real_f32 / _f64)
 * takes every input as a pointer, so W, R, B, sequence_lens, initial_h, initial_c and P may be
 * constants or graph inputs alike, and absent optional inputs or outputs are NULL. The
 * per-step state and gates (4*H + 2*G*H floats) are arena scratch (ec_scratch_seq).
 * Integer ops: scales and zero points are read by the kernels through pointers (constants or
 * graph inputs); per-row / per-column ones through index maps made here; sums are int32
 * wrapping, requantization a float32 product rounded half to even (b0_quant), as onnxruntime.
 * Einsum: the runtime's label plan made here, its loop nest written inline with the element
 * type. DFT / STFT: a mixed-radix FFT over twiddles computed here (no libm in C). Recurrent
 * layers, DFT and STFT compute in wk_seq_real: float, or double for float64 models (one per
 * model).
 */
#include "emit_ops_common.h"
#include "emit_templates.h"

/* ---------------------------------------------------------------- recurrent layers */

/* The recurrent ops' activation list (numbered as template b2_seq_act) with the ONNX
 * operators' defaults for the alpha / beta they consume. */
static const struct {
    const char *name;
    int n_ab;
    double alpha, beta;
} seq_acts[] = {
    {"Relu", 0, 0, 0},         {"Tanh", 0, 0, 0},      {"Sigmoid", 0, 0, 0},     {"Affine", 2, 1.0, 0.0},
    {"LeakyRelu", 1, 0.01, 0}, {"ThresholdedRelu", 1, 1.0, 0}, {"ScaledTanh", 2, 1.0, 1.0},
    {"HardSigmoid", 2, 0.2, 0.5}, {"Elu", 1, 1.0, 0}, {"Softsign", 0, 0, 0}, {"Softplus", 0, 0, 0},
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
    double alpha[2][3], beta[2][3];
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
            const char *nm =
                names ? names->strings[(n_names == r->n_act ? 0 : d * r->n_act) + j] : defaults[r->kind][j];
            size_t e = 0, ne = sizeof seq_acts / sizeof seq_acts[0];
            while (e < ne && !seq_name_eq(nm, seq_acts[e].name)) e++;
            if (e == ne) return ec_fail(c, k, RT_ERR, "attribute 'activations': unknown activation '%s'", nm);
            r->act[d][j] = (int)e;
            r->alpha[d][j] = seq_acts[e].alpha;
            r->beta[d][j] = seq_acts[e].beta;
            if (seq_acts[e].n_ab >= 1 && ia < n_al) r->alpha[d][j] = al->floats[ia++];
            if (seq_acts[e].n_ab >= 2 && ib < n_be) r->beta[d][j] = be->floats[ib++];
            if (!isfinite(r->alpha[d][j]) || !isfinite(r->beta[d][j]))
                return ec_fail(c, k, RT_ERR_UNSUPPORTED,
                               "activation_alpha / activation_beta must be finite for emit-c");
        }
    return RT_OK;
}

/* Input j absent, or of X's dtype and shape want[rank]. */
static int seq_rec_input(EcCtx *c, int k, const RtNode *n, int j, const char *what, int rank, const int64_t *want) {
    const RtTensor *t = vin(c, n, j);
    if (!t) return RT_OK;
    RT_TRY(need_dtype(c, k, t, vin(c, n, 0)->dtype, what));
    int ok = t->rank == rank;
    for (int i = 0; ok && i < rank; i++) ok = t->dims[i] == want[i];
    char g[128], w[128];
    if (!ok)
        return ec_fail(c, k, RT_ERR, "input '%s' has shape %s, want %s", what,
                       rt_shape_str(t->rank, t->dims, g, sizeof g), rt_shape_str(rank, want, w, sizeof w));
    return RT_OK;
}

/* Reads and checks the node (shapes as recurrent.c checks them) into r. */
static int seq_rec_parse(EcCtx *c, int k, const RtNode *n, SeqRec *r) {
    const RtTensor *x = vin(c, n, 0), *w = vin(c, n, 1), *rr = vin(c, n, 2);
    memset(r, 0, sizeof *r);
    r->G = seq_rec_gates(n->op, &r->kind);
    r->n_act = r->kind + 1;
    if (!x || !w || !rr) return ec_fail(c, k, RT_ERR, "inputs 'X', 'W' and 'R' are required");
    if (x->dtype != RT_F32 && x->dtype != RT_F64)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED,
                       "input 'X' has dtype %s; emit-c's recurrent kernel takes float32 and float64",
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
        int64_t v = rt_get_i64(slk, b);
        if (v < 0 || v > r->S)
            return ec_fail(c, k, RT_ERR, "sequence_lens element %lld is %lld, want 0..%lld", (long long)b, (long long)v,
                           (long long)r->S);
    }
    int64_t lim = INT32_MAX / 8;
    if (r->S * r->N * r->D * r->H > lim || GH * (r->I > r->H ? r->I : r->H) * r->D > lim)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "sizes overflow emit-c's int32 indexing");
    return seq_rec_acts(c, k, n, r);
}

/* 1 when template `name` is already in the emitted C. */
static int seq_tpl_used(const EcCtx *c, const char *name) {
    for (int i = 0; i < c->n_tpl; i++)
        if (strcmp(emit_c_templates[i].name, name) == 0) return c->tpl_used[i];
    return 0;
}

/* The seq float kernels' real type (b0_seq_real_f32 / _f64) for a node of dtype t (float32 or
 * float64): one per model. */
static int seq_real_use(EcCtx *c, int k, RtDtype t) {
    int f64 = t == RT_F64;
    if (seq_tpl_used(c, f64 ? "b0_seq_real_f32" : "b0_seq_real_f64"))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "emit-c's recurrent layers, DFT and STFT of one model share one float "
                       "type; an earlier one is %s", f64 ? "float32" : "float64");
    ec_tpl_use(c, f64 ? "b0_seq_real_f64" : "b0_seq_real_f32");
    return RT_OK;
}

static int e_rec(EcCtx *c, int k, const RtNode *n) {
    SeqRec r;
    RT_TRY(seq_rec_parse(c, k, n, &r));
    const RtAttr *cl = rt_attr(n, "clip");
    if (cl && (cl->type != RT_ATTR_FLOAT || !(cl->f >= 0)))
        return ec_fail(c, k, RT_ERR, "attribute 'clip' must be a float >= 0");
    char clip[48];
    ec_float_lit(clip, sizeof clip, cl ? cl->f : -1.0f);
    text_buf_printf(
        &c->decl, "static const wk_seq_rec n%d_rec = {%d, %d, %lld, %lld, %lld, %lld, %lld, %d, %d, %d, %d, %s, {", k,
        r.kind, r.G, (long long)r.S, (long long)r.N, (long long)r.I, (long long)r.H, (long long)r.D, r.reverse_only,
        r.layout, rt_attr_int(n, "linear_before_reset", 0) != 0, rt_attr_int(n, "input_forget", 0) != 0, clip);
    for (int d = 0; d < 2; d++)
        text_buf_printf(&c->decl, "%s{%d, %d, %d}", d ? ", " : "", r.act[d][0], r.act[d][1], r.act[d][2]);
    for (int ab = 0; ab < 2; ab++) {
        text_buf_printf(&c->decl, "}, {");
        for (int d = 0; d < 2; d++) {
            text_buf_printf(&c->decl, "%s{", d ? ", " : "");
            for (int j = 0; j < 3; j++) /* exact C99 hex doubles */
                text_buf_printf(&c->decl, "%s%a", j ? ", " : "", ab ? r.beta[d][j] : r.alpha[d][j]);
            text_buf_printf(&c->decl, "}");
        }
    }
    text_buf_printf(&c->decl, "}};\n");
    int f64 = vin(c, n, 0)->dtype == RT_F64;
    if (f64 && c->o->no_libm)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED,
                       "float64 recurrent layers call libm's exp and tanh; not with --no-libm");
    RT_TRY(seq_real_use(c, k, vin(c, n, 0)->dtype));
    if (!f64) { /* the float activations' exp, sigmoid, tanh */
        ec_tpl_use(c, "b0_exp");
        ec_tpl_use(c, "b1_sigmoid");
        ec_tpl_use(c, "b1_tanh");
    }
    ec_tpl_use(c, "b2_seq_act");
    ec_tpl_use(c, "k_seq_rec");
    const RtTensor *sl = vin(c, n, 4);
    char pb[8][96], y[3][96];
    const char *p[8];
    for (int j = 0; j < 8; j++) p[j] = r.kind == 2 || j < 6 ? P(c, n, j, pb[j]) : "NULL";
    for (int i = 0; i < 3; i++) {
        if (i < n->n_out && n->out[i] >= 0) ec_ptr(c, n->out[i], 0, y[i], sizeof y[i]);
        else snprintf(y[i], sizeof y[i], "NULL");
    }
    text_buf_printf(
        &c->body,
        "    if (wk_seq_rec_run(&n%d_rec, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, (wk_seq_real *)(A + %lld)))\n"
        "        return 1; /* a sequence length out of range */\n",
        k, p[0], p[1], p[2], p[3], sl && sl->dtype == RT_I32 ? p[4] : "NULL", sl && sl->dtype == RT_I64 ? p[4] : "NULL",
        p[5], p[6], p[7], y[0], y[1], y[2], (long long)c->scratch_off[k]);
    return RT_OK;
}

/* ---------------------------------------------------------------- integer matmul */

/* numpy matmul shapes of A and B (a 1-D A is [1, K], a 1-D B [K, 1]) with broadcast batches,
 * as runtime/kernels/ref/quant.c's qmm_plan. */
typedef struct {
    int64_t M, N, K;
    int bra, brb, brank;            /* batch ranks of A, B and Y */
    int64_t bdims[RT_MAX_RANK];     /* Y's batch dims */
    int64_t batches, na, nb;        /* matrices of Y, A and B */
} SeqQmm;

static int seq_qmm_plan(EcCtx *c, int k, const RtTensor *A, const RtTensor *B, SeqQmm *p) {
    if (A->rank < 1 || B->rank < 1) return ec_fail(c, k, RT_ERR, "inputs A and B must have rank >= 1");
    int ra = A->rank, rb = B->rank;
    memset(p, 0, sizeof *p);
    p->bra = ra > 2 ? ra - 2 : 0;
    p->brb = rb > 2 ? rb - 2 : 0;
    p->M = ra == 1 ? 1 : A->dims[ra - 2];
    p->K = A->dims[ra - 1];
    p->N = rb == 1 ? 1 : B->dims[rb - 1];
    if ((rb == 1 ? B->dims[0] : B->dims[rb - 2]) != p->K)
        return ec_fail(c, k, RT_ERR, "inner dimensions of A and B differ");
    p->brank = p->bra > p->brb ? p->bra : p->brb;
    for (int i = 0; i < p->brank; i++) {
        int ia = i - (p->brank - p->bra), ib = i - (p->brank - p->brb);
        int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return ec_fail(c, k, RT_ERR, "batch dims of A and B do not broadcast");
        p->bdims[i] = da == 1 ? db : da;
    }
    p->batches = rt_shape_numel(p->brank, p->bdims);
    p->na = rt_shape_numel(p->bra, A->dims);
    p->nb = rt_shape_numel(p->brb, B->dims);
    if (p->batches * p->M * p->N > INT32_MAX / 2 || rt_numel(A) > INT32_MAX / 2 || rt_numel(B) > INT32_MAX / 2)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "sizes overflow emit-c's int32 indexing");
    return RT_OK;
}

/* n<k>_amap / n<k>_bmap [batches]: for each output matrix the index of its A and B matrix
 * (one 0 entry when there are none: C has no empty arrays). */
static int seq_qmm_maps(EcCtx *c, int k, const SeqQmm *p, const RtTensor *A, const RtTensor *B) {
    int64_t sa[RT_MAX_RANK], sb[RT_MAX_RANK], idx[RT_MAX_RANK] = {0}, a = 0, b = 0;
    int64_t nb = p->batches > 0 ? p->batches : 1;
    int32_t *m = calloc((size_t)(2 * nb), sizeof(int32_t));
    if (!m) return rt_error_set(c->err, "out of memory");
    rt_broadcast_strides(p->bra, A->dims, p->brank, p->bdims, sa);
    rt_broadcast_strides(p->brb, B->dims, p->brank, p->bdims, sb);
    for (int64_t i = 0; i < p->batches; i++) {
        m[i] = (int32_t)a, m[nb + i] = (int32_t)b;
        for (int d = p->brank - 1; d >= 0; d--) {
            a += sa[d], b += sb[d];
            if (++idx[d] < p->bdims[d]) break;
            a -= sa[d] * p->bdims[d], b -= sb[d] * p->bdims[d], idx[d] = 0;
        }
    }
    decl_i32s(c, k, "amap", m, nb);
    decl_i32s(c, k, "bmap", m + nb, nb);
    free(m);
    return RT_OK;
}

enum { SEQ_ROWS_A, SEQ_COLS_B, SEQ_ROWS_Y };

/* Parameter input j (a scale or zero point) of `side`: absent, one value, or values per row
 * of A / column of B / row of Y given as a 1-D vector or an N-D tensor broadcastable to
 * [batch..., M, 1] / [batch..., 1, N] (quant.c's qmm_param). Writes the index map
 * n<k>_<name> of every row / column into the parameter when it has more than one value and
 * sets map to its C name, else "NULL". */
static int seq_qmm_param(EcCtx *c, int k, const RtNode *n, int j, const SeqQmm *p, const RtTensor *A,
                         const RtTensor *B, int side, const char *name, char *map) {
    const RtTensor *t = vin(c, n, j);
    snprintf(map, 32, "NULL");
    if (!t || rt_numel(t) == 1) return RT_OK;
    int64_t td[RT_MAX_RANK + 2], pd[RT_MAX_RANK + 2], st[RT_MAX_RANK + 2];
    int tr = 0, pr = t->rank;
    if (side == SEQ_ROWS_A) for (int i = 0; i < p->bra; i++) td[tr++] = A->dims[i];
    if (side == SEQ_COLS_B) for (int i = 0; i < p->brb; i++) td[tr++] = B->dims[i];
    if (side == SEQ_ROWS_Y) for (int i = 0; i < p->brank; i++) td[tr++] = p->bdims[i];
    td[tr++] = side == SEQ_COLS_B ? 1 : p->M;
    td[tr++] = side == SEQ_COLS_B ? p->N : 1;
    if (t->rank == 1) {
        pr = 2;
        pd[0] = side == SEQ_COLS_B ? 1 : t->dims[0];
        pd[1] = side == SEQ_COLS_B ? t->dims[0] : 1;
    } else {
        memcpy(pd, t->dims, sizeof(int64_t) * (size_t)pr);
    }
    int ok = pr <= tr;
    for (int i = 0; ok && i < pr; i++) ok = pd[i] == 1 || pd[i] == td[tr - pr + i];
    if (!ok) return ec_fail(c, k, RT_ERR, "%s must be a scalar or per %s", name, side == SEQ_COLS_B ? "column" : "row");
    int64_t total = rt_shape_numel(tr, td), idx[RT_MAX_RANK + 2] = {0}, off = 0;
    int32_t *m = calloc((size_t)(total + 1), sizeof(int32_t));
    if (!m) return rt_error_set(c->err, "out of memory");
    rt_broadcast_strides(pr, pd, tr, td, st);
    for (int64_t i = 0; i < total; i++) {
        m[i] = (int32_t)off;
        for (int d = tr - 1; d >= 0; d--) {
            off += st[d];
            if (++idx[d] < td[d]) break;
            off -= st[d] * td[d];
            idx[d] = 0;
        }
    }
    decl_i32s(c, k, name, m, total > 0 ? total : 1); /* C has no empty arrays */
    free(m);
    snprintf(map, 32, "n%d_%s", k, name);
    return RT_OK;
}

static int seq_is_q8(const RtTensor *t) { return t && (t->dtype == RT_I8 || t->dtype == RT_U8); }

/* MatMulInteger (A, B, a_zero_point, b_zero_point) and QLinearMatMul (A, a_scale, a_zp, B,
 * b_scale, b_zp, y_scale, y_zp): every parameter may be a constant or a graph input. */
static int e_qmm(EcCtx *c, int k, const RtNode *n) {
    int ql = n->op == RT_OP_QLINEAR_MATMUL;
    int ia = 0, iaz = ql ? 2 : 2, ib = ql ? 3 : 1, ibz = ql ? 5 : 3;
    const RtTensor *A = vin(c, n, ia), *B = vin(c, n, ib), *az = vin(c, n, iaz), *bz = vin(c, n, ibz), *y = yval(c, n);
    if (!seq_is_q8(A) || !seq_is_q8(B))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "inputs A and B must be int8 or uint8 for emit-c");
    if ((az && az->dtype != A->dtype) || (bz && bz->dtype != B->dtype))
        return ec_fail(c, k, RT_ERR, "a zero point's dtype differs from its operand's");
    if (ql) {
        for (int j = 1; j <= 6; j += (j == 1 ? 3 : 2))
            RT_TRY(need_dtype(c, k, vin(c, n, j), RT_F32, j == 1 ? "a_scale" : j == 4 ? "b_scale" : "y_scale"));
        if (!seq_is_q8(y) || (vin(c, n, 7) && vin(c, n, 7)->dtype != y->dtype))
            return ec_fail(c, k, RT_ERR_UNSUPPORTED, "output y must be int8 or uint8 (y_zero_point's dtype)");
    } else {
        RT_TRY(need_dtype(c, k, y, RT_I32, "output Y"));
    }
    SeqQmm p;
    RT_TRY(seq_qmm_plan(c, k, A, B, &p));
    if (rt_numel(y) != p.batches * p.M * p.N) return ec_fail(c, k, RT_ERR, "output size differs from the plan's");
    char zam[32], zbm[32], sam[32] = "NULL", sbm[32] = "NULL", sym[32] = "NULL", zym[32] = "NULL";
    RT_TRY(seq_qmm_param(c, k, n, iaz, &p, A, B, SEQ_ROWS_A, "zam", zam));
    RT_TRY(seq_qmm_param(c, k, n, ibz, &p, A, B, SEQ_COLS_B, "zbm", zbm));
    if (ql) {
        RT_TRY(seq_qmm_param(c, k, n, 1, &p, A, B, SEQ_ROWS_A, "sam", sam));
        RT_TRY(seq_qmm_param(c, k, n, 4, &p, A, B, SEQ_COLS_B, "sbm", sbm));
        RT_TRY(seq_qmm_param(c, k, n, 6, &p, A, B, SEQ_ROWS_Y, "sym", sym));
        RT_TRY(seq_qmm_param(c, k, n, 7, &p, A, B, SEQ_ROWS_Y, "zym", zym));
    }
    RT_TRY(seq_qmm_maps(c, k, &p, A, B));
    text_buf_printf(
        &c->decl,
        "static const wk_seq_qmm_t n%d_q = {%lld, %lld, %lld, %lld, %d, %d, %d, n%d_amap, n%d_bmap, "
        "%s, %s, %s, %s, %s, %s};\n",
        k, (long long)p.batches, (long long)p.M, (long long)p.N, (long long)p.K, A->dtype == RT_I8, B->dtype == RT_I8,
        y->dtype == RT_I8, k, k, zam, zbm, sam, sbm, sym, zym);
    ec_tpl_use(c, "b0_seq_q8");
    ec_tpl_use(c, "b0_quant");
    ec_tpl_use(c, "k_seq_qmm");
    char pa[96], pb[96], paz[96], pbz[96], ps[3][96], pz[96], py[96];
    text_buf_printf(&c->body, "    wk_seq_qmm(&n%d_q, %s, %s, %s, %s, %s, %s, %s, %s, %s, (int32_t *)(A + %lld));\n", k,
                    P(c, n, ia, pa), P(c, n, iaz, paz), P(c, n, ib, pb), P(c, n, ibz, pbz),
                    ql ? P(c, n, 1, ps[0]) : "NULL", ql ? P(c, n, 4, ps[1]) : "NULL", ql ? P(c, n, 6, ps[2]) : "NULL",
                    ql ? P(c, n, 7, pz) : "NULL", Y(c, n, py), (long long)c->scratch_off[k]);
    return RT_OK;
}

/* ---------------------------------------------------------------- ConvInteger, DynamicQuantizeLinear */

/* ConvInteger (x, w, x_zero_point, w_zero_point) and QLinearConv (x, x_scale, x_zp, w,
 * w_scale, w_zp, y_scale, y_zp, B) in 1-D, 2-D or 3-D: the geometry (pads from the
 * attributes or auto_pad, the runtime's formulas; output sizes from the plan) as one
 * `static const wk_seq_cgeom n<k>_g`; scales, zero points and bias are read by the kernel,
 * so they may be constants or graph inputs. onnxruntime's com.microsoft QLinearConv is the
 * same op with channels_last (x [N, spatial..., C], y [N, spatial..., M]). */
static int e_conv_integer(EcCtx *c, int k, const RtNode *n) {
    int ql = n->op != RT_OP_CONV_INTEGER, iw = ql ? 3 : 1, iwz = ql ? 5 : 3;
    int cl = n->op == RT_OP_MS_QLINEAR_CONV && rt_attr_int(n, "channels_last", 0) != 0;
    const RtTensor *x = vin(c, n, 0), *w = vin(c, n, iw), *xz = vin(c, n, 2), *wz = vin(c, n, iwz), *y = yval(c, n);
    if (!seq_is_q8(x) || !seq_is_q8(w))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "inputs x and w must be int8 or uint8");
    if (x->rank < 3 || x->rank > 5 || w->rank != x->rank || y->rank != x->rank)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "x and w must be [N, C, spatial...] with 1 to 3 spatial axes");
    int64_t G = rt_attr_int(n, "group", 1), C = x->dims[cl ? x->rank - 1 : 1], M = w->dims[0];
    if (G < 1 || C % G || M % G || w->dims[1] * G != C)
        return ec_fail(c, k, RT_ERR, "x, w and group %lld do not fit", (long long)G);
    if (xz && (rt_numel(xz) != 1 || xz->dtype != x->dtype))
        return ec_fail(c, k, RT_ERR, "x_zero_point must be one value of x's dtype");
    if (wz && ((rt_numel(wz) != 1 && rt_numel(wz) != M) || wz->dtype != w->dtype))
        return ec_fail(c, k, RT_ERR, "w_zero_point must be one value or one per output channel, of w's dtype");
    const RtTensor *ws = vin(c, n, 4), *yz = vin(c, n, 7), *b = vin(c, n, 8);
    if (ql) {
        RT_TRY(need_dtype(c, k, vin(c, n, 1), RT_F32, "x_scale"));
        RT_TRY(need_dtype(c, k, ws, RT_F32, "w_scale"));
        RT_TRY(need_dtype(c, k, vin(c, n, 6), RT_F32, "y_scale"));
        if (rt_numel(vin(c, n, 1)) != 1 || rt_numel(vin(c, n, 6)) != 1 || (rt_numel(ws) != 1 && rt_numel(ws) != M))
            return ec_fail(c, k, RT_ERR,
                           "x_scale and y_scale must be one value, w_scale one or one per output channel");
        if (!seq_is_q8(y) || (yz && (yz->dtype != y->dtype || rt_numel(yz) != 1)))
            return ec_fail(c, k, RT_ERR_UNSUPPORTED,
                           "output y must be int8 or uint8 with one y_zero_point of its dtype");
        if (b && (b->dtype != RT_I32 || rt_numel(b) != M))
            return ec_fail(c, k, RT_ERR, "bias B must be int32 [%lld]", (long long)M);
    } else {
        RT_TRY(need_dtype(c, k, y, RT_I32, "output y"));
    }
    if (rt_numel(x) > INT32_MAX / 2 || rt_numel(y) > INT32_MAX / 2 || rt_numel(w) > INT32_MAX / 2)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "sizes overflow emit-c's int32 indexing");
    int nsp = x->rank - 2;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, ks[3] = {1, 1, 1}, st[3] = {1, 1, 1}, pa[3] = {0, 0, 0},
            di[3] = {1, 1, 1};
    const char *ap = rt_attr_str(n, "auto_pad", "NOTSET");
    for (int a = 0; a < nsp; a++) {
        int i = 3 - nsp + a;
        in[i] = x->dims[(cl ? 1 : 2) + a], out[i] = y->dims[(cl ? 1 : 2) + a], ks[i] = w->dims[2 + a];
        st[i] = attr_at(n, "strides", a, 1), di[i] = attr_at(n, "dilations", a, 1), pa[i] = attr_at(n, "pads", a, 0);
        if (attr_at(n, "kernel_shape", a, ks[i]) != ks[i])
            return ec_fail(c, k, RT_ERR, "kernel_shape differs from w's shape");
        if (st[i] < 1 || di[i] < 1) return ec_fail(c, k, RT_ERR, "strides and dilations must be >= 1");
        if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
            int64_t total = (out[i] - 1) * st[i] + (ks[i] - 1) * di[i] + 1 - in[i];
            if (total < 0) total = 0;
            pa[i] = strcmp(ap, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
        } else if (strcmp(ap, "VALID") == 0) {
            pa[i] = 0;
        } else if (strcmp(ap, "NOTSET") != 0) {
            return ec_fail(c, k, RT_ERR, "attribute auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", ap);
        }
    }
    text_buf_printf(&c->decl, "static const wk_seq_cgeom n%d_g = {%lld, %lld, %lld, %lld", k, (long long)x->dims[0],
                    (long long)C, (long long)M, (long long)G);
    const int64_t *parts[6] = {in, out, ks, st, pa, di};
    for (int q = 0; q < 6; q++)
        text_buf_printf(&c->decl, ", {%lld, %lld, %lld}", (long long)parts[q][0], (long long)parts[q][1],
                        (long long)parts[q][2]);
    text_buf_printf(&c->decl, ", %d, %d, %d, %d};\n", x->dtype == RT_I8, w->dtype == RT_I8, y->dtype == RT_I8, cl);
    ec_tpl_use(c, "b0_seq_q8");
    ec_tpl_use(c, "b0_quant");
    ec_tpl_use(c, "k_seq_convint");
    char p0[96], p1[96], p2[96], p3[96], p4[96], p5[96], p6[96], p7[96], p8[96], py[96];
    text_buf_printf(
        &c->body,
        "    wk_seq_convint(&n%d_g, %s, %s, %s, %s, %d, %s, %s, %s, %d, %s, %s, %s, (int32_t *)(A + %lld));\n", k,
        P(c, n, 0, p0), P(c, n, 2, p2), P(c, n, iw, p3), P(c, n, iwz, p5), wz && rt_numel(wz) > 1,
        ql ? P(c, n, 8, p8) : "NULL", ql ? P(c, n, 1, p1) : "NULL", ql ? P(c, n, 4, p4) : "NULL",
        ql && rt_numel(ws) > 1, ql ? P(c, n, 6, p6) : "NULL", ql ? P(c, n, 7, p7) : "NULL", Y(c, n, py),
        (long long)c->scratch_off[k]);
    return RT_OK;
}

static int e_dynamic_quantize_linear(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    RT_TRY(need_dtype(c, k, x, RT_F32, "input x"));
    if (rt_numel(x) > INT32_MAX) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "x is too large for int32 indexing");
    char p0[96], py[3][96];
    const char *yp[3];
    for (int i = 0; i < 3; i++)
        yp[i] = i < n->n_out && n->out[i] >= 0 ? ec_ptr(c, n->out[i], 0, py[i], sizeof py[i]) : "NULL";
    ec_tpl_use(c, "b0_quant");
    ec_tpl_use(c, "k_seq_dql");
    text_buf_printf(&c->body, "    wk_seq_dql(%s, %lld, %s, %s, %s);\n", P(c, n, 0, p0), (long long)rt_numel(x), yp[0],
                    yp[1], yp[2]);
    return RT_OK;
}

/* ---------------------------------------------------------------- onnxruntime's integer matmuls */

/* b_scale / b_zero_point of the contrib matmuls: one value or [N]. */
static int seq_col_param(EcCtx *c, int k, const RtTensor *t, int64_t N, const char *what) {
    if (t && (t->rank > 1 || (rt_numel(t) != 1 && rt_numel(t) != N)))
        return ec_fail(c, k, RT_ERR, "%s must be one value or [N = %lld]", what, (long long)N);
    return RT_OK;
}

/* MatMulIntegerToFloat (A, B, a_scale, b_scale, a_zp?, b_zp?, bias?) and DynamicQuantizeMatMul
 * (A float, B, b_scale, b_zp?, bias?: A quantized to uint8 codes in arena scratch first, as
 * DynamicQuantizeLinear) on one kernel, k_seq_mmf. (QGemm is emit_ops_qcontrib.c's.) */
static int e_matmul_to_float(EcCtx *c, int k, const RtNode *n) {
    int dq = n->op == RT_OP_DYNAMIC_QUANTIZE_MATMUL;
    int ibs = dq ? 2 : 3, ibz = dq ? 3 : 5, ibias = dq ? 4 : 6;
    const RtTensor *A = vin(c, n, 0), *B = vin(c, n, 1), *bs = vin(c, n, ibs), *bz = vin(c, n, ibz), *y = yval(c, n);
    const RtTensor *as = dq ? NULL : vin(c, n, 2), *az = dq ? NULL : vin(c, n, 4), *bias = vin(c, n, ibias);
    if (dq) RT_TRY(need_dtype(c, k, A, RT_F32, "A"));
    else if (!seq_is_q8(A)) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "A must be int8 or uint8");
    if (!seq_is_q8(B)) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "B must be int8 or uint8");
    RT_TRY(need_dtype(c, k, y, RT_F32, "output Y"));
    if (A->rank < 2 || B->rank < 2) return ec_fail(c, k, RT_ERR, "A and B must have rank >= 2");
    int64_t M = A->dims[A->rank - 2], K = A->dims[A->rank - 1], N = B->dims[B->rank - 1];
    if (B->dims[B->rank - 2] != K) return ec_fail(c, k, RT_ERR, "inner dimensions of A and B differ");
    int b_batch = B->rank > 2;
    if (b_batch && (B->rank != A->rank || memcmp(B->dims, A->dims, sizeof(int64_t) * (size_t)(A->rank - 2)) != 0))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "B must be 2-D or have A's batch dims");
    if (!bs || bs->dtype != RT_F32) return ec_fail(c, k, RT_ERR, "b_scale must be float32");
    RT_TRY(seq_col_param(c, k, bs, N, "b_scale"));
    RT_TRY(seq_col_param(c, k, bz, N, "b_zero_point"));
    if (bz && bz->dtype != B->dtype) return ec_fail(c, k, RT_ERR, "b_zero_point must have B's dtype");
    if (!dq && (!as || as->dtype != RT_F32 || rt_numel(as) != 1))
        return ec_fail(c, k, RT_ERR, "a_scale must be one float32 value");
    if (az && (az->dtype != A->dtype || rt_numel(az) != 1))
        return ec_fail(c, k, RT_ERR, "a_zero_point must be one value of A's dtype");
    if (bias && (bias->dtype != RT_F32 || rt_numel(bias) != N))
        return ec_fail(c, k, RT_ERR, "bias must be float32 [N]");
    if (rt_numel(A) > INT32_MAX / 2 || rt_numel(B) > INT32_MAX / 2 || rt_numel(y) > INT32_MAX / 2)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "sizes overflow emit-c's int32 indexing");
    text_buf_printf(&c->decl, "static const wk_seq_mmf_t n%d_q = {%lld, %lld, %lld, %lld, %d, %d, %d, %d, %d};\n", k,
                    (long long)rt_shape_numel(A->rank - 2, A->dims), (long long)M, (long long)N, (long long)K,
                    !dq && A->dtype == RT_I8, B->dtype == RT_I8, b_batch, rt_numel(bs) > 1, bz && rt_numel(bz) > 1);
    ec_tpl_use(c, "b0_seq_q8");
    ec_tpl_use(c, "k_seq_mmf");
    char pa[96], pas[96], paz[96], pb[96], pbs[96], pbz[96], pbi[96], py[96];
    const char *sa, *sz, *sx;
    if (dq) { /* scratch: [0] the scale, [4] the zero point, [16..] A's codes */
        long long o = (long long)c->scratch_off[k];
        ec_tpl_use(c, "b0_quant");
        ec_tpl_use(c, "k_seq_dql");
        snprintf(pas, sizeof pas, "(const float *)(A + %lld)", o);
        snprintf(paz, sizeof paz, "(const uint8_t *)(A + %lld)", o + 4);
        snprintf(pa, sizeof pa, "(const uint8_t *)(A + %lld)", o + 16);
        text_buf_printf(
            &c->body, "    wk_seq_dql(%s, %lld, (uint8_t *)(A + %lld), (float *)(A + %lld), (uint8_t *)(A + %lld));\n",
            P(c, n, 0, pb), (long long)rt_numel(A), o + 16, o, o + 4);
        sx = pa, sa = pas, sz = paz;
    } else {
        sx = P(c, n, 0, pa), sa = P(c, n, 2, pas), sz = P(c, n, 4, paz);
    }
    text_buf_printf(&c->body, "    wk_seq_mmf(&n%d_q, %s, %s, %s, %s, %s, %s, %s, %s);\n", k, sx, sa, sz,
                    P(c, n, 1, pb), P(c, n, ibs, pbs), P(c, n, ibz, pbz), P(c, n, ibias, pbi), Y(c, n, py));
    return RT_OK;
}

/* ---------------------------------------------------------------- Einsum */

/* As runtime/kernels/ref/linalg.c: every operand dim gets a label (letters; the dims under
 * "..." labels of their own, right-aligned and broadcast across operands); one loop nest runs
 * the output labels outside and the summed labels inside, each operand's offset the sum of
 * index * stride over its dims (a label repeated in one operand adds its strides: the
 * diagonal). The nest is written inline in NAME_run with its sizes and strides as tables. */
#define SEQ_EIN_LETTERS 52
#define SEQ_EIN_LABELS (SEQ_EIN_LETTERS + RT_MAX_RANK)
#define SEQ_EIN_MAX_OPS 16

typedef struct {
    int n_ops, rank[SEQ_EIN_MAX_OPS], lab[SEQ_EIN_MAX_OPS][RT_MAX_RANK];
    int out_rank, out_lab[RT_MAX_RANK];
    int64_t size[SEQ_EIN_LABELS];
    int n_loop, loop[SEQ_EIN_LABELS];
    int64_t stride[SEQ_EIN_MAX_OPS][SEQ_EIN_LABELS];
} SeqEin;

static int seq_ein_letter(char ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return 26 + (ch - 'a');
    return -1;
}

/* One term's labels (-1 for "..."); the count, or -1 on a bad term. */
static int seq_ein_term(const char *s, size_t len, int *labs, int max, int *has_ell) {
    int k = 0;
    *has_ell = 0;
    for (size_t i = 0; i < len; i++) {
        if (k >= max) return -1;
        if (s[i] == '.') {
            if (*has_ell || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.') return -1;
            *has_ell = 1, labs[k++] = -1, i += 2;
        } else if (seq_ein_letter(s[i]) >= 0) {
            labs[k++] = seq_ein_letter(s[i]);
        } else {
            return -1;
        }
    }
    return k;
}

static int seq_ein_operand(EcCtx *c, int k, SeqEin *p, int op, const int *t, int nt, int has_ell, const RtTensor *x,
                           int ell_rank) {
    int ne = x->rank - (nt - has_ell), r = 0;
    for (int j = 0; j < nt; j++) {
        if (t[j] >= 0) p->lab[op][r++] = t[j];
        else
            for (int e = 0; e < ne; e++) p->lab[op][r++] = SEQ_EIN_LETTERS + (ell_rank - ne) + e;
    }
    p->rank[op] = r;
    for (int d = 0; d < r; d++) {
        int L = p->lab[op][d];
        if (p->size[L] < 0 || p->size[L] == 1) p->size[L] = x->dims[d];
        else if (x->dims[d] != 1 && x->dims[d] != p->size[L])
            return ec_fail(c, k, RT_ERR, "operand %d dimension %d has size %lld where its label has %lld", op, d,
                           (long long)x->dims[d], (long long)p->size[L]);
    }
    return RT_OK;
}

static int seq_ein_parse(EcCtx *c, int k, const RtNode *n, SeqEin *p) {
    const char *eq0 = rt_attr_str(n, "equation", NULL);
    if (!eq0) return ec_fail(c, k, RT_ERR, "attribute 'equation' is missing");
    char eq[512];
    size_t len = 0;
    for (const char *s = eq0; *s && len + 1 < sizeof eq; s++)
        if (*s != ' ' && *s != '\t') eq[len++] = *s;
    eq[len] = '\0';
    const char *arrow = strstr(eq, "->");
    size_t lhs = arrow ? (size_t)(arrow - eq) : len, start = 0;
    if (n->n_in < 1 || n->n_in > SEQ_EIN_MAX_OPS)
        return ec_fail(c, k, RT_ERR, "Einsum takes 1 to %d inputs", SEQ_EIN_MAX_OPS);
    p->n_ops = n->n_in;
    int terms[SEQ_EIN_MAX_OPS][RT_MAX_RANK + 1], nt[SEQ_EIN_MAX_OPS], ell[SEQ_EIN_MAX_OPS], ell_rank = 0, op = 0;
    for (size_t i = 0; i <= lhs; i++) {
        if (i < lhs && eq[i] != ',') continue;
        if (op >= p->n_ops) return ec_fail(c, k, RT_ERR, "equation '%s' has more terms than inputs", eq0);
        const RtTensor *x = vin(c, n, op);
        if (!x) return ec_fail(c, k, RT_ERR, "input %d is missing", op);
        nt[op] = seq_ein_term(eq + start, i - start, terms[op], RT_MAX_RANK + 1, &ell[op]);
        if (nt[op] < 0 || nt[op] - ell[op] > x->rank || (!ell[op] && nt[op] != x->rank))
            return ec_fail(c, k, RT_ERR, "equation '%s': term %d does not fit input %d", eq0, op, op);
        if (ell[op] && x->rank - (nt[op] - 1) > ell_rank) ell_rank = x->rank - (nt[op] - 1);
        start = i + 1, op++;
    }
    if (op != p->n_ops) return ec_fail(c, k, RT_ERR, "equation '%s' has %d terms for %d inputs", eq0, op, p->n_ops);
    for (int L = 0; L < SEQ_EIN_LABELS; L++) p->size[L] = -1;
    for (int j = 0; j < p->n_ops; j++)
        RT_TRY(seq_ein_operand(c, k, p, j, terms[j], nt[j], ell[j], vin(c, n, j), ell_rank));
    int count[SEQ_EIN_LABELS] = {0}, in_out[SEQ_EIN_LABELS] = {0};
    for (int j = 0; j < p->n_ops; j++)
        for (int d = 0; d < p->rank[j]; d++) count[p->lab[j][d]]++;
    p->out_rank = 0;
    if (arrow) {
        int t[RT_MAX_RANK + 1], has_ell, m = seq_ein_term(arrow + 2, strlen(arrow + 2), t, RT_MAX_RANK + 1, &has_ell);
        if (m < 0) return ec_fail(c, k, RT_ERR, "equation '%s': bad output term", eq0);
        for (int j = 0; j < m; j++) {
            if (t[j] < 0) {
                for (int e = 0; e < ell_rank; e++) p->out_lab[p->out_rank++] = SEQ_EIN_LETTERS + e;
                continue;
            }
            if (count[t[j]] == 0 || in_out[t[j]] || p->out_rank >= RT_MAX_RANK)
                return ec_fail(c, k, RT_ERR, "equation '%s': output label not in any input, repeated, or too many",
                               eq0);
            in_out[t[j]] = 1;
            p->out_lab[p->out_rank++] = t[j];
        }
    } else { /* implicit: ellipsis dims, then the letters seen once, alphabetically */
        for (int e = 0; e < ell_rank; e++) p->out_lab[p->out_rank++] = SEQ_EIN_LETTERS + e;
        for (int L = 0; L < SEQ_EIN_LETTERS; L++)
            if (count[L] == 1) {
                if (p->out_rank >= RT_MAX_RANK)
                    return ec_fail(c, k, RT_ERR, "equation '%s': output rank too large", eq0);
                p->out_lab[p->out_rank++] = L;
            }
    }
    memset(in_out, 0, sizeof in_out);
    p->n_loop = 0;
    for (int q = 0; q < p->out_rank; q++) p->loop[p->n_loop++] = p->out_lab[q], in_out[p->out_lab[q]] = 1;
    for (int L = 0; L < SEQ_EIN_LABELS; L++)
        if (count[L] && !in_out[L]) p->loop[p->n_loop++] = L;
    for (int j = 0; j < p->n_ops; j++) {
        const RtTensor *x = vin(c, n, j);
        int64_t st = 1, es[RT_MAX_RANK];
        for (int d = p->rank[j] - 1; d >= 0; d--) es[d] = st, st *= x->dims[d];
        for (int q = 0; q < p->n_loop; q++) {
            p->stride[j][q] = 0;
            for (int d = 0; d < p->rank[j]; d++)
                if (p->lab[j][d] == p->loop[q] && !(x->dims[d] == 1 && p->size[p->loop[q]] != 1))
                    p->stride[j][q] += es[d];
        }
    }
    return RT_OK;
}

static int e_einsum(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *y = yval(c, n);
    const char *ct = ec_ctype(y->dtype);
    if (!ct || y->dtype == RT_BOOL)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype %s has no emitted C type", rt_dtype_name(y->dtype));
    for (int j = 0; j < n->n_in; j++)
        if (!vin(c, n, j) || vin(c, n, j)->dtype != y->dtype)
            return ec_fail(c, k, RT_ERR, "inputs must share one dtype");
    SeqEin *p = calloc(1, sizeof *p);
    if (!p) return rt_error_set(c->err, "out of memory");
    int r = seq_ein_parse(c, k, n, p);
    int64_t total_out = 1, total_sum = 1;
    for (int q = 0; r == RT_OK && q < p->out_rank; q++) total_out *= p->size[p->out_lab[q]];
    for (int q = p->out_rank; r == RT_OK && q < p->n_loop; q++) total_sum *= p->size[p->loop[q]];
    if (r == RT_OK && total_out != rt_numel(y)) r = ec_fail(c, k, RT_ERR, "output size differs from the plan's");
    if (r == RT_OK && (total_out * total_sum > INT32_MAX || total_out > INT32_MAX))
        r = ec_fail(c, k, RT_ERR_UNSUPPORTED, "sizes overflow emit-c's int32 indexing");
    if (r != RT_OK) {
        free(p);
        return r;
    }
    int nl = p->n_loop, no = p->out_rank, nops = p->n_ops;
    int32_t sz[SEQ_EIN_LABELS + 1] = {0}, st[SEQ_EIN_MAX_OPS * SEQ_EIN_LABELS + 1] = {0};
    for (int q = 0; q < nl; q++) {
        sz[q] = (int32_t)p->size[p->loop[q]];
        for (int j = 0; j < nops; j++) st[q * nops + j] = (int32_t)p->stride[j][q];
    }
    decl_i32s(c, k, "size", sz, nl > 0 ? nl : 1); /* scalars only: no loop, tables unread */
    decl_i32s(c, k, "st", st, nl > 0 ? (int64_t)nl * nops : 1);
    /* float sums in the type itself (float or double); integers in uint64_t, wrapping, then
     * truncated to the type as the runtime stores them */
    int fl = y->dtype == RT_F32 || y->dtype == RT_F64;
    const char *acc = fl ? ct : "uint64_t";
    char pb[96], py[96];
    text_buf_printf(&c->body, "    {\n");
    for (int j = 0; j < nops; j++) text_buf_printf(&c->body, "        const %s *x%d = %s;\n", ct, j, P(c, n, j, pb));
    text_buf_printf(
        &c->body,
        "        %s *y = %s;\n        int32_t idx[%d], off[%d], o, s, q, j;\n"
        "        for (q = 0; q < %d; q++) idx[q] = 0;\n        for (j = 0; j < %d; j++) off[j] = 0;\n"
        "        for (o = 0; o < %lld; o++) {\n            %s acc = 0;\n            for (s = 0; s < %lld; s++) {\n"
        "                acc += ",
        ct, Y(c, n, py), nl > 0 ? nl : 1, nops, nl, nops, (long long)total_out, acc, (long long)total_sum);
    for (int j = 0; j < nops; j++) text_buf_printf(&c->body, "%s(%s)x%d[off[%d]]", j ? " * " : "", acc, j, j);
    /* two odometers: summed labels (q from nl - 1 down to no), then output labels */
    text_buf_printf(&c->body,
                    ";\n                for (q = %d; q >= %d; q--) {\n"
                    "                    for (j = 0; j < %d; j++) off[j] += n%d_st[q * %d + j];\n"
                    "                    if (++idx[q] < n%d_size[q]) break;\n"
                    "                    for (j = 0; j < %d; j++) off[j] -= n%d_st[q * %d + j] * idx[q];\n"
                    "                    idx[q] = 0;\n                }\n            }\n            y[o] = (%s)acc;\n"
                    "            for (q = %d; q >= 0; q--) {\n"
                    "                for (j = 0; j < %d; j++) off[j] += n%d_st[q * %d + j];\n"
                    "                if (++idx[q] < n%d_size[q]) break;\n"
                    "                for (j = 0; j < %d; j++) off[j] -= n%d_st[q * %d + j] * idx[q];\n"
                    "                idx[q] = 0;\n            }\n        }\n    }\n",
                    nl - 1, no, nops, k, nops, k, nops, k, nops, ct, no - 1, nops, k, nops, k, nops, k, nops);
    free(p);
    return RT_OK;
}

/* ---------------------------------------------------------------- DFT */

/* A constant scalar int input j (dft_length, axis) into *v; absent or empty leaves *v. */
static int seq_const_int(EcCtx *c, int k, const RtNode *n, int j, const char *what, int64_t *v) {
    const RtTensor *t = vin(c, n, j), *kt = kin(c, n, j);
    if (!t || rt_numel(t) == 0) return RT_OK;
    if (!kt || (kt->dtype != RT_I32 && kt->dtype != RT_I64) || rt_numel(kt) != 1)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s must be one constant int32 / int64 value", what);
    *v = rt_get_i64(kt, 0);
    return RT_OK;
}

/* DFT's line geometry (axis, dft_length, onesided, inverse as signal.c reads them), or an
 * error; *L the transform length. */
static int seq_dft_geom(EcCtx *c, int k, const RtNode *n, int *axis, int64_t *L, int *inv, int *onesided) {
    const RtTensor *x = vin(c, n, 0);
    int r = x->rank;
    int64_t ax = n->opset >= 20 ? -2 : rt_attr_int(n, "axis", 1);
    if (n->opset >= 20) RT_TRY(seq_const_int(c, k, n, 2, "axis", &ax));
    if (ax < -r || ax > r - 2 || (ax < 0 ? ax + r : ax) == r - 1)
        return ec_fail(c, k, RT_ERR, "axis %lld is out of range for rank %d", (long long)ax, r);
    *axis = (int)(ax < 0 ? ax + r : ax);
    *L = x->dims[*axis];
    RT_TRY(seq_const_int(c, k, n, 1, "dft_length", L));
    *inv = (int)rt_attr_int(n, "inverse", 0), *onesided = (int)rt_attr_int(n, "onesided", 0);
    if (*L < 1) return ec_fail(c, k, RT_ERR, "dft_length must be >= 1");
    if ((*inv != 0 && *inv != 1) || (*onesided != 0 && *onesided != 1) || (*onesided && x->dims[r - 1] == 2))
        return ec_fail(c, k, RT_ERR, "inverse and onesided must be 0 or 1, and onesided needs a real input");
    if (*onesided && *inv) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "onesided = 1 with inverse = 1 is not supported");
    return RT_OK;
}

/* n<k>_tw[2 L]: cos, sin of 2 pi j / L, computed here in double (as the runtime's table) and
 * written exactly, rounded to float for float32 models. The real type and the FFT helper. */
static int seq_twiddles_emit(EcCtx *c, int k, int64_t L, RtDtype t) {
    RT_TRY(seq_real_use(c, k, t));
    text_buf_printf(&c->decl, "static const wk_seq_real n%d_tw[%lld] = {", k, (long long)(2 * L));
    for (int64_t j = 0; j < L; j++) {
        char a[48], b[48];
        double ang = 2.0 * 3.14159265358979323846 * (double)j / (double)L;
        if (t == RT_F64) {
            snprintf(a, sizeof a, "%a", cos(ang));
            snprintf(b, sizeof b, "%a", sin(ang));
        } else {
            ec_float_lit(a, sizeof a, (float)cos(ang));
            ec_float_lit(b, sizeof b, (float)sin(ang));
        }
        text_buf_printf(&c->decl, "%s%s, %s%s", j % 4 == 0 ? "\n    " : "", a, b, j + 1 < L ? ", " : "");
    }
    text_buf_printf(&c->decl, "\n};\n");
    ec_tpl_use(c, "b1_seq_fft");
    return RT_OK;
}

static int e_dft(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    if (!x || (x->dtype != RT_F32 && x->dtype != RT_F64))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input must be float32 or float64 for emit-c");
    if (x->rank < 2 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
        return ec_fail(c, k, RT_ERR, "input must be [..., N, 1 or 2]");
    int axis = 0, inv = 0, onesided = 0;
    int64_t L = 1;
    RT_TRY(seq_dft_geom(c, k, n, &axis, &L, &inv, &onesided));
    int64_t bins = onesided ? L / 2 + 1 : L, outer = rt_shape_numel(axis, x->dims);
    int64_t inner = rt_shape_numel(x->rank - 1 - axis - 1, x->dims + axis + 1);
    if (rt_numel(y) != outer * bins * inner * 2) return ec_fail(c, k, RT_ERR, "output size differs from the plan's");
    if (L > INT32_MAX / 16 || rt_numel(x) > INT32_MAX || rt_numel(y) > INT32_MAX)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "sizes overflow emit-c's int32 indexing");
    RT_TRY(seq_twiddles_emit(c, k, L, x->dtype));
    ec_tpl_use(c, "k_seq_dft");
    char p0[96], py[96];
    text_buf_printf(
        &c->body,
        "    wk_seq_dft(%s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %d, n%d_tw, (wk_seq_real *)(A + %lld));\n",
        P(c, n, 0, p0), Y(c, n, py), (long long)outer, (long long)inner, (long long)x->dims[axis], (long long)L,
        (long long)bins, (long long)x->dims[x->rank - 1], inv, k, (long long)c->scratch_off[k]);
    return RT_OK;
}

/* STFT (signal, frame_step, window, frame_length): frame_step and frame_length constants
 * (they set the output's shape), the window a constant or an input. */
static int seq_stft_geom(EcCtx *c, int k, const RtNode *n, int64_t *step, int64_t *flen) {
    const RtTensor *x = vin(c, n, 0), *win = vin(c, n, 2);
    *step = 0, *flen = win ? (win->rank == 1 ? win->dims[0] : -2) : -1;
    if (*flen == -2) return ec_fail(c, k, RT_ERR, "input window must be 1-D");
    if (!vin(c, n, 1)) return ec_fail(c, k, RT_ERR, "input frame_step is required");
    RT_TRY(seq_const_int(c, k, n, 1, "frame_step", step));
    int64_t fl = *flen;
    RT_TRY(seq_const_int(c, k, n, 3, "frame_length", &fl));
    if (*flen >= 0 && fl != *flen) return ec_fail(c, k, RT_ERR, "frame_length differs from the window's length");
    *flen = fl;
    if (*step < 1 || *flen < 1 || *flen > x->dims[1])
        return ec_fail(c, k, RT_ERR, "frame_step must be >= 1 and the frame length in [1, signal_length]");
    return RT_OK;
}

static int e_stft(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *win = vin(c, n, 2), *y = yval(c, n);
    if (!x || (x->dtype != RT_F32 && x->dtype != RT_F64))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "signal must be float32 or float64 for emit-c");
    if (win) RT_TRY(need_dtype(c, k, win, x->dtype, "window"));
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return ec_fail(c, k, RT_ERR, "signal must be [batch, length, 1 or 2]");
    int64_t step, flen;
    RT_TRY(seq_stft_geom(c, k, n, &step, &flen));
    int onesided = (int)rt_attr_int(n, "onesided", 1);
    if ((onesided != 0 && onesided != 1) || (onesided && x->dims[2] == 2))
        return ec_fail(c, k, RT_ERR, "onesided must be 0 or 1, and 1 needs a real signal");
    int64_t frames = (x->dims[1] - flen) / step + 1, bins = onesided ? flen / 2 + 1 : flen;
    if (rt_numel(y) != x->dims[0] * frames * bins * 2)
        return ec_fail(c, k, RT_ERR, "output size differs from the plan's");
    if (flen > INT32_MAX / 16 || rt_numel(x) > INT32_MAX || rt_numel(y) > INT32_MAX)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "sizes overflow emit-c's int32 indexing");
    RT_TRY(seq_twiddles_emit(c, k, flen, x->dtype));
    ec_tpl_use(c, "k_seq_stft");
    char p0[96], p2[96], py[96];
    text_buf_printf(
        &c->body,
        "    wk_seq_stft(%s, %s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld, n%d_tw, (wk_seq_real *)(A + %lld));\n",
        P(c, n, 0, p0), P(c, n, 2, p2), Y(c, n, py), (long long)x->dims[0], (long long)x->dims[1],
        (long long)x->dims[2], (long long)step, (long long)flen, (long long)frames, (long long)bins, k,
        (long long)c->scratch_off[k]);
    return RT_OK;
}

/* ---------------------------------------------------------------- scratch and table */

int64_t ec_scratch_seq(const EcCtx *c, int k, const RtNode *n) {
    (void)k;
    int kind, G = seq_rec_gates(n->op, &kind);
    if (G && n->n_in > 1 && n->in[1] >= 0 && c->val[n->in[1]].rank == 3) {
        int64_t H = c->val[n->in[1]].dims[1] / G;
        return (int64_t)(c->val[n->in[0]].dtype == RT_F64 ? sizeof(double) : sizeof(float)) * (4 * H + 2 * G * H);
    }
    if ((n->op == RT_OP_CONV_INTEGER || n->op == RT_OP_QLINEAR_CONV || n->op == RT_OP_MS_QLINEAR_CONV) &&
        n->n_out > 0 && n->out[0] >= 0 && c->val[n->out[0]].rank >= 3) {
        /* one output channel's int32 sums: the output's spatial size */
        const RtTensor *y = &c->val[n->out[0]];
        int64_t planes = y->dims[0] * y->dims[rt_attr_int(n, "channels_last", 0) ? y->rank - 1 : 1];
        return planes > 0 ? (int64_t)sizeof(int32_t) * (rt_numel(y) / planes) : 0;
    }
    if (n->op == RT_OP_MATMUL_INTEGER || n->op == RT_OP_QLINEAR_MATMUL) {
        /* one row of Y's int32 sums: N, B's last dim (a 1-D B has N = 1) */
        int jb = n->op == RT_OP_QLINEAR_MATMUL ? 3 : 1;
        const RtTensor *b = jb < n->n_in && n->in[jb] >= 0 ? &c->val[n->in[jb]] : NULL;
        int64_t N = b && b->rank >= 2 ? b->dims[b->rank - 1] : 1;
        return (int64_t)sizeof(int32_t) * (N > 0 ? N : 1);
    }
    if (n->op == RT_OP_DYNAMIC_QUANTIZE_MATMUL && n->n_in > 0 && n->in[0] >= 0)
        return 16 + rt_numel(&c->val[n->in[0]]); /* scale, zero point, A's uint8 codes */
    if (n->op == RT_OP_DFT && n->n_in > 0 && n->in[0] >= 0 && c->val[n->in[0]].rank >= 2) {
        /* line, spectrum and butterfly temporaries: 6 L floats; L from dft_length when constant */
        const RtTensor *x = &c->val[n->in[0]];
        const RtTensor *lt = n->n_in > 1 && n->in[1] >= 0 ? c->g->values[n->in[1]].konst : NULL;
        int r = x->rank;
        int64_t ax = n->opset >= 20 ? -2 : rt_attr_int(n, "axis", 1);
        const RtTensor *at = n->opset >= 20 && n->n_in > 2 && n->in[2] >= 0 ? c->g->values[n->in[2]].konst : NULL;
        if (at && rt_numel(at) == 1) ax = rt_get_i64(at, 0);
        if (ax < 0) ax += r;
        int64_t L = ax >= 0 && ax < r ? x->dims[ax] : 1;
        if (lt && rt_numel(lt) == 1) L = rt_get_i64(lt, 0);
        return L > 0 && L < INT32_MAX / 16 ? (int64_t)rt_dtype_size(x->dtype) * 6 * L : 0;
    }
    if (n->op == RT_OP_STFT && n->n_in > 0 && n->in[0] >= 0 && n->n_out > 0 && n->out[0] >= 0) {
        /* 6 flen floats; flen = the output's bins back (two-sided) or the window's length */
        const RtTensor *y = &c->val[n->out[0]];
        const RtTensor *w = n->n_in > 2 && n->in[2] >= 0 ? &c->val[n->in[2]] : NULL;
        const RtTensor *lt = n->n_in > 3 && n->in[3] >= 0 ? c->g->values[n->in[3]].konst : NULL;
        int64_t flen = w && w->rank == 1         ? w->dims[0]
                       : lt && rt_numel(lt) == 1 ? rt_get_i64(lt, 0)
                       : y->rank == 4            ? 2 * y->dims[2]
                                                 : 0;
        return flen > 0 && flen < INT32_MAX / 16 ? (int64_t)rt_dtype_size(c->val[n->in[0]].dtype) * 6 * flen : 0;
    }
    return 0;
}

const EcOpEntry ec_ops_seq[] = {
    {RT_OP_RNN, e_rec},
    {RT_OP_GRU, e_rec},
    {RT_OP_LSTM, e_rec},
    {RT_OP_MATMUL_INTEGER, e_qmm},
    {RT_OP_QLINEAR_MATMUL, e_qmm},
    {RT_OP_CONV_INTEGER, e_conv_integer},
    {RT_OP_QLINEAR_CONV, e_conv_integer},
    {RT_OP_MS_QLINEAR_CONV, e_conv_integer},
    {RT_OP_DYNAMIC_QUANTIZE_LINEAR, e_dynamic_quantize_linear},
    {RT_OP_EINSUM, e_einsum},
    {RT_OP_MATMUL_INTEGER_TO_FLOAT, e_matmul_to_float},
    {RT_OP_DYNAMIC_QUANTIZE_MATMUL, e_matmul_to_float},
    {RT_OP_DFT, e_dft},
    {RT_OP_STFT, e_stft},
    {0, NULL},
};
