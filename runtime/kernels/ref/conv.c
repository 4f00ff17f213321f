/*
 * conv.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_conv[] = {
    {-1, 0},
};
