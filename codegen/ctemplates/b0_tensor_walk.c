/* ---- wafer kernel support: element offsets for the gather/scatter ops (emit_ops_tensor.c) ----
 * The offset in a tensor with strides xs[rank] of the element at flat position p of a
 * tensor with dims[rank], the coordinate along `axis` left out (axis = -1: none). */
static int32_t wk_tensor_walk(int32_t p, int rank, const int32_t *dims, const int32_t *xs, int axis) {
    int32_t off = 0;
    int d;
    for (d = rank - 1; d >= 0; d--) {
        if (d != axis) off += (p % dims[d]) * xs[d];
        p /= dims[d];
    }
    return off;
}
