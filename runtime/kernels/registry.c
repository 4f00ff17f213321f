/*
 * registry.c — op -> kernel. Each family file in ref/ exports one table ending in {-1, NULL};
 * this file merges them into one array indexed by op at first use.
 */
#include "kernel.h"

extern const RtKernelEntry rt_kernels_unary[];      /* ref/unary.c */
extern const RtKernelEntry rt_kernels_binary[];     /* ref/binary.c */
extern const RtKernelEntry rt_kernels_reduce[];     /* ref/reduce.c */
extern const RtKernelEntry rt_kernels_norm[];       /* ref/norm.c */
extern const RtKernelEntry rt_kernels_linalg[];     /* ref/linalg.c */
extern const RtKernelEntry rt_kernels_conv[];       /* ref/conv.c */
extern const RtKernelEntry rt_kernels_pool[];       /* ref/pool.c */
extern const RtKernelEntry rt_kernels_shape[];      /* ref/shape_ops.c */
extern const RtKernelEntry rt_kernels_gather[];     /* ref/gather_slice.c */
extern const RtKernelEntry rt_kernels_resize[];     /* ref/resize_pad.c */
extern const RtKernelEntry rt_kernels_control[];    /* ref/control.c */
extern const RtKernelEntry rt_kernels_fused[];      /* ref/fused.c: FusedConv, Linear */
extern const RtKernelEntry rt_kernels_quant[];      /* ref/quant.c: ONNX quantization ops */
extern const RtKernelEntry rt_kernels_qops[];       /* ref/qops.c: wafer's int8 ops */
extern const RtKernelEntry rt_kernels_nbits[];      /* ref/nbits.c: LinearNBits */
extern const RtKernelEntry rt_kernels_matmul_nbits[]; /* ref/matmul_nbits.c: com.microsoft MatMulNBits */

static const RtKernelEntry *const families[] = {
    rt_kernels_unary, rt_kernels_binary, rt_kernels_reduce, rt_kernels_norm,
    rt_kernels_linalg, rt_kernels_conv, rt_kernels_pool, rt_kernels_shape,
    rt_kernels_gather, rt_kernels_resize, rt_kernels_control, rt_kernels_fused,
    rt_kernels_quant, rt_kernels_qops, rt_kernels_nbits,
    rt_kernels_matmul_nbits,
};

RtKernelFn rt_kernel_find(int op) {
    if (op <= 0 || op >= RT_OP_COUNT) return 0;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const RtKernelEntry *e = families[f]; e->op >= 0; e++)
            if (e->op == op) return e->fn;
    return 0;
}
