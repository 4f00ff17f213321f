/*
 * train_rng.c — the seeded generator behind mini-batch shuffling: splitmix64 (Steele, Lea and
 * Flood), a 64-bit state and a fixed mixing function, so a --seed gives the same order on any
 * machine and compiler. Shuffles are Fisher-Yates with Lemire's unbiased bounded draw.
 */
#include "train.h"

uint64_t train_rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias (rejection on the low product). */
static uint64_t rng_below(uint64_t *s, uint64_t n) {
    for (;;) {
        unsigned __int128 p = (unsigned __int128)train_rng_next(s) * n;
        uint64_t lo = (uint64_t)p;
        if (lo >= n || lo >= (0 - n) % n) return (uint64_t)(p >> 64);
    }
}

void train_rng_shuffle(uint64_t *s, int64_t *idx, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)rng_below(s, (uint64_t)i + 1);
        int64_t t = idx[i];
        idx[i] = idx[j], idx[j] = t;
    }
}
