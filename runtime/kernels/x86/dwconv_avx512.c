/*
 * dwconv_avx512.c — depthwise float32 conv (one input and one output channel per group) with
 * AVX-512: bias, taps and the fused activation in one pass over each output plane.
 *
 * Planes x[IH, IW] -> y[OH, OW], any kernel kH x kW, strides, dilations, pads. Four loops,
 * chosen per conv by dw_plan:
 *
 * Row kernel (stride 1 or 2 along W, the default): 16 outputs of one output row per vector,
 * every tap one unaligned load and one FMA, the weights broadcast in registers (3x3 is
 * instantiated with constant taps, so its 9 taps unroll; with stride 1 and one column of
 * padding, MobileNet's, also with the column offsets -1, 0, 1 as constants, so a row needs
 * one pointer), each loaded vector kept in a register for every output row that uses it
 * (not folded into each FMA, which would load it once per row), output rows in blocks of 4
 * (strides 1 and 2) so each loaded input vector feeds every row of the block that uses it,
 * each kernel row summed into its own accumulator (short FMA chains). For output
 * columns ow0..ow0+15 and tap (kh, kw) with stride 1 the inputs are the contiguous
 * x[ih][ow0 - pw + kw * dw ...]. With stride 2 each input row is first split into its even
 * and odd columns, E[j] = x[ih][2j] and O[j] = x[ih][2j + 1] (two permutes per 32 inputs,
 * once per input row instead of once per tap; in bands of 8 output rows whose input rows
 * are split just before their taps into a buffer that stays in L1, or the whole plane when
 * it fits in 32 KiB), after which input column 2 ow + t is E[ow + t/2] (t even) or
 * O[ow + (t-1)/2] (t odd): again one contiguous load per tap. Loads of the edge chunks are
 * masked to the columns inside the row, so padding reads as zero without a padded copy
 * (masks per chunk and kw, computed once per conv); interior chunks load unmasked. Input
 * rows above or below the plane point at a row of zeros, so every output row runs the same
 * unrolled code. The accumulator starts at the bias and gets the activation in registers
 * before the (tail-masked) store.
 *
 * Direct kernel (stride 1, narrow rows that keep their width, OW == IW <= 8: KWS's 25x5,
 * MobileNet's 7x7): a row would fill few of the 16 lanes, so a vector holds 16 consecutive
 * outputs of the flattened plane, i = oh * OW + ow. Their tap (kh, kw) inputs are
 * x[i + (kh*dh - ph) * IW + kw*dw - pw], one load at a constant offset, masked to the lanes
 * whose row and column are inside the plane (lane tables per vector and tap, once per
 * conv); the outputs are stored contiguously. No copy, no lanes wasted but the last.
 *
 * Flat kernel (other narrow stride-1 planes of rows up to 8 outputs, e.g. valid padding;
 * wider rows go to the row kernel, which is faster from 9 columns on): each plane is copied
 * into a zero-padded plane xp[IHp, IWp] on the stack (16 positions at a time, the input
 * floats spread to their lanes by an expand); an output computed in the padded width at
 * flat position i = oh * IWp + ow reads xp[i + kh * dh * IWp + kw * dw], one unmasked load
 * per 16 positions whatever the row length. Positions with ow >= OW are dropped: each
 * vector is compressed to its valid lanes in registers and stored contiguously. The next
 * plane is copied before the current one is computed (two buffers), so the loads do not
 * wait on the copy's just-issued stores.
 *
 * General kernel (strides > 2, very wide rows or kernels): as the row kernel on x directly,
 * with gathers for strides > 2 and only the taps inside the plane visited.
 *
 * Channel-lanes kernel (small planes, at most 256 outputs, of at least 16 channels: KWS's
 * 25x5, MobileNet's 14x14 and 7x7, strided or not): 16 channels per vector instead of 16
 * positions. Each group of 16 planes is transposed (16x16 in registers) into a zero-padded
 * grid of cells of 16 floats, after which every tap of every output is one aligned load at
 * a constant cell offset and one FMA with the tap's weights held in a register, no masks,
 * no short rows; 16 outputs at a time are transposed back into the planes. Chosen over the
 * others whenever it applies (KWS's 3x3 layer 3.6 -> 3.0 us, MobileNet's 14x14 stride 2
 * 49 -> 18 us). Channels-last data (cv->nhwc_in / nhwc_out, rt_layout.c) takes this kernel
 * with any channel count: the grid is filled with each position's 16 channels (one masked
 * load) and each output's channels are stored in place, no transposes (KWS's 3x3 layers
 * ~2.7 -> 2.4 us in the model).
 *
 * Sigmoid is applied by a pass of the reference's formula over each finished plane (see
 * conv_x86.h); every other activation in registers.
 *
 * Threads: planes (image, channel), or groups of 16 (channel-lanes), are split into
 * contiguous ranges; every plane is computed by one thread with the same arithmetic, so
 * results do not depend on the thread count. The row kernel's large planes (input of 32 KiB
 * or more, MobileNet's 112x112 layers) are instead split by output rows at 2 threads
 * (dw_rows_cut), each thread on the half of every plane the 1x1 convs around it keep in
 * its cache; each row gets the same instructions either way. Scratch: the stride-2 split rows, or the
 * channel-lanes grid (one buffer per thread).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../../rt_threads.h"
#include "conv_x86.h"
#include "transpose16.h"

/* Row kernel planes split by rows (dw_rows_cut) when the input plane has at least this many
 * floats (32 KiB: MobileNet's 112x112 layers). Smaller ones lost more than they gained
 * (2 threads, wafer bench --profile, alternated: 112x112 -> 56x56 stride 2 156 -> 144 us
 * and the 1x1 convs around it 10-15 us faster, but 56x56 stride 1 74 -> 98 us, 28x28 30 ->
 * 47 us, 56x56 -> 28x28 55 -> 69 us). */
#define DW_RCUT_MIN_IN 8192
/* Least multiply-adds per parallel chunk (~1 us of work): a smaller layer's planes would
 * travel between the cores' caches for too little work (KWS's 25x5 layers: 2 threads were
 * slower than 1 within the model). */
#define DW_PAR_MIN_WORK ((int64_t)1 << 17)
/* Mask tables: column chunks x kW entries. */
#define DW_MAX_MASKS 2048
/* Row kernel: widest kernel, and widest source row (the row of zeros standing in for the
 * rows above and below the plane). */
#define DW_MAX_KW 16
#define DW_MAX_KH 16
#define DW_ZEROS 4096
/* Stride 2: floats of a split plane (E and O rows) small enough to split whole (32 KiB),
 * else output rows per band (a multiple of the stride-2 blocks of 2 rows) */
#define DW_SPLIT_WHOLE 8192
#define DW_BAND_ROWS 8
/* Flat kernel: floats of one padded plane plus the tail its last vector reads (16 KiB of
 * stack each, two per chunk), and vectors per plane (its lane-mask table). */
#define DW_FLAT_MAX_FLOATS 4096
#define DW_FLAT_MAX_VECS (DW_FLAT_MAX_FLOATS / 16)
/* Widest output row the flat kernel takes: from 9 columns on the row kernel is faster even
 * when its lanes are less used (3x3, 8 planes in L2: 10x10 0.6 against 0.7 us, 14x14 0.7
 * against 1.2, 28x28 2.2 against 4.0, 56x56 16 planes 16 against 25: the flat kernel's
 * copy and compressed stores cost more than the row kernel's unused lanes). */
#define DW_FLAT_MAX_OW 8
/* Taps whose broadcast weights a kernel keeps in registers (3x3); larger kernels broadcast
 * from memory at each use. */
#define DW_WREG 9

