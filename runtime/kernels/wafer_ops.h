/*
 * wafer_ops.h — the contract of wafer's own ops (domain "wafer" in ops.def). Passes create
 * them; the kernels in runtime/kernels/ref/fused.c (FusedConv, Linear), ref/qops.c (the int8
 * ops) and ref/nbits.c (LinearNBits) implement them.
 *
 * Activations (attribute `activation`, a string; "" or absent = none), applied after bias:
 *   "Relu"        max(x, 0)
 *   "Clip"        min(max(x, alpha), beta)          (ReLU6: alpha 0, beta 6)
 *   "LeakyRelu"   x >= 0 ? x : alpha * x
 *   "Sigmoid"     1 / (1 + exp(-x))
 *   "HardSigmoid" max(0, min(1, alpha * x + beta))
 *   "Gelu"        0.5 x (1 + erf(x / sqrt 2))                        (ONNX Gelu, approximate "none")
 *   "GeluTanh"    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))    (ONNX Gelu, approximate "tanh")
 * Gelu and GeluTanh take no alpha/beta and are allowed on Linear and LinearNBits only (the
 * conv kernels apply no Gelu: FusedConv refuses them). The reference kernels compute them in
 * float with erff / tanhf as the reference Gelu does; the x86 kernels with the x86 Gelu
 * kernel's vector code (x86/vmath.h), so fused and unfused give the same bits on each path.
 *
 * FusedConv(X, W, B?)        = act(Conv(X, W, B))          Conv's attributes, same shapes
 * Linear(X[..., K], W[K, N], B[N]?) = act(X @ W + B)       -> Y[..., N]
 *      (MatMul + Add and Gemm with a constant weight all become Linear; W is row-major [K, N])
 *
 * Quantized ops. "q" tensors are int8 or uint8; scales float32; zero points of the q dtype.
 * acc = sum (x_q - x_zp) * (w_q - w_zp) in int32 (+ B, int32, whose scale is x_scale*w_scale);
 * y_q = clamp(round_fixed(acc * M) + y_zp, qmin, qmax) with M = x_scale * w_scale / y_scale as a
 * fixed-point multiplier (int32 mantissa + shift, see quant.h: rounding as gemmlowp/TFLite),
 * per output channel when w_scale has one element per output channel. qmin/qmax attributes
 * default to the dtype's range; a fused Relu/Clip is expressed by raising qmin / lowering qmax.
 *
 * QConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?)      ONNX QLinearConv's inputs
 *      w [M, C/group, kH, kW]; w_scale, w_zp scalar or [M]; B int32 [M]
 * QLinear(x[..., K], x_scale, x_zp, w[N, K], w_scale, w_zp, y_scale, y_zp, B?) -> y[..., N]
 *      NB: w is output-channel major [N, K] (rows contiguous per output channel)
 * QAdd(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp)   numpy broadcasting;
 * QMul(same)   y = requant of the real-valued sum / product
 * QAveragePool(x, x_scale, x_zp, y_scale, y_zp)   AveragePool's attributes
 * QGlobalAveragePool(x, x_scale, x_zp, y_scale, y_zp)
 * QConcat(y_scale, y_zp, x0, x0_scale, x0_zp, x1, x1_scale, x1_zp, ...)   axis attribute
 * QLut(x, table[256], x_scale, x_zp, y_scale, y_zp)   y[i] = table[(uint8) x[i]]: any element-wise
 *      function f of one 8-bit input with static scales, tabulated at quantize time as
 *      table[c] = Q(f(DQ(c)), y_scale, y_zp) for every code c (int8 codes index by their byte,
 *      -1 -> 255); y has x's shape and the table's dtype. The scales and zero points are not
 *      read by the kernel: they and the attributes function (the ONNX op f, e.g. "HardSwish"),
 *      alpha, beta (the op's attributes, or Clip's bounds), approximate (Gelu) say what the
 *      table is, so the ONNX export writes DQ -> f -> Q back.
 *      Per channel: table [C, 256], x_scale and x_zp [C], attribute axis (default 1, C = x's
 *      size there): element i of channel c reads table[c][(uint8) x[i]] (export: a per-axis DQ).
 *
 * Low-bit weights (GPTQ / RTN, 2, 3, 4 or 8 bits), float activations:
 * LinearNBits(X[..., K] f32, Wp u8 packed, scales f32 [N, NG], zeros u8 [N, NG], g_idx i32 [K]?,
 *             B f32 [N]?)   attributes bits, group (G; 0 = one group = K), activation/alpha/beta
 *      codes q[n, k] in [0, 2^bits) packed per output row n as runtime/kernels/qblock.h says
 *      (Wp of any shape holding rt_qblock_packed_size(bits, N, K) bytes, e.g. [N, row bytes]);
 *      N = scales' first dim, K = X's last; G need not divide K (the last group is short);
 *      W[k, n] = (q[n, k] - zeros[n, g(k)]) * scales[n, g(k)], g(k) = g_idx[k] when given
 *      (act-order), else k / G;  Y = act(X @ W + B) -> [..., N]. NG = number of groups.
 *      accuracy_level (default 0: float) 4: X quantized to int8 per row and group and the
 *      products summed in integers, as com.microsoft MatMulNBits' level 4 (nbits_int8.h), for
 *      4 bits, G a multiple of 32, no g_idx; other cases compute in float.
 */
#ifndef WAFER_RT_WAFER_OPS_H
#define WAFER_RT_WAFER_OPS_H
#endif
