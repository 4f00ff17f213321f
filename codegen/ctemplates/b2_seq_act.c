/* ---- wafer kernel support: the activation functions of RNN, GRU and LSTM ----
 * The ONNX recurrent ops' list (the runtime's recurrent.c numbers them the same): 0 Relu,
 * 1 Tanh, 2 Sigmoid, 3 Affine a*x+b, 4 LeakyRelu, 5 ThresholdedRelu (x >= a ? x : 0),
 * 6 ScaledTanh a*tanh(b*x), 7 HardSigmoid clamp(a*x+b, 0, 1), 8 Elu, 9 Softsign, 10 Softplus,
 * in wk_seq_real (b0_seq_real_*). The input is first clipped to [-clip, clip] when clip >= 0
 * (the `clip` attribute; -1 = none). Softplus is log1p(exp(-|x|)) + max(x, 0) (no overflow). */
static wk_seq_real wk_seq_act(int32_t kind, wk_seq_real a, wk_seq_real b, wk_seq_real clip, wk_seq_real x) {
    wk_seq_real v, ax;
    if (clip >= 0) x = x < -clip ? -clip : x > clip ? clip : x;
    switch (kind) {
    case 0: return x > 0 ? x : 0;
    case 1: return WK_SEQ_TANH(x);
    case 2: return WK_SEQ_SIGMOID(x);
    case 3: return a * x + b;
    case 4: return x >= 0 ? x : a * x;
    case 5: return x >= a ? x : 0;
    case 6: return a * WK_SEQ_TANH(b * x);
    case 7: v = a * x + b; return v < 0 ? 0 : v > 1 ? 1 : v;
    case 8: return x >= 0 ? x : a * (WK_SEQ_EXP(x) - 1);
    case 9: ax = x < 0 ? -x : x; return x / (1 + ax);
    case 10: ax = x < 0 ? -x : x; return WK_SEQ_LOG1P(WK_SEQ_EXP(-ax)) + (x > 0 ? x : 0);
    default: return x;
    }
}
