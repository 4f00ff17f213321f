/*
 * test_qlinear_contrib_x86.c — the fast route of the QOperator ops (runtime/kernels/x86/
 * qlinear_contrib_x86.c) against the reference kernels, on odd sizes (1, 3, 7, 17, 33, 127,
 * 129) that cross the GEMM's panel and vector widths:
 *   QGemm and DequantizeLinear bit-identical (same int32 sums, same float32 epilogue), QGemm
 *   also with its transposed weights served from the node state on a second run;
 *   QLinearConv (through QConv's kernels) and QLinearAdd (through QAdd's) within one step,
 *   the fixed-point multiplier resolving near-ties of the float32 product differently.
 * Where the CPU has no int8 GEMM (rt_qgemm_isa() == ref) the fast kernels hand every call to
 * the reference, and the comparisons hold trivially.
 */
#include "rt_test_util.h"

#include "../../runtime/kernels/x86/qgemm.h"
#include "../../runtime/rt_threads.h"

TestSuite(qlinear_contrib_x86);

/* QLinearConv / QLinearAdd: the fixed-point multiplier (double, rounded to 31 bits) and the
 * spec's float32 product round a value lying within float32 rounding of a .5 tie to
 * different neighbours: one step, never more. */
#define NEAR_TIE_STEPS 1

static void fill_bytes(void *p, int64_t n, uint32_t seed) {
    uint8_t *b = p;
    for (int64_t i = 0; i < n; i++) b[i] = (uint8_t)(rtt_lcg(&seed) >> 16); /* rtt_lcg gives 24 bits */
}

static int64_t max_step_diff(const RtTensor *a, const RtTensor *b) {
    int64_t worst = 0, n = rt_numel(a);
    for (int64_t i = 0; i < n; i++) {
        int64_t va = a->dtype == RT_U8 ? ((const uint8_t *)a->data)[i] : ((const int8_t *)a->data)[i];
        int64_t vb = b->dtype == RT_U8 ? ((const uint8_t *)b->data)[i] : ((const int8_t *)b->data)[i];
        int64_t d = va > vb ? va - vb : vb - va;
        if (d > worst) worst = d;
    }
    return worst;
}

/* ---- QGemm ---- */

static void qgemm_pair(int64_t M, int64_t K, int64_t N, int tb, int per_col, int quant_out, int c_kind, RtDtype at) {
    int64_t ad[2] = {M, K}, bd[2] = {tb ? N : K, tb ? K : N}, nd[1] = {N}, cd[2] = {M, N};
    uint8_t *A = malloc((size_t)(M * K)), *B = malloc((size_t)(K * N)), bz[256];
    int32_t *C = malloc(sizeof(int32_t) * (size_t)(M * N));
    float bs[256], as = 0.031f, ys = 0.7f;
    fill_bytes(A, M * K, (uint32_t)(M * 7 + K));
    fill_bytes(B, K * N, (uint32_t)(N * 13 + K));
    uint32_t seed = 5;
    for (int64_t j = 0; j < N && j < 256; j++) {
        bs[j] = rtt_uniform(&seed, 0.005f, 0.02f);
        bz[j] = (uint8_t)(j % 7);
    }
    for (int64_t i = 0; i < M * N; i++) C[i] = (int32_t)(rtt_lcg(&seed) % 20001) - 10000;
    uint8_t az = at == RT_U8 ? 129 : (uint8_t)(int8_t)-3, yz = at == RT_U8 ? 127 : 2;
    RtTensor tA = rtt_tensor(at, 2, ad, A), tas = rtt_tensor(RT_F32, 0, ad, &as), taz = rtt_tensor(at, 0, ad, &az);
    RtTensor tB = rtt_tensor(RT_I8, 2, bd, B), tbs = rtt_tensor(RT_F32, per_col, nd, bs);
    RtTensor tbz = rtt_tensor(RT_I8, per_col, nd, bz);
    RtTensor tC = c_kind == 1 ? rtt_tensor(RT_I32, 1, nd, C) : rtt_tensor(RT_I32, 2, cd, C);
    RtTensor tys = rtt_tensor(RT_F32, 0, ad, &ys), tyz = rtt_tensor(at, 0, ad, &yz);
    RtTensor *in[9] = {&tA, &tas, &taz, &tB, &tbs, &tbz, c_kind ? &tC : NULL, quant_out ? &tys : NULL,
                       quant_out ? &tyz : NULL};
    RtAttr attrs[2] = {rtt_attr_int("transB", tb), rtt_attr_float("alpha", 0.9f)};
    RtTensor ref[1], fast[1];
    void *state = NULL;
    RttRun how = {.node_state = &state, .const_inputs = 1u << 3};
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_QGEMM), NULL, RT_OP_QGEMM, 1, in, 9, ref, 1, attrs, 2, 0), RT_OK,
                 "%s", rtt_err.msg);
    for (int run = 0; run < 2; run++) { /* the second run reads B^T from the node state */
        cr_assert_eq(
            rtt_run_kernel(rt_kernel_find_fast(RT_OP_QGEMM), &how, RT_OP_QGEMM, 1, in, 9, fast, 1, attrs, 2, 0), RT_OK,
            "%s", rtt_err.msg);
        cr_assert_eq(fast[0].dtype, ref[0].dtype);
        cr_expect_eq(memcmp(fast[0].data, ref[0].data, (size_t)rt_nbytes(&ref[0])), 0,
                     "QGemm M %lld K %lld N %lld transB %d per_col %d quant %d C %d run %d: fast != reference",
                     (long long)M, (long long)K, (long long)N, tb, per_col, quant_out, c_kind, run);
        rtt_free_outputs(fast, 1);
    }
    rtt_free_outputs(ref, 1);
    free(state);
    free(A), free(B), free(C);
}

