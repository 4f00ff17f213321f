/*
 * conv_winograd_x86.c — float32 3x3 stride-1 convs (one group, any dilation, pads up to the
 * kernel's extent) by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2015): 16
 * multiplies per 2x2 output tile and input channel instead of the direct conv's 36.
 *
 * With 4x4 input tiles d (overlapping by 2, stepping 2), the 3x3 filter g and
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *     G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *     A^T = [1 1 1 0; 0 1 -1 -1]
 * a 2x2 output tile is Y = A^T [ sum_c (G g_mc G^T) .* (B^T d_c B) ] A. The element-wise
 * product summed over c is, per transform point xi (16 of them), a matrix product
 *     Mx[xi][t, m] = sum_c V[xi][c, t] * U[xi][c, m]
 * over tiles t and output channels m. A dilation d spreads a tile's points and outputs d
 * apart (the same algebra on the input subsampled by d): tile row ty starts at output row
 * ty / d * 2d + ty % d, so d tile rows cover 2d output rows (d = 1: row 2 ty). The steps:
 *   U  [16][C][Mp]  = G g G^T per (m, c), Mp = M rounded up to 16 (zero columns); made once
 *                     per node and kept in its state (cx_winograd_u_floats / _make), or per call
 *   Xp [N][Hp][Wp][Cp] the input channels last (Cp = C rounded up to 16), with its padding
 *                     and the partial last tiles' rows/columns as zeros (Hp = 2*tiles_h + 2d),
 *                     so every tile reads 16 in-range points, each a vector of 16 channels
 * then per band of tile rows (WG_BAND_FLOATS: all of a small plane, or a few images; one or
 * a few tile rows of a large one, so V and Mx stay in L2 through the three steps):
 *   V  [16][T][Cp]  = B^T d B, per tile and 16 channels at a time
 *   Mx [16][T][Mp]    register tiles of up to 6 tiles x 64 channels, the sum over c in
 *                     order c = 0, 1, ... (FMA)
 *   Y               = A^T Mx A + bias, activation in registers (lanes = 16 channels), stored
 *                     channels last per run of output rows (outputs past the plane skipped),
 *                     then transposed 16x16 in registers into y[n][m][oy][ox] (lanes past M
 *                     not stored)
 * A big batch runs in groups of images (WG_GROUP_FLOATS of scratch per group).
 * Threads (when worth it: WG_PAR_MIN): bands over the threads, each with its own scratch,
 * when there are at least 2 per thread; else the bands in turn, each band's input transform
 * on the calling thread and its products and output transform split over blocks of 64
 * output channels (32 or 16 when that gives each thread a block; all blocks need the same
 * V). Each output's sum runs in the same order whatever the split, band or grouping, so
 * results are bit-identical for any number of threads. The result differs from the direct
 * conv by rounding only (the transforms are exact in real arithmetic).
 * Measured (1 thread): digits_cnn's c2 32 -> 64 on 8x8 13.8 -> 8.7 us, c3 64 -> 64 on 4x4
 * 7.1 -> 4.0 us; M-LSD tiny's 64 -> 64 on 80x80 (dilation 1 or 5) and 128 -> 128 on 40x40
 * ~2.4-2.6 ms against im2col's 5.5 (best of 200); the products run near the FMA peak, the
 * transforms take ~1/4.
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

/* Floats of V and Mx for one band of tile rows (512 KiB, half of Zen 4's L2, next to U's
 * 64..1024 KiB read per transform point): they stay in L2 from the input transform through
 * the products to the output transform. */
#define WG_BAND_FLOATS ((int64_t)1 << 17)

static int64_t wg_up16(int64_t v) { return (v + 15) / 16 * 16; }

