/* ---- wafer kernel support: the activation of fused ops, applied after the bias ----
 * kind 0 none, 1 Relu max(v, 0), 2 Clip min(max(v, alpha), beta), 3 LeakyRelu
 * (v < 0 ? alpha * v : v), 4 Sigmoid 1 / (1 + exp(-v)) (overflow-free form), 5 HardSigmoid
 * clamp(alpha * v + beta, 0, 1). */
static float wk_act(int kind, float v, float alpha, float beta) {
    switch (kind) {
    case 1: return v < 0 ? 0.0f : v;
    case 2: v = v < alpha ? alpha : v; return v > beta ? beta : v;
    case 3: return v < 0 ? alpha * v : v;
#if WK_SIGMOID
    case 4: return wk_sigmoidf(v);
#endif
    case 5: v = alpha * v + beta; v = v < 0.0f ? 0.0f : v; return v > 1.0f ? 1.0f : v;
    default: return v;
    }
}
