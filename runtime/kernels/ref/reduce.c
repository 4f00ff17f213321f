/*
 * reduce.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_reduce[] = {
    {-1, 0},
};
