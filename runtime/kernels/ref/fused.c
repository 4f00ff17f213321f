/*
 * fused.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_fused[] = {
    {-1, 0},
};