/* Channel-lanes kernel: most cells of the padded grid, outputs and input positions of a
 * plane, most taps; planes up to this many outputs take it (with at least 16 channels). */
#define DW_CL_MAX_CELLS 1024
#define DW_CL_MAX_POS 1024
#define DW_CL_MAX_TAPS 64
#define DW_CL_MAX_OUT 256
/* Channel-lanes buffers up to this many floats (20 KiB: KWS's 25x5, MobileNet's 14x14 and
 * 7x7) live on each thread's stack instead of a scratch allocation per call: the
 * allocation, its free and the allocator's bookkeeping took ~0.1 us of a 0.7 us group. */
#define DW_CL_STACK_FLOATS 5120
/* Direct kernel: most taps, and most lane masks (output vectors x taps) of a plane. */
#define DW_DIRECT_MAX_TAPS 64
#define DW_DIRECT_MAX_MASKS 2048

enum { DW_ROWS, DW_FLAT, DW_DIRECT, DW_GENERAL, DW_CL };

typedef struct {
    const CxConv *cv;
    int kind;                          /* DW_ROWS, DW_FLAT, DW_DIRECT or DW_GENERAL */
    int64_t chunks;                    /* rows, general: 16-column chunks per output row */
    /* row kernel */
    int64_t c_lo, c_hi;                /* chunks [c_lo, c_hi) read inside every source row */
    int64_t src_w;                     /* stride 2: floats of an E (or O) row; else IW */
    int64_t src_row;                   /* floats from one source row to the next */
    int64_t band;                      /* stride 2: output rows per band (OH: the whole plane) */
    int64_t band_in;                   /* stride 2: split input rows a band reads at most (0: stride 1) */
    int64_t tap_off[DW_MAX_KW];        /* tap kw: float of lane 0 of chunk 0 from its row's start */
    /* per-thread scratch (stride 2: one band's split rows) */
    float *scratch;
    int64_t slots, slot_floats;        /* buffers, floats from one to the next */
    int64_t planes;                    /* N * C */
    int64_t rcut;                      /* row kernel split by output rows (dw_rows_cut): rows
                                          [0, rcut) of every plane are part 0's, the rest part
                                          1's; 0 = planes split */
    /* flat kernel (keep and the tables after it are filled by dw_tables_*) */
    int64_t IHp, IWp, xp_n, vecs;      /* padded plane, its floats with the tail (a multiple
                                          of 16), output vectors */
    uint16_t keep[DW_FLAT_MAX_VECS];   /* lanes of output vector v with ow < OW */
    uint16_t fill[DW_FLAT_MAX_VECS];   /* lanes of padded-plane vector v inside the input */
    /* direct kernel: output vector v, tap t = kh * KW + kw reads x + 16 v + doff[t] through
     * the lane mask dmask[v * KH * KW + t] */
    int64_t doff[DW_DIRECT_MAX_TAPS];
    uint16_t dmask[DW_DIRECT_MAX_MASKS];
    /* rows: [chunk][kw] source lanes inside the source row; general: 32-bit input lanes */
    uint32_t masks[DW_MAX_MASKS];
    /* channel-lanes kernel (dw_tables_cl): the padded grid GH x GW (16 floats, one per
     * channel of a group, per cell), input position q's cell, output position p's first
     * cell, tap t's cell offset */
    int64_t GH, GW, groups;
    int32_t cl_in[DW_CL_MAX_POS], cl_out[DW_CL_MAX_OUT], cl_tap[DW_CL_MAX_TAPS];
} DwJob;

/* Which kernel, and whether its tables fit; fills the sizes in j. */
static int dw_plan(const CxConv *cv, DwJob *j) {
    const RtConvGeom *g = &cv->g;
    const int64_t OH = g->out[1], OW = g->out[2], KH = g->k[1], KW = g->k[2], IW = g->in[2];
    const int64_t sw = g->stride[2];
    if (g->in[0] != 1 || g->k[0] != 1 || g->out[0] != 1) return 0; /* 3-D: the reference */
    memset(j, 0, offsetof(DwJob, keep));
    j->cv = cv;
    j->chunks = (OW + 15) / 16;
    if (j->chunks * KW > DW_MAX_MASKS) return 0;
    j->kind = DW_GENERAL;
    /* the zero row covers a source row: IW, or the E and O halves of 16-padded (IW+1)/2 */
    int64_t src_floats = sw == 1 ? IW : 2 * (((IW + 1) / 2 + 15) / 16 * 16);
    if ((sw == 1 || sw == 2) && KW <= DW_MAX_KW && KH <= DW_MAX_KH && src_floats <= DW_ZEROS) j->kind = DW_ROWS;
    if (sw == 1 && g->stride[1] == 1) {
        j->IHp = g->in[1] + g->pad0[1] + g->pad1[1];
        j->IWp = IW + g->pad0[2] + g->pad1[2];
        int64_t npos = OH * j->IWp;
        j->vecs = (npos + 15) / 16;
        j->xp_n = (j->IHp * j->IWp + (j->vecs * 16 - npos) + (KW - 1) * g->dil[2] + 15) / 16 * 16;
        int fits = j->IHp == OH + (KH - 1) * g->dil[1] && j->IWp == OW + (KW - 1) * g->dil[2] &&
                   j->vecs <= DW_FLAT_MAX_VECS && j->xp_n <= DW_FLAT_MAX_FLOATS;
        /* lanes doing useful work: flat OH*OW of vecs*16, rows OW of chunks*16 per row */
        double flat_use = (double)(OH * OW) / (double)(j->vecs * 16);
        double row_use = (double)OW / (double)(j->chunks * 16);
        if (fits && OW <= DW_FLAT_MAX_OW && flat_use > 1.1 * row_use) j->kind = DW_FLAT;
        /* rows as wide as the input (OW == IW, "same" padding along W) and narrow: the
         * direct kernel (no padded copy), whatever the vertical padding */
        int64_t dvecs = (OH * OW + 15) / 16;
        if (OW == IW && OW <= 8 && KH * KW <= DW_DIRECT_MAX_TAPS && dvecs * KH * KW <= DW_DIRECT_MAX_MASKS) {
            j->kind = DW_DIRECT;
            j->vecs = dvecs;
        }
    }
    /* small planes of many channels: channels in the lanes (see dw_cl) */
    j->GH = (OH - 1) * g->stride[1] + (KH - 1) * g->dil[1] + 1;
    j->GW = (OW - 1) * sw + (KW - 1) * g->dil[2] + 1;
    /* every input cell inside the grid, also the last rows and columns a stride skips
     * (8x8 by 3x3 stride 2: outputs read rows 0..6 of 8), which would otherwise land past
     * the grid or on the next row's first cells */
    if (j->GH < g->pad0[1] + g->in[1]) j->GH = g->pad0[1] + g->in[1];
    if (j->GW < g->pad0[2] + IW) j->GW = g->pad0[2] + IW;
    /* (channels-last data: the only kernel, whatever the channel count) */
    const int nhwc = cv->nhwc_in || cv->nhwc_out;
    if ((cv->C >= 16 || nhwc) && OH * OW <= DW_CL_MAX_OUT && g->in[1] * IW <= DW_CL_MAX_POS &&
        KH * KW <= DW_CL_MAX_TAPS && j->GH * j->GW <= DW_CL_MAX_CELLS)
        j->kind = DW_CL;
    return !nhwc || j->kind == DW_CL;
}

int cx_depthwise_fits(const CxConv *cv) {
    DwJob j;
    return dw_plan(cv, &j);
}

int cx_depthwise_cl(const CxConv *cv) {
    DwJob j;
    return dw_plan(cv, &j) && j.kind == DW_CL;
}

int64_t cx_dw_packed_floats(const CxConv *cv) { return (cv->C + 15) / 16 * (cv->K + 1) * 16; }

