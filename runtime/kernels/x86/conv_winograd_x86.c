/*
 * conv_winograd_x86.c — float32 3x3 stride-1 convs (one group, pads 0 or 1) by Winograd's
 * minimal filtering F(2x2, 3x3) (Lavin & Gray 2015): 16 multiplies per 2x2 output tile and
 * input channel instead of the direct conv's 36.
 *
 * With 4x4 input tiles d (overlapping by 2, stepping 2), the 3x3 filter g and
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *     G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *     A^T = [1 1 1 0; 0 1 -1 -1]
 * a 2x2 output tile is Y = A^T [ sum_c (G g_mc G^T) .* (B^T d_c B) ] A. The element-wise
 * product summed over c is, per transform point xi (16 of them), a matrix product
 *     Mx[xi][t, m] = sum_c V[xi][c, t] * U[xi][c, m]
 * over all tiles t (of every image) and output channels m. The steps:
 *   U  [16][C][Mp]  = G g G^T per (m, c), Mp = M rounded up to 16 (zero columns); made once
 *                     per node and kept in its state (cx_winograd_u_floats / _make), or per call
 *   Xp [N][Hp][Wp][Cp] the input channels last (Cp = C rounded up to 16), with its padding
 *                     and the partial last tiles' rows/columns as zeros (Hp = 2*tiles_h + 2),
 *                     so every tile reads 16 in-range points, each a vector of 16 channels
 *   V  [16][T][Cp]  = B^T d B, per tile and 16 channels at a time
 *   Mx [16][T][Mp]    register tiles of up to 6 tiles x 64 channels, the sum over c in
 *                     order c = 0, 1, ... (FMA)
 *   Y               = A^T Mx A + bias, activation in registers (lanes = 16 channels), stored
 *                     channels last (outputs past the plane skipped), then transposed 16x16 in
 *                     registers into y[n][m][oy][ox] (lanes past M not stored)
 * A big batch runs in groups of images (WG_GROUP_FLOATS of scratch per group).
 * Threads: the transforms of the input run on the calling thread (cheap); the products and
 * the output transform (when worth it: WG_PAR_MIN) are split over blocks of 64 output
 * channels (32 or 16 when that gives each thread a block; all blocks need the same V). Each
 * output's sum runs in the same order whatever the split or grouping, so results are
 * bit-identical for any number of threads. The result differs from the direct conv by
 * rounding only (the transforms are exact in real arithmetic).
 * Measured (digits_cnn, 1 thread): c2 32 -> 64 on 8x8 13.8 -> 8.7 us, c3 64 -> 64 on 4x4
 * 7.1 -> 4.0 us; the products run near the FMA peak, the two transforms take ~1/3.
 */
#include <string.h>

#include "../../rt_threads.h"
#include "conv_x86.h"
#include "transpose16.h"

/* Most floats of one scratch array (the padded input, V, U): far below int64_t overflow. */
#define WG_MAX_FLOATS ((int64_t)1 << 28)

/* Multiply-adds of the products below which one thread does the whole conv (as the GEMM's
 * SG_PAR_MIN): digits' 32 -> 64 on 8x8 (0.5 M) at 2 threads took 22 or 35 us against 20 us
 * on one, the second thread's wake-up and the caches' traffic costing more than it saves. */
#define WG_PAR_MIN ((int64_t)1 << 21)

/* Scratch floats per group of images (1 MiB): V, Mx and the outputs of digits' convs
 * (<= 64 K floats per image) for a few images at once. */
#define WG_GROUP_FLOATS ((int64_t)1 << 18)

static int64_t wg_up16(int64_t v) { return (v + 15) / 16 * 16; }

