/*
 * nbits_x86.c — optimized LinearNBits and com.microsoft MatMulNBits for float32 X on x86-64
 * with AVX-512 (table rt_kernels_x86_nbits). Every other case (no AVX-512, other dtypes) and
 * the input checks go to the reference kernels (ref/nbits.c, ref/matmul_nbits.c).
 *
 * Few rows of X (batch-1 decoding above all): the layer is bound by reading its packed
 * weights from memory. LinearNBits runs nbits_avx512.c's gemv through rt_nbits_linear_run
 * (codes decoded in registers, the threads splitting the output columns); 4-bit MatMulNBits
 * has a gemv of its own here (mnb_gemv_*).
 *
 * More rows: the layer is compute bound (every weight meets every row of X), so each weight
 * is dequantized once per call and the float products run in the float model's GEMM,
 * sgemm.h's packed micro-kernel (nbx_gemm):
 *   - the output columns are cut into equal chunks of at most NBX_SG_CHUNK_BYTES of floats
 *     (tinylm's 256 x 256 layers whole, its 256 x 1024 ones in 4 chunks; 48 columns at
 *     least: 768 KiB for K = 4096): the weights stay 4-bit between calls, only one chunk's
 *     floats exist at a time;
 *   - the threads dequantize a chunk (blocks of NBX_NC columns, 16 columns a vector, see
 *     "panel fills") straight into sgemm's packed B layout (K blocks of up to 256 rows,
 *     48-column micro-panels: rt_sgemm_pack_b's), or, where sgemm's K blocks do not start on
 *     32-column bounds, through a staging panel copied into it; then rt_sgemm_run multiplies
 *     (X read in place, as for a float Linear), bias and activation in its epilogue.
 *     sgemm sums every output in an order fixed by K alone, so any thread count or chunking
 *     gives the same bits (and a blocked-DQ model imported as MatMulNBits the float-DQ
 *     model's bits). tinylm's layers at 128 rows, 1 thread, thread CPU time against the same
 *     float layer on sgemm with its weights packed once: 256 x 256, 256 -> 1024 and
 *     1024 -> 256 each 1.04-1.05x (~168, 670, 670 us; the rest is the dequantizing); the
 *     12 x 32 micro-kernel over gathered panels that ran here: 1.06x, 1.07-1.08x, 1.13-1.15x.
 * A fused Gelu is one pass over the whole output after the GEMM instead (vmath.h's vector
 * Gelu, the x86 Gelu kernel's own code, whose result does not depend on the chunking, so
 * LinearNBits + Gelu unfused gives the same bits): applied in the AMX tiles' finishing step,
 * in registers, tinylm's fc1 (128 x 256 -> 1024) took 222 us against 126 + 77 for the GEMM
 * and the separate Gelu (the tiles' 32-column strips of 128 rows 4 KiB apart; a pass over
 * each stored strip: 246 us); the pass here measures as the two nodes did (~201 us).
 * Each weight is the same float as the reference's ((q - zero) * scale), only the order and
 * the FMA rounding of the sums differ.
 * Where the CPU has AMX-BF16 (and groups are runs of whole blocks, integer zero points),
 * batches of 16+ rows (5+ on big layers) run on the tile unit instead, still exact products
 * and float sums (see "AMX" below): 2.5-3x the micro-kernel that preceded sgemm here, on
 * tinylm's layers; sgemm stays for the other cases and CPUs (WAFER_RT_AMX=0 forces it).
 *
 * Sections: activation in registers; the GEMM (nbx_gemm through sgemm.h); panel fills
 * (LinearNBits); AMX (tile driver amx_run over a weight source, LinearNBits' source);
 * LinearNBits kernel; com.microsoft MatMulNBits (fills, tile source, gemv, kernel).
 *
 * SIMD code is compiled through target attributes only; off x86-64 (or without GCC-style
 * attributes) the table is empty and the executor runs the reference kernels.
 */
#define _DEFAULT_SOURCE /* syscall() */
#include <stdlib.h>
#include <string.h>

#include "../../rt_threads.h"
#include "../kernel.h"
#include "../nbits.h"
#include "../nbits_int8.h"
#include "../ref/activation.h"
#include "sgemm.h"
#include "transpose16.h"
#include "vmath.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi,bmi2")))
#define INL static inline __attribute__((always_inline))

#define NBX_NC 64   /* output columns per block (a thread's unit of dequantizing): four halves of 16 */
#define NBX_HALVES (NBX_NC / 16)
#define NBX_KC 256  /* input columns per fill at most: 256 x 16 floats = 16 KiB per half */
/* Up to this many rows of X the gemv (weights decoded in registers, once per pass of up to
 * RT_NBITS_DIRECT_ROWS rows) runs; above, the dequantized panels. */
#define NBX_DIRECT_ROWS RT_NBITS_DIRECT_ROWS
/* gemv: software prefetch distance into the packed rows (as nbits_avx512.c's) */
#define NBX_GEMV_PREFETCH 2048

/* ---- activation in registers (the AMX tiles' finishing step) ---- */

/* Bias and activation in registers: the float operations of rt_act_f32 after y + b. */
typedef struct {
    RtActKind kind;
    __m512 alpha, beta;
} VecAct;

T512 INL __m512 vact_apply(const VecAct *a, __m512 v) {
    const __m512 zero = _mm512_setzero_ps();
    switch (a->kind) {
    case RT_ACT_RELU: return _mm512_max_ps(zero, v); /* v < 0 ? 0 : v (max returns v when v is NaN) */
    case RT_ACT_CLIP: return _mm512_min_ps(a->beta, _mm512_max_ps(a->alpha, v));
    case RT_ACT_LEAKY_RELU:
        return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, a->alpha);
    case RT_ACT_HARD_SIGMOID:
        return _mm512_min_ps(_mm512_set1_ps(1.0f), _mm512_max_ps(zero, _mm512_add_ps(_mm512_mul_ps(a->alpha, v), a->beta)));
    default: return v; /* none; sigmoid is applied after the store (rt_act_span) */
    }
}

/* ---- the GEMM: weights dequantized into sgemm.h's packed B per call, a chunk of columns at a time ---- */

/* Where a fill writes the weights W[k, n] of input columns [k0, k1) and output columns
 * n0 + 16 h .. + 15 (half h of its block): the 16 floats of input column k at
 * half[h] + (k - k0) * ld (64-byte aligned); zeros for columns >= n1. half[h] NULL: not
 * wanted. */
typedef struct {
    float *half[NBX_HALVES]; /* borrowed */
    int64_t ld;              /* floats from one input column to the next */
} NbxDst;

/* Fills o for output columns [n0, n1) (n1 - n0 <= NBX_NC) and input columns [k0, k1)
 * (k1 - k0 <= NBX_KC; k0 a multiple of 32). tab: the source's per-thread scratch
 * (tab_floats), kept from one K slice of a column block to the next (k0 == 0 starts one). */
typedef void (*NbxFill)(const void *src, int64_t n0, int64_t n1, int64_t k0, int64_t k1, const NbxDst *o, float *tab);

#ifndef NBX_SG_CHUNK_BYTES
/* Dequantized floats of one chunk of columns, at most: written by the fills, then read by
 * sgemm while in L2. tinylm at 128 rows, CPU ms a run (LinearNBits / blocked-DQ imported,
 * best of 3-4 alternated): 256 KiB 9.7 / 10.0, 512 KiB 10.1 / 9.9, 1 MiB 10.3 / 10.7 (the
 * fills' stores then miss L2); the micro-kernel this replaced: 10.3 / 11.0. */
#define NBX_SG_CHUNK_BYTES (256 * 1024)
#endif
#define NBX_SG_NR 48 /* sgemm's packed B micro-panel width (sgemm_avx512.c's SG_NR) */
#define NBX_SG_KC 256 /* sgemm's deepest K block (SG_KC): K is cut into near-equal blocks */
#define NBX_PANEL_FLOATS ((size_t)NBX_NC * NBX_KC) /* a fill's staging panel [4 halves][NBX_KC][16] */

typedef struct {
    NbxFill fill;
    const void *src;
    int64_t K, kc;          /* sgemm's K block depth for this K */
    int direct;             /* 1: kc is a multiple of 32 (or the only block): fills write the packed B */
    int64_t n0, nc, n48;    /* the chunk: output columns [n0, n0 + nc); nc rounded up to 48 */
    float *bp;              /* [K * n48] the chunk as rt_sgemm_pack_b(0, K, nc, ..) lays it out */
    int64_t blocks, slots;  /* NBX_NC-column blocks of the chunk; parallel chunks, one scratch slot each */
    char *scratch;          /* [slots * stride]: a staging panel and the fill's table */
    size_t stride;
} NbxDq;

/* Where row k of the packed chunk starts, and its micro-panels' stride: K block by K block
 * (kc deep, the last one shorter), each block 48-column micro-panels [depth][48]; W[k, c] is
 * then at row + (c / 48) * stride + c % 48. */
INL float *dq_row(const NbxDq *d, int64_t k, int64_t *stride) {
    const int64_t k0 = k / d->kc * d->kc, depth = d->K - k0 < d->kc ? d->K - k0 : d->kc;
    *stride = depth * NBX_SG_NR;
    return d->bp + k0 * d->n48 + (k - k0) * NBX_SG_NR;
}

/* Dequantizes the chunk's blocks of NBX_NC columns into the packed B: directly, one sgemm K
 * block per fill (the halves' rows 48 floats apart), or (K blocks not on 32-column bounds)
 * through a staging panel per NBX_KC slice, copied 16 columns a store. Halves between the
 * chunk's last column and its 48-column bound get zeros; halves past that are not wanted. */
T512 static void dq_chunk(void *arg, int64_t s0, int64_t s1) {
    const NbxDq *d = arg;
    for (int64_t s = s0; s < s1; s++) {
        float *panel = (float *)(d->scratch + s * d->stride), *tab = panel + NBX_PANEL_FLOATS;
        int64_t b0, b1;
        rt_chunk_range(d->blocks, d->slots, s, &b0, &b1);
        for (int64_t b = b0; b < b1; b++) {
            const int64_t c0 = b * NBX_NC; /* chunk columns [c0, c1), empty past nc */
            const int64_t c1 = c0 + NBX_NC < d->nc ? c0 + NBX_NC : d->nc < c0 ? c0 : d->nc;
            const int64_t halves = ((c0 + NBX_NC < d->n48 ? c0 + NBX_NC : d->n48) - c0) / 16;
            for (int64_t k0 = 0; k0 < d->K;) {
                const int64_t k1 = d->direct ? (k0 + d->kc < d->K ? k0 + d->kc : d->K)
                                             : (k0 + NBX_KC < d->K ? k0 + NBX_KC : d->K);
                NbxDst o = {{NULL, NULL, NULL, NULL}, d->direct ? NBX_SG_NR : 16};
                int64_t stride;
                float *row = d->direct ? dq_row(d, k0, &stride) : NULL;
                for (int64_t h = 0; h < halves; h++) {
                    const int64_t c = c0 + 16 * h;
                    o.half[h] = d->direct ? row + (c / NBX_SG_NR) * stride + c % NBX_SG_NR : panel + h * NBX_KC * 16;
                }
                d->fill(d->src, d->n0 + c0, d->n0 + c1, k0, k1, &o, tab);
                for (int64_t k = k0; k < k1 && !d->direct; k++) {
                    float *r = dq_row(d, k, &stride);
                    for (int64_t h = 0, c = c0; h < halves; h++, c += 16)
                        _mm512_store_ps(r + (c / NBX_SG_NR) * stride + c % NBX_SG_NR,
                                        _mm512_load_ps(panel + (h * NBX_KC + (k - k0)) * 16));
                }
                k0 = k1;
            }
        }
    }
}

/* Y[M, N] = act(X[M, K] @ W + bias), W's panels from fill: per chunk of columns the threads
 * dequantize it into sgemm's packed B (dq_chunk) and rt_sgemm_run multiplies (split over the
 * threads its own way, X read in place: no per-call buffer as large as X). Each output is summed
 * in an order fixed by K alone (sgemm.h), so any thread count and any chunking give the same
 * bits. The weights stay 4-bit between calls: only one chunk's floats (<= NBX_SG_CHUNK_BYTES,
 * or 48 columns when K is deeper) exist at a time. RT_OK or RT_ERR_NOMEM (message set). */
static int nbx_gemm(RtKernelCtx *c, NbxFill fill, const void *src, size_t tab_floats, const float *x, int64_t M,
                    int64_t N, int64_t K, float *y, const float *bias, const RtAct *act) {
    /* equal chunks (a narrow last one would run sgemm's slower edge tiles), 48 columns apart */
    const int64_t chunks = ((int64_t)sizeof(float) * K * N + NBX_SG_CHUNK_BYTES - 1) / NBX_SG_CHUNK_BYTES;
    int64_t nc = ((N + chunks - 1) / chunks + NBX_SG_NR - 1) / NBX_SG_NR * NBX_SG_NR;
    nc = nc > N ? N : nc;
    const int64_t bf = rt_sgemm_packed_b_floats(K, nc);
    if (bf <= 0) return rt_fail(c, "MatMulNBits: sgemm's packed kernels are not available on this CPU");
    const int64_t nk = (K + NBX_SG_KC - 1) / NBX_SG_KC, kc = (K + nk - 1) / nk; /* sgemm_avx512.c's sg_kc_of */
    const int64_t most_blocks = ((nc + NBX_SG_NR - 1) / NBX_SG_NR * NBX_SG_NR + NBX_NC - 1) / NBX_NC; /* a chunk's */
    NbxDq d = {fill, src, K, kc, kc % 32 == 0 || kc >= K, 0, 0, 0, NULL, 0, rt_pool_chunks(c->pool, most_blocks, 1),
               NULL, 0};
    d.stride = rt_slot_stride(sizeof(float) * (NBX_PANEL_FLOATS + tab_floats), d.slots);
    d.stride = (d.stride + 63) & ~(size_t)63;
    char *raw = rt_scratch(c, d.stride * (size_t)d.slots + 64);
    /* every layer asks for the same bytes (at least the budget): one size freed and taken
     * again, so the allocator keeps serving it from the same pages (no page faults per call) */
    const size_t bbytes = sizeof(float) * (size_t)bf;
    float *bbuf = rt_scratch(c, (bbytes > NBX_SG_CHUNK_BYTES ? bbytes : NBX_SG_CHUNK_BYTES) + 64);
    int r = raw && bbuf ? RT_OK : RT_ERR_NOMEM;
    if (r == RT_OK) {
        d.scratch = (char *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
        d.bp = (float *)(((uintptr_t)bbuf + 63) & ~(uintptr_t)63);
        for (int64_t n0 = 0; n0 < N; n0 += nc) {
            d.n0 = n0;
            d.nc = N - n0 < nc ? N - n0 : nc;
            d.n48 = (d.nc + NBX_SG_NR - 1) / NBX_SG_NR * NBX_SG_NR;
            d.blocks = (d.n48 + NBX_NC - 1) / NBX_NC; /* every 16 columns up to n48 written */
            d.slots = rt_pool_chunks(c->pool, d.blocks, 1);
            rt_parallel_for(c->pool, d.slots, 1, dq_chunk, &d);
            const RtSgemm g = {M, d.nc, K, 0, 0, x, NULL, K, NULL, d.bp, d.nc, y + n0, N, NULL,
                               bias ? bias + n0 : NULL, act};
            rt_sgemm_run(c->pool, &g);
        }
    }
    rt_scratch_free(c, raw);
    rt_scratch_free(c, bbuf);
    return r;
}

/* ---- panel fills: 16 output columns (packed rows) per vector ---- */

/* Both formats keep one output column's codes together, so the fills run with one packed
 * row per lane: a gather fetches the same 32-bit word of 16 rows, shifts and masks give
 * 16 codes of one input column k, which are one panel row's half. Each weight is formed
 * as the reference's (q - zero) * scale, exactly: (2^23 + q) is a float whose bits are
 * 0x4B000000 | q, and (2^23 + q) - (2^23 + zero) = q - zero exactly for integer zeros. */
#define NBX_MAGIC 0x4B000000
#define NBX_TWO23 8388608.0f

/* 0x4B000000 | ((v >> sh) & mask) */
T512 INL __m512i code_bits(__m512i v, int sh, unsigned mask) {
    return _mm512_ternarylogic_epi32(_mm512_srli_epi32(v, (unsigned)sh), _mm512_set1_epi32((int)mask),
                                     _mm512_set1_epi32(NBX_MAGIC), 0xEA); /* (a & b) | c */
}

/* Code j (0..31) of the qblock whose words are V[0..bits-1] (lane = packed row), as
 * 0x4B000000 | q (qblock.h's layouts). */
T512 INL __m512i qblock_code(const int bits, const __m512i *V, const int j) {
    switch (bits) {
    case 8: return code_bits(V[j / 4], 8 * (j % 4), 255);
    case 4: return code_bits(V[j % 4], 4 * (j / 4), 15);
    case 2: return code_bits(V[j % 2], 2 * (j / 2), 3);
    default: { /* 3: two low bits as 2-bit, bit 2 = bit j of word 2 */
        __m512i lo = _mm512_srli_epi32(V[j % 2], (unsigned)(2 * (j / 2)));
        __m512i hi = j >= 2 ? _mm512_srli_epi32(V[2], (unsigned)(j - 2)) : _mm512_slli_epi32(V[2], (unsigned)(2 - j));
        __m512i t = _mm512_ternarylogic_epi32(lo, hi, _mm512_set1_epi32(3), 0xE4); /* c ? a : b */
        return _mm512_ternarylogic_epi32(t, _mm512_set1_epi32(7), _mm512_set1_epi32(NBX_MAGIC), 0xEA);
    }
    }
}

/* The 16 words at byte off of 16 packed rows (row r0 + l at base + l * row_bytes; rows past
 * `valid` read as zeros), transposed: W[c] lane l = word c of row l. Sixteen loads and a
 * register transpose instead of sixteen one-word gathers (half the cost of the panel fill
 * on tinylm's layers); the caller keeps off + 64 within every row. */
T512 INL void rows_words16(const uint8_t *base, size_t row_bytes, int64_t valid, int64_t off, __m512i W[16]) {
    __m512 r[16];
    for (int i = 0; i < 16; i++)
        r[i] = i < valid ? _mm512_loadu_ps(base + (size_t)i * row_bytes + off) : _mm512_setzero_ps();
    rt_tr16_ps(r);
    for (int i = 0; i < 16; i++) W[i] = _mm512_castps_si512(r[i]);
}

/* LinearNBits: tab holds, for each 16-row half of the block, each group's 16 scales then
 * 16 values 2^23 + zero ([halves][NG][2][16]), built at the block's first K slice. */
typedef struct {
    RtNbitsWeight w;
} NbxLinear;


T512 static void linear_tables(const RtNbitsWeight *w, int64_t n0, int64_t n1, int64_t halves, float *tab) {
    const int64_t NG = w->NG;
    for (int64_t h = 0; h < halves; h++) {
        const int64_t r0 = n0 + 16 * h, valid = n1 - r0;
        float *t = tab + h * NG * 32;
        for (int64_t g0 = 0; g0 < NG; g0 += 16) {
            const int64_t ng = NG - g0 < 16 ? NG - g0 : 16;
            const __mmask16 gm = (__mmask16)(ng >= 16 ? 0xffff : (1u << ng) - 1);
            __m512 s[16], z[16];
            for (int i = 0; i < 16; i++) {
                if (i < valid) {
                    s[i] = _mm512_maskz_loadu_ps(gm, w->scales + (r0 + i) * NG + g0);
                    z[i] = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(gm, w->zeros + (r0 + i) * NG + g0)));
                } else {
                    s[i] = z[i] = _mm512_setzero_ps();
                }
                z[i] = _mm512_add_ps(z[i], _mm512_set1_ps(NBX_TWO23));
            }
            rt_tr16_ps(s);
            rt_tr16_ps(z);
            for (int64_t c = 0; c < ng; c++) {
                _mm512_store_ps(t + (g0 + c) * 32, s[c]);
                _mm512_store_ps(t + (g0 + c) * 32 + 16, z[c]);
            }
        }
    }
}

