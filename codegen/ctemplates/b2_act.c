/* ---- wafer kernel support: the activation of fused ops, applied after the bias ----
 * kind 0 none, 1 Relu max(v, 0), 2 Clip min(max(v, alpha), beta), 3 LeakyRelu
 * (v < 0 ? alpha * v : v), 4 Sigmoid 1 / (1 + exp(-v)) (overflow-free form), 5 HardSigmoid
 * clamp(alpha * v + beta, 0, 1), 6 Gelu 0.5 v (1 + erf(v / sqrt 2)), 7 Gelu's tanh form
 * 0.5 v (1 + tanh(sqrt(2/pi) (v + 0.044715 v^3))) (the runtime's reference formulas, float). */
static float wk_act(int kind, float v, float alpha, float beta) {
    switch (kind) {
    case 1: return v < 0 ? 0.0f : v;
    case 2: v = v < alpha ? alpha : v; return v > beta ? beta : v;
    case 3: return v < 0 ? alpha * v : v;
#if WK_SIGMOID
    case 4: return wk_sigmoidf(v);
#endif
    case 5: v = alpha * v + beta; v = v < 0.0f ? 0.0f : v; return v > 1.0f ? 1.0f : v;
#if WK_GELU
    case 6: return 0.5f * v * (1.0f + wk_erff(v * 0.7071067811865476f));
#endif
#if WK_GELU_TANH
    case 7: return 0.5f * v * (1.0f + wk_tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
#endif
    default: return v;
    }
}
