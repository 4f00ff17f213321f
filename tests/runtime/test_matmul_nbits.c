/*
 * test_matmul_nbits.c — com.microsoft MatMulNBits (runtime/kernels/ref/matmul_nbits.c) on
 * small cases whose answers are worked out by hand in the comments: 4-bit codes packed two
 * per byte low nibble first, packed and float zero points and the default 2^(bits-1), bias,
 * a 3-bit code stream (codes straddling bytes), a K that is not a multiple of block_size,
 * the deprecated g_idx, rank-3 A, shape-only mode, and the errors.
 */
#include "rt_test_util.h"

/* Every product and partial sum below is a small integer or a half, exact in float32; the
 * kernel may sum in any order, so the results must be exact. */
#define EXACT 0.0

/* Packs codes[count] of `bits` bits low-first into out (zeroed first), as the spec stores
 * each block's blob and each zero-point row. Written independently of the kernel's reader. */
static void pack_bits(const int *codes, int count, int bits, uint8_t *out, int out_bytes) {
    memset(out, 0, (size_t)out_bytes);
    for (int i = 0; i < count; i++)
        for (int b = 0; b < bits; b++)
            if (codes[i] >> b & 1) out[(i * bits + b) / 8] |= (uint8_t)(1u << ((i * bits + b) % 8));
}

/* K = 16, N = 2, bits 4, block 16 (one block). Row 0 codes q[k] = k, row 1 all 5.
 * Packed: row 0 byte j = (2j) | (2j+1) << 4 (low nibble first), row 1 0x55. */
static uint8_t b4[2 * 1 * 8];
static void make_b4(void) {
    for (int j = 0; j < 8; j++) {
        b4[j] = (uint8_t)((2 * j) | ((2 * j + 1) << 4));
        b4[8 + j] = 0x55;
    }
}

static RtAttr attrs4[4];
static void make_attrs(int64_t K, int64_t N, int64_t bits, int64_t block) {
    attrs4[0] = rtt_attr_int("K", K);
    attrs4[1] = rtt_attr_int("N", N);
    attrs4[2] = rtt_attr_int("bits", bits);
    attrs4[3] = rtt_attr_int("block_size", block);
}

Test(matmul_nbits, four_bit_packed_zero_points_and_bias) {
    make_b4();
    make_attrs(16, 2, 4, 16);
    float a[16], s[2] = {0.5f, 2.0f}, bias[2] = {1.0f, -1.0f};
    for (int k = 0; k < 16; k++) a[k] = 1.0f;
    /* zero points: one block per row, one byte per row: row 0 zp 8, row 1 zp 3 (low nibble) */
    uint8_t zp[2] = {8, 3};
    int64_t da[] = {1, 16}, db[] = {2, 1, 8}, ds[] = {2, 1}, dz[] = {2, 1}, dbias[] = {2};
    RtTensor A = rtt_tensor(RT_F32, 2, da, a), B = rtt_tensor(RT_U8, 3, db, b4), S = rtt_tensor(RT_F32, 2, ds, s);
    RtTensor Z = rtt_tensor(RT_U8, 2, dz, zp), Bi = rtt_tensor(RT_F32, 1, dbias, bias), out;
    RtTensor *in[] = {&A, &B, &S, &Z, NULL, &Bi};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, in, 6, &out, attrs4, 4, 0), RT_OK, "%s", rtt_err.msg);
    /* row 0: sum_k (k - 8) * 0.5 = (120 - 128) * 0.5 = -4, + 1 = -3
     * row 1: 16 * (5 - 3) * 2 = 64, - 1 = 63 */
    const float want[] = {-3.0f, 63.0f};
    int64_t dy[] = {1, 2};
    rtt_expect_dims(&out, 2, dy);
    rtt_expect_f32(&out, want, 2, EXACT, 0);
    rtt_free_outputs(&out, 1);
}

Test(matmul_nbits, default_zero_point_is_two_to_bits_minus_one) {
    make_b4();
    make_attrs(16, 2, 4, 16);
    float a[16], s[2] = {0.5f, 2.0f};
    for (int k = 0; k < 16; k++) a[k] = (k < 8) ? 1.0f : 0.0f;
    int64_t da[] = {1, 16}, db[] = {2, 1, 8}, ds[] = {2}; /* flat scales [N * n_blocks] too */
    RtTensor A = rtt_tensor(RT_F32, 2, da, a), B = rtt_tensor(RT_U8, 3, db, b4), S = rtt_tensor(RT_F32, 1, ds, s), out;
    RtTensor *in[] = {&A, &B, &S};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, in, 3, &out, attrs4, 4, 0), RT_OK, "%s", rtt_err.msg);
    /* zp 8; A picks k = 0..7. row 0: sum_{k<8} (k - 8) * 0.5 = (28 - 64) * 0.5 = -18
     * row 1: 8 * (5 - 8) * 2 = -48 */
    const float want[] = {-18.0f, -48.0f};
    rtt_expect_f32(&out, want, 2, EXACT, 0);
    rtt_free_outputs(&out, 1);
}

