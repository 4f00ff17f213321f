build/obj/runtime/rt_core.o: runtime/rt_core.c runtime/rt_core.h
runtime/rt_core.h:
