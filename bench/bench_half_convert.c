/*
 * bench_half_convert.c — the float16 copies bench/bench_half.sh times (not a benchmark itself):
 *
 *   bench_half_convert MODEL.onnx OUT.onnx [--bf16]   the model with float16 (bfloat16)
 *                                                     weights and values (tests/onnx_half_convert.h)
 *   bench_half_convert --npy IN.npy OUT.npy           a float32 .npy as float16 (round to
 *                                                     nearest even)
 * Exit status 0, or 2 with a message naming the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/npy.h"
#include "../tests/onnx_half_convert.h"

static int npy_to_half(const char *in, const char *out) {
    RtError err = {{0}};
    RtTensor x;
    if (npy_read(in, &x, &err) != RT_OK) {
        fprintf(stderr, "bench_half_convert: %s\n", err.msg);
        return 2;
    }
    if (x.dtype != RT_F32) {
        fprintf(stderr, "bench_half_convert: %s: float32 expected, found %s\n", in, rt_dtype_name(x.dtype));
        free(x.data);
        return 2;
    }
    int64_t n = rt_numel(&x);
    RtTensor h = x;
    h.dtype = RT_F16;
    h.data = malloc(n ? (size_t)n * 2 : 1);
    for (int64_t i = 0; h.data && i < n; i++) ((uint16_t *)h.data)[i] = rt_f32_to_f16(((float *)x.data)[i]);
    int r = h.data && npy_write(out, &h, &err) == RT_OK ? 0 : 2;
    if (r) fprintf(stderr, "bench_half_convert: %s: %s\n", out, h.data ? err.msg : "out of memory");
    free(h.data);
    free(x.data);
    return r;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--npy")) return npy_to_half(argv[2], argv[3]);
    int bf16 = argc == 4 && !strcmp(argv[3], "--bf16");
    if (argc != 3 && !bf16) {
        fprintf(stderr, "usage: bench_half_convert MODEL.onnx OUT.onnx [--bf16] | --npy IN.npy OUT.npy\n");
        return 2;
    }
    char err[512];
    int32_t elem = bf16 ? ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16 : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
    if (ohc_convert_file(argv[1], argv[2], elem, err, sizeof err)) {
        fprintf(stderr, "bench_half_convert: %s\n", err);
        return 2;
    }
    return 0;
}
