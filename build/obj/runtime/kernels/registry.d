build/obj/runtime/kernels/registry.o: runtime/kernels/registry.c \
 runtime/kernels/kernel.h runtime/kernels/../rt_core.h \
 runtime/kernels/../rt_ops.h runtime/kernels/../ops.def
runtime/kernels/kernel.h:
runtime/kernels/../rt_core.h:
runtime/kernels/../rt_ops.h:
runtime/kernels/../ops.def:
