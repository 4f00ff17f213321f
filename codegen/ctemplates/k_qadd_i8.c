/* ---- QAdd int8 (TFLite's quantized Add), with numpy broadcasting ----
 * a' = apply((a - a_zp) 2^20, ra), b' = apply((b - b_zp) 2^20, rb) bring both to a common
 * scale with 20 spare bits; y = clamp(apply(a' + b', ry) + y_zp, lo, hi). The multipliers
 * (mult, shift pairs) and zero points are in q[11]: za, ram, ras, zb, rbm, rbs, rym, rys,
 * zy, lo, hi. Operands of the output's shape are read in order; otherwise each output
 * element finds its operands through wk_bcast (dims, sa, sb of rank entries). */
static int8_t wk_qadd_one(int32_t a, int32_t b, const int32_t *q) {
    int32_t sa = wk_requant_apply((a - q[0]) * (1 << 20), q[1], q[2]);
    int32_t sb = wk_requant_apply((b - q[3]) * (1 << 20), q[4], q[5]);
    return (int8_t)wk_requant_out(sa + sb, q[6], q[7], q[8], q[9], q[10]);
}

static void wk_qadd_i8(const int8_t *a, const int8_t *b, const int32_t *q, int8_t *y, int32_t count, int rank,
                       const int32_t *dims, const int32_t *sa, const int32_t *sb) {
    int32_t i, oa, ob;
    if (!dims) {
        for (i = 0; i < count; i++) y[i] = wk_qadd_one(a[i], b[i], q);
        return;
    }
    for (i = 0; i < count; i++) {
        wk_bcast(i, rank, dims, sa, sb, &oa, &ob);
        y[i] = wk_qadd_one(a[oa], b[ob], q);
    }
}
