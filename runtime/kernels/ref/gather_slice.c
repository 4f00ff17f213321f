/*
 * gather_slice.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_gather[] = {
    {-1, 0},
};