Test(matmul_nbits, three_bit_codes_float_zero_points_rank3) {
    /* K = 16, N = 1, bits 3, block 16: blob 6 bytes, codes q[k] = k % 8 straddle bytes */
    make_attrs(16, 1, 3, 16);
    int codes[16];
    for (int k = 0; k < 16; k++) codes[k] = k % 8;
    uint8_t b[6];
    pack_bits(codes, 16, 3, b, 6);
    float a[2 * 16], s[1] = {0.5f}, zp[1] = {1.0f};
    for (int k = 0; k < 16; k++) {
        a[k] = 1.0f;
        a[16 + k] = (k == 7) ? 2.0f : 0.0f;
    }
    int64_t da[] = {2, 1, 16}, db[] = {1, 1, 6}, ds[] = {1, 1};
    RtTensor A = rtt_tensor(RT_F32, 3, da, a), B = rtt_tensor(RT_U8, 3, db, b), S = rtt_tensor(RT_F32, 2, ds, s);
    RtTensor Z = rtt_tensor(RT_F32, 2, ds, zp), out;
    RtTensor *in[] = {&A, &B, &S, &Z};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, in, 4, &out, attrs4, 4, 0), RT_OK, "%s", rtt_err.msg);
    /* first row: sum_k (k % 8 - 1) * 0.5 = (56 - 16) * 0.5 = 20; second: 2 * (7 - 1) * 0.5 = 6 */
    const float want[] = {20.0f, 6.0f};
    int64_t dy[] = {2, 1, 1};
    rtt_expect_dims(&out, 3, dy);
    rtt_expect_f32(&out, want, 2, EXACT, 0);
    rtt_free_outputs(&out, 1);
}

Test(matmul_nbits, k_not_a_multiple_of_block_and_packed_zero_point_rows) {
    /* K = 20, block 16: n_blocks 2 (the second holds 4 codes, padded). bits 4: zero points
     * packed per row: ceil(2 * 4 / 8) = 1 byte, block 0 low nibble, block 1 high nibble.
     * N = 1, all codes 10; zp block 0 = 9, block 1 = 12; scales 1 and 0.25. */
    make_attrs(20, 1, 4, 16);
    uint8_t b[2 * 8];
    memset(b, 0xAA, sizeof b);
    uint8_t zp[1] = {9 | 12 << 4};
    float a[20], s[2] = {1.0f, 0.25f};
    for (int k = 0; k < 20; k++) a[k] = 1.0f;
    int64_t da[] = {20}, db[] = {1, 2, 8}, ds[] = {1, 2}, dz[] = {1, 1};
    RtTensor A = rtt_tensor(RT_F32, 1, da, a), B = rtt_tensor(RT_U8, 3, db, b), S = rtt_tensor(RT_F32, 2, ds, s);
    RtTensor Z = rtt_tensor(RT_U8, 2, dz, zp), out;
    RtTensor *in[] = {&A, &B, &S, &Z};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, in, 4, &out, attrs4, 4, 0), RT_OK, "%s", rtt_err.msg);
    /* 16 * (10 - 9) * 1 + 4 * (10 - 12) * 0.25 = 16 - 2 = 14 */
    const float want[] = {14.0f};
    int64_t dy[] = {1};
    rtt_expect_dims(&out, 1, dy);
    rtt_expect_f32(&out, want, 1, EXACT, 0);
    rtt_free_outputs(&out, 1);
}

