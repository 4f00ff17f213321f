/*
 * test_conv.c — Conv and ConvTranspose (runtime/kernels/ref/conv.c) against naive loops
 * written here on odd sizes (im2col, pointwise, depthwise and float64 paths), plus
 * hand-computed auto_pad, output_shape, shape-only and error cases.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* float32 sums of at most 3 x 3 x 3 = 27 products of values in [-1, 1]: each rounding is
 * <= 2^-24 relative, so 27 terms stay far below 1e-5 absolute. */
#define CONV_TOL_F32 1e-5
/* float16 output: one rounding to 11 significant bits of values up to ~10: 10 * 2^-11 ~ 5e-3. */
#define CONV_TOL_F16 1e-2

/* Deterministic values in [-1, 1]. */
static void fill(float *v, int64_t n, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* The textbook 2-D convolution: y[n,m,oh,ow] = b[m] + sum_{c in group, kh, kw}
 * w[m,c,kh,kw] * x[n, g*Cg + c, oh*s - p + kh*d, ow*s - p + kw*d] (zero outside). */
typedef struct {
    int64_t N, C, H, W, M, KH, KW, group, sh, sw, ph0, pw0, dh, dw, OH, OW;
} Naive2d;

static void naive_conv2d(const Naive2d *p, const float *x, const float *w, const float *b, double *y) {
    int64_t Cg = p->C / p->group, Mg = p->M / p->group;
    for (int64_t n = 0; n < p->N; n++)
        for (int64_t m = 0; m < p->M; m++)
            for (int64_t oh = 0; oh < p->OH; oh++)
                for (int64_t ow = 0; ow < p->OW; ow++) {
                    double acc = b ? b[m] : 0.0;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t kh = 0; kh < p->KH; kh++)
                            for (int64_t kw = 0; kw < p->KW; kw++) {
                                int64_t ih = oh * p->sh - p->ph0 + kh * p->dh, iw = ow * p->sw - p->pw0 + kw * p->dw;
                                if (ih < 0 || ih >= p->H || iw < 0 || iw >= p->W) continue;
                                int64_t ci = (m / Mg) * Cg + c;
                                acc += (double)w[((m * Cg + c) * p->KH + kh) * p->KW + kw] *
                                       x[((n * p->C + ci) * p->H + ih) * p->W + iw];
                            }
                    y[((n * p->M + m) * p->OH + oh) * p->OW + ow] = acc;
                }
}

/* Runs Conv (float32, and float64 on the same values) with the attrs and compares both
 * with the naive loop. */
static void check_conv2d(const Naive2d *p, RtAttr *attrs, int n_attr, int with_bias) {
    int64_t xd[] = {p->N, p->C, p->H, p->W}, wd[] = {p->M, p->C / p->group, p->KH, p->KW}, bd[] = {p->M};
    int64_t nx = p->N * p->C * p->H * p->W, nw = wd[0] * wd[1] * wd[2] * wd[3], ny = p->N * p->M * p->OH * p->OW;
    float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), b[64];
    double *want = malloc(sizeof(double) * ny), *x64 = malloc(sizeof(double) * nx), *w64 = malloc(sizeof(double) * nw), b64[64];
    fill(x, nx, 1), fill(w, nw, 2), fill(b, p->M, 3);
    for (int64_t i = 0; i < nx; i++) x64[i] = x[i];
    for (int64_t i = 0; i < nw; i++) w64[i] = w[i];
    for (int64_t i = 0; i < p->M; i++) b64[i] = b[i];
    naive_conv2d(p, x, w, with_bias ? b : NULL, want);
    for (int dt = 0; dt < 2; dt++) {
        RtDtype t = dt ? RT_F64 : RT_F32;
        RtTensor tx = rtt_tensor(t, 4, xd, dt ? (void *)x64 : x), tw = rtt_tensor(t, 4, wd, dt ? (void *)w64 : w);
        RtTensor tb = rtt_tensor(t, 1, bd, dt ? (void *)b64 : b), out = {0};
        RtTensor *in[] = {&tx, &tw, with_bias ? &tb : NULL};
        cr_assert_eq(rtt_run1(RT_OP_CONV, 17, in, 3, &out, attrs, n_attr, 0), RT_OK, "%s", rtt_err.msg);
        cr_assert_eq(out.rank, 4);
        cr_assert_eq(out.dims[2], p->OH, "OH %lld want %lld", (long long)out.dims[2], (long long)p->OH);
        cr_assert_eq(out.dims[3], p->OW, "OW %lld want %lld", (long long)out.dims[3], (long long)p->OW);
        cr_assert_eq(out.dims[1], p->M);
        for (int64_t i = 0; i < ny; i++) {
            double got = dt ? ((double *)out.data)[i] : ((float *)out.data)[i];
            cr_assert(fabs(got - want[i]) <= CONV_TOL_F32, "%s element %lld: got %g want %g",
                      rt_dtype_name(t), (long long)i, got, want[i]);
        }
        free(out.data);
    }
    free(x), free(w), free(want), free(x64), free(w64);
}