void cx_dw_pack(const CxConv *cv, float *dst) {
    const int64_t K = cv->K;
    for (int64_t c0 = 0; c0 < cv->C; c0 += 16, dst += (K + 1) * 16)
        for (int64_t l = 0; l < 16; l++) {
            const int64_t ch = c0 + l;
            for (int64_t t = 0; t < K; t++) dst[t * 16 + l] = ch < cv->C ? cv->w[ch * K + t] : 0.0f;
            dst[K * 16 + l] = ch < cv->C && cv->b ? cv->b[ch] : 0.0f;
        }
}

int cx_depthwise_nhwc_fits(const CxConv *cv) {
    DwJob j;
    CxConv v = *cv;
    v.nhwc_in = 1;
    return dw_plan(&v, &j);
}

#if defined(__x86_64__) && defined(__GNUC__)

/* The row standing in for input rows outside the plane (read-only). */
static const float dw_zeros[DW_ZEROS] __attribute__((aligned(64)));

/* Bits [lo, hi) of a 32-bit mask, clamped to [0, 32). */
static uint32_t dw_bits(int64_t lo, int64_t hi) {
    if (lo < 0) lo = 0;
    if (hi > 32) hi = 32;
    if (hi <= lo) return 0;
    uint32_t upto = hi == 32 ? 0xffffffffu : ((1u << hi) - 1);
    return upto & ~((1u << lo) - 1);
}

/* Row kernel tables: per tap kw its source (x, or E / O for stride 2) and column offset;
 * per chunk c and tap kw the lanes l with c*16 + l + off inside the source row; the
 * interior chunks, where every lane of every tap is inside. */
static void dw_tables_rows(DwJob *j) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t IW = g->in[2], KW = g->k[2], s2 = g->stride[2] == 2;
    const int64_t We = (IW + 1) / 2, Wo = IW / 2;
    j->src_w = s2 ? (We + 15) / 16 * 16 : IW;
    j->src_row = s2 ? 2 * j->src_w : IW;
    /* stride 2: output rows go in bands whose input rows are split just before the band's
     * taps, into a buffer that stays in L1 (or the whole plane when it fits there) */
    j->band = j->band_in = 0;
    if (s2) {
        const int64_t OH = g->out[1], sh = g->stride[1], reach = (g->k[1] - 1) * g->dil[1] + 1;
        j->band = g->in[1] * j->src_row <= DW_SPLIT_WHOLE ? OH : DW_BAND_ROWS;
        if (j->band > OH) j->band = OH;
        j->band_in = (j->band - 1) * sh + reach;
        if (j->band_in > g->in[1]) j->band_in = g->in[1];
    }
    int odd[DW_MAX_KW];
    int64_t col[DW_MAX_KW];
    for (int64_t kw = 0; kw < KW; kw++) {
        int64_t t = kw * g->dil[2] - g->pad0[2]; /* input column of output column 0 */
        odd[kw] = s2 && (t % 2 != 0);
        col[kw] = s2 ? (t - odd[kw]) / 2 : t;                  /* exact: t - odd is even */
        j->tap_off[kw] = col[kw] + (odd[kw] ? j->src_w : 0); /* O is the row's second half */
    }
    j->c_lo = j->chunks, j->c_hi = 0;
    for (int64_t c = 0; c < j->chunks; c++) {
        int inside = 1;
        for (int64_t kw = 0; kw < KW; kw++) {
            int64_t start = c * 16 + col[kw], width = !s2 ? IW : odd[kw] ? Wo : We;
            uint32_t m = dw_bits(-start, width - start) & 0xffffu;
            j->masks[c * KW + kw] = m;
            inside &= m == 0xffffu;
        }
        if (inside && c < j->c_lo) j->c_lo = c;
        if (inside) j->c_hi = c + 1;
    }
    if (j->c_hi < j->c_lo) j->c_lo = j->c_hi = 0; /* no interior chunk */
}

/* General kernel masks: for chunk c and tap kw, the lanes whose input column is in [0, IW).
 * Stride 1: bit l = column start + l; stride 2: bits 0..31 = columns start + 0..31 (two
 * loads); other strides: bit l = column start + l * sw (a gather). */
static void dw_tables_general(DwJob *j) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t IW = g->in[2], KW = g->k[2], sw = g->stride[2];
    for (int64_t c = 0; c < j->chunks; c++)
        for (int64_t kw = 0; kw < KW; kw++) {
            int64_t start = c * 16 * sw - g->pad0[2] + kw * g->dil[2];
            uint32_t m = 0;
            if (sw == 1) m = dw_bits(-start, IW - start) & 0xffffu;
            else if (sw == 2) m = dw_bits(-start, IW - start);
            else
                for (int l = 0; l < 16; l++)
                    if (start + l * sw >= 0 && start + l * sw < IW) m |= 1u << l;
            j->masks[c * KW + kw] = m;
        }
}

/* Lane masks of the flat kernel, walking positions with row and column counters (no
 * divisions): keep[v] = the lanes of output vector v (flat position i = oh * IWp + ow)
 * with oh < OH and ow < OW; fill[v] = the lanes of padded-plane vector v (position
 * r * IWp + c) that hold an input float, ph <= r < ph + IH and pw <= c < pw + IW. */
static void dw_tables_flat(DwJob *j) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t OH = g->out[1], OW = g->out[2], IH = g->in[1], IW = g->in[2];
    const int64_t ph = g->pad0[1], pw = g->pad0[2];
    int64_t r = 0, c = 0;
    for (int64_t v = 0; v < j->vecs; v++) {
        uint32_t m = 0;
        for (int l = 0; l < 16; l++) {
            if (r < OH && c < OW) m |= 1u << l;
            if (++c == j->IWp) c = 0, r++;
        }
        j->keep[v] = (uint16_t)m;
    }
    r = c = 0;
    for (int64_t v = 0; v < j->xp_n / 16; v++) {
        uint32_t m = 0;
        for (int l = 0; l < 16; l++) {
            if (r >= ph && r < ph + IH && c >= pw && c < pw + IW) m |= 1u << l;
            if (++c == j->IWp) c = 0, r++;
        }
        j->fill[v] = (uint16_t)m;
    }
}

/* Direct kernel tables: output flat position i = oh * OW + ow reads, for tap (kh, kw),
 * x[i + (kh*dh - ph) * IW + kw*dw - pw] (OW == IW), a lane to keep when that row and column
 * are inside the plane (and i < OH * OW). Per output vector the lanes' oh and ow come from
 * counters; the masks from vector compares. */
CX_T512 static void dw_tables_direct(DwJob *j) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t IH = g->in[1], IW = g->in[2], OW = g->out[2], KH = g->k[1], KW = g->k[2], T = KH * KW;
    const int64_t P = g->out[1] * OW;
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++)
            j->doff[kh * KW + kw] = (kh * g->dil[1] - g->pad0[1]) * IW + kw * g->dil[2] - g->pad0[2];
    int32_t ohs[16], ows[16];
    int64_t oh = 0, ow = 0;
    for (int64_t v = 0; v < j->vecs; v++) {
        for (int l = 0; l < 16; l++) {
            ohs[l] = (int32_t)oh, ows[l] = (int32_t)ow;
            if (++ow == OW) ow = 0, oh++;
        }
        const __m512i ohv = _mm512_loadu_si512(ohs), owv = _mm512_loadu_si512(ows);
        __mmask16 live = (__mmask16)dw_bits(0, P - 16 * v), rows[DW_MAX_KH], cols[DW_MAX_KW];
        for (int64_t kh = 0; kh < KH; kh++) {
            __m512i ih = _mm512_add_epi32(ohv, _mm512_set1_epi32((int)(kh * g->dil[1] - g->pad0[1])));
            rows[kh] = _mm512_cmpge_epi32_mask(ih, _mm512_setzero_si512()) &
                       _mm512_cmplt_epi32_mask(ih, _mm512_set1_epi32((int)IH));
        }
        for (int64_t kw = 0; kw < KW; kw++) {
            __m512i iw = _mm512_add_epi32(owv, _mm512_set1_epi32((int)(kw * g->dil[2] - g->pad0[2])));
            cols[kw] = _mm512_cmpge_epi32_mask(iw, _mm512_setzero_si512()) &
                       _mm512_cmplt_epi32_mask(iw, _mm512_set1_epi32((int)IW));
        }
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) j->dmask[v * T + kh * KW + kw] = live & rows[kh] & cols[kw];
    }
}

