/* ---- wafer kernel support (reduce family): a double to a quantized value ----
 * clamp(round_half_even(v) + zp, lo, hi), NaN -> zp, as the runtime's rt_round_sat, without
 * libm: t = trunc(v), the fraction v - t is exact in double, ties go to the even neighbour.
 * v is first clamped to +-2^20, beyond which every 8- or 16-bit result saturates. */
static int32_t wk_reduce_qround(double v, int32_t zp, int32_t lo, int32_t hi) {
    double f;
    int32_t t, r;
    if (v != v) v = 0.0;
    if (v > 1048576.0) v = 1048576.0;
    if (v < -1048576.0) v = -1048576.0;
    t = (int32_t)v;
    f = v - (double)t;
    if (f > 0.5 || (f == 0.5 && (t & 1))) t++;
    else if (f < -0.5 || (f == -0.5 && (t & 1))) t--;
    r = t + zp;
    return r < lo ? lo : r > hi ? hi : r;
}