Test(matmul_nbits, g_idx_picks_each_rows_block) {
    /* K = 32, block 16, N = 1, all codes 9, default zp 8, scales {1, 10}; A = 1 on k < 16.
     * Without g_idx k < 16 is block 0: 16 * 1 = 16. With g_idx[k] = k % 2: 8 * 1 + 8 * 10 = 88. */
    make_attrs(32, 1, 4, 16);
    uint8_t b[2 * 8];
    memset(b, 0x99, sizeof b);
    float a[32], s[2] = {1.0f, 10.0f};
    int32_t gi[32];
    for (int k = 0; k < 32; k++) {
        a[k] = k < 16 ? 1.0f : 0.0f;
        gi[k] = k % 2;
    }
    int64_t da[] = {1, 32}, db[] = {1, 2, 8}, ds[] = {1, 2}, dg[] = {32};
    RtTensor A = rtt_tensor(RT_F32, 2, da, a), B = rtt_tensor(RT_U8, 3, db, b), S = rtt_tensor(RT_F32, 2, ds, s);
    RtTensor G = rtt_tensor(RT_I32, 1, dg, gi), out;
    RtTensor *plain[] = {&A, &B, &S};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, plain, 3, &out, attrs4, 4, 0), RT_OK, "%s", rtt_err.msg);
    const float want_plain[] = {16.0f};
    rtt_expect_f32(&out, want_plain, 1, EXACT, 0);
    rtt_free_outputs(&out, 1);
    RtTensor *with_g[] = {&A, &B, &S, NULL, &G};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, with_g, 5, &out, attrs4, 4, 0), RT_OK, "%s", rtt_err.msg);
    const float want_g[] = {88.0f};
    rtt_expect_f32(&out, want_g, 1, EXACT, 0);
    rtt_free_outputs(&out, 1);
    gi[3] = 2; /* a block that does not exist */
    cr_expect_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, with_g, 5, &out, attrs4, 4, 0), RT_ERR);
    cr_expect_null(out.data);
    cr_expect(strstr(rtt_err.msg, "g_idx") != NULL, "%s", rtt_err.msg);
}

Test(matmul_nbits, shape_only_and_errors) {
    make_b4();
    make_attrs(16, 2, 4, 16);
    int64_t da[] = {3, 5, 16}, db[] = {2, 1, 8}, ds[] = {2, 1};
    RtTensor A = rtt_tensor(RT_F32, 3, da, NULL), B = rtt_tensor(RT_U8, 3, db, b4), S = rtt_tensor(RT_F32, 2, ds, NULL);
    RtTensor out;
    RtTensor *in[] = {&A, &B, &S};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, in, 3, &out, attrs4, 4, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    int64_t dy[] = {3, 5, 2};
    rtt_expect_dims(&out, 3, dy);

    int64_t bad_b[] = {2, 1, 7}; /* blob_size must be 16 * 4 / 8 = 8 */
    RtTensor Bb = rtt_tensor(RT_U8, 3, bad_b, b4);
    RtTensor *in_bad[] = {&A, &Bb, &S};
    cr_expect_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, in_bad, 3, &out, attrs4, 4, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "blob_size") != NULL, "%s", rtt_err.msg);

    make_attrs(16, 2, 4, 24); /* not a power of two */
    cr_expect_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, in, 3, &out, attrs4, 4, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "block_size") != NULL, "%s", rtt_err.msg);

    make_attrs(16, 2, 9, 16);
    cr_expect_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, in, 3, &out, attrs4, 4, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "bits") != NULL, "%s", rtt_err.msg);

    make_attrs(17, 2, 4, 16); /* A's last dimension is 16 */
    cr_expect_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, in, 3, &out, attrs4, 4, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "K=17") != NULL, "%s", rtt_err.msg);
}

Test(matmul_nbits, empty_k_gives_the_bias) {
    /* K = 0: no blocks, every sum is empty, so each output row is the bias */
    make_attrs(0, 2, 4, 16);
    float a[1] = {0}, s[1] = {0}, bias[2] = {1.5f, -2.0f};
    uint8_t b[1] = {0};
    int64_t da[] = {3, 0}, db[] = {2, 0, 8}, ds[] = {2, 0}, dbias[] = {2};
    RtTensor A = rtt_tensor(RT_F32, 2, da, a), B = rtt_tensor(RT_U8, 3, db, b), S = rtt_tensor(RT_F32, 2, ds, s);
    RtTensor Bi = rtt_tensor(RT_F32, 1, dbias, bias), out;
    RtTensor *in[] = {&A, &B, &S, NULL, NULL, &Bi};
    cr_assert_eq(rtt_run1(RT_OP_MATMUL_NBITS, 1, in, 6, &out, attrs4, 4, 0), RT_OK, "%s", rtt_err.msg);
    const float want[] = {1.5f, -2.0f, 1.5f, -2.0f, 1.5f, -2.0f};
    rtt_expect_f32(&out, want, 6, EXACT, 0);
    rtt_free_outputs(&out, 1);
}

