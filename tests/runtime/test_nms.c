/*
 * test_nms.c — NonMaxSuppression of runtime/kernels/ref/nms.c on boxes whose overlaps are
 * worked out by hand (IoUs 0, 1/3, 1/2, 1), both box formats, thresholds at and around the
 * IoU values, the output order over batches and classes, shape mode and the error paths.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* One batch, one class, corner format [y1, x1, y2, x2]:
 *   box 0: y 0..2, x 0..2 (area 4), score 0.9
 *   box 1: y 0..2, x 1..3 (area 4), score 0.8: with box 0 inter 2, union 6, IoU 1/3
 *   box 2: box 0 given by its other diagonal (flipped corners), score 0.7: IoU 1 with box 0
 *   box 3: y 5..6, x 5..6, score 0.95: overlaps nothing
 * Score order: 3, 0, 1, 2. */
static float g_boxes[16] = {0, 0, 2, 2, 0, 1, 2, 3, 2, 2, 0, 0, 5, 5, 6, 6};
static float g_scores[4] = {0.9f, 0.8f, 0.7f, 0.95f};

/* Runs NMS on the boxes above with the given max (< 0 = input absent), IoU and score
 * thresholds (NaN = absent); returns the status, result in *out. */
static int run(int64_t max_out, float iou_thr, float score_thr, RtTensor *out) {
    static int64_t bd[] = {1, 4, 4}, sd[] = {1, 1, 4}, one[] = {1};
    static int64_t m;
    static float it, st;
    m = max_out;
    it = iou_thr;
    st = score_thr;
    static RtTensor tb, ts, tm, ti, tst;
    tb = rtt_tensor(RT_F32, 3, bd, g_boxes);
    ts = rtt_tensor(RT_F32, 3, sd, g_scores);
    tm = rtt_tensor(RT_I64, 1, one, &m);
    ti = rtt_tensor(RT_F32, 1, one, &it);
    tst = rtt_tensor(RT_F32, 0, NULL, &st);
    RtTensor *in[] = {&tb, &ts, max_out < 0 ? NULL : &tm, &ti, isnan(score_thr) ? NULL : &tst};
    return rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 11, in, 5, out, NULL, 0, 0);
}

static void expect_rows(const RtTensor *t, const int64_t *want, int rows) {
    cr_assert_eq(t->dtype, RT_I64, "dtype %s", rt_dtype_name(t->dtype));
    rtt_expect_dims(t, 2, (int64_t[]){rows, 3});
    for (int i = 0; i < rows * 3; i++)
        cr_expect_eq(((int64_t *)t->data)[i], want[i], "element %d: got %lld, want %lld", i,
                     (long long)((int64_t *)t->data)[i], (long long)want[i]);
}

Test(nms, iou_threshold_suppresses_strictly_above) {
    RtTensor out = {0};
    /* 0.5: box 1 (IoU 1/3 with box 0) stays, box 2 (IoU 1) goes */
    cr_assert_eq(run(10, 0.5f, NAN, &out), RT_OK, "%s", rtt_err.msg);
    expect_rows(&out, (int64_t[]){0, 0, 3, 0, 0, 0, 0, 0, 1}, 3);
    free(out.data);
    /* 0.3 < 1/3: box 1 goes too */
    cr_assert_eq(run(10, 0.3f, NAN, &out), RT_OK, "%s", rtt_err.msg);
    expect_rows(&out, (int64_t[]){0, 0, 3, 0, 0, 0}, 2);
    free(out.data);
    /* 1.0: nothing has IoU above 1, all four kept in score order */
    cr_assert_eq(run(10, 1.0f, NAN, &out), RT_OK, "%s", rtt_err.msg);
    expect_rows(&out, (int64_t[]){0, 0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 2}, 4);
    free(out.data);
}

Test(nms, max_output_and_score_threshold) {
    RtTensor out = {0};
    cr_assert_eq(run(2, 0.5f, NAN, &out), RT_OK, "%s", rtt_err.msg);
    expect_rows(&out, (int64_t[]){0, 0, 3, 0, 0, 0}, 2);
    free(out.data);
    /* absent max_output_boxes_per_class = 0: nothing selected, shape [0, 3] */
    cr_assert_eq(run(-1, 0.5f, NAN, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){0, 3});
    free(out.data);
    /* only scores strictly above the threshold stay (the spec's reference implementation):
     * 0.79 keeps box 1 (0.8), 0.8 drops it, as it drops box 2 (0.7) */
    cr_assert_eq(run(10, 1.0f, 0.79f, &out), RT_OK, "%s", rtt_err.msg);
    expect_rows(&out, (int64_t[]){0, 0, 3, 0, 0, 0, 0, 0, 1}, 3);
    free(out.data);
    cr_assert_eq(run(10, 1.0f, 0.8f, &out), RT_OK, "%s", rtt_err.msg);
    expect_rows(&out, (int64_t[]){0, 0, 3, 0, 0, 0}, 2);
    free(out.data);
}

Test(nms, iou_equal_to_threshold_is_kept) {
    /* A: y 0..1, x 0..2 (area 2), B: y 0..1, x 0..1 (area 1): inter 1, union 2, IoU 0.5 */
    float boxes[8] = {0, 0, 1, 2, 0, 0, 1, 1}, scores[2] = {0.9f, 0.8f}, thr = 0.5f;
    int64_t bd[] = {1, 2, 4}, sd[] = {1, 1, 2}, one[] = {1}, m = 5;
    RtTensor tb = rtt_tensor(RT_F32, 3, bd, boxes), ts = rtt_tensor(RT_F32, 3, sd, scores),
             tm = rtt_tensor(RT_I64, 1, one, &m), ti = rtt_tensor(RT_F32, 1, one, &thr), out = {0};
    RtTensor *in[] = {&tb, &ts, &tm, &ti};
    cr_assert_eq(rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 11, in, 4, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    expect_rows(&out, (int64_t[]){0, 0, 0, 0, 0, 1}, 2);
    free(out.data);
    thr = 0.49f;
    cr_assert_eq(rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 11, in, 4, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    expect_rows(&out, (int64_t[]){0, 0, 0}, 1);
    free(out.data);
}

Test(nms, center_point_box) {
    /* [xc, yc, w, h]: [1,1,2,2] = x 0..2, y 0..2; [2,1,2,2] = x 1..3, y 0..2: IoU 1/3 */
    float boxes[8] = {1, 1, 2, 2, 2, 1, 2, 2}, scores[2] = {0.5f, 0.6f}, thr = 0.3f;
    int64_t bd[] = {1, 2, 4}, sd[] = {1, 1, 2}, one[] = {1}, m = 5;
    RtTensor tb = rtt_tensor(RT_F32, 3, bd, boxes), ts = rtt_tensor(RT_F32, 3, sd, scores),
             tm = rtt_tensor(RT_I64, 1, one, &m), ti = rtt_tensor(RT_F32, 1, one, &thr), out = {0};
    RtTensor *in[] = {&tb, &ts, &tm, &ti};
    RtAttr a[] = {rtt_attr_int("center_point_box", 1)};
    cr_assert_eq(rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 11, in, 4, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    expect_rows(&out, (int64_t[]){0, 0, 1}, 1);
    free(out.data);
    thr = 0.4f;
    cr_assert_eq(rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 11, in, 4, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    expect_rows(&out, (int64_t[]){0, 0, 1, 0, 0, 0}, 2);
    free(out.data);
}

Test(nms, order_over_batches_and_classes_ties_by_index) {
    /* two far-apart boxes; max 1 per class picks the best score, a tie the lower index */
    float boxes[16] = {0, 0, 1, 1, 5, 5, 6, 6, 0, 0, 1, 1, 5, 5, 6, 6};
    float scores[8] = {0.1f, 0.2f, 0.3f, 0.1f, 0.5f, 0.5f, 0.0f, 0.9f};
    int64_t bd[] = {2, 2, 4}, sd[] = {2, 2, 2}, one[] = {1}, m = 1;
    RtTensor tb = rtt_tensor(RT_F32, 3, bd, boxes), ts = rtt_tensor(RT_F32, 3, sd, scores),
             tm = rtt_tensor(RT_I64, 1, one, &m), out = {0};
    RtTensor *in[] = {&tb, &ts, &tm};
    cr_assert_eq(rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 10, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    expect_rows(&out, (int64_t[]){0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1}, 4);
    free(out.data);
    /* shape mode with every value known: the count is computed */
    cr_assert_eq(rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 10, in, 3, &out, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){4, 3});
    /* ... and without the scores' values it is data-dependent */
    RtTensor tu = rtt_tensor(RT_F32, 3, sd, NULL);
    in[1] = &tu;
    cr_assert_eq(rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 10, in, 3, &out, NULL, 0, 1), RT_SHAPE_UNKNOWN);
}

Test(nms, errors) {
    float boxes[8] = {0}, scores[2] = {0}, thr = 1.5f;
    int64_t bd[] = {1, 2, 4}, sd[] = {1, 1, 3}, sd_ok[] = {1, 1, 2}, one[] = {1}, two[] = {2}, m[2] = {1, 1};
    RtTensor tb = rtt_tensor(RT_F32, 3, bd, boxes), ts = rtt_tensor(RT_F32, 3, sd, scores), out = {0};
    RtTensor *in[] = {&tb, &ts, NULL, NULL};
    cr_assert_eq(rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 11, in, 2, &out, NULL, 0, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "do not fit"), "%s", rtt_err.msg);
    RtTensor ts2 = rtt_tensor(RT_F32, 3, sd_ok, scores), tm = rtt_tensor(RT_I64, 1, two, m),
             ti = rtt_tensor(RT_F32, 1, one, &thr);
    in[1] = &ts2;
    RtAttr a[] = {rtt_attr_int("center_point_box", 2)};
    cr_assert_eq(rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 11, in, 2, &out, a, 1, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "center_point_box"), "%s", rtt_err.msg);
    in[2] = &tm;
    cr_assert_eq(rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 11, in, 3, &out, NULL, 0, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "one value"), "%s", rtt_err.msg);
    in[2] = NULL;
    in[3] = &ti;
    cr_assert_eq(rtt_run1(RT_OP_NON_MAX_SUPPRESSION, 11, in, 4, &out, NULL, 0, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "iou_threshold"), "%s", rtt_err.msg);
    cr_expect_null(out.data);
}
