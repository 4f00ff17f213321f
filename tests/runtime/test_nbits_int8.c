/*
 * test_nbits_int8.c — MatMulNBits' int8 compute (runtime/kernels/nbits_int8.h): the
 * reference quantizer and GEMM on cases worked by hand in the comments, the AVX-512 VNNI
 * kernels (x86/nbits_int8_x86.c, rows 1..5; x86/nbits_int8_gemm_x86.c, 6 and more) against
 * the reference on odd shapes (rows 1..40, K not a multiple of the block or of 128, N 1..100,
 * blocks 32..256, packed and default zero points, bias, 1 and 2 threads), and the int8
 * result against float compute within the error the quantization of A allows.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/nbits_int8.h"
#include "../../runtime/kernels/qblock.h"
#include "../../runtime/rt_exec.h"
#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

/* The VNNI kernel and the reference compute the same integer sums; only their float parts
 * are summed in another order (the kernel: 16 lanes of 8 codes per 128 codes, the zero
 * points' block terms in the same or other lanes, then the lanes; the reference: block by
 * block). Each order's
 * rounding error is at most (terms - 1) * 2^-24 of the sum of the terms' magnitudes
 * (recursive summation), terms <= Kp / 8 + n_blocks + 16 lanes; two such errors apart. */
#define Q8_SUM_REL(terms) (2.0 * (double)(terms) * 5.960464477539063e-08)

static RtKernelCtx ctx_with(RtThreadPool *pool) {
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &rtt_err, .pool = pool};
    return c;
}

/* amax = 15.875 = 127 / 8: sa = 0.125 and inv = 8 exactly, so q = round-half-even(8 a):
 *   0.0625 -> 0.5 -> 0, 0.1875 -> 1.5 -> 2, -0.3125 -> -2.5 -> -2, 1.0 -> 8,
 *   15.875 -> 127, -15.875 -> -127 (the amax element of either sign), 0 -> 0.
 * K = 40, block 32: the second block holds 8 values (zeros after them), all 0: sa 0, q 0. */
Test(nbits_int8, quantize_rows_by_hand) {
    float a[40] = {0.0625f, 0.1875f, -0.3125f, 1.0f, 15.875f, -15.875f};
    int8_t q[64];
    float sa[2];
    int32_t sum[2];
    memset(q, 0x55, sizeof q);
    rt_q8_quantize_rows(a, 1, 40, 32, q, sa, sum);
    const int8_t want[6] = {0, 2, -2, 8, 127, -127};
    for (int i = 0; i < 6; i++) cr_expect_eq(q[i], want[i], "q[%d] = %d, want %d", i, q[i], want[i]);
    for (int i = 6; i < 64; i++) cr_expect_eq(q[i], 0, "q[%d] = %d, want 0", i, q[i]);
    cr_expect_eq(sa[0], 0.125f);
    cr_expect_eq(sum[0], 8);
    cr_expect_eq(sa[1], 0.0f);
    cr_expect_eq(sum[1], 0);
}

/* The AVX-512 quantizer against the reference, bit for bit: random rows with a block of
 * exact halves (the hand case above: ties to even), zeros, NaN and infinities, K tails. */