/* ---------------------------------------------------------------- row kernel */

/* Stride 2: split input row x[IW] into eo = [E | O], E[j] = x[2j], O[j] = x[2j + 1], each
 * half src_w floats (a multiple of 16). */
CX_T512 CX_INL void dw_split_row(const DwJob *j, const float *x, float *eo) {
    const int64_t IW = j->cv->g.in[2], half = j->src_w;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t c = 0; c < half; c += 16) {
        __m512 lo, hi;
        if (2 * c + 32 <= IW) {
            lo = _mm512_loadu_ps(x + 2 * c);
            hi = _mm512_loadu_ps(x + 2 * c + 16);
        } else {
            uint32_t m = dw_bits(0, IW - 2 * c);
            lo = _mm512_maskz_loadu_ps((__mmask16)m, x + 2 * c);
            hi = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), x + 2 * c + 16);
        }
        _mm512_store_ps(eo + c, _mm512_permutex2var_ps(lo, even, hi));
        _mm512_store_ps(eo + half + c, _mm512_permutex2var_ps(lo, odd, hi));
    }
}

/* Output chunk c of R output rows oh0 .. oh0 + R - 1: bias + taps, activation, store;
 * masked = 0 for interior chunks. Output row r, tap (kh, kw) reads source row u = r * SH + kh
 * (relative to the block's first input row; unit dilation along H) at base[u] + off[kw] +
 * c * 16, so with constant R, SH, KH, KW each loaded vector feeds every output row that
 * uses it (4 rows of a 3x3 stride-1 conv: 18 loads for 36 FMAs instead of 36). With KH = 3
 * each kernel row of each output row sums into its own accumulator (short FMA chains),
 * added at the end. With SH = 0 (any stride and dilation, R = 1) u = kh. */
CX_T512 CX_INL void dw_block_chunk(const DwJob *j, int64_t KH, int64_t KW, int64_t SH, int64_t R, int clip,
                                   CxClip cl, const float *const *base, const int64_t *off, const __m512 *wv,
                                   const float *w, __m512 bv, int64_t c, int masked, float *y) {
    enum { NR = 4 };                        /* most output rows per block */
    const int inreg = KH * KW <= DW_WREG;
    const int nacc = KH == 3 ? 3 : 1;
    const int64_t U = SH ? (R - 1) * SH + KH : KH;
    const uint32_t *mk = j->masks + c * KW;
    __m512 acc[NR][3];
#pragma GCC unroll 4
    for (int64_t r = 0; r < R; r++) acc[r][0] = bv, acc[r][1] = acc[r][2] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int64_t u = 0; u < U; u++)
#pragma GCC unroll 16
        for (int64_t kw = 0; kw < KW; kw++) {
            const float *src = base[u] + off[kw] + c * 16;
            __m512 v = masked ? _mm512_maskz_loadu_ps((__mmask16)mk[kw], src) : _mm512_loadu_ps(src);
            /* v in a register: GCC would otherwise fold the load into each FMA that uses it,
             * loading it again for every output row (twice the loads, most of them split
             * across cache lines: the row kernel's bottleneck) */
            __asm__("" : "+v"(v));
#pragma GCC unroll 4
            for (int64_t r = 0; r < R; r++) {
                int64_t kh = u - r * SH;
                if (kh < 0 || kh >= KH) continue;
                const int64_t t = kh * KW + kw;
                __m512 wt = inreg && t < DW_WREG ? wv[t] : _mm512_set1_ps(w[t]);
                int a = nacc == 3 ? (int)kh : 0;
                acc[r][a] = _mm512_fmadd_ps(wt, v, acc[r][a]);
            }
        }
    const int64_t OW = j->cv->g.out[2], left = OW - c * 16;
    for (int64_t r = 0; r < R; r++) {
        __m512 o = nacc == 3 ? _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]), acc[r][2]) : acc[r][0];
        o = cx_act_apply(clip, cl, &j->cv->act, o);
        if (left >= 16) _mm512_storeu_ps(y + r * OW + c * 16, o);
        else _mm512_mask_storeu_ps(y + r * OW + c * 16, (__mmask16)((1u << left) - 1), o);
    }
}

/* Output rows [oh0, oh0 + R) (see dw_block_chunk), every chunk. */
CX_T512 CX_INL void dw_block(const DwJob *j, int64_t KH, int64_t KW, int64_t SH, int64_t R, int clip, CxClip cl,
                             const float *src, int64_t row0, int64_t oh0, const int64_t *off, const __m512 *wv,
                             const float *w, __m512 bv, float *y) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t IH = g->in[1], row = j->src_row;
    const int64_t U = SH ? (R - 1) * SH + KH : KH;
    const float *base[DW_MAX_KH + 8];
    for (int64_t u = 0; u < U; u++) {
        int64_t ih = oh0 * g->stride[1] - g->pad0[1] + (SH ? u : u * g->dil[1]);
        base[u] = ih >= 0 && ih < IH ? src + (ih - row0) * row : dw_zeros;
    }
    int64_t c = 0;
    for (; c < j->c_lo; c++) dw_block_chunk(j, KH, KW, SH, R, clip, cl, base, off, wv, w, bv, c, 1, y);
    for (; c < j->c_hi; c++) dw_block_chunk(j, KH, KW, SH, R, clip, cl, base, off, wv, w, bv, c, 0, y);
    for (; c < j->chunks; c++) dw_block_chunk(j, KH, KW, SH, R, clip, cl, base, off, wv, w, bv, c, 1, y);
}

/* Output rows [oh_lo, oh_hi) of one plane (y: the plane) by the row kernel, source row
 * ih at src + (ih - row0) * src_row: rows of x (stride 1), or split rows (stride 2,
 * dw_split_row). KH, KW, SH, clip are constants where the caller instantiates it (3x3: the
 * taps unroll, weights, row pointers and offsets stay in registers; SH = 1 or 2 the row
 * stride, then rows go in blocks of 4), else the geometry's (SH = 0: one row at a
 * time). */