Test(conv, odd_sizes_stride2_pad1_dilation2_group1) {
    /* C=3, H=7, W=5, K=3, stride 2, pad 1, dilation 2: OH = (7+2-5)/2+1 = 3, OW = (5+2-5)/2+1 = 2 */
    Naive2d p = {2, 3, 7, 5, 4, 3, 3, 1, 2, 2, 1, 1, 2, 2, 3, 2};
    int64_t k[] = {3, 3}, s[] = {2, 2}, pads[] = {1, 1, 1, 1}, d[] = {2, 2};
    RtAttr a[] = {rtt_attr_ints("kernel_shape", k, 2), rtt_attr_ints("strides", s, 2), rtt_attr_ints("pads", pads, 4),
                  rtt_attr_ints("dilations", d, 2)};
    check_conv2d(&p, a, 4, 1);
}

Test(conv, depthwise_odd_sizes_with_multiplier) {
    /* group == C == 3 with 2 outputs per channel (M = 6): the direct depthwise loop */
    Naive2d p = {1, 3, 7, 5, 6, 3, 3, 3, 2, 2, 1, 1, 2, 2, 3, 2};
    int64_t s[] = {2, 2}, pads[] = {1, 1, 1, 1}, d[] = {2, 2};
    RtAttr a[] = {rtt_attr_int("group", 3), rtt_attr_ints("strides", s, 2), rtt_attr_ints("pads", pads, 4),
                  rtt_attr_ints("dilations", d, 2)};
    check_conv2d(&p, a, 4, 1);
    Naive2d q = {2, 3, 7, 5, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 7, 5}; /* plain 3x3 depthwise, same size */
    int64_t pads1[] = {1, 1, 1, 1};
    RtAttr b[] = {rtt_attr_int("group", 3), rtt_attr_ints("pads", pads1, 4)};
    check_conv2d(&q, b, 2, 0);
    /* unit stride, dilation (2,1), asymmetric pads (2,0 / 1,1): the padded-plane depthwise
     * path. OH = 9 + 3 - 2*2 = 8, OW = 6 + 1 - 1 = 6 */
    Naive2d r = {1, 3, 9, 6, 3, 3, 2, 3, 1, 1, 2, 0, 2, 1, 8, 6};
    int64_t pads2[] = {2, 0, 1, 1}, d2[] = {2, 1};
    RtAttr c2[] = {rtt_attr_int("group", 3), rtt_attr_ints("pads", pads2, 4), rtt_attr_ints("dilations", d2, 2)};
    check_conv2d(&r, c2, 3, 1);
}

Test(conv, grouped_and_pointwise) {
    Naive2d g = {1, 4, 5, 7, 6, 2, 3, 2, 1, 2, 0, 1, 1, 1, 5, 3}; /* 2 groups, asymmetric strides */
    int64_t s[] = {1, 2}, pads[] = {0, 1, 1, 0};
    RtAttr a[] = {rtt_attr_int("group", 2), rtt_attr_ints("strides", s, 2), rtt_attr_ints("pads", pads, 4)};
    check_conv2d(&g, a, 3, 1);
    Naive2d pw = {2, 5, 3, 7, 3, 1, 1, 1, 1, 1, 0, 0, 1, 1, 3, 7}; /* 1x1: gemm on the input directly */
    check_conv2d(&pw, NULL, 0, 1);
}

Test(conv, same_upper_and_lower_output_size_and_pads) {
    /* H=7, K=4, stride 2: out = ceil(7/2) = 4, total pad = 3*2 + 4 - 7 = 3 -> UPPER (1, 2),
     * LOWER (2, 1); W=5, K=3: out 3, total 2 -> (1, 1) either way. */
    int64_t s[] = {2, 2};
    Naive2d up = {1, 3, 7, 5, 2, 4, 3, 1, 2, 2, 1, 1, 1, 1, 4, 3};
    RtAttr a[] = {rtt_attr_str("auto_pad", "SAME_UPPER"), rtt_attr_ints("strides", s, 2)};
    check_conv2d(&up, a, 2, 0);
    Naive2d lo = up;
    lo.ph0 = 2;
    RtAttr b[] = {rtt_attr_str("auto_pad", "SAME_LOWER"), rtt_attr_ints("strides", s, 2)};
    check_conv2d(&lo, b, 2, 0);
}

