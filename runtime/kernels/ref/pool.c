/*
 * pool.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_pool[] = {
    {-1, 0},
};
