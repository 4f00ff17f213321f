/*
 * nbits.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_nbits[] = {
    {-1, 0},
};
