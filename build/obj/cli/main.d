build/obj/cli/main.o: cli/main.c
