/* ---- wafer kernel support (reduce family): a double result into integer bits ----
 * NaN -> 0, saturated at the int64 range (the uint64 range when is_u64), as the runtime's
 * store_i_from_f; the caller's cast then truncates to the element type. */
static uint64_t wk_reduce_f2i(double d, int is_u64) {
    if (d != d) return 0;
    if (is_u64 && d >= 9.2e18) return d >= 1.8e19 ? ~(uint64_t)0 : (uint64_t)d;
    if (d >= 9.2e18) return (uint64_t)0x7fffffffffffffffu;
    if (d <= -9.2e18) return (uint64_t)1 << 63;
    return (uint64_t)(int64_t)d;
}
