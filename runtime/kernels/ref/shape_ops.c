/*
 * shape_ops.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_shape[] = {
    {-1, 0},
};
