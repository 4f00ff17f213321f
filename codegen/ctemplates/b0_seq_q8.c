/* ---- wafer kernel support: one int8 or uint8 element as int32 ----
 * Element i of p read as int8 (s = 1) or uint8 (s = 0) without an implementation-defined
 * conversion; a NULL p (an absent zero point) reads 0. */
static int32_t wk_seq_q8(const void *p, int32_t i, int32_t s) {
    const unsigned char *u = (const unsigned char *)p;
    if (!u) return 0;
    return s ? (int32_t)u[i] - ((int32_t)(u[i] & 128u) << 1) : (int32_t)u[i];
}