/* accuracy_level 4 (int8 compute of A, runtime/kernels/nbits_int8.h) where it applies: K = 32,
 * block 32, N = 1, codes 9, default zero point 8, scale 1 (so W = 1); A = {1, 0.3, 0 ...}.
 * Float: 1.3. Int8: amax 1, qa = {127, round(38.1) = 38}, sa = 1/127:
 * dot = 9 * 165 - 8 * 165 = 165, y = 165 / 127 = 1.2992126 (two float roundings: 2 ulp).
 * The reference and the optimized kernel both. Where it does not apply (block 16, g_idx,
 * float zero points) level 4 computes in float: 1.3 exactly as without it. */
Test(matmul_nbits, accuracy_level_4_int8_compute_and_float_fallback) {
    RtAttr at[5] = {rtt_attr_int("K", 32), rtt_attr_int("N", 1), rtt_attr_int("bits", 4),
                    rtt_attr_int("block_size", 32), rtt_attr_int("accuracy_level", 4)};
    uint8_t b[16];
    memset(b, 0x99, sizeof b);
    float a[32] = {1.0f, 0.3f}, s[2] = {1.0f, 1.0f};
    int64_t da[] = {1, 32}, db[] = {1, 1, 16}, ds[] = {1, 1};
    RtTensor A = rtt_tensor(RT_F32, 2, da, a), B = rtt_tensor(RT_U8, 3, db, b), S = rtt_tensor(RT_F32, 2, ds, s), out;
    RtTensor *in[] = {&A, &B, &S};
    const float want_int8[] = {165.0f / 127.0f};
    RtKernelFn fns[2] = {rt_kernel_find(RT_OP_MATMUL_NBITS), rt_kernel_find_fast(RT_OP_MATMUL_NBITS)};
    for (int f = 0; f < 2; f++) {
        cr_assert_eq(rtt_run_kernel(fns[f], NULL, RT_OP_MATMUL_NBITS, 1, in, 3, &out, 1, at, 5, 0), RT_OK, "%s",
                     rtt_err.msg);
        rtt_expect_f32(&out, want_int8, 1, 0, 2.4e-7);
        rtt_free_outputs(&out, 1);
    }
    /* block 16 (two blocks of 16; MLAS would take it, wafer's int8 kernels want whole 32s) */
    at[3] = rtt_attr_int("block_size", 16);
    int64_t db16[] = {1, 2, 8}, ds16[] = {1, 2};
    B = rtt_tensor(RT_U8, 3, db16, b), S = rtt_tensor(RT_F32, 2, ds16, s);
    const float want_float[] = {1.3f};
    for (int f = 0; f < 2; f++) {
        cr_assert_eq(rtt_run_kernel(fns[f], NULL, RT_OP_MATMUL_NBITS, 1, in, 3, &out, 1, at, 5, 0), RT_OK, "%s",
                     rtt_err.msg);
        rtt_expect_f32(&out, want_float, 1, EXACT, 0);
        rtt_free_outputs(&out, 1);
    }
    /* block 32 with g_idx (all 0), and with float zero points (8) */
    at[3] = rtt_attr_int("block_size", 32);
    B = rtt_tensor(RT_U8, 3, db, b), S = rtt_tensor(RT_F32, 2, ds, s);
    int32_t gi[32] = {0};
    float zf[1] = {8.0f};
    int64_t dg[] = {32}, dz[] = {1, 1};
    RtTensor G = rtt_tensor(RT_I32, 1, dg, gi), Z = rtt_tensor(RT_F32, 2, dz, zf);
    RtTensor *with_g[] = {&A, &B, &S, NULL, &G}, *with_zf[] = {&A, &B, &S, &Z};
    for (int f = 0; f < 2; f++) {
        cr_assert_eq(rtt_run_kernel(fns[f], NULL, RT_OP_MATMUL_NBITS, 1, with_g, 5, &out, 1, at, 5, 0), RT_OK, "%s",
                     rtt_err.msg);
        rtt_expect_f32(&out, want_float, 1, EXACT, 0);
        rtt_free_outputs(&out, 1);
        cr_assert_eq(rtt_run_kernel(fns[f], NULL, RT_OP_MATMUL_NBITS, 1, with_zf, 4, &out, 1, at, 5, 0), RT_OK, "%s",
                     rtt_err.msg);
        rtt_expect_f32(&out, want_float, 1, EXACT, 0);
        rtt_free_outputs(&out, 1);
    }
}