Test(qlinear_contrib_x86, qgemm_equals_reference_on_odd_sizes) {
    const int64_t sz[] = {1, 3, 7, 17, 33, 127, 129};
    for (int i = 0; i < 7; i++) {
        int64_t M = sz[i % 3], K = sz[i], N = sz[(i + 2) % 7];
        qgemm_pair(M, K, N, i & 1, i % 3 == 0, 1, i % 3, i & 2 ? RT_I8 : RT_U8);
        qgemm_pair(sz[i], sz[(i + 4) % 7], sz[(i + 1) % 7] % 250, !(i & 1), i % 2, i % 2 == 0, (i + 1) % 3, RT_U8);
    }
}

/* ---- DequantizeLinear ---- */

Test(qlinear_contrib_x86, dequantize_linear_equals_reference) {
    const int64_t sz[] = {1, 3, 7, 17, 33, 127, 129};
    for (int i = 0; i < 7; i++)
        for (int u = 0; u < 2; u++) {
            int64_t d[2] = {sz[i], sz[(i + 3) % 7]};
            uint8_t *x = malloc((size_t)(d[0] * d[1])), zp = u ? 131 : (uint8_t)(int8_t)-5;
            fill_bytes(x, d[0] * d[1], (uint32_t)i);
            float s = 0.0173f;
            RtDtype t = u ? RT_U8 : RT_I8;
            RtTensor tx = rtt_tensor(t, 2, d, x), ts = rtt_tensor(RT_F32, 0, d, &s), tz = rtt_tensor(t, 0, d, &zp);
            RtTensor *in[3] = {&tx, &ts, i == 3 ? NULL : &tz}, ref[1], fast[1];
            cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_DEQUANTIZE_LINEAR), NULL, RT_OP_DEQUANTIZE_LINEAR, 19, in,
                                        3, ref, 1, NULL, 0, 0),
                         RT_OK, "%s", rtt_err.msg);
            cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(RT_OP_DEQUANTIZE_LINEAR), NULL, RT_OP_DEQUANTIZE_LINEAR, 19,
                                        in, 3, fast, 1, NULL, 0, 0),
                         RT_OK, "%s", rtt_err.msg);
            cr_expect_eq(memcmp(fast[0].data, ref[0].data, (size_t)rt_nbytes(&ref[0])), 0, "DQ %lldx%lld %s differs",
                         (long long)d[0], (long long)d[1], rt_dtype_name(t));
            rtt_free_outputs(ref, 1);
            rtt_free_outputs(fast, 1);
            free(x);
        }
}

/* Long tensors are split over the thread pool (chunks of 65536 and up): 2 threads on
 * 3 x 65536 + 5 values (a chunk edge inside a 16-value step) give the reference's bytes. */
