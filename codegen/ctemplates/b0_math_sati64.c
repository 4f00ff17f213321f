/* ---- wafer kernel support: a double into [lo, hi] as an integer ----
 * Truncated toward zero, saturated at the bounds, NaN -> 0 (the runtime's Pow of an integer
 * base by a float exponent): never an out-of-range conversion, which C leaves undefined. */
static int64_t wk_sat_i64(double d, int64_t lo, int64_t hi) {
    if (d != d) return 0;
    if (d <= (double)lo) return lo;
    if (d >= (double)hi) return hi;
    return (int64_t)d;
}