CX_T512 CX_INL void dw_rows(const DwJob *j, int64_t KH, int64_t KW, int64_t SH, int P1, int clip, const float *src,
                            int64_t row0, int64_t oh_lo, int64_t oh_hi, const float *w, float bias, float *y) {
    const int64_t OW = j->cv->g.out[2];
    const int64_t R = SH == 1 || SH == 2 ? 4 : 1;
    const CxClip cl = cx_clip_make(&j->cv->act);
    __m512 wv[DW_WREG];
    for (int64_t t = 0; KH * KW <= DW_WREG && t < KH * KW; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 bv = _mm512_set1_ps(bias);
    int64_t off[DW_MAX_KW];
    for (int64_t kw = 0; kw < KW; kw++) off[kw] = P1 ? kw - 1 : j->tap_off[kw];
    int64_t oh = oh_lo;
    for (; R > 1 && oh + R <= oh_hi; oh += R)
        dw_block(j, KH, KW, SH, R, clip, cl, src, row0, oh, off, wv, w, bv, y + oh * OW);
    if (R > 2 && oh + 2 <= oh_hi) { /* stride 1: the last rows in a pair when they can */
        dw_block(j, KH, KW, SH, 2, clip, cl, src, row0, oh, off, wv, w, bv, y + oh * OW);
        oh += 2;
    }
    for (; oh < oh_hi; oh++) dw_block(j, KH, KW, SH, 1, clip, cl, src, row0, oh, off, wv, w, bv, y + oh * OW);
}

/* ---------------------------------------------------------------- general kernel */

/* 16 inputs for tap kw of column chunk c: mode 1 = stride 1, 2 = stride 2, 0 = gather
 * (stride sw). xr points at the chunk's first input column for kw = 0 (may lie left of the
 * row; masked lanes are not read). */
CX_T512 CX_INL __m512 dw_load(int mode, const float *xr, uint32_t m, int64_t sw) {
    if (mode == 1) return _mm512_maskz_loadu_ps((__mmask16)m, xr);
    if (mode == 2) {
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        __m512 lo = _mm512_maskz_loadu_ps((__mmask16)m, xr);
        __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), xr + 16);
        return _mm512_permutex2var_ps(lo, even, hi);
    }
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)sw));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), (__mmask16)m, idx, xr, 4);
}

/* One plane, any stride: only the kh taps inside the plane, inputs loaded from x. */
CX_T512 static void dw_general(const DwJob *j, const float *x, const float *w, float bias, float *y) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2], KH = g->k[1], KW = g->k[2];
    const int64_t sh = g->stride[1], sw = g->stride[2], dh = g->dil[1], dw = g->dil[2];
    const int64_t ph = g->pad0[1], pw = g->pad0[2];
    const int mode = sw == 1 ? 1 : sw == 2 ? 2 : 0;
    for (int64_t oh = 0; oh < OH; oh++, y += OW) {
        int64_t h0, h1;
        rt_geom_taps(oh, sh, ph, dh, KH, IH, &h0, &h1);
        const float *x0 = x + (oh * sh - ph) * IW; /* row of tap kh = 0 (maybe outside x) */
        for (int64_t c = 0; c < j->chunks; c++) {
            const uint32_t *mk = j->masks + c * KW;
            const int64_t col = c * 16 * sw - pw;
            __m512 acc = _mm512_set1_ps(bias);
            for (int64_t kh = h0; kh < h1; kh++) {
                const float *xr = x0 + kh * dh * IW + col;
                for (int64_t kw = 0; kw < KW; kw++)
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(w[kh * KW + kw]), dw_load(mode, xr + kw * dw, mk[kw], sw), acc);
            }
            acc = cx_act_v512(&j->cv->act, acc);
            int64_t left = OW - c * 16;
            __mmask16 st = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            _mm512_mask_storeu_ps(y + c * 16, st, acc);
        }
    }
}

/* ---------------------------------------------------------------- flat kernel */

/* Writes the padded plane xp[xp_n] of plane x[IH, IW]: vector v takes the next
 * popcount(fill[v]) input floats, spread to its fill lanes (zeros elsewhere), so the
 * padding is written along with the data and short rows cost no per-row work. */
CX_T512 CX_INL void dw_pad_copy(const DwJob *j, const float *x, float *xp) {
    for (int64_t v = 0; v < j->xp_n / 16; v++) {
        __mmask16 m = j->fill[v];
        int n = __builtin_popcount(m);
        __m512 in = _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), x);
        _mm512_store_ps(xp + 16 * v, _mm512_maskz_expand_ps(m, in));
        x += n;
    }
}

CX_T512 CX_INL void dw_flat(const DwJob *j, int64_t KH, int64_t KW, int clip, const float *xp, const float *w,
                            float bias, float *y) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t rowstep = g->dil[1] * j->IWp, dw = g->dil[2];
    const CxClip cl = cx_clip_make(&j->cv->act);
    __m512 wv[DW_WREG];
    const int inreg = KH * KW <= DW_WREG;
    for (int64_t t = 0; inreg && t < KH * KW; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 bv = _mm512_set1_ps(bias);
    for (int64_t v = 0; v < j->vecs; v++) {
        const float *xs = xp + v * 16;
        __m512 acc[3];
        const int nacc = KH == 3 ? 3 : 1;
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                const int64_t t = kh * KW + kw;
                const __m512 wt = inreg ? wv[t] : _mm512_set1_ps(w[t]);
                __m512 x = _mm512_loadu_ps(xs + kh * rowstep + kw * dw);
                int a = nacc == 3 ? (int)kh : 0;
                if (kw == 0 && (kh == 0 || nacc == 3))
                    acc[a] = kh == 0 ? _mm512_fmadd_ps(wt, x, bv) : _mm512_mul_ps(wt, x);
                else
                    acc[a] = _mm512_fmadd_ps(wt, x, acc[a]);
            }
        __m512 r = nacc == 3 ? _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), acc[2]) : acc[0];
        r = cx_act_apply(clip, cl, &j->cv->act, r);
        __mmask16 keep = j->keep[v];
        int n = __builtin_popcount(keep);
        _mm512_mask_storeu_ps(y, (__mmask16)((1u << n) - 1), _mm512_maskz_compress_ps(keep, r));
        y += n;
    }
}

/* ---------------------------------------------------------------- direct kernel */

/* One plane, stride 1 with OW == IW: output vector v = flat outputs [16 v, 16 v + 16), each
 * tap one masked load from x itself (dw_tables_direct), stored contiguously: no padded
 * copy, no lanes to drop. */
CX_T512 CX_INL void dw_direct(const DwJob *j, int64_t KH, int64_t KW, int clip, const float *x, const float *w,
                              float bias, float *y) {
    const int64_t T = KH * KW, P = j->cv->Pout;
    const CxClip cl = cx_clip_make(&j->cv->act);
    __m512 wv[DW_WREG];
    const int inreg = T <= DW_WREG;
    for (int64_t t = 0; inreg && t < T; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 bv = _mm512_set1_ps(bias);
    for (int64_t v = 0; v < j->vecs; v++) {
        const uint16_t *mk = j->dmask + v * T;
        const float *xs = x + 16 * v;
        __m512 acc[3];
        const int nacc = KH == 3 ? 3 : 1;
        acc[0] = bv, acc[1] = acc[2] = _mm512_setzero_ps();
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                const int64_t t = kh * KW + kw;
                const __m512 wt = inreg && t < DW_WREG ? wv[t] : _mm512_set1_ps(w[t]);
                __m512 in = _mm512_maskz_loadu_ps((__mmask16)mk[t], xs + j->doff[t]);
                int a = nacc == 3 ? (int)kh : 0;
                acc[a] = _mm512_fmadd_ps(wt, in, acc[a]);
            }
        __m512 r = nacc == 3 ? _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), acc[2]) : acc[0];
        r = cx_act_apply(clip, cl, &j->cv->act, r);
        if (16 * v + 16 <= P) _mm512_storeu_ps(y + 16 * v, r);
        else _mm512_mask_storeu_ps(y + 16 * v, (__mmask16)dw_bits(0, P - 16 * v), r);
    }
}

/* ---------------------------------------------------------------- channel-lanes kernel */
/* Small planes (KWS's 25x5, MobileNet's 14x14 and 7x7): 16 channels per vector instead of 16
 * positions, so no lane is wasted on short rows and no load needs a mask. Per group of 16
 * channels the input planes are transposed into a zero-padded grid of cells, xt[cell][16]
 * (cell (gy, gx) holds input (gy - pt, gx - pl), zero outside the plane; the border cells
 * are zeroed once per buffer and never written), then output position p (first cell
 * cl_out[p] = oh*sh*GW + ow*sw) is the bias plus, tap by tap in order, w_t * xt[cl_out[p] +
 * cl_tap[t]] (cl_tap[t] = kh*dh*GW + kw*dw): aligned loads, weights in registers, 8
 * positions' chains at once. Each 16 outputs are transposed back to the channels' planes
 * (16x16 transposes in registers, transpose16.h). */