int cx_winograd_fits(const CxConv *cv) {
    const RtConvGeom *g = &cv->g;
    if (cv->group != 1 || g->nsp != 2 || g->k[1] != 3 || g->k[2] != 3) return 0;
    for (int a = 1; a < 3; a++)
        if (g->stride[a] != 1 || g->dil[a] != 1 || g->pad0[a] < 0 || g->pad0[a] > 1 || g->pad1[a] < 0 ||
            g->pad1[a] > 1)
            return 0;
    /* Where it measured faster than im2col + GEMM (one image, pad 1, 1 thread, medians of 7,
     * on a machine shared with other benchmarks): 0.6x for digits' 32 -> 64 on 8x8 and 64 ->
     * 64 on 4x4, 0.35-0.6x for 16..128 channels on 4x4 .. 16x16; slower with fewer than 16
     * channels on either side (1.0-1.9x: the register tiles run mostly empty), with 256 x 256
     * channels on planes up to 8x8 (1.7-3.8x: U, 16 points x 256 KiB, comes from memory
     * for few tiles), and on 32x32 planes (1.0-1.5x: V and Mx of 256 tiles, 16 points each,
     * spill out of L2 between the transforms and the products). */
    if (cv->C < 16 || cv->M < 16 || cv->C * wg_up16(cv->M) > 128 * 128 || cv->Pout > 16 * 16) return 0;
    const int64_t th = (g->out[1] + 1) / 2, tw = (g->out[2] + 1) / 2;
    const int64_t Cp = wg_up16(cv->C), xp = cv->N * Cp * (2 * th + 2) * (2 * tw + 2);
    return xp < WG_MAX_FLOATS && 16 * cv->N * th * tw * Cp < WG_MAX_FLOATS && 16 * Cp * wg_up16(cv->M) < WG_MAX_FLOATS;
}

int64_t cx_winograd_u_floats(const CxConv *cv) { return 16 * cv->C * wg_up16(cv->M); }

/* U[xi][c][m] = (G g_mc G^T)[xi], in double then rounded once; zeros for m >= M. */
void cx_winograd_u_make(const CxConv *cv, float *u) {
    const int64_t C = cv->C, M = cv->M, Mp = wg_up16(M);
    memset(u, 0, sizeof(float) * (size_t)cx_winograd_u_floats(cv));
    for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < C; c++) {
            const float *g = cv->w + (m * C + c) * 9;
            double gg[4][3], r[4][4];
            for (int j = 0; j < 3; j++) { /* G g: rows of the 4x3 */
                gg[0][j] = g[j];
                gg[1][j] = 0.5 * ((double)g[j] + g[3 + j] + g[6 + j]);
                gg[2][j] = 0.5 * ((double)g[j] - g[3 + j] + g[6 + j]);
                gg[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) { /* (G g) G^T */
                r[i][0] = gg[i][0];
                r[i][1] = 0.5 * (gg[i][0] + gg[i][1] + gg[i][2]);
                r[i][2] = 0.5 * (gg[i][0] - gg[i][1] + gg[i][2]);
                r[i][3] = gg[i][2];
            }
            for (int xi = 0; xi < 16; xi++) u[(xi * C + c) * Mp + m] = (float)r[xi / 4][xi % 4];
        }
}

#if defined(__x86_64__) && defined(__GNUC__)

typedef struct {
    const CxConv *cv;
    const float *u;   /* [16][C][Mp] */
    const float *v;   /* [16][T][Cp] */
    float *mx;        /* [16][T][Mp] */
    float *ob;        /* [Mp / 16][N * Ho * Wo][16]: outputs, channels last, before the transpose */
    int64_t T, Cp, Mp, th, tw;
    int64_t bw;       /* channels per block of work: 64, or 32 / 16 to give 2 threads work */
    int clip;
} WgJob;

