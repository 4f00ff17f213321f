/* ---- RoiAlign, float32 / float64 (emit_ops_tensor.c; the runtime's ref/sampling.c) ----
 * X [N, C, H, W], rois [R, 4] (x1, y1, x2, y2), batch_indices [R] -> Y [R, C, oh, ow]. The
 * roi is scaled and shifted by -off (0.5 for half_pixel); output_half_pixel (half = 0)
 * widens it to at least 1 x 1. Each bin averages (is_max 0) or takes the largest of
 * (is_max 1) a grid of points (sr per axis, or ceil(roi size / output size) when sr = 0)
 * sampled bilinearly as Caffe2 does: a point beyond one pixel outside the image gives 0;
 * max mode takes the largest weighted corner value. acc: scratch of C doubles. Returns 1
 * when a batch index is outside [0, N). X, rois and Y are float (fd 0) or double (fd 1); the
 * batch indices int64 (bi64 1) or int32.
 * Under WK_NO_LIBM ceil and fmax are the own ones. */
#if WK_NO_LIBM
static double wk_tensor_ra_ceil(double v) {
    double t;
    if (!(v > -4.5e15 && v < 4.5e15)) return v;
    t = (double)(int64_t)v;
    return t < v ? t + 1.0 : t;
}
#else
static double wk_tensor_ra_ceil(double v) { return ceil(v); }
#endif

static double wk_tensor_fmax(double a, double b) {
    if (a != a) return b;
    if (b != b) return a;
    return a > b ? a : b;
}

static double wk_tensor_ra_get(const void *p, int fd, size_t i) {
    return fd ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

static int wk_tensor_roialign(const void *x, const void *rois, int fd, const void *bi, int bi64, void *y,
                              int32_t N, int32_t C, int32_t H, int32_t W, int32_t R, int32_t oh, int32_t ow, int32_t sr,
                              double scale, int half, int is_max, double *acc) {
    double off = half ? 0.5 : 0.0, x1, y1, x2, y2, rw, rh, bh, bw, ghd, gwd, count, yy, xx, yv, xv, ly, lx, hy, hx, val, v[4], w[4];
    int32_t r, ph, pw, iy, ix, gh, gw, ch, y0, x0, y1i, x1i, o[4], j;
    int64_t b;
    int any, valid;
    for (r = 0; r < R; r++) {
        b = bi64 ? ((const int64_t *)bi)[r] : ((const int32_t *)bi)[r];
        if (b < 0 || b >= N) return 1;
    }
    for (r = 0; r < R; r++) {
        b = bi64 ? ((const int64_t *)bi)[r] : ((const int32_t *)bi)[r];
        x1 = wk_tensor_ra_get(rois, fd, (size_t)r * 4) * scale - off;
        y1 = wk_tensor_ra_get(rois, fd, (size_t)r * 4 + 1) * scale - off;
        x2 = wk_tensor_ra_get(rois, fd, (size_t)r * 4 + 2) * scale - off;
        y2 = wk_tensor_ra_get(rois, fd, (size_t)r * 4 + 3) * scale - off;
        rw = x2 - x1, rh = y2 - y1;
        if (!half) {
            if (rw < 1) rw = 1;
            if (rh < 1) rh = 1;
        }
        bh = rh / (double)oh, bw = rw / (double)ow;
        ghd = sr > 0 ? (double)sr : wk_tensor_ra_ceil(rh / (double)oh);
        gwd = sr > 0 ? (double)sr : wk_tensor_ra_ceil(rw / (double)ow);
        gh = ghd >= 1 && ghd < 1e6 ? (int32_t)ghd : 0, gw = gwd >= 1 && gwd < 1e6 ? (int32_t)gwd : 0;
        count = (double)(gh * gw > 0 ? gh * gw : 1);
        for (ph = 0; ph < oh; ph++)
            for (pw = 0; pw < ow; pw++) {
                any = 0;
                for (iy = 0; iy < gh; iy++) {
                    yy = y1 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
                    for (ix = 0; ix < gw; ix++) {
                        xx = x1 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
                        valid = !(yy < -1.0 || yy > (double)H || xx < -1.0 || xx > (double)W) && yy == yy && xx == xx;
                        for (j = 0; j < 4; j++) o[j] = 0, w[j] = 0;
                        if (valid) {
                            yv = yy <= 0 ? 0 : yy, xv = xx <= 0 ? 0 : xx;
                            y0 = (int32_t)yv, x0 = (int32_t)xv;
                            if (y0 >= H - 1) y0 = y1i = H - 1, yv = (double)y0;
                            else y1i = y0 + 1;
                            if (x0 >= W - 1) x0 = x1i = W - 1, xv = (double)x0;
                            else x1i = x0 + 1;
                            ly = yv - (double)y0, lx = xv - (double)x0, hy = 1 - ly, hx = 1 - lx;
                            o[0] = y0 * W + x0, o[1] = y0 * W + x1i, o[2] = y1i * W + x0, o[3] = y1i * W + x1i;
                            w[0] = hy * hx, w[1] = hy * lx, w[2] = ly * hx, w[3] = ly * lx;
                        }
                        for (ch = 0; ch < C; ch++) {
                            val = 0;
                            if (valid) {
                                for (j = 0; j < 4; j++)
                                    v[j] = w[j] * wk_tensor_ra_get(x, fd, ((size_t)b * C + ch) * H * W + o[j]);
                                val = is_max ? wk_tensor_fmax(wk_tensor_fmax(v[0], v[1]), wk_tensor_fmax(v[2], v[3]))
                                             : v[0] + v[1] + v[2] + v[3];
                            }
                            if (is_max) acc[ch] = any ? wk_tensor_fmax(acc[ch], val) : val;
                            else acc[ch] = (any ? acc[ch] : 0) + val;
                        }
                        any = 1;
                    }
                }
                for (ch = 0; ch < C; ch++) {
                    val = !any ? 0.0 : is_max ? acc[ch] : acc[ch] / count;
                    if (fd) ((double *)y)[(((size_t)r * C + ch) * oh + ph) * ow + pw] = val;
                    else ((float *)y)[(((size_t)r * C + ch) * oh + ph) * ow + pw] = (float)val;
                }
            }
    }
    return 0;
}