static void dw_tables_cl(DwJob *j) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2], KH = g->k[1], KW = g->k[2];
    int64_t q = 0, p = 0;
    for (int64_t ih = 0; ih < IH; ih++)
        for (int64_t iw = 0; iw < IW; iw++) j->cl_in[q++] = (int32_t)((ih + g->pad0[1]) * j->GW + iw + g->pad0[2]);
    for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) j->cl_out[p++] = (int32_t)(oh * g->stride[1] * j->GW + ow * g->stride[2]);
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++)
            j->cl_tap[kh * KW + kw] = (int32_t)(kh * g->dil[1] * j->GW + kw * g->dil[2]);
    j->groups = (j->cv->C + 15) / 16;
}

/* Floats of one slot's buffer: the grid, then the group's weights [T][16] and bias. */
static int64_t dw_cl_floats(const DwJob *j) { return j->GH * j->GW * 16 + (int64_t)j->cv->K * 16 + 16; }

/* Outputs [p0, p0 + n) (n <= 8) of the group in xt: acc = bias + sum over taps in order.
 * wr: the T taps' weights in registers when T == DW_WREG (3x3: the caller's constant T
 * unrolls the taps), else read from wt. */
CX_T512 CX_INL void dw_cl_outs(const DwJob *j, int64_t T, int clip, const float *xt, const float *wt, const __m512 *wr,
                               __m512 bias, int64_t p0, int64_t n, __m512 *out) {
    const CxClip cl = cx_clip_make(&j->cv->act);
    __m512 acc[8];
    const float *base[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        acc[i] = bias;
        base[i] = xt + 16 * (int64_t)j->cl_out[p0 + (i < n ? i : 0)];
    }
#pragma GCC unroll 9
    for (int64_t t = 0; t < T; t++) {
        const __m512 w = T == DW_WREG ? wr[t] : _mm512_load_ps(wt + 16 * t);
        const int64_t off = 16 * (int64_t)j->cl_tap[t];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) acc[i] = _mm512_fmadd_ps(w, _mm512_load_ps(base[i] + off), acc[i]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) out[i] = cx_act_apply(clip, cl, &j->cv->act, acc[i]);
}

/* One group of up to 16 channels (from channel c0 of image im) through buffer buf; T is
 * cv->K (a constant in the 3x3 instance). */
CX_T512 CX_INL void dw_cl_group_t(const DwJob *j, const int64_t T, int64_t im, int64_t c0, float *buf) {
    const CxConv *cv = j->cv;
    const int64_t Pin = cv->Pin, P = cv->Pout, nc = cv->C - c0 < 16 ? cv->C - c0 : 16;
    const int clip = cx_act_is_clip(&cv->act);
    float *xt = buf, *wt = buf + j->GH * j->GW * 16, *bt = wt + T * 16;
    const __mmask16 lanes = (__mmask16)dw_bits(0, nc);
    /* weights [T][16] (the channels' rows of taps transposed, 16 taps at a time) and bias:
     * lanes past nc are zeros; packed so once in the node's state when it has one */
    if (cv->wdw) {
        wt = (float *)cv->wdw + (c0 / 16) * (T + 1) * 16;
        bt = wt + T * 16;
    }
    for (int64_t t0 = 0; t0 < T && !cv->wdw; t0 += 16) {
        const __mmask16 m = (__mmask16)dw_bits(0, T - t0);
        __m512 r[16];
#pragma GCC unroll 16
        for (int l = 0; l < 16; l++) r[l] = l < nc ? _mm512_maskz_loadu_ps(m, cv->w + (c0 + l) * T + t0) : _mm512_setzero_ps();
        rt_tr16_ps(r);
        for (int64_t t = t0; t < T && t < t0 + 16; t++) _mm512_store_ps(wt + 16 * t, r[t - t0]);
    }
    if (!cv->wdw) _mm512_store_ps(bt, cv->b ? _mm512_maskz_loadu_ps(lanes, cv->b + c0) : _mm512_setzero_ps());
    /* the group's planes into the grid: channels-last, each position's 16 channels one
     * vector; else 16 positions at a time through a transpose */
    if (cv->nhwc_in) { /* row by row: input row ih lands on grid row ih + ph from column pw */
        const int64_t C = cv->C, IW = cv->g.in[2];
        const float *x = cv->x + im * Pin * C + c0;
        for (int64_t ih = 0; ih < cv->g.in[1]; ih++, x += IW * C) {
            float *d = xt + 16 * ((ih + cv->g.pad0[1]) * j->GW + cv->g.pad0[2]);
            for (int64_t iw = 0; iw < IW; iw++) _mm512_store_ps(d + 16 * iw, _mm512_maskz_loadu_ps(lanes, x + iw * C));
        }
    }
    const float *x = cv->x + (im * cv->C + c0) * Pin;
    for (int64_t q = 0; q < Pin && !cv->nhwc_in; q += 16) {
        const __mmask16 m = (__mmask16)dw_bits(0, Pin - q);
        __m512 r[16];
#pragma GCC unroll 16
        for (int l = 0; l < 16; l++) r[l] = l < nc ? _mm512_maskz_loadu_ps(m, x + l * Pin + q) : _mm512_setzero_ps();
        rt_tr16_ps(r);
        for (int64_t i = 0; i < 16 && q + i < Pin; i++) _mm512_store_ps(xt + 16 * (int64_t)j->cl_in[q + i], r[i]);
    }
    const __m512 bias = _mm512_load_ps(bt);
    __m512 wr[DW_WREG];
#pragma GCC unroll 9
    for (int64_t t = 0; t < DW_WREG; t++) wr[t] = T == DW_WREG ? _mm512_load_ps(wt + 16 * t) : bias;
    if (cv->nhwc_out) { /* each output's channels stored where they are: no transpose */
        float *y = cv->y + im * P * cv->M + c0;
        for (int64_t p = 0; p < P; p += 8) {
            __m512 r[8];
            const int64_t n = P - p < 8 ? P - p : 8;
            dw_cl_outs(j, T, clip, xt, wt, wr, bias, p, n, r);
            for (int64_t i = 0; i < n; i++) {
                _mm512_mask_storeu_ps(y + (p + i) * cv->M, lanes, r[i]);
                if (cv->act.kind == RT_ACT_SIGMOID) rt_act_span(&cv->act, y + (p + i) * cv->M, nc, NULL);
            }
        }
        return;
    }
    float *y = cv->y + (im * cv->M + c0) * P;
    for (int64_t p = 0; p < P; p += 16) {
        __m512 r[16];
        const int64_t n = P - p < 16 ? P - p : 16;
        dw_cl_outs(j, T, clip, xt, wt, wr, bias, p, n < 8 ? n : 8, r);
        if (n > 8) dw_cl_outs(j, T, clip, xt, wt, wr, bias, p + 8, n - 8, r + 8);
        else
            for (int i = 8; i < 16; i++) r[i] = _mm512_setzero_ps();
        rt_tr16_ps(r);
        const __mmask16 m = (__mmask16)dw_bits(0, n);
#pragma GCC unroll 16
        for (int l = 0; l < 16; l++)
            if (lanes >> l & 1) _mm512_mask_storeu_ps(y + l * P + p, m, r[l]);
    }
    if (cv->act.kind == RT_ACT_SIGMOID)
        for (int64_t l = 0; l < nc; l++) rt_act_span(&cv->act, y + l * P, P, NULL);
}

