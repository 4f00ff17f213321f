build/obj/runtime/kernels/kernel_util.o: runtime/kernels/kernel_util.c \
 runtime/kernels/kernel.h runtime/kernels/../rt_core.h \
 runtime/kernels/../rt_ops.h runtime/kernels/../ops.def
runtime/kernels/kernel.h:
runtime/kernels/../rt_core.h:
runtime/kernels/../rt_ops.h:
runtime/kernels/../ops.def:
