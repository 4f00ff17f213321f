/*
 * bench_signal.c — the reference signal and sampling kernels (runtime/kernels/ref/signal.c,
 * ref/sampling.c) on the sizes audio and vision models give them, batch 1, one thread:
 * median over --reps calls (default 5) of one call's time. One line per case:
 *     STFT [1,480000,1] frame 400 hop 160 hann (Whisper 30 s): 49.1 ms
 *
 * The cases: a Whisper log-mel front end's STFT (n_fft 400 = 2^4 x 5^2, the mixed-radix
 * path), a keyword spotter's (1 s at 16 kHz, frame 480, hop 160) and a power-of-two one
 * (frame 512); a 1024-point complex DFT over 64 lines; GridSample warping a [1,64,128,128]
 * feature map by a dense grid (flow warping) in each mode; RoiAlign of 100 rois to 7 x 7 on a
 * [1,256,50,50] map (a two-stage detector's box head).
 *
 * Usage: bench_signal [--reps N] [--only TEXT]   (--only: the cases whose label contains TEXT)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/kernel.h"
#include "bench_util.h"

static RtError err;

/* Median milliseconds of reps calls of op's reference kernel. */
static double time_op(int op, int opset, RtTensor **in, int n_in, RtAttr *attrs, int n_attr, int reps,
                      const char *label) {
    int slots_in[8], slot_out = n_in;
    for (int i = 0; i < n_in; i++) slots_in[i] = in[i] ? i : -1;
    RtNode n = {op, label, rt_op_name(op), "", opset, n_in, slots_in, 1, &slot_out, n_attr, attrs};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &err};
    RtKernelFn fn = rt_kernel_find(op);
    double *t = malloc(sizeof(double) * (size_t)reps);
    for (int r = 0; r < reps; r++) {
        RtTensor out;
        memset(&out, 0, sizeof out);
        RtTensor *outp[1] = {&out};
        double t0 = now_s();
        if (!fn || fn(&c, &n, in, outp) != RT_OK) {
            fprintf(stderr, "%s: %s\n", label, err.msg);
            exit(1);
        }
        t[r] = (now_s() - t0) * 1e3;
        free(out.data);
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    double med = t[reps / 2];
    free(t);
    return med;
}

static float *filled(int64_t n, unsigned seed) {
    float *p = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / 16777216.0f * 2 - 1;
    }
    return p;
}

static int wanted(const char *only, const char *label) { return !only || strstr(label, only); }

static void bench_stft(const char *label, int64_t slen, int64_t flen, int64_t hop, int reps, const char *only) {
    if (!wanted(only, label)) return;
    float *x = filled(slen, 1), *w = malloc(sizeof(float) * (size_t)flen);
    for (int64_t i = 0; i < flen; i++) w[i] = (float)(0.5 - 0.5 * cos(2 * 3.14159265358979323846 * (double)i / (double)flen));
    RtTensor tx = {RT_F32, 3, {1, slen, 1}, x}, ts = {RT_I64, 0, {0}, &hop}, tw = {RT_F32, 1, {flen}, w};
    RtTensor *in[] = {&tx, &ts, &tw};
    printf("%s: %.2f ms\n", label, time_op(RT_OP_STFT, 17, in, 3, NULL, 0, reps, label));
    free(x);
    free(w);
}

int main(int argc, char **argv) {
    int reps = 5;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_signal [--reps N] [--only TEXT]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    bench_stft("STFT [1,480000,1] frame 400 hop 160 hann (Whisper 30 s)", 480000, 400, 160, reps, only);
    bench_stft("STFT [1,16000,1] frame 480 hop 160 hann (KWS 1 s)", 16000, 480, 160, reps, only);
    bench_stft("STFT [1,16000,1] frame 512 hop 160 hann (power of two)", 16000, 512, 160, reps, only);

    const char *dl = "DFT [64,1024,2] complex";
    if (wanted(only, dl)) {
        float *x = filled(64 * 1024 * 2, 2);
        RtTensor tx = {RT_F32, 3, {64, 1024, 2}, x};
        RtTensor *in[] = {&tx};
        printf("%s: %.2f ms\n", dl, time_op(RT_OP_DFT, 17, in, 1, NULL, 0, reps, dl));
        free(x);
    }

    static const char *modes[] = {"bilinear", "nearest", "bicubic"};
    for (int m = 0; m < 3; m++) {
        char label[128];
        snprintf(label, sizeof label, "GridSample [1,64,128,128] grid [1,128,128,2] %s zeros", modes[m]);
        if (!wanted(only, label)) continue;
        float *x = filled(64 * 128 * 128, 3), *g = filled(128 * 128 * 2, 4);
        RtTensor tx = {RT_F32, 4, {1, 64, 128, 128}, x}, tg = {RT_F32, 4, {1, 128, 128, 2}, g};
        RtTensor *in[] = {&tx, &tg};
        RtAttr a[] = {{.name = "mode", .type = RT_ATTR_STRING, .s = modes[m]}};
        printf("%s: %.2f ms\n", label, time_op(RT_OP_GRID_SAMPLE, 16, in, 2, a, 1, reps, label));
        free(x);
        free(g);
    }

    const char *rl = "RoiAlign [1,256,50,50] 100 rois -> 7x7 sampling_ratio 2 avg";
    if (wanted(only, rl)) {
        float *x = filled(256 * 50 * 50, 5), rois[400];
        int64_t bi[100] = {0};
        for (int r = 0; r < 100; r++) {
            float x1 = (float)(r * 7 % 40), y1 = (float)(r * 11 % 40);
            rois[4 * r] = x1, rois[4 * r + 1] = y1, rois[4 * r + 2] = x1 + 9.5f, rois[4 * r + 3] = y1 + 8.25f;
        }
        RtTensor tx = {RT_F32, 4, {1, 256, 50, 50}, x}, tr = {RT_F32, 2, {100, 4}, rois}, tb = {RT_I64, 1, {100}, bi};
        RtTensor *in[] = {&tx, &tr, &tb};
        RtAttr a[] = {{.name = "output_height", .type = RT_ATTR_INT, .i = 7},
                      {.name = "output_width", .type = RT_ATTR_INT, .i = 7},
                      {.name = "sampling_ratio", .type = RT_ATTR_INT, .i = 2}};
        printf("%s: %.2f ms\n", rl, time_op(RT_OP_ROI_ALIGN, 16, in, 3, a, 3, reps, rl));
        free(x);
    }
    return 0;
}