Test(nbits_int8, quantize_avx512_bit_identical) {
    if (!rt_q4q8_vnni_supported()) cr_skip_test("no AVX-512 VNNI on this CPU");
    const int64_t Ks[] = {1, 31, 32, 40, 200, 1000}, blocks[] = {32, 64, 128, 256};
    uint32_t seed = 7;
    for (int ki = 0; ki < 6; ki++)
        for (int bi = 0; bi < 4; bi++) {
            const int64_t K = Ks[ki], block = blocks[bi], M = 3, nb = (K + block - 1) / block, Kp = nb * block;
            float *a = malloc(sizeof(float) * (size_t)(M * K));
            for (int64_t i = 0; i < M * K; i++) a[i] = rtt_uniform(&seed, -3, 3);
            const float ties[6] = {0.0625f, 0.1875f, -0.3125f, 1.0f, 15.875f, -15.875f};
            for (int64_t i = 0; i < 6 && i < K; i++) a[i] = ties[i];
            if (K > 40) {
                for (int64_t i = K; i < 2 * K && i < K + 32; i++) a[i] = 0.0f; /* an all-zero block in row 1 */
                a[2 * K + 3] = NAN;
                a[2 * K + 35] = INFINITY;
                a[2 * K + 36] = -2.0f;
            }
            int8_t *q1 = malloc((size_t)(M * Kp)), *q2 = malloc((size_t)(M * Kp));
            float *s1 = malloc(sizeof(float) * (size_t)(M * nb)), *s2 = malloc(sizeof(float) * (size_t)(M * nb));
            int32_t *u1 = malloc(sizeof(int32_t) * (size_t)(M * nb)), *u2 = malloc(sizeof(int32_t) * (size_t)(M * nb));
            rt_q8_quantize_rows(a, M, K, block, q1, s1, u1);
            rt_q8_quantize_rows_avx512(a, M, K, block, q2, s2, u2);
            cr_expect(memcmp(q1, q2, (size_t)(M * Kp)) == 0, "K %lld block %lld: q differs", (long long)K, (long long)block);
            cr_expect(memcmp(s1, s2, sizeof(float) * (size_t)(M * nb)) == 0, "K %lld block %lld: sa differs", (long long)K,
                      (long long)block);
            cr_expect(memcmp(u1, u2, sizeof(int32_t) * (size_t)(M * nb)) == 0, "K %lld block %lld: sums differ",
                      (long long)K, (long long)block);
            free(a), free(q1), free(q2), free(s1), free(s2), free(u1), free(u2);
        }
}

/* A row of 32 ones: amax 1, qa = 127 each, S = 4064, sa = 1/127.
 * Row 0: codes k % 16 (0..15 twice: sum 240), zero point 8, scale 0.5:
 *   dot = 127 * 240 - 8 * 4064 = -2032, y = (1/127) * 0.5 * -2032 = -8 (float compute: -8 too).
 * Row 1: codes 5, zero point 3 (packed, high nibble of byte 0 is block 1's, unused), scale 2:
 *   dot = 127 * 160 - 3 * 4064 = 8128, y = (1/127) * 2 * 8128 = 128; + bias 1 -> 129 and -7.
 * The float products round (1/127 is inexact): a few ulps. */
Test(nbits_int8, gemm_ref_by_hand) {
    uint8_t b[2 * 16];
    for (int j = 0; j < 16; j++) {
        b[j] = (uint8_t)((2 * j) % 16 | ((2 * j + 1) % 16) << 4);
        b[16 + j] = 0x55;
    }
    const float scales[2] = {0.5f, 2.0f}, bias[2] = {1.0f, 1.0f};
    const uint8_t zp[2] = {0x08, 0xF3};
    RtQ4Weight w = {32, 2, 32, 1, 16, 1, b, scales, zp};
    float a[32], y[2];
    for (int k = 0; k < 32; k++) a[k] = 1.0f;
    RtKernelCtx c = ctx_with(NULL);
    cr_assert_eq(rt_q4q8_run_ref(&c, &w, a, 1, bias, y), RT_OK);
    cr_expect(fabsf(y[0] - -7.0f) <= 4e-6f && fabsf(y[1] - 129.0f) <= 1e-4f, "y = %.9g %.9g, want -7 129", y[0], y[1]);
    if (rt_q4q8_vnni_supported()) {
        cr_assert_eq(rt_q4q8_run_vnni(&c, &w, a, 1, bias, y), RT_OK);
        cr_expect(fabsf(y[0] - -7.0f) <= 4e-6f && fabsf(y[1] - 129.0f) <= 1e-4f, "vnni y = %.9g %.9g", y[0], y[1]);
    }
}

typedef struct {
    int64_t M, K, N, block;
    int zp, bias;
} Case;

/* Random codes, scales in [0.01, 0.1), zero points 0..15 (or none), A in [-2, 2) with a few
 * large values so blocks get different scales. */
typedef struct {
    RtQ4Weight w;
    uint8_t *b, *zp;
    float *scales, *bias, *a;
} Layer;

