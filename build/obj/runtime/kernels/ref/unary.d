build/obj/runtime/kernels/ref/unary.o: runtime/kernels/ref/unary.c \
 runtime/kernels/ref/../kernel.h runtime/kernels/ref/../../rt_core.h \
 runtime/kernels/ref/../../rt_ops.h runtime/kernels/ref/../../ops.def
runtime/kernels/ref/../kernel.h:
runtime/kernels/ref/../../rt_core.h:
runtime/kernels/ref/../../rt_ops.h:
runtime/kernels/ref/../../ops.def:
