/*
 * nms.c — reference kernel for NonMaxSuppression (opset 10, 11).
 *
 * Inputs: boxes [B, S, 4], scores [B, C, S], and optional scalars max_output_boxes_per_class
 * (int64, default 0 = select nothing), iou_threshold (float in [0, 1], default 0) and
 * score_threshold (float, default none). Output selected_indices [N, 3] int64 rows
 * (batch, class, box), batch-major, then class, then in selection order.
 *
 * Per (batch, class), greedy as the spec describes:
 *   1. candidates = boxes whose score is strictly above score_threshold (the spec's
 *      reference implementation and onnxruntime both compare with >, so a score equal to
 *      the threshold is dropped), NaN scores dropped;
 *   2. sorted by score, highest first, ties by lower box index (onnxruntime's order);
 *   3. each candidate in turn is selected unless its IoU with an already selected box is
 *      strictly greater than iou_threshold; stop at max_output_boxes_per_class selected.
 * Boxes: center_point_box 0 = [y1, x1, y2, x2], any diagonal pair of corners (normalized to
 * min/max); 1 = [x_center, y_center, width, height]. IoU = intersection / union in double;
 * a zero union (two empty boxes) counts as IoU 0, so empty boxes never suppress.
 *
 * The output's length depends on every value of boxes and scores, so in shape mode without
 * their data the kernel returns RT_SHAPE_UNKNOWN (RT_NEED_DATA), as Compress and Range do.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernel.h"

typedef struct {
    double score;
    int64_t index;
} NmsCand;

/* Highest score first, then lower index (qsort is not stable, so the index decides ties). */
static int cand_cmp(const void *pa, const void *pb) {
    const NmsCand *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Reads an optional one-element input; returns 1 when present (value in *v), 0 when absent
 * or empty, -1 after rt_fail when it holds more than one value or is of the wrong kind. */
static int scalar_in(RtKernelCtx *c, const RtTensor *t, const char *name, int want_float, double *v) {
    if (!t || rt_numel(t) == 0) return 0;
    if (rt_numel(t) != 1) return rt_fail(c, "input '%s' must hold one value, got %lld", name, (long long)rt_numel(t)), -1;
    if (want_float ? !rt_dtype_is_float(t->dtype) : (rt_dtype_is_float(t->dtype) || t->dtype == RT_BOOL ||
                                                       rt_dtype_size(t->dtype) == 0))
        return rt_fail(c, "input '%s' must be %s, got %s", name, want_float ? "float" : "int64",
                       rt_dtype_name(t->dtype)), -1;
    if (want_float) {
        *v = rt_get_f64(t, 0);
    } else { /* a huge count only means "all": clamp where double is still exact */
        int64_t i = rt_get_i64(t, 0);
        *v = i > ((int64_t)1 << 53) ? (double)((int64_t)1 << 53) : (double)i;
    }
    return 1;
}

/* Box j of batch b as [x1, y1, x2, y2] with x1 <= x2, y1 <= y2. */
static void box_corners(const RtTensor *boxes, int64_t b, int64_t j, int64_t S, int center, double *o) {
    int64_t base = (b * S + j) * 4;
    double a = rt_get_f64(boxes, base), bb = rt_get_f64(boxes, base + 1), cc = rt_get_f64(boxes, base + 2),
           d = rt_get_f64(boxes, base + 3);
    if (center) {
        o[0] = a - cc / 2;
        o[2] = a + cc / 2;
        o[1] = bb - d / 2;
        o[3] = bb + d / 2;
    } else {
        o[0] = fmin(bb, d);
        o[2] = fmax(bb, d);
        o[1] = fmin(a, cc);
        o[3] = fmax(a, cc);
    }
    /* a center box with negative width is as empty as a flipped one */
    if (o[2] < o[0]) o[2] = o[0];
    if (o[3] < o[1]) o[3] = o[1];
}

static double iou(const double *p, const double *q) {
    double iw = fmin(p[2], q[2]) - fmax(p[0], q[0]), ih = fmin(p[3], q[3]) - fmax(p[1], q[1]);
    if (iw <= 0 || ih <= 0) return 0;
    double inter = iw * ih;
    double uni = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter;
    return uni > 0 ? inter / uni : 0;
}

static int k_nms(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *boxes = in[0], *scores = rt_in(n, in, 1);
    char sb[128], ss[128];
    if (!scores) return rt_fail(c, "missing input 'scores'");
    if (!rt_dtype_is_float(boxes->dtype) || !rt_dtype_is_float(scores->dtype))
        return rt_fail(c, "inputs 'boxes' and 'scores' must be float, got %s and %s", rt_dtype_name(boxes->dtype),
                       rt_dtype_name(scores->dtype));
    if (boxes->rank != 3 || boxes->dims[2] != 4 || scores->rank != 3 || scores->dims[0] != boxes->dims[0] ||
        scores->dims[2] != boxes->dims[1])
        return rt_fail(c, "input 'boxes' %s and input 'scores' %s do not fit: want [B, S, 4] and [B, C, S]",
                       rt_shape_str(boxes->rank, boxes->dims, sb, sizeof sb),
                       rt_shape_str(scores->rank, scores->dims, ss, sizeof ss));
    int64_t center = rt_attr_int(n, "center_point_box", 0);
    if (center != 0 && center != 1)
        return rt_fail(c, "attribute 'center_point_box' is %lld; expected 0 or 1", (long long)center);
    for (int i = 0; i < 5; i++) RT_NEED_DATA(c, rt_in(n, in, i));
    double maxo = 0, iou_thr = 0, score_thr = 0;
    int r1 = scalar_in(c, rt_in(n, in, 2), "max_output_boxes_per_class", 0, &maxo);
    int r2 = scalar_in(c, rt_in(n, in, 3), "iou_threshold", 1, &iou_thr);
    int r3 = scalar_in(c, rt_in(n, in, 4), "score_threshold", 1, &score_thr);
    if (r1 < 0 || r2 < 0 || r3 < 0) return RT_ERR;
    if (!(iou_thr >= 0 && iou_thr <= 1))
        return rt_fail(c, "input 'iou_threshold' is %g; must be in [0, 1]", iou_thr);
    int64_t B = boxes->dims[0], C = scores->dims[1], S = boxes->dims[1];
    int64_t K = maxo <= 0 ? 0 : (maxo < (double)S ? (int64_t)maxo : S); /* selections per class, at most */
    /* scratch: corners [S][4], candidates [S], selected box indices [B*C][K], counts [B*C] */
    size_t need = (size_t)S * 4 * sizeof(double) + (size_t)S * sizeof(NmsCand) +
                  ((size_t)(B * C) * (size_t)K + (size_t)(B * C)) * sizeof(int64_t);
    char *mem = rt_scratch(c, need);
    if (!mem) return RT_ERR_NOMEM;
    double *corner = (double *)(void *)mem;
    NmsCand *cand = (NmsCand *)(void *)(corner + S * 4);
    int64_t *sel = (int64_t *)(void *)(cand + S), *cnt = sel + B * C * K, total = 0;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t j = 0; K > 0 && j < S; j++) box_corners(boxes, b, j, S, (int)center, corner + j * 4);
        for (int64_t cl = 0; cl < C; cl++) {
            int64_t *mine = sel + (b * C + cl) * K, ns = 0, nc = 0;
            for (int64_t j = 0; K > 0 && j < S; j++) {
                double s = rt_get_f64(scores, (b * C + cl) * S + j);
                if (isnan(s) || (r3 && !(s > score_thr))) continue;
                cand[nc].score = s;
                cand[nc++].index = j;
            }
            qsort(cand, (size_t)nc, sizeof *cand, cand_cmp);
            for (int64_t k = 0; k < nc && ns < K; k++) {
                const double *p = corner + cand[k].index * 4;
                int keep = 1;
                for (int64_t t = 0; keep && t < ns; t++) keep = !(iou(p, corner + mine[t] * 4) > iou_thr);
                if (keep) mine[ns++] = cand[k].index;
            }
            cnt[b * C + cl] = ns;
            total += ns;
        }
    }
    int rc = rt_out_alloc(c, out[0], RT_I64, 2, (int64_t[]){total, 3});
    if (rc == RT_OK) {
        int64_t *o = out[0]->data;
        for (int64_t b = 0; b < B; b++)
            for (int64_t cl = 0; cl < C; cl++)
                for (int64_t t = 0; t < cnt[b * C + cl]; t++) {
                    *o++ = b;
                    *o++ = cl;
                    *o++ = sel[(b * C + cl) * K + t];
                }
    }
    rt_scratch_free(c, mem);
    return rc;
}

const RtKernelEntry rt_kernels_nms[] = {
    {RT_OP_NON_MAX_SUPPRESSION, k_nms},
    {-1, 0},
};
