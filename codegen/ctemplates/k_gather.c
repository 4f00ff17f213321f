/* ---- Gather along one axis, any element type ----
 * x viewed as [outer, D, inner] (es bytes per element), n indices (int64 or int32; negative
 * ones count from the end): y[o, j, i] = x[o, idx[j], i]. Returns 1, with y incomplete, when
 * an index is outside [-D, D) (NAME_run then returns 1): never a read outside x. */
static int wk_gather(const unsigned char *x, const int64_t *idx64, const int32_t *idx32, int32_t n, unsigned char *y,
                     int32_t outer, int32_t D, int32_t inner, int32_t es) {
    int32_t o, j;
    const size_t row = (size_t)inner * es;
    for (j = 0; j < n; j++) {
        int64_t t = idx64 ? idx64[j] : idx32[j];
        if (t < 0) t += D;
        if (t < 0 || t >= D) return 1;
    }
    for (o = 0; o < outer; o++)
        for (j = 0; j < n; j++) {
            int64_t t = idx64 ? idx64[j] : idx32[j];
            if (t < 0) t += D;
            memcpy(y + ((size_t)o * n + j) * row, x + ((size_t)o * D + (size_t)t) * row, row);
        }
    return 0;
}
