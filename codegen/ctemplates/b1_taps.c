/* ---- wafer kernel support: the in-range outputs of one kernel tap ----
 * The outputs o in [*lo, *hi) of an axis (out outputs, stride s, leading pad p, dilation d,
 * input size in) whose tap t reads inside the input: 0 <= o * s - p + t * d < in. The
 * convolutions loop over these only, so no tap tests a bound per output. */
static void wk_tap_range(int32_t t, int32_t s, int32_t p, int32_t d, int32_t in, int32_t out, int32_t *lo,
                         int32_t *hi) {
    int32_t off = t * d - p, l, h;
    l = off >= 0 ? 0 : (-off + s - 1) / s;
    h = in - off <= 0 ? 0 : (in - off + s - 1) / s;
    *lo = l < out ? l : out;
    *hi = h < out ? h : out;
    if (*hi < *lo) *hi = *lo;
}
