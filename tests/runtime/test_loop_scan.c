/*
 * test_loop_scan.c — hand-worked cases for Loop and Scan (runtime/kernels/ref/loop.c), run
 * directly through rt_kernel_find() with bodies built by hand: trip count only, condition
 * only, both, zero iterations (typed empty scan outputs), captures, scan outputs, Scan's
 * directions and axes (opset 9+) and opset 8's batched form, and the refusals (wrong body
 * arity, scan outputs whose shape changes between iterations).
 *
 * Every expected value below is worked out by hand from the ONNX operator definitions; the
 * values are small integers or sums of them, exact in float32, so comparisons are exact.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_exec.h"
#include "rt_test_util.h"

/* The executor's subgraph runner (rt_exec.c's), on borrowed inputs. */
static int sub_run(RtKernelCtx *c, const RtGraph *g, RtTensor *const *inputs, int n_in, RtTensor *outputs, int n_out) {
    RtTensor copy[16];
    if (n_in != g->n_inputs || n_out != g->n_outputs || n_in > 16) return rt_fail(c, "arity");
    for (int i = 0; i < n_in; i++) copy[i] = *inputs[i];
    return rt_graph_run(g, copy, outputs, c->alloc, c->err);
}

/* ---- Loop body A: (i, cond, v[2] i64, cap[2] i64) -> (cond, v + i, (v + i) + cap) ----
 * slots: 0 i, 1 cond, 2 v, 3 cap, 4 cond_out, 5 v_out, 6 scan. */
static int a_id_in[] = {1}, a_id_out[] = {4}, a_add_in[] = {2, 0}, a_add_out[] = {5}, a_scan_in[] = {5, 3},
           a_scan_out[] = {6};
static int a_inputs[] = {0, 1, 2, 3}, a_outputs[] = {4, 5, 6};
static RtNode a_nodes[] = {
    {RT_OP_IDENTITY, "c", "Identity", "", 16, 1, a_id_in, 1, a_id_out, 0, NULL},
    {RT_OP_ADD, "v", "Add", "", 14, 2, a_add_in, 1, a_add_out, 0, NULL},
    {RT_OP_ADD, "s", "Add", "", 14, 2, a_scan_in, 1, a_scan_out, 0, NULL},
};
static const RtGraph body_a = {.n_values = 7, .n_nodes = 3, .nodes = a_nodes, .n_inputs = 4, .inputs = a_inputs,
                               .n_outputs = 3, .outputs = a_outputs, .n_declared = 3};

static int run_loop_a(int64_t *m, uint8_t *cond, RtTensor *out) {
    static int64_t v0[2] = {10, 20}, cap[2] = {100, 200}, d2[] = {2};
    RtTensor tm = rtt_tensor(RT_I64, 0, NULL, m), tc = rtt_tensor(RT_BOOL, 0, NULL, cond),
             tv = rtt_tensor(RT_I64, 1, d2, v0), tcap = rtt_tensor(RT_I64, 1, d2, cap);
    RtTensor *in[] = {m ? &tm : NULL, cond ? &tc : NULL, &tv, &tcap};
    RtAttr body = rtt_attr_graph("body", &body_a);
    return rtt_run_sub(sub_run, RT_OP_LOOP, 16, in, 4, out, 2, &body, 1, 0);
}

Test(loop, trip_count_only_with_capture_and_scan_output) {
    /* v: [10,20] -> i=0 [10,20] -> i=1 [11,21] -> i=2 [13,23]; scan = v_out + [100,200] */
    int64_t m = 3;
    RtTensor out[2];
    cr_assert_eq(run_loop_a(&m, NULL, out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[0], 1, (int64_t[]){2});
    cr_expect_eq(memcmp(out[0].data, (int64_t[]){13, 23}, 16), 0);
    cr_expect_eq(out[1].dtype, RT_I64);
    rtt_expect_dims(&out[1], 2, (int64_t[]){3, 2});
    cr_expect_eq(memcmp(out[1].data, (int64_t[]){110, 220, 111, 221, 113, 223}, 48), 0);
    rtt_free_outputs(out, 2);
}

Test(loop, zero_iterations_give_initial_values_and_typed_empty_scans) {
    int64_t m = 0;
    RtTensor out[2];
    cr_assert_eq(run_loop_a(&m, NULL, out), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out[0].data, (int64_t[]){10, 20}, 16), 0);
    /* the body's scan output is i64 [2] per iteration: [0, 2] */
    cr_expect_eq(out[1].dtype, RT_I64);
    rtt_expect_dims(&out[1], 2, (int64_t[]){0, 2});
    rtt_free_outputs(out, 2);
    /* a false initial condition also runs nothing, whatever M says */
    int64_t m5 = 5;
    uint8_t no = 0;
    cr_assert_eq(run_loop_a(&m5, &no, out), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out[0].data, (int64_t[]){10, 20}, 16), 0);
    rtt_expect_dims(&out[1], 2, (int64_t[]){0, 2});
    rtt_free_outputs(out, 2);
    /* a negative M: i < M never holds */
    int64_t neg = -4;
    cr_assert_eq(run_loop_a(&neg, NULL, out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[1], 2, (int64_t[]){0, 2});
    rtt_free_outputs(out, 2);
}