Test(qlinear_contrib_x86, dequantize_linear_two_threads_equals_reference) {
    RtThreadPool *pool = rt_pool_new(2, rt_allocator_default());
    cr_assert(pool);
    int64_t d[1] = {3 * 65536 + 5};
    uint8_t *x = malloc((size_t)d[0]), zp = 77;
    fill_bytes(x, d[0], 5u);
    float s = 0.0421f;
    RtTensor tx = rtt_tensor(RT_U8, 1, d, x), ts = rtt_tensor(RT_F32, 0, d, &s), tz = rtt_tensor(RT_U8, 0, d, &zp);
    RtTensor *in[3] = {&tx, &ts, &tz}, ref[1], fast[1];
    RttRun how = {pool, NULL, NULL, 0};
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_DEQUANTIZE_LINEAR), NULL, RT_OP_DEQUANTIZE_LINEAR, 19, in, 3, ref,
                                1, NULL, 0, 0),
                 RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(RT_OP_DEQUANTIZE_LINEAR), &how, RT_OP_DEQUANTIZE_LINEAR, 19, in, 3,
                                fast, 1, NULL, 0, 0),
                 RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(fast[0].data, ref[0].data, (size_t)rt_nbytes(&ref[0])), 0, "threaded DQ differs");
    rtt_free_outputs(ref, 1);
    rtt_free_outputs(fast, 1);
    free(x);
    rt_pool_free(pool);
}

/* ---- QLinearConv ---- */

static void qconv_pair(int64_t C, int64_t M, int64_t H, int64_t k, int group, int64_t stride, int64_t pad, RtDtype xt) {
    int64_t xd[4] = {1, C, H, H + 2}, wd[4] = {M, C / group, k, k}, md[1] = {M};
    int64_t nx = C * H * (H + 2), nw = M * (C / group) * k * k;
    uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw), wz[512];
    int32_t b[512];
    float ws[512], xs = 0.02f, ys = 0.05f;
    fill_bytes(x, nx, (uint32_t)(C + H));
    fill_bytes(w, nw, (uint32_t)(M + k));
    uint32_t seed = 9;
    for (int64_t m = 0; m < M; m++) {
        ws[m] = rtt_uniform(&seed, 0.002f, 0.01f);
        wz[m] = 0;
        b[m] = (int32_t)(rtt_lcg(&seed) % 4001) - 2000;
    }
    uint8_t xz = xt == RT_U8 ? 120 : (uint8_t)(int8_t)-4, yz = xt == RT_U8 ? 128 : 0;
    RtTensor tx = rtt_tensor(xt, 4, xd, x), txs = rtt_tensor(RT_F32, 0, xd, &xs), txz = rtt_tensor(xt, 0, xd, &xz);
    RtTensor tw = rtt_tensor(RT_I8, 4, wd, w), tws = rtt_tensor(RT_F32, 1, md, ws), twz = rtt_tensor(RT_I8, 1, md, wz);
    RtTensor tys = rtt_tensor(RT_F32, 0, xd, &ys), tyz = rtt_tensor(xt, 0, xd, &yz), tb = rtt_tensor(RT_I32, 1, md, b);
    RtTensor *in[9] = {&tx, &txs, &txz, &tw, &tws, &twz, &tys, &tyz, &tb}, ref[1], fast[1];
    int64_t ks[2] = {k, k}, st[2] = {stride, stride}, pads[4] = {pad, pad, pad, pad};
    RtAttr attrs[4] = {rtt_attr_ints("kernel_shape", ks, 2), rtt_attr_ints("strides", st, 2),
                       rtt_attr_ints("pads", pads, 4), rtt_attr_int("group", group)};
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_QLINEAR_CONV), NULL, RT_OP_QLINEAR_CONV, 10, in, 9, ref, 1, attrs,
                                4, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(RT_OP_QLINEAR_CONV), NULL, RT_OP_QLINEAR_CONV, 10, in, 9, fast, 1,
                                attrs, 4, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(rt_shape_equal(&ref[0], &fast[0]) && ref[0].dtype == fast[0].dtype);
    cr_expect_leq(max_step_diff(&ref[0], &fast[0]), NEAR_TIE_STEPS, "QLinearConv C %lld M %lld k %lld group %d",
                  (long long)C, (long long)M, (long long)k, group);
    rtt_free_outputs(ref, 1);
    rtt_free_outputs(fast, 1);
    free(x), free(w);
}

Test(qlinear_contrib_x86, qlinear_conv_within_one_step_of_reference) {
    qconv_pair(3, 17, 7, 3, 1, 2, 1, RT_U8);    /* a stem: im2col */
    qconv_pair(33, 33, 9, 3, 33, 1, 1, RT_U8);  /* depthwise */
    qconv_pair(17, 7, 3, 1, 1, 1, 0, RT_I8);    /* 1x1 */
    qconv_pair(129, 127, 1, 1, 1, 1, 0, RT_U8); /* 1x1, one row */
}

/* ---- QLinearAdd ---- */

Test(qlinear_contrib_x86, qlinear_add_within_one_step_of_reference) {
    const int64_t sz[] = {1, 3, 7, 17, 33, 127, 129};
    for (int i = 0; i < 7; i++) {
        int64_t d[2] = {sz[i], 5};
        uint8_t *a = malloc((size_t)(5 * sz[i])), *bb = malloc((size_t)(5 * sz[i]));
        fill_bytes(a, 5 * sz[i], (uint32_t)i);
        fill_bytes(bb, 5 * sz[i], (uint32_t)(i + 50));
        float as = 0.03f, bs = 0.011f, cs = 0.04f;
        uint8_t az = 125, bz = 131, cz = 128;
        RtTensor ta = rtt_tensor(RT_U8, 2, d, a), tas = rtt_tensor(RT_F32, 0, d, &as),
                 taz = rtt_tensor(RT_U8, 0, d, &az);
        RtTensor tb = rtt_tensor(RT_U8, 2, d, bb), tbs = rtt_tensor(RT_F32, 0, d, &bs),
                 tbz = rtt_tensor(RT_U8, 0, d, &bz);
        RtTensor tcs = rtt_tensor(RT_F32, 0, d, &cs), tcz = rtt_tensor(RT_U8, 0, d, &cz);
        RtTensor *in[8] = {&ta, &tas, &taz, &tb, &tbs, &tbz, &tcs, &tcz}, ref[1], fast[1];
        cr_assert_eq(
            rtt_run_kernel(rt_kernel_find(RT_OP_QLINEAR_ADD), NULL, RT_OP_QLINEAR_ADD, 1, in, 8, ref, 1, NULL, 0, 0),
            RT_OK, "%s", rtt_err.msg);
        cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(RT_OP_QLINEAR_ADD), NULL, RT_OP_QLINEAR_ADD, 1, in, 8, fast, 1,
                                    NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
        cr_expect_leq(max_step_diff(&ref[0], &fast[0]), NEAR_TIE_STEPS, "QLinearAdd %lld x 5", (long long)sz[i]);
        rtt_free_outputs(ref, 1);
        rtt_free_outputs(fast, 1);
        free(a), free(bb);
    }
}

Test(qlinear_contrib_x86, the_int8_gemm_runs_here) {
    /* the comparisons above test the fast route only where it runs */
    cr_log_info("int8 GEMM: %s", rt_qgemm_isa_name(rt_qgemm_isa()));
    if (rt_qgemm_isa() == RT_QGEMM_REF)
        cr_skip_test("no int8 GEMM on this CPU: the fast kernels defer to the reference");
}

/* ---- MatMulIntegerToFloat, DynamicQuantizeMatMul ---- */

static void mm_pair(int op, int64_t R, int64_t K, int64_t N, int per_col, int with_bias, RtDtype at, uint32_t seed) {
    int64_t ad[3] = {2, R, K}, bd[2] = {K, N}, nd[1] = {N};
    uint8_t *A = malloc((size_t)(2 * R * K)), *B = malloc((size_t)(K * N)), bz[256];
    float *Af = malloc(sizeof(float) * (size_t)(2 * R * K)), bs[256], bias[256], as = 0.017f;
    fill_bytes(A, 2 * R * K, seed);
    fill_bytes(B, K * N, seed + 1);
    for (int64_t i = 0; i < 2 * R * K; i++) Af[i] = rtt_uniform(&seed, -3.0f, 5.0f);
    for (int64_t j = 0; j < N; j++) {
        bs[j] = rtt_uniform(&seed, 0.004f, 0.03f);
        bz[j] = (uint8_t)(j % 5);
        bias[j] = rtt_uniform(&seed, -1.0f, 1.0f);
    }
    uint8_t az = at == RT_U8 ? 131 : 3;
    RtTensor tA = op == RT_OP_DYNAMIC_QUANTIZE_MATMUL ? rtt_tensor(RT_F32, 3, ad, Af) : rtt_tensor(at, 3, ad, A);
    RtTensor tB = rtt_tensor(RT_I8, 2, bd, B), tas = rtt_tensor(RT_F32, 0, bd, &as), taz = rtt_tensor(at, 0, bd, &az);
    RtTensor tbs = rtt_tensor(RT_F32, per_col, nd, bs), tbz = rtt_tensor(RT_I8, per_col, nd, bz);
    RtTensor tbias = rtt_tensor(RT_F32, 1, nd, bias);
    RtTensor *mm[7] = {&tA, &tB, &tas, &tbs, &taz, &tbz, with_bias ? &tbias : NULL};
    RtTensor *dq[5] = {&tA, &tB, &tbs, &tbz, with_bias ? &tbias : NULL};
    RtTensor **in = op == RT_OP_DYNAMIC_QUANTIZE_MATMUL ? dq : mm;
    int n_in = op == RT_OP_DYNAMIC_QUANTIZE_MATMUL ? 5 : 7;
    RtTensor ref[1], fast[1];
    void *state = NULL;
    RttRun how = {.node_state = &state, .const_inputs = 1u << 1};
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(op), NULL, op, 1, in, n_in, ref, 1, NULL, 0, 0), RT_OK, "%s",
                 rtt_err.msg);
    for (int run = 0; run < 2; run++) { /* the second run reads B^T from the node state */
        cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(op), &how, op, 1, in, n_in, fast, 1, NULL, 0, 0), RT_OK, "%s",
                     rtt_err.msg);
        cr_expect_eq(memcmp(fast[0].data, ref[0].data, (size_t)rt_nbytes(&ref[0])), 0,
                     "%s R %lld K %lld N %lld run %d: fast != reference", rt_op_name(op), (long long)R, (long long)K,
                     (long long)N, run);
        rtt_free_outputs(fast, 1);
    }
    rtt_free_outputs(ref, 1);
    free(state);
    free(A), free(B), free(Af);
}