Test(conv, conv1d_and_conv3d_equal_their_2d_embedding) {
    /* A 1-D conv is the 2-D conv with H = KH = 1; a 3-D conv with depth 1 and kernel depth 1 too. */
    float x[2 * 9], w[4 * 2 * 3], b[4];
    fill(x, 18, 7), fill(w, 24, 8), fill(b, 4, 9);
    Naive2d p = {1, 2, 1, 9, 4, 1, 3, 1, 1, 2, 0, 1, 1, 2, 1, 3}; /* OW = (9 + 1 - 5) / 2 + 1 */
    double want[12];
    naive_conv2d(&p, x, w, b, want);
    int64_t s1[] = {2}, p1[] = {1, 0}, d1[] = {2};
    RtAttr a1[] = {rtt_attr_ints("strides", s1, 1), rtt_attr_ints("pads", p1, 2), rtt_attr_ints("dilations", d1, 1)};
    int64_t xd1[] = {1, 2, 9}, wd1[] = {4, 2, 3}, bd[] = {4};
    RtTensor tx = rtt_tensor(RT_F32, 3, xd1, x), tw = rtt_tensor(RT_F32, 3, wd1, w), tb = rtt_tensor(RT_F32, 1, bd, b),
             out = {0};
    RtTensor *in[] = {&tx, &tw, &tb};
    cr_assert_eq(rtt_run1(RT_OP_CONV, 17, in, 3, &out, a1, 3, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out.rank, 3);
    cr_assert_eq(out.dims[2], 3);
    for (int i = 0; i < 12; i++) cr_expect(fabs(((float *)out.data)[i] - want[i]) <= CONV_TOL_F32, "1-D element %d", i);
    free(out.data);
    int64_t s3[] = {1, 1, 2}, p3[] = {0, 0, 1, 0, 0, 0}, d3[] = {1, 1, 2};
    RtAttr a3[] = {rtt_attr_ints("strides", s3, 3), rtt_attr_ints("pads", p3, 6), rtt_attr_ints("dilations", d3, 3)};
    int64_t xd3[] = {1, 2, 1, 1, 9}, wd3[] = {4, 2, 1, 1, 3};
    RtTensor tx3 = rtt_tensor(RT_F32, 5, xd3, x), tw3 = rtt_tensor(RT_F32, 5, wd3, w), out3 = {0};
    RtTensor *in3[] = {&tx3, &tw3, &tb};
    cr_assert_eq(rtt_run1(RT_OP_CONV, 17, in3, 3, &out3, a3, 3, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out3.rank, 5);
    for (int i = 0; i < 12; i++) cr_expect(fabs(((float *)out3.data)[i] - want[i]) <= CONV_TOL_F32, "3-D element %d", i);
    free(out3.data);
}

Test(conv, float16_matches_float32) {
    int64_t xd[] = {1, 2, 4, 4}, wd[] = {3, 2, 3, 3};
    float x[32], w[54];
    fill(x, 32, 11), fill(w, 54, 12);
    uint16_t xh[32], wh[54];
    for (int i = 0; i < 32; i++) xh[i] = rt_f32_to_f16(x[i]), x[i] = rt_f16_to_f32(xh[i]);
    for (int i = 0; i < 54; i++) wh[i] = rt_f32_to_f16(w[i]), w[i] = rt_f16_to_f32(wh[i]);
    int64_t pads[] = {1, 1, 1, 1};
    RtAttr a[] = {rtt_attr_ints("pads", pads, 4)};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), tw = rtt_tensor(RT_F32, 4, wd, w), o32 = {0};
    RtTensor hx = rtt_tensor(RT_F16, 4, xd, xh), hw = rtt_tensor(RT_F16, 4, wd, wh), o16 = {0};
    RtTensor *in32[] = {&tx, &tw}, *in16[] = {&hx, &hw};
    cr_assert_eq(rtt_run1(RT_OP_CONV, 17, in32, 2, &o32, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run1(RT_OP_CONV, 17, in16, 2, &o16, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(o16.dtype, RT_F16);
    for (int i = 0; i < 48; i++) {
        float h = rt_f16_to_f32(((uint16_t *)o16.data)[i]), f = ((float *)o32.data)[i];
        cr_expect(fabsf(h - f) <= CONV_TOL_F16, "element %d: f16 %g f32 %g", i, h, f);
    }
    free(o32.data), free(o16.data);
}

Test(conv, shape_only_and_errors) {
    int64_t xd[] = {1, 3, 224, 224}, wd[] = {32, 3, 3, 3}, s[] = {2, 2}, pads[] = {1, 1, 1, 1};
    RtAttr a[] = {rtt_attr_ints("strides", s, 2), rtt_attr_ints("pads", pads, 4)};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, NULL), tw = rtt_tensor(RT_F32, 4, wd, NULL), out = {0};
    RtTensor *in[] = {&tx, &tw};
    cr_assert_eq(rtt_run1(RT_OP_CONV, 17, in, 2, &out, a, 2, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    cr_expect(out.dims[0] == 1 && out.dims[1] == 32 && out.dims[2] == 112 && out.dims[3] == 112);

    int64_t wbad[] = {8, 4, 3, 3};
    RtTensor tw2 = rtt_tensor(RT_F32, 4, wbad, NULL), out2 = {0};
    RtTensor *in2[] = {&tx, &tw2};
    cr_assert_eq(rtt_run1(RT_OP_CONV, 17, in2, 2, &out2, NULL, 0, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "input channels 3 != weight channels 4 x group 1") != NULL, "message: %s",
              rtt_err.msg);

    int64_t pbad[] = {1, 1};
    RtAttr ab[] = {rtt_attr_ints("pads", pbad, 2)};
    RtTensor out3 = {0};
    cr_assert_eq(rtt_run1(RT_OP_CONV, 17, in, 2, &out3, ab, 1, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "pads") != NULL, "message: %s", rtt_err.msg);

    int64_t bd[] = {5};
    RtTensor tb = rtt_tensor(RT_F32, 1, bd, NULL), out4 = {0};
    RtTensor *in4[] = {&tx, &tw, &tb};
    cr_assert_eq(rtt_run1(RT_OP_CONV, 17, in4, 3, &out4, NULL, 0, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "bias B") != NULL, "message: %s", rtt_err.msg);
}

/* ---------------------------------------------------------------- ConvTranspose */

Test(conv_transpose, output_shape_and_pads_1d) {
    /* x = [1, 2, 3], w = [1, 1, 1], stride 2: each x[i] lands on 2i, 2i+1, 2i+2:
     * natural output (7) = [1, 1, 3, 2, 5, 3, 3]. */
    float x[] = {1, 2, 3}, w[] = {1, 1, 1};
    int64_t xd[] = {1, 1, 3}, wd[] = {1, 1, 3}, s[] = {2};
    RtTensor tx = rtt_tensor(RT_F32, 3, xd, x), tw = rtt_tensor(RT_F32, 3, wd, w);
    RtTensor *in[] = {&tx, &tw};
    struct { RtAttr a; int64_t len; float want[8]; } cases[3];
    int64_t os[] = {8}, pads[] = {1, 1};
    cases[0].a = rtt_attr_ints("output_shape", os, 1); /* total = 7 - 8 = -1: the end grows */
    cases[0].len = 8;
    memcpy(cases[0].want, (float[]){1, 1, 3, 2, 5, 3, 3, 0}, sizeof cases[0].want);
    cases[1].a = rtt_attr_ints("pads", pads, 2);
    cases[1].len = 5;
    memcpy(cases[1].want, (float[]){1, 3, 2, 5, 3, 0, 0, 0}, sizeof cases[1].want);
    cases[2].a = rtt_attr_str("auto_pad", "SAME_UPPER"); /* out = 3 * 2 = 6, total 1 -> pads (0, 1) */
    cases[2].len = 6;
    memcpy(cases[2].want, (float[]){1, 1, 3, 2, 5, 3, 0, 0}, sizeof cases[2].want);
    for (int k = 0; k < 3; k++) {
        RtAttr a[] = {rtt_attr_ints("strides", s, 1), cases[k].a};
        RtTensor out = {0};
        cr_assert_eq(rtt_run1(RT_OP_CONV_TRANSPOSE, 17, in, 2, &out, a, 2, 0), RT_OK, "%s", rtt_err.msg);
        cr_assert_eq(out.dims[2], cases[k].len, "case %d: length %lld", k, (long long)out.dims[2]);
        for (int i = 0; i < cases[k].len; i++)
            cr_expect_float_eq(((float *)out.data)[i], cases[k].want[i], CONV_TOL_F32, "case %d element %d", k, i);
        free(out.data);
    }
}

/* Naive 2-D transposed conv: every x[n, c, ih, iw] * w[c, mg, kh, kw] adds into
 * y[n, g*Mg + mg, ih*s - p + kh*d, iw*s - p + kw*d]. */
Test(conv_transpose, grouped_dilated_2d_against_scatter_loop) {
    const int64_t N = 1, C = 4, H = 3, W = 5, G = 2, Mg = 3, KH = 2, KW = 3, sh = 2, sw = 3, dh = 2, dw = 1;
    const int64_t p0h = 1, p0w = 0, p1h = 0, p1w = 2, oph = 1, opw = 0;
    const int64_t OH = sh * (H - 1) + oph + (KH - 1) * dh + 1 - p0h - p1h;
    const int64_t OW = sw * (W - 1) + opw + (KW - 1) * dw + 1 - p0w - p1w;
    const int64_t M = G * Mg, Cg = C / G;
    float x[N * C * H * W], w[C * Mg * KH * KW], b[M];
    fill(x, N * C * H * W, 21), fill(w, C * Mg * KH * KW, 22), fill(b, M, 23);
    double *want = calloc((size_t)(N * M * OH * OW), sizeof(double));
    for (int64_t m = 0; m < M; m++)
        for (int64_t i = 0; i < OH * OW; i++) want[m * OH * OW + i] = b[m];
    for (int64_t c = 0; c < C; c++)
        for (int64_t mg = 0; mg < Mg; mg++)
            for (int64_t ih = 0; ih < H; ih++)
                for (int64_t iw = 0; iw < W; iw++)
                    for (int64_t kh = 0; kh < KH; kh++)
                        for (int64_t kw = 0; kw < KW; kw++) {
                            int64_t oh = ih * sh - p0h + kh * dh, ow = iw * sw - p0w + kw * dw;
                            if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                            int64_t m = (c / Cg) * Mg + mg;
                            want[(m * OH + oh) * OW + ow] +=
                                (double)x[(c * H + ih) * W + iw] * w[((c * Mg + mg) * KH + kh) * KW + kw];
                        }
    int64_t xd[] = {N, C, H, W}, wd[] = {C, Mg, KH, KW}, bd[] = {M};
    int64_t s[] = {sh, sw}, d[] = {dh, dw}, pads[] = {p0h, p0w, p1h, p1w}, op[] = {oph, opw};
    RtAttr a[] = {rtt_attr_int("group", G), rtt_attr_ints("strides", s, 2), rtt_attr_ints("dilations", d, 2),
                  rtt_attr_ints("pads", pads, 4), rtt_attr_ints("output_padding", op, 2)};
    double x64[N * C * H * W], w64[C * Mg * KH * KW], b64[M];
    for (int64_t i = 0; i < N * C * H * W; i++) x64[i] = x[i];
    for (int64_t i = 0; i < C * Mg * KH * KW; i++) w64[i] = w[i];
    for (int64_t i = 0; i < M; i++) b64[i] = b[i];
    for (int dt = 0; dt < 2; dt++) {
        RtDtype t = dt ? RT_F64 : RT_F32;
        RtTensor tx = rtt_tensor(t, 4, xd, dt ? (void *)x64 : x), tw = rtt_tensor(t, 4, wd, dt ? (void *)w64 : w);
        RtTensor tb = rtt_tensor(t, 1, bd, dt ? (void *)b64 : b), out = {0};
        RtTensor *in[] = {&tx, &tw, &tb};
        cr_assert_eq(rtt_run1(RT_OP_CONV_TRANSPOSE, 17, in, 3, &out, a, 5, 0), RT_OK, "%s", rtt_err.msg);
        cr_assert(out.dims[1] == M && out.dims[2] == OH && out.dims[3] == OW, "shape [%lld,%lld,%lld]",
                  (long long)out.dims[1], (long long)out.dims[2], (long long)out.dims[3]);
        for (int64_t i = 0; i < N * M * OH * OW; i++) {
            double got = dt ? ((double *)out.data)[i] : ((float *)out.data)[i];
            cr_assert(fabs(got - want[i]) <= CONV_TOL_F32, "%s element %lld: got %g want %g", rt_dtype_name(t),
                      (long long)i, got, want[i]);
        }
        free(out.data);
    }
    free(want);
}
