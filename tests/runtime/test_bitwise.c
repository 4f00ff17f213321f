/*
 * test_bitwise.c — BitwiseAnd/Or/Xor/Not (opset 18, runtime/kernels/ref/bitwise.c) against
 * onnxruntime-node on int8, uint8, int32, uint16 and int64 with broadcasting, and a hand
 * computed int8 case; a float input is refused naming the dtype.
 */
#include "../../runtime/kernels/kernel.h"
#include "ort18.h"

TestSuite(bitwise, .fini = pb_release_all);

/* Bit operations on integers: no rounding anywhere, so equal. */
static const OrtcTol EXACT = {0, 0, 0};

/* a [2,3] and b [3] (broadcast over rows) of dtype dt, all four ops */
static void bitwise_case(const char *tag, int dt, const void *a, const void *b) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_typed(g, ins, &n, "a", dt, "2,3", (void *)a);
    o18_in_typed(g, ins, &n, "b", dt, "3", (void *)b);
    o18_node(g, "BitwiseAnd", "a,b", "and");
    o18_node(g, "BitwiseOr", "a,b", "or");
    o18_node(g, "BitwiseXor", "b,a", "xor");
    o18_node(g, "BitwiseNot", "a", "not");
    static const char *outs[4] = {"and", "or", "xor", "not"};
    for (int i = 0; i < 4; i++) o18_out(g, outs[i], dt);
    o18_check(tag, g, 18, ins, n, &EXACT);
}

Test(bitwise, int8_uint8_int32_int64_agree_with_onnxruntime) {
    static int8_t a8[6] = {-128, -1, 0, 90, 127, -37}, b8[3] = {0x0F, -16, 85};
    static uint8_t u8[6] = {0, 255, 170, 85, 1, 128}, v8[3] = {15, 240, 129};
    static int32_t a32[6] = {INT32_MIN, -1, 0, 123456789, INT32_MAX, -987654}, b32[3] = {0xFFFF, -65536, 0x55555555};
    static int64_t a64[6] = {INT64_MIN, -1, 0, 1234567890123LL, INT64_MAX, -42}, b64[3] = {0xFF00FF00FFLL, -2, 7};
    bitwise_case("bw_i8", RT_I8, a8, b8);
    bitwise_case("bw_u8", RT_U8, u8, v8);
    bitwise_case("bw_i32", RT_I32, a32, b32);
    bitwise_case("bw_i64", RT_I64, a64, b64);
}

/* by hand: 0x5A & 0x0F = 0x0A, 0x5A | 0x0F = 0x5F, 0x5A ^ 0x0F = 0x55, ~0x5A = -0x5B */
Test(bitwise, int8_by_hand) {
    int8_t a = 0x5A, b = 0x0F;
    RtTensor ta = {.dtype = RT_I8, .rank = 0, .data = &a}, tb = {.dtype = RT_I8, .rank = 0, .data = &b};
    static const int ops[4] = {RT_OP_BITWISE_AND, RT_OP_BITWISE_OR, RT_OP_BITWISE_XOR, RT_OP_BITWISE_NOT};
    static const int8_t want[4] = {0x0A, 0x5F, 0x55, -0x5B};
    for (int i = 0; i < 4; i++) {
        int ins[2] = {0, 1}, outs[1] = {2};
        RtNode nd = {.op = ops[i], .name = "n", .opset = 18, .n_in = i == 3 ? 1 : 2, .in = ins, .n_out = 1, .out = outs};
        RtTensor y = {0};
        RtTensor *in[2] = {&ta, &tb}, *out[1] = {&y};
        RtError err = {{0}};
        RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &err};
        cr_assert_eq(rt_kernel_find(ops[i])(&c, &nd, in, out), RT_OK, "%s", err.msg);
        cr_expect_eq(((int8_t *)y.data)[0], want[i], "op %d: got %d, want %d", i, ((int8_t *)y.data)[0], want[i]);
        rt_allocator_default()->free(rt_allocator_default()->user, y.data);
    }
}

Test(bitwise, float_input_is_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "3", -1, 1);
    o18_node(g, "BitwiseNot", "x", "y");
    o18_out(g, "y", RT_F32);
    o18_wafer_refuses("bw_float", g, 18, ins, n, "float32");
}
