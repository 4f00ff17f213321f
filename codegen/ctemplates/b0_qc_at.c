/* ---- wafer kernel support: an element of a [N, C, S] or channels-last [N, S, C] tensor ----
 * Element (b, ch, q) of x [N, C, spatial S] at (b * C + ch) * S + q, or with cl (channels
 * last, [N, S, C]) at (b * S + q) * C + ch. */
static int32_t wk_qc_at(int32_t b, int32_t ch, int32_t q, int32_t C, int64_t S, int cl) {
    return (int32_t)(cl ? ((int64_t)b * S + q) * C + ch : ((int64_t)b * C + ch) * S + q);
}
