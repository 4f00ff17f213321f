/*
 * main.c — the `wafer` driver: dispatches to one subcommand per user job.
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("wafer\n");
    return 0;
}
