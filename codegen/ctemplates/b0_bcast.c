/* ---- wafer kernel support: numpy broadcasting of two operands ----
 * Output element i, written in the mixed radix of the output dims [rank], sits at offset
 * sum q[d] * sa[d] in a and sum q[d] * sb[d] in b, the strides 0 along broadcast axes. */
static void wk_bcast(int32_t i, int rank, const int32_t *dims, const int32_t *sa, const int32_t *sb, int32_t *oa,
                     int32_t *ob) {
    int d;
    *oa = 0;
    *ob = 0;
    for (d = rank - 1; d >= 0; d--) {
        int32_t q = i % dims[d];
        i /= dims[d];
        *oa += q * sa[d];
        *ob += q * sb[d];
    }
}
