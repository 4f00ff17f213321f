build/obj/runtime/kernels/ref/gather_slice.o: \
 runtime/kernels/ref/gather_slice.c runtime/kernels/ref/../kernel.h \
 runtime/kernels/ref/../../rt_core.h runtime/kernels/ref/../../rt_ops.h \
 runtime/kernels/ref/../../ops.def
runtime/kernels/ref/../kernel.h:
runtime/kernels/ref/../../rt_core.h:
runtime/kernels/ref/../../rt_ops.h:
runtime/kernels/ref/../../ops.def:
