/*
 * nbits_x86.c — optimized kernels: LinearNBits and com.microsoft MatMulNBits for M > 1 rows (dequantized tiles on x86/sgemm.h).
 * Placeholder table until the kernels land; the executor falls back to runtime/kernels/ref/.
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_x86_nbits[] = {
    {-1, 0},
};