Test(qlinear_contrib_x86, matmul_integer_to_float_equals_reference_on_odd_sizes) {
    const int64_t sz[] = {1, 3, 7, 17, 33, 127, 129};
    for (int i = 0; i < 7; i++) {
        mm_pair(RT_OP_MATMUL_INTEGER_TO_FLOAT, sz[i], sz[(i + 3) % 7], sz[(i + 5) % 7], i & 1, i % 3 != 0,
                i & 2 ? RT_I8 : RT_U8, (uint32_t)i);
        mm_pair(RT_OP_DYNAMIC_QUANTIZE_MATMUL, sz[(i + 1) % 7], sz[i], sz[(i + 2) % 7], !(i & 1), i % 2, RT_U8,
                (uint32_t)(i + 100));
    }
}

/* ---- QLinearMatMul ---- */

Test(qlinear_contrib_x86, qlinear_matmul_equals_reference_on_odd_sizes) {
    const int64_t sz[] = {1, 3, 7, 17, 33, 127, 129};
    for (int i = 0; i < 7; i++) {
        int64_t R = sz[i], K = sz[(i + 2) % 7], N = sz[(i + 4) % 7], ad[2] = {R, K}, bd[2] = {K, N}, nd[1] = {N};
        int per_col = i & 1;
        RtDtype at = i & 2 ? RT_I8 : RT_U8;
        uint8_t *A = malloc((size_t)(R * K)), *B = malloc((size_t)(K * N)), bz[256], az = at == RT_U8 ? 127 : 1, yz = 3;
        float bs[256], as = 0.02f, ys = 0.09f;
        uint32_t seed = (uint32_t)i;
        fill_bytes(A, R * K, seed + 7);
        fill_bytes(B, K * N, seed + 8);
        for (int64_t j = 0; j < N; j++) bs[j] = rtt_uniform(&seed, 0.003f, 0.02f), bz[j] = (uint8_t)(j % 3);
        RtTensor tA = rtt_tensor(at, 2, ad, A), tas = rtt_tensor(RT_F32, 0, ad, &as), taz = rtt_tensor(at, 0, ad, &az);
        RtTensor tB = rtt_tensor(RT_I8, 2, bd, B), tbs = rtt_tensor(RT_F32, per_col, nd, bs);
        RtTensor tbz = rtt_tensor(RT_I8, per_col, nd, bz), tys = rtt_tensor(RT_F32, 0, ad, &ys);
        RtTensor tyz = rtt_tensor(at, 0, ad, &yz);
        RtTensor *in[8] = {&tA, &tas, &taz, &tB, &tbs, &tbz, &tys, &tyz}, ref[1], fast[1];
        cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_QLINEAR_MATMUL), NULL, RT_OP_QLINEAR_MATMUL, 10, in, 8, ref, 1,
                                    NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
        cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(RT_OP_QLINEAR_MATMUL), NULL, RT_OP_QLINEAR_MATMUL, 10, in, 8,
                                    fast, 1, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
        cr_expect_eq(memcmp(fast[0].data, ref[0].data, (size_t)rt_nbytes(&ref[0])), 0,
                     "QLinearMatMul R %lld K %lld N %lld per_col %d: fast != reference", (long long)R, (long long)K,
                     (long long)N, per_col);
        rtt_free_outputs(ref, 1);
        rtt_free_outputs(fast, 1);
        free(A), free(B);
    }
}

