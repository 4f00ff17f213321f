/*
 * sgemm_state.c — a node's constant weights packed once for the GEMM (sgemm.h) and kept in
 * the node's persistent state (kernel.h: c->node_state, c->state_alloc, c->const_inputs).
 *
 * The state is one block from c->state_alloc: a 64-byte header, then the packed floats of
 * every part (64-byte aligned, as rt_sgemm_run's packed layouts want). The header records
 * a magic number, the layout version (SGS_VERSION: bump it when sgemm_avx512.c's packed
 * layout changes), which input and side it packs, the transpose flag and the shapes; a
 * block whose header differs from what the caller asks for is never used (the caller then
 * packs per call), and never replaced either, since some other kernel of this node may own
 * it. The owner of the model frees the block (rt_node_state_free).
 *
 * rt_sgemm_state_packed_pre puts `prefix` bytes of the caller's own before the header (the
 * conv kernels keep their node's geometry there, conv_x86.c): the block is then [prefix]
 * [header][data], and a block made with another prefix never matches.
 */
#include <string.h>

#include "sgemm.h"

#define SGS_MAGIC 0x4b505357u /* "WSPK" */
#define SGS_VERSION 1u

typedef struct {
    uint32_t magic, version;
    int32_t input, side, trans, pad;
    int64_t rows, cols, parts;
    int64_t part_floats;          /* packed floats of one part (parts are 64-byte aligned) */
} SgsHeader;

/* The packed data starts one cache line after the block's start. */
#define SGS_DATA_OFFSET 64

static int sgs_matches(const SgsHeader *h, int input, int side, int trans, int64_t rows, int64_t cols,
                       int64_t parts, int64_t part_floats) {
    return h->magic == SGS_MAGIC && h->version == SGS_VERSION && h->input == input && h->side == side &&
           h->trans == trans && h->rows == rows && h->cols == cols && h->parts == parts &&
           h->part_floats == part_floats;
}

const float *rt_sgemm_state_packed(RtKernelCtx *c, int input, int side, int trans, int64_t rows, int64_t cols,
                                   int64_t parts, const float *w, int64_t ld, int64_t part_stride,
                                   int64_t *part_stride_out) {
    return rt_sgemm_state_packed_pre(c, 0, input, side, trans, rows, cols, parts, w, ld, part_stride,
                                     part_stride_out);
}

const float *rt_sgemm_state_packed_pre(RtKernelCtx *c, size_t prefix, int input, int side, int trans, int64_t rows,
                                       int64_t cols, int64_t parts, const float *w, int64_t ld, int64_t part_stride,
                                       int64_t *part_stride_out) {
    if (!c->node_state || !c->state_alloc || input < 0 || input >= 64 || !(c->const_inputs >> input & 1u) ||
        parts < 1 || !w || prefix % 64 != 0 || prefix > ((size_t)1 << 20))
        return NULL;
    const int64_t pf = side == RT_SGEMM_SIDE_A ? rt_sgemm_packed_a_floats(rows, cols)
                                               : rt_sgemm_packed_b_floats(rows, cols);
    if (pf <= 0 || pf > (INT64_MAX / 4 - SGS_DATA_OFFSET) / parts - 16) return NULL;
    const int64_t stride = (pf + 15) / 16 * 16; /* parts 64-byte aligned */
    *part_stride_out = stride;
    trans = trans != 0;
    if (*c->node_state) {
        SgsHeader *h = (SgsHeader *)((char *)*c->node_state + prefix);
        return sgs_matches(h, input, side, trans, rows, cols, parts, pf) ? (const float *)((char *)h + SGS_DATA_OFFSET)
                                                                          : NULL;
    }
    const size_t bytes = prefix + SGS_DATA_OFFSET + sizeof(float) * (size_t)(stride * parts);
    char *block = c->state_alloc->alloc(c->state_alloc->user, bytes);
    if (!block) return NULL; /* no caching: the caller packs per call */
    memset(block, 0, bytes); /* the prefix, the header, and the gaps between parts */
    SgsHeader *h = (SgsHeader *)(block + prefix);
    float *data = (float *)((char *)h + SGS_DATA_OFFSET);
    for (int64_t p = 0; p < parts; p++) {
        if (side == RT_SGEMM_SIDE_A) rt_sgemm_pack_a(trans, rows, cols, w + p * part_stride, ld, data + p * stride);
        else rt_sgemm_pack_b(trans, rows, cols, w + p * part_stride, ld, data + p * stride);
    }
    h->magic = SGS_MAGIC;
    h->version = SGS_VERSION;
    h->input = input, h->side = side, h->trans = trans;
    h->rows = rows, h->cols = cols, h->parts = parts, h->part_floats = pf;
    *c->node_state = block;
    return data;
}