T512 INL void linear_fill_bits(const int bits, const RtNbitsWeight *w, int64_t n0, int64_t n1, int64_t k0,
                               int64_t k1, const NbxDst *o, float *tab) {
    const int64_t NG = w->NG, bb = (int64_t)RT_QBLOCK_BYTES(bits);
    const int64_t bpg = w->G / RT_QBLOCK_K, kb0 = k0 / RT_QBLOCK_K, kb1 = (k1 + RT_QBLOCK_K - 1) / RT_QBLOCK_K;
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)(w->row_bytes / 4)));
    if (k0 == 0) linear_tables(w, n0, n1, NBX_HALVES, tab);
    const int64_t ld = o->ld;
    for (int64_t h = 0; h < NBX_HALVES; h++) {
        const int64_t r0 = n0 + 16 * h, valid = n1 - r0;
        if (!o->half[h]) continue;
        float *dst = o->half[h] - k0 * ld; /* + k * ld */
        if (valid <= 0) { /* wanted past n1: zeros */
            for (int64_t k = k0; k < k1; k++) _mm512_store_ps(dst + k * ld, _mm512_setzero_ps());
            continue;
        }
        const __mmask16 vm = (__mmask16)(valid >= 16 ? 0xffff : (1u << valid) - 1);
        const uint8_t *base = w->packed + (size_t)r0 * w->row_bytes;
        const float *t = tab + h * NG * 32;
        int64_t g = w->gi ? 0 : kb0 / bpg, left = w->gi ? 0 : bpg - kb0 % bpg; /* blocks left in group g */
        /* as in amx_fill_bits: 16 words at a time where 64 bytes lie inside the row (the 16
         * words from a multiple of 16 / bits blocks) */
        const int64_t per = bits == 3 ? 0 : 16 / bits, wholes = per ? w->nb / per * per : 0;
        __m512i W[16];
        for (int64_t b = kb0; b < kb1; b++) {
            __m512i V[8];
            if (b < wholes) {
                if (b % per == 0 || b == kb0) rows_words16(base, w->row_bytes, valid, b / per * per * bb, W);
                for (int i = 0; i < bits; i++) V[i] = W[(b % per) * bits + i];
            } else {
                for (int i = 0; i < bits; i++)
                    V[i] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), vm, idx, base + b * bb + 4 * i, 4);
            }
            const int64_t kb = b * RT_QBLOCK_K, n = k1 - kb < RT_QBLOCK_K ? k1 - kb : RT_QBLOCK_K;
            float *d = dst + kb * ld;
            if (!w->gi) {
                const __m512 sv = _mm512_load_ps(t + g * 32), zv = _mm512_load_ps(t + g * 32 + 16);
                if (n == RT_QBLOCK_K) {
                    for (int j = 0; j < RT_QBLOCK_K; j++)
                        _mm512_store_ps(d + j * ld,
                                        _mm512_mul_ps(_mm512_sub_ps(_mm512_castsi512_ps(qblock_code(bits, V, j)), zv), sv));
                } else {
                    for (int j = 0; j < RT_QBLOCK_K; j++)
                        if (j < n)
                            _mm512_store_ps(d + j * ld,
                                            _mm512_mul_ps(_mm512_sub_ps(_mm512_castsi512_ps(qblock_code(bits, V, j)), zv), sv));
                }
                if (--left == 0) g++, left = bpg;
            } else {
                const int32_t *gi = w->gi + kb;
                for (int j = 0; j < RT_QBLOCK_K; j++)
                    if (j < n) {
                        const float *tg = t + (int64_t)gi[j] * 32;
                        const __m512 q = _mm512_castsi512_ps(qblock_code(bits, V, j));
                        const __m512 w = _mm512_mul_ps(_mm512_sub_ps(q, _mm512_load_ps(tg + 16)), _mm512_load_ps(tg));
                        _mm512_store_ps(d + j * ld, w);
                    }
            }
        }
    }
}

T512 static void linear_fill(const void *src, int64_t n0, int64_t n1, int64_t k0, int64_t k1, const NbxDst *o,
                             float *tab) {
    const RtNbitsWeight *w = &((const NbxLinear *)src)->w;
    switch (w->bits) {
    case 2: linear_fill_bits(2, w, n0, n1, k0, k1, o, tab); break;
    case 3: linear_fill_bits(3, w, n0, n1, k0, k1, o, tab); break;
    case 4: linear_fill_bits(4, w, n0, n1, k0, k1, o, tab); break;
    default: linear_fill_bits(8, w, n0, n1, k0, k1, o, tab); break;
    }
}

/* ---- AMX: bf16 tiles with fp32 sums, exact products ---- */

/* Where the CPU has AMX-BF16 (and the OS lets the process use the tile registers), batches
 * of 16+ rows with groups of whole blocks run on the tiles instead of sgemm (nbx_gemm).
 * The products stay exact, so the results are those of a float32 GEMM up to the order of
 * the sums:
 *   - X is split into three bf16 parts, X = hi + mid + lo exactly: hi = X with its low 16
 *     bits cleared, mid the same of X - hi, lo = X - hi - mid (at most 8 significant bits
 *     are left, so it is a bf16); planes xs[3][Mp][Kp] (rows to a multiple of 16, columns to
 *     one of 32, padded with zeros). Non-finite X: hi carries it (NaN as a quiet NaN),
 *     mid = lo = 0.
 *   - W's codes become d = q - zero, an integer of at most 8 significant bits, exact in
 *     bf16, laid out as the tile instruction reads its right operand: per 16 output columns
 *     and 32 input columns, 16 rows (pairs of k) of 16 columns x 2 bf16.
 *   - per group, C[m, n] = sum over the group's k of (hi + mid + lo)[m, k] * d[k, n]
 *     (tdpbf16ps: exact products, float sums), then acc[m, n] += scale[n, g] * C[m, n];
 *     at the end act(acc + bias).
 * A column block of NBX_NC columns is a thread's unit of work:
 * bit-identical results for any thread count. The tile configuration is loaded by each
 * thread and released after its chunk. */

#define TAMX __attribute__((target("amx-tile,amx-bf16,avx512bf16,avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi,bmi2")))

/* The tiles (16 rows each) beat the micro-kernel from 16 rows of X on, and from 5 on for
 * layers of NBX_AMX_BIG weights or more (on this project's machine: 1024 x 1024 at 5, 8, 12
 * rows ran in 110-117 us against 145-218; 256 x 256 ran in 11-16 us on the micro-kernel
 * against 13-18 on the tiles). */
#define NBX_AMX_MIN_ROWS 16
#define NBX_AMX_BIG ((int64_t)1 << 19)

static int amx_rows_pay(int64_t M, int64_t N, int64_t K) {
    return M >= NBX_AMX_MIN_ROWS || (M > NBX_DIRECT_ROWS && N * K >= NBX_AMX_BIG);
}

/* 1 when AMX-BF16 runs here: CPUID says so, the OS saves the tile state (XCR0 bits 17-18)
 * and grants the process the tile data (Linux arch_prctl). Asked once; the answer cannot
 * change while the process runs. WAFER_RT_AMX=0 turns the path off (tests, comparisons). */
static int nbx_amx_state; /* 0 not asked yet, 1 usable, -1 not */

static int amx_probe(void) {
#if defined(__linux__)
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7) return -1;
    __cpuid_count(7, 0, a, b, c, d);
    if (!(d & (1u << 22)) || !(d & (1u << 24))) return -1; /* AMX-BF16, AMX-TILE */
    __cpuid_count(7, 1, a, b, c, d);
    if (!(a & (1u << 5))) return -1; /* AVX512_BF16 (the split of X) */
    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 27))) return -1; /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return -1; /* XTILECFG, XTILEDATA */
    if (!rt_nbits_impl_avx512.supported()) return -1;
    /* ARCH_REQ_XCOMP_PERM (0x1023) for XFEATURE_XTILEDATA (18): idempotent */
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0 ? 1 : -1;
#else
    return -1;
#endif
}

static int nbx_amx(void) {
    int s = __atomic_load_n(&nbx_amx_state, __ATOMIC_ACQUIRE);
    if (s == 0) {
        s = amx_probe();
        __atomic_store_n(&nbx_amx_state, s, __ATOMIC_RELEASE);
    }
    const char *e = getenv("WAFER_RT_AMX");
    return s > 0 && !(e && strcmp(e, "0") == 0);
}

typedef struct {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} AmxCfg;

/* tiles 0-3: C (2 x 2 of 16 x 16 floats), 4-5: A (16 rows x 32 bf16), 6-7: B (16 x 32 bf16) */
TAMX static void amx_config(void) {
    AmxCfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
}

