/*
 * emit_ops_math.h — what the files of emit-c's element-wise family share (private to
 * codegen/emit_ops_math*.c): dtype classes, the broadcast loop writer, and the emitters the
 * table ec_ops_math (emit_ops_math.c) lists.
 *
 * A loop's body is C text over the operands a0..a{m-1} (const locals of their element
 * types) that assigns y[i] (y of the output's type); `pre` is C placed once before the
 * loop, where the pointers x0..x{m-1} (the operands' arrays), y and the index i exist.
 */
#ifndef WAFER_EMIT_OPS_MATH_H
#define WAFER_EMIT_OPS_MATH_H

#include "emit_ops_common.h"

#define MATH_MAX_OPS 64 /* operands of one loop (the runtime's variadic limit) */

/* 'f' float32/float64, 's' signed, 'u' unsigned integer, 'b' bool; 0 = no C type here. */
int ec_math_kind(RtDtype t);
/* The unsigned type integer arithmetic of t wraps in: uint64_t for 64-bit types, else
 * uint32_t (the runtime's W). */
const char *ec_math_wrap(RtDtype t);
/* <stdint.h>'s names of an integer type's limits ("INT8_MIN", ...; "0" for unsigned). */
void ec_math_limits(RtDtype t, const char **lo, const char **hi);
/* The statement storing the double `d` into y[i] of type t as the runtime's rt_set_f64_sat:
 * floats round, bool is d != 0, integers truncate saturated with NaN -> 0. */
void ec_math_store_double(char *buf, size_t len, RtDtype t);
/* Node k's loop over operands = node inputs ins[0..m), numpy-broadcast to its output. */
int ec_math_loop(EcCtx *c, int k, const RtNode *n, int m, const int *ins, const char *pre, const char *body);
/* The same over inputs 0..m-1. */
int ec_math_loop_n(EcCtx *c, int k, const RtNode *n, int m, const char *pre, const char *body);
/* RT_OK, or (under --no-libm) RT_ERR_UNSUPPORTED saying `what` needs libm. */
int ec_math_libm(EcCtx *c, int k, const char *what);

/* emit_ops_math_unary.c */
int ec_math_unary(EcCtx *c, int k, const RtNode *n);     /* Abs ... ThresholdedRelu, Not, IsNaN, IsInf, BitwiseNot */
int ec_math_clip(EcCtx *c, int k, const RtNode *n);      /* Clip: attribute, constant or run-time bounds */
int ec_math_shrink(EcCtx *c, int k, const RtNode *n);    /* Shrink */
int ec_math_cast(EcCtx *c, int k, const RtNode *n);      /* Cast, CastLike */
int ec_math_bitcast(EcCtx *c, int k, const RtNode *n);   /* BitCast (opset 26) */

/* emit_ops_math_binary.c */
int ec_math_binary(EcCtx *c, int k, const RtNode *n);    /* arithmetic, comparisons, logic, bitwise, shifts */
int ec_math_pow(EcCtx *c, int k, const RtNode *n);       /* Pow */
int ec_math_where(EcCtx *c, int k, const RtNode *n);     /* Where */
int ec_math_variadic(EcCtx *c, int k, const RtNode *n);  /* Max, Min, Sum, Mean */

#endif
