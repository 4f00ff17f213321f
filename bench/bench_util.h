/*
 * bench_util.h — what the micro-benchmarks (bench/bench_*.c) share: a monotonic clock in
 * seconds and a qsort comparison for doubles (medians of timed rounds).
 */
#ifndef WAFER_BENCH_UTIL_H
#define WAFER_BENCH_UTIL_H

#include <time.h>

static inline double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#endif
