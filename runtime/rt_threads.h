/*
 * rt_threads.h — a small pool of worker threads for the kernels' data-parallel loops.
 *
 * A pool of T threads is the calling thread plus T-1 workers. rt_parallel_for splits
 * [0, n) into at most T contiguous chunks of at least min_chunk indices; the caller runs
 * chunk 0, each worker is offered one of the others, and the caller also runs any offered
 * chunk that no worker has started by the time it is free (so a worker slow to wake never
 * makes a loop slower than running it alone). It returns when every chunk is done.
 *
 * Kernels keep their results independent of the thread count: every output element is
 * computed by exactly one chunk with the same arithmetic as the serial loop (no reduction
 * is split across chunks), so outputs are bit-identical for any T.
 *
 * Idle workers spin briefly (a loop usually follows another within microseconds), then
 * sleep on a condition variable, so an idle pool does not steal the cores OpenBLAS's own
 * threads use for the GEMMs. There is no global state: each pool is an object, and two
 * pools may be used from two threads at once. A pool serves one rt_parallel_for at a time;
 * a call made while it is busy (from another thread, or nested inside a chunk) runs inline.
 * Without GCC-style atomics (__GNUC__), pools have no workers and everything runs inline.
 */
#ifndef WAFER_RT_THREADS_H
#define WAFER_RT_THREADS_H

#include "rt_core.h"

typedef struct RtThreadPool RtThreadPool;

/* One chunk of a loop: indices [begin, end) of the loop's range. */
typedef void (*RtParallelFn)(void *arg, int64_t begin, int64_t end);

/* A pool of n_threads threads (the caller counts as one, so n_threads - 1 workers are
 * started); memory comes from a (NULL = rt_allocator_default()). NULL when n_threads < 1,
 * or when memory or a thread could not be had. */
RtThreadPool *rt_pool_new(int n_threads, const RtAllocator *a);
/* Stops and joins the workers and frees the pool (NULL-safe). No loop may be running. */
void rt_pool_free(RtThreadPool *p);
/* Threads a loop may use: n_threads, or 1 for NULL. */
int rt_pool_threads(const RtThreadPool *p);

/* Chunks rt_parallel_for(p, n, min_chunk, ...) uses: min(threads, n / min_chunk), at least
 * 1 (min_chunk < 1 counts as 1); 0 when n <= 0. Kernels that need per-chunk scratch
 * allocate this many buffers and then call rt_parallel_for over the buffer slots. */
int64_t rt_pool_chunks(const RtThreadPool *p, int64_t n, int64_t min_chunk);

/* Runs fn over [0, n) in rt_pool_chunks(p, n, min_chunk) contiguous chunks, chunk i being
 * rt_chunk_range(n, chunks, i); returns when all are done. With one chunk (p NULL, n small,
 * or the pool busy) this is fn(arg, 0, n) on the calling thread; with n <= 0 fn is not
 * called. fn must not fail: chunks write disjoint outputs and report nothing back. */
void rt_parallel_for(RtThreadPool *p, int64_t n, int64_t min_chunk, RtParallelFn fn, void *arg);

/* Part i of [0, n) split into `parts` contiguous near-equal ranges (the first n % parts
 * ranges are one longer). */
static inline void rt_chunk_range(int64_t n, int64_t parts, int64_t i, int64_t *begin, int64_t *end) {
    int64_t q = n / parts, r = n % parts;
    *begin = i * q + (i < r ? i : r);
    *end = *begin + q + (i < r ? 1 : 0);
}

/* Bytes from one chunk's scratch buffer to the next when `slots` chunks each need `bytes`.
 * Threads looping over small buffers that sit next to each other slow each other down
 * (measured on this project's 2-core machine: two threads each rewriting its own 8 KiB
 * buffer ran 1.4x slower when the buffers were adjacent than when 16 KiB apart, probably
 * the hardware prefetchers pulling the neighbour's lines), so with more than one slot each
 * buffer is rounded up to 4 KiB and followed by a 16 KiB gap. */
static inline size_t rt_slot_stride(size_t bytes, int64_t slots) {
    if (slots <= 1) return bytes;
    return ((bytes + 4095) & ~(size_t)4095) + ((size_t)16 << 10);
}

#endif
