/* ---- wafer kernel support: the window geometry of the N-D pools ----
 * Planes [planes, in0, in1, in2] -> [planes, out0, out1, out2]: 1-D and 2-D pools have
 * leading axes of size 1 (kernel 1, stride 1, no pads), as the runtime normalizes them.
 * Input position of output o and tap t on an axis: o * s - p0 + t * d. */
typedef struct {
    int32_t planes;                 /* N * C */
    int32_t in[3], out[3], k[3];    /* sizes per axis, kernel taps */
    int32_t s[3], d[3], p0[3], p1[3]; /* strides, dilations, leading and trailing pads */
} wk_pool3;

/* The taps [*lo, *hi) of output o whose input position lies in [0, in) (the runtime's
 * rt_geom_taps). */
static void wk_pool3_taps(int32_t o, int32_t s, int32_t p, int32_t d, int32_t k, int32_t in, int32_t *lo,
                          int32_t *hi) {
    int32_t start = o * s - p, l, h;
    l = start < 0 ? (-start + d - 1) / d : 0;
    h = in - start <= 0 ? 0 : (in - start + d - 1) / d;
    *lo = l;
    *hi = h < k ? h : k;
}
