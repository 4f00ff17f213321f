/*
 * norm.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_norm[] = {
    {-1, 0},
};
