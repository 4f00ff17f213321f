/*
 * qops.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_qops[] = {
    {-1, 0},
};
