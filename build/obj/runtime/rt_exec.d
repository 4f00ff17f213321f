build/obj/runtime/rt_exec.o: runtime/rt_exec.c runtime/rt_exec.h \
 runtime/kernels/kernel.h runtime/kernels/../rt_core.h \
 runtime/kernels/../rt_ops.h runtime/kernels/../ops.def
runtime/rt_exec.h:
runtime/kernels/kernel.h:
runtime/kernels/../rt_core.h:
runtime/kernels/../rt_ops.h:
runtime/kernels/../ops.def:
