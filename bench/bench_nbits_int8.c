/*
 * bench_nbits_int8.c — com.microsoft MatMulNBits (4096 x 4096, 4 bits, asymmetric, blocks
 * of 32 and of 128) with accuracy_level 4 (int8 compute of A: the VNNI kernel of
 * runtime/kernels/x86/nbits_int8_x86.c) against the same node without it (float compute,
 * nbits_x86.c's gemv and GEMM), both through the optimized MatMulNBits kernel, in the same
 * run; and the batch-1 GEMV against this machine's read bandwidth (bench_nbits' method).
 *
 * Batch 1 ("cold"): the buffer holds copies of one packed layer (B, scales, zero points:
 * 0.53 bytes a weight for block 128, 0.63 for block 32) far past the caches and each call
 * takes the next copy, so the weights stream from memory; read bandwidth is a STREAM-style
 * sum over the same buffer. Batch 128 ("hot", one layer over and over): compute bound, in
 * G multiply-adds per second; the int8 GEMM also with its panels kept in the node's state (as
 * the runtime runs a model: packed on the first call) against packing them per call. Each
 * figure is the best of BENCH_ROUNDS rounds (the machine is shared: the best round had the
 * least interference); within a round the int8 and float variants alternate.
 *
 * Usage: bench_nbits_int8 [--mb MIB] [--rounds R] [--threads 1|2]   (512 MiB, 5 rounds, 1)
 */
#define _DEFAULT_SOURCE /* madvise */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "../runtime/kernels/kernel.h"
#include "../runtime/kernels/nbits_int8.h"
#include "../runtime/rt_threads.h"
#include "bench_stream.h"
#include "bench_util.h"

#define BENCH_N 4096
#define BENCH_K 4096
#define BENCH_BUF_MB 512
#define BENCH_ROUNDS 5
#define BENCH_HOT_CALLS 10
#define BENCH_BATCH 128
#define BENCH_TARGET 0.80 /* the goal: cold int8 GEMV at >= 80% of the read bandwidth */

static const int64_t bench_blocks[] = {32, 128};
#define BENCH_NBLOCKS 2

/* One MatMulNBits layer's inputs inside the buffer. */
typedef struct {
    RtTensor b, scales, zp;
} Layer;

typedef struct {
    Layer *layers;
    int64_t count, block;
    size_t bytes; /* bytes a call reads: B + scales + zero points */
} Ring;

static size_t round64(size_t b) {
    return (b + 63) & ~(size_t)63;
}

static int ring_make(Ring *r, int64_t block, uint8_t *buf, size_t buf_bytes) {
    const int64_t nb = BENCH_K / block, zr = (nb + 1) / 2;
    const size_t bbytes = (size_t)(BENCH_N * nb * block / 2), sbytes = sizeof(float) * (size_t)(BENCH_N * nb),
                 zbytes = (size_t)(BENCH_N * zr), one = round64(bbytes) + round64(sbytes) + round64(zbytes);
    r->block = block;
    r->bytes = bbytes + sbytes + zbytes;
    r->count = (int64_t)(buf_bytes / one);
    if (r->count < 1) return -1;
    r->layers = calloc((size_t)r->count, sizeof *r->layers);
    if (!r->layers) return -1;
    uint32_t s = 12345;
    for (size_t i = 0; i < bbytes + round64(sbytes) + zbytes; i++) buf[i] = 0;
    for (size_t i = 0; i < bbytes; i++) buf[i] = (uint8_t)((s = s * 1664525u + 1013904223u) >> 13);
    float *s0 = (float *)(buf + round64(bbytes));
    uint8_t *z0 = buf + round64(bbytes) + round64(sbytes);
    for (int64_t i = 0; i < BENCH_N * nb; i++) s0[i] = 0.01f + 0.01f * (float)(((s = s * 1664525u + 1013904223u) >> 8) & 255) / 256.0f;
    for (int64_t i = 0; i < BENCH_N * zr; i++) z0[i] = (uint8_t)((s = s * 1664525u + 1013904223u) >> 20);
    for (int64_t l = 0; l < r->count; l++) {
        uint8_t *base = buf + (size_t)l * one;
        if (l > 0) memcpy(base, buf, one);
        Layer *L = &r->layers[l];
        L->b = (RtTensor){RT_U8, 3, {BENCH_N, nb, block / 2}, base};
        L->scales = (RtTensor){RT_F32, 2, {BENCH_N, nb}, base + round64(bbytes)};
        L->zp = (RtTensor){RT_U8, 2, {BENCH_N, zr}, base + round64(bbytes) + round64(sbytes)};
    }
    return 0;
}

