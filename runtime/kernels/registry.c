/*
 * registry.c — op -> kernel. Each family file in ref/ (reference kernels) and in x86/
 * (optimized kernels) exports one table ending in {-1, NULL}; lookups walk the tables.
 * An optimized kernel checks the CPU's features and the case (dtype, layout) itself and calls
 * the reference kernel (rt_kernel_find) for anything it does not cover, so every op the
 * reference supports stays supported whatever the machine.
 *
 * The executor asks for a node's kernel at every run of every node, so both lookups are
 * answered from tables indexed by op, filled once (pthread_once) by walking the families:
 * walking them per node was ~2% of a small model's run (KWS, digits).
 */
#include "kernel.h"

#include <pthread.h>

extern const RtKernelEntry rt_kernels_unary[];      /* ref/unary.c */
extern const RtKernelEntry rt_kernels_signal[];     /* ref/signal.c: DFT, STFT, windows, MelWeightMatrix */
extern const RtKernelEntry rt_kernels_sampling[];   /* ref/sampling.c: GridSample, RoiAlign */
extern const RtKernelEntry rt_kernels_bitwise[];    /* ref/bitwise.c: Bitwise* (opset 18) */
extern const RtKernelEntry rt_kernels_lp[];         /* ref/lp.c: LpNormalization, LpPool, GlobalLpPool */
extern const RtKernelEntry rt_kernels_norm_group[]; /* ref/norm_group.c: GroupNormalization */
extern const RtKernelEntry rt_kernels_center_crop_pad[]; /* ref/center_crop_pad.c: CenterCropPad */
extern const RtKernelEntry rt_kernels_col2im[];     /* ref/col2im.c: Col2Im */
extern const RtKernelEntry rt_kernels_affine_grid[]; /* ref/affine_grid.c: AffineGrid */
extern const RtKernelEntry rt_kernels_deform_conv[]; /* ref/deform_conv.c: DeformConv */
extern const RtKernelEntry rt_kernels_random[];     /* ref/random.c: RandomUniform/Normal(Like), Bernoulli */
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
extern const RtKernelEntry rt_kernels_loop[];       /* ref/loop.c */
extern const RtKernelEntry rt_kernels_recurrent[];  /* ref/recurrent.c: RNN, GRU, LSTM */
extern const RtKernelEntry rt_kernels_fused[];      /* ref/fused.c: FusedConv, Linear */
extern const RtKernelEntry rt_kernels_quant[];      /* ref/quant.c: ONNX quantization ops */
extern const RtKernelEntry rt_kernels_qops[];       /* ref/qops.c: wafer's int8 ops */
extern const RtKernelEntry rt_kernels_nbits[];      /* ref/nbits.c: LinearNBits */
extern const RtKernelEntry rt_kernels_matmul_nbits[]; /* ref/matmul_nbits.c: com.microsoft MatMulNBits */
extern const RtKernelEntry rt_kernels_qlinear_binary[]; /* ref/qlinear_binary.c: com.microsoft QLinearAdd/Mul */
extern const RtKernelEntry rt_kernels_qlinear_contrib[]; /* ref/qlinear_contrib.c: com.microsoft QGemm, QLinearGlobalAveragePool, ... */
extern const RtKernelEntry rt_kernels_qlinear_contrib_ops[]; /* ref/qlinear_contrib_ops.c: QLinearConcat, ...Sigmoid, MatMulIntegerToFloat, ... */
extern const RtKernelEntry rt_kernels_qlinear_contrib_reduce[]; /* ref/qlinear_contrib_reduce.c: QLinearSoftmax, QLinearReduceMean */
extern const RtKernelEntry rt_kernels_qlinear_contrib_conv[]; /* ref/qlinear_contrib_conv.c: com.microsoft QLinearConv */
extern const RtKernelEntry rt_kernels_scatter_gather_nd[]; /* ref/scatter_gather_nd.c: GatherND, Scatter* */
extern const RtKernelEntry rt_kernels_misc[];       /* ref/misc_ops.c: Upsample, LRN, EyeLike, Compress, ... */
extern const RtKernelEntry rt_kernels_nms[];        /* ref/nms.c: NonMaxSuppression */
extern const RtKernelEntry rt_kernels_loss[];       /* ref/loss.c: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss */
extern const RtKernelEntry rt_kernels_int_misc[];   /* ref/int_misc.c: BitShift, Det, Unique, MaxUnpool */
extern const RtKernelEntry rt_kernels_tfidf[];      /* ref/tfidf.c: TfIdfVectorizer */
/* opset 23 transformer ops */
extern const RtKernelEntry rt_kernels_rms_norm[];   /* ref/rms_norm.c: RMSNormalization */
extern const RtKernelEntry rt_kernels_rotary[];     /* ref/rotary.c: RotaryEmbedding */
extern const RtKernelEntry rt_kernels_attention[];  /* ref/attention.c: Attention */
extern const RtKernelEntry rt_kernels_tensor_scatter[]; /* ref/tensor_scatter.c: TensorScatter (opset 24) */
extern const RtKernelEntry rt_kernels_qlut[];       /* ref/qlut.c: wafer QLut */