static __mmask16 wg_mask(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

/* Input: the zero-padded images channels last, Xp[n][hp][wp][Cp], then V = B^T d B for each
 * tile and 16 channels at a time (the 16 points of a tile are plain vector loads). */
CX_T512 static void wg_input(const CxConv *cv, const float *x, float *xp, float *v, int64_t th, int64_t tw,
                             int64_t Cp) {
    const int64_t H = cv->g.in[1], W = cv->g.in[2], pt = cv->g.pad0[1], pl = cv->g.pad0[2];
    const int64_t Hp = 2 * th + 2, Wp = 2 * tw + 2, C = cv->C, T = cv->N * th * tw;
    memset(xp, 0, sizeof(float) * (size_t)(cv->N * Hp * Wp * Cp));
    /* 16 channels x 16 columns of a row at a time, transposed in registers; rows and columns
     * past Hp, Wp (pad 0, odd sizes) are never read */
    const int64_t Wn = W < Wp - pl ? W : Wp - pl;
    for (int64_t n = 0; n < cv->N; n++)
        for (int64_t c0 = 0; c0 < C; c0 += 16) {
            const int64_t nc = C - c0 < 16 ? C - c0 : 16;
            for (int64_t h = 0; h < H && h + pt < Hp; h++)
                for (int64_t w0 = 0; w0 < Wn; w0 += 16) {
                    const int64_t nw = Wn - w0 < 16 ? Wn - w0 : 16;
                    const __mmask16 wm = wg_mask(nw);
                    const float *xr = x + ((n * C + c0) * H + h) * W + w0;
                    __m512 r[16];
                    for (int k = 0; k < 16; k++)
                        r[k] = k < nc ? _mm512_maskz_loadu_ps(wm, xr + k * H * W) : _mm512_setzero_ps();
                    rt_tr16_ps(r);
                    float *o = xp + ((n * Hp + h + pt) * Wp + pl + w0) * Cp + c0;
                    for (int k = 0; k < nw; k++) _mm512_store_ps(o + k * Cp, r[k]);
                }
        }
    const int64_t per = th * tw, XS = T * Cp; /* floats from one transform point to the next */
    for (int64_t t = 0; t < T; t++) {
        const int64_t n = t / per, r = t % per;
        const float *base = xp + ((n * Hp + r / tw * 2) * Wp + r % tw * 2) * Cp;
        for (int64_t c = 0; c < Cp; c += 16) {
            __m512 d[4][4], q[4][4];
            for (int i = 0; i < 4; i++)
                for (int k = 0; k < 4; k++) d[i][k] = _mm512_load_ps(base + (i * Wp + k) * Cp + c);
            for (int k = 0; k < 4; k++) { /* B^T d */
                q[0][k] = _mm512_sub_ps(d[0][k], d[2][k]);
                q[1][k] = _mm512_add_ps(d[1][k], d[2][k]);
                q[2][k] = _mm512_sub_ps(d[2][k], d[1][k]);
                q[3][k] = _mm512_sub_ps(d[1][k], d[3][k]);
            }
            for (int i = 0; i < 4; i++) { /* (B^T d) B */
                float *o = v + (int64_t)(i * 4) * XS + t * Cp + c;
                _mm512_store_ps(o, _mm512_sub_ps(q[i][0], q[i][2]));
                _mm512_store_ps(o + XS, _mm512_add_ps(q[i][1], q[i][2]));
                _mm512_store_ps(o + 2 * XS, _mm512_sub_ps(q[i][2], q[i][1]));
                _mm512_store_ps(o + 3 * XS, _mm512_sub_ps(q[i][1], q[i][3]));
            }
        }
    }
}

/* Mx[t0 .. t0+TB, m0 .. m0+16*MV] of transform point xi: TB x MV accumulators, sum over c
 * in order. */
#define WG_TILE(TB, MV)                                                                                        \
    CX_T512 static void wg_tile_##TB##_##MV(const WgJob *j, int64_t xi, int64_t t0, int64_t m0) {             \
        const int64_t C = j->cv->C, Mp = j->Mp, Cp = j->Cp;                                                    \
        const float *u = j->u + xi * C * Mp + m0, *v = j->v + (xi * j->T + t0) * Cp;                           \
        __m512 acc[TB][MV];                                                                                    \
        _Pragma("GCC unroll 8") for (int t = 0; t < TB; t++)                                                  \
            _Pragma("GCC unroll 4") for (int q = 0; q < MV; q++) acc[t][q] = _mm512_setzero_ps();             \
        for (int64_t c = 0; c < C; c++) {                                                                      \
            __m512 w[MV];                                                                                      \
            _Pragma("GCC unroll 4") for (int q = 0; q < MV; q++) w[q] = _mm512_load_ps(u + c * Mp + 16 * q);  \
            _Pragma("GCC unroll 8") for (int t = 0; t < TB; t++) {                                            \
                __m512 b = _mm512_set1_ps(v[t * Cp + c]);                                                     \
                _Pragma("GCC unroll 4") for (int q = 0; q < MV; q++) acc[t][q] =                              \
                    _mm512_fmadd_ps(b, w[q], acc[t][q]);                                                      \
            }                                                                                                  \
        }                                                                                                      \
        float *o = j->mx + (xi * j->T + t0) * Mp + m0;                                                         \
        _Pragma("GCC unroll 8") for (int t = 0; t < TB; t++)                                                  \
            _Pragma("GCC unroll 4") for (int q = 0; q < MV; q++) _mm512_store_ps(o + t * Mp + 16 * q, acc[t][q]); \
    }