/* ---- Loop body B: (i, cond, v i64) -> (v + 1 < limit, v + 1); limit is a capture ----
 * slots: 0 i, 1 cond, 2 v, 3 limit, 4 one (constant), 5 v_out, 6 cond_out. */
static int64_t b_one_v = 1;
static RtTensor b_one = {RT_I64, 0, {0}, &b_one_v};
static const RtTensor *b_consts[7] = {NULL, NULL, NULL, NULL, &b_one, NULL, NULL};
static int b_add_in[] = {2, 4}, b_add_out[] = {5}, b_less_in[] = {5, 3}, b_less_out[] = {6};
static int b_inputs[] = {0, 1, 2, 3}, b_outputs[] = {6, 5};
static RtNode b_nodes[] = {
    {RT_OP_ADD, "v", "Add", "", 14, 2, b_add_in, 1, b_add_out, 0, NULL},
    {RT_OP_LESS, "c", "Less", "", 13, 2, b_less_in, 1, b_less_out, 0, NULL},
};
static const RtGraph body_b = {.n_values = 7, .consts = b_consts, .n_nodes = 2, .nodes = b_nodes, .n_inputs = 4,
                               .inputs = b_inputs, .n_outputs = 2, .outputs = b_outputs, .n_declared = 3};

static int64_t run_loop_b(int64_t *m, uint8_t *cond, int64_t limit) {
    int64_t v0 = 0;
    RtTensor tm = rtt_tensor(RT_I64, 0, NULL, m), tc = rtt_tensor(RT_BOOL, 0, NULL, cond),
             tv = rtt_tensor(RT_I64, 0, NULL, &v0), tl = rtt_tensor(RT_I64, 0, NULL, &limit), out = {0};
    RtTensor *in[] = {m ? &tm : NULL, cond ? &tc : NULL, &tv, &tl};
    RtAttr body = rtt_attr_graph("body", &body_b);
    cr_assert_eq(rtt_run_sub(sub_run, RT_OP_LOOP, 13, in, 4, &out, 1, &body, 1, 0), RT_OK, "%s", rtt_err.msg);
    int64_t v = *(int64_t *)out.data;
    free(out.data);
    return v;
}

Test(loop, condition_only_is_a_while_loop) {
    /* v=0, cond=1: v=1 (1<3), v=2 (2<3), v=3 (3<3 false): stops at 3 */
    uint8_t yes = 1;
    cr_expect_eq(run_loop_b(NULL, &yes, 3), 3);
}

Test(loop, trip_count_and_condition_stop_at_the_first) {
    uint8_t yes = 1;
    int64_t m = 2;
    cr_expect_eq(run_loop_b(&m, &yes, 100), 2); /* M first */
    m = 50;
    cr_expect_eq(run_loop_b(&m, &yes, 4), 4);   /* the condition first */
}

Test(loop, absent_condition_ignores_the_body_condition) {
    /* the body says v + 1 < 1 (false) at once, but with no cond input only M counts (spec) */
    int64_t m = 5;
    cr_expect_eq(run_loop_b(&m, NULL, 1), 5);
}

Test(loop, shape_mode_is_unknown_and_bad_arity_is_refused) {
    int64_t m = 3;
    RtTensor out[2];
    int64_t v0[2] = {1, 2}, cap[2] = {3, 4}, d2[] = {2};
    RtTensor tm = rtt_tensor(RT_I64, 0, NULL, &m), tv = rtt_tensor(RT_I64, 1, d2, v0), tcap = rtt_tensor(RT_I64, 1, d2, cap);
    RtTensor *in[] = {&tm, NULL, &tv, &tcap};
    RtAttr body = rtt_attr_graph("body", &body_a);
    cr_expect_eq(rtt_run_sub(sub_run, RT_OP_LOOP, 16, in, 4, out, 2, &body, 1, 1), RT_SHAPE_UNKNOWN);
    /* body A returns 3 outputs: a node with 3 outputs does not match (N + K = 2) */
    RtTensor out3[3];
    cr_expect_eq(rtt_run_sub(sub_run, RT_OP_LOOP, 16, in, 4, out3, 3, &body, 1, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "body"), "%s", rtt_err.msg);
}

/* ---- Loop body C: scan output Range(0, i + 1) grows each iteration: refused ----
 * slots: 0 i, 1 cond, 2 zero (const), 3 one (const), 4 cond_out, 5 end, 6 range. */
static int64_t c_zero_v = 0, c_one_v = 1;
static RtTensor c_zero = {RT_I64, 0, {0}, &c_zero_v}, c_one = {RT_I64, 0, {0}, &c_one_v};
static const RtTensor *c_consts[7] = {NULL, NULL, &c_zero, &c_one, NULL, NULL, NULL};
static int c_id_in[] = {1}, c_id_out[] = {4}, c_add_in[] = {0, 3}, c_add_out[] = {5}, c_rg_in[] = {2, 5, 3},
           c_rg_out[] = {6};
static int c_inputs[] = {0, 1}, c_outputs[] = {4, 6};
static RtNode c_nodes[] = {
    {RT_OP_IDENTITY, "c", "Identity", "", 16, 1, c_id_in, 1, c_id_out, 0, NULL},
    {RT_OP_ADD, "e", "Add", "", 14, 2, c_add_in, 1, c_add_out, 0, NULL},
    {RT_OP_RANGE, "r", "Range", "", 11, 3, c_rg_in, 1, c_rg_out, 0, NULL},
};
static const RtGraph body_c = {.n_values = 7, .consts = c_consts, .n_nodes = 3, .nodes = c_nodes, .n_inputs = 2,
                               .inputs = c_inputs, .n_outputs = 2, .outputs = c_outputs, .n_declared = 2};

Test(loop, scan_outputs_must_keep_their_shape) {
    int64_t m = 3;
    RtTensor tm = rtt_tensor(RT_I64, 0, NULL, &m), out = {0};
    RtTensor *in[] = {&tm, NULL};
    RtAttr body = rtt_attr_graph("body", &body_c);
    cr_expect_eq(rtt_run_sub(sub_run, RT_OP_LOOP, 16, in, 2, &out, 1, &body, 1, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "iteration 1"), "%s", rtt_err.msg);
    cr_expect_null(out.data);
    /* one iteration stacks fine: [[0]] */
    m = 1;
    cr_assert_eq(rtt_run_sub(sub_run, RT_OP_LOOP, 16, in, 2, &out, 1, &body, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){1, 1});
    cr_expect_eq(((int64_t *)out.data)[0], 0);
    free(out.data);
}

Test(loop, many_iterations_grow_the_scan_output) {
    /* 1000 iterations of body A: final v = v0 + sum(0..999) = v0 + 499500 */
    int64_t m = 1000;
    RtTensor out[2];
    cr_assert_eq(run_loop_a(&m, NULL, out), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(((int64_t *)out[0].data)[0], 10 + 499500);
    rtt_expect_dims(&out[1], 2, (int64_t[]){1000, 2});
    /* iteration 999's scan: v_out = 10 + 499500, + 100 */
    cr_expect_eq(((int64_t *)out[1].data)[2 * 999], 10 + 499500 + 100);
    rtt_free_outputs(out, 2);
}

/* ---- Scan body S: (sum[k] f32, x[k] f32) -> (sum + x, sum + x) ----
 * slots: 0 sum, 1 x, 2 sum_out, 3 scan (Identity of sum_out). */
static int s_add_in[] = {0, 1}, s_add_out[] = {2}, s_id_in[] = {2}, s_id_out[] = {3};
static int s_inputs[] = {0, 1}, s_outputs[] = {2, 3};
static RtNode s_nodes[] = {
    {RT_OP_ADD, "a", "Add", "", 14, 2, s_add_in, 1, s_add_out, 0, NULL},
    {RT_OP_IDENTITY, "i", "Identity", "", 16, 1, s_id_in, 1, s_id_out, 0, NULL},
};
static const RtGraph body_s = {.n_values = 4, .n_nodes = 2, .nodes = s_nodes, .n_inputs = 2, .inputs = s_inputs,
                               .n_outputs = 2, .outputs = s_outputs, .n_declared = 2};

/* x = [[1,2,3],[4,5,6]] scanned along axis 1 (columns [1,4], [2,5], [3,6]). */
static int run_scan9(int64_t in_dir, int64_t in_axis, int64_t out_dir, int64_t out_axis, RtTensor *out) {
    static float x[6] = {1, 2, 3, 4, 5, 6}, s0[2] = {0, 0};
    RtTensor tx = rtt_tensor(RT_F32, 2, (int64_t[]){2, 3}, x), ts = rtt_tensor(RT_F32, 1, (int64_t[]){2}, s0);
    RtTensor *in[] = {&ts, &tx};
    int64_t ia = in_axis, id = in_dir, oa = out_axis, od = out_dir;
    RtAttr at[] = {rtt_attr_graph("body", &body_s), rtt_attr_int("num_scan_inputs", 1),
                   rtt_attr_ints("scan_input_axes", &ia, 1), rtt_attr_ints("scan_input_directions", &id, 1),
                   rtt_attr_ints("scan_output_axes", &oa, 1), rtt_attr_ints("scan_output_directions", &od, 1)};
    return rtt_run_sub(sub_run, RT_OP_SCAN, 16, in, 2, out, 2, at, 6, 0);
}

Test(scan, forward_along_axis_1_stacked_along_axis_1) {
    /* sums: [1,4], [3,9], [6,15]; stacked on axis 1: [[1,3,6],[4,9,15]] */
    RtTensor out[2];
    cr_assert_eq(run_scan9(0, 1, 0, 1, out), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out[0].data, (float[]){6, 15}, 8), 0);
    rtt_expect_dims(&out[1], 2, (int64_t[]){2, 3});
    cr_expect_eq(memcmp(out[1].data, (float[]){1, 3, 6, 4, 9, 15}, 24), 0);
    rtt_free_outputs(out, 2);
}

Test(scan, negative_axes_and_axis_0_output) {
    /* input axis -1 = 1; output axis 0: [[1,4],[3,9],[6,15]] */
    RtTensor out[2];
    cr_assert_eq(run_scan9(0, -1, 0, 0, out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[1], 2, (int64_t[]){3, 2});
    cr_expect_eq(memcmp(out[1].data, (float[]){1, 4, 3, 9, 6, 15}, 24), 0);
    rtt_free_outputs(out, 2);
    /* output axis -1 of the rank-2 output = 1 */
    cr_assert_eq(run_scan9(0, 1, 0, -1, out), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out[1].data, (float[]){1, 3, 6, 4, 9, 15}, 24), 0);
    rtt_free_outputs(out, 2);
}

Test(scan, reverse_input_and_reverse_output) {
    /* reverse input: columns [3,6], [2,5], [1,4]: sums [3,6], [5,11], [6,15];
     * reverse output puts iteration t at T-1-t: [[6,5,3],[15,11,6]] */
    RtTensor out[2];
    cr_assert_eq(run_scan9(1, 1, 1, 1, out), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out[0].data, (float[]){6, 15}, 8), 0);
    cr_expect_eq(memcmp(out[1].data, (float[]){6, 5, 3, 15, 11, 6}, 24), 0);
    rtt_free_outputs(out, 2);
    /* reverse input only: [[3,5,6],[6,11,15]] */
    cr_assert_eq(run_scan9(1, 1, 0, 1, out), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out[1].data, (float[]){3, 5, 6, 6, 11, 15}, 24), 0);
    rtt_free_outputs(out, 2);
}

Test(scan, axis_out_of_range_is_refused) {
    RtTensor out[2];
    cr_expect_eq(run_scan9(0, 2, 0, 0, out), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "scan_input_axes"), "%s", rtt_err.msg);
}

