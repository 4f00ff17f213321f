build/obj/runtime/rt_ops.o: runtime/rt_ops.c runtime/rt_ops.h \
 runtime/ops.def
runtime/rt_ops.h:
runtime/ops.def:
