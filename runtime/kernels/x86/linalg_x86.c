/*
 * linalg_x86.c — optimized kernels: Linear, MatMul and Gemm in float32 on the packed AVX-512 GEMM (x86/sgemm.h).
 * Placeholder table until the kernels land; the executor falls back to runtime/kernels/ref/.
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_x86_linalg[] = {
    {-1, 0},
};
