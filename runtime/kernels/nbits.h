/*
 * nbits.h — LinearNBits' compute core, shared by the reference kernel (ref/nbits.c), its
 * AVX2 and AVX-512 variants (nbits_avx2.c, nbits_avx512.c), the tests and bench_nbits.
 *
 * Y[rows, N] = act(X[rows, K] @ W + B) with W[k, n] = (q[n, k] - zero[n, g(k)]) * scale[n, g(k)]
 * and the codes q packed as qblock.h says. An implementation (RtNbitsImpl) supplies two
 * loops over packed rows, both computing each weight as exactly that float product:
 *   gemv     Y rows directly from the packed codes, for up to RT_NBITS_DIRECT_ROWS rows of X
 *            (batch 1 is the bandwidth-bound case: every weight is read once, decoded in
 *            registers, never written out);
 *   dequant  a tile of W^T (some output rows, some 32-column blocks) into a float buffer,
 *            for batches: rt_nbits_linear_run then multiplies tiles with rt_sgemm.
 * rt_nbits_impl_select() picks the best implementation this CPU runs (AVX-512, then AVX2,
 * then the reference), or the reference when WAFER_RT_REF=1 is in the environment.
 */
#ifndef WAFER_RT_NBITS_H
#define WAFER_RT_NBITS_H

#include "../rt_core.h"
#include "qblock.h"
#include "ref/activation.h"

struct RtThreadPool;

/* X rows up to which the kernel decodes the weights once per RT_NBITS_DIRECT_ROWS rows of X
 * (gemv); above, it dequantizes tiles once and runs a float GEMM on them. */
#define RT_NBITS_DIRECT_ROWS 4

/* The weights as the loops see them. Prepared by rt_nbits_linear_run. */
typedef struct {
    int bits;               /* 2, 3, 4 or 8 */
    int64_t N, K;           /* output rows, input columns */
    int64_t NG;             /* groups per output row (columns of scales and zeros) */
    int64_t G;              /* when gi is NULL: columns per group, a multiple of 32 */
    int64_t nb;             /* blocks per row: ceil(K / 32) */
    size_t row_bytes;       /* packed bytes per output row: nb * RT_QBLOCK_BYTES(bits) */
    const uint8_t *packed;  /* borrowed [N * row_bytes] */
    const float *scales;    /* borrowed [N, NG] */
    const uint8_t *zeros;   /* borrowed [N, NG] */
    const int32_t *gi;      /* borrowed [nb * 32]: group of each column (0 past K), or NULL
                             * when groups are G consecutive columns (g(k) = k / G) */
} RtNbitsWeight;

typedef struct {
    const char *name;       /* "ref", "avx2", "avx512" */
    int (*supported)(void); /* 1 when this CPU runs it */
    /* y[r * ldy + n] = sum_k x[r * ldx + k] * W[k, n] for r < rows (1..RT_NBITS_DIRECT_ROWS)
     * and n in [n0, n1). Each x row holds nb * 32 floats, zero past K. zbuf: NG floats of
     * scratch for the caller's thread. */
    void (*gemv)(const RtNbitsWeight *w, const float *x, int64_t ldx, int rows, float *y, int64_t ldy,
                 int64_t n0, int64_t n1, float *zbuf);
    /* tile[(n - n0) * ldt + (k - k0)] = W[k, n] for n in [n0, n1), k in [k0, k1);
     * k0 a multiple of 32, k1 <= K. zbuf: NG floats of scratch, as for gemv. */
    void (*dequant)(const RtNbitsWeight *w, int64_t n0, int64_t n1, int64_t k0, int64_t k1, float *tile,
                    int64_t ldt, float *zbuf);
} RtNbitsImpl;

extern const RtNbitsImpl rt_nbits_impl_ref;    /* ref/nbits.c */
extern const RtNbitsImpl rt_nbits_impl_avx2;   /* nbits_avx2.c (supported() is 0 off x86) */
extern const RtNbitsImpl rt_nbits_impl_avx512; /* nbits_avx512.c */

/* The implementation LinearNBits uses now (see the header comment). */
const RtNbitsImpl *rt_nbits_impl_select(void);

/* Activation applied after the bias, as wafer_ops.h defines them: ref/activation.h's, under
 * the names the LinearNBits tests and bench_nbits use. */
typedef RtActKind RtNbitsActKind;
typedef RtAct RtNbitsAct;
#define RT_NBITS_ACT_NONE RT_ACT_NONE
#define RT_NBITS_ACT_RELU RT_ACT_RELU
#define RT_NBITS_ACT_CLIP RT_ACT_CLIP
#define RT_NBITS_ACT_LEAKY_RELU RT_ACT_LEAKY_RELU
#define RT_NBITS_ACT_SIGMOID RT_ACT_SIGMOID
#define RT_NBITS_ACT_HARD_SIGMOID RT_ACT_HARD_SIGMOID

/* One LinearNBits layer, as its inputs and attributes give it. */
typedef struct {
    int bits;               /* 2, 3, 4 or 8 */
    int64_t N, K;           /* output rows, input columns */
    int64_t group;          /* G; 0 = one group per row */
    const uint8_t *packed;  /* borrowed [rt_qblock_packed_size(bits, N, K)] */
    const float *scales;    /* borrowed [N, NG], NG = group ? ceil(K / group) : 1 */
    const uint8_t *zeros;   /* borrowed [N, NG] */
    const int32_t *g_idx;   /* borrowed [K] group of each column (act-order), or NULL */
    const float *bias;      /* borrowed [N] or NULL */
    RtAct act;
} RtNbitsLinear;

/* Groups per row of a layer: group ? ceil(K / group) : 1 (1 also when K is 0). */
int64_t rt_nbits_groups(int64_t K, int64_t group);

/* y[rows, N] = act(x[rows, K] @ W + bias) with impl, split over pool's threads by output
 * rows (results do not depend on the thread count). Scratch comes from a. Returns RT_OK,
 * RT_ERR with a message in err (a g_idx entry outside [0, NG)), or RT_ERR_NOMEM. */
/* The weight view w of L (formats, groups, packed rows); *gi_out = a per-column group index
 * (act-order g_idx, or a group size that is not whole blocks) from a, which the caller frees,
 * or NULL. RT_ERR with a message when a g_idx entry is out of range. */
int rt_nbits_weight_prepare(const RtNbitsLinear *L, RtNbitsWeight *w, int32_t **gi_out, const RtAllocator *a,
                            RtError *err);
int rt_nbits_linear_run(const RtNbitsImpl *impl, const RtNbitsLinear *L, const float *x, int64_t rows, float *y,
                        struct RtThreadPool *pool, const RtAllocator *a, RtError *err);

#endif