/* Part p of X for rows [r0, r1) (see above), as whole tiles: xs[p][m / 16][k / 32] is the
 * 16 x 32 bf16 tile of rows m.., columns k.. (1 KiB, rows 64 bytes apart). */
TAMX static void amx_split_rows(const float *x, int64_t K, int64_t Mp, int64_t Kp, int64_t r0, int64_t r1,
                                int64_t M, uint16_t *xs) {
    const __m512i hi16 = _mm512_set1_epi32((int)0xFFFF0000u), qnan = _mm512_set1_epi32(0x7FC00000);
    const __m512 inf = _mm512_set1_ps(__builtin_inff());
    /* words 1, 3, ..., 31 of a then of b: the high halves of 16 + 16 floats */
    const __m512i odd = _mm512_setr_epi32(0x00030001, 0x00070005, 0x000B0009, 0x000F000D, 0x00130011, 0x00170015,
                                          0x001B0019, 0x001F001D, 0x00230021, 0x00270025, 0x002B0029, 0x002F002D,
                                          0x00330031, 0x00370035, 0x003B0039, 0x003F003D);
    const int64_t nks = Kp / 32;
    const size_t plane = (size_t)(Mp * Kp);
    for (int64_t r = r0; r < r1; r++) {
        uint16_t *d = xs + (r / 16) * nks * 512 + (r % 16) * 32;
        if (r >= M) {
            for (int p = 0; p < 3; p++)
                for (int64_t ks = 0; ks < nks; ks++) memset(d + p * plane + ks * 512, 0, 64);
            continue;
        }
        const float *xr = x + r * K;
        for (int64_t ks = 0; ks < nks; ks++) {
            const int64_t k = ks * 32;
            __m512 v2[2];
            for (int h = 0; h < 2; h++) {
                const int64_t left = K - k - 16 * h;
                const __mmask16 m = (__mmask16)(left >= 16 ? 0xffff : left <= 0 ? 0 : (1u << left) - 1);
                v2[h] = _mm512_maskz_loadu_ps(m, xr + k + 16 * h);
            }
            /* finite X (the usual case): the parts are exact bf16s, so the rounding conversion
             * of two vectors at once (vcvtne2ps2bf16; low half from its second operand) keeps
             * them as they are */
            if (!(_mm512_fpclass_ps_mask(v2[0], 0x99) | _mm512_fpclass_ps_mask(v2[1], 0x99))) { /* NaN, Inf */
                __m512 hs[2], ms[2], ls[2];
                for (int h = 0; h < 2; h++) {
                    hs[h] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v2[h]), hi16));
                    const __m512 r1 = _mm512_sub_ps(v2[h], hs[h]);
                    ms[h] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(r1), hi16));
                    ls[h] = _mm512_sub_ps(r1, ms[h]);
                }
                _mm512_store_si512(d + ks * 512, (__m512i)_mm512_cvtne2ps_pbh(hs[1], hs[0]));
                _mm512_store_si512(d + plane + ks * 512, (__m512i)_mm512_cvtne2ps_pbh(ms[1], ms[0]));
                _mm512_store_si512(d + 2 * plane + ks * 512, (__m512i)_mm512_cvtne2ps_pbh(ls[1], ls[0]));
                continue;
            }
            __m512i parts[3][2];
            for (int h = 0; h < 2; h++) {
                const __m512 v = v2[h];
                const __mmask16 fin = _mm512_cmp_ps_mask(_mm512_abs_ps(v), inf, _CMP_LT_OQ);
                const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                __m512i hi = _mm512_and_si512(_mm512_castps_si512(v), hi16);
                hi = _mm512_mask_mov_epi32(hi, nan, qnan);
                const __m512 r1 = _mm512_maskz_sub_ps(fin, v, _mm512_castsi512_ps(hi));
                const __m512i mid = _mm512_and_si512(_mm512_castps_si512(r1), hi16);
                const __m512 lo = _mm512_sub_ps(r1, _mm512_castsi512_ps(mid));
                parts[0][h] = hi;
                parts[1][h] = mid;
                parts[2][h] = _mm512_castps_si512(lo);
            }
            for (int p = 0; p < 3; p++)
                _mm512_store_si512(d + p * plane + ks * 512, _mm512_permutex2var_epi16(parts[p][0], odd, parts[p][1]));
        }
    }
}

typedef struct {
    const float *x;
    int64_t M, K, Mp, Kp;
    uint16_t *xs;
} AmxSplit;

TAMX static void amx_split_chunk(void *arg, int64_t t0, int64_t t1) {
    const AmxSplit *s = arg;
    amx_split_rows(s->x, s->K, s->Mp, s->Kp, t0 * 16, t1 * 16, s->M, s->xs);
}

/* The right operand for output columns [n0, n1) (halves x 16 at most), all of K, in the
 * order the tiles are used: bp[h / 2][b][h % 2] is the 16 x 16 x 2 bf16 tile of the 16
 * columns n0 + 16 h.. and the 32 input columns of block b, d = q - zero (columns past n1:
 * 0). tab: linear_tables'. */
TAMX INL void amx_fill_bits(const int bits, const RtNbitsWeight *w, int64_t n0, int64_t n1, int64_t halves,
                            const float *tab, uint16_t *bp) {
    const int64_t NG = w->NG, nb = w->nb, bb = (int64_t)RT_QBLOCK_BYTES(bits), bpg = w->G / RT_QBLOCK_K;
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)(w->row_bytes / 4)));
    const __m512i hi16 = _mm512_set1_epi32((int)0xFFFF0000u);
    for (int64_t h = 0; h < halves; h++) {
        const int64_t r0 = n0 + 16 * h, valid = n1 - r0;
        uint16_t *dst = bp + (h / 2) * nb * 1024 + (h % 2) * 512;
        if (valid <= 0) { /* a tile pair's second half past n1 */
            for (int64_t b = 0; b < nb; b++) memset(dst + b * 1024, 0, sizeof(uint16_t) * 512);
            continue;
        }
        const __mmask16 vm = (__mmask16)(valid >= 16 ? 0xffff : (1u << valid) - 1);
        const uint8_t *base = w->packed + (size_t)r0 * w->row_bytes;
        const float *t = tab + h * NG * 32;
        /* blocks whose 64 bytes (16 / bits blocks) lie inside the row come 16 words at a time */
        const int64_t per = bits == 3 ? 0 : 16 / bits, wholes = per ? nb / per * per : 0;
        __m512i W[16];
        for (int64_t b = 0, g = 0, left = bpg; b < nb; b++) {
            __m512i V[8];
            if (b < wholes) {
                if (b % per == 0) rows_words16(base, w->row_bytes, valid, b * bb, W);
                for (int i = 0; i < bits; i++) V[i] = W[(b % per) * bits + i];
            } else {
                for (int i = 0; i < bits; i++)
                    V[i] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), vm, idx, base + b * bb + 4 * i, 4);
            }
            const __m512 zv = _mm512_load_ps(t + g * 32 + 16);
            uint16_t *d = dst + b * 1024;
            for (int j = 0; j < RT_QBLOCK_K; j += 2) {
                const __m512 d0 = _mm512_sub_ps(_mm512_castsi512_ps(qblock_code(bits, V, j)), zv);
                const __m512 d1 = _mm512_sub_ps(_mm512_castsi512_ps(qblock_code(bits, V, j + 1)), zv);
                /* (d0's bf16) | (d1's bf16) << 16: the high halves, exact for these integers */
                _mm512_store_si512(d + j * 16, _mm512_ternarylogic_epi32(_mm512_srli_epi32(_mm512_castps_si512(d0), 16),
                                                                         _mm512_castps_si512(d1), hi16, 0xF8));
            }
            if (--left == 0) g++, left = bpg;
        }
    }
}

TAMX static void amx_fill(const RtNbitsWeight *w, int64_t n0, int64_t n1, int64_t halves, const float *tab,
                          uint16_t *bp) {
    switch (w->bits) {
    case 2: amx_fill_bits(2, w, n0, n1, halves, tab, bp); break;
    case 3: amx_fill_bits(3, w, n0, n1, halves, tab, bp); break;
    case 4: amx_fill_bits(4, w, n0, n1, halves, tab, bp); break;
    default: amx_fill_bits(8, w, n0, n1, halves, tab, bp); break;
    }
}

/* Input columns per pass over a column block's tile pairs: the 32 rows' three bf16 parts
 * of 128 columns are 24 KiB, and stay in L1 while every tile pair of the block uses them. */
#define NBX_AMX_KCHUNK 128
/* B panel bytes a thread keeps (in L2) for its column block. */
#define NBX_AMX_PANEL_BYTES ((int64_t)512 << 10)

/* What the tile driver needs of a weight format: per column block, the group tables
 * (tab[h][g] = 16 scales, then 16 values 2^23 + zero, for the 16 columns n0 + 16 h..) and
 * the B panel (d = q - zero as bf16, as amx_fill_bits lays it out). */
typedef struct AmxSrc AmxSrc;
struct AmxSrc {
    int64_t N, NG;          /* output columns; groups (columns of the scale table) */
    int64_t bpg, nks;       /* 32-column steps per group (the last may be short); steps: K padded / 32 */
    void (*tables)(const AmxSrc *s, int64_t n0, int64_t n1, int64_t halves, float *tab);
    void (*fill)(const AmxSrc *s, int64_t n0, int64_t n1, int64_t halves, const float *tab, uint16_t *bp);
    const void *ctx;        /* the format's weights */
};

typedef struct {
    const AmxSrc *src;
    const uint16_t *xs;     /* [3][Mp][Kp] */
    int64_t M, Mp, Kp;
    float *y;               /* [M, N] */
    const float *bias;
    const RtAct *act;
    int64_t nc;             /* output columns per block, a multiple of 32 */
    int64_t blocks, slots;
    char *scratch;          /* per slot: tables, C tiles, accumulators, B panel */
    size_t stride, tab_floats;
} AmxJob;