static Layer layer_make(const Case *k, uint32_t seed) {
    Layer L = {0};
    const int64_t nb = (k->K + k->block - 1) / k->block, rb = nb * k->block / 2, zr = (nb + 1) / 2;
    L.b = malloc((size_t)(k->N * rb));
    L.zp = malloc((size_t)(k->N * zr));
    L.scales = malloc(sizeof(float) * (size_t)(k->N * nb));
    L.bias = malloc(sizeof(float) * (size_t)k->N);
    L.a = malloc(sizeof(float) * (size_t)(k->M * k->K));
    for (int64_t i = 0; i < k->N * rb; i++) L.b[i] = (uint8_t)rtt_lcg(&seed);
    for (int64_t i = 0; i < k->N * zr; i++) L.zp[i] = (uint8_t)rtt_lcg(&seed);
    for (int64_t i = 0; i < k->N * nb; i++) L.scales[i] = rtt_uniform(&seed, 0.01f, 0.1f);
    for (int64_t i = 0; i < k->N; i++) L.bias[i] = rtt_uniform(&seed, -1, 1);
    for (int64_t i = 0; i < k->M * k->K; i++) L.a[i] = rtt_uniform(&seed, -2, 2) * (i % 37 == 0 ? 8.0f : 1.0f);
    RtQ4Weight w = {k->K, k->N, k->block, nb, rb, zr, L.b, L.scales, k->zp ? L.zp : NULL};
    L.w = w;
    return L;
}

static void layer_free(Layer *L) {
    free(L->b), free(L->zp), free(L->scales), free(L->bias), free(L->a);
}

static int code(const RtQ4Weight *w, int64_t n, int64_t k) {
    return (w->b[n * w->row_bytes + k / 2] >> (4 * (k & 1))) & 15;
}

static int zero(const RtQ4Weight *w, int64_t n, int64_t b) {
    return w->zp ? (w->zp[n * w->zp_row + b / 2] >> (4 * (b & 1))) & 15 : 8;
}

/* Per output, the sum of the magnitudes of every float term either order adds: per block
 * |sa sb| (sum_k |qa q| + z |S|), + |bias|. */
static double term_mag(const Layer *L, const int8_t *q, const float *sa, const int32_t *sum, int64_t m, int64_t n) {
    const RtQ4Weight *w = &L->w;
    const int64_t nb = w->n_blocks, Kp = nb * w->block;
    double t = fabs(L->bias[n]);
    for (int64_t b = 0; b < nb; b++) {
        double d = 0;
        for (int64_t k = b * w->block; k < (b + 1) * w->block; k++) d += fabs((double)q[m * Kp + k] * code(w, n, k));
        t += fabs((double)sa[m * nb + b] * w->scales[n * nb + b]) * (d + zero(w, n, b) * fabs((double)sum[m * nb + b]));
    }
    return t;
}

/* VNNI against the reference, 1 and 2 threads (bit-identical: each output one thread's). */
static void vnni_case(const Case *k, RtThreadPool *pool) {
    Layer L = layer_make(k, (uint32_t)(k->M * 7919 + k->K * 31 + k->N + k->block));
    const RtQ4Weight *w = &L.w;
    const int64_t nb = w->n_blocks, Kp = nb * w->block, MN = k->M * k->N;
    float *yr = malloc(sizeof(float) * (size_t)MN), *y1 = malloc(sizeof(float) * (size_t)MN),
          *y2 = malloc(sizeof(float) * (size_t)MN);
    int8_t *q = malloc((size_t)(k->M * Kp));
    float *sa = malloc(sizeof(float) * (size_t)(k->M * nb));
    int32_t *sum = malloc(sizeof(int32_t) * (size_t)(k->M * nb));
    const float *bias = k->bias ? L.bias : NULL;
    RtKernelCtx c1 = ctx_with(NULL), c2 = ctx_with(pool);
    cr_assert_eq(rt_q4q8_run_ref(&c1, w, L.a, k->M, bias, yr), RT_OK);
    cr_assert_eq(rt_q4q8_run_vnni(&c1, w, L.a, k->M, bias, y1), RT_OK);
    cr_assert_eq(rt_q4q8_run_vnni(&c2, w, L.a, k->M, bias, y2), RT_OK);
    rt_q8_quantize_rows(L.a, k->M, k->K, k->block, q, sa, sum);
    int bad = 0;
    for (int64_t m = 0; m < k->M && bad < 5; m++)
        for (int64_t n = 0; n < k->N && bad < 5; n++) {
            const int64_t i = m * k->N + n;
            const double tol = Q8_SUM_REL(Kp / 8 + nb + 16) * term_mag(&L, q, sa, sum, m, n);
            if (!(fabs(y1[i] - yr[i]) <= tol)) {
                bad++;
                cr_expect_fail("M%lld K%lld N%lld block %lld zp %d: y[%lld, %lld] vnni %.9g ref %.9g (tol %.3g)",
                               (long long)k->M, (long long)k->K, (long long)k->N, (long long)k->block, k->zp,
                               (long long)m, (long long)n, y1[i], yr[i], tol);
            }
        }
    cr_expect(memcmp(y1, y2, sizeof(float) * (size_t)MN) == 0, "M%lld K%lld N%lld: 2 threads differ from 1",
              (long long)k->M, (long long)k->K, (long long)k->N);
    free(yr), free(y1), free(y2), free(q), free(sa), free(sum);
    layer_free(&L);
}

