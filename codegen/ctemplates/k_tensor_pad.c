/* ---- Pad of any element type (emit_ops_tensor.c) ----
 * y[i] for i in the mixed radix of y's dims [rank]: along axis d, output index q reads input
 * index maps[map_at[d] + q] (the mode's mapping, made at emit time), or -1 = the pad value;
 * the input offset is sum of those indices times st[d] (x's strides). es bytes per element,
 * fill = one element of the pad value. */
static void wk_tensor_pad(const unsigned char *x, unsigned char *y, int32_t count, int32_t es, int rank,
                          const int32_t *dims, const int32_t *st, const int32_t *map_at, const int32_t *maps,
                          const unsigned char *fill) {
    int32_t i, r, off, s;
    int d;
    for (i = 0; i < count; i++) {
        r = i;
        off = 0;
        for (d = rank - 1; d >= 0 && off >= 0; d--) {
            s = maps[map_at[d] + r % dims[d]];
            r /= dims[d];
            off = s < 0 ? -1 : off + s * st[d];
        }
        memcpy(y + (size_t)i * es, off < 0 ? fill : x + (size_t)off * es, (size_t)es);
    }
}