/* A pair's products of one group, C0 C1 / C2 C3 in cb (16 x 16 floats each), folded into
 * its 32 x 32 accumulators acc: acc (+)= scale * C. After the last group, the result
 * act(acc + scale * C + bias) goes to Y instead (rows < M, columns < n1). */
typedef struct {
    const float *cb, *t;    /* C tiles; the pair's scales for this group (second half: + NG * 32) */
    float *acc;
    int64_t m0, j0;         /* first row and column of the pair's tile in Y */
    int mt, first, last, live;
} AmxPending;

TAMX INL void amx_fold(const AmxPending *p, __m512 s0, __m512 s1) {
    for (int i = 0; i < p->mt; i++)
        for (int r = 0; r < 16; r++) {
            float *a = p->acc + (16 * i + r) * 32;
            const __m512 c0 = _mm512_load_ps(p->cb + (2 * i) * 256 + r * 16);
            const __m512 c1 = _mm512_load_ps(p->cb + (2 * i + 1) * 256 + r * 16);
            if (p->first) {
                _mm512_store_ps(a, _mm512_mul_ps(c0, s0));
                _mm512_store_ps(a + 16, _mm512_mul_ps(c1, s1));
            } else {
                _mm512_store_ps(a, _mm512_fmadd_ps(c0, s0, _mm512_load_ps(a)));
                _mm512_store_ps(a + 16, _mm512_fmadd_ps(c1, s1, _mm512_load_ps(a + 16)));
            }
        }
}

/* The last group: Y = act(acc + scale * C + bias), the activation a constant per instance. */
TAMX INL void amx_finish_act(const RtActKind kind, const AmxJob *j, const AmxPending *p, __m512 s0, __m512 s1,
                             const VecAct *va, int64_t n1) {
    const int64_t N = j->src->N, cols = n1 - p->j0 < 32 ? n1 - p->j0 : 32;
    const __mmask16 k0 = (__mmask16)(cols >= 16 ? 0xffff : (1u << cols) - 1);
    const __mmask16 k1 = (__mmask16)(cols <= 16 ? 0 : cols >= 32 ? 0xffff : (1u << (cols - 16)) - 1);
    const __m512 b0 = j->bias ? _mm512_maskz_loadu_ps(k0, j->bias + p->j0) : _mm512_setzero_ps();
    const __m512 b1 = j->bias ? _mm512_maskz_loadu_ps(k1, j->bias + p->j0 + 16) : _mm512_setzero_ps();
    const VecAct a = {kind, va->alpha, va->beta};
    const int64_t rows = j->M - p->m0 < 16 * p->mt ? j->M - p->m0 : 16 * p->mt;
    for (int64_t rr = 0; rr < rows; rr++) {
        const int i = (int)(rr / 16), r = (int)(rr % 16);
        const float *acc = p->acc + rr * 32;
        __m512 v0 = _mm512_load_ps(p->cb + (2 * i) * 256 + r * 16), v1 = _mm512_load_ps(p->cb + (2 * i + 1) * 256 + r * 16);
        if (p->first) {
            v0 = _mm512_mul_ps(v0, s0);
            v1 = _mm512_mul_ps(v1, s1);
        } else {
            v0 = _mm512_fmadd_ps(v0, s0, _mm512_load_ps(acc));
            v1 = _mm512_fmadd_ps(v1, s1, _mm512_load_ps(acc + 16));
        }
        if (j->bias) {
            v0 = _mm512_add_ps(v0, b0);
            v1 = _mm512_add_ps(v1, b1);
        }
        float *y = j->y + (p->m0 + rr) * N + p->j0;
        _mm512_mask_storeu_ps(y, k0, vact_apply(&a, v0));
        _mm512_mask_storeu_ps(y + 16, k1, vact_apply(&a, v1));
        if (kind == RT_ACT_SIGMOID) rt_act_span(j->act, y, cols, NULL);
    }
}

TAMX INL void amx_pending_run(AmxPending *p, const AmxJob *j, const VecAct *va, int64_t n1) {
    if (!p->live) return;
    const int64_t NG = j->src->NG;
    const __m512 s0 = _mm512_load_ps(p->t), s1 = _mm512_load_ps(p->t + NG * 32);
    p->live = 0;
    if (!p->last) {
        amx_fold(p, s0, s1);
        return;
    }
    switch (va->kind) {
    case RT_ACT_RELU: amx_finish_act(RT_ACT_RELU, j, p, s0, s1, va, n1); break;
    case RT_ACT_CLIP: amx_finish_act(RT_ACT_CLIP, j, p, s0, s1, va, n1); break;
    case RT_ACT_LEAKY_RELU: amx_finish_act(RT_ACT_LEAKY_RELU, j, p, s0, s1, va, n1); break;
    case RT_ACT_HARD_SIGMOID: amx_finish_act(RT_ACT_HARD_SIGMOID, j, p, s0, s1, va, n1); break;
    case RT_ACT_SIGMOID: amx_finish_act(RT_ACT_SIGMOID, j, p, s0, s1, va, n1); break;
    default: amx_finish_act(RT_ACT_NONE, j, p, s0, s1, va, n1); break;
    }
}

TAMX static void amx_chunk(void *arg, int64_t s0, int64_t s1) {
    const AmxJob *j = arg;
    const AmxSrc *src = j->src;
    const int64_t N = src->N, NG = src->NG, nks = src->nks, bpg = src->bpg, nc = j->nc;
    const int64_t plane = j->Mp * j->Kp, kch = NBX_AMX_KCHUNK / 32;
    const VecAct va = {j->act->kind, _mm512_set1_ps(j->act->alpha), _mm512_set1_ps(j->act->beta)};
    amx_config();
    for (int64_t s = s0; s < s1; s++) {
        char *sc = j->scratch + s * j->stride;
        float *tab = (float *)sc, *cb = tab + j->tab_floats, *acc = cb + 1024 * (nc / 32);
        uint16_t *bp = (uint16_t *)(acc + 32 * nc);
        int64_t b0, b1;
        rt_chunk_range(j->blocks, j->slots, s, &b0, &b1);
        for (int64_t blk = b0; blk < b1; blk++) {
            const int64_t n0 = blk * nc, n1 = n0 + nc < N ? n0 + nc : N;
            const int64_t pairs = (n1 - n0 + 31) / 32;
            src->tables(src, n0, n1, 2 * pairs, tab);
            src->fill(src, n0, n1, 2 * pairs, tab, bp);
            for (int64_t m0 = 0; m0 < j->Mp; m0 += 32) {
                const int mt = j->Mp - m0 >= 32 ? 2 : 1;
                const uint16_t *xa = j->xs + (m0 / 16) * nks * 512; /* m-tile m0/16; the next is + nks tiles */
                AmxPending pend = {0};
                /* k chunks of at most kch blocks, never across a group's end */
                for (int64_t ks0 = 0, g = 0; ks0 < nks;) {
                    const int64_t gend = (g + 1) * bpg < nks ? (g + 1) * bpg : nks;
                    const int64_t ks1 = ks0 + kch < gend ? ks0 + kch : gend;
                    const int start = ks0 == g * bpg, end = ks1 == gend;
                    for (int64_t pr = 0; pr < pairs; pr++) {
                        const uint16_t *bt = bp + pr * nks * 1024;
                        float *cp = cb + 1024 * pr; /* this pair's C tiles between chunks */
                        if (start) {
                            _tile_zero(0);
                            _tile_zero(1);
                            _tile_zero(2);
                            _tile_zero(3);
                        } else {
                            _tile_loadd(0, cp, 64);
                            _tile_loadd(1, cp + 256, 64);
                            _tile_loadd(2, cp + 512, 64);
                            _tile_loadd(3, cp + 768, 64);
                        }
                        for (int64_t ks = ks0; ks < ks1; ks++) {
                            _tile_loadd(6, bt + ks * 1024, 64);
                            _tile_loadd(7, bt + ks * 1024 + 512, 64);
                            for (int p = 0; p < 3; p++) {
                                const uint16_t *xp = xa + p * plane + ks * 512;
                                _tile_loadd(4, xp, 64);
                                _tile_dpbf16ps(0, 4, 6);
                                _tile_dpbf16ps(1, 4, 7);
                                if (mt > 1) {
                                    _tile_loadd(5, xp + nks * 512, 64);
                                    _tile_dpbf16ps(2, 5, 6);
                                    _tile_dpbf16ps(3, 5, 7);
                                }
                            }
                        }
                        /* the previous pair's scaling runs while these products are computed */
                        amx_pending_run(&pend, j, &va, n1);
                        _tile_stored(0, cp, 64);
                        _tile_stored(1, cp + 256, 64);
                        _tile_stored(2, cp + 512, 64);
                        _tile_stored(3, cp + 768, 64);
                        if (end)
                            pend = (AmxPending){cp, tab + 2 * pr * NG * 32 + g * 32, acc + 1024 * pr, m0, n0 + 32 * pr,
                                                mt, g == 0, g == NG - 1, 1};
                    }
                    ks0 = ks1;
                    if (end) g++;
                }
                amx_pending_run(&pend, j, &va, n1);
            }
        }
    }
    _tile_release();
}

/* Rows of X split and multiplied per pass: the bf16 parts of X take 6 bytes per element
 * (3 MiB for 512 rows of K = 1024), and each pass refills the B panels. */
#define NBX_AMX_MROWS 512

