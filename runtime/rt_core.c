/*
 * rt_core.c — dtypes, shapes, half-precision conversion, errors, the default allocator.
 */
#include "rt_core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t rt_clock_ns(void) {
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
#endif
    return 0;
}

int rt_error_set(RtError *e, const char *fmt, ...) {
    if (e && e->msg[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return RT_ERR;
}

static void *default_alloc(void *user, size_t bytes) {
    (void)user;
    void *p = NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes) return NULL;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0) return NULL;
    return p;
}

static void default_free(void *user, void *p) {
    (void)user;
    free(p);
}

const RtAllocator *rt_allocator_default(void) {
    static const RtAllocator a = {default_alloc, default_free, NULL};
    return &a;
}

size_t rt_dtype_size(RtDtype t) {
    switch (t) {
    case RT_F32: case RT_I32: case RT_U32: return 4;
    case RT_U8: case RT_I8: case RT_BOOL: return 1;
    case RT_U16: case RT_I16: case RT_F16: case RT_BF16: return 2;
    case RT_I64: case RT_U64: case RT_F64: return 8;
    default: return 0;
    }
}

const char *rt_dtype_name(RtDtype t) {
    switch (t) {
    case RT_F32: return "float32";
    case RT_U8: return "uint8";
    case RT_I8: return "int8";
    case RT_U16: return "uint16";
    case RT_I16: return "int16";
    case RT_I32: return "int32";
    case RT_I64: return "int64";
    case RT_STRING: return "string";
    case RT_BOOL: return "bool";
    case RT_F16: return "float16";
    case RT_F64: return "float64";
    case RT_U32: return "uint32";
    case RT_U64: return "uint64";
    case RT_BF16: return "bfloat16";
    default: return "?";
    }
}

int rt_dtype_is_float(RtDtype t) {
    return t == RT_F32 || t == RT_F16 || t == RT_BF16 || t == RT_F64;
}

int64_t rt_shape_numel(int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) return -1;
        if (dims[i] != 0 && n > INT64_MAX / dims[i]) return -1;
        n *= dims[i];
    }
    return n;
}

int64_t rt_numel(const RtTensor *t) { return rt_shape_numel(t->rank, t->dims); }

int64_t rt_nbytes(const RtTensor *t) {
    int64_t n = rt_numel(t);
    int64_t sz = (int64_t)rt_dtype_size(t->dtype);
    if (n < 0 || sz == 0) return -1;
    if (n > INT64_MAX / sz) return -1;
    return n * sz;
}

int rt_shape_equal(const RtTensor *a, const RtTensor *b) {
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

const char *rt_shape_str(int rank, const int64_t *dims, char *buf, size_t n) {
    size_t used = 0;
    if (n == 0) return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf + used, n - used, "[");
    for (int i = 0; i < rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}

/* IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits. */
float rt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalize */
            int e = -1;
            do { e++; man <<= 1; } while ((man & 0x400) == 0);
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t rt_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t exp = (x >> 23) & 0xff;
    uint32_t man = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0)); /* inf / nan */
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);                         /* overflow */
    if (e <= 0) {                                                          /* subnormal or zero */
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        int shift = 14 - e;
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* carry may roll into exp: correct */
    return (uint16_t)half;
}

float rt_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t rt_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40); /* quiet nan */
    uint32_t lsb = (x >> 16) & 1;
    x += 0x7fff + lsb;
    return (uint16_t)(x >> 16);
}
