/* ---- wafer kernel support: low-bit weights read through their DequantizeLinear ----
 * W as int8 codes q with scales sc and zero points zp laid out as DequantizeLinear's: W viewed
 * as [outer, D, inner] around the quantization axis, element e = (o * D + a) * inner + i takes
 * scale o * so + (a / block) * sa + i * si; W[e] = float(q[e] - zp) * sc (the op's formula). */
typedef struct {
    const int8_t *q;          /* codes, W's shape */
    const float *sc;          /* scales */
    const int8_t *zp;         /* zero points, or NULL */
    int32_t D, inner, block;  /* W = [outer, D, inner]; axis elements per scale */
    int32_t so, sa, si;       /* scale strides */
} wk_dq;

static float wk_dqw(const wk_dq *d, int32_t e) {
    int32_t o = e / (d->D * d->inner), a = (e / d->inner) % d->D, i = e % d->inner;
    int32_t s = o * d->so + (a / d->block) * d->sa + i * d->si;
    return (float)((int32_t)d->q[e] - (d->zp ? d->zp[s] : 0)) * d->sc[s];
}
