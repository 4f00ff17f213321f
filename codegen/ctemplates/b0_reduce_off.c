/* ---- wafer kernel support (reduce family): offset of the i-th index of a strided walk ----
 * i is a row-major index over dims[0..rank); the result is sum(coord[d] * strides[d]): the
 * input offset of output element i (kept axes) or of reduced step i (reduced axes). */
static int32_t wk_reduce_off(int32_t i, int32_t rank, const int32_t *dims, const int32_t *strides) {
    int32_t off = 0, d;
    for (d = rank - 1; d >= 0; d--) {
        off += (i % dims[d]) * strides[d];
        i /= dims[d];
    }
    return off;
}
