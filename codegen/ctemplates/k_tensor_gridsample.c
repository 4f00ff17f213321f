/* ---- GridSample, float32 / float64 (emit_ops_tensor.c; the runtime's ref/sampling.c) ----
 * X [N, C, sd[0..k)], grid [N, opts, k] (normalized coordinates in [-1, 1], the last
 * spatial axis first) -> Y [N, C, opts]. Per output point and axis the coordinate is
 * denormalized (align: (g + 1) / 2 (d - 1), else ((g + 1) d - 1) / 2), rounded half to even
 * for nearest (mode 1), and when outside [lo, hi] clamped (pad 1, border), reflected
 * (pad 2) or left (pad 0, zeros: every tap then reads 0). Taps floor(x) .. +1 (mode 0,
 * linear: 1 - f, f) or floor(x) - 1 .. +2 (mode 2, cubic, A = -0.75), their tensor product
 * over the axes, accumulated in double; a non-finite grid value gives NaN. X and Y are float
 * (xd 0) or double (xd 1), the grid float (gd 0) or double (gd 1). toff / twt:
 * scratch for the point's taps (ntap^k of them). floor and rint are the own ones under
 * WK_NO_LIBM (exact for |v| < 2^52). */
#if WK_NO_LIBM
static double wk_tensor_floor(double v) {
    double t;
    if (!(v > -4.5e15 && v < 4.5e15)) return v;
    t = (double)(int64_t)v;
    return t > v ? t - 1.0 : t;
}
#else
static double wk_tensor_floor(double v) { return floor(v); }
#endif

/* Round half to even. */
static double wk_tensor_rint(double v) {
    double f = wk_tensor_floor(v), r = v - f;
    if (r > 0.5) return f + 1.0;
    if (r < 0.5) return f;
    return wk_tensor_floor(f * 0.5) * 2.0 == f ? f : f + 1.0;
}

static double wk_tensor_reflect(double x, double lo, double hi) {
    double rng = hi - lo, dx, n, r;
    int even;
    if (rng <= 0) return lo;
    if (x < lo || x > hi) {
        dx = x < lo ? lo - x : x - hi;
        n = wk_tensor_floor(dx / rng);
        r = dx - n * rng;
        even = wk_tensor_floor(n * 0.5) * 2.0 == n;
        if (x < lo) return even ? lo + r : hi - r;
        return even ? hi - r : lo + r;
    }
    return x;
}

static int32_t wk_tensor_gs_tap(int32_t i, int32_t d, int pad, double lo, double hi) {
    int32_t r;
    if (i >= 0 && i < d) return i;
    if (pad == 0) return -1;
    if (pad == 1) return i < 0 ? 0 : d - 1;
    r = (int32_t)wk_tensor_reflect((double)i, lo, hi);
    return r < 0 ? 0 : r >= d ? d - 1 : r;
}

static void wk_tensor_gridsample(const void *x, int xd, const void *grid, int gd, void *y, int32_t N, int32_t C, int k,
                                 const int32_t *sd, int32_t opts, int mode, int pad, int align, int32_t *toff, double *twt) {
    const double A = -0.75;
    double lo[8], hi[8], w[8][4], gv, d, v, f, t, wt, acc, a, b, cc, dd;
    int32_t tap[8][4], plane = 1, corners = 1, bi, o, cn, rem, off, stride, ch, base;
    size_t gi, xi, yi;
    int i, j, ntap = mode == 0 ? 2 : mode == 2 ? 4 : 1, bad, nt;
    for (i = 0; i < k; i++) {
        plane *= sd[i];
        corners *= ntap;
        lo[i] = align ? 0.0 : -0.5;
        hi[i] = align ? (double)(sd[i] - 1) : (double)sd[i] - 0.5;
    }
    for (bi = 0; bi < N; bi++)
        for (o = 0; o < opts; o++) {
            bad = 0;
            for (i = 0; i < k; i++) {
                gi = ((size_t)bi * opts + o) * k + (k - 1 - i);
                gv = gd ? ((const double *)grid)[gi] : (double)((const float *)grid)[gi];
                if (gv - gv != 0) {
                    bad = 1;
                    break;
                }
                d = (double)sd[i];
                v = align ? (gv + 1) / 2 * (d - 1) : ((gv + 1) * d - 1) / 2;
                if (mode == 1) v = wk_tensor_rint(v);
                if (v < lo[i] || v > hi[i]) {
                    if (pad == 1) v = v < 0 ? 0 : v > d - 1 ? d - 1 : v;
                    else if (pad == 2) v = wk_tensor_reflect(v, lo[i], hi[i]);
                    else v = v < -4 ? -4 : v > d + 3 ? d + 3 : v;
                }
                if (mode == 1) {
                    tap[i][0] = wk_tensor_gs_tap((int32_t)v, sd[i], pad, lo[i], hi[i]);
                    w[i][0] = 1;
                    continue;
                }
                f = wk_tensor_floor(v);
                t = v - f;
                base = (int32_t)f - (mode == 2 ? 1 : 0);
                if (mode == 0) {
                    w[i][0] = 1 - t;
                    w[i][1] = t;
                } else {
                    a = t + 1, b = t, cc = 1 - t, dd = 2 - t;
                    w[i][0] = ((A * a - 5 * A) * a + 8 * A) * a - 4 * A;
                    w[i][1] = ((A + 2) * b - (A + 3)) * b * b + 1;
                    w[i][2] = ((A + 2) * cc - (A + 3)) * cc * cc + 1;
                    w[i][3] = ((A * dd - 5 * A) * dd + 8 * A) * dd - 4 * A;
                }
                for (j = 0; j < ntap; j++) tap[i][j] = wk_tensor_gs_tap(base + j, sd[i], pad, lo[i], hi[i]);
            }
            nt = 0;
            for (cn = 0; !bad && cn < corners; cn++) {
                rem = cn, off = 0, stride = 1;
                wt = 1;
                for (i = k - 1; i >= 0; i--) {
                    j = (int)(rem % ntap);
                    rem /= ntap;
                    if (tap[i][j] < 0) {
                        wt = 0;
                        break;
                    }
                    wt *= w[i][j];
                    off += tap[i][j] * stride;
                    stride *= sd[i];
                }
                if (wt == 0) continue;
                toff[nt] = off;
                twt[nt++] = wt;
            }
            for (ch = 0; ch < C; ch++) {
                acc = 0;
                xi = ((size_t)bi * C + ch) * plane;
                if (bad) acc = NAN;
                else if (xd)
                    for (j = 0; j < nt; j++) acc += twt[j] * ((const double *)x)[xi + toff[j]];
                else
                    for (j = 0; j < nt; j++) acc += twt[j] * ((const float *)x)[xi + toff[j]];
                yi = ((size_t)bi * C + ch) * opts + o;
                if (xd) ((double *)y)[yi] = acc;
                else ((float *)y)[yi] = (float)acc;
            }
        }
}