/* y = MatMulNBits(a [M, K]) on layer L through the optimized kernel, accuracy_level `level`;
 * state: the node's kept state (its weights constant), or NULL for none. */
static int mnb_call(const Ring *r, const Layer *L, int level, const RtTensor *a, RtThreadPool *pool, void **state) {
    static RtError err;
    RtAttr at[5] = {{.name = "K", .type = RT_ATTR_INT, .i = BENCH_K},
                    {.name = "N", .type = RT_ATTR_INT, .i = BENCH_N},
                    {.name = "bits", .type = RT_ATTR_INT, .i = 4},
                    {.name = "block_size", .type = RT_ATTR_INT, .i = r->block},
                    {.name = "accuracy_level", .type = RT_ATTR_INT, .i = level}};
    int in_slots[4] = {0, 1, 2, 3}, out_slots[1] = {4};
    RtNode n = {RT_OP_MATMUL_NBITS, "mnb", "MatMulNBits", "com.microsoft", 1, 4, in_slots, 1, out_slots, 5, at};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &err, .pool = pool};
    if (state) c.node_state = state, c.state_alloc = rt_allocator_default(), c.const_inputs = 0xEu;
    RtTensor y = {0}, *in[4] = {(RtTensor *)a, (RtTensor *)&L->b, (RtTensor *)&L->scales, (RtTensor *)&L->zp};
    RtTensor *out[1] = {&y};
    int st = rt_kernel_find_fast(RT_OP_MATMUL_NBITS)(&c, &n, in, out);
    if (st != RT_OK) fprintf(stderr, "bench_nbits_int8: %s\n", err.msg);
    free(y.data);
    return st;
}

/* Seconds per call: cold = every copy once; hot = BENCH_HOT_CALLS calls on copy 0 (with
 * state: its kept state, made by an earlier call). */
static double call_time(const Ring *r, int level, const RtTensor *a, RtThreadPool *pool, int cold, void **state) {
    const int64_t calls = cold ? r->count : BENCH_HOT_CALLS;
    double t = now_s();
    for (int64_t c = 0; c < calls; c++) mnb_call(r, &r->layers[cold ? c : 0], level, a, pool, state);
    return (now_s() - t) / (double)calls;
}

static double min_d(double a, double b) {
    return a < b ? a : b;
}