Test(nbits_int8, vnni_matches_reference_odd_shapes) {
    if (!rt_q4q8_vnni_supported()) cr_skip_test("no AVX-512 VNNI on this CPU");
    RtThreadPool *pool = rt_pool_new(2, NULL);
    /* rows 1..5: the row-major kernel; 6 and more: the repacked GEMM (panels of 32 columns) */
    const int64_t Ms[] = {1, 2, 3, 5, 6, 9, 17, 40}, Ks[] = {32, 40, 96, 200, 256, 1000}, Ns[] = {1, 3, 17, 100};
    const int64_t blocks[] = {32, 64, 128, 256};
    int i = 0;
    for (int bi = 0; bi < 4; bi++)
        for (int ki = 0; ki < 6; ki++)
            for (int ni = 0; ni < 4; ni++) {
                Case k = {Ms[i % 8], Ks[ki], Ns[ni], blocks[bi], i % 3 != 0, i % 2 == 0};
                vnni_case(&k, pool);
                i++;
            }
    /* every row count on one shape, and a wider layer that spans several cache tiles */
    for (int mi = 0; mi < 8; mi++) {
        Case k = {Ms[mi], 200, 17, 32, 1, 1};
        vnni_case(&k, pool);
    }
    Case big = {4, 2048, 300, 64, 1, 0}, big_batch = {33, 2048, 70, 128, 1, 1};
    vnni_case(&big, pool);
    vnni_case(&big_batch, pool);
    /* blocks that are not powers of two (LinearNBits' groups need only be multiples of 32;
     * the chunk loops assume powers of two, so these go to the reference): rows and GEMM */
    Case odd_block = {2, 200, 17, 96, 1, 1}, odd_block_batch = {9, 1000, 33, 160, 1, 0};
    vnni_case(&odd_block, pool);
    vnni_case(&odd_block_batch, pool);
    rt_pool_free(pool);
}

/* The repacked GEMM (6+ rows) with its panels kept in the node's state (weight inputs marked
 * constant): the first call packs them there, later calls read them; both give the bits of
 * the per-call packing, 1 and 2 threads. A state packed for one weight is not used for
 * another (other codes, same shape), and nothing is kept when an input is not constant. */
