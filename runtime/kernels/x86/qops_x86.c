/*
 * qops_x86.c — optimized kernels: wafer's int8 ops (QConv, QLinear, ...) on VNNI (vpdpbusd) with an AVX2 fallback.
 * Placeholder table until the kernels land; the executor falls back to runtime/kernels/ref/.
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_x86_qops[] = {
    {-1, 0},
};
