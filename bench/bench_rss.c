/*
 * bench_rss.c — the peak resident memory of a command: runs it as a child process and reports
 * the child's ru_maxrss (wait4), the way GNU time's %M does, without depending on that tool.
 *
 *     bench_rss COMMAND [ARG...]      prints "peak_rss_bytes N" and exits with the child's status
 *
 * bench.sh uses it on `wafer run` of the 4-bit tinylm and compares the figure with the issue's
 * budget, 1.3 x (packed weight bytes + planned arena bytes + 8 MiB).
 */
#define _DEFAULT_SOURCE /* wait4 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_rss COMMAND [ARG...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_rss: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror("bench_rss: exec");
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("bench_rss: wait4");
        return 2;
    }
    printf("peak_rss_bytes %lld\n", (long long)ru.ru_maxrss * 1024); /* Linux reports KiB */
    return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}
