/*
 * rt_fuse_chain.h — what rt_fuse.c (the chains of a plan) and the chain matchers
 * (rt_fuse_attention.c, rt_fuse_add_ln.c) share: facts about the graph's values, the
 * plan-safety check, and the description of each kind of chain.
 */
#ifndef WAFER_RT_FUSE_CHAIN_H
#define WAFER_RT_FUSE_CHAIN_H

#include "kernels/x86/attention_x86.h"
#include "rt_plan_fast.h"

/* Per-graph facts the matchers look up. */
typedef struct {
    const RtGraph *g;
    const RtPlan *p;
    int *readers;            /* [n_values] how many node inputs read the value */
    int *reader;             /* [n_values] the last node reading it (-1: none) */
    int *producer;           /* [n_values] the node writing it (-1: input or constant) */
    unsigned char *is_out;   /* [n_values] 1: a graph output */
    unsigned char *member;   /* [n_nodes] scratch for the matchers: 1 = in the chain being tried */
    const int *claimed;      /* [n_nodes] >= 0: the node is in a chain already taken (fuse_head) */
} FuseGraph;

/* 1 when value v may live only inside a chain: produced by a node, read by exactly one node,
 * no graph output, placed by the plan. */
int fuse_value_inner(const FuseGraph *fg, int v);

/* 1 when the bytes of value x (read by the chain when it runs at node head) are still x's at
 * that time: no node outside the chain (fg->member) between x's producer and head writes a
 * planned output over them. Constants and graph inputs are not in the arena: always 1. */
int fuse_value_survives(const FuseGraph *fg, int x, int head);

/* An attention chain (rt_fuse_attention.c, run by x86/attention_x86.c). */
typedef struct {
    int head;                /* node that runs the chain (its last node) */
    int out;                 /* the value the chain writes (planned place) */
    int q, k, v, mask;       /* values it reads (mask -1: none) */
    RtAttention at;          /* dims, strides, scale, mask strides; data pointers set per run */
    RtAttnRow *rows;         /* owned, a constant mask's row splits (attention_x86.h), or NULL */
} FuseAttn;

/* Tries the attention chain around Softmax node s: on success fills *fa, marks the
 * chain's nodes in fg->member (cleared on entry) and returns 1; 0 = no chain there;
 * RT_ERR_NOMEM (< 0) with err set. */
int fuse_attention_match(FuseGraph *fg, int s, FuseAttn *fa, RtError *err);

/* Runs chain fa (inputs from slot[], output at its planned place). */
int fuse_attention_run(const FuseAttn *fa, const RtPlan *p, char *arena, RtTensor *slot, RtKernelCtx *c);

/* A residual Add and the LayerNormalization reading it (rt_fuse_add_ln.c, run by
 * x86/math_x86.c's rt_add_layer_norm). */
typedef struct {
    int head;                /* the LayerNormalization node (runs the chain) */
    int a, b, z;             /* the Add's inputs and output (z written to its planned place) */
    int scale, bias, y;      /* the LayerNormalization's Scale, B (-1: none) and Y */
    int64_t rows, len;       /* z as rows of the normalized size */
    double eps;
} FuseAddLn;

/* Tries the chain ending at LayerNormalization node k: on success fills *al, marks its two
 * nodes in fg->member (cleared on entry) and returns 1; 0 = no chain there. */
int fuse_add_ln_match(FuseGraph *fg, int k, FuseAddLn *al);

/* Runs chain al (inputs from slot[], outputs at their planned places). */
int fuse_add_ln_run(const FuseAddLn *al, const RtPlan *p, char *arena, RtTensor *slot, RtKernelCtx *c);

#endif
