/* ---- wafer kernel support: Python's a mod b in int64 (Mod with fmod = 0) ----
 * The remainder takes the divisor's sign; b = -1 gives 0 without the INT64_MIN / -1 trap.
 * b != 0: NAME_run checked the divisors before the loop. */
static int64_t wk_pymod(int64_t a, int64_t b) {
    int64_t r = b == -1 ? 0 : a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