CX_T512 static void dw_cl_group9(const DwJob *j, int64_t im, int64_t c0, float *buf) {
    dw_cl_group_t(j, DW_WREG, im, c0, buf);
}

CX_T512 static void dw_cl_group(const DwJob *j, int64_t im, int64_t c0, float *buf) {
    dw_cl_group_t(j, j->cv->K, im, c0, buf);
}

/* Groups [g0, g1) of every image (item = image * groups + group) through one buffer. */
CX_T512 static void dw_cl_items(const DwJob *j, int64_t g0, int64_t g1, float *buf) {
    memset(buf, 0, sizeof(float) * (size_t)(j->GH * j->GW * 16)); /* the grid's border cells */
    for (int64_t it = g0; it < g1; it++) {
        if (j->cv->K == DW_WREG) dw_cl_group9(j, it / j->groups, (it % j->groups) * 16, buf);
        else dw_cl_group(j, it / j->groups, (it % j->groups) * 16, buf);
    }
}

/* dw_cl_items through a buffer on this thread's stack (dw_cl_floats <= DW_CL_STACK_FLOATS). */
CX_T512 static void dw_cl_items_stack(const DwJob *j, int64_t g0, int64_t g1) {
    float buf[DW_CL_STACK_FLOATS] __attribute__((aligned(64)));
    dw_cl_items(j, g0, g1, buf);
}

/* ---------------------------------------------------------------- drivers */

/* Instances: 3x3 (MobileNet, KWS) with constant taps and any other size with the
 * geometry's, each for the clip-type activations and for the others. */
typedef void (*DwRowsFn)(const DwJob *j, const float *src, int64_t row0, int64_t oh_lo, int64_t oh_hi,
                         const float *w, float b, float *y);
typedef void (*DwFlatFn)(const DwJob *j, const float *xp, const float *w, float b, float *y);

#define DW_FLAT_INSTANCE(name, KH, KW, clip)                                                           \
    CX_T512 static void name(const DwJob *j, const float *xp, const float *w, float b, float *y) {    \
        dw_flat(j, KH, KW, clip, xp, w, b, y);                                                          \
    }
#define DW_ROWS_INSTANCE(name, KH, KW, SH, P1, clip)                                                   \
    CX_T512 static void name(const DwJob *j, const float *src, int64_t row0, int64_t oh_lo,           \
                             int64_t oh_hi, const float *w, float b, float *y) {                        \
        dw_rows(j, KH, KW, SH, P1, clip, src, row0, oh_lo, oh_hi, w, b, y);                             \
    }
DW_ROWS_INSTANCE(dw_rows_3x3s1p1_clip, 3, 3, 1, 1, 1)
DW_ROWS_INSTANCE(dw_rows_3x3s1_clip, 3, 3, 1, 0, 1)
DW_ROWS_INSTANCE(dw_rows_3x3s1_act, 3, 3, 1, 0, 0)
DW_ROWS_INSTANCE(dw_rows_3x3s2_clip, 3, 3, 2, 0, 1)
DW_ROWS_INSTANCE(dw_rows_3x3s2_act, 3, 3, 2, 0, 0)
DW_ROWS_INSTANCE(dw_rows_any_clip, j->cv->g.k[1], j->cv->g.k[2], 0, 0, 1)
DW_ROWS_INSTANCE(dw_rows_any_act, j->cv->g.k[1], j->cv->g.k[2], 0, 0, 0)
DW_FLAT_INSTANCE(dw_flat_3x3_clip, 3, 3, 1)
DW_FLAT_INSTANCE(dw_flat_3x3_act, 3, 3, 0)
DW_FLAT_INSTANCE(dw_flat_any_clip, j->cv->g.k[1], j->cv->g.k[2], 1)
DW_FLAT_INSTANCE(dw_flat_any_act, j->cv->g.k[1], j->cv->g.k[2], 0)
#define DW_DIRECT_INSTANCE(name, KH, KW, clip)                                                         \
    CX_T512 static void name(const DwJob *j, const float *x, const float *w, float b, float *y) {     \
        dw_direct(j, KH, KW, clip, x, w, b, y);                                                         \
    }
DW_DIRECT_INSTANCE(dw_direct_3x3_clip, 3, 3, 1)
DW_DIRECT_INSTANCE(dw_direct_3x3_act, 3, 3, 0)
DW_DIRECT_INSTANCE(dw_direct_any_clip, j->cv->g.k[1], j->cv->g.k[2], 1)
DW_DIRECT_INSTANCE(dw_direct_any_act, j->cv->g.k[1], j->cv->g.k[2], 0)

/* The row instance for the job's kernel size, row stride and activation (NULL for the
 * general kernel). The 3x3 instances need unit dilation along H and a row stride of 1 or 2. */
static DwRowsFn dw_pick_rows(const DwJob *j) {
    const RtConvGeom *g = &j->cv->g;
    const int k3 = g->k[1] == 3 && g->k[2] == 3, clip = cx_act_is_clip(&j->cv->act);
    if (j->kind != DW_ROWS) return NULL;
    if (k3 && g->dil[1] == 1 && g->stride[1] == 1 && clip && g->stride[2] == 1 && g->dil[2] == 1 && g->pad0[2] == 1)
        return dw_rows_3x3s1p1_clip;
    if (k3 && g->dil[1] == 1 && g->stride[1] == 1) return clip ? dw_rows_3x3s1_clip : dw_rows_3x3s1_act;
    if (k3 && g->dil[1] == 1 && g->stride[1] == 2) return clip ? dw_rows_3x3s2_clip : dw_rows_3x3s2_act;
    return clip ? dw_rows_any_clip : dw_rows_any_act;
}

static DwFlatFn dw_pick_flat(const DwJob *j) {
    const int k3 = j->cv->g.k[1] == 3 && j->cv->g.k[2] == 3, clip = cx_act_is_clip(&j->cv->act);
    return k3 ? (clip ? dw_flat_3x3_clip : dw_flat_3x3_act) : (clip ? dw_flat_any_clip : dw_flat_any_act);
}

/* The sigmoid the vector loops leave out (conv_x86.h), over a finished plane. */
static void dw_plane_sigmoid(const DwJob *j, float *y) {
    if (j->cv->act.kind == RT_ACT_SIGMOID) rt_act_span(&j->cv->act, y, j->cv->Pout, NULL);
}

/* Where the row kernel splits its planes by output rows, or 0 to split by planes. A
 * MobileNet-style block's 1x1 convs before and after a large-plane depthwise conv split
 * their 2-thread work by positions (sgemm.h: N = positions, cut near half), so each thread
 * holds the top or bottom half of every channel: split by channels, each thread read half
 * its input from the other core and wrote half of what the next conv reads there. Split
 * by rows, each thread reads its own half (plus a halo row) and writes the half the next
 * conv's thread reads. The cut is the even row nearest the middle whose first output starts
 * a cache line (plane sizes a multiple of 16 floats), so the two threads never store into
 * one line; none within an eighth of the plane of the middle: 0. Used when the planes split
 * would make 2 slots. Each output row gets the same instructions whatever rows a call covers
 * (dw_block_chunk: one accumulator set per row; blocks of 4, 2 or 1 rows only share the
 * loads, and stride 2's bands only move where rows are split), so the bits do not depend
 * on the split: 1 thread keeps running whole planes. */
static int64_t dw_rows_cut(const DwJob *j) {
    const int64_t OH = j->cv->g.out[1], OW = j->cv->g.out[2];
    if (j->kind != DW_ROWS || j->cv->Pout % 16 != 0 || j->cv->Pin < DW_RCUT_MIN_IN) return 0;
    int64_t best = 0;
    for (int64_t r = 2; r < OH; r += 2)
        if (r * OW % 16 == 0 && (best == 0 || llabs(2 * r - OH) < llabs(2 * best - OH))) best = r;
    return best && llabs(2 * best - OH) <= OH / 4 ? best : 0;
}

