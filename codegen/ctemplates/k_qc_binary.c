/* ---- com.microsoft QLinearAdd / QLinearMul (int8 or uint8), as the runtime's qlinear_binary.c ----
 * c = clamp(round_half_even(op(sa (a - za), sb (b - zb)) / sc) + zc), op + or *, in float32;
 * a and b broadcast to c through the wk_bcast tables (dims NULL: same shapes). s_* 1 = int8. */
static void wk_qc_binary(const void *a, const float *sa, const void *za, const void *b, const float *sb, const void *zb,
                         const float *sc, const void *zc, void *c, int32_t n, int mul, int32_t s_in, int32_t s_out,
                         int rank, const int32_t *dims, const int32_t *sta, const int32_t *stb) {
    int32_t i, oa = 0, ob = 0;
    const int32_t zav = wk_seq_q8(za, 0, s_in), zbv = wk_seq_q8(zb, 0, s_in), zcv = wk_seq_q8(zc, 0, s_out);
    for (i = 0; i < n; i++) {
        float va, vb;
        int32_t v;
        if (dims) wk_bcast(i, rank, dims, sta, stb, &oa, &ob);
        else oa = ob = i;
        va = sa[0] * (float)(wk_seq_q8(a, oa, s_in) - zav);
        vb = sb[0] * (float)(wk_seq_q8(b, ob, s_in) - zbv);
        v = wk_quant_f32(mul ? va * vb : va + vb, sc[0], zcv, s_out ? -128 : 0, s_out ? 127 : 255);
        ((unsigned char *)c)[i] = (unsigned char)(v & 255);
    }
}