/* Y[M, N] = act(X[M, K] @ W + bias) on the tiles, W from src. */
static int amx_run(RtKernelCtx *c, const AmxSrc *src, const float *x, int64_t M, int64_t K, float *y,
                   const float *bias, const RtAct *act) {
    const int64_t Kp = src->nks * 32, threads = rt_pool_threads(c->pool);
    const int64_t Mmax = M < NBX_AMX_MROWS ? (M + 15) / 16 * 16 : NBX_AMX_MROWS;
    /* wide blocks (more tile pairs share each pass of X through L1), one per thread at
     * least, the B panel within NBX_AMX_PANEL_BYTES; the results do not depend on it */
    int64_t nc = ((src->N + threads - 1) / threads + 31) / 32 * 32;
    nc = nc > 256 ? 256 : nc;
    while (nc > 32 && nc * Kp * 2 > NBX_AMX_PANEL_BYTES) nc -= 32;
    AmxJob j = {src, NULL, 0, 0, Kp, y, bias, act, nc, (src->N + nc - 1) / nc, 0, NULL, 0,
                (size_t)(nc / 16 * src->NG * 32)};
    j.slots = rt_pool_chunks(c->pool, j.blocks, 1);
    /* tables, C tiles of each pair, 32 x nc accumulators, B panel (nc columns x Kp bf16) */
    size_t bytes = sizeof(float) * (j.tab_floats + 1024 * (size_t)(nc / 32) + 32 * (size_t)nc) +
                   sizeof(uint16_t) * (size_t)(nc * Kp);
    j.stride = (rt_slot_stride(bytes, j.slots) + 63) & ~(size_t)63;
    const size_t xs_bytes = sizeof(uint16_t) * (size_t)(3 * Mmax * Kp);
    char *raw = rt_scratch(c, j.stride * (size_t)j.slots + xs_bytes + 128);
    if (!raw) return RT_ERR_NOMEM;
    j.scratch = (char *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    j.xs = (uint16_t *)(j.scratch + j.stride * (size_t)j.slots);
    for (int64_t m0 = 0; m0 < M; m0 += NBX_AMX_MROWS) {
        j.M = M - m0 < NBX_AMX_MROWS ? M - m0 : NBX_AMX_MROWS;
        j.Mp = (j.M + 15) / 16 * 16;
        j.y = y + m0 * src->N;
        AmxSplit sp = {x + m0 * K, j.M, K, j.Mp, Kp, (uint16_t *)j.xs};
        rt_parallel_for(c->pool, j.Mp / 16, 2, amx_split_chunk, &sp);
        rt_parallel_for(c->pool, j.slots, 1, amx_chunk, &j);
    }
    rt_scratch_free(c, raw);
    return RT_OK;
}

/* LinearNBits as a tile source (groups of whole blocks, no g_idx). */
TAMX static void linear_amx_tables(const AmxSrc *s, int64_t n0, int64_t n1, int64_t halves, float *tab) {
    linear_tables(s->ctx, n0, n1, halves, tab);
}

TAMX static void linear_amx_fill(const AmxSrc *s, int64_t n0, int64_t n1, int64_t halves, const float *tab,
                                 uint16_t *bp) {
    amx_fill(s->ctx, n0, n1, halves, tab, bp);
}

static int amx_linear(RtKernelCtx *c, const RtNbitsWeight *w, const float *x, int64_t M, float *y, const float *bias,
                      const RtAct *act) {
    const AmxSrc src = {w->N, w->NG, w->G / RT_QBLOCK_K, w->nb, linear_amx_tables, linear_amx_fill, w};
    return amx_run(c, &src, x, M, w->K, y, bias, act);
}

/* ---- Gelu after the GEMM ---- */

/* Elements per chunk of the Gelu pass below which it stays on one thread (math_x86.c's). */
#define NBX_GELU_PAR_MIN ((int64_t)1 << 13)

typedef struct {
    float *y;
    int tanh_approx;
} NbxGeluJob;

static void nbx_gelu_chunk(void *arg, int64_t i0, int64_t i1) {
    const NbxGeluJob *j = arg;
    rt_vm_gelu_f32(j->y + i0, j->y + i0, i1 - i0, j->tanh_approx);
}

/* y[0, n) = Gelu(y) as the x86 Gelu kernel computes it, over the pool. */
static void nbx_gelu_pass(RtKernelCtx *c, float *y, int64_t n, int tanh_approx) {
    NbxGeluJob j = {y, tanh_approx};
    rt_parallel_for(c->pool, n, NBX_GELU_PAR_MIN, nbx_gelu_chunk, &j);
}

/* ---- LinearNBits ---- */

/* Few rows: the reference driver (its gemv is nbits_avx512.c's); a fused Gelu is left out of
 * it (the node's attributes but `activation`) and run by nbx_gelu_pass after, the x86 Gelu
 * kernel's code rather than the reference's scalar erff (~20 ns an element). */
static int nbx_direct(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(RT_OP_LINEAR_NBITS);
    RtAct act;
    if (n->n_attr > 8 || rt_act_read(c, n, &act) != RT_OK || (act.kind != RT_ACT_GELU && act.kind != RT_ACT_GELU_TANH))
        return ref(c, n, in, out); /* its result, or its message */
    RtAttr attrs[8];
    RtNode plain = *n;
    plain.n_attr = 0;
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, "activation") != 0) attrs[plain.n_attr++] = n->attrs[i];
    plain.attrs = attrs;
    RT_TRY(ref(c, &plain, in, out));
    nbx_gelu_pass(c, out[0]->data, rt_numel(out[0]), act.kind == RT_ACT_GELU_TANH);
    return RT_OK;
}

static int nbx_avx512(void) {
    return rt_nbits_impl_avx512.supported();
}

/* accuracy_level 4 (rt_q4q8_applies_linear): the VNNI int8 kernels, then bias and act as the
 * reference adds them (Gelu through nbx_gelu_pass, as the float path). */
static int nbx_linear_int8(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int64_t rows) {
    RtKernelCtx sc = *c;
    sc.shape_only = 1;
    int st = rt_kernel_find(RT_OP_LINEAR_NBITS)(&sc, n, in, out); /* every input checked, the shape set */
    if (st != RT_SHAPE_ONLY) return st;
    RT_TRY(rt_out_alloc_data(c, out[0]));
    RtAct act;
    RT_TRY(rt_act_read(c, n, &act));
    const RtTensor *b = rt_in(n, in, 5);
    RtQ4Weight w;
    rt_q4q8_linear_weight(n, in, &w);
    float *y = out[0]->data;
    RT_TRY(rt_q4q8_run_vnni(c, &w, in[0]->data, rows, NULL, y));
    const int gelu = act.kind == RT_ACT_GELU || act.kind == RT_ACT_GELU_TANH;
    const RtAct span = gelu ? (RtAct){RT_ACT_NONE, 0, 0} : act;
    for (int64_t r = 0; r < rows; r++) rt_act_span(&span, y + r * w.N, w.N, b ? b->data : NULL);
    if (gelu) nbx_gelu_pass(c, y, rows * w.N, act.kind == RT_ACT_GELU_TANH);
    return RT_OK;
}

static int k_linear_nbits_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(RT_OP_LINEAR_NBITS);
    const RtTensor *x = rt_in(n, in, 0);
    if (c->shape_only || !nbx_avx512() || !x || x->dtype != RT_F32 || rt_nbits_impl_select() != &rt_nbits_impl_avx512)
        return ref(c, n, in, out);
    int64_t rows = x->rank >= 1 ? rt_numel(x) / (x->dims[x->rank - 1] ? x->dims[x->rank - 1] : 1) : 0;
    if (x->rank >= 1 && x->dims[x->rank - 1] == 0) rows = 0;
    if (rt_q4q8_applies_linear(n, in) && rt_q4q8_vnni_supported()) return nbx_linear_int8(c, n, in, out, rows);
    if (rows <= NBX_DIRECT_ROWS) return nbx_direct(c, n, in, out); /* the gemv, through the reference driver */
    /* the reference checks every input and attribute and sets the output's shape */
    RtKernelCtx sc = *c;
    sc.shape_only = 1;
    int st = ref(&sc, n, in, out);
    if (st != RT_SHAPE_ONLY) return st;
    RT_TRY(rt_out_alloc_data(c, out[0]));
    const RtTensor *gx = rt_in(n, in, 4), *b = rt_in(n, in, 5);
    RtNbitsLinear L = {(int)rt_attr_int(n, "bits", 0), in[2]->dims[0], x->dims[x->rank - 1], rt_attr_int(n, "group", 0),
                       in[1]->data, in[2]->data, in[3]->data, gx ? gx->data : NULL, b ? b->data : NULL,
                       {RT_ACT_NONE, 0, 0}};
    RT_TRY(rt_act_read(c, n, &L.act));
    /* Gelu: the GEMM without it, then nbx_gelu_pass over the whole output */
    const int gelu = L.act.kind == RT_ACT_GELU || L.act.kind == RT_ACT_GELU_TANH;
    const RtAct act = L.act, none = {RT_ACT_NONE, 0, 0};
    if (gelu) L.act = none;
    float *y = out[0]->data;
    if (L.N == 0) return RT_OK;
    if (L.K == 0) { /* empty sums: act(bias) */
        memset(y, 0, sizeof(float) * (size_t)(rows * L.N));
        for (int64_t r = 0; r < rows; r++) rt_act_span(&L.act, y + r * L.N, L.N, L.bias);
    } else {
        NbxLinear l;
        int32_t *gi;
        RT_TRY(rt_nbits_weight_prepare(&L, &l.w, &gi, c->alloc, c->err));
        if (!gi && amx_rows_pay(rows, L.N, L.K) && nbx_amx())
            st = amx_linear(c, &l.w, x->data, rows, y, L.bias, &L.act);
        else
            st = nbx_gemm(c, linear_fill, &l, (size_t)(NBX_HALVES * l.w.NG * 32), x->data, rows, L.N, L.K, y, L.bias,
                          &L.act);
        rt_scratch_free(c, gi);
        if (st != RT_OK) return st;
    }
    if (gelu) nbx_gelu_pass(c, y, rows * L.N, act.kind == RT_ACT_GELU_TANH);
    return RT_OK;
}

