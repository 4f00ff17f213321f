build/obj/ir/ir_exec.o: ir/ir_exec.c ir/ir.h ir/../runtime/rt_core.h \
 ir/../runtime/rt_ops.h ir/../runtime/ops.def ir/../runtime/rt_exec.h \
 ir/../runtime/kernels/kernel.h ir/../runtime/kernels/../rt_core.h \
 ir/../runtime/kernels/../rt_ops.h
ir/ir.h:
ir/../runtime/rt_core.h:
ir/../runtime/rt_ops.h:
ir/../runtime/ops.def:
ir/../runtime/rt_exec.h:
ir/../runtime/kernels/kernel.h:
ir/../runtime/kernels/../rt_core.h:
ir/../runtime/kernels/../rt_ops.h:
