/* ---- wafer kernel support: MaxPool over N-D windows, one instance per element type ----
 * WK_MAXPOOL3(NAME, T, EMPTY) defines NAME(x, y, idx, g, col_major): y = the max of each
 * window (padding never wins; ties and NaN keep the first tap in row-major window order, as
 * the runtime), EMPTY for a window with no input tap. idx (NULL = not wanted) gets the
 * winner's index in x flattened over (plane, spatial...): spatial row-major, or with
 * col_major the first spatial axis fastest (storage_order 1); -1 for an empty window. */
#define WK_MAXPOOL3(NAME, T, EMPTY)                                                                      \
    static void NAME(const T *x, T *y, int64_t *idx, const wk_pool3 *g, int col_major) {               \
        int32_t p, o0, o1, o2, t0, t1, t2, l0, h0, l1, h1, l2, h2;                                       \
        const int32_t I0 = g->in[0], I1 = g->in[1], I2 = g->in[2];                                       \
        const int64_t pin = (int64_t)I0 * I1 * I2;                                                       \
        for (p = 0; p < g->planes; p++) {                                                                \
            const T *xp = x + p * pin;                                                                   \
            for (o0 = 0; o0 < g->out[0]; o0++)                                                           \
                for (o1 = 0; o1 < g->out[1]; o1++)                                                       \
                    for (o2 = 0; o2 < g->out[2]; o2++) {                                                 \
                        T best = EMPTY;                                                                  \
                        int32_t b0 = -1, b1 = -1, b2 = -1;                                               \
                        wk_pool3_taps(o0, g->s[0], g->p0[0], g->d[0], g->k[0], I0, &l0, &h0);            \
                        wk_pool3_taps(o1, g->s[1], g->p0[1], g->d[1], g->k[1], I1, &l1, &h1);            \
                        wk_pool3_taps(o2, g->s[2], g->p0[2], g->d[2], g->k[2], I2, &l2, &h2);            \
                        for (t0 = l0; t0 < h0; t0++) {                                                   \
                            int32_t i0 = o0 * g->s[0] - g->p0[0] + t0 * g->d[0];                         \
                            for (t1 = l1; t1 < h1; t1++) {                                               \
                                int32_t i1 = o1 * g->s[1] - g->p0[1] + t1 * g->d[1];                     \
                                for (t2 = l2; t2 < h2; t2++) {                                           \
                                    int32_t i2 = o2 * g->s[2] - g->p0[2] + t2 * g->d[2];                 \
                                    T v = xp[((int64_t)i0 * I1 + i1) * I2 + i2];                         \
                                    if (v > best || b0 < 0) best = v, b0 = i0, b1 = i1, b2 = i2;         \
                                }                                                                        \
                            }                                                                            \
                        }                                                                                \
                        *y++ = best;                                                                     \
                        if (idx)                                                                         \
                            *idx++ = b0 < 0 ? -1                                                         \
                                   : p * pin + (col_major ? b0 + (int64_t)b1 * I0 + (int64_t)b2 * I0 * I1 \
                                                          : ((int64_t)b0 * I1 + b1) * I2 + b2);          \
                    }                                                                                    \
        }                                                                                                \
    }
