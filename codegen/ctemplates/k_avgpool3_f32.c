/* ---- AveragePool in float over 1-D, 2-D or 3-D windows ----
 * The sum of the window's input taps in double over the divisor: the taps inside the input,
 * or with include_pad (count_include_pad) the taps inside the padded extent [-p0, in + p1)
 * (the runtime's rt_geom_avg_window); NaN for an empty window. */
static void wk_avgpool3_f32(const float *x, float *y, const wk_pool3 *g, int include_pad) {
    int32_t p, o[3], t0, t1, t2, a, lo[3], hi[3];
    const int32_t I0 = g->in[0], I1 = g->in[1], I2 = g->in[2];
    const int64_t pin = (int64_t)I0 * I1 * I2;
    for (p = 0; p < g->planes; p++) {
        const float *xp = x + p * pin;
        for (o[0] = 0; o[0] < g->out[0]; o[0]++)
            for (o[1] = 0; o[1] < g->out[1]; o[1]++)
                for (o[2] = 0; o[2] < g->out[2]; o[2]++) {
                    int64_t count = 1;
                    double sum = 0.0;
                    for (a = 0; a < 3; a++) {
                        int32_t l, h;
                        wk_pool3_taps(o[a], g->s[a], g->p0[a], g->d[a], g->k[a], g->in[a], &lo[a], &hi[a]);
                        l = lo[a], h = hi[a];
                        if (include_pad) wk_pool3_taps(o[a], g->s[a], 0, g->d[a], g->k[a], g->in[a] + g->p0[a] + g->p1[a], &l, &h);
                        count *= h > l ? h - l : 0;
                    }
                    for (t0 = lo[0]; t0 < hi[0]; t0++) {
                        int32_t i0 = o[0] * g->s[0] - g->p0[0] + t0 * g->d[0];
                        for (t1 = lo[1]; t1 < hi[1]; t1++) {
                            int32_t i1 = o[1] * g->s[1] - g->p0[1] + t1 * g->d[1];
                            for (t2 = lo[2]; t2 < hi[2]; t2++)
                                sum += xp[((int64_t)i0 * I1 + i1) * I2 + o[2] * g->s[2] - g->p0[2] + t2 * g->d[2]];
                        }
                    }
                    *y++ = count > 0 ? (float)(sum / (double)count) : (float)NAN;
                }
    }
}
