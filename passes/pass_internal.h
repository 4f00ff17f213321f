/*
 * pass_internal.h — what the simplification passes share (the .c files of passes/ only): the passes in a
 * form that counts changes (pass_simplify iterates until nothing changes), graph-editing
 * helpers, and If inlining.
 */
#ifndef WAFER_PASS_INTERNAL_H
#define WAFER_PASS_INTERNAL_H

#include "passes.h"

#include "../runtime/kernels/kernel.h" /* RT_TRY, rt_kernel_find, RT_SHAPE_UNKNOWN */

/* A pass over one graph; adds the number of nodes it removed or rewrote to *changed. */
typedef int (*PassFn)(IrGraph *g, int *changed, RtError *err);

int pass_fold_constants_run(IrGraph *g, int *changed, RtError *err);
int pass_remove_identity_run(IrGraph *g, int *changed, RtError *err);
int pass_dead_nodes_run(IrGraph *g, int *changed, RtError *err);
int pass_layout_nchw_run(IrGraph *g, int *changed, RtError *err);

/* Runs fn on every subgraph of g's live nodes (recursively, innermost last); a failure's
 * message gets the enclosing node in front. */
int pass_subgraphs_apply(IrGraph *g, PassFn fn, int *changed, RtError *err);

/* Marks node k IR_OP_DELETED: its outputs lose their producer and its subgraphs are freed
 * (ir_graph_free only reaches subgraphs of nodes that are still in the graph). */
void pass_node_delete(IrGraph *g, int k);
/* Every node input reading value `from` reads `to` instead. */
void pass_value_replace_uses(IrGraph *g, int from, int to);
/* Uses of v by live nodes (deleted nodes do not count). */
int pass_value_live_uses(const IrGraph *g, int v);
/* A value name not yet in g, `base` itself when free, else base_1, base_2, ... (arena). */
const char *pass_name_unique(IrGraph *g, const char *base);

/* Replaces If node k by the nodes of its then (take_then = 1) or else branch: branch inputs
 * become the If's captured inputs in[1..], branch outputs become the If's outputs (which keep
 * their names), branch constants and intermediate values get fresh names prefixed with the If
 * node's name. The branch graphs are freed; node k is marked IR_OP_DELETED and the inlined
 * nodes sit where it was, so topological order holds. */
int pass_if_inline(IrGraph *g, int k, int take_then, RtError *err);

#endif
