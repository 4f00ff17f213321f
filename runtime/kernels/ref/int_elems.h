/*
 * int_elems.h — private helpers for kernels that compute integers in 64-bit wrapping
 * arithmetic whatever the element type (ref/linalg.c, ref/reduce.c): load an element as
 * int64 bits, store int64 bits back truncated to the type (the type's own modular result),
 * and store a double result into an integer element.
 *
 * Everything here is static inline: only kernels in ref/ include it.
 */
#ifndef WAFER_REF_INT_ELEMS_H
#define WAFER_REF_INT_ELEMS_H

#include "../kernel.h"

/* An integer element as int64 bits (uint64 values keep their bit pattern). */
static inline int64_t load_i(const RtTensor *t, int64_t i) {
    return t->dtype == RT_I64 ? ((const int64_t *)t->data)[i] : rt_get_i64(t, i);
}

/* Stores 64-bit integer bits into element i, truncating to the type as C casts do
 * (float types get the value of the bits as int64). */
static inline void store_i(RtTensor *t, int64_t i, uint64_t v) {
    void *p = t->data;
    switch (t->dtype) {
    case RT_I64: case RT_U64: ((uint64_t *)p)[i] = v; break;
    case RT_I32: case RT_U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case RT_I16: case RT_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case RT_I8: case RT_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case RT_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default: rt_set_f64(t, i, (double)(int64_t)v); break;
    }
}

/* A double into an integer element: NaN -> 0, saturating at the int64 range (the uint64
 * range for uint64 elements), then truncated to the type as store_i does. */
static inline void store_i_from_f(RtTensor *t, int64_t i, double d) {
    int64_t v = 0;
    if (d != d) v = 0;
    else if (d >= 9.2e18) v = INT64_MAX;
    else if (d <= -9.2e18) v = INT64_MIN;
    else v = (int64_t)d;
    if (t->dtype == RT_U64 && d >= 9.2e18) {
        store_i(t, i, d >= 1.8e19 ? UINT64_MAX : (uint64_t)d);
        return;
    }
    store_i(t, i, (uint64_t)v);
}

#endif