#define WG_TILES(TB) WG_TILE(TB, 1) WG_TILE(TB, 2) WG_TILE(TB, 3) WG_TILE(TB, 4)
WG_TILES(1)
WG_TILES(2)
WG_TILES(3)
WG_TILES(4)
WG_TILES(5)
WG_TILES(6)
typedef void (*WgTileFn)(const WgJob *, int64_t, int64_t, int64_t);
#define WG_ROW(TB) {wg_tile_##TB##_1, wg_tile_##TB##_2, wg_tile_##TB##_3, wg_tile_##TB##_4}
static const WgTileFn wg_tiles[6][4] = {WG_ROW(1), WG_ROW(2), WG_ROW(3), WG_ROW(4), WG_ROW(5), WG_ROW(6)};

/* Y = A^T Mx A + bias, act, for tiles of every image and channels [m0, m1): per 16
 * channels, each output point's vector of channels into ob [N*Ho*Wo][16], then 16 points at
 * a time transposed into the channels' rows of y. */
CX_T512 static void wg_output(const WgJob *j, int64_t m0, int64_t m1) {
    const CxConv *cv = j->cv;
    const int64_t Ho = cv->g.out[1], Wo = cv->g.out[2], Mp = j->Mp, per = j->th * j->tw, P = cv->Pout;
    const int64_t XS = j->T * Mp; /* floats from one transform point to the next */
    const CxClip cl = cx_clip_make(&cv->act);
    float *ob = j->ob + m0 * cv->N * P;
    for (int64_t m = m0; m < m1; m += 16) {
        const __m512 bias = cv->b ? _mm512_maskz_loadu_ps(wg_mask(cv->M - m), cv->b + m) : _mm512_setzero_ps();
        for (int64_t t = 0; t < j->T; t++) {
            const int64_t n = t / per, r = t % per, oy = r / j->tw * 2, ox = r % j->tw * 2;
            const float *s = j->mx + t * Mp + m;
            __m512 a[4][4];
            for (int xi = 0; xi < 16; xi++) a[xi / 4][xi % 4] = _mm512_load_ps(s + xi * XS);
            __m512 q[2][4];
            for (int k = 0; k < 4; k++) { /* A^T Mx */
                q[0][k] = _mm512_add_ps(_mm512_add_ps(a[0][k], a[1][k]), a[2][k]);
                q[1][k] = _mm512_sub_ps(_mm512_sub_ps(a[1][k], a[2][k]), a[3][k]);
            }
            float *o = ob + (n * P + oy * Wo + ox) * 16;
            for (int i = 0; i < 2; i++) { /* (A^T Mx) A */
                if (oy + i >= Ho) break;
                __m512 y0 = _mm512_add_ps(_mm512_add_ps(q[i][0], q[i][1]), q[i][2]);
                __m512 y1 = _mm512_sub_ps(_mm512_sub_ps(q[i][1], q[i][2]), q[i][3]);
                _mm512_store_ps(o + i * Wo * 16, cx_act_apply(j->clip, cl, &cv->act, _mm512_add_ps(y0, bias)));
                if (ox + 1 < Wo)
                    _mm512_store_ps(o + (i * Wo + 1) * 16,
                                    cx_act_apply(j->clip, cl, &cv->act, _mm512_add_ps(y1, bias)));
            }
        }
        const int64_t lanes = cv->M - m < 16 ? cv->M - m : 16;
        for (int64_t n = 0; n < cv->N; n++)
            for (int64_t p0 = 0; p0 < P; p0 += 16) {
                const int64_t np = P - p0 < 16 ? P - p0 : 16;
                __m512 r[16];
                for (int k = 0; k < 16; k++)
                    r[k] = k < np ? _mm512_load_ps(ob + (n * P + p0 + k) * 16) : _mm512_setzero_ps();
                rt_tr16_ps(r);
                const __mmask16 pm = wg_mask(np);
                float *y = cv->y + (n * cv->M + m) * P + p0;
                for (int l = 0; l < lanes; l++) _mm512_mask_storeu_ps(y + l * P, pm, r[l]);
            }
        ob += 16 * cv->N * P;
        if (cv->act.kind == RT_ACT_SIGMOID)
            for (int64_t n = 0; n < cv->N; n++)
                for (int64_t mc = m; mc < m + lanes; mc++)
                    rt_act_span(&cv->act, cv->y + (n * cv->M + mc) * P, P, NULL);
    }
}