/* Planes [p0, p1) by the flat kernel, the next plane's copy made before the current plane
 * is computed. */
CX_T512 static void dw_planes_flat(const DwJob *j, int64_t p0, int64_t p1) {
    const CxConv *cv = j->cv;
    DwFlatFn fn = dw_pick_flat(j);
    float xp[2][DW_FLAT_MAX_FLOATS] __attribute__((aligned(64)));
    dw_pad_copy(j, cv->x + p0 * cv->Pin, xp[p0 & 1]);
    for (int64_t p = p0; p < p1; p++) {
        if (p + 1 < p1) dw_pad_copy(j, cv->x + (p + 1) * cv->Pin, xp[(p + 1) & 1]);
        int64_t ch = p % cv->C;
        float *y = cv->y + p * cv->Pout;
        fn(j, xp[p & 1], cv->w + ch * cv->K, cv->b ? cv->b[ch] : 0.0f, y);
        dw_plane_sigmoid(j, y);
    }
}

/* Planes [p0, p1) by the direct kernel. */
CX_T512 static void dw_planes_direct(const DwJob *j, int64_t p0, int64_t p1) {
    const CxConv *cv = j->cv;
    const int k3 = cv->g.k[1] == 3 && cv->g.k[2] == 3, clip = cx_act_is_clip(&cv->act);
    DwFlatFn fn = k3 ? (clip ? dw_direct_3x3_clip : dw_direct_3x3_act) : (clip ? dw_direct_any_clip : dw_direct_any_act);
    for (int64_t p = p0; p < p1; p++) {
        int64_t ch = p % cv->C;
        float *y = cv->y + p * cv->Pout;
        fn(j, cv->x + p * cv->Pin, cv->w + ch * cv->K, cv->b ? cv->b[ch] : 0.0f, y);
        dw_plane_sigmoid(j, y);
    }
}

/* Stride 2, one band of output rows [oh_lo, oh_hi): its input rows split into buf, then
 * the taps. */
CX_T512 static void dw_band_s2(const DwJob *j, DwRowsFn fn, const float *x, const float *w, float b, float *y,
                               int64_t oh_lo, int64_t oh_hi, float *buf) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t IH = g->in[1], IW = g->in[2];
    int64_t lo = oh_lo * g->stride[1] - g->pad0[1], hi = (oh_hi - 1) * g->stride[1] - g->pad0[1] + (g->k[1] - 1) * g->dil[1];
    if (lo < 0) lo = 0;
    if (hi > IH - 1) hi = IH - 1;
    for (int64_t ih = lo; ih <= hi; ih++) dw_split_row(j, x + ih * IW, buf + (ih - lo) * j->src_row);
    fn(j, buf, lo, oh_lo, oh_hi, w, b, y);
}

/* Output rows [r0, r1) of planes [p0, p1) by the row or the general kernel (whole planes
 * only: r0 = 0, r1 = OH); buf: this chunk's split rows. */
CX_T512 static void dw_planes_rows(const DwJob *j, int64_t p0, int64_t p1, int64_t r0, int64_t r1, float *buf) {
    const CxConv *cv = j->cv;
    const int64_t OW = cv->g.out[2];
    DwRowsFn fn = dw_pick_rows(j);
    for (int64_t p = p0; p < p1; p++) {
        int64_t ch = p % cv->C;
        const float *x = cv->x + p * cv->Pin, *w = cv->w + ch * cv->K;
        float b = cv->b ? cv->b[ch] : 0.0f, *y = cv->y + p * cv->Pout;
        if (!fn)
            dw_general(j, x, w, b, y);
        else if (!j->band)
            fn(j, x, 0, r0, r1, w, b, y);
        else
            for (int64_t oh = r0; oh < r1; oh += j->band)
                dw_band_s2(j, fn, x, w, b, y, oh, oh + j->band < r1 ? oh + j->band : r1, buf);
        if (cv->act.kind == RT_ACT_SIGMOID) rt_act_span(&cv->act, y + r0 * OW, (r1 - r0) * OW, NULL);
    }
}

/* Slots [s0, s1): each slot's contiguous range of planes, with its own scratch; split by
 * rows (j->rcut), slot 0 the rows above the cut of every plane, slot 1 the rest. */
static void dw_slot(void *arg, int64_t s0, int64_t s1) {
    const DwJob *j = arg;
    for (int64_t s = s0; s < s1 && j->rcut; s++)
        dw_planes_rows(j, 0, j->planes, s ? j->rcut : 0, s ? j->cv->g.out[1] : j->rcut,
                       j->scratch ? j->scratch + s * j->slot_floats : NULL);
    for (int64_t s = s0; s < s1 && !j->rcut; s++) {
        int64_t p0, p1;
        rt_chunk_range(j->planes, j->slots, s, &p0, &p1);
        if (p0 >= p1) continue;
        if (j->kind == DW_CL && !j->scratch) dw_cl_items_stack(j, p0, p1);
        else if (j->kind == DW_CL) dw_cl_items(j, p0, p1, j->scratch + s * j->slot_floats);
        else if (j->kind == DW_FLAT) dw_planes_flat(j, p0, p1);
        else if (j->kind == DW_DIRECT) dw_planes_direct(j, p0, p1);
        else dw_planes_rows(j, p0, p1, 0, j->cv->g.out[1], j->scratch ? j->scratch + s * j->slot_floats : NULL);
    }
}

int cx_depthwise_f32(RtKernelCtx *c, const CxConv *cv) {
    DwJob j;
    if (!dw_plan(cv, &j)) return rt_fail(c, "depthwise geometry beyond the optimized kernel's tables");
    if (j.kind == DW_CL) dw_tables_cl(&j);
    else if (j.kind == DW_DIRECT) dw_tables_direct(&j);
    else if (j.kind == DW_FLAT) dw_tables_flat(&j);
    else if (j.kind == DW_ROWS) dw_tables_rows(&j);
    else dw_tables_general(&j);
    /* work items: planes, or groups of 16 planes (DW_CL) */
    const int64_t per_item = cv->Pout * cv->K * (j.kind == DW_CL ? 16 : 1);
    j.planes = j.kind == DW_CL ? cv->N * j.groups : cv->N * cv->C;
    j.slots = rt_pool_chunks(c->pool, j.planes, per_item >= DW_PAR_MIN_WORK ? 1 : DW_PAR_MIN_WORK / per_item);
    if (j.slots < 1) j.slots = 1;
    j.rcut = j.slots == 2 ? dw_rows_cut(&j) : 0;
    if (j.band || (j.kind == DW_CL && dw_cl_floats(&j) > DW_CL_STACK_FLOATS)) {
        size_t buf = sizeof(float) * (size_t)(j.kind == DW_CL ? dw_cl_floats(&j) : j.band_in * j.src_row);
        j.slot_floats = (int64_t)(rt_slot_stride(buf, j.slots) / sizeof(float));
        j.scratch = rt_scratch(c, sizeof(float) * (size_t)(j.slots * j.slot_floats));
        if (!j.scratch) return RT_ERR_NOMEM;
    }
    rt_parallel_for(c->pool, j.slots, 1, dw_slot, &j);
    rt_scratch_free(c, j.scratch);
    return RT_OK;
}

#else /* not x86-64 GCC/Clang: never selected (cx_cpu_ok() is 0) */

int cx_depthwise_f32(RtKernelCtx *c, const CxConv *cv) {
    (void)cv;
    return rt_fail(c, "the AVX-512 depthwise kernel is not built for this CPU");
}

#endif