static void kept_case(const Case *k, RtThreadPool *pool) {
    Layer L = layer_make(k, (uint32_t)(k->M * 31 + k->K + k->N * 7 + k->block));
    Layer O = layer_make(k, (uint32_t)(k->M * 31 + k->K + k->N * 7 + k->block + 1)); /* another weight */
    L.w.inputs = O.w.inputs = 0xEu;
    const size_t bytes = sizeof(float) * (size_t)(k->M * k->N);
    float *y0 = malloc(bytes), *y1 = malloc(bytes), *y2 = malloc(bytes), *o0 = malloc(bytes), *o1 = malloc(bytes);
    const float *bias = k->bias ? L.bias : NULL;
    void *state = NULL;
    RtKernelCtx plain = ctx_with(pool), kept = ctx_with(pool), loose = ctx_with(pool);
    kept.node_state = &state, kept.state_alloc = rt_allocator_default(), kept.const_inputs = 0xEu;
    cr_assert_eq(rt_q4q8_run_vnni(&plain, &L.w, L.a, k->M, bias, y0), RT_OK);
    cr_assert_eq(rt_q4q8_run_vnni(&kept, &L.w, L.a, k->M, bias, y1), RT_OK);
    cr_assert_not_null(state, "M%lld K%lld N%lld: no panels kept", (long long)k->M, (long long)k->K, (long long)k->N);
    void *made = state;
    cr_assert_eq(rt_q4q8_run_vnni(&kept, &L.w, L.a, k->M, bias, y2), RT_OK);
    cr_expect(memcmp(y0, y1, bytes) == 0 && memcmp(y0, y2, bytes) == 0,
              "M%lld K%lld N%lld block %lld: kept panels differ from per-call packing", (long long)k->M,
              (long long)k->K, (long long)k->N, (long long)k->block);
    cr_assert_eq(rt_q4q8_run_vnni(&plain, &O.w, O.a, k->M, NULL, o0), RT_OK);
    cr_assert_eq(rt_q4q8_run_vnni(&kept, &O.w, O.a, k->M, NULL, o1), RT_OK);
    cr_expect(memcmp(o0, o1, bytes) == 0, "M%lld K%lld N%lld: another weight read the kept panels", (long long)k->M,
              (long long)k->K, (long long)k->N);
    cr_expect(state == made, "the state was replaced");
    rt_node_state_free(&state, 1, rt_allocator_default());
    loose.node_state = &state, loose.state_alloc = rt_allocator_default(), loose.const_inputs = 0x6u; /* zp not */
    cr_assert_eq(rt_q4q8_run_vnni(&loose, &L.w, L.a, k->M, bias, y1), RT_OK);
    cr_expect(state == NULL && memcmp(y0, y1, bytes) == 0, "kept with a non-constant input");
    rt_node_state_free(&state, 1, rt_allocator_default());
    free(y0), free(y1), free(y2), free(o0), free(o1);
    layer_free(&L), layer_free(&O);
}

Test(nbits_int8, gemm_kept_panels_same_bits) {
    if (!rt_q4q8_vnni_supported()) cr_skip_test("no AVX-512 VNNI on this CPU");
    RtThreadPool *pool = rt_pool_new(2, NULL);
    const Case cases[] = {{6, 40, 1, 32, 1, 1},    {9, 200, 33, 64, 0, 0},  {17, 1000, 100, 128, 1, 1},
                          {40, 256, 70, 256, 1, 0}, {128, 256, 65, 128, 1, 1}};
    for (int i = 0; i < 5; i++) {
        kept_case(&cases[i], NULL);
        kept_case(&cases[i], pool);
    }
    rt_pool_free(pool);
}

/* The MatMulNBits node at accuracy_level 4 through the x86 kernel, 9 rows, its state kept as
 * the executor keeps it (B, scales and zero points constant): two runs give the bits of a run
 * without state. */
