/* ---- RNN, GRU and LSTM (ONNX opsets 7-22), as the runtime's recurrent.c ----
 * Shapes (layout 0; layout 1 swaps the first two axes of X, Y and the states):
 *   X [S, N, I]  W [D, G*H, I]  R [D, G*H, H]  B [D, 2*G*H]  seq_lens [N]
 *   h0, c0 [D, N, H]  P [D, 3*H]  ->  Y [S, D, N, H], Yh, Yc [D, N, H]
 * G gates (RNN 1: i; GRU 3: z, r, h; LSTM 4: i, o, f, c). Each (direction d, batch row b)
 * runs alone over its len = seq_lens[b] steps (S without them), forward or, for
 * direction 1 and "reverse", backward, from h0 / c0 (zeros when NULL). Per step
 *   g = W x_t + Wb,  rh = R h + Rb, then
 *   RNN   h = f(g + rh)
 *   GRU   z, r = f(g + rh);  c = g(gh + r . (Rh h + Rbh)) with linear_before_reset, else
 *         g(gh + Rh (r . h) + Rbh);  h = (1 - z) . c + z . h
 *   LSTM  i = f(gi + Pi . C), f = f(gf + Pf . C) (1 - i with input_forget), C = f . C +
 *         i . g(gc), o = f(go + Po . C), h = o . h(C)
 * f, g, h per direction from p->act (b2_seq_act's numbering). Y rows past a row's length
 * are 0; Yh / Yc hold the state after its last step. NULL B, P, h0, c0 read as zeros; NULL
 * outputs are skipped. Everything is in wk_seq_real (b0_seq_real_*: float, or double for
 * float64 models); dot products sum in four fixed lanes. scratch: 4*H + 2*G*H reals (the
 * arena's). Returns 1, computing nothing, when a sequence length is outside
 * [0, S] (NAME_run then returns 1). */
typedef struct {
    int32_t kind, G;               /* 0 RNN, 1 GRU, 2 LSTM; gates */
    int32_t S, N, I, H, D;         /* steps, batch, input size, hidden size, directions */
    int32_t reverse_only, layout;  /* direction "reverse"; layout 1 = batch first */
    int32_t lbr, input_forget;     /* GRU linear_before_reset, LSTM coupled gates */
    float clip;                    /* -1 = no clip */
    int32_t act[2][3];             /* [direction][f, g, h] */
    double alpha[2][3], beta[2][3]; /* the ONNX defaults are exact in double (0.2, 0.01 ...) */
} wk_seq_rec;

/* Four running sums (as the runtime's recurrent_dot): one sum's add latency bounds the loop
 * otherwise (1.5x on the host for H = 64); the fixed split keeps results the same anywhere. */
