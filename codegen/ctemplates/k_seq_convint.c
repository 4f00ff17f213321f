/* ---- ConvInteger and QLinearConv: int8 / uint8 convolution, 1-D to 3-D, as the runtime's quant.c ----
 * x [N, C, in...], w [M, C / G, k...] -> y [N, M, out...], every spatial extent normalized to
 * 3-D (D, H, W; unused leading axes 1). y = sum over the group's channels and the taps of
 * (x - xz) (w - wz[m]), taps reading padding contribute 0 (padding holds the zero point);
 * int32 sums wrap modulo 2^32 as the spec allows. Input position of output o, tap t on an
 * axis: o * s - p + t * d. wz: one value (wz_per_m 0) or one per output channel.
 * ConvInteger (ys NULL): y is the int32 sum. QLinearConv: the sum starts at bias[m] (NULL =
 * 0) and y = clamp(round_half_even(float(acc) * (xs * ws[m] / ys)) + yz) in int8 (y_s 1) or
 * uint8, the multiplier in float as the spec and onnxruntime (b0_quant's rounding).
 * cl (onnxruntime's channels_last): x is [N, in..., C] and y [N, out..., M], w unchanged.
 * Order: one output channel at a time into acc [out positions] (arena scratch), tap by tap,
 * each tap's weight times a run of inputs along the output row (the in-range outputs
 * [lo, hi) of the row computed once per tap, no per-element bounds checks). */
typedef struct {
    int32_t N, C, M, G;
    int32_t in[3], out[3], k[3], s[3], p[3], d[3];
    int32_t x_s, w_s, y_s;     /* 1 = int8, 0 = uint8 */
    int32_t cl;                /* 1 = channels last */
} wk_seq_cgeom;

/* Outputs o in [*lo, *hi) whose input o * s + off lies in [0, in). */
static void wk_seq_span(int32_t off, int32_t s, int32_t in, int32_t out, int32_t *lo, int32_t *hi) {
    int32_t l = off >= 0 ? 0 : (-off + s - 1) / s, h = in - off <= 0 ? 0 : (in - off + s - 1) / s;
    *lo = l < out ? l : out;
    *hi = h < out ? h : out;
    if (*hi < *lo) *hi = *lo;
}

static void wk_seq_convint(const wk_seq_cgeom *g, const void *x, const void *xz, const void *w, const void *wz,
                           int32_t wz_per_m, const int32_t *bias, const float *xs, const float *ws, int32_t ws_per_m,
                           const float *ys, const void *yz, void *y, int32_t *acc) {
    const int32_t Cg = g->C / g->G, Mg = g->M / g->G, K = g->k[0] * g->k[1] * g->k[2];
    const int32_t Pin = g->in[0] * g->in[1] * g->in[2], P = g->out[0] * g->out[1] * g->out[2];
    const int32_t xzv = wk_seq_q8(xz, 0, g->x_s);
    /* strides of a channel and of a spatial position in x and y */
    const int32_t xcs = g->cl ? 1 : Pin, xps = g->cl ? g->C : 1, ycs = g->cl ? 1 : P, yps = g->cl ? g->M : 1;
    const unsigned char *xb = (const unsigned char *)x;
    const int32_t sgn = g->x_s ? 128 : 0; /* int8: u - ((u & 128) << 1) */
    int32_t n, m, o, c, kd, kh, kw, od, oh, ow;
    for (n = 0; n < g->N; n++)
        for (m = 0; m < g->M; m++) {
            const int32_t grp = m / Mg, wzv = wk_seq_q8(wz, wz_per_m ? m : 0, g->w_s);
            const size_t y0 = (size_t)n * g->M * P + (size_t)m * ycs;
            for (o = 0; o < P; o++) acc[o] = bias ? bias[m] : 0;
            for (c = 0; c < Cg; c++) {
                const size_t x0 = (size_t)n * g->C * Pin + (size_t)(grp * Cg + c) * xcs;
                const int32_t w0 = (m * Cg + c) * K;
                for (kd = 0; kd < g->k[0]; kd++)
                    for (kh = 0; kh < g->k[1]; kh++)
                        for (kw = 0; kw < g->k[2]; kw++) {
                            const int32_t wv = wk_seq_q8(w, w0 + (kd * g->k[1] + kh) * g->k[2] + kw, g->w_s) - wzv;
                            const int32_t off = kw * g->d[2] - g->p[2];
                            int32_t lo, hi;
                            if (wv == 0) continue;
                            wk_seq_span(off, g->s[2], g->in[2], g->out[2], &lo, &hi);
                            for (od = 0; od < g->out[0]; od++) {
                                const int32_t id = od * g->s[0] - g->p[0] + kd * g->d[0];
                                if (id < 0 || id >= g->in[0]) continue;
                                for (oh = 0; oh < g->out[1]; oh++) {
                                    const int32_t ih = oh * g->s[1] - g->p[1] + kh * g->d[1];
                                    uint32_t *a = (uint32_t *)acc + (od * g->out[1] + oh) * g->out[2];
                                    size_t rb;
                                    if (ih < 0 || ih >= g->in[1]) continue;
                                    rb = x0 + (size_t)(id * g->in[1] + ih) * g->in[2] * xps; /* the input row */
                                    for (ow = lo; ow < hi; ow++) {
                                        const int32_t u = xb[rb + (size_t)(ow * g->s[2] + off) * xps];
                                        a[ow] += (uint32_t)(wv * (u - ((u & sgn) << 1) - xzv));
                                    }
                                }
                            }
                        }
            }
            if (!ys) {
                for (o = 0; o < P; o++) ((int32_t *)y)[y0 + (size_t)o * yps] = acc[o];
            } else {
                const float mult = xs[0] * ws[ws_per_m ? m : 0] / ys[0];
                const int32_t yzv = wk_seq_q8(yz, 0, g->y_s), lo = g->y_s ? -128 : 0, hi = g->y_s ? 127 : 255;
                for (o = 0; o < P; o++) {
                    int32_t v = wk_quant_f32((float)acc[o] * mult, 1.0f, yzv, lo, hi);
                    ((unsigned char *)y)[y0 + (size_t)o * yps] = (unsigned char)(v & 255);
                }
            }
        }
}