/* ---- com.microsoft MatMulNBits ---- */

/* MatMulNBits stores W^T as B[N, n_blocks, blob]: each block's codes low-first (code j at
 * bit j * bits of its blob), scales [N, n_blocks], zero points packed u8 (row n on its own
 * bytes), float, or absent (2^(bits-1)); see ref/matmul_nbits.c. For 2, 4 and 8 bits a
 * 32-bit word holds whole codes (32 / bits of them, within one block, as block >= 16 and
 * blob = block * bits / 8 is a multiple of 4), so the fills gather one word of 16 rows at
 * a time as LinearNBits' do; 3, 5, 6 and 7 bits are decoded one weight at a time. Every
 * weight is the reference's float of (q - zero) * scale (bit for bit with integer zero
 * points; float ones are subtracted in float). */
typedef struct {
    int64_t K, N, block, n_blocks, blob, row_bytes, zp_row;
    int bits;
    const uint8_t *b;       /* [N, row_bytes] */
    const float *scales;    /* [N, n_blocks] */
    const uint8_t *zp_u8;   /* packed [N, zp_row], or NULL */
    const float *zp_f;      /* [N, n_blocks], or NULL (neither: 2^(bits-1)) */
    const int32_t *g_idx;   /* [K] block of each column's scale and zero point, or NULL */
} Mnb;

/* The low-first code at bit pos of p (may straddle two bytes). */
static unsigned mnb_code_at(const uint8_t *p, int64_t pos, int bits) {
    unsigned v = p[pos >> 3] >> (pos & 7);
    if ((pos & 7) + bits > 8) v |= (unsigned)p[(pos >> 3) + 1] << (8 - (pos & 7));
    return v & ((1u << bits) - 1u);
}

static float mnb_zero(const Mnb *w, int64_t n, int64_t g) {
    if (w->zp_f) return w->zp_f[n * w->n_blocks + g];
    if (w->zp_u8) return (float)mnb_code_at(w->zp_u8 + n * w->zp_row, g * w->bits, w->bits);
    return (float)(1 << (w->bits - 1));
}

static int64_t mnb_group(const Mnb *w, int64_t k) {
    return w->g_idx ? w->g_idx[k] : k / w->block;
}

/* W[k, n] as the reference forms it. */
static float mnb_weight(const Mnb *w, int64_t n, int64_t k) {
    const int64_t g = mnb_group(w, k);
    const unsigned q = mnb_code_at(w->b + n * w->row_bytes + (k / w->block) * w->blob, (k % w->block) * w->bits, w->bits);
    return (float)(((double)q - (double)mnb_zero(w, n, g)) * (double)w->scales[n * w->n_blocks + g]);
}

/* tab[h][g] = the 16 scales, then the 16 zero points (as floats) of columns n0 + 16 h.. and
 * block g (0 past n1). */
static void mnb_tables(const Mnb *w, int64_t n0, int64_t n1, int64_t halves, float *tab) {
    for (int64_t h = 0; h < halves; h++)
        for (int64_t g = 0; g < w->n_blocks; g++) {
            float *t = tab + (h * w->n_blocks + g) * 32;
            for (int l = 0; l < 16; l++) {
                const int64_t n = n0 + 16 * h + l;
                t[l] = n < n1 ? w->scales[n * w->n_blocks + g] : 0.0f;
                t[16 + l] = n < n1 ? mnb_zero(w, n, g) : 0.0f;
            }
        }
}

/* The word holding codes k.. (k a multiple of 32 / bits) of 16 rows from base (row r0). */
T512 INL __m512i mnb_word(const Mnb *w, const uint8_t *base, __m512i idx, __mmask16 vm, int64_t k) {
    const int64_t off = (k / w->block) * w->blob + (k % w->block) * w->bits / 8;
    return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), vm, idx, base + off, 4);
}

/* q of code i (0 .. 32 / bits - 1) of the word, as a float (exact). */
T512 INL __m512 mnb_qf(const int bits, __m512i v, int i) {
    return _mm512_sub_ps(_mm512_castsi512_ps(code_bits(v, bits * i, (1u << bits) - 1)), _mm512_set1_ps(NBX_TWO23));
}

/* The float panel (see NbxFill) from MatMulNBits' B, 2, 4 or 8 bits; tables at k0 == 0. */
T512 INL void mnb_fill_bits(const int bits, const Mnb *w, int64_t n0, int64_t n1, int64_t k0, int64_t k1,
                            const NbxDst *o, float *tab) {
    const int per = 32 / bits; /* codes per word */
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)(w->row_bytes / 4)));
    if (k0 == 0) mnb_tables(w, n0, n1, NBX_HALVES, tab);
    const int64_t ld = o->ld;
    for (int64_t h = 0; h < NBX_HALVES; h++) {
        const int64_t r0 = n0 + 16 * h, valid = n1 - r0;
        if (!o->half[h]) continue;
        float *dst = o->half[h] - k0 * ld; /* + k * ld */
        if (valid <= 0) { /* wanted past n1: zeros */
            for (int64_t k = k0; k < k1; k++) _mm512_store_ps(dst + k * ld, _mm512_setzero_ps());
            continue;
        }
        const __mmask16 vm = (__mmask16)(valid >= 16 ? 0xffff : (1u << valid) - 1);
        const uint8_t *base = w->b + r0 * w->row_bytes;
        const float *t = tab + h * w->n_blocks * 32;
        /* word k / per of the row holds codes k.. (blobs follow each other): 16 words of the
         * 16 rows at a time (rows_words16, from a multiple of 16 words) while 64 bytes fit in
         * the row, then gathered one word at a time (half the fill's time on tinylm's layers) */
        const int64_t whole = w->row_bytes / 64 * 16;
        __m512i W[16];
        for (int64_t k = k0; k < k1; k += per) {
            const int64_t word = k / per;
            if (word < whole && (word % 16 == 0 || k == k0))
                rows_words16(base, (size_t)w->row_bytes, valid, word / 16 * 64, W);
            const __m512i v = word < whole ? W[word % 16] : mnb_word(w, base, idx, vm, k);
            const int n = k1 - k < per ? (int)(k1 - k) : per;
            if (!w->g_idx) {
                const float *tg = t + (k / w->block) * 32;
                const __m512 sv = _mm512_load_ps(tg), zv = _mm512_load_ps(tg + 16);
                for (int i = 0; i < per; i++)
                    if (i < n)
                        _mm512_store_ps(dst + (k + i) * ld, _mm512_mul_ps(_mm512_sub_ps(mnb_qf(bits, v, i), zv), sv));
            } else {
                for (int i = 0; i < per; i++)
                    if (i < n) {
                        const float *tg = t + (int64_t)w->g_idx[k + i] * 32;
                        _mm512_store_ps(dst + (k + i) * ld,
                                        _mm512_mul_ps(_mm512_sub_ps(mnb_qf(bits, v, i), _mm512_load_ps(tg + 16)),
                                                      _mm512_load_ps(tg)));
                    }
            }
        }
    }
}

T512 static void mnb_fill(const void *src, int64_t n0, int64_t n1, int64_t k0, int64_t k1, const NbxDst *o,
                          float *tab) {
    const Mnb *w = src;
    switch (w->bits) {
    case 2: mnb_fill_bits(2, w, n0, n1, k0, k1, o, tab); break;
    case 4: mnb_fill_bits(4, w, n0, n1, k0, k1, o, tab); break;
    case 8: mnb_fill_bits(8, w, n0, n1, k0, k1, o, tab); break;
    default: /* 3, 5, 6, 7 bits: one weight at a time */
        (void)tab;
        for (int64_t h = 0; h < NBX_HALVES; h++)
            for (int64_t k = k0; k < k1 && o->half[h]; k++)
                for (int64_t j = 0; j < 16; j++) {
                    const int64_t n = n0 + 16 * h + j;
                    o->half[h][(k - k0) * o->ld + j] = n < n1 ? mnb_weight(w, n, k) : 0.0f;
                }
        break;
    }
}

/* The tile source: d = q - zero (integer zero points), block a multiple of 32, no g_idx. */
TAMX INL void mnb_amx_fill_bits(const int bits, const Mnb *w, int64_t n0, int64_t n1, int64_t halves,
                                const float *tab, int64_t nks, uint16_t *bp) {
    const int per = 32 / bits;
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)(w->row_bytes / 4)));
    const __m512i hi16 = _mm512_set1_epi32((int)0xFFFF0000u);
    for (int64_t h = 0; h < halves; h++) {
        const int64_t r0 = n0 + 16 * h, valid = n1 - r0;
        uint16_t *dst = bp + (h / 2) * nks * 1024 + (h % 2) * 512;
        if (valid <= 0) {
            for (int64_t ks = 0; ks < nks; ks++) memset(dst + ks * 1024, 0, sizeof(uint16_t) * 512);
            continue;
        }
        const __mmask16 vm = (__mmask16)(valid >= 16 ? 0xffff : (1u << valid) - 1);
        const uint8_t *base = w->b + r0 * w->row_bytes;
        const float *t = tab + h * w->n_blocks * 32;
        /* the row's words in order (a block's blob follows the previous one): 16 at a time
         * (rows_words16) while 64 bytes fit in the row, then gathered */
        const int64_t segs = w->row_bytes / 64;
        __m512i W[16];
        for (int64_t ks = 0; ks < nks; ks++) {
            __m512i V[16];
            const int64_t word = ks * bits; /* first word of this step's 32 codes */
            if (word / 16 < segs) {
                if (word % 16 == 0) rows_words16(base, w->row_bytes, valid, word * 4, W);
                for (int i = 0; i < bits; i++) V[i] = W[(word + i) % 16];
            } else {
                for (int i = 0; i < bits; i++) V[i] = mnb_word(w, base, idx, vm, 32 * ks + per * i);
            }
            const __m512 zv = _mm512_load_ps(t + (32 * ks / w->block) * 32 + 16);
            uint16_t *d = dst + ks * 1024;
            for (int j = 0; j < 32; j += 2) {
                const __m512 d0 = _mm512_sub_ps(mnb_qf(bits, V[j / per], j % per), zv);
                const __m512 d1 = _mm512_sub_ps(mnb_qf(bits, V[(j + 1) / per], (j + 1) % per), zv);
                _mm512_store_si512(d + j * 16, _mm512_ternarylogic_epi32(_mm512_srli_epi32(_mm512_castps_si512(d0), 16),
                                                                         _mm512_castps_si512(d1), hi16, 0xF8));
            }
        }
    }
}

