/*
 * classify.c — an application of the companion runtime: loads a compiled .wafer classifier
 * and prints the top-1 class of each row of a float32 .npy file.
 *
 *     classify MODEL.wafer INPUT.npy [--threads N]
 *
 * It uses only the public API (wafer_rt.h) and builds against an installed runtime with
 *     cc classify.c $(pkg-config --cflags --libs wafer-rt)
 * Rows run one at a time (batch 1), the way a service or a device classifies requests; the
 * model's first input must be float32 with a batch axis first. Exit status 0 on success,
 * 2 on any error (with a message on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wafer_rt.h"

/* A float32 little-endian C-order .npy file read whole: rows x cols (trailing axes flattened). */
typedef struct {
    float *data;
    int64_t rows, cols;
    int rank;
    int64_t dims[WAFER_RT_MAX_RANK];
} Npy;

/* Reads a .npy header "{'descr': '<f4', 'fortran_order': False, 'shape': (a, b, ...), }". */
static int npy_load(const char *path, Npy *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return fprintf(stderr, "classify: cannot open %s\n", path), -1;
    unsigned char pre[10];
    int ok = fread(pre, 1, 10, f) == 10 && memcmp(pre, "\x93NUMPY", 6) == 0 && pre[6] == 1;
    size_t hlen = ok ? (size_t)pre[8] | (size_t)pre[9] << 8 : 0;
    char *h = ok ? calloc(1, hlen + 1) : NULL;
    ok = h && fread(h, 1, hlen, f) == hlen;
    ok = ok && strstr(h, "'<f4'") && strstr(h, "'fortran_order': False");
    const char *s = ok ? strstr(h, "'shape': (") : NULL;
    out->rank = 0;
    if (s) {
        s += 10;
        while (*s && *s != ')' && out->rank < WAFER_RT_MAX_RANK) {
            char *end;
            long long d = strtoll(s, &end, 10);
            if (end == s || d < 0) break;
            out->dims[out->rank++] = d;
            s = end;
            while (*s == ',' || *s == ' ') s++;
        }
        ok = *s == ')' && out->rank >= 1;
    } else {
        ok = 0;
    }
    free(h);
    if (!ok) {
        fclose(f);
        return fprintf(stderr, "classify: %s is not a float32 little-endian C-order .npy file\n", path), -1;
    }
    out->rows = out->dims[0];
    out->cols = 1;
    for (int i = 1; i < out->rank; i++) out->cols *= out->dims[i];
    size_t n = (size_t)(out->rows * out->cols);
    out->data = malloc(n ? n * sizeof(float) : 1);
    ok = out->data && fread(out->data, sizeof(float), n, f) == n;
    fclose(f);
    if (!ok) return fprintf(stderr, "classify: %s is truncated\n", path), -1;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3 || (argc > 3 && (argc != 5 || strcmp(argv[3], "--threads") != 0))) {
        fprintf(stderr, "usage: classify MODEL.wafer INPUT.npy [--threads N]\n");
        return 2;
    }
    WaferRtOptions opts = {0};
    if (argc == 5) opts.threads = atoi(argv[4]);
    WaferRtModel *m;
    WaferRtError err;
    if (wafer_rt_open_file(argv[1], &opts, &m, &err) != WAFER_RT_OK) {
        fprintf(stderr, "classify: %s\n", err.msg);
        return 2;
    }
    Npy x;
    if (npy_load(argv[2], &x) != 0) {
        wafer_rt_close(m);
        return 2;
    }
    WaferRtTensor in = {WAFER_RT_F32, x.rank, {0}, NULL}, out;
    memcpy(in.dims, x.dims, sizeof in.dims);
    in.dims[0] = 1;
    int status = 0;
    for (int64_t r = 0; r < x.rows && status == 0; r++) {
        in.data = x.data + r * x.cols;
        if (wafer_rt_run(m, &in, 1, &out, 1, &err) != WAFER_RT_OK) {
            fprintf(stderr, "classify: row %lld: %s\n", (long long)r, err.msg);
            status = 2;
            break;
        }
        int64_t classes = 1;
        for (int d = 0; d < out.rank; d++) classes *= out.dims[d];
        if (out.dtype != WAFER_RT_F32 || classes < 1) {
            fprintf(stderr, "classify: the model's output is not float32 scores\n");
            status = 2;
            break;
        }
        const float *y = out.data;
        int64_t best = 0;
        for (int64_t c = 1; c < classes; c++)
            if (y[c] > y[best]) best = c;
        printf("%lld\n", (long long)best);
    }
    free(x.data);
    wafer_rt_close(m);
    return status;
}