Test(scan, zero_length_gives_initial_state_and_typed_empty_output) {
    float s0[2] = {7, 8};
    RtTensor tx = rtt_tensor(RT_F32, 2, (int64_t[]){0, 2}, NULL), ts = rtt_tensor(RT_F32, 1, (int64_t[]){2}, s0), out[2];
    float dummy;
    tx.data = &dummy; /* zero elements, but data present */
    RtTensor *in[] = {&ts, &tx};
    RtAttr at[] = {rtt_attr_graph("body", &body_s), rtt_attr_int("num_scan_inputs", 1)};
    cr_assert_eq(rtt_run_sub(sub_run, RT_OP_SCAN, 16, in, 2, out, 2, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out[0].data, s0, 8), 0);
    cr_expect_eq(out[1].dtype, RT_F32);
    rtt_expect_dims(&out[1], 2, (int64_t[]){0, 2});
    rtt_free_outputs(out, 2);
}

Test(scan, opset8_batches_scan_each_row) {
    /* x [B=2, T=3, 1]: row 0 = 1,2,3, row 1 = 10,20,30; state [2, 1] = 0.
     * row 0 sums 1,3,6; row 1 sums 10,30,60; reversed directions: 3,5,6 and 30,50,60. */
    float x[6] = {1, 2, 3, 10, 20, 30}, s0[2] = {0, 0};
    RtTensor tx = rtt_tensor(RT_F32, 3, (int64_t[]){2, 3, 1}, x), ts = rtt_tensor(RT_F32, 2, (int64_t[]){2, 1}, s0),
             out[2];
    RtTensor *in[] = {NULL, &ts, &tx};
    RtAttr at[] = {rtt_attr_graph("body", &body_s), rtt_attr_int("num_scan_inputs", 1)};
    cr_assert_eq(rtt_run_sub(sub_run, RT_OP_SCAN, 8, in, 3, out, 2, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[0], 2, (int64_t[]){2, 1});
    cr_expect_eq(memcmp(out[0].data, (float[]){6, 60}, 8), 0);
    rtt_expect_dims(&out[1], 3, (int64_t[]){2, 3, 1});
    cr_expect_eq(memcmp(out[1].data, (float[]){1, 3, 6, 10, 30, 60}, 24), 0);
    rtt_free_outputs(out, 2);
    int64_t rev = 1;
    RtAttr at2[] = {at[0], at[1], rtt_attr_ints("directions", &rev, 1)};
    cr_assert_eq(rtt_run_sub(sub_run, RT_OP_SCAN, 8, in, 3, out, 2, at2, 3, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(memcmp(out[1].data, (float[]){3, 5, 6, 30, 50, 60}, 24), 0);
    rtt_free_outputs(out, 2);
    /* sequence_lens shorter than T: refused as unsupported */
    int32_t lens[2] = {3, 2};
    RtTensor tl = rtt_tensor(RT_I32, 1, (int64_t[]){2}, lens);
    RtTensor *in3[] = {&tl, &ts, &tx};
    cr_expect_eq(rtt_run_sub(sub_run, RT_OP_SCAN, 8, in3, 3, out, 2, at, 2, 0), RT_ERR_UNSUPPORTED);
    cr_expect_not_null(strstr(rtt_err.msg, "sequence_lens"), "%s", rtt_err.msg);
}

/* An allocator that refuses any block above 64 KiB: stands in for memory running out. */
static void *small_alloc(void *user, size_t bytes) {
    (void)user;
    if (bytes > 65536) return NULL;
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 1) == 0 ? p : NULL;
}
static void small_free(void *user, void *p) {
    (void)user;
    free(p);
}

Test(loop, runaway_trip_count_fails_cleanly_when_the_scan_output_cannot_grow) {
    /* M = 10^12 with no condition: the loop is the model's own, but the stacked scan output
     * (16 bytes per iteration) must fail to grow past 64 KiB with a clean error, not crash or
     * hang; nothing leaks (checked under ASan). */
    static const RtAllocator small = {small_alloc, small_free, NULL};
    int64_t m = 1000000000000LL, v0[2] = {0, 0}, cap[2] = {0, 0}, d2[] = {2};
    RtTensor tm = rtt_tensor(RT_I64, 0, NULL, &m), tv = rtt_tensor(RT_I64, 1, d2, v0), tcap = rtt_tensor(RT_I64, 1, d2, cap);
    RtTensor *in[] = {&tm, NULL, &tv, &tcap}, out[2] = {{0}}, *outp[] = {&out[0], &out[1]};
    int slots_in[] = {0, -1, 2, 3}, slots_out[] = {4, 5};
    RtAttr body = rtt_attr_graph("body", &body_a);
    RtNode n = {RT_OP_LOOP, "runaway", "Loop", "", 16, 4, slots_in, 2, slots_out, 1, &body};
    RtKernelCtx c = {.alloc = &small, .err = &rtt_err, .run_subgraph = sub_run};
    rtt_err.msg[0] = '\0';
    cr_expect_eq(rt_kernel_find(RT_OP_LOOP)(&c, &n, in, outp), RT_ERR_NOMEM);
    cr_expect_not_null(strstr(rtt_err.msg, "out of memory growing"), "%s", rtt_err.msg);
    cr_expect_null(out[0].data);
    cr_expect_null(out[1].data);
}

Test(scan, attributes_of_the_other_opset_are_refused) {
    float x[2] = {1, 2}, s0[1] = {0};
    RtTensor tx = rtt_tensor(RT_F32, 3, (int64_t[]){1, 2, 1}, x), ts = rtt_tensor(RT_F32, 2, (int64_t[]){1, 1}, s0), out[2];
    int64_t zero = 0;
    RtTensor *in[] = {NULL, &ts, &tx};
    RtAttr at[] = {rtt_attr_graph("body", &body_s), rtt_attr_int("num_scan_inputs", 1),
                   rtt_attr_ints("scan_input_axes", &zero, 1)};
    cr_expect_eq(rtt_run_sub(sub_run, RT_OP_SCAN, 8, in, 3, out, 2, at, 3, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "'scan_input_axes' does not exist in Scan opset 8"), "%s", rtt_err.msg);
    RtAttr at9[] = {at[0], at[1], rtt_attr_ints("directions", &zero, 1)};
    RtTensor *in9[] = {&ts, &tx};
    cr_expect_eq(rtt_run_sub(sub_run, RT_OP_SCAN, 11, in9, 2, out, 2, at9, 3, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "'directions' does not exist in Scan opset 11"), "%s", rtt_err.msg);
}

/* ---- Loop body P: no nodes, outputs (cond, v): the body returns its own inputs ---- */
static int p_inputs[] = {0, 1, 2}, p_outputs[] = {1, 2};
static const RtGraph body_p = {.n_values = 3, .n_inputs = 3, .inputs = p_inputs, .n_outputs = 2, .outputs = p_outputs,
                               .n_declared = 3};

Test(loop, a_body_that_passes_its_inputs_through) {
    int64_t m = 4;
    float v0[3] = {1.5f, -2, 3};
    RtTensor tm = rtt_tensor(RT_I64, 0, NULL, &m), tv = rtt_tensor(RT_F32, 1, (int64_t[]){3}, v0), out = {0};
    RtTensor *in[] = {&tm, NULL, &tv};
    RtAttr body = rtt_attr_graph("body", &body_p);
    cr_assert_eq(rtt_run_sub(sub_run, RT_OP_LOOP, 16, in, 3, &out, 1, &body, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_neq(out.data, (void *)v0);
    cr_expect_eq(memcmp(out.data, v0, sizeof v0), 0);
    free(out.data);
}

Test(scan, opset8_empty_batch_gives_typed_empty_outputs) {
    /* x [B=0, T=3, 2], state [0, 2]: no row runs; outputs [0, 2] and [0, 3, 2] (body S
     * returns the state's type, float32 [2], for both) */
    float dummy = 0;
    RtTensor tx = rtt_tensor(RT_F32, 3, (int64_t[]){0, 3, 2}, &dummy), ts = rtt_tensor(RT_F32, 2, (int64_t[]){0, 2}, &dummy),
             out[2];
    RtTensor *in[] = {NULL, &ts, &tx};
    RtAttr at[] = {rtt_attr_graph("body", &body_s), rtt_attr_int("num_scan_inputs", 1)};
    cr_assert_eq(rtt_run_sub(sub_run, RT_OP_SCAN, 8, in, 3, out, 2, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(out[0].dtype, RT_F32);
    rtt_expect_dims(&out[0], 2, (int64_t[]){0, 2});
    cr_expect_eq(out[1].dtype, RT_F32);
    rtt_expect_dims(&out[1], 3, (int64_t[]){0, 3, 2});
    rtt_free_outputs(out, 2);
}

/* ---- allocation failure: every allocation the kernels make (through c->alloc, the body
 * runs' outputs included) fails in turn; each run must end with an error, no output left
 * allocated and, under ASan, nothing leaked or freed twice ---- */
static long nth_count, nth_fail;
static void *nth_alloc(void *user, size_t bytes) {
    (void)user;
    if (++nth_count == nth_fail) return NULL;
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 1) == 0 ? p : NULL;
}

/* Runs op on in[n_in] -> out[n_out] with allocation `fail` failing (0: none); returns the status. */
static int run_failing(long fail, int op, int opset, RtTensor **in, int n_in, RtTensor *out, int n_out, RtAttr *at,
                       int n_at) {
    static const RtAllocator nth = {nth_alloc, small_free, NULL};
    int si[8], so[8];
    RtTensor *outp[8];
    for (int i = 0; i < n_in; i++) si[i] = in[i] ? i : -1;
    for (int i = 0; i < n_out; i++) so[i] = n_in + i, memset(&out[i], 0, sizeof out[i]), outp[i] = &out[i];
    RtNode n = {op, "af", rt_op_name(op), "", opset, n_in, si, n_out, so, n_at, at};
    RtKernelCtx c = {.alloc = &nth, .err = &rtt_err, .run_subgraph = sub_run};
    nth_count = 0, nth_fail = fail;
    rtt_err.msg[0] = '\0';
    return rt_kernel_find(op)(&c, &n, in, outp);
}

static void walk_failures(const char *what, int op, int opset, RtTensor **in, int n_in, int n_out, RtAttr *at, int n_at) {
    RtTensor out[8];
    cr_assert_eq(run_failing(0, op, opset, in, n_in, out, n_out, at, n_at), RT_OK, "%s: %s", what, rtt_err.msg);
    long total = nth_count;
    rtt_free_outputs(out, n_out);
    cr_assert_gt(total, 0);
    for (long f = 1; f <= total; f++) {
        int st = run_failing(f, op, opset, in, n_in, out, n_out, at, n_at);
        cr_expect_lt(st, 0, "%s: allocation %ld of %ld failed but the kernel returned %d", what, f, total, st);
        cr_expect_neq(rtt_err.msg[0], '\0', "%s: allocation %ld: no message", what, f);
        rtt_free_outputs(out, n_out); /* what the executor does with a failed node's outputs */
    }
}

Test(alloc_fail, loop_and_scan_fail_cleanly_at_every_allocation) {
    int64_t m = 3, zero = 0, v0[2] = {10, 20}, cap[2] = {100, 200}, d2[] = {2};
    RtTensor tm = rtt_tensor(RT_I64, 0, NULL, &m), tz = rtt_tensor(RT_I64, 0, NULL, &zero),
             tv = rtt_tensor(RT_I64, 1, d2, v0), tcap = rtt_tensor(RT_I64, 1, d2, cap);
    RtAttr body = rtt_attr_graph("body", &body_a);
    RtTensor *in[] = {&tm, NULL, &tv, &tcap}, *in0[] = {&tz, NULL, &tv, &tcap};
    walk_failures("loop", RT_OP_LOOP, 16, in, 4, 2, &body, 1);
    walk_failures("loop, zero iterations", RT_OP_LOOP, 16, in0, 4, 2, &body, 1);

    float x[6] = {1, 2, 3, 4, 5, 6}, s0[2] = {0, 0};
    RtTensor tx = rtt_tensor(RT_F32, 2, (int64_t[]){3, 2}, x), ts = rtt_tensor(RT_F32, 1, (int64_t[]){2}, s0);
    RtAttr at[] = {rtt_attr_graph("body", &body_s), rtt_attr_int("num_scan_inputs", 1)};
    RtTensor *sin[] = {&ts, &tx};
    walk_failures("scan", RT_OP_SCAN, 16, sin, 2, 2, at, 2);
    RtTensor tx8 = rtt_tensor(RT_F32, 3, (int64_t[]){1, 3, 2}, x), ts8 = rtt_tensor(RT_F32, 2, (int64_t[]){1, 2}, s0);
    RtTensor *sin8[] = {NULL, &ts8, &tx8};
    walk_failures("scan opset 8", RT_OP_SCAN, 8, sin8, 3, 2, at, 2);
}
