/* ---- MatMulInteger and QLinearMatMul (int8 / uint8 operands), as the runtime's quant.c ----
 * numpy matmul of A [..., M, K] and B [..., K, N] with broadcast batches: output matrix i
 * reads A's matrix amap[i] and B's bmap[i]. acc = sum_k (A - za) (B - zb) in int32, wrapping
 * modulo 2^32 as the spec allows. A zero point or scale is one value (its map NULL) or one
 * per row of A / column of B / row of Y: element map[r] of the parameter for row (matrix *
 * M + m) or column (matrix * N + n). Without y_scale (sy NULL, MatMulInteger) y is the int32
 * acc; with it (QLinearMatMul) y = clamp(round_half_even(float(acc) * (sa * sb / sy)) + zy)
 * in int8 or uint8, the multiplier in float as the spec and onnxruntime compute it (the
 * rounding is b0_quant's, the division by 1 exact).
 * Order: one row of Y at a time into acc [N] (arena scratch): acc[n] += (A[k] - za) B[k, n]
 * along B's contiguous rows, then acc[n] -= zb[n] * sum_k (A[k] - za), the same sum modulo
 * 2^32 (the product distributes over the wrapping additions). */
typedef struct {
    int32_t batches, M, N, K;
    int32_t a_s, b_s, y_s;               /* 1 = int8, 0 = uint8 */
    const int32_t *amap, *bmap;          /* [batches] */
    const int32_t *zam, *zbm;            /* zero points: [na * M] rows of A, [nb * N] columns of B */
    const int32_t *sam, *sbm, *sym, *zym; /* scales of A, B, Y and Y's zero point (rows of Y [batches * M]) */
} wk_seq_qmm_t;

static void wk_seq_qmm(const wk_seq_qmm_t *p, const void *a, const void *za, const void *b, const void *zb,
                       const float *sa, const float *sb, const float *sy, const void *zy, void *y, int32_t *acc) {
    const int32_t M = p->M, N = p->N, K = p->K;
    const unsigned char *bb = (const unsigned char *)b;
    const int32_t sgn = p->b_s ? 128 : 0; /* int8: u - ((u & 128) << 1) */
    uint32_t *ua = (uint32_t *)acc;
    int32_t i, m, j, k;
    for (i = 0; i < p->batches; i++)
        for (m = 0; m < M; m++) {
            const int32_t ra = p->amap[i] * M + m, ry = i * M + m, a0 = ra * K;
            const int32_t az = wk_seq_q8(za, p->zam ? p->zam[ra] : 0, p->a_s);
            uint32_t asum = 0;
            for (j = 0; j < N; j++) ua[j] = 0;
            for (k = 0; k < K; k++) {
                const int32_t av = wk_seq_q8(a, a0 + k, p->a_s) - az;
                const unsigned char *br = bb + ((size_t)p->bmap[i] * K + k) * N;
                asum += (uint32_t)av;
                if (av == 0) continue;
                for (j = 0; j < N; j++) {
                    const int32_t u = br[j];
                    ua[j] += (uint32_t)(av * (u - ((u & sgn) << 1)));
                }
            }
            for (j = 0; j < N; j++) {
                const int32_t cb = p->bmap[i] * N + j;
                const int32_t bz = wk_seq_q8(zb, p->zbm ? p->zbm[cb] : 0, p->b_s);
                const uint32_t sum = ua[j] - (uint32_t)bz * asum;
                if (!sy) {
                    ((int32_t *)y)[ry * N + j] = (int32_t)sum;
                } else {
                    float mult =
                        sa[p->sam ? p->sam[ra] : 0] * sb[p->sbm ? p->sbm[cb] : 0] / sy[p->sym ? p->sym[ry] : 0];
                    int32_t z = wk_seq_q8(zy, p->zym ? p->zym[ry] : 0, p->y_s);
                    int32_t v =
                        wk_quant_f32((float)(int32_t)sum * mult, 1.0f, z, p->y_s ? -128 : 0, p->y_s ? 127 : 255);
                    ((unsigned char *)y)[ry * N + j] = (unsigned char)(v & 255);
                }
            }
        }
}
