/* ---- Strided view copy of any element type (emit_ops_tensor.c: Slice, Expand, Tile,
 * DepthToSpace, SpaceToDepth) ----
 * y (contiguous, dims[rank], rank 1..16) = x read with element strides st[rank] (any sign,
 * 0 = broadcast), es bytes per element. The emitter drops 1-long axes and merges axes that
 * are contiguous in x too, so the last axis is as long as possible: it is one memcpy when
 * its stride is 1, else an element loop. An odometer over the other axes moves the offset
 * without divisions. */
static void wk_tensor_strided(const unsigned char *x, unsigned char *y, int rank, const int32_t *dims, const int32_t *st,
                              int32_t es) {
    int32_t idx[16], outer = 1, o, i, n = dims[rank - 1], s = st[rank - 1];
    int64_t off = 0;
    size_t run = (size_t)n * (size_t)es;
    int d;
    for (d = 0; d < rank - 1; d++) {
        outer *= dims[d];
        idx[d] = 0;
    }
    for (o = 0; o < outer; o++) {
        if (s == 1) memcpy(y, x + (ptrdiff_t)off * es, run);
        else
            for (i = 0; i < n; i++) memcpy(y + (size_t)i * es, x + (ptrdiff_t)(off + (int64_t)i * s) * es, (size_t)es);
        y += run;
        for (d = rank - 2; d >= 0; d--) {
            off += st[d];
            if (++idx[d] < dims[d]) break;
            off -= (int64_t)st[d] * dims[d];
            idx[d] = 0;
        }
    }
}