int main(int argc, char **argv) {
    long mb = BENCH_BUF_MB;
    int rounds = BENCH_ROUNDS, threads = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc) {
            mb = atol(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            rounds = rounds < 1 ? 1 : rounds;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]) == 2 ? 2 : 1;
        } else {
            fprintf(stderr, "usage: bench_nbits_int8 [--mb MIB] [--rounds R] [--threads 1|2]\n");
            return 2;
        }
    }
    if (!rt_q4q8_vnni_supported()) {
        printf("nbits int8: no AVX-512 VNNI on this CPU; skipped\n");
        return 0;
    }
    const size_t buf_bytes = (size_t)mb << 20;
    uint8_t *buf = aligned_alloc((size_t)2 << 20, buf_bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (buf) madvise(buf, buf_bytes, MADV_HUGEPAGE);
#endif
    float *a1 = malloc(sizeof(float) * BENCH_K), *am = malloc(sizeof(float) * BENCH_K * BENCH_BATCH);
    RtThreadPool *pool = threads == 2 ? rt_pool_new(2, NULL) : NULL;
    if (!buf || !a1 || !am || (threads == 2 && !pool)) {
        fprintf(stderr, "bench_nbits_int8: out of memory (%ld MiB buffer)\n", mb);
        return 2;
    }
    for (size_t i = 0; i < buf_bytes / sizeof(float); i++) ((float *)buf)[i] = (float)(i & 7);
    for (int k = 0; k < BENCH_K; k++) a1[k] = (float)((k * 37) % 101) / 50.0f - 1.0f;
    for (int k = 0; k < BENCH_K * BENCH_BATCH; k++) am[k] = (float)((k * 37) % 101) / 50.0f - 1.0f;
    const RtTensor A1 = {RT_F32, 2, {1, BENCH_K}, a1}, AM = {RT_F32, 2, {BENCH_BATCH, BENCH_K}, am};
    const int64_t nfloats = (int64_t)(buf_bytes / sizeof(float)) & ~(int64_t)63;
    const size_t part = buf_bytes / BENCH_NBLOCKS & ~(size_t)63;
    Ring rings[BENCH_NBLOCKS];
    double bw = 0, cold[BENCH_NBLOCKS][2], hot[BENCH_NBLOCKS][2]; /* [block][int8 = 0, float = 1] */
    double kept[BENCH_NBLOCKS];   /* hot int8 with the panels kept in state[block] */
    void *state[BENCH_NBLOCKS] = {NULL};
    for (int bi = 0; bi < BENCH_NBLOCKS; bi++) {
        if (ring_make(&rings[bi], bench_blocks[bi], buf + (size_t)bi * part, part) != 0 ||
            mnb_call(&rings[bi], &rings[bi].layers[0], 4, &A1, pool, NULL) != RT_OK ||
            mnb_call(&rings[bi], &rings[bi].layers[0], 4, &AM, pool, &state[bi]) != RT_OK) { /* packs */
            fprintf(stderr, "bench_nbits_int8: could not build or run the layers\n");
            return 2;
        }
        cold[bi][0] = cold[bi][1] = hot[bi][0] = hot[bi][1] = kept[bi] = 1e30;
    }
    for (int round = 0; round < rounds; round++) {
        double b = bench_stream_read((const float *)buf, nfloats, pool);
        bw = b > bw ? b : bw;
        for (int bi = 0; bi < BENCH_NBLOCKS; bi++)
            for (int v = 0; v < 2; v++) {
                cold[bi][v] = min_d(cold[bi][v], call_time(&rings[bi], v ? 0 : 4, &A1, pool, 1, NULL));
                hot[bi][v] = min_d(hot[bi][v], call_time(&rings[bi], v ? 0 : 4, &AM, pool, 0, NULL));
                if (v == 0) kept[bi] = min_d(kept[bi], call_time(&rings[bi], 4, &AM, pool, 0, &state[bi]));
            }
    }
    printf("nbits int8: MatMulNBits %dx%d 4-bit asym, %d thread(s); %lld/%lld layer copies (block %lld/%lld) in a "
           "%ld MiB buffer, best of %d rounds\n",
           BENCH_N, BENCH_K, threads, (long long)rings[0].count, (long long)rings[1].count,
           (long long)bench_blocks[0], (long long)bench_blocks[1], mb, rounds);
    printf("read bandwidth (STREAM-style sum over the buffer): %.1f GB/s\n", bw / 1e9);
    printf("%-6s %-7s %12s %10s %14s %14s %14s\n", "block", "compute", "M=1 ms/call", "GB/s", "of bandwidth",
           "M=128 ms/call", "G MAC/s");
    int met = 1;
    for (int bi = 0; bi < BENCH_NBLOCKS; bi++)
        for (int v = 0; v < 2; v++) {
            const double frac = (double)rings[bi].bytes / cold[bi][v] / bw;
            printf("%-6lld %-7s %12.3f %10.2f %13.0f%% %14.3f %14.1f\n", (long long)bench_blocks[bi],
                   v ? "float" : "int8", cold[bi][v] * 1e3, (double)rings[bi].bytes / cold[bi][v] / 1e9, 100 * frac,
                   hot[bi][v] * 1e3, (double)BENCH_N * BENCH_K * BENCH_BATCH / hot[bi][v] / 1e9);
            if (v == 0 && frac < BENCH_TARGET) met = 0;
        }
    for (int bi = 0; bi < BENCH_NBLOCKS; bi++)
        printf("block %lld: int8 / float speed: batch 1 %.2fx, batch %d %.2fx\n", (long long)bench_blocks[bi],
               cold[bi][1] / cold[bi][0], BENCH_BATCH, hot[bi][1] / hot[bi][0]);
    for (int bi = 0; bi < BENCH_NBLOCKS; bi++)
        printf("block %lld: batch %d int8, panels kept in the node's state %.3f ms/call, packed per call %.3f "
               "(%.2fx)\n", (long long)bench_blocks[bi], BENCH_BATCH, kept[bi] * 1e3, hot[bi][0] * 1e3,
               hot[bi][0] / kept[bi]);
    printf("target: cold int8 GEMV >= %.0f%% of the read bandwidth (blocks 32 and 128): %s\n", 100 * BENCH_TARGET,
           met ? "met" : "NOT met");
    if (pool) rt_pool_free(pool);
    for (int bi = 0; bi < BENCH_NBLOCKS; bi++) {
        free(rings[bi].layers);
        if (state[bi]) rt_allocator_default()->free(rt_allocator_default()->user, state[bi]);
    }
    free(buf), free(a1), free(am);
    return 0;
}
