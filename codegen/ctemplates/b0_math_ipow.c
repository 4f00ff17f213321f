/* ---- wafer kernel support: integer Pow in int64 ----
 * b^e by squaring, wrapping modulo 2^64 (through uint64, so no signed overflow); e < 0
 * gives the truncated real result: 1 for b = 1, +-1 for b = -1, else 0 (the runtime's). */
static int64_t wk_ipow(int64_t b, int64_t e) {
    uint64_t r = 1, x = (uint64_t)b;
    if (e < 0) return b == 1 ? 1 : b == -1 ? ((e & 1) ? -1 : 1) : 0;
    for (; e; e >>= 1, x *= x)
        if (e & 1) r *= x;
    return (int64_t)r;
}