Test(nbits_int8, matmul_nbits_node_keeps_panels) {
    if (!rt_q4q8_vnni_supported()) cr_skip_test("no AVX-512 VNNI on this CPU");
    const Case k = {9, 200, 37, 64, 1, 1};
    Layer L = layer_make(&k, 77);
    const int64_t nb = L.w.n_blocks;
    int64_t da[2] = {k.M, k.K}, db[3] = {k.N, nb, k.block / 2}, ds[2] = {k.N, nb}, dz[1] = {k.N * L.w.zp_row},
            dbias[1] = {k.N};
    RtTensor A = rtt_tensor(RT_F32, 2, da, L.a), B = rtt_tensor(RT_U8, 3, db, L.b);
    RtTensor S = rtt_tensor(RT_F32, 2, ds, L.scales), Z = rtt_tensor(RT_U8, 1, dz, L.zp);
    RtTensor Bi = rtt_tensor(RT_F32, 1, dbias, L.bias), y[3];
    RtTensor *in[6] = {&A, &B, &S, &Z, NULL, &Bi};
    RtAttr at[5] = {rtt_attr_int("K", k.K), rtt_attr_int("N", k.N), rtt_attr_int("bits", 4),
                    rtt_attr_int("block_size", k.block), rtt_attr_int("accuracy_level", 4)};
    RtKernelFn fast = rt_kernel_find_fast(RT_OP_MATMUL_NBITS);
    void *state = NULL;
    RttRun keep = {.node_state = &state, .const_inputs = 0xEu};
    const int op = RT_OP_MATMUL_NBITS;
    cr_assert_eq(rtt_run_kernel(fast, NULL, op, 1, in, 6, &y[0], 1, at, 5, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run_kernel(fast, &keep, op, 1, in, 6, &y[1], 1, at, 5, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_not_null(state, "the node kept no panels");
    cr_assert_eq(rtt_run_kernel(fast, &keep, op, 1, in, 6, &y[2], 1, at, 5, 0), RT_OK, "%s", rtt_err.msg);
    const size_t bytes = sizeof(float) * (size_t)(k.M * k.N);
    cr_expect(memcmp(y[0].data, y[1].data, bytes) == 0 && memcmp(y[0].data, y[2].data, bytes) == 0,
              "kept panels gave other outputs");
    rtt_free_outputs(y, 3);
    rt_node_state_free(&state, 1, rt_allocator_default());
    layer_free(&L);
}

/* int8 compute against float compute (the float64 sum of a w): quantizing A moves each a by
 * at most sa / 2 (round to nearest; sa = amax / 127 of its block), so the output moves by at
 * most sum_k |w_k| sa(k) / 2 (+ float rounding, 1e-5 of sum |a w| here). */
Test(nbits_int8, int8_error_within_quantization_bound) {
    Case k = {3, 200, 17, 64, 1, 0};
    Layer L = layer_make(&k, 12345);
    const RtQ4Weight *w = &L.w;
    const int64_t nb = w->n_blocks;
    float y[3 * 17];
    RtKernelCtx c = ctx_with(NULL);
    cr_assert_eq(rt_q4q8_run_ref(&c, w, L.a, k.M, NULL, y), RT_OK);
    double worst = 0;
    for (int64_t m = 0; m < k.M; m++)
        for (int64_t n = 0; n < k.N; n++) {
            double want = 0, bound = 0, mag = 0;
            for (int64_t b = 0; b < nb; b++) {
                float amax = 0;
                for (int64_t kk = b * k.block; kk < (b + 1) * k.block && kk < k.K; kk++)
                    amax = fmaxf(amax, fabsf(L.a[m * k.K + kk]));
                for (int64_t kk = b * k.block; kk < (b + 1) * k.block && kk < k.K; kk++) {
                    const double wk = (double)(code(w, n, kk) - zero(w, n, b)) * w->scales[n * nb + b];
                    want += wk * L.a[m * k.K + kk];
                    bound += fabs(wk) * amax / 127.0 / 2.0;
                    mag += fabs(wk * L.a[m * k.K + kk]);
                }
            }
            const double d = fabs(y[m * k.N + n] - want);
            worst = fmax(worst, d / bound);
            cr_expect(d <= bound + 1e-5 * mag, "y[%lld, %lld] = %.9g, float %.9g, bound %.3g", (long long)m,
                      (long long)n, y[m * k.N + n], want, bound);
        }
    cr_log_info("int8 compute error / quantization bound: worst %.3f", worst);
    layer_free(&L);
}

/* LinearNBits' form (qblock.h's 4-bit order, rows padded to 32 codes only, one zero point a
 * byte) of the same codes as a MatMulNBits weight: the reference gives the same bits for
 * both (the same integer sums, the same float order), and the VNNI kernels (row-major and
 * repacked) match it as above, for groups 32..256 and K not a multiple of the group (rows
 * end before n_blocks * group / 2 bytes). */
Test(nbits_int8, linear_nbits_order_matches_matmul_nbits) {
    const int64_t Ks[] = {40, 200, 256, 1000}, Gs[] = {32, 64, 128, 256}, Ms[] = {1, 3, 6, 17}, N = 37;
    RtThreadPool *pool = rt_pool_new(2, NULL);
    uint32_t seed = 99;
    for (int ki = 0; ki < 4; ki++)
        for (int gi = 0; gi < 4; gi++) {
            const int64_t K = Ks[ki], G = Gs[gi], M = Ms[(ki + gi) % 4], nb = (K + G - 1) / G, Kp = nb * G;
            uint8_t *codes = calloc((size_t)(N * K), 1), *bm = calloc((size_t)(N * Kp / 2), 1);
            uint8_t *zb = malloc((size_t)(N * nb)), *zm = calloc((size_t)(N * ((nb + 1) / 2)), 1);
            const size_t qbytes = rt_qblock_packed_size(4, N, K);
            uint8_t *bq = malloc(qbytes);
            float *sc = malloc(sizeof(float) * (size_t)(N * nb)), *a = malloc(sizeof(float) * (size_t)(M * K));
            for (int64_t n = 0; n < N; n++)
                for (int64_t k = 0; k < K; k++) {
                    const uint8_t c = (uint8_t)(rtt_lcg(&seed) >> 7 & 15);
                    codes[n * K + k] = c;
                    bm[n * (Kp / 2) + k / 2] |= (uint8_t)(c << (4 * (k & 1)));
                }
            for (int64_t n = 0; n < N; n++)
                for (int64_t b = 0; b < nb; b++) {
                    const uint8_t z = (uint8_t)(rtt_lcg(&seed) >> 9 & 15);
                    zb[n * nb + b] = z;
                    zm[n * ((nb + 1) / 2) + b / 2] |= (uint8_t)(z << (4 * (b & 1)));
                    sc[n * nb + b] = rtt_uniform(&seed, 0.01f, 0.1f);
                }
            for (int64_t i = 0; i < M * K; i++) a[i] = rtt_uniform(&seed, -2, 2);
            cr_assert_eq(rt_qblock_pack(4, N, K, codes, bq, qbytes), 0);
            RtQ4Weight wm = {K, N, G, nb, Kp / 2, (nb + 1) / 2, bm, sc, zm, 0, NULL};
            RtQ4Weight wq = {K, N, G, nb, (K + 31) / 32 * 16, 0, bq, sc, NULL, 1, zb};
            float *ym = malloc(sizeof(float) * (size_t)(M * N)), *yq = malloc(sizeof(float) * (size_t)(M * N));
            float *yv = malloc(sizeof(float) * (size_t)(M * N));
            RtKernelCtx c = ctx_with(pool);
            cr_assert_eq(rt_q4q8_run_ref(&c, &wm, a, M, NULL, ym), RT_OK);
            cr_assert_eq(rt_q4q8_run_ref(&c, &wq, a, M, NULL, yq), RT_OK);
            cr_expect(memcmp(ym, yq, sizeof(float) * (size_t)(M * N)) == 0, "K %lld G %lld: the two orders differ",
                      (long long)K, (long long)G);
            if (rt_q4q8_vnni_supported()) {
                cr_assert_eq(rt_q4q8_run_vnni(&c, &wq, a, M, NULL, yv), RT_OK);
                /* |float terms| <= sum_k |sa qa| 15 sb + ...: bounded by 2 (|a| + amax/254) 15 0.1 K */
                for (int64_t i = 0; i < M * N; i++) {
                    const double tol = Q8_SUM_REL(Kp / 8 + nb + 16) * (2.0 * 2.02 * 15 * 0.1 * (double)K);
                    cr_expect(fabs(yv[i] - yq[i]) <= tol, "K %lld G %lld M %lld: y[%lld] vnni %.9g ref %.9g", (long long)K,
                              (long long)G, (long long)M, (long long)i, yv[i], yq[i]);
                }
            }
            free(codes), free(bm), free(zb), free(zm), free(bq), free(sc), free(a), free(ym), free(yq), free(yv);
        }
    rt_pool_free(pool);
}

/* The LinearNBits node with accuracy_level 4 (bits 4, group 64, bias, Relu), through the
 * reference kernel and the optimized one (1 and 7 rows: both VNNI kernels), against float
 * compute (the same node at level 0): within the quantization bound of A (sa / 2 per value,
 * Relu 1-Lipschitz) and not equal to it; the optimized kernel within the summation-order
 * tolerance of the reference. */
Test(nbits_int8, linear_nbits_node_accuracy_level_4) {
    const int64_t K = 200, N = 37, G = 64, NG = (K + G - 1) / G, Ms[2] = {1, 7};
    uint32_t seed = 5;
    uint8_t codes[37 * 200], zeros[37 * 4];
    float scales[37 * 4], bias[37], x[7 * 200];
    for (int64_t i = 0; i < N * K; i++) codes[i] = (uint8_t)(rtt_lcg(&seed) >> 7 & 15);
    for (int64_t i = 0; i < N * NG; i++) {
        zeros[i] = (uint8_t)(rtt_lcg(&seed) >> 9 & 15);
        scales[i] = rtt_uniform(&seed, 0.01f, 0.1f);
    }
    for (int64_t i = 0; i < N; i++) bias[i] = rtt_uniform(&seed, -1, 1);
    for (int64_t i = 0; i < 7 * K; i++) x[i] = rtt_uniform(&seed, -2, 2);
    const size_t qbytes = rt_qblock_packed_size(4, N, K);
    uint8_t *wp = malloc(qbytes);
    cr_assert_eq(rt_qblock_pack(4, N, K, codes, wp, qbytes), 0);
    RtAttr at[5] = {rtt_attr_int("bits", 4), rtt_attr_int("group", G), rtt_attr_str("activation", "Relu"),
                    rtt_attr_int("accuracy_level", 4)};
    for (int mi = 0; mi < 2; mi++) {
        const int64_t M = Ms[mi];
        int64_t dx[2] = {M, K}, dw[1] = {(int64_t)qbytes}, ds[2] = {N, NG}, db[1] = {N};
        RtTensor X = rtt_tensor(RT_F32, 2, dx, x), W = rtt_tensor(RT_U8, 1, dw, wp), S = rtt_tensor(RT_F32, 2, ds, scales);
        RtTensor Z = rtt_tensor(RT_U8, 2, ds, zeros), B = rtt_tensor(RT_F32, 1, db, bias), y8, yf, yv;
        RtTensor *in[6] = {&X, &W, &S, &Z, NULL, &B};
        RtKernelFn ref = rt_kernel_find(RT_OP_LINEAR_NBITS), fast = rt_kernel_find_fast(RT_OP_LINEAR_NBITS);
        cr_assert_eq(rtt_run_kernel(ref, NULL, RT_OP_LINEAR_NBITS, 1, in, 6, &y8, 1, at, 4, 0), RT_OK, "%s", rtt_err.msg);
        cr_assert_eq(rtt_run_kernel(fast, NULL, RT_OP_LINEAR_NBITS, 1, in, 6, &yv, 1, at, 4, 0), RT_OK, "%s", rtt_err.msg);
        cr_assert_eq(rtt_run_kernel(ref, NULL, RT_OP_LINEAR_NBITS, 1, in, 6, &yf, 1, at, 3, 0), RT_OK, "%s", rtt_err.msg);
        const float *p8 = y8.data, *pv = yv.data, *pf = yf.data;
        int apart = 0;
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double bound = 0, mag = fabs(bias[n]);
                for (int64_t g = 0; g < NG; g++) {
                    float amax = 0;
                    for (int64_t k = g * G; k < (g + 1) * G && k < K; k++) amax = fmaxf(amax, fabsf(x[m * K + k]));
                    for (int64_t k = g * G; k < (g + 1) * G && k < K; k++) {
                        const double wk = ((double)codes[n * K + k] - zeros[n * NG + g]) * scales[n * NG + g];
                        bound += fabs(wk) * amax / 127.0 / 2.0;
                        mag += fabs(wk) * (fabs(x[m * K + k]) + amax / 254.0) * 2.0;
                    }
                }
                const int64_t i = m * N + n;
                cr_expect(fabs(p8[i] - pf[i]) <= bound + 1e-5 * mag, "M %lld y[%lld] int8 %.9g float %.9g bound %.3g",
                          (long long)M, (long long)i, p8[i], pf[i], bound);
                cr_expect(fabs(pv[i] - p8[i]) <= Q8_SUM_REL(K / 8 + NG + 16) * mag + 1e-6,
                          "M %lld y[%lld] optimized %.9g reference %.9g", (long long)M, (long long)i, pv[i], p8[i]);
                apart |= p8[i] != pf[i];
            }
        cr_expect(apart, "M %lld: accuracy_level 4 gave float compute's outputs exactly", (long long)M);
        rtt_free_outputs(&y8, 1), rtt_free_outputs(&yv, 1), rtt_free_outputs(&yf, 1);
    }
    free(wp);
}