/* ---- com.microsoft QLinearConv, channels_last ---- */

/* The fast route relayouts in 16 x 16 SSE2 blocks plus byte edges; channel and spatial counts
 * on both sides of 16 and 32 put every element in a block, an edge or a corner. A misplaced
 * byte moves outputs by many steps; the fast convolution itself stays within NEAR_TIE_STEPS. */
static void ms_conv_pair(int64_t C, int64_t M, int64_t H, int64_t W, int64_t k, int group) {
    int64_t xd[4] = {2, H, W, C}, wd[4] = {M, C / group, k, k}, md[1] = {M};
    int64_t nx = 2 * H * W * C, nw = M * (C / group) * k * k;
    uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw), xz = 121, yz = 130, wz[64] = {0};
    float ws[64], xs = 0.02f, ys = 0.04f;
    fill_bytes(x, nx, (uint32_t)(C * 3 + H));
    fill_bytes(w, nw, (uint32_t)(M + W));
    uint32_t seed = 4;
    /* sums of C k k products of bytes ~ +-74 x +-73 (a few thousand to tens of thousands) at
     * x_scale * w_scale / y_scale ~ 2e-3: outputs spread over tens of steps, so a misplaced byte
     * shows (the spread is checked below) */
    for (int64_t m = 0; m < M; m++) ws[m] = rtt_uniform(&seed, 0.003f, 0.005f);
    RtTensor tx = rtt_tensor(RT_U8, 4, xd, x), txs = rtt_tensor(RT_F32, 0, xd, &xs),
             txz = rtt_tensor(RT_U8, 0, xd, &xz);
    RtTensor tw = rtt_tensor(RT_I8, 4, wd, w), tws = rtt_tensor(RT_F32, 1, md, ws), twz = rtt_tensor(RT_I8, 1, md, wz);
    RtTensor tys = rtt_tensor(RT_F32, 0, xd, &ys), tyz = rtt_tensor(RT_U8, 0, xd, &yz);
    RtTensor *in[8] = {&tx, &txs, &txz, &tw, &tws, &twz, &tys, &tyz}, ref[1], fast[1];
    int64_t ks[2] = {k, k}, pads[4] = {k / 2, k / 2, k / 2, k / 2};
    RtAttr attrs[4] = {rtt_attr_ints("kernel_shape", ks, 2), rtt_attr_ints("pads", pads, 4),
                       rtt_attr_int("group", group), rtt_attr_int("channels_last", 1)};
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_MS_QLINEAR_CONV), NULL, RT_OP_MS_QLINEAR_CONV, 1, in, 8, ref, 1,
                                attrs, 4, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(RT_OP_MS_QLINEAR_CONV), NULL, RT_OP_MS_QLINEAR_CONV, 1, in, 8, fast,
                                1, attrs, 4, 0),
                 RT_OK, "%s", rtt_err.msg);
    cr_assert(rt_shape_equal(&ref[0], &fast[0]) && ref[0].dims[3] == M, "NHWC output [N, H, W, M]");
    cr_expect_leq(max_step_diff(&ref[0], &fast[0]), NEAR_TIE_STEPS, "channels_last conv C %lld M %lld %lldx%lld k %lld",
                  (long long)C, (long long)M, (long long)H, (long long)W, (long long)k);
    unsigned char seen[256] = {0};
    int distinct = 0;
    for (int64_t i = 0; i < rt_numel(&ref[0]); i++) distinct += !seen[((uint8_t *)ref[0].data)[i]]++;
    cr_expect_geq(distinct, 24, "only %d distinct outputs: the comparison would see little", distinct);
    rtt_free_outputs(ref, 1);
    rtt_free_outputs(fast, 1);
    free(x), free(w);
}

Test(qlinear_contrib_x86, ms_qlinear_conv_channels_last_within_one_step_of_reference) {
    ms_conv_pair(17, 33, 7, 9, 1, 1);   /* 1x1: S = 63, edges on both sides */
    ms_conv_pair(32, 16, 4, 8, 3, 1);   /* exact 16 multiples */
    ms_conv_pair(33, 33, 5, 7, 3, 33);  /* depthwise */
    ms_conv_pair(3, 17, 9, 9, 3, 1);    /* C below one block */
}