int cx_winograd_fits(const CxConv *cv) {
    const RtConvGeom *g = &cv->g;
    if (cv->group != 1 || g->nsp != 2 || g->k[1] != 3 || g->k[2] != 3) return 0;
    for (int a = 1; a < 3; a++)
        if (g->stride[a] != 1 || g->dil[a] < 1 || g->pad0[a] < 0 || g->pad0[a] > 2 * g->dil[a] || g->pad1[a] < 0 ||
            g->pad1[a] > 2 * g->dil[a])
            return 0;
    /* Where it measured faster than im2col + GEMM (one image, pad 1, 1 thread, medians of 7,
     * on a machine shared with other benchmarks): 0.6x for digits' 32 -> 64 on 8x8 and 64 ->
     * 64 on 4x4, 0.35-0.6x for 16..128 channels on 4x4 .. 16x16; slower with fewer than 16
     * channels on either side (1.0-1.9x: the register tiles run mostly empty), and with 256 x
     * 256 channels on planes up to 8x8 (1.7-3.8x: U, 16 points x 256 KiB, comes from memory
     * for few tiles). Larger planes run in bands (WG_BAND_FLOATS; best of 31, 18x18 .. 112x112):
     * 0.3-0.8x with 48..128 channels on each side (M-LSD's 64 -> 64 on 80x80 2.4-2.6 ms
     * against 5.5), 0.8-1.4x with 16..32 on one side, where the transforms' ~C + M additions
     * per tile and point weigh against its C * M multiply-adds: they take the bands when
     * C * M / (C + M) >= 24 (48 x 48, 32 x 96). */
    if (cv->C < 16 || cv->M < 16 || cv->C * wg_up16(cv->M) > 128 * 128) return 0;
    if (cv->Pout > 16 * 16 && cv->C * cv->M < 24 * (cv->C + cv->M)) return 0;
    const int64_t dh = g->dil[1], dw = g->dil[2];
    const int64_t th = (g->out[1] + 2 * dh - 1) / (2 * dh) * dh, tw = (g->out[2] + 2 * dw - 1) / (2 * dw) * dw;
    const int64_t Cp = wg_up16(cv->C), Mp = wg_up16(cv->M), xp = cv->N * Cp * (2 * th + 2 * dh) * (2 * tw + 2 * dw);
    return xp < WG_MAX_FLOATS && 16 * tw * (Cp + Mp) < WG_MAX_FLOATS && 16 * Cp * Mp < WG_MAX_FLOATS;
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

/* Tile row ty's (or column's) first output: with dilation d a tile's 2x2 outputs lie d apart,
 * so d consecutive tile rows interleave over 2d output rows (d = 1: row 2 * ty). */
static int64_t wg_origin(int64_t ty, int64_t d) { return ty / d * 2 * d + ty % d; }

/* What every band of a conv shares. */
typedef struct {
    const CxConv *cv;
    const float *u;   /* [16][C][Mp] */
    float *xp;        /* [N][Hp][Wp][Cp]: the padded input, channels last */
    int64_t Cp, Mp;   /* C, M rounded up to 16 */
    int64_t th, tw;   /* tile rows and columns per image */
    int64_t Hp, Wp;   /* padded input rows, columns: 2 * th + 2 * dh, 2 * tw + 2 * dw */
    int64_t dh, dw;   /* dilations */
    int64_t R;        /* tile rows per band (wg_band_rows, at most the images' N * th) */
    int64_t obf;      /* floats of one 16-channel block's output rows (ob) in a band */
    int clip;
} WgPlan;

/* A band: the tiles of global tile rows [g0, g1) (row g is image g / th's tile row g % th),
 * T = (g1 - g0) * tw of them, and its scratch. */
typedef struct {
    const WgPlan *p;
    int64_t g0, g1, T;
    float *v;         /* [16][T][Cp] */
    float *mx;        /* [16][T][Mp] */
    float *ob;        /* [Mp / 16][obf]: outputs, channels last, before the transpose */
    int64_t bw;       /* channels per block of work: 64, or 32 / 16 to give 2 threads work */
} WgBand;

static __mmask16 wg_mask(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

/* The zero-padded images channels last, Xp[n][hp][wp][Cp]: 16 channels x 16 columns of a row
 * at a time, transposed in registers; rows and columns past Hp, Wp (odd sizes) are never read. */
CX_T512 static void wg_pad(const WgPlan *p) {
    const CxConv *cv = p->cv;
    const int64_t H = cv->g.in[1], W = cv->g.in[2], pt = cv->g.pad0[1], pl = cv->g.pad0[2];
    const int64_t Hp = p->Hp, Wp = p->Wp, C = cv->C, Cp = p->Cp;
    float *xp = p->xp;
    memset(xp, 0, sizeof(float) * (size_t)(cv->N * Hp * Wp * Cp));
    const int64_t Wn = W < Wp - pl ? W : Wp - pl;
    for (int64_t n = 0; n < cv->N; n++)
        for (int64_t c0 = 0; c0 < C; c0 += 16) {
            const int64_t nc = C - c0 < 16 ? C - c0 : 16;
            for (int64_t h = 0; h < H && h + pt < Hp; h++)
                for (int64_t w0 = 0; w0 < Wn; w0 += 16) {
                    const int64_t nw = Wn - w0 < 16 ? Wn - w0 : 16;
                    const __mmask16 wm = wg_mask(nw);
                    const float *xr = cv->x + ((n * C + c0) * H + h) * W + w0;
                    __m512 r[16];
                    for (int k = 0; k < 16; k++)
                        r[k] = k < nc ? _mm512_maskz_loadu_ps(wm, xr + k * H * W) : _mm512_setzero_ps();
                    rt_tr16_ps(r);
                    float *o = xp + ((n * Hp + h + pt) * Wp + pl + w0) * Cp + c0;
                    for (int k = 0; k < nw; k++) _mm512_store_ps(o + k * Cp, r[k]);
                }
        }
}

/* V = B^T d B for each tile of the band, 16 channels at a time (the 16 points of a tile,
 * dh rows and dw columns apart in Xp, are plain vector loads). */
CX_T512 static void wg_input(const WgBand *b) {
    const WgPlan *p = b->p;
    const int64_t Cp = p->Cp, XS = b->T * Cp; /* floats from one transform point to the next */
    const int64_t ps = p->dh * p->Wp * Cp, qs = p->dw * Cp; /* one point down, one right */
    for (int64_t t = 0; t < b->T; t++) {
        const int64_t g = b->g0 + t / p->tw, n = g / p->th, ty = g % p->th, tx = t % p->tw;
        const float *base = p->xp + ((n * p->Hp + wg_origin(ty, p->dh)) * p->Wp + wg_origin(tx, p->dw)) * Cp;
        for (int64_t c = 0; c < Cp; c += 16) {
            __m512 d[4][4], q[4][4];
            for (int i = 0; i < 4; i++)
                for (int k = 0; k < 4; k++) d[i][k] = _mm512_load_ps(base + i * ps + k * qs + c);
            for (int k = 0; k < 4; k++) { /* B^T d */
                q[0][k] = _mm512_sub_ps(d[0][k], d[2][k]);
                q[1][k] = _mm512_add_ps(d[1][k], d[2][k]);
                q[2][k] = _mm512_sub_ps(d[2][k], d[1][k]);
                q[3][k] = _mm512_sub_ps(d[1][k], d[3][k]);
            }
            for (int i = 0; i < 4; i++) { /* (B^T d) B */
                float *o = b->v + (int64_t)(i * 4) * XS + t * Cp + c;
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
    CX_T512 static void wg_tile_##TB##_##MV(const WgBand *j, int64_t xi, int64_t t0, int64_t m0) {            \
        const int64_t C = j->p->cv->C, Mp = j->p->Mp, Cp = j->p->Cp;                                          \
        const float *u = j->p->u + xi * C * Mp + m0, *v = j->v + (xi * j->T + t0) * Cp;                        \
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
typedef void (*WgTileFn)(const WgBand *, int64_t, int64_t, int64_t);
#define WG_ROW(TB) {wg_tile_##TB##_1, wg_tile_##TB##_2, wg_tile_##TB##_3, wg_tile_##TB##_4}
static const WgTileFn wg_tiles[6][4] = {WG_ROW(1), WG_ROW(2), WG_ROW(3), WG_ROW(4), WG_ROW(5), WG_ROW(6)};

/* np output points' vectors of 16 channels at ob (16 floats apart) into `lanes` channel
 * rows of y (P floats apart), 16 points at a time transposed in registers. */
CX_T512 static void wg_store_run(const float *ob, int64_t np, float *y, int64_t P, int64_t lanes) {
    for (int64_t p0 = 0; p0 < np; p0 += 16) {
        const int64_t k16 = np - p0 < 16 ? np - p0 : 16;
        __m512 r[16];
        for (int k = 0; k < 16; k++) r[k] = k < k16 ? _mm512_load_ps(ob + (p0 + k) * 16) : _mm512_setzero_ps();
        rt_tr16_ps(r);
        const __mmask16 pm = wg_mask(k16);
        for (int l = 0; l < lanes; l++) _mm512_mask_storeu_ps(y + l * P + p0, pm, r[l]);
    }
}

/* The band's output rows in runs, each run's rows held in ob at once: with dh = 1 the tile
 * rows of one image (contiguous output rows 2 * ty ..), else one tile row (output rows oy
 * and oy + dh). Run [ga, gb) of the band's tile rows. */
static int64_t wg_run_end(const WgBand *b, int64_t ga) {
    const int64_t img_end = (ga / b->p->th + 1) * b->p->th;
    if (b->p->dh > 1) return ga + 1;
    return b->g1 < img_end ? b->g1 : img_end;
}

/* Y = A^T Mx A + bias, act, for the band's tiles and channels [m0, m1): per 16 channels and
 * run of tile rows, each output point's vector of channels into ob (row j of the run: tile
 * row j / 2's output row j % 2), then the run's rows transposed into y. */
CX_T512 static void wg_output(const WgBand *b, int64_t m0, int64_t m1) {
    const WgPlan *p = b->p;
    const CxConv *cv = p->cv;
    const int64_t Ho = cv->g.out[1], Wo = cv->g.out[2], Mp = p->Mp, tw = p->tw, P = cv->Pout;
    const int64_t dh = p->dh, dw = p->dw, XS = b->T * Mp; /* floats from one transform point to the next */
    const CxClip cl = cx_clip_make(&cv->act);
    for (int64_t m = m0; m < m1; m += 16) {
        const __m512 bias = cv->b ? _mm512_maskz_loadu_ps(wg_mask(cv->M - m), cv->b + m) : _mm512_setzero_ps();
        const int64_t lanes = cv->M - m < 16 ? cv->M - m : 16;
        float *ob = b->ob + m / 16 * p->obf;
        for (int64_t ga = b->g0, gb; ga < b->g1; ga = gb) {
            gb = wg_run_end(b, ga);
            for (int64_t t = (ga - b->g0) * tw; t < (gb - b->g0) * tw; t++) {
                const int64_t g = b->g0 + t / tw, oy = wg_origin(g % p->th, dh), ox = wg_origin(t % tw, dw);
                if (ox >= Wo || oy >= Ho) continue; /* a dilated plane's partial last block */
                const float *s = b->mx + t * Mp + m;
                __m512 a[4][4];
                for (int xi = 0; xi < 16; xi++) a[xi / 4][xi % 4] = _mm512_load_ps(s + xi * XS);
                __m512 q[2][4];
                for (int k = 0; k < 4; k++) { /* A^T Mx */
                    q[0][k] = _mm512_add_ps(_mm512_add_ps(a[0][k], a[1][k]), a[2][k]);
                    q[1][k] = _mm512_sub_ps(_mm512_sub_ps(a[1][k], a[2][k]), a[3][k]);
                }
                float *o = ob + ((g - ga) * 2 * Wo + ox) * 16;
                for (int i = 0; i < 2; i++) { /* (A^T Mx) A */
                    if (oy + i * dh >= Ho) break;
                    __m512 y0 = _mm512_add_ps(_mm512_add_ps(q[i][0], q[i][1]), q[i][2]);
                    __m512 y1 = _mm512_sub_ps(_mm512_sub_ps(q[i][1], q[i][2]), q[i][3]);
                    _mm512_store_ps(o + i * Wo * 16, cx_act_apply(p->clip, cl, &cv->act, _mm512_add_ps(y0, bias)));
                    if (ox + dw < Wo)
                        _mm512_store_ps(o + (i * Wo + dw) * 16,
                                        cx_act_apply(p->clip, cl, &cv->act, _mm512_add_ps(y1, bias)));
                }
            }
            /* the run's output rows: contiguous from 2 * ty when dh = 1, else oy and oy + dh */
            const int64_t n = ga / p->th, ty = ga % p->th, oy = wg_origin(ty, dh);
            float *y = cv->y + (n * cv->M + m) * P;
            for (int64_t r = 0; r < (dh == 1 ? 1 : 2); r++) {
                const int64_t row = oy + r * dh;
                const int64_t rows = dh == 1 ? (2 * (gb - ga) < Ho - row ? 2 * (gb - ga) : Ho - row) : row < Ho;
                if (rows <= 0) continue;
                wg_store_run(ob + r * Wo * 16, rows * Wo, y + row * Wo, P, lanes);
                if (cv->act.kind == RT_ACT_SIGMOID)
                    for (int64_t l = 0; l < lanes; l++) rt_act_span(&cv->act, y + l * P + row * Wo, rows * Wo, NULL);
            }
        }
    }
}

/* Blocks of bw output channels [begin, end) of band arg: the 16 products, then the output
 * transform. */
CX_T512 static void wg_block(void *arg, int64_t begin, int64_t end) {
    const WgBand *j = arg;
    const int64_t Mp = j->p->Mp;
    for (int64_t b = begin; b < end; b++) {
        const int64_t m0 = b * j->bw, m1 = m0 + j->bw < Mp ? m0 + j->bw : Mp, mv = (m1 - m0) / 16;
        for (int64_t xi = 0; xi < 16; xi++)
            for (int64_t t0 = 0; t0 < j->T; t0 += 6) {
                int64_t tb = j->T - t0 < 6 ? j->T - t0 : 6;
                wg_tiles[tb - 1][mv - 1](j, xi, t0, m0);
            }
        wg_output(j, m0, m1);
    }
}

/* Tile rows per band: V and Mx of a band within WG_BAND_FLOATS (at least one tile row), so
 * they stay in L2 from the input transform through the products to the output transform. */
static int64_t wg_band_rows(int64_t tw, int64_t Cp, int64_t Mp) {
    const int64_t r = WG_BAND_FLOATS / (16 * tw * (Cp + Mp));
    return r > 1 ? r : 1;
}

/* Floats of one band's scratch (V, Mx, ob). */
static int64_t wg_band_floats(const WgPlan *p) {
    const int64_t T = p->R * p->tw;
    return wg_up16(16 * T * p->Cp) + wg_up16(16 * T * p->Mp) + p->Mp / 16 * p->obf;
}

/* Band bi of p with the scratch s (wg_band_floats). */
static WgBand wg_band_at(const WgPlan *p, float *s, int64_t bi) {
    const int64_t rows = p->cv->N * p->th;
    WgBand b;
    b.p = p;
    b.g0 = bi * p->R;
    b.g1 = b.g0 + p->R < rows ? b.g0 + p->R : rows;
    b.T = (b.g1 - b.g0) * p->tw;
    b.v = s;
    b.mx = s + wg_up16(16 * p->R * p->tw * p->Cp);
    b.ob = b.mx + wg_up16(16 * p->R * p->tw * p->Mp);
    b.bw = 64;
    return b;
}

/* Bands handed out to threads, each with its own scratch slot. */
typedef struct {
    const WgPlan *p;
    float *slots;
    size_t slot_floats;
    int64_t nbands, chunks;
} WgBands;

CX_T512 static void wg_bands_slot(void *arg, int64_t begin, int64_t end) {
    const WgBands *w = arg;
    for (int64_t slot = begin; slot < end; slot++) {
        int64_t b0, b1;
        rt_chunk_range(w->nbands, w->chunks, slot, &b0, &b1);
        for (int64_t bi = b0; bi < b1; bi++) {
            WgBand b = wg_band_at(w->p, w->slots + (size_t)slot * w->slot_floats, bi);
            wg_input(&b);
            wg_block(&b, 0, (w->p->Mp + b.bw - 1) / b.bw);
        }
    }
}

static void wg_plan_make(const CxConv *cv, const float *u, float *xp, WgPlan *p) {
    p->cv = cv;
    p->u = u;
    p->xp = xp;
    p->Cp = wg_up16(cv->C), p->Mp = wg_up16(cv->M);
    p->dh = cv->g.dil[1], p->dw = cv->g.dil[2];
    p->th = (cv->g.out[1] + 2 * p->dh - 1) / (2 * p->dh) * p->dh;
    p->tw = (cv->g.out[2] + 2 * p->dw - 1) / (2 * p->dw) * p->dw;
    p->Hp = 2 * p->th + 2 * p->dh, p->Wp = 2 * p->tw + 2 * p->dw;
    const int64_t R = wg_band_rows(p->tw, p->Cp, p->Mp);
    p->R = R < cv->N * p->th ? R : cv->N * p->th;
    p->obf = 2 * (p->dh > 1 ? 1 : p->R < p->th ? p->R : p->th) * cv->g.out[2] * 16;
    p->clip = cx_act_is_clip(&cv->act);
}

/* Scratch floats of wg_images for cv's images: Xp, then a band's scratch per thread. */
static int64_t wg_scratch_floats(const CxConv *cv, int threads) {
    WgPlan p;
    wg_plan_make(cv, NULL, NULL, &p);
    const int64_t nxp = wg_up16(cv->N * p.Cp * p.Hp * p.Wp), bf = wg_band_floats(&p);
    if (threads <= 1) return nxp + bf;
    return nxp + threads * (int64_t)(rt_slot_stride(sizeof(float) * (size_t)bf, threads) / sizeof(float));
}

/* Images [0, cv->N) of cv with the transformed weights u, the scratch s (wg_scratch_floats
 * for `threads`). Bands of tile rows run in turn, or over the threads when there are enough
 * of them; a band alone splits its products and output transform over blocks of output
 * channels. Either way every output's sum runs in the same order. */
CX_T512 static void wg_images(RtKernelCtx *c, const CxConv *cv, const float *u, float *s, int threads) {
    WgPlan p;
    wg_plan_make(cv, u, s, &p);
    wg_pad(&p);
    float *bs = s + wg_up16(cv->N * p.Cp * p.Hp * p.Wp);
    const int64_t nbands = (cv->N * p.th + p.R - 1) / p.R;
    if (threads > 1 && nbands >= 2 * threads) {
        const size_t bf = rt_slot_stride(sizeof(float) * (size_t)wg_band_floats(&p), threads) / sizeof(float);
        WgBands w = {&p, bs, bf, nbands, rt_pool_chunks(c->pool, nbands, 2)};
        rt_parallel_for(c->pool, w.chunks, 1, wg_bands_slot, &w);
        return;
    }
    for (int64_t bi = 0; bi < nbands; bi++) {
        WgBand b = wg_band_at(&p, bs, bi);
        wg_input(&b);
        /* The block width changes the register tiles only, never a sum's order: any width
         * gives the same bits, so it may follow the thread count. */
        while (b.bw > 16 && (p.Mp + b.bw - 1) / b.bw < threads) b.bw /= 2;
        if (threads > 1) rt_parallel_for(c->pool, (p.Mp + b.bw - 1) / b.bw, 1, wg_block, &b);
        else wg_block(&b, 0, (p.Mp + b.bw - 1) / b.bw);
    }
}

int cx_winograd_f32(RtKernelCtx *c, const CxConv *cv) {
    WgPlan p;
    wg_plan_make(cv, NULL, NULL, &p);
    const int64_t madds = 16 * cv->N * p.th * p.tw * p.Mp * cv->C; /* of the products */
    const int threads = madds >= WG_PAR_MIN ? rt_pool_threads(c->pool) : 1;
    /* images in groups whose scratch stays within WG_GROUP_FLOATS (at least one image): a
     * big batch needs neither its whole padded input at once nor to run it out of cache */
    CxConv g = *cv;
    while (g.N > 1 && wg_scratch_floats(&g, threads) > WG_GROUP_FLOATS) g.N = (g.N + 1) / 2;
    const int64_t nb = g.N;
    const int64_t ns = wg_scratch_floats(&g, threads), nu = cv->wu ? 0 : cx_winograd_u_floats(cv);
    float *s = rt_scratch(c, sizeof(float) * (size_t)(ns + nu));
    if (!s) return RT_ERR_NOMEM;
    const float *u = cv->wu;
    if (!u) {
        cx_winograd_u_make(cv, s + ns);
        u = s + ns;
    }
    for (int64_t n0 = 0; n0 < cv->N; n0 += nb) {
        g = *cv;
        g.N = cv->N - n0 < nb ? cv->N - n0 : nb;
        g.x = cv->x + n0 * cv->C * cv->Pin;
        g.y = cv->y + n0 * cv->M * cv->Pout;
        wg_images(c, &g, u, s, threads);
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
