/* ---- TopK (emit_ops_tensor.c) ----
 * x viewed as [outer, n, inner] (es bytes per element): each slice's n positions are sorted
 * by before(x, a, b) (1 when element offset a goes first; the emitter writes it for the
 * type: largest or smallest first, NaN counting as the largest) with a stable bottom-up
 * merge sort, so equal values keep the lower index first, as the runtime's merge sort does;
 * the first k go to y [outer, k, inner] and their positions to yi (int64), either may be
 * NULL. idx and tmp: scratch of n int32 each. */
static void wk_tensor_topk(const unsigned char *x, unsigned char *y, int64_t *yi, int32_t outer, int32_t n, int32_t inner,
                           int32_t k, int32_t es, int (*before)(const unsigned char *, int32_t, int32_t), int32_t *idx,
                           int32_t *tmp) {
    int32_t o, i, j, w, lo, mid, hi, a, b, t, base, obase;
    for (o = 0; o < outer; o++)
        for (i = 0; i < inner; i++) {
            base = o * n * inner + i;
            obase = o * k * inner + i;
            for (j = 0; j < n; j++) idx[j] = j;
            for (w = 1; w < n; w *= 2) {
                for (lo = 0; lo < n; lo += 2 * w) {
                    mid = lo + w < n ? lo + w : n;
                    hi = lo + 2 * w < n ? lo + 2 * w : n;
                    a = lo, b = mid, t = lo;
                    while (a < mid && b < hi)
                        tmp[t++] = before(x, base + idx[b] * inner, base + idx[a] * inner) ? idx[b++] : idx[a++];
                    while (a < mid) tmp[t++] = idx[a++];
                    while (b < hi) tmp[t++] = idx[b++];
                }
                for (j = 0; j < n; j++) idx[j] = tmp[j];
            }
            for (j = 0; j < k; j++) {
                if (y) memcpy(y + (size_t)(obase + j * inner) * es, x + (size_t)(base + idx[j] * inner) * es, (size_t)es);
                if (yi) yi[obase + j * inner] = idx[j];
            }
        }
}
