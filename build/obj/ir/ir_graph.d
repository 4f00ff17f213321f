build/obj/ir/ir_graph.o: ir/ir_graph.c ir/ir.h ir/../runtime/rt_core.h \
 ir/../runtime/rt_ops.h ir/../runtime/ops.def
ir/ir.h:
ir/../runtime/rt_core.h:
ir/../runtime/rt_ops.h:
ir/../runtime/ops.def:
