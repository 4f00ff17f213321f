/*
 * conv_x86.c — optimized kernels: Conv and FusedConv in float32 (depthwise direct, 1x1 and im2col on x86/sgemm.h).
 * Placeholder table until the kernels land; the executor falls back to runtime/kernels/ref/.
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_x86_conv[] = {
    {-1, 0},
};
