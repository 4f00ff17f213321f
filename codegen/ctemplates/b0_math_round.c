/* ---- wafer kernel support: round(v) to the nearest integer, ties to even (ONNX Round), double ----
 * With libm, nearbyint (half to even under the default rounding mode). Without
 * (WK_NO_LIBM): |v| >= 2^52, infinities and NaN are integers already and come back
 * unchanged; below, t = trunc(v) by an in-range integer cast, the fraction v - t is exact,
 * and t moves by one as the op says. A zero result keeps v's sign, as libm's does. */
#if WK_NO_LIBM
static double wk_round(double v) {
    double t;
    int64_t i;
    if (!(v > -4503599627370496.0 && v < 4503599627370496.0) || v == 0) return v;
    i = (int64_t)v;
    t = (double)i;
    if (v - t > 0.5 || (v - t == 0.5 && (i & 1))) t += 1.0;
    else if (v - t < -0.5 || (v - t == -0.5 && (i & 1))) t -= 1.0;
    return t == 0 ? (v < 0 ? -0.0 : 0.0) : t;
}
#else
static double wk_round(double v) { return nearbyint(v); }
#endif
