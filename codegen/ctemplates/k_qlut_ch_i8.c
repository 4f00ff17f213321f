/* ---- QLut int8, one table per channel ----
 * y[o, c, j] = table[c][(uint8) x[o, c, j]]: x, y [outer, channels, inner] (the channel axis
 * of the QLut in the middle), table [channels][256]: a conv output quantized per channel
 * (one scale per channel) reads its own table per channel. */
static void wk_qlut_ch_i8(const int8_t *x, const int8_t *table, int8_t *y, int32_t outer, int32_t channels,
                          int32_t inner) {
    int32_t o, c, j;
    for (o = 0; o < outer; o++)
        for (c = 0; c < channels; c++) {
            const int8_t *t = table + (int64_t)c * 256;
            int64_t at = ((int64_t)o * channels + c) * inner;
            for (j = 0; j < inner; j++) y[at + j] = t[(uint8_t)x[at + j]];
        }
}