extern const RtKernelEntry rt_kernels_x86_linalg[];  /* x86/linalg_x86.c: Linear, MatMul, Gemm */
extern const RtKernelEntry rt_kernels_x86_conv[];    /* x86/conv_x86.c: Conv, FusedConv */
extern const RtKernelEntry rt_kernels_x86_convt[];   /* x86/convt_x86.c: ConvTranspose */
extern const RtKernelEntry rt_kernels_x86_math[];    /* x86/math_x86.c: Gelu, Erf, Softmax, ... */
extern const RtKernelEntry rt_kernels_x86_qops[];    /* x86/qops_x86.c: QConv, QLinear, ... (VNNI) */
extern const RtKernelEntry rt_kernels_x86_qlinear_contrib[]; /* x86/qlinear_contrib_x86.c: QLinearConv, QLinearAdd, QGemm */
extern const RtKernelEntry rt_kernels_x86_nbits[];   /* x86/nbits_x86.c: LinearNBits, MatMulNBits */
extern const RtKernelEntry rt_kernels_x86_pool[];    /* x86/pool_x86.c: MaxPool, AveragePool, Global* */
extern const RtKernelEntry rt_kernels_x86_shape[];   /* x86/transpose_x86.c: Transpose */
extern const RtKernelEntry rt_kernels_x86_attention23[]; /* x86/attention23_x86.c: Attention (opset 23) */
extern const RtKernelEntry rt_kernels_x86_qlut[];   /* x86/qlut_x86.c: QLut (AVX-512 VBMI) */
extern const RtKernelEntry rt_kernels_x86_qmaxpool[]; /* x86/qmaxpool_x86.c: MaxPool on int8 codes (before x86_pool) */
extern const RtKernelEntry rt_kernels_x86_resize[];  /* x86/resize_nearest_x86.c: nearest Resize by integer factors */
extern const RtKernelEntry rt_kernels_x86_half[];    /* x86/half_x86.c: float16 nodes on the float32 kernels above */

static const RtKernelEntry *const fast_families[] = {
    rt_kernels_x86_linalg, rt_kernels_x86_conv, rt_kernels_x86_convt, rt_kernels_x86_math, rt_kernels_x86_qops,
    rt_kernels_x86_nbits, rt_kernels_x86_qmaxpool, /* int8 MaxPool; hands the rest to x86_pool */ rt_kernels_x86_pool, rt_kernels_x86_shape,
    rt_kernels_x86_qlinear_contrib, /* onnxruntime QOperator ops on the int8 kernels */
    rt_kernels_x86_attention23,
    rt_kernels_x86_qlut,
    rt_kernels_x86_resize,
};

static const RtKernelEntry *const families[] = {
    rt_kernels_unary, rt_kernels_binary, rt_kernels_reduce, rt_kernels_norm,
    rt_kernels_recurrent,
    rt_kernels_linalg, rt_kernels_conv, rt_kernels_pool, rt_kernels_shape,
    rt_kernels_gather, rt_kernels_resize, rt_kernels_control, rt_kernels_loop, rt_kernels_fused,
    rt_kernels_quant, rt_kernels_qops, rt_kernels_nbits,
    rt_kernels_signal, rt_kernels_sampling,
    rt_kernels_bitwise, rt_kernels_lp, rt_kernels_norm_group, /* opsets 18-20 additions */
    rt_kernels_center_crop_pad, rt_kernels_col2im, rt_kernels_affine_grid, rt_kernels_deform_conv,
    rt_kernels_random,
    rt_kernels_matmul_nbits, rt_kernels_qlinear_binary,
    rt_kernels_qlinear_contrib, rt_kernels_qlinear_contrib_ops, rt_kernels_qlinear_contrib_reduce,
    rt_kernels_qlinear_contrib_conv, /* onnxruntime quantized contrib ops */
    rt_kernels_scatter_gather_nd, rt_kernels_misc, rt_kernels_nms,
    rt_kernels_loss, rt_kernels_int_misc, rt_kernels_tfidf,
    rt_kernels_rms_norm, rt_kernels_rotary, rt_kernels_attention, /* opset 23 */
    rt_kernels_tensor_scatter, /* opset 24 */
    rt_kernels_qlut,
};

static RtKernelFn find_in(const RtKernelEntry *const *fams, size_t n_fams, int op) {
    if (op <= 0 || op >= RT_OP_COUNT) return 0;
    for (size_t f = 0; f < n_fams; f++)
        for (const RtKernelEntry *e = fams[f]; e->op >= 0; e++)
            if (e->op == op) return e->fn;
    return 0;
}

static RtKernelFn ref_table[RT_OP_COUNT], inner_table[RT_OP_COUNT], fast_table[RT_OP_COUNT];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_fill(void) {
    const RtKernelEntry *const half[] = {rt_kernels_x86_half};
    for (int op = 1; op < RT_OP_COUNT; op++) {
        RtKernelFn ref = find_in(families, sizeof families / sizeof families[0], op);
        RtKernelFn fast = find_in(fast_families, sizeof fast_families / sizeof fast_families[0], op);
        RtKernelFn wrap = find_in(half, 1, op);
        ref_table[op] = ref;
        /* an optimized kernel always has a reference behind it */
        inner_table[op] = ref ? (fast ? fast : ref) : 0;
        fast_table[op] = ref && wrap ? wrap : inner_table[op];
    }
}

RtKernelFn rt_kernel_find(int op) {
    if (op <= 0 || op >= RT_OP_COUNT) return 0;
    pthread_once(&tables_once, tables_fill);
    return ref_table[op];
}

RtKernelFn rt_kernel_find_fast(int op) {
    if (op <= 0 || op >= RT_OP_COUNT) return 0;
    pthread_once(&tables_once, tables_fill);
    return fast_table[op];
}

RtKernelFn rt_kernel_find_inner(int op) {
    if (op <= 0 || op >= RT_OP_COUNT) return 0;
    pthread_once(&tables_once, tables_fill);
    return inner_table[op];
}
