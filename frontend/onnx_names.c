/*
 * onnx_names.c — the name -> value index map used while loading (graphs have thousands of
 * values, and every node input is a lookup).
 *
 * Open addressing with linear probing over a power-of-two table kept at most half full;
 * FNV-1a hashes the name. Keys are borrowed (value names live in the graph arena), and
 * nothing is ever removed, so no tombstones are needed.
 */
#include "onnx_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t names_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

static int names_grow(OnnxNameMap *m) {
    size_t cap = m->cap ? m->cap * 2 : 256;
    const char **keys = calloc(cap, sizeof *keys);
    int *vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = names_hash(m->keys[i]) & (cap - 1);
        while (keys[j]) j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int onnx_names_put(OnnxNameMap *m, const char *key, int val) {
    if ((m->count + 1) * 2 > m->cap && names_grow(m) != 0) return -1;
    size_t j = names_hash(key) & (m->cap - 1);
    while (m->keys[j] && strcmp(m->keys[j], key) != 0) j = (j + 1) & (m->cap - 1);
    if (!m->keys[j]) m->count++;
    m->keys[j] = key;
    m->vals[j] = val;
    return 0;
}

int onnx_names_get(const OnnxNameMap *m, const char *key) {
    if (!m->cap) return -1;
    size_t j = names_hash(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}

void onnx_names_free(OnnxNameMap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