TAMX static void mnb_amx_tables(const AmxSrc *s, int64_t n0, int64_t n1, int64_t halves, float *tab) {
    mnb_tables(s->ctx, n0, n1, halves, tab);
}

TAMX static void mnb_amx_fill(const AmxSrc *s, int64_t n0, int64_t n1, int64_t halves, const float *tab,
                              uint16_t *bp) {
    const Mnb *w = s->ctx;
    switch (w->bits) {
    case 2: mnb_amx_fill_bits(2, w, n0, n1, halves, tab, s->nks, bp); break;
    case 4: mnb_amx_fill_bits(4, w, n0, n1, halves, tab, s->nks, bp); break;
    default: mnb_amx_fill_bits(8, w, n0, n1, halves, tab, s->nks, bp); break;
    }
}

/* 4-bit gemv for up to RT_NBITS_DIRECT_ROWS rows: per block a 16-entry table of its
 * weights, lut[c] = (c - zero) * scale; 16 bytes (32 codes) zero-extended to 16 lanes give
 * the even columns' codes in their low nibbles (vpermps reads 4 index bits) and, shifted,
 * the odd columns'. X comes de-interleaved per 32 columns (16 even, then 16 odd), zero past
 * K. */
typedef struct {
    const Mnb *w;
    const float *xd;        /* [rows][Kp] de-interleaved */
    int64_t Kp, rows;
    float *y;               /* [rows, N] */
    const float *bias;
    int64_t slots;
} MnbGemv;

T512 INL void mnb_gemv_rows(const int R, const MnbGemv *g, int64_t n0, int64_t n1) {
    const Mnb *w = g->w;
    const int64_t cpb = w->block / 32; /* 32-code chunks per block */
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int64_t n = n0; n < n1; n++) {
        const uint8_t *p = w->b + n * w->row_bytes;
        const float *xb = g->xd;
        __m512 acc[RT_NBITS_DIRECT_ROWS][2];
        for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        for (int64_t blk = 0; blk < w->n_blocks; blk++) {
            const __m512 lut = _mm512_mul_ps(_mm512_sub_ps(iota, _mm512_set1_ps(mnb_zero(w, n, blk))),
                                             _mm512_set1_ps(w->scales[n * w->n_blocks + blk]));
            for (int64_t c = 0; c < cpb; c++, p += 16, xb += 32) {
                _mm_prefetch((const char *)p + NBX_GEMV_PREFETCH, _MM_HINT_T0);
                const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
                const __m512 we = _mm512_permutexvar_ps(v, lut), wo = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), lut);
                for (int r = 0; r < R; r++) {
                    acc[r][0] = _mm512_fmadd_ps(_mm512_loadu_ps(xb + r * g->Kp), we, acc[r][0]);
                    acc[r][1] = _mm512_fmadd_ps(_mm512_loadu_ps(xb + r * g->Kp + 16), wo, acc[r][1]);
                }
            }
        }
        for (int r = 0; r < R; r++) {
            float v = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]));
            g->y[r * w->N + n] = g->bias ? v + g->bias[n] : v;
        }
    }
}

T512 static void mnb_gemv_chunk(void *arg, int64_t s0, int64_t s1) {
    const MnbGemv *g = arg;
    for (int64_t s = s0; s < s1; s++) {
        int64_t n0, n1;
        rt_chunk_range(g->w->N, g->slots, s, &n0, &n1);
        switch (g->rows) {
        case 1: mnb_gemv_rows(1, g, n0, n1); break;
        case 2: mnb_gemv_rows(2, g, n0, n1); break;
        case 3: mnb_gemv_rows(3, g, n0, n1); break;
        default: mnb_gemv_rows(4, g, n0, n1); break;
        }
    }
}

/* Y[M, N] = A @ W^T + bias for M <= RT_NBITS_DIRECT_ROWS, 4 bits, block a multiple of 32,
 * no g_idx. */
static int mnb_gemv(RtKernelCtx *c, const Mnb *w, const float *a, int64_t M, float *y, const float *bias) {
    const int64_t Kp = w->n_blocks * w->block;
    float *xd = rt_scratch(c, sizeof(float) * (size_t)(M * Kp));
    if (!xd) return RT_ERR_NOMEM;
    for (int64_t r = 0; r < M; r++)
        for (int64_t k = 0; k < Kp; k++) {
            const int64_t j = k % 32, src = k - j + (j < 16 ? 2 * j : 2 * (j - 16) + 1);
            xd[r * Kp + k] = src < w->K ? a[r * w->K + src] : 0.0f;
        }
    const int64_t per_row = w->K * M;
    MnbGemv g = {w, xd, Kp, M, y, bias, 0};
    g.slots = rt_pool_chunks(c->pool, w->N, per_row >= ((int64_t)1 << 16) ? 1 : ((int64_t)1 << 16) / per_row);
    rt_parallel_for(c->pool, g.slots, 1, mnb_gemv_chunk, &g);
    rt_scratch_free(c, xd);
    return RT_OK;
}

static int k_matmul_nbits_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(RT_OP_MATMUL_NBITS);
    const RtTensor *A = rt_in(n, in, 0), *S = rt_in(n, in, 2), *Z = rt_in(n, in, 3), *G = rt_in(n, in, 4);
    const RtTensor *bias = rt_in(n, in, 5);
    const int64_t K = rt_attr_int(n, "K", -1), N = rt_attr_int(n, "N", -1);
    if (c->shape_only || !nbx_avx512() || !A || A->dtype != RT_F32 || K <= 0 || N <= 0 ||
        rt_nbits_impl_select() != &rt_nbits_impl_avx512)
        return ref(c, n, in, out);
    /* the reference checks every input and attribute (g_idx's values too) and sets the shape */
    RtKernelCtx sc = *c;
    sc.shape_only = 1;
    int st = ref(&sc, n, in, out);
    if (st != RT_SHAPE_ONLY) return st;
    if (Z && Z->dtype != RT_U8 && Z->dtype != RT_F32) return ref(c, n, in, out);
    RT_TRY(rt_out_alloc_data(c, out[0]));
    Mnb w = {K, N, rt_attr_int(n, "block_size", 0), 0, 0, 0, 0, (int)rt_attr_int(n, "bits", 4), in[1]->data, S->data,
             Z && Z->dtype == RT_U8 ? Z->data : NULL, Z && Z->dtype == RT_F32 ? Z->data : NULL,
             G ? G->data : NULL};
    w.n_blocks = (K + w.block - 1) / w.block;
    w.blob = w.block * w.bits / 8;
    w.row_bytes = w.n_blocks * w.blob;
    w.zp_row = (w.n_blocks * w.bits + 7) / 8;
    const int64_t M = rt_numel(A) / K;
    const float *a = A->data, *b = bias ? bias->data : NULL;
    float *y = out[0]->data;
    if (rt_q4q8_applies(n, in) && rt_q4q8_vnni_supported()) { /* accuracy_level 4: int8 compute */
        RtQ4Weight q4;
        rt_q4q8_weight(n, in, &q4);
        return rt_q4q8_run_vnni(c, &q4, a, M, b, y);
    }
    const RtAct none = {RT_ACT_NONE, 0, 0};
    const int words = w.bits == 2 || w.bits == 4 || w.bits == 8;
    if (words && (uint64_t)w.row_bytes * 16 > (uint64_t)INT32_MAX) return ref(c, n, in, out); /* gather offsets */
    if (M <= NBX_DIRECT_ROWS && w.bits == 4 && w.block % 32 == 0 && !w.g_idx) return mnb_gemv(c, &w, a, M, y, b);
    if (words && amx_rows_pay(M, N, K) && w.block % 32 == 0 && !w.g_idx && !w.zp_f && nbx_amx()) {
        const AmxSrc src = {N, w.n_blocks, w.block / 32, (K + 31) / 32, mnb_amx_tables, mnb_amx_fill, &w};
        return amx_run(c, &src, a, M, K, y, b, &none);
    }
    return nbx_gemm(c, mnb_fill, &w, (size_t)(NBX_HALVES * w.n_blocks * 32), a, M, N, K, y, b, &none);
}

const RtKernelEntry rt_kernels_x86_nbits[] = {
    {RT_OP_LINEAR_NBITS, k_linear_nbits_x86},
    {RT_OP_MATMUL_NBITS, k_matmul_nbits_x86},
    {-1, 0},
};

#else /* not x86-64 with GCC-style target attributes: the reference kernels run */

const RtKernelEntry rt_kernels_x86_nbits[] = {
    {-1, 0},
};

#endif
