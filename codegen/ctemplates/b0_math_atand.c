/* ---- wafer kernel support: atan(t) in double without libm (inverse trigonometry) ----
 * Only under WK_NO_LIBM. |t| > 1: pi/2 - atan(1/|t|); then above tan(pi/12) = 0.2679:
 * pi/6 + atan((t sqrt3 - 1) / (sqrt3 + t)), leaving |u| <= 0.2679 for the odd series
 * u - u^3/3 + ... - u^27/27 (truncation < 1e-17). Infinities give +-pi/2, NaN stays. */
#if WK_NO_LIBM
static double wk_atan_d(double t) {
    double a = t < 0 ? -t : t, base = 0.0, u, z, p;
    int i, inv = 0;
    if (t != t) return t;
    if (a > 1.0) a = 1.0 / a, inv = 1;
    if (a > 0.26794919243112270) {
        a = (a * 1.7320508075688772 - 1.0) / (1.7320508075688772 + a);
        base = 0.52359877559829887;
    }
    u = a;
    z = u * u;
    p = 0.0;
    for (i = 27; i >= 3; i -= 2) {
        p = (p + (((i - 1) / 2) % 2 ? -1.0 : 1.0) / (double)i) * z; /* Horner, from u^27 down */
    }
    a = base + u + u * p;
    if (inv) a = 1.5707963267948966 - a;
    return t < 0 ? -a : a;
}
#endif