static wk_seq_real wk_seq_dot(const wk_seq_real *a, const wk_seq_real *b, int32_t n) {
    wk_seq_real s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

/* Direction d over batch row bi for len steps. */
static void wk_seq_rec_row(const wk_seq_rec *p, int32_t d, int32_t bi, int32_t len, const wk_seq_real *x,
                           const wk_seq_real *w, const wk_seq_real *r, const wk_seq_real *b, const wk_seq_real *h0,
                           const wk_seq_real *c0, const wk_seq_real *pp, wk_seq_real *y, wk_seq_real *yh,
                           wk_seq_real *yc, wk_seq_real *s) {
    const int32_t H = p->H, I = p->I, GH = p->G * H;
    const wk_seq_real *W = w + (size_t)d * GH * I, *R = r + (size_t)d * GH * H;
    const wk_seq_real *Wb = b ? b + (size_t)d * 2 * GH : NULL, *P = pp ? pp + (size_t)d * 3 * H : NULL;
    const int32_t *act = p->act[d];
    wk_seq_real al[3], be[3]; /* converted once per row, not per element (no double on an MCU) */
    wk_seq_real *h = s, *cs = s + H, *hn = s + 2 * H, *tmp = s + 3 * H, *g = s + 4 * H, *rh = g + GH;
    int32_t rev = p->reverse_only || d == 1, step, j;
    size_t s0 = (size_t)(p->layout ? bi * p->D + d : d * p->N + bi) * H;
    /* GRU without linear_before_reset multiplies Rh by r . h, known only after r */
    int32_t r_rows = p->kind == 1 && !p->lbr ? 2 * H : GH;
    for (j = 0; j < 3; j++) {
        al[j] = (wk_seq_real)p->alpha[d][j];
        be[j] = (wk_seq_real)p->beta[d][j];
    }
    for (j = 0; j < H; j++) {
        h[j] = h0 ? h0[s0 + j] : 0;
        cs[j] = c0 ? c0[s0 + j] : 0;
    }
    for (step = 0; step < len; step++) {
        int32_t t = rev ? len - 1 - step : step;
        const wk_seq_real *xt = x + (size_t)(p->layout ? bi * p->S + t : t * p->N + bi) * I;
        for (j = 0; j < GH; j++) g[j] = wk_seq_dot(W + (size_t)j * I, xt, I) + (Wb ? Wb[j] : 0);
        for (j = 0; j < r_rows; j++) rh[j] = wk_seq_dot(R + (size_t)j * H, h, H) + (Wb ? Wb[GH + j] : 0);
        if (p->kind == 0) {
            for (j = 0; j < H; j++) hn[j] = wk_seq_act(act[0], al[0], be[0], p->clip, g[j] + rh[j]);
        } else if (p->kind == 1) {
            wk_seq_real *z = g, *rg = g + H, *hh = g + 2 * H;
            for (j = 0; j < 2 * H; j++) g[j] = wk_seq_act(act[0], al[0], be[0], p->clip, g[j] + rh[j]);
            if (p->lbr) {
                for (j = 0; j < H; j++) hh[j] += rg[j] * rh[2 * H + j];
            } else {
                for (j = 0; j < H; j++) tmp[j] = rg[j] * h[j];
                for (j = 0; j < H; j++)
                    hh[j] += wk_seq_dot(R + (size_t)(2 * H + j) * H, tmp, H) + (Wb ? Wb[GH + 2 * H + j] : 0);
            }
            for (j = 0; j < H; j++) {
                wk_seq_real c = wk_seq_act(act[1], al[1], be[1], p->clip, hh[j]);
                hn[j] = (1 - z[j]) * c + z[j] * h[j];
            }
        } else {
            const wk_seq_real *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
            for (j = 0; j < GH; j++) g[j] += rh[j];
            for (j = 0; j < H; j++) {
                wk_seq_real i = wk_seq_act(act[0], al[0], be[0], p->clip, gi[j] + (P ? P[j] * cs[j] : 0));
                wk_seq_real f = p->input_forget
                                    ? 1 - i
                                    : wk_seq_act(act[0], al[0], be[0], p->clip, gf[j] + (P ? P[2 * H + j] * cs[j] : 0));
                wk_seq_real c = wk_seq_act(act[1], al[1], be[1], p->clip, gc[j]), o;
                cs[j] = f * cs[j] + i * c;
                o = wk_seq_act(act[0], al[0], be[0], p->clip, go[j] + (P ? P[H + j] * cs[j] : 0));
                hn[j] = o * wk_seq_act(act[2], al[2], be[2], p->clip, cs[j]);
            }
        }
        memcpy(h, hn, sizeof(wk_seq_real) * (size_t)H);
        if (y) memcpy(y + (size_t)(p->layout ? (bi * p->S + t) * p->D + d : (t * p->D + d) * p->N + bi) * H, h,
                      sizeof(wk_seq_real) * (size_t)H);
    }
    if (yh) memcpy(yh + s0, h, sizeof(wk_seq_real) * (size_t)H);
    if (yc) memcpy(yc + s0, cs, sizeof(wk_seq_real) * (size_t)H);
}

static int wk_seq_rec_run(const wk_seq_rec *p, const wk_seq_real *x, const wk_seq_real *w, const wk_seq_real *r,
                          const wk_seq_real *b, const int32_t *sl32, const int64_t *sl64, const wk_seq_real *h0,
                          const wk_seq_real *c0, const wk_seq_real *pp, wk_seq_real *y, wk_seq_real *yh,
                          wk_seq_real *yc, wk_seq_real *scratch) {
    int32_t d, bi;
    for (bi = 0; bi < p->N; bi++) {
        int64_t len = sl32 ? sl32[bi] : sl64 ? sl64[bi] : p->S;
        if (len < 0 || len > p->S) return 1;
    }
    if (y) memset(y, 0, sizeof(wk_seq_real) * (size_t)p->S * p->D * p->N * p->H);
    for (d = 0; d < p->D; d++)
        for (bi = 0; bi < p->N; bi++) {
            int32_t len = (int32_t)(sl32 ? sl32[bi] : sl64 ? sl64[bi] : p->S);
            wk_seq_rec_row(p, d, bi, len, x, w, r, b, h0, c0, pp, y, yh, yc, scratch);
        }
    return 0;
}
