/* ---- QMul int8, with numpy broadcasting ----
 * y = clamp(apply((a - a_zp)(b - b_zp), a_scale b_scale / y_scale) + y_zp, lo, hi); q[7]:
 * za, zb, rym, rys, zy, lo, hi. Broadcasting as wk_qadd_i8 (dims NULL = same shapes). */
static void wk_qmul_i8(const int8_t *a, const int8_t *b, const int32_t *q, int8_t *y, int32_t count, int rank,
                       const int32_t *dims, const int32_t *sa, const int32_t *sb) {
    int32_t i, oa = 0, ob = 0;
    for (i = 0; i < count; i++) {
        if (dims) wk_bcast(i, rank, dims, sa, sb, &oa, &ob);
        else oa = ob = i;
        y[i] = (int8_t)wk_requant_out(((int32_t)a[oa] - q[0]) * ((int32_t)b[ob] - q[1]), q[2], q[3], q[4], q[5], q[6]);
    }
}
