/* ---- Transpose of any element type ----
 * y[i] = x[sum q[d] * st[d]] where q is i in the mixed radix of y's dims [rank] and st[d]
 * the input stride of the axis that becomes output axis d (perm); es bytes per element. */
static void wk_transpose(const unsigned char *x, unsigned char *y, int32_t count, int32_t es, int rank,
                         const int32_t *dims, const int32_t *st) {
    int32_t i, r, off, b;
    int d;
    for (i = 0; i < count; i++) {
        r = i;
        off = 0;
        for (d = rank - 1; d >= 0; d--) {
            off += (r % dims[d]) * st[d];
            r /= dims[d];
        }
        for (b = 0; b < es; b++) y[(size_t)i * es + b] = x[(size_t)off * es + b];
    }
}
