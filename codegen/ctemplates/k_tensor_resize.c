/* ---- Resize / Upsample (emit_ops_tensor.c) ----
 * Separable, as the runtime's reference: along axis a, output index o reads taps[a] input
 * offsets off[at[a] + o * taps[a] + t] (index clamped to the edge, times x's stride) with
 * weights w[same]; oob[ob[a] + o] = 1 where tf_crop_and_resize falls outside the crop (the
 * element is then ext). All tables are made at emit time. nearest (kind 0) copies the one
 * tap's element (es bytes, any type); linear and cubic sum the tensor product of the
 * weights over the taps in double (x float when kind 1, double when kind 2). */
static double wk_tensor_resize_sum(const void *x, int kind, int a, int rank, const int32_t *o, int32_t off,
                                   const int32_t *taps, const int32_t *at, const int32_t *offs, const double *w) {
    double acc = 0.0, wt;
    int32_t t, j;
    if (a == rank) return kind == 1 ? (double)((const float *)x)[off] : ((const double *)x)[off];
    for (t = 0; t < taps[a]; t++) {
        j = at[a] + o[a] * taps[a] + t;
        wt = w[j];
        if (wt != 0.0) acc += wt * wk_tensor_resize_sum(x, kind, a + 1, rank, o, off + offs[j], taps, at, offs, w);
    }
    return acc;
}

static void wk_tensor_resize(const void *x, void *y, int32_t count, int32_t es, int kind, int rank,
                             const int32_t *dims, const int32_t *taps, const int32_t *at, const int32_t *offs,
                             const double *w, const int32_t *ob, const unsigned char *oob, const unsigned char *ext) {
    int32_t i, off, o[8];
    int a, out;
    for (a = 0; a < rank; a++) o[a] = 0;
    for (i = 0; i < count; i++) {
        out = 0;
        for (a = 0; a < rank && oob; a++) out |= oob[ob[a] + o[a]];
        if (out) {
            memcpy((unsigned char *)y + (size_t)i * es, ext, (size_t)es);
        } else if (kind == 0) {
            off = 0;
            for (a = 0; a < rank; a++) off += offs[at[a] + o[a]];
            memcpy((unsigned char *)y + (size_t)i * es, (const unsigned char *)x + (size_t)off * es, (size_t)es);
        } else if (kind == 1) {
            ((float *)y)[i] = (float)wk_tensor_resize_sum(x, kind, 0, rank, o, 0, taps, at, offs, w);
        } else {
            ((double *)y)[i] = wk_tensor_resize_sum(x, kind, 0, rank, o, 0, taps, at, offs, w);
        }
        for (a = rank - 1; a >= 0 && ++o[a] == dims[a]; a--) o[a] = 0;
    }
}