/* Blocks of bw output channels [begin, end): the 16 products, then the output transform. */
CX_T512 static void wg_block(void *arg, int64_t begin, int64_t end) {
    const WgJob *j = arg;
    for (int64_t b = begin; b < end; b++) {
        const int64_t m0 = b * j->bw, m1 = m0 + j->bw < j->Mp ? m0 + j->bw : j->Mp, mv = (m1 - m0) / 16;
        for (int64_t xi = 0; xi < 16; xi++)
            for (int64_t t0 = 0; t0 < j->T; t0 += 6) {
                int64_t tb = j->T - t0 < 6 ? j->T - t0 : 6;
                wg_tiles[tb - 1][mv - 1](j, xi, t0, m0);
            }
        wg_output(j, m0, m1);
    }
}

/* Images [0, cv->N) of cv with the transformed weights u: scratch s as cx_winograd_f32 lays
 * it out for cv->N images. */
CX_T512 static void wg_images(RtKernelCtx *c, const CxConv *cv, const float *u, float *s) {
    const int64_t th = (cv->g.out[1] + 1) / 2, tw = (cv->g.out[2] + 1) / 2;
    const int64_t T = cv->N * th * tw, Cp = wg_up16(cv->C), Mp = wg_up16(cv->M);
    const int64_t nxp = cv->N * Cp * (2 * th + 2) * (2 * tw + 2), nv = 16 * T * Cp, nmx = 16 * T * Mp;
    const int64_t ov = wg_up16(nxp), omx = ov + nv, oob = omx + wg_up16(nmx);
    wg_input(cv, cv->x, s, s + ov, th, tw, Cp);
    /* The block width changes the register tiles only, never a sum's order: any width gives
     * the same bits, so it may follow the thread count. */
    const int threads = 16 * T * Mp * cv->C >= WG_PAR_MIN ? rt_pool_threads(c->pool) : 1;
    int64_t bw = 64;
    while (bw > 16 && (Mp + bw - 1) / bw < threads) bw /= 2;
    WgJob j = {cv, u, s + ov, s + omx, s + oob, T, Cp, Mp, th, tw, bw, cx_act_is_clip(&cv->act)};
    if (threads > 1) rt_parallel_for(c->pool, (Mp + bw - 1) / bw, 1, wg_block, &j);
    else wg_block(&j, 0, (Mp + bw - 1) / bw);
}

/* Scratch floats of wg_images for n images. */
static int64_t wg_scratch_floats(const CxConv *cv, int64_t n) {
    const int64_t th = (cv->g.out[1] + 1) / 2, tw = (cv->g.out[2] + 1) / 2, T = n * th * tw;
    const int64_t Cp = wg_up16(cv->C), Mp = wg_up16(cv->M);
    return wg_up16(n * Cp * (2 * th + 2) * (2 * tw + 2)) + 16 * T * Cp + wg_up16(16 * T * Mp) + Mp * n * cv->Pout;
}

int cx_winograd_f32(RtKernelCtx *c, const CxConv *cv) {
    /* images in groups whose scratch stays within WG_GROUP_FLOATS (at least one image): a
     * big batch neither needs its whole V and Mx at once nor runs them out of cache */
    int64_t nb = cv->N;
    while (nb > 1 && wg_scratch_floats(cv, nb) > WG_GROUP_FLOATS) nb = (nb + 1) / 2;
    const int64_t ns = wg_scratch_floats(cv, nb), nu = cv->wu ? 0 : cx_winograd_u_floats(cv);
    float *s = rt_scratch(c, sizeof(float) * (size_t)(ns + nu));
    if (!s) return RT_ERR_NOMEM;
    const float *u = cv->wu;
    if (!u) {
        cx_winograd_u_make(cv, s + ns);
        u = s + ns;
    }
    for (int64_t n0 = 0; n0 < cv->N; n0 += nb) {
        CxConv g = *cv;
        g.N = cv->N - n0 < nb ? cv->N - n0 : nb;
        g.x = cv->x + n0 * cv->C * cv->Pin;
        g.y = cv->y + n0 * cv->M * cv->Pout;
        wg_images(c, &g, u, s);
    }
    rt_scratch_free(c, s);
    return RT_OK;
}

#else /* not x86-64 GCC/Clang: never selected (cx_cpu_ok() is 0) */

int cx_winograd_f32(RtKernelCtx *c, const CxConv *cv) {
    (void)c, (void)cv;
    return RT_ERR_UNSUPPORTED;
}

#endif
